"""The RTC port: issue a signed token that lets one identity join one RTC room, with or without publishing.

The media plane belongs to the provider (LiveKit, Agora); liveloop only decides who may join which
room and whether they may publish. Issuing is pure computation (an HMAC over claims): no I/O, so it
is a plain method. Adapters are built per shop from that shop's :data:`RtcConfig` by an
:data:`RtcIssuerFactory` that ``bootstrap`` provides.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import ClassVar

__all__ = [
    "AgoraConfig",
    "LiveKitConfig",
    "RtcConfig",
    "RtcIssuerFactory",
    "RtcProvider",
    "RtcToken",
    "RtcTokenIssuer",
]


class RtcProvider(StrEnum):
    LIVEKIT = "livekit"
    AGORA = "agora"


@dataclass(frozen=True, slots=True)
class LiveKitConfig:
    url: str  # the LiveKit server clients connect to (wss://...)
    api_key: str  # the token's issuer; not a secret
    api_secret: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class AgoraConfig:
    app_id: str  # 32 hex characters; public (clients join with it, every token carries it)
    app_certificate: str = field(repr=False)


RtcConfig = LiveKitConfig | AgoraConfig


@dataclass(frozen=True, slots=True)
class RtcToken:
    """What a client needs to join: the token and where (and as whom) to use it."""

    provider: RtcProvider
    token: str
    url: str | None  # the LiveKit server URL; None for Agora (its SDK knows its servers)
    expires_at: datetime  # when the join/publish rights lapse
    can_publish: bool
    room: str  # the provider's room (LiveKit) or channel (Agora) name
    identity: str  # the participant identity (LiveKit) or user account (Agora) to join as
    app_id: str | None = None  # Agora's App ID, which its client SDK needs to join


class RtcTokenIssuer(abc.ABC):
    """Issues provider tokens for one shop's RTC project.

    Guarantees: the token admits exactly ``identity`` to exactly ``room``; it grants publishing
    (audio, video, data) only when ``can_publish`` is true, otherwise subscribe-only; its rights end
    at ``expires_at``, which is at most ``ttl_seconds`` away (a provider may cap it lower, and says
    so in ``expires_at``).
    """

    provider: ClassVar[RtcProvider]

    @abc.abstractmethod
    def issue(self, *, room: str, identity: str, name: str, can_publish: bool, ttl_seconds: int) -> RtcToken:
        """A token for ``identity`` (shown as ``name``) in ``room``; raises ValueError on empty ids."""


#: Builds the issuer for one shop's configuration; chosen by ``bootstrap``.
RtcIssuerFactory = Callable[[RtcConfig], RtcTokenIssuer]
