"""The live tools' one-off events of a generated show (:mod:`liveloop.sim.show_gen`), each at a fixed
minute: a poll every hour, a lottery opened at minute 10 and drawn five minutes before the end, two
red packets at minutes 20 and 21, a flash sale at the peak, a coupon drop at minute 30."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from liveloop.sim.show_gen import ShowSpec

ToolEvent = tuple[float, str, dict[str, Any]]


def tool_events(
    spec: ShowSpec, minute: int, lo: float, *, peak_minute: int, on_air: int, flash_end: dict[str, Any]
) -> list[ToolEvent]:
    """The staff's tool events due in ``minute`` (starting ``lo`` seconds into the show), as
    (seconds into the show, type, payload). ``flash_end`` is the sale's end payload: the generator
    counts units into its ``sold`` as the sale's orders come in."""
    out: list[ToolEvent] = []

    def iso(minutes: float) -> str:
        return (spec.start + timedelta(minutes=minutes)).isoformat()

    if minute % 60 == 5:
        poll = 1 + minute // 60
        options = [{"text": t, "product_id": None} for t in ("A", "B", "C")]
        question = f"第{poll}题"
        opened = {
            "poll_id": poll,
            "kind": "normal",
            "question": question,
            "options": options,
            "closes_at": None,
        }
        result = {"counts": [0, 0, 0], "total": 0, "winner": None}
        out.append((lo + 1, "poll.opened", opened))
        closed = {"poll_id": poll, "question": question, "options": options, "result": result}
        out.append((lo + 3000, "poll.closed", closed))
    if minute == 10:
        rules = [{"kind": "keyword", "keyword": "想要", "minutes": None}]
        lottery = {"lottery_id": 1, "prize": "口红一支", "winners_count": 3, "rules": rules}
        out.append(
            (
                lo + 2,
                "lottery.opened",
                lottery | {"opens_at": iso(10), "closes_at": iso(10), "seed_hash": "0" * 64},
            )
        )
    if minute == spec.minutes - 5:
        winners = [{"viewer_id": f"u:{i}", "nickname": f"v{i}"} for i in (1, 2, 3)]
        drawn = {"lottery_id": 1, "prize": "口红一支", "seed_hash": "0" * 64, "seed": "1" * 64}
        out.append(
            (lo + 2, "lottery.drawn", drawn | {"entries_count": 0, "eligible": [], "winners": winners})
        )
    if minute in (20, 21):
        packet = {"packet_id": 1 + minute % 2, "total_cents": 88800, "count": 1000}
        out.append((lo + 1, "red_packet.sent", packet | {"opens_at": iso(minute), "expires_at": iso(minute)}))
    if minute == peak_minute:
        sale = {"sale_id": 1, "product_id": on_air, "price_cents": 3900, "stock": 5000, "per_user_limit": 3}
        out.append(
            (lo + 1, "flash_sale.started", sale | {"starts_at": iso(minute), "ends_at": iso(minute + 5)})
        )
        flash_end["product_id"] = on_air
        out.append((lo + 300, "flash_sale.ended", flash_end))
    if minute == 30:
        drop = {"drop_id": 1, "template_id": 1, "name": "满100减5", "kind": "threshold", "quantity": 100000}
        out.append((lo + 1, "coupon.dropped", drop | {"expires_at": iso(60)}))
    return out
