#!/usr/bin/env bash
# Load run of client-credentials grants (POST /oauth2/token) by one service account.
# Usage: scripts/bench-grants.sh [N] [CONCURRENCY] [DATABASE_URL]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-20000}; C=${2:-64}
cargo build --release -q -p twofold --bins --example grant_load
BIN=target/release/twofold; LOAD=target/release/examples/grant_load
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
export TWOFOLD_DATA_DIR="$work/data"
if [ -n "${3:-}" ]; then export TWOFOLD_DATABASE_URL=$3; fi
"$BIN" serve --listen 127.0.0.1:0 >"$work/out" 2>"$work/err" &
SERVER=$!
until grep -q "Twofold is listening on" "$work/out" 2>/dev/null; do sleep 0.01; done
URL="http://$(sed -n 's/^Twofold is listening on http:\/\///p' "$work/out")"
ACCOUNT=$("$BIN" service-account add load --scope load:test --format json)
ID=$(echo "$ACCOUNT" | sed -n 's/.*"client_id": "\([^"]*\)".*/\1/p')
SECRET=$(echo "$ACCOUNT" | sed -n 's/.*"client_secret": "\([^"]*\)".*/\1/p')
"$LOAD" "$URL" "$ID" "$SECRET" "$N" "$C" "$SERVER"
