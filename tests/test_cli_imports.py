"""`stanceline --help` must stay quick: importing the CLI loads no heavy library, neither the web
app nor the extraction pipeline (each command imports what it uses when it runs). Checked on
sys.modules of a fresh interpreter rather than by timing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from app.cli import main as cli
from app.extraction import KNOWN_ENGINES

ROOT = Path(__file__).resolve().parent.parent
# heavy libraries, and the app's modules that pull them in
NOT_AT_IMPORT = (
    "spacy",
    "pandas",
    "numpy",
    "scipy",
    "ruptures",
    "sklearn",
    "onnxruntime",
    "tokenizers",
    "fastapi",
    "uvicorn",
    "sqlalchemy",
    "alembic",
    "httpx",
    "celery",
    "app.main",
    "app.db",
    "app.extraction",
    "app.ingest.articles",
    "app.timelines",
    "app.shifts.refresh",
    # typer's rich help (rich.markdown, markdown-it) was a third of `stanceline --help`: plain help
    "rich.markdown",
    "markdown_it",
    "typer.rich_utils",
)


def _modules_after(code: str) -> set[str]:
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120
    )
    return set(json.loads(done.stdout.splitlines()[-1]))


def test_importing_the_cli_loads_no_heavy_module() -> None:
    loaded = _modules_after("import app.cli.main")
    assert sorted(m for m in NOT_AT_IMPORT if m in loaded) == []


def test_help_loads_no_heavy_module_and_lists_every_command() -> None:
    code = (
        "import contextlib, io, sys\n"
        "sys.argv = ['stanceline', '--help']\n"
        "from app.cli.main import main\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):\n"
        "    main()\n"
        "assert 'reextract' in out.getvalue() and 'feeds' in out.getvalue(), out.getvalue()"
    )
    loaded = _modules_after(code)
    assert sorted(m for m in NOT_AT_IMPORT if m in loaded) == []


def test_the_engine_names_in_the_help_are_the_extraction_engines() -> None:
    assert cli.ENGINE_CHOICES == KNOWN_ENGINES
