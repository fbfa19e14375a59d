"""The `stanceline` command: serve, demo, ingest, extract, eval, registry load, db upgrade.

Each command imports what it uses when it runs: `stanceline --help` (and every process that
only needs one command) loads neither the web app, the database layer nor the extraction and
analysis libraries (tests/test_cli_imports.py).
"""

from __future__ import annotations

import os
import signal
import sys
from collections import Counter
from collections.abc import Callable
from functools import partial
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from app.cli import extract as cli_extract
from app.cli import jobs as cli_jobs
from app.cli import train as cli_train
from app.cli import transfer as cli_transfer
from app.cli.common import DatabaseOption, console, extracting, fail

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from app import devsets
    from app.config import Settings
    from app.store import aggregates

T = TypeVar("T")
# app.extraction.KNOWN_ENGINES, named here so that --help needs no extraction import (tested equal)
ENGINE_CHOICES = ("rules", "learned", "embeddings", "llm")
REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO_DIR = Path(__file__).resolve().parents[1] / "demo"
DEMO_CORPUS = DEMO_DIR / "articles.jsonl"
DEMO_DB_NAME = "stanceline-demo.db"

# Plain help, as click writes it: typer's rich help imports rich's Markdown (markdown-it) and draws
# panels, about a third of `stanceline --help` (bench.cli_help); messages still use rich
cli = typer.Typer(
    help="Stanceline: stance-tracking time series from news text.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
registry_cli = typer.Typer(help="Actors and topics.", no_args_is_help=True, rich_markup_mode=None)
db_cli = typer.Typer(help="Database schema.", no_args_is_help=True, rich_markup_mode=None)
cli.add_typer(registry_cli, name="registry")
cli.add_typer(db_cli, name="db")
keys_cli = typer.Typer(
    help="API keys (stored as hashes; the plain key is shown once).",
    no_args_is_help=True,
    rich_markup_mode=None,
)
cli.add_typer(keys_cli, name="keys")
cli_transfer.register(cli)  # export --all, import
cli_jobs.register(cli)  # feeds add|list|poll, jobs reextract|show
cli_extract.register(cli)  # extract-text: one text, dry run, with --explain
cli_train.register(cli)  # train (from reviews), train-default (from the development sets)


def _settings(database_url: str | None, *, existing: bool = False, announce: bool = True) -> Settings:
    """The settings of a command that extracts (its engine resolved), as `_database_settings`."""
    return extracting(_database_settings(database_url, existing=existing, announce=announce))


def _database_settings(
    database_url: str | None, *, existing: bool = False, announce: bool = True
) -> Settings:
    """The settings a command runs with; says on stderr which database it uses (`announce`).

    `existing`: the command only reads or changes data, so a SQLite file that is not there is an
    error naming it (and the demo's database when there is one) instead of a new empty database.
    """
    from app.config import get_settings

    settings = get_settings()
    if database_url:
        settings = settings.model_copy(update={"database_url": database_url})
    if announce or existing:
        _check_database(settings.database_url, existing=existing, announce=announce)
    return settings


def shown_url(url: str) -> str:
    """A database URL as the CLI prints it: the password masked, a SQLite file as an absolute path."""
    import re

    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)
    path = _sqlite_path(url)
    if path is not None:
        parsed = parsed.set(database=str(path.resolve()))
    return parsed.render_as_string(hide_password=True)


def _sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (relative to the current directory), None for other databases,
    in-memory ones and `file:` URIs."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    if database.startswith("file:") or parsed.query.get("mode") == "memory":
        return None
    return Path(database)


def _demo_databases(besides: Path | None) -> list[Path]:
    """Demo databases (`stanceline demo`'s default file) here and at the repository root."""
    found = [
        path.resolve()
        for path in (Path.cwd() / DEMO_DB_NAME, REPO_ROOT / DEMO_DB_NAME)
        if path.is_file() and (besides is None or path.resolve() != besides.resolve())
    ]
    return list(dict.fromkeys(found))


def _check_database(url: str, *, existing: bool, announce: bool) -> None:
    """One line on stderr naming the database; a missing SQLite file is said (or refused)."""
    path = _sqlite_path(url)
    missing = path is not None and not path.exists()
    demos = _demo_databases(path) if missing else []
    hint = f"the demo's is at {demos[0]}: pass --database-url sqlite:///{demos[0]}" if demos else ""
    if missing and existing:
        raise fail(
            f"no database at {shown_url(url)} (nothing was created); "
            + (hint or "pass --database-url or set STANCELINE_DATABASE_URL")
        )
    note = f" (new file{'; ' + hint if hint else ''})" if missing else ""
    if announce:
        _say(f"database: {shown_url(url)}{note}")


def _configure_engines(**overrides: str | None) -> None:
    """The engines' settings for this process (the llm endpoint): the environment's, with the
    command's options (`llm_url=...`) over them."""
    from app.config import get_settings
    from app.extraction import configure

    update = {key: value for key, value in overrides.items() if value is not None}
    configure(get_settings().model_copy(update=update))


def _engine(name: str) -> str:
    from app.extraction import LLM_HINT, available_engines, resolve_engine

    if name == "llm" and name not in available_engines():  # asked for by name: no quiet fallback
        raise fail(f"engine 'llm' needs an endpoint: pass --llm-url and --llm-model, or {LLM_HINT}")
    try:
        resolved = resolve_engine(name)
    except ValueError as error:
        raise fail(str(error)) from error
    if resolved != name:
        console.print(f"[yellow]engine {name!r} is not installed here; using {resolved!r}[/yellow]")
    return resolved


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Default: STANCELINE_HOST or 127.0.0.1")] = None,
    port: Annotated[int | None, typer.Option(help="Default: STANCELINE_PORT or 8000")] = None,
    workers: Annotated[int, typer.Option(min=1, help="uvicorn worker processes")] = 1,
    database_url: DatabaseOption = None,
) -> None:
    """Serve the API (and /docs)."""
    settings = _settings(database_url)
    _run_server(settings, host or settings.host, port or settings.port, workers)


def _run_server(settings: Settings, host: str, port: int, workers: int = 1) -> None:
    import uvicorn

    from app.ops import metrics, migrate
    from app.ops.observability import configure_logging

    configure_logging(settings.log_level, json=settings.log_format == "json")
    metrics.prepare_multiprocess_dir()
    options = uvicorn_options(settings, host, port)
    signal.signal(signal.SIGTERM, _stopped_on_request)
    if workers == 1:
        from app.main import create_app

        uvicorn.run(create_app(settings), **options)
        return
    # worker processes build their own settings from the environment; migrate once, before they
    # start. The supervisor itself never loads the app: the workers start that much sooner.
    os.environ["STANCELINE_DATABASE_URL"] = settings.database_url
    migrate.upgrade(settings.database_url)
    # a worker that loads the app on a busy machine must not be killed as unresponsive (uvicorn's 5 s)
    uvicorn.run(
        "app.main:create_app", factory=True, workers=workers, timeout_worker_healthcheck=60, **options
    )


def uvicorn_options(settings: Settings, host: str, port: int) -> dict[str, Any]:
    """uvicorn logs through our handler and leaves access records to ours (its own print query
    strings); on SIGTERM it stops accepting, lets in-flight requests finish, then shuts the app down."""
    return {
        "host": host,
        "port": port,
        "log_level": settings.log_level.lower(),
        "log_config": None,
        "access_log": False,
        "timeout_graceful_shutdown": settings.shutdown_timeout_seconds,
        "timeout_keep_alive": settings.keep_alive_seconds,
    }


def _stopped_on_request(_signum: int, _frame: FrameType | None) -> None:
    """SIGTERM is a requested stop: uvicorn re-raises it after its graceful shutdown, and the
    process then exits 0 instead of dying of the signal."""
    raise SystemExit(0)


def _ingest_rows(
    settings: Settings,
    rows: list[dict[str, Any]],
    batch_size: int,
    label: str,
    *,
    wait: bool = True,
    workers: int | None = None,
) -> Counter[str]:
    from app.cli import ingest as cli_ingest

    return cli_ingest.ingest_rows(
        settings, rows, batch_size=batch_size, label=label, console=console, wait=wait, workers=workers
    )


def _finish_background_work(settings: Settings, factory: sessionmaker[Session]) -> None:
    """Refresh every series this command queued, once, and post the webhooks that produced."""
    from app.jobs import periodic as background

    background.run_once(settings, factory, settle=False)


def _read_articles(path: Path) -> list[dict[str, Any]]:
    from app.extraction.corpus import read_jsonl

    try:
        return list(read_jsonl(path))
    except (OSError, ValueError) as error:
        raise fail(str(error)) from error


@cli.command("ingest")
def ingest_file(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="One article per line (JSONL)")],
    batch_size: Annotated[int, typer.Option(min=1, max=1000, help="Articles per transaction")] = 100,
    wait: Annotated[
        bool,
        typer.Option(
            "--wait/--no-wait",
            help="Extract what was stored before ending (--no-wait: leave it to the server's workers)",
        ),
    ] = True,
    workers: Annotated[
        int | None,
        typer.Option(min=0, help="Extraction processes (default: one per core; 0: this process)"),
    ] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Ingest articles from a JSONL file (the same path as POST /v1/articles/batch): store them
    (the first bar), then extract them in worker processes (the second)."""
    tally = _ingest_rows(
        _settings(database_url), _read_articles(file), batch_size, "articles", wait=wait, workers=workers
    )
    console.print(", ".join(f"{k}: {v}" for k, v in sorted(tally.items())), soft_wrap=True)
    if tally["error"] or tally["extraction_failed"]:
        raise typer.Exit(code=1)


@cli.command("extract-pending")
def extract_pending(
    retry_failed: Annotated[
        bool,
        typer.Option("--retry-failed", help="Put articles whose extraction failed back in the queue first"),
    ] = False,
    database_url: DatabaseOption = None,
) -> None:
    """Extract the articles waiting in the extraction queue, in this process, and end (for a
    deployment whose API processes run no extraction workers, or from cron)."""
    from app.db import make_engine, make_sessionmaker, session_scope
    from app.jobs import extraction
    from app.jobs import periodic as background
    from app.ops import migrate
    from app.registry import context as registry_context
    from app.store import extraction_queue as queue_store

    settings = _settings(database_url, existing=True)
    migrate.upgrade(settings.database_url)
    engine = make_engine(settings)
    factory = make_sessionmaker(engine, settings)
    try:
        if retry_failed:
            with session_scope(factory) as session:
                console.print(f"requeued {queue_store.requeue_failed(session)} failed articles")
        with session_scope(factory, write=False) as session:
            total = queue_store.queue_state(session).pending
        columns = (TextColumn("extracting"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns, console=console) as progress:
            task = progress.add_task("extracting", total=total)
            outcome = extraction.drain(
                factory,
                settings=settings,
                cache=registry_context.RegistryCache(),
                on_article=lambda _: progress.advance(task),
            )
        background.run_once(settings, factory, settle=False)
    finally:
        engine.dispose()
    console.print(
        f"extracted {outcome.done}, to retry {outcome.retry}, failed {outcome.failed}, "
        f"skipped {outcome.skipped}"
    )
    if outcome.failed:
        raise typer.Exit(code=1)


@cli.command()
def extract(
    corpus: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="Articles, one JSON per line")],
    registry_file: Annotated[
        Path, typer.Option("--registry", exists=True, dir_okay=False, help="Registry JSON")
    ],
    out: Annotated[Path, typer.Option(help="Where to write predictions (JSONL)")],
    engine: Annotated[str, typer.Option(help=f"One of: {', '.join(ENGINE_CHOICES)}")] = "rules",
) -> None:
    """Extract observations from a corpus without a server or a database."""
    import orjson

    from app.extraction.corpus import extract_corpus, read_jsonl, write_jsonl
    from app.extraction.types import ExtractionError, RegistrySnapshot

    _configure_engines()
    try:
        snapshot = RegistrySnapshot.from_dict(orjson.loads(registry_file.read_bytes()))
        count = write_jsonl(extract_corpus(read_jsonl(corpus), snapshot, engine=_engine(engine)), out)
    except (OSError, ValueError, KeyError, ExtractionError) as error:
        raise fail(str(error)) from error
    console.print(f"wrote {count} observations to {out}")


@cli.command()
def reextract(
    engine: Annotated[str | None, typer.Option(help="Default: STANCELINE_EXTRACTION_ENGINE")] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Re-run extraction over every stored article (one transaction per article).

    Unreviewed automatic observations are replaced; manual and reviewed ones stay.
    """
    from app.db import make_engine, make_sessionmaker, session_scope
    from app.errors import NotFound
    from app.ingest import articles as ingest
    from app.jobs.reextract import extract_before_writing
    from app.ops import migrate
    from app.registry import context as registry_context
    from app.store import articles as article_store

    settings = _settings(database_url)
    engine_name = _engine(engine) if engine else settings.extraction_engine
    migrate.upgrade(settings.database_url)
    db_engine = make_engine(settings)
    factory = make_sessionmaker(db_engine, settings)
    cache = registry_context.RegistryCache()
    removed = added = 0
    try:
        with session_scope(factory, write=False) as session:
            total = article_store.count_articles(session)
        columns = (TextColumn("re-extracting"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns, console=console) as progress:
            task = progress.add_task("reextract", total=total)
            last_id = 0
            while True:
                with session_scope(factory, write=False) as session:
                    ids = article_store.list_article_ids(session, after_id=last_id, limit=200)
                if not ids:
                    break
                for article_id in ids:
                    # extracted first, with no transaction open: the write lock is held to store only
                    context, ahead = extract_before_writing(
                        factory, article_id, cache=cache, engine=engine_name
                    )
                    with session_scope(factory) as session:
                        try:
                            done = ingest.reextract_article(
                                session, article_id, context=context, engine=engine_name, ahead=ahead
                            )
                        except NotFound:  # deleted since it was listed
                            progress.advance(task)
                            continue
                    removed, added = removed + done.removed, added + done.added
                    progress.advance(task)
                last_id = ids[-1]
        _finish_background_work(settings, factory)
    finally:
        db_engine.dispose()
    console.print(
        f"re-extracted {total} articles with {engine_name}: {removed} observations replaced by {added}"
    )


@cli.command("eval")
def evaluate(
    sets_dirs: Annotated[
        list[Path] | None,
        typer.Option(
            "--sets",
            metavar="DIR",
            file_okay=False,
            help="A folder holding sets as subfolders (articles.jsonl + registry.json); repeatable",
            show_default=False,
        ),
    ] = None,
    named_sets: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            metavar="NAME=PATH",
            help="One set: a folder with articles.jsonl + registry.json; repeatable",
        ),
    ] = None,
    corpus: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="One set's articles with gold tuples (JSONL)"),
    ] = None,
    registry_file: Annotated[
        Path | None,
        typer.Option("--registry", exists=True, dir_okay=False, help="Registry JSON for --corpus"),
    ] = None,
    engine: Annotated[str, typer.Option(help=f"One of: {', '.join(ENGINE_CHOICES)}")] = "rules",
    llm_url: Annotated[
        str | None,
        typer.Option(help="--engine llm: the OpenAI-compatible endpoint (default: STANCELINE_LLM_URL)"),
    ] = None,
    llm_model: Annotated[
        str | None, typer.Option(help="--engine llm: the model (default: STANCELINE_LLM_MODEL)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print every figure as one JSON object")] = False,
    show_errors: Annotated[
        bool, typer.Option("--show-errors", help="List missed, false or mislabelled and trap tuples")
    ] = False,
) -> None:
    """Extract each development set with its own registry and score it (the shared scorer's figures).

    With no set given, scores ../shared/corpus and ../shared/corpora/* (relative to the repository,
    else to the current directory). One table: each set, then each of its topics.
    """
    import orjson

    from app import devsets
    from app.extraction.types import ExtractionError

    chosen = _eval_sets(sets_dirs or [], named_sets or [], corpus, registry_file)
    _configure_engines(llm_url=llm_url, llm_model=llm_model)
    resolved = _engine(engine)
    try:
        scored = devsets.evaluate_sets(chosen, resolved, with_errors=show_errors)
    except (OSError, ValueError, KeyError, ExtractionError) as error:
        raise fail(str(error)) from error
    if as_json:
        typer.echo(orjson.dumps({"engine": resolved, "sets": scored}).decode())
        return
    wide = Console(width=160)
    wide.print(_eval_table(scored, resolved))
    for name, figures in scored.items():
        if figures["predictions_for_unknown_articles"]:
            wide.print(
                f"{name}: {figures['predictions_for_unknown_articles']} predictions for unknown articles"
            )
    if show_errors:
        _print_errors(scored, wide)


def _eval_sets(
    sets_dirs: list[Path], named_sets: list[str], corpus: Path | None, registry_file: Path | None
) -> list[devsets.DevSet]:
    """The sets the options name, or those found next to the repository (saying which)."""
    from app import devsets

    if (corpus is None) != (registry_file is None):
        raise fail("--corpus and --registry go together")
    chosen: list[devsets.DevSet] = []
    for text in named_sets:
        try:
            chosen.append(devsets.parse_named_set(text))
        except ValueError as error:
            raise fail(f"--set {error}") from error
    for folder in sets_dirs:
        found = devsets.sets_in(folder)
        if not found:
            raise fail(f"no sets in {folder}: no subfolder holds articles.jsonl and registry.json")
        chosen += found
    if corpus is not None and registry_file is not None:
        name = corpus.stem if corpus.stem != "articles" else corpus.resolve().parent.name
        chosen.append(devsets.DevSet(name, corpus, registry_file))
    if not chosen:
        roots = list(dict.fromkeys([REPO_ROOT, Path.cwd().resolve()]))
        chosen, root = devsets.shared_sets(roots)
        if root is None:
            looked = " and ".join(str(r) for r in roots)
            raise fail(
                f"no development sets found: looked for ../shared/corpus and ../shared/corpora/* "
                f"relative to {looked}; pass --sets DIR, --set NAME=PATH or --corpus/--registry"
            )
        console.print(
            f"scoring the sets found relative to {root}: "
            + ", ".join(f"{s.name} ({s.articles_path.parent})" for s in chosen)
        )
    names = [s.name for s in chosen]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise fail(f"two sets named {', '.join(twice)}: name them with --set NAME=PATH")
    return chosen


def _eval_table(scored: dict[str, dict[str, Any]], engine: str) -> Table:
    def f3(value: float | None) -> str:
        return "-" if value is None else f"{value:.3f}"

    def cells(figures: dict[str, Any]) -> list[str]:
        rollup = figures["rollup"]
        return [
            f3(figures["pair"]["f1"]),
            f3(figures["strict"]["precision"]),
            f3(figures["strict"]["recall"]),
            f3(figures["strict"]["f1"]),
            f3(rollup["f1"] if rollup else None),
            f3(figures["label_accuracy"]),
            f3(figures["date_within_7d"]),
            str(figures["traps"]),
            f3(figures["naive_floor"]["strict"]["f1"]),
        ]

    table = Table(
        title=f"{engine} engine on {len(scored)} development set(s)",
        caption="F1 micro-averaged over a set's articles (shared/eval/score.py); naive floor: the strict F1 "
        "of every gold actor of an article marked support on its main topic",
    )
    table.add_column("set / topic")
    for column in (
        "pair F1", "strict P", "strict R", "strict F1", "roll-up F1", "label acc.", "date <=7d", "traps", "floor F1",
    ):  # fmt: skip
        table.add_column(column, justify="right")
    for name, figures in scored.items():
        table.add_row(f"[bold]{escape(name)}[/bold] ({figures['articles']} articles)", *cells(figures))
        for topic, topic_figures in figures["topics"].items():
            table.add_row(f"  {escape(topic)}", *cells(topic_figures))
    return table


def _print_errors(scored: dict[str, dict[str, Any]], out: Console) -> None:
    """As `score.py --show-errors` prints them, per set."""
    for name, figures in scored.items():
        out.print(f"[bold]{escape(name)}[/bold]")
        for kind, label in (("missed", "missed"), ("false_or_mislabel", "false/mislabel"), ("traps", "trap")):
            for key in figures["errors"][kind]:
                out.print(f"  {label:14}", *key, highlight=False, markup=False)


@registry_cli.command("load")
def registry_load(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Registry JSON file")],
    reextract: Annotated[
        bool,
        typer.Option(
            "--reextract/--no-reextract", help="Re-extract the stored articles the change can affect (a job)"
        ),
    ] = True,
    wait: Annotated[
        bool, typer.Option("--wait/--no-wait", help="Follow that job with a progress bar until it ends")
    ] = True,
    database_url: DatabaseOption = None,
) -> None:
    """Import actors and topics (upsert by slug; loading the same file twice changes nothing), then
    re-extract the stored articles the new or changed entries can affect, as a job (see `jobs`)."""
    from app import jobs
    from app.db import make_engine, make_sessionmaker, session_scope
    from app.errors import StancelineError
    from app.jobs import reextract as reextract_job
    from app.ops import migrate
    from app.registry import edits as registry

    settings = _settings(database_url)
    migrate.upgrade(settings.database_url)
    engine = make_engine(settings)
    factory = make_sessionmaker(engine, settings)
    try:
        try:
            data = registry.read_registry_file(file)
            with session_scope(factory) as session:
                result, change = registry.import_registry_with_reach(session, data)
                job = None
                if reextract:
                    job = reextract_job.create_for_change(
                        session,
                        change,
                        backend=jobs.backend_for(settings),
                        engine=settings.extraction_engine,
                        reason=f"registry load {file.name}",
                    )
                started = (job.id, job.total) if job is not None else None
        except StancelineError as error:
            raise fail(f"{error.message} ({error.field})") from error
        except ValueError as error:
            raise fail(str(error)) from error
        console.print(f"actors {result.actors.model_dump()}, topics {result.topics.model_dump()}")
        if started is not None:
            job_id, total = started
            console.print(
                f"job {job_id}: re-extraction of {total} stored articles the change can affect "
                f"({jobs.backend_for(settings)})"
            )
            cli_jobs.run_job(factory, job_id, settings=settings, wait=wait)
    finally:
        engine.dispose()


@keys_cli.command("create")
def keys_create(
    name: Annotated[str, typer.Option("--name", help="Who or what uses the key")],
    scope: Annotated[
        str, typer.Option("--scope", help="read, write or admin (each includes the ones before)")
    ] = "read",
    database_url: DatabaseOption = None,
) -> None:
    """Create a key and print it (on standard output, once: only its hash is kept)."""
    from app import auth
    from app.errors import StancelineError
    from app.ops import migrate

    settings = _database_settings(database_url)
    migrate.upgrade(settings.database_url)
    try:
        key, plain = _with_session(
            settings, lambda session: auth.create_key(session, name=name, scopes=[scope])
        )
    except StancelineError as error:
        raise fail(f"{error.message} ({error.field})") from error
    console.print(f"key {key.id} ({key.scope}) for {key.name!r}; store it now, it is not shown again:")
    print(plain)  # noqa: T201 - stdout, so scripts can capture the key alone


@keys_cli.command("list")
def keys_list(database_url: DatabaseOption = None) -> None:
    """Every key: id, name, prefix, scope, created and revoked times (never the key)."""
    from app.ops import migrate
    from app.schemas import ApiKeyRead
    from app.store import api_keys as key_store

    settings = _database_settings(database_url, existing=True)
    migrate.upgrade(settings.database_url)
    rows = _with_session(
        settings, lambda session: [ApiKeyRead.model_validate(k) for k in key_store.list_keys(session)]
    )
    table = Table("id", "name", "prefix", "scope", "created", "revoked")
    for row in rows:
        revoked = row.revoked_at.isoformat() if row.revoked_at else ""
        table.add_row(str(row.id), row.name, row.prefix + "…", row.scope, row.created_at.isoformat(), revoked)
    Console().print(table)


@keys_cli.command("revoke")
def keys_revoke(
    key_id: Annotated[int, typer.Argument(help="The key's id (see `keys list`)")],
    database_url: DatabaseOption = None,
) -> None:
    """Revoke a key: requests carrying it get 401 from now on."""
    from app import auth
    from app.errors import StancelineError

    settings = _database_settings(database_url, existing=True)
    try:
        key = _with_session(settings, lambda session: auth.revoke_key(session, key_id=key_id))
    except StancelineError as error:
        raise fail(error.message) from error
    console.print(f"key {key.id} ({key.name!r}) revoked at {key.revoked_at}")


def _with_session(settings: Settings, work: Callable[[Session], T], *, write: bool = True) -> T:
    """Run `work` in one committed unit of work (`write=False`: a read, no write lock)."""
    from app.db import make_engine, make_sessionmaker, session_scope

    engine = make_engine(settings)
    try:
        with session_scope(make_sessionmaker(engine, settings), write=write) as session:
            return work(session)
    finally:
        engine.dispose()


@db_cli.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision")] = "head",
    database_url: DatabaseOption = None,
) -> None:
    """Apply migrations."""
    from app.ops import migrate

    migrate.upgrade(_database_settings(database_url).database_url, revision)
    console.print(f"database at {revision}")


@db_cli.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision, e.g. base")],
    database_url: DatabaseOption = None,
) -> None:
    """Revert migrations."""
    from app.ops import migrate

    migrate.downgrade(_database_settings(database_url, existing=True).database_url, revision)
    console.print(f"database at {revision}")


@db_cli.command("check")
def db_check(
    repair: Annotated[
        bool, typer.Option("--repair", help="When they differ, rebuild the aggregate from the observations")
    ] = False,
    show: Annotated[int, typer.Option(min=0, help="Differences printed one by one")] = 20,
    database_url: DatabaseOption = None,
) -> None:
    """Recompute the daily aggregate (observation_daily) from the observations and report every
    difference; exit 1 if there is any (0 after a successful --repair)."""
    from app.db import make_engine, make_sessionmaker, session_scope
    from app.store import unit_of_work

    settings = _database_settings(database_url, existing=True)
    engine = make_engine(settings)
    try:
        found, rows = _aggregate_differences(engine)
        kinds = Counter(d.kind for d in found)
        console.print(
            f"observation_daily: {rows} rows, {len(found)} differences "
            f"(missing {kinds['missing']}, extra {kinds['extra']}, different {kinds['different']})"
        )
        for difference in found[:show]:
            console.print(f"  {difference.describe()}", soft_wrap=True)
        if len(found) > show:
            console.print(f"  ... and {len(found) - show} more")
        if found and repair:
            with session_scope(make_sessionmaker(engine)) as session:
                written = unit_of_work.rebuild_aggregates(session)
            found, rows = _aggregate_differences(engine)
            console.print(f"rebuilt: {written} rows; differences now {len(found)}")
    finally:
        engine.dispose()
    if found:
        raise typer.Exit(code=1)


def _aggregate_differences(engine: Engine) -> tuple[list[aggregates.Difference], int]:
    """Stored vs recomputed aggregate, both read from one snapshot of the database."""
    from sqlalchemy.orm import Session

    from app.store import aggregates

    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with Session(bind=connection) as session, session.begin():
            return aggregates.differences(session), aggregates.count_rows(session)


@cli.command()
def demo(
    db: Annotated[Path, typer.Option(help="SQLite file to (re)create")] = Path(DEMO_DB_NAME),
    serve_api: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve the API afterwards")] = True,
    host: str = "127.0.0.1",
    port: int = 8000,
) -> None:
    """A fresh SQLite file with the starter registry and the demo corpus, then the API on HOST:PORT.

    Prints a write key and an admin key, and commands to try (README, "Quick start").
    """
    import shlex

    from app import auth
    from app.ops import migrate
    from app.registry import edits as registry

    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{db.resolve()}"
    settings = _settings(url, announce=False)
    _say(f"database: {url} (new file)")
    migrate.upgrade(url)
    starter = registry.read_registry_file(registry.STARTER_REGISTRY)
    result = _with_session(settings, lambda session: registry.import_registry(session, starter))
    _say(f"registry: {result.actors.created} actors, {result.topics.created} topics")
    tally = _ingest_rows(settings, _read_articles(DEMO_CORPUS), 50, "demo corpus")
    _say(f"articles: {tally['created']} created, {tally['observations']} observations")
    keys = {
        scope: _with_session(settings, partial(auth.create_key, name=f"demo {scope}", scopes=[scope]))[1]
        for scope in ("write", "admin")
    }
    base = f"http://{_client_host(host)}:{port}"
    _say("API keys, shown once (reads need none in the demo):")
    _say(f"  write (articles, reviews; the dashboard's API key field): {keys['write']}")
    _say(f"  admin (actors, topics, keys, deletions):                  {keys['admin']}")
    if serve_api:
        _say(f"Stanceline demo on {base} (dashboard; API docs: {base}/docs); Ctrl-C stops it.")
    else:
        _say("Serve it with:")
        _say(
            f"  STANCELINE_PUBLIC_READ=true {_stanceline_command()} serve --database-url {shlex.quote(url)} "
            f"--host {shlex.quote(host)} --port {port}"
        )
    _say(
        "Then try, in another terminal (README, Quick start; each line works on its own, and the first two "
        "set up the README's other examples: `stanceline` on PATH, $KEY, $ADMIN, the demo's database):"
    )
    for line in demo_tour(base, write_key=keys["write"], admin_key=keys["admin"], database_url=url):
        _say(f"  {line}")
    if serve_api:
        _run_server(settings.model_copy(update={"log_level": "WARNING", "public_read": True}), host, port)


# What `stanceline demo` suggests trying: an actor and a topic of one's own, an article about
# them and their timeline. The README's Quick start holds the same commands (tests/test_quickstart.py).
TOUR_ACTOR = {
    "slug": "elden-city-council",
    "name": "Elden City Council",
    "kind": "organization",
    "aliases": ["the city council", "the council"],
}
TOUR_TOPIC = {
    "slug": "harbour-road-bike-lane",
    "name": "Harbour Road bike lane",
    "keywords": ["bike lane", "cycle lane"],
}
TOUR_ARTICLE = {
    "url": "https://example.org/elden/2025/03/04/bike-lane-approved",
    "title": "Council backs the Harbour Road bike lane",
    "published_at": "2025-03-04T18:00:00Z",
    "source": "Elden Post",
    "text": "Elden City Council approved the Harbour Road bike lane on Tuesday.",
}


def demo_tour(base: str, *, write_key: str, admin_key: str, database_url: str) -> list[str]:
    """The demo's suggestions, one shell command a line, each working on its own as printed."""
    import json
    import shlex

    def post(path: str, key: str, body: dict[str, Any]) -> str:
        return (
            f'curl -X POST {shlex.quote(base + path)} -H "Authorization: Bearer {key}" '
            f"-H 'content-type: application/json' -d {shlex.quote(json.dumps(body))}"
        )

    activate = Path(sys.executable).parent / "activate"
    setup = [f"source {shlex.quote(str(activate.absolute()))}"] if activate.is_file() else []
    return [
        *setup,
        f"export KEY={write_key} ADMIN={admin_key} STANCELINE_DATABASE_URL={shlex.quote(database_url)}",
        f"curl '{base}/v1/timelines?topic=ground-troops-ukraine&actor=europe&interval=month'",
        post("/v1/actors", admin_key, TOUR_ACTOR),
        post("/v1/topics", admin_key, TOUR_TOPIC),
        post("/v1/articles?wait=true", write_key, TOUR_ARTICLE),
        f"curl '{base}/v1/timelines?topic={TOUR_TOPIC['slug']}&interval=month'",
        f"{_stanceline_command()} keys create --name me --scope admin --database-url {shlex.quote(database_url)}",
    ]


def _client_host(host: str) -> str:
    """Where a client on this machine reaches a server listening on `host`."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def _stanceline_command() -> str:
    """This very `stanceline`, by its full path (it need not be on PATH)."""
    import shlex

    script = Path(sys.executable).parent / "stanceline"
    if script.is_file():
        return shlex.quote(str(script.absolute()))
    return f"{shlex.quote(sys.executable)} -m app.cli"


def _say(text: str) -> None:
    """A line on stderr as written: no markup, no highlighting, never wrapped (so it can be copied)."""
    console.print(text, markup=False, highlight=False, emoji=False, soft_wrap=True)


def main() -> None:
    try:
        cli()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
