"""`liveloop events export|import`: a show's events to a file and back, and a clear word when the
server owns the store."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
from typer.testing import CliRunner

from liveloop.adapters.duckdb import DuckDBEventStore
from liveloop.cli import app
from liveloop.core.events import Event
from tests.backends import duckdb_held

runner = CliRunner()


def env_for(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"LIVELOOP_DATA_DIR": str(tmp_path), "LIVELOOP_DATABASE_URL": ""} | extra


def record(tmp_path: Path, n: int) -> Path:
    path = tmp_path / "events.duckdb"
    t0 = datetime(2026, 11, 21, 12, tzinfo=UTC)

    async def run() -> None:
        store = DuckDBEventStore(path)
        await store.open()
        await store.append(
            [
                Event(type="like.batched", shop_id=1, show_id=7 if i % 2 else 8, at=t0 + timedelta(seconds=i))
                for i in range(n)
            ]
        )
        await store.close()

    asyncio.run(run())
    return path


def test_export_csv_and_parquet(tmp_path: Path) -> None:
    record(tmp_path, 10)
    out = tmp_path / "out.csv"
    result = runner.invoke(
        app, ["events", "export", "7", "--format", "csv", "--out", str(out)], env=env_for(tmp_path)
    )
    assert result.exit_code == 0, result.output
    assert "5 events of show 7" in result.output
    assert len(out.read_text().splitlines()) == 6
    parquet = tmp_path / "out.parquet"
    result = runner.invoke(app, ["events", "export", "8", "--out", str(parquet)], env=env_for(tmp_path))
    assert result.exit_code == 0, result.output
    con = duckdb.connect()
    assert con.execute(f"SELECT count(*) FROM read_parquet('{parquet}')").fetchall() == [(5,)]  # noqa: S608
    con.close()


def test_export_while_the_server_holds_the_file_says_what_to_do(tmp_path: Path) -> None:
    path = record(tmp_path, 1)
    with duckdb_held(path):
        result = runner.invoke(
            app, ["events", "export", "7", "--out", str(tmp_path / "x.parquet")], env=env_for(tmp_path)
        )
    assert result.exit_code == 1
    assert "stop the server" in result.output
    assert not (tmp_path / "x.parquet").exists()


def test_export_without_a_store(tmp_path: Path) -> None:
    result = runner.invoke(app, ["events", "export", "7"], env=env_for(tmp_path))
    assert result.exit_code == 1
    assert "no event store" in result.output
    off = runner.invoke(app, ["events", "export", "7"], env=env_for(tmp_path, LIVELOOP_EVENT_STORE="none"))
    assert off.exit_code == 1
    assert "turned off" in off.output


def test_import_restores_an_export_once_and_refuses_a_bad_file(tmp_path: Path) -> None:
    record(tmp_path, 10)
    out = tmp_path / "show7.parquet"
    assert (
        runner.invoke(app, ["events", "export", "7", "--out", str(out)], env=env_for(tmp_path)).exit_code == 0
    )
    other = tmp_path / "other"
    first = runner.invoke(app, ["events", "import", str(out)], env=env_for(other))
    assert first.exit_code == 0, first.output
    assert "5 events read" in first.output
    assert "5 imported, 0 already stored" in first.output
    again = runner.invoke(app, ["events", "import", str(out), "--format", "parquet"], env=env_for(other))
    assert again.exit_code == 0, again.output
    assert "0 imported, 5 already stored" in again.output
    csv = tmp_path / "show8.csv"
    runner.invoke(app, ["events", "export", "8", "--format", "csv", "--out", str(csv)], env=env_for(tmp_path))
    from_csv = runner.invoke(
        app, ["events", "import", str(csv)], env=env_for(other)
    )  # the format from the suffix
    assert "5 imported" in from_csv.output, from_csv.output
    bad = tmp_path / "bad.csv"
    bad.write_text("id,type\nx,like.batched\n")
    refused = runner.invoke(app, ["events", "import", str(bad)], env=env_for(other))
    assert refused.exit_code == 1
    assert "missing column(s) v, at" in refused.output
    con = duckdb.connect(str(other / "events.duckdb"), read_only=True)
    assert con.execute("SELECT show_id, count(*) FROM events GROUP BY 1 ORDER BY 1").fetchall() == [
        (7, 5),
        (8, 5),
    ]
    con.close()


def test_import_while_the_server_holds_the_file_says_what_to_do(tmp_path: Path) -> None:
    path = record(tmp_path, 2)
    out = tmp_path / "show7.parquet"
    assert (
        runner.invoke(app, ["events", "export", "7", "--out", str(out)], env=env_for(tmp_path)).exit_code == 0
    )
    with duckdb_held(path):
        result = runner.invoke(app, ["events", "import", str(out)], env=env_for(tmp_path))
    assert result.exit_code == 1
    assert "stop the server" in result.output


def test_the_known_event_versions_hold_every_event_type_declared() -> None:
    import re

    import liveloop
    from liveloop.cli_events import known_event_versions

    declared = {
        match.group(1)
        for module in Path(liveloop.__file__).parent.rglob("*.py")
        for match in re.finditer(r'^\s+TYPE(?:: ClassVar\[str\])? = "([a-z_.]+)"', module.read_text(), re.M)
    }
    versions = known_event_versions()
    assert len(declared) > 40
    assert declared <= set(versions)
    assert all(v >= 1 for v in versions.values())
