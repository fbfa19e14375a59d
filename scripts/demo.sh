#!/usr/bin/env bash
# One command for the demo: install, load the demo corpus into a fresh SQLite file, serve on 127.0.0.1:8000.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/stanceline demo "$@"
