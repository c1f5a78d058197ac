"""liveloop: live-stream e-commerce in one closed loop."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("liveloop")
except PackageNotFoundError:  # pragma: no cover - running from a bare source tree
    __version__ = "0.0.0"

__all__ = ["__version__"]
