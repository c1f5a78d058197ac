"""API keys and viewer tokens: minting, parsing, verifying (no I/O).

An API key reads ``llk_<key id>_<secret>``. Only sha256(secret) is stored: the secret is 32
random bytes, so a slow password hash would add latency to every request and no safety.

A viewer token is a JWT (HS256) signed with the shop's viewer key; its ``kid`` header names
the shop so the verifier knows which key to load.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import orjson

from liveloop.shops.errors import ExpiredViewerToken, InvalidApiKey, InvalidViewerToken, ViewerKeyMismatch

_KEY_RE = re.compile(r"^llk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")
_AUDIENCE = "liveloop-viewer"
_KID_PREFIX = "shop:"
#: A base64url segment of a JWT, without padding.
_SEGMENT_RE = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True, slots=True)
class MintedKey:
    key_id: str
    plaintext: str
    secret_hash: str


def mint_api_key() -> MintedKey:
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    return MintedKey(key_id=key_id, plaintext=f"llk_{key_id}_{secret}", secret_hash=hash_secret(secret))


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_api_key(raw: str) -> tuple[str, str]:
    """Split a presented key into (key id, secret); raise InvalidApiKey if it is not one."""
    match = _KEY_RE.match(raw)
    if match is None:
        raise InvalidApiKey("API key is malformed")
    return match.group(1), match.group(2)


def secret_matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), stored_hash)


def new_viewer_key() -> str:
    return secrets.token_urlsafe(32)


def sign_viewer_token(
    *,
    shop_id: int,
    key: str,
    user_id: str,
    nickname: str,
    ttl: timedelta,
    now: datetime | None = None,
    staff_role: str | None = None,
) -> tuple[str, datetime]:
    """A viewer token; with ``staff_role`` it is a staff socket token (``sub`` = staff id)."""
    issued = now or datetime.now(UTC)
    expires = issued + ttl
    claims: dict[str, Any] = {
        "sub": user_id,
        "nick": nickname,
        "shop": shop_id,
        "aud": _AUDIENCE,
        "iat": int(issued.timestamp()),
        "exp": int(expires.timestamp()),
    }
    if staff_role is not None:
        claims["role"] = staff_role
    token = jwt.encode(claims, key, algorithm="HS256", headers={"kid": f"{_KID_PREFIX}{shop_id}"})
    return token, expires


def viewer_token_shop(token: str) -> int:
    """The shop a token claims to come from (unverified: only used to pick the key).

    Only the JOSE header is read, for its ``kid``: ``jwt.get_unverified_header`` decodes and checks
    every segment of the token, which :func:`verify_viewer_token` does again with the key found
    (measured: ~100 us of CPU per request for the first pass). Whatever else is wrong with the token,
    that verification refuses it.
    """
    head = token.partition(".")[0]
    if _SEGMENT_RE.fullmatch(head) is None or len(head) % 4 == 1:
        raise InvalidViewerToken("viewer token is malformed")
    try:
        header = orjson.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    except ValueError:  # binascii.Error and orjson.JSONDecodeError are ValueErrors
        raise InvalidViewerToken("viewer token is malformed") from None
    kid = header.get("kid", "") if isinstance(header, dict) else None
    if not isinstance(kid, str) or not kid.startswith(_KID_PREFIX) or not kid[len(_KID_PREFIX) :].isdigit():
        raise InvalidViewerToken("viewer token names no shop")
    return int(kid[len(_KID_PREFIX) :])


def verify_viewer_token(token: str, *, shop_id: int, keys: Sequence[str]) -> dict[str, Any]:
    """Check signature (against any of ``keys``), audience, expiry and shop; return the claims.

    A signature that matches none of ``keys`` raises :class:`ViewerKeyMismatch` (an
    ``InvalidViewerToken``): a caller holding cached keys may reload them and try once more.
    """
    for key in keys:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=["HS256"],
                audience=_AUDIENCE,
                options={"require": ["exp", "sub", "shop"]},
            )
        except jwt.ExpiredSignatureError:
            raise ExpiredViewerToken("viewer token has expired") from None
        except jwt.InvalidSignatureError:
            continue
        except jwt.PyJWTError:
            raise InvalidViewerToken("viewer token is invalid") from None
        if claims.get("shop") != shop_id or not isinstance(claims.get("sub"), str):
            raise InvalidViewerToken("viewer token is invalid")
        return claims
    raise ViewerKeyMismatch("viewer token signature does not match")
