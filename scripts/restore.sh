#!/usr/bin/env bash
# Restore a backup made by scripts/backup.sh into DATABASE_URL and MEDIA_ROOT. DESTRUCTIVE:
# it replaces the database's tables and the media folder, so it asks first (--yes: don't ask).
#
#   systemctl stop wxadmin.target            # nothing may write meanwhile (docs/operations.md)
#   DATABASE_URL=… MEDIA_ROOT=… scripts/restore.sh /var/backups/wxadmin/wxadmin-20261201T033000Z
#
# Checks the checksums first and changes nothing if they fail. The database is restored in
# one transaction (all or nothing); the media folder is swapped in only after the database
# succeeded, and the previous one is kept as MEDIA_ROOT.before-restore-<time>.
set -euo pipefail
BACKUP=""
YES=0
for arg in "$@"; do
  case "$arg" in
    --yes) YES=1 ;;
    -*) echo "restore.sh: unknown option $arg" >&2; exit 64 ;;
    *) BACKUP=$arg ;;
  esac
done
[ -n "$BACKUP" ] || { echo "usage: restore.sh BACKUP_DIR [--yes]" >&2; exit 64; }
: "${DATABASE_URL:?set DATABASE_URL (the database to restore into)}"
: "${MEDIA_ROOT:?set MEDIA_ROOT (the private media folder)}"
for part in db.dump media.tar.gz SHA256SUMS; do
  [ -f "$BACKUP/$part" ] || { echo "restore.sh: $BACKUP/$part is missing" >&2; exit 65; }
done
(cd "$BACKUP" && sha256sum --check --quiet SHA256SUMS) || {
  echo "restore.sh: checksums do not match: the backup is damaged, nothing was changed" >&2; exit 65; }

target=$(printf '%s' "$DATABASE_URL" | sed -E 's#^[a-z]+://([^:@/]*)(:[^@/]*)?@#\1@#')
if [ "$YES" != 1 ]; then
  read -r -p "Replace the database $target and $MEDIA_ROOT with $BACKUP? Type yes: " answer
  [ "$answer" = yes ] || { echo "restore.sh: cancelled, nothing was changed" >&2; exit 1; }
fi

stamp=$(date -u +%Y%m%dT%H%M%SZ)
staged="$MEDIA_ROOT.restore-$stamp"
mkdir -p "$staged"
trap 'rm -rf "$staged"' EXIT
tar -C "$staged" -xzf "$BACKUP/media.tar.gz"

pg_restore --clean --if-exists --no-owner --no-privileges --single-transaction \
  --exit-on-error --dbname="$DATABASE_URL" "$BACKUP/db.dump"

if [ -e "$MEDIA_ROOT" ]; then mv "$MEDIA_ROOT" "$MEDIA_ROOT.before-restore-$stamp"; fi
mv "$staged" "$MEDIA_ROOT"
trap - EXIT
echo "restored $BACKUP into $target and $MEDIA_ROOT"
echo "next: python manage.py migrate (if the code is newer than the backup), then start wxadmin"
