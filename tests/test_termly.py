"""The evaluator's termly round, the filtered lists and the template download, on a hand-built database.

2019/20, long over (every term has begun). Three schools, one file per school and term:
- S1 "Ash School": T1 12 h a term (36 h: meets the criteria), T2 2 h a term (at risk every term). Its Autumn
  file has a row kept aside (hours "two"); in its Spring file T2's row leaves DfE 4 blank (one warning; read as
  "no", so that row is not high quality and its 2 h do not count: T2 has 4 counted hours).
- S2 "Birch School": V1 12 h in Autumn and Spring, no Summer return (missing); 24 h by the year's end: not met.
- S3, with no Schools row: W1 12 h a term.
Uploads #1–#3 are S1's, #4–#5 S2's, #6–#8 S3's, #9 the Schools sheet.
"""

import datetime as dt
import io

import openpyxl
import pandas as pd
import pytest
import streamlit as st
from streamlit.delta_generator import DeltaGenerator
from streamlit.testing.v1 import AppTest

from qa import schema, template, termly
from qa.access import AccessDenied, Viewer
from qa.framework import load_framework
from qa.ingest import ingest_bytes
from qa.returns import undo_upload
from qa.store import Store
from tests.conftest import activity, workbook_bytes
from tests.test_app import APP, PAGES, fresh_cache  # noqa: F401 (autouse: a fresh store per AppTest)

EVALUATOR = Viewer("evaluator")
YEAR = "2019/20"
AUTUMN, SPRING, SUMMER = dt.date(2019, 10, 1), dt.date(2020, 2, 1), dt.date(2020, 5, 1)
TODAY = dt.date.today()


@pytest.fixture(autouse=True)
def _today() -> None:
    """Today as each test starts, not as the module loaded: a run that crosses midnight compared the
    uploads of one day with the date of the day before."""
    global TODAY
    TODAY = dt.date.today()


def _file(school: str, day: dt.date, teachers: dict[str, float], **changes) -> bytes:
    rows = [activity(school_id=school, teacher_id=t, activity_date=day, hours=h,
                     **(changes.get(t) or {})) for t, h in teachers.items()]
    return workbook_bytes(rows + changes.get("extra", []))


@pytest.fixture(scope="module")
def round_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("termly") / "termly.duckdb"
    bad = activity(school_id="S1", teacher_id="T1", activity_date=AUTUMN, hours="two",
                   activity_title="Phonics coaching")
    files = [
        ("s1-autumn.xlsx", _file("S1", AUTUMN, {"T1": 12, "T2": 2}, extra=[bad])),
        ("s1-spring.xlsx", _file("S1", SPRING, {"T1": 12, "T2": 2}, T2={"sustained": None})),
        ("s1-summer.xlsx", _file("S1", SUMMER, {"T1": 12, "T2": 2})),
        ("s2-autumn.xlsx", _file("S2", AUTUMN, {"V1": 12})),
        ("s2-spring.xlsx", _file("S2", SPRING, {"V1": 12})),
        ("s3-autumn.xlsx", _file("S3", AUTUMN, {"W1": 12})),
        ("s3-spring.xlsx", _file("S3", SPRING, {"W1": 12})),
        ("s3-summer.xlsx", _file("S3", SUMMER, {"W1": 12})),
    ]
    with Store(path) as store:
        for name, data in files:
            assert ingest_bytes(store, name, data).status == "accepted", name
        ref = workbook_bytes({"Schools": [{"school_id": "S1", "name": "Ash School"},
                                          {"school_id": "S2", "name": "Birch School"}]})
        assert ingest_bytes(store, "ref.xlsx", ref, accept_reference_changes=True).status == "accepted"
    return path


def _round(path, **kw) -> termly.TermlyRound:
    with Store(path) as store:
        return termly.termly_round(store, EVALUATOR, load_framework("wellcome"), YEAR, TODAY, **kw)


def test_grid_figures_are_the_hand_computed_ones(round_db):
    grid = _round(round_db).grid.set_index(["school_id", "term"])
    assert list(grid.index) == [(s, t) for s in ("S1", "S2", "S3") for t in schema.TERMS]
    assert grid["name"].tolist() == ["Ash School"] * 3 + ["Birch School"] * 3 + ["S3"] * 3
    assert grid["state"].tolist() == ["received"] * 5 + ["missing"] + ["received"] * 3
    assert grid["uploads"].tolist() == [(1,), (2,), (3,), (4,), (5,), (), (6,), (7,), (8,)]
    assert grid["kept_aside"].tolist() == [1, 0, 0, 0, 0, 0, 0, 0, 0]
    assert grid["warnings"].tolist() == [0, 1, 0, 0, 0, 0, 0, 0, 0]
    # T2 short every term; V1 on track with 12 and 24 h, then 24 h of 35 at the year's end; T1 and W1 fine
    assert grid["at_risk"].tolist() == [1, 1, 1, 0, 0, 1, 0, 0, 0]
    assert set(grid.loc[grid["state"] == "received", "received_on"]) == {TODAY}


def test_chase_up_list_says_what_to_ask_each_school_for(round_db):
    chase = _round(round_db).chase_up
    assert chase.values.tolist() == [
        ["S1", "Ash School", "Autumn", "1 row was kept aside in Autumn 2019/20 (upload #1, s1-autumn.xlsx): "
                                       "please correct and send it again."],
        ["S1", "Ash School", "Spring", "1 warning to check in Spring 2019/20 (#2)."],
        ["S2", "Birch School", "Summer", "No return for Summer 2019/20 yet: please send it."],
    ]


def test_at_risk_list_is_programme_wide_by_school_and_staff_code(round_db):
    with Store(round_db) as store:
        risk = termly.at_risk_teachers(store, EVALUATOR, load_framework("wellcome"), YEAR, TODAY)
        assert risk[["school_id", "name", "teacher_id", "status", "counted_hours"]].values.tolist() == [
            ["S1", "Ash School", "T2", "not yet", 4.0], ["S2", "Birch School", "V1", "not yet", 24.0]]
        spring = termly.at_risk_teachers(store, EVALUATOR, load_framework("wellcome"), YEAR, TODAY, "Spring")
        assert spring[["teacher_id", "status"]].values.tolist() == [["T2", "needs support"]]


def test_only_evaluators_get_the_round_or_its_lists(round_db):
    framework = load_framework("wellcome")
    with Store(round_db) as store:
        for viewer in (Viewer("champion", school_id="S1"), Viewer("funder")):
            for call in (lambda v: termly.termly_round(store, v, framework, YEAR, TODAY),
                         lambda v: termly.at_risk_teachers(store, v, framework, YEAR, TODAY),
                         lambda v: termly.kept_aside(store, v), lambda v: termly.warnings(store, v),
                         lambda v: termly.warning_kinds(store, v), lambda v: termly.upload_history(store, v)):
                with pytest.raises(AccessDenied):
                    call(viewer)


def test_a_later_return_for_the_teacher_and_term_settles_the_rows_kept_aside(tmp_path):
    with Store(tmp_path / "fix.duckdb") as store:
        bad = activity(school_id="S1", teacher_id="T1", activity_date=AUTUMN, hours="two")
        ingest_bytes(store, "first.xlsx", _file("S1", AUTUMN, {"T1": 12}, extra=[bad]))
        framework = load_framework("wellcome")
        assert termly.termly_round(store, EVALUATOR, framework, YEAR, TODAY).grid["kept_aside"].tolist() == [1, 0, 0]
        assert ingest_bytes(store, "fixed.xlsx", _file("S1", AUTUMN, {"T1": 14}), replace=True).status == "accepted"
        fixed = termly.termly_round(store, EVALUATOR, framework, YEAR, TODAY)
        assert fixed.grid["kept_aside"].tolist() == [0, 0, 0]
        assert fixed.grid["uploads"].tolist() == [(2,), (), ()]
        assert not fixed.chase_up["to_do"].str.contains("kept aside").any()


def test_kept_aside_rows_are_whole_and_filtered_in_sql(round_db):
    with Store(round_db) as store:
        rows = termly.kept_aside(store, EVALUATOR).all()
        assert len(rows) == 1
        row = rows.iloc[0]
        assert (row["upload_id"], row["file_name"], row["column_name"]) == (1, "s1-autumn.xlsx", "Hours")
        assert (row["teacher_id"], row["activity_title"], row["hours"], row["school_id"]) == (
            "T1", "Phonics coaching", "two", "S1")
        assert termly.kept_aside(store, EVALUATOR, "S2").total() == 0
        assert termly.kept_aside(store, EVALUATOR, "S1", YEAR).total() == 1
        assert termly.kept_aside(store, EVALUATOR, "S1", "2018/19").total() == 0


def test_warnings_and_upload_history_filter_by_school_year_and_kind(round_db):
    with Store(round_db) as store:
        assert termly.warning_kinds(store, EVALUATOR) == {"sustained": "DfE 4 sustained"}
        assert termly.warnings(store, EVALUATOR).total() == 1
        assert termly.warnings(store, EVALUATOR, "S1", YEAR, ("sustained",)).total() == 1
        assert termly.warnings(store, EVALUATOR, "S2").total() == 0
        assert termly.warnings(store, EVALUATOR, year="2018/19").total() == 0
        assert termly.warnings(store, EVALUATOR, kinds=(termly.REPEATED_ROWS,)).total() == 0

        def ids(**kw) -> list[int]:
            return termly.upload_history(store, EVALUATOR, **kw).all()["upload_id"].tolist()

        assert ids() == list(range(9, 0, -1))
        assert ids(school_id="S2") == [5, 4]
        assert ids(school_id="S3", year=YEAR) == [8, 7, 6]
        assert ids(year="2018/19") == []
        assert ids(kinds=("kept_aside",)) == [1]
        assert ids(kinds=("kept_aside", "warnings")) == [2, 1]
        assert ids(school_id="S1", kinds=("counting",)) == [3, 2, 1]


def test_warning_kinds_of_an_undone_upload_are_not_offered(round_db, tmp_path):
    db = tmp_path / "undo.duckdb"
    db.write_bytes(round_db.read_bytes())
    with Store(db) as store:
        (warned,) = termly.upload_history(store, EVALUATOR, kinds=("warnings",)).all()["upload_id"].tolist()
        undo_upload(store, warned, by="eva")
        assert termly.warnings(store, EVALUATOR).total() == 0
        assert termly.warning_kinds(store, EVALUATOR) == {}  # was {"sustained": ...}: a filter that shows nothing


def test_a_warning_about_a_whole_row_names_no_cell(tmp_path):
    rows = [activity(school_id="S1", teacher_id="T1", activity_date=AUTUMN)] * 2  # the same row twice
    with Store(tmp_path / "rep.duckdb") as store:
        ingest_bytes(store, "twice.xlsx", workbook_bytes(rows))
        page = termly.warnings(store, EVALUATOR).page(1, 100)
        assert page["column_name"].tolist() == [""]  # shown blank, never "None"
        assert page["message"].str.startswith("Same teacher, date, title and hours as row").all()


def _app(db, monkeypatch, downloads: dict | None = None, **params) -> AppTest:
    monkeypatch.setenv("CPDQA_DB", str(db))
    if downloads is not None:  # keep what each download button would serve, built as a click would build it
        original = DeltaGenerator.download_button

        def recording(self, label, data, file_name=None, *args, **kwargs):
            downloads[file_name] = data() if callable(data) else data
            return original(self, label, data, file_name, *args, **kwargs)

        monkeypatch.setattr(DeltaGenerator, "download_button", recording)
        monkeypatch.setattr(st, "download_button", lambda *a, **k: recording(st._main, *a, **k))
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(role="evaluator", year=YEAR, **params)
    return at.run()


def test_termly_round_is_the_evaluators_first_page_with_the_hand_computed_grid(round_db, monkeypatch):
    files: dict = {}
    at = _app(round_db, monkeypatch, files)
    assert not at.exception
    assert at.title[0].value == "Termly round"
    assert {m.label: m.value for m in at.metric} == {"Returns received": "8", "Missing returns": "1",
                                                     "Rows kept aside": "1", "Schools to chase": "2"}
    grid = at.dataframe[0].value.set_index("Code")
    today = f"{TODAY:%d %b %Y}"
    assert grid.index.tolist() == ["S2", "S1", "S3"]  # a missing return first, then rows kept aside
    assert grid["Autumn: return"].tolist() == [f"#4 on {today}", f"#1 on {today}", f"#6 on {today}"]
    assert grid.loc["S2", "Summer: return"] == "MISSING"
    assert grid.loc["S3", "School"] == "S3"
    assert grid["Autumn: kept aside"].tolist() == [0, 1, 0]
    assert grid["Spring: warnings"].tolist() == [0, 1, 0]
    assert grid[["Autumn: at risk", "Spring: at risk", "Summer: at risk"]].values.tolist() == [
        [0, 0, 1], [1, 1, 1], [0, 0, 0]]
    assert grid.loc["S2", "Dashboard"].startswith("school?") and "school=S2" in grid.loc["S2", "Dashboard"]
    chase = pd.read_csv(io.BytesIO(files[f"chase-up-{YEAR.replace('/', '-')}.csv"]), encoding="utf-8-sig")
    assert chase.columns.tolist() == ["School code", "School", "Term", "What to ask for"]
    assert chase["What to ask for"].tolist() == _round(round_db).chase_up["to_do"].tolist()
    book = pd.read_excel(io.BytesIO(files[f"chase-up-{YEAR.replace('/', '-')}.xlsx"]), engine="openpyxl")
    assert book.values.tolist() == chase.values.tolist()
    risk = at.dataframe[-1].value
    assert risk[["School code", "Teacher (staff code)"]].values.tolist() == [["S1", "T2"], ["S2", "V1"]]

    at.selectbox(key="termly_school").set_value("S2")
    at.button(key="termly_open").click().run()
    assert at.title[0].value == "School dashboard" and at.query_params["school"] in ("S2", ["S2"])
    assert at.selectbox(key="school_pick").value == "S2"


def test_only_schools_to_chase_and_a_year_with_no_returns(round_db, monkeypatch):
    at = _app(round_db, monkeypatch)
    at.toggle(key="termly_only_chase").set_value(True).run()
    assert at.dataframe[0].value["Code"].tolist() == ["S2", "S1"]
    empty = _app(tmp_empty(round_db), monkeypatch)
    assert empty.title[0].value == "Termly round" and not empty.exception
    assert "No CPD returns yet" in empty.info[0].value


def tmp_empty(round_db):
    path = round_db.parent / "empty.duckdb"
    if not path.exists():
        Store(path).close()
    return path


def test_data_quality_filters_and_whole_kept_aside_rows_on_the_page(round_db, monkeypatch):
    at = _app(round_db, monkeypatch)
    at.switch_page(f"{PAGES}/data_quality.py").run()
    kept = at.dataframe[0].value
    assert kept[["Teacher (staff code)", "Activity title", "Hours", "Column"]].values.tolist() == [
        ["T1", "Phonics coaching", "two", "Hours"]]
    at.selectbox(key="dq_school").set_value("S2").run()
    assert {m.label: m.value for m in at.metric} == {"Rows kept aside": "0", "Warnings": "0",
                                                     "Teachers with no records": "0", "Missing termly returns": "1"}
    at.selectbox(key="dq_school").set_value("S1").run()
    at.multiselect(key="dq_kinds").set_value(["sustained"]).run()
    assert {m.label: m.value for m in at.metric}["Warnings"] == "1"
    assert at.dataframe[-1].value["Column"].tolist() == ["DfE 4 sustained"]


def test_upload_page_offers_the_template_and_filters_history(round_db, monkeypatch):
    files: dict = {}
    at = _app(round_db, monkeypatch, files)
    at.switch_page(f"{PAGES}/upload.py").run()
    assert not at.exception
    book = openpyxl.load_workbook(io.BytesIO(files["cpd-return-template.xlsx"]))
    assert [c.value for c in book["CPD log"][1]] == list(schema.ACTIVITY_COLUMN_NAMES)
    assert files["cpd-return-template.xlsx"][:2] == template.template_bytes()[:2] == b"PK"
    at.selectbox(key="history_school").set_value("S2").run()
    assert at.dataframe[0].value["Upload"].tolist() == [5, 4]
    at.selectbox(key="history_school").set_value("").run()
    at.multiselect(key="history_kinds").set_value(["kept_aside"]).run()
    assert at.dataframe[0].value["Upload"].tolist() == [1]


def test_other_roles_never_get_the_termly_page(round_db, monkeypatch):
    monkeypatch.setenv("CPDQA_DB", str(round_db))
    for role, extra in (("champion", {"champion_school": "S1"}), ("funder", {})):
        at = AppTest.from_file(APP, default_timeout=60)
        at.query_params.update(role=role, **extra)
        at.run()
        assert at.title[0].value in ("School dashboard", "Programme overview")
        with pytest.raises(ValueError, match="Could not find"):  # its URL shows whose page it is (tests/e2e)
            at.switch_page(f"{PAGES}/termly_round.py").run()


def test_a_row_kept_aside_whose_term_cannot_be_told_still_counts_against_its_school(tmp_path):
    with Store(tmp_path / "unknown.duckdb") as store:
        # one file for Autumn and Spring; the bad row has no readable date and no term: its term is unknown
        bad = activity(school_id="S1", teacher_id="T1", activity_date="sometime", hours=3)
        rows = [activity(school_id="S1", teacher_id="T1", activity_date=d, hours=12) for d in (AUTUMN, SPRING)]
        assert ingest_bytes(store, "year.xlsx", workbook_bytes([*rows, bad])).status == "accepted"
        framework = load_framework("wellcome")
        grid = termly.termly_round(store, EVALUATOR, framework, YEAR, TODAY).grid
        assert grid[["term", "state", "kept_aside"]].fillna("").values.tolist() == [
            ["Autumn", "received", 0], ["Spring", "received", 0], ["Summer", "missing", 0], ["", "", 1]]
        chase = termly.termly_round(store, EVALUATOR, framework, YEAR, TODAY).chase_up["to_do"].tolist()
        assert chase[-1] == ("1 row was kept aside in 2019/20, term not known (upload #1, year.xlsx): please correct "
                             "and send it again.")


def test_rows_kept_aside_of_a_file_whose_only_accepted_rows_are_reference_rows_are_kept(tmp_path):
    """A Schools register with a Log whose only row is bad goes in (the register is accepted), and the bad
    row is kept aside to correct, as in any other file: it was counted on the upload and then never stored,
    so the Termly round and the Data quality page had nothing to show or chase."""
    with Store(tmp_path / "register.duckdb") as store:
        bad = activity(school_id="S1", teacher_id="T1", activity_date=AUTUMN, hours="two",
                       activity_title="Phonics coaching")
        book = workbook_bytes({"Schools": [{"school_id": "S1", "name": "Ash School"}], "Log": [bad]})
        report = ingest_bytes(store, "register.xlsx", book)
        assert (report.status, report.rows_accepted, report.rows_quarantined) == ("accepted", 0, 1)
        rows = termly.kept_aside(store, EVALUATOR).all()
        assert rows[["upload_id", "file_name", "teacher_id", "activity_title", "hours"]].values.tolist() == [
            [1, "register.xlsx", "T1", "Phonics coaching", "two"]]
        grid = termly.termly_round(store, EVALUATOR, load_framework("wellcome"), YEAR, TODAY).grid
        assert grid[["school_id", "term", "kept_aside"]].values.tolist() == [
            ["S1", "Autumn", 1], ["S1", "Spring", 0], ["S1", "Summer", 0]]
