"""The development sets' documented position changes, found from their gold coding.

Each set's gold tuples (tests/shift_sets/<set>/gold.jsonl, copied from shared/corpus and
shared/corpora) are posted as manual stances; `GET /v1/shifts` must then show at least 80% of the
changes its NOTES.md / README documents (expectations.json) in their windows and directions, and no
shift at all for its stable controls.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app import shift_expectations
from app.config import Settings
from app.main import create_app
from app.shifts import refresh as shifts
from bench import shift_recall
from tests.conftest import share_session


@pytest.fixture
def deferred(settings: Settings) -> Settings:
    # one refresh per series after the whole set is posted, as the background worker would do
    return settings.model_copy(update={"shift_detection": "deferred"})


@pytest.fixture
def batch_client(deferred: Settings, session: Session, admin_key: str) -> Iterator[TestClient]:
    app: FastAPI = create_app(deferred)
    share_session(app, session)
    with TestClient(app, headers={"Authorization": f"Bearer {admin_key}"}) as client:
        yield client


@pytest.mark.parametrize("name", shift_recall.SETS)
def test_documented_changes_are_found_and_stable_actors_show_none(
    name: str, batch_client: TestClient, session: Session, deferred: Settings
) -> None:
    folder = shift_recall.DATA / name
    shift_recall.post_registry(batch_client, folder)
    shift_recall.post_gold(batch_client, folder)
    while shifts.process_queue(session, settings=deferred, settle=False):
        session.commit()
    report = shift_expectations.check(
        shift_expectations.load(folder / "expectations.json"), shift_recall.shifts_listed(batch_client)
    )
    found, documented = report.recall("change")
    lines = "\n".join(shift_expectations.describe(report))
    assert found >= 0.8 * documented, lines
    assert not report.false_alarms, lines
