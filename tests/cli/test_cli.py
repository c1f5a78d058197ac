"""The command line: version, migrate, shop creation, the demo shop, and a real `serve`."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest
from typer.testing import CliRunner

from liveloop import __version__
from liveloop.cli import app
from liveloop.settings import Settings

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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.slow
def test_serve_answers_health_and_openapi(tmp_path: Path) -> None:
    port = _free_port()
    env = os.environ | env_for(tmp_path) | {"LIVELOOP_PORT": str(port)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "liveloop", "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx2.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx2.TransportError:
                assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        assert health.json()["status"] == "ok"
        spec = httpx2.get(f"http://127.0.0.1:{port}/openapi.json", timeout=5).json()
        assert spec["info"]["title"] == "liveloop"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout:
            proc.stdout.close()
