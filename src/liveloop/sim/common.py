"""What every part of ``liveloop bench fanout`` shares: its error and its log callback."""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["BenchError", "Log"]

Log = Callable[[str], None]


class BenchError(RuntimeError):
    """The benchmark could not run (server did not start, sockets failed to connect, ...)."""
