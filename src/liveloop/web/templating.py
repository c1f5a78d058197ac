"""What the server-rendered pages share: one Jinja2 environment and the console's security headers."""

from __future__ import annotations

import functools
from typing import Final

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

__all__ = ["CONSOLE_PAGE_HEADERS", "templates"]

#: The console's and the review's pages: scripts only from this server. ECharts writes inline style
#: attributes (tooltips), hence 'unsafe-inline' for styles alone. Sockets go back to this origin.
CONSOLE_PAGE_HEADERS: Final = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; connect-src 'self'; base-uri 'none'; "
        "frame-ancestors 'none'; form-action 'self'"
    ),
}


@functools.cache
def templates() -> Environment:
    """The package's templates, autoescaped, strict about undefined names (built once, on first use)."""
    return Environment(
        loader=PackageLoader("liveloop.web", "templates"),
        autoescape=select_autoescape(("html",)),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
