"""The store: in-place upgrades of older database files, refusal of newer ones, concurrent cursors."""

import threading

import pytest

from qa.store import SCHEMA_VERSION, Store, StoreError


def test_new_database_is_at_the_current_schema(tmp_path):
    with Store(tmp_path / "new.duckdb") as store:
        assert store.schema_version() == SCHEMA_VERSION


def test_database_from_schema_1_upgrades_in_place_keeping_rows(tmp_path):
    path = tmp_path / "old.duckdb"
    old = Store(path, migrate_to=1)
    assert old.schema_version() == 1
    with old.transaction() as cur:
        cur.execute("INSERT INTO uploads VALUES (1, 'old.xlsx', 'abc', 'eva', now(), 1, 0, 0, 'active')")
        cur.execute("""INSERT INTO activities VALUES (1, 1, 'S1', 'T1', DATE '2019-10-01', '2019/20', 'Autumn',
                       'Course', 'course/workshop', 3.5, 'STEM Learning', NULL, TRUE, NULL, TRUE, TRUE, TRUE,
                       TRUE, TRUE, 'Log', 2, NULL)""")
    old.close()

    upgraded = Store(path)
    assert upgraded.schema_version() == SCHEMA_VERSION
    rows = upgraded.query_rows("SELECT teacher_id, hours, provider, provider_key FROM active_activities")
    assert rows == [("T1", 3.5, "STEM Learning", "stem learning")]  # data kept, new column backfilled
    assert upgraded.table_counts()["providers"] == 0  # new tables exist
    upgraded.close()


def test_database_from_a_newer_cpdqa_is_refused(tmp_path):
    path = tmp_path / "future.duckdb"
    with Store(path) as store, store.transaction() as cur:
        cur.execute("INSERT INTO schema_version VALUES (999, 'from the future', now())")
    with pytest.raises(StoreError, match="newer cpdqa"):
        Store(path)


def test_many_threads_share_one_root_connection_through_cursors(store):
    errors = []

    def worker(n):
        try:
            for _ in range(20):
                assert store.scalar("SELECT ? + 1", [n]) == n + 1
        except Exception as exc:  # pragma: no cover - the assertion below reports it
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_failed_transaction_leaves_nothing(store):
    with pytest.raises(RuntimeError), store.transaction() as cur:
        cur.execute("INSERT INTO schools (school_id, name) VALUES ('S9', 'Nine')")
        raise RuntimeError("boom")
    assert store.scalar("SELECT count(*) FROM schools") == 0
