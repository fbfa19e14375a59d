"""`stanceline extract-text FILE`: what extraction makes of one text, and why, stored nowhere.

The command line twin of POST /v1/extract: the registry comes from the database (read only, never
migrated or written), with an optional fragment file laid over it; `--json` prints the API's body.
(`stanceline extract` is the batch command: a corpus in, predictions out, no database.)
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from app.cli.common import console, extracting, fail

# the command imports what it uses when it runs: `stanceline --help` stays light
if TYPE_CHECKING:
    from app.api.extract_schemas import ExtractResponse, SentenceExplained
    from app.config import Settings
    from app.extraction.types import RegistrySnapshot


def register(cli: typer.Typer) -> None:
    cli.command("extract-text")(extract_text)


def _read_text(file: Path) -> str:
    try:
        return sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise fail(f"cannot read {file}: {error}") from error


def _read_fragment(path: Path) -> Any:
    """A registry fragment file: JSON, or YAML when it is named .yaml or .yml."""
    try:
        raw = path.read_text(encoding="utf-8")
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml  # type: ignore[import-untyped]  # (PyYAML comes with uvicorn[standard])

            return yaml.safe_load(raw)
        import orjson

        return orjson.loads(raw)
    except Exception as error:  # a file that does not read or parse, whatever the parser raises
        raise fail(f"cannot read registry fragment {path}: {error}") from error


def _option(field: str) -> str:
    """A request field as the command line names it: published_at is --date, registry.x the file's x."""
    if field == "published_at":
        return "--date"
    if field.startswith("registry."):
        return f"--registry {field.removeprefix('registry.')}"
    return field if field in ("text", "body") else f"--{field}"


def _settings(database_url: str | None, engine: str | None) -> Settings:
    from app.config import get_settings

    settings = get_settings()
    if engine:
        settings = settings.model_copy(update={"extraction_engine": engine})
    if database_url:
        settings = settings.model_copy(update={"database_url": database_url})
    return extracting(settings)


def _stored_registry(settings: Settings) -> RegistrySnapshot:
    """The stored registry, read in one read-only unit of work. A SQLite file that does not exist
    is not created: the stored registry is then empty."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from app.db import make_engine, make_sessionmaker, session_scope
    from app.errors import StancelineError
    from app.extraction.types import RegistrySnapshot
    from app.registry import context as registry_context

    url = make_url(settings.database_url)
    shown = url.render_as_string(hide_password=True)
    path = Path(str(url.database)) if url.get_backend_name() == "sqlite" else None
    if path is not None and url.database not in (None, "", ":memory:"):
        shown = f"{url.drivername}:///{path.resolve()}"
        if not path.exists():
            _say(f"database: {shown} (no such file: nothing stored, none created)")
            return RegistrySnapshot()
    _say(f"database: {shown}")
    engine = make_engine(settings)
    try:
        with session_scope(make_sessionmaker(engine), write=False) as session:
            snapshot = registry_context.load_registry_context(session).snapshot
    except (SQLAlchemyError, StancelineError) as error:
        message = getattr(error, "message", None) or str(error).splitlines()[0]
        raise fail(
            f"cannot read the registry from {shown}: {message} (try `stanceline db upgrade`)"
        ) from error
    finally:
        engine.dispose()
    _say(f"registry: {len(snapshot.actors)} actors, {len(snapshot.topics)} topics")
    return snapshot


def _say(text: str) -> None:
    """A line on stderr as written: no markup, never wrapped (paths and URLs can be copied)."""
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def extract_text(
    file: Annotated[
        Path, typer.Argument(help="The text, plain UTF-8 ('-': standard input)", allow_dash=True)
    ],
    day: Annotated[
        str | None, typer.Option("--date", help="The text's date, YYYY-MM-DD (default: today, UTC)")
    ] = None,
    topic: Annotated[str | None, typer.Option("--topic", help="Only this topic (slug)")] = None,
    registry_file: Annotated[
        Path | None,
        typer.Option(
            "--registry",
            exists=True,
            dir_okay=False,
            help="Registry fragment (JSON, or YAML: .yaml/.yml) laid over the stored registry, never stored",
        ),
    ] = None,
    explain: Annotated[bool, typer.Option("--explain", help="Per sentence: what was found and why")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the body POST /v1/extract answers")] = False,
    engine: Annotated[str | None, typer.Option(help="Default: STANCELINE_EXTRACTION_ENGINE")] = None,
    database_url: Annotated[
        str | None,
        typer.Option("--database-url", help="Overrides STANCELINE_DATABASE_URL", show_default=False),
    ] = None,
) -> None:
    """Dry-run extraction of one text: its observations, and with --explain why (nothing is stored)."""
    from pydantic import ValidationError

    from app.api.extract_schemas import ExtractRequest, ExtractResponse
    from app.errors import StancelineError, field_path

    text = _read_text(file)
    body: dict[str, Any] = {
        "text": text,
        "published_at": day or datetime.now(UTC).date().isoformat(),
        "topic": topic,
        "explain": explain,
    }
    if registry_file is not None:
        body["registry"] = _read_fragment(registry_file)
    try:
        request = ExtractRequest.model_validate(body)
    except ValidationError as error:
        problems = "; ".join(f"{_option(field_path(e['loc']))}: {e['msg']}" for e in error.errors())
        raise fail(problems) from error
    settings = _settings(database_url, engine)
    stored = _stored_registry(settings)
    if day is None:
        _say(f"date: {request.published_at.date().isoformat()} (today; --date sets it)")
    try:
        run = request.run(stored, engine=settings.extraction_engine)
    except StancelineError as error:
        raise fail(f"{error.message} ({error.field})") from error
    except ValueError as error:  # an engine whose packages are missing
        raise fail(str(error)) from error
    response = ExtractResponse.of(run)
    if as_json:
        print(response.model_dump_json(indent=2))  # noqa: T201 - the body, on standard output
        return
    _print(response)


def _print(response: ExtractResponse) -> None:
    out = Console(soft_wrap=True)
    if not out.is_terminal:  # a file or a pipe: lines as long as the table needs, not 80 columns
        out = Console(soft_wrap=True, width=max(out.width, 160))
    engine = response.extractor
    if response.observations:
        table = Table(
            "#", "actor", "topic", "label", "score", "conf.", "observed", "speaker",
            title=f"{len(response.observations)} observations ({engine.engine} {engine.version})",
        )  # fmt: skip
        for column in table.columns[:7]:
            column.no_wrap = True
        for o in response.observations:
            table.add_row(
                str(o.sentence),
                o.actor,
                o.topic,
                o.label,
                f"{o.score:+g}",
                f"{o.confidence:g}",
                o.observed_at.date().isoformat(),
                escape(o.speaker or ""),
            )
        out.print(table)
        for o in response.observations:
            out.print(f"#{o.sentence} {o.actor}: {escape(o.evidence)}", highlight=False)
    else:
        out.print(f"no observations ({engine.engine} {engine.version})")
    explanation = response.explanation
    if explanation is None:
        return
    for note in explanation.notes:
        out.print(f"[dim]{escape(note)}[/dim]")
    for sentence in explanation.sentences:
        _print_sentence(out, sentence)
    out.print(f"[bold]{escape(explanation.summary)}[/bold]")


def _print_sentence(out: Console, sentence: SentenceExplained) -> None:
    parsed = "parsed" if sentence.parsed else "not parsed"
    out.print(f"\n[bold][{sentence.index}][/bold] {escape(sentence.text)} [dim]({parsed})[/dim]")
    rows = [
        ("actors", [f"{m.actor} {m.text!r} ({m.via})" for m in sentence.mentions]),
        (
            "topics",
            [
                f"{t.topic} {t.relevance:g} {t.via}"
                + (f" >= {t.threshold:g}" if t.threshold is not None else "")
                + (f": {', '.join(t.keywords)}" if t.keywords else "")
                + ("" if t.counted else " (not counted)")
                for t in sentence.topics
            ],
        ),
        ("claimants", [f"{c.actor} {c.verb!r}" + (f" (speaker: {c.speaker})" if c.speaker else "") for c in sentence.claimants]),
        ("cues", [f"{c.text!r} {c.sign:+d} {c.kind}" for c in sentence.cues]),
    ]  # fmt: skip
    for label, items in rows:
        if items:
            out.print(f"  {label:10} {escape('; '.join(items))}")
    for candidate in sentence.candidates:
        mark = "[green]kept[/green]   " if candidate.kept else "[red]dropped[/red]"
        out.print(f"  {mark} {candidate.actor} x {candidate.topic}: {escape(candidate.reason)}")
    for note in sentence.notes:
        out.print(f"  [yellow]why[/yellow]    {escape(note)}")
