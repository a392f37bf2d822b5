"""AppTest: every page for every role renders real data, shows the right numbers, respects scoping."""

import datetime as dt
import json
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from qa.store import Store
from tests.conftest import activity, workbook_bytes

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")
PAGES = "app/app_pages"
ROLE_PAGES = {
    "evaluator": ["school", "funder", "providers", "upload", "data_quality", "frameworks"],
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
    return at.run()


def texts(at) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [e.value for e in at.error]
    parts += [w.value for w in at.warning] + [i.value for i in at.info] + [s.value for s in at.success]
    return "\n".join(str(p) for p in parts)


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
                                          {"school_id": "S2", "name": "Birch"}]})
        ingest_bytes(store, "ref.xlsx", ref)
    return path


def test_school_dashboard_shows_hand_computed_numbers(small_db, monkeypatch):
    at = app(small_db, monkeypatch, "evaluator", school="S1")
    assert not at.exception
    got = metrics(at)
    # T1: 36 + 1 + 1 = 38 counted hours (meets); T2: 10 (not yet). Median of 38 and 10 = 24.
    assert got["Teachers"] == "2"
    assert got["Meet the criteria"] == "1 (50%)"
    assert got["Median counted hours"] == "24.0"
    assert got["Activities with all four DfE aspects"] == "100%"
    teachers = at.dataframe[0].value.set_index("teacher_id")
    assert teachers.loc["T1", "status"] == "meets the criteria" and teachers.loc["T2", "status"] == "not yet"
    assert "35 counted hours a year: 10.0 h against >= 35.0 h" in teachers.loc["T2", "what is short"]


def test_term_filter_turns_the_year_into_on_track_or_needing_support(small_db, monkeypatch):
    at = app(small_db, monkeypatch, "evaluator", school="S1", term="Autumn")
    got = metrics(at)
    assert got["On track"] == "1 (50%)"  # T1 has 36 h by Autumn (needs 11.67 h); T2 has 10 h
    statuses = at.dataframe[0].value.set_index("teacher_id")["status"].to_dict()
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
    assert set(by_school["teachers"]) == {"c"}
    assert not {"S1", "S2", "Birch", "Abbey Lane"} & set(by_school["school"])  # no consent: School N


EVIL_SCHOOL = "![x](https://evil.example/p.png) [Sign in again](https://evil.example) <img src=x> :red[hi]"
EVIL_PROVIDER = '<a href="https://evil.example">Click</a>'


@pytest.fixture
def evil_db(tmp_path):
    from qa.ingest import ingest_bytes

    path = tmp_path / "evil.duckdb"
    with Store(path) as store:
        rows = [activity(school_id="S1", teacher_id=f"T{i}", provider=EVIL_PROVIDER) for i in range(6)]
        ingest_bytes(store, "r.xlsx", workbook_bytes(rows))
        ingest_bytes(store, "ref.xlsx", workbook_bytes({"Schools": [{"school_id": "S1", "name": EVIL_SCHOOL}]}))
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
    at.file_uploader(key="uploads").upload("s3.xlsx", new, "application/octet-stream").run()
    at.button(key="check").click().run()
    assert not at.exception
    report = at.dataframe[0].value
    assert report.loc[0, "status"] == "accepted" and report.loc[0, "rows accepted"] == 3
    assert report.loc[0, "rows quarantined"] == 1
    at.button(key="commit").click().run()
    assert "Saved 1 upload(s): 3 activities, 1 rows kept aside in quarantine." in texts(at)
    school = app(small_db, monkeypatch, "evaluator", school="S3")
    assert metrics(school)["Teachers"] == "3" and metrics(school)["Meet the criteria"] == "3 (100%)"


def test_replacing_a_return_needs_confirmation_and_undo_restores(small_db, monkeypatch):
    at = app(small_db, monkeypatch, "evaluator")
    at.switch_page(f"{PAGES}/upload.py").run()
    corrected = workbook_bytes([activity(school_id="S1", teacher_id="T1", hours=2)])
    at.file_uploader(key="uploads").upload("s1-fix.xlsx", corrected, "application/octet-stream").run()
    at.button(key="check").click().run()
    assert "1 file(s) replace returns already uploaded" in texts(at)
    assert at.button(key="commit").disabled
    at.checkbox(key="confirm_replace").check().run()
    at.button(key="commit").click().run()
    assert "Saved 1 upload(s)" in texts(at)
    after = app(small_db, monkeypatch, "evaluator", school="S1")
    assert metrics(after)["Teachers"] == "1"  # the Autumn return now holds only T1's 2 hours … plus later terms
    undo = app(small_db, monkeypatch, "evaluator")
    undo.switch_page(f"{PAGES}/upload.py").run()
    undo.button(key="undo").click().run()
    restored = app(small_db, monkeypatch, "evaluator", school="S1")
    assert metrics(restored)["Teachers"] == "2"


def test_framework_edit_previews_and_saves_a_version(small_db, monkeypatch):
    at = app(small_db, monkeypatch, "evaluator")
    at.switch_page(f"{PAGES}/frameworks.py").run()
    at.number_input(key="thr-wellcome-meets_hours").set_value(10.0).run()
    assert "1 of 3 teachers' results would change (+1 meeting the criteria or on track)" in texts(at)
    at.button(key="save_fw").click().run()
    assert "Saved wellcome version 2." in texts(at)
    with Store(small_db) as store:
        assert store.scalar("SELECT max(version) FROM framework_versions WHERE framework_id = 'wellcome'") == 2


def test_empty_database_says_what_to_upload(tmp_path, monkeypatch):
    at = app(tmp_path / "empty.duckdb", monkeypatch, "evaluator")
    assert not at.exception
    assert "No CPD returns yet" in texts(at)


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
    mine = champion.dataframe[0].value.set_index("provider")
    assert mine.loc["Small Co", "your teachers"] == 1 and mine.loc["Small Co", "your hours"] == 2
    assert "schools" not in mine and "what holds it back" not in mine
    assert "Your school's teachers:** 6" in "\n".join(m.value for m in champion.markdown)
    funder = app(path, monkeypatch, "funder")
    funder.switch_page(f"{PAGES}/providers.py").run()
    assert not funder.exception
    seen = funder.dataframe[0].value.set_index("provider")
    assert seen.loc["Small Co", "teachers"] == "c" and seen.loc["Small Co", "hours"] == "c"
    assert seen.loc["Big Co", "teachers"] == "6"  # a column holding "c" is shown as text
