"""The sensitive-word matcher: folding (full-width, case, separators), positions, masking."""

from __future__ import annotations

from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from liveloop.interactions import Match, WordFilter
from liveloop.interactions.wordfilter import fold_word

WORDS = ["微信", "VX", "加我", "返现"]


def test_finds_words_through_trivial_evasions() -> None:
    words = WordFilter.build(WORDS)
    for text in (
        "加微信",
        "加 微 信",
        "微.信",
        "微❤信",
        "微\u200b信",
        "ＶＸ",
        "v x",
        "Vx",
        "ｖ－ｘ",
        "加　我",
    ):
        assert words.contains(text), text
    assert not words.contains("微博 信用")


def test_positions_are_those_of_the_original_text() -> None:
    words = WordFilter.build(WORDS)
    text = "主播好！ 加 微.信 ＶＸ123"
    assert words.find(text) == [
        Match(word="微信", start=7, end=10),
        Match(word="vx", start=11, end=13),
    ]
    assert text[7:10] == "微.信"
    assert words.mask(text) == "主播好！ 加 *.* **123"


def test_overlapping_and_nested_matches_are_all_masked() -> None:
    words = WordFilter.build(["微信", "信用卡", "信用"])
    assert [(m.word, m.start, m.end) for m in words.find("微信用卡")] == [
        ("微信", 0, 2),
        ("信用卡", 1, 4),
        ("信用", 1, 3),
    ]
    assert words.mask("微信用卡!") == "****!"


def test_expanding_characters_map_back_to_one_position() -> None:
    words = WordFilter.build(["株式会社", "ss"])
    assert words.find("㍿") == [Match(word="株式会社", start=0, end=1)]
    assert words.mask("a㍿ß") == "a**"


def test_empty_and_unfoldable_lists_match_nothing() -> None:
    assert WordFilter.build([]).find("anything") == []
    ignored = WordFilter.build(["!!!", "  ", "🙂"])
    assert len(ignored) == 0
    assert ignored.mask("!!! 🙂") == "!!! 🙂"


def test_fold_word() -> None:
    assert fold_word(" Ｈｅｌｌｏ，世界！") == "hello世界"
    assert fold_word("①号链接") == "1号链接"
    assert fold_word("...") == ""


# -- properties ----------------------------------------------------------------------------------

word_chars = st.sampled_from("微信加我好评返现红包链接abcdxyzABCXYZ0123")
words_strategy = st.lists(st.text(word_chars, min_size=1, max_size=6), min_size=1, max_size=8)
separators = st.sampled_from([" ", "\u3000", ".", "。", "*", "-", "❤", "\u200b", "!", "_", "\t"])


def _full_width(ch: str) -> str:
    return chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch


@st.composite
def disguised(draw: st.DrawFn, word: str) -> str:
    """``word`` with its ASCII in random case or full width and separators between characters."""
    out = []
    for index, ch in enumerate(word):
        if index:
            out.append("".join(draw(st.lists(separators, max_size=3))))
        if draw(st.booleans()):
            ch = ch.swapcase()
        if draw(st.booleans()):
            ch = _full_width(ch)
        out.append(ch)
    return "".join(out)


@hypothesis_settings(max_examples=300, deadline=None)
@given(words=words_strategy, text=st.text(max_size=60))
def test_mask_keeps_length_and_every_unmatched_character(words: list[str], text: str) -> None:
    matcher = WordFilter.build(words)
    masked = matcher.mask(text)
    assert len(masked) == len(text)
    spans = [range(m.start, m.end) for m in matcher.find(text)]
    for index, (before, after) in enumerate(zip(text, masked, strict=True)):
        if before != after:
            assert after == "*"
            assert any(index in span for span in spans)
    if not spans:
        assert masked == text


@hypothesis_settings(max_examples=300, deadline=None)
@given(data=st.data(), words=words_strategy, prefix=st.text(max_size=20), suffix=st.text(max_size=20))
def test_every_listed_word_is_found_however_disguised(
    data: st.DataObject, words: list[str], prefix: str, suffix: str
) -> None:
    matcher = WordFilter.build(words)
    word = data.draw(st.sampled_from(words))
    text = prefix + data.draw(disguised(word)) + suffix
    assert fold_word(word) in {m.word for m in matcher.find(text)}
    masked = matcher.mask(text)
    core = masked[len(prefix) : len(masked) - len(suffix)]
    assert all(ch == "*" or not fold_word(ch) for ch in core)
