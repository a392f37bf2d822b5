"""Upload history: replace chains, batches, reference data and undo, against a replay model."""

from __future__ import annotations

import hashlib

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from qa import ingest, returns
from qa.errors import CpdqaError
from qa.schema import normalise_provider_key
from qa.store import SCHEMA_VERSION, Store

TERMS = {"Autumn": "2019-10-01", "Spring": "2020-02-03"}
HEADER = ("school_id,teacher_id,activity_date,activity_title,activity_type,hours,subject_specific,"
          "aligned_to_needs,pupil_outcomes,evidence_based,collaboration,sustained")


def csv_return(rows: list[tuple[str, str, str, float]]) -> bytes:
    lines = [HEADER] + [f"{s},{t},{TERMS[term]},Course,course/workshop,{h},Y,Y,Y,Y,Y,Y" for s, t, term, h in rows]
    return "\n".join(lines).encode()


_ROWS: dict[tuple, ingest.Validated] = {}


def validated_row(row: tuple) -> ingest.Validated:
    """One activity row through the real importer, once per distinct row (validation is the slow part)."""
    if row not in _ROWS:
        prepared = ingest.prepare("row.csv", csv_return([row]))
        [_ROWS[row]] = ingest.validate_batch([prepared])
    return _ROWS[row]


def prepared_file(name: str, content: tuple) -> tuple[ingest.Prepared, ingest.Validated]:
    """A return as the importer hands it over: activity rows, plus optional Schools and Providers sheets."""
    rows, schools, providers = content
    parts = [validated_row(r) for r in rows]
    validated = ingest.Validated(pa.concat_tables([v.accepted for v in parts]), parts[0].quarantined.iloc[:0],
                                 parts[0].warnings.iloc[:0])
    prepared = ingest.Prepared(ingest.FileReport(file_name=name), hashlib.sha256(repr(content).encode()).hexdigest())
    if schools:
        prepared.references["schools"] = pd.DataFrame(
            {"school_id": [s for s, _ in schools], "name": [n for _, n in schools],
             "consent_to_name": [True] * len(schools)})  # an upload claiming consent: must be ignored
        prepared.report.reference_rows["schools"] = len(schools)
    if providers:
        prepared.references["providers"] = pd.DataFrame(
            {"provider": [p for p, _ in providers], "quality_mark": [m for _, m in providers],
             "provider_key": [normalise_provider_key(p) for p, _ in providers]})
        prepared.report.reference_rows["providers"] = len(providers)
    return prepared, validated


def run_batch(store: Store, files: list[tuple[str, tuple]], **options) -> list[ingest.FileReport]:
    pairs = [prepared_file(n, c) for n, c in files]
    return returns.commit_batch(store, [p for p, _ in pairs], [v for _, v in pairs], **options)


# ----------------------------------------------------------------------------- the model

def replay(uploads: list[dict]) -> tuple[list[tuple], dict, dict]:
    """Active rows and reference data from the active uploads, in order: a later upload's cells win."""
    rows: list[tuple] = []
    schools: dict[str, str] = {}
    providers: dict[str, tuple[str, str]] = {}
    for u in uploads:
        if not u["active"]:
            continue
        whole = u["replace"] and u["whole_term"]
        covered = {(s, term) if whole else (s, term, t) for s, t, term, _ in u["rows"]}
        rows = [r for r in rows if ((r[0], r[2]) if whole else (r[0], r[2], r[1])) not in covered]
        rows += [(s, t, term, float(h), u["id"]) for s, t, term, h in u["rows"]]
        own = {s for s, *_ in u["rows"]}
        for school, name in u["schools"]:
            if school in own or u["accept"]:
                schools[school] = name
        if u["accept"]:
            for name, mark in u["providers"]:
                providers[normalise_provider_key(name)] = (name, mark)
    return sorted(rows), schools, providers


def cells_of(content: tuple, whole: bool) -> set:
    return {(s, term) if whole else (s, term, t) for s, t, term, _ in content[0]}


row_st = st.tuples(st.sampled_from(["S1", "S2"]), st.sampled_from(["T1", "T2"]), st.sampled_from(list(TERMS)),
                   st.sampled_from([1, 2, 3]))
content_st = st.tuples(
    st.lists(row_st, min_size=1, max_size=3, unique_by=lambda r: r[:3]).map(tuple),
    st.lists(st.tuples(st.sampled_from(["S1", "S2"]), st.sampled_from(["Abbey", "Birch"])), max_size=1,
             unique_by=lambda r: r[0]).map(tuple),
    st.lists(st.tuples(st.sampled_from(["STEM Learning Ltd", "stem learning"]), st.sampled_from(["Gold", "None"])),
             max_size=1).map(tuple),
)


HISTORY_TABLES = ("uploads", "activities", "upload_scope", "quarantine", "upload_warnings", "provider_aliases",
                  "audit_log", "school_consent", *(f"{k}{v}" for k in returns.REFERENCE for v in ("", "_versions")))


class ReturnsMachine(RuleBasedStateMachine):
    store: Store | None = None  # one in-memory store, emptied for each sequence (creating one is the slow part)

    def __init__(self) -> None:
        super().__init__()
        if ReturnsMachine.store is None:
            ReturnsMachine.store = Store(":memory:")
        with self.store.transaction() as cur:
            for table in HISTORY_TABLES:
                cur.execute(f"DELETE FROM {table}")
        self.uploads: list[dict] = []
        self.files = 0

    def _expected(self, batch: list[tuple], replace: bool, whole_term: bool) -> list[str]:
        """Outcome of each file of a batch, decided from the model alone."""
        outcomes: list[str | None] = [None] * len(batch)
        seen: set[tuple] = set()
        owners: dict = {}
        for i, content in enumerate(batch):
            if content in seen:
                outcomes[i] = "duplicate"
                continue
            seen.add(content)
            for cell in cells_of(content, whole_term):
                owners.setdefault(cell, set()).add(i)
        for files in owners.values():
            if len(files) > 1:
                for i in files:
                    outcomes[i] = "rejected"
        return outcomes

    @rule(batch=st.lists(content_st, min_size=1, max_size=3), replace=st.booleans(), whole_term=st.booleans(),
          accept=st.booleans())
    def upload(self, batch, replace, whole_term, accept):
        whole_term = whole_term and replace
        names = []
        for _ in batch:
            self.files += 1
            names.append(f"f{self.files}.csv")
        expected = self._expected(batch, replace, whole_term)
        reports = run_batch(self.store, list(zip(names, batch, strict=True)), replace=replace,
                            whole_term=whole_term, accept_reference_changes=accept)
        for i, (content, report) in enumerate(zip(batch, reports, strict=True)):
            if expected[i] is None:
                live, _, _ = replay(self.uploads)
                covered = cells_of(content, replace and whole_term)
                clash = any(((r[0], r[2]) if replace and whole_term else (r[0], r[2], r[1])) in covered for r in live)
                if any(u["active"] and u["content"] == content for u in self.uploads):
                    expected[i] = "duplicate"
                elif clash and not replace:
                    expected[i] = "needs_replace"
                else:
                    expected[i] = "accepted"
                    self.uploads.append({"id": len(self.uploads) + 1, "content": content, "rows": content[0],
                                         "schools": content[1], "providers": content[2], "active": True,
                                         "replace": replace, "whole_term": whole_term, "accept": accept})
                    assert report.upload_id == len(self.uploads)
            assert report.status == expected[i], (report.status, expected[i], report.errors[:1])

    @precondition(lambda self: self.uploads)
    @rule(data=st.data())
    def undo(self, data):
        target = data.draw(st.sampled_from(self.uploads))
        if not target["active"]:
            with pytest.raises(returns.UndoError, match="already undone"):
                returns.undo_upload(self.store, target["id"])
            return
        before, _, _ = replay(self.uploads)
        preview = returns.undo_upload(self.store, target["id"], dry_run=True)
        target["active"] = False
        after, _, _ = replay(self.uploads)
        assert preview.rows_removed == len(set(before) - set(after))
        assert preview.rows_restored == len(set(after) - set(before))
        assert returns.undo_upload(self.store, target["id"]).rows_removed == preview.rows_removed

    @invariant()
    def store_matches_model(self):
        rows, schools, providers = replay(self.uploads)
        got = self.store.query_rows(
            "SELECT school_id, teacher_id, term, hours, upload_id FROM active_activities ORDER BY ALL")
        assert got == rows
        assert dict(self.store.query_rows("SELECT school_id, name FROM schools")) == schools
        got_providers = self.store.query_rows("SELECT provider_key, provider, quality_mark FROM providers")
        assert {k: (p, m) for k, p, m in got_providers} == providers
        assert self.store.query_rows("SELECT * FROM schools WHERE consent_to_name IS NOT NULL") == []


TestReturnsMachine = ReturnsMachine.TestCase
TestReturnsMachine.settings = settings(max_examples=200, stateful_step_count=6, deadline=None,
                                       suppress_health_check=[HealthCheck.too_slow])


# ----------------------------------------------------------------------------- each case, exact rows

@pytest.fixture
def mem():
    with Store(":memory:") as store:
        yield store


def active(store: Store) -> list[tuple]:
    return store.query_rows("SELECT school_id, teacher_id, term, hours, upload_id FROM active_activities ORDER BY ALL")


def one(store, name, rows, schools=(), providers=(), **options) -> ingest.FileReport:
    [report] = run_batch(store, [(name, (tuple(rows), tuple(schools), tuple(providers)))], **options)
    return report


def test_replace_chain_then_undo_the_middle_counts_only_the_last(mem):
    one(mem, "a.csv", [("S1", "T1", "Autumn", 10)])
    one(mem, "b.csv", [("S1", "T1", "Autumn", 20)], replace=True)
    one(mem, "c.csv", [("S1", "T1", "Autumn", 30)], replace=True)
    summary = returns.undo_upload(mem, 2)
    assert (summary.rows_removed, summary.rows_restored) == (0, 0)
    assert active(mem) == [("S1", "T1", "Autumn", 30.0, 3)]  # not A's 10 h beside C's 30 h
    returns.undo_upload(mem, 3)
    assert active(mem) == [("S1", "T1", "Autumn", 10.0, 1)]


def test_one_file_per_teacher_in_one_batch_all_go_in(mem):
    reports = run_batch(mem, [("t1.csv", ((("S1", "T1", "Autumn", 2),), (), ())),
                              ("t2.csv", ((("S1", "T2", "Autumn", 3),), (), ()))])
    assert [r.status for r in reports] == ["accepted", "accepted"]
    assert active(mem) == [("S1", "T1", "Autumn", 2.0, 1), ("S1", "T2", "Autumn", 3.0, 2)]


def test_overlapping_files_in_one_batch_are_refused_even_with_replace(mem):
    one(mem, "old.csv", [("S1", "T1", "Autumn", 1)])
    reports = run_batch(mem, [("x.csv", ((("S1", "T1", "Autumn", 2),), (), ())),
                              ("y.csv", ((("S1", "T1", "Autumn", 3), ("S1", "T2", "Autumn", 4)), (), ())),
                              ("z.csv", ((("S2", "T1", "Autumn", 5),), (), ()))], replace=True)
    assert [returns.outcome_word(r) for r in reports] == ["refused", "refused", "accepted"]
    assert (reports[1].rows_accepted, reports[1].school_terms) == (2, [("S1", "2019/20", "Autumn")])
    assert reports[0].errors[0].message == (
        "x.csv overlaps y.csv in this batch: school S1, Autumn 2019/20, teacher T1. Nothing from it is saved: "
        "send one return per teacher, or combine them into one file.")
    assert active(mem) == [("S1", "T1", "Autumn", 1.0, 1), ("S2", "T1", "Autumn", 5.0, 2)]


def test_the_same_file_twice_in_a_batch_is_saved_once(mem):
    content = ((("S1", "T1", "Autumn", 2),), (), ())
    reports = run_batch(mem, [("a.csv", content), ("a-again.csv", content)])
    assert [r.status for r in reports] == ["accepted", "duplicate"]
    assert reports[1].notes == ["The same file as a.csv in this batch; it is saved once"]
    assert active(mem) == [("S1", "T1", "Autumn", 2.0, 1)]


def test_check_across_rounds_numbers_files_as_commit_will(tmp_path):
    """The CLI validates a long batch in rounds; Check still numbers the accepted files one after another."""
    paths = []
    for n, teacher in enumerate(("T1", "T2", "T3")):
        paths.append(tmp_path / f"r{n}.csv")
        paths[-1].write_bytes(csv_return([("S1", teacher, "Autumn", 2)]))
    with Store(":memory:") as store:
        checked = ingest.ingest_files(store, paths, batch_rows=1, dry_run=True)
        assert [(r.status, r.upload_id, r.committed) for r in checked] == [("accepted", 1, False),
                                                                          ("accepted", 2, False),
                                                                          ("accepted", 3, False)]
        saved = ingest.ingest_files(store, paths, batch_rows=1)
        assert [r.upload_id for r in saved] == [1, 2, 3]


MIXED_BATCH = [
    ("new1.csv", ((("S2", "T1", "Autumn", 2),), (), ())),
    ("again.csv", ((("S1", "T1", "Autumn", 1),), (), ())),  # the same content as the earlier upload
    ("clash.csv", ((("S1", "T3", "Autumn", 7), ("S1", "T3", "Spring", 1)), (), ())),  # covers upload 2
    ("register.csv", ((("S2", "T2", "Spring", 3),), (("S2", "Birch"),), ())),  # has a Schools sheet
    ("new2.csv", ((("S2", "T2", "Autumn", 4),), (), ())),
    ("new3.csv", ((("S1", "T2", "Autumn", 5),), (), ())),
]
ROW_COLUMNS = {"uploads": "upload_id, file_name, sha256, uploaded_by, rows_accepted, rows_quarantined, warnings, "
                          "status",
               "activities": "upload_id, school_id, teacher_id, academic_year, term, hours, provider_key",
               "upload_scope": "*", "audit_log": "who, action, detail", "schools": "*"}


def stored(store: Store) -> dict[str, list[tuple]]:
    return {t: store.query_rows(f"SELECT {c} FROM {t} ORDER BY ALL") for t, c in ROW_COLUMNS.items()}


@pytest.mark.parametrize("dry_run", [False, True])
def test_plain_files_committed_together_match_committing_them_one_by_one(dry_run):
    """Consecutive plain files share one transaction: same outcomes, upload ids, rows and audit as one at a time;
    a batch's Check numbers its files as its Commit will (separate Checks each see the same next id)."""
    outcomes, ids = {}, {}
    for together in (True, False):
        with Store(":memory:") as store:
            one(store, "first.csv", [("S1", "T1", "Autumn", 1)])
            one(store, "second.csv", [("S1", "T3", "Autumn", 1)])
            version = store.data_version
            if together:
                reports = run_batch(store, MIXED_BATCH, dry_run=dry_run)
            else:
                reports = [r for name, content in MIXED_BATCH for r in run_batch(store, [(name, content)],
                                                                                 dry_run=dry_run)]
            ids[together] = [r.upload_id for r in reports]
            outcomes[together] = ([(r.status, r.committed, [e.message for e in r.errors], r.notes,
                                    r.rows_accepted) for r in reports], stored(store))
            assert (store.data_version == version) == dry_run
    assert outcomes[True] == outcomes[False]
    assert [o[0] for o in outcomes[True][0]] == ["accepted", "duplicate", "needs_replace", "accepted", "accepted",
                                                 "accepted"]
    assert ids[True] == [3, 1, None, 4, 5, 6]  # Check: what Commit will give, not #3 for every file
    assert ids[False] == ([3, 1, None, 3, 3, 3] if dry_run else [3, 1, None, 4, 5, 6])
    if not dry_run:
        assert outcomes[True][1]["audit_log"][-1] == ("cli", "upload", "#6 new3.csv: 1 rows accepted, 0 quarantined")
        assert outcomes[True][0][2][2][0].startswith("clash.csv covers returns already uploaded: school S1, Autumn "
                                                     "2019/20 (upload #2, second.csv)")


def test_strict_refuses_a_file_with_problems_and_the_rest_of_its_batch_still_goes_in(mem):
    good = prepared_file("good.csv", ((("S1", "T1", "Autumn", 2),), (), ()))
    noisy = prepared_file("noisy.csv", ((("S1", "T2", "Autumn", 2),), (), ()))
    noisy[1].warnings = noisy[1].warnings.iloc[:0]
    noisy[1].quarantined = pd.DataFrame({"_rid": [0], "_file": [0], "sheet": ["Log"], "row_number": [3],
                                         "column_name": ["hours"], "value": ["lots"],
                                         "reason": ["Hours is not a number"], "raw_row": ["{}"]})
    reports = returns.commit_batch(mem, [good[0], noisy[0]], [good[1], noisy[1]], strict=True)
    assert [r.status for r in reports] == ["accepted", "rejected"]
    assert reports[1].errors[0].message == "noisy.csv: 1 problem(s) found and --strict is on"
    assert active(mem) == [("S1", "T1", "Autumn", 2.0, 1)]
    assert mem.query_rows("SELECT count(*) FROM quarantine") == [(0,)]


def test_a_corrected_whole_school_return_drops_teachers_it_leaves_out_and_undo_brings_them_back(mem):
    one(mem, "t1.csv", [("S1", "T1", "Autumn", 2)])
    one(mem, "t2.csv", [("S1", "T2", "Autumn", 3), ("S1", "T2", "Spring", 4)])
    fix = one(mem, "whole.csv", [("S1", "T1", "Autumn", 5)], replace=True, whole_term=True)
    assert fix.replaced_uploads == [1, 2]
    assert active(mem) == [("S1", "T1", "Autumn", 5.0, 3), ("S1", "T2", "Spring", 4.0, 2)]
    returns.undo_upload(mem, 3)
    assert active(mem) == [("S1", "T1", "Autumn", 2.0, 1), ("S1", "T2", "Autumn", 3.0, 2),
                           ("S1", "T2", "Spring", 4.0, 2)]


def test_a_school_return_cannot_change_other_schools_or_providers_unless_accepted(mem):
    one(mem, "ref.csv", [("S2", "T9", "Autumn", 1)], schools=[("S2", "Birch")],
        providers=[("STEM Learning Ltd", "Gold")], accept_reference_changes=True)
    rogue = one(mem, "s1.csv", [("S1", "T1", "Autumn", 2)], schools=[("S1", "Abbey"), ("S2", "Renamed")],
                providers=[("stem learning", "None")])
    assert rogue.status == "accepted"
    assert rogue.reference_changes == ["School S2: name 'Birch' → 'Renamed'",
                                       "Provider stem learning: provider 'STEM Learning Ltd' → 'stem learning'; "
                                       "quality mark 'Gold' → 'None'"]
    assert mem.query_rows("SELECT school_id, name, consent_to_name FROM schools ORDER BY 1") == [
        ("S1", "Abbey", None), ("S2", "Birch", None)]
    assert mem.query_rows("SELECT provider_key, quality_mark FROM providers") == [("stem learning", "Gold")]


def test_accepted_reference_changes_are_undone_with_their_upload(mem):
    one(mem, "ref.csv", [("S2", "T9", "Autumn", 1)], schools=[("S2", "Birch")], providers=[("STEM Learning", "Gold")])
    one(mem, "s1.csv", [("S1", "T1", "Autumn", 2)], schools=[("S2", "Renamed")],
        providers=[("stem learning ltd", "None")], accept_reference_changes=True)
    assert mem.query_rows("SELECT name FROM schools") == [("Renamed",)]
    assert mem.query_rows("SELECT provider, quality_mark FROM providers") == [("stem learning ltd", "None")]
    summary = returns.undo_upload(mem, 2)
    assert summary.reference_rows == 2
    assert mem.query_rows("SELECT name FROM schools") == [("Birch",)]
    assert mem.query_rows("SELECT provider, quality_mark FROM providers") == []  # ref.csv's was never accepted


def test_consent_changes_only_by_an_evaluator_and_is_audited(mem):
    report = one(mem, "s1.csv", [("S1", "T1", "Autumn", 2)], schools=[("S1", "Abbey")])
    assert "Consent to name schools is not taken from uploads" in report.notes[0]
    assert mem.query_rows("SELECT consent_to_name FROM schools") == [(None,)]
    returns.set_consent(mem, "S1", True, "eva")
    one(mem, "s1-v2.csv", [("S1", "T1", "Spring", 2)], schools=[("S1", "Abbey Lane")])
    returns.undo_upload(mem, 2)
    returns.undo_upload(mem, 1)
    assert mem.query_rows("SELECT school_id, consent_to_name FROM schools") == [("S1", True)]
    assert mem.query_rows("SELECT who, action, detail FROM audit_log WHERE action = 'consent'") == [
        ("eva", "consent", "school S1: may be named")]
    # a mistyped code is refused and changes nothing: no phantom school, no consent row, no audit entry
    before = {t: mem.query_rows(f"SELECT * FROM {t} ORDER BY ALL") for t in ("schools", "school_consent")}
    with pytest.raises(CpdqaError, match=r"No school with code 'S11' is in the Schools register or in any return"):
        returns.set_consent(mem, "S11", False, "eva")
    assert {t: mem.query_rows(f"SELECT * FROM {t} ORDER BY ALL") for t in before} == before
    assert len(mem.query_rows("SELECT * FROM audit_log WHERE action = 'consent'")) == 1


def test_consent_is_refused_for_a_code_only_in_a_return_that_was_undone(mem):
    """A return under a mistyped code, undone: giving consent to that code again would put a phantom school in
    the Schools register (and in every list, missing all its returns on the Termly round)."""
    one(mem, "typo.csv", [("S11", "T1", "Autumn", 2)])
    returns.undo_upload(mem, 1)
    with pytest.raises(CpdqaError, match=r"No school with code 'S11' is in the Schools register or in any return"):
        returns.set_consent(mem, "S11", True, "eva")
    assert mem.query_rows("SELECT * FROM schools") == [] and mem.schools().empty


def test_schema_1_database_with_two_spellings_of_one_provider_upgrades_to_one_provider(tmp_path):
    path = tmp_path / "old.duckdb"
    old = Store(path, migrate_to=1)
    with old.transaction() as cur:
        cur.execute("INSERT INTO uploads VALUES (1, 'old.xlsx', 'abc', 'eva', now(), 2, 0, 0, 'active')")
        for n, (teacher, provider) in enumerate([("T1", "STEM Learning Ltd"), ("T2", "stem learning")], start=1):
            cur.execute(f"""INSERT INTO activities VALUES ({n}, 1, 'S1', '{teacher}', DATE '2019-10-01', '2019/20',
                           'Autumn', 'Course', 'course/workshop', 3.5, '{provider}', NULL, TRUE, NULL, TRUE, TRUE,
                           TRUE, TRUE, TRUE, 'Log', {n + 1}, NULL)""")
    old.close()
    with Store(path) as upgraded:
        assert upgraded.schema_version() == SCHEMA_VERSION
        assert upgraded.query_rows("SELECT DISTINCT provider_key FROM active_activities") == [("stem learning",)]


def test_a_database_split_by_the_old_backfill_is_repaired(tmp_path):
    path = tmp_path / "split.duckdb"
    old = Store(path, migrate_to=3)
    with old.transaction() as cur:
        cur.execute("INSERT INTO uploads VALUES (1, 'old.xlsx', 'abc', 'eva', now(), 2, 0, 0, 'active')")
        for n, (teacher, provider, key) in enumerate([("T1", "STEM Learning Ltd", "stem learning ltd"),
                                                      ("T2", "stem learning", "stem learning")], start=1):
            cur.execute(f"""INSERT INTO activities VALUES ({n}, 1, 'S1', '{teacher}', DATE '2019-10-01', '2019/20',
                           'Autumn', 'Course', 'course/workshop', 3.5, '{provider}', NULL, TRUE, NULL, TRUE, TRUE,
                           TRUE, TRUE, TRUE, 'Log', {n + 1}, NULL, '{key}')""")
        cur.execute("""INSERT INTO providers VALUES ('stem learning ltd', 'STEM Learning Ltd', NULL, 'CPD Quality Mark',
                       NULL, NULL, NULL), ('stem learning', 'stem learning', NULL, NULL, NULL, NULL, NULL)""")
        cur.execute("INSERT INTO provider_aliases VALUES ('stem learning ltd', 'stem learning ltd')")
    old.close()
    with Store(path) as upgraded:
        assert upgraded.query_rows("SELECT DISTINCT provider_key FROM activities") == [("stem learning",)]
        assert upgraded.query_rows("SELECT provider_key, provider, quality_mark FROM providers") == [
            ("stem learning", "STEM Learning Ltd", "CPD Quality Mark")]
        assert upgraded.query_rows("SELECT * FROM provider_aliases") == [("stem learning ltd", "stem learning")]
        assert upgraded.query_rows("SELECT * FROM providers_versions") == [
            (0, "stem learning", "STEM Learning Ltd", None, "CPD Quality Mark", None, None, None)]


def test_an_old_undo_that_resurrected_a_replaced_return_is_repaired(tmp_path):
    path = tmp_path / "chain.duckdb"
    old = Store(path, migrate_to=4)
    with old.transaction() as cur:
        for u, status in ((1, "active"), (2, "undone"), (3, "active")):
            cur.execute(f"INSERT INTO uploads VALUES ({u}, 'f{u}', 'h{u}', 'eva', now(), 1, 0, 0, '{status}')")
            cur.execute(f"""INSERT INTO activities VALUES ({u}, {u}, 'S1', 'T1', DATE '2019-10-01', '2019/20',
                           'Autumn', 'Course', 'course/workshop', {10 * u}, NULL, NULL, TRUE, NULL, TRUE, TRUE,
                           TRUE, TRUE, TRUE, 'Log', 2, {'NULL' if u != 2 else 3}, NULL)""")
    old.close()
    with Store(path) as upgraded:  # the old undo of #2 left #1 counting beside #3
        assert active(upgraded) == [("S1", "T1", "Autumn", 30.0, 3)]


def teardown_module() -> None:
    if ReturnsMachine.store is not None:
        ReturnsMachine.store.close()
        ReturnsMachine.store = None
