"""Termly spreadsheets into the store: read as text, validate explicitly, write atomically.

One file is one upload and one transaction. A file is rejected whole (nothing
written) when it cannot be read, has no recognised sheet, or misses a required
column; otherwise its valid rows are committed and each invalid row goes to the
quarantine table with the sheet, Excel row, column, value and a plain reason.
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from qa import schema, validate
from qa.reader import (  # noqa: F401 - the reader's names are part of this module's interface
    DEFAULT_LIMITS,
    EXCEL_SUFFIXES,
    SUPPORTED_SUFFIXES,
    FileRejected,
    Issue,
    Limits,
    RawSheet,
    check_zip_limits,
    expand_archive,
    gc_paused,
    read_sheets,
)
from qa.store import Store

HEADER_SEARCH_ROWS = 30
MIN_ACTIVITY_HEADERS = 4

Progress = Callable[[str, int, int, str], None]
"""progress(stage, done, total, file_name); stages: 'read', 'validate', 'write', 'done'."""


@dataclass
class FileReport:
    file_name: str
    status: str = "pending"  # then accepted | needs_replace | duplicate | rejected (qa.returns.OUTCOME_WORDS)
    committed: bool = False
    upload_id: int | None = None
    rows_accepted: int = 0
    rows_quarantined: int = 0
    reference_rows: dict[str, int] = field(default_factory=dict)
    school_terms: list[tuple[str, str, str]] = field(default_factory=list)
    replaced_uploads: list[int] = field(default_factory=list)
    reference_changes: list[str] = field(default_factory=list)  # outside the file's own school(s)
    reference_changes_applied: bool = False
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    def copy(self) -> FileReport:
        """A copy whose lists and counts change without touching this one: a batch copies each file's
        report once or twice, and issues are never changed in place, so their lists are copied, not them."""
        return replace(self, **{f.name: copy.copy(getattr(self, f.name)) for f in fields(self)
                                if isinstance(getattr(self, f.name), list | dict)})


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------- sheet detection

@dataclass
class DetectedSheet:
    kind: str  # activities | schools | teachers | providers | programmes | attestations
    name: str
    header_row: int  # Excel row number
    columns: dict[int, str]  # cell position -> canonical name
    extra: list[str]
    cells: pa.Table  # encoded cells of the body (qa.validate.cells_table) with source_sheet, source_row
    headers: dict[int, str] = field(default_factory=dict)  # cell position -> the file's own header text
    notes: list[str] = field(default_factory=list)

    def mapping_note(self) -> str:
        """Which header of the file fed each field, in the file's own words."""
        return f"Sheet '{self.name}': " + "; ".join(
            f"'{self.headers[p]}' read as {schema.column_label(n)}" for p, n in sorted(self.columns.items()))


def _match_row(row: list[object], index: dict[str, str], clashes: list[str] | None = None) -> dict[int, str]:
    """Cell position -> field for a header row. When two headers could feed one field the specific one
    wins over a vague one ('Duration (hours)' over 'Time'), else the first; `clashes` collects a sentence."""
    found: dict[str, tuple[int, str]] = {}
    for pos, cell in enumerate(row):
        if not isinstance(cell, str) or _blank(cell):
            continue
        key = schema.normalise_header(cell)
        name = index.get(key)
        if not name:
            continue
        if name in found:
            earlier_pos, earlier_key = found[name]
            better = earlier_key in schema.VAGUE_HEADERS and key not in schema.VAGUE_HEADERS
            kept, dropped = (cell, row[earlier_pos]) if better else (row[earlier_pos], cell)
            if clashes is not None:
                clashes.append(f"Both '{str(kept).strip()}' and '{str(dropped).strip()}' could be the "
                               f"{schema.column_label(name).lower()}; used '{str(kept).strip()}'")
            if not better:
                continue
        found[name] = (pos, key)
    return {pos: name for name, (pos, _) in found.items()}


def detect_sheet(sheet: RawSheet) -> DetectedSheet | None:
    """Find the header row (it may sit below a title block) and the sheet's kind."""
    for i, row in enumerate(sheet.rows[:HEADER_SEARCH_ROWS]):
        row, i = _under_group_headings(sheet.rows, i)
        activity = _match_row(row, schema.ACTIVITY_HEADER_INDEX)
        kind, columns = None, {}
        for ref_kind, signature in schema.REFERENCE_SIGNATURES.items():
            ref = _match_row(row, schema.REFERENCE_HEADER_INDEX[ref_kind])
            if set(signature) <= set(ref.values()) and len(ref) > len(columns):
                kind, columns = ref_kind, ref
        if len(activity) >= MIN_ACTIVITY_HEADERS and len(activity) >= len(columns):
            kind, columns = "activities", activity
        if kind is None:
            continue
        clashes: list[str] = []
        _match_row(row, schema.ACTIVITY_HEADER_INDEX if kind == "activities"
                   else schema.REFERENCE_HEADER_INDEX[kind], clashes)
        extra = [str(c).strip() for p, c in enumerate(row)
                 if p not in columns and c is not None and str(c).strip()]
        # the rows below the header as one grid of cell objects, whose columns are views (built once)
        body = sheet.rows[i + 1:]
        grid = np.array(body, dtype=object) if body else np.empty((0, len(row)), object)
        segments = [(i, columns)]
        if kind == "activities":
            segments += _repeated_headers(sheet, grid, i, columns)
        names = [c.name for c in schema.sheet_columns(kind)]
        tables = []
        for n, (start, mapping) in enumerate(segments):
            end = segments[n + 1][0] if n + 1 < len(segments) else len(sheet.rows)
            tables.append(_segment_cells(sheet, grid[start - i:end - i - 1], start + 1, end, mapping, names,
                                         {name: str(sheet.rows[start][p]).strip() for p, name in mapping.items()}))
            if n:
                clashes.append(f"Sheet '{sheet.name}': the header row repeats at row {sheet.row_number(start)}; "
                               f"the rows below it were read by its own column order")
        cells = tables[0] if len(tables) == 1 else pa.concat_tables(tables)
        headers = {p: str(row[p]).strip() for p in columns}
        return DetectedSheet(kind, sheet.name, sheet.row_number(i), columns, extra, cells, headers, clashes)
    return None


def _blank(cell: object) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _under_group_headings(rows: list[list[object]], i: int) -> tuple[list[object], int]:
    """Row i as the header row, or, when group headings sit above the columns' own headers ('DfE aspects'
    merged over four columns, their headers on the row below), the two rows read as one, placed at the lower.

    The row below is taken only when it names columns the row above does not and is blank under every
    column the row above names: a data row, or a row of notes, fills the columns above it."""
    top = rows[i]
    if i + 1 >= len(rows):
        return top, i
    below = rows[i + 1]
    above_named = _match_row(top, schema.ACTIVITY_HEADER_INDEX)
    below_named = _match_row(below, schema.ACTIVITY_HEADER_INDEX)
    if (not above_named or not below_named or set(above_named.values()) & set(below_named.values())
            or any(p < len(below) and not _blank(below[p]) for p in above_named)):
        return top, i
    width = max(len(top), len(below))
    return [below[p] if p in below_named else (top[p] if p < len(top) else None) for p in range(width)], i + 1


def _segment_cells(sheet: RawSheet, grid: np.ndarray, start: int, end: int, columns: dict[int, str],
                   names: list[str], headers: dict[str, str]) -> pa.Table:
    """Encoded cells of rows start..end-1 of a sheet (`grid`: those rows), read by one header row's columns
    (`headers`: their text). The grid's columns are views: a tenth of the time of a list per column."""
    numbers = (np.arange(start + 1, end + 1) if sheet.row_numbers is None  # Excel row numbers
               else sheet.row_numbers[start:end])
    return validate.cells_table(
        {name: grid[:, pos] for pos, name in columns.items()}, names, len(grid),
        {"source_sheet": pa.array([sheet.name] * len(grid), pa.string()),
         "source_row": pa.array(numbers, pa.int64())}, headers=headers)


def _is_header_text(cell: object) -> bool:
    return isinstance(cell, str) and schema.normalise_header(cell) in schema.ACTIVITY_HEADER_INDEX


def _repeated_headers(sheet: RawSheet, grid: np.ndarray, header: int, columns: dict[int, str]
                      ) -> list[tuple[int, dict[int, str]]]:
    """Header rows repeated further down (a second table pasted below the first), each with its own columns;
    `grid`: the rows below the header row `header`.

    Only rows whose cells under two of the first header's columns are header words are looked at closely;
    each distinct cell of the first of those columns is looked up once, so a long sheet costs a set test a row.
    """
    probes = sorted(columns)[:2]
    if len(probes) < 2:
        return []
    first = grid[:, probes[0]]
    words = {v for v in set(first) if _is_header_text(v)}  # each distinct cell looked up once
    if not words:
        return []
    found = []
    for j in (header + 1 + k for k, v in enumerate(first) if v in words):
        row = sheet.rows[j]
        if _is_header_text(row[probes[1]]):
            mapping = _match_row(row, schema.ACTIVITY_HEADER_INDEX)
            if len(mapping) >= MIN_ACTIVITY_HEADERS:
                found.append((j, mapping))
    return found


# --------------------------------------------------------------------------- validation

COVER_COLUMNS = ("school_id", "academic_year", "term", "teacher_id")


@dataclass
class Validated:
    accepted: pa.Table  # canonical columns, parsed
    quarantined: pd.DataFrame  # _rid, _file, sheet, row_number, column_name, value, reason, raw_row
    warnings: pd.DataFrame  # _rid, _file, sheet, row_number, column_name, value, message
    _covered: list[tuple[str, str, str, str]] | None = field(default=None, repr=False, compare=False)

    def covered(self) -> list[tuple[str, str, str, str]]:
        """The distinct (school, academic year, term, teacher) of the accepted rows, in order of first
        appearance; found once per file (the batch checks, the report and the commit all ask)."""
        if self._covered is None:
            keys = self.accepted.select(COVER_COLUMNS)
            if keys.num_rows > 5_000:  # a big return: Arrow's hash aggregate first (a small one: its fixed cost)
                keys = keys.group_by(list(COVER_COLUMNS), use_threads=False).aggregate([])
            self._covered = list(dict.fromkeys(zip(*(keys[c].to_pylist() for c in COVER_COLUMNS), strict=True)))
        return self._covered


# --------------------------------------------------------------------------- the upload

@dataclass
class Prepared:
    """A file read and checked for shape, its activity rows not yet validated."""

    report: FileReport
    digest: str = ""
    activities: pa.Table | None = None  # encoded cells of every activity sheet
    references: dict[str, pd.DataFrame] = field(default_factory=dict)


DATE_ORDERS = schema.DATE_ORDERS
_NUMERIC_DATE = re.compile(r"^\s*(\d{1,2})[/-](\d{1,2})[/-](\d{2}|\d{4})\s*$")


def decide_date_order(texts: Iterable[str], setting: str | None = None) -> tuple[bool, str | None]:
    """(month first?, a sentence for the report) for one file's typed dates such as 04/09/2020.

    The file's own dates decide: a first part over 12 can only be a day, a second part over 12 can
    only be a day too. When every date could be read either way the setting decides (day first, the
    UK order, unless it says month-first). One order for the whole file, never a mix.
    """
    day_only: list[str] = []
    month_only: list[str] = []
    numeric = 0
    for text in texts:
        m = _NUMERIC_DATE.match(text)
        if not m:
            continue
        numeric += 1
        first, second = int(m.group(1)), int(m.group(2))
        if first > 12 >= second:
            day_only.append(text.strip())
        elif second > 12 >= first:
            month_only.append(text.strip())
    if not numeric:
        return setting == "month-first", None
    if day_only and not month_only:
        return False, f"Dates read day first: '{day_only[0]}' can only be day first"
    if month_only and not day_only:
        return True, f"Dates read month first (US order): '{month_only[0]}' can only be month first"
    if day_only and month_only:
        month_first = len(month_only) > len(day_only)
        return month_first, (
            f"This file mixes day-first dates ('{day_only[0]}') and month-first dates ('{month_only[0]}'); "
            f"all were read {'month' if month_first else 'day'} first, as most are, and the rows that do not "
            f"make sense that way were set aside")
    if setting == "month-first":
        return True, "Every date in this file could be read either way (like 04/09/2020); read month first " \
                     "(US order), as the date-order setting says"
    return False, "Every date in this file could be read either way (like 04/09/2020); read day first " \
                  "(UK order), the default; choose month first in the date-order setting for a US file"


def _with_date_order(cells: pa.Table, setting: str | None, report: FileReport) -> pa.Table:
    typed = pc.and_(cells["activity_date" + validate.DAY].is_null(), cells["activity_date" + validate.NUM].is_null())
    texts = pc.unique(cells["activity_date"].filter(typed)).to_pylist()
    month_first, note = decide_date_order((t for t in texts if t), setting)
    if note:
        report.notes.append(note)
    column = cells.schema.get_field_index(validate.MONTH_FIRST)
    return cells.set_column(column, validate.MONTH_FIRST, pa.array(np.full(cells.num_rows, month_first)))


def prepare(name: str, data: bytes, *, school: str | None = None, limits: Limits = DEFAULT_LIMITS,
            date_order: str | None = None) -> Prepared:
    """Read a file, find its sheets and check its columns; a bad file is marked rejected.

    `date_order` ('day-first' or 'month-first') settles dates that the file itself leaves ambiguous.
    """
    with gc_paused():  # its cells as Python objects live only inside this call
        return _prepare(name, data, school=school, limits=limits, date_order=date_order)


def _prepare(name: str, data: bytes, *, school: str | None, limits: Limits, date_order: str | None) -> Prepared:
    prepared = Prepared(FileReport(file_name=name))
    report = prepared.report
    try:
        if len(data) > limits.max_file_bytes:
            raise FileRejected(f"{name} is {len(data) / 1e6:.1f} MB, over the limit of "
                               f"{limits.max_file_bytes / 1e6:.0f} MB")
        prepared.digest = sha256_of(data)
        sheets = read_sheets(name, data, limits)
        detected: list[DetectedSheet] = []
        for sheet in sheets:
            report.notes.extend(sheet.notes)
            found = detect_sheet(sheet)
            if found is None:
                if any(any(str(c).strip() for c in row) for row in sheet.rows):
                    report.notes.append(f"Sheet '{sheet.name}' skipped: no recognised header row "
                                        f"in its first {HEADER_SEARCH_ROWS} rows")
                continue
            report.notes.extend(found.notes)
            if found.kind == "activities":
                report.notes.append(found.mapping_note())
            if found.extra:
                report.notes.append(f"Sheet '{sheet.name}': extra columns kept aside, not imported: "
                                    + ", ".join(f"'{c}'" for c in found.extra))
            detected.append(found)
        if not detected:
            headers = [str(c).strip() for s in sheets for row in s.rows[:5] for c in row
                       if str(c).strip() and not _matched(c)]
            everything = [c.name for c in schema.ACTIVITY_COLUMNS]
            hint = "; ".join(f"'{h}' (did you mean {' or '.join(_might_be(h, everything))}?)"
                             for h in headers[:12] if _might_be(h, everything))
            raise FileRejected(
                f"{name}: no sheet has a recognised header row (need columns such as "
                f"{', '.join(map(schema.column_label, schema.REQUIRED_ACTIVITY_COLUMNS))})"
                + (f". Headers found: {hint}" if hint else ""))

        activity_sheets = []
        required = set(schema.REQUIRED_ACTIVITY_COLUMNS) - ({"school_id"} if school else set())
        complete = [f for f in detected if f.kind == "activities" and required <= set(f.columns.values())]
        for found in detected:
            if complete and found.kind == "activities" and found not in complete:
                report.notes.append(f"Sheet '{found.name}' skipped: it looks like a helper sheet (a summary or "
                                    f"notes), not a log of activities")
                continue
            if found.kind != "activities":
                rows, issues = validate.validate_reference(found.kind, _numbered(found.cells))
                report.errors.extend(_issue_list(issues, "message"))
                if found.kind == "providers":
                    rows["provider_key"] = rows["provider"].map(schema.normalise_provider_key)
                earlier = prepared.references.get(found.kind)
                prepared.references[found.kind] = rows if earlier is None else pd.concat(
                    [earlier, rows], ignore_index=True)
                report.reference_rows[found.kind] = len(prepared.references[found.kind])
                continue
            missing = sorted(required - set(found.columns.values()))
            if missing:
                suggestions = "; ".join(f"'{h}' might be {' or '.join(_might_be(h, missing))}"
                                        for h in found.extra if _might_be(h, missing))
                raise FileRejected(
                    f"Sheet '{found.name}' is missing required column(s): "
                    f"{', '.join(schema.column_label(m) for m in missing)}. "
                    f"Headers found: {', '.join(repr(found.headers[p]) for p in sorted(found.headers))}"
                    + (f", {', '.join(repr(h) for h in found.extra)}" if found.extra else "")
                    + (f". {suggestions}" if suggestions else "")
                    + ("" if "school_id" not in missing else ". Or give the school for the whole file."))
            if found.cells.num_rows:
                activity_sheets.append(found.cells)
        if activity_sheets:
            prepared.activities = _with_date_order(pa.concat_tables(activity_sheets), date_order, report)
    except FileRejected as exc:
        report.status = "rejected"
        report.errors = exc.issues + report.errors
    except Exception as exc:  # a reader bug must cost one file, never the batch or the server
        report.status = "rejected"
        report.errors = [Issue(f"{name} could not be read ({type(exc).__name__}: {exc}); save it again from the "
                               f"spreadsheet program and upload the new copy"), *report.errors]
    return prepared


def _matched(header: object) -> bool:
    """Is this header one the importer knows, as an activity column or a reference sheet's?"""
    return schema.match_header(header) is not None or any(
        schema.match_header(header, index) for index in schema.REFERENCE_HEADER_INDEX.values())


def _might_be(header: str, fields: Iterable[str]) -> list[str]:
    """Labels of the `fields` an unmatched header is spelt like (its name or a synonym), for a suggestion."""
    import difflib

    wanted = set(fields)
    keys = [k for k, name in schema.ACTIVITY_HEADER_INDEX.items() if name in wanted]
    close = difflib.get_close_matches(schema.normalise_header(header), keys, n=3, cutoff=0.8)  # not STEM->term
    return list(dict.fromkeys(schema.column_label(schema.ACTIVITY_HEADER_INDEX[k]) for k in close))


def _numbered(cells: pa.Table, file_number: int = 0, first_rid: int = 0) -> pa.Table:
    """Cells with the row ids (_rid) and file number (_file) that validation reports by."""
    n = cells.num_rows
    return cells.append_column("_rid", pa.array(np.arange(first_rid, first_rid + n), pa.int64())).append_column(
        "_file", pa.array(np.full(n, file_number), pa.int64()))


def _issue_list(frame: pd.DataFrame, text_column: str) -> list[Issue]:
    if frame.empty:  # most files of a batch: no pandas column lookups at all
        return []
    return [Issue(m, sh, int(r), c, v) for m, sh, r, c, v in zip(
        frame[text_column], frame["sheet"], frame["row_number"], frame["column_name"], frame["value"], strict=True)]


def school_register(store: Store) -> set[str]:
    """School codes of the Schools register: every school a Schools sheet has given (an empty set when none has)."""
    return {code for (code,) in store.query_rows("""
        SELECT DISTINCT v.school_id FROM schools_versions v LEFT JOIN uploads u ON u.upload_id = v.upload_id
        WHERE v.upload_id = 0 OR u.status = 'active'""")}


def validate_batch(prepared: list[Prepared], school: str | None = None,
                   register: set[str] | None = None) -> list[Validated | None]:
    """One SQL validation pass over every file's activity rows, split back per file.

    `register` (school_register): known school codes. With the Schools sheets of this batch's files
    added, a non-empty register sets aside rows of schools outside it; with none, any school is taken.
    """
    known = set(register or ())
    for p in prepared:
        schools = p.references.get("schools")
        if p.report.status != "rejected" and schools is not None:
            known.update(code for code in schools["school_id"] if code)
    tables, first_rid = [], 0
    for number, p in enumerate(prepared):
        if p.activities is not None and p.report.status != "rejected":
            tables.append(_numbered(p.activities, number, first_rid))
            first_rid += p.activities.num_rows
    if not tables:
        return [None] * len(prepared)
    # one contiguous chunk per column: DuckDB scans a thousand small files' chunks three times slower
    cells = pa.concat_tables(tables).combine_chunks()
    accepted, quarantined, warnings = validate.validate_activities(cells, school, known or None)
    # accepted rows come in row order, so each file's rows are one slice
    bounds = np.searchsorted(accepted["_file"].to_numpy(), np.arange(len(prepared) + 1))
    quarantined_by_file = dict(tuple(quarantined.groupby("_file")))
    warnings_by_file = dict(tuple(warnings.groupby("_file")))
    no_quarantine, no_warnings = quarantined.iloc[:0], warnings.iloc[:0]  # shared by the files without any
    return [Validated(accepted.slice(bounds[i], bounds[i + 1] - bounds[i]),
                      quarantined_by_file.get(i, no_quarantine), warnings_by_file.get(i, no_warnings))
            if p.activities is not None and p.report.status != "rejected" else None
            for i, p in enumerate(prepared)]


def ingest_bytes(store: Store, name: str, data: bytes, *, school: str | None = None,
                 replace: bool = False, dry_run: bool = False, strict: bool = False,
                 by: str = "cli", limits: Limits = DEFAULT_LIMITS, progress: Progress | None = None,
                 date_order: str | None = None, **options) -> FileReport:
    """Validate one file and, unless it is rejected or a dry run, commit it as one upload."""
    from qa.returns import commit

    prepared = prepare(name, data, school=school, limits=limits, date_order=date_order)
    [validated] = validate_batch([prepared], school, school_register(store))
    return commit(store, prepared, validated, replace=replace, dry_run=dry_run, strict=strict, by=by,
                  progress=progress, **options)


def expand_inputs(paths: Iterable[str | Path], limits: Limits = DEFAULT_LIMITS
                  ) -> list[tuple[str, bytes | FileRejected]]:
    """(name, bytes) for each file; .zip archives give one entry per spreadsheet inside.

    A file or zip member that cannot be opened comes back as (name, FileRejected).
    """
    items: list[tuple[str, bytes | FileRejected]] = []
    for path in map(Path, paths):
        try:
            items.extend(expand_archive(path.name, path.read_bytes(), limits))
        except FileRejected as exc:
            items.append((path.name, exc))
        except OSError as exc:
            items.append((path.name, FileRejected(f"{path.name} could not be opened ({exc.strerror or exc})")))
    return items


def rejected_report(name: str, exc: FileRejected) -> FileReport:
    report = FileReport(file_name=name, status="rejected")
    report.errors = exc.issues
    return report


def ingest_files(store: Store, paths: Iterable[str | Path], *, progress: Progress | None = None,
                 limits: Limits = DEFAULT_LIMITS, school: str | None = None, batch_rows: int = 200_000,
                 date_order: str | None = None, **options) -> list[FileReport]:
    """Ingest many files (and zips), one upload and transaction each; a bad file never blocks the others.

    Files are validated together in batches of about `batch_rows` rows (one vectorised
    pass amortises the per-call cost over many small returns), then committed one by one.
    """
    from qa.returns import BatchClaims, commit_batch, number_as_commit_would

    claims = BatchClaims()  # a file overlapping one of an earlier round of this call is caught too
    register = school_register(store)
    reports: list[FileReport] = []
    items = expand_inputs(paths, limits)
    done = 0
    while done < len(items):
        batch: list[Prepared] = []
        rows = 0
        while done + len(batch) < len(items) and (not batch or rows < batch_rows):
            name, data = items[done + len(batch)]
            if progress:
                progress("read", done + len(batch), len(items), name)
            if isinstance(data, FileRejected):
                batch.append(Prepared(rejected_report(name, data)))
            else:
                batch.append(prepare(name, data, school=school, limits=limits, date_order=date_order))
            rows += len(batch[-1].activities) if batch[-1].activities is not None else 0
        reports.extend(commit_batch(store, batch, validate_batch(batch, school, register), claims=claims, **options))
        register |= {code for p in batch if p.report.committed and p.references.get("schools") is not None
                     for code in p.references["schools"]["school_id"] if code}
        done += len(batch)
        if progress:
            progress("file", done, len(items), batch[-1].report.file_name)
    return number_as_commit_would(reports) if options.get("dry_run") else reports  # across rounds too


# --------------------------------------------------------------------------- history

# Committing, batches, history and undo live in qa.returns; these names stay importable from here.
_RETURNS_NAMES = {"commit", "commit_batch", "list_uploads", "undo_upload", "UndoError", "UndoSummary",
                  "OUTCOME_WORDS", "outcome_word"}


def __getattr__(name: str):
    if name in _RETURNS_NAMES:
        from qa import returns

        return getattr(returns, name)
    raise AttributeError(f"module 'qa.ingest' has no attribute '{name}'")
