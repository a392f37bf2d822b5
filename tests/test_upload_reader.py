"""The Upload page's part of the importer: the date-order choice and refusals of single files in a zip."""

from __future__ import annotations

import io
import zipfile

import pytest
import streamlit as st

from qa.store import Store
from tests.conftest import CANONICAL
from tests.test_app import PAGES, app, texts

ROW = ["S1", "T1", "04/09/2020", "Course", "course", "2", "", "", "Y", "Y", "Y", "Y", "Y", "Y"]
CSV_TEXT = "\n".join(",".join(r) for r in (CANONICAL, ROW)) + "\n"


@pytest.fixture
def db(tmp_path):
    """An empty database; the app's cached store is dropped before and after."""
    st.cache_resource.clear()
    path = tmp_path / "up.duckdb"
    Store(path).close()
    yield path
    st.cache_resource.clear()


def test_upload_page_date_order_choice_and_locked_zip_member(db, monkeypatch):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("ok.csv", CSV_TEXT)
        zf.writestr("locked.csv", b"secret")
    data = bytearray(buf.getvalue())
    second_local = data.index(b"PK\x03\x04", 1)
    data[second_local + 6] |= 0x01  # the second member claims to be encrypted
    data[data.index(b"PK\x01\x02", data.index(b"PK\x01\x02") + 1) + 8] |= 0x01
    at = app(db, monkeypatch, "evaluator")
    at.switch_page(f"{PAGES}/upload.py").run()
    at.selectbox(key="upload_date_order").select("month-first").run()
    at.file_uploader(key="uploads-0").upload("batch.zip", bytes(data), "application/zip").run()
    at.button(key="check").click().run()
    assert not at.exception
    report = at.dataframe[0].value.set_index("File")
    assert list(report.index) == ["batch.zip/locked.csv", "batch.zip/ok.csv"]
    assert report.loc["batch.zip/locked.csv", "Outcome"] == "refused"
    assert report.loc["batch.zip/ok.csv", "Outcome"] == "accepted"
    assert "read month first (US order), as the date-order setting says" in report.loc["batch.zip/ok.csv", "Note"]
    problems = at.dataframe[1].value
    assert ("batch.zip/locked.csv is protected by a password inside the zip; zip it again without a password "
            "and upload it again") in problems["Description"].tolist()
    at.button(key="commit").click().run()
    with Store(db) as store:
        assert store.query_rows("SELECT activity_date::VARCHAR FROM activities") == [("2020-04-09",)]


def test_changing_the_date_order_after_check_checks_again_before_commit(db, monkeypatch):
    """The report shown is always the one Commit will do: a setting changed after Check files re-checks."""
    at = app(db, monkeypatch, "evaluator")
    at.switch_page(f"{PAGES}/upload.py").run()
    at.file_uploader(key="uploads-0").upload("us.csv", CSV_TEXT.encode(), "text/csv").run()
    at.button(key="check").click().run()
    assert at.dataframe[0].value.loc[0, "School terms"] == "S1 Autumn 2020/21"  # 4 September
    at.selectbox(key="upload_date_order").select("month-first").run()
    assert not at.exception
    assert [b.key for b in at.button if b.key == "commit"] == []  # the day-first report cannot be committed
    assert ("The files or settings changed since they were checked: check them again before committing."
            in [i.value for i in at.info])
    at.button(key="check").click().run()
    assert at.dataframe[0].value.loc[0, "School terms"] == "S1 Summer 2019/20"  # 9 April: what Commit will save
    at.button(key="commit").click().run()
    with Store(db) as store:
        assert store.query_rows("SELECT activity_date::VARCHAR, term FROM activities") == [("2020-04-09", "Summer")]


def test_a_file_name_chosen_by_a_school_is_shown_as_typed_in_upload_messages(db, monkeypatch):
    """A zip member named like Markdown (an image that would call a tracking server) is text, not markup."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("![x](https://evil.example/p.png).csv", CSV_TEXT)
    at = app(db, monkeypatch, "evaluator")
    at.switch_page(f"{PAGES}/upload.py").run()
    at.file_uploader(key="uploads-0").upload("batch.zip", buf.getvalue(), "application/zip").run()
    at.button(key="check").click().run()
    at.button(key="commit").click().run()
    assert not at.exception
    at.button(key="undo").click().run()
    confirm = next(w.value for w in at.warning if w.value.startswith("Undo upload #1"))
    assert "\\!\\[x\\]\\(https\\:" in confirm  # escaped: shows as typed, loads nothing
    at.button(key="undo_yes").click().run()
    assert not at.exception
    assert "Upload #1 undone: 1 activity row(s) stop counting. Schools affected: S1." in texts(at)
    assert not [m for m in (*at.success, *at.warning, *at.info, *at.error, *at.markdown) if "![" in m.value]


def test_the_upload_page_sets_aside_a_school_outside_the_register_in_the_files_own_words(db, monkeypatch):
    from qa.ingest import ingest_bytes
    from tests.conftest import workbook_bytes

    with Store(db) as store:
        ingest_bytes(store, "schools.xlsx", workbook_bytes({"Schools": [{"school_id": "S1", "name": "Abbey Lane"}]}),
                     accept_reference_changes=True)
    header = ["School URN", *CANONICAL[1:]]
    text = "\n".join(",".join(r) for r in (header, ROW, ["URN 107100", *ROW[1:]])) + "\n"
    at = app(db, monkeypatch, "evaluator")
    at.switch_page(f"{PAGES}/upload.py").run()
    at.file_uploader(key="uploads-0").upload("log.csv", text.encode(), "text/csv").run()
    at.button(key="check").click().run()
    assert not at.exception
    assert at.dataframe[0].value.loc[0, "Rows accepted"] == 1
    problems = at.dataframe[1].value
    row = problems[problems["Description"].str.startswith("School '107100'")].iloc[0]
    assert (row["Column"], row["Value"], row["Description"]) == (
        "School URN", "URN 107100", "School '107100' (written 'URN 107100') is not in the Schools register; add the "
        "school to the register (a Schools sheet with its code) or correct the code")
