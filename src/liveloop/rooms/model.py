"""The show's state machine (pure rules)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from liveloop.rooms.errors import IllegalTransition


class ShowState(StrEnum):
    SCHEDULED = "scheduled"
    LIVE = "live"
    ENDED = "ended"
    CANCELLED = "cancelled"


class ShowAction(StrEnum):
    START = "start"
    END = "end"
    CANCEL = "cancel"


TRANSITIONS: Mapping[tuple[ShowState, ShowAction], ShowState] = MappingProxyType(
    {
        (ShowState.SCHEDULED, ShowAction.START): ShowState.LIVE,
        (ShowState.SCHEDULED, ShowAction.CANCEL): ShowState.CANCELLED,
        (ShowState.LIVE, ShowAction.END): ShowState.ENDED,
    }
)

#: States in which a show's details and line-up may still change.
OPEN_STATES = frozenset({ShowState.SCHEDULED, ShowState.LIVE})


def next_state(state: ShowState, action: ShowAction) -> ShowState:
    try:
        return TRANSITIONS[(state, action)]
    except KeyError:
        allowed = sorted(a.value for (s, a) in TRANSITIONS if s is state)
        hint = f"; from {state.value} you may: {', '.join(allowed)}" if allowed else ""
        raise IllegalTransition(f"cannot {action.value} a show that is {state.value}{hint}") from None
