"""What every `stanceline` command module shares: the stderr console, the `--database-url`
option, the error exit, and the settings of a command that extracts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from app.config import Settings

console = Console(stderr=True)

DatabaseOption = Annotated[
    str | None, typer.Option("--database-url", help="Overrides STANCELINE_DATABASE_URL", show_default=False)
]


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print `message` as an error and give the exit to raise (2: bad input; 1: the work failed)."""
    console.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)  # paths and URLs stay whole
    return typer.Exit(code=code)


def extracting(settings: Settings) -> Settings:
    """`settings` for a command that extracts: this process's engines configured (the llm
    endpoint) and its engine resolved (a known engine whose packages are missing falls back to
    `rules`, saying so); an unknown engine is an error exit."""
    from app.extraction import configure, resolve_engine

    configure(settings)
    try:
        return settings.model_copy(update={"extraction_engine": resolve_engine(settings.extraction_engine)})
    except ValueError as error:
        raise fail(str(error)) from error
