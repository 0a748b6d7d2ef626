#!/usr/bin/env bash
# Restores a backup made by backup-database.sh into a new, empty database (never over
# an existing one) and prints the row count of every table, the buildings table
# first (docs/deployment.md, "Backups and restores").
#
# Usage: restore-database.sh <backup_file> [db_host]
#
# Environment (all optional):
#   DB_HOST          database host when no second argument is given (default localhost)
#   DB_PORT          database port (default 5432)
#   DB_USER          role that creates the database and restores (default postgres)
#   RESTORE_DB_NAME  database to create and fill (default entmoot_restore); it must
#                    not exist yet
#   MAINTENANCE_DB   database to connect to for CREATE DATABASE (default postgres)
# The password comes from PGPASSWORD or ~/.pgpass: nothing prompts.
#
# To put a restored database in service, point DATABASE_URL at it (or rename it while
# the application is stopped); then run `entmoot migrate status`.
set -euo pipefail

BACKUP_FILE=${1:-}
DB_HOST=${2:-${DB_HOST:-localhost}}
DB_PORT=${DB_PORT:-5432}
DB_USER=${DB_USER:-postgres}
RESTORE_DB_NAME=${RESTORE_DB_NAME:-entmoot_restore}
MAINTENANCE_DB=${MAINTENANCE_DB:-postgres}

if [ -z "$BACKUP_FILE" ]; then
  echo "Usage: ./restore-database.sh <backup_file> [db_host]" >&2
  exit 1
fi
if [ ! -r "$BACKUP_FILE" ]; then
  echo "restore-database.sh: cannot read $BACKUP_FILE" >&2
  exit 1
fi
if ! [[ "$RESTORE_DB_NAME" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
  echo "restore-database.sh: RESTORE_DB_NAME must be letters, digits and underscores, got '$RESTORE_DB_NAME'" >&2
  exit 1
fi
for tool in psql pg_restore; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "restore-database.sh: $tool is not installed (Debian: postgresql-client)" >&2
    exit 1
  fi
done

connection=(-h "$DB_HOST" -p "$DB_PORT" -U "$DB_USER" --no-password)

# Create the empty database; this fails (and stops the script) if it exists.
echo "Creating database $RESTORE_DB_NAME on $DB_HOST:$DB_PORT..."
psql "${connection[@]}" -d "$MAINTENANCE_DB" -v ON_ERROR_STOP=1 -q \
  -c "CREATE DATABASE \"$RESTORE_DB_NAME\";"

# Restore the backup (extensions such as PostGIS come with it).
echo "Restoring $BACKUP_FILE..."
pg_restore \
  "${connection[@]}" \
  -d "$RESTORE_DB_NAME" \
  --exit-on-error \
  "$BACKUP_FILE"

# Verify the restore: the buildings table first, then every table.
echo "Row counts in $RESTORE_DB_NAME:"
buildings=$(psql "${connection[@]}" -d "$RESTORE_DB_NAME" -v ON_ERROR_STOP=1 -Atc "SELECT COUNT(*) FROM buildings;")
echo "buildings $buildings"
psql "${connection[@]}" -d "$RESTORE_DB_NAME" -v ON_ERROR_STOP=1 -At -F ' ' <<'SQL'
SELECT format('SELECT %L, count(*) FROM %I.%I', table_name, table_schema, table_name)
FROM information_schema.tables
WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
ORDER BY table_name
\gexec
SQL

echo "Restore completed. Verify with: psql -h $DB_HOST -U $DB_USER -d $RESTORE_DB_NAME"
