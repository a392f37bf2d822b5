"""The funder's Programme overview and Providers page to the end of a term, on a hand-built database."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from qa import engine, schema, views
from qa.access import Viewer
from qa.disclosure import SUPPRESSED
from qa.framework import load_framework
from qa.store import Store
from tests.conftest import activity, workbook_bytes
from tests.test_app import PAGES, app, metrics, texts
from tests.test_disclosure import recoverable

AUTUMN_19, SPRING_20, SUMMER_20 = dt.date(2019, 10, 1), dt.date(2020, 2, 1), dt.date(2020, 5, 1)
AUTUMN, SPRING, SUMMER = dt.date(2020, 10, 1), dt.date(2021, 2, 1), dt.date(2021, 5, 1)
AS_OF = dt.date(2021, 9, 1)


def build(path, summer_only_first_year: bool = False):
    """2019/20 (baseline) and 2020/21 at schools A (6 teachers to Spring, a 7th only in Summer), B (5) and
    C (2: suppressed); Summer activities that would change every figure if they were counted."""
    from qa.ingest import ingest_bytes

    rows = []
    # 2019/20 to Spring: A1..A6 10 h in Autumn (A3..A6 without DfE 1), A1 and A2 20 h more in Spring
    rows += [activity(school_id="A", teacher_id=f"A{i}", hours=10, activity_date=AUTUMN_19,
                      pupil_outcomes="Y" if i <= 2 else "N") for i in range(1, 7)]
    rows += [activity(school_id="A", teacher_id=f"A{i}", hours=20, activity_date=SPRING_20) for i in (1, 2)]
    rows += [activity(school_id="A", teacher_id=f"A{i}", hours=30, activity_date=SUMMER_20) for i in range(3, 7)]
    # 2020/21 to Spring
    for i in range(1, 7):  # A1..A3: 12 + 12 h (on track for 23.3 h); A4..A6: 5 + 5 h
        hours = 12 if i <= 3 else 5
        rows += [activity(school_id="A", teacher_id=f"A{i}", hours=hours, activity_date=day)
                 for day in (AUTUMN, SPRING)]
    rows += [activity(school_id="A", teacher_id="A1", hours=20, activity_date=SUMMER),
             activity(school_id="A", teacher_id="A7", hours=40, activity_date=SUMMER)]
    for i in range(1, 6):  # B: 3 + 3 h, the Spring activity not collaborative
        rows += [activity(school_id="B", teacher_id=f"B{i}", hours=3, activity_date=AUTUMN),
                 activity(school_id="B", teacher_id=f"B{i}", hours=3, activity_date=SPRING, collaboration="N"),
                 activity(school_id="B", teacher_id=f"B{i}", hours=40, activity_date=SUMMER)]
    rows += [activity(school_id="C", teacher_id=f"C{i}", hours=30, activity_date=AUTUMN) for i in (1, 2)]
    if summer_only_first_year:
        rows += [activity(school_id="A", teacher_id=f"A{i}", hours=8, activity_date=dt.date(2019, 5, 1))
                 for i in range(1, 7)]
    with Store(path) as store:
        assert ingest_bytes(store, "r.xlsx", workbook_bytes(rows)).status == "accepted"
        ref = workbook_bytes({"Schools": [
            {"school_id": "A", "name": "Abbey", "phase": "primary", "local_authority": "North"},
            {"school_id": "B", "name": "Birch", "phase": "secondary", "local_authority": "North"},
            {"school_id": "C", "name": "Cedar", "phase": "secondary", "local_authority": "South"}]})
        ingest_bytes(store, "ref.xlsx", ref, accept_reference_changes=True)
    return path


@pytest.fixture
def spring_db(tmp_path):
    return build(tmp_path / "spring.duckdb")


def metric_protos(at) -> dict:
    return {m.label: m.proto for m in at.metric}


def chart_specs(at) -> list[str]:
    return [c.proto.spec for c in at.get("plotly_chart")]


def test_programme_overview_to_the_end_of_spring_shows_hand_computed_figures(spring_db, monkeypatch):
    at = app(spring_db, monkeypatch, "funder", year="2020/21", term="Spring")
    assert not at.exception
    # 2020/21 to Spring: A 6 teachers (A1-A3 24 h: on track for 23.3 h), B 5, C 2 (30 h each: on track);
    # A7 and every Summer hour are left out. 5 of 13 on track; 19 of 24 activities with all four aspects.
    got = metrics(at)
    assert got["Schools"] == "3" and got["Teachers"] == "13"
    assert got["On track or meeting"] == "38.5%" and got["All four DfE aspects"] == "79.2%"
    assert "Meeting the criteria" not in got  # to Spring, nobody can have met a whole year's 35 h yet
    # 2019/20 to Spring: 2 of 6 on track (A1, A2: 30 h); 4 of 8 activities with all four aspects
    protos = metric_protos(at)
    assert protos["On track or meeting"].delta == "+5.1 pts since 2019/20"
    assert protos["All four DfE aspects"].delta == "+29.2 pts since 2019/20"
    assert "pilot" not in protos["On track or meeting"].help  # a whole-year pilot figure is no comparison
    assert "2020/21, to the end of Spring" in texts(at) and "every year to the end of Spring" in texts(at)
    by_year = at.dataframe[0].value.set_index("Academic year")
    assert float(by_year.loc["2020/21", "Hours"]) == 192  # the Summer 20 + 40 + 5 × 40 h are not in it
    assert float(by_year.loc["2019/20", "Hours"]) == 100 and int(by_year.loc["2019/20", "Teachers"]) == 6
    assert int(by_year.loc["2020/21", "Teachers meeting or on track"]) == 5
    # suppression still applies to the term's figures: C (2 teachers) is hidden, and so is A: no school
    # consented to be named, and A is the only school of its phase, so its row would tie its label to
    # "primary" (the phase is held back, and A's row with it, as it equals the phase)
    by_school = at.dataframe[-1].value
    assert sorted(by_school["Teachers"].astype(str)) == ["5", "c", "c"]
    assert "each year to the end of Spring" in chart_specs(at)[0]


def test_programme_report_to_the_end_of_spring_says_so_and_uses_the_same_figures(spring_db):
    from qa import reports
    from qa.access import Viewer
    from qa.framework import load_framework
    from tests.test_reports import pdf_text

    with Store(spring_db) as store:
        text = " ".join(pdf_text(reports.funder_report_pdf(store, Viewer("funder"), load_framework("wellcome"),
                                                          "2020/21", "fran", through_term="Spring")).split())
    assert "CPD programme report, 2020/21, to the end of Spring" in text
    assert "every year is shown to the end of Spring" in text
    assert "all four DfE aspects: 79% in 2020/21, to the end of Spring (50% in the baseline year 2019/20" in text
    assert ("meeting the framework's criteria or on pace for them: 38% in 2020/21, to the end of Spring "
            "(33% in the baseline year 2019/20).") in text
    assert "10% of teachers" not in text  # the pilot's whole-year teacher figure is not set beside a year to date


def test_a_baseline_year_with_nothing_to_the_term_chosen_is_said_not_skipped(tmp_path, monkeypatch):
    """2018/19 has Summer returns only: to the end of Spring it has nothing, and no later year stands in."""
    db = build(tmp_path / "late.duckdb", summer_only_first_year=True)
    at = app(db, monkeypatch, "funder", year="2020/21", term="Spring")
    assert not at.exception
    assert ("The baseline year 2018/19 has no activities to the end of Spring, so no change since the baseline "
            "is shown.") in texts(at)
    assert all(not p.delta for p in metric_protos(at).values())
    whole = app(db, monkeypatch, "funder", year="2020/21", term="Summer")
    assert metrics(whole)["Teachers"] == "14" and metric_protos(whole)["Meeting the criteria"].delta


@pytest.mark.parametrize("framework", ["wellcome", "dfe-2016"])
def test_pilot_comparisons_appear_only_under_the_wellcome_framework(spring_db, monkeypatch, framework):
    at = app(spring_db, monkeypatch, "funder", year="2020/21", term="Summer", framework=framework)
    assert not at.exception
    helps = " ".join(p.help for p in metric_protos(at).values())
    assert ("pilot" in helps) == (framework == "wellcome")


@pytest.fixture
def providers_db(tmp_path):
    """Big Co: 6 teachers in both years, Bronze to Spring, pulled below Bronze by Summer's 2-aspect hours.
    Small Co: 6 teachers in 2019/20, 3 in 2020/21 (insufficient evidence, suppressed)."""
    from qa.ingest import ingest_bytes

    rows = []
    for i in range(6):
        rows += [activity(teacher_id=f"T{i}", provider="Big Co", hours=4, activity_date=AUTUMN_19),
                 activity(teacher_id=f"T{i}", provider="Small Co", hours=2, activity_date=AUTUMN_19),
                 activity(teacher_id=f"T{i}", provider="Big Co", hours=4, activity_date=AUTUMN,
                          pupil_outcomes="N" if i < 3 else "Y"),
                 activity(teacher_id=f"T{i}", provider="Big Co", hours=10, activity_date=SUMMER,
                          pupil_outcomes="N", collaboration="N")]
    rows += [activity(teacher_id=f"T{i}", provider="Small Co", hours=2, activity_date=SPRING) for i in range(3)]
    path = tmp_path / "providers.duckdb"
    with Store(path) as store:
        assert ingest_bytes(store, "r.xlsx", workbook_bytes(rows)).status == "accepted"
    return path


def trend_table(at) -> pd.DataFrame:
    [frame] = [f.value for f in at.dataframe if "Academic year" in f.value.columns]
    return frame.set_index(["Provider", "Academic year"])


def test_provider_levels_and_quality_shares_by_year_to_the_end_of_spring(providers_db, monkeypatch):
    at = app(providers_db, monkeypatch, "funder", year="2020/21", term="Spring")
    at.switch_page(f"{PAGES}/providers.py").run()
    assert not at.exception
    trend = trend_table(at)
    assert trend.loc[("Big Co", "2019/20"), "Level"] == "Bronze"
    assert trend.loc[("Big Co", "2020/21"), "Level"] == "Bronze"  # Summer's 60 h of 2 aspects not yet counted
    # a share column holding "c" is shown as text, the shares as percentages
    assert trend.loc[("Big Co", "2020/21"), "Hours with all four aspects"] == "50.0%"  # 12 of 24 h
    assert trend.loc[("Small Co", "2019/20"), "Hours with all four aspects"] == "100.0%"
    assert trend.loc[("Small Co", "2019/20"), "Teachers"] == "6"
    small = trend.loc[("Small Co", "2020/21")]
    assert small["Level"] == "insufficient evidence"
    assert small["Teachers"] == SUPPRESSED and small["Hours with all four aspects"] == SUPPRESSED
    assert "each year to the end of Spring" in texts(at)
    whole = app(providers_db, monkeypatch, "funder", year="2020/21", term="Summer")
    whole.switch_page(f"{PAGES}/providers.py").run()
    big = trend_table(whole).loc[("Big Co", "2020/21")]
    assert big["Level"] == "working towards Bronze"  # 24 of 84 h with 3+ aspects
    assert big["Hours with all four aspects"] == "14.3%"  # 12 of 84 h


def test_champions_get_no_programme_wide_trend(providers_db):
    with Store(providers_db) as store:
        page = views.provider_page(store, Viewer("champion", school_id="S1"), load_framework("wellcome"),
                                   "2020/21", through_term="Spring")
    assert page.trend.empty


DATES = {"2018/19": [dt.date(2018, 10, 1), dt.date(2019, 2, 1), dt.date(2019, 5, 1)],
         "2019/20": [dt.date(2019, 10, 1), dt.date(2020, 2, 1), dt.date(2020, 5, 1)]}


# P2 is only ever in programmes (P2 = Beta + Gamma) and Alpha runs with P1 and P3: where a small
# programme or provider-year equals a shown one minus others, only secondary suppression protects it
PROGRAMMES = {"P1": [None, "Alpha"], "P2": ["Beta", "Gamma"], "P3": [None, "Alpha"]}


@st.composite
def provider_use(draw):
    rows = []
    for school in range(draw(st.integers(1, 3))):
        for year in draw(st.sampled_from([["2019/20"], ["2018/19", "2019/20"]])):
            for t in range(draw(st.integers(1, 7))):
                for _ in range(draw(st.integers(1, 2))):
                    provider = draw(st.sampled_from(["P1", "P2", "P3"]))
                    rows.append(activity(
                        school_id=f"S{school}", teacher_id=f"T{t}", activity_date=draw(st.sampled_from(DATES[year])),
                        hours=draw(st.sampled_from([1, 2, 3.5, 6])), provider=provider,
                        programme=draw(st.sampled_from(PROGRAMMES[provider])),
                        pupil_outcomes=draw(st.sampled_from(["Y", "N"]))))
    return rows, draw(st.sampled_from([None, "Autumn", "Spring"]))


def _numbers(values: pd.Series) -> pd.Series:
    return pd.to_numeric(values.where(values.astype(str) != SUPPRESSED), errors="coerce")


# the case secondary suppression exists for, always tried: Beta (2 teachers) = P2 (7) - Gamma (5)
LEAKY = ([activity(school_id="S0", teacher_id=f"T{i}", provider="P2", programme="Gamma", hours=2,
                   activity_date=DATES["2019/20"][0]) for i in range(5)]
         + [activity(school_id="S0", teacher_id=f"U{i}", provider="P2", programme="Beta", hours=3.5,
                     activity_date=DATES["2019/20"][1]) for i in range(2)], "Spring")


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(provider_use())
@example(LEAKY)
def test_no_small_provider_year_is_recovered_from_the_trend_beside_the_year_table(data):
    """The attacker sets every teacher, hours and all-four-hours figure of the Providers page (the year's
    table, the trend of every year, the programmes) as equations over (year, provider, programme) cells."""
    rows, term = data
    wellcome = load_framework("wellcome")
    with tempfile.TemporaryDirectory() as folder, Store(Path(folder) / "t.duckdb") as store:
        from qa.ingest import ingest_bytes

        ingest_bytes(store, "r.xlsx", workbook_bytes(rows))
        kept = [r for r in rows if term is None
                or schema.term_index(schema.term_of(r["activity_date"])) <= schema.term_index(term)]
        cells = {(schema.academic_year_of(r["activity_date"]), r["provider"], r["programme"]) for r in kept}
        truth = engine.provider_results(store, wellcome, engine.Filters(as_of=AS_OF, through_term=term))
        for year in store.academic_years():
            page = views.provider_page(store, Viewer("funder"), wellcome, year, AS_OF, term)
            programmes = engine.programme_results(store, wellcome, engine.Filters(year=year, as_of=AS_OF,
                                                                                  through_term=term))
            small = {("provider", p, y): frozenset(c for c in cells if c[:2] == (y, p))
                     for p, y, n in zip(truth["provider"], truth["academic_year"], truth["teachers"], strict=True)
                     if n < 5}
            small |= {("programme", g): frozenset(c for c in cells if c[0] == year and c[2] == g)
                      for g, n in zip(programmes["programme"], programmes["teachers"], strict=True) if n < 5}
            # every small provider-year of the trend shows nothing but its (public) level
            for (_, p, y) in [k for k in small if k[0] == "provider"]:
                shown = page.trend[(page.trend["provider"] == p) & (page.trend["academic_year"] == y)].iloc[0]
                assert shown["teachers"] == SUPPRESSED and shown["share_hours_all_aspects"] == SUPPRESSED
            year_table = page.providers.assign(
                all_four=_numbers(page.providers["hours"]) * _numbers(page.providers["share_hours_all_aspects"]))
            for measure, frames in (("teachers", [(page.trend, "teachers"), (page.providers, "teachers")]),
                                    ("hours", [(page.providers, "hours")]),
                                    ("all four", [(year_table, "all_four")])):
                equations = []
                for frame, column in frames:
                    for p, y, v in zip(frame["provider"], frame["academic_year"], _numbers(frame[column]),
                                       strict=True):
                        if not np.isnan(v):
                            equations.append((frozenset(c for c in cells if c[:2] == (y, p)), v))
                if measure != "all four":
                    for g, v in zip(page.programmes["programme"], _numbers(page.programmes[measure]), strict=True):
                        if not np.isnan(v):
                            equations.append((frozenset(c for c in cells if c[0] == year and c[2] == g), v))
                assert recoverable(equations, small) == {}, measure


def test_to_the_end_of_autumn_a_programme_is_not_sustained_by_its_summer_sessions(tmp_path):
    """At the end of Autumn nobody knows the course will run on into Summer: its Autumn hours are one term's."""
    from qa.ingest import ingest_bytes

    rows = [activity(teacher_id=f"T{i}", provider="P", programme="Course", hours=5, activity_date=day)
            for i in range(5) for day in (AUTUMN, SUMMER)]
    with Store(tmp_path / "x.duckdb") as store:
        ingest_bytes(store, "r.xlsx", workbook_bytes(rows))
        wellcome = load_framework("wellcome")
        autumn = engine.school_results(store, wellcome, engine.Filters(year="2020/21", as_of=AS_OF,
                                                                       through_term="Autumn")).iloc[0]
        year = engine.school_results(store, wellcome, engine.Filters(year="2020/21", as_of=AS_OF)).iloc[0]
    assert autumn["hours_collaborative_sustained"] == 0 and autumn["hours_collaborative_only"] == 25
    assert year["hours_collaborative_sustained"] == 50  # by the year's end it did run over two terms


def test_a_level_judged_from_fewer_than_5_teachers_is_shown_to_evaluators_only(providers_db):
    """An evaluator may lower the rubric's minimum to 2 teachers; a level is then a figure of a small group
    (Small Co's 3 teachers in 2020/21 logged only hours with all four aspects), which funders and champions
    of other schools must not see: to them it stays "insufficient evidence", in every table and count."""
    from qa.framework import INSUFFICIENT_EVIDENCE, KITEMARK_FRAMEWORK, save_version

    wellcome = load_framework("wellcome")
    with Store(providers_db) as store:
        kitemark = load_framework(KITEMARK_FRAMEWORK, store)
        save_version(store, kitemark.model_copy(update={"kitemark": kitemark.kitemark.model_copy(
            update={"min_teachers": 2})}), "evaluator")
        pages = {role: views.provider_page(store, Viewer(role, school_id="S1" if role == "champion" else None),
                                           wellcome, "2020/21", AS_OF, "Spring")
                 for role in ("evaluator", "funder", "champion")}
        overview = views.funder_overview(store, Viewer("funder"), wellcome, "2020/21", AS_OF, "Spring")

    def level(frame: pd.DataFrame, year: str = "2020/21") -> str:
        return frame[(frame["provider"] == "Small Co") & (frame["academic_year"] == year)]["kitemark_level"].iloc[0]

    assert level(pages["evaluator"].providers) not in (INSUFFICIENT_EVIDENCE, "working towards Bronze")
    assert level(pages["funder"].providers) == INSUFFICIENT_EVIDENCE
    assert level(pages["funder"].trend) == INSUFFICIENT_EVIDENCE
    assert level(pages["funder"].trend, "2019/20") != INSUFFICIENT_EVIDENCE  # 6 teachers: judged for everyone
    assert level(pages["champion"].providers) == INSUFFICIENT_EVIDENCE
    counts = overview.provider_levels.set_index("kitemark_level")["providers"]
    assert counts[INSUFFICIENT_EVIDENCE] == 1 and counts.sum() == 2  # Big Co and Small Co
