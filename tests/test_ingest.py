"""Ingestion of hand-made returns in every shape: exact counts, exact reasons, nothing half-written."""

import csv
import datetime as dt
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import zipfile

import openpyxl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa.ingest import Limits, ingest_bytes, ingest_files, list_uploads, undo_upload
from tests.conftest import CANONICAL, ROOT, activity, workbook_bytes


def counts(store):
    return {k: v for k, v in store.table_counts().items()}


def test_header_below_a_title_block_and_synonym_headers(store):
    rows = [activity(teacher_id="T1"), activity(teacher_id="T2", hours="1h30")]
    data = workbook_bytes(rows, title_rows=["CPD log – Abbey Lane Primary", "Autumn 2019"],
                          header_names={"teacher_id": "Staff ID", "hours": "Duration (hrs)",
                                        "activity_date": "Date of activity",
                                        "subject_specific": "Subject specific? (Y/N)"})
    report = ingest_bytes(store, "abbey.xlsx", data)
    assert (report.status, report.rows_accepted, report.rows_quarantined) == ("accepted", 2, 0)
    got = store.query_rows("SELECT teacher_id, hours, source_row FROM active_activities ORDER BY 1")
    assert got == [("T1", 5.0, 5), ("T2", 1.5, 6)]  # Excel row numbers below the title block


def test_one_sheet_per_term_all_read_and_other_sheets_skipped_with_a_message(store):
    data = workbook_bytes({
        "Autumn": [activity(activity_date=dt.date(2019, 10, 1))],
        "Spring": [activity(activity_date=dt.date(2020, 2, 1)), activity(teacher_id="T2", activity_date="03/02/2020")],
        "Notes": [{"anything": "free text"}],
    })
    report = ingest_bytes(store, "terms.xlsx", data)
    assert report.rows_accepted == 3
    assert "Sheet 'Notes' skipped: no recognised header row in its first 30 rows" in report.notes
    assert sorted(report.school_terms) == [("S1", "2019/20", "Autumn"), ("S1", "2019/20", "Spring")]


def test_extra_columns_are_reported_not_fatal(store):
    rows = [{**activity(), "Cost (£)": 120, "Notes": "good"}]
    report = ingest_bytes(store, "extra.xlsx", workbook_bytes(rows))
    assert report.status == "accepted"
    assert "Sheet 'Log': extra columns kept aside, not imported: 'Cost (£)', 'Notes'" in report.notes


def test_bad_rows_are_quarantined_with_sheet_row_column_value_and_reason(store):
    rows = [activity(teacher_id="T1"), activity(teacher_id="T2", hours="two"),
            activity(teacher_id="T3", activity_date="31/02/2020", collaboration="maybe"), activity(teacher_id=None)]
    names = {"teacher_id": "Staff code", "hours": "Time spent", "activity_date": "Date of activity",
             "collaboration": "Collaborative?"}
    report = ingest_bytes(store, "bad.xlsx", workbook_bytes(rows, header_names=names))
    assert (report.status, report.rows_accepted, report.rows_quarantined) == ("accepted", 1, 3)
    quarantined = store.query_rows(
        "SELECT sheet, row_number, column_name, value, reason FROM quarantine ORDER BY row_number, column_name")
    assert quarantined == [  # the Column cell is the file's own header, never a field's internal name
        ("Log", 3, "Time spent", "two", "Hours must be a positive number (1.5, 1h30, 90 min or 1:30); found 'two'"),
        ("Log", 4, "Collaborative?", "maybe",
         "Expected yes or no (Y, N, Yes, No, True, False, 1, 0, ✓, ✗ or x); found 'maybe'"),
        ("Log", 4, "Date of activity", "31/02/2020", "'31/02/2020' is not a real date"),
        ("Log", 5, "Staff code", "", "'Staff code' is missing"),
    ]
    raw = json.loads(store.scalar("SELECT raw_row FROM quarantine WHERE row_number = 3"))
    assert raw["teacher_id"] == "T2" and raw["hours"] == "two"  # the whole row is kept


def test_warnings_do_not_reject(store):
    rows = [activity(collaboration=None), activity(teacher_id="T2", hours=14),
            {**activity(teacher_id="T3"), "term": "Summer"}, activity(teacher_id="T4"), activity(teacher_id="T4")]
    report = ingest_bytes(store, "warn.xlsx", workbook_bytes(rows, headers=[*CANONICAL, "term"], header_names={
        "collaboration": "DfE 3 (collaboration)", "term": "School term"}))
    assert report.rows_accepted == 5 and report.rows_quarantined == 0
    messages = sorted(w.message for w in report.warnings)
    assert messages == [
        "'DfE 3 (collaboration)' is blank; counted as 'no'",
        "'Summer' in 'School term' does not match the date; using Autumn",
        "More than 12 hours in one row (14.0); please check it is one activity",
        "Same teacher, date, title and hours as row 5; both kept",
    ]
    assert sorted(w.column for w in report.warnings if w.column) == ["DfE 3 (collaboration)", "School term", "hours"]
    duplicate = next(w for w in report.warnings if w.message.startswith("Same teacher"))
    assert (duplicate.row, duplicate.column, duplicate.value) == (6, None, None)  # a whole-row warning
    assert store.scalar("SELECT collaboration FROM activities WHERE teacher_id = 'T1'") is False
    assert store.scalar("SELECT count(*) FROM upload_warnings") == 4


def test_missing_required_column_rejects_the_file_and_names_what_it_found(store):
    before = counts(store)
    rows = [{k: v for k, v in activity().items() if k != "hours"} | {"Hrs spent": 2}]
    report = ingest_bytes(store, "nohours.xlsx", workbook_bytes(rows, header_names={"school_id": "URN"}))
    assert report.status == "rejected"
    message = report.errors[0].message
    assert message.startswith("Sheet 'Log' is missing required column(s): Hours. Headers found: 'URN', "
                              "'teacher_id'")  # the file's own header text
    assert "'Hrs spent'" in message
    assert counts(store) == before


def test_unreadable_and_unsupported_files_are_rejected_with_reasons(store):
    before = counts(store)
    assert ingest_bytes(store, "notes.txt", b"hello").errors[0].message.startswith(
        "notes.txt: files of type '.txt' cannot be read")
    broken = ingest_bytes(store, "broken.xlsx", b"not a zip")
    assert broken.errors[0].message == ("broken.xlsx is damaged or is not really a .xlsx file (it could not be "
                                       "opened as one); save it again from the spreadsheet program and upload the "
                                       "new copy")
    empty = ingest_bytes(store, "blank.xlsx", workbook_bytes({"Sheet1": [{"a": 1}]}))
    assert empty.status == "rejected" and "no sheet has a recognised header row" in empty.errors[0].message
    assert counts(store) == before


def test_file_whose_rows_are_all_bad_is_rejected_and_writes_nothing(store):
    before = counts(store)
    report = ingest_bytes(store, "allbad.xlsx", workbook_bytes([activity(hours="lots")]))
    assert report.status == "rejected"
    assert report.errors[0].message == "allbad.xlsx: no row could be accepted"
    assert report.errors[1].column == "hours"
    assert counts(store) == before


def test_strict_rejects_a_file_with_any_bad_row(store):
    report = ingest_bytes(store, "s.xlsx", workbook_bytes([activity(), activity(hours=-1)]), strict=True)
    assert report.status == "rejected" and store.scalar("SELECT count(*) FROM activities") == 0


def test_same_file_twice_changes_nothing(store):
    data = workbook_bytes([activity()])
    first = ingest_bytes(store, "a.xlsx", data)
    before = counts(store)
    again = ingest_bytes(store, "a-copy.xlsx", data)
    assert again.status == "duplicate"
    assert again.notes[-1:] == [f"Already uploaded as upload #{first.upload_id}; nothing changed"]
    assert counts(store) == before


def test_new_return_for_the_same_teacher_and_term_needs_replace_then_supersedes_and_undo_restores(store):
    first = ingest_bytes(store, "v1.xlsx", workbook_bytes([activity(hours=2), activity(teacher_id="T2")]))
    second_data = workbook_bytes([activity(hours=3)])
    refused = ingest_bytes(store, "v2.xlsx", second_data)
    assert refused.status == "needs_replace"
    assert refused.errors[0].message == (
        "v2.xlsx covers returns already uploaded: school S1, Autumn 2019/20 (upload #1, v1.xlsx). "
        "Tick Replace to supersede them (the earlier upload stays in the history and undo restores it).")
    assert store.scalar("SELECT count(*) FROM uploads") == 1
    replaced = ingest_bytes(store, "v2.xlsx", second_data, replace=True)
    assert replaced.status == "accepted" and replaced.replaced_uploads == [first.upload_id]
    # the file covers teacher T1 only: T2's rows in the first return still count
    assert sorted(store.query_rows("SELECT teacher_id, hours FROM active_activities")) == [("T1", 3.0), ("T2", 5.0)]
    assert store.scalar("SELECT count(*) FROM activities") == 3  # history kept
    history = list_uploads(store)
    assert history["rows_superseded"].tolist() == [1, 0]

    summary = undo_upload(store, replaced.upload_id)
    assert (summary.rows_removed, summary.rows_restored, summary.schools) == (1, 1, ["S1"])
    assert sorted(store.query_rows("SELECT teacher_id, hours FROM active_activities")) == [("T1", 2.0), ("T2", 5.0)]
    assert list_uploads(store)["status"].tolist() == ["active", "undone"]


def test_other_terms_of_an_earlier_upload_survive_a_replacement(store):
    ingest_bytes(store, "year.xlsx", workbook_bytes({"Autumn": [activity()],
                                                    "Spring": [activity(activity_date=dt.date(2020, 2, 3))]}))
    ingest_bytes(store, "spring.xlsx", workbook_bytes([activity(activity_date=dt.date(2020, 2, 4), hours=1)]),
                 replace=True)
    assert sorted(store.query_rows("SELECT term, hours FROM active_activities")) == [("Autumn", 5.0), ("Spring", 1.0)]


def test_dry_run_checks_everything_and_writes_nothing(store):
    report = ingest_bytes(store, "dry.xlsx", workbook_bytes([activity(), activity(hours="x")]), dry_run=True)
    assert report.status == "accepted" and not report.committed and report.rows_accepted == 1
    assert counts(store)["uploads"] == 0 and counts(store)["quarantine"] == 0


def test_school_given_for_the_whole_file(store):
    rows = [{k: v for k, v in activity().items() if k != "school_id"}]
    assert ingest_bytes(store, "noschool.xlsx", workbook_bytes(rows)).status == "rejected"
    report = ingest_bytes(store, "noschool.xlsx", workbook_bytes(rows), school="S7")
    assert report.status == "accepted" and store.scalar("SELECT school_id FROM activities") == "S7"


def test_csv_in_utf8_bom_and_cp1252(store):
    for encoding, name in (("utf-8-sig", "bom.csv"), ("cp1252", "excel.csv")):
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(CANONICAL)
        title = "Café science – évaluation"
        writer.writerow([f"S-{encoding}", "T1", "01/10/2019", title, "course", "90 min", "", "", "Y", "Y", "Y",
                         "Y", "Y", "Y"])
        report = ingest_bytes(store, name, buf.getvalue().encode(encoding))
        assert report.status == "accepted", report.errors
    assert store.query_rows("SELECT DISTINCT activity_title, hours FROM activities") == [
        ("Café science – évaluation", 1.5)]


def test_zip_of_returns_is_one_upload_per_file(store, tmp_path):
    archive = tmp_path / "batch.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("a.xlsx", workbook_bytes([activity(school_id="S1")]))
        zf.writestr("b.xlsx", workbook_bytes([activity(school_id="S2")]))
        zf.writestr("__MACOSX/._a.xlsx", b"junk")
    seen = []
    reports = ingest_files(store, [archive], progress=lambda stage, done, total, name: seen.append((done, total)))
    assert [(r.file_name, r.status) for r in reports] == [("batch.zip/a.xlsx", "accepted"),
                                                          ("batch.zip/b.xlsx", "accepted")]
    assert seen[-1] == (2, 2)


def test_zip_bomb_and_oversized_files_are_refused_before_unpacking(store, tmp_path):
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("huge.csv", b"0" * 50_000_000)
    [report] = ingest_files(store, [bomb])
    assert report.status == "rejected" and "would unpack to 50 MB" in report.errors[0].message
    big = ingest_bytes(store, "big.csv", b"x" * 2000, limits=Limits(max_file_bytes=1000))
    assert big.errors[0].message == "big.csv is 0.0 MB, over the limit of 0 MB"


def test_formula_cells_give_cached_values_never_evaluated(store, tmp_path):
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(CANONICAL)
    ws.append(["S1", "T1", dt.date(2019, 10, 1), "Course", "course", "=1+1", None, None, "Y", "Y", "Y", "Y", "Y", "Y"])
    buf = io.BytesIO()
    book.save(buf)  # openpyxl stores no cached value, as if the formula had never been calculated
    report = ingest_bytes(store, "formula.xlsx", buf.getvalue())
    assert report.status == "rejected"
    assert report.errors[1].message == "Hours are missing"


def test_provider_spellings_merge_and_the_alias_table_records_it(store):
    rows = [activity(provider="STEM Learning Ltd"), activity(teacher_id="T2", provider="stem learning"),
            activity(teacher_id="T3", provider=" STEM  Learning Limited ")]
    ingest_bytes(store, "p.xlsx", workbook_bytes(rows))
    assert store.query_rows("SELECT DISTINCT provider_key FROM activities") == [("stem learning",)]
    assert store.scalar("SELECT count(*) FROM provider_aliases WHERE provider_key = 'stem learning'") == 3


def test_reference_sheets_are_recognised_by_their_headers(store):
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Staff list"
    ws.append(["teacher_id", "school_id", "role", "career_stage", "fte"])
    ws.append(["T1", "S1", "class teacher", "ECT", 0.6])
    ws2 = book.create_sheet("Register")
    ws2.append(["provider", "quality_mark", "expires_on"])
    ws2.append(["STEM Learning Ltd", "CPD Quality Mark", dt.date(2027, 1, 1)])
    ws3 = book.create_sheet("DfE 5")
    ws3.append(["school_id", "academic_year", "leadership_prioritised"])
    ws3.append(["S1", "2019-20", "Yes"])
    buf = io.BytesIO()
    book.save(buf)
    report = ingest_bytes(store, "ref.xlsx", buf.getvalue(), accept_reference_changes=True)
    assert report.status == "accepted"
    assert report.reference_rows == {"teachers": 1, "providers": 1, "attestations": 1}
    assert store.query_rows("SELECT teacher_id, fte FROM teachers") == [("T1", 0.6)]
    providers = store.query_rows("SELECT provider_key, expires_on FROM providers")
    assert providers == [("stem learning", dt.date(2027, 1, 1))]
    assert store.query_rows("SELECT academic_year, leadership_prioritised FROM attestations") == [("2019/20", True)]


def test_teacher_id_that_looks_like_a_name_gets_a_privacy_warning(store):
    report = ingest_bytes(store, "names.xlsx", workbook_bytes([activity(teacher_id="Jane Smith")],
                                                             header_names={"teacher_id": "Staff ID"}))
    assert [w.message for w in report.warnings] == [
        "'Staff ID' looks like a person's name; use a pseudonymous staff code"]


def test_killing_an_ingest_mid_write_leaves_the_database_as_before(tmp_path):
    """A subprocess is SIGKILLed after its rows are written but before COMMIT."""
    db = tmp_path / "kill.duckdb"
    data_file = tmp_path / "big.xlsx"
    data_file.write_bytes(workbook_bytes([activity(teacher_id=f"T{i}") for i in range(2000)]))
    marker = tmp_path / "inside-transaction"
    script = textwrap.dedent(f"""
        import sys, time, pathlib
        sys.path.insert(0, {str(ROOT)!r})
        from qa.store import Store
        from qa.ingest import ingest_bytes
        store = Store({str(db)!r})
        def progress(stage, done, total, name):
            if stage == "commit":  # rows are inserted; the transaction is still open
                pathlib.Path({str(marker)!r}).write_text("now")
                time.sleep(60)
        ingest_bytes(store, "big.xlsx", pathlib.Path({str(data_file)!r}).read_bytes(), progress=progress)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.time() + 60
        while not marker.exists():
            assert proc.poll() is None, "ingest process ended early"
            assert time.time() < deadline, "ingest never reached its commit point"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    from qa.store import Store

    with Store(db) as store:
        assert store.table_counts()["activities"] == 0
        assert store.table_counts()["uploads"] == 0


# xlsx cannot hold control characters, so the text cells leave them out
TEXT = st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=12)
CELL = st.one_of(st.none(), TEXT, st.integers(-5, 100_000), st.floats(allow_nan=False, allow_infinity=False),
                 st.booleans(), st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2110, 1, 1)),
                 st.sampled_from(["Y", "n", "✓", "1h30", "90 min", "1:30", "01/10/2019", "2019-10-01", "31/02/2019"]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.fixed_dictionaries({c: CELL for c in CANONICAL}), min_size=1, max_size=8))
def test_random_cells_never_crash_and_every_row_is_accepted_or_quarantined_with_a_reason(tmp_path_factory, rows):
    from qa.store import Store

    db = tmp_path_factory.mktemp("prop") / "p.duckdb"
    with Store(db) as store:
        report = ingest_bytes(store, "random.xlsx", workbook_bytes(rows, headers=CANONICAL))
        non_blank = sum(1 for r in rows if any(v not in (None, "") and not (isinstance(v, str) and not v.strip())
                                               for v in r.values()))
        if report.status == "accepted":
            assert report.rows_accepted + report.rows_quarantined == non_blank
            assert store.scalar("SELECT count(*) FROM activities") == report.rows_accepted
            assert store.scalar("SELECT count(*) FROM quarantine WHERE reason IS NULL OR reason = ''") == 0
            assert store.scalar("SELECT count(DISTINCT row_number) FROM quarantine") == report.rows_quarantined
        else:
            assert report.errors and all(e.message for e in report.errors)
            assert store.table_counts()["activities"] == 0


def test_uploads_validated_at_once_in_threads_get_their_own_results():
    """The dashboard serves sessions on threads; validation engines must not share state."""
    from concurrent.futures import ThreadPoolExecutor

    from qa.ingest import prepare, validate_batch

    def check(i: int) -> tuple[int, int, list[str]]:
        rows = [activity(teacher_id=f"T{i}-{n}", hours="two" if n == i else 1) for n in range(40)]
        [validated] = validate_batch([prepare(f"f{i}.xlsx", workbook_bytes(rows))])
        return (validated.accepted.num_rows, len(validated.quarantined),
                sorted(set(validated.accepted["teacher_id"].to_pylist()))[:1])

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(check, range(8)))
    assert results == [(39, 1, [f"T{i}-{0 if i else 1}"]) for i in range(8)]


def test_an_activity_dated_after_the_upload_is_kept_aside_not_counted_in_a_future_year(store):
    rows = [activity(teacher_id="T1"), activity(teacher_id="T2", activity_date=dt.date(2091, 10, 1))]
    report = ingest_bytes(store, "typo.xlsx", workbook_bytes(rows))
    assert (report.status, report.rows_accepted, report.rows_quarantined) == ("accepted", 1, 1)
    assert store.academic_years() == ["2019/20"]
    reason = store.query_rows("SELECT reason FROM quarantine")[0][0]
    today = dt.date.today()
    assert reason == f"Date 01/10/2091 is in the future (this upload is dated {today:%d/%m/%Y}); please check the year"


def test_a_day_of_grace_for_time_zones_and_not_one_more(store):
    """The boundary: tomorrow is accepted (a school ahead of the server's clock), the day after is kept aside."""
    today = dt.date.today()
    days = [today, today + dt.timedelta(days=1), today + dt.timedelta(days=2), dt.date(2099, 12, 31)]
    rows = [activity(teacher_id=f"T{i}", activity_date=d) for i, d in enumerate(days)]
    report = ingest_bytes(store, "dates.xlsx", workbook_bytes(rows))
    assert (report.status, report.rows_accepted, report.rows_quarantined) == ("accepted", 2, 2)
    assert sorted(store.query_rows("SELECT teacher_id FROM activities")) == [("T0",), ("T1",)]
    assert [r[0] for r in store.query_rows("SELECT reason FROM quarantine ORDER BY row_number")] == [
        f"Date {d:%d/%m/%Y} is in the future (this upload is dated {today:%d/%m/%Y}); please check the year"
        for d in days[2:]]


def test_a_heading_merged_over_the_dfe_columns_with_their_headers_on_the_row_below_is_read(store):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append([*CANONICAL[:10], "DfE aspects", None, None, None])
    sheet.merge_cells("K1:N1")
    sheet.append([None] * 10 + CANONICAL[10:])
    sheet.append(["S1", "T1", dt.date(2019, 10, 1), "Course", "course/workshop", 5, None, None, "Y", "Y", "Y", "Y",
                  "Y", "N"])
    buffer = io.BytesIO()
    book.save(buffer)
    report = ingest_bytes(store, "grouped.xlsx", buffer.getvalue())
    assert (report.status, report.rows_accepted, report.rows_quarantined) == ("accepted", 1, 0)
    assert store.query_rows("SELECT collaboration, sustained, source_row FROM active_activities") == [(True, False, 3)]


def test_a_first_data_row_with_a_header_word_in_a_spare_column_is_data_not_a_second_header_row(store):
    """Only a row blank under every named column can carry headers: a data row fills them."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append([*CANONICAL, "Notes"])
    for teacher, note in (("T1", "Subject"), ("T2", None)):
        sheet.append(["S1", teacher, dt.date(2019, 10, 1), "Course", "course/workshop", 5, None, None, "Y", "Y", "Y",
                      "Y", "Y", "N", note])
    buffer = io.BytesIO()
    book.save(buffer)
    report = ingest_bytes(store, "notes.xlsx", buffer.getvalue())
    assert (report.status, report.rows_accepted) == ("accepted", 2)
    assert store.query_rows("SELECT teacher_id, source_row FROM active_activities ORDER BY 1") == [("T1", 2), ("T2", 3)]


# --------------------------------------------------------------------------- the per-value parses in one statement

def _lookups_one_query_per_key(con, cells, lookups):
    """The per-value parses as they were run before: one statement per key column, with the tidied texts
    (date_text, header_key) written out in every expression that uses them. Kept here as the model."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from qa import validate

    by_key = {}
    for alias, key, expr in lookups:
        expr = expr.replace(validate.TIDY_DATE, validate.date_text("k")).replace(validate.TIDY_KEY,
                                                                             validate.header_key("k"))
        by_key.setdefault(key.strip('"'), []).append((alias, expr))
    for key, items in by_key.items():
        encoded = pc.dictionary_encode(cells[key].combine_chunks())
        con.register("lookup_keys", pa.table({"k": encoded.dictionary}))
        parsed = con.sql(f"SELECT {', '.join(f'{e} AS {validate.ident(a)}' for a, e in items)} "
                         f"FROM lookup_keys").to_arrow_table()
        con.unregister("lookup_keys")
        for alias, _ in items:
            cells = cells.append_column(alias, parsed[alias].combine_chunks().take(encoded.indices))
    return cells


_LOOKUP_TEXTS = st.one_of(
    st.sampled_from(["", " ", "\u00a0", "x", "X", "✓", "y", "Yes", " no ", "N", "1", "0", "true", "maybe",
                     "2019/20", "2019-2020", "2019/21", "autumn", "Spring term", "SUMMER", "Autumn 1", "t1",
                     "Course / Workshop", "coaching", "INSET", "e.g. a course", "Total", "Sub-total",
                     "URN 107100", "107100", "school no. 5", "S1", "Jane Smith", "Mrs J Smith", "SMITH Jane",
                     "03/10/2019", "3/10/19", "13/10/2019", "10/13/2019", "31/02/2020", "3rd Oct 2019",
                     "Thursday 3 October 2019", "3-Oct-19", "Oct 3, 2019", "sept 3 2019", "2019-10-03",
                     "2019-10-03 10:30", "2019/10/3", "03.10.2019", "03-10-2019", "1.5", "1,5", "34.99", "35.0",
                     "#N/A", "#VALUE!", "2019-13-45", "3 Octember 2019"]),
    st.text(alphabet="0123456789/-. :aeiorstnOcTSpx,", max_size=14))


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(*[_LOOKUP_TEXTS] * 5), min_size=1, max_size=30), st.booleans())
def test_per_value_parses_in_one_statement_match_one_statement_per_column(rows, with_register):
    """The lookups of every activity column run as one statement give, cell for cell, what one statement per
    key column gave (dates, terms, years, activity types, yes/no marks, school codes, names, example rows)."""
    import pyarrow as pa

    from qa import schema, validate

    columns = {"activity_date": 0, "term": 1, "academic_year": 2, "activity_type": 3, "school_id": 4,
               "teacher_id": 0, "activity_title": 3, "subject_specific": 1, "collaboration": 2}
    cells = validate.cells_table({name: [r[i] for r in rows] for name, i in columns.items()},
                                 schema.ACTIVITY_COLUMN_NAMES, len(rows), {}, keep_blank_rows=True)
    register = frozenset({"107100", "S1"}) if with_register else None
    _, lookups, _ = validate.activity_checks(None, register)
    with validate.connect() as con:
        if register is not None:
            con.register(validate.REGISTER, pa.table({"code": sorted(register)}))
        expected = _lookups_one_query_per_key(con, cells, lookups)
        assert validate.with_lookups(con, cells, lookups).equals(expected)
