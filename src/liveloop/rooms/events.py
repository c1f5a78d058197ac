"""Events of rooms and shows, and of the show's showcase (the product bag and 讲解中).

Showcase events carry ``Event.show_id`` and ``Event.room_id``; ``Event.actor`` is ``staff:<id>`` for
``showcase.explaining`` and the viewer (``u:<user>`` / ``d:<device>``) for the viewer signals.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Literal

from pydantic import Field

from liveloop.core.events import EventData

#: Where a viewer met the product: its card in the stream, the product bag, the pinned 讲解中 card.
Surface = Literal["card", "bag", "pinned"]
ProductId = Annotated[int, Field(ge=1)]


class ShowStarted(EventData):
    TYPE = "show.started"
    show_id: int
    room_id: int
    title: str


class ShowEnded(EventData):
    TYPE = "show.ended"
    show_id: int
    room_id: int
    title: str


class ShowCancelled(EventData):
    TYPE = "show.cancelled"
    show_id: int
    room_id: int
    title: str


class _SeatEvent(EventData):
    room_id: int
    request_id: int
    viewer_id: str
    nickname: str


class CohostRequested(_SeatEvent):
    TYPE = "cohost.requested"


class CohostApproved(_SeatEvent):
    TYPE = "cohost.approved"


class CohostRejected(_SeatEvent):
    TYPE = "cohost.rejected"


class CohostCancelled(_SeatEvent):
    TYPE = "cohost.cancelled"


class CohostEnded(_SeatEvent):
    """The guest left the seat, or staff ended it (the envelope's ``actor`` says which)."""

    TYPE = "cohost.ended"


class ShowcaseExplaining(EventData):
    """The host started explaining ``product_id`` (讲解中), or stopped (``product_id`` null).

    ``name``, ``price_cents`` and ``image_url`` describe ``product_id`` as it was then (null when
    stopping), so the room can show the card without asking the catalog.
    """

    TYPE = "showcase.explaining"
    show_id: int
    product_id: ProductId | None
    previous_product_id: ProductId | None
    name: str | None = None
    price_cents: Annotated[int, Field(ge=0)] | None = None
    image_url: str | None = None


class ProductExposed(EventData):
    """The first time this viewer saw the product in this show (later sightings are not events)."""

    TYPE = "product.exposed"
    show_id: int
    product_id: ProductId
    surface: Surface


class ProductClicked(EventData):
    TYPE = "product.clicked"
    show_id: int
    product_id: ProductId
    surface: Surface


class CartAdded(EventData):
    TYPE = "cart.added"
    show_id: int
    product_id: ProductId
    quantity: Annotated[int, Field(ge=1)]


EVENT_TYPES: Mapping[str, type[EventData]] = MappingProxyType(
    {
        cls.TYPE: cls
        for cls in (
            ShowStarted,
            ShowEnded,
            ShowCancelled,
            CohostRequested,
            CohostApproved,
            CohostRejected,
            CohostCancelled,
            CohostEnded,
            ShowcaseExplaining,
            ProductExposed,
            ProductClicked,
            CartAdded,
        )
    }
)
