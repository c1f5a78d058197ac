"""Agora RTC tokens via agora-token-builder, the only builder on PyPI.

Limitations of that builder, which is why this adapter stays behind :class:`RtcTokenIssuer` (an
in-house AccessToken2 builder can replace it without touching the rooms domain):

- It emits the legacy **006** AccessToken. Agora still accepts 006, but recommends AccessToken2
  (007), whose reference builder lives only in the ``AgoraIO/Tools`` repository.
- Privileges last at most 24 hours (Agora's limit); longer TTLs are capped, and ``expires_at`` says so.
- A uid of 0 (or an empty account) signs a token *any* user may join with. Tokens here are always for
  a non-empty string **user account**: the participant's identity, percent-encoded into the
  characters Agora accepts in an account. Clients join with ``RtcToken.identity`` as their account.
- Roles: a publisher token carries join + publish audio/video/data, a subscriber token join only.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from urllib.parse import quote

from agora_token_builder.RtcTokenBuilder import (  # type: ignore[import-untyped]
    Role_Publisher,
    Role_Subscriber,
    RtcTokenBuilder,
)

from liveloop.core.rtc import AgoraConfig, RtcProvider, RtcToken, RtcTokenIssuer

MAX_TTL_SECONDS = 24 * 3600
# Printable ASCII Agora allows in a user account besides letters and digits ('%' escapes the rest).
_ACCOUNT_SAFE = " !#$&()+-:;<=.>?@[]^_{}|~,"
_MAX_ACCOUNT_BYTES = 255


def agora_account(identity: str) -> str:
    """``identity`` as a valid Agora user account (reversible: unquote it)."""
    account = quote(identity, safe=_ACCOUNT_SAFE)
    if not account or len(account.encode()) > _MAX_ACCOUNT_BYTES:
        raise ValueError("an Agora user account is 1-255 bytes")
    return account


class AgoraIssuer(RtcTokenIssuer):
    provider = RtcProvider.AGORA

    def __init__(self, config: AgoraConfig) -> None:
        self._config = config

    def issue(self, *, room: str, identity: str, name: str, can_publish: bool, ttl_seconds: int) -> RtcToken:
        if not room:
            raise ValueError("an RTC token needs a room")
        account = agora_account(identity)
        expires = int(time.time()) + min(ttl_seconds, MAX_TTL_SECONDS)
        token: str = RtcTokenBuilder.buildTokenWithAccount(
            self._config.app_id,
            self._config.app_certificate,
            room,
            account,
            Role_Publisher if can_publish else Role_Subscriber,
            expires,
        )
        return RtcToken(
            provider=self.provider,
            token=token,
            url=None,
            expires_at=datetime.fromtimestamp(expires, UTC),
            can_publish=can_publish,
            room=room,
            identity=account,
            app_id=self._config.app_id,
        )
