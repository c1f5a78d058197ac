"""The one typed settings object, read from ``LIVELOOP_*`` environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob liveloop reads. Build it once (``Settings()``) and pass it down."""

    model_config = SettingsConfigDict(env_prefix="LIVELOOP_", extra="ignore")

    data_dir: Path = Field(default=Path("./data"), description="Where the embedded SQLite file lives.")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy async URL; default is a SQLite file in the data directory.",
    )
    redis_url: str | None = Field(
        default=None, description="Redis for counters and cross-node fan-out; unset = in-process."
    )
    redis_namespace: str = Field(
        default="liveloop",
        pattern=r"^[A-Za-z0-9_.-]{1,40}$",
        description="Prefix of every Redis key and channel (to share one Redis between deployments).",
    )
    auto_migrate: bool | None = Field(
        default=None,
        description="Migrate on start. Default: on for embedded SQLite, off for PostgreSQL.",
    )
    event_store: Literal["auto", "duckdb", "postgres", "none"] = Field(
        default="auto",
        description="Where every event goes: auto = a DuckDB file with SQLite, PostgreSQL with PostgreSQL.",
    )
    event_flush_seconds: float = Field(
        default=1.0, gt=0, le=60, description="Longest time an event waits in memory before it is stored."
    )
    event_buffer_max: int = Field(
        default=1_000_000,
        ge=100_000,
        description="Events held in memory while the event store is down; past it new events are dropped.",
    )
    host: str = Field(default="127.0.0.1", description="Bind address of `liveloop serve`.")
    port: int = Field(default=8000, ge=0, le=65535, description="Port of `liveloop serve`.")
    log_format: Literal["console", "json"] = Field(default="console", description="Log renderer.")
    log_level: Literal["debug", "info", "warning", "error"] = Field(default="info")
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, description="Largest accepted HTTP body.")
    notify_allow_private_hosts: bool = Field(
        default=False,
        description="Let notify targets (webhooks) point at loopback, private or link-local addresses: "
        "for on-premise installs and tests; off, such URLs are refused when saved and when sent to.",
    )
    viewer_token_ttl_seconds: int = Field(
        default=3600, ge=60, le=86400, description="Default lifetime of a viewer token."
    )
    ws_protocol: Literal["lean", "websockets-sansio"] = Field(
        default="lean",
        description="WebSocket protocol of `liveloop serve`: lean = uvicorn's websockets-sansio keeping "
        "less per socket (liveloop.web.ws_protocol); websockets-sansio = uvicorn's own.",
    )
    room_max_comments_per_second: float = Field(
        default=50,
        gt=0,
        le=100_000,
        description="Comments a live room shows per second; above it each tick keeps an evenly "
        "spread sample (priority items are never sampled).",
    )

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir / 'liveloop.db'}"

    @property
    def is_embedded(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @property
    def resolved_event_store(self) -> Literal["duckdb", "postgres", "none"]:
        if self.event_store == "auto":
            return "duckdb" if self.is_embedded else "postgres"
        return self.event_store

    @property
    def event_store_path(self) -> Path:
        """The DuckDB event store file (when the event store is DuckDB)."""
        return self.data_dir / "events.duckdb"

    @property
    def should_auto_migrate(self) -> bool:
        return self.is_embedded if self.auto_migrate is None else self.auto_migrate
