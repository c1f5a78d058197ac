"""What one node adds to a show's global live metrics since its last flush."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["ShowDelta"]


@dataclass(slots=True)
class ShowDelta:
    """Increments of ``:sums`` fields, new members of distinct sets, new explain segments.

    Field and set names are those of :mod:`liveloop.analytics.live_keys`. Writing a delta twice
    would count its sums twice, so a failed write keeps only the parts not yet written
    (:meth:`merge` folds them into the next delta).
    """

    sums: dict[str, int] = field(default_factory=dict)
    distinct: dict[str, list[str]] = field(default_factory=dict)
    explain: dict[str, int] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.sums or self.distinct or self.explain)

    def merge(self, later: ShowDelta) -> ShowDelta:
        """This delta followed by ``later``, as one (``self`` is updated and returned)."""
        sums = self.sums
        for name, amount in later.sums.items():
            sums[name] = sums.get(name, 0) + amount
        for name, members in later.distinct.items():
            self.distinct.setdefault(name, []).extend(members)
        self.explain.update(later.explain)
        return self
