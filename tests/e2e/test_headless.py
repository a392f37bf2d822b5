"""The benchmark's headless session client (bench/pages.py) against a real `streamlit run`: it must receive
the page's own figures, as a browser is shown them, or fail, so its timings are of pages that really loaded."""

from __future__ import annotations

import asyncio
import importlib.util
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.e2e.conftest import ROOT, free_port, start_streamlit, stop
from tests.test_app import PAGES, app, metrics

pytestmark = pytest.mark.e2e

_spec = importlib.util.spec_from_file_location("bench_pages", ROOT / "bench" / "pages.py")
bench_pages = importlib.util.module_from_spec(_spec)
_path = list(sys.path)
_spec.loader.exec_module(bench_pages)
sys.path[:] = _path  # the benchmark puts bench/ first on the path for itself: not for the other tests


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The app on a demo database, and an untouched copy of that database for AppTest (the server's process
    owns its file)."""
    folder = tmp_path_factory.mktemp("headless")
    db = folder / "demo.duckdb"
    subprocess.run([sys.executable, "-m", "qa.cli", "demo", "--db", str(db)], check=True, cwd=ROOT,
                   capture_output=True)
    copy = folder / "copy.duckdb"
    shutil.copy(db, copy)
    port = free_port()
    proc = start_streamlit(db, port)
    yield f"http://127.0.0.1:{port}", copy
    stop(proc)


def visit(base: str, page: str, query: str, content: str) -> dict:
    # on a thread of its own: after the browser tests, Playwright's event loop is running on this one
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, bench_pages._headless_visit(base, page, query, content)).result()


def test_a_headless_session_receives_the_figures_apptest_shows(served, monkeypatch):
    base, copy = served
    school = visit(base, "school", "?role=champion&champion_school=107100", "metric")
    overview = visit(base, "overview", "?role=funder", "metric")
    expected_school = app(copy, monkeypatch, "champion", champion_school="107100")
    expected_overview = app(copy, monkeypatch, "funder")
    assert len(school["metrics"]) >= 4
    assert dict(school["metrics"]) == metrics(expected_school)
    assert dict(overview["metrics"]) == metrics(expected_overview)
    assert school["elements"]["plotly_chart"] >= 1 and school["bytes"] > 10_000


def test_a_headless_session_opens_the_page_its_url_names(served, monkeypatch):
    base, copy = served
    got = visit(base, "providers", "?role=champion&champion_school=107100", "dataframe")
    at = app(copy, monkeypatch, "champion", champion_school="107100")
    at.switch_page(f"{PAGES}/providers.py").run()
    assert got["elements"]["dataframe"] == len(at.dataframe)
    assert got["elements"].get("metric", 0) == len(at.metric)


def test_a_page_without_the_content_waited_for_fails_the_visit(served):
    base, _ = served
    # the Upload page is not a funder's: the page that says so has no figures, so the visit must not count
    with pytest.raises(RuntimeError, match="finished without a metric"):
        visit(base, "upload", "?role=funder", "metric")
