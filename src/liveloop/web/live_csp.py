"""The viewer page's Content-Security-Policy with the shop's LiveKit server in ``connect-src``.

A seated viewer's page joins the co-host media on the shop's LiveKit server, the one host besides
this server that the page may talk to. The page is rendered before any RTC token exists (a viewer
is seated later, over the socket) and a policy cannot be widened after load, so the page of a
signed-in viewer of a LiveKit shop allows that server from the start. Nothing else is added: the
origin comes from the shop's own RTC settings (staff with shop-manage rights), never from the
viewer's request, and only its scheme, host and port reach the header. A guest can never be
seated (so never gets a token) and keeps the plain policy; so does every Agora shop, whose
co-hosts use the app.
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import urlsplit

from liveloop.rooms import RoomPage

__all__ = ["live_page_policy", "rtc_connect_sources"]

_SELF: Final = "connect-src 'self'"
# The SDK signals over ws(s) and, after a failed join, asks the same host over http(s) why
# (``/rtc/validate``): both origins, whichever of the two the shop configured.
_SCHEMES: Final = {
    "wss": ("wss", "https"),
    "https": ("wss", "https"),
    "ws": ("ws", "http"),
    "http": ("ws", "http"),
}
_DNS_NAME: Final = re.compile(r"^[a-z0-9-]+(?:\.[a-z0-9-]+)*$")
_IPV6: Final = re.compile(r"^[0-9a-f:.]*:[0-9a-f:.]*$")


def rtc_connect_sources(url: str | None) -> tuple[str, ...]:
    """The CSP sources of the LiveKit server at ``url`` (its ws(s) and http(s) origins), or none
    when ``url`` is not a plain ``scheme://host[:port]`` URL: a source list never carries anything
    the shop typed beyond a host name and a port."""
    if not url:
        return ()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return ()
    schemes = _SCHEMES.get(parts.scheme.lower())
    host = parts.hostname or ""
    if schemes is None or "@" in parts.netloc:
        return ()
    if _IPV6.match(host):
        host = f"[{host}]"
    elif not _DNS_NAME.match(host):
        return ()
    suffix = f":{port}" if port is not None else ""
    return tuple(f"{scheme}://{host}{suffix}" for scheme in schemes)


def live_page_policy(policy: str, room: RoomPage, *, signed_in: bool) -> str:
    """``policy`` (which has ``connect-src 'self'``), with the room's LiveKit server added to
    ``connect-src`` for a signed-in viewer of a shop that co-hosts on LiveKit."""
    if not signed_in or room.rtc_provider != "livekit":
        return policy
    sources = rtc_connect_sources(room.rtc_url)
    if not sources or _SELF not in policy:
        return policy
    return policy.replace(_SELF, " ".join((_SELF, *sources)), 1)
