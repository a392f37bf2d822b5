"""Long tables read a page at a time: the count and each page come from SQL, never the whole table.

Upload history, warnings, rows kept aside and the audit log grow with every return; at national scale
they hold tens of thousands of rows, which no page should fetch, convert and send to a browser on every
rerun. A `PagedQuery` is the query itself; the page asks it for the count and for the rows it shows,
and a download asks for everything only when clicked.
"""

from __future__ import annotations

from collections.abc import Callable
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
    # Columns worked out for the rows fetched only (e.g. per-upload figures from the activities),
    # so a page costs what its rows cost, not what the whole table would.
    decorate: Callable[[pd.DataFrame], pd.DataFrame] | None = None

    def _finish(self, frame: pd.DataFrame) -> pd.DataFrame:
        return self.decorate(frame) if self.decorate else frame

    def total(self) -> int:
        """How many rows (not cached: the audit log grows without changing any result)."""
        return int(self.store.scalar(f"SELECT count(*) FROM ({self.select}) counted", self.params))

    def page(self, number: int, size: int) -> pd.DataFrame:
        """Rows of page `number` (from 1) of `size` rows each, in order."""
        number, size = max(1, int(number)), max(1, int(size))
        return self._finish(self.store.query_df(
            f"{self.select} ORDER BY {self.order_by} LIMIT {size} OFFSET {(number - 1) * size}", self.params))

    def all(self) -> pd.DataFrame:
        return self._finish(self.store.query_df(f"{self.select} ORDER BY {self.order_by}", self.params))
