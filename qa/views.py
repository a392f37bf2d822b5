"""What each dashboard page and report shows, computed in `qa` and scoped to the viewer.

Every function takes the `Viewer` first and asks `qa.access` what it may read, so
a champion asking for another school (by URL, widget or API) gets AccessDenied,
and funder-facing figures pass through `qa.disclosure` (primary and secondary suppression).
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass, field

import pandas as pd

from qa import disclosure, engine, schema
from qa.access import Viewer, require, school_scope
from qa.errors import CpdqaError
from qa.framework import Framework
from qa.labels import period
from qa.paging import PagedQuery
from qa.store import Store, run


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


class NothingRecorded(CpdqaError):
    """The year asked about has no activities up to the term chosen: nothing to summarise."""


@dataclass
class FunderOverview:
    by_year: pd.DataFrame
    by_phase: pd.DataFrame
    by_local_authority: pd.DataFrame
    schools: pd.DataFrame
    quadrant: pd.DataFrame
    provider_levels: pd.DataFrame
    year: str


_ADDITIVE = ["schools", "teachers", "teachers_meeting", "activities", "hours", "share_meeting",
             "share_activities_all_aspects"]
_QUADRANT = (("yes", "yes", "hours_collaborative_sustained", "teachers_collaborative_sustained"),
             ("yes", "no", "hours_collaborative_only", "teachers_collaborative_only"),
             ("no", "yes", "hours_sustained_only", "teachers_sustained_only"),
             ("no", "no", "hours_neither", "teachers_neither"))


def school_labels(store: Store, school_ids: list[str]) -> dict[str, str]:
    """Stable pseudonymous labels ("School 17") for schools that did not consent to be named.

    Numbers are drawn in a random order when a school is first shown, so they carry nothing of the
    school's code (URNs are public) and stay the same in every later page, report and export.
    """
    wanted = sorted(set(school_ids))
    if not wanted:
        return {}
    known = dict(store.query_rows("SELECT school_id, label_no FROM school_labels"))
    new = [s for s in wanted if s not in known]
    if new:
        secrets.SystemRandom().shuffle(new)
        # labels are only ever added, never changed: no computed result goes stale, so keep them all
        with store.transaction(changes_results=False) as cur:
            start = run(cur, "SELECT COALESCE(MAX(label_no), 0) FROM school_labels")[0][0]
            for offset, school_id in enumerate(new, start=1):
                run(cur, "INSERT INTO school_labels VALUES (?, ?) ON CONFLICT DO NOTHING",
                    [school_id, start + offset])
        known = dict(store.query_rows("SELECT school_id, label_no FROM school_labels"))
    return {s: f"School {known[s]}" for s in wanted}


def funder_overview(store: Store, viewer: Viewer, framework: Framework, year: str,
                    as_of: dt.date | None = None, through_term: str | None = None) -> FunderOverview:
    """Programme-wide aggregates (every year to the same term), released through `qa.disclosure` as one protected set.

    Every figure (tables, KPI, chart data, report text) comes from these frames, which have had
    primary and secondary suppression applied together, so nothing shown on the page, in the PDF
    or in a download lets a suppressed figure be worked out. Champions are refused: these are
    figures about other schools.
    """
    require(viewer, "evaluator", "funder")
    as_of = as_of or dt.date.today()
    # the same release for every viewer allowed it, so it is worked out once per data version
    return store.cached(("funder overview", framework.model_dump_json(), year, as_of, through_term),
                        lambda: _funder_overview(store, framework, year, as_of, through_term))


def _funder_overview(store: Store, framework: Framework, year: str, as_of: dt.date,
                     through_term: str | None) -> FunderOverview:
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
    if not (by_year["academic_year"] == year).any():
        raise NothingRecorded(f"No activities recorded in {period(year, through_term)}.")
    this_year = merged[merged["academic_year"] == year].reset_index(drop=True)
    by_phase = roll_up(this_year, ["phase"])
    by_la = roll_up(this_year, ["local_authority"])
    # named only with consent and a name to show; everyone else (no Schools row included) gets a label
    named = this_year["consent_to_name"].fillna(False).astype(bool) & this_year["name"].map(
        lambda n: isinstance(n, str) and bool(n.strip()))
    labels = school_labels(store, this_year.loc[~named, "school_id"].tolist())
    school_rows = pd.DataFrame({
        "school": [n if ok else labels[s] for s, n, ok in zip(this_year["school_id"], this_year["name"], named,
                                                               strict=True)],
        # a pseudonymous school keeps no phase or local authority: with public data they would name it
        "phase": this_year["phase"].where(named, ""),
        "local_authority": this_year["local_authority"].where(named, ""),
        "teachers": this_year["teachers"], "share_meeting": this_year["share_meeting"],
        "share_activities_all_aspects": this_year["share_activities_all_aspects"],
    })
    quadrant = pd.DataFrame([{"collaborative": c, "sustained (2+ terms)": s, "hours": this_year[h].sum(),
                              "teachers": int(this_year[t].sum())} for c, s, h, t in _QUADRANT])
    providers = engine.provider_results(store, framework, engine.Filters(year=year, as_of=as_of,
                                                                         through_term=through_term))
    levels = providers.groupby("kitemark_level", as_index=False).agg(providers=("provider", "count"))

    def school_atoms(frame: pd.DataFrame) -> dict[str, frozenset]:
        keys = list(zip(frame["academic_year"], frame["school_id"], strict=True))
        # column by column: itertuples built a namedtuple class per call, 2,000 times per overview
        hours = frozenset((y, s, h) for _, _, h, _ in _QUADRANT
                          for (y, s), v in zip(keys, frame[h].to_numpy(), strict=True) if v > 0)
        return {"school": frozenset(keys), "hours": hours}

    rows = [disclosure.Row(("year", y), int(g["teachers"].sum()), school_atoms(g), total=True)
            for y, g in merged.groupby("academic_year")]
    rows += [disclosure.Row(("phase", p), int(g["teachers"].sum()), school_atoms(g))
             for p, g in this_year.groupby("phase")]
    rows += [disclosure.Row(("la", la), int(g["teachers"].sum()), school_atoms(g))
             for la, g in this_year.groupby("local_authority")]
    rows += [disclosure.Row(("school", s), int(this_year.loc[i, "teachers"]), school_atoms(this_year.iloc[i:i + 1]))
             for i, s in enumerate(this_year["school_id"])]
    rows += [disclosure.Row(("quadrant", h), int(this_year[t].sum()), {"hours": frozenset(
        (year, s, h) for s, v in zip(this_year["school_id"], this_year[h], strict=True) if v > 0)})
        for _, _, h, t in _QUADRANT]
    hidden = disclosure.protect(rows)

    def keyed(kind: str, values: pd.Series) -> pd.Series:
        return pd.Series([(kind, v) for v in values], index=values.index, dtype=object)

    quadrant = disclosure.apply(quadrant, keyed("quadrant", pd.Series([h for _, _, h, _ in _QUADRANT])),
                                hidden, ["hours"]).drop(columns="teachers")
    return FunderOverview(
        by_year=disclosure.apply(by_year, keyed("year", by_year["academic_year"]), hidden, _ADDITIVE),
        by_phase=disclosure.apply(by_phase, keyed("phase", by_phase["phase"]), hidden, _ADDITIVE),
        by_local_authority=disclosure.apply(by_la, keyed("la", by_la["local_authority"]), hidden, _ADDITIVE),
        schools=disclosure.apply(school_rows, keyed("school", this_year["school_id"]), hidden,
                                 _ADDITIVE).sort_values("school", key=_natural).reset_index(drop=True),
        quadrant=quadrant, provider_levels=levels, year=year)


def _natural(values: pd.Series) -> pd.Series:
    """'School 2' before 'School 10'."""
    return values.map(lambda v: tuple(int(p) if p.isdigit() else p.lower() for p in re.split(r"(\d+)", str(v))))


_PROVIDER_FIGURES = ["teachers", "schools", "hours", "activities", "share_hours_all_aspects",
                     "share_hours_3plus_aspects", "share_hours_sustained_programmes", "kitemark_limited_by",
                     *(f"share_hours_{a}" for a in schema.DFE_ASPECTS)]
_PROGRAMME_FIGURES = ["teachers", "recognised_teachers", "hours", "terms_spanned_median",
                      "share_hours_self_reported_sustained", "share_teachers_sustained_by_dates"]
_PUBLIC_PROVIDER = ["provider_key", "kitemark_level", "quality_mark_status", "quality_mark", "quality_mark_level",
                    "quality_mark_expires_on"]


@dataclass
class ProviderPage:
    providers: pd.DataFrame
    programmes: pd.DataFrame


def provider_page(store: Store, viewer: Viewer, framework: Framework, year: str | None,
                  as_of: dt.date | None = None, through_term: str | None = None) -> ProviderPage:
    """Providers and programmes as one release.

    Evaluators see everything. Champions see their own school's use (teachers, hours, recognitions)
    beside each provider's kite-mark level and quality mark, which are public judgements. Funders see
    programme-wide figures through `qa.disclosure`, providers and programmes protected together
    (a programme's hours are part of its provider's).
    """
    as_of = as_of or dt.date.today()
    filters = engine.Filters(year=year, as_of=as_of, through_term=through_term)
    if viewer.role == "champion":
        own = engine.Filters(year=year, as_of=as_of, through_term=through_term, schools=school_scope(viewer))
        everyone = engine.provider_results(store, framework, filters)
        public = everyone[["academic_year", *_PUBLIC_PROVIDER]]
        providers = engine.provider_results(store, framework, own).drop(
            columns=[c for c in _PUBLIC_PROVIDER if c != "provider_key"] + ["schools", "kitemark_limited_by"])
        providers = providers.merge(public, on=["provider_key", "academic_year"], how="left")
        programmes = engine.programme_results(store, framework, own)
        recognised = engine.recognitions(store, framework, own)
        staff = (recognised[recognised["recognised"].fillna(False).astype(bool)].groupby("programme")["teacher_id"]
                 .agg(lambda ids: ", ".join(sorted(ids))))
        programmes["recognised_staff"] = programmes["programme"].map(staff).astype(object).fillna("")
        return ProviderPage(providers.reset_index(drop=True), programmes.reset_index(drop=True))
    providers = engine.provider_results(store, framework, filters)
    programmes = engine.programme_results(store, framework, filters)
    if viewer.role == "evaluator":
        return ProviderPage(providers, programmes)
    where, params = ("academic_year = $year", {"year": year}) if year else ("TRUE", {})
    if through_term:
        terms = {f"t{i}": t for i, t in enumerate(schema.TERMS[:schema.term_index(through_term)])}
        where += f" AND term IN ({', '.join('$' + n for n in terms)})"
        params |= terms
    cells = store.query_rows(f"""SELECT DISTINCT academic_year, provider_key, programme FROM active_activities
                                 WHERE {where} AND (provider_key IS NOT NULL OR programme IS NOT NULL)""", params)
    rows = [disclosure.Row(("provider", k, y), int(n), {"activity": frozenset(
        c for c in cells if c[0] == y and c[1] == k)})
        for k, y, n in zip(providers["provider_key"], providers["academic_year"], providers["teachers"], strict=True)]
    rows += [disclosure.Row(("programme", p), int(n), {"activity": frozenset(c for c in cells if c[2] == p)})
             for p, n in zip(programmes["programme"], programmes["teachers"], strict=True)]
    hidden = disclosure.protect(rows)
    provider_keys = pd.Series([("provider", k, y) for k, y in zip(providers["provider_key"],
                                                                   providers["academic_year"], strict=True)],
                              index=providers.index, dtype=object)
    programme_keys = pd.Series([("programme", p) for p in programmes["programme"]], index=programmes.index,
                               dtype=object)
    return ProviderPage(disclosure.apply(providers, provider_keys, hidden, _PROVIDER_FIGURES),
                        disclosure.apply(programmes, programme_keys, hidden, _PROGRAMME_FIGURES))


def provider_overview(store: Store, viewer: Viewer, framework: Framework, year: str | None,
                      as_of: dt.date | None = None, through_term: str | None = None) -> pd.DataFrame:
    """Providers with kite-mark levels, scoped to the viewer (see `provider_page`)."""
    return provider_page(store, viewer, framework, year, as_of, through_term).providers


def programme_overview(store: Store, viewer: Viewer, framework: Framework, year: str | None,
                       as_of: dt.date | None = None, through_term: str | None = None) -> pd.DataFrame:
    """Programmes and professional recognition, scoped to the viewer (see `provider_page`)."""
    return provider_page(store, viewer, framework, year, as_of, through_term).programmes


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
