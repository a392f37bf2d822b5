"""Framework versions: saved in a row, compared, reverted; thresholds that cannot be judged are refused."""

import datetime as dt
import re

import pandas as pd
import pytest

from qa import engine, reports
from qa.framework import (
    FrameworkError,
    load_framework,
    revert_to,
    save_version,
    versions,
    with_overrides,
)
from tests.conftest import activity

DONE = engine.Filters(as_of=dt.date(2021, 1, 1))


def test_three_versions_in_a_row_then_revert(store):
    for hours in (30, 31, 32):
        current = load_framework("wellcome", store)
        save_version(store, with_overrides(current, {"meets_hours": hours}), "eva")
    assert versions(store, "wellcome") == [1, 2, 3, 4]
    assert load_framework("wellcome", store).rules[0].threshold == 32
    assert [load_framework("wellcome", store, v).rules[0].threshold for v in (1, 2, 3)] == [35, 30, 31]
    reverted = revert_to(store, "wellcome", 2, "eva")
    assert reverted.version == 5 and load_framework("wellcome", store).rules[0].threshold == 30
    edits = [r[0] for r in store.query_rows(
        "SELECT detail FROM audit_log WHERE action = 'framework edit' ORDER BY event_id")]
    assert edits == ["wellcome version 2: meets_hours 35.0 -> 30.0", "wellcome version 3: meets_hours 30.0 -> 31.0",
                     "wellcome version 4: meets_hours 31.0 -> 32.0", "wellcome version 5: reverted to version 2"]


@pytest.mark.parametrize(("value", "message"), [
    (float("nan"), "must be a finite number, not nan"),
    (float("inf"), "must be a finite number, not inf"),
    (-1, "must be between 0 and 2000 hours; got -1"),
])
def test_unusable_hour_thresholds_are_refused(value, message):
    with pytest.raises(FrameworkError, match=f"Not saved: the threshold of '35 counted hours a year' {message}"):
        with_overrides(load_framework("wellcome"), {"meets_hours": value})


def test_a_share_above_one_is_refused():
    with pytest.raises(FrameworkError, match=re.escape("is a share, so must be between 0% and 100%; got 1.5")):
        with_overrides(load_framework("wellcome"), {"meets_subject": 1.5})


def test_compare_counts_changed_results_by_school(store, load):
    rows = [activity(school_id=s, teacher_id=t, hours=h / 5, activity_date=dt.date(2019, 10, 1 + i))
            for s, t, h in (("S1", "A", 32), ("S1", "B", 40), ("S2", "C", 20)) for i in range(5)]
    load(rows)
    before = load_framework("wellcome")
    after = with_overrides(before, {"meets_hours": 30})
    diff = engine.compare_frameworks(store, before, after, DONE).set_index("school_id")
    assert diff.loc["S1"].tolist() == [2, 1, 1, 2]
    assert diff.loc["S2"].tolist() == [1, 0, 0, 0]


def test_a_nan_version_saved_before_the_check_can_still_be_reverted(store):
    good = load_framework("wellcome").to_toml()
    assert "threshold = 35.0\n" in good
    with store.transaction() as cur:
        cur.execute("INSERT INTO framework_versions VALUES ('wellcome', 2, 'old', current_timestamp, ?)",
                    [good.replace("threshold = 35.0\n", "threshold = nan\n", 1)])
    with pytest.raises(FrameworkError, match="must be a finite number, not nan"):
        load_framework("wellcome", store)
    reverted = revert_to(store, "wellcome", 1, "eva")
    assert reverted.version == 3 and load_framework("wellcome", store).rules[0].threshold == 35


def test_an_old_version_linked_for_one_framework_is_not_applied_to_the_next_one_picked(tmp_path, monkeypatch):
    """A link to version 1 of one framework must not silently judge by version 1 of another picked after it."""
    import streamlit as st

    from qa.store import Store
    from tests.test_app import app

    st.cache_resource.clear()
    db = tmp_path / "v.duckdb"
    with Store(db) as store:
        for fid, rule, value in (("wellcome", "meets_hours", 30.0), ("dfe-2016", "quality_share", 0.5),
                                 ("dfe-2016", "quality_share", 0.4)):
            save_version(store, with_overrides(load_framework(fid, store), {rule: value}), "eva")
    at = app(db, monkeypatch, "evaluator", framework="wellcome", version="1")
    assert not at.exception
    assert at.selectbox(key="framework_version-wellcome-2").value == 1  # the link is honoured
    at.selectbox(key="framework").set_value("dfe-2016").run()
    assert not at.exception
    assert at.selectbox(key="framework_version-dfe-2016-3").value == 3  # the newest, as for any framework picked
    assert "version" not in at.query_params
    st.cache_resource.clear()


def test_shipped_frameworks_are_parsed_once_and_again_when_a_file_changes(tmp_path, monkeypatch):
    import os
    import shutil

    from qa import framework as framework_module

    for path in framework_module.FRAMEWORK_DIR.glob("*.toml"):
        shutil.copy(path, tmp_path / path.name)
    monkeypatch.setattr(framework_module, "FRAMEWORK_DIR", tmp_path)
    monkeypatch.setattr(framework_module, "_shipped", ((), {}))  # put back afterwards, as it was
    parsed = []
    real_parse = framework_module.parse_framework
    monkeypatch.setattr(framework_module, "parse_framework",
                        lambda text, origin="framework": parsed.append(origin) or real_parse(text, origin))
    first = framework_module.shipped_frameworks()
    assert sorted(first) == ["dfe-2016", "eppi-collaborative-sustained", "kitemark", "wellcome"]
    first.pop("wellcome")  # a caller's own dict: the next caller still gets every framework
    again = framework_module.shipped_frameworks()
    assert sorted(again) == sorted([*first, "wellcome"]) and len(parsed) == 4

    dfe = tmp_path / "dfe-2016.toml"
    dfe.write_text(dfe.read_text().replace('title = "DfE Standard', 'title = "Edited DfE Standard', 1))
    os.utime(dfe, ns=(dfe.stat().st_atime_ns, dfe.stat().st_mtime_ns + 1_000_000_000))
    assert framework_module.shipped_frameworks()["dfe-2016"].title.startswith("Edited DfE Standard")
    assert len(parsed) == 8
    (tmp_path / "kitemark.toml").unlink()
    assert "kitemark" not in framework_module.shipped_frameworks()


def test_a_changed_threshold_changes_the_words_a_teacher_reads(store, load):
    """The title quoted 35 hours; after an edit to 120 a teacher read "35 counted hours a year: ... needs at
    least 120.0 h". Now the title is the rule in words and the explanation says which figure its text is for."""
    load([activity(teacher_id="A", hours=4, activity_date=dt.date(2019, 10, 1 + i)) for i in range(5)])
    saved = save_version(store, with_overrides(load_framework("wellcome"), {"meets_hours": 120}), "eva")
    rule = saved.rules[0]
    assert rule.title == "Counted hours at least 120.0 h"
    assert rule.explanation.endswith("should reach 35 in the year (pro rata by terms during the year). "
                                     "(The framework's own wording is for 35.0 h; this version uses 120.0 h.)")
    reason = engine.teacher_results(store, load_framework("wellcome", store), DONE)["explanation"].iloc[0]
    assert reason.startswith("Counted hours at least 120.0 h: 20.0 h") and "35" not in reason
    assert saved.summary.endswith("subject-specific. (This version's thresholds differ from the text above: "
                                  "counted hours at least 120.0 h (written for 35.0 h).)")
    teachers = engine.teacher_results(store, saved, DONE)
    assert reports.next_steps(saved, teachers, pd.DataFrame(), [])[0] == (
        "1 of 1 teachers are short on 'Counted hours at least 120.0 h' (academic year).")
    # edited again, the note still names the framework's own figure; back at 35, no note is needed
    again = with_overrides(saved, {"meets_hours": 30})
    assert again.rules[0].explanation.endswith("(The framework's own wording is for 35.0 h; this version uses 30.0 h.)")
    assert again.summary.endswith("(This version's thresholds differ from the text above: counted hours at least "
                                  "30.0 h (written for 35.0 h).)")
    back = with_overrides(again, {"meets_hours": 35})
    assert "own wording" not in back.rules[0].explanation and back.summary == load_framework("wellcome").summary
    # a kite-mark level's rule has no title: its explanation carries the note
    kitemark = with_overrides(load_framework("kitemark"), {"kitemark.Silver.1": 0.6})
    assert kitemark.kitemark.levels[1].rules[0].explanation == ("At least 70% of hours have all 4 DfE aspects. "
                                                                "(The framework's own wording is for 70%; "
                                                                "this version uses 60%.)")
