#!/usr/bin/env bash
# Upgrade Laurel in place, after the new code and its pinned packages are installed
# (git pull / unpack, then: .venv/bin/pip install -r requirements.lock):
#   1. back up the database (refuses to go on if the backup fails)
#   2. migrate (the old web processes keep serving: migrations only add, see docs/operations.md)
#   3. restart the workers (they run the new task code)
#   4. restart the web server
#   5. laurel doctor
# Reads DATABASE_URL like Laurel (source /etc/laurel/laurel.env first). Variables:
#   LAUREL=/opt/laurel/.venv/bin/laurel  BACKUP_DIR=/var/backups/laurel  SYSTEMCTL=systemctl
#   DOCTOR=1 (0 skips step 5, e.g. in CI where no worker runs)
set -euo pipefail
LAUREL="${LAUREL:-/opt/laurel/.venv/bin/laurel}"
BACKUP_DIR="${BACKUP_DIR:-/var/backups/laurel}"
SYSTEMCTL="${SYSTEMCTL:-systemctl}"
: "${DATABASE_URL:?set DATABASE_URL (source /etc/laurel/laurel.env)}"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$BACKUP_DIR"

echo "1/5 backup"
case "$DATABASE_URL" in
  postgres://*|postgresql://*)
    backup="$BACKUP_DIR/laurel-pre-upgrade-$stamp.dump"
    pg_dump -Fc -f "$backup" "$DATABASE_URL" ;;
  sqlite:///*)
    backup="$BACKUP_DIR/laurel-pre-upgrade-$stamp.sqlite3"
    python3 - "${DATABASE_URL#sqlite://}" "$backup" <<'PY'
import sqlite3, sys
source, target = sqlite3.connect(sys.argv[1]), sqlite3.connect(sys.argv[2])
source.backup(target)  # the online backup: safe while Laurel runs
target.close()
PY
    ;;
  *) echo "unknown DATABASE_URL scheme" >&2; exit 2 ;;
esac
echo "    $backup"

echo "2/5 migrate"
"$LAUREL" migrate --noinput
"$LAUREL" migrate --check
"$LAUREL" collectstatic --noinput --verbosity 0

echo "3/5 restart workers"
$SYSTEMCTL restart 'laurel-worker@*'

echo "4/5 restart web"
$SYSTEMCTL restart laurel-web

if [ "${DOCTOR:-1}" = 1 ]; then
  echo "5/5 doctor"
  "$LAUREL" doctor
fi
echo "upgraded; the backup is $backup"
