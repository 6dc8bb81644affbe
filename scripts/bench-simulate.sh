#!/usr/bin/env bash
# End-to-end `twofold policy simulate`: PEOPLE people (by CSV import) and EVENTS recorded
# sign-ins of the last 30 days written straight into the database, then the documented
# example policy replayed against them, timed (reading every event included).
# Usage: scripts/bench-simulate.sh [EVENTS] [PEOPLE] [DATABASE_URL]
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS=${1:-1000000}; PEOPLE=${2:-10000}
cargo build --release -q -p twofold --bins
BIN=$PWD/target/release/twofold
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export TWOFOLD_DATA_DIR="$work/data" TWOFOLD_LOG=warn
if [ -n "${3:-}" ]; then export TWOFOLD_DATABASE_URL=$3; fi
mkdir -p "$work/data"
"$BIN" migrate >/dev/null
"$BIN" group add finance >/dev/null
"$BIN" group add engineering >/dev/null
python3 - "$PEOPLE" >"$work/people.csv" <<'PY'
import sys
n = int(sys.argv[1])
print("username,email,display_name,phone,department,manager,tier,roles,groups")
tiers = ["standard", "standard", "privileged", "external"]
for i in range(n):
    roles = "admin;user" if i % 50 == 0 else "user"
    group = ["finance", "engineering"][i % 2]
    print(f"user{i},user{i}@example.com,User {i},,,,{tiers[i % 4]},{roles},{group}")
PY
"$BIN" user import "$work/people.csv" >/dev/null
URL=${TWOFOLD_DATABASE_URL:-sqlite://$work/data/twofold.db}
python3 - "$EVENTS" "$URL" "$work" <<'PY'
import csv, os, random, sqlite3, subprocess, sys, time
events, url, work = int(sys.argv[1]), sys.argv[2], sys.argv[3]
now = int(time.time() * 1000)
start = now - 29 * 86_400_000
rows = []
def users():
    if url.startswith("sqlite:"):
        db = sqlite3.connect(url[len("sqlite://"):])
        return db, [r for r in db.execute("SELECT id, username FROM users ORDER BY username")]
    out = subprocess.run(["psql", url, "-AtF,", "-c", "SELECT id, username FROM users ORDER BY username"], capture_output=True, text=True, check=True)
    return None, [tuple(l.split(",")) for l in out.stdout.splitlines()]
db, people = users()
rnd = random.Random(7)
path = os.path.join(work, "events.csv")
with open(path, "w", newline="") as f:
    w = csv.writer(f)
    for n in range(events):
        at = start + n * (29 * 86_400_000 // events)
        uid, name = people[n % len(people)]
        ident = f"{at:012x}7{n & 0xfff:03x}8{rnd.getrandbits(60):015x}"
        ident = f"{ident[:8]}-{ident[8:12]}-{ident[12:16]}-{ident[16:20]}-{ident[20:32]}"
        ip = f"10.0.{n % 250}.{n % 200}" if n % 3 == 0 else f"203.0.113.{n % 250}"
        device = ["new", "known", "trusted"][n % 3]
        w.writerow([ident, at, name, uid, "success", "", "pwd otp", ip, "bench", "twofold", device, "", "", "low", ""])
cols = "id, at, username, user_id, outcome, reason, methods, ip, user_agent, app, device, device_id, country, risk, policy"
if db is not None:
    with open(path) as f:
        db.executemany(f"INSERT INTO sign_in_events ({cols}) VALUES ({','.join('?' * 15)})",
                       ([None if v == "" else v for v in row] for row in csv.reader(f)))
    db.commit()
else:
    subprocess.run(["psql", url, "-qc", f"\\copy sign_in_events ({cols}) FROM '{path}' WITH (FORMAT csv, NULL '')"], check=True)
PY
echo "replaying $EVENTS sign-ins of $PEOPLE people (${TWOFOLD_DATABASE_URL:-sqlite}):"
/usr/bin/time -f "%e s elapsed, %U s user, %M KiB max resident" "$BIN" policy simulate docs/policy-example.toml --days 30 | head -3
