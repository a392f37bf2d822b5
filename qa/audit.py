"""The audit log: who did what, when. Written in the same transaction as the change it records."""

from __future__ import annotations

import duckdb
import pandas as pd

from qa.access import Viewer, require
from qa.store import Store, run

ACTIONS = ("sign-in", "upload", "replace", "undo", "framework edit", "account added", "account removed", "export",
           "access refused")


def record(target: Store | duckdb.DuckDBPyConnection, who: str, action: str, detail: str = "") -> None:
    """Append one event; pass the open transaction's cursor so the event commits with the change."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action '{action}'")
    sql = "INSERT INTO audit_log VALUES (nextval('audit_seq'), current_timestamp, ?, ?, ?)"
    if isinstance(target, Store):
        with target.transaction() as cur:
            run(cur, sql, [who, action, detail])
    else:
        run(target, sql, [who, action, detail])


def events(store: Store, viewer: Viewer, limit: int | None = None) -> pd.DataFrame:
    """Newest first; evaluators only."""
    require(viewer, "evaluator")
    sql = "SELECT event_id, occurred_at, who, action, detail FROM audit_log ORDER BY event_id DESC"
    if limit:
        sql += f" LIMIT {int(limit)}"
    return store.query_df(sql)
