"""Vendored front-end files: each matches the sha256 its README names, and no page loads from a CDN."""

from __future__ import annotations

import hashlib
import re
from importlib.resources import files
from pathlib import Path

WEB = Path(str(files("liveloop.web")))
VENDOR = WEB / "static" / "vendor"
ROW = re.compile(r"^\|\s*([\w.-]+)\s*\|.*\|\s*([0-9a-f]{64})\s*\|$")


def test_every_vendored_file_matches_the_sha256_in_its_readme() -> None:
    listed = {}
    for line in (VENDOR / "README.md").read_text().splitlines():
        match = ROW.match(line.strip())
        if match:
            listed[match.group(1)] = match.group(2)
    on_disk = {p.name for p in VENDOR.iterdir() if p.is_file() and p.name != "README.md"}
    assert "echarts.min.js" in listed
    assert set(listed) == on_disk
    for name, digest in listed.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name
    # The build is the version the README names (the library states its own version).
    version = re.search(r"\| echarts\.min\.js \|[^|]*\| ([0-9.]+) \|", (VENDOR / "README.md").read_text())
    assert version is not None
    assert f't.version="{version.group(1)}"' in (VENDOR / "echarts.min.js").read_text()


def test_no_page_or_stylesheet_loads_anything_from_another_host() -> None:
    external = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//|@import|url\(\s*["']?(?:https?:)?//""")
    checked = [*WEB.joinpath("templates").rglob("*.html"), *WEB.joinpath("static").glob("*.css")]
    assert any(p.name == "show.html" for p in checked)
    for path in checked:
        assert not external.search(path.read_text()), path
