"""DuckDB adapters: the embedded event store (one file, one owning process)."""

from liveloop.adapters.duckdb.eventstore import DuckDBEventStore

__all__ = ["DuckDBEventStore"]
