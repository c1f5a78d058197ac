"""Names of the counters and channels a live room uses (one place, so nodes agree)."""

from __future__ import annotations

from dataclasses import dataclass

CONTROL_CHANNEL = "realtime:control"


def room_channel(room_id: int) -> str:
    """The sequenced stream of a room (comments, host messages, results) and its entrances."""
    return f"room:{room_id}"


def presence_key(room_id: int) -> str:
    return f"room:{room_id}:presence"


@dataclass(frozen=True, slots=True)
class ScopeKeys:
    """Counters of what is on air: the live show, or the room itself between shows."""

    scope: str

    @classmethod
    def of(cls, *, room_id: int, show_id: int | None) -> ScopeKeys:
        return cls(f"show:{show_id}" if show_id is not None else f"room:{room_id}")

    @property
    def likes(self) -> str:
        return f"{self.scope}:likes"

    @property
    def shares(self) -> str:
        return f"{self.scope}:shares"

    @property
    def follows(self) -> str:
        return f"{self.scope}:follows"

    @property
    def comments(self) -> str:
        return f"{self.scope}:comments"

    @property
    def pv(self) -> str:
        return f"{self.scope}:pv"

    @property
    def uv(self) -> str:
        return f"{self.scope}:uv"

    @property
    def peak(self) -> str:
        return f"{self.scope}:peak_online"

    @property
    def watch_seconds(self) -> str:
        return f"{self.scope}:watch_seconds"

    def viewer_watch_seconds(self, viewer_id: str) -> str:
        return f"{self.scope}:watch:{viewer_id}"

    def viewer_session_start(self, viewer_id: str) -> str:
        """Wall-clock milliseconds at which the viewer's open session began (absent when none)."""
        return f"{self.scope}:since:{viewer_id}"
