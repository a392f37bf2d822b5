"""Accounts, the audit log, and the signed-in app: who may see what once sign-in is configured."""

import datetime as dt
import re
from pathlib import Path

import pytest
import streamlit as st
from click.testing import CliRunner
from streamlit.testing.v1 import AppTest

from qa import accounts, audit
from qa.access import Viewer
from qa.cli import main
from qa.framework import load_framework, save_version, with_overrides
from qa.ingest import ingest_bytes, undo_upload
from qa.store import Store
from tests.conftest import activity, workbook_bytes

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")
AUTH = {"auth": {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 64,
                 "client_id": "cpdqa", "client_secret": "s",
                 "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"}}
EVALUATOR = Viewer("evaluator")


def test_accounts_add_change_remove_and_map_to_viewers(store):
    accounts.add_account(store, " Chris@Abbey.sch.uk ", "champion", "S1", by="eva@x.org")
    viewer = accounts.viewer_for(store, "CHRIS@abbey.sch.uk")
    assert viewer == Viewer("champion", email="chris@abbey.sch.uk", school_id="S1")
    accounts.add_account(store, "chris@abbey.sch.uk", "funder", None, by="eva@x.org")
    assert accounts.viewer_for(store, "chris@abbey.sch.uk").role == "funder"
    accounts.remove_account(store, "chris@abbey.sch.uk", by="eva@x.org")
    assert accounts.viewer_for(store, "chris@abbey.sch.uk") is None
    assert accounts.viewer_for(store, None) is None


@pytest.mark.parametrize(("email", "role", "school", "message"), [
    ("not-an-address", "evaluator", None, "is not an e-mail address"),
    ("a@b.org", "admin", None, "role must be one of evaluator, champion, funder"),
    ("a@b.org", "champion", None, "a school CPD champion needs a school"),
    ("a@b.org", "funder", "S1", "only champions belong to a school"),
])
def test_account_mistakes_are_refused(store, email, role, school, message):
    with pytest.raises(accounts.AccountError, match=message):
        accounts.add_account(store, email, role, school, by="eva")
    assert accounts.list_accounts(store).empty


def test_every_change_is_in_the_audit_log(store):
    first = ingest_bytes(store, "a.xlsx", workbook_bytes([activity()]), by="eva@x.org")
    second = ingest_bytes(store, "b.xlsx", workbook_bytes([activity(hours=2)]), by="eva@x.org", replace=True)
    undo_upload(store, second.upload_id, by="sam@x.org")
    save_version(store, with_overrides(load_framework("wellcome"), {"meets_hours": 30}), saved_by="eva@x.org")
    accounts.add_account(store, "c@s.org", "champion", "S1", by="eva@x.org")
    accounts.remove_account(store, "c@s.org", by="eva@x.org")
    log = audit.events(store, EVALUATOR).iloc[::-1]
    assert list(zip(log["who"], log["action"], strict=True)) == [
        ("eva@x.org", "upload"), ("eva@x.org", "replace"), ("sam@x.org", "undo"), ("eva@x.org", "framework edit"),
        ("eva@x.org", "account added"), ("eva@x.org", "account removed")]
    details = log["detail"].tolist()
    assert details[1] == f"#{second.upload_id} b.xlsx: 1 rows accepted, 0 quarantined; replaces #{first.upload_id}"
    assert details[3] == "wellcome version 2: meets_hours 35.0 -> 30.0"
    with pytest.raises(PermissionError):
        audit.events(store, Viewer("champion", school_id="S1"))


def test_rejected_upload_leaves_no_audit_event(store):
    ingest_bytes(store, "bad.xlsx", b"not a spreadsheet", by="eva")
    assert audit.events(store, EVALUATOR).empty


def test_user_commands(tmp_path):
    db = str(tmp_path / "u.duckdb")
    runner = CliRunner()
    added = runner.invoke(main, ["user", "add", "--db", db, "Chris@Abbey.sch.uk", "--role", "champion",
                                 "--school", "S1", "--by", "eva"])
    assert added.exit_code == 0 and "chris@abbey.sch.uk: champion of school S1" in added.output
    assert "chris@abbey.sch.uk" in runner.invoke(main, ["user", "list", "--db", db]).output
    refused = runner.invoke(main, ["user", "add", "--db", db, "x@y.org", "--role", "champion", "--by", "eva"])
    assert refused.exit_code == 2 and "needs a school" in refused.output
    assert runner.invoke(main, ["user", "remove", "--db", db, "chris@abbey.sch.uk", "--by", "eva"]).exit_code == 0
    missing = runner.invoke(main, ["user", "remove", "--db", db, "chris@abbey.sch.uk", "--by", "eva"])
    assert missing.exit_code == 1 and "there is no account" in missing.output
    log = runner.invoke(main, ["audit", "--db", db]).output
    assert "account removed" in log and "account added" in log


# ------------------------------------------------------------------ the signed-in app

@pytest.fixture
def signed_db(tmp_path):
    path = tmp_path / "signed.duckdb"
    with Store(path) as store:
        rows = [activity(school_id="S1", teacher_id="<script>alert(1)</script>", hours=36),
                activity(school_id="S1", teacher_id="T2"), activity(school_id="S2", teacher_id="V1")]
        ingest_bytes(store, "r.xlsx", workbook_bytes(rows))
        accounts.add_account(store, "chris@abbey.sch.uk", "champion", "S1", by="setup")
        accounts.add_account(store, "eva@eval.org", "evaluator", None, by="setup")
    return path


@pytest.fixture(autouse=True)
def fresh_cache():
    st.cache_resource.clear()
    yield
    st.cache_resource.clear()


def signed_in(db, monkeypatch, user: dict, **params) -> AppTest:
    monkeypatch.setenv("CPDQA_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets = AUTH
    at.user = user
    for key, value in params.items():
        at.query_params[key] = value
    return at.run()


def page_text(at, as_read: bool = True) -> str:
    """The page as a reader sees it (user text and e-mail addresses are escaped for Markdown by
    widgets.literal), or with `as_read=False` the Markdown exactly as sent to the browser."""
    parts = [*at.markdown, *at.caption, *at.error, *at.info, *at.title, *at.warning]
    sent = "\n".join(str(p.value) for p in parts)
    return re.sub(r"\\(.)", r"\1", sent).replace("\u2060", "") if as_read else sent


def test_signed_out_visitor_sees_a_sign_in_button_and_no_data(signed_db, monkeypatch):
    at = signed_in(signed_db, monkeypatch, {"is_logged_in": False})
    assert [b.label for b in at.button] == ["Sign in"]
    assert not at.metric and not at.dataframe and "Demo mode" not in page_text(at)


def test_signed_in_champion_sees_only_their_school(signed_db, monkeypatch):
    at = signed_in(signed_db, monkeypatch, {"is_logged_in": True, "email": "Chris@Abbey.sch.uk"})
    assert not at.exception
    assert "Signed in as chris@abbey.sch.uk · School CPD champion · school S1" in page_text(at)
    assert {m.label: m.value for m in at.metric}["Teachers"] == "2"
    assert "Demo mode" not in page_text(at) and not [s for s in at.sidebar.selectbox if s.key == "demo_role"]
    teachers = at.dataframe[0].value["Teacher (staff code)"].tolist()
    assert "<script>alert(1)</script>" in teachers  # shown literally as text, never as HTML
    assert "<script>" not in page_text(at, as_read=False)  # escaped wherever the staff code is quoted
    assert "\\<script\\>alert\\(1\\)" in page_text(at, as_read=False)
    other = signed_in(signed_db, monkeypatch, {"is_logged_in": True, "email": "chris@abbey.sch.uk"}, school="S2")
    assert "You can see your own school's data only." in page_text(other) and not other.metric
    with Store(signed_db) as store:
        events = audit.events(store, EVALUATOR)
    assert ("chris@abbey.sch.uk", "sign-in") in set(zip(events["who"], events["action"], strict=True))


def test_signed_in_without_an_account_sees_no_data(signed_db, monkeypatch):
    at = signed_in(signed_db, monkeypatch, {"is_logged_in": True, "email": "stranger@example.org"})
    assert "No access yet" in page_text(at)
    assert "Ask your evaluator to give you access" in page_text(at)
    assert not at.metric and not at.dataframe
    with Store(signed_db) as store:
        events = audit.events(store, EVALUATOR)
    assert list(zip(events["who"], events["action"], events["detail"], strict=True))[:2] == [
        ("stranger@example.org", "access refused", "no account"), ("stranger@example.org", "sign-in", "no account")]


def test_an_email_address_is_shown_as_text_never_as_markup(signed_db, monkeypatch):
    at = signed_in(signed_db, monkeypatch, {"is_logged_in": True, "email": "[Sign in again](https://evil.example)@x.org"})
    shown = "\n".join(str(i.value) for i in at.info)
    assert "No access yet" in page_text(at)
    assert "\\[sign in again\\]\\(https\\:\u2060" in shown  # brackets and the link escaped: no live link
    assert "You are signed in as [sign in again](https://evil.example)@x.org" in page_text(at)


def test_an_unverified_email_address_is_refused_and_audited(signed_db, monkeypatch):
    at = signed_in(signed_db, monkeypatch, {"is_logged_in": True, "email": "Chris@Abbey.sch.uk",
                                            "email_verified": False})
    assert "E-mail address not verified" in page_text(at)
    assert "has not verified that chris@abbey.sch.uk is yours" in page_text(at)
    assert not at.metric and not at.dataframe
    with Store(signed_db) as store:
        last = audit.events(store, EVALUATOR).iloc[0]
    assert (last.who, last.action, last.detail) == (
        "chris@abbey.sch.uk", "access refused", "e-mail address not verified by the identity provider")
    verified = signed_in(signed_db, monkeypatch, {"is_logged_in": True, "email": "chris@abbey.sch.uk",
                                                  "email_verified": True})
    assert {m.label: m.value for m in verified.metric}["Teachers"] == "2"


def test_other_school_and_removed_account_are_refused_and_audited(signed_db, monkeypatch):
    other = signed_in(signed_db, monkeypatch, {"is_logged_in": True, "email": "chris@abbey.sch.uk"}, school="S2")
    assert "You can see your own school's data only." in page_text(other)
    at = signed_in(signed_db, monkeypatch, {"is_logged_in": True, "email": "chris@abbey.sch.uk"})
    assert at.metric
    with Store(signed_db) as store:
        accounts.remove_account(store, "chris@abbey.sch.uk", by="eva@eval.org")
    at.run()
    assert "No access yet" in page_text(at) and not at.metric
    with Store(signed_db) as store:
        events = audit.events(store, EVALUATOR)
    refused = events[events["action"] == "access refused"]
    assert list(zip(refused["who"], refused["detail"], strict=True)) == [
        ("chris@abbey.sch.uk", "account removed"), ("chris@abbey.sch.uk", "school dashboard for school S2")]


def test_required_sign_in_refuses_to_run_without_it(signed_db, monkeypatch):
    monkeypatch.setenv("CPDQA_DB", str(signed_db))
    monkeypatch.setenv("CPDQA_REQUIRE_SIGN_IN", "1")
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert "Sign-in is required" in page_text(at) and not at.metric


def test_evaluator_manages_accounts_and_downloads_are_audited(signed_db, monkeypatch):
    at = signed_in(signed_db, monkeypatch, {"is_logged_in": True, "email": "eva@eval.org"})
    at.switch_page("app/app_pages/accounts.py").run()
    at.text_input(key="acct_email").input("fran@funder.org")
    at.selectbox(key="acct_role").select("funder")
    submit = [b for b in at.get("button") if b.label == "Save account"]
    assert submit, "the form's submit button"
    submit[0].click().run()
    assert "Saved fran@funder.org as funder." in [s.value for s in at.success]
    at.switch_page("app/app_pages/audit_log.py").run()
    at.download_button(key="audit-csv").click().run()
    with Store(signed_db) as store:
        log = audit.events(store, EVALUATOR)
        assert accounts.viewer_for(store, "fran@funder.org").role == "funder"
    actions = list(zip(log["who"], log["action"], strict=True))
    assert ("eva@eval.org", "account added") in actions and ("eva@eval.org", "export") in actions


def test_funder_download_never_contains_teacher_ids_or_small_cells(signed_db, monkeypatch):
    with Store(signed_db) as store:
        accounts.add_account(store, "fran@funder.org", "funder", None, by="setup")
    at = signed_in(signed_db, monkeypatch, {"is_logged_in": True, "email": "fran@funder.org"})
    assert at.title[0].value == "Programme overview"
    from qa import views
    from qa.exports import to_csv_bytes

    with Store(signed_db) as store:
        overview = views.funder_overview(store, Viewer("funder"), load_framework("wellcome"), "2019/20",
                                         dt.date(2021, 1, 1))
    for frame in (overview.by_year, overview.by_phase, overview.by_local_authority, overview.schools):
        text = to_csv_bytes(frame).decode("utf-8-sig")
        assert "T2" not in text and "V1" not in text and "script" not in text
        assert ",c," in text or text.rstrip().endswith(",c")  # every group here has fewer than 5 teachers
