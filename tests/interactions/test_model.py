"""Pure rules: comment text, viewer ids, which token buckets a comment passes."""

from __future__ import annotations

import pytest

from liveloop.core.errors import LiveloopError
from liveloop.interactions.model import (
    BucketKind,
    CommentPolicy,
    check_comment_text,
    check_viewer_id,
    check_words,
    comment_buckets,
)


def kinds(policy: CommentPolicy) -> list[BucketKind]:
    return [b.kind for b in comment_buckets(policy)]


def test_buckets() -> None:
    assert kinds(CommentPolicy()) == [BucketKind.USER_RATE]
    slow = comment_buckets(CommentPolicy(slow_mode_seconds=5))
    assert [(b.kind, b.rate_per_second, b.burst) for b in slow] == [(BucketKind.SLOW_MODE, 0.2, 1)]
    # Slow mode looser than the per-user rate: both apply.
    assert kinds(CommentPolicy(slow_mode_seconds=1, rate_per_second=0.5)) == [
        BucketKind.SLOW_MODE,
        BucketKind.USER_RATE,
    ]


def test_comment_text() -> None:
    assert check_comment_text(" 你好\n", max_length=2) == "你好"
    assert check_comment_text("👍🏻", max_length=2) == "👍🏻"
    for text, code in (
        ("", "interactions.comment_empty"),
        ("你好吗", "interactions.comment_too_long"),
        ("a\x00", "interactions.comment_invalid"),
        ("a\ud800", "interactions.comment_invalid"),
    ):
        with pytest.raises(LiveloopError) as caught:
            check_comment_text(text, max_length=2)
        assert caught.value.code == code


@pytest.mark.parametrize("viewer_id", ["u:alice", "u:" + "x" * 64, "d:设备1", "d:a b"])
def test_valid_viewer_ids(viewer_id: str) -> None:
    assert check_viewer_id(viewer_id) == viewer_id


@pytest.mark.parametrize("viewer_id", ["", "alice", "u:", "u:a b", "u:设备", "x:a", "d:\n", "d:" + "x" * 65])
def test_invalid_viewer_ids(viewer_id: str) -> None:
    with pytest.raises(LiveloopError, match="viewer_id"):
        check_viewer_id(viewer_id)


def test_words_fold_and_deduplicate() -> None:
    assert check_words(["ＶＸ", "vx", "微 信", "微信"]) == ["vx", "微信"]
