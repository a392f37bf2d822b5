"""Sign-in through a real OpenID Connect provider on loopback (oidc-provider-mock), in a real browser."""

import re
import secrets
import subprocess

import pytest
from playwright.sync_api import expect

from qa import accounts
from qa.ingest import ingest_bytes
from qa.store import Store
from tests.conftest import activity, workbook_bytes
from tests.e2e.conftest import ROOT, free_port, shot, start_streamlit, stop, wait_for

pytestmark = pytest.mark.e2e
MOCK = ROOT / "build" / "oidc-venv" / "bin" / "oidc-provider-mock"
TIMEOUT = 30_000


@pytest.fixture(scope="module")
def signed_app(tmp_path_factory):
    if not MOCK.exists():
        pytest.skip("oidc-provider-mock is not installed (make test installs it with Python 3.12)")
    tmp = tmp_path_factory.mktemp("signin")
    db = tmp / "signin.duckdb"
    with Store(db) as store:
        rows = [activity(school_id="S1", teacher_id="ABBEY-1"), activity(school_id="S1", teacher_id="ABBEY-2"),
                activity(school_id="S2", teacher_id="BIRCH-1")]
        assert ingest_bytes(store, "returns.xlsx", workbook_bytes(rows)).status == "accepted"
        ingest_bytes(store, "schools.xlsx", workbook_bytes({"Schools": [
            {"school_id": "S1", "name": "Abbey Lane"}, {"school_id": "S2", "name": "Birch Park"}]}),
            accept_reference_changes=True)
        accounts.add_account(store, "chris@abbey.sch.uk", "champion", "S1", by="setup")
    mock_port, app_port = free_port(), free_port()
    mock = subprocess.Popen([str(MOCK), "--host", "127.0.0.1", "--port", str(mock_port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    wait_for(f"http://127.0.0.1:{mock_port}/.well-known/openid-configuration", mock, "oidc-provider-mock")
    secrets_file = tmp / "secrets.toml"
    secrets_file.write_text(f"""[auth]
redirect_uri = "http://localhost:{app_port}/oauth2callback"
cookie_secret = "{secrets.token_hex(32)}"
client_id = "cpdqa-test"
client_secret = "{secrets.token_hex(16)}"
server_metadata_url = "http://127.0.0.1:{mock_port}/.well-known/openid-configuration"
""")
    app = start_streamlit(db, app_port, f"--secrets.files={secrets_file}")
    yield f"http://localhost:{app_port}"
    stop(app)
    stop(mock)


def sign_in(page, url: str, email: str) -> None:
    page.goto(url)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Subject").fill(email)
    page.get_by_role("button", name="Authorize", exact=True).click()


def test_champion_signs_in_and_sees_only_their_school(page, signed_app):
    sign_in(page, signed_app, "chris@abbey.sch.uk")
    # the address is shown as text: invisible word joiners after '@' and '.' keep it from becoming a link
    signed_in_as = re.compile("Signed in as chris@\u2060abbey\\.\u2060sch\\.\u2060uk · School CPD champion · school S1")
    expect(page.get_by_text(signed_in_as)).to_be_visible(timeout=TIMEOUT)
    assert page.locator("a[href^='mailto:']").count() == 0
    expect(page.get_by_text("Abbey Lane (S1)")).to_be_visible(timeout=TIMEOUT)
    page.get_by_role("tab", name="Teachers").click()
    expect(page.get_by_text("Demo mode.")).to_have_count(0)
    shot(page, "signed-in-champion")
    content = page.content()
    assert "Birch Park" not in content and "BIRCH-1" not in content
    assert page.get_by_role("link", name="Upload returns").count() == 0


def test_person_without_an_account_sees_no_data(page, signed_app):
    sign_in(page, signed_app, "stranger@example.org")
    expect(page.get_by_text("No access yet")).to_be_visible(timeout=TIMEOUT)
    expect(page.get_by_text("Ask your evaluator to give you access", exact=False)).to_be_visible()
    shot(page, "signed-in-no-account")
    content = page.content()
    assert "Abbey Lane" not in content and "ABBEY-1" not in content and "Birch" not in content
