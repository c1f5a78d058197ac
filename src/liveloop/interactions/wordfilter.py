"""Sensitive-word matching: many words at once (Aho-Corasick), robust to trivial evasions.

Text and words go through the same per-character folding: NFKC (full-width -> half-width,
compatibility forms such as ① -> 1), then case-folding, then dropping every character that is not a
letter, digit or mark (spaces, punctuation, symbols and emoji, control and zero-width characters). So
``微 信``, ``微.信``, ``微❤信`` and ``ＶＸ`` all match the words ``微信`` and ``vx``. Matching is by
substring on the folded text, as is usual for Chinese; a Latin word also matches inside a longer word.

Folding one character at a time (rather than the whole string) keeps an exact map from every folded
character back to the original index it came from, so :meth:`WordFilter.find` and
:meth:`WordFilter.mask` report and mask positions of the original text.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

import ahocorasick  # type: ignore[import-not-found]  # compiled module without type stubs

__all__ = ["Match", "WordFilter", "fold_word"]

_MASK = "*"
_KEEP_CATEGORIES = frozenset("LNM")  # letters, numbers, marks; the rest separates nothing


class _Automaton(Protocol):
    """The part of ``ahocorasick.Automaton`` used here."""

    def iter(self, string: str) -> Iterator[tuple[int, str]]: ...


def _fold_char(ch: str) -> str:
    """The folded form of one character: '' (ignored), itself, or a few characters."""
    code = ord(ch)
    if code < 0x80:
        return ch.lower() if ch.isalnum() else ""
    if 0x4E00 <= code <= 0x9FFF:  # CJK unified ideographs: NFKC and case-folding leave them alone
        return ch
    folded = unicodedata.normalize("NFKC", ch).casefold()
    return "".join(c for c in folded if unicodedata.category(c)[0] in _KEEP_CATEGORIES)


def _fold(text: str) -> tuple[str, list[int]]:
    """Folded text and, for each of its characters, the index in ``text`` it came from."""
    chars: list[str] = []
    origin: list[int] = []
    for index, ch in enumerate(text):
        folded = _fold_char(ch)
        if len(folded) == 1:
            chars.append(folded)
            origin.append(index)
        elif folded:
            chars.extend(folded)
            origin.extend([index] * len(folded))
    return "".join(chars), origin


def fold_word(word: str) -> str:
    """The form a word is stored and matched in ('' when nothing of it is left)."""
    return _fold(word)[0]


@dataclass(frozen=True, slots=True)
class Match:
    """One occurrence of a listed word; ``start:end`` slices the original text (inserted separators
    included), ``word`` is the listed word in folded form."""

    word: str
    start: int
    end: int


class WordFilter:
    """An immutable matcher over one word list; build once, use from any task."""

    __slots__ = ("_automaton", "_words")

    def __init__(self, words: tuple[str, ...], automaton: _Automaton | None) -> None:
        self._words = words
        self._automaton = automaton

    @classmethod
    def build(cls, words: Iterable[str]) -> WordFilter:
        """Fold every word; words that fold to nothing are ignored, duplicates collapse."""
        folded = tuple(sorted({w for w in map(fold_word, words) if w}))
        if not folded:
            return cls((), None)
        builder = ahocorasick.Automaton(ahocorasick.STORE_ANY, ahocorasick.KEY_STRING)
        for word in folded:
            builder.add_word(word, word)
        builder.make_automaton()
        automaton: _Automaton = builder
        return cls(folded, automaton)

    @property
    def words(self) -> tuple[str, ...]:
        """The listed words in folded form, sorted."""
        return self._words

    def __len__(self) -> int:
        return len(self._words)

    def _hits(self, folded: str) -> Iterable[tuple[int, str]]:
        """(end index in the folded text, word) of every occurrence, overlapping ones included."""
        if self._automaton is None or not folded:
            return ()
        return self._automaton.iter(folded)

    def contains(self, text: str) -> bool:
        """True iff any listed word occurs in ``text`` (stops at the first)."""
        folded, _ = _fold(text)
        return any(True for _ in self._hits(folded))

    def find(self, text: str) -> list[Match]:
        """Every occurrence, by start then longest first, with positions in the original ``text``."""
        folded, origin = _fold(text)
        found = {
            Match(word=word, start=origin[end - len(word) + 1], end=origin[end] + 1)
            for end, word in self._hits(folded)
        }
        return sorted(found, key=lambda m: (m.start, -m.end, m.word))

    def mask(self, text: str) -> str:
        """``text`` with every character that is part of a match replaced by ``*``.

        Characters that were ignored inside a match (inserted spaces, punctuation) stay; the length
        and every unmatched character are unchanged.
        """
        folded, origin = _fold(text)
        masked: set[int] = set()
        for end, word in self._hits(folded):
            masked.update(origin[end - len(word) + 1 : end + 1])
        if not masked:
            return text
        return "".join(_MASK if i in masked else ch for i, ch in enumerate(text))
