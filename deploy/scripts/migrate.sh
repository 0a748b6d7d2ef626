#!/usr/bin/env bash
# Applies (or inspects) database migrations with the entmoot binary, as the
# deployment guide's release step does. Usage: migrate.sh [up|status|down [STEPS]]
set -euo pipefail

action=${1:-up}
entmoot_bin=${ENTMOOT_BIN:-entmoot}

if [ -z "${DATABASE_URL:-}" ]; then
  echo "migrate.sh: DATABASE_URL is not set" >&2
  exit 2
fi

case "$action" in
  up | status)
    exec "$entmoot_bin" migrate "$action"
    ;;
  down)
    exec "$entmoot_bin" migrate down --steps "${2:-1}"
    ;;
  *)
    echo "migrate.sh: unknown action '$action' (up, status or down [STEPS])" >&2
    exit 2
    ;;
esac
