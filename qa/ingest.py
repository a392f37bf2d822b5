"""Termly spreadsheets into the store: read as text, validate explicitly, write atomically.

One file is one upload and one transaction. A file is rejected whole (nothing
written) when it cannot be read, has no recognised sheet, or misses a required
column; otherwise its valid rows are committed and each invalid row goes to the
quarantine table with the sheet, Excel row, column, value and a plain reason.
"""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import python_calamine

from qa import schema, validate
from qa.store import Store

EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".ods", ".xlsb"}
SUPPORTED_SUFFIXES = EXCEL_SUFFIXES | {".csv"}
HEADER_SEARCH_ROWS = 30
MIN_ACTIVITY_HEADERS = 4

Progress = Callable[[str, int, int, str], None]
"""progress(stage, done, total, file_name); stages: 'read', 'validate', 'write', 'done'."""


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int = 50 * 1024 * 1024
    max_uncompressed_bytes: int = 500 * 1024 * 1024  # per xlsx/ods/zip, before it is opened
    max_compression_ratio: int = 200


@dataclass
class Issue:
    message: str
    sheet: str | None = None
    row: int | None = None
    column: str | None = None
    value: str | None = None

    def where(self) -> str:
        parts = [f"sheet '{self.sheet}'" if self.sheet else None,
                 f"row {self.row}" if self.row else None,
                 f"column {self.column}" if self.column else None]
        return ", ".join(p for p in parts if p)


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


class FileRejected(Exception):
    """The whole file cannot be accepted; nothing from it is written."""

    def __init__(self, message: str, issues: Iterable[Issue] = ()) -> None:
        super().__init__(message)
        self.issues = [Issue(message), *issues]


# --------------------------------------------------------------------------- reading

@dataclass
class RawSheet:
    name: str
    rows: list[list[object]]  # rows[i] is Excel row i + 1; every row has the same length


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_zip_limits(data: bytes, name: str, limits: Limits) -> None:
    """Refuse zip bombs before anything is decompressed (xlsx and ods are zips too)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            total = sum(i.file_size for i in zf.infolist())
    except zipfile.BadZipFile as exc:
        raise FileRejected(f"{name} is not a valid spreadsheet or zip file ({exc})") from exc
    if total > limits.max_uncompressed_bytes or total > max(len(data), 1) * limits.max_compression_ratio:
        raise FileRejected(
            f"{name} would unpack to {total / 1e6:.0f} MB, more than the limit of "
            f"{limits.max_uncompressed_bytes / 1e6:.0f} MB (or {limits.max_compression_ratio}x its size)")


def _decode_csv(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def read_sheets(name: str, data: bytes, limits: Limits = Limits()) -> list[RawSheet]:
    """All sheets of a workbook or CSV as raw cell values; formulas give their cached values."""
    suffix = Path(name).suffix.lower()
    if suffix == ".csv":
        text = _decode_csv(data)
        sample = text[:4096]
        try:
            dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
        except csv.Error:
            dialect = csv.excel
        rows = [list(r) for r in csv.reader(io.StringIO(text), dialect)]
        width = max(map(len, rows), default=0)
        return [RawSheet(Path(name).stem, [r + [""] * (width - len(r)) for r in rows])]  # CSV rows can be ragged
    if suffix not in EXCEL_SUFFIXES:
        raise FileRejected(f"{name}: files of type '{suffix or 'none'}' cannot be read; "
                           f"use .xlsx, .xlsm, .xls, .ods or .csv")
    if suffix in {".xlsx", ".xlsm", ".ods", ".xlsb"}:
        check_zip_limits(data, name, limits)
    try:
        book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheets = []
        for meta in book.sheets_metadata:
            sheet = book.get_sheet_by_name(meta.name)
            sheets.append(RawSheet(meta.name, sheet.to_python(skip_empty_area=False)))
        return sheets
    except Exception as exc:  # calamine raises several types for damaged files
        raise FileRejected(f"{name} could not be read as a spreadsheet ({exc})") from exc


# --------------------------------------------------------------------------- sheet detection

@dataclass
class DetectedSheet:
    kind: str  # activities | schools | teachers | providers | programmes | attestations
    name: str
    header_row: int  # Excel row number
    columns: dict[int, str]  # cell position -> canonical name
    extra: list[str]
    cells: pa.Table  # encoded cells of the body (qa.validate.cells_table) with source_sheet, source_row


def _match_row(row: list[object], index: dict[str, str]) -> dict[int, str]:
    found: dict[int, str] = {}
    for pos, cell in enumerate(row):
        if cell is None or str(cell).strip() == "":
            continue
        name = index.get(schema.normalise_header(cell))
        if name and name not in found.values():
            found[pos] = name
    return found


def detect_sheet(sheet: RawSheet) -> DetectedSheet | None:
    """Find the header row (it may sit below a title block) and the sheet's kind."""
    for i, row in enumerate(sheet.rows[:HEADER_SEARCH_ROWS]):
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
        extra = [str(c).strip() for p, c in enumerate(row)
                 if p not in columns and c is not None and str(c).strip()]
        body = sheet.rows[i + 1:]
        width = len(row)
        grid = np.empty((len(body), width), dtype=object)
        if body:
            grid[:] = body
        names = [c.name for c in schema.sheet_columns(kind)]
        cells = validate.cells_table(
            {name: grid[:, pos] for pos, name in columns.items()}, names, len(body),
            {"source_sheet": pa.array([sheet.name] * len(body), pa.string()),
             "source_row": pa.array(np.arange(i + 2, i + 2 + len(body)), pa.int64())})  # Excel row numbers
        return DetectedSheet(kind, sheet.name, i + 1, columns, extra, cells)
    return None


# --------------------------------------------------------------------------- validation

@dataclass
class Validated:
    accepted: pa.Table  # canonical columns, parsed
    quarantined: pd.DataFrame  # _rid, _file, sheet, row_number, column_name, value, reason, raw_row
    warnings: pd.DataFrame  # _rid, _file, sheet, row_number, column_name, value, message


# --------------------------------------------------------------------------- the upload

@dataclass
class Prepared:
    """A file read and checked for shape, its activity rows not yet validated."""

    report: FileReport
    digest: str = ""
    activities: pa.Table | None = None  # encoded cells of every activity sheet
    references: dict[str, pd.DataFrame] = field(default_factory=dict)


def prepare(name: str, data: bytes, *, school: str | None = None, limits: Limits = Limits()) -> Prepared:
    """Read a file, find its sheets and check its columns; a bad file is marked rejected."""
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
            found = detect_sheet(sheet)
            if found is None:
                if any(any(str(c).strip() for c in row) for row in sheet.rows):
                    report.notes.append(f"Sheet '{sheet.name}' skipped: no recognised header row "
                                        f"in its first {HEADER_SEARCH_ROWS} rows")
                continue
            if found.extra:
                report.notes.append(f"Sheet '{sheet.name}': extra columns kept aside, not imported: "
                                    + ", ".join(f"'{c}'" for c in found.extra))
            detected.append(found)
        if not detected:
            headers = [str(c).strip() for s in sheets for row in s.rows[:5] for c in row if str(c).strip()]
            hint = "; ".join(f"'{h}' (did you mean {' or '.join(schema.closest_names(h))}?)"
                             for h in headers[:12] if schema.closest_names(h))
            raise FileRejected(
                f"{name}: no sheet has a recognised header row (need columns such as "
                f"{', '.join(schema.REQUIRED_ACTIVITY_COLUMNS)})" + (f". Headers found: {hint}" if hint else ""))

        activity_sheets = []
        for found in detected:
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
            required = set(schema.REQUIRED_ACTIVITY_COLUMNS) - ({"school_id"} if school else set())
            missing = sorted(required - set(found.columns.values()))
            if missing:
                suggestions = "; ".join(f"'{h}' might be {' or '.join(schema.closest_names(h))}"
                                        for h in found.extra if schema.closest_names(h))
                raise FileRejected(
                    f"Sheet '{found.name}' is missing required column(s): {', '.join(missing)}. "
                    f"Headers found: {', '.join(repr(str(h)) for h in found.columns.values())}"
                    + (f", {', '.join(repr(h) for h in found.extra)}" if found.extra else "")
                    + (f". {suggestions}" if suggestions else "")
                    + ("" if "school_id" not in missing else ". Or give the school for the whole file."))
            if found.cells.num_rows:
                activity_sheets.append(found.cells)
        if activity_sheets:
            prepared.activities = pa.concat_tables(activity_sheets)
    except FileRejected as exc:
        report.status = "rejected"
        report.errors = exc.issues + report.errors
    return prepared


def _numbered(cells: pa.Table, file_number: int = 0, first_rid: int = 0) -> pa.Table:
    """Cells with the row ids (_rid) and file number (_file) that validation reports by."""
    n = cells.num_rows
    return cells.append_column("_rid", pa.array(np.arange(first_rid, first_rid + n), pa.int64())).append_column(
        "_file", pa.array(np.full(n, file_number), pa.int64()))


def _issue_list(frame: pd.DataFrame, text_column: str) -> list[Issue]:
    return [Issue(m, sh, int(r), c, v) for m, sh, r, c, v in zip(
        frame[text_column], frame["sheet"], frame["row_number"], frame["column_name"], frame["value"], strict=True)]


def validate_batch(prepared: list[Prepared], school: str | None = None) -> list[Validated | None]:
    """One SQL validation pass over every file's activity rows, split back per file."""
    tables, first_rid = [], 0
    for number, p in enumerate(prepared):
        if p.activities is not None and p.report.status != "rejected":
            tables.append(_numbered(p.activities, number, first_rid))
            first_rid += p.activities.num_rows
    if not tables:
        return [None] * len(prepared)
    accepted, quarantined, warnings = validate.validate_activities(pa.concat_tables(tables), school)
    # accepted rows come in row order, so each file's rows are one slice
    bounds = np.searchsorted(accepted["_file"].to_numpy(), np.arange(len(prepared) + 1))
    quarantined_by_file = dict(tuple(quarantined.groupby("_file")))
    warnings_by_file = dict(tuple(warnings.groupby("_file")))
    return [Validated(accepted.slice(bounds[i], bounds[i + 1] - bounds[i]),
                      quarantined_by_file.get(i, quarantined.iloc[:0]), warnings_by_file.get(i, warnings.iloc[:0]))
            if p.activities is not None and p.report.status != "rejected" else None
            for i, p in enumerate(prepared)]


def ingest_bytes(store: Store, name: str, data: bytes, *, school: str | None = None,
                 replace: bool = False, dry_run: bool = False, strict: bool = False,
                 by: str = "cli", limits: Limits = Limits(), progress: Progress | None = None,
                 **options) -> FileReport:
    """Validate one file and, unless it is rejected or a dry run, commit it as one upload."""
    from qa.returns import commit

    prepared = prepare(name, data, school=school, limits=limits)
    [validated] = validate_batch([prepared], school)
    return commit(store, prepared, validated, replace=replace, dry_run=dry_run, strict=strict, by=by,
                  progress=progress, **options)


def expand_archive(name: str, data: bytes, limits: Limits = Limits()) -> list[tuple[str, bytes]]:
    """(name, bytes) for a file, or for each spreadsheet inside a .zip (zip-bomb checked first)."""
    if not name.lower().endswith(".zip"):
        return [(name, data)]
    check_zip_limits(data, name, limits)
    items = []
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for info in sorted(zf.infolist(), key=lambda i: i.filename):
            member = Path(info.filename)
            if info.is_dir() or member.name.startswith((".", "~$")) or "__MACOSX" in member.parts:
                continue
            items.append((f"{name}/{info.filename}", zf.read(info)))
    return items


def expand_inputs(paths: Iterable[str | Path], limits: Limits = Limits()) -> list[tuple[str, bytes]]:
    """(name, bytes) for each file; .zip archives give one entry per spreadsheet inside."""
    return [item for path in map(Path, paths) for item in expand_archive(path.name, path.read_bytes(), limits)]


def ingest_files(store: Store, paths: Iterable[str | Path], *, progress: Progress | None = None,
                 limits: Limits = Limits(), school: str | None = None, batch_rows: int = 200_000,
                 **options) -> list[FileReport]:
    """Ingest many files (and zips), one upload and transaction each; a bad file never blocks the others.

    Files are validated together in batches of about `batch_rows` rows (one vectorised
    pass amortises the per-call cost over many small returns), then committed one by one.
    """
    from qa.returns import BatchClaims, commit_batch

    claims = BatchClaims()  # a file overlapping one of an earlier round of this call is caught too
    reports: list[FileReport] = []
    items: list[tuple[str, bytes]] = []
    for path in paths:
        try:
            items.extend(expand_inputs([path], limits))
        except (FileRejected, OSError) as exc:
            rejected = FileReport(file_name=Path(path).name, status="rejected")
            rejected.errors = exc.issues if isinstance(exc, FileRejected) else [Issue(str(exc))]
            reports.append(rejected)
    done = 0
    while done < len(items):
        batch: list[Prepared] = []
        rows = 0
        while done + len(batch) < len(items) and (not batch or rows < batch_rows):
            name, data = items[done + len(batch)]
            if progress:
                progress("read", done + len(batch), len(items), name)
            batch.append(prepare(name, data, school=school, limits=limits))
            rows += len(batch[-1].activities) if batch[-1].activities is not None else 0
        reports.extend(commit_batch(store, batch, validate_batch(batch, school), claims=claims, **options))
        done += len(batch)
        if progress:
            progress("file", done, len(items), batch[-1].report.file_name)
    return reports


# --------------------------------------------------------------------------- history

# Committing, batches, history and undo live in qa.returns; these names stay importable from here.
_RETURNS_NAMES = {"commit", "commit_batch", "list_uploads", "undo_upload", "UndoError", "UndoSummary",
                  "OUTCOME_WORDS", "outcome_word"}


def __getattr__(name: str):
    if name in _RETURNS_NAMES:
        from qa import returns

        return getattr(returns, name)
    raise AttributeError(f"module 'qa.ingest' has no attribute '{name}'")
