"""Who may see what, enforced where the data is read (not by hiding pages).

Evaluators see everything. A school CPD champion sees only their own school's
teacher-level data. A funder sees aggregates only, with every figure computed
from fewer than `SMALL_CELL` teachers suppressed and shown as "<5".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

ROLES = ("evaluator", "champion", "funder")
SMALL_CELL = 5
SUPPRESSED = "<5"


class AccessDenied(PermissionError):
    """The viewer asked for data their role does not allow."""


@dataclass(frozen=True)
class Viewer:
    role: str
    email: str = "demo"
    school_id: str | None = None  # a champion's own school

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown role '{self.role}'")
        if self.role == "champion" and not self.school_id:
            raise ValueError("a champion must belong to a school")

    @property
    def sees_teachers(self) -> bool:
        return self.role in ("evaluator", "champion")


def school_scope(viewer: Viewer, school_id: str | None = None) -> tuple[str, ...] | None:
    """The schools a teacher-level query may read: None means all (evaluators only)."""
    if viewer.role == "evaluator":
        return (school_id,) if school_id else None
    if viewer.role == "champion":
        if school_id and school_id != viewer.school_id:
            raise AccessDenied("You can see your own school's data only.")
        return (viewer.school_id,)  # type: ignore[return-value]
    raise AccessDenied("Funders see programme-wide aggregates, not school or teacher records.")


def require(viewer: Viewer, *roles: str) -> None:
    if viewer.role not in roles:
        raise AccessDenied(f"This needs the {' or '.join(roles)} role.")


def suppress_small_cells(frame: pd.DataFrame, count_column: str = "teachers",
                         columns: list[str] | None = None) -> pd.DataFrame:
    """Replace figures from fewer than 5 teachers with '<5' (the count itself included)."""
    out = frame.copy()
    if out.empty:
        return out
    small = out[count_column] < SMALL_CELL
    targets = columns if columns is not None else [c for c in out.columns if pd.api.types.is_numeric_dtype(out[c])
                                                   or pd.api.types.is_bool_dtype(out[c])]
    for col in {*targets, count_column}:
        out[col] = out[col].astype(object)
        out.loc[small, col] = SUPPRESSED
    return out


def is_suppressed(value: object) -> bool:
    return isinstance(value, str) and value == SUPPRESSED


def numeric_or_nan(series: pd.Series) -> pd.Series:
    """Suppressed cells as NaN, for charts that must leave them out."""
    return pd.to_numeric(series.where(~series.map(is_suppressed), np.nan), errors="coerce")
