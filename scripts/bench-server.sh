#!/usr/bin/env bash
# Server-level measurements: start-up time on an empty data directory, idle RSS, and a
# password sign-in load run. Usage: scripts/bench-server.sh [DATABASE_URL]
# (default: SQLite in a fresh data directory). Figures go to standard output.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p twofold --bins --example signin_load
BIN=target/release/twofold
LOAD=target/release/examples/signin_load
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

start_server() { # data_dir extra-args... ; sets PID and URL
  local dir=$1; shift
  "$BIN" serve --data-dir "$dir" --listen 127.0.0.1:0 "$@" >"$dir.out" 2>"$dir.err" &
  PID=$!
  until grep -q "Twofold is listening on" "$dir.out" 2>/dev/null; do
    kill -0 "$PID" 2>/dev/null || { echo "server exited:"; cat "$dir.err"; exit 1; }
    sleep 0.005
  done
  URL="http://$(sed -n 's/^Twofold is listening on http:\/\///p' "$dir.out")"
}

echo "== start-up on an empty data directory (exec to listening: keys, SQLite file, migrations)"
times=()
for i in $(seq 1 9); do
  t0=$(date +%s%N)
  start_server "$work/start$i"
  t1=$(date +%s%N)
  times+=($(( (t1 - t0) / 1000000 )))
  kill "$PID"; wait "$PID" 2>/dev/null || true
done
printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "median %d ms (min %d, max %d) over %d runs\n", a[int((NR+1)/2)], a[1], a[NR], NR}'

echo "== idle RSS"
start_server "$work/idle"
curl -s "$URL/readyz" >/dev/null; curl -s "$URL/login" >/dev/null
sleep 2
grep VmRSS "/proc/$PID/status"
kill "$PID"; wait "$PID" 2>/dev/null || true

echo "== password sign-ins (demo user bob; argon2id m=19456 t=2 p=1)"
if [ -n "${1:-}" ]; then export TWOFOLD_DATABASE_URL=$1; fi
start_server "$work/load" --demo
"$LOAD" "$URL" bob twofold-demo-pass 4 40 "$PID" >/dev/null   # warm-up
for c in 1 2 4; do
  echo "-- concurrency $c"
  "$LOAD" "$URL" bob twofold-demo-pass "$c" 400 "$PID"
done
kill "$PID"; wait "$PID" 2>/dev/null || true
