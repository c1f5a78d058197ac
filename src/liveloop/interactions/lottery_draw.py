"""The verifiable draw of a comment lottery (福袋), and its verification: pure, no I/O.

Algorithm ``liveloop-lottery-v1``, exactly:

1. When the lottery opens, 32 random bytes are drawn from the OS's CSPRNG: the *seed*, written as 64
   lowercase hex digits. Its commitment ``seed_hash = sha256(seed bytes)`` (hex) is published at once
   (the ``lottery.opened`` event, the API); the seed stays secret until the draw.
2. At the draw the *eligible list* is fixed: the ids of the viewers who entered and met every rule,
   each once, sorted by Unicode code point (the same order as their UTF-8 bytes).
3. Each eligible id gets the ticket ``HMAC-SHA256(key = seed bytes, message = UTF-8 of the id)``.
4. The winners are the ``winners_count`` ids with the lowest tickets (compared as 32-byte unsigned
   big-endian numbers, i.e. bytewise; equal tickets, never seen in practice, by id), lowest first;
   everyone wins when fewer are eligible.
5. The seed, the eligible list and the winners are published (``lottery.drawn``, the proof route).

Anyone can then check ``sha256(seed) == seed_hash`` and recompute steps 3-4 from the published list
(:func:`verify_proof`, ``liveloop lottery verify``). There is no modulo and no reuse of randomness, so
every eligible viewer has the same chance. What the commitment does not prove is *who* was eligible:
the operator knows the seed before the draw, so viewers should check that they appear in the published
list (it names every eligible viewer) when they met the rules.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ALGORITHM",
    "LotteryProof",
    "ProofVerdict",
    "draw_winners",
    "new_seed",
    "parse_proof",
    "seed_hash",
    "ticket",
    "verify_proof",
]

ALGORITHM = "liveloop-lottery-v1"
SEED_BYTES = 32


def new_seed() -> str:
    """A fresh seed: 32 bytes from the OS's CSPRNG, as 64 hex digits."""
    return secrets.token_hex(SEED_BYTES)


def _seed_bytes(seed: str) -> bytes:
    if len(seed) != 2 * SEED_BYTES or seed.lower() != seed:
        raise ValueError(f"a seed is {2 * SEED_BYTES} lowercase hex digits")
    return bytes.fromhex(seed)


def seed_hash(seed: str) -> str:
    """The published commitment to ``seed``: sha256 of its 32 bytes, in hex."""
    return hashlib.sha256(_seed_bytes(seed)).hexdigest()


def ticket(seed: str, viewer_id: str) -> bytes:
    """``viewer_id``'s ticket: HMAC-SHA256 keyed with the seed's bytes; the lowest tickets win."""
    return hmac.new(_seed_bytes(seed), viewer_id.encode(), hashlib.sha256).digest()


def draw_winners(seed: str, eligible: Sequence[str], winners_count: int) -> list[str]:
    """The winners, lowest ticket first (see the module docstring)."""
    key = _seed_bytes(seed)
    ranked = sorted(set(eligible), key=lambda v: (hmac.new(key, v.encode(), hashlib.sha256).digest(), v))
    return ranked[:winners_count]


@dataclass(frozen=True, slots=True)
class LotteryProof:
    """What a drawn lottery publishes: enough to recompute its winners."""

    lottery_id: int
    seed_hash: str
    seed: str
    winners_count: int
    eligible: tuple[str, ...]
    winners: tuple[str, ...]  # viewer ids, in rank order
    algorithm: str = ALGORITHM


@dataclass(frozen=True, slots=True)
class ProofVerdict:
    """``ok``, or the ``problems`` found; ``expected`` is the recomputed winners (when computable)."""

    problems: tuple[str, ...]
    expected: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


def _strings(value: Any, what: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{what} must be a list of viewer ids")
    return tuple(value)


def parse_proof(data: Mapping[str, Any]) -> LotteryProof:
    """A proof from its JSON form (``GET /api/v1/lotteries/{id}/proof``); ValueError when malformed.

    ``winners`` may list ids or ``{"viewer_id": ..., "nickname": ...}`` objects.
    """
    try:
        winners = [w["viewer_id"] if isinstance(w, Mapping) else w for w in data["winners"]]
        proof = LotteryProof(
            lottery_id=int(data.get("lottery_id", 0)),
            seed_hash=str(data["seed_hash"]),
            seed=str(data["seed"]),
            winners_count=int(data["winners_count"]),
            eligible=_strings(data["eligible"], "eligible"),
            winners=_strings(winners, "winners"),
            algorithm=str(data.get("algorithm", ALGORITHM)),
        )
    except (KeyError, TypeError) as exc:
        raise ValueError(f"not a lottery proof: {exc!r} is missing or malformed") from None
    if data.get("seed") is None:
        raise ValueError("the proof has no seed: the lottery has not been drawn")
    return proof


def verify_proof(proof: LotteryProof) -> ProofVerdict:
    """Check the commitment and recompute the winners; every difference is named in ``problems``."""
    if proof.algorithm != ALGORITHM:
        return ProofVerdict((f"unknown algorithm {proof.algorithm!r} (this tool checks {ALGORITHM})",))
    try:
        actual_hash = seed_hash(proof.seed)
    except ValueError as exc:
        return ProofVerdict((f"seed: {exc}",))
    problems: list[str] = []
    if not hmac.compare_digest(actual_hash, proof.seed_hash.lower()):
        problems.append(
            f"seed_hash does not match the seed: sha256(seed) = {actual_hash}, published {proof.seed_hash}"
        )
    canonical = tuple(sorted(set(proof.eligible)))
    if proof.eligible != canonical:
        problems.append("the eligible list is not sorted by code point with each id once")
    if proof.winners_count < 1:
        problems.append(f"winners_count must be at least 1, published {proof.winners_count}")
    expected = tuple(draw_winners(proof.seed, canonical, max(proof.winners_count, 0)))
    published = proof.winners
    if published != expected:
        drawn, shown = set(expected), set(published)
        if missing := [w for w in expected if w not in shown]:
            problems.append(f"drawn but not published as winners: {', '.join(missing)}")
        if extra := [w for w in published if w not in drawn]:
            problems.append(f"published as winners but not drawn: {', '.join(extra)}")
        if not missing and not extra:
            problems.append(f"winners in the wrong order: expected {', '.join(expected)}")
        if len(published) != len(set(published)):
            problems.append("a winner is published twice")
    if outsiders := [w for w in published if w not in set(canonical)]:
        problems.append(f"winners not in the eligible list: {', '.join(outsiders)}")
    return ProofVerdict(tuple(problems), expected)
