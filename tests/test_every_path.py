"""Every page × role × shipped framework × period × database renders, with no snake_case header shown.

The full product (81 sessions, about 380 page runs) takes over five minutes on two cores, so the matrix runs
every framework × period × database triple (27 sessions) with the role rotating over them: every pair of values
of any two of the four factors is covered, and each session opens every page of its role (about 130 page runs).
Each database is built once per test session.
"""

import datetime as dt

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from qa.framework import KITEMARK_FRAMEWORK, shipped_frameworks
from qa.labels import is_snake_case
from qa.store import Store
from tests.conftest import activity, workbook_bytes
from tests.test_app import APP, PAGES

ROLE_PAGES = {
    "evaluator": ["termly_round", "school", "funder", "providers", "upload", "data_quality", "frameworks", "accounts",
                  "audit_log"],
    "champion": ["school", "providers", "frameworks"],
    "funder": ["funder", "providers", "frameworks"],
}
FRAMEWORKS = [f for f in shipped_frameworks() if f != KITEMARK_FRAMEWORK]
PERIODS = ["Whole year", "Autumn", "Spring"]
TINY_SCHOOL = "URN:107*"  # a school id with characters a spreadsheet sheet name refuses


@pytest.fixture(scope="session")
def empty_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("empty") / "empty.duckdb"
    Store(path).close()
    return path


@pytest.fixture(scope="session")
def tiny_db(tmp_path_factory):
    """Groups of fewer than 5 teachers everywhere: a suppressed baseline year, then a year of 6 teachers in two
    schools of 3, each school below the disclosure threshold; one provider and programme used by 3 teachers."""
    from qa.ingest import ingest_bytes

    path = tmp_path_factory.mktemp("tiny") / "tiny.duckdb"
    rows = []
    for school, years in ((TINY_SCHOOL, (2018, 2019)), ("X9", (2019,))):
        for start in years:
            for n in range(3):
                for month, day in ((10, 1), (2, 1), (5, 1)):
                    when = dt.date(start + (month < 9), month, day + n)
                    rows.append(activity(school_id=school, teacher_id=f"{school}-{n}", activity_date=when,
                                         hours=4 + 4 * n, provider="Tiny Provider" if n == 0 else None,
                                         programme="Tiny Programme" if n == 0 else None,
                                         collaboration="Y" if n else "N"))
    with Store(path) as store:
        assert ingest_bytes(store, "tiny.xlsx", workbook_bytes(rows)).status == "accepted"
        ref = workbook_bytes({"Schools": [{"school_id": TINY_SCHOOL, "name": "Star School", "phase": "primary"},
                                          {"school_id": "X9", "name": "Ninth School", "phase": "secondary"}]})
        assert ingest_bytes(store, "ref.xlsx", ref).status == "accepted"
    return path


@pytest.fixture(scope="session")
def databases(demo_db, empty_db, tiny_db):
    return {"demo": demo_db, "empty": empty_db, "tiny": tiny_db}


def shown_problems(at: AppTest, page: str) -> list[str]:
    problems = [f"{page}: {e.value}" for e in at.exception]
    for frame in at.dataframe:
        problems += [f"{page}: column '{c}'" for c in frame.value.columns if is_snake_case(str(c))]
    problems += [f"{page}: metric '{m.label}'" for m in at.metric if is_snake_case(m.label)]
    return problems


DATABASES = ["demo", "empty", "tiny"]
ROLES = list(ROLE_PAGES)
CASES = [(ROLES[(f + p + d) % 3], FRAMEWORKS[f], PERIODS[p], DATABASES[d])
         for f in range(3) for p in range(3) for d in range(3)]


def test_the_cases_cover_every_pair_of_factor_values():
    for i in range(4):
        for j in range(i + 1, 4):
            assert len({(case[i], case[j]) for case in CASES}) == 9


@pytest.mark.parametrize(("role", "framework", "period", "database"), CASES)
def test_every_page_renders(databases, monkeypatch, role, framework, period, database):
    st.cache_resource.clear()
    monkeypatch.setenv("CPDQA_DB", str(databases[database]))
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(role=role, framework=framework, term=period)
    at.run()
    problems = shown_problems(at, "first page")
    if database == "empty" and role == "champion":  # no school to be champion of yet: the sidebar says so
        assert "No schools yet" in " ".join(i.value for i in at.sidebar.info)
        return
    for page in ROLE_PAGES[role]:
        at.switch_page(f"{PAGES}/{page}.py").run()
        assert at.title, f"{page} showed no title"
        problems += shown_problems(at, page)
    assert not problems, "\n".join(problems)
    st.cache_resource.clear()
