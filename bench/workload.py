"""Allocation churn in CPython: dicts, lists, tuples and strings of many
sizes created and dropped at random, so both pymalloc (small objects) and
malloc (anything over 512 bytes, dict and list storage) are exercised.
Deterministic (fixed seed); prints a checksum so no work is optimised away.

    python3 workload.py [ROUNDS]
"""
import random
import sys


def round_(rnd, table, total):
    # Replace a slice of a long-lived table: strings, lists and small dicts.
    for _ in range(20000):
        k = "k%d" % rnd.randrange(30000)
        kind = rnd.randrange(4)
        if kind == 0:
            table[k] = "x" * rnd.randrange(1, 3000)
        elif kind == 1:
            table[k] = [rnd.random() for _ in range(rnd.randrange(1, 80))]
        elif kind == 2:
            table[k] = {str(j): j for j in range(rnd.randrange(1, 40))}
        else:
            table.pop(k, None)
    # Short-lived temporaries: joins, splits, comprehensions.
    words = [("w%d" % rnd.randrange(1000)) * rnd.randrange(1, 20) for _ in range(3000)]
    text = " ".join(words)
    parts = text.split(" ")
    counts = {}
    for w in parts:
        counts[w] = counts.get(w, 0) + 1
    total += len(text) + len(counts)
    total += sum(len(v) for v in table.values() if isinstance(v, str)) % 1000
    return total


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    rnd = random.Random(42)
    table = {}
    total = 0
    for _ in range(rounds):
        total = round_(rnd, table, total)
    print("workload.py: rounds=%d entries=%d checksum=%d" % (rounds, len(table), total))


main()
