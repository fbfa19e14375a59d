"""Documented position changes found, per development set: `python -m bench.shift_recall [--extraction]`.

For each set in `tests/shift_sets/` (expectations written from the set's NOTES.md / README, the
set's registry and its gold tuples), a fresh SQLite database and the API in process:

* gold (always): every gold tuple posted through `POST /v1/stances` as a manual stance (the
  coder's confidence high / medium / low as 0.9 / 0.7 / 0.5), then `GET /v1/shifts`: shift
  detection with perfect extraction;
* extraction (`--extraction`): the set's articles (from `../shared`, where `stanceline eval` finds
  them) posted through `POST /v1/articles/batch` and coded by the service's own extraction.

Prints, per set and mode, the documented changes found in their windows with the right
direction, the nuances (half steps within one side) found, and the shifts of stable controls
(false alarms); `--show` lists every expectation with what matched it.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from fastapi.testclient import TestClient

from app import auth, devsets, shift_expectations
from app.config import Settings
from app.db import make_engine, make_sessionmaker, session_scope
from app.main import create_app
from app.ops import migrate

DATA = Path(__file__).resolve().parent.parent / "tests" / "shift_sets"
SETS = ("ukraine", "trade", "defence")
CODER_CONFIDENCE = {"high": 0.9, "medium": 0.7, "low": 0.5}


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def stance_body(gold: Mapping[str, Any]) -> dict[str, Any]:
    """A gold tuple as a manual stance."""
    return {
        "actor": gold["actor"],
        "topic": gold["topic"],
        "score": gold["score"],
        "label": gold["label"],
        "observed_at": gold["observed_at"],
        "confidence": CODER_CONFIDENCE.get(gold.get("coder_confidence") or "high", 0.9),
        "evidence": gold.get("evidence"),
        "speaker": gold.get("speaker"),
        "shift": bool(gold.get("shift")),
    }


def post_registry(client: TestClient, folder: Path) -> None:
    response = client.post("/v1/registry", json=orjson.loads((folder / "registry.json").read_bytes()))
    response.raise_for_status()


def post_gold(client: TestClient, folder: Path) -> None:
    for gold in read_jsonl(folder / "gold.jsonl"):
        response = client.post("/v1/stances", json=stance_body(gold))
        if response.status_code != 201:
            raise RuntimeError(f"{folder.name}: stance not accepted: {response.text}")


def post_articles(client: TestClient, records: Sequence[Mapping[str, Any]]) -> None:
    fields = ("url", "title", "published_at", "source", "language", "text")
    articles = [{k: record[k] for k in fields if k in record} for record in records]
    for start in range(0, len(articles), 50):
        response = client.post("/v1/articles/batch", json={"articles": articles[start : start + 50]})
        response.raise_for_status()


def shifts_listed(client: TestClient) -> list[dict[str, Any]]:
    response = client.get("/v1/shifts", params={"limit": 1000})
    response.raise_for_status()
    return list(response.json()["items"])


@contextmanager
def service() -> Iterator[TestClient]:
    """The API on a fresh SQLite file, shifts recomputed inside each write, as an administrator."""
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/shifts.db"
        migrate.upgrade(url)
        settings = Settings(database_url=url, migrate_on_start=False, shift_detection="sync")
        engine = make_engine(settings)
        with session_scope(make_sessionmaker(engine)) as session:
            _, key = auth.create_key(session, name="bench", scopes=["admin"])
        engine.dispose()
        with TestClient(create_app(settings), headers={"Authorization": f"Bearer {key}"}) as client:
            yield client


def run(name: str, *, extraction: bool) -> shift_expectations.Report:
    folder = DATA / name
    expectations = shift_expectations.load(folder / "expectations.json")
    with service() as client:
        post_registry(client, folder)
        if extraction:
            post_articles(client, _shared_articles(name))
        else:
            post_gold(client, folder)
        return shift_expectations.check(expectations, shifts_listed(client))


def _shared_articles(name: str) -> list[dict[str, Any]]:
    found, _ = devsets.shared_sets(
        [Path.cwd().parent / "shared", Path(__file__).resolve().parents[2] / "shared"]
    )
    for dev_set in found:
        if dev_set.name == name:
            return list(dev_set.load().articles)
    raise SystemExit(f"set {name!r}: its articles were not found beside the checkout (../shared)")


def row(report: shift_expectations.Report, mode: str) -> str:
    found, wanted = report.recall("change")
    nuances, all_nuances = report.recall("nuance")
    share = f"{found / wanted:.0%}" if wanted else "-"
    return (
        f"| {report.name} | {mode} | {found}/{wanted} ({share}) | {nuances}/{all_nuances} "
        f"| {len(report.false_alarms)} |"
    )


def main(argv: Sequence[str] | None = None) -> None:
    logging.disable(logging.INFO)  # the API's access log would drown the table
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extraction", action="store_true", help="also run on the service's own extraction")
    parser.add_argument("--show", action="store_true", help="list every expectation and false alarm")
    parser.add_argument("--sets", nargs="*", default=list(SETS))
    args = parser.parse_args(argv)
    lines = [
        "| set | coding | changes found | nuances found | stable controls with a shift |",
        "|---|---|---:|---:|---:|",
    ]
    details: list[str] = []
    for name in args.sets:
        for mode in ("gold", "extraction") if args.extraction else ("gold",):
            report = run(name, extraction=mode == "extraction")
            lines.append(row(report, mode))
            details += [f"## {name} ({mode})", *shift_expectations.describe(report), ""]
    print("\n".join(lines))
    if args.show:
        print("\n" + "\n".join(details))


if __name__ == "__main__":
    main()
