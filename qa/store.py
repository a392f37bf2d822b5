"""DuckDB store: one root connection, a cursor per operation, versioned migrations.

DuckDB 2.0 refuses concurrent calls on one connection object, so nothing outside
this module touches `root`; every operation takes its own `cursor()` and fetches
its result completely. The SQL is kept portable (sequences, views, ON CONFLICT)
so the same statements can later run on PostgreSQL.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import duckdb
import pandas as pd
import pyarrow as pa

from qa.cache import DEFAULT_BUDGET_MB, ResultCache
from qa.errors import CpdqaError
from qa.schema import normalise_provider_key

T = TypeVar("T")

# Part of the key of what this module stores (see Store.stored): a new release recomputes it.
_CODE_VERSION = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()

# Each migration is applied once, in order, inside one transaction. Never edit a
# released migration: add a new one, so existing database files upgrade in place.
Step = str | Callable[[duckdb.DuckDBPyConnection], None]
MIGRATIONS: tuple[tuple[int, str, tuple[Step, ...]], ...] = (
    (1, "termly records, uploads and quarantine", (
        "CREATE SEQUENCE upload_seq START 1",
        "CREATE SEQUENCE activity_seq START 1",
        """CREATE TABLE uploads (
            upload_id INTEGER PRIMARY KEY,
            file_name VARCHAR NOT NULL,
            sha256 VARCHAR NOT NULL,
            uploaded_by VARCHAR NOT NULL,
            uploaded_at TIMESTAMP NOT NULL,
            rows_accepted INTEGER NOT NULL,
            rows_quarantined INTEGER NOT NULL,
            warnings INTEGER NOT NULL,
            status VARCHAR NOT NULL  -- active | undone
        )""",
        """CREATE TABLE activities (
            activity_id BIGINT PRIMARY KEY,
            upload_id INTEGER NOT NULL,
            school_id VARCHAR NOT NULL,
            teacher_id VARCHAR NOT NULL,
            activity_date DATE NOT NULL,
            academic_year VARCHAR NOT NULL,
            term VARCHAR NOT NULL,
            activity_title VARCHAR NOT NULL,
            activity_type VARCHAR NOT NULL,
            hours DOUBLE NOT NULL,
            provider VARCHAR,
            programme VARCHAR,
            subject_specific BOOLEAN NOT NULL,
            subject VARCHAR,
            aligned_to_needs BOOLEAN NOT NULL,
            pupil_outcomes BOOLEAN NOT NULL,
            evidence_based BOOLEAN NOT NULL,
            collaboration BOOLEAN NOT NULL,
            sustained BOOLEAN NOT NULL,
            source_sheet VARCHAR,
            source_row INTEGER,
            superseded_by INTEGER  -- the upload that replaced this school-term's return
        )""",
        """CREATE TABLE quarantine (
            upload_id INTEGER NOT NULL,
            sheet VARCHAR,
            row_number INTEGER,
            column_name VARCHAR,
            value VARCHAR,
            reason VARCHAR NOT NULL,
            raw_row VARCHAR  -- the whole row as JSON, so nothing is lost
        )""",
        """CREATE TABLE upload_warnings (
            upload_id INTEGER NOT NULL,
            sheet VARCHAR,
            row_number INTEGER,
            column_name VARCHAR,
            value VARCHAR,
            message VARCHAR NOT NULL
        )""",
        """CREATE TABLE schools (
            school_id VARCHAR PRIMARY KEY,
            name VARCHAR,
            phase VARCHAR,
            type VARCHAR,
            local_authority VARCHAR,
            consent_to_name BOOLEAN
        )""",
        """CREATE TABLE teachers (
            school_id VARCHAR NOT NULL,
            teacher_id VARCHAR NOT NULL,
            role VARCHAR,
            career_stage VARCHAR,
            fte DOUBLE,
            PRIMARY KEY (school_id, teacher_id)
        )""",
        """CREATE TABLE attestations (
            school_id VARCHAR NOT NULL,
            academic_year VARCHAR NOT NULL,
            leadership_prioritised BOOLEAN NOT NULL,
            PRIMARY KEY (school_id, academic_year)
        )""",
        """CREATE VIEW active_activities AS
            SELECT a.* FROM activities a JOIN uploads u ON u.upload_id = a.upload_id
            WHERE u.status = 'active' AND a.superseded_by IS NULL""",
    )),
    (2, "providers, programmes, frameworks and assessment runs", (
        "ALTER TABLE activities ADD COLUMN provider_key VARCHAR",
        # Backfill keys for rows written before provider normalisation existed, with the
        # importer's own normalisation (an SQL imitation once split providers in two).
        lambda cur: backfill_provider_keys(cur),
        """CREATE TABLE providers (
            provider_key VARCHAR PRIMARY KEY,
            provider VARCHAR NOT NULL,
            provider_type VARCHAR,
            quality_mark VARCHAR,
            quality_mark_level VARCHAR,
            awarded_on DATE,
            expires_on DATE
        )""",
        """CREATE TABLE provider_aliases (
            alias VARCHAR PRIMARY KEY,
            provider_key VARCHAR NOT NULL
        )""",
        """CREATE TABLE programmes (
            programme VARCHAR PRIMARY KEY,
            provider VARCHAR,
            accrediting_body VARCHAR,
            valid_from DATE,
            valid_to DATE,
            min_hours DOUBLE,
            min_terms INTEGER,
            recognition_title VARCHAR
        )""",
        """CREATE TABLE framework_versions (
            framework_id VARCHAR NOT NULL,
            version INTEGER NOT NULL,
            saved_by VARCHAR NOT NULL,
            saved_at TIMESTAMP NOT NULL,
            body VARCHAR NOT NULL,
            PRIMARY KEY (framework_id, version)
        )""",
        "CREATE SEQUENCE run_seq START 1",
        """CREATE TABLE assessment_runs (
            run_id INTEGER PRIMARY KEY,
            framework_id VARCHAR NOT NULL,
            framework_version INTEGER NOT NULL,
            level VARCHAR NOT NULL,
            academic_year VARCHAR,
            as_of DATE NOT NULL,
            upload_ids VARCHAR NOT NULL,
            run_by VARCHAR NOT NULL,
            run_at TIMESTAMP NOT NULL
        )""",
    )),
    (3, "accounts and the audit log", (
        """CREATE TABLE accounts (
            email VARCHAR PRIMARY KEY,  -- lower case
            role VARCHAR NOT NULL,      -- evaluator | champion | funder
            school_id VARCHAR,          -- champions only
            added_by VARCHAR NOT NULL,
            added_at TIMESTAMP NOT NULL
        )""",
        "CREATE SEQUENCE audit_seq START 1",
        """CREATE TABLE audit_log (
            event_id BIGINT PRIMARY KEY,
            occurred_at TIMESTAMP NOT NULL,
            who VARCHAR NOT NULL,
            action VARCHAR NOT NULL,
            detail VARCHAR
        )""",
    )),
    (4, "one provider key per provider: repair databases split by the old SQL backfill", (
        lambda cur: repair_provider_keys(cur),
    )),
    (5, "what each upload covers, versioned reference data, consent set only by evaluators", (
        # One row per school-term an upload covers: teacher_id NULL means the whole
        # school-term (a corrected whole-school return), else that teacher's rows only.
        """CREATE TABLE upload_scope (
            upload_id INTEGER NOT NULL,
            school_id VARCHAR NOT NULL,
            academic_year VARCHAR NOT NULL,
            term VARCHAR NOT NULL,
            teacher_id VARCHAR
        )""",
        # Earlier uploads replaced whole school-terms, so that is their scope.
        """INSERT INTO upload_scope SELECT DISTINCT upload_id, school_id, academic_year, term, NULL
           FROM activities""",
        # Every reference row an upload wrote; upload 0 holds what was there before versioning.
        """CREATE TABLE schools_versions AS
           SELECT 0 AS upload_id, school_id, name, phase, type, local_authority FROM schools""",
        "CREATE TABLE teachers_versions AS SELECT 0 AS upload_id, * FROM teachers",
        "CREATE TABLE attestations_versions AS SELECT 0 AS upload_id, * FROM attestations",
        "CREATE TABLE programmes_versions AS SELECT 0 AS upload_id, * FROM programmes",
        "CREATE TABLE providers_versions AS SELECT 0 AS upload_id, * FROM providers",
        """CREATE TABLE school_consent (
            school_id VARCHAR PRIMARY KEY,
            consent_to_name BOOLEAN NOT NULL,
            set_by VARCHAR NOT NULL,
            set_at TIMESTAMP NOT NULL
        )""",
        """INSERT INTO school_consent SELECT school_id, consent_to_name, 'before consent was audited',
           current_timestamp FROM schools WHERE consent_to_name IS NOT NULL""",
        # Rows resurrected beside their replacement by the old undo are superseded again.
        """UPDATE activities SET superseded_by = (
             SELECT min(s.upload_id) FROM upload_scope s JOIN uploads u ON u.upload_id = s.upload_id
             WHERE u.status = 'active' AND s.upload_id > activities.upload_id
               AND s.school_id = activities.school_id AND s.academic_year = activities.academic_year
               AND s.term = activities.term)""",
    )),
    (6, "pseudonymous school labels for funders", (
        """CREATE TABLE school_labels (
            school_id VARCHAR PRIMARY KEY,
            label_no INTEGER NOT NULL UNIQUE  -- drawn at random order, never from the school's code
        )""",
    )),
    (7, "a data version kept in the database, and assessment results stored per data version", (
        # Moves on in the same transaction as every change a result is computed from, so a
        # result stored under one version is never read once the data has changed.
        "CREATE TABLE data_state (data_version BIGINT NOT NULL)",
        "INSERT INTO data_state VALUES (0)",
        # Each result is one Arrow IPC blob in a one-row table of its own: DuckDB reads a blob
        # column's whole segment, so many blobs in one table made every read cost them all.
        """CREATE TABLE stored_results (
            result_key VARCHAR PRIMARY KEY,  -- sha256 of what was asked (level, code, framework JSON, filters)
            data_version BIGINT NOT NULL,
            stored_at TIMESTAMP NOT NULL,
            table_name VARCHAR NOT NULL  -- stored_result_<key>, holding body BLOB
        )""",
    )),
)
SCHEMA_VERSION = MIGRATIONS[-1][0]


def run(cur: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | None = None) -> list[tuple]:
    """Execute and finish the result: DuckDB 2.0 blocks a cursor with an unfinished one."""
    result = cur.execute(sql, params) if params is not None else cur.execute(sql)
    return result.fetchall()


def _provider_key_map(names: list[str | None]) -> pa.Table:
    names = sorted({n for n in names if n is not None})
    return pa.table({"name": pa.array(names, pa.string()),
                     "provider_key": pa.array([normalise_provider_key(n) for n in names], pa.string())})


def backfill_provider_keys(cur: duckdb.DuckDBPyConnection) -> None:
    """Set every activity's provider key with schema.normalise_provider_key, the importer's rule."""
    names = [r[0] for r in run(cur, "SELECT DISTINCT provider FROM activities WHERE provider IS NOT NULL")]
    cur.register("provider_key_map", _provider_key_map(names))
    try:
        run(cur, """UPDATE activities SET provider_key = m.provider_key FROM provider_key_map m
                    WHERE activities.provider = m.name""")
    finally:
        cur.unregister("provider_key_map")


def repair_provider_keys(cur: duckdb.DuckDBPyConnection) -> None:
    """Re-key activities, providers and aliases so each provider has one key.

    Where the old backfill split a provider in two ("stem learning ltd" beside
    "stem learning"), the providers rows merge: the one carrying a quality mark wins.
    """
    backfill_provider_keys(cur)
    providers = run(cur, "SELECT provider FROM providers")
    cur.register("provider_key_map", _provider_key_map([r[0] for r in providers]))
    try:
        run(cur, """CREATE TEMP TABLE providers_rekeyed AS
            SELECT * EXCLUDE (rn) FROM (
                SELECT coalesce(m.provider_key, p.provider_key) AS provider_key, p.provider, p.provider_type,
                       p.quality_mark, p.quality_mark_level, p.awarded_on, p.expires_on,
                       row_number() OVER (PARTITION BY coalesce(m.provider_key, p.provider_key)
                           ORDER BY p.quality_mark IS NULL, p.provider_key = m.provider_key DESC, p.provider) AS rn
                FROM providers p LEFT JOIN provider_key_map m ON m.name = p.provider)
            WHERE rn = 1""")
    finally:
        cur.unregister("provider_key_map")
    run(cur, "DELETE FROM providers")
    run(cur, "INSERT INTO providers SELECT * FROM providers_rekeyed")
    run(cur, "DROP TABLE providers_rekeyed")
    aliases = run(cur, "SELECT alias FROM provider_aliases")
    cur.register("provider_key_map", _provider_key_map([r[0] for r in aliases]))
    try:
        run(cur, """UPDATE provider_aliases SET provider_key = m.provider_key FROM provider_key_map m
                    WHERE provider_aliases.alias = m.name AND m.provider_key IS NOT NULL""")
    finally:
        cur.unregister("provider_key_map")


def fetch_df(cur: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> pd.DataFrame:
    """Fetch through Arrow: about twice as fast as .df() for wide string results."""
    return cur.sql(sql, params=params or None).to_arrow_table().to_pandas()


class StoreError(CpdqaError, RuntimeError):
    """A database problem a user can act on (wrong file, newer schema, locked)."""

    exit_code = 1


class _Shared:
    """What every Store on one database file in this process shares: the writer lock, the data
    version and the result cache. DuckDB lets only one process open a file for writing, so within
    that process this version sees every change (a shared PostgreSQL would keep it in a table)."""

    _open: ClassVar[dict[str, _Shared]] = {}
    _guard: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self) -> None:
        self.write_lock = threading.Lock()
        self.data_version = 0
        self.persisted = False  # True once the version is read from (and kept in) the database
        self.results = ResultCache(int(os.environ.get("CPDQA_CACHE_MB", DEFAULT_BUDGET_MB)) * 1024 * 1024)
        self.users = 0

    @staticmethod
    def _key(path: str) -> str:
        return path if path.startswith(":memory:") else os.path.realpath(path)

    @classmethod
    def open(cls, path: str) -> _Shared:
        if path == ":memory:":  # every such connection is a database of its own
            return cls()
        with cls._guard:
            shared = cls._open.setdefault(cls._key(path), cls())
            shared.users += 1
            return shared

    def release(self, path: str) -> None:
        if path == ":memory:":
            return
        with self._guard:
            self.users -= 1
            if self.users <= 0:
                self._open.pop(self._key(path), None)


class Store:
    """The cpdqa database. Thread-safe: every operation runs on its own cursor."""

    def __init__(self, path: str | Path, *, read_only: bool = False,
                 migrate_to: int | None = SCHEMA_VERSION) -> None:
        self.path = str(path)
        config = {
            # Never wait on an extension download: this app needs none.
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
        }
        try:
            self.root = duckdb.connect(self.path, read_only=read_only, config=config)
        except duckdb.IOException as exc:
            hint = ""
            if "lock" in str(exc).lower():
                hint = (" Another program (often the running dashboard) has it open; DuckDB allows one "
                        "process at a time. Stop it, or upload through the dashboard instead.")
            raise StoreError(f"Cannot open database {self.path}: {exc}.{hint}") from exc
        self.read_only = read_only
        self._shared = _Shared.open(self.path)
        if not read_only and migrate_to is not None:
            self.migrate(migrate_to)
        found = self.schema_version()
        if found >= 7 and not self._shared.persisted:
            self._load_data_version()
        if found > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} was written by a newer cpdqa (schema {found}, this one knows {SCHEMA_VERSION})")

    # ------------------------------------------------------------------ plumbing
    @contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        cur = self.root.cursor()
        try:
            yield cur
        finally:
            cur.close()

    @contextmanager
    def transaction(self, *, changes_results: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
        """One atomic unit of writes: all of it commits, or none of it does.

        Writers are serialised in-process so two uploads never race on the
        same school-term check-then-insert. A commit moves `data_version` on
        (dropping cached results) unless the caller says it writes nothing a
        result is computed from (an audit event, a record of an assessment run).
        """
        with self._shared.write_lock, self.cursor() as cur:
            run(cur, "BEGIN TRANSACTION")
            version = self._shared.data_version + 1
            try:
                yield cur
                if changes_results and self._shared.persisted:
                    version = run(cur, "UPDATE data_state SET data_version = data_version + 1 "
                                       "RETURNING data_version")[0][0]
            except BaseException:
                run(cur, "ROLLBACK")
                raise
            run(cur, "COMMIT")
            if changes_results:
                self._shared.data_version = version

    @contextmanager
    def snapshot(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor in one read transaction: every statement on it sees the same committed data."""
        with self.cursor() as cur:
            run(cur, "BEGIN TRANSACTION")
            try:
                yield cur
            finally:
                run(cur, "ROLLBACK")  # it wrote nothing

    def _load_data_version(self) -> None:
        """Start this process at the database's own version: results stored under it are current."""
        with self._shared.write_lock:
            self._shared.data_version = self.scalar("SELECT data_version FROM data_state")
            # a fresh cache: the version may be lower than the one migrations counted in memory
            self._shared.results = ResultCache(self._shared.results.budget_bytes)
            self._shared.persisted = True

    @property
    def data_version(self) -> int:
        """Committed changes to this database in this process: moves on with every upload, undo, save."""
        return self._shared.data_version

    @property
    def writing(self) -> bool:
        """A write transaction is under way in this process (this thread's own, perhaps)."""
        return self._shared.write_lock.locked()

    @property
    def persisted(self) -> bool:
        """The data version is kept in the database (data_state), so a table can be stamped with it."""
        return self._shared.persisted

    @property
    def results(self) -> ResultCache:
        return self._shared.results

    def cached(self, key: tuple, compute: Callable[[], T]) -> T:
        """`compute()` once per data version for every session asking for `key` (see qa.cache)."""
        return self._shared.results.get(self._shared.data_version, key, compute)

    def stored(self, key: tuple, compute: Callable[[], pd.DataFrame]) -> pd.DataFrame:
        """Like `cached`, and kept in the database under the data version, so a new process (a restart,
        the CLI) reads a result computed before instead of computing it again. The key must say
        everything the result depends on besides the data (framework JSON, filters)."""
        version = self._shared.data_version
        if not self._shared.persisted:
            return self.cached(key, compute)
        digest = hashlib.sha256(repr(key).encode()).hexdigest()

        def read_or_compute() -> pd.DataFrame:
            found = self.query_rows("SELECT table_name FROM stored_results WHERE result_key = ? AND data_version = ?",
                                    [digest, version])
            if found:
                try:
                    body = self.scalar(f"SELECT body FROM {found[0][0]}")
                    return pa.ipc.open_stream(body).read_all().to_pandas()
                except duckdb.CatalogException:
                    pass  # dropped just now by a result of a newer version: this one is out of date anyway
            frame = compute()
            if not self.read_only:
                self._store_result(digest, version, frame)
            return frame

        return self.cached(key, read_or_compute)

    def _store_result(self, digest: str, version: int, frame: pd.DataFrame) -> None:
        sink = pa.BufferOutputStream()
        table = pa.Table.from_pandas(frame)
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        name = f"stored_result_{digest[:32]}"
        with self.transaction(changes_results=False) as cur:
            if run(cur, "SELECT data_version FROM data_state")[0][0] != version:
                return  # the data moved on while this was computed: the result is of no version now
            # results of an older version can never be read again; nor, in practice, those stored before today:
            # pages ask as of today, so each day's keys are new, and without this a programme whose data has not
            # changed for weeks kept every day's results (nine tables per school dashboard per day)
            self._drop_stored(cur, "result_key = ? OR data_version < ? OR stored_at < current_date",
                              [digest, version])
            run(cur, f"CREATE TABLE {name} (body BLOB NOT NULL)")
            run(cur, f"INSERT INTO {name} VALUES (?)", [sink.getvalue().to_pybytes()])
            run(cur, "INSERT INTO stored_results VALUES (?, ?, current_timestamp, ?)", [digest, version, name])

    @staticmethod
    def _drop_stored(cur: duckdb.DuckDBPyConnection, where: str, params: Sequence[Any] = ()) -> None:
        for (name,) in run(cur, f"SELECT table_name FROM stored_results WHERE {where}", params):
            run(cur, f"DROP TABLE IF EXISTS {name}")
        run(cur, f"DELETE FROM stored_results WHERE {where}", params)

    def drop_stored_results(self) -> None:
        """Forget every stored result (benchmarks timing the computation itself)."""
        with self.transaction(changes_results=False) as cur:
            self._drop_stored(cur, "TRUE")

    def query_df(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> pd.DataFrame:
        with self.cursor() as cur:
            return fetch_df(cur, sql, params)

    def query_rows(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[tuple]:
        with self.cursor() as cur:
            return cur.execute(sql, params).fetchall()

    def scalar(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        rows = self.query_rows(sql, params)
        return rows[0][0] if rows else None

    def close(self) -> None:
        self.root.close()
        self._shared.release(self.path)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ schema
    def schema_version(self) -> int:
        with self.cursor() as cur:
            exists = cur.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
            ).fetchall()[0][0]
            if not exists:
                return 0
            return cur.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchall()[0][0]

    def migrate(self, target: int = SCHEMA_VERSION) -> list[int]:
        """Apply pending migrations up to `target`; returns the versions applied."""
        applied: list[int] = []
        if self.schema_version() >= target:
            # nothing to apply: an empty transaction would still move the data version on, dropping every
            # result stored under it each time the file is opened again (a second Store in this process)
            return applied
        with self.transaction() as cur:
            cur.execute("""CREATE TABLE IF NOT EXISTS schema_version (
                version INTEGER PRIMARY KEY, description VARCHAR, applied_at TIMESTAMP)""")
            current = cur.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchall()[0][0]
            for version, description, statements in MIGRATIONS:
                if current < version <= target:
                    for statement in statements:
                        if callable(statement):
                            statement(cur)
                        else:
                            run(cur, statement)
                    cur.execute("INSERT INTO schema_version VALUES (?, ?, current_timestamp)",
                                [version, description])
                    applied.append(version)
        return applied

    # ------------------------------------------------------------------ small reads
    def table_counts(self) -> dict[str, int]:
        tables = ("uploads", "activities", "quarantine", "upload_warnings", "schools", "teachers",
                  "providers", "programmes", "attestations")
        with self.cursor() as cur:
            return {t: cur.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in tables}

    def academic_years(self) -> list[str]:
        years = self.stored(("academic_years", _CODE_VERSION), lambda: self.query_df(
            "SELECT DISTINCT academic_year FROM active_activities ORDER BY 1"))
        return years["academic_year"].tolist()

    def schools(self) -> pd.DataFrame:
        return self.stored(("schools", _CODE_VERSION), lambda: self.query_df("""
            SELECT ids.school_id, coalesce(s.name, ids.school_id) AS name, s.phase, s.local_authority
            FROM (SELECT school_id FROM schools UNION SELECT DISTINCT school_id FROM active_activities) ids
            LEFT JOIN schools s ON s.school_id = ids.school_id ORDER BY ids.school_id"""))
