"""Schemathesis against the app's own OpenAPI schema, in-process (ASGI transport, no server).

Each engine gets a fresh database with the starter registry, the demo corpus (so series
endpoints compute over real observations) and an admin key. Every operation is fuzzed with
positive (schema-valid) and negative (schema-breaking) requests, and every response goes through
schemathesis' whole check set (what `schemathesis run --checks all` runs: every registered check,
each run on its own so its failures are counted under its name). A request fails the test when
the app answers 5xx, breaks its schema (a status, content type, header or body the schema does
not declare) or fails any other check (ignored_auth, ...), except two that are counted and
printed only: positive_data_acceptance and negative_data_rejection. Their findings are answers
the README promises and JSON Schema cannot state: a 422 for an unknown actor or topic slug, a
date outside 1800..2199, a cursor this service did not issue, `to` before `from`, an article with
neither url nor external_id; and a batch that answers 200 with a per-item error. Checks that judge
a whole stateful run (use_after_free, ensure_resource_availability, object_level_authorization) or
the coverage phase's cases (missing_required_header, unsupported_method) run too, but single
fuzzed requests give them little to judge; tests/api/test_error_bodies.py covers 405 and `Allow`.

Bounded: FUZZ_EXAMPLES requests per operation and mode by default (a few hundred per engine,
derandomized so CI replays the same ones); `pytest --slow` or STANCELINE_FUZZ_EXAMPLES=N raises
it, with a fresh random seed each run. The figures (cases, 5xx, failures by check) are printed in
pytest's summary and kept in the pytest cache under `stanceline/fuzz`.
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
from schemathesis.core.failures import FailureGroup
from schemathesis.python import asgi as st_asgi
from sqlalchemy.orm import Session

from app import auth
from app.config import Settings
from app.db import make_engine, make_sessionmaker, session_scope
from app.main import create_app
from app.ops import migrate
from app.registry import context as registry_context
from app.registry import edits as registry
from tests import factories, reports
from tests.conftest import create_database

FUZZ_EXAMPLES = 6
SLOW_EXAMPLES = 100
DEMO_CORPUS = Path(__file__).parents[2] / "app" / "demo" / "articles.jsonl"
st_checks.load_all_checks()
# every registered check: the in-process twin of `--checks all`
CHECKS = [check for check in st_checks.CHECKS.get_all() if not st_checks.is_check_class(check)]
# an answer its schema does not declare (counted as schema violations)
SCHEMA_CHECKS = frozenset(
    {
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    }
)
# counted and printed, not failed on (see the module docstring)
REPORTED_ONLY = frozenset({"positive_data_acceptance", "negative_data_rejection"})
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
    cases_by_engine: Counter[str] = field(default_factory=Counter)
    # check name -> failed cases; (engine, check, operation) -> failed cases and the first message
    failures: Counter[str] = field(default_factory=Counter)
    failures_where: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    first_failure: dict[tuple[str, str, str], str] = field(default_factory=dict)
    examples: int = 0
    engines: set[str] = field(default_factory=set)

    def summary(self) -> dict[str, Any]:
        return {
            "requests": sum(self.requests.values()),
            "cases_by_engine": dict(sorted(self.cases_by_engine.items())),
            "server_errors": sum(self.server_errors.values()),
            "schema_violations": sum(n for name, n in self.failures.items() if name in SCHEMA_CHECKS),
            "checks": [check.__name__ for check in CHECKS],
            "failures_by_check": {check.__name__: self.failures[check.__name__] for check in CHECKS},
            "failures_where": {" ".join(key): n for key, n in sorted(self.failures_where.items())},
            "examples_per_operation_and_mode": self.examples,
            "engines": sorted(self.engines),
            "statuses": {str(code): n for code, n in sorted(self.statuses.items())},
            "server_errors_by_operation": dict(self.server_errors),
        }

    def record(self, engine: str, label: str, failed: dict[str, FailureGroup], response: Any) -> None:
        for name, group in failed.items():
            self.failures[name] += 1
            where = (engine, name, label)
            self.failures_where[where] += 1
            title = str(group.exceptions[0]).splitlines()[0]
            self.first_failure.setdefault(where, f"{title}: {response.status_code} {response.text[:200]}")


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
        reports.publish(config, "schemathesis fuzzing", report_lines(self.tally))

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        # an xdist worker never reaches pytest_terminal_summary: it publishes at its end instead
        if reports.under_xdist_worker(session.config) and self.tally.summary()["requests"]:
            reports.publish(session.config, "schemathesis fuzzing", report_lines(self.tally))


def report_lines(tally: Tally) -> list[str]:
    figures = tally.summary()
    lines = [
        f"cases run: {figures['requests']} ({json.dumps(figures['cases_by_engine'])})  "
        f"5xx found: {figures['server_errors']}  schema violations: {figures['schema_violations']}  "
        f"examples per operation and mode: {figures['examples_per_operation_and_mode']}",
        f"statuses: {json.dumps(figures['statuses'])}",
        f"checks ({len(CHECKS)}), failed cases by check: {json.dumps(figures['failures_by_check'])}",
    ]
    lines += [
        f"  {engine} {name} {label}: {n} case(s), e.g. {tally.first_failure[(engine, name, label)]}"
        for (engine, name, label), n in sorted(tally.failures_where.items())
    ]
    return lines


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
    context = registry_context.load_registry_context(session)
    outcome = factories.ingest_batch(session, articles, context=context, engine="rules")
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
            tally.cases_by_engine[target.engine] += 1
            tally.statuses[response.status_code] += 1
            if response.status_code >= 500:
                tally.server_errors[label] += 1
            failed: dict[str, FailureGroup] = {}
            for check in CHECKS:
                try:
                    case.validate_response(response, checks=[check], headers=headers)
                except FailureGroup as group:
                    failed[check.__name__] = group
            tally.record(target.engine, label, failed, response)
            strict = [group for name, group in failed.items() if name not in REPORTED_ONLY]
            if strict:
                raise strict[0]

        try:
            fuzz()
        finally:
            print("\n".join([f"{target.engine} {label}", *report_lines(tally)[:3]]))
