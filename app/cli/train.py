"""`stanceline train` (this deployment's claim model, from its reviews) and `stanceline
train-default` (the shipped model, from the development corpora)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from app.cli.common import DatabaseOption, console, fail


def register(cli: typer.Typer) -> None:
    cli.command("train")(train)
    cli.command("train-default")(train_default)


def train(
    folds: Annotated[
        int, typer.Option(min=2, help="Folds over the reviewed articles for the comparison")
    ] = 5,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Train and compare, switch nothing")] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Switch even when the new model is not better")
    ] = False,
    database_url: DatabaseOption = None,
) -> None:
    """Retrain the learned engine's claim model from this deployment's reviews.

    Verified, corrected and hand-coded observations are claims, rejected ones are not; the
    development corpora's readings are added. Both models are scored on the reviewed articles
    (k-fold over articles); the new one is used only when it is better. Re-extract stored
    articles afterwards (`stanceline reextract`) to apply it to them.
    """
    from app import model_training
    from app.cli.main import _database_settings, _with_session
    from app.ops import migrate

    settings = _database_settings(database_url, existing=True)
    migrate.upgrade(settings.database_url)
    try:
        # a read: training takes seconds, and holds no write lock while it runs
        report, model = _with_session(
            settings,
            lambda session: model_training.train_deployment(session, folds=folds, force=force),
            write=False,
        )
    except model_training.NothingToLearn as error:
        raise fail(str(error), code=1) from error
    Console().print(_comparison(report))
    if dry_run or not report.switched:
        why = "dry run" if dry_run else f"{report.verdict} (--force takes it anyway)"
        console.print(f"kept the model in use ({report.previous}): {why}")
        return
    _with_session(settings, lambda session: model_training.activate(session, model, report))
    console.print(
        f"now using model {model.short} (was {report.previous}); engine `learned` extracts with it. "
        "Re-extract stored articles to apply it: stanceline reextract"
    )
    if settings.extraction_engine != "learned":
        console.print(
            f"note: STANCELINE_EXTRACTION_ENGINE is {settings.extraction_engine!r}; set it to 'learned' to use the model"
        )


def _comparison(report: Any) -> Table:
    table = Table(
        "model",
        "strict P",
        "strict R",
        "strict F1",
        title=(
            f"{report.articles} reviewed articles, {report.examples} decided readings, "
            f"{report.claims} coded claims; {report.folds}-fold over articles"
        ),
    )
    for name, figures in (
        (f"in use ({report.previous})", report.before),
        (f"new ({report.model_sha[:12]}), held out", report.after),
    ):
        table.add_row(name, f"{figures['precision']:.3f}", f"{figures['recall']:.3f}", f"{figures['f1']:.3f}")
    return table


def train_default(
    sets_dirs: Annotated[
        list[Path] | None,
        typer.Option("--sets", metavar="DIR", file_okay=False, help="Folders of sets (default: ../shared)"),
    ] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", file_okay=False, help="Where to write (default: the package's models/)"),
    ] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Train, and fail if the files differ from those written")
    ] = False,
) -> None:
    """Train the shipped claim model on the development sets (fixed seed: the same sets give the
    same bytes) and print its figures with each storyline held out."""
    from app import devsets
    from app.cli.main import REPO_ROOT
    from app.extraction import claim_model, training

    if sets_dirs:
        chosen = [s for folder in sets_dirs for s in devsets.sets_in(folder)]
    else:
        chosen, _ = devsets.shared_sets([REPO_ROOT, Path.cwd().resolve()])
    if not chosen:
        raise fail(
            "no development sets found: pass --sets DIR (folders holding articles.jsonl + registry.json)"
        )
    data = training.TrainingSet()
    for devset in chosen:
        data.extend(devsets.training_set(devset.load()))
    try:
        model = training.fit(data)
    except ValueError as error:
        raise fail(str(error)) from error
    target = out_dir or claim_model.DEFAULT_MODEL_PATH.parent
    model_path = target / claim_model.DEFAULT_MODEL_PATH.name
    examples_path = target / training.DEFAULT_EXAMPLES_PATH.name
    if check:
        with tempfile.TemporaryDirectory() as scratch:
            written = Path(scratch) / examples_path.name
            training.write_examples(data, written)
            same = (
                model_path.read_bytes() == model.to_bytes()
                and examples_path.read_bytes() == written.read_bytes()
            )
        if not same:
            raise fail(f"retraining gives other files than {target}", code=1)
        console.print(f"{model_path.name} and {examples_path.name} are what training gives ({model.short})")
        return
    target.mkdir(parents=True, exist_ok=True)
    model_path.write_bytes(model.to_bytes())
    training.write_examples(data, examples_path)
    console.print(
        f"wrote {model_path} ({model.short}, {model_path.stat().st_size} bytes) and {examples_path}: "
        f"{len(data.examples)} readings of {len(data.coded)} articles from {', '.join(s.name for s in chosen)}"
    )
