"""SQL adapters on PostgreSQL: the partitioned event store."""

from liveloop.adapters.sql.eventstore import PostgresEventStore

__all__ = ["PostgresEventStore"]
