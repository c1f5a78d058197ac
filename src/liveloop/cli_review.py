"""``liveloop review SHOW``: a show's post-live review as HTML, JSON or CSV.

Reads the database and the event store directly (a DuckDB event store can be opened by one process
only: with the server running, ask it instead with ``--url`` and ``--key``, which fetches
``GET /api/v1/shows/{id}/review``). CSV is one long table, ``section,id,field,value``: every figure of
the review, nested fields dotted (``ctr.value``), so it pivots in any spreadsheet.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import urllib.error
import urllib.request
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from liveloop import bootstrap
from liveloop.analytics.review_models import Review
from liveloop.analytics.review_service import build_review
from liveloop.core.errors import LiveloopError
from liveloop.core.eventstore import EventStoreError, EventStoreLocked
from liveloop.rooms import get_show_window
from liveloop.settings import Settings
from liveloop.web.review_render import render_review_html

CSV_COLUMNS = ("section", "id", "field", "value")
#: List sections and the field that identifies a row of each.
_ROW_IDS = {
    "minutes": "index",
    "products": "product_id",
    "sources": "source",
    "retention": "minute",
    "funnel": "stage",
    "suggestions": "code",
    "activities.polls": "poll_id",
    "activities.lotteries": "lottery_id",
    "activities.red_packets": "packet_id",
    "activities.flash_sales": "sale_id",
    "activities.coupons": "template_id",
}


class ReviewFormat(StrEnum):
    html = "html"
    json = "json"
    csv = "csv"


class Language(StrEnum):
    zh = "zh-CN"
    en = "en"


class ReviewCliError(RuntimeError):
    pass


def _flatten(prefix: str, value: Any) -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        out: list[tuple[str, Any]] = []
        for key, inner in value.items():
            out += _flatten(f"{prefix}.{key}" if prefix else str(key), inner)
        return out
    if isinstance(value, list):
        return [(prefix, json.dumps(value, ensure_ascii=False))]
    return [(prefix, value)]


def review_csv(review: Review) -> str:
    """The review as ``section,id,field,value`` rows."""
    data = review.model_dump(mode="json")
    rows: list[tuple[str, str, str, Any]] = []

    def section(name: str, value: Any) -> None:
        if isinstance(value, list) and name in _ROW_IDS:
            for item in value:
                row_id = str(item.get(_ROW_IDS[name], ""))
                rows.extend((name, row_id, field, v) for field, v in _flatten("", item))
        elif isinstance(value, dict) and name == "activities":
            for key, inner in value.items():
                section(f"activities.{key}", inner)
        elif isinstance(value, dict):
            rows.extend((name, "", field, v) for field, v in _flatten("", value))
        else:
            rows.append(("show", "", name, value))

    for name, value in data.items():
        section(name, value)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(("" if v is None else v for v in row) for row in rows)
    return out.getvalue()


async def _local_review(settings: Settings, show_id: int) -> Review:
    db = await bootstrap.prepare_database(settings)
    try:
        show = await get_show_window(db, show_id)
        if show is None:
            raise ReviewCliError(f"show {show_id} not found")
        store = bootstrap.make_event_store(settings, read_only=True)
        if store is None:
            raise ReviewCliError("the event store is turned off (LIVELOOP_EVENT_STORE=none)")
        await store.open()
        try:
            return await build_review(db, store, show)
        finally:
            await store.close()
    finally:
        await db.dispose()


def _get(url: str, key: str | None) -> Any:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - the scheme is checked
    try:
        with urllib.request.urlopen(request, timeout=120) as answer:  # noqa: S310
            return json.load(answer)
    except urllib.error.HTTPError as exc:
        try:
            message = json.load(exc)["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = exc.reason
        raise ReviewCliError(f"{url}: HTTP {exc.code}: {message}") from None


def _remote_review(url: str, key: str | None, show_id: int) -> tuple[Review, str | None]:
    if not url.startswith(("http://", "https://")):
        raise ReviewCliError("--url takes the server's http:// or https:// address")
    base = url.rstrip("/")
    review = Review.model_validate(_get(f"{base}/api/v1/shows/{show_id}/review", key))
    timezone = _get(f"{base}/api/v1/shop", key).get("timezone")
    return review, timezone if isinstance(timezone, str) else None


def review(
    show: Annotated[int, typer.Argument(help="The show's id.", min=1)],
    fmt: Annotated[ReviewFormat, typer.Option("--format", help="Output format.")] = ReviewFormat.html,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here (default: stdout).")
    ] = None,
    lang: Annotated[Language, typer.Option("--lang", help="Language of the HTML page.")] = Language.zh,
    timezone: Annotated[
        str | None,
        typer.Option(help="Time zone of the HTML page (default: the shop's with --url, else Asia/Shanghai)."),
    ] = None,
    url: Annotated[
        str | None,
        typer.Option(help="Ask a running server (e.g. http://127.0.0.1:8000) instead of the files."),
    ] = None,
    key: Annotated[
        str | None, typer.Option(envvar="LIVELOOP_API_KEY", help="Staff API key sent with --url.")
    ] = None,
) -> None:
    """A show's post-live review (直播复盘): KPIs, minutes, products, audience, tools, suggestions."""
    err = Console(stderr=True, highlight=False)
    shop_zone: str | None = None
    try:
        if url is not None:
            result, shop_zone = _remote_review(url, key, show)
        else:
            result = asyncio.run(_local_review(Settings(), show))
    except EventStoreLocked as exc:
        err.print(
            f"[red]error:[/red] {exc}. A running liveloop server owns it: ask it with "
            "--url http://HOST:PORT --key KEY, or stop the server."
        )
        raise typer.Exit(1) from None
    except (ReviewCliError, LiveloopError, EventStoreError, OSError) as exc:
        err.print(f"[red]error:[/red] {getattr(exc, 'message', None) or exc}")
        raise typer.Exit(1) from None
    if fmt is ReviewFormat.json:
        text = result.model_dump_json(indent=2) + "\n"
    elif fmt is ReviewFormat.csv:
        text = review_csv(result)
    else:
        text = render_review_html(result, lang.value, timezone=timezone or shop_zone or "Asia/Shanghai")
    if output is None:
        typer.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    err.print(f"review of show {show} written to {output} ({fmt.value})")
