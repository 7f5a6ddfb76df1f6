#!/usr/bin/env bash
# CI: make a database with the previous release's migrations, then run deploy/upgrade.sh with
# this checkout's code on it. PREVIOUS is a git ref (default: the newest tag, else HEAD~1).
# Usage: deploy/test-upgrade.sh [DATABASE_URL]   (default: a SQLite file in a temp dir)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
PREVIOUS="${PREVIOUS:-$(git describe --tags --abbrev=0 2>/dev/null || echo HEAD~1)}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
url="${1:-sqlite:///$work/upgrade.sqlite3}"
export LAUREL_ENV=local LAUREL_DATA_DIR="$work" DATABASE_URL="$url"

if ! git rev-parse -q --verify "$PREVIOUS^{commit}" >/dev/null; then
  echo "deploy/test-upgrade.sh: $PREVIOUS is not in this clone (shallow?): NOT TESTED" >&2
  exit 0
fi
echo "previous release: $PREVIOUS ($(git rev-parse --short "$PREVIOUS"))"
mkdir "$work/previous"
git archive "$PREVIOUS" laurel manage.py | tar -x -C "$work/previous"
(cd "$work/previous" && PYTHONPATH="$work/previous" "$ROOT/.venv/bin/python" manage.py migrate --noinput -v0)

# This checkout's laurel command (the .venv script imports whichever tree PYTHONPATH names).
cat > "$work/laurel" <<SH
#!/bin/sh
PYTHONPATH="$ROOT" exec "$ROOT/.venv/bin/python" -m laurel.cli "\$@"
SH
chmod +x "$work/laurel"
LAUREL="$work/laurel" BACKUP_DIR="$work/backups" SYSTEMCTL=: DOCTOR=0 deploy/upgrade.sh
ls "$work/backups" | grep -q pre-upgrade
echo "upgrade from $PREVIOUS: ok"
