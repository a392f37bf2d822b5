"""Long tables read a page at a time: the count and each page come from SQL, never the whole table.

Upload history, warnings, rows kept aside and the audit log grow with every return; at national scale
they hold tens of thousands of rows, which no page should fetch, convert and send to a browser on every
rerun. A `PagedQuery` is the query itself; the page asks it for the count and for the rows it shows,
and a download asks for everything only when clicked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from qa.store import Store


@dataclass(frozen=True)
class PagedQuery:
    store: Store
    select: str  # a SELECT without ORDER BY; parameters as $name
    order_by: str
    params: dict[str, Any] = field(default_factory=dict)

    def total(self) -> int:
        """How many rows (not cached: the audit log grows without changing any result)."""
        return int(self.store.scalar(f"SELECT count(*) FROM ({self.select}) counted", self.params))

    def page(self, number: int, size: int) -> pd.DataFrame:
        """Rows of page `number` (from 1) of `size` rows each, in order."""
        number, size = max(1, int(number)), max(1, int(size))
        return self.store.query_df(f"{self.select} ORDER BY {self.order_by} LIMIT {size} OFFSET {(number - 1) * size}",
                                   self.params)

    def all(self) -> pd.DataFrame:
        return self.store.query_df(f"{self.select} ORDER BY {self.order_by}", self.params)
