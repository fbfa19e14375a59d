"""Prometheus metrics at /metrics: request counts by route template, ingest outcomes, extraction time."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.factories import article_payload


def _samples(client: TestClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def _value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_metrics_are_served_as_prometheus_text_without_a_key(anonymous_client: TestClient) -> None:
    anonymous_client.get("/healthz")
    response = anonymous_client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    names = {family.name for family in text_string_to_metric_families(response.text)}
    assert {
        "stanceline_http_requests",
        "stanceline_http_request_duration_seconds",
        "stanceline_ingest_articles",
        "stanceline_ingest_observations",
        "stanceline_extraction_seconds",
    } <= names


def test_metrics_stay_out_of_the_openapi_schema(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "/metrics" not in paths
    assert all(not path.startswith("/metrics") for path in paths)


def test_requests_are_counted_by_route_template_never_by_raw_path(client: TestClient) -> None:
    before = _samples(client)
    for article_id in (987654, 987655):
        assert client.get(f"/v1/articles/{article_id}").status_code == 404
    assert client.get("/no/such/path/31337").status_code == 404
    after = _samples(client)
    labels = {"method": "GET", "route": "/v1/articles/{article_id}", "status": "404"}
    assert _value(after, "stanceline_http_requests_total", **labels) == (
        _value(before, "stanceline_http_requests_total", **labels) + 2
    )
    unmatched = {"method": "GET", "route": "unmatched", "status": "404"}
    assert _value(after, "stanceline_http_requests_total", **unmatched) == (
        _value(before, "stanceline_http_requests_total", **unmatched) + 1
    )
    duration = {"method": "GET", "route": "/v1/articles/{article_id}"}
    assert _value(after, "stanceline_http_request_duration_seconds_count", **duration) == (
        _value(before, "stanceline_http_request_duration_seconds_count", **duration) + 2
    )
    raw_values = {value for (_, labels_), _v in after.items() for _, value in labels_}
    assert not any("987654" in value or "31337" in value for value in raw_values)


def test_ingest_outcomes_observations_and_extraction_time_are_counted(
    client: TestClient, starter_registry: None
) -> None:
    first = article_payload()
    batch = [first, article_payload(), dict(first), {"url": "https://example.org/broken", "text": ""}]
    before = _samples(client)
    response = client.post("/v1/articles/batch", json={"articles": batch})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["created", "created", "unchanged", "error"]
    revised = client.post("/v1/articles", json={**first, "text": first["text"] + " France agreed."})
    assert revised.json()["status"] == "revised"
    after = _samples(client)

    def delta(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    assert delta("stanceline_ingest_articles_total", status="created") == 2
    assert delta("stanceline_ingest_articles_total", status="unchanged") == 1
    assert delta("stanceline_ingest_articles_total", status="error") == 1
    assert delta("stanceline_ingest_articles_total", status="revised") == 1
    stored = results[0]["observations"] + results[1]["observations"] + revised.json()["observations"]
    assert stored > 0
    assert delta("stanceline_ingest_observations_total", engine="rules") == stored
    # one extraction per created or revised article; none for unchanged or invalid ones
    assert delta("stanceline_extraction_seconds_count", engine="rules") == 3
    assert delta("stanceline_extraction_seconds_sum", engine="rules") > 0


MULTIPROCESS_SCRIPT = textwrap.dedent(
    """
    import multiprocessing, sys
    from fastapi.testclient import TestClient
    from app.config import Settings
    from app.main import create_app

    def serve(count):
        app = create_app(Settings(database_url=sys.argv[1], shift_detection="off"))
        with TestClient(app) as client:
            for _ in range(count):
                assert client.get("/healthz").status_code == 200
            return client.get("/metrics").text

    if __name__ == "__main__":
        worker = multiprocessing.get_context("fork").Process(target=serve, args=(3,))
        worker.start()
        worker.join()
        assert worker.exitcode == 0
        sys.stdout.write(serve(2))
    """
)


def test_multiprocess_mode_adds_up_every_worker(tmp_path: Path) -> None:
    """With PROMETHEUS_MULTIPROC_DIR set, any worker's /metrics reports the sum over all workers."""
    directory = tmp_path / "prometheus"
    directory.mkdir()
    script = tmp_path / "workers.py"
    script.write_text(MULTIPROCESS_SCRIPT)
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    done = subprocess.run(
        [sys.executable, str(script), f"sqlite:///{tmp_path / 'metrics.db'}"],
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    samples = {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(done.stdout)
        for sample in family.samples
    }
    healthz = frozenset({"method": "GET", "route": "/healthz", "status": "200"}.items())
    assert samples[("stanceline_http_requests_total", healthz)] == 5  # 3 in the child, 2 in the parent
    assert len(list(directory.glob("*.db"))) >= 2
