#!/usr/bin/env bash
# Times `seed_demo --orders 1000000 --stores 1` into a fresh PostgreSQL database `bench` and writes the
# figures to bench/results/seed_1m.md. Target: under 5 minutes on the 2-core development box.
#   BENCH_DATABASE_URL  default postgres://postgres@127.0.0.1:5432/bench (the database is dropped and recreated)
#   ORDERS              default 1000000
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
URL=${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/bench}
ORDERS=${ORDERS:-1000000}
DB=${URL##*/}
SERVER=${URL%/*}/postgres
OUT=bench/results/seed_1m.md
mkdir -p bench/results var

echo "Recreating database $DB"
psql "$SERVER" -qc "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" -c "CREATE DATABASE \"$DB\""
DATABASE_URL=$URL $PY manage.py migrate --no-input -v0

echo "Seeding $ORDERS orders (load average before: $(cut -d' ' -f1-3 /proc/loadavg))"
start=$(date +%s.%N)
DATABASE_URL=$URL /usr/bin/time -f "%e %U %S %M" -o var/bench-seed-time.txt \
    $PY manage.py seed_demo --orders "$ORDERS" --stores 1 --credentials var/bench-credentials.json
end=$(date +%s.%N)
read -r elapsed user sys maxrss < var/bench-seed-time.txt
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

counts=$(psql "$URL" -Atc "SELECT (SELECT count(*) FROM orders_order) || ' orders, ' ||
    (SELECT count(*) FROM orders_lineitem) || ' line items, ' || (SELECT count(*) FROM orders_historyentry) ||
    ' history entries, ' || (SELECT count(*) FROM orders_refund) || ' refunds, ' ||
    (SELECT count(*) FROM orders_customer) || ' customers'")
size=$(psql "$URL" -Atc "SELECT pg_size_pretty(pg_database_size(current_database()))")
verdict=$(awk -v e="$elapsed" 'BEGIN { print (e < 300 ? "PASS (< 300 s)" : "FAIL (>= 300 s)") }')

cat > "$OUT" <<MD
# seed_demo --orders $ORDERS --stores 1 into PostgreSQL

Measured $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores, $(psql "$URL" -Atc "SHOW server_version") (shared with other work:
load average $load_after at the end).

| figure | value |
|---|---|
| wall time | **${elapsed} s** — $verdict |
| Python CPU (user + sys) | ${user} s + ${sys} s |
| Python peak RSS | $((maxrss / 1024)) MB |
| rows written | $counts |
| database size after | $size |

Run: \`bash bench/seed_1m.sh\` (drops and recreates the database \`$DB\`).
MD
cat "$OUT"
