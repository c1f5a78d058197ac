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
    assert {
        "echarts.min.js",
        "livekit-client.umd.js",
        "LICENSE-livekit",
        "AgoraRTC_N-production.js",
        "LICENSE-agora",
        "LICENSE-agora-bundled",
    } <= set(listed)
    assert set(listed) == on_disk
    for name, digest in listed.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name


# Each build states its own version; how it spells it in the minified code.
VERSION_MARKS = {
    "echarts.min.js": 't.version="{}"',
    "livekit-client.umd.js": 'const Vo="{}";',
    "AgoraRTC_N-production.js": "AgoraWebSDK_N-v{}-",
    "LICENSE-agora": "agora-rtc-sdk-ng {} (",
    "LICENSE-agora-bundled": "(agora-rtc-sdk-ng {})",
}


def test_each_vendored_build_is_the_version_its_readme_names() -> None:
    readme = (VENDOR / "README.md").read_text()
    for name, mark in VERSION_MARKS.items():
        version = re.search(rf"\| {re.escape(name)} \|[^|]*\| ([0-9.]+) \|", readme)
        assert version is not None, name
        assert mark.format(version.group(1)) in (VENDOR / name).read_text(), name


def test_every_vendored_library_ships_with_its_licence() -> None:
    assert "Apache License" in (VENDOR / "LICENSE").read_text()
    assert "Apache License" in (VENDOR / "LICENSE-livekit").read_text()
    bundled = (VENDOR / "LICENSE-livekit-bundled").read_text()
    for package in (
        "events",
        "jose",
        "loglevel",
        "machina",
        "sdp-transform",
        "sdp",
        "webrtc-adapter",
        "tslib",
    ):
        assert re.search(rf"^{re.escape(package)} [0-9.]+ \((MIT|BSD-3-Clause|0BSD)\)$", bundled, re.M), (
            package
        )


def test_the_agora_build_ships_with_its_licence_and_those_of_what_it_bundles() -> None:
    agora = (VENDOR / "LICENSE-agora").read_text()
    assert '"license": "MIT"' in agora
    assert "Permission is hereby granted, free of charge" in agora
    # The copyright line is the one in the build's own header.
    assert "Copyright AgoraInc." in (VENDOR / "AgoraRTC_N-production.js").read_text()[:200]
    bundled = (VENDOR / "LICENSE-agora-bundled").read_text()
    for package, licence in (
        ("axios", "MIT"),
        ("core-js", "MIT"),
        ("ua-parser-js", "MIT"),
        ("pako", "MIT AND Zlib"),
        ("formdata-polyfill", "MIT"),
        ("uuid", "MIT"),
        ("sdp", "MIT"),
        ("webrtc-adapter", "BSD-3-Clause"),
        ("agora-rte-extension-ng", "MIT"),
        ("agora-rte-extension", "ISC"),
        ("@bufbuild/protobuf", "Apache-2.0 AND BSD-3-Clause"),
    ):
        assert re.search(rf"^{re.escape(package)} [0-9.]+ \({re.escape(licence)}\)$", bundled, re.M), package
    # ua-parser-js moved to the AGPL in 2.x: the bundled one must be of the MIT 0.7 line, as stated.
    assert 'VERSION="0.7.' in (VENDOR / "AgoraRTC_N-production.js").read_text()


def test_no_page_or_stylesheet_loads_anything_from_another_host() -> None:
    external = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//|@import|url\(\s*["']?(?:https?:)?//""")
    checked = [*WEB.joinpath("templates").rglob("*.html"), *WEB.joinpath("static").glob("*.css")]
    assert any(p.name == "show.html" for p in checked)
    for path in checked:
        assert not external.search(path.read_text()), path
