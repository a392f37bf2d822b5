"""Results cached per data version: shared, bounded, and never stale after an upload, undo or save."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pandas as pd
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from qa import engine
from qa.cache import ResultCache
from qa.framework import load_framework, save_version, with_overrides
from qa.ingest import ingest_bytes, undo_upload
from qa.store import Store
from tests.conftest import activity, workbook_bytes

AS_OF = dt.date(2020, 9, 1)


def test_concurrent_callers_share_one_computation():
    cache = ResultCache()
    calls = []

    def compute():
        calls.append(1)
        time.sleep(0.2)
        return pd.DataFrame({"x": [1, 2, 3]})

    results = []
    threads = [threading.Thread(target=lambda: results.append(cache.get(1, "q", compute))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1
    assert [r["x"].tolist() for r in results] == [[1, 2, 3]] * 8


def test_a_caller_changing_its_copy_leaves_the_cache_alone():
    cache = ResultCache()
    first = cache.get(1, "q", lambda: pd.DataFrame({"x": [1.0, 2.0]}))
    first["x"] = 0.0
    first["extra"] = "changed"
    again = cache.get(1, "q", lambda: pytest.fail("computed twice"))
    assert list(again.columns) == ["x"] and again["x"].tolist() == [1.0, 2.0]


def test_a_newer_version_drops_older_entries_and_the_budget_evicts_least_recent():
    frame = pd.DataFrame({"x": range(1000)})  # ~8 kB
    cache = ResultCache(budget_bytes=3 * 8_200)
    for key in "abc":
        cache.get(1, key, lambda: frame)
    cache.get(1, "a", lambda: pytest.fail("a was evicted too early"))
    cache.get(1, "d", lambda: frame)  # evicts b, the least recently used
    assert len(cache) == 3
    computed = []
    cache.get(1, "b", lambda: computed.append("b") or frame)
    assert computed == ["b"]
    cache.get(2, "a", lambda: frame)
    assert len(cache) == 1  # version 2 dropped every version-1 entry


def test_a_result_computed_for_an_old_version_is_not_kept():
    cache = ResultCache()
    cache.get(2, "q", lambda: 1)
    assert cache.get(1, "q", lambda: 2) == 2  # a reader that began before the change
    assert cache.get(2, "q", lambda: pytest.fail("lost")) == 1


def test_stores_on_one_file_share_the_version_and_the_cache(tmp_path):
    path = tmp_path / "shared.duckdb"
    with Store(path) as writer, Store(path) as reader:
        framework = load_framework("wellcome", reader)
        assert engine.teacher_results(reader, framework, engine.Filters(as_of=AS_OF)).empty
        ingest_bytes(writer, "a.xlsx", workbook_bytes([activity(hours=7)]))
        result = engine.teacher_results(reader, framework, engine.Filters(as_of=AS_OF))
        assert result["total_hours"].tolist() == [7.0]


def test_audit_events_and_assessment_records_keep_cached_results(store):
    ingest_bytes(store, "a.xlsx", workbook_bytes([activity(hours=7)]))
    version = store.data_version
    engine.assess(store, "teacher", "wellcome", engine.Filters(as_of=AS_OF))
    from qa import audit
    audit.record(store, "someone@example.org", "export", "x.csv (1 rows)")
    assert store.data_version == version


SCHOOLS = ("S1", "S2")
TEACHERS = ("T1", "T2", "T3")
TERM_DATES = {"Autumn": dt.date(2019, 10, 1), "Spring": dt.date(2020, 2, 3), "Summer": dt.date(2020, 5, 4)}


class CachedResultsAreNeverStale(RuleBasedStateMachine):
    """After any sequence of uploads, replacements, undos and framework saves, every cached
    level equals the same level computed from scratch."""

    @initialize()
    def open_store(self):
        import tempfile
        from pathlib import Path

        self.dir = tempfile.TemporaryDirectory()
        self.store = Store(Path(self.dir.name) / "cache.duckdb")
        self.framework = load_framework("wellcome", self.store)
        self.uploads: list[int] = []
        self.files = 0

    def teardown(self):
        self.store.close()
        self.dir.cleanup()

    def _levels(self) -> dict[str, pd.DataFrame]:
        filters = [engine.Filters(as_of=AS_OF), engine.Filters(year="2019/20", through_term="Spring", as_of=AS_OF),
                   engine.Filters(as_of=AS_OF, schools=("S1",))]
        out = {}
        for i, f in enumerate(filters):
            out[f"teacher{i}"] = engine.teacher_results(self.store, self.framework, f)
            out[f"school{i}"] = engine.school_results(self.store, self.framework, f)
        out["provider"] = engine.provider_results(self.store, self.framework, filters[0])
        out["years"] = pd.DataFrame({"y": self.store.academic_years()})
        return out

    @rule(school=st.sampled_from(SCHOOLS), term=st.sampled_from(list(TERM_DATES)),
          teachers=st.lists(st.sampled_from(TEACHERS), min_size=1, max_size=3),
          hours=st.sampled_from([1.5, 12, 35]), replace=st.booleans())
    def upload(self, school, term, teachers, hours, replace):
        self.files += 1
        rows = [activity(school_id=school, teacher_id=t, activity_date=TERM_DATES[term], hours=hours,
                         provider="Prov A") for t in teachers]
        report = ingest_bytes(self.store, f"r{self.files}.xlsx", workbook_bytes(rows), replace=replace)
        if report.upload_id is not None and report.upload_id not in self.uploads:
            self.uploads.append(report.upload_id)

    @rule(data=st.data())
    def undo(self, data):
        if self.uploads:
            upload_id = data.draw(st.sampled_from(self.uploads))
            self.uploads.remove(upload_id)
            undo_upload(self.store, upload_id)

    @rule(hours=st.sampled_from([20, 30, 35]))
    def save_framework(self, hours):
        self.framework = save_version(self.store, with_overrides(self.framework, {"meets_hours": hours}), "t")

    @rule()
    def restart(self):
        """A new process: nothing in memory, results stored in the database under its data version."""
        version = self.store.data_version
        path = self.store.path
        self.store.close()
        self.store = Store(path)
        assert self.store.data_version == version
        assert len(self.store.results) == 0

    @invariant()
    def cached_equals_fresh(self):
        cached = self._levels()
        self._levels()  # served from the cache this time
        self.store.results.clear()
        self.store.drop_stored_results()
        fresh = self._levels()
        for name, frame in fresh.items():
            pd.testing.assert_frame_equal(cached[name], frame, obj=name)


CachedResultsAreNeverStale.TestCase.settings = settings(
    max_examples=10, stateful_step_count=6, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
test_cached_results_are_never_stale = CachedResultsAreNeverStale.TestCase


def test_a_cached_release_hands_out_frames_the_caller_may_change():
    from qa.views import FunderOverview

    def compute():
        frame = pd.DataFrame({"teachers": [7]})
        return FunderOverview(frame, frame, frame, frame, frame, frame, "2019/20")

    cache = ResultCache()
    first = cache.get(1, "overview", compute)
    first.by_year["teachers"] = 0
    again = cache.get(1, "overview", lambda: pytest.fail("computed twice"))
    assert again.by_year["teachers"].tolist() == [7] and again.year == "2019/20"


def test_a_new_process_reads_stored_results_until_the_data_changes(tmp_path, monkeypatch):
    path = tmp_path / "stored.duckdb"
    with Store(path) as store:
        ingest_bytes(store, "a.xlsx", workbook_bytes([activity(hours=7)]))
        framework = load_framework("wellcome", store)
        first = engine.school_results(store, framework, engine.Filters(as_of=AS_OF))
        version = store.data_version
        stored = store.scalar("SELECT count(*) FROM stored_results WHERE data_version = ?", [version])
    with Store(path) as store, monkeypatch.context() as patch:  # a restart: read, exactly as computed
        patch.setattr(engine, "_school_results", lambda *_: pytest.fail("computed again"))
        assert store.data_version == version
        pd.testing.assert_frame_equal(engine.school_results(store, framework, engine.Filters(as_of=AS_OF)), first)
        assert store.scalar("SELECT count(*) FROM stored_results") == stored
    with Store(path) as store:
        ingest_bytes(store, "b.xlsx", workbook_bytes([activity(teacher_id="T9", hours=5)]))
    with Store(path, read_only=True) as reader:  # after the upload the old result is never read
        after = engine.school_results(reader, framework, engine.Filters(as_of=AS_OF))
        assert after["hours"].tolist() == [12.0]
        assert reader.scalar("SELECT count(*) FROM stored_results") == stored  # a reader writes none


def test_a_new_release_does_not_read_results_the_old_code_stored(tmp_path, monkeypatch):
    path = tmp_path / "release.duckdb"
    with Store(path) as store:
        ingest_bytes(store, "a.xlsx", workbook_bytes([activity(hours=7)]))
        framework = load_framework("wellcome", store)
        engine.school_results(store, framework, engine.Filters(as_of=AS_OF))
        stored = store.scalar("SELECT count(*) FROM stored_results")
    monkeypatch.setattr(engine, "CODE_VERSION", "the next release")
    with Store(path) as store:
        computed = []
        real = engine._school_results
        monkeypatch.setattr(engine, "_school_results", lambda *a: computed.append(1) or real(*a))
        again = engine.school_results(store, framework, engine.Filters(as_of=AS_OF))
        assert again["hours"].tolist() == [7.0] and computed == [1]
        assert store.scalar("SELECT count(*) FROM stored_results") == stored + 1


def test_a_stored_result_dropped_while_being_read_is_computed_instead(tmp_path):
    path = tmp_path / "dropped.duckdb"
    with Store(path) as store:
        ingest_bytes(store, "a.xlsx", workbook_bytes([activity(hours=7)]))
        framework = load_framework("wellcome", store)
        engine.school_results(store, framework, engine.Filters(as_of=AS_OF))
        with store.transaction(changes_results=False) as cur:  # as a newer version's result would drop it
            for (table,) in cur.execute("SELECT table_name FROM stored_results").fetchall():
                cur.execute(f"DROP TABLE {table}")
    with Store(path) as store:
        assert engine.school_results(store, framework, engine.Filters(as_of=AS_OF))["hours"].tolist() == [7.0]


def test_opening_another_store_on_the_file_keeps_the_stored_results(tmp_path, monkeypatch):
    """Opening the database again (a second Store in the process: the CLI beside a page, a test) changes no
    data, so the version stays and results already worked out are read, not computed again."""
    path = tmp_path / "again.duckdb"
    with Store(path) as first:
        ingest_bytes(first, "a.xlsx", workbook_bytes([activity(hours=7)]))
        framework = load_framework("wellcome", first)
        engine.school_results(first, framework, engine.Filters(as_of=AS_OF))
        version = first.data_version
        with Store(path) as second:
            assert second.data_version == version == first.scalar("SELECT data_version FROM data_state")
            monkeypatch.setattr(engine, "_school_results", lambda *_: pytest.fail("computed again"))
            assert engine.school_results(second, framework, engine.Filters(as_of=AS_OF))["hours"].tolist() == [7.0]


def test_results_stored_before_today_are_dropped_when_one_is_stored(tmp_path):
    """Pages ask as of today, so yesterday's stored results are never read again; they go, tables and all,
    the next time a result is stored, even when the data has not changed since."""
    with Store(tmp_path / "days.duckdb") as store:
        ingest_bytes(store, "a.xlsx", workbook_bytes([activity(hours=7)]))
        framework = load_framework("wellcome", store)
        engine.school_results(store, framework, engine.Filters(as_of=dt.date(2020, 9, 1)))
        old = {r[0] for r in store.query_rows("SELECT table_name FROM stored_results")}
        with store.transaction(changes_results=False) as cur:
            cur.execute("UPDATE stored_results SET stored_at = current_date - INTERVAL 1 DAY")
        engine.school_results(store, framework, engine.Filters(as_of=dt.date(2020, 9, 2)))
        tables = {r[0] for r in store.query_rows("SELECT table_name FROM duckdb_tables()")}
        kept = {r[0] for r in store.query_rows("SELECT table_name FROM stored_results")}
        assert old and not old & kept and not old & tables
        assert kept and kept <= tables
