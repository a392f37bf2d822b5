"""The audit log: who did what, when. Written in the same transaction as the change it records."""

from __future__ import annotations

import duckdb
import pandas as pd
import pyarrow as pa

from qa.access import Viewer, require
from qa.paging import PagedQuery
from qa.store import Store, run

ACTIONS = ("sign-in", "upload", "replace", "undo", "framework edit", "account added", "account removed", "export",
           "consent", "access refused")


def record(target: Store | duckdb.DuckDBPyConnection, who: str, action: str, detail: str = "") -> None:
    """Append one event; pass the open transaction's cursor so the event commits with the change."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action '{action}'")
    sql = "INSERT INTO audit_log VALUES (nextval('audit_seq'), current_timestamp, ?, ?, ?)"
    if isinstance(target, Store):
        with target.transaction(changes_results=False) as cur:
            run(cur, sql, [who, action, detail])
    else:
        run(target, sql, [who, action, detail])


def record_many(cur: duckdb.DuckDBPyConnection, who: str, action: str, details: list[str]) -> None:
    """Append one event per detail, in order, inside the open transaction (a batch of uploads)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action '{action}'")
    if not details:
        return
    first = run(cur, "SELECT nextval('audit_seq')")[0][0]
    cur.register("incoming_events", pa.table({"event_id": pa.array(range(first, first + len(details)), pa.int64()),
                                              "detail": pa.array(details, pa.string())}))
    try:
        run(cur, """INSERT INTO audit_log SELECT event_id, current_timestamp, ?, ?, detail FROM incoming_events""",
            [who, action])
    finally:
        cur.unregister("incoming_events")
    run(cur, f"SELECT setval('audit_seq', {first + len(details) - 1})")


def log(store: Store, viewer: Viewer, actions: tuple[str, ...] = ()) -> PagedQuery:
    """The whole log, newest first, read a page at a time; only `actions` when given. Evaluators only."""
    require(viewer, "evaluator")
    where, params = "", {}
    if actions:
        params = {f"a{i}": a for i, a in enumerate(actions)}
        where = f" WHERE action IN ({', '.join('$' + n for n in params)})"
    return PagedQuery(store, f"SELECT event_id, occurred_at, who, action, detail FROM audit_log{where}",
                      "event_id DESC", params)


def events(store: Store, viewer: Viewer, limit: int | None = None) -> pd.DataFrame:
    """Newest first; evaluators only."""
    require(viewer, "evaluator")
    sql = "SELECT event_id, occurred_at, who, action, detail FROM audit_log ORDER BY event_id DESC"
    if limit:
        sql += f" LIMIT {int(limit)}"
    return store.query_df(sql)
