"""The assessment engine: framework rules compiled to one SQL query per level.

Metrics are defined once here as SQL over `active_activities`; a framework
chooses which metrics it judges, with which comparator and threshold. Whole
databases are evaluated in a single statement per level; there are no per-row
Python loops. Every failed or at-risk result carries an explanation naming the
rule, the figure, the threshold and the source.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from qa import schema
from qa.framework import (
    HOUR_METRICS,
    INSUFFICIENT_EVIDENCE,
    KITEMARK_FRAMEWORK,
    SCHOOL_METRICS,
    TEACHER_METRICS,
    Framework,
    FrameworkError,
    LevelRule,
    Rule,
    is_share_metric,
    load_framework,
)
from qa.labels import COMPARATORS
from qa.store import Store, fetch_df, run

LEVELS = ("teacher", "school", "provider", "programme")

# Results stored in the database are keyed by the code that computed them too: a new release
# that computes a level differently never reads a result the old one stored.
CODE_VERSION = hashlib.sha256(b"".join(Path(__file__).with_name(name).read_bytes() for name in (
    "engine.py", "framework.py", "schema.py", "labels.py", "store.py"))).hexdigest()


@dataclass(frozen=True)
class Filters:
    """What to assess. `schools=None` means every school; an empty tuple means none."""

    year: str | None = None
    through_term: str | None = None  # "Autumn" | "Spring" | "Summer": the year to date
    as_of: dt.date = field(default_factory=dt.date.today)
    schools: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.year is not None and schema.normalise_academic_year(self.year) != self.year:
            raise ValueError(f"academic year must look like 2019/20; got '{self.year}'")
        if self.through_term is not None and self.through_term not in schema.TERMS:
            raise ValueError(f"term must be one of {', '.join(schema.TERMS)}; got '{self.through_term}'")


# --------------------------------------------------------------------------- SQL pieces

def rule_column(rule: Rule) -> str:
    """The result column of a rule: its id, unless that id names a metric column (DfE's 'quality_share')."""
    taken = TEACHER_METRICS | SCHOOL_METRICS | {"teacher_id", "school_id", "academic_year", "status", "explanation"}
    return f"meets_{rule.id}" if rule.id in taken else rule.id


def _figure_sql(metric: str, expr: str) -> str:
    """Readable figure for explanations: '34.5 h', '48%' or 'yes'/'no'."""
    if metric in {"leadership_prioritised", "quality_mark_held"}:
        return f"(CASE WHEN {expr} THEN 'yes' ELSE 'no' END)"
    if is_share_metric(metric):
        return f"(CAST(ROUND(100 * {expr}, 1) AS VARCHAR) || '%')"
    if metric in HOUR_METRICS or metric.endswith("hours"):
        return f"(CAST(ROUND({expr}, 2) AS VARCHAR) || ' h')"
    return f"CAST({expr} AS VARCHAR)"


# The term a year-to-date judgement runs to, for "23.3 h expected by the end of Spring".
_TERM_NAME = ("(CASE terms_elapsed " + " ".join(f"WHEN {i} THEN '{t}'" for i, t in enumerate(schema.TERMS, 1))
              + " ELSE 'the year' END)")


def _literal(value: float | bool) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    return repr(float(value))


def _compare_sql(metric_expr: str, comparator: str, threshold_expr: str, boolean: bool) -> str:
    if boolean:
        return f"(COALESCE({metric_expr}, FALSE) = {threshold_expr})"
    # Round both sides so 35.000000001 == 35 and 34.99 stays short of it.
    return f"(ROUND({metric_expr}, 6) {comparator} ROUND({threshold_expr}, 6))"


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# Per teacher, programme and each term in which it has activities (in every year and school chosen): the
# collaborative hours of that term, and the terms the teacher's programme spans in all (what the
# sustained-programme rule counts). The one definition of the spans, whether computed within a level's query or
# kept per data version in a table (see `refresh_programme_spans`).
_SPANS_SQL = """
        SELECT s.school_id, s.teacher_id, s.programme, s.academic_year, s.term,
               SUM(CASE WHEN s.collaboration THEN s.hours ELSE 0 END) AS collaborative_hours,
               COUNT(*) OVER (PARTITION BY s.school_id, s.teacher_id, s.programme) AS terms_spanned
        FROM active_activities s WHERE s.programme IS NOT NULL AND {school_filter}
        GROUP BY s.school_id, s.teacher_id, s.programme, s.academic_year, s.term"""
_SPANS_COLUMNS = ("school_id", "teacher_id", "programme", "academic_year", "term", "collaborative_hours",
                  "terms_spanned")
_SPANS_TABLE = "programme_spans_"


def _spans_name_suffix() -> str:
    """Spans tables are named by this code too: a new release's migrations may change activities without
    moving the data version."""
    return hashlib.sha256(CODE_VERSION.encode()).hexdigest()[:16] + "_"


def _spans_name(cur) -> str:
    """The spans table of the data this cursor's transaction sees (named by its data version)."""
    version = run(cur, "SELECT data_version FROM data_state")[0][0]
    return f"{_SPANS_TABLE}{_spans_name_suffix()}{version}"


def _spans_table(cur) -> str | None:
    """The programme spans table of the data this cursor's transaction sees, if one has been kept."""
    name = _spans_name(cur)
    found = run(cur, "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
                     "AND schema_name = 'main' AND table_name = ?", [name])[0][0]
    return name if found else None


def refresh_programme_spans(store: Store) -> None:
    """Keep the programme spans of the current data version in a table, once per data version, so that every
    level, year, term and framework assessed afterwards joins to it instead of grouping every programme
    activity again (at 8M activities: 1.37M teacher-programmes, most of the teacher level's extra cost over a
    plain aggregate). Older versions' tables are dropped. A read-only store, or one that keeps no data version
    in the database, computes the spans within each query instead; so does a thread asking while a write is
    under way (this one's own, say) rather than wait for it."""
    if store.read_only or not store.persisted or store.writing:
        return
    with store.cursor() as cur:
        if _spans_table(cur):
            return
    try:
        with store.transaction(changes_results=False) as cur:
            if _spans_table(cur):
                return
            _drop_spans(cur)
            run(cur, f"CREATE TABLE {_spans_name(cur)} AS {_SPANS_SQL.format(school_filter='TRUE')}")
    except duckdb.TransactionException:
        pass  # a conflict with another transaction (one still reading an old table): computed in the query instead


def _drop_spans(cur) -> None:
    for (name,) in run(cur, "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
                            "AND schema_name = 'main' AND starts_with(table_name, ?)", [_SPANS_TABLE]):
        run(cur, f"DROP TABLE {name}")


def drop_programme_spans(store: Store) -> None:
    """Forget the kept spans (benchmarks timing their computation)."""
    with store.transaction(changes_results=False) as cur:
        _drop_spans(cur)


def _level_df(store: Store, build: Callable[[str | None], tuple[str, dict]]) -> pd.DataFrame:
    """A level's results from `build(spans_table)`'s query, run in one read transaction with the check that the
    spans table (if any) is of the very data the query reads: exact whatever commits meanwhile."""
    refresh_programme_spans(store)
    with store.snapshot() as cur:
        sql, params = build(_spans_table(cur) if store.persisted else None)
        return fetch_df(cur, sql, params)


def _base_ctes(framework: Framework, filters: Filters, kitemark: Framework | None,
               spans_table: str | None = None) -> tuple[str, dict]:
    d = framework.definitions
    params: dict = {
        "as_of": filters.as_of,
        "k": d.quality_min_aspects,
        "sustained_min_terms": d.sustained_min_terms,
        "expiring_cutoff": filters.as_of + dt.timedelta(
            days=(kitemark.kitemark.expiring_days if kitemark and kitemark.kitemark else 90)),
    }
    school_filter = "TRUE"
    if filters.schools is not None:
        if not filters.schools:
            school_filter = "FALSE"
        else:
            names = [f"$school_{i}" for i in range(len(filters.schools))]
            params.update({f"school_{i}": s for i, s in enumerate(filters.schools)})
            school_filter = f"s.school_id IN ({', '.join(names)})"
    year_filter = "TRUE"
    if filters.year:
        year_filter = "s.academic_year = $year"
        params["year"] = filters.year
    term_filter = "TRUE"
    late_cte = late_terms = late_join = ""
    if filters.through_term:
        terms = schema.TERMS[: schema.term_index(filters.through_term)]
        term_filter = "s.term IN (" + ", ".join(_sql_text(t) for t in terms) + ")"
        # A year judged to the end of a term knows nothing of that year's later terms: a programme's
        # Summer sessions must not make its Autumn hours "sustained" at the end of Autumn.
        late_cte = f"""
    late AS (
        SELECT s.school_id, s.teacher_id, s.programme, s.academic_year, COUNT(DISTINCT s.term) AS late_terms
        FROM active_activities s WHERE s.programme IS NOT NULL AND {school_filter} AND NOT ({term_filter})
        GROUP BY s.school_id, s.teacher_id, s.programme, s.academic_year),"""
        late_terms = " - COALESCE(lt.late_terms, 0)"
        late_join = """
        LEFT JOIN late lt ON lt.school_id = {a}.school_id AND lt.teacher_id = {a}.teacher_id
                         AND lt.programme = {a}.programme AND lt.academic_year = {a}.academic_year"""
    counted = ["aspects >= $k"]
    if d.counted_requires_aligned:
        counted.append("aligned_to_needs")
    recognised, recognition_joins = "", ""
    if d.only_recognised_hours:
        counted.append("recognised")
        recognised = """,
               ((pg.accrediting_body IS NOT NULL AND trim(pg.accrediting_body) <> ''
                 AND (pg.valid_from IS NULL OR s.activity_date >= pg.valid_from)
                 AND (pg.valid_to IS NULL OR s.activity_date <= pg.valid_to))
                OR (pv.quality_mark IS NOT NULL AND trim(pv.quality_mark) <> ''
                 AND (pv.awarded_on IS NULL OR s.activity_date >= pv.awarded_on)
                 AND (pv.expires_on IS NULL OR s.activity_date <= pv.expires_on))) AS recognised"""
        recognition_joins = """
        LEFT JOIN programmes pg ON pg.programme = s.programme
        LEFT JOIN providers pv ON pv.provider_key = s.provider_key"""
    # Only the columns the levels read, and every CTE read once, so DuckDB streams the activities
    # through the joins instead of materialising copies of them (2.5x faster at 8M activities).
    columns = ", ".join(f"s.{c}" for c in (
        "school_id", "teacher_id", "academic_year", "term", "activity_date", "hours", "provider",
        "provider_key", "programme", "subject_specific", "aligned_to_needs", *schema.DFE_ASPECTS))
    aspects = " + ".join(f"CAST(s.{a} AS INTEGER)" for a in schema.DFE_ASPECTS)
    spans = (f"SELECT {', '.join(_SPANS_COLUMNS)} FROM {spans_table}" if spans_table
             else _SPANS_SQL.format(school_filter=school_filter))
    sql = f"""
    -- Only programmes spanning enough terms to be sustained at all: the activities are joined to a
    -- table a few times smaller than every teacher's every programme (a seventh, in the national benchmark).
    programme_terms AS (
        SELECT * FROM ({spans}) WHERE terms_spanned >= $sustained_min_terms),
    spans AS (SELECT DISTINCT school_id, teacher_id, programme, terms_spanned FROM programme_terms),{late_cte}
    register AS (
        SELECT provider_key, provider, quality_mark, quality_mark_level, expires_on,
               CASE WHEN quality_mark IS NULL OR trim(quality_mark) = '' THEN 'none'
                    WHEN expires_on IS NULL THEN 'current'
                    WHEN expires_on < $as_of THEN 'expired'
                    WHEN expires_on <= $expiring_cutoff THEN 'expiring'
                    ELSE 'current' END AS quality_mark_status
        FROM providers),
    acts AS (
        SELECT {columns}, {aspects} AS aspects{recognised}
        FROM active_activities s{recognition_joins}
        WHERE {school_filter} AND {year_filter} AND {term_filter}),
    flagged AS (
        SELECT *, (aspects >= $k) AS is_quality, ({' AND '.join(counted)}) AS is_counted FROM acts),
    -- The sustained flag per activity, for the levels that read it (teacher, school, provider): the
    -- programme level and the champion's breakdown read `flagged` and skip the sessions altogether.
    flagged_sustained AS (
        SELECT f.*, (COALESCE(sp.terms_spanned, 0){late_terms} >= $sustained_min_terms) AS in_sustained_programme
        FROM flagged f
        LEFT JOIN spans sp ON sp.school_id = f.school_id AND sp.teacher_id = f.teacher_id
                          AND sp.programme = f.programme{late_join.format(a="f")}),
    -- The flag's one use at the teacher level, per teacher-year: the collaborative hours of the terms of
    -- sustained programmes, so that level sums the activities without the flag joined to each of them.
    collaborative_sustained AS (
        SELECT s.school_id, s.teacher_id, s.academic_year, SUM(s.collaborative_hours) AS collaborative_sustained_hours
        FROM programme_terms s{late_join.format(a="s")}
        WHERE {school_filter} AND {year_filter} AND {term_filter}
              AND s.terms_spanned{late_terms} >= $sustained_min_terms
        GROUP BY s.school_id, s.teacher_id, s.academic_year)"""
    return sql, params


def _elapsed_cte(store: Store, filters: Filters) -> tuple[str, dict]:
    """Per academic year: terms elapsed and whether the year is still in progress."""
    years = [filters.year] if filters.year else store.academic_years()
    if not years:
        years = [schema.academic_year_of(filters.as_of)]
    rows, params = [], {}
    for i, year in enumerate(years):
        elapsed = schema.terms_judged(year, filters.as_of, filters.through_term)
        in_progress = elapsed < 3
        rows.append(f"($ey_{i}, {max(elapsed, 0)}, {'TRUE' if in_progress else 'FALSE'})")
        params[f"ey_{i}"] = year
    return (f"elapsed (academic_year, terms_elapsed, in_progress) AS (VALUES {', '.join(rows)})",
            params)


def _teacher_select(framework: Framework, per_activity_flag: bool = True) -> str:
    """Teacher-year metrics, rule results, status and explanation (a CTE body). Without `per_activity_flag`
    (the levels that read no other sustained figure) the collaborative sustained hours come per teacher-year
    from `collaborative_sustained`, and the activities are summed without the flag joined to each of them."""
    rules = framework.rules_at("teacher-year")
    if not rules:
        raise FrameworkError(f"framework '{framework.id}' has no teacher-year rules")
    fte = "p_fte" if framework.definitions.pro_rata_fte else "1.0"
    full, to_date, reasons, yearly = [], [], [], []
    for rule in rules:
        boolean = isinstance(rule.threshold, bool)
        threshold = _literal(rule.threshold)
        if not boolean and rule.metric in HOUR_METRICS:
            threshold = f"({threshold} * {fte})"
        progress_threshold = f"({threshold} * terms_elapsed / 3.0)" if rule.pro_rata_terms else threshold
        full.append(f"{_compare_sql(rule.metric, rule.comparator, threshold, boolean)} AS {rule_column(rule)}")
        ok = _compare_sql(rule.metric, rule.comparator, progress_threshold, boolean)
        to_date.append(ok)
        figure = _figure_sql(rule.metric, rule.metric)
        target = _figure_sql(rule.metric, progress_threshold)
        expected = (f"CASE WHEN in_progress AND {'TRUE' if rule.pro_rata_terms else 'FALSE'} THEN ' so far; ' || "
                    f"{target} || ' expected by the end of ' || {_TERM_NAME} "
                    f"ELSE {_sql_text('; needs ' + ('' if boolean else COMPARATORS[rule.comparator] + ' '))} || "
                    f"{target} END")
        if "p_fte" in progress_threshold:
            tail = f"{expected}, '.'"
        else:  # the same for every teacher of a year: made once per year, not once per teacher (a year
            # missing from `elapsed`, which lists the years just before the query, gets it made per row as before)
            yearly.append(f"{expected} || '.' AS expected_{len(yearly)}")
            tail = f"COALESCE(expected_{len(yearly) - 1}, {expected} || '.')"
        # concat, not ||, to build each text once: every part is non-NULL whenever the rule is not met (a
        # teacher's metrics are never NULL; a NULL `tail` comes only with a NULL terms_elapsed, when `ok` is NULL)
        reasons.append(f"CASE WHEN NOT {ok} THEN concat({_sql_text(rule.title + ': ')}, {figure}, {tail}) END")
    source, collaborative_join = "flagged_sustained", ""
    collaborative_sum = ("SUM(CASE WHEN collaboration AND in_sustained_programme THEN hours ELSE 0 END)\n"
                         "                   AS collaborative_sustained_hours,")
    if not per_activity_flag:
        source, collaborative_sum = "flagged", ""
        collaborative_join = """,
    ty AS (
        SELECT t.*, c.collaborative_sustained_hours FROM ty_sums t
        LEFT JOIN collaborative_sustained c ON c.school_id = t.school_id AND c.teacher_id = t.teacher_id
                                           AND c.academic_year = t.academic_year)"""
    return f"""
    elapsed_texts AS (SELECT *{''.join(', ' + y for y in yearly)} FROM elapsed),
    {'ty' if per_activity_flag else 'ty_sums'} AS (
        SELECT school_id, teacher_id, academic_year,
               SUM(hours) AS total_hours,
               SUM(CASE WHEN is_quality THEN hours ELSE 0 END) AS quality_hours,
               SUM(CASE WHEN is_counted THEN hours ELSE 0 END) AS counted_hours,
               SUM(CASE WHEN is_counted AND subject_specific THEN hours ELSE 0 END) AS subject_hours,
               {collaborative_sum}
               COUNT(*) AS activities,
               CAST(SUM(CASE WHEN aspects = 4 THEN 1 ELSE 0 END) AS INTEGER) AS activities_all_aspects
        FROM {source} GROUP BY school_id, teacher_id, academic_year){collaborative_join},
    school_years AS (SELECT DISTINCT school_id, academic_year FROM ty),
    -- Registered teachers of a school-year with records, so those who logged nothing count too. One FULL
    -- JOIN instead of a UNION and two joins back: a teacher-year with records and no roster row is a
    -- teacher not on the register (the roster has every school-year with records), so the FTE is 1.
    roster AS (
        SELECT t.school_id, t.teacher_id, y.academic_year, t.fte
        FROM teachers t JOIN school_years y ON y.school_id = t.school_id),
    tm AS (
        SELECT COALESCE(ty.school_id, r.school_id) AS school_id, COALESCE(ty.teacher_id, r.teacher_id) AS teacher_id,
               COALESCE(ty.academic_year, r.academic_year) AS academic_year,
               ROUND(COALESCE(ty.total_hours, 0), 6) AS total_hours,
               ROUND(COALESCE(ty.quality_hours, 0), 6) AS quality_hours,
               ROUND(COALESCE(ty.counted_hours, 0), 6) AS counted_hours,
               CASE WHEN COALESCE(ty.counted_hours, 0) > 0
                    THEN ty.subject_hours / ty.counted_hours ELSE 0 END AS subject_specific_share,
               CASE WHEN COALESCE(ty.total_hours, 0) > 0
                    THEN ty.quality_hours / ty.total_hours ELSE 0 END AS quality_share,
               ROUND(COALESCE(ty.collaborative_sustained_hours, 0), 6) AS collaborative_sustained_hours,
               COALESCE(ty.activities, 0) AS activities,
               COALESCE(ty.activities_all_aspects, 0) AS activities_all_aspects,
               COALESCE(r.fte, 1.0) AS p_fte,
               e.terms_elapsed, e.in_progress{''.join(f', e.expected_{i}' for i in range(len(yearly)))},
               (ty.teacher_id IS NULL) AS no_records
        FROM ty
        FULL JOIN roster r ON r.school_id = ty.school_id AND r.teacher_id = ty.teacher_id
                          AND r.academic_year = ty.academic_year
        LEFT JOIN elapsed_texts e ON e.academic_year = COALESCE(ty.academic_year, r.academic_year)),
    tr AS (
        SELECT tm.*, {', '.join(full)},
               ({' AND '.join(to_date)}) AS on_track_now,
               NULLIF(CONCAT_WS(' ', {', '.join(reasons)}), '') AS explanation
        FROM tm),
    teacher_result AS (
        SELECT tr.*, ({' AND '.join(rule_column(r) for r in rules)}) AS meets_framework,
               CASE WHEN in_progress THEN (CASE WHEN on_track_now THEN 'on_track' ELSE 'at_risk' END)
                    ELSE (CASE WHEN {' AND '.join(rule_column(r) for r in rules)} THEN 'met' ELSE 'not_met' END)
               END AS status
        FROM tr)"""


def _teacher_columns(framework: Framework) -> list[str]:
    rule_ids = [rule_column(r) for r in framework.rules_at("teacher-year")]
    fixed = ["teacher_id", "school_id", "academic_year", "total_hours", "quality_hours", "counted_hours",
             "subject_specific_share"]
    # the contract's meets_hours / meets_subject come first when the framework has them
    named = [c for c in ("meets_hours", "meets_subject") if c in rule_ids]
    others = [c for c in rule_ids if c not in named]
    return [*fixed, *named, "meets_framework", "status", *others, "quality_share",
            "collaborative_sustained_hours", "activities", "activities_all_aspects", "no_records",
            "explanation"]


def _school_rules_sql(framework: Framework) -> tuple[list[str], str]:
    rules: list[Rule] = framework.rules_at("school-year")
    parts, reasons = [], []
    for rule in rules:
        boolean = isinstance(rule.threshold, bool)
        ok = _compare_sql(rule.metric, rule.comparator, _literal(rule.threshold), boolean)
        parts.append(f"{ok} AS {rule_column(rule)}")
        reasons.append(
            f"CASE WHEN NOT {ok} THEN {_sql_text(rule.title + ': ')} || {_figure_sql(rule.metric, rule.metric)}"
            f" || {_sql_text('; needs ' + ('' if boolean else COMPARATORS[rule.comparator] + ' '))} || "
            f"{_figure_sql(rule.metric, _literal(rule.threshold))} || '.' END")
    explanation = f"NULLIF(CONCAT_WS(' ', {', '.join(reasons)}), '')" if reasons else "CAST(NULL AS VARCHAR)"
    return parts, explanation


def _level_sql(level_rules: list[LevelRule], prefix: str = "") -> list[str]:
    return [_compare_sql(prefix + r.metric, r.comparator, _literal(r.threshold), isinstance(r.threshold, bool))
            for r in level_rules]


# --------------------------------------------------------------------------- levels

def _teacher_query(store: Store, framework: Framework, filters: Filters,
                   spans_table: str | None = None, per_activity_flag: bool = True) -> tuple[str, dict]:
    base, params = _base_ctes(framework, filters, None, spans_table)
    elapsed, p2 = _elapsed_cte(store, filters)
    sql = f"WITH {base}, {elapsed}, {_teacher_select(framework, per_activity_flag)}"
    return sql, {**params, **p2}


def _once(store: Store, level: str, frameworks: tuple[Framework, ...], filters: Filters,
          compute: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """A level's results, computed once per data version, shared by every session asking and kept in the
    database for the next process (see Store.stored)."""
    key = (level, CODE_VERSION, *(f.model_dump_json() for f in frameworks), filters)
    return store.stored(key, compute)


def teacher_results(store: Store, framework: Framework, filters: Filters = Filters()) -> pd.DataFrame:
    return _once(store, "teacher", (framework,), filters, lambda: _teacher_results(store, framework, filters))


def _teacher_results(store: Store, framework: Framework, filters: Filters) -> pd.DataFrame:
    def build(spans_table: str | None) -> tuple[str, dict]:
        sql, params = _teacher_query(store, framework, filters, spans_table, per_activity_flag=False)
        cols = _teacher_columns(framework)
        return (sql + f"\nSELECT {', '.join(cols)} FROM teacher_result ORDER BY school_id, academic_year, teacher_id",
                params)

    return _level_df(store, build)


# Teachers behind each cell of the collaborative x sustained table (for small-cell suppression).
QUADRANT = {
    "teachers_collaborative_sustained": "collaboration AND in_sustained_programme",
    "teachers_collaborative_only": "collaboration AND NOT in_sustained_programme",
    "teachers_sustained_only": "NOT collaboration AND in_sustained_programme",
    "teachers_neither": "NOT collaboration AND NOT in_sustained_programme",
}


def school_results(store: Store, framework: Framework, filters: Filters = Filters()) -> pd.DataFrame:
    return _once(store, "school", (framework,), filters, lambda: _school_results(store, framework, filters))


def _school_results(store: Store, framework: Framework, filters: Filters) -> pd.DataFrame:
    return _level_df(store, lambda spans_table: _school_sql(store, framework, filters, spans_table))


def _school_sql(store: Store, framework: Framework, filters: Filters, spans_table: str | None) -> tuple[str, dict]:
    sql, params = _teacher_query(store, framework, filters, spans_table)
    rule_parts, explanation = _school_rules_sql(framework)
    # Teachers per cell: each teacher-year's cells first (a BOOL_OR each), then counted per school-year,
    # instead of a distinct count per cell over every activity.
    teacher_cells = ", ".join(f"BOOL_OR({cond}) AS {name}" for name, cond in QUADRANT.items())
    quadrant_teachers = ", ".join(f"COUNT(*) FILTER (WHERE {name}) AS {name}" for name in QUADRANT)
    aspect_cols = ",\n".join(
        f"SUM(CASE WHEN {a} THEN hours ELSE 0 END) / SUM(hours) AS share_hours_{a},\n"
        f"AVG(CASE WHEN {a} THEN 1.0 ELSE 0 END) AS share_activities_{a}" for a in schema.DFE_ASPECTS)
    sql += f""",
    sa AS (
        SELECT school_id, academic_year, SUM(hours) AS hours, COUNT(*) AS activities,
               AVG(CASE WHEN aspects = 4 THEN 1.0 ELSE 0 END) AS share_activities_all_aspects,
               SUM(CASE WHEN aspects = 4 THEN hours ELSE 0 END) / SUM(hours) AS share_hours_all_aspects,
               {aspect_cols},
               SUM(CASE WHEN collaboration AND in_sustained_programme THEN hours ELSE 0 END)
                   AS hours_collaborative_sustained,
               SUM(CASE WHEN collaboration AND NOT in_sustained_programme THEN hours ELSE 0 END)
                   AS hours_collaborative_only,
               SUM(CASE WHEN NOT collaboration AND in_sustained_programme THEN hours ELSE 0 END)
                   AS hours_sustained_only,
               SUM(CASE WHEN NOT collaboration AND NOT in_sustained_programme THEN hours ELSE 0 END)
                   AS hours_neither,
               COUNT(DISTINCT term) AS terms_with_returns
        FROM flagged_sustained GROUP BY school_id, academic_year),
    tq AS (
        SELECT school_id, academic_year, teacher_id, {teacher_cells}
        FROM flagged_sustained GROUP BY school_id, academic_year, teacher_id),
    sq AS (SELECT school_id, academic_year, {quadrant_teachers} FROM tq GROUP BY school_id, academic_year),
    st AS (
        SELECT school_id, academic_year, COUNT(*) AS teachers,
               CAST(SUM(CASE WHEN meets_framework THEN 1 ELSE 0 END) AS INTEGER) AS teachers_meeting,
               CAST(SUM(CASE WHEN status IN ('met', 'on_track') THEN 1 ELSE 0 END) AS INTEGER)
                   AS teachers_met_or_on_track,
               CAST(SUM(CASE WHEN no_records THEN 1 ELSE 0 END) AS INTEGER) AS teachers_without_records,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY counted_hours) AS median_counted_hours,
               BOOL_OR(in_progress) AS in_progress
        FROM teacher_result GROUP BY school_id, academic_year),
    sm AS (
        SELECT st.*, CAST(st.teachers_meeting AS DOUBLE) / st.teachers AS share_meeting,
               sa.hours, sa.activities, sa.share_activities_all_aspects, sa.share_hours_all_aspects,
               {', '.join(f'sa.share_hours_{a}, sa.share_activities_{a}' for a in schema.DFE_ASPECTS)},
               sa.hours_collaborative_sustained / sa.hours AS share_hours_collaborative_sustained,
               sa.hours_collaborative_sustained, sa.hours_collaborative_only, sa.hours_sustained_only,
               sa.hours_neither, {', '.join('sq.' + n for n in QUADRANT)}, sa.terms_with_returns,
               att.leadership_prioritised
        FROM st JOIN sa ON sa.school_id = st.school_id AND sa.academic_year = st.academic_year
        JOIN sq ON sq.school_id = st.school_id AND sq.academic_year = st.academic_year
        LEFT JOIN attestations att ON att.school_id = st.school_id AND att.academic_year = st.academic_year)
    SELECT sm.school_id, sm.academic_year, teachers, teachers_meeting, share_meeting, median_counted_hours,
           share_activities_all_aspects, leadership_prioritised,
           teachers_met_or_on_track, teachers_without_records, in_progress, hours, activities,
           share_hours_all_aspects,
           {', '.join(f'share_hours_{a}, share_activities_{a}' for a in schema.DFE_ASPECTS)},
           share_hours_collaborative_sustained, hours_collaborative_sustained, hours_collaborative_only,
           hours_sustained_only, hours_neither, {', '.join(QUADRANT)}, terms_with_returns
           {''.join(', ' + p for p in rule_parts)},
           {explanation} AS explanation
    FROM sm ORDER BY sm.school_id, sm.academic_year"""
    return sql, params


def provider_results(store: Store, framework: Framework, filters: Filters = Filters(),
                     kitemark: Framework | None = None) -> pd.DataFrame:
    kitemark = kitemark or (framework if framework.kitemark else load_framework(KITEMARK_FRAMEWORK, store))
    return _once(store, "provider", (framework, kitemark), filters,
                 lambda: _provider_results(store, framework, filters, kitemark))


def _provider_results(store: Store, framework: Framework, filters: Filters, kitemark: Framework) -> pd.DataFrame:
    return _level_df(store, lambda spans_table: _provider_sql(framework, filters, kitemark, spans_table))


def _provider_sql(framework: Framework, filters: Filters, kitemark: Framework,
                  spans_table: str | None) -> tuple[str, dict]:
    rubric = kitemark.kitemark
    assert rubric is not None
    base, params = _base_ctes(framework, filters, kitemark, spans_table)
    params["min_teachers"] = rubric.min_teachers
    achieved = [f"({' AND '.join(_level_sql(level.rules))})" for level in rubric.levels]
    level_case = [f"WHEN teachers < $min_teachers THEN {_sql_text(INSUFFICIENT_EVIDENCE)}"]
    for i in reversed(range(len(rubric.levels))):
        level_case.append(f"WHEN {' AND '.join(achieved[: i + 1])} THEN {_sql_text(rubric.levels[i].name)}")
    level_case.append(f"ELSE {_sql_text(rubric.working_towards())}")
    limited = ["WHEN teachers < $min_teachers THEN 'Fewer than ' || CAST($min_teachers AS VARCHAR) || "
               "' teachers logged activities with this provider (' || CAST(teachers AS VARCHAR) || ')'"]
    for level, ok in zip(rubric.levels, achieved, strict=True):
        reasons = ", ".join(
            f"CASE WHEN NOT {cond} THEN {_sql_text(level.name + ': ' + rule.explanation + ' Figure: ')} || "
            f"{_figure_sql(rule.metric, rule.metric)} END"
            for rule, cond in zip(level.rules, _level_sql(level.rules), strict=True))
        limited.append(f"WHEN NOT {ok} THEN CONCAT_WS('; ', {reasons})")
    sql = f"""WITH {base},
    pa AS (
        SELECT provider_key, academic_year,
               COUNT(DISTINCT (school_id, teacher_id)) AS teachers,
               COUNT(DISTINCT school_id) AS schools, SUM(hours) AS hours, COUNT(*) AS activities,
               MIN(provider) AS name_as_logged,
               SUM(CASE WHEN aspects = 4 THEN hours ELSE 0 END) / SUM(hours) AS share_hours_all_aspects,
               SUM(CASE WHEN aspects >= 3 THEN hours ELSE 0 END) / SUM(hours) AS share_hours_3plus_aspects,
               SUM(CASE WHEN in_sustained_programme THEN hours ELSE 0 END) / SUM(hours)
                   AS share_hours_sustained_programmes,
               {', '.join(f'SUM(CASE WHEN {a} THEN hours ELSE 0 END) / SUM(hours) AS share_hours_{a}'
                          for a in schema.DFE_ASPECTS)}
        FROM flagged_sustained WHERE provider_key IS NOT NULL GROUP BY provider_key, academic_year),
    pm AS (
        SELECT pa.*, COALESCE(r.provider, pa.name_as_logged) AS provider,
               COALESCE(r.quality_mark_status, 'none') AS quality_mark_status,
               r.quality_mark, r.quality_mark_level, r.expires_on AS quality_mark_expires_on,
               (COALESCE(r.quality_mark_status, 'none') IN ('current', 'expiring')) AS quality_mark_held
        FROM pa LEFT JOIN register r ON r.provider_key = pa.provider_key)
    SELECT provider, academic_year, teachers, schools, hours, share_hours_all_aspects,
           CASE {' '.join(level_case)} END AS kitemark_level,
           CASE {' '.join(limited)} ELSE NULL END AS kitemark_limited_by,
           quality_mark_status, provider_key, activities, share_hours_3plus_aspects,
           share_hours_sustained_programmes, quality_mark, quality_mark_level, quality_mark_expires_on,
           {', '.join(f'share_hours_{a}' for a in schema.DFE_ASPECTS)}
    FROM pm ORDER BY provider, academic_year"""
    return sql, params


def programme_window_sql(alias: str) -> str:
    """An activity (table `alias`, programme joined as `pg`) falls within its programme's validity window."""
    return (f"(pg.valid_from IS NULL OR {alias}.activity_date >= pg.valid_from) AND "
            f"(pg.valid_to IS NULL OR {alias}.activity_date <= pg.valid_to)")


def _programme_sql(framework: Framework, filters: Filters, kitemark: Framework) -> tuple[str, dict]:
    base, params = _base_ctes(framework, filters, kitemark)
    needs_accreditation = kitemark.recognition.require_accreditation if kitemark.recognition else True
    accredited = ("(pg.accrediting_body IS NOT NULL AND trim(pg.accrediting_body) <> '')"
                  if needs_accreditation else "(pg.programme IS NOT NULL)")
    window = programme_window_sql("f")
    sql = f"""WITH {base},
    tp AS (
        SELECT f.programme, f.school_id, f.teacher_id, MIN(f.provider) AS provider_as_logged,
               SUM(f.hours) AS hours,
               COUNT(DISTINCT (f.academic_year, f.term)) AS terms_spanned,
               SUM(CASE WHEN f.sustained THEN f.hours ELSE 0 END) AS self_reported_sustained_hours,
               SUM(CASE WHEN {window} THEN f.hours ELSE 0 END) AS window_hours,
               COUNT(DISTINCT CASE WHEN {window} THEN (f.academic_year, f.term) END) AS window_terms
        FROM flagged f LEFT JOIN programmes pg ON pg.programme = f.programme
        WHERE f.programme IS NOT NULL GROUP BY f.programme, f.school_id, f.teacher_id),
    tpr AS (
        SELECT tp.*, {accredited} AS accredited, pg.min_hours, pg.min_terms, pg.recognition_title,
               pg.provider AS registered_provider,
               ({accredited} AND pg.min_hours IS NOT NULL AND tp.window_hours >= pg.min_hours
                AND tp.window_terms >= COALESCE(pg.min_terms, 1)) AS recognised
        FROM tp LEFT JOIN programmes pg ON pg.programme = tp.programme)"""
    return sql, params


def programme_results(store: Store, framework: Framework, filters: Filters = Filters(),
                      kitemark: Framework | None = None) -> pd.DataFrame:
    kitemark = kitemark or (framework if framework.recognition else load_framework(KITEMARK_FRAMEWORK, store))
    return _once(store, "programme", (framework, kitemark), filters,
                 lambda: _programme_results(store, framework, filters, kitemark))


def _programme_results(store: Store, framework: Framework, filters: Filters, kitemark: Framework) -> pd.DataFrame:
    sql, params = _programme_sql(framework, filters, kitemark)
    params["sustained_terms"] = framework.definitions.sustained_min_terms
    sql += """
    SELECT programme, COALESCE(MIN(registered_provider), MIN(provider_as_logged)) AS provider,
           COUNT(*) AS teachers,
           CAST(SUM(CASE WHEN recognised THEN 1 ELSE 0 END) AS INTEGER) AS recognised_teachers,
           BOOL_OR(accredited) AS accredited,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY terms_spanned) AS terms_spanned_median,
           SUM(hours) AS hours,
           SUM(self_reported_sustained_hours) / SUM(hours) AS share_hours_self_reported_sustained,
           AVG(CASE WHEN terms_spanned >= $sustained_terms THEN 1.0 ELSE 0 END)
               AS share_teachers_sustained_by_dates,
           MIN(min_hours) AS min_hours, MIN(min_terms) AS min_terms,
           MIN(recognition_title) AS recognition_title
    FROM tpr GROUP BY programme ORDER BY programme"""
    return store.query_df(sql, params)


def recognitions(store: Store, framework: Framework, filters: Filters = Filters(),
                 kitemark: Framework | None = None) -> pd.DataFrame:
    """Per teacher and programme: hours and terms within the window, and whether recognised."""
    kitemark = kitemark or (framework if framework.recognition else load_framework(KITEMARK_FRAMEWORK, store))
    return _once(store, "recognitions", (framework, kitemark), filters,
                 lambda: _recognitions(store, framework, filters, kitemark))


def _recognitions(store: Store, framework: Framework, filters: Filters, kitemark: Framework) -> pd.DataFrame:
    sql, params = _programme_sql(framework, filters, kitemark)
    sql += """
    SELECT programme, school_id, teacher_id, hours, terms_spanned, window_hours, window_terms,
           accredited, min_hours, min_terms, recognised, recognition_title
    FROM tpr ORDER BY programme, school_id, teacher_id"""
    return store.query_df(sql, params)


def compare_frameworks(store: Store, before: Framework, after: Framework, filters: Filters) -> pd.DataFrame:
    """Per school: how many teachers' results differ between two versions, and how many meet under each."""
    keys = ["school_id", "academic_year", "teacher_id"]
    old = teacher_results(store, before, filters)[[*keys, "status"]]
    new = teacher_results(store, after, filters)[[*keys, "status"]]
    both = old.merge(new, on=keys, how="outer", suffixes=("_before", "_after"))
    good = ["met", "on_track"]
    both["changed"] = both["status_before"].ne(both["status_after"])
    both["good_before"] = both["status_before"].isin(good)
    both["good_after"] = both["status_after"].isin(good)
    return both.groupby("school_id", as_index=False).agg(
        teachers=("teacher_id", "count"), results_changed=("changed", "sum"),
        meeting_or_on_track_before=("good_before", "sum"), meeting_or_on_track_after=("good_after", "sum"))


# --------------------------------------------------------------------------- runs

@dataclass
class Assessment:
    level: str
    framework: Framework
    filters: Filters
    results: pd.DataFrame
    run_id: int | None
    upload_ids: list[int]


def assess(store: Store, level: str, framework: Framework | str | None = None,
           filters: Filters = Filters(), *, run_by: str = "cli", record: bool = True) -> Assessment:
    """Assess one level and record the run (framework id and version, uploads seen, when)."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}")
    if framework is None or isinstance(framework, str):
        framework = load_framework(framework or "wellcome", store)
    function = {"teacher": teacher_results, "school": school_results,
                "provider": provider_results, "programme": programme_results}[level]
    upload_ids = [r[0] for r in store.query_rows(
        "SELECT upload_id FROM uploads WHERE status = 'active' ORDER BY upload_id")]
    results = function(store, framework, filters)
    run_id = None
    if record:
        with store.transaction(changes_results=False) as cur:
            run_id = run(cur, "SELECT nextval('run_seq')")[0][0]
            run(cur, "INSERT INTO assessment_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, current_timestamp)",
                [run_id, framework.id, framework.version, level, filters.year, filters.as_of,
                 ",".join(map(str, upload_ids)), run_by])
    return Assessment(level, framework, filters, results, run_id, upload_ids)


def format_for_output(frame: pd.DataFrame) -> pd.DataFrame:
    """The CLI contract: booleans true/false, shares as 0-1 fractions, hours to two decimals."""
    out = frame.copy()
    for col in out.columns:
        series = out[col]
        if series.dtype == bool or str(series.dtype) == "boolean":
            out[col] = series.map(lambda v: "" if pd.isna(v) else ("true" if v else "false"))
        elif pd.api.types.is_float_dtype(series):
            digits = 4 if is_share_metric(col) else 2
            out[col] = series.round(digits)
    return out
