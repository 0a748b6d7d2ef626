#!/usr/bin/env bash
# Applies database migrations with the entmoot binary, the release step of
# docs/deployment.md: `./scripts/migrate.sh production`.
#
# Usage:
#   migrate.sh [ENV] [DB_HOST]       ENV: development | staging (default) | production
#   migrate.sh up | status | down [STEPS]
#
# ENV form: for production, a backup is taken first (backup-database.sh into
# backups/, against DB_HOST, uploaded only if BACKUP_S3_URI is set); then
# `entmoot migrate up`; then `entmoot migrate status` verifies nothing is pending.
#
# Environment: DATABASE_URL (required) names the database for entmoot; ENTMOOT_BIN is
# the binary (default: entmoot on PATH); DB_NAME, DB_PORT, DB_USER and PGPASSWORD are
# passed to the backup.
set -euo pipefail

entmoot_bin=${ENTMOOT_BIN:-entmoot}
script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if [ -z "${DATABASE_URL:-}" ]; then
  echo "migrate.sh: DATABASE_URL is not set" >&2
  exit 2
fi

case "${1:-staging}" in
  up | status)
    exec "$entmoot_bin" migrate "$1"
    ;;
  down)
    exec "$entmoot_bin" migrate down --steps "${2:-1}"
    ;;
  development | staging | production)
    env_name=${1:-staging}
    db_host=${2:-${DB_HOST:-localhost}}
    echo "Running migrations for $env_name environment..."
    if [ "$env_name" = "production" ]; then
      echo "Creating backup..."
      BACKUP_S3_URI=${BACKUP_S3_URI-} "$script_dir/backup-database.sh" "$db_host"
    fi
    echo "Applying migrations..."
    "$entmoot_bin" migrate up
    echo "Verifying schema..."
    status=$("$entmoot_bin" migrate status)
    echo "$status"
    if grep -q '^pending' <<<"$status"; then
      echo "migrate.sh: migrations are still pending after 'migrate up'" >&2
      exit 1
    fi
    echo "Done!"
    ;;
  *)
    echo "migrate.sh: unknown argument '$1' (development, staging, production, up, status or down [STEPS])" >&2
    exit 2
    ;;
esac
