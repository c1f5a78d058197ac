"""The command line: version, migrate, shop creation, the demo shop, and a real `serve`."""

from __future__ import annotations

import re
from pathlib import Path

import httpx2
import pytest
from typer.testing import CliRunner

from liveloop import __version__
from liveloop.cli import app
from liveloop.settings import Settings
from tests.servers import running_server

runner = CliRunner()
README = Path(__file__).resolve().parents[2] / "README.md"


def env_for(tmp_path: Path) -> dict[str, str]:
    return {"LIVELOOP_DATA_DIR": str(tmp_path), "LIVELOOP_DATABASE_URL": ""}


def test_version_and_help() -> None:
    assert runner.invoke(app, ["--version"]).output.strip() == f"liveloop {__version__}"
    help_text = runner.invoke(app, ["--help"]).output
    for command in ("serve", "migrate", "shop"):
        assert command in help_text


def test_migrate_then_create_shop_prints_a_working_key(tmp_path: Path) -> None:
    env = env_for(tmp_path)
    migrated = runner.invoke(app, ["migrate"], env=env)
    assert migrated.exit_code == 0, migrated.output
    assert "revision" in migrated.output
    created = runner.invoke(app, ["shop", "create", "新店 New Shop"], env=env)
    assert created.exit_code == 0, created.output
    key = re.search(r"llk_[0-9a-f]{16}_[\w-]{43}", created.output)
    assert key is not None


def test_ensure_demo_is_idempotent(tmp_path: Path) -> None:
    env = env_for(tmp_path)
    first = runner.invoke(app, ["shop", "ensure-demo"], env=env)
    second = runner.invoke(app, ["shop", "ensure-demo"], env=env)
    assert first.exit_code == second.exit_code == 0
    keys = [re.search(r"llk_\w+", out.output) for out in (first, second)]
    assert keys[0] is not None
    assert keys[1] is not None
    assert keys[0].group() == keys[1].group()
    assert (tmp_path / "demo-owner-key.txt").stat().st_mode & 0o777 == 0o600


def test_serve_refuses_unmigrated_postgres_style_setup(tmp_path: Path) -> None:
    result = runner.invoke(app, ["serve"], env=env_for(tmp_path) | {"LIVELOOP_AUTO_MIGRATE": "0"})
    assert result.exit_code == 1
    assert "liveloop migrate" in result.output


def test_readme_documents_every_setting() -> None:
    readme = README.read_text()
    for name in Settings.model_fields:
        assert f"`LIVELOOP_{name.upper()}`" in readme, name


@pytest.mark.slow
def test_serve_answers_health_and_openapi(tmp_path: Path) -> None:
    with running_server(tmp_path) as server:
        assert httpx2.get(f"{server.url}/healthz", timeout=5).json()["status"] == "ok"
        spec = httpx2.get(f"{server.url}/openapi.json", timeout=5).json()
        assert spec["info"]["title"] == "liveloop"
