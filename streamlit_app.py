"""cpdqa dashboard entry point: who is looking, shared filters, and role-aware pages."""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parent))

from app.state import Context, db_path, set_context, store
from app.widgets import literal
from qa import accounts, audit, schema
from qa.access import Viewer
from qa.errors import CpdqaError
from qa.framework import DEFAULT_FRAMEWORK, KITEMARK_FRAMEWORK, load_framework, shipped_frameworks, versions

st.set_page_config(page_title="cpdqa – CPD quality assurance", page_icon=":material/school:", layout="wide")

ROLE_LABELS = {"evaluator": "Evaluator", "champion": "School CPD champion", "funder": "Funder"}
WHOLE_YEAR = "Whole year"


def _secret_section(name: str) -> dict:
    """A section of secrets.toml, or {} when there is no secrets file at all."""
    try:
        return dict(st.secrets.get(name, {}))
    except Exception:  # Streamlit raises when no secrets file exists; that simply means "not configured"
        return {}


def require_sign_in() -> bool:
    setting = os.environ.get("CPDQA_REQUIRE_SIGN_IN") or _secret_section("cpdqa").get("require_sign_in", "")
    return str(setting).strip().lower() in {"1", "true", "yes", "on"}


def signed_in_viewer() -> Viewer:
    """Sign-in through the configured OpenID Connect provider; roles come from the accounts table."""
    provider = _secret_section("cpdqa").get("auth_provider")
    if not st.user.is_logged_in:
        st.title("cpdqa – CPD quality assurance")
        st.write("Sign in with your school or organisation account to see CPD records.")
        st.button("Sign in", type="primary", on_click=st.login, args=(provider,) if provider else ())
        st.stop()
    email = accounts.normalise_email(str(st.user.get("email") or ""))
    who = email or "(no e-mail claim)"
    if str(st.user.get("email_verified", "")).strip().lower() == "false":
        # the identity provider says nobody proved they own this address: it cannot open an account
        if not st.session_state.get("_refusal_recorded"):
            audit.record(store(), who, "access refused", "e-mail address not verified by the identity provider")
            st.session_state["_refusal_recorded"] = True
        st.title("E-mail address not verified")
        address = literal(email) if email else "this address"
        st.error(f"Your identity provider has not verified that {address} is yours, so cpdqa "
                 "cannot let you in with it. Verify the address with your provider, or sign in with your school "
                 "or organisation account.", icon=":material/lock:")
        st.button("Sign out", on_click=st.logout)
        st.stop()
    viewer = accounts.viewer_for(store(), email)
    if not st.session_state.get("_sign_in_recorded"):
        audit.record(store(), who, "sign-in", "" if viewer else "no account")
        st.session_state["_sign_in_recorded"] = True
    if viewer is None:
        # a refused request is audited once per session: no account, or an account removed since sign-in
        reason = "account removed" if st.session_state.get("_had_account") else "no account"
        if st.session_state.get("_refusal_recorded") != reason:
            audit.record(store(), who, "access refused", reason)
            st.session_state["_refusal_recorded"] = reason
        st.title("No access yet")
        address = literal(email) if email else "an account without an e-mail address"
        st.info(f"You are signed in as {address}, but no cpdqa account "
                "uses that address. Ask your evaluator to give you access.", icon=":material/lock:")
        st.button("Sign out", on_click=st.logout)
        st.stop()
    st.session_state["_had_account"] = True
    st.sidebar.caption(f"Signed in as {literal(viewer.email)} · {ROLE_LABELS[viewer.role]}"
                       + (f" · school {viewer.school_id}" if viewer.school_id else ""))
    st.sidebar.button("Sign out", on_click=st.logout, key="sign_out")
    return viewer


def wanted(name: str, default: str | None = None) -> str | None:
    """A sidebar setting from the URL, else the one this session last chose: a page change that drops the query
    string (say, a menu click racing the first run) keeps the role, school, framework, year and term."""
    value = st.query_params.get(name) or st.session_state.get(f"_wanted_{name}") or default
    st.session_state[f"_wanted_{name}"] = value
    return value


def pick_demo_viewer() -> Viewer:
    """No sign-in configured: anyone may pick a role. Clearly bannered, never for real data."""
    st.sidebar.warning("**Demo mode.** No sign-in is configured, so you can view as any role. "
                       "Configure sign-in before loading real records.", icon=":material/visibility:")
    roles = list(ROLE_LABELS)
    requested = wanted("role", "evaluator")
    role = st.sidebar.selectbox("View as", roles, format_func=ROLE_LABELS.get, key="demo_role",
                                index=roles.index(requested) if requested in roles else 0)
    school_id = None
    if role == "champion":
        schools = store().schools()
        if schools.empty:
            st.sidebar.info("No schools yet: upload returns as an evaluator first.")
            st.stop()
        ids = schools["school_id"].tolist()
        names = dict(zip(schools["school_id"], schools["name"], strict=True))
        requested_school = wanted("champion_school")
        school_id = st.sidebar.selectbox("Champion of", ids, format_func=lambda s: f"{names[s]} ({s})",
                                         index=ids.index(requested_school) if requested_school in ids else 0,
                                         key="demo_school")
        if school_id != requested_school:
            st.query_params.pop("school", None)  # the school the last view showed is not this champion's
        st.query_params["champion_school"] = st.session_state["_wanted_champion_school"] = school_id
    if role != requested:
        st.query_params.pop("school", None)  # a role picked here starts at its own school, not the last one shown
    st.query_params["role"] = st.session_state["_wanted_role"] = role
    return Viewer(role, email=f"demo-{role}", school_id=school_id)


def current_viewer() -> Viewer:
    if _secret_section("auth"):
        return signed_in_viewer()
    if require_sign_in():
        st.error("Sign-in is required (CPDQA_REQUIRE_SIGN_IN) but no [auth] section is configured in "
                 ".streamlit/secrets.toml. See the README, 'Deploying with sign-in'.", icon=":material/lock:")
        st.stop()
    return pick_demo_viewer()


def require_database() -> None:
    """Never create a database file the user did not ask for: say how to build or point at one instead."""
    if not Path(db_path()).exists():
        st.title("cpdqa – CPD quality assurance")
        st.error(f"There is no database at {db_path()}. Run `make run` to build the demo database and open the "
                 "dashboard on it, or create one with `cpdqa init --db FILE` (or `cpdqa demo --db FILE`) and start "
                 "the dashboard with CPDQA_DB=FILE.", icon=":material/database:")
        st.stop()


require_database()
try:
    viewer = current_viewer()
except CpdqaError as exc:
    st.error(str(exc), icon=":material/error:")
    st.stop()
db = store()
years = db.academic_years()

frameworks = [f for f in shipped_frameworks() if f != KITEMARK_FRAMEWORK]
wanted_framework = wanted("framework", DEFAULT_FRAMEWORK)
framework_id = st.sidebar.selectbox("Framework", frameworks, key="framework",
                                    index=frameworks.index(wanted_framework) if wanted_framework in frameworks else 0,
                                    format_func=lambda f: shipped_frameworks()[f].title)
if framework_id != wanted_framework:  # a version in the URL belongs to the framework it was picked for
    st.query_params.pop("version", None)
st.query_params["framework"] = st.session_state["_wanted_framework"] = framework_id
choices = versions(db, framework_id)
wanted_version = st.query_params.get("version", "")
version = choices[-1]
if len(choices) > 1:
    version = st.sidebar.selectbox(
        # keyed by the newest version, so a version saved since follows a reader who was judging by the newest
        # (the URL carries a version only when an older one was picked on purpose, and that pick is kept)
        "Framework version", list(reversed(choices)), key=f"framework_version-{framework_id}-{choices[-1]}",
        index=list(reversed(choices)).index(int(wanted_version)) if wanted_version.isdigit()
        and int(wanted_version) in choices else 0,
        format_func=lambda v: f"version {v}" + (" (newest)" if v == choices[-1] else ""),
        help="Results are judged by this version of the framework's rules.")
    if version == choices[-1]:
        st.query_params.pop("version", None)
    else:
        st.query_params["version"] = str(version)
try:
    framework = load_framework(framework_id, db, version)
except CpdqaError as exc:
    st.error(f"{exc}. Pick another version in the sidebar, or make a good one the newest again with "
             f"`cpdqa framework revert --db FILE {framework_id} --to N --by NAME`.", icon=":material/error:")
    st.stop()

year = None
if years:
    wanted_year = wanted("year", years[-1])
    year = st.sidebar.selectbox("Academic year", years, key="year",
                                index=years.index(wanted_year) if wanted_year in years else len(years) - 1)
    st.query_params["year"] = st.session_state["_wanted_year"] = year
terms = [WHOLE_YEAR, *schema.TERMS]
wanted_term = wanted("term", WHOLE_YEAR)
term = st.sidebar.selectbox("Up to the end of", terms, key="term", index=terms.index(wanted_term)
                            if wanted_term in terms else 0, help="Judge the year so far: on track or at risk.")
st.query_params["term"] = st.session_state["_wanted_term"] = term
if len(choices) == 1:
    st.sidebar.caption(f"Framework version {framework.version}")

set_context(Context(viewer=viewer, framework=framework, year=year,
                    through_term=None if term == WHOLE_YEAR else term, years=years, as_of=dt.date.today()))

PAGES = "app/app_pages"
PAGE_FILES = {"school": f"{PAGES}/school.py", "overview": f"{PAGES}/funder.py",  # pages a role may open first
              "termly": f"{PAGES}/termly_round.py"}
termly = st.Page(f"{PAGES}/termly_round.py", title="Termly round", icon=":material/fact_check:", url_path="termly")
school = st.Page(f"{PAGES}/school.py", title="School dashboard", icon=":material/school:", url_path="school")
funder = st.Page(f"{PAGES}/funder.py", title="Programme overview", icon=":material/insights:", url_path="overview")
providers = st.Page(f"{PAGES}/providers.py", title="Providers", icon=":material/workspace_premium:",
                    url_path="providers")
upload = st.Page(f"{PAGES}/upload.py", title="Upload returns", icon=":material/upload_file:", url_path="upload")
quality = st.Page(f"{PAGES}/data_quality.py", title="Data quality", icon=":material/rule:", url_path="data-quality")
rules = st.Page(f"{PAGES}/frameworks.py", title="Frameworks", icon=":material/menu_book:", url_path="frameworks")
people = st.Page(f"{PAGES}/accounts.py", title="Accounts", icon=":material/group:", url_path="accounts")
log = st.Page(f"{PAGES}/audit_log.py", title="Audit log", icon=":material/history:", url_path="audit")

by_role = {
    "evaluator": {"Dashboards": [termly, school, funder, providers], "Data": [upload, quality],
                  "Administration": [rules, people, log]},
    "champion": {"My school": [school, providers], "Rules": [rules]},
    "funder": {"Programme": [funder, providers], "Rules": [rules]},
}


def not_for_this_role(page: st.Page) -> st.Page:
    """A page this role may not open: the same URL, politely saying so, instead of Streamlit's dialog."""
    def in_a_sentence(role: str) -> str:  # "School CPD champion" -> "school CPD champion"
        return ROLE_LABELS[role][0].lower() + ROLE_LABELS[role][1:]

    allowed = [in_a_sentence(r) + "s" for r, sections in by_role.items()
               if any(p.url_path == page.url_path for ps in sections.values() for p in ps)]
    you = in_a_sentence(viewer.role)

    def explain() -> None:
        st.title(page.title)
        st.info(f"The {page.title} page is for {' and '.join(allowed)}, so it is not shown to you as "
                f"{'an' if you[0] in 'aeiou' else 'a'} {you}. Your pages are in the menu on the left.",
                icon=":material/lock:")

    return st.Page(explain, title=page.title, url_path=page.url_path, visibility="hidden")


own = by_role[viewer.role]
own_paths = {p.url_path for pages in own.values() for p in pages}
others = [not_for_this_role(p) for p in (termly, school, funder, providers, upload, quality, rules, people, log)
          if p.url_path not in own_paths]
# The root URL shows the role's first page. Streamlit serves its default page at "/" only, so the default is a
# hidden second registration of that page's script: every real page keeps its own typed URL (no "Page not
# found"), and "/" renders at once, with no switch_page rerun that could race the first clicks.
first = next(iter(own.values()))[0]
home = st.Page(PAGE_FILES[first.url_path], title=first.title, icon=first.icon, url_path="home", default=True,
               visibility="hidden")
hidden = [home, *others]
page = st.navigation({**own, "": hidden})
try:
    page.run()
except CpdqaError as exc:  # a user-facing problem: its message, never a traceback
    st.error(str(exc), icon=":material/error:")
