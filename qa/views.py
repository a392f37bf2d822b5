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

from qa import champion, disclosure, engine, schema
from qa.access import Viewer, require, school_scope
from qa.errors import CpdqaError
from qa.framework import INSUFFICIENT_EVIDENCE, KITEMARK_FRAMEWORK, Framework, load_framework
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
    # where each teacher's hours went (logged -> quality -> aligned -> counted) and the shortfall to date
    breakdown: pd.DataFrame = field(default_factory=pd.DataFrame)
    leadership_prioritised: bool | None = None  # the DfE 5 attestation for the year; None: none recorded
    recognitions: pd.DataFrame = field(default_factory=pd.DataFrame)
    provider_use: pd.DataFrame = field(default_factory=pd.DataFrame)
    baseline_span: str | None = None  # the baseline year is judged to the end of this term (None: whole year)


def school_dashboard(store: Store, viewer: Viewer, school_id: str, framework: Framework, year: str,
                     through_term: str | None = None, as_of: dt.date | None = None) -> SchoolDashboard:
    scope = school_scope(viewer, school_id)
    as_of = as_of or dt.date.today()
    filters = engine.Filters(year=year, through_term=through_term, as_of=as_of, schools=scope)
    schools = store.schools().set_index("school_id")
    if school_id not in schools.index:  # a mistyped code: no report about a school nobody has
        raise CpdqaError(f"No school with code '{school_id}' is in the Schools register or in any return that "
                         "counts. Check the code (the School dashboard lists every school).")
    name = schools.loc[school_id, "name"]
    summary_frame = engine.school_results(store, framework, filters)
    summary = summary_frame.iloc[0] if len(summary_frame) else None
    years = store.query_rows("SELECT DISTINCT academic_year FROM active_activities WHERE school_id = ? ORDER BY 1",
                             [school_id])
    baseline_year = years[0][0] if years and years[0][0] != year else None
    # The baseline is judged over the same span of terms as this year, so "change since" compares like with
    # like: to the term chosen, or, for a year still in progress, to the terms begun so far.
    upto = schema.terms_judged(year, as_of, through_term)
    span = schema.TERMS[upto - 1] if 0 < upto < len(schema.TERMS) else through_term
    baseline = None
    if baseline_year:
        base = engine.school_results(store, framework, engine.Filters(
            year=baseline_year, through_term=span, as_of=as_of, schools=scope))
        baseline = base.iloc[0] if len(base) else None
    teachers = engine.teacher_results(store, framework, filters)
    progress_rows = []
    last_term = max(1, upto)  # terms not yet begun have no progress to chart
    for term in schema.TERMS[:last_term]:
        by_term = engine.teacher_results(
            store, framework, engine.Filters(year=year, through_term=term, as_of=as_of, schools=scope))
        hours_rule = champion.hours_rule(framework)
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
    # a school's own use of each provider beside the provider's public level and quality mark: the same
    # release a champion of this school gets on the Providers page, whoever is looking
    own_use = provider_page(store, Viewer("champion", viewer.email, school_id), framework, year, as_of,
                            through_term).providers
    return SchoolDashboard(school_id, name, year, summary, baseline, baseline_year, teachers,
                           pd.DataFrame(progress_rows), aspects, mix, providers, missing_terms,
                           breakdown=champion.teacher_breakdown(store, framework, filters),
                           leadership_prioritised=champion.attestation(store, school_id, year),
                           recognitions=champion.recognitions_earned(store, framework, filters),
                           provider_use=own_use, baseline_span=span)


def missing_returns(store: Store, viewer: Viewer, as_of: dt.date | None = None,
                    school_id: str | None = None, through_term: str | None = None) -> pd.DataFrame:
    """School-terms that have begun (up to `through_term`) but have no activity: likely a missing return."""
    scope = school_scope(viewer, school_id)
    as_of = as_of or dt.date.today()
    columns = ["school_id", "academic_year", "term"]
    begun = [(y, t) for y in store.academic_years() for t in schema.TERMS[:schema.terms_judged(y, as_of, through_term)]]
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
    in_progress: bool = False  # the chosen period ends before the year does: "on track" is the headline
    level_order: list[str] = field(default_factory=list)  # every kite-mark level, lowest first
    through_term: str | None = None
    baseline_year: str | None = None  # the programme's first year, whether or not it has data to the term


def kitemark_levels(store: Store, framework: Framework) -> list[str]:
    """Every kite-mark level of the rubric providers are judged by (the framework's own, else the kite-mark
    framework's), lowest first: charts and tables keep every level, empty ones too, in this order."""
    kitemark = framework if framework.kitemark else load_framework(KITEMARK_FRAMEWORK, store)
    assert kitemark.kitemark is not None
    return kitemark.kitemark.level_names()


_ADDITIVE = ["schools", "teachers", "teachers_meeting", "activities", "hours", "share_meeting",
             "share_activities_all_aspects", "teachers_on_track", "share_on_track"]
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
    # A row's figures come from the teachers who logged something: those on the Teachers register with no
    # record add to its teacher count, not to what it says, so they never make a row big enough to show.
    merged["contributors"] = merged["teachers"] - merged["teachers_without_records"]

    def roll_up(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
        grouped = frame.groupby(keys, as_index=False).agg(
            schools=("school_id", "nunique"), teachers=("teachers", "sum"),
            teachers_meeting=("teachers_meeting", "sum"), teachers_on_track=("teachers_met_or_on_track", "sum"),
            activities=("activities", "sum"), activities_all_aspects=("activities_all_aspects", "sum"),
            hours=("hours", "sum"))
        grouped["share_meeting"] = grouped["teachers_meeting"] / grouped["teachers"]
        # to a term before the year's end, "on track" (meeting, or on pace for, the pro-rata target) is
        # the comparable figure; at the year's end it equals meeting
        grouped["share_on_track"] = grouped["teachers_on_track"] / grouped["teachers"]
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
    # every year's providers, as the Providers page asks for them: one query, cached, serves both pages
    providers = engine.provider_results(store, framework, engine.Filters(as_of=as_of, through_term=through_term))
    providers = _published_levels(providers[providers["academic_year"] == year])
    order = kitemark_levels(store, framework)
    levels = (providers.groupby("kitemark_level")["provider"].count().reindex(order, fill_value=0)
              .rename("providers").rename_axis("kitemark_level").reset_index())

    def school_atoms(frame: pd.DataFrame) -> dict[str, frozenset]:
        keys = list(zip(frame["academic_year"], frame["school_id"], strict=True))
        # column by column: itertuples built a namedtuple class per call, 2,000 times per overview
        hours = frozenset((y, s, h) for _, _, h, _ in _QUADRANT
                          for (y, s), v in zip(keys, frame[h].to_numpy(), strict=True) if v > 0)
        return {"school": frozenset(keys), "hours": hours}

    rows = [disclosure.Row(("year", y), int(g["contributors"].sum()), school_atoms(g), total=True)
            for y, g in merged.groupby("academic_year")]
    def links(group: str, g: pd.DataFrame) -> bool:  # 1-2 labelled schools of a phase or LA: named by subtraction
        return disclosure.links_pseudonym(int((~named)[g.index].sum()), len(g), len(this_year), group != "unknown")

    rows += [disclosure.Row(("phase", p), int(g["contributors"].sum()), school_atoms(g), links_pseudonym=links(p, g))
             for p, g in this_year.groupby("phase")]
    rows += [disclosure.Row(("la", la), int(g["contributors"].sum()), school_atoms(g), links_pseudonym=links(la, g))
             for la, g in this_year.groupby("local_authority")]
    rows += [disclosure.Row(("school", s), int(this_year.loc[i, "contributors"]),
                            school_atoms(this_year.iloc[i:i + 1]))
             for i, s in enumerate(this_year["school_id"])]
    rows += [disclosure.Row(("quadrant", h), int(this_year[t].sum()), {"hours": frozenset(
        (year, s, h) for s, v in zip(this_year["school_id"], this_year[h], strict=True) if v > 0)})
        for _, _, h, t in _QUADRANT]
    hidden = disclosure.protect(rows)

    def keyed(kind: str, values: pd.Series) -> pd.Series:
        return pd.Series([(kind, v) for v in values], index=values.index, dtype=object)

    quadrant = disclosure.apply(quadrant, keyed("quadrant", pd.Series([h for _, _, h, _ in _QUADRANT])),
                                hidden, ["hours"]).drop(columns="teachers")
    in_progress = bool(this_year["in_progress"].any())

    def release(frame: pd.DataFrame, keys: pd.Series) -> pd.DataFrame:
        out = disclosure.apply(frame, keys, hidden, _ADDITIVE)
        # at a year's end "on track" is "meeting": one column of it is enough
        return out if in_progress else out.drop(columns=["teachers_on_track", "share_on_track"])

    return FunderOverview(
        by_year=release(by_year, keyed("year", by_year["academic_year"])),
        by_phase=release(by_phase, keyed("phase", by_phase["phase"])),
        by_local_authority=release(by_la, keyed("la", by_la["local_authority"])),
        schools=disclosure.apply(school_rows, keyed("school", this_year["school_id"]), hidden,
                                 _ADDITIVE).sort_values("school", key=_natural).reset_index(drop=True),
        quadrant=quadrant, provider_levels=levels, year=year, in_progress=in_progress,
        level_order=order, through_term=through_term,
        baseline_year=store.academic_years()[0])


def _natural(values: pd.Series) -> pd.Series:
    """'School 2' before 'School 10'."""
    return values.map(lambda v: tuple(int(p) if p.isdigit() else p.lower() for p in re.split(r"(\d+)", str(v))))


_PROVIDER_FIGURES = ["teachers", "schools", "hours", "activities", "share_hours_all_aspects",
                     "share_hours_3plus_aspects", "share_hours_sustained_programmes", "kitemark_limited_by",
                     *(f"share_hours_{a}" for a in schema.DFE_ASPECTS)]
_PROGRAMME_FIGURES = ["teachers", "recognised_teachers", "hours", "terms_spanned_median",
                      "share_hours_self_reported_sustained", "share_teachers_sustained_by_dates"]
def _published_levels(providers: pd.DataFrame) -> pd.DataFrame:
    """Provider-years with the kite-mark levels anyone beyond the evaluator may see: a level judged from fewer
    than disclosure.SMALL_CELL teachers (possible when a framework lowers the rubric's minimum) is a figure
    of a small group, so it reads as insufficient evidence, as the rubric's default minimum would have it."""
    small = providers["teachers"] < disclosure.SMALL_CELL
    if not small.any():
        return providers
    return providers.assign(kitemark_level=providers["kitemark_level"].where(~small, INSUFFICIENT_EVIDENCE))


_PUBLIC_PROVIDER = ["provider_key", "kitemark_level", "quality_mark_status", "quality_mark", "quality_mark_level",
                    "quality_mark_expires_on"]


@dataclass
class ProviderPage:
    providers: pd.DataFrame
    programmes: pd.DataFrame
    # each provider's kite-mark level and figures per year, every year to the same term (not for champions)
    trend: pd.DataFrame = field(default_factory=pd.DataFrame)
    level_order: list[str] = field(default_factory=list)


def provider_page(store: Store, viewer: Viewer, framework: Framework, year: str | None,
                  as_of: dt.date | None = None, through_term: str | None = None) -> ProviderPage:
    """Providers and programmes as one release, with each provider's trend over the years.

    Evaluators see everything. Champions see their own school's use (teachers, hours, recognitions)
    beside each provider's kite-mark level and quality mark, which are public judgements. Funders see
    programme-wide figures through `qa.disclosure`, providers (every year of the trend) and programmes
    protected together (a programme's hours are part of its provider's).
    """
    as_of = as_of or dt.date.today()
    filters = engine.Filters(year=year, as_of=as_of, through_term=through_term)
    order = kitemark_levels(store, framework)
    if viewer.role == "champion":
        own = engine.Filters(year=year, as_of=as_of, through_term=through_term, schools=school_scope(viewer))
        everyone = _published_levels(engine.provider_results(store, framework, filters))
        public = everyone[["academic_year", *_PUBLIC_PROVIDER]]
        providers = engine.provider_results(store, framework, own).drop(
            columns=[c for c in _PUBLIC_PROVIDER if c != "provider_key"] + ["schools", "kitemark_limited_by"])
        providers = providers.merge(public, on=["provider_key", "academic_year"], how="left")
        programmes = engine.programme_results(store, framework, own)
        recognised = engine.recognitions(store, framework, own)
        staff = (recognised[recognised["recognised"].fillna(False).astype(bool)].groupby("programme")["teacher_id"]
                 .agg(lambda ids: ", ".join(sorted(ids))))
        programmes["recognised_staff"] = programmes["programme"].map(staff).astype(object).fillna("")
        return ProviderPage(providers.reset_index(drop=True), programmes.reset_index(drop=True), level_order=order)
    require(viewer, "evaluator", "funder")
    # every year to the same term: the chosen year's rows are the table, all of them the trend
    every_year = engine.provider_results(store, framework, engine.Filters(as_of=as_of, through_term=through_term))
    programmes = engine.programme_results(store, framework, filters)
    if viewer.role == "evaluator":
        return _provider_release(every_year, programmes, year, order, set())
    # the same release for every funder: worked out once per data version
    return store.cached(("provider page", framework.model_dump_json(), year, as_of, through_term),
                        lambda: _provider_release(_published_levels(every_year), programmes, year, order,
                                                  _provider_suppression(store, framework, every_year, programmes,
                                                                        year, as_of, through_term)))


def _provider_suppression(store: Store, framework: Framework, every_year: pd.DataFrame, programmes: pd.DataFrame,
                          year: str | None, as_of: dt.date, through_term: str | None) -> set:
    """Keys of the provider-years and programmes to suppress (primary and secondary) in one release.

    Every page shows every year's provider rows (the trend), so each year is audited with its own
    programmes whichever year is chosen: a provider-year hidden to protect another in its year's release
    is hidden in every release, and no two releases, read side by side, give one back.
    """
    where, params = "TRUE", {}
    if through_term:
        terms = {f"t{i}": t for i, t in enumerate(schema.TERMS[:schema.term_index(through_term)])}
        where = f"term IN ({', '.join('$' + n for n in terms)})"
        params = terms
    cells = store.query_rows(f"""SELECT DISTINCT academic_year, provider_key, programme FROM active_activities
                                 WHERE {where} AND (provider_key IS NOT NULL OR programme IS NOT NULL)""", params)

    def provider_rows(of: pd.DataFrame, mine: set) -> list[disclosure.Row]:
        return [disclosure.Row(("provider", k, y), int(n), {"activity": frozenset(
            c for c in mine if c[0] == y and c[1] == k)})
            for k, y, n in zip(of["provider_key"], of["academic_year"], of["teachers"], strict=True)]

    def programme_rows(of: pd.DataFrame, of_year: str | None, mine: set) -> list[disclosure.Row]:
        return [disclosure.Row(("programme", p, of_year), int(n), {"activity": frozenset(
            c for c in mine if c[2] == p)}) for p, n in zip(of["programme"], of["teachers"], strict=True)]

    hidden: set = set()
    # years share no activity cells, so each year is audited on its own (the same answer, far faster)
    by_programme: dict = {}
    for each in sorted({c[0] for c in cells} | set(every_year["academic_year"])):
        mine = {c for c in cells if c[0] == each}
        of_year = programmes if each == year else engine.programme_results(
            store, framework, engine.Filters(year=each, as_of=as_of, through_term=through_term))
        for p in of_year["programme"]:
            by_programme.setdefault(p, []).append(("programme", p, each))
        hidden |= disclosure.protect(provider_rows(every_year[every_year["academic_year"] == each], mine)
                                     + programme_rows(of_year, each, mine))
    if year is None:
        # Programmes summed over every year: a funder may open every year's page as well, so this release
        # may hide nothing those pages show (a provider-year it hid that one year's page showed gave back a
        # small programme: Pco 2018/19 + 2019/20 - Zprog). A programme's every-year row is shown only when
        # each year's row of it is: then it is their sum and says nothing new; otherwise it is hidden.
        hidden |= {("programme", p, None) for p in programmes["programme"]
                   if not by_programme.get(p) or any(k in hidden for k in by_programme[p])}
    return hidden


def _provider_release(every_year: pd.DataFrame, programmes: pd.DataFrame, year: str | None, order: list[str],
                      hidden: set) -> ProviderPage:
    """The chosen year's providers, the programmes and the trend, with the suppressed rows marked."""
    provider_keys = pd.Series([("provider", k, y) for k, y in zip(every_year["provider_key"],
                                                                   every_year["academic_year"], strict=True)],
                              index=every_year.index, dtype=object)
    programme_keys = pd.Series([("programme", p, year) for p in programmes["programme"]], index=programmes.index,
                               dtype=object)
    released = disclosure.apply(every_year, provider_keys, hidden, _PROVIDER_FIGURES)
    providers = released if year is None else released[released["academic_year"] == year].reset_index(drop=True)
    trend = released[["provider", "provider_key", "academic_year", "kitemark_level", "teachers",
                      "share_hours_all_aspects"]].reset_index(drop=True)
    return ProviderPage(providers, disclosure.apply(programmes, programme_keys, hidden, _PROGRAMME_FIGURES),
                        trend, order)


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
