"""The worker's entry point: `celery -A app.jobs.celery_app worker` (and `... beat`).

Like app.main and app.cli.main, it reads the settings from the environment (STANCELINE_*).
"""

from __future__ import annotations

from app.config import get_settings
from app.jobs import worker
from app.jobs.broker import make_celery
from app.ops.observability import configure_logging

settings = get_settings()
configure_logging(settings.log_level, json=settings.log_format == "json")
worker.configure(settings)
app = make_celery(settings)
