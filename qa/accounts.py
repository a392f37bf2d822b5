"""Accounts: which signed-in e-mail address has which role (and, for champions, which school)."""

from __future__ import annotations

import re

import pandas as pd

from qa import audit
from qa.access import ROLES, Viewer
from qa.errors import CpdqaError
from qa.store import Store, run

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class AccountError(CpdqaError, ValueError):
    """An account change that cannot be made, with the reason."""


def normalise_email(email: str) -> str:
    return email.strip().lower()


def add_account(store: Store, email: str, role: str, school_id: str | None, by: str) -> None:
    """Add or change an account. Champions must name their school; others must not."""
    email = normalise_email(email)
    if not EMAIL.match(email):
        raise AccountError(f"'{email}' is not an e-mail address")
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    school_id = (school_id or "").strip() or None
    if role == "champion" and not school_id:
        raise AccountError("a school CPD champion needs a school")
    if role != "champion" and school_id:
        raise AccountError("only champions belong to a school")
    with store.transaction() as cur:
        run(cur, """INSERT INTO accounts VALUES (?, ?, ?, ?, current_timestamp)
                    ON CONFLICT (email) DO UPDATE SET role = excluded.role, school_id = excluded.school_id,
                        added_by = excluded.added_by, added_at = excluded.added_at""",
            [email, role, school_id, by])
        audit.record(cur, by, "account added", f"{email} as {role}" + (f" of school {school_id}" if school_id else ""))


def remove_account(store: Store, email: str, by: str) -> None:
    email = normalise_email(email)
    with store.transaction() as cur:
        if not run(cur, "SELECT 1 FROM accounts WHERE email = ?", [email]):
            raise AccountError(f"there is no account for {email}")
        run(cur, "DELETE FROM accounts WHERE email = ?", [email])
        audit.record(cur, by, "account removed", email)


def list_accounts(store: Store) -> pd.DataFrame:
    return store.query_df("SELECT email, role, school_id, added_by, added_at FROM accounts ORDER BY email")


def viewer_for(store: Store, email: str | None) -> Viewer | None:
    """The viewer a signed-in address maps to, or None when it has no account."""
    if not email:
        return None
    rows = store.query_rows("SELECT role, school_id FROM accounts WHERE email = ?", [normalise_email(email)])
    if not rows:
        return None
    role, school_id = rows[0]
    return Viewer(role, email=normalise_email(email), school_id=school_id)
