"""RTC token issuers: LiveKit (livekit-api) and Agora (agora-token-builder, 006 tokens).

Each provider's SDK is imported on first use, so a shop without co-hosting costs no import time.
"""

from __future__ import annotations

from typing import assert_never

from liveloop.core.rtc import AgoraConfig, LiveKitConfig, RtcConfig, RtcTokenIssuer

__all__ = ["make_rtc_issuer"]


def make_rtc_issuer(config: RtcConfig) -> RtcTokenIssuer:
    """The issuer for one shop's RTC configuration (an :data:`~liveloop.core.rtc.RtcIssuerFactory`)."""
    if isinstance(config, LiveKitConfig):
        from liveloop.adapters.rtc.livekit import LiveKitIssuer

        return LiveKitIssuer(config)
    if isinstance(config, AgoraConfig):
        from liveloop.adapters.rtc.agora import AgoraIssuer

        return AgoraIssuer(config)
    assert_never(config)
