"""Long tables are read a page at a time, in order, and the pages show where they are."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from qa import audit, views
from qa.access import Viewer
from tests.conftest import activity

EVALUATOR = Viewer("evaluator", email="eva@example.org")
APP = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")


@pytest.fixture
def warned(store, load):
    # 250 rows each with a blank collaboration flag: 250 warnings, one file
    load([activity(teacher_id=f"T{i:03d}", collaboration=None) for i in range(250)], name="blanks.xlsx")
    return store


def test_pages_cover_the_table_once_in_order(warned):
    warnings = views.data_quality(warned, EVALUATOR, dt.date(2020, 9, 1)).warnings
    assert warnings.total() == 250
    pages = [warnings.page(n, 100) for n in (1, 2, 3)]
    assert [len(p) for p in pages] == [100, 100, 50]
    rows = [r for p in pages for r in p["row_number"]]
    assert rows == sorted(rows) == warnings.all()["row_number"].tolist()
    assert len(set(rows)) == 250


def test_audit_log_pages_newest_first_and_filters_by_action(warned):
    for i in range(120):
        audit.record(warned, "eva@example.org", "export", f"file{i}.csv")
    everything = audit.log(warned, EVALUATOR)
    exports = audit.log(warned, EVALUATOR, ("export",))
    assert everything.total() == 121 and exports.total() == 120  # and the upload itself
    assert exports.page(1, 100)["detail"].iloc[0] == "file119.csv"
    assert exports.page(2, 100)["detail"].tolist()[-1] == "file0.csv"


def test_data_quality_page_shows_one_page_of_warnings(warned, monkeypatch):
    st.cache_resource.clear()
    monkeypatch.setenv("CPDQA_DB", warned.path)
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["role"] = "evaluator"
    at.run()
    at.switch_page("app/app_pages/data_quality.py").run()
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["Warnings"] == "250"
    assert "Rows 1–100 of 250" in [c.value for c in at.caption]
    at.number_input(key="warnings-page").set_value(3).run()
    assert "Rows 201–250 of 250" in [c.value for c in at.caption]
    assert len(at.dataframe[-1].value) == 50
    st.cache_resource.clear()
