"""The deployment files and the Celery configuration say what the README promises. (No Docker
engine runs here: the compose file is checked as data, not brought up.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config import Settings
from app.jobs import broker

ROOT = Path(__file__).resolve().parents[2]


def test_celery_acknowledges_late_and_hands_lost_tasks_on() -> None:
    app = broker.make_celery(
        Settings(broker_url="redis://127.0.0.1:6379/0", job_queue="q", broker_visibility_timeout_seconds=120)
    )
    conf = app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_default_queue == "q"
    assert conf.broker_transport_options["visibility_timeout"] == 120
    assert conf.task_annotations[broker.REEXTRACT_CHUNK]["max_retries"] == Settings().job_max_retries
    assert {entry["task"] for entry in conf.beat_schedule.values()} == {
        broker.FEEDS_POLL_DUE,
        broker.BACKGROUND_ROUND,
        broker.EXTRACT_PENDING,
    }
    with pytest.raises(ValueError, match="STANCELINE_BROKER_URL"):
        broker.make_celery(Settings())


def test_compose_runs_migrations_once_before_the_api_and_the_workers() -> None:
    yaml = pytest.importorskip("yaml", reason="PyYAML is needed to read docker-compose.yml")
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    assert set(services) == {"db", "redis", "migrate", "api", "worker", "beat"}
    assert services["db"]["image"].startswith("postgres:16")
    assert services["redis"]["image"].startswith("redis:7")
    assert services["migrate"]["command"][-2:] == ["db", "upgrade"]
    for name in ("api", "worker", "beat"):
        service = services[name]
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert service["environment"]["STANCELINE_SKIP_MIGRATIONS"] == "true"
        assert service["environment"]["STANCELINE_BROKER_URL"].startswith("redis://redis:6379")
    assert "--workers" in services["api"]["command"]
    assert services["worker"]["command"][:4] == ["celery", "-A", "app.jobs.celery_app", "worker"]


def test_the_image_runs_as_a_non_root_user_with_a_health_check() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    users = [line.split()[1] for line in dockerfile.splitlines() if line.startswith("USER ")]
    assert users
    assert users[-1] not in ("root", "0")
    assert "HEALTHCHECK" in dockerfile
    assert "/healthz" in dockerfile
