"""Adapters: the implementations of the core ports (memory, redis, sql, ...); only bootstrap picks them."""
