"""Who may see what, enforced where the data is read (not by hiding pages).

Evaluators see everything. A school CPD champion sees only their own school's
teacher-level data. A funder sees aggregates only, released through
`qa.disclosure` (primary and secondary small-cell suppression).
"""

from __future__ import annotations

from dataclasses import dataclass

ROLES = ("evaluator", "champion", "funder")


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
