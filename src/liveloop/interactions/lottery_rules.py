"""Who may win a comment lottery (福袋): a small typed list of rules, checked without I/O.

A viewer must be signed in, have entered in the window (by commenting the keyword, or through the
entry route when there is no keyword) and be present at the draw. On top, a lottery may require:

- ``{"kind": "keyword", "keyword": "想要"}``: enter by commenting a text that contains the keyword
  (matched like sensitive words: NFKC, case-folded, spaces and punctuation ignored);
- ``{"kind": "follow"}``: follows the room;
- ``{"kind": "watch_time", "minutes": 5}``: watched at least that long.

A purchase, an order, a payment or any spending is never a condition: giveaways that require one are
illegal lotteries in many markets, so such a rule is refused (``interactions.purchase_condition_forbidden``),
whatever it is called. ``member_tier`` waits for membership tiers to exist.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from liveloop.interactions.errors import (
    InvalidLotteryRule,
    LotteryRuleUnsupported,
    PurchaseConditionForbidden,
)
from liveloop.interactions.wordfilter import fold_word

__all__ = [
    "MAX_KEYWORD_LENGTH",
    "MAX_WATCH_MINUTES",
    "LotteryRules",
    "RuleKind",
    "check_rules",
    "keyword_matches",
    "refuse_purchase",
]

MAX_KEYWORD_LENGTH = 20
MAX_WATCH_MINUTES = 600
MAX_RULES = 8

# Words that make a rule (its kind or any of its fields) a purchase condition, in English and Chinese.
_PURCHASE = re.compile(
    r"purchas|order|pay|paid|buy|bought|spend|spent|cart|checkout|gmv|consum|price|amount_cents"
    r"|购买|下单|订单|付款|支付|消费|买|成交",
    re.IGNORECASE,
)
PURCHASE_MESSAGE = (
    "a lottery may not require a purchase, an order or a payment: giveaways that do are illegal lotteries "
    "in many markets. Use a comment keyword, a follow or watch time instead."
)


class RuleKind(StrEnum):
    KEYWORD = "keyword"
    FOLLOW = "follow"
    WATCH_TIME = "watch_time"
    MEMBER_TIER = "member_tier"


_FIELDS: Mapping[RuleKind, frozenset[str]] = {
    RuleKind.KEYWORD: frozenset({"kind", "keyword"}),
    RuleKind.FOLLOW: frozenset({"kind"}),
    RuleKind.WATCH_TIME: frozenset({"kind", "minutes"}),
}


@dataclass(frozen=True, slots=True)
class LotteryRules:
    """The conditions of one lottery (presence at the draw is always required)."""

    keyword: str | None = None
    require_follow: bool = False
    min_watch_minutes: int = 0

    def as_list(self) -> list[dict[str, Any]]:
        """The typed list the API and the ``lottery.opened`` event publish."""
        rules: list[dict[str, Any]] = []
        if self.keyword is not None:
            rules.append({"kind": RuleKind.KEYWORD.value, "keyword": self.keyword})
        if self.require_follow:
            rules.append({"kind": RuleKind.FOLLOW.value})
        if self.min_watch_minutes:
            rules.append({"kind": RuleKind.WATCH_TIME.value, "minutes": self.min_watch_minutes})
        return rules


def refuse_purchase(words: Iterable[str]) -> None:
    """Raise PurchaseConditionForbidden if any of ``words`` (a rule's kind and field names, a request's
    field names and values) speaks of buying, ordering, paying or spending."""
    for word in words:
        if _PURCHASE.search(word):
            raise PurchaseConditionForbidden(PURCHASE_MESSAGE, details={"condition": word[:40]})


def _kind(rule: Mapping[str, Any]) -> RuleKind:
    raw = rule.get("kind")
    if not isinstance(raw, str):
        raise InvalidLotteryRule('every rule names its "kind"')
    try:
        kind = RuleKind(raw.strip().lower())
    except ValueError:
        known = ", ".join(k.value for k in RuleKind if k is not RuleKind.MEMBER_TIER)
        raise InvalidLotteryRule(f"unknown rule {raw!r}; rules are {known}") from None
    if kind is RuleKind.MEMBER_TIER:
        raise LotteryRuleUnsupported("member tiers do not exist yet, so a lottery cannot require one")
    extra = set(rule) - _FIELDS[kind]
    if extra:
        raise InvalidLotteryRule(f"a {kind.value} rule has no field {sorted(extra)[0]!r}")
    return kind


def _keyword(value: Any) -> str:
    if not isinstance(value, str) or not 1 <= len(value.strip()) <= MAX_KEYWORD_LENGTH:
        raise InvalidLotteryRule(f"a keyword has 1 to {MAX_KEYWORD_LENGTH} characters")
    if not fold_word(value):
        raise InvalidLotteryRule("a keyword needs a letter or a digit (spaces and punctuation are ignored)")
    return value.strip()


def _minutes(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_WATCH_MINUTES:
        raise InvalidLotteryRule(f"watch_time needs whole minutes, 1 to {MAX_WATCH_MINUTES}")
    return value


def check_rules(rules: Sequence[Mapping[str, Any]]) -> LotteryRules:
    """The rules as stored; raises PurchaseConditionForbidden before any other complaint."""
    for rule in rules:
        refuse_purchase([str(rule.get("kind", "")), *map(str, rule)])
    if len(rules) > MAX_RULES:
        raise InvalidLotteryRule(f"at most {MAX_RULES} rules")
    seen: set[RuleKind] = set()
    keyword, follow, minutes = None, False, 0
    for rule in rules:
        kind = _kind(rule)
        if kind in seen:
            raise InvalidLotteryRule(f"the {kind.value} rule appears twice")
        seen.add(kind)
        if kind is RuleKind.KEYWORD:
            keyword = _keyword(rule.get("keyword"))
        elif kind is RuleKind.FOLLOW:
            follow = True
        else:
            minutes = _minutes(rule.get("minutes"))
    return LotteryRules(keyword=keyword, require_follow=follow, min_watch_minutes=minutes)


def keyword_matches(keyword: str, text: str) -> bool:
    """True iff ``text`` contains ``keyword`` once both are folded (see ``wordfilter``)."""
    folded = fold_word(keyword)
    return bool(folded) and folded in fold_word(text)
