"""A paginator that stops counting: `COUNT(*)` over a big table costs a scan.

The admin counts every list twice per page (the paginator and the "N total"
beside the search box). Counting at most `cap + 1` rows is an index-range scan of
bounded length, so the list says "10,000+" past the cap and pages stop there:
nobody reads page 201 of a queue, they filter or search.
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.utils.functional import cached_property

COUNT_CAP = 10_000
SEARCH_COUNT_CAP = 1_000


class CappedPaginator(Paginator):
    cap = COUNT_CAP

    @cached_property
    def count(self) -> int:
        found = self._capped_count()
        self.capped = found > self.cap
        return min(found, self.cap)

    def _capped_count(self) -> int:
        items = self.object_list
        if hasattr(items, "order_by"):
            # No ORDER BY for a count; the LIMIT keeps it bounded.
            return items.order_by()[: self.cap + 1].count()
        return len(items)

    capped = False

    def page(self, number: int | str):
        """A deep page by its ids first: OFFSET over the index alone (covering,
        no join), then the 50 rows by primary key. Sliced directly, PostgreSQL
        may instead sort the whole table to skip the first rows."""
        items = self.object_list
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        if bottom == 0 or not hasattr(items, "values_list"):
            return super().page(number)
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        ids = list(items.values_list("pk", flat=True)[bottom:top])
        return self._get_page(items.filter(pk__in=ids), number, self)
