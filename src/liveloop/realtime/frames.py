"""RFC 6455 frames as the server sends them: unmasked, so one encoding serves every socket.

Only what a server writes is here: text frames carrying room payloads and close frames. Reading
client frames (masked) stays with the WebSocket library that owns the handshake.
"""

from __future__ import annotations

import struct

__all__ = ["MAX_CLOSE_REASON_BYTES", "encode_close_frame", "encode_text_frame"]

#: A control frame's payload is at most 125 bytes; two of them are the close code.
MAX_CLOSE_REASON_BYTES = 123

_FIN_TEXT = 0x81
_FIN_CLOSE = 0x88
_HEAD_16 = struct.Struct("!BBH")
_HEAD_64 = struct.Struct("!BBQ")
_CLOSE_CODE = struct.Struct("!H")
#: Codes a server may put on the wire (RFC 6455 §7.4): 1004-1006 and 1015 are reserved for
#: local use, 1000-2999 outside this list are unassigned, 3000-4999 are for libraries/apps.
_WIRE_CLOSE_CODES = frozenset({1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014})


def encode_text_frame(payload: bytes) -> bytes:
    """One final, unmasked text frame (opcode 0x1) around ``payload``.

    ``payload`` must be UTF-8 (``orjson`` output is); it is not validated here because this runs once
    per room per tick on the hot path. The length uses the shortest form: 7, 16 or 64 bits.
    """
    size = len(payload)
    if size < 126:
        return bytes((_FIN_TEXT, size)) + payload
    if size < 65536:
        return _HEAD_16.pack(_FIN_TEXT, 126, size) + payload
    return _HEAD_64.pack(_FIN_TEXT, 127, size) + payload


def encode_close_frame(code: int, reason: str = "") -> bytes:
    """An unmasked close frame with ``code`` and ``reason``.

    Raises ValueError for a code that may not be sent on the wire. A reason longer than
    :data:`MAX_CLOSE_REASON_BYTES` in UTF-8 is cut at a character boundary, never rejected: closing
    must not fail because of its explanation.
    """
    if code not in _WIRE_CLOSE_CODES and not 3000 <= code <= 4999:
        raise ValueError(f"close code {code} may not be sent on the wire")
    raw = reason.encode()
    if len(raw) > MAX_CLOSE_REASON_BYTES:
        raw = raw[:MAX_CLOSE_REASON_BYTES].decode(errors="ignore").encode()
    body = _CLOSE_CODE.pack(code) + raw
    return bytes((_FIN_CLOSE, len(body))) + body
