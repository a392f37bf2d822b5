"""Attack suite: no funder output lets a small cell be recovered, and champions see only their school.

Datasets are random (hypothesis): small phases, local authorities, years, schools, providers and
programmes. For each funder output the attacker takes every figure it shows (the page's frames and
the CSV/XLSX files a funder downloads, read back) and the public structure (which school is in which
phase and local authority), writes one linear equation per shown figure, and tries to solve for every
group with fewer than 5 teachers. Recovered means: the group's atom vector lies in the span of the
shown equations, so a signed sum of shown figures equals it exactly.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import re
import tempfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from qa import disclosure, engine, reports, returns, views
from qa.access import AccessDenied, Viewer
from qa.disclosure import SUPPRESSED, Row, exposed, protect
from qa.exports import to_csv_bytes, to_xlsx_bytes
from qa.framework import load_framework
from qa.ingest import ingest_bytes
from qa.store import Store
from tests.conftest import activity, workbook_bytes

WELLCOME = load_framework("wellcome")
AS_OF = dt.date(2021, 1, 1)
YEAR = "2019/20"
FUNDER = Viewer("funder")
EVALUATOR = Viewer("evaluator")
QUADS = ("hours_collaborative_sustained", "hours_collaborative_only", "hours_sustained_only", "hours_neither")
QUAD_TEACHERS = [h.replace("hours_", "teachers_") for h in QUADS]
DATES = {"2018/19": [dt.date(2018, 10, 1), dt.date(2019, 2, 1), dt.date(2019, 5, 1)],
         "2019/20": [dt.date(2019, 10, 1), dt.date(2020, 2, 1), dt.date(2020, 5, 1)]}
PROGRAMMES = {"P1": [None, "Alpha"], "P2": ["Beta", "Gamma"], "P3": [None]}  # P2 only in programmes


# ------------------------------------------------------------------ the protection rule itself

def test_small_phase_takes_the_next_smallest_phase_with_it():
    schools = {"a": ("nursery", 3), "b": ("primary", 6), "c": ("secondary", 40), "d": ("secondary", 30)}
    rows = [Row(("year",), 79, {"s": frozenset(schools)})]
    for phase in ("nursery", "primary", "secondary"):
        members = frozenset(s for s, (p, _) in schools.items() if p == phase)
        rows.append(Row(("phase", phase), sum(schools[s][1] for s in members), {"s": members}))
    assert protect(rows) == {("phase", "nursery"), ("phase", "primary")}


def test_two_small_cells_need_no_complement_and_no_small_cell_means_nothing_hidden():
    rows = [Row("total", 20, {"s": frozenset("abc")}), Row("a", 3, {"s": frozenset("a")}),
            Row("b", 2, {"s": frozenset("b")}), Row("c", 15, {"s": frozenset("c")})]
    assert protect(rows) == {"a", "b"}
    assert protect([Row("total", 20, {"s": frozenset("ab")}), Row("a", 10, {"s": frozenset("a")})]) == set()


def test_a_school_hidden_in_two_crossing_breakdowns_stays_hidden():
    # schools a..d: phase x LA grid; a is small. Hiding b alone is not enough (a = LA1 - c + ...).
    phase = {"a": "p", "b": "p", "c": "q", "d": "q"}
    la = {"a": "L1", "b": "L2", "c": "L1", "d": "L2"}
    teachers = {"a": 2, "b": 9, "c": 8, "d": 7}
    rows = [Row(("school", s), n, {"s": frozenset(s)}) for s, n in teachers.items()]
    rows += [Row(("phase", p), sum(teachers[s] for s in phase if phase[s] == p),
                 {"s": frozenset(s for s in phase if phase[s] == p)}) for p in "pq"]
    rows += [Row(("la", v), sum(teachers[s] for s in la if la[s] == v),
                 {"s": frozenset(s for s in la if la[s] == v)}) for v in ("L1", "L2")]
    rows.append(Row(("year",), 26, {"s": frozenset(teachers)}))
    hidden = protect(rows)
    assert ("school", "a") in hidden and not exposed(rows, hidden)


def test_apply_marks_every_listed_column_of_hidden_rows():
    frame = pd.DataFrame({"group": ["a", "b"], "teachers": [4, 5], "share": [0.25, 0.4]})
    out = disclosure.apply(frame, frame["group"], {"a"}, ["teachers", "share"])
    assert out.to_dict("records") == [{"group": "a", "teachers": SUPPRESSED, "share": SUPPRESSED},
                                      {"group": "b", "teachers": 5, "share": 0.4}]


# ------------------------------------------------------------------ random programmes

@st.composite
def datasets(draw):
    n_schools = draw(st.integers(3, 7))
    schools, rows = [], []
    for i in range(n_schools):
        school = f"1{i:05d}"
        schools.append({"school_id": school, "name": f"Sch{i} Primary", "phase": draw(st.sampled_from(
            ["primary", "secondary", "nursery"])), "local_authority": draw(st.sampled_from(["Leeds", "York"])),
            "consent_to_name": draw(st.sampled_from(["Y", "N"]))})
        years = draw(st.sampled_from([["2019/20"], ["2018/19", "2019/20"], ["2018/19"]]))
        for year in years:
            for t in range(draw(st.integers(1, 8))):
                for _ in range(draw(st.integers(1, 3))):
                    provider = draw(st.sampled_from([None, "P1", "P2", "P3"]))
                    rows.append(activity(
                        school_id=school, teacher_id=f"T{t}", activity_date=draw(st.sampled_from(DATES[year])),
                        hours=draw(st.sampled_from([1, 2, 3.5, 6, 10])), provider=provider,
                        programme=draw(st.sampled_from(PROGRAMMES[provider] if provider else [None])),
                        collaboration=draw(st.sampled_from(["Y", "N"])),
                        pupil_outcomes=draw(st.sampled_from(["Y", "N"]))))
    return schools, rows


def build(schools, rows) -> tuple[Store, tempfile.TemporaryDirectory]:
    folder = tempfile.TemporaryDirectory()
    store = Store(Path(folder.name) / "t.duckdb")
    register(store, schools)
    ingest_bytes(store, "log.xlsx", workbook_bytes(rows))
    return store, folder


def register(store: Store, schools: list[dict]) -> None:
    """The Schools register as an evaluator loads it (accepting its changes), and each school's consent
    recorded by an evaluator: an upload never sets consent."""
    ingest_bytes(store, "ref.xlsx", workbook_bytes({"Schools": schools}), accept_reference_changes=True)
    for school in schools:
        if school.get("consent_to_name") is not None:
            returns.set_consent(store, school["school_id"], school["consent_to_name"] == "Y", "eva@example.org")


def schools_register(rows: list[tuple[str, str, str, str, str]]) -> list[dict]:
    """Schools sheet rows from (code, name, phase, local authority, consent Y/N)."""
    return [{"school_id": code, "name": name, "phase": phase, "local_authority": la, "consent_to_name": consent}
            for code, name, phase, la, consent in rows]


def _numbers(frame: pd.DataFrame, column: str) -> pd.Series:
    return pd.to_numeric(frame[column].where(frame[column].astype(str) != SUPPRESSED), errors="coerce")


def recoverable(equations: list[tuple[frozenset, float]], targets: dict) -> dict:
    """Targets whose atom vector is in the span of the equations, with the value the attacker solves."""
    atoms = sorted({a for eq, _ in equations for a in eq} | {a for t in targets.values() for a in t}, key=repr)
    index = {a: i for i, a in enumerate(atoms)}

    def vector(members):
        v = np.zeros(len(atoms))
        v[[index[a] for a in members]] = 1
        return v

    if not equations:
        return {}
    a = np.array([vector(eq) for eq, _ in equations])
    b = np.array([value for _, value in equations], dtype=float)
    solution = np.linalg.lstsq(a, b, rcond=None)[0]
    rank = np.linalg.matrix_rank(a)
    return {key: float(vector(t) @ solution) for key, t in targets.items()
            if np.linalg.matrix_rank(np.vstack([a, vector(t)])) == rank}


def attack_overview(truth: pd.DataFrame, public: pd.DataFrame, shown: dict[str, pd.DataFrame]) -> dict:
    """Everything an attacker recovers from the overview's tables, per measure."""
    truth = truth.merge(public, on="school_id")
    this_year = truth[truth["academic_year"] == YEAR]

    def members(frame):
        return frozenset(zip(frame["academic_year"], frame["school_id"], strict=True))

    def hour_atoms(frame):
        return frozenset((y, s, q) for y, s, *hs in frame[["academic_year", "school_id", *QUADS]].itertuples(
            index=False) for q, h in zip(QUADS, hs, strict=True) if h > 0)

    groups = {("year", y): g for y, g in truth.groupby("academic_year")}
    groups |= {("phase", p): g for p, g in this_year.groupby("phase")}
    groups |= {("la", v): g for v, g in this_year.groupby("local_authority")}
    labelled = {("school", s): this_year[this_year["school_id"] == s] for s in this_year["school_id"]}
    small = {k: g for k, g in (groups | labelled).items() if g["teachers"].sum() < 5}
    found = {}
    for measure in ("teachers", "teachers_meeting", "activities", "hours", "schools"):
        equations = []
        for kind, column, frame in (("year", "academic_year", shown["by_year"]), ("phase", "phase", shown["by_phase"]),
                                    ("la", "local_authority", shown["by_la"])):
            values = _numbers(frame, measure)
            for label, value in zip(frame[column], values, strict=True):
                if not np.isnan(value):
                    group = groups[(kind, label)]
                    equations.append((hour_atoms(group) if measure == "hours" else members(group), value))
        if measure == "hours":
            quadrant = shown["quadrant"]
            for q, value in zip(QUADS, _numbers(quadrant, "hours"), strict=True):
                if not np.isnan(value):
                    equations.append((frozenset((YEAR, s, q) for s, h in zip(this_year["school_id"], this_year[q],
                                                                             strict=True) if h > 0), value))
        if measure in ("teachers", "teachers_meeting"):  # the by-school table: teachers and share meeting
            by_school = shown["schools"]
            names = dict(zip(public["school_id"], public["name"], strict=True))
            teachers, shares = _numbers(by_school, "teachers"), _numbers(by_school, "share_meeting")
            for school_id in this_year["school_id"]:
                for label, n, share in zip(by_school["school"], teachers, shares, strict=True):
                    ours = label in (names[school_id], school_id) or label == shown["labels"].get(school_id)
                    if ours and not np.isnan(n):
                        equations.append((frozenset({(YEAR, school_id)}),
                                          n if measure == "teachers" else round(n * share)))
        targets = {k: (hour_atoms(g) if measure == "hours" else members(g)) for k, g in small.items()}
        found |= {(k, measure): v for k, v in recoverable(equations, targets).items()}
    quad_small = [q for q, t in zip(QUADS, QUAD_TEACHERS, strict=True) if 0 < this_year[t].sum() < 5]
    hours_eq = [(frozenset((YEAR, s, q) for s, h in zip(this_year["school_id"], this_year[q], strict=True) if h > 0), v)
                for q, v in zip(QUADS, _numbers(shown["quadrant"], "hours"), strict=True) if not np.isnan(v)]
    for kind, column, frame in (("year", "academic_year", shown["by_year"]), ("phase", "phase", shown["by_phase"]),
                                ("la", "local_authority", shown["by_la"])):
        for label, value in zip(frame[column], _numbers(frame, "hours"), strict=True):
            if not np.isnan(value):
                hours_eq.append((hour_atoms(groups[(kind, label)]), value))
    found |= {(("quadrant", q), "hours"): v for q, v in recoverable(hours_eq, {
        q: frozenset((YEAR, s, q) for s, h in zip(this_year["school_id"], this_year[q], strict=True) if h > 0)
        for q in quad_small}).items()}
    return found


def link_attack(public: pd.DataFrame, this_year: set[str], overview: views.FunderOverview,
                labels: dict[str, str]) -> dict:
    """Labels an attacker ties to a phase or local authority: the group's shown teachers and teachers
    meeting, minus its named schools' shown rows, matched against every combination of shown labelled
    rows of the size the group's school count leaves (up to 2 unnamed schools: the rule's promise).
    A unique combination that is the true set of unnamed members is a link. A group that is "unknown" or
    holds every school of the year ties a label to nothing public, so it is not tried."""
    public = public[public["school_id"].isin(this_year)]
    named = public["consent_to_name"].fillna(False).astype(bool) & public["name"].fillna("").str.strip().ne("")
    by_school = overview.schools
    shown = {label: (int(n), round(float(n) * float(share)))
             for label, n, share in zip(by_school["school"], by_school["teachers"], by_school["share_meeting"],
                                        strict=True) if n != SUPPRESSED and share != SUPPRESSED}
    labelled = {label: v for label, v in shown.items() if re.fullmatch(r"School \d+", label)}
    links = {}
    for kind, column, frame in (("phase", "phase", overview.by_phase),
                                ("la", "local_authority", overview.by_local_authority)):
        for _, row in frame.iterrows():
            if row["teachers"] == SUPPRESSED:
                continue
            members = public[public[column].fillna("unknown") == row[column]]
            if row[column] == "unknown" or len(members) == len(public):
                continue
            known = members[named.loc[members.index]]
            if not set(known["name"]) <= set(shown):
                continue  # a named member's row is hidden: no exact remainder to match
            left = (int(row["teachers"]) - sum(shown[n][0] for n in known["name"]),
                    round(float(row["teachers"]) * float(row["share_meeting"]))
                    - sum(shown[n][1] for n in known["name"]))
            size = int(row["schools"]) - len(known)
            if not 0 < size <= 2:
                continue
            answers = [combo for combo in itertools.combinations(sorted(labelled), size)
                       if tuple(map(sum, zip(*(labelled[c] for c in combo), strict=True))) == left]
            truth = tuple(sorted(labels[s] for s in members.loc[~named.loc[members.index], "school_id"]))
            if answers == [truth]:
                links[(kind, row[column])] = truth
    return links


def _read_back(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What a funder's CSV and XLSX downloads of a table say, read back as a spreadsheet would."""
    csv = pd.read_csv(io.BytesIO(to_csv_bytes(frame)), encoding="utf-8-sig", dtype=str, keep_default_na=False)
    xlsx = pd.read_excel(io.BytesIO(to_xlsx_bytes({"t": frame})), engine="openpyxl", dtype=str, keep_default_na=False)
    return csv, xlsx


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(datasets())
def test_no_small_cell_is_recovered_from_any_funder_overview_output(data):
    schools, rows = data
    store, folder = build(schools, rows)
    try:
        if YEAR not in store.academic_years():
            return
        truth = engine.school_results(store, WELLCOME, engine.Filters(as_of=AS_OF))
        public = store.query_df("SELECT school_id, name, phase, local_authority FROM schools")
        overview = views.funder_overview(store, FUNDER, WELLCOME, YEAR, AS_OF)
        labels = views.school_labels(store, public["school_id"].tolist())
        frames = {"by_year": overview.by_year, "by_phase": overview.by_phase, "by_la": overview.by_local_authority,
                  "schools": overview.schools, "quadrant": overview.quadrant}
        assert attack_overview(truth, public, frames | {"labels": labels}) == {}
        consented = store.query_df("SELECT school_id, name, phase, local_authority, consent_to_name FROM schools")
        this_year = set(truth.loc[truth["academic_year"] == YEAR, "school_id"])
        assert link_attack(consented, this_year, overview, labels) == {}
        for copy in (0, 1):  # the same attack on the CSV and on the XLSX downloads
            files = {name: _read_back(frame)[copy] for name, frame in frames.items()}
            assert attack_overview(truth, public, files | {"labels": labels}) == {}
        # primary: every group of 1-4 teachers shows nothing but the marker
        small_years = truth.groupby("academic_year")["teachers"].sum()
        for year, n in small_years.items():
            row = overview.by_year[overview.by_year["academic_year"] == year].iloc[0]
            shown = [row[c] for c in ("schools", "teachers", "teachers_meeting", "activities", "hours",
                                      "share_meeting", "share_activities_all_aspects")]
            assert (n < 5) <= all(v == SUPPRESSED for v in shown)
        # non-consenting schools: a label that is neither their code nor their name
        consent = {s["school_id"]: s["consent_to_name"] == "Y" for s in schools}
        shown_names = set(overview.schools["school"])
        for s in schools:
            if not consent[s["school_id"]] and s["school_id"] in set(truth.loc[truth["academic_year"] == YEAR,
                                                                               "school_id"]):
                assert labels[s["school_id"]] in shown_names
                assert s["school_id"] not in shown_names and s["name"] not in shown_names
                assert not re.search(s["school_id"], to_csv_bytes(overview.schools).decode("utf-8-sig"))
    finally:
        store.close()
        folder.cleanup()


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(datasets())
def test_no_small_provider_or_programme_is_recovered_from_the_providers_page(data):
    schools, rows = data
    store, folder = build(schools, rows)
    try:
        for year in store.academic_years():
            page = views.provider_page(store, FUNDER, WELLCOME, year, AS_OF)
            raw = pd.DataFrame([r for r in rows if r["provider"] or r["programme"]])
            if raw.empty:
                continue
            raw = raw[[engine_year(d) == year for d in raw["activity_date"]]]
            cells = {(p or None, g or None) for p, g in zip(raw["provider"], raw["programme"], strict=True)}
            truth_providers = engine.provider_results(store, WELLCOME, engine.Filters(year=year, as_of=AS_OF))
            truth_programmes = engine.programme_results(store, WELLCOME, engine.Filters(year=year, as_of=AS_OF))
            name_of = dict(zip(truth_providers["provider"], truth_providers["provider"], strict=True))
            small = {("provider", p): frozenset(c for c in cells if c[0] == p)
                     for p, n in zip(truth_providers["provider"], truth_providers["teachers"], strict=True) if n < 5}
            small |= {("programme", g): frozenset(c for c in cells if c[1] == g)
                      for g, n in zip(truth_programmes["programme"], truth_programmes["teachers"], strict=True)
                      if n < 5}
            for copy in ("frame", "csv"):
                providers = page.providers if copy == "frame" else _read_back(page.providers)[0]
                programmes = page.programmes if copy == "frame" else _read_back(page.programmes)[0]
                for measure in ("hours", "activities", "teachers"):
                    equations = []
                    if measure in providers:
                        for p, v in zip(providers["provider"], _numbers(providers, measure), strict=True):
                            if not np.isnan(v):
                                equations.append((frozenset(c for c in cells if c[0] == name_of[p]), v))
                    if measure in programmes:
                        for g, v in zip(programmes["programme"], _numbers(programmes, measure), strict=True):
                            if not np.isnan(v):
                                equations.append((frozenset(c for c in cells if c[1] == g), v))
                    assert recoverable(equations, small) == {}, (copy, measure)
            for frame, small_key in ((page.providers, "provider"), (page.programmes, "programme")):
                for label, teachers in zip(frame[small_key], frame["teachers"], strict=True):
                    if (small_key, label) in small:
                        assert teachers == SUPPRESSED
            limited = page.providers["kitemark_limited_by"].astype(str)
            assert not limited.str.contains(r"\(\d\)").any()  # "Fewer than 5 teachers ... (3)" never shown
    finally:
        store.close()
        folder.cleanup()


def engine_year(date: dt.date) -> str:
    start = date.year if date.month >= 9 else date.year - 1
    return f"{start}/{str(start + 1)[2:]}"


# ------------------------------------------------------------------ a concrete attack, end to end

@pytest.fixture
def small_nursery(store, load):
    rows = [activity(school_id="100001", teacher_id=f"A{i}", hours=6) for i in range(12)]
    rows += [activity(school_id="100002", teacher_id=f"B{i}", hours=4) for i in range(7)]
    rows += [activity(school_id="100003", teacher_id=f"C{i}", hours=3, collaboration="N") for i in range(3)]
    rows += [activity(school_id="100004", teacher_id="D0", hours=2, activity_date=dt.date(2018, 10, 1))]
    load(rows)
    register(store, schools_register([("100001", "Ash Secondary", "secondary", "Leeds", "Y"),
                                      ("100002", "Beech Primary", "primary", "Leeds", "Y"),
                                      ("100003", "Cedar Nursery", "nursery", "York", "N"),
                                      ("100004", "Damson School", "primary", "York", "N")]))
    return store


def test_the_nursery_is_not_given_back_by_the_year_total(small_nursery):
    overview = views.funder_overview(small_nursery, FUNDER, WELLCOME, YEAR, AS_OF)
    phases = overview.by_phase.set_index("phase")
    assert phases.loc["nursery", "teachers"] == SUPPRESSED and phases.loc["nursery", "hours"] == SUPPRESSED
    # the next-smallest phase goes with it, so year - secondary leaves primary + nursery together
    assert phases.loc["primary", "teachers"] == SUPPRESSED
    assert phases.loc["secondary", "teachers"] == 12 and phases.loc["secondary", "hours"] == 72
    las = overview.by_local_authority.set_index("local_authority")
    assert las.loc["York", "teachers"] == SUPPRESSED and las.loc["Leeds", "teachers"] == SUPPRESSED
    year = overview.by_year.set_index("academic_year")
    assert year.loc["2018/19", "teachers"] == SUPPRESSED and year.loc["2018/19", "hours"] == SUPPRESSED
    assert year.loc[YEAR, "teachers"] == 22 and year.loc[YEAR, "hours"] == 109
    by_school = overview.schools.set_index("school")
    assert by_school.loc["Ash Secondary", "teachers"] == 12
    assert "Cedar Nursery" not in by_school.index and "100003" not in by_school.index
    label = views.school_labels(small_nursery, ["100003"])["100003"]
    assert re.fullmatch(r"School \d+", label) and by_school.loc[label, "teachers"] == SUPPRESSED
    assert by_school.loc[label, "phase"] == "" and by_school.loc[label, "local_authority"] == ""
    assert views.school_labels(small_nursery, ["100003"])["100003"] == label  # stable


def test_the_funder_report_quotes_no_suppressed_figure(small_nursery):
    pdf = reports.funder_report_pdf(small_nursery, FUNDER, WELLCOME, YEAR, "fran", as_of=AS_OF)
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "suppressed in the baseline year 2018/19" in text
    nursery = next(line for line in text.splitlines() if line.startswith("nursery"))
    assert nursery.split()[1:] == [SUPPRESSED] * 6  # schools, teachers, meeting, activities, two shares
    assert "Cedar" not in text and "100003" not in text and "Damson" not in text


def test_champions_are_refused_programme_wide_figures(small_nursery):
    champion = Viewer("champion", school_id="100002")
    with pytest.raises(AccessDenied):
        views.funder_overview(small_nursery, champion, WELLCOME, YEAR, AS_OF)
    with pytest.raises(AccessDenied):
        reports.funder_report_pdf(small_nursery, champion, WELLCOME, YEAR, "chris", as_of=AS_OF)
    with pytest.raises(AccessDenied):
        reports.assessment_xlsx(small_nursery, champion, WELLCOME, YEAR, "chris", as_of=AS_OF)
    with pytest.raises(AccessDenied):
        reports.school_report_pdf(small_nursery, champion, "100001", WELLCOME, YEAR, "chris", as_of=AS_OF)
    with pytest.raises(AccessDenied):
        reports.school_report_pdf(small_nursery, FUNDER, "100001", WELLCOME, YEAR, "fran", as_of=AS_OF)


# ------------------------------------------------------------------ champions: their own school only

@st.composite
def provider_use(draw):
    own = [draw(st.sampled_from([1, 2, 3.5, 6])) for _ in range(draw(st.integers(1, 4)))]
    other = [draw(st.sampled_from([11.25, 13.75, 17.25])) for _ in range(draw(st.integers(1, 6)))]
    return own, other


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(provider_use())
def test_no_champion_output_contains_another_schools_figure(use):
    own, other = use
    rows = [activity(school_id="200001", teacher_id=f"O{i}", hours=h, provider="Small Co", programme="Alpha")
            for i, h in enumerate(own)]
    rows += [activity(school_id="200002", teacher_id=f"X{i}", hours=h, provider="Small Co", programme="Alpha")
             for i, h in enumerate(other)]
    rows += [activity(school_id="200002", teacher_id="Y0", hours=19.75, provider="Other Co", programme="Beta")]
    store, folder = build([{"school_id": "200001", "name": "Own", "phase": "primary", "local_authority": "Leeds",
                            "consent_to_name": "Y"}], rows)
    try:
        champion = Viewer("champion", school_id="200001")
        page = views.provider_page(store, champion, WELLCOME, YEAR, AS_OF)
        assert page.providers["provider"].tolist() == ["Small Co"]
        row = page.providers.iloc[0]
        assert row["teachers"] == len(own) and row["hours"] == pytest.approx(sum(own))
        assert "schools" not in page.providers and "kitemark_limited_by" not in page.providers
        assert page.programmes["programme"].tolist() == ["Alpha"]
        assert page.programmes.iloc[0]["teachers"] == len(own)
        assert page.programmes.iloc[0]["hours"] == pytest.approx(sum(own))
        everything = "\n".join(to_csv_bytes(f).decode("utf-8-sig") for f in (page.providers, page.programmes))
        # other-school hours are quarter hours; own-school hours never are, alone or summed
        assert not re.search(r"\d\.(25|75)\b", everything), everything
        for text in ("X0", "Y0", "Beta", "Other Co", "200002"):
            assert text not in everything
        board = views.school_dashboard(store, champion, "200001", WELLCOME, YEAR, as_of=AS_OF)
        assert set(board.teachers["school_id"]) == {"200001"}
        assert board.provider_mix["hours"].sum() == pytest.approx(sum(own))
    finally:
        store.close()
        folder.cleanup()


def test_a_champions_school_report_has_no_other_schools_rows(small_nursery):
    champion = Viewer("champion", school_id="100002")
    pdf = reports.school_report_pdf(small_nursery, champion, "100002", WELLCOME, YEAR, "chris", as_of=AS_OF)
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "B0" in text and "Beech Primary" in text
    assert not re.search(r"\b[ACD]\d\b", text) and "Ash" not in text and "Cedar" not in text


def test_xlsx_download_of_a_suppressed_table_keeps_the_marker_as_text(small_nursery):
    overview = views.funder_overview(small_nursery, FUNDER, WELLCOME, YEAR, AS_OF)
    book = openpyxl.load_workbook(io.BytesIO(to_xlsx_bytes({"phase": overview.by_phase})))
    values = [[c.value for c in row] for row in book["phase"].iter_rows(min_row=2)]
    nursery = next(v for v in values if v[0] == "nursery")
    assert nursery[1:] == [SUPPRESSED] * 7


# ------------------------------------------------------------------ re-identifying a pseudonym

@pytest.fixture
def lone_special(store, load):
    """One unnamed special school (9 teachers), alone in its phase; three unnamed primaries in York."""
    sizes = {"300001": 12, "300002": 7, "300003": 9, "300004": 8, "300005": 6, "300006": 10}
    rows = [activity(school_id=s, teacher_id=f"T{i}", hours=5, collaboration="Y" if i % 2 else "N")
            for s, n in sizes.items() for i in range(n)]
    load(rows)
    register(store, schools_register([("300001", "Ash Secondary", "secondary", "Leeds", "Y"),
                                      ("300002", "Beech Primary", "primary", "Leeds", "Y"),
                                      ("300003", "Cedar Special", "special", "York", "N"),
                                      ("300004", "Elm Primary", "primary", "York", "N"),
                                      ("300005", "Fir Primary", "primary", "York", "N"),
                                      ("300006", "Gorse Primary", "primary", "Leeds", "N")]))
    return store


def _links(store: Store, overview: views.FunderOverview) -> dict:
    public = store.query_df("SELECT school_id, name, phase, local_authority, consent_to_name FROM schools")
    return link_attack(public, set(public["school_id"]), overview,
                       views.school_labels(store, public["school_id"].tolist()))


def test_a_lone_unnamed_school_is_not_tied_to_its_phase_or_local_authority(lone_special, monkeypatch):
    overview = views.funder_overview(lone_special, FUNDER, WELLCOME, YEAR, AS_OF)
    phases = overview.by_phase.set_index("phase")
    las = overview.by_local_authority.set_index("local_authority")
    # special holds one unnamed school, Leeds one (Gorse): either row would name it by subtraction
    assert phases.loc["special", "teachers"] == SUPPRESSED and phases.loc["special", "schools"] == SUPPRESSED
    assert las.loc["Leeds", "teachers"] == SUPPRESSED
    assert _links(lone_special, overview) == {}
    # without the rule the attack works: the special phase's 9 teachers are Cedar's label
    monkeypatch.setattr(disclosure, "FEW_UNNAMED", 1)
    leaky = views._funder_overview(lone_special, WELLCOME, YEAR, AS_OF, None)
    cedar = views.school_labels(lone_special, ["300003"])["300003"]
    assert _links(lone_special, leaky)[("phase", "special")] == (cedar,)


def test_a_group_needs_one_or_two_unnamed_schools_to_be_held_back():
    assert [disclosure.links_pseudonym(n, 6, 10) for n in range(5)] == [False, True, True, False, False]
    # a group of every school released, or of schools whose phase is not known, names nothing public
    assert not disclosure.links_pseudonym(1, 10, 10) and not disclosure.links_pseudonym(1, 6, 10, False)
    rows = [Row(("phase", "a"), 30, {"s": frozenset({1, 2, 3})}, links_pseudonym=True),
            Row(("phase", "b"), 40, {"s": frozenset({4, 5})}),
            Row(("phase", "c"), 50, {"s": frozenset({6})})]
    # big enough, yet held back; the next-smallest phase goes with it (no total here to difference)
    assert protect(rows) == {("phase", "a")}
    total = Row(("year",), 120, {"s": frozenset(range(1, 7))}, total=True)
    assert protect([*rows, total]) == {("phase", "a"), ("phase", "b")}


# ------------------------------------------------------------------ two releases side by side

def test_a_provider_hidden_in_one_years_release_is_hidden_in_every_years_trend(store, load):
    """A funder opens Providers for 2019/20, then for 2020/21: each page's trend table shows every year's
    provider rows, so both must hide the same ones. In 2019/20 Qco (10 teachers) is hidden to protect Pco
    (3 teachers) from 'Gprog minus Qco'; the 2020/21 page showed Qco's 10, and Gprog's 13 gave Pco's 3."""
    rows = [activity(school_id="100001", teacher_id=f"P{i}", hours=3, provider="Pco", programme="Gprog")
            for i in range(3)]
    rows += [activity(school_id="100002", teacher_id=f"Q{i}", hours=4, provider="Qco", programme="Gprog")
             for i in range(10)]
    rows += [activity(school_id="100002", teacher_id=f"R{i}", hours=5, provider="Qco",
                      activity_date=dt.date(2020, 10, 1)) for i in range(8)]
    load(rows)
    as_of = dt.date(2021, 9, 1)
    first = views.provider_page(store, FUNDER, WELLCOME, "2019/20", as_of)
    later = views.provider_page(store, FUNDER, WELLCOME, "2020/21", as_of)
    assert first.programmes.set_index("programme").loc["Gprog", "teachers"] == 13
    for page in (first, later):
        trend = page.trend.set_index(["provider", "academic_year"])
        assert trend.loc[("Pco", "2019/20"), "teachers"] == SUPPRESSED
        assert trend.loc[("Qco", "2019/20"), "teachers"] == SUPPRESSED
        assert trend.loc[("Qco", "2019/20"), "share_hours_all_aspects"] == SUPPRESSED
        assert trend.loc[("Qco", "2020/21"), "teachers"] == 8
    assert later.providers.set_index("provider").loc["Qco", "hours"] == 40
    # the whole-programme release (every year at once, through the API) hides them too
    everything = views.provider_page(store, FUNDER, WELLCOME, None, as_of).trend
    everything = everything.set_index(["provider", "academic_year"])
    assert everything.loc[("Qco", "2019/20"), "teachers"] == SUPPRESSED


def _beech_and_cedar_beside(store, load, school: tuple, rows: list[dict], registered: list[str]):
    """The funder overview of Beech (10 teachers) and Cedar (6) beside `school` (code, name, phase, LA), whose
    `rows` are logged and whose `registered` staff codes are on its Teachers sheet."""
    rows = rows + [activity(school_id="100002", teacher_id=f"B{i}", hours=4) for i in range(10)]
    rows += [activity(school_id="100003", teacher_id=f"C{i}", hours=4, collaboration="N") for i in range(6)]
    teachers = [{"teacher_id": t, "school_id": school[0], "role": "teacher", "career_stage": "ECT", "fte": 1}
                for t in registered]
    load({"Log": rows, "Teachers": teachers}, accept_reference_changes=True)
    register(store, schools_register([(*school, "Y"), ("100002", "Beech Primary", "primary", "Leeds", "Y"),
                                      ("100003", "Cedar Secondary", "secondary", "York", "Y")]))
    return views.funder_overview(store, FUNDER, WELLCOME, YEAR, AS_OF)


def test_teachers_on_the_register_with_no_records_do_not_make_a_school_big_enough_to_show(store, load):
    """One teacher logs 7.25 h; four more are on the school's Teachers sheet with nothing logged. The school
    counts 5 teachers, but every figure of its row (hours, activities, shares) is that one teacher's, so the
    row is a small cell: it was shown, and the year's hours minus the other two schools' gave her 7.25 h."""
    overview = _beech_and_cedar_beside(store, load, ("100001", "Ash Primary", "primary", "Leeds"),
                                       [activity(school_id="100001", teacher_id="A0", hours=7.25)],
                                       [f"A{i}" for i in range(5)])
    by_school = overview.schools.set_index("school")
    assert by_school.loc["Ash Primary"].drop(["phase", "local_authority"]).tolist() == [SUPPRESSED] * 3
    assert by_school.loc["Cedar Secondary", "teachers"] == 6
    # and no sum of what is shown gives her row back: the attack of the random programmes, groups judged
    # by the teachers who logged something
    truth = engine.school_results(store, WELLCOME, engine.Filters(as_of=AS_OF))
    truth["teachers"] = truth["teachers"] - truth["teachers_without_records"]
    public = store.query_df("SELECT school_id, name, phase, local_authority FROM schools")
    frames = {"by_year": overview.by_year, "by_phase": overview.by_phase, "by_la": overview.by_local_authority,
              "schools": overview.schools, "quadrant": overview.quadrant, "labels": {}}
    assert attack_overview(truth, public, frames) == {}


def test_a_school_of_three_registered_teachers_who_logged_nothing_is_still_a_small_cell(store, load):
    """Judging a row by the teachers who logged something must not release a row nobody logged in: a school of
    3 registered teachers with no records this year (one logged last year) is a figure about 3 people, and is
    not a row of the year at all, nor counted in its phase."""
    overview = _beech_and_cedar_beside(
        store, load, ("100004", "Damson Primary", "primary", "York"),
        [activity(school_id="100004", teacher_id="D0", hours=4, activity_date=dt.date(2018, 10, 1))],
        [f"D{i}" for i in range(3)])
    by_school = overview.schools.set_index("school")
    assert set(by_school.index) == {"Beech Primary", "Cedar Secondary"}
    assert overview.by_phase["teachers"].tolist() == [10, 6]


def test_the_every_year_release_hides_no_provider_year_a_single_year_shows(store, load):
    """The every-year release (programmes summed over years) and each year's release, read side by side: Xprog
    (teachers A0 and F0, one a year) is hidden everywhere, yet the every-year page hid Pco's 2018/19 row to
    protect it while the 2018/19 page showed that row, and Pco 2018/19 + Pco 2019/20 - Zprog (every year) gave
    Xprog's hours."""
    rows = []
    for date, prefix in ((dt.date(2018, 10, 1), "A"), (dt.date(2019, 10, 1), "F")):
        rows += [activity(school_id="100001", teacher_id=f"{prefix}{i}", hours=2, provider="Pco", programme="Zprog",
                          activity_date=date) for i in range(5)]
        rows.append(activity(school_id="100001", teacher_id=f"{prefix}0", hours=7, provider="Pco",
                             programme="Xprog", activity_date=date))
    load(rows)
    as_of = dt.date(2021, 9, 1)
    pages = [views.provider_page(store, FUNDER, WELLCOME, y, as_of) for y in (None, "2018/19", "2019/20")]
    everything = pages[0]
    assert everything.programmes.set_index("programme").loc["Xprog", "hours"] == SUPPRESSED
    shown: dict = {}
    for page in pages:
        for _, row in page.trend.iterrows():
            if row["teachers"] != SUPPRESSED:
                shown[(row["provider"], row["academic_year"])] = row
        for _, row in page.providers.iterrows():
            if row["hours"] != SUPPRESSED:
                shown[("hours", row["provider"], row["academic_year"])] = row["hours"]
    zprog = everything.programmes.set_index("programme").loc["Zprog", "hours"]
    pco = [shown.get(("hours", "Pco", y)) for y in ("2018/19", "2019/20")]
    # Xprog's 14 hours are not Pco's two years less Zprog's, from what the pages show
    assert SUPPRESSED in (zprog,) or None in pco or sum(pco) - zprog != 14
    # and every page hides the same provider-years
    hidden = [{(r["provider"], r["academic_year"]) for _, r in p.trend.iterrows() if r["teachers"] == SUPPRESSED}
              for p in pages]
    assert hidden[0] == hidden[1] == hidden[2]
