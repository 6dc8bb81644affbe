#!/usr/bin/env bash
# Campaign compliance at scale: PEOPLE identities (by CSV import) in a three-phase campaign,
# a third of them with a confirmed authenticator app, then timed: the compliance report, the
# scheduler's first run (every identity's first transition recorded and audited), a second
# run (nothing changed), and the gap report.
# Usage: scripts/bench-campaign.sh [PEOPLE] [DATABASE_URL]
set -euo pipefail
cd "$(dirname "$0")/.."
PEOPLE=${1:-100000}
cargo build --release -q -p twofold --bins
BIN=$PWD/target/release/twofold
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export TWOFOLD_DATA_DIR="$work/data" TWOFOLD_LOG=warn
if [ -n "${2:-}" ]; then export TWOFOLD_DATABASE_URL=$2; fi
mkdir -p "$work/data"
"$BIN" migrate >/dev/null
for g in pilot planners readers; do "$BIN" group add "$g" >/dev/null; done
python3 - "$PEOPLE" >"$work/people.csv" <<'PY'
import sys
n = int(sys.argv[1])
print("username,email,display_name,phone,department,manager,tier,roles,groups")
for i in range(n):
    group = ["pilot", "planners", "readers"][i % 3] if i % 10 else "pilot"
    print(f"user{i},user{i}@example.com,User {i},,,,standard,user,{group}")
PY
/usr/bin/time -f "import: %e s" "$BIN" user import "$work/people.csv" >/dev/null
URL=${TWOFOLD_DATABASE_URL:-sqlite://$work/data/twofold.db}
python3 - "$URL" <<'PY'
import sqlite3, subprocess, sys, time, uuid
url = sys.argv[1]
now = int(time.time() * 1000)
sql_rows = "SELECT id FROM users ORDER BY username"
if url.startswith("sqlite:"):
    db = sqlite3.connect(url[len("sqlite://"):])
    ids = [r[0] for r in db.execute(sql_rows)]
    db.executemany(
        "INSERT INTO authenticators (id, user_id, kind, name, sealed_secret, drift_steps, created_at, confirmed_at) VALUES (?, ?, 'totp', 'Phone', x'00', 0, ?, ?)",
        [(str(uuid.uuid4()), uid, now, now) for uid in ids[::3]])
    db.commit()
else:
    subprocess.run(["psql", url, "-qc",
        "INSERT INTO authenticators (id, user_id, kind, name, sealed_secret, drift_steps, created_at, confirmed_at) "
        f"SELECT gen_random_uuid()::text, id, 'totp', 'Phone', '\\x00'::bytea, 0, {now}, {now} FROM (SELECT id, row_number() OVER (ORDER BY username) AS n FROM users) u WHERE n % 3 = 1"], check=True)
PY
day() { date -u -d "$1 days" +%F; }
cat >"$work/campaign.toml" <<TOML
name = "bench"
target = { percent = 95, within_days = 90 }
[[phase]]
name = "pilot"
cohort = { groups = ["pilot"] }
starts = "$(day -30)"
deadline = "$(day -10)"
grace_days = 5
enforce_on = "$(day -10)"
[[phase]]
name = "planners"
cohort = { groups = ["planners"] }
starts = "$(day -5)"
deadline = "$(day 10)"
grace_days = 14
[[phase]]
name = "readers"
cohort = { groups = ["readers"] }
starts = "$(day -40)"
deadline = "$(day -5)"
grace_days = 30
enforce_at_percent = 90
TOML
"$BIN" campaign apply "$work/campaign.toml" >/dev/null
"$BIN" campaign start bench >/dev/null
echo "$PEOPLE identities (${TWOFOLD_DATABASE_URL:-sqlite}):"
/usr/bin/time -f "compliance report: %e s, %M KiB" "$BIN" report compliance --format csv >/dev/null
/usr/bin/time -f "first scheduler run: %e s, %M KiB" "$BIN" campaign run-jobs
/usr/bin/time -f "second scheduler run: %e s, %M KiB" "$BIN" campaign run-jobs
/usr/bin/time -f "gap report: %e s, %M KiB" "$BIN" report gaps >/dev/null
