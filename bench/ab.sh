#!/usr/bin/env bash
# Old code against new code on the same machine, back to back: the steady-state phases (latency at
# N = 10, 100, 1000 and the throughput) of `OLD` (a commit, default 45d9bf6) and of the working tree,
# alternating, for each server of SERVERS. The old code runs from a `git archive` export in a
# temporary directory, on its own database (vo_bench_old, created if missing), with its own bench.
# Results: bench/results/ab-<stamp>/{old,new}-<server>-<round>.json.
#
#   bench/ab.sh                       # OLD=45d9bf6 SERVERS=uvicorn-sansio,daphne ROUNDS=1
#   OLD=b60f4a0 SERVERS=uvicorn-sansio ROUNDS=2 bench/ab.sh
set -euo pipefail
cd "$(dirname "$0")/.."
OLD=${OLD:-45d9bf6}
SERVERS=${SERVERS:-uvicorn-sansio,daphne}
ROUNDS=${ROUNDS:-1}
PY=$(pwd)/.venv/bin/python
eval "$(REQUIRE_SERVICES=1 "$PY" scripts/services.py)"
NEW_DB=$DATABASE_URL
OLD_DB=${OLD_DATABASE_URL:-${DATABASE_URL%/*}/vo_bench_old}
psql "${DATABASE_URL%/*}/postgres" -Atc "select 1 from pg_database where datname = '${OLD_DB##*/}'" | grep -q 1 \
  || psql "${DATABASE_URL%/*}/postgres" -c "create database \"${OLD_DB##*/}\""
OUT=$(pwd)/bench/results/ab-$(date -u +%Y%m%dT%H%M)
mkdir -p "$OUT"
TREE=$(mktemp -d /tmp/vo-bench-old-XXXXXX)
trap 'rm -rf "$TREE"' EXIT
git archive "$OLD" | tar -x -C "$TREE"
echo "old $OLD in $TREE ($OLD_DB), new $(git rev-parse --short HEAD) + working tree ($NEW_DB); results in $OUT"
for round in $(seq 1 "$ROUNDS"); do
  for server in ${SERVERS//,/ }; do
    echo "== round $round $server old, load $(cut -d' ' -f1-3 /proc/loadavg)"
    (cd "$TREE" && DATABASE_URL=$OLD_DB "$PY" bench/run.py --servers "$server" --memory-sockets 0 \
      --output "$OUT/old-$server-$round.json" --tag "old-$server-$round" | grep -E "commit->receipt|deliveries/s")
    echo "== round $round $server new, load $(cut -d' ' -f1-3 /proc/loadavg)"
    DATABASE_URL=$NEW_DB "$PY" bench/run.py --servers "$server" --memory-sockets 0 --storm-users 0 \
      --cold-messages 0 --quiet-load 0 --output "$OUT/new-$server-$round.json" --tag "new-$server-$round" \
      | grep -E "commit->receipt|deliveries/s"
  done
done
# The dated copies each run also writes next to its output are the same files: drop them.
find "$OUT" -name '20*-*.json' -delete
echo "== done, load $(cut -d' ' -f1-3 /proc/loadavg)"
