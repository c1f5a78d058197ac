"""LiveKit access tokens (a JWT signed with the project's API secret), via the official livekit-api."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from livekit.api import AccessToken, VideoGrants

from liveloop.core.rtc import LiveKitConfig, RtcProvider, RtcToken, RtcTokenIssuer


class LiveKitIssuer(RtcTokenIssuer):
    """Publishers may send audio, video and data; subscribers may only receive."""

    provider = RtcProvider.LIVEKIT

    def __init__(self, config: LiveKitConfig) -> None:
        self._config = config

    def issue(self, *, room: str, identity: str, name: str, can_publish: bool, ttl_seconds: int) -> RtcToken:
        if not room or not identity:
            raise ValueError("an RTC token needs a room and an identity")
        # LiveKit stamps nbf/exp in whole seconds from its own clock; this is the same instant.
        expires_at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=ttl_seconds)
        grants = VideoGrants(
            room_join=True,
            room=room,
            can_publish=can_publish,
            can_subscribe=True,
            can_publish_data=can_publish,
        )
        token = (
            AccessToken(self._config.api_key, self._config.api_secret)
            .with_identity(identity)
            .with_name(name)
            .with_grants(grants)
            .with_ttl(timedelta(seconds=ttl_seconds))
            .to_jwt()
        )
        return RtcToken(
            provider=self.provider,
            token=token,
            url=self._config.url,
            expires_at=expires_at,
            can_publish=can_publish,
            room=room,
            identity=identity,
        )
