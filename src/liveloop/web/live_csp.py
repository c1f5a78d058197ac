"""The viewer page's Content-Security-Policy with the shop's RTC provider in ``connect-src``.

A seated viewer's page joins the co-host media on the shop's RTC provider, the one service besides
this server that the page may talk to. The page is rendered before any RTC token exists (a viewer
is seated later, over the socket) and a policy cannot be widened after load, so the page of a
signed-in viewer of a shop with a provider allows it from the start:

- LiveKit: the shop's own server. The origin comes from the shop's RTC settings (staff with
  shop-manage rights), never from the viewer's request, and only its scheme, host and port reach
  the header.
- Agora: Agora's cloud, fixed names that no setting changes. Its web SDK asks its access points
  and reports its join events over https (``webrtc2-ap-web-1.agora.io``, ``sua-web-2.ap.sd-rtn.com``,
  ``statscollector-1.agora.io``, ...; port 443) and signals over wss to a gateway named after its
  IP under ``edge.agora.io`` / ``edge.sd-rtn.com`` on a port the access point picks (Agora's
  firewall list: 3433, 4700-5000, 5668, 6080, 8667, ...), hence any port for wss only. It needs
  nothing else: no worker, no ``blob:`` or ``data:`` script. (Its camera check appends a 1px probe
  ``<video>`` with a style attribute, which ``style-src 'self'`` refuses; live-rtc.css gives that
  probe the same size, so the policy stays as it is.)

A guest can never be seated (so never gets a token) and keeps the plain policy.
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import urlsplit

from liveloop.rooms import RoomPage

__all__ = ["AGORA_CONNECT_SOURCES", "live_page_policy", "rtc_connect_sources"]

_SELF: Final = "connect-src 'self'"
# The SDK signals over ws(s) and, after a failed join, asks the same host over http(s) why
# (``/rtc/validate``): both origins, whichever of the two the shop configured.
_SCHEMES: Final = {
    "wss": ("wss", "https"),
    "https": ("wss", "https"),
    "ws": ("ws", "http"),
    "http": ("ws", "http"),
}
AGORA_CONNECT_SOURCES: Final = (
    "https://*.agora.io",
    "wss://*.agora.io:*",
    "https://*.sd-rtn.com",
    "wss://*.sd-rtn.com:*",
)
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
    """``policy`` (which has ``connect-src 'self'``), with the room's RTC provider added to
    ``connect-src`` for a signed-in viewer: the shop's LiveKit server, or Agora's cloud."""
    if not signed_in or _SELF not in policy:
        return policy
    if room.rtc_provider == "livekit":
        sources = rtc_connect_sources(room.rtc_url)
    elif room.rtc_provider == "agora":
        sources = AGORA_CONNECT_SOURCES
    else:
        return policy
    if not sources:
        return policy
    return policy.replace(_SELF, " ".join((_SELF, *sources)), 1)
