"""In a real browser: a school or provider name from a spreadsheet is text, never a link or an image."""

import pytest
from playwright.sync_api import expect

from qa.ingest import ingest_bytes
from qa.store import Store
from tests.conftest import activity, workbook_bytes
from tests.e2e.conftest import free_port, shot, start_streamlit, stop

pytestmark = pytest.mark.e2e
TIMEOUT = 30_000
EVIL_SCHOOL = "![x](https://evil.example/p.png) [Sign in again](https://evil.example) <img src=x>"
EVIL_PROVIDER = '<a href="https://evil.example">Click</a>'


@pytest.fixture(scope="module")
def evil_server(tmp_path_factory):
    db = tmp_path_factory.mktemp("evil") / "evil.duckdb"
    with Store(db) as store:
        rows = [activity(school_id="S1", teacher_id=f"T{i}", provider=EVIL_PROVIDER) for i in range(6)]
        ingest_bytes(store, "r.xlsx", workbook_bytes(rows))
        ingest_bytes(store, "ref.xlsx", workbook_bytes({"Schools": [{"school_id": "S1", "name": EVIL_SCHOOL}]}),
                     accept_reference_changes=True)
    port = free_port()
    proc = start_streamlit(db, port)
    yield f"http://127.0.0.1:{port}"
    stop(proc)


def test_malicious_names_render_as_literal_text(evil_server, page):
    page.goto(f"{evil_server}/?role=evaluator")  # the Termly round, the evaluator's first page: names as text
    expect(page.get_by_role("heading", name="Termly round").first).to_be_visible(timeout=TIMEOUT)
    page.wait_for_load_state("networkidle")
    assert page.locator("a[href*='evil.example'], img[src*='evil.example'], img[src='x']").count() == 0
    page.goto(f"{evil_server}/school?role=evaluator&school=S1")
    caption = page.locator("[data-testid='stCaptionContainer']").filter(has_text="Sign in again").first
    expect(caption).to_contain_text("Sign in again", timeout=TIMEOUT)
    assert EVIL_SCHOOL in caption.inner_text().replace("\u2060", "")  # word joiners keep URLs from linking
    page.get_by_role("tab", name="Quality and mix").click()
    expect(page.locator(".js-plotly-plot").filter(has_text="Hours by provider").first).to_contain_text(
        EVIL_PROVIDER, timeout=TIMEOUT)
    page.wait_for_timeout(1000)
    shot(page, "markup-literal")
    links = page.locator("a[href*='evil.example']")
    assert links.count() == 0, [links.nth(i).evaluate("e => e.parentElement.outerHTML") for i in range(links.count())]
    assert page.locator("img[src*='evil.example'], img[src='x']").count() == 0
    assert caption.locator("a, img").count() == 0
    assert page.locator(".js-plotly-plot a").count() == 0
