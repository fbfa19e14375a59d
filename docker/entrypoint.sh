#!/bin/sh
# Apply migrations once, then run the given command (the API by default).
set -e
if [ "${STANCELINE_SKIP_MIGRATIONS:-false}" != "true" ]; then
  python -m app.cli db upgrade
fi
exec "$@"
