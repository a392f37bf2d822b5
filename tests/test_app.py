"""AppTest: every page for every role renders real data, shows the right numbers, respects scoping."""

import datetime as dt
import json
import re
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from qa.labels import label
from qa.store import Store
from tests.conftest import activity, workbook_bytes

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")
PAGES = "app/app_pages"
ROLE_PAGES = {
    "evaluator": ["termly_round", "school", "funder", "providers", "upload", "data_quality", "frameworks"],
    "champion": ["school", "providers", "frameworks"],
    "funder": ["funder", "providers", "frameworks"],
}


@pytest.fixture(autouse=True)
def fresh_cache():
    st.cache_resource.clear()
    yield
    st.cache_resource.clear()


def app(db, monkeypatch, role="evaluator", **params) -> AppTest:
    monkeypatch.setenv("CPDQA_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["role"] = role
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    if role == "evaluator" and "school" in params:  # /school?school=…, as the Termly round links to it
        at.switch_page(f"{PAGES}/school.py").run()
    return at


def texts(at) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [e.value for e in at.error]
    parts += [w.value for w in at.warning] + [i.value for i in at.info] + [s.value for s in at.success]
    shown = "\n".join(str(p) for p in parts)
    # and as a reader sees it: user text is escaped for Markdown (see widgets.literal)
    return shown + "\n" + re.sub(r"\\(.)", r"\1", shown).replace("\u2060", "")


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


@pytest.mark.parametrize(("role", "page"), [(r, p) for r, pages in ROLE_PAGES.items() for p in pages])
def test_every_page_renders_demo_data_for_every_role(demo_db, monkeypatch, role, page):
    params = {"champion_school": "107100"} if role == "champion" else {}
    at = app(demo_db, monkeypatch, role, **params)
    at.switch_page(f"{PAGES}/{page}.py").run()
    assert not at.exception, at.exception
    assert at.title[0].value
    if page in ("school", "funder"):
        assert len(at.metric) >= 4 and all(m.value for m in at.metric)


def test_pages_outside_a_role_are_not_registered(demo_db, monkeypatch):
    at = app(demo_db, monkeypatch, "funder")
    assert at.title[0].value == "Programme overview"  # the root URL opens the role's first page, as that role
    with pytest.raises(ValueError, match="Could not find"):
        at.switch_page(f"{PAGES}/upload.py").run()


@pytest.fixture
def small_db(tmp_path):
    from qa.ingest import ingest_bytes

    path = tmp_path / "small.duckdb"
    with Store(path) as store:
        rows = [activity(school_id="S1", teacher_id="T1", hours=36),
                activity(school_id="S1", teacher_id="T2", hours=10),
                activity(school_id="S2", teacher_id="V1", hours=2, activity_type="conference")]
        for term_date in (dt.date(2020, 1, 10), dt.date(2020, 5, 10)):  # every term has a return
            rows += [activity(school_id=s, teacher_id="T1" if s == "S1" else "V1", hours=1, activity_date=term_date)
                     for s in ("S1", "S2")]
        assert ingest_bytes(store, "r.xlsx", workbook_bytes(rows)).status == "accepted"
        ref = workbook_bytes({"Schools": [{"school_id": "S1", "name": "Abbey Lane"},
                                          {"school_id": "S2", "name": "Birch"},
                                          {"school_id": "S3", "name": "Cedar"}]})  # registered: returns come later
        ingest_bytes(store, "ref.xlsx", ref, accept_reference_changes=True)
    return path


def test_school_dashboard_shows_hand_computed_numbers(small_db, monkeypatch):
    at = app(small_db, monkeypatch, "evaluator", school="S1")
    assert not at.exception
    got = metrics(at)
    # T1: 36 + 1 + 1 = 38 counted hours (meets); T2: 10 (not yet). Median of 38 and 10 = 24.
    assert got["Teachers"] == "2"
    assert got["Meet the criteria"] == "1 (50%)"
    assert got["Median hours"] == "24.0"
    assert got["All four DfE aspects"] == "100%"
    teachers = at.dataframe[0].value.set_index("Teacher (staff code)")
    assert teachers.loc["T1", "Status"] == "meets the criteria" and teachers.loc["T2", "Status"] == "not yet"
    assert teachers.loc["T2", "What is short"] == "35 counted hours a year: 10.0 h; needs at least 35.0 h."


def test_term_filter_turns_the_year_into_on_track_or_needing_support(small_db, monkeypatch):
    at = app(small_db, monkeypatch, "evaluator", school="S1", term="Autumn")
    got = metrics(at)
    assert got["On track"] == "1 (50%)"  # T1 has 36 h by Autumn (needs 11.67 h); T2 has 10 h
    statuses = at.dataframe[0].value.set_index("Teacher (staff code)")["Status"].to_dict()
    assert statuses == {"T1": "on track", "T2": "needs support"}


def test_champion_cannot_reach_another_school_by_url(small_db, monkeypatch):
    at = app(small_db, monkeypatch, "champion", champion_school="S1", school="S2")
    assert "You can see your own school's data only." in texts(at)
    assert not at.metric and not at.dataframe
    own = app(small_db, monkeypatch, "champion", champion_school="S1")
    assert metrics(own)["Teachers"] == "2"
    assert [o for o in own.selectbox if o.key == "school_pick"] == []  # no school picker for champions


def test_funder_overview_suppresses_small_schools_and_shows_no_teacher_ids(small_db, monkeypatch):
    at = app(small_db, monkeypatch, "funder")
    at.switch_page(f"{PAGES}/funder.py").run()
    assert not at.exception
    # the year has 3 teachers: the whole row, school count included, is suppressed
    assert metrics(at)["Schools"] == "c" and metrics(at)["Teachers"] == "c"
    for frame in at.dataframe:
        cells = frame.value.astype(str).to_numpy().ravel()
        assert not {"T1", "T2", "V1"} & set(cells)
    by_school = at.dataframe[-1].value
    assert set(by_school["Teachers"]) == {"c"}
    assert not {"S1", "S2", "Birch", "Abbey Lane"} & set(by_school[label("school")])  # no consent: School N


EVIL_SCHOOL = "![x](https://evil.example/p.png) [Sign in again](https://evil.example) <img src=x> :red[hi]"
EVIL_PROVIDER = '<a href="https://evil.example">Click</a>'


@pytest.fixture
def evil_db(tmp_path):
    from qa.ingest import ingest_bytes

    path = tmp_path / "evil.duckdb"
    with Store(path) as store:
        rows = [activity(school_id="S1", teacher_id=f"T{i}", provider=EVIL_PROVIDER) for i in range(6)]
        ingest_bytes(store, "r.xlsx", workbook_bytes(rows))
        ingest_bytes(store, "ref.xlsx", workbook_bytes({"Schools": [{"school_id": "S1", "name": EVIL_SCHOOL}]}),
                     accept_reference_changes=True)
    return path


def test_spreadsheet_text_is_never_markup(evil_db, monkeypatch):
    at = app(evil_db, monkeypatch, "evaluator", school="S1")
    assert not at.exception
    caption = at.caption[0].value.replace("\u2060", "")  # invisible word joiners stop autolinks
    assert "https\\:\u2060\\/\\/evil\\.\u2060example" in at.caption[0].value
    assert caption.startswith(r"\!\[x\]\(https\:\/\/evil\.example\/p\.png\) \[Sign in again\]")
    assert r"\<img src\=x\> \:red\[hi\]" in caption
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    provider_chart = next(spec for spec in charts if spec["layout"]["title"]["text"] == "Hours by provider")
    assert list(provider_chart["data"][0]["y"]) == ['&lt;a href="https://evil.example"&gt;Click&lt;/a&gt;']


def test_upload_check_then_commit_changes_the_school_figures(small_db, monkeypatch):
    at = app(small_db, monkeypatch, "evaluator")
    at.switch_page(f"{PAGES}/upload.py").run()
    new = workbook_bytes([activity(school_id="S3", teacher_id=f"W{i}", hours=40) for i in range(3)]
                         + [activity(school_id="S3", teacher_id="W9", hours="lots")])
    at.file_uploader(key="uploads-0").upload("s3.xlsx", new, "application/octet-stream").run()
    at.button(key="check").click().run()
    assert not at.exception
    report = at.dataframe[0].value
    assert report.loc[0, "Outcome"] == "accepted" and report.loc[0, "Rows accepted"] == 3
    assert report.loc[0, "Rows quarantined"] == 1
    at.button(key="commit").click().run()
    assert "Saved 1 upload(s): 3 activities, 1 rows kept aside in quarantine." in texts(at)
    school = app(small_db, monkeypatch, "evaluator", school="S3")
    assert metrics(school)["Teachers"] == "3" and metrics(school)["Meet the criteria"] == "3 (100%)"


def test_upload_outcomes_show_file_names_as_typed_not_as_links(small_db, monkeypatch):
    at = app(small_db, monkeypatch, "evaluator")
    at.switch_page(f"{PAGES}/upload.py").run()
    first = workbook_bytes([activity(school_id="S3", teacher_id="W1", hours=4)])
    at.file_uploader(key="uploads-0").upload("w1.xlsx", first, "application/octet-stream").run()
    at.button(key="check").click().run()
    at.button(key="commit").click().run()
    evil = "[Sign in again](https://evil.example).xlsx"
    fix = workbook_bytes([activity(school_id="S3", teacher_id="W1", hours=5)])
    at.file_uploader(key="uploads-1").upload(evil, fix, "application/octet-stream").run()
    at.button(key="check").click().run()
    at.checkbox(key="confirm_replace").check().run()
    at.button(key="commit").click().run()
    assert not at.exception
    shown = next(i.value for i in at.info if "replaces" in i.value)
    assert shown.startswith(r"\[Sign in again\]\(https\:") and "](https://" not in shown


def _active(db) -> list[tuple]:
    with Store(db) as store:
        return store.query_rows("SELECT school_id, teacher_id, term, hours, upload_id FROM active_activities "
                                "ORDER BY ALL")


def test_two_files_for_one_school_then_replace_then_undo_with_confirmation(small_db, monkeypatch):
    at = app(small_db, monkeypatch, "evaluator")
    at.switch_page(f"{PAGES}/upload.py").run()
    spring = dt.date(2021, 2, 1)
    t1 = workbook_bytes([activity(school_id="S3", teacher_id="W1", hours=4, activity_date=spring)])
    t2 = workbook_bytes([activity(school_id="S3", teacher_id="W2", hours=6, activity_date=spring)])
    at.file_uploader(key="uploads-0").upload("w1.xlsx", t1, "application/octet-stream") \
        .upload("w2.xlsx", t2, "application/octet-stream").run()
    at.button(key="check").click().run()
    assert not at.exception
    assert at.dataframe[0].value["Outcome"].tolist() == ["accepted", "accepted"]
    assert at.button(key="commit").label == "Commit 2 file(s)"
    at.button(key="commit").click().run()
    assert "Saved 2 upload(s): 2 activities, 0 rows kept aside in quarantine." in texts(at)  # survives the rerun
    assert _active(small_db)[-2:] == [("S3", "W1", "Spring", 4.0, 3), ("S3", "W2", "Spring", 6.0, 4)]

    # a corrected return for W1 needs Replace; once ticked it supersedes only W1's rows
    fix = workbook_bytes([activity(school_id="S3", teacher_id="W1", hours=5, activity_date=spring)])
    at.file_uploader(key="uploads-1").upload("w1-fix.xlsx", fix, "application/octet-stream").run()
    at.button(key="check").click().run()
    assert at.dataframe[0].value["Outcome"].tolist() == ["needs Replace"]
    assert "1 file(s) need Replace: they cover teachers and terms already uploaded." in texts(at)
    assert at.button(key="commit").disabled
    at.checkbox(key="confirm_replace").check().run()
    plan = at.dataframe[0].value  # checked again with Replace: what Commit will do
    assert (plan.loc[0, "Outcome"], plan.loc[0, "Replaces"]) == ("accepted", "#3")
    at.button(key="commit").click().run()
    assert "w1-fix.xlsx (upload #5) replaces #3." in texts(at)
    assert _active(small_db)[-2:] == [("S3", "W1", "Spring", 5.0, 5), ("S3", "W2", "Spring", 6.0, 4)]

    # undo: the picker starts at the latest upload and asks first
    assert at.selectbox(key="undo_pick-5").value == 5
    at.button(key="undo").click().run()
    assert ("Undo upload #5 (w1-fix.xlsx)? As if it had never been uploaded: 1 activity row(s) stop counting; "
            "1 row(s) of the return(s) it replaced count again. Schools affected: S3.") in texts(at)
    assert _active(small_db)[-1] == ("S3", "W2", "Spring", 6.0, 4)  # nothing changed yet
    at.button(key="undo_yes").click().run()
    assert not at.exception
    assert "Upload #5 undone: 1 activity row(s) stop counting; 1 row(s) of the return(s) it replaced count " \
           "again. Schools affected: S3." in texts(at)
    assert _active(small_db)[-2:] == [("S3", "W1", "Spring", 4.0, 3), ("S3", "W2", "Spring", 6.0, 4)]
    assert at.selectbox(key="undo_pick-4").value == 4


def test_two_files_for_the_same_teacher_in_one_batch_are_refused_before_anything_is_written(small_db, monkeypatch):
    at = app(small_db, monkeypatch, "evaluator")
    at.switch_page(f"{PAGES}/upload.py").run()
    a = workbook_bytes([activity(school_id="S3", teacher_id="W1", hours=4)])
    b = workbook_bytes([activity(school_id="S3", teacher_id="W1", hours=7)])
    at.file_uploader(key="uploads-0").upload("a.xlsx", a, "application/octet-stream") \
        .upload("b.xlsx", b, "application/octet-stream").run()
    at.button(key="check").click().run()
    assert at.dataframe[0].value["Outcome"].tolist() == ["refused", "refused"]
    assert at.button(key="commit").disabled
    before = _active(small_db)
    assert ("a.xlsx overlaps b.xlsx in this batch: school S3, Autumn 2019/20, teacher W1. Nothing from it is "
            "saved: send one return per teacher, or combine them into one file.") in at.dataframe[1].value[
                "Description"].tolist()
    assert _active(small_db) == before


def test_framework_edit_previews_and_saves_a_version(small_db, monkeypatch):
    at = app(small_db, monkeypatch, "evaluator")
    at.switch_page(f"{PAGES}/frameworks.py").run()
    at.number_input(key="thr-wellcome-meets_hours").set_value(10.0).run()
    assert "1 of 3 teachers' results would change (+1 meeting the criteria or on track), in 1 of 2 schools" \
        in texts(at)
    at.button(key="save_fw").click().run()
    assert "Saved wellcome version 2." in texts(at)
    with Store(small_db) as store:
        assert store.scalar("SELECT max(version) FROM framework_versions WHERE framework_id = 'wellcome'") == 2


def test_framework_saved_three_times_then_reverted_on_the_page(small_db, monkeypatch):
    for n, hours in enumerate((30.0, 20.0, 10.0), start=2):
        at = app(small_db, monkeypatch, "evaluator")
        at.switch_page(f"{PAGES}/frameworks.py").run()
        at.number_input(key="thr-wellcome-meets_hours").set_value(hours).run()
        at.button(key="save_fw").click().run()
        assert not at.exception and f"Saved wellcome version {n}." in texts(at)
    at = app(small_db, monkeypatch, "evaluator")
    at.switch_page(f"{PAGES}/frameworks.py").run()
    assert at.selectbox(key="framework_version-wellcome-4").value == 4  # the newest is judged by
    at.selectbox(key="cmp-a-wellcome").set_value(1).run()
    assert "1 of 3 teachers' results would change (+1 meeting the criteria or on track)" in texts(at)
    at.selectbox(key="revert-wellcome").set_value(2).run()
    at.button(key="revert_fw").click().run()
    assert "Saved wellcome version 5, a copy of version 2." in texts(at)
    with Store(small_db) as store:
        assert store.scalar("SELECT body FROM framework_versions WHERE version = 5").count("threshold = 30.0") == 1


def test_empty_database_says_what_to_upload(tmp_path, monkeypatch):
    Store(tmp_path / "empty.duckdb").close()
    at = app(tmp_path / "empty.duckdb", monkeypatch, "evaluator")
    assert not at.exception
    assert "No CPD returns yet" in texts(at)


def test_no_database_says_what_to_run_and_creates_none(tmp_path, monkeypatch):
    missing = tmp_path / "demo.duckdb"
    at = app(missing, monkeypatch, "evaluator")
    assert not at.exception
    assert f"There is no database at {missing}. Run `make run` to build the demo database" in texts(at)
    assert not missing.exists()


def test_dfe_2016_school_dashboard_renders_its_rule_beside_the_metric(small_db, monkeypatch):
    at = app(small_db, monkeypatch, "evaluator", school="S1", framework="dfe-2016")
    assert not at.exception
    assert metrics(at)["Meet the criteria"] == "2 (100%)"  # every activity has all four aspects: 100% >= 50%
    teachers = at.dataframe[0].value
    # DfE 2016 neither requires alignment nor sets an hours target: no aligned, target or shortfall columns
    assert list(teachers.columns) == ["Teacher (staff code)", "Status", "All CPD hours", "Quality CPD hours",
                                      "Counted hours", "Where the hours went", "What is short",
                                      "Subject-specific share of counted hours", "Meets the criteria"]


def test_providers_page_for_champion_and_funder(tmp_path, monkeypatch):
    from qa.ingest import ingest_bytes

    path = tmp_path / "prov.duckdb"
    with Store(path) as store:
        rows = [activity(school_id="S1", teacher_id=f"T{i}", provider="Big Co", hours=3) for i in range(6)]
        rows += [activity(school_id="S1", teacher_id="T0", provider="Small Co", hours=2)]
        rows += [activity(school_id="S2", teacher_id=f"U{i}", provider="Small Co", hours=47) for i in range(2)]
        ingest_bytes(store, "r.xlsx", workbook_bytes(rows))
    champion = app(path, monkeypatch, "champion", champion_school="S1")
    champion.switch_page(f"{PAGES}/providers.py").run()
    assert not champion.exception
    mine = champion.dataframe[0].value.set_index(label("provider"))
    assert mine.loc["Small Co", "Your teachers"] == 1 and mine.loc["Small Co", "Your hours"] == 2
    assert "Schools" not in mine and "What holds it back" not in mine
    assert "Your school's teachers:** 6" in "\n".join(m.value for m in champion.markdown)
    funder = app(path, monkeypatch, "funder")
    funder.switch_page(f"{PAGES}/providers.py").run()
    assert not funder.exception
    seen = funder.dataframe[0].value.set_index(label("provider"))
    assert seen.loc["Small Co", "Teachers"] == "c" and seen.loc["Small Co", "Hours"] == "c"
    assert seen.loc["Big Co", "Teachers"] == "6"  # a column holding "c" is shown as text


def test_demo_role_switched_in_the_sidebar_opens_the_champions_own_school(small_db, monkeypatch):
    """The school an evaluator last looked at is not a request from the champion picked next: no refusal."""
    at = app(small_db, monkeypatch, "evaluator", school="S2")
    at.selectbox(key="demo_role").set_value("champion").run()
    assert not at.exception and not at.error
    assert at.caption[0].value.startswith("Abbey Lane (S1)")
    at.selectbox(key="demo_school").set_value("S2").run()
    assert not at.error and at.caption[0].value.startswith("Birch (S2)")
    with Store(small_db) as store:
        assert store.query_rows("SELECT count(*) FROM audit_log WHERE action = 'access refused'") == [(0,)]


def test_programme_shares_on_the_providers_page_read_as_percentages(demo_db, monkeypatch):
    """'Hours flagged sustained by teachers' is a share: 99.1%, never a bare 0.99 a reader takes for hours."""
    at = app(demo_db, monkeypatch, "evaluator")
    at.switch_page(f"{PAGES}/providers.py").run()
    programmes = at.dataframe[-1]
    assert programmes.value.loc[0, "Hours flagged sustained by teachers"] == pytest.approx(0.9912, abs=1e-4)
    config = json.loads(programmes.proto.columns)
    for column in ("Hours flagged sustained by teachers", "Teachers spanning 2+ terms (from dates)"):
        assert config[column]["type_config"]["format"] == "percent"


def test_programme_overview_for_a_year_with_nothing_up_to_the_term_chosen_says_so(tmp_path, monkeypatch):
    """2020/21 has only Spring returns: to the end of Autumn there is nothing to show, and no traceback."""
    from qa import reports
    from qa.access import Viewer
    from qa.errors import CpdqaError
    from qa.framework import load_framework
    from qa.ingest import ingest_bytes

    db = tmp_path / "spring.duckdb"
    with Store(db) as store:
        rows = [activity(school_id=f"S{i}", teacher_id=f"T{j}", hours=5, activity_date=day)
                for day in (dt.date(2019, 10, 1), dt.date(2021, 2, 1)) for i in range(3) for j in range(6)]
        assert ingest_bytes(store, "r.xlsx", workbook_bytes(rows)).status == "accepted"
        with pytest.raises(CpdqaError, match=r"^No activities recorded in 2020/21, to the end of Autumn\.$"):
            reports.funder_report_pdf(store, Viewer("funder"), load_framework("wellcome"), "2020/21", "f",
                                      dt.date(2021, 9, 1), "Autumn")
    at = app(db, monkeypatch, "funder", year="2020/21", term="Autumn")
    assert not at.exception
    assert "No activities recorded in 2020/21, to the end of Autumn. Choose a later term or another year." \
        in texts(at)
    assert not at.metric


def _sidebar_version(at) -> int:
    return next(s.value for s in at.selectbox if str(s.key).startswith("framework_version-wellcome"))


def test_a_version_saved_on_the_page_is_judged_by_next_and_a_second_edit_builds_on_it(small_db, monkeypatch):
    """Judging by the newest version follows a save: the next edit starts from it and keeps the first change."""
    at = app(small_db, monkeypatch, "evaluator")
    at.switch_page(f"{PAGES}/frameworks.py").run()
    at.number_input(key="thr-wellcome-meets_hours").set_value(30.0).run()
    at.button(key="save_fw").click().run()
    at.run()
    assert _sidebar_version(at) == 2
    at.number_input(key="thr-wellcome-meets_subject").set_value(0.4).run()
    at.button(key="save_fw").click().run()
    at.run()
    assert _sidebar_version(at) == 3 and "version" not in at.query_params
    assert "Starting from version 3." in texts(at)
    with Store(small_db) as store:
        body = store.scalar("SELECT body FROM framework_versions WHERE version = 3")
    assert "threshold = 30.0" in body and "threshold = 0.4" in body  # the first edit is not lost
    # a version picked on purpose stays picked when another is saved
    at.selectbox(key=next(s.key for s in at.selectbox if str(s.key).startswith("framework_version-"))) \
        .set_value(1).run()
    at.number_input(key="thr-wellcome-meets_hours").set_value(25.0).run()
    at.button(key="save_fw").click().run()
    at.run()
    assert _sidebar_version(at) == 1 and at.query_params["version"] == "1"
