"""The grab path's own throughput, inside one process: no HTTP, no auth, many concurrent coroutines.

Run on the store the HTTP run just used (its server stopped), with the product's own code and the
backend's own adapters (``bootstrap.build_container``), on uvloop like ``liveloop serve``:

- ``core``: what a grab costs once the buyer and the offer are known, exactly the product's
  ``commerce.orders._grab``: ``Counters.reserve`` (via the stock cache), then, for the units it
  gets, the process's group commit allocating them (the conditional UPDATE of the sale) and
  inserting the order, together with the other winners queued meanwhile. Two mixes: ``sale``
  (``grabs`` distinct buyers for ``units`` units: a few writes, then the sold-out path) and
  ``write`` (as many units as grabs: every grab writes an order).
- ``use_case``: the whole ``do_place_order`` (idempotency lookup, offer read, key claim, the core,
  the event, the payment start) for the ``sale`` mix: the HTTP request minus HTTP and the token.

Each mix runs on a new flash sale of the same product; the SQL audit checks units sold after each.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any

from liveloop import bootstrap, migrate
from liveloop.commerce import (
    CommerceContext,
    OrderPolicy,
    OrderRequest,
    OverLimit,
    SoldOut,
    do_place_order,
    make_commerce,
)
from liveloop.commerce.flash_sales import do_create_flash_sale
from liveloop.commerce.orders import _grab, _Offer  # the grab itself, as the product runs it
from liveloop.commerce.stock import StockTarget
from liveloop.shops import Principal, Viewer, get_principal
from liveloop.sim.common import Log
from liveloop.sim.flashsale_backends import Target
from liveloop.sim.flashsale_seed import audit_sale

if TYPE_CHECKING:
    from liveloop.sim.flashsale import FlashSaleOptions

__all__ = ["run_grabs"]

Grab = Callable[[int], Awaitable[None]]


async def _timed(grabs: int, workers: int, grab: Grab) -> dict[str, Any]:
    """``grabs`` calls of ``grab(i)`` from ``workers`` coroutines; outcomes, rate and CPU."""
    outcomes: Counter[str] = Counter()
    indexes: Iterator[int] = iter(range(grabs))

    async def worker() -> None:
        for i in indexes:  # shared: each index is taken by exactly one worker
            try:
                await grab(i)
                outcomes["created"] += 1
            except SoldOut:
                outcomes["sold_out"] += 1
            except OverLimit:
                outcomes["over_limit"] += 1
            except Exception as exc:  # noqa: BLE001 - counted and shown: a failed grab is a finding
                outcomes[f"error {type(exc).__name__}"] += 1

    cpu0, t0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(min(workers, grabs))))
    seconds = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    return {
        "grabs": grabs,
        "workers": min(workers, grabs),
        "seconds": round(seconds, 3),
        "grabs_per_s": round(grabs / seconds) if seconds else None,
        "cpu_cores": round(cpu / seconds, 3) if seconds else None,
        "cpu_us_per_grab": round(cpu / grabs * 1e6, 1) if grabs else None,
        "outcomes": dict(outcomes),
    }


async def _new_sale(ctx: CommerceContext, principal: Principal, product_id: int, units: int) -> int:
    row = await do_create_flash_sale(
        ctx.db,
        ctx.counters,
        principal,
        product_id=product_id,
        show_id=None,
        price_cents=990,
        stock=units,
        per_user_limit=1,
        duration_seconds=3600,
    )
    return row.id


async def _core(
    ctx: CommerceContext,
    principal: Principal,
    product_id: int,
    *,
    tag: str,
    grabs: int,
    units: int,
    workers: int,
) -> tuple[int, dict[str, Any]]:
    sale_id = await _new_sale(ctx, principal, product_id, units)
    offer = _Offer(target=StockTarget(product_id, flash_sale_id=sale_id, limit=1), show_id=None)

    async def grab(i: int) -> None:
        request = OrderRequest(idempotency_key=f"{tag}-{i}", flash_sale_id=sale_id)
        await _grab(ctx, offer, shop_id=principal.shop_id, buyer=f"u:{tag}-{i}", request=request)

    return sale_id, await _timed(grabs, workers, grab)


async def _use_case(
    ctx: CommerceContext, principal: Principal, product_id: int, *, grabs: int, units: int, workers: int
) -> tuple[int, dict[str, Any]]:
    sale_id = await _new_sale(ctx, principal, product_id, units)
    shop_id = principal.shop_id

    async def place(i: int) -> None:
        user = f"case-{i}"
        viewer = Viewer(shop_id=shop_id, viewer_id=f"u:{user}", nickname=user, user_id=user)
        await do_place_order(ctx, viewer, OrderRequest(idempotency_key=f"k{i}", flash_sale_id=sale_id))

    return sale_id, await _timed(grabs, workers, place)


async def _run(
    target: Target, owner_key: str, product_id: int, opts: FlashSaleOptions, log: Log
) -> dict[str, Any]:
    # No payment answers and no sweeper: nothing but the grabs runs in the process.
    policy = OrderPolicy(simulated_payment_delay_seconds=None, sweep_interval_seconds=None)
    migrate.target_metadata()  # every domain's tables mapped, as in the server (foreign keys resolve)
    report: dict[str, Any] = {"workers": opts.grab_workers}
    async with bootstrap.build_container(target.settings()) as container:
        ctx = make_commerce(container, policy=policy)
        try:
            principal = await get_principal(container.db, owner_key)
            runs: list[tuple[str, int, Callable[[], Awaitable[tuple[int, dict[str, Any]]]]]] = [
                (
                    "sale",
                    opts.units,
                    lambda: _core(
                        ctx,
                        principal,
                        product_id,
                        tag="s",
                        grabs=opts.grabs,
                        units=opts.units,
                        workers=opts.grab_workers,
                    ),
                ),
                (
                    "write",
                    opts.write_grabs,
                    lambda: _core(
                        ctx,
                        principal,
                        product_id,
                        tag="w",
                        grabs=opts.write_grabs,
                        units=opts.write_grabs,
                        workers=opts.grab_workers,
                    ),
                ),
                (
                    "use_case",
                    opts.units,
                    lambda: _use_case(
                        ctx,
                        principal,
                        product_id,
                        grabs=opts.use_case_grabs,
                        units=opts.units,
                        workers=opts.grab_workers,
                    ),
                ),
            ]
            for name, units, start in runs:
                log(f"{target.name}: in-process {name}")
                sale_id, figures = await start()
                audit = await audit_sale(target.database_url, sale_id, limit=1)
                figures["units"] = units
                figures["db"] = audit
                figures["sold_ok"] = audit["sold"] == units == figures["outcomes"].get("created", 0)
                report[name] = figures
        finally:
            await ctx.payments.close()
    return report


def run_grabs(
    target: Target, owner_key: str, product_id: int, opts: FlashSaleOptions, log: Log
) -> dict[str, Any]:
    """The in-process figures of one backend (see the module docstring)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        return asyncio.run(_run(target, owner_key, product_id, opts, log))
    return uvloop.run(_run(target, owner_key, product_id, opts, log))
