"""The evaluator's termly round: which returns are in, missing or need fixing, and who is at risk.

Every function here is for evaluators only (AccessDenied otherwise): the answers name schools,
uploads and staff codes across the whole programme. Figures come from set-based SQL over the
store (one statement per question, grouped by school and term) and from the engine's cached
teacher results, and are cached per data version, so a national programme (2,000 schools,
100,000 teachers) costs what its aggregates cost, not its rows.

A row kept aside (quarantined) was never stored as an activity, so its school and term are read
from the row itself, as the school wrote it (school, academic year, term, else the date), and
otherwise from its upload when that upload covers one school or one term only. Rows whose term
cannot be told are still counted, against the school with the term left blank.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

import pandas as pd

from qa import engine, schema, validate, views
from qa.access import Viewer, require
from qa.framework import Framework
from qa.labels import STATUSES
from qa.paging import PagedQuery
from qa.returns import upload_history as _all_uploads
from qa.store import Store
from qa.views import _in_clause

AT_RISK = ("at_risk", "not_met")  # the engine's statuses of a teacher short of the criteria
RECEIVED, MISSING, NOT_STARTED = "received", "missing", "not started"
REPEATED_ROWS = ""  # the warning kind of a repeated row (it is about no one column)
# outcome of an upload -> the SQL that picks it out of `uploads u` (history filter)
UPLOAD_KINDS = {
    "counting": ("Counting", "u.status = 'active' AND EXISTS (SELECT 1 FROM activities a WHERE "
                             "a.upload_id = u.upload_id AND a.superseded_by IS NULL)"),
    "replaced": ("Replaced by a later return", "u.status = 'active' AND u.rows_accepted > 0 AND NOT EXISTS "
                 "(SELECT 1 FROM activities a WHERE a.upload_id = u.upload_id AND a.superseded_by IS NULL)"),
    "undone": ("Undone", "u.status = 'undone'"),
    "kept_aside": ("Some rows kept aside", "u.rows_quarantined > 0"),
    "warnings": ("With warnings", "u.warnings > 0"),
}
RAW_COLUMNS = schema.ACTIVITY_COLUMN_NAMES  # the keys of a kept-aside row's raw_row JSON


def _json(column: str) -> str:
    return f"nullif(trim(json_extract_string(k.raw_row, '$.{column}')), '')"


def _placed_kept_aside_sql() -> str:
    """Each kept-aside row of an active upload, once (a row with two bad cells has two quarantine entries),
    with the school, academic year and term it belongs to (see the module docstring)."""
    day = f"TRY_CAST({_json('activity_date')} AS DATE)"
    return f"""
    kept AS (
        SELECT q.upload_id, q.sheet, q.row_number, any_value(q.raw_row) AS raw_row,
               string_agg(q.reason, '; ' ORDER BY q.reason) AS reason,
               string_agg(DISTINCT q.column_name, ', ') AS column_name
        FROM quarantine q JOIN uploads u ON u.upload_id = q.upload_id
        WHERE u.status = 'active' GROUP BY q.upload_id, q.sheet, q.row_number),
    single AS (
        SELECT upload_id,
               CASE WHEN count(DISTINCT school_id) = 1 THEN min(school_id) END AS school_id,
               CASE WHEN count(DISTINCT academic_year) = 1 THEN min(academic_year) END AS academic_year,
               CASE WHEN count(DISTINCT (academic_year, term)) = 1 THEN min(term) END AS term
        FROM upload_scope GROUP BY upload_id),
    placed AS (
        SELECT k.upload_id, k.sheet, k.row_number, k.raw_row, k.reason, k.column_name,
               {_json('teacher_id')} AS raw_teacher,
               coalesce({_json('school_id')}, s.school_id) AS school_id,
               coalesce({validate.academic_year_value(_json('academic_year'))}, {validate.year_of(day)},
                        s.academic_year) AS academic_year,
               coalesce({validate.term_value(_json('term'))}, {validate.term_of(day)}, s.term) AS term
        FROM kept k LEFT JOIN single s ON s.upload_id = k.upload_id)"""


# ------------------------------------------------------------------------------------------- the grid

@dataclass
class TermlyRound:
    year: str
    terms: list[str]  # the terms shown: the year's, up to the term chosen
    # one row per school and term; state received | missing | not started, and a row with no term (state "")
    # for a school's rows kept aside whose term could not be told
    grid: pd.DataFrame
    chase_up: pd.DataFrame  # school_id, name, term, to_do: one line per thing to chase


def termly_round(store: Store, viewer: Viewer, framework: Framework, year: str, as_of: dt.date | None = None,
                 through_term: str | None = None) -> TermlyRound:
    """Schools × terms of `year`: the return received (uploads and date), rows kept aside that still need
    fixing, warnings on rows that count, teachers at risk at the end of the term, and missing returns."""
    require(viewer, "evaluator")
    as_of = as_of or dt.date.today()
    return store.cached(("termly round", framework.model_dump_json(), year, as_of, through_term),
                        lambda: _termly_round(store, viewer, framework, year, as_of, through_term))


def _termly_round(store: Store, viewer: Viewer, framework: Framework, year: str, as_of: dt.date,
                  through_term: str | None) -> TermlyRound:
    cap = schema.term_index(through_term) if through_term else len(schema.TERMS)
    terms = list(schema.TERMS[:cap])
    begun = schema.terms_started(year, as_of)
    schools = store.schools()[["school_id", "name"]]
    params = {"year": year}
    received = store.query_df("""
        SELECT a.school_id, a.term, list(DISTINCT a.upload_id ORDER BY a.upload_id) AS uploads,
               CAST(max(u.uploaded_at) AS DATE) AS received_on
        FROM active_activities a JOIN uploads u ON u.upload_id = a.upload_id
        WHERE a.academic_year = $year GROUP BY a.school_id, a.term""", params)
    warnings = store.query_df("""
        SELECT a.school_id, a.term, count(*) AS warnings
        FROM upload_warnings w JOIN active_activities a
          ON a.upload_id = w.upload_id AND a.source_sheet = w.sheet AND a.source_row = w.row_number
        WHERE a.academic_year = $year GROUP BY a.school_id, a.term""", params)
    # rows kept aside still to fix: a later return covering the same teacher (or whole school) and term settles them
    kept = store.query_df(f"""
        WITH {_placed_kept_aside_sql()}
        SELECT p.school_id, p.term, count(*) AS kept_aside,
               list(DISTINCT p.upload_id ORDER BY p.upload_id) AS kept_uploads
        FROM placed p
        WHERE (p.academic_year = $year OR (p.academic_year IS NULL AND EXISTS (
                   SELECT 1 FROM upload_scope s WHERE s.upload_id = p.upload_id AND s.academic_year = $year)))
          AND NOT EXISTS (
            SELECT 1 FROM upload_scope s JOIN uploads u ON u.upload_id = s.upload_id
            WHERE u.status = 'active' AND s.upload_id > p.upload_id AND s.school_id = p.school_id
              AND s.academic_year = p.academic_year AND s.term = p.term
              AND (s.teacher_id IS NULL OR s.teacher_id = p.raw_teacher))
        GROUP BY p.school_id, p.term""", params)
    missing = views.missing_returns(store, viewer, as_of, through_term=through_term)
    missing = missing[missing["academic_year"] == year].assign(missing=True)[["school_id", "term", "missing"]]
    at_risk = []
    for term in terms[:begun]:
        teachers = engine.teacher_results(store, framework, engine.Filters(year=year, through_term=term,
                                                                           as_of=as_of))
        short = teachers[teachers["status"].isin(AT_RISK)]
        at_risk.append(short.groupby("school_id").size().rename("at_risk").reset_index().assign(term=term))
    risk = pd.concat(at_risk) if at_risk else pd.DataFrame(columns=["school_id", "at_risk", "term"])

    # every school ever seen (a school with no Schools row included) and anyone placed by a kept-aside row
    ids = pd.concat([schools["school_id"], kept["school_id"].dropna()]).drop_duplicates()
    grid = pd.DataFrame({"school_id": ids}).merge(pd.DataFrame({"term": [*terms, None]}), how="cross")
    for frame in (received, warnings, kept, missing, risk):
        grid = grid.merge(frame, on=["school_id", "term"], how="left")
    grid = grid.merge(schools, on="school_id", how="left")
    grid["name"] = grid["name"].fillna(grid["school_id"])
    started = grid["term"].map(lambda t: isinstance(t, str) and schema.term_index(t) <= begun)
    grid["uploads"] = grid["uploads"].map(_upload_ids)
    # missing: begun with no return (views.missing_returns); a school seen only in rows kept aside, likewise
    grid["state"] = ["" if not isinstance(t, str) else RECEIVED if ups else MISSING if m is True or s else NOT_STARTED
                     for t, ups, m, s in zip(grid["term"], grid["uploads"], grid["missing"], started, strict=True)]
    for col in ("warnings", "kept_aside"):
        grid[col] = grid[col].fillna(0).astype("int64")
    grid["at_risk"] = grid["at_risk"].fillna(0).astype("Int64").where(started)
    grid["kept_uploads"] = grid["kept_uploads"].map(_upload_ids)
    # the blank-term row exists only for kept-aside rows whose term could not be told
    grid = grid[grid["term"].notna() | (grid["kept_aside"] > 0)].copy()
    grid["order"] = grid["term"].map(lambda t: schema.term_index(t) if isinstance(t, str) else 9)
    grid = grid.sort_values(["school_id", "order"]).reset_index(drop=True)
    grid = grid[["school_id", "name", "term", "state", "uploads", "received_on", "kept_aside", "kept_uploads",
                 "warnings", "at_risk"]]
    return TermlyRound(year, terms, grid, _chase_up(store, grid, year))


def _upload_ids(value: object) -> tuple[int, ...]:
    if isinstance(value, str) or value is None or not hasattr(value, "__len__"):
        return ()
    return tuple(int(v) for v in value)


def uploads_text(ids: tuple[int, ...]) -> str:
    """'#3', '#3, #7' or '#3, #7, #9 and 12 more': which uploads, short enough for a cell."""
    shown = ", ".join(f"#{u}" for u in ids[:3])
    return shown + (f" and {len(ids) - 3} more" if len(ids) > 3 else "")


def _chase_up(store: Store, grid: pd.DataFrame, year: str) -> pd.DataFrame:
    """What to ask each school for, in plain English: missing returns, rows to correct, warnings to check."""
    files = dict(store.query_rows("SELECT upload_id, file_name FROM uploads WHERE upload_id IN "
                                  "(SELECT DISTINCT upload_id FROM quarantine)")) if grid["kept_aside"].any() else {}
    lines = []
    for r in grid.itertuples():
        when = f"{r.term} {year}" if isinstance(r.term, str) else f"{year}, term not known"
        if r.state == MISSING:
            lines.append((r.school_id, r.name, r.term, f"No return for {when} yet: please send it."))
        if r.kept_aside:
            sources = "; ".join(f"upload #{u}, {files.get(u, '')}" for u in r.kept_uploads)
            rows = "1 row was" if r.kept_aside == 1 else f"{r.kept_aside} rows were"
            lines.append((r.school_id, r.name, r.term,
                          f"{rows} kept aside in {when} ({sources}): please correct and send "
                          f"{'it' if r.kept_aside == 1 else 'them'} again."))
        if r.warnings:
            lines.append((r.school_id, r.name, r.term,
                          f"{r.warnings} warning{'s' if r.warnings != 1 else ''} to check in {when} "
                          f"({uploads_text(r.uploads)})."))
    return pd.DataFrame(lines, columns=["school_id", "name", "term", "to_do"])


def at_risk_teachers(store: Store, viewer: Viewer, framework: Framework, year: str, as_of: dt.date | None = None,
                     through_term: str | None = None) -> pd.DataFrame:
    """Every teacher in the programme short of the criteria for `year` to the end of `through_term`:
    needing support (year in progress) or not meeting them (year over). Evaluators only."""
    require(viewer, "evaluator")
    as_of = as_of or dt.date.today()

    def compute() -> pd.DataFrame:
        teachers = engine.teacher_results(store, framework, engine.Filters(year=year, through_term=through_term,
                                                                           as_of=as_of))
        short = teachers[teachers["status"].isin(AT_RISK)].merge(
            store.schools()[["school_id", "name"]], on="school_id", how="left")
        short["name"] = short["name"].fillna(short["school_id"])
        short["status"] = short["status"].map(STATUSES)
        return short[["school_id", "name", "teacher_id", "status", "counted_hours", "explanation"]].reset_index(
            drop=True)

    return store.cached(("at risk", framework.model_dump_json(), year, as_of, through_term), compute)


# ------------------------------------------------------------------------------------ filtered lists

def _school_year(alias: str, school_id: str | None, year: str | None) -> tuple[list[str], dict]:
    """Conditions (and their parameters) on `alias`.school_id and `alias`.academic_year, for those given."""
    where, params = [], {}
    if school_id:
        where.append(f"{alias}.school_id = $school")
        params["school"] = school_id
    if year:
        where.append(f"{alias}.academic_year = $year")
        params["year"] = year
    return where, params


def kept_aside(store: Store, viewer: Viewer, school_id: str | None = None, year: str | None = None) -> PagedQuery:
    """Rows kept aside by active uploads, each whole as the school wrote it (every cell of the row), with
    why; only those placed in `school_id` and `year` when given. Evaluators only."""
    require(viewer, "evaluator")
    where, params = _school_year("p", school_id, year)
    cells = ", ".join(f"json_extract_string(p.raw_row, '$.{c}') AS {c}" for c in RAW_COLUMNS)
    return PagedQuery(store, f"""
        WITH {_placed_kept_aside_sql()}
        SELECT p.upload_id, u.file_name, p.sheet, p.row_number, p.reason, p.column_name, {cells}
        FROM placed p JOIN uploads u ON u.upload_id = p.upload_id WHERE {' AND '.join(['TRUE', *where])}""",
                      "upload_id, sheet, row_number", params, decorate=_cell_names)


def _cell_names(page: pd.DataFrame) -> pd.DataFrame:
    """Which cells were wrong, named as on the template ('Hours', not 'hours')."""
    page = page.copy()
    page["column_name"] = page["column_name"].map(  # a warning about a whole row has no cell: blank, not "None"
        lambda v: ", ".join(schema.column_label(c.strip()) for c in v.split(",")) if isinstance(v, str) else "")
    return page


def warning_kinds(store: Store, viewer: Viewer) -> dict[str, str]:
    """Kinds of warning on active uploads (what each is about) -> plain-English name, for the filter: a kind
    found only in an undone upload would offer a choice that shows nothing."""
    require(viewer, "evaluator")
    found = [r[0] for r in store.query_rows(
        """SELECT DISTINCT coalesce(w.column_name, '') FROM upload_warnings w
           JOIN uploads u ON u.upload_id = w.upload_id WHERE u.status = 'active' ORDER BY 1""")]
    return {k: schema.column_label(k) if k else "Repeated rows" for k in found}


def warnings(store: Store, viewer: Viewer, school_id: str | None = None, year: str | None = None,
             kinds: tuple[str, ...] = ()) -> PagedQuery:
    """Warnings of active uploads; only those on rows of `school_id` / `year`, and of `kinds`, when given."""
    require(viewer, "evaluator")
    where, params = ["u.status = 'active'"], {}
    if kinds:
        clause, names = _in_clause("k", kinds, "coalesce(w.column_name, '')")
        where.append(clause)
        params |= names
    row, placed = _school_year("a", school_id, year)
    if row:
        row += ["a.upload_id = w.upload_id", "a.source_sheet = w.sheet", "a.source_row = w.row_number"]
        where.append(f"EXISTS (SELECT 1 FROM activities a WHERE {' AND '.join(row)})")
        params |= placed
    return PagedQuery(store, f"""
        SELECT w.upload_id, u.file_name, w.sheet, w.row_number, w.column_name, w.value, w.message
        FROM upload_warnings w JOIN uploads u ON u.upload_id = w.upload_id WHERE {' AND '.join(where)}""",
                      "upload_id, sheet, row_number", params, decorate=_cell_names)


def upload_history(store: Store, viewer: Viewer, school_id: str | None = None, year: str | None = None,
                   kinds: tuple[str, ...] = ()) -> PagedQuery:
    """The upload history (newest first, as `returns.upload_history`), only uploads covering `school_id` and
    `year`, and of any of `kinds` (keys of UPLOAD_KINDS), when given."""
    require(viewer, "evaluator")
    base = _all_uploads(store)
    where = []
    scope, params = _school_year("s", school_id, year)
    if scope:
        where.append(f"EXISTS (SELECT 1 FROM upload_scope s WHERE s.upload_id = u.upload_id AND "
                     f"{' AND '.join(scope)})")
    if kinds:
        where.append("(" + " OR ".join(f"({UPLOAD_KINDS[k][1]})" for k in kinds) + ")")
    if not where:
        return base
    return dataclasses.replace(base, select=f"SELECT u.* FROM ({base.select}) u WHERE {' AND '.join(where)}",
                               params={**base.params, **params})
