#!/usr/bin/env bash
# Load run of POST /api/v1/verify: N users with an assigned TOTP token each verify one fresh
# code at CONCURRENCY clients. Usage: scripts/bench-verify.sh [N] [CONCURRENCY] [DATABASE_URL]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-5000}; C=${2:-64}
cargo build --release -q -p twofold --bins --example verify_load
BIN=target/release/twofold; LOAD=target/release/examples/verify_load
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
export TWOFOLD_DATA_DIR="$work/data"
if [ -n "${3:-}" ]; then export TWOFOLD_DATABASE_URL=$3; fi
"$BIN" serve --listen 127.0.0.1:0 >"$work/out" 2>"$work/err" &
until grep -q "Twofold is listening on" "$work/out" 2>/dev/null; do sleep 0.01; done
URL="http://$(sed -n 's/^Twofold is listening on http:\/\///p' "$work/out")"
"$LOAD" prepare "$work" "$N"
"$BIN" user import "$work/users.csv" >/dev/null
t0=$(date +%s%N); "$BIN" token import "$work/tokens.csv"; t1=$(date +%s%N)
echo "token import of $N: $(( (t1 - t0) / 1000000 )) ms"
KEY=$("$BIN" apikey create --name load --role admin --format json | sed -n 's/.*"token": "\([^"]*\)".*/\1/p')
"$LOAD" run "$URL" "$KEY" "$N" "$C"
