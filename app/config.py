"""Settings, read once from the environment (prefix STANCELINE_) or a .env file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STANCELINE_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite:///./stanceline.db",
        description="SQLAlchemy URL: sqlite:///path.db (default) or postgresql+psycopg://user@host/db",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "text"] = Field(
        default="json", description="Server logs: one JSON object per line (json) or plain text lines (text)"
    )
    shutdown_timeout_seconds: int = Field(
        default=30,
        ge=1,
        description="On SIGTERM, how long in-flight requests may run before they are cancelled",
    )
    keep_alive_seconds: int = Field(
        default=75,
        ge=1,
        description=(
            "How long an idle client connection is kept open. Longer than a proxy's or a client "
            "pool's idle timeout (60 s is common), so the server never closes a connection just as "
            "a request is sent on it, which the client sees as a dropped request"
        ),
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated origins browsers may call the API from; none: CORS off",
    )
    extraction_engine: str = Field(default="rules", description="Extractor used at ingest time")
    # the `llm` engine (app.extraction.llm): listed once llm_url and llm_model are set
    llm_url: str | None = Field(
        default=None,
        description="OpenAI-compatible endpoint: a base URL (http://127.0.0.1:8080, .../v1) or the full one",
    )
    llm_model: str | None = Field(default=None, description="Model name sent to the LLM endpoint")
    llm_api_key: SecretStr | None = Field(default=None, description="Sent as Authorization: Bearer; optional")
    llm_timeout_seconds: float = Field(default=60.0, gt=0, description="Longest wait for one LLM answer")
    llm_concurrency: int = Field(
        default=2, ge=1, le=64, description="LLM requests in flight at once, per process"
    )
    llm_max_retries: int = Field(
        default=2, ge=0, le=10, description="LLM requests retried after a timeout, 5xx or malformed answer"
    )
    llm_mode: Literal["observations", "suggestions"] = Field(
        default="observations",
        description=(
            "What the llm engine's observations are: counted like any automatic one (observations), "
            "or `suggested`, counted only once a reviewer verifies or corrects them (suggestions)"
        ),
    )
    llm_cache_dir: Path | None = Field(
        default=None, description="Where LLM answers are cached; default $STANCELINE_MODEL_CACHE/llm"
    )
    ingest_wait: bool = Field(
        default=False,
        description=(
            "What POST /v1/articles does without ?wait=: false, store the article and answer at once "
            "(`extraction: pending`, extracted by the workers); true, extract in the request and answer "
            "with its observations"
        ),
    )
    extraction_workers: int = Field(
        default=1,
        ge=0,
        le=64,
        description=(
            "Extraction worker processes each API process starts when articles are pending and no "
            "broker is set (0: none; then `stanceline extract-pending` or Celery workers must run)"
        ),
    )
    extraction_claim_size: int = Field(
        default=4, ge=1, le=1000, description="Pending articles a worker claims at a time"
    )
    extraction_lease_seconds: float = Field(
        default=60.0,
        gt=0,
        description="How long a claim holds; a killed worker's articles are claimed again after it",
    )
    extraction_max_attempts: int = Field(
        default=4, ge=1, description="Attempts at extracting an article before it is marked failed"
    )
    extraction_poll_seconds: float = Field(
        default=0.25, gt=0, description="How often an idle extraction worker looks for pending articles"
    )
    batch_max_articles: int = Field(
        default=1000, ge=1, description="Most articles one batch request may carry"
    )
    max_body_bytes: int = Field(
        default=10 * 1024 * 1024, ge=1, description="Largest request body accepted; larger ones get 413"
    )
    body_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        description="Longest time a request body may take to arrive once its headers have; slower: 408",
    )
    timeline_max_buckets: int = Field(
        default=10_000, ge=1, description="Most buckets a timeline or comparison may span per series"
    )
    read_cache_mb: int = Field(
        default=32,
        ge=0,
        description=(
            "Memory per process for finished timeline responses, kept while the data is unchanged (0: off)"
        ),
    )
    sqlite_busy_timeout_ms: int = Field(default=10_000, ge=0)
    db_pool_size: int = Field(
        default=5,
        ge=1,
        description="Connections per process pool (each process keeps one more for its inline reads)",
    )
    db_connect_timeout_seconds: int = Field(
        default=5,
        ge=2,  # libpq's floor
        description=(
            "PostgreSQL: longest wait for a new connection; also how long a request waits for its API "
            "key check or data revision read, and /readyz for its check, before answering 503"
        ),
    )
    db_statement_timeout_seconds: float = Field(
        default=15.0,
        gt=0,
        description=(
            "PostgreSQL: the server cancels a statement that runs longer, and a connection that has not "
            "answered within this plus the connect timeout (a stalled server or network) is closed: 503"
        ),
    )
    migrate_on_start: bool | None = Field(
        default=None, description="Run migrations at start; default: on for SQLite, off for PostgreSQL"
    )

    public_read: bool = Field(
        default=False, description="Serve reads without an API key (writes always need one)"
    )
    shift_detection: Literal["deferred", "sync", "off"] = Field(
        default="deferred",
        description=(
            "When writes change a series: queue it for the background worker (deferred), recompute "
            "its shifts inside the request (sync), or do neither (off)"
        ),
    )
    rollup_member_weight: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description=(
            "In a roll-up, the share of its confidence a member's observation counts with "
            "(the actor's own observations count fully)"
        ),
    )
    shift_settle_seconds: float = Field(
        default=3.0,
        ge=0,
        description=(
            "Deferred shift detection refreshes a queued series once it has waited this long, so a "
            "burst of writes costs one refresh per series (0: at the next poll)"
        ),
    )
    shift_settle_backlog_seconds: float = Field(
        default=30.0,
        ge=0,
        description=(
            "The settle time while articles wait for extraction: a backlog touches the same series "
            "over and over, and each refresh is soon out of date"
        ),
    )
    worker_poll_seconds: float = Field(default=0.5, gt=0, description="Background worker poll interval")
    webhook_urls: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Comma-separated URLs that receive shift events"
    )
    webhook_secret: SecretStr | None = Field(
        default=None, description="HMAC-SHA256 key for X-Stanceline-Signature"
    )
    webhook_max_attempts: int = Field(default=8, ge=1)
    webhook_timeout_seconds: float = Field(default=5.0, gt=0)

    # feeds and background jobs (app.feeds, app.jobs)
    broker_url: str | None = Field(
        default=None,
        description=(
            "Celery broker (redis://127.0.0.1:6379/0 or amqp://guest:guest@127.0.0.1:5672//); "
            "unset: jobs run in-process and the API's background worker polls feeds"
        ),
    )
    job_queue: str = Field(default="stanceline", min_length=1, description="Celery queue the tasks go to")
    job_chunk_size: int = Field(default=100, ge=1, le=10_000, description="Articles per re-extraction task")
    job_max_retries: int = Field(default=5, ge=0, description="Retries of a failing task (backoff doubles)")
    job_retry_backoff_max_seconds: int = Field(default=600, ge=1)
    broker_visibility_timeout_seconds: int = Field(
        default=3600,
        ge=1,
        description="Redis: a task a lost worker had taken is handed to another after this long",
    )
    feed_poll_seconds: float = Field(default=60.0, gt=0, description="How often due feeds are looked for")
    feed_timeout_seconds: float = Field(default=20.0, gt=0, description="Per-request timeout of a feed fetch")
    feed_max_backoff_seconds: int = Field(
        default=86_400, ge=1, description="Longest wait after repeated failures of a feed"
    )
    feed_allow_private: bool = Field(
        default=False,
        description=(
            "Let feeds reach loopback, private, link-local and other non-public addresses (a feed on "
            "this machine or the intranet); off, such feed urls are refused and never fetched"
        ),
    )
    story_linking: Literal["feeds", "all", "off"] = Field(
        default="feeds",
        description=(
            "Link syndicated copies (near-identical text) to their story so they count once: "
            "for articles from feeds, for every ingest path (all), or never"
        ),
    )

    @field_validator("webhook_urls", "cors_origins", mode="before")
    @classmethod
    def _split_urls(cls, value: object) -> object:
        if isinstance(value, str):
            return [url.strip() for url in value.split(",") if url.strip()]
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
