#!/usr/bin/env bash
# Back up wxadmin: the PostgreSQL database (pg_dump custom format) and the private media
# (MEDIA_ROOT: certification documents) into a new timestamped folder of DEST.
#
#   DATABASE_URL=postgres://… MEDIA_ROOT=/var/lib/wxadmin/media scripts/backup.sh /var/backups/wxadmin
#
# Writes DEST/wxadmin-YYYYmmddTHHMMSSZ/{db.dump,media.tar.gz,SHA256SUMS,MANIFEST}; keeps the
# newest BACKUP_KEEP folders (default: all). Restore with scripts/restore.sh. The dump holds
# the credentials encrypted: keep FIELD_ENCRYPTION_KEYS in your secret store, not beside it.
set -euo pipefail
DEST=${1:?usage: backup.sh DEST_DIR}
: "${DATABASE_URL:?set DATABASE_URL (the database to back up)}"
: "${MEDIA_ROOT:?set MEDIA_ROOT (the private media folder)}"
case "$DATABASE_URL" in postgres://*|postgresql://*) ;; *)
  echo "backup.sh: DATABASE_URL must be a PostgreSQL URL" >&2; exit 64 ;; esac

stamp=$(date -u +%Y%m%dT%H%M%SZ)
work="$DEST/.wxadmin-$stamp.partial"
final="$DEST/wxadmin-$stamp"
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT

pg_dump --format=custom --no-owner --no-privileges --file="$work/db.dump" "$DATABASE_URL"
if [ -d "$MEDIA_ROOT" ]; then
  tar -C "$MEDIA_ROOT" -czf "$work/media.tar.gz" .
else
  tar -czf "$work/media.tar.gz" --files-from /dev/null
fi
{
  echo "created_utc=$stamp"
  echo "pg_dump=$(pg_dump --version)"
  echo "revision=$(git -C "$(dirname "$0")/.." rev-parse --short HEAD 2>/dev/null || echo unknown)"
} > "$work/MANIFEST"
(cd "$work" && sha256sum db.dump media.tar.gz MANIFEST > SHA256SUMS)
mv "$work" "$final"
trap - EXIT

if [ -n "${BACKUP_KEEP:-}" ]; then
  ls -1d "$DEST"/wxadmin-* 2>/dev/null | sort | head -n "-$BACKUP_KEEP" | xargs -r rm -rf
fi
echo "$final"
