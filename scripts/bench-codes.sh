#!/usr/bin/env bash
# Load run of the authorization code flow: N authorizations by one signed-in person, then N
# code exchanges (POST /oauth2/token), at CONCURRENCY.
# Usage: scripts/bench-codes.sh [N] [CONCURRENCY] [DATABASE_URL] [ID_TOKEN_ALG]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-5000}; C=${2:-64}; ALG=${4:-RS256}
cargo build --release -q -p twofold --bins --example code_load
BIN=target/release/twofold; LOAD=target/release/examples/code_load
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
export TWOFOLD_DATA_DIR="$work/data"
if [ -n "${3:-}" ]; then export TWOFOLD_DATABASE_URL=$3; fi
"$BIN" serve --listen 127.0.0.1:0 --demo >"$work/out" 2>"$work/err" &
SERVER=$!
until grep -q "Twofold is listening on" "$work/out" 2>/dev/null; do sleep 0.01; done
URL="http://$(sed -n 's/^Twofold is listening on http:\/\///p' "$work/out")"
CLIENT=$("$BIN" client add load --redirect-uri http://localhost:9999/callback --id-token-alg "$ALG" --format json)
ID=$(echo "$CLIENT" | sed -n 's/.*"client_id": "\([^"]*\)".*/\1/p')
SECRET=$(echo "$CLIENT" | sed -n 's/.*"client_secret": "\([^"]*\)".*/\1/p')
"$LOAD" "$URL" "$ID" "$SECRET" bob twofold-demo-pass "$N" "$C" "$SERVER"
