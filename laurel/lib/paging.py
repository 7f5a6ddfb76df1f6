"""Bounded pagination: lists of any size without an exact COUNT over every row.

A page counts at most ``lookahead`` rows past its own start (``COUNT(*)`` over a ``LIMIT``ed
subquery, which an index serves), so page 1 of a million-row ledger costs what page 1 of a
thousand-row one does. Past the look-ahead the total is shown as a lower bound ("1,000+").
"""

from __future__ import annotations

from django.core.paginator import Paginator

LOOKAHEAD = 1000


def bounded_count(queryset, *, offset: int = 0, lookahead: int | None = None) -> tuple[int, bool]:
    """(rows seen from the start up to ``offset + lookahead``, whether there are more)."""
    lookahead = lookahead or LOOKAHEAD
    # Only the keys: annotations a filter does not use (e.g. "undeliverable", a subquery
    # per row) are left out of the counted rows.
    # Any order counts the same rows, so none: the planner takes its cheapest path.
    ahead = queryset.values("pk").order_by()[offset : offset + lookahead + 1].count()
    return offset + min(ahead, lookahead), ahead > lookahead


class BoundedPaginator(Paginator):
    """A ``Paginator`` whose ``count`` is exact up to ``lookahead`` rows past the page asked
    for; ``more`` says the count is a lower bound. Use ``get_page``."""

    def __init__(self, object_list, per_page, *, lookahead: int | None = None, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.lookahead = max(lookahead or LOOKAHEAD, per_page)
        self.more = False

    def get_page(self, number):
        try:
            number = max(1, int(number or 1))
        except (TypeError, ValueError):
            number = 1
        number = min(number, 10**6)
        offset = (number - 1) * self.per_page
        count, more = bounded_count(self.object_list, offset=offset, lookahead=self.lookahead)
        if count <= offset and number > 1:  # past the end: the first page, as Django does
            number, offset = 1, 0
            count, more = bounded_count(self.object_list, lookahead=self.lookahead)
        self.__dict__["count"] = count  # ``count`` is a cached_property on Paginator
        self.more = more
        return self.page(number)
