"""A deployment's reviews train its claim model: `stanceline train` (model_training), the model
in use shown by `GET /v1/extractor`, and stamped on what the learned engine extracts after."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app import model_training
from app.config import Settings
from app.extraction.claim_model import default_model
from app.main import create_app
from app.registry import edits as registry
from app.schemas import RegistryImport
from app.store import extractor_models
from tests.conftest import share_session
from tests.unit.extraction import lakeford

CHAMBER = "chamber-of-commerce"


@pytest.fixture
def learned_client(settings: Settings, session: Session, admin_key: str) -> Iterator[TestClient]:
    """The API of a deployment that extracts with the learned engine, on the invented Lakeford."""
    registry.import_registry(session, RegistryImport.model_validate(lakeford.REGISTRY))
    session.commit()
    app: FastAPI = create_app(settings.model_copy(update={"extraction_engine": "learned"}))
    share_session(app, session)
    with TestClient(app, headers={"Authorization": f"Bearer {admin_key}"}) as client:
        yield client


def _post(client: TestClient, n: int) -> int:
    body = {
        "url": f"https://lakeford.example/news/{n}",
        "title": f"Council week {n}",
        "published_at": (lakeford.PUBLISHED + timedelta(days=n)).isoformat(),
        "text": (
            f"Mayor Clara Voss {'backed' if n % 2 else 'praised'} the congestion charge on day {n + 1}.\n\n"
            f"The Lakeford Chamber of Commerce welcomed the congestion charge in a note to {n + 2} members."
        ),
    }
    answer = client.post("/v1/articles?wait=true", json=body)
    assert answer.status_code == 201, answer.text
    return int(answer.json()["article_id"])


def _review(client: TestClient, article_id: int) -> None:
    """The deployment's coders: the mayor's support is right, the chamber's note is not a position."""
    stances = client.get("/v1/stances", params={"article": article_id}).json()["items"]
    assert {s["actor"] for s in stances} >= {"clara-voss", CHAMBER}
    for stance in stances:
        status = "rejected" if stance["actor"] == CHAMBER else "verified"
        answer = client.patch(f"/v1/stances/{stance['id']}", json={"status": status})
        assert answer.status_code == 200, answer.text


def test_reviews_train_a_model_that_then_extracts(learned_client: TestClient, session: Session) -> None:
    shipped = default_model()
    before = learned_client.get("/v1/extractor").json()
    assert before["engine"] == "learned"
    assert before["claim_model"]["source"] == "default"
    assert before["claim_model"]["sha"] == shipped.sha
    assert before["version"].endswith(shipped.short)

    for n in range(8):
        _review(learned_client, _post(learned_client, n))
    assert learned_client.get("/v1/stances", params={"status": "rejected"}).json()["items"]

    claims = model_training.reviewed_claims(session)
    assert len(claims) == 8
    assert all(coded == {("clara-voss", lakeford.CHARGE, "support")} for coded, _ in claims.values())
    assert all(rejected == {(CHAMBER, lakeford.CHARGE, "support")} for _, rejected in claims.values())

    # forced: better on the reviewed articles, but 8 are too few for `stanceline train` to switch
    report, model = model_training.train_deployment(session, folds=4, force=True)
    assert report.articles == 8
    assert report.previous == "default"
    assert report.after["f1"] > report.before["f1"]
    assert report.verdict.startswith("too few reviewed articles")
    assert report.switched
    assert extractor_models.active_model(session) is None  # nothing stored before `activate`
    model_training.activate(session, model, report)
    session.commit()

    shown = learned_client.get("/v1/extractor").json()
    assert shown["claim_model"]["source"] == "trained"
    assert shown["claim_model"]["sha"] == model.sha
    assert shown["claim_model"]["local"] is True
    assert shown["claim_model"]["figures"]["after"]["f1"] == report.after["f1"]
    assert shown["version"].endswith(model.short)

    # a new article: extracted with the trained model, which leaves the chamber's note out
    new_id = _post(learned_client, 20)
    stances = learned_client.get("/v1/stances", params={"article": new_id}).json()["items"]
    assert {(s["actor"], s["label"]) for s in stances} == {("clara-voss", "support")}
    assert all(s["extractor_version"].endswith(model.short) for s in stances)
    # the reviews are all still there
    assert len(model_training.reviewed_claims(session)) == 8


def test_too_few_reviews_is_a_clear_refusal(learned_client: TestClient, session: Session) -> None:
    _review(learned_client, _post(learned_client, 0))
    with pytest.raises(model_training.NothingToLearn, match="1 reviewed articles"):
        model_training.train_deployment(session)
