#!/bin/sh
# drainprof-report --html writes one self-contained page (no network
# resources) that headless Chromium renders: the dumped DOM holds the four
# timeline polylines with one point per snapshot, one arena bar per arena,
# and the screenshot shows the series colours (the chart is not blank).
set -e
TOOL="$ROOT/$BUILD/drainprof-report"
CHROME=/usr/bin/chromium
[ -x "$CHROME" ] || { echo "chromium is not installed" >&2; exit 77; }
D="$ROOT/tests/data/reports"
"$TOOL" --html page.html "$D/many-arenas.jsonl"
if grep -Eiq '(src|href)=|url\(|@import|<script' page.html; then
  echo "FAIL: the page refers to outside resources"; exit 1
fi
run() { timeout 60 "$CHROME" --headless --no-sandbox --disable-gpu --user-data-dir="$WORK/chrome" "$@" 2>/dev/null; }
run --dump-dom "file://$WORK/page.html" > dom.html
run --screenshot="$WORK/shot.png" --window-size=1000,700 "file://$WORK/page.html" > /dev/null
python3 - "$D/many-arenas.jsonl" <<'PY'
import json, re, struct, sys, zlib
snaps = [json.loads(l) for l in open(sys.argv[1]) if '"type":"snapshot"' in l]
dom = open("dom.html").read()
ok = True
lines = re.findall(r'<polyline[^>]*data-series="([^"]+)"[^>]*points="([^"]*)"', dom)
print("polylines:", [(n, len(p.split())) for n, p in lines])
ok &= sorted(n for n, _ in lines) == sorted(["RSS", "glibc resident", "live", "gap"])
ok &= all(len(p.split()) == len(snaps) for _, p in lines)
bars = len(re.findall(r'<rect class="resident"', dom))
print("arena bars:", bars, "arenas:", len(snaps[-1]["arenas"]))
ok &= bars == len(snaps[-1]["arenas"])

def pixels(path):
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, w = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and ctype in (2, 6), (depth, ctype)
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw, stride, prev, out = zlib.decompress(idat), w * bpp, None, []
    for y in range(h):
        f, row = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            a = row[x - bpp] if x >= bpp else 0
            b = prev[x] if prev else 0
            c = prev[x - bpp] if prev and x >= bpp else 0
            if f == 1: row[x] = (row[x] + a) & 255
            elif f == 2: row[x] = (row[x] + b) & 255
            elif f == 3: row[x] = (row[x] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                row[x] = (row[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        out.append(bytes(row)); prev = row
    return out, bpp

rows, bpp = pixels("shot.png")
colours = {"RSS": (0x1f, 0x77, 0xb4), "gap": (0xd6, 0x27, 0x28), "live": (0x2c, 0xa0, 0x2c)}
for name, rgb in colours.items():
    n = sum(1 for r in rows for i in range(0, len(r), bpp)
            if abs(r[i] - rgb[0]) < 24 and abs(r[i + 1] - rgb[1]) < 24 and abs(r[i + 2] - rgb[2]) < 24)
    print("pixels of the %s colour: %d" % (name, n))
    ok &= n > 200
raise SystemExit(0 if ok else 1)
PY
