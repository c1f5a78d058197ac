"""Real backends for tests: skipped cleanly when not configured, mandatory when CI says so."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

PG_ENV = "LIVELOOP_TEST_DATABASE_URL"
REDIS_ENV = "LIVELOOP_TEST_REDIS_URL"
CHROMIUM_ENV = "LIVELOOP_TEST_CHROMIUM"
REQUIRE_ALL_ENV = "LIVELOOP_TEST_REQUIRE_ALL"


def backend_url(env: str) -> str:
    """The configured URL/path in ``env``; skips the test when unset, fails it under CI's rule."""
    value = os.environ.get(env)
    if value:
        return value
    if os.environ.get(REQUIRE_ALL_ENV):
        pytest.fail(f"{env} is not set but {REQUIRE_ALL_ENV} makes this backend mandatory")
    pytest.skip(f"{env} not set")


@contextmanager
def duckdb_held(path: Path) -> Iterator[Path]:
    """``path`` (a DuckDB file) held open by another process, as a running server holds it."""
    script = (
        f"import duckdb, sys; c = duckdb.connect({str(path)!r}); print('held', flush=True); sys.stdin.read()"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        yield path
    finally:
        holder.communicate("", timeout=30)
