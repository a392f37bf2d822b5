"""The champion's School dashboard on a hand-built database: where each teacher's hours went, next steps
(the PDF's words), the DfE 5 attestation, recognitions, provider use and KPI cards that agree."""

import datetime as dt
import io
import re

import pytest
import streamlit as st
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs
from pypdf import PdfReader

from qa.labels import label
from qa.store import Store
from tests.conftest import activity, workbook_bytes
from tests.test_app import app, metrics, texts

AUTUMN, AUTUMN_LATER, SPRING = dt.date(2019, 10, 1), dt.date(2019, 11, 5), dt.date(2020, 1, 15)
A1_SPRING = ("20.0 h logged. 4.0 h without all four DfE aspects (lacking collaboration (DfE 3) 4.0 h), leaving "
             "16.0 h of quality CPD. 6.0 h of that not aligned to the teacher's needs, leaving 10.0 h. 10.0 h "
             "counted. Short of the 23.3 h target to date by 13.3 h.")
STEPS_SPRING = [
    "2 of 3 teachers are behind the pace for '35 counted hours a year' (counted hours at least 35.0 h, "
    "academic year).",
    "1 of 3 teachers are behind the pace for 'Most counted hours subject-specific' (subject-specific share of "
    "counted hours at least 50%, academic year).",
    # Autumn: 46 of 49 h with collaboration... all 49; Spring: 10 of 14 h. Mean (100% + 71.4%) / 2 = 86%.
    "The least covered aspect is DfE 3: collaboration and expert challenge: 86% of hours on average across terms.",
]


@pytest.fixture(autouse=True)
def fresh_cache():
    st.cache_resource.clear()
    yield
    st.cache_resource.clear()


@pytest.fixture
def champ_db(tmp_path):
    """School C1 (Cedar), three teachers in 2019/20 and two in the baseline year 2018/19; C2 another school.

    A1 fails on alignment and on one aspect: 10 h counted, 6 h all four aspects but not aligned, 4 h aligned
    but without collaboration. A2 earns the Subject Lead Award (30 h in Autumn, the second term in Spring).
    A3 has zero counted hours: 3 h, not aligned and without pupil outcomes.
    """
    from qa.ingest import ingest_bytes

    path = tmp_path / "champ.duckdb"
    lead = {"provider": "Big Co", "programme": "Subject Leads"}
    rows = [activity(school_id="C1", teacher_id="A1", hours=10, activity_date=AUTUMN),
            activity(school_id="C1", teacher_id="A1", hours=6, activity_date=AUTUMN_LATER, aligned_to_needs="N"),
            activity(school_id="C1", teacher_id="A1", hours=4, activity_date=SPRING, collaboration="N"),
            activity(school_id="C1", teacher_id="A2", hours=30, activity_date=AUTUMN, **lead),
            activity(school_id="C1", teacher_id="A2", hours=10, activity_date=SPRING, **lead),
            activity(school_id="C1", teacher_id="A3", hours=3, activity_date=AUTUMN, aligned_to_needs="N",
                     pupil_outcomes="N"),
            # the baseline year: A1 on track by Spring (25 h >= 23.3 h) but short of 35 h at the year's end
            activity(school_id="C1", teacher_id="A1", hours=25, activity_date=dt.date(2018, 10, 1)),
            activity(school_id="C1", teacher_id="A2", hours=40, activity_date=dt.date(2018, 10, 2)),
            activity(school_id="C2", teacher_id="Z1", hours=30, activity_date=AUTUMN, **lead),
            activity(school_id="C2", teacher_id="Z1", hours=12, activity_date=SPRING, **lead)]
    reference = {
        "Schools": [{"school_id": "C1", "name": "Cedar"}, {"school_id": "C2", "name": "Oakfield Secret"},
                    {"school_id": "C3", "name": "Newcomer"}],
        "Providers": [{"provider": "Big Co", "quality_mark": "Quality Mark", "quality_mark_level": "Gold",
                       "expires_on": dt.date(2099, 1, 1)}],
        "Programmes": [{"programme": "Subject Leads", "provider": "Big Co", "accrediting_body": "Chartered College",
                        "min_hours": 30, "min_terms": 2, "recognition_title": "Subject Lead Award"}],
        "Attestations": [{"school_id": "C1", "academic_year": "2019/20", "leadership_prioritised": "Y"}],
    }
    with Store(path) as store:
        for name, sheet in reference.items():
            assert ingest_bytes(store, f"{name}.xlsx", workbook_bytes({name: sheet}),
                                accept_reference_changes=True).status == "accepted", name
        assert ingest_bytes(store, "returns.xlsx", workbook_bytes(rows)).status == "accepted"
    return path


def teachers_table(at):
    return next(d.value for d in at.dataframe if label("where_hours_went") in d.value).set_index(label("teacher_id"))


def test_breakdown_of_a_teacher_failing_on_alignment_and_one_aspect(champ_db, monkeypatch):
    at = app(champ_db, monkeypatch, "champion", champion_school="C1", year="2019/20", term="Spring")
    assert not at.exception
    table = teachers_table(at)
    a1 = table.loc["A1"]
    assert (a1[label("total_hours")], a1[label("quality_hours")], a1[label("aligned_hours")],
            a1[label("counted_hours")]) == (20, 16, 10, 10)
    assert a1[label("target_hours")] == pytest.approx(35 * 2 / 3)
    assert a1[label("shortfall_hours")] == pytest.approx(35 * 2 / 3 - 10)
    assert a1[label("where_hours_went")] == A1_SPRING
    assert f"**A1** (needs support): {A1_SPRING}" in texts(at)  # the first teacher, in full below the table
    assert table.loc["A3", label("where_hours_went")] == (
        "3.0 h logged. 3.0 h without all four DfE aspects (lacking pupil outcomes (DfE 1) 3.0 h), leaving 0.0 h "
        "of quality CPD. 0.0 h counted. Short of the 23.3 h target to date by 23.3 h.")
    assert table.loc["A2", label("where_hours_went")].endswith("40.0 h counted. Reaches the 23.3 h target to date.")
    whole = teachers_table(app(champ_db, monkeypatch, "champion", champion_school="C1", year="2019/20"))
    assert whole.loc["A1", label("where_hours_went")].endswith("Short of the 35.0 h target for the year by 25.0 h.")


def pdf_text(db, year, term):
    from qa import reports
    from qa.access import Viewer
    from qa.framework import load_framework

    with Store(db) as store:
        data = reports.school_report_pdf(store, Viewer("champion", "c", "C1"), "C1",
                                         load_framework("wellcome", store), year, "c", through_term=term)
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    # without the page footers, which can fall in the middle of a sentence
    return re.sub(r"CPD report: [^|]{0,80}\| Framework: [^|]*\| page \d+ ?", "", " ".join(text.split()))


def test_next_steps_and_attestation_say_what_the_pdf_says(champ_db, monkeypatch):
    at = app(champ_db, monkeypatch, "champion", champion_school="C1", year="2019/20", term="Spring")
    shown = texts(at)
    assert all(step in shown for step in STEPS_SPRING)
    attested = ("DfE 5, professional development prioritised by school leadership (2019/20): yes, attested by "
                "the school.")
    assert attested in shown
    pdf = pdf_text(champ_db, "2019/20", "Spring")
    for step in [*STEPS_SPRING, attested]:
        assert " ".join(step.split()) in pdf
    earlier = app(champ_db, monkeypatch, "champion", champion_school="C1", year="2018/19")
    assert ("DfE 5, professional development prioritised by school leadership (2018/19): no attestation recorded. "
            "Add one on the Attestations sheet of the termly return.") in texts(earlier)


def test_recognitions_and_provider_use_are_the_schools_own(champ_db, monkeypatch):
    at = app(champ_db, monkeypatch, "champion", champion_school="C1", year="2019/20")
    earned = next(d.value for d in at.dataframe if label("earned_on") in d.value)
    assert earned.to_dict("records") == [{label("teacher_id"): "A2", label("programme"): "Subject Leads",
                                          label("provider"): "Big Co",
                                          label("recognition_title"): "Subject Lead Award",
                                          label("earned_on"): dt.date(2020, 1, 15)}]  # hours in Autumn, 2nd term
    use = next(d.value for d in at.dataframe if "Your teachers" in d.value).set_index(label("provider"))
    assert use.loc["Big Co", ["Your teachers", "Your hours", "Your activities"]].tolist() == [1, 40, 2]
    assert use.loc["Big Co", label("kitemark_level")] == "insufficient evidence"  # 2 teachers programme-wide
    assert use.loc["Big Co", label("quality_mark_status")] == "current"
    every_cell = " ".join(str(v) for d in at.dataframe for v in d.value.to_numpy().ravel())
    assert "Z1" not in every_cell + texts(at) and "Oakfield" not in every_cell + texts(at)
    autumn = app(champ_db, monkeypatch, "champion", champion_school="C1", year="2019/20", term="Autumn")
    assert "No teacher has reached a programme's recognition in 2019/20, to the end of Autumn." in texts(autumn)


def test_kpi_cards_speak_of_on_track_mid_year_and_meeting_at_year_end(champ_db, monkeypatch):
    # Spring: A2 on track (40 h >= 23.3 h), A1 and A3 not: 1 of 3. Baseline to Spring 2018/19: A1 25 h and
    # A2 40 h both on track, 100%. (Comparing "meeting" instead would say 33% - 50% = -17 pts.)
    spring = metrics(app(champ_db, monkeypatch, "champion", champion_school="C1", year="2019/20", term="Spring"))
    assert spring["On track"] == "1 (33%)" and "Meet the criteria" not in spring
    assert spring["Change since 2018/19"] == "-67 pts"
    assert re.search(r"On track 1 \(33%\).*Change since 2018/19 -67 pts", pdf_text(champ_db, "2019/20", "Spring"))
    # Year end: only A2 meets 35 h (1 of 3); in 2018/19 A2 of A1 and A2 (50%).
    year_end = metrics(app(champ_db, monkeypatch, "champion", champion_school="C1", year="2019/20"))
    assert year_end["Meet the criteria"] == "1 (33%)" and "On track" not in year_end
    assert year_end["Change since 2018/19"] == "-17 pts"
    first = metrics(app(champ_db, monkeypatch, "champion", champion_school="C1", year="2018/19"))
    assert first["Change since baseline"] == "–"


def test_hurried_champions_school_with_no_returns_and_a_school_with_one_teacher(champ_db, monkeypatch):
    empty = app(champ_db, monkeypatch, "champion", champion_school="C3", year="2019/20")
    assert not empty.exception
    assert "No activities recorded for Newcomer in 2019/20, whole year. Upload the school's termly return." \
        in texts(empty)
    one = app(champ_db, monkeypatch, "evaluator", school="C2", year="2019/20", term="Spring")
    assert not one.exception
    assert metrics(one)["On track"] == "1 (100%)" and metrics(one)["Change since baseline"] == "–"
    assert teachers_table(one).loc["Z1", label("where_hours_went")] == (
        "42.0 h logged. All of it has all four DfE aspects. 42.0 h counted. Reaches the 23.3 h target to date.")


def test_whole_year_view_of_a_year_in_progress_compares_the_baseline_to_the_same_term(champ_db):
    from qa import champion, views
    from qa.access import Viewer
    from qa.framework import load_framework

    with Store(champ_db) as store:
        board = views.school_dashboard(store, Viewer("champion", "c", "C1"), "C1", load_framework("wellcome", store),
                                       "2019/20", as_of=dt.date(2020, 2, 10))  # in Spring, no term chosen
        assert board.baseline_span == "Spring"
        assert champion.headline(board.summary).label == "On track"
        assert champion.change_since_baseline(board.summary, board.baseline) == pytest.approx(100 / 3 - 100)
        early = views.school_dashboard(store, Viewer("champion", "c", "C1"), "C1", load_framework("wellcome", store),
                                       "2019/20", as_of=dt.date(2019, 8, 1))  # before the year begins
        assert champion.change_since_baseline(early.summary, early.baseline) is None
        # to the end of Summer while the year is in Spring: the year so far, beside the baseline to Spring
        summer = views.school_dashboard(store, Viewer("champion", "c", "C1"), "C1", load_framework("wellcome", store),
                                        "2019/20", through_term="Summer", as_of=dt.date(2020, 2, 10))
        assert summer.baseline_span == "Spring" and champion.headline(summer.summary).label == "On track"
        assert summer.progress["term"].tolist() == ["Autumn", "Spring"]  # Summer not begun: nothing to chart
        assert champion.change_since_baseline(summer.summary, summer.baseline) == pytest.approx(100 / 3 - 100)


ASPECTS = ("pupil_outcomes", "evidence_based", "collaboration", "sustained")
DATES = {"Autumn": AUTUMN, "Spring": SPRING, "Summer": dt.date(2020, 5, 10)}


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=hs.lists(hs.tuples(hs.sampled_from(["A", "B"]), hs.sampled_from([0.5, 1.0, 2.5, 4.0, 10.0, 20.0]),
                               hs.booleans(), hs.tuples(*[hs.booleans()] * 4), hs.sampled_from(list(DATES))),
                     min_size=1, max_size=10))
def test_breakdown_matches_a_model_of_the_wellcome_rules(tmp_path_factory, rows):
    """For any return: logged >= quality >= aligned = counted (Wellcome), each stage's hours as a model adds
    them up, the hours lacking each aspect, and the shortfall against 35 h x 2/3 by the end of Spring."""
    from qa import champion, engine
    from qa.framework import load_framework
    from qa.ingest import ingest_bytes

    yes = {True: "Y", False: "N"}
    sheet = [activity(teacher_id=t, hours=h, activity_title=f"Activity {i}", aligned_to_needs=yes[aligned],
                      activity_date=DATES[term], **{a: yes[v] for a, v in zip(ASPECTS, flags, strict=True)})
             for i, (t, h, aligned, flags, term) in enumerate(rows)]
    with Store(tmp_path_factory.mktemp("model") / "m.duckdb") as store:
        assert ingest_bytes(store, "r.xlsx", workbook_bytes(sheet)).status == "accepted"
        framework = load_framework("wellcome", store)
        filters = engine.Filters(year="2019/20", through_term="Spring", as_of=dt.date(2026, 1, 1), schools=("S1",))
        got = champion.teacher_breakdown(store, framework, filters).set_index("teacher_id")
        counted = engine.teacher_results(store, framework, filters).set_index("teacher_id")["counted_hours"]
    kept = [r for r in rows if r[4] != "Summer"]
    assert sorted(got.index) == sorted({r[0] for r in kept})
    for teacher in got.index:
        mine = [r for r in kept if r[0] == teacher]
        quality = [r for r in mine if all(r[3])]
        aligned = sum(r[1] for r in quality if r[2])
        row = got.loc[teacher]
        assert row["total_hours"] == pytest.approx(sum(r[1] for r in mine))
        assert row["quality_hours"] == pytest.approx(sum(r[1] for r in quality))
        assert row["aligned_hours"] == pytest.approx(aligned) == row["counted_hours"] == counted[teacher]
        for i, aspect in enumerate(ASPECTS):
            assert row[f"lacking_{aspect}"] == pytest.approx(sum(r[1] for r in mine if not all(r[3]) and not r[3][i]))
        assert row["shortfall_hours"] == pytest.approx(max(35 * 2 / 3 - aligned, 0), abs=1e-6)


def test_a_teacher_on_the_staff_list_with_nothing_logged_and_a_framework_without_an_hours_target(store, load):
    from qa import champion, engine
    from qa.framework import load_framework

    staff = [{"teacher_id": t, "school_id": "S1"} for t in ("Q1", "T1")]
    load(workbook_bytes({"Teachers": staff}), accept_reference_changes=True)
    load([activity(hours=0.5, aligned_to_needs="N")])
    filters = engine.Filters(year="2019/20", as_of=dt.date(2026, 1, 1), schools=("S1",))
    wellcome = champion.teacher_breakdown(store, load_framework("wellcome", store), filters).set_index("teacher_id")
    assert wellcome["where_hours_went"].to_dict() == {
        "Q1": "No CPD recorded. Short of the 35.0 h target for the year by 35.0 h.",
        "T1": "0.5 h logged. All of it has all four DfE aspects. 0.5 h of that not aligned to the teacher's needs, "
              "leaving 0.0 h. 0.0 h counted. Short of the 35.0 h target for the year by 35.0 h."}
    dfe = champion.teacher_breakdown(store, load_framework("dfe-2016", store), filters).set_index("teacher_id")
    # DfE 2016 counts quality hours whether aligned or not, and sets no hours target: no shortfall to report
    assert dfe.loc["T1", "where_hours_went"] == "0.5 h logged. All of it has all four DfE aspects. 0.5 h counted."
    assert dfe["shortfall_hours"].isna().all() and dfe.loc["Q1", "where_hours_went"] == "No CPD recorded."


def test_a_school_code_nobody_has_is_refused_not_reported_as_a_school_with_no_activities(store, load):
    """`cpdqa report school --school 10710` (a digit short) wrote 'CPD report: 10710 (10710)... No CPD activities
    have been recorded for this school' and exited 0: a report about a school that does not exist."""
    from qa import reports, views
    from qa.access import Viewer
    from qa.errors import CpdqaError
    from qa.framework import load_framework

    load([activity(school_id="107100")])
    evaluator, wellcome = Viewer("evaluator"), load_framework("wellcome")
    with pytest.raises(CpdqaError, match="No school with code '10710' is in the Schools register or in any return"):
        views.school_dashboard(store, evaluator, "10710", wellcome, "2019/20")
    with pytest.raises(CpdqaError, match="No school with code '10710'"):
        reports.school_report_pdf(store, evaluator, "10710", wellcome, "2019/20", "eva")
    # a known school with nothing in the year asked about is still a report that says so
    board = views.school_dashboard(store, evaluator, "107100", wellcome, "2018/19")
    assert board.summary is None and board.name == "107100"


def test_the_breakdown_reads_the_kept_programme_spans_and_equals_them_computed_in_the_query(store, load):
    """The breakdown judges collaborative sustained hours as the teacher level does: from the spans kept for
    the data version, or computed within the query, alike."""
    from qa import champion, engine
    from qa.framework import load_framework

    eppi = load_framework("eppi-collaborative-sustained")  # 10 collaborative hours in programmes of 2+ terms
    load([activity(teacher_id="A", programme="P", hours=6, collaboration="Y", activity_date=dt.date(2019, 10, 1)),
          activity(teacher_id="A", programme="P", hours=5, collaboration="Y", activity_date=dt.date(2020, 1, 10)),
          activity(teacher_id="B", programme="P", hours=12, collaboration="Y", activity_date=dt.date(2019, 10, 1))])
    filters = engine.Filters(as_of=dt.date(2021, 1, 1))
    kept = champion._teacher_breakdown(store, eppi, filters)
    assert store.query_rows("SELECT count(*) FROM duckdb_tables() WHERE starts_with(table_name, 'programme_spans_')"
                            ) == [(1,)]
    sql, params = champion._breakdown_sql(store, eppi, filters, None)
    in_query = store.query_df(sql, params)
    assert kept.set_index("teacher_id").loc[["A", "B"], "meets_framework"].tolist() == [True, False]
    assert kept.drop(columns="where_hours_went").equals(in_query)
