-- sqlite3 workload: inserts, an index, queries, updates and deletes on an
-- in-memory database, so the page cache and sqlite's own allocations churn.
-- Run: sqlite3 :memory: '.read bench/workload.sql'
PRAGMA cache_size = -16384;
CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, name TEXT, payload BLOB);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000)
INSERT INTO t(k, name, payload)
  SELECT abs(random()) % 50000, 'name-' || hex(randomblob(8)), randomblob(16 + abs(random()) % 400)
  FROM n;
CREATE INDEX t_k ON t(k);
CREATE INDEX t_name ON t(name);
SELECT count(*), sum(length(payload)) FROM t WHERE k BETWEEN 1000 AND 20000;
SELECT k, count(*) AS c FROM t GROUP BY k ORDER BY c DESC LIMIT 3;
SELECT count(*) FROM t a JOIN t b ON a.k = b.k WHERE a.id < 20000 AND b.id < 20000;
UPDATE t SET payload = randomblob(32 + abs(random()) % 800) WHERE id % 3 = 0;
DELETE FROM t WHERE k % 5 = 0;
SELECT group_concat(name, ',') IS NOT NULL FROM (SELECT name FROM t ORDER BY name LIMIT 20000);
CREATE TABLE u AS SELECT k, max(length(payload)) AS m, count(*) AS c FROM t GROUP BY k;
SELECT count(*), sum(m), sum(c) FROM u;
