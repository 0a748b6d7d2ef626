#!/usr/bin/env bash
# Backs up the Entmoot database: pg_dump in custom format (compressed), upload to S3,
# local copies older than the retention deleted (docs/deployment.md, "Backups and
# restores"); restore a file with restore-database.sh.
#
# Usage: backup-database.sh [DB_HOST]
#
# Environment (all optional):
#   DB_HOST                database host when no argument is given (default localhost)
#   DB_PORT                database port (default 5432)
#   DB_USER                role that runs pg_dump (default postgres)
#   DB_NAME                database to back up (default entmoot)
#   BACKUP_DIR             local directory of backups (default backups)
#   BACKUP_S3_URI          where the file is copied with `aws s3 cp`
#                          (default s3://entmoot-prod-backups/); set it to an empty
#                          value to keep the backup local only
#   BACKUP_RETENTION_DAYS  local backups older than this are deleted (default 7)
# The password comes from PGPASSWORD or ~/.pgpass: pg_dump never prompts.
#
# The file is named backups/entmoot_YYYYMMDD_HHMMSS.sql, but it is a
# pg_dump custom-format archive (use pg_restore, not psql); backups/latest.sql points
# at the newest one. The last line printed is "Backup completed: <file>".
set -euo pipefail

DB_HOST=${1:-${DB_HOST:-localhost}}
DB_PORT=${DB_PORT:-5432}
DB_USER=${DB_USER:-postgres}
DB_NAME=${DB_NAME:-entmoot}
BACKUP_DIR=${BACKUP_DIR:-backups}
BACKUP_S3_URI=${BACKUP_S3_URI-s3://entmoot-prod-backups/}
BACKUP_RETENTION_DAYS=${BACKUP_RETENTION_DAYS:-7}
TIMESTAMP=$(date +%Y%m%d_%H%M%S)
BACKUP_FILE="$BACKUP_DIR/entmoot_${TIMESTAMP}.sql"

for tool in pg_dump find; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "backup-database.sh: $tool is not installed (Debian: postgresql-client)" >&2
    exit 1
  fi
done
if [ -n "$BACKUP_S3_URI" ] && ! command -v aws >/dev/null 2>&1; then
  echo "backup-database.sh: the aws CLI is needed to upload to $BACKUP_S3_URI (or set BACKUP_S3_URI= to skip the upload)" >&2
  exit 1
fi

mkdir -p "$BACKUP_DIR"

echo "Backing up database $DB_NAME on $DB_HOST:$DB_PORT as $DB_USER..."
# Write to a temporary name first: a failed dump never looks like a backup.
pg_dump \
  -h "$DB_HOST" \
  -p "$DB_PORT" \
  -U "$DB_USER" \
  -d "$DB_NAME" \
  --no-password \
  --format=custom \
  --compress=9 \
  -f "$BACKUP_FILE.partial"
mv "$BACKUP_FILE.partial" "$BACKUP_FILE"
ln -sfn "$(basename "$BACKUP_FILE")" "$BACKUP_DIR/latest.sql"

if [ -n "$BACKUP_S3_URI" ]; then
  echo "Uploading to $BACKUP_S3_URI..."
  aws s3 cp "$BACKUP_FILE" "$BACKUP_S3_URI"
else
  echo "BACKUP_S3_URI is empty: keeping the backup local only"
fi

# Keep local copies for the retention period (the newest one always stays).
find "$BACKUP_DIR" -maxdepth 1 -type f -name "entmoot_*.sql" -mtime +"$BACKUP_RETENTION_DAYS" \
  ! -name "$(basename "$BACKUP_FILE")" -delete

echo "Backup completed: $BACKUP_FILE"
