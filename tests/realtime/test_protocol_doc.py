"""The published protocol schema is the one the code parses with."""

from __future__ import annotations

import json
from pathlib import Path

from liveloop.realtime.protocol import CLIENT_FRAME, CloseCode, protocol_schema

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_schema_file_is_current() -> None:
    published = json.loads((DOCS / "protocol.schema.json").read_text())
    assert published == json.loads(json.dumps(protocol_schema())), (
        "docs/protocol.schema.json is stale: regenerate it from liveloop.realtime.protocol.protocol_schema()"
    )


def test_protocol_doc_names_every_frame_and_close_code() -> None:
    doc = (DOCS / "protocol.md").read_text()
    for name in protocol_schema()["client_to_server"]["discriminator"]["mapping"]:
        assert f'"type": "{name}"' in doc or f"`{name}`" in doc, name
    for code in CloseCode:
        assert str(code.value) in doc, code


def test_client_frames_reject_unknown_fields() -> None:
    assert CLIENT_FRAME.validate_python({"type": "like", "count": 3}).type == "like"
    try:
        CLIENT_FRAME.validate_python({"type": "like", "count": 3, "bonus": 1})
    except ValueError:
        pass
    else:
        raise AssertionError("unknown field accepted")
