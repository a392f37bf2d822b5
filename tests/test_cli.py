"""The cpdqa command line: help everywhere, exit codes, machine-readable output."""

import csv
import io
import json

import openpyxl
import pytest
from click.testing import CliRunner

from qa.cli import main
from qa.store import Store
from tests.conftest import activity, workbook_bytes

COMMANDS = [[], ["init"], ["template"], ["demo"], ["ingest"], ["uploads"], ["undo"], ["assess"], ["framework"],
            ["framework", "list"], ["framework", "show"], ["framework", "save"], ["school", "consent"]]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "cpdqa")
def test_every_command_has_help(command):
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output


def test_ingest_exit_codes_and_json_summary(tmp_path):
    db = str(tmp_path / "c.duckdb")
    good = tmp_path / "good.xlsx"
    good.write_bytes(workbook_bytes([activity(), activity(teacher_id="T2", hours="two")]))
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    runner = CliRunner()
    ok = runner.invoke(main, ["ingest", "--db", db, str(good)])
    assert ok.exit_code == 0
    assert "✓ good.xlsx: accepted, 1 rows accepted, 1 quarantined, 0 warnings (upload #1)" in ok.output
    assert "error: sheet 'Log', row 3, column hours: Hours must be a positive number" in ok.output

    again = runner.invoke(main, ["ingest", "--db", db, "--json", str(good), str(bad)])
    assert again.exit_code == 1
    summary = json.loads(again.output)
    assert [(f["file_name"], f["status"]) for f in summary] == [("good.xlsx", "duplicate"), ("bad.csv", "rejected")]
    assert summary[1]["errors"][0]["message"].startswith("bad.csv: no sheet has a recognised header row")

    assert runner.invoke(main, ["ingest", "--db", db, "--no-such-flag", str(good)]).exit_code == 2
    assert runner.invoke(main, ["ingest", "--db", db, str(tmp_path / "missing.xlsx")]).exit_code == 2


def test_ingest_batch_outcomes_replace_and_consent(tmp_path):
    db = str(tmp_path / "b.duckdb")
    files = {name: tmp_path / f"{name}.xlsx" for name in ("t1", "t1-again", "t2", "t1-fix")}
    files["t1"].write_bytes(workbook_bytes([activity(teacher_id="T1", hours=1)]))
    files["t1-again"].write_bytes(workbook_bytes([activity(teacher_id="T1", hours=2)]))
    files["t2"].write_bytes(workbook_bytes([activity(teacher_id="T2", hours=3)]))
    files["t1-fix"].write_bytes(workbook_bytes([activity(teacher_id="T1", hours=4)]))
    runner = CliRunner()
    batch = runner.invoke(main, ["ingest", "--db", db, *(str(files[n]) for n in ("t1", "t1-again", "t2"))])
    assert batch.exit_code == 1
    assert "✗ t1.xlsx: refused" in batch.output and "✗ t1-again.xlsx: refused" in batch.output
    assert "✓ t2.xlsx: accepted, 1 rows accepted, 0 quarantined, 0 warnings (upload #1)" in batch.output
    assert batch.output.strip().endswith("1 accepted, 0 needs Replace, 0 duplicate, 2 refused")
    assert runner.invoke(main, ["ingest", "--db", db, str(files["t1"])]).exit_code == 0
    needs = runner.invoke(main, ["ingest", "--db", db, str(files["t1-fix"])])
    assert needs.exit_code == 1 and "↻ t1-fix.xlsx: needs Replace" in needs.output
    fixed = runner.invoke(main, ["ingest", "--db", db, "--replace", str(files["t1-fix"])])
    assert fixed.exit_code == 0 and "(upload #3); replaces upload(s) #2" in fixed.output
    assert runner.invoke(main, ["ingest", "--db", db, "--whole-school", str(files["t1-fix"])]).exit_code == 2
    consent = runner.invoke(main, ["school", "consent", "--db", db, "S1", "yes", "--by", "eva"])
    assert consent.exit_code == 0 and consent.output.strip() == "school S1: may be named"
    with Store(db) as store:
        assert store.query_rows("SELECT teacher_id, hours FROM active_activities ORDER BY 1") == [("T1", 4.0),
                                                                                               ("T2", 3.0)]
        assert store.query_rows("SELECT school_id, consent_to_name FROM schools") == [("S1", True)]


def test_uploads_and_undo(tmp_path):
    db = str(tmp_path / "u.duckdb")
    f = tmp_path / "r.xlsx"
    f.write_bytes(workbook_bytes([activity()]))
    runner = CliRunner()
    runner.invoke(main, ["ingest", "--db", db, "--by", "eva", str(f)])
    listing = runner.invoke(main, ["uploads", "--db", db]).output
    assert "r.xlsx" in listing and "eva" in listing and "active" in listing
    preview = runner.invoke(main, ["undo", "--db", db, "1", "--dry-run"]).output.strip()
    assert preview == "undoing upload #1 would change: 1 activity row(s) stop counting. Schools affected: S1."
    assert runner.invoke(main, ["undo", "--db", db, "1"]).output.strip() == (
        "upload #1 undone: 1 activity row(s) stop counting. Schools affected: S1.")
    second = runner.invoke(main, ["undo", "--db", db, "1"])
    assert second.exit_code == 1 and "Upload #1 is already undone" in second.output


def test_assess_csv_contract(tmp_path):
    db = str(tmp_path / "a.duckdb")
    f = tmp_path / "r.xlsx"
    f.write_bytes(workbook_bytes([activity(hours=35), activity(teacher_id="T2", hours=10, subject_specific="N")]))
    runner = CliRunner()
    runner.invoke(main, ["ingest", "--db", db, str(f)])
    out = runner.invoke(main, ["assess", "--db", db, "--level", "teacher", "--year", "2019/20",
                               "--as-of", "2021-01-01"])
    assert out.exit_code == 0, out.output
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert list(rows[0])[:11] == ["teacher_id", "school_id", "academic_year", "total_hours", "quality_hours",
                                  "counted_hours", "subject_specific_share", "meets_hours", "meets_subject",
                                  "meets_framework", "status"]
    assert (rows[0]["counted_hours"], rows[0]["meets_framework"], rows[0]["status"]) == ("35.0", "true", "met")
    assert (rows[1]["subject_specific_share"], rows[1]["meets_subject"]) == ("0.0", "false")
    school = runner.invoke(main, ["assess", "--db", db, "--level", "school", "--format", "json",
                                  "--as-of", "2021-01-01"])
    [record] = json.loads(school.stdout)
    assert (record["teachers"], record["teachers_meeting"], record["share_meeting"]) == (2, 1, 0.5)
    bad_year = runner.invoke(main, ["assess", "--db", db, "--level", "school", "--year", "2019"])
    assert bad_year.exit_code == 2 and "academic year must look like 2019/20" in bad_year.output


def test_framework_save_creates_a_version_used_by_assess(tmp_path):
    db = str(tmp_path / "f.duckdb")
    runner = CliRunner()
    saved = runner.invoke(main, ["framework", "save", "--db", db, "wellcome", "--set", "meets_hours=30",
                                 "--set", "quality_min_aspects=3", "--by", "eva"])
    assert saved.output.strip() == "saved wellcome version 2"
    shown = runner.invoke(main, ["framework", "show", "--db", db, "wellcome"]).output
    assert "threshold = 30" in shown and "quality_min_aspects = 3" in shown
    wrong = runner.invoke(main, ["framework", "save", "--db", db, "wellcome", "--set", "nonsense=1", "--by", "x"])
    assert wrong.exit_code == 2 and "neither a rule of wellcome nor a definition" in wrong.output


def test_template_has_canonical_headers_dropdowns_and_round_trips(tmp_path):
    path = tmp_path / "template.xlsx"
    assert CliRunner().invoke(main, ["template", "--out", str(path)]).exit_code == 0
    book = openpyxl.load_workbook(path)
    log = book["CPD log"]
    headers = [c.value for c in log[1]]
    assert headers[:3] == ["school_id", "teacher_id", "activity_date"] and "sustained" in headers
    formulas = {dv.formula1 for dv in log.data_validations.dataValidation}
    assert '"Y,N"' in formulas and any("Lists!$A$1" in f for f in formulas)
    assert book["Instructions"]["A1"].value == "Termly CPD return"
    # a filled-in template ingests cleanly
    row = activity()
    log.append([row.get(h) for h in headers])
    book.save(path)
    db = str(tmp_path / "t.duckdb")
    result = CliRunner().invoke(main, ["ingest", "--db", db, str(path)])
    assert result.exit_code == 0 and "1 rows accepted" in result.output


def test_demo_database_has_a_believable_spread(demo_db):
    out = CliRunner().invoke(main, ["assess", "--db", str(demo_db), "--level", "school", "--format", "json"])
    schools = json.loads(out.stdout)
    by_year = {}
    for s in schools:
        y = by_year.setdefault(s["academic_year"], {"activities": 0, "all4": 0, "teachers": 0, "meeting": 0})
        y["activities"] += s["activities"]
        y["all4"] += s["share_activities_all_aspects"] * s["activities"]
        y["teachers"] += s["teachers"]
        y["meeting"] += s["teachers_meeting"]
    years = sorted(by_year)
    assert years == ["2017/18", "2018/19", "2019/20", "2020/21"] and len(schools) == 160
    baseline = by_year["2017/18"]
    assert 0.09 <= baseline["all4"] / baseline["activities"] <= 0.14  # the pilot reported about 11%
    shares = [by_year[y]["meeting"] / by_year[y]["teachers"] for y in years]
    assert shares == sorted(shares) and shares[0] < 0.05 and 0.08 < shares[-1] < 0.4  # some meet, most do not


def test_demo_fills_a_database_that_holds_no_returns_and_leaves_one_that_does(tmp_path, monkeypatch):
    import shutil

    from qa import cli

    samples = tmp_path / "samples"
    samples.mkdir()
    shutil.copy(cli.SAMPLE_DIR / "107100_2019-20.xlsx", samples)
    monkeypatch.setattr(cli, "SAMPLE_DIR", samples)
    db = tmp_path / "demo.duckdb"
    assert CliRunner().invoke(main, ["init", "--db", str(db)]).exit_code == 0  # empty, as a stray app run left it
    first = CliRunner().invoke(main, ["demo", "--db", str(db)])
    assert first.exit_code == 0 and "holds no returns yet: adding the demo returns" in first.output
    assert "built" in first.output
    again = CliRunner().invoke(main, ["demo", "--db", str(db)])
    assert again.exit_code == 0 and "activities; use --force to rebuild it" in again.output
    assert "built" not in again.output


def test_a_framework_error_is_a_message_and_exit_code_not_a_traceback(tmp_path):
    db = tmp_path / "x.duckdb"
    result = CliRunner().invoke(main, ["framework", "revert", "--db", str(db), "wellcome", "--to", "9", "--by", "e"])
    assert result.exit_code == 2
    assert "Error: framework 'wellcome' has no version 9; versions: 1" in result.output
    assert "Traceback" not in result.output


def test_csv_from_the_cli_is_neutralised(tmp_path):
    from qa import audit
    from qa.store import Store

    db = str(tmp_path / "n.duckdb")
    with Store(db) as store:
        audit.record(store, "=HYPERLINK(\"http://x\")", "export", "\ufeff=cmd|' /C calc'!A0")
        audit.record(store, "\uff1dSUM(A1)", "export", "\u200b@SUM(A1)")
    out = CliRunner().invoke(main, ["audit", "--db", db, "--format", "csv"]).output
    lines = out.splitlines()
    assert lines[0].startswith("event_id,occurred_at,who,action,detail")
    assert ",'\uff1dSUM(A1),export,'\u200b@SUM(A1)" in lines[1]
    assert ",\"'=HYPERLINK(\"\"http://x\"\")\",export,'\ufeff=cmd|' /C calc'!A0" in lines[2]


def test_ingest_with_stderr_closed_still_stores_and_reports(tmp_path):
    """Run where the process has no stderr at all (a scheduled job started with `2>&-`), `cpdqa ingest` crashed
    on asking whether stderr was a terminal, before reading anything, and said nothing."""
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    (tmp_path / "return.xlsx").write_bytes(workbook_bytes([activity()]))
    command = (f"{sys.executable} -c 'from qa.cli import main; main()' ingest --db {tmp_path / 'cpd.duckdb'} "
               f"{tmp_path / 'return.xlsx'} 2>&-")
    out = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=120, cwd=ROOT,
                         env=os.environ)
    assert out.returncode == 0
    assert out.stdout.splitlines()[0].startswith("✓ return.xlsx: accepted, 1 rows accepted")


def test_a_mistyped_year_or_an_output_folder_that_does_not_exist_is_a_message_not_a_traceback(tmp_path):
    db = str(tmp_path / "c.duckdb")
    (tmp_path / "r.xlsx").write_bytes(workbook_bytes([activity(school_id="107100")]))
    runner = CliRunner()
    assert runner.invoke(main, ["ingest", "--db", db, str(tmp_path / "r.xlsx")]).exit_code == 0
    out = str(tmp_path / "out.pdf")
    for command in (["report", "school", "--school", "107100", "--out", out], ["report", "funder", "--out", out],
                    ["export", "--out", str(tmp_path / "out.xlsx")], ["assess", "--level", "school"]):
        typo = runner.invoke(main, [*command, "--db", db, "--year", "2019/2O"])
        assert typo.exit_code == 2, typo.output
        assert "Invalid value for '--year': academic year must look like 2019/20; got '2019/2O'." in typo.output
    # the year as people also write it is read as the year it is
    dashed = runner.invoke(main, ["report", "funder", "--db", db, "--year", "2019-20", "--out", out])
    assert dashed.exit_code == 0 and "wrote" in dashed.output
    missing = str(tmp_path / "no such folder" / "out.pdf")
    for command in (["report", "school", "--school", "107100", "--year", "2019/20", "--out", missing],
                    ["report", "funder", "--year", "2019/20", "--out", missing],
                    ["export", "--out", missing.replace(".pdf", ".xlsx")]):
        result = runner.invoke(main, [*command, "--db", db])
        assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
        assert f"Error: Cannot write {missing[:-4]}" in result.output and "No such file or directory" in result.output
