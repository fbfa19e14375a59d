"""Schemathesis against the app's own OpenAPI schema, in-process (ASGI transport, no server).

Each engine gets a fresh database with the starter registry, the demo corpus (so series
endpoints compute over real observations) and an admin key. Every operation is fuzzed with
positive (schema-valid) and negative (schema-breaking) requests; a request fails the test when
the app answers 5xx, answers a status its schema does not declare, or a body that breaks the
declared response schema.

Bounded: FUZZ_EXAMPLES requests per operation and mode by default (a few hundred per engine,
derandomized so CI replays the same ones); `pytest --slow` or STANCELINE_FUZZ_EXAMPLES=N raises
it, with a fresh random seed each run. The figures (requests, 5xx) are printed in pytest's
summary and kept in the pytest cache under `stanceline/fuzz`.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, assume, given, settings
from schemathesis import GenerationMode
from schemathesis import checks as st_checks
from schemathesis.python import asgi as st_asgi
from sqlalchemy.orm import Session

from app import auth, ingest, migrate, registry
from app.config import Settings
from app.db import make_engine, make_sessionmaker, session_scope
from app.main import create_app
from tests.conftest import create_database

FUZZ_EXAMPLES = 6
SLOW_EXAMPLES = 100
DEMO_CORPUS = Path(__file__).parents[2] / "app" / "demo" / "articles.jsonl"
CHECKS = [
    st_checks.not_a_server_error,
    st_checks.response_schema_conformance,
    st_checks.status_code_conformance,
]
MODES = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]


def _operation_labels() -> list[str]:
    """Every operation in the schema, read from an app that is never started."""
    spec = create_app(Settings(database_url="sqlite://")).openapi()
    return [f"{method.upper()} {path}" for path, item in spec["paths"].items() for method in item]


OPERATIONS = _operation_labels()


@dataclass
class Tally:
    requests: Counter[str] = field(default_factory=Counter)
    server_errors: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    examples: int = 0
    engines: set[str] = field(default_factory=set)

    def summary(self) -> dict[str, Any]:
        return {
            "requests": sum(self.requests.values()),
            "server_errors": sum(self.server_errors.values()),
            "examples_per_operation_and_mode": self.examples,
            "engines": sorted(self.engines),
            "statuses": {str(code): n for code, n in sorted(self.statuses.items())},
            "server_errors_by_operation": dict(self.server_errors),
        }


class _SummaryPlugin:
    def __init__(self, tally: Tally) -> None:
        self.tally = tally

    def pytest_terminal_summary(self, terminalreporter: Any, config: pytest.Config) -> None:
        figures = self.tally.summary()
        if not figures["requests"]:
            return
        cache = getattr(config, "cache", None)  # absent under -p no:cacheprovider
        if cache is not None:
            cache.set("stanceline/fuzz", figures)
        terminalreporter.write_sep("-", "schemathesis fuzzing")
        terminalreporter.write_line(
            f"requests fuzzed: {figures['requests']}  5xx found: {figures['server_errors']}  "
            f"engines: {', '.join(figures['engines'])}  "
            f"examples per operation and mode: {figures['examples_per_operation_and_mode']}"
        )
        terminalreporter.write_line(f"statuses: {json.dumps(figures['statuses'])}")


@pytest.fixture(scope="session")
def fuzz_examples(request: pytest.FixtureRequest) -> int:
    configured = os.environ.get("STANCELINE_FUZZ_EXAMPLES")
    if configured:
        return int(configured)
    return SLOW_EXAMPLES if request.config.getoption("--slow", default=False) else FUZZ_EXAMPLES


@pytest.fixture(scope="session")
def tally(request: pytest.FixtureRequest, fuzz_examples: int) -> Tally:
    tally = Tally(examples=fuzz_examples)
    request.config.pluginmanager.register(_SummaryPlugin(tally), "stanceline-fuzz-summary")
    return tally


@dataclass(frozen=True)
class FuzzTarget:
    schema: Any
    key: str
    key_id: int
    engine: str


def _seed(url: str) -> tuple[str, int]:
    """Starter registry, demo corpus and an admin key in a fresh database; returns the plain key and its id."""
    engine = make_engine(Settings(database_url=url))
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            registry.import_registry(session, registry.read_registry_file(registry.STARTER_REGISTRY))
            session.flush()
            _ingest_demo_corpus(session)
            key, plain = auth.create_key(session, name="fuzz", scopes=["admin"])
            session.flush()
            return plain, key.id
    finally:
        engine.dispose()


def _ingest_demo_corpus(session: Session) -> None:
    articles = [json.loads(line) for line in DEMO_CORPUS.read_text(encoding="utf-8").splitlines() if line]
    context = ingest.load_registry_context(session)
    outcome = ingest.ingest_batch(session, articles, context=context, engine="rules")
    assert all(r.status == "created" for r in outcome.results)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def target(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzTarget]:
    url, drop = create_database(request.param, tmp_path_factory.mktemp("fuzz"))
    migrate.upgrade(url)
    key, key_id = _seed(url)
    # shifts recomputed inside each write request, so the fuzzer reaches shift detection too
    app = create_app(
        Settings(database_url=url, migrate_on_start=False, shift_detection="sync", log_level="WARNING")
    )
    try:
        yield FuzzTarget(schemathesis.openapi.from_asgi("/openapi.json", app), key, key_id, request.param)
    finally:
        # the transport started the app's lifespan on the first request; end it before dropping the database
        st_asgi.shutdown_lifespans()
        drop()


@pytest.mark.parametrize("label", OPERATIONS)
def test_fuzzed_requests_get_no_5xx_and_match_the_schema(
    target: FuzzTarget, label: str, fuzz_examples: int, tally: Tally
) -> None:
    operation = target.schema.find_operation_by_label(label)
    assert operation is not None, f"{label} is not in the served schema"
    headers = {"Authorization": f"Bearer {target.key}"}
    takes_input = any(True for _ in operation.iter_parameters()) or len(operation.body) > 0
    tally.engines.add(target.engine)
    slow = fuzz_examples != FUZZ_EXAMPLES

    for mode in MODES if takes_input else MODES[:1]:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=fuzz_examples,
            deadline=None,
            database=None,
            derandomize=not slow,
            suppress_health_check=[
                HealthCheck.too_slow,
                HealthCheck.filter_too_much,
                HealthCheck.data_too_large,
            ],
        )
        def fuzz(case: Any) -> None:
            # revoking the fuzzer's own key would turn every later request into a 401
            assume((case.path_parameters or {}).get("key_id") != target.key_id)
            tally.requests[label] += 1
            try:
                response = case.call(headers=headers)
            except Exception:
                # the app answered 500 and the in-process transport re-raises what it raised
                tally.server_errors[label] += 1
                raise
            tally.statuses[response.status_code] += 1
            if response.status_code >= 500:
                tally.server_errors[label] += 1
            case.validate_response(response, checks=CHECKS, headers=headers)

        fuzz()
