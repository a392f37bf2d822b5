"""Termly spreadsheets into the store: read as text, validate explicitly, write atomically.

One file is one upload and one transaction. A file is rejected whole (nothing
written) when it cannot be read, has no recognised sheet, or misses a required
column; otherwise its valid rows are committed and each invalid row goes to the
quarantine table with the sheet, Excel row, column, value and a plain reason.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import python_calamine

from qa import audit, schema
from qa.store import Store, run

EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".ods", ".xlsb"}
SUPPORTED_SUFFIXES = EXCEL_SUFFIXES | {".csv"}
HEADER_SEARCH_ROWS = 30
MIN_ACTIVITY_HEADERS = 4
LONG_ACTIVITY_HOURS = 12

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
    status: str = "pending"  # then accepted | rejected | duplicate
    committed: bool = False
    upload_id: int | None = None
    rows_accepted: int = 0
    rows_quarantined: int = 0
    reference_rows: dict[str, int] = field(default_factory=dict)
    school_terms: list[tuple[str, str, str]] = field(default_factory=list)
    replaced_uploads: list[int] = field(default_factory=list)
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
    rows: list[list[object]]  # rows[i] is Excel row i + 1


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
        return [RawSheet(Path(name).stem, rows)]
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
    frame: pd.DataFrame  # canonical columns, object dtype, index = Excel row number


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
        wanted = list(columns)
        body = sheet.rows[i + 1:]
        width = max(len(r) for r in body) if body else 0
        if body and any(len(r) != width for r in body):  # CSV rows can be ragged
            body = [r + [""] * (width - len(r)) for r in body]
        frame = pd.DataFrame(body, dtype=object, columns=range(width)) if body else pd.DataFrame(columns=wanted)
        frame = frame.reindex(columns=wanted).rename(columns=columns)
        frame.index = pd.RangeIndex(i + 2, i + 2 + len(frame))  # Excel row numbers
        blank = frame.isna() | frame.isin([""])
        if blank.to_numpy().all(axis=1).any():  # rare whitespace-only rows are caught by validation
            frame = frame[~blank.all(axis=1)]
        return DetectedSheet(kind, sheet.name, i + 1, columns, extra, frame)
    return None


# --------------------------------------------------------------------------- validation

@dataclass
class Validated:
    accepted: pd.DataFrame
    quarantined: pd.DataFrame  # sheet, row_number, column_name, value, reason, raw_row
    warnings: pd.DataFrame  # sheet, row_number, column_name, value, message


def _cell_text(v: object) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    if isinstance(v, dt.datetime | dt.date):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


ISSUE_COLUMNS = ["_rid", "_file", "sheet", "row_number", "column_name", "value", "message"]


def _issues(frame: pd.DataFrame, column: str, messages: pd.Series, raw: pd.Series) -> pd.DataFrame:
    hit = messages.notna()
    if not hit.any():
        return pd.DataFrame(columns=ISSUE_COLUMNS)
    return pd.DataFrame({
        "_rid": frame.index[hit].to_numpy(),
        "_file": frame.loc[hit, "_file"].to_numpy(),
        "sheet": frame.loc[hit, "source_sheet"].to_numpy(),
        "row_number": frame.loc[hit, "source_row"].to_numpy(),
        "column_name": column,
        "value": raw[hit].map(_cell_text).to_numpy(),
        "message": messages[hit].astype(str).to_numpy(),
    })


def validate_activities(frame: pd.DataFrame, school: str | None = None) -> Validated:
    """Vectorised row validation of canonical activity columns (plus source_sheet/source_row).

    A batch of files can be validated in one pass: rows carry a `_file` number, and
    duplicates are only looked for within a file.
    """
    frame = frame.reset_index(drop=True)
    if "_file" not in frame:
        frame["_file"] = 0
    n = len(frame)
    errors: list[pd.DataFrame] = []
    warnings: list[pd.DataFrame] = []
    out = pd.DataFrame(index=frame.index)
    out["source_sheet"] = frame["source_sheet"]
    out["source_row"] = frame["source_row"]
    out["_file"] = frame["_file"]
    missing_text = "{} is missing"

    def raw(col: str) -> pd.Series:
        return frame[col] if col in frame else pd.Series([None] * n, index=frame.index, dtype=object)

    # identifiers and free text
    school_ids = schema.clean_text(raw("school_id"))
    if school:
        disagree = school_ids.notna() & school_ids.ne(school)
        message = ("School '" + school_ids.fillna("")
                   + f"' differs from the school this file was uploaded for ({school})")
        errors.append(_issues(frame, "school_id", message.where(disagree), raw("school_id")))
        school_ids = school_ids.fillna(school)
    out["school_id"] = school_ids
    for col, label in (("school_id", "School"), ("teacher_id", "Teacher ID"),
                       ("activity_title", "Activity title")):
        values = out[col] if col == "school_id" else schema.clean_text(raw(col))
        out[col] = values
        msg = pd.Series(np.where(values.isna(), missing_text.format(label), None), index=frame.index)
        errors.append(_issues(frame, col, msg.where(values.isna()), raw(col)))
    looks_like_name = out["teacher_id"].str.fullmatch(r"[A-Za-z][a-z]+(?: [A-Za-z][a-z'-]+)+").fillna(False)
    warnings.append(_issues(frame, "teacher_id", pd.Series(
        np.where(looks_like_name, "Teacher ID looks like a person's name; use a pseudonymous staff code",
                 None), index=frame.index).where(looks_like_name), raw("teacher_id")))
    for col in ("provider", "programme", "subject"):
        out[col] = schema.clean_text(raw(col))

    # date, year, term
    days, date_err = schema.parse_dates(raw("activity_date"))
    errors.append(_issues(frame, "activity_date", date_err, raw("activity_date")))
    out["activity_date"] = days
    year, term = schema.derive_year_and_term(days)
    for column, label, normalise, derived in (("academic_year", "Academic year", schema.normalise_academic_year, year),
                                              ("term", "Term", schema.normalise_term, term)):
        given = schema.map_unique(raw(column), normalise)
        given_text = schema.map_unique(raw(column), _cell_text, "str")
        disagrees = given_text.str.strip().ne("") & days.notna() & given.ne(derived).fillna(True)
        message = label + " '" + given_text + "' does not match the date; using " + derived.fillna("")
        warnings.append(_issues(frame, column, message.where(disagrees), raw(column)))
    out["academic_year"] = year
    out["term"] = term

    # activity type and hours
    types, type_err, type_warn = schema.parse_activity_type(raw("activity_type"))
    errors.append(_issues(frame, "activity_type", type_err, raw("activity_type")))
    warnings.append(_issues(frame, "activity_type", type_warn, raw("activity_type")))
    out["activity_type"] = types
    hours, hours_err = schema.parse_hours(raw("hours"))
    errors.append(_issues(frame, "hours", hours_err, raw("hours")))
    long = hours > LONG_ACTIVITY_HOURS
    warnings.append(_issues(frame, "hours", pd.Series(
        "More than " + str(LONG_ACTIVITY_HOURS) + " hours in one row (" + hours.round(2).astype(str)
        + "); please check it is one activity", index=frame.index).where(long), raw("hours")))
    out["hours"] = hours

    # yes/no flags: blanks count as "no" and are reported
    for col in ("subject_specific", "aligned_to_needs", *schema.DFE_ASPECTS):
        flags, flag_err, blank = schema.parse_yes_no(raw(col))
        errors.append(_issues(frame, col, flag_err, raw(col)))
        warnings.append(_issues(frame, col, pd.Series(
            np.where(blank, f"{col} is blank; counted as 'no'", None), index=frame.index).where(blank),
            raw(col)))
        out[col] = flags

    found = [e for e in errors if len(e)]
    all_errors = pd.concat(found, ignore_index=True) if found else pd.DataFrame(columns=ISSUE_COLUMNS)
    bad_rids = pd.unique(all_errors["_rid"])
    is_bad = out.index.isin(bad_rids)

    # duplicates inside one file (reported, both kept: two identical sessions can be real)
    good = out[~is_bad]
    dup_cols = ["_file", "school_id", "teacher_id", "activity_date", "activity_title", "hours"]
    dup = good.duplicated(dup_cols, keep="first")
    if dup.any():
        first_row = good.drop_duplicates(dup_cols).set_index(dup_cols)["source_row"]
        firsts = first_row.reindex(pd.MultiIndex.from_frame(good.loc[dup, dup_cols])).to_numpy()
        warnings.append(pd.DataFrame({
            "_rid": good.index[dup].to_numpy(),
            "_file": good.loc[dup, "_file"].to_numpy(),
            "sheet": good.loc[dup, "source_sheet"].to_numpy(),
            "row_number": good.loc[dup, "source_row"].to_numpy(),
            "column_name": None, "value": None,
            "message": [f"Same teacher, date, title and hours as row {r}; both kept" for r in firsts],
        }))

    raw_rows = frame[is_bad].drop(columns=["source_sheet", "source_row", "_file"]).map(_cell_text)
    raw_json = pd.Series([json.dumps(r, ensure_ascii=False) for r in raw_rows.to_dict("records")],
                         index=raw_rows.index, dtype=object)
    quarantined = all_errors.rename(columns={"message": "reason"})
    quarantined["raw_row"] = quarantined["_rid"].map(raw_json) if len(quarantined) else pd.Series(dtype=object)
    found_warnings = [w for w in warnings if len(w)]
    warning_frame = pd.concat(found_warnings, ignore_index=True) if found_warnings else pd.DataFrame(
        columns=ISSUE_COLUMNS)
    # warnings about rows that were quarantined anyway add nothing
    warning_frame = warning_frame[~warning_frame["_rid"].isin(bad_rids)]
    return Validated(out[~is_bad].reset_index(drop=True), quarantined, warning_frame)


def validate_reference(kind: str, frame: pd.DataFrame) -> tuple[pd.DataFrame, list[Issue]]:
    """Reference rows: keys required, dates, numbers and yes/no parsed; bad rows reported."""
    columns = schema.REFERENCE_SHEETS[kind]
    out = pd.DataFrame(index=frame.index)
    bad = pd.Series(False, index=frame.index)
    issues: list[Issue] = []
    sheet = frame["source_sheet"].iloc[0] if len(frame) else None

    def report(mask: pd.Series, col: str, message: str | pd.Series) -> None:
        for row in frame.index[mask]:
            text = message if isinstance(message, str) else message[row]
            issues.append(Issue(text, sheet, int(frame.at[row, "source_row"]), col,
                                _cell_text(frame.at[row, col]) if col in frame else None))

    for col in columns:
        values = frame[col.name] if col.name in frame else pd.Series(
            [None] * len(frame), index=frame.index, dtype=object)
        if col.kind in ("text",):
            parsed = schema.clean_text(values)
        elif col.kind == "date":
            parsed, err = schema.parse_dates(values)
            err = err.where(~schema._blank(values))
            report(err.notna(), col.name, err)
            bad |= err.notna()
        elif col.kind == "number":
            parsed = pd.to_numeric(values.where(~schema._blank(values)), errors="coerce")
            wrong = parsed.isna() & ~schema._blank(values)
            report(wrong, col.name, f"{col.name} must be a number")
            bad |= wrong
        elif col.kind == "yesno":
            parsed, err, blank = schema.parse_yes_no(values)
            report(err.notna(), col.name, err)
            bad |= err.notna()
            if col.required:
                report(blank, col.name, f"{col.name} is missing")
                bad |= blank
        elif col.kind == "year":
            parsed = values.map(schema.normalise_academic_year)
            wrong = parsed.isna()
            report(wrong, col.name, "Academic year must look like 2019/20")
            bad |= wrong
        else:  # pragma: no cover - every reference column kind is listed above
            raise ValueError(col.kind)
        if col.required and col.kind == "text":
            report(parsed.isna(), col.name, f"{col.name} is missing")
            bad |= parsed.isna()
        out[col.name] = parsed
    return out[~bad].reset_index(drop=True), issues


# --------------------------------------------------------------------------- the upload

def _insert_frame(cur, table: str, frame: pd.DataFrame, columns: list[str]) -> None:
    # DuckDB scans an Arrow table without converting it row by row
    frame = pa.Table.from_pandas(frame[columns], preserve_index=False)
    cur.register("incoming_frame", frame)
    try:
        cols = ", ".join(columns)
        run(cur, f"INSERT INTO {table} ({cols}) SELECT {cols} FROM incoming_frame")
    finally:
        cur.unregister("incoming_frame")


_UPSERTS = {
    "schools": ("school_id", ["school_id", "name", "phase", "type", "local_authority", "consent_to_name"]),
    "teachers": ("school_id, teacher_id", ["school_id", "teacher_id", "role", "career_stage", "fte"]),
    "attestations": ("school_id, academic_year", ["school_id", "academic_year", "leadership_prioritised"]),
    "programmes": ("programme", ["programme", "provider", "accrediting_body", "valid_from", "valid_to",
                                 "min_hours", "min_terms", "recognition_title"]),
    "providers": ("provider_key", ["provider_key", "provider", "provider_type", "quality_mark",
                                   "quality_mark_level", "awarded_on", "expires_on"]),
}


def _upsert(cur, kind: str, frame: pd.DataFrame) -> None:
    key, columns = _UPSERTS[kind]
    frame = frame.reindex(columns=columns)
    if "min_terms" in frame:
        frame["min_terms"] = frame["min_terms"].astype("Int64")
    frame = frame.drop_duplicates([k.strip() for k in key.split(",")], keep="last")
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in key)
    cur.register("incoming_frame", frame)
    try:
        run(cur, f"""INSERT INTO {kind} ({", ".join(columns)})
                        SELECT {", ".join(columns)} FROM incoming_frame
                        ON CONFLICT ({key}) DO UPDATE SET {updates}""")
    finally:
        cur.unregister("incoming_frame")


def _record_provider_aliases(cur, names: pd.Series) -> None:
    names = names.dropna().drop_duplicates()
    if names.empty:
        return
    aliases = pd.DataFrame({"alias": names.str.strip().str.lower(),
                            "provider_key": names.map(schema.normalise_provider_key)}).dropna()
    aliases = aliases.drop_duplicates("alias")
    cur.register("incoming_aliases", aliases)
    try:
        run(cur, """INSERT INTO provider_aliases SELECT alias, provider_key FROM incoming_aliases
                       ON CONFLICT (alias) DO NOTHING""")
    finally:
        cur.unregister("incoming_aliases")


def _term_label(key: tuple[str, str, str]) -> str:
    return f"school {key[0]}, {key[2]} {key[1]}"


ACTIVITY_INSERT_COLUMNS = [
    "activity_id", "upload_id", "school_id", "teacher_id", "activity_date", "academic_year", "term",
    "activity_title", "activity_type", "hours", "provider", "provider_key", "programme",
    "subject_specific", "subject", "aligned_to_needs", "pupil_outcomes", "evidence_based",
    "collaboration", "sustained", "source_sheet", "source_row",
]


@dataclass
class Prepared:
    """A file read and checked for shape, its activity rows not yet validated."""

    report: FileReport
    digest: str = ""
    activities: pd.DataFrame | None = None
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

        activity_frames = []
        for found in detected:
            frame = found.frame.copy()
            frame["source_sheet"] = found.name
            frame["source_row"] = frame.index.astype("int64")
            if found.kind != "activities":
                rows, issues = validate_reference(found.kind, frame)
                report.errors.extend(issues)
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
            if len(frame):
                activity_frames.append(frame)
        if activity_frames:
            prepared.activities = pd.concat(activity_frames, ignore_index=True)
    except FileRejected as exc:
        report.status = "rejected"
        report.errors = exc.issues + report.errors
    return prepared


def _issue_list(frame: pd.DataFrame, text_column: str) -> list[Issue]:
    return [Issue(m, sh, int(r), c, v) for m, sh, r, c, v in zip(
        frame[text_column], frame["sheet"], frame["row_number"], frame["column_name"], frame["value"], strict=True)]


def commit(store: Store, prepared: Prepared, validated: Validated | None, *, replace: bool = False,
           dry_run: bool = False, strict: bool = False, by: str = "cli",
           progress: Progress | None = None) -> FileReport:
    """Write one prepared, validated file as one upload in one transaction (or reject it whole)."""
    report = prepared.report
    name = report.file_name
    if report.status == "rejected":
        return report
    try:
        if validated is not None:
            report.errors.extend(_issue_list(validated.quarantined, "reason"))
            report.warnings.extend(_issue_list(validated.warnings, "message"))
            report.rows_accepted = len(validated.accepted)
            report.rows_quarantined = int(validated.quarantined["_rid"].nunique())
            keys = validated.accepted[["school_id", "academic_year", "term"]].drop_duplicates()
            report.school_terms = sorted(map(tuple, keys.to_numpy().tolist()))
        if strict and report.errors:
            raise FileRejected(f"{name}: {len(report.errors)} problem(s) found and --strict is on", report.errors)
        if report.rows_accepted == 0 and not any(report.reference_rows.values()):
            raise FileRejected(f"{name}: no row could be accepted", report.errors)
        with store.transaction() as cur:
            previous = run(cur, "SELECT upload_id FROM uploads WHERE sha256 = ? AND status = 'active'",
                           [prepared.digest])
            if previous:
                report.status = "duplicate"
                report.upload_id = previous[0][0]
                report.notes.append(f"Already uploaded as upload #{previous[0][0]}; nothing changed")
                report.rows_accepted = report.rows_quarantined = 0
                report.errors, report.warnings = [], []
                return report
            upload_id = run(cur, "SELECT nextval('upload_seq')")[0][0]
            if report.rows_accepted:
                report.replaced_uploads = _supersede(cur, report, upload_id, replace)
            run(cur, "INSERT INTO uploads VALUES (?, ?, ?, ?, current_timestamp, ?, ?, ?, 'active')",
                [upload_id, name, prepared.digest, by, report.rows_accepted, report.rows_quarantined,
                 len(report.warnings)])
            if validated is not None:
                _write_rows(cur, validated, upload_id)
            for kind, rows in prepared.references.items():
                if len(rows):
                    _upsert(cur, kind, rows)
                if kind == "providers":
                    _record_provider_aliases(cur, rows["provider"])
            report.upload_id = upload_id
            report.status = "accepted"
            audit.record(cur, by, "replace" if report.replaced_uploads else "upload",
                         f"#{upload_id} {name}: {report.rows_accepted} rows accepted, "
                         f"{report.rows_quarantined} quarantined"
                         + (f"; replaces {', '.join(f'#{u}' for u in report.replaced_uploads)}"
                            if report.replaced_uploads else ""))
            if progress:
                progress("commit", 0, 1, name)
            if dry_run:
                raise _DryRun
        report.committed = True
    except _DryRun:
        report.notes.append("Dry run: checked against the database, nothing written")
    except FileRejected as exc:
        report.status = "rejected"
        report.committed = False
        report.upload_id = None
        report.errors = exc.issues + [i for i in report.errors if i not in exc.issues]
    return report


def _supersede(cur, report: FileReport, upload_id: int, replace: bool) -> list[int]:
    """Refuse, or with `replace` supersede, active rows for the same school, year and term."""
    keys = pd.DataFrame(report.school_terms, columns=["school_id", "academic_year", "term"])
    cur.register("incoming_keys", keys)
    try:
        clashes = run(cur, """
            SELECT DISTINCT a.school_id, a.academic_year, a.term, a.upload_id, u.file_name
            FROM active_activities a JOIN incoming_keys k USING (school_id, academic_year, term)
            JOIN uploads u ON u.upload_id = a.upload_id ORDER BY 1, 2, 3""")
        if clashes and not replace:
            raise FileRejected(
                f"{report.file_name} covers returns already uploaded: "
                + "; ".join(f"{_term_label(c[:3])} (upload #{c[3]}, {c[4]})" for c in clashes)
                + ". Upload it again with replace to supersede them (the old upload is kept in history).")
        if clashes:
            run(cur, """
                UPDATE activities SET superseded_by = ?
                WHERE superseded_by IS NULL
                  AND upload_id IN (SELECT upload_id FROM uploads WHERE status = 'active')
                  AND EXISTS (SELECT 1 FROM incoming_keys k WHERE k.school_id = activities.school_id
                      AND k.academic_year = activities.academic_year AND k.term = activities.term)""",
                [upload_id])
    finally:
        cur.unregister("incoming_keys")
    return sorted({c[3] for c in clashes})


def _write_rows(cur, validated: Validated, upload_id: int) -> None:
    accepted = validated.accepted
    if len(accepted):
        first_id = run(cur, "SELECT nextval('activity_seq')")[0][0]
        accepted = accepted.assign(
            upload_id=upload_id,
            activity_id=np.arange(first_id, first_id + len(accepted)),
            provider_key=schema.map_unique(accepted["provider"], schema.normalise_provider_key),
            activity_date=accepted["activity_date"].dt.date)
        _insert_frame(cur, "activities", accepted, ACTIVITY_INSERT_COLUMNS)
        # keep the sequence ahead of the ids assigned in bulk
        run(cur, f"SELECT setval('activity_seq', {first_id + len(accepted)})")
        _record_provider_aliases(cur, accepted["provider"])
    if len(validated.quarantined):
        _insert_frame(cur, "quarantine", validated.quarantined.assign(upload_id=upload_id),
                      ["upload_id", "sheet", "row_number", "column_name", "value", "reason", "raw_row"])
    if len(validated.warnings):
        _insert_frame(cur, "upload_warnings", validated.warnings.assign(upload_id=upload_id),
                      ["upload_id", "sheet", "row_number", "column_name", "value", "message"])


def _split(validated: Validated, file_number: int) -> Validated:
    return Validated(validated.accepted[validated.accepted["_file"] == file_number],
                     validated.quarantined[validated.quarantined["_file"] == file_number],
                     validated.warnings[validated.warnings["_file"] == file_number])


def validate_batch(prepared: list[Prepared], school: str | None = None) -> list[Validated | None]:
    """One vectorised validation pass over every file's activity rows, split back per file."""
    frames = [p.activities.assign(_file=i) for i, p in enumerate(prepared)
              if p.activities is not None and p.report.status != "rejected"]
    if not frames:
        return [None] * len(prepared)
    validated = validate_activities(pd.concat(frames, ignore_index=True), school)
    return [_split(validated, i) if p.activities is not None and p.report.status != "rejected" else None
            for i, p in enumerate(prepared)]


def ingest_bytes(store: Store, name: str, data: bytes, *, school: str | None = None,
                 replace: bool = False, dry_run: bool = False, strict: bool = False,
                 by: str = "cli", limits: Limits = Limits(), progress: Progress | None = None,
                 ) -> FileReport:
    """Validate one file and, unless it is rejected or a dry run, commit it as one upload."""
    prepared = prepare(name, data, school=school, limits=limits)
    [validated] = validate_batch([prepared], school)
    return commit(store, prepared, validated, replace=replace, dry_run=dry_run, strict=strict, by=by,
                  progress=progress)


class _DryRun(Exception):
    """Raised inside the transaction to roll a dry run back."""


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
        for prepared, validated in zip(batch, validate_batch(batch, school), strict=True):
            reports.append(commit(store, prepared, validated, **options))
            done += 1
            if progress:
                progress("file", done, len(items), prepared.report.file_name)
    return reports


# --------------------------------------------------------------------------- history

def list_uploads(store: Store) -> pd.DataFrame:
    return store.query_df("""
        SELECT u.upload_id, u.file_name, u.uploaded_by, u.uploaded_at, u.status, u.rows_accepted,
               u.rows_quarantined, u.warnings,
               (SELECT count(*) FROM activities a WHERE a.upload_id = u.upload_id
                  AND a.superseded_by IS NOT NULL) AS rows_superseded,
               (SELECT string_agg(DISTINCT CAST(a.superseded_by AS VARCHAR), ', ')
                  FROM activities a WHERE a.upload_id = u.upload_id) AS superseded_by
        FROM uploads u ORDER BY u.upload_id""")


class UndoError(ValueError):
    pass


def undo_upload(store: Store, upload_id: int, by: str = "cli") -> int:
    """Reverse an upload: its rows stop counting and any return it replaced counts again.

    Returns how many superseded rows were restored. Reference-sheet updates are
    not reversed (they describe schools and providers, not a term's return).
    """
    with store.transaction() as cur:
        row = cur.execute("SELECT status FROM uploads WHERE upload_id = ?", [upload_id]).fetchall()
        if not row:
            raise UndoError(f"There is no upload #{upload_id}")
        if row[0][0] != "active":
            raise UndoError(f"Upload #{upload_id} is already undone")
        run(cur, "UPDATE uploads SET status = 'undone' WHERE upload_id = ?", [upload_id])
        restored = cur.execute("SELECT count(*) FROM activities WHERE superseded_by = ?",
                               [upload_id]).fetchall()[0][0]
        run(cur, "UPDATE activities SET superseded_by = NULL WHERE superseded_by = ?", [upload_id])
        audit.record(cur, by, "undo", f"#{upload_id}" + (f"; {restored} replaced rows restored" if restored else ""))
    return restored
