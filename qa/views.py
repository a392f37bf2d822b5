"""What each dashboard page and report shows, computed in `qa` and scoped to the viewer.

Every function takes the `Viewer` first and asks `qa.access` what it may read, so
a champion asking for another school (by URL, widget or API) gets AccessDenied,
and funder-facing figures from fewer than five teachers come back as "<5".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

from qa import engine, schema
from qa.access import Viewer, require, school_scope, suppress_small_cells
from qa.framework import Framework
from qa.paging import PagedQuery
from qa.store import Store


def _in_clause(prefix: str, values: tuple[str, ...] | None, column: str) -> tuple[str, dict]:
    if values is None:
        return "TRUE", {}
    if not values:
        return "FALSE", {}
    names = {f"{prefix}{i}": v for i, v in enumerate(values)}
    return f"{column} IN ({', '.join('$' + n for n in names)})", names


def visible_schools(store: Store, viewer: Viewer) -> pd.DataFrame:
    """Schools this viewer may pick: all for evaluators, their own for champions, none for funders."""
    if viewer.role == "funder":
        return pd.DataFrame(columns=["school_id", "name", "phase", "local_authority"])
    schools = store.schools()
    if viewer.role == "champion":
        schools = schools[schools["school_id"] == viewer.school_id]
    return schools.reset_index(drop=True)


def years_with_data(store: Store) -> list[str]:
    return store.academic_years()


@dataclass
class SchoolDashboard:
    school_id: str
    name: str
    year: str
    summary: pd.Series | None
    baseline: pd.Series | None
    baseline_year: str | None
    teachers: pd.DataFrame
    progress: pd.DataFrame
    aspects_by_term: pd.DataFrame
    activity_mix: pd.DataFrame
    provider_mix: pd.DataFrame
    missing_terms: list[str] = field(default_factory=list)


def school_dashboard(store: Store, viewer: Viewer, school_id: str, framework: Framework, year: str,
                     through_term: str | None = None, as_of: dt.date | None = None) -> SchoolDashboard:
    scope = school_scope(viewer, school_id)
    as_of = as_of or dt.date.today()
    filters = engine.Filters(year=year, through_term=through_term, as_of=as_of, schools=scope)
    schools = store.schools().set_index("school_id")
    name = schools.loc[school_id, "name"] if school_id in schools.index else school_id
    summary_frame = engine.school_results(store, framework, filters)
    summary = summary_frame.iloc[0] if len(summary_frame) else None
    years = store.query_rows("SELECT DISTINCT academic_year FROM active_activities WHERE school_id = ? ORDER BY 1",
                             [school_id])
    baseline_year = years[0][0] if years and years[0][0] != year else None
    baseline = None
    if baseline_year:
        base = engine.school_results(store, framework, engine.Filters(
            year=baseline_year, through_term=through_term, as_of=as_of, schools=scope))
        baseline = base.iloc[0] if len(base) else None
    teachers = engine.teacher_results(store, framework, filters)
    progress_rows = []
    last_term = schema.term_index(through_term) if through_term else max(1, schema.terms_started(year, as_of))
    for term in schema.TERMS[:last_term]:
        by_term = engine.teacher_results(
            store, framework, engine.Filters(year=year, through_term=term, as_of=as_of, schools=scope))
        hours_rule = next((r for r in framework.rules_at("teacher-year") if r.metric == "counted_hours"), None)
        target = hours_rule.threshold * schema.term_index(term) / 3 if hours_rule else None
        progress_rows.append({
            "term": term, "teachers": len(by_term),
            "median_counted_hours": by_term["counted_hours"].median() if len(by_term) else 0.0,
            "mean_counted_hours": by_term["counted_hours"].mean() if len(by_term) else 0.0,
            "share_on_track": (by_term["status"].isin(["on_track", "met"]).mean() if len(by_term) else 0.0),
            "target_hours": target,
        })
    where, params = _in_clause("s", scope, "school_id")
    params |= {"year": year}
    term_filter = ""
    if through_term:
        terms = schema.TERMS[:schema.term_index(through_term)]
        term_filter = "AND term IN (" + ", ".join(f"'{t}'" for t in terms) + ")"
    aspects = store.query_df(f"""
        SELECT term, {', '.join(f'SUM(CASE WHEN {a} THEN hours ELSE 0 END) / SUM(hours) AS {a}'
                                for a in schema.DFE_ASPECTS)},
               SUM(CASE WHEN pupil_outcomes AND evidence_based AND collaboration AND sustained
                        THEN hours ELSE 0 END) / SUM(hours) AS all_four
        FROM active_activities WHERE {where} AND academic_year = $year {term_filter}
        GROUP BY term""", params)
    aspects["order"] = aspects["term"].map(schema.term_index)
    aspects = aspects.sort_values("order").drop(columns="order").reset_index(drop=True)
    mix = store.query_df(f"""
        SELECT activity_type, SUM(hours) AS hours, COUNT(*) AS activities
        FROM active_activities WHERE {where} AND academic_year = $year {term_filter}
        GROUP BY activity_type ORDER BY hours DESC""", params)
    providers = store.query_df(f"""
        SELECT COALESCE(p.provider, MIN(a.provider), 'In school') AS provider, SUM(a.hours) AS hours,
               COUNT(DISTINCT a.teacher_id) AS teachers
        FROM active_activities a LEFT JOIN providers p ON p.provider_key = a.provider_key
        WHERE {where.replace('school_id', 'a.school_id')} AND a.academic_year = $year {term_filter}
        GROUP BY a.provider_key, p.provider ORDER BY hours DESC""", params)
    missing = missing_returns(store, viewer, as_of, school_id=school_id, through_term=through_term)
    missing_terms = [f"{r.term} {r.academic_year}" for r in missing.itertuples() if r.academic_year == year]
    return SchoolDashboard(school_id, name, year, summary, baseline, baseline_year, teachers,
                           pd.DataFrame(progress_rows), aspects, mix, providers, missing_terms)


def missing_returns(store: Store, viewer: Viewer, as_of: dt.date | None = None,
                    school_id: str | None = None, through_term: str | None = None) -> pd.DataFrame:
    """School-terms that have begun (up to `through_term`) but have no activity: likely a missing return."""
    scope = school_scope(viewer, school_id)
    as_of = as_of or dt.date.today()
    columns = ["school_id", "academic_year", "term"]
    cap = schema.term_index(through_term) if through_term else len(schema.TERMS)
    begun = [(y, t) for y in store.academic_years()
             for t in schema.TERMS[:min(cap, schema.terms_started(y, as_of))]]
    expected = pd.DataFrame(begun, columns=columns[1:])
    schools = store.schools()[["school_id"]]
    if scope is not None:
        schools = schools[schools["school_id"].isin(scope)]
    if expected.empty or schools.empty:
        return pd.DataFrame(columns=columns)
    # Which school-terms have returns: one small table per data version, so asking about one school
    # does not scan every activity in the programme.
    returned = store.cached(("returned school terms",), lambda: store.query_df(
        "SELECT DISTINCT school_id, academic_year, term FROM active_activities"))
    grid = schools.merge(expected, how="cross")
    frame = grid.merge(returned, on=columns, how="left", indicator=True)
    frame = frame[frame["_merge"] == "left_only"][columns]
    frame["order"] = frame["term"].map(schema.term_index)
    return frame.sort_values(["school_id", "academic_year", "order"]).drop(columns="order").reset_index(drop=True)


@dataclass
class FunderOverview:
    by_year: pd.DataFrame
    by_phase: pd.DataFrame
    by_local_authority: pd.DataFrame
    schools: pd.DataFrame
    quadrant: pd.DataFrame
    provider_levels: pd.DataFrame
    year: str


def funder_overview(store: Store, viewer: Viewer, framework: Framework, year: str,
                    as_of: dt.date | None = None, through_term: str | None = None) -> FunderOverview:
    """Programme-wide aggregates (every year to the same term); groups of fewer than five teachers suppressed."""
    as_of = as_of or dt.date.today()
    all_years = engine.school_results(store, framework, engine.Filters(as_of=as_of, through_term=through_term))
    schools = store.query_df("SELECT school_id, name, phase, local_authority, consent_to_name FROM schools")
    merged = all_years.merge(schools, on="school_id", how="left")
    merged["phase"] = merged["phase"].fillna("unknown")
    merged["local_authority"] = merged["local_authority"].fillna("unknown")
    merged["activities_all_aspects"] = merged["share_activities_all_aspects"] * merged["activities"]

    def roll_up(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
        grouped = frame.groupby(keys, as_index=False).agg(
            schools=("school_id", "nunique"), teachers=("teachers", "sum"),
            teachers_meeting=("teachers_meeting", "sum"), activities=("activities", "sum"),
            activities_all_aspects=("activities_all_aspects", "sum"), hours=("hours", "sum"))
        grouped["share_meeting"] = grouped["teachers_meeting"] / grouped["teachers"]
        grouped["share_activities_all_aspects"] = grouped["activities_all_aspects"] / grouped["activities"]
        return grouped.drop(columns="activities_all_aspects")

    by_year = roll_up(merged, ["academic_year"])
    this_year = merged[merged["academic_year"] == year]
    by_phase = roll_up(this_year, ["phase"])
    by_la = roll_up(this_year, ["local_authority"])
    named = this_year["consent_to_name"].fillna(False).astype(bool)
    school_rows = pd.DataFrame({
        "school": this_year["name"].where(named, this_year["school_id"]).fillna(this_year["school_id"]),
        "phase": this_year["phase"], "local_authority": this_year["local_authority"],
        "teachers": this_year["teachers"], "share_meeting": this_year["share_meeting"],
        "share_activities_all_aspects": this_year["share_activities_all_aspects"],
    }).sort_values("school").reset_index(drop=True)
    quadrant = pd.DataFrame({
        "collaborative": ["yes", "yes", "no", "no"],
        "sustained (2+ terms)": ["yes", "no", "yes", "no"],
        "hours": [this_year[c].sum() for c in ("hours_collaborative_sustained", "hours_collaborative_only",
                                                "hours_sustained_only", "hours_neither")],
    })
    providers = engine.provider_results(store, framework, engine.Filters(year=year, as_of=as_of,
                                                                         through_term=through_term))
    levels = providers.groupby("kitemark_level", as_index=False).agg(providers=("provider", "count"))
    return FunderOverview(
        by_year=suppress_small_cells(by_year, columns=["teachers", "teachers_meeting", "share_meeting"]),
        by_phase=suppress_small_cells(by_phase),
        by_local_authority=suppress_small_cells(by_la),
        schools=suppress_small_cells(school_rows),
        quadrant=quadrant, provider_levels=levels, year=year)


def provider_overview(store: Store, viewer: Viewer, framework: Framework, year: str | None,
                      as_of: dt.date | None = None, through_term: str | None = None) -> pd.DataFrame:
    """Providers with kite-mark levels; a champion sees the providers their school used."""
    as_of = as_of or dt.date.today()
    providers = engine.provider_results(store, framework, engine.Filters(year=year, as_of=as_of,
                                                                         through_term=through_term))
    if viewer.role == "champion":
        used = {r[0] for r in store.query_rows(
            "SELECT DISTINCT provider_key FROM active_activities WHERE school_id = ? AND provider_key IS NOT NULL",
            [viewer.school_id])}
        providers = providers[providers["provider_key"].isin(used)]
    if viewer.role == "funder":
        providers = suppress_small_cells(providers, columns=["teachers", "schools", "hours"])
    return providers.reset_index(drop=True)


def programme_overview(store: Store, viewer: Viewer, framework: Framework, year: str | None,
                       as_of: dt.date | None = None, through_term: str | None = None) -> pd.DataFrame:
    programmes = engine.programme_results(store, framework, engine.Filters(
        year=year, as_of=as_of or dt.date.today(), through_term=through_term))
    if viewer.role == "funder":
        programmes = suppress_small_cells(programmes, columns=["teachers", "recognised_teachers", "hours"])
    return programmes


@dataclass
class DataQuality:
    quarantine: PagedQuery
    warnings: PagedQuery
    teachers_without_records: pd.DataFrame
    missing_returns: pd.DataFrame


def data_quality(store: Store, viewer: Viewer, as_of: dt.date | None = None,
                 through_term: str | None = None) -> DataQuality:
    """Rows kept aside and warnings of active uploads (paged: there can be tens of thousands), teachers
    on the register with no record, and missing termly returns."""
    require(viewer, "evaluator")
    quarantine = PagedQuery(store, """
        SELECT q.upload_id, u.file_name, q.sheet, q.row_number, q.column_name, q.value, q.reason
        FROM quarantine q JOIN uploads u ON u.upload_id = q.upload_id WHERE u.status = 'active'""",
                            "q.upload_id, q.sheet, q.row_number")
    warnings = PagedQuery(store, """
        SELECT w.upload_id, u.file_name, w.sheet, w.row_number, w.column_name, w.value, w.message
        FROM upload_warnings w JOIN uploads u ON u.upload_id = w.upload_id WHERE u.status = 'active'""",
                          "w.upload_id, w.sheet, w.row_number")
    silent = store.cached(("teachers without records",), lambda: store.query_df("""
        SELECT t.school_id, t.teacher_id, t.role, t.career_stage FROM teachers t
        WHERE NOT EXISTS (SELECT 1 FROM active_activities a
                          WHERE a.school_id = t.school_id AND a.teacher_id = t.teacher_id)
        ORDER BY t.school_id, t.teacher_id"""))
    return DataQuality(quarantine, warnings, silent, missing_returns(store, viewer, as_of, through_term=through_term))
