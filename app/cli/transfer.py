"""`stanceline export --all` and `stanceline import FILE`: the whole database as one NDJSON stream."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO, Annotated

import typer

from app.cli.common import DatabaseOption, console, fail


def register(cli: typer.Typer) -> None:
    cli.command("export")(export_database)
    cli.command("import")(import_database)


def export_database(
    all_tables: Annotated[
        bool, typer.Option("--all", help="Every table (required: partial exports are not offered)")
    ] = False,
    out: Annotated[
        Path | None, typer.Option("--out", help="File to write (gzip when it ends in .gz); default stdout")
    ] = None,
    with_keys: Annotated[bool, typer.Option("--with-keys", help="Include API key hashes")] = False,
    database_url: DatabaseOption = None,
) -> None:
    """Export the whole database as NDJSON: a header, one line per row, an end line with a content hash."""
    from app.cli.main import _database_settings
    from app.db import make_engine
    from app.ops import transfer

    if not all_tables:
        raise fail("pass --all: an export holds the whole database")
    settings = _database_settings(database_url, existing=True)
    engine = make_engine(settings)
    # written beside the target and renamed when complete: a failed export leaves no partial file
    partial = out.with_name(out.name + ".partial") if out is not None else None
    try:
        if out is None or partial is None:
            summary = transfer.export_database(engine, sys.stdout.buffer, with_keys=with_keys)
        else:
            stream: IO[bytes] = transfer.open_export(out, "wb", path=partial)
            with stream:
                summary = transfer.export_database(engine, stream, with_keys=with_keys)
            partial.replace(out)
    except transfer.TransferError as error:
        raise fail(str(error)) from error
    finally:
        engine.dispose()
        if partial is not None:
            partial.unlink(missing_ok=True)
    console.print(
        f"exported {summary.total} rows from {len(summary.rows)} tables to {out or 'stdout'} "
        f"(sha256 {summary.sha256})",
        soft_wrap=True,
    )


def import_database(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="An export (.ndjson or .gz)")],
    force: Annotated[
        bool, typer.Option("--force", help="Replace the rows of a non-empty database (same transaction)")
    ] = False,
    database_url: DatabaseOption = None,
) -> None:
    """Import an export into an empty database in one transaction, keeping ids; nothing is written on error."""
    from app.cli.main import _database_settings
    from app.db import make_engine
    from app.ops import migrate, transfer

    settings = _database_settings(database_url)
    try:
        with transfer.open_export(file, "rb") as source:
            transfer.read_header(source)  # refuse a foreign or mismatched file before touching the database
        migrate.upgrade(settings.database_url)
        engine = make_engine(settings)
        try:
            with transfer.open_export(file, "rb") as source:
                summary = transfer.import_database(engine, source, force=force)
        finally:
            engine.dispose()
    except (transfer.TransferError, OSError, EOFError) as error:
        raise fail(str(error)) from error
    console.print(
        f"imported {summary.total} rows into {len(summary.rows)} tables (sha256 {summary.sha256} verified)",
        soft_wrap=True,
    )
