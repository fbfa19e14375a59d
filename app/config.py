"""Settings, read once from the environment (prefix STANCELINE_) or a .env file."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STANCELINE_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite:///./stanceline.db",
        description="SQLAlchemy URL: sqlite:///path.db (default) or postgresql+psycopg://user@host/db",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    extraction_engine: str = Field(default="rules", description="Extractor used at ingest time")
    batch_max_articles: int = Field(
        default=1000, ge=1, description="Most articles one batch request may carry"
    )
    sqlite_busy_timeout_ms: int = Field(default=10_000, ge=0)
    db_pool_size: int = Field(default=5, ge=1)
    migrate_on_start: bool | None = Field(
        default=None, description="Run migrations at start; default: on for SQLite, off for PostgreSQL"
    )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
