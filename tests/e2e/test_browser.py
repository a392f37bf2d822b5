"""End to end in a real browser: every page renders; an upload through the UI changes a school's KPI."""

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from tests.conftest import activity, workbook_bytes
from tests.e2e.conftest import shot

pytestmark = pytest.mark.e2e
TIMEOUT = 30_000
ROLE_LINKS = {
    "evaluator": ["Termly round", "School dashboard", "Programme overview", "Providers", "Upload returns",
                  "Data quality", "Frameworks"],
    "champion": ["School dashboard", "Providers", "Frameworks"],
    "funder": ["Programme overview", "Providers", "Frameworks"],
}


def open_app(page, server, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    page.goto(f"{server}/?{query}")
    expect(page.get_by_text("Demo mode.")).to_be_visible(timeout=TIMEOUT)


def go(page, link: str):
    page.get_by_role("link", name=link).click()
    expect(page.get_by_role("heading", name=re.compile(link.split()[0], re.I)).first).to_be_visible(timeout=TIMEOUT)
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(1500)  # charts finish drawing


def metric(page, label: str) -> str:
    box = page.locator("[data-testid='stMetric']").filter(has_text=label).first
    return box.locator("[data-testid='stMetricValue']").inner_text()


@pytest.mark.parametrize("role", ROLE_LINKS)
def test_every_page_renders_for_every_role(page, server, role):
    params = {"role": role} | ({"champion_school": "107100"} if role == "champion" else {})
    open_app(page, server, **params)
    for link in ROLE_LINKS[role]:
        go(page, link)
        expect(page.locator("[data-testid='stException']")).to_have_count(0)
        shot(page, f"{role}-{link.lower().replace(' ', '-')}")
    if role != "funder":
        assert page.get_by_role("link", name="Upload returns").count() == (1 if role == "evaluator" else 0)


def test_upload_through_the_page_changes_the_school_kpi(page, server, tmp_path):
    school = "107135"  # its Summer 2020/21 return is missing from the demo data
    open_app(page, server, role="evaluator")
    go(page, "School dashboard")
    page.locator("[data-testid='stSelectbox']").filter(has_text="School").first.click()
    page.get_by_role("option", name=re.compile(school)).click()
    expect(page.get_by_text(f"({school}) · 2020/21")).to_be_visible(timeout=TIMEOUT)
    expect(page.get_by_text("No return received for: Summer 2020/21")).to_be_visible(timeout=TIMEOUT)
    before = metric(page, "Meet the criteria")

    summer = [activity(school_id=school, teacher_id=f"{school}-{n:03d}", hours=12.0, subject_specific="Y",
                       activity_date=dt.date(2021, 5, 4 + day), activity_title="Summer lesson study")
              for n in range(1, 11) for day in range(3)]
    upload = tmp_path / f"{school}_2020-21_Summer.xlsx"
    upload.write_bytes(workbook_bytes(summer))
    go(page, "Upload returns")
    page.locator("input[type='file']").set_input_files(str(upload))
    page.get_by_role("button", name="Check files").click()
    expect(page.get_by_text("Validation report", exact=True)).to_be_visible(timeout=TIMEOUT)
    shot(page, "upload-validation-report")
    page.get_by_role("button", name="Commit 1 file(s)").click()
    expect(page.get_by_text(re.compile(r"Saved 1 upload\(s\): 30 activities"))).to_be_visible(timeout=TIMEOUT)
    shot(page, "upload-committed")

    go(page, "School dashboard")
    page.locator("[data-testid='stSelectbox']").filter(has_text="School").first.click()
    page.get_by_role("option", name=re.compile(school)).click()
    expect(page.get_by_text(f"({school}) · 2020/21")).to_be_visible(timeout=TIMEOUT)
    expect(page.get_by_text("No return received for: Summer 2020/21")).to_have_count(0, timeout=TIMEOUT)
    after = metric(page, "Meet the criteria")
    shot(page, "school-after-upload")
    assert int(after.split()[0]) > int(before.split()[0]), (before, after)


PAGE_PATHS = {"termly": "Termly round", "school": "School dashboard", "overview": "Programme overview",
              "providers": "Providers", "upload": "Upload termly returns", "data-quality": "Data quality",
              "frameworks": "Frameworks", "accounts": "Accounts", "audit": "Audit log"}
OWN_PATHS = {"evaluator": set(PAGE_PATHS), "champion": {"school", "providers", "frameworks"},
             "funder": {"overview", "providers", "frameworks"}}


PLAIN_REFUSALS = {  # roles as a sentence names them: plural where they may, a/an, "CPD" kept upper case
    ("funder", "school"): "The School dashboard page is for evaluators and school CPD champions, so it is not "
                          "shown to you as a funder. Your pages are in the menu on the left.",
    ("champion", "termly"): "The Termly round page is for evaluators, so it is not shown to you as a school CPD "
                            "champion. Your pages are in the menu on the left."}


@pytest.mark.parametrize("role", ROLE_LINKS)
def test_every_page_opens_by_typed_url_without_page_not_found(page, server, role):
    extra = "&champion_school=107100" if role == "champion" else ""
    for path, title in PAGE_PATHS.items():
        page.goto(f"{server}/{path}?role={role}{extra}")
        expect(page.get_by_text("Demo mode.")).to_be_visible(timeout=TIMEOUT)
        heading = title if path in OWN_PATHS[role] else title.replace(" termly", "")
        expect(page.get_by_role("heading", name=heading).first).to_be_visible(timeout=TIMEOUT)
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(800)  # the dialog, when there was one, came after the page had drawn
        assert page.get_by_text("Page not found").count() == 0, f"{role} /{path}"
        assert page.url.split("?")[0].endswith(f"/{path}"), page.url
        if path not in OWN_PATHS[role]:
            expect(page.get_by_text("so it is not shown to you as")).to_be_visible()
        if (role, path) in PLAIN_REFUSALS:
            expect(page.get_by_text(PLAIN_REFUSALS[role, path], exact=True)).to_be_visible()
