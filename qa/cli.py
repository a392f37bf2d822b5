"""`cpdqa`: the command line to the QA engine. Exit codes: 0 ok, 1 a file not saved or a database problem, 2 usage.

Every user-facing error is a `CpdqaError`; `CpdqaGroup` turns it into its message and exit code once, here.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click
import pandas as pd

from qa import accounts, audit, engine, schema
from qa.access import ROLES, Viewer
from qa.errors import CpdqaError
from qa.exports import to_csv_text
from qa.framework import (
    DEFAULT_FRAMEWORK,
    FrameworkError,
    coerce_override_value,
    load_framework,
    revert_to,
    save_version,
    saved_versions,
    shipped_frameworks,
    versions,
    with_overrides,
)
from qa.store import Store, StoreError

if TYPE_CHECKING:
    from qa import ingest as ingest_mod

# qa.ingest and qa.returns (readers, validation) load only in the commands that take in returns: a report
# or an export starts faster without them.

SAMPLE_DIR = Path(__file__).resolve().parents[1] / "data" / "sample"
DB_OPTION = click.option("--db", "db_path", required=True, type=click.Path(dir_okay=False),
                         help="DuckDB database file (created if absent).")


def _academic_year(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """--year as the year it is ('2019-20' is 2019/20); a typo is a usage error, never a traceback."""
    if value is None:
        return None
    year = schema.normalise_academic_year(value)
    if year is None:
        raise click.BadParameter(f"academic year must look like 2019/20; got '{value}'.")
    return year


def _write(out: str, data: bytes) -> None:
    """The file the command made, or a sentence saying why it could not be written (no traceback)."""
    try:
        Path(out).write_bytes(data)
    except OSError as exc:
        raise click.ClickException(f"Cannot write {out}: {exc.strerror or exc}") from exc


def _open(db_path: str) -> Store:
    try:
        return Store(db_path)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from exc


class _UserError(click.ClickException):
    def __init__(self, error: CpdqaError) -> None:
        super().__init__(str(error))
        self.exit_code = error.exit_code


class CpdqaGroup(click.Group):
    """Shows a CpdqaError as 'Error: <message>' with its exit code, never as a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except CpdqaError as exc:
            raise _UserError(exc) from exc


@click.group(cls=CpdqaGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cpdqa")
def main() -> None:
    """Quality assurance of teachers' CPD: ingest termly returns, assess them against frameworks."""


@main.command()
@DB_OPTION
def init(db_path: str) -> None:
    """Create a database, or upgrade an existing one to the current schema in place."""
    store = _open(db_path)
    click.echo(f"{db_path}: schema version {store.schema_version()}")
    store.close()


@main.command()
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Where to write the .xlsx.")
def template(out: str) -> None:
    """Write a blank termly return with the canonical headers, drop-downs and instructions."""
    from qa.template import write_template

    click.echo(f"wrote {write_template(out)}")


def _print_report(report: ingest_mod.FileReport, verbose_limit: int = 20) -> None:
    from qa import returns

    mark = {"accepted": "✓", "duplicate": "=", "needs_replace": "↻", "rejected": "✗"}[report.status]
    line = f"{mark} {report.file_name}: {returns.outcome_word(report)}"
    if report.status == "accepted":
        line += (f", {report.rows_accepted} rows accepted, {report.rows_quarantined} quarantined, "
                 f"{len(report.warnings)} warnings")
        if report.upload_id:
            line += f" (upload #{report.upload_id}" + (")" if report.committed else ", not written)")
        if report.replaced_uploads:
            line += f"; replaces upload(s) {', '.join(f'#{u}' for u in report.replaced_uploads)}"
        refs = ", ".join(f"{n} {k}" for k, n in report.reference_rows.items() if n)
        if refs:
            line += f"; reference rows: {refs}"
    click.echo(line)
    for note in report.notes:
        click.echo(f"    note: {note}")
    for label, issues in (("error", report.errors), ("warning", report.warnings)):
        for issue in issues[:verbose_limit]:
            where = issue.where()
            click.echo(f"    {label}: {where + ': ' if where else ''}{issue.message}")
        if len(issues) > verbose_limit:
            click.echo(f"    … and {len(issues) - verbose_limit} more {label}s (use --json for all)")


@main.command()
@DB_OPTION
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--school", help="School ID for files whose rows have no school_id column.")
@click.option("--dry-run", is_flag=True, help="Validate against the database but write nothing.")
@click.option("--replace", is_flag=True,
              help="Supersede earlier rows of the teachers this file covers in its school-terms.")
@click.option("--whole-school", is_flag=True,
              help="With --replace: the file is the school's whole return for its terms; every earlier row "
                   "of those school-terms is superseded, including teachers it leaves out.")
@click.option("--accept-reference-changes", is_flag=True,
              help="Apply reference rows about other schools, providers and programmes (listed by --dry-run).")
@click.option("--strict", is_flag=True, help="Reject a file that has any bad row.")
@click.option("--by", default="cli", show_default=True, help="Who is uploading (recorded in history).")
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable summary per file.")
@click.option("--max-mb", type=float, default=50, show_default=True, help="Largest file accepted.")
@click.option("--date-order", type=click.Choice(schema.DATE_ORDERS), default="day-first", show_default=True,
              help="How to read dates like 04/09/2020 when a file's own dates leave it open "
                   "(a date like 25/09/2020 or 9/25/2020 in the file always decides).")
def ingest(db_path: str, files: tuple[str, ...], school: str | None, dry_run: bool, replace: bool,
           whole_school: bool, accept_reference_changes: bool, strict: bool, by: str, as_json: bool,
           max_mb: float, date_order: str) -> None:
    """Load termly returns (.xlsx .xlsm .xls .ods .csv, or .zip of them); one upload per file.

    Every file gets an outcome: accepted, needs Replace, duplicate or refused. Files of one
    run that cover the same teacher and term are refused before anything is written.
    """
    from qa import ingest as ingest_mod
    from qa import returns

    if whole_school and not replace:
        raise click.UsageError("--whole-school only applies with --replace")
    store = _open(db_path)
    limits = ingest_mod.Limits(max_file_bytes=int(max_mb * 1024 * 1024))
    show_bar = not as_json and sys.stderr is not None and sys.stderr.isatty()  # None: started without a stderr
    with _without_rust_panics(), click.progressbar(length=1, label="ingesting", file=sys.stderr,
                                                   hidden=not show_bar) as bar:
        def progress(stage: str, done: int, total: int, name: str) -> None:
            bar.length = max(total, 1)
            bar.update(done - bar.pos)

        reports = ingest_mod.ingest_files(store, files, school=school, dry_run=dry_run, replace=replace,
                                          whole_term=whole_school, accept_reference_changes=accept_reference_changes,
                                          strict=strict, by=by, limits=limits, progress=progress,
                                          date_order=date_order)
    store.close()
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in reports], indent=2, default=str))
    else:
        for report in reports:
            _print_report(report)
        counts = {returns.OUTCOME_WORDS[s]: sum(r.status == s for r in reports)
                  for s in ("accepted", "needs_replace", "duplicate", "rejected")}
        click.echo(", ".join(f"{n} {s}" for s, n in counts.items()))
    sys.exit(1 if any(r.status in ("rejected", "needs_replace") for r in reports) else 0)


# Rust's report of a panic: its header, the message, then a note or a backtrace (frames indented) and a note
_RUST_PANIC = re.compile(r"^thread '[^'\n]*'[^\n]* panicked at [^\n]*\n(?:(?!thread ')[^\n]*\n)*?"
                         r"(?:note: [^\n]*\n|stack backtrace:\n(?:[ \t][^\n]*\n)*(?:note: [^\n]*\n)?)", re.M)


@contextmanager
def _without_rust_panics() -> Iterator[None]:
    """Where calamine panics on a damaged file (refused with a sentence saying what to do), Rust prints the panic,
    or with RUST_BACKTRACE set a backtrace of fifty frames, straight to the process's stderr, above the refusal.
    Here the process's stderr goes to a file meanwhile and comes back without those reports; Python's own
    writes to stderr (the progress bar) go to the terminal as they happen. Where that cannot be set up (no
    stderr, no room for a temporary file), nothing is filtered."""
    python_stderr = sys.stderr
    try:
        uses_fd = python_stderr.fileno() == 2
    except (OSError, ValueError, AttributeError):  # a stand-in stream (a test runner's), or none
        uses_fd = False
    try:
        if python_stderr is not None:
            python_stderr.flush()
        terminal = os.dup(2)
    except (OSError, ValueError):  # no stderr at all
        yield
        return
    try:
        captured = tempfile.TemporaryFile()  # noqa: SIM115 - closed below
    except OSError:  # no room for it
        os.close(terminal)
        yield
        return
    with captured:
        if uses_fd:
            sys.stderr = open(os.dup(terminal), "w", buffering=1, encoding=python_stderr.encoding,  # noqa: SIM115
                              errors=python_stderr.errors)
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(terminal, 2)
            os.close(terminal)
            if uses_fd:
                sys.stderr.close()
                sys.stderr = python_stderr
            captured.seek(0)
            rest = _RUST_PANIC.sub("", captured.read().decode(errors="replace"))
            if rest.strip() and python_stderr is not None:
                python_stderr.write(rest)
                python_stderr.flush()


TABLE_FORMAT = click.option("--format", "fmt", type=click.Choice(["text", "csv"]), default="text", show_default=True,
                            help="csv: neutralised against spreadsheet formulas, for opening in Excel")


def _echo_table(frame, fmt: str, empty: str) -> None:
    if fmt == "csv":
        click.echo(to_csv_text(frame), nl=False)
    else:
        click.echo(empty if frame.empty else frame.to_string(index=False))


@main.command()
@DB_OPTION
@TABLE_FORMAT
def uploads(db_path: str, fmt: str) -> None:
    """List upload history: what came in, when, from whom, and what replaced what."""
    from qa import ingest as ingest_mod

    store = _open(db_path)
    frame = ingest_mod.list_uploads(store)
    store.close()
    _echo_table(frame, fmt, "no uploads yet")


@main.command()
@DB_OPTION
@click.argument("upload_id", type=int)
@click.option("--by", default="cli", show_default=True, help="Who is undoing it (recorded in the audit log).")
@click.option("--dry-run", is_flag=True, help="Say what would change and change nothing.")
def undo(db_path: str, upload_id: int, by: str, dry_run: bool) -> None:
    """Reverse one upload as if it never happened; any return it replaced counts again."""
    from qa import returns

    store = _open(db_path)
    try:
        summary = returns.undo_upload(store, upload_id, by, dry_run=dry_run)
    except returns.UndoError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        store.close()
    head = f"undoing upload #{upload_id} would change:" if dry_run else f"upload #{upload_id} undone:"
    click.echo(f"{head} {summary.sentence()}")


@main.group()
def school() -> None:
    """Facts about schools that only an evaluator sets."""


@school.command("consent")
@DB_OPTION
@click.argument("school_id")
@click.argument("answer", type=click.Choice(["yes", "no"]))
@click.option("--by", required=True, help="The evaluator recording it (written to the audit log).")
def school_consent(db_path: str, school_id: str, answer: str, by: str) -> None:
    """Record whether a school agreed to be named to funders (uploads never change this)."""
    from qa import returns

    store = _open(db_path)
    try:
        returns.set_consent(store, school_id, answer == "yes", by)
    finally:
        store.close()
    click.echo(f"school {school_id}: " + ("may be named" if answer == "yes" else "not named"))


def build_demo(db_path: str | Path, sample_dir: Path = SAMPLE_DIR) -> list[ingest_mod.FileReport]:
    """Build the demo database from the bundled sample returns (reference workbook first)."""
    from qa import ingest as ingest_mod
    from qa import returns

    files = sorted(p for p in sample_dir.iterdir() if p.suffix.lower() in ingest_mod.SUPPORTED_SUFFIXES)
    if not files:
        raise click.ClickException(f"no sample returns in {sample_dir}")
    store = Store(db_path)
    try:
        # the reference workbook describes every school and provider: accepted as an evaluator would
        reports = ingest_mod.ingest_files(store, files, by="demo", accept_reference_changes=True)
        for path, report in zip(files, reports, strict=True):
            if report.reference_rows.get("schools"):
                schools = ingest_mod.prepare(path.name, path.read_bytes()).references["schools"]
                for school_id, consent in zip(schools["school_id"], schools["consent_to_name"], strict=True):
                    if consent is not None and not pd.isna(consent):
                        returns.set_consent(store, school_id, bool(consent), "demo")
        return reports
    finally:
        store.close()


@main.command()
@DB_OPTION
@click.option("--force", is_flag=True, help="Rebuild even if the database holds returns.")
def demo(db_path: str, force: bool) -> None:
    """Build the demo database from data/sample/ (into an existing database only if it holds no returns)."""
    path = Path(db_path)
    if path.exists():
        store = _open(db_path)
        held = store.query_rows("SELECT count(*) FROM active_activities")[0][0]
        store.close()
        if held and not force:
            click.echo(f"{db_path} holds {held} activities; use --force to rebuild it")
            return
        if force:
            path.unlink()
            Path(f"{db_path}.wal").unlink(missing_ok=True)
        else:
            click.echo(f"{db_path} holds no returns yet: adding the demo returns")
    reports = build_demo(path, SAMPLE_DIR)
    accepted = sum(r.rows_accepted for r in reports)
    quarantined = sum(r.rows_quarantined for r in reports)
    click.echo(f"built {db_path}: {len(reports)} files, {accepted} activities, "
               f"{quarantined} quarantined row(s)")


def _parse_date(text: str | None) -> dt.date:
    if not text:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise click.BadParameter(f"'{text}' is not a date like 2020-03-31") from exc


@main.command()
@DB_OPTION
@click.option("--framework", "framework_id", default=DEFAULT_FRAMEWORK, show_default=True,
              help="Framework id (see `cpdqa framework list`).")
@click.option("--version", "framework_version", type=int, help="Framework version (default: newest).")
@click.option("--year", callback=_academic_year, help="Academic year, e.g. 2019/20 (default: every year).")
@click.option("--through-term", type=click.Choice(schema.TERMS), help="Judge the year to the end of this term.")
@click.option("--as-of", help="Date the judgement is made on (default today), e.g. 2020-03-31.")
@click.option("--school", "schools", multiple=True, help="Only this school (repeatable).")
@click.option("--level", type=click.Choice(engine.LEVELS), required=True)
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option("--by", default="cli", show_default=True, help="Who is running it (recorded).")
def assess(db_path: str, framework_id: str, framework_version: int | None, year: str | None,
           through_term: str | None, as_of: str | None, schools: tuple[str, ...], level: str, fmt: str,
           by: str) -> None:
    """Assess teachers, schools, providers or programmes against a framework; results to stdout."""
    store = _open(db_path)
    try:
        framework = load_framework(framework_id, store, framework_version)
        filters = engine.Filters(year=year, through_term=through_term, as_of=_parse_date(as_of),
                                 schools=schools or None)
        result = engine.assess(store, level, framework, filters, run_by=by)
    except (FrameworkError, ValueError) as exc:
        raise click.UsageError(str(exc)) from exc
    finally:
        store.close()
    frame = engine.format_for_output(result.results)
    if fmt == "json":
        click.echo(frame.to_json(orient="records", date_format="iso", indent=1))
    else:
        click.echo(to_csv_text(frame), nl=False)
    click.echo(f"# {framework.id} v{framework.version}, run #{result.run_id}, "
               f"{len(frame)} rows", err=True)


@main.group()
def framework() -> None:
    """List, show and version the frameworks (rules are data files, not code)."""


@framework.command("list")
@click.option("--db", "db_path", type=click.Path(dir_okay=False), help="Include saved versions.")
def framework_list(db_path: str | None) -> None:
    """Every framework with its newest version."""
    store = _open(db_path) if db_path else None
    for framework_id in shipped_frameworks():
        fw = load_framework(framework_id, store)
        click.echo(f"{fw.id:32} v{fw.version:<3} {fw.title}")
    if store:
        store.close()


@framework.command("show")
@click.argument("framework_id")
@click.option("--db", "db_path", type=click.Path(dir_okay=False), help="Include saved versions.")
@click.option("--version", "framework_version", type=int)
def framework_show(framework_id: str, db_path: str | None, framework_version: int | None) -> None:
    """Print a framework as TOML: rules, thresholds, periods and sources."""
    store = _open(db_path) if db_path else None
    try:
        click.echo(load_framework(framework_id, store, framework_version).to_toml())
    except FrameworkError as exc:
        raise click.UsageError(str(exc)) from exc
    finally:
        if store:
            store.close()


@framework.command("save")
@DB_OPTION
@click.argument("framework_id")
@click.option("--set", "settings", multiple=True, required=True, metavar="NAME=VALUE",
              help="A rule threshold or definition, e.g. meets_hours=30, quality_min_aspects=3, "
                   "pro_rata_fte=true, kitemark.Gold.1=80%.")
@click.option("--by", required=True, help="Who made the change (recorded).")
def framework_save(db_path: str, framework_id: str, settings: tuple[str, ...], by: str) -> None:
    """Save changed thresholds as a new version of a framework."""
    store = _open(db_path)
    try:
        overrides = {}
        for setting in settings:
            name, sep, value = setting.partition("=")
            if not sep:
                raise FrameworkError(f"'{setting}' should look like NAME=VALUE")
            overrides[name.strip()] = coerce_override_value(value)
        changed = with_overrides(load_framework(framework_id, store), overrides)
        saved = save_version(store, changed, by)
    except FrameworkError as exc:
        raise click.UsageError(str(exc)) from exc
    finally:
        store.close()
    click.echo(f"saved {saved.id} version {saved.version}")


@framework.command("versions")
@DB_OPTION
@click.argument("framework_id")
def framework_versions(db_path: str, framework_id: str) -> None:
    """Every version of a framework: the shipped file's and each saved one, with who saved it."""
    store = _open(db_path)
    try:
        saved = {v: (who, when) for v, who, when in saved_versions(store, framework_id)}
        found = versions(store, framework_id)
    finally:
        store.close()
    if not found:
        raise click.UsageError(f"no framework '{framework_id}'")
    for v in found:
        who, when = saved.get(v, ("shipped file", None))
        click.echo(f"v{v:<3} {who}" + (f" on {when:%d %b %Y %H:%M}" if when else "") + (
            "  (judged by)" if v == found[-1] else ""))


@framework.command("revert")
@DB_OPTION
@click.argument("framework_id")
@click.option("--to", "version", type=int, required=True, help="The version to make current again.")
@click.option("--by", required=True, help="Who made the change (recorded).")
def framework_revert(db_path: str, framework_id: str, version: int, by: str) -> None:
    """Judge by an old version again, by saving it as the newest (no version is deleted)."""
    store = _open(db_path)
    try:
        saved = revert_to(store, framework_id, version, by)
    finally:
        store.close()
    click.echo(f"saved {saved.id} version {saved.version} (a copy of version {version})")


@main.group()
def report() -> None:
    """Printable PDF reports: a school's report for governors, the funder's annual report."""


def _framework_or_usage(store: Store, framework_id: str):
    try:
        return load_framework(framework_id, store)
    except FrameworkError as exc:
        raise click.UsageError(str(exc)) from exc


@report.command("school")
@DB_OPTION
@click.option("--school", "school_id", required=True)
@click.option("--year", required=True, callback=_academic_year, help="Academic year, e.g. 2019/20.")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="The .pdf to write.")
@click.option("--framework", "framework_id", default=DEFAULT_FRAMEWORK, show_default=True)
@click.option("--through-term", type=click.Choice(schema.TERMS), help="Show the year to the end of this term.")
@click.option("--by", default="cli", show_default=True, help="Who generated it (printed on the report).")
def report_school(db_path: str, school_id: str, year: str, out: str, framework_id: str, through_term: str | None,
                  by: str) -> None:
    """A school's report: KPIs, termly progress, aspect coverage, teachers' status, next steps."""
    from qa import reports

    store = _open(db_path)
    try:
        pdf = reports.school_report_pdf(store, Viewer("evaluator", email=by), school_id,
                                        _framework_or_usage(store, framework_id), year, by,
                                        through_term=through_term)
    finally:
        store.close()
    _write(out, pdf)
    click.echo(f"wrote {out} ({len(pdf) / 1024:.0f} KB)")


@report.command("funder")
@DB_OPTION
@click.option("--year", required=True, callback=_academic_year, help="Academic year, e.g. 2019/20.")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="The .pdf to write.")
@click.option("--framework", "framework_id", default=DEFAULT_FRAMEWORK, show_default=True)
@click.option("--through-term", type=click.Choice(schema.TERMS), help="Show the year to the end of this term.")
@click.option("--by", default="cli", show_default=True, help="Who generated it (printed on the report).")
def report_funder(db_path: str, year: str, out: str, framework_id: str, through_term: str | None, by: str) -> None:
    """The funder's annual report: programme KPIs, the two headline figures, trend, provider levels."""
    from qa import reports

    store = _open(db_path)
    try:
        pdf = reports.funder_report_pdf(store, Viewer("funder", email=by), _framework_or_usage(store, framework_id),
                                        year, by, through_term=through_term)
    finally:
        store.close()
    _write(out, pdf)
    click.echo(f"wrote {out} ({len(pdf) / 1024:.0f} KB)")


@main.command("export")
@DB_OPTION
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="The .xlsx to write.")
@click.option("--year", callback=_academic_year, help="Academic year (default: every year).")
@click.option("--framework", "framework_id", default=DEFAULT_FRAMEWORK, show_default=True)
@click.option("--through-term", type=click.Choice(schema.TERMS), help="Show the year to the end of this term.")
@click.option("--by", default="cli", show_default=True, help="Who generated it (recorded with the runs).")
def export(db_path: str, out: str, year: str | None, framework_id: str, through_term: str | None, by: str) -> None:
    """A whole assessment as XLSX: one sheet per level, the framework's rules and the run metadata."""
    from qa import reports

    store = _open(db_path)
    try:
        data = reports.assessment_xlsx(store, Viewer("evaluator", email=by), _framework_or_usage(store, framework_id),
                                       year, by, through_term=through_term)
        audit.record(store, by, "export", f"{Path(out).name}: whole assessment")
    finally:
        store.close()
    _write(out, data)
    click.echo(f"wrote {out}")


@main.group()
def user() -> None:
    """Accounts: which signed-in e-mail address has which role."""


@user.command("add")
@DB_OPTION
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--school", "school_id", help="The school of a CPD champion.")
@click.option("--by", required=True, help="Who is making the change (recorded in the audit log).")
def user_add(db_path: str, email: str, role: str, school_id: str | None, by: str) -> None:
    """Add an account, or change an existing one's role or school."""
    store = _open(db_path)
    try:
        accounts.add_account(store, email, role, school_id, by)
        known = school_id is None or school_id in set(store.schools()["school_id"])
    except accounts.AccountError as exc:
        raise click.UsageError(str(exc)) from exc
    finally:
        store.close()
    click.echo(f"{accounts.normalise_email(email)}: {role}" + (f" of school {school_id}" if school_id else ""))
    if not known:
        click.echo(f"note: no school {school_id} has returns or a Schools row yet", err=True)


@user.command("remove")
@DB_OPTION
@click.argument("email")
@click.option("--by", required=True, help="Who is making the change (recorded in the audit log).")
def user_remove(db_path: str, email: str, by: str) -> None:
    """Remove an account: that person then sees no data."""
    store = _open(db_path)
    try:
        accounts.remove_account(store, email, by)
    except accounts.AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        store.close()
    click.echo(f"removed {accounts.normalise_email(email)}")


@user.command("list")
@DB_OPTION
def user_list(db_path: str) -> None:
    """Every account with its role and school."""
    store = _open(db_path)
    frame = accounts.list_accounts(store)
    store.close()
    click.echo("no accounts yet" if frame.empty else frame.to_string(index=False))


@main.command("audit")
@DB_OPTION
@click.option("--limit", type=int, default=50, show_default=True)
@TABLE_FORMAT
def audit_log(db_path: str, limit: int, fmt: str) -> None:
    """The audit log, newest first: sign-ins, uploads, undo, replacements, edits, accounts, exports."""
    store = _open(db_path)
    frame = audit.events(store, Viewer("evaluator", email="cli"), limit)
    store.close()
    _echo_table(frame, fmt, "nothing recorded yet")


if __name__ == "__main__":
    main()
