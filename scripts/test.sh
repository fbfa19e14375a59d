#!/usr/bin/env bash
# One command for the whole suite: install, make sure PostgreSQL runs, lint, type-check, layer contracts, tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

# PostgreSQL on 127.0.0.1:5432 when this machine has one; the PostgreSQL tests skip with a printed reason if not.
if command -v pg_isready >/dev/null 2>&1 && ! pg_isready -q -h 127.0.0.1 -p 5432; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    for version in $(ls /etc/postgresql); do
      pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || true
    done
    for _ in $(seq 1 20); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.5; done
  fi
fi
if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  echo "PostgreSQL: reachable at 127.0.0.1:5432"
else
  echo "PostgreSQL: NOT reachable at 127.0.0.1:5432 - its tests will be skipped (reason printed by pytest)"
fi

.venv/bin/ruff check app tests migrations bench
.venv/bin/ruff format --check app tests migrations bench
.venv/bin/mypy app bench
.venv/bin/lint-imports
# The browser tests drive Debian's chromium (Playwright cannot download a browser here); without it they skip and say why.
if ! command -v chromium >/dev/null 2>&1; then
  echo "chromium: installing Debian's package for the browser tests"
  { apt-get install -y chromium || { apt-get update && apt-get install -y chromium; }; } >/dev/null 2>&1 ||
    echo "chromium unavailable: browser tests will skip"
fi
# Any argument (a path, -k, -n 0) runs exactly what it says.
if [ "$#" -gt 0 ]; then
  exec .venv/bin/pytest "$@"
fi
# With none, the whole suite: first in three processes, a test file per process at a time (module
# fixtures built once; on two cores much of the suite waits on servers, subprocesses and
# databases), then, alone, the tests that measure under a load of their own making (`serial`).
status=0
.venv/bin/pytest -n 3 --dist loadfile -m "not serial" || status=$?
.venv/bin/pytest -m serial || status=$?
exit "$status"
