"""Returns in the store: what an upload covers, what replaces what, and undo.

The state of the store is a function of the active uploads, in upload order:
an activity row counts when its upload is active and no later active upload
covers its cell (school, academic year, term and teacher; a whole-school
correction covers every teacher of its school-terms). A reference row (school,
teacher, attestation, programme, provider) is the version written by the latest
active upload that wrote it. Commit and undo recompute exactly the cells and keys
they touch from that rule, so undoing any upload at any point of any chain leaves
the store as if that upload had never happened.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from qa import audit, schema
from qa.errors import CpdqaError
from qa.ingest import FileRejected, FileReport, Issue, Prepared, Progress, Validated, _issue_list
from qa.paging import PagedQuery
from qa.store import Store, run

# Outcome of one file, as people read it.
OUTCOME_WORDS = {"accepted": "accepted", "needs_replace": "needs Replace", "duplicate": "duplicate",
                 "rejected": "refused", "pending": "not checked"}

# kind -> (key columns, value columns); consent_to_name is never taken from an upload
REFERENCE: dict[str, tuple[list[str], list[str]]] = {
    "schools": (["school_id"], ["name", "phase", "type", "local_authority"]),
    "teachers": (["school_id", "teacher_id"], ["role", "career_stage", "fte"]),
    "attestations": (["school_id", "academic_year"], ["leadership_prioritised"]),
    "programmes": (["programme"], ["provider", "accrediting_body", "valid_from", "valid_to", "min_hours",
                                   "min_terms", "recognition_title"]),
    "providers": (["provider_key"], ["provider", "provider_type", "quality_mark", "quality_mark_level",
                                     "awarded_on", "expires_on"]),
}
SCHOOL_SCOPED = ("schools", "teachers", "attestations")
KIND_LABEL = {"schools": "School", "teachers": "Teacher", "attestations": "Attestation",
              "programmes": "Programme", "providers": "Provider"}

ACTIVITY_INSERT_COLUMNS = [
    "activity_id", "upload_id", "school_id", "teacher_id", "activity_date", "academic_year", "term",
    "activity_title", "activity_type", "hours", "provider", "provider_key", "programme",
    "subject_specific", "subject", "aligned_to_needs", "pupil_outcomes", "evidence_based",
    "collaboration", "sustained", "source_sheet", "source_row",
]


def outcome_word(report: FileReport) -> str:
    return OUTCOME_WORDS.get(report.status, report.status)


class _DryRun(Exception):
    """Raised inside the transaction to roll a check back."""


class _NeedsReplace(Exception):
    """The file covers returns that are already in; rolled back, nothing written."""


def _insert_frame(cur, table: str, frame: pd.DataFrame | pa.Table, columns: list[str]) -> None:
    # DuckDB scans an Arrow table without converting it row by row
    if isinstance(frame, pd.DataFrame):
        frame = pa.Table.from_pandas(frame[columns], preserve_index=False)
    cur.register("incoming_frame", frame.select(columns))
    try:
        cols = ", ".join(columns)
        run(cur, f"INSERT INTO {table} ({cols}) SELECT {cols} FROM incoming_frame")
    finally:
        cur.unregister("incoming_frame")


def _record_provider_aliases(cur, names: list[str | None], keys: list[str | None]) -> None:
    """Remember how each provider was typed (lower-cased) and the one provider key it stands for."""
    aliases = {name.strip().lower(): key for name, key in zip(names, keys, strict=True) if name and key}
    if not aliases:
        return
    cur.register("incoming_aliases", pa.table({"alias": list(aliases), "provider_key": list(aliases.values())}))
    try:
        run(cur, """INSERT INTO provider_aliases SELECT alias, provider_key FROM incoming_aliases
                       ON CONFLICT (alias) DO NOTHING""")
    finally:
        cur.unregister("incoming_aliases")


def _term_label(key: tuple[str, ...]) -> str:
    label = f"school {key[0]}, {key[2]} {key[1]}"
    return label + (f", teacher {key[3]}" if len(key) > 3 and key[3] is not None else "")


def _key_match(left: str, right: str, columns: list[str]) -> str:
    return " AND ".join(f"{left}.{c} = {right}.{c}" for c in columns)


_SAME_TERM = "s.school_id = {t}.school_id AND s.academic_year = {t}.academic_year AND s.term = {t}.term"
_COVERS = _SAME_TERM + " AND (s.teacher_id IS NULL OR s.teacher_id = {t}.teacher_id)"


def _resupersede(cur, upload_id: int) -> None:
    """Recompute which rows count in the school-terms an upload covers, from the rule above."""
    run(cur, f"""
        UPDATE activities SET superseded_by = (
            SELECT min(s.upload_id) FROM upload_scope s JOIN uploads u ON u.upload_id = s.upload_id
            WHERE u.status = 'active' AND s.upload_id > activities.upload_id
              AND {_COVERS.format(t="activities")})
        WHERE EXISTS (SELECT 1 FROM upload_scope s WHERE s.upload_id = ?
                      AND {_SAME_TERM.format(t="activities")})""", [upload_id])


def _materialise(cur, kind: str, upload_id: int) -> None:
    """Rebuild the current rows for every key an upload wrote: the latest active version wins."""
    keys, values = REFERENCE[kind]
    cols = keys + values
    touched = f"EXISTS (SELECT 1 FROM {kind}_versions t WHERE t.upload_id = ? AND {_key_match('t', 'x', keys)})"
    run(cur, f"DELETE FROM {kind} x WHERE {touched}", [upload_id])
    latest = f"""SELECT * EXCLUDE (rn) FROM (
            SELECT x.*, row_number() OVER (PARTITION BY {", ".join(f"x.{k}" for k in keys)}
                                           ORDER BY x.upload_id DESC) AS rn
            FROM {kind}_versions x LEFT JOIN uploads u ON u.upload_id = x.upload_id
            WHERE (x.upload_id = 0 OR u.status = 'active') AND {touched}) WHERE rn = 1"""
    if kind == "schools":
        run(cur, f"""INSERT INTO schools ({", ".join(cols)}, consent_to_name)
                     SELECT {", ".join(f"v.{c}" for c in cols)}, c.consent_to_name
                     FROM ({latest}) v LEFT JOIN school_consent c ON c.school_id = v.school_id""", [upload_id])
        # a school the evaluator gave consent for keeps its row even when no version is left
        run(cur, """INSERT INTO schools (school_id, consent_to_name)
                     SELECT c.school_id, c.consent_to_name FROM school_consent c
                     WHERE EXISTS (SELECT 1 FROM schools_versions t WHERE t.upload_id = ?
                                   AND t.school_id = c.school_id)
                       AND NOT EXISTS (SELECT 1 FROM schools x WHERE x.school_id = c.school_id)""", [upload_id])
    else:
        run(cur, f"INSERT INTO {kind} ({', '.join(cols)}) SELECT {', '.join(cols)} FROM ({latest})", [upload_id])


def _show(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "(blank)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return f"'{value}'"


def _reference_changes(cur, kind: str, upload_id: int) -> list[tuple[str | None, str]]:
    """(school the row belongs to, plain description) for each row this upload would change."""
    keys, values = REFERENCE[kind]
    differs = " OR ".join(f"v.{c} IS DISTINCT FROM x.{c}" for c in values)
    rows = run(cur, f"""
        SELECT {", ".join(f"v.{k}" for k in keys)}, x.{keys[0]} IS NULL,
               {", ".join(f"x.{c}, v.{c}" for c in values)}
        FROM {kind}_versions v LEFT JOIN {kind} x ON {_key_match('v', 'x', keys)}
        WHERE v.upload_id = ? AND (x.{keys[0]} IS NULL OR {differs})
        ORDER BY {", ".join(f"v.{k}" for k in keys)}""", [upload_id])
    changes = []
    for row in rows:
        key, is_new, pairs = row[:len(keys)], row[len(keys)], row[len(keys) + 1:]
        label = f"{KIND_LABEL[kind]} {' / '.join(str(k) for k in key)}"
        if is_new:
            what = "new: " + ", ".join(f"{c.replace('_', ' ')} {_show(pairs[2 * i + 1])}"
                                      for i, c in enumerate(values) if pairs[2 * i + 1] is not None)
        else:
            what = "; ".join(f"{c.replace('_', ' ')} {_show(pairs[2 * i])} → {_show(pairs[2 * i + 1])}"
                             for i, c in enumerate(values) if pairs[2 * i] != pairs[2 * i + 1])
        changes.append((key[0] if kind in SCHOOL_SCOPED else None, f"{label}: {what}"))
    return changes


def _write_references(cur, prepared: Prepared, report: FileReport, upload_id: int,
                      own_schools: list[str], accept: bool) -> None:
    """Version every reference row; rows outside the file's own schools only when accepted."""
    outside: list[str] = []
    for kind, rows in prepared.references.items():
        if not len(rows):
            continue
        keys, values = REFERENCE[kind]
        if kind == "schools" and "consent_to_name" in rows and rows["consent_to_name"].notna().any():
            report.notes.append("Consent to name schools is not taken from uploads; an evaluator sets it "
                                "(cpdqa school consent, or the Upload page)")
        frame = rows.reindex(columns=keys + values).drop_duplicates(keys, keep="last")
        if "min_terms" in frame:
            frame["min_terms"] = frame["min_terms"].astype("Int64")
        _insert_frame(cur, f"{kind}_versions", frame.assign(upload_id=upload_id), ["upload_id", *keys, *values])
        changes = _reference_changes(cur, kind, upload_id)
        outside += [text for school, text in changes if school not in own_schools]
        if not accept:
            in_scope = "school_id IN (SELECT unnest(?::VARCHAR[]))" if kind in SCHOOL_SCOPED else "false"
            params = [upload_id, own_schools] if kind in SCHOOL_SCOPED else [upload_id]
            run(cur, f"DELETE FROM {kind}_versions WHERE upload_id = ? AND NOT ({in_scope})", params)
        _materialise(cur, kind, upload_id)
        if kind == "providers":
            _record_provider_aliases(cur, rows["provider"].tolist(), rows["provider_key"].tolist())
    report.reference_changes = outside
    report.reference_changes_applied = accept
    if outside:
        report.notes.append(
            f"{len(outside)} reference change(s) outside this return's own school(s) "
            + ("applied, as accepted" if accept else "left out: accept them to apply")
            + ": " + "; ".join(outside[:10]) + (f"; … and {len(outside) - 10} more" if len(outside) > 10 else ""))


def _write_rows(cur, files: list[tuple[Validated, int]]) -> None:
    """Accepted, quarantined and warned rows of uploads, each (validated file, its upload id), in bulk."""
    with_rows = [(v.accepted, u) for v, u in files if v.accepted.num_rows]
    if with_rows:
        # one chunk per column: DuckDB inserts a thousand small files' chunks several times slower
        accepted = pa.concat_tables([a for a, _ in with_rows], promote_options="permissive").combine_chunks()
        upload_ids = np.concatenate([np.full(a.num_rows, u) for a, u in with_rows])
        first_id = run(cur, "SELECT nextval('activity_seq')")[0][0]
        providers = pc.unique(accepted["provider"])  # a few distinct names: normalise each once
        names = providers.to_pylist()
        keys = [schema.normalise_provider_key(p) for p in names]
        provider_keys = pa.array(keys, pa.string())
        accepted = (accepted
                    .append_column("upload_id", pa.array(upload_ids, pa.int64()))
                    .append_column("activity_id", pa.array(np.arange(first_id, first_id + accepted.num_rows)))
                    .append_column("provider_key", provider_keys.take(pc.index_in(accepted["provider"], providers))))
        _insert_frame(cur, "activities", accepted, ACTIVITY_INSERT_COLUMNS)
        # keep the sequence ahead of the ids assigned in bulk
        run(cur, f"SELECT setval('activity_seq', {first_id + accepted.num_rows})")
        _record_provider_aliases(cur, names, keys)
    for table, attr, columns in (
            ("quarantine", "quarantined", ["sheet", "row_number", "column_name", "value", "reason", "raw_row"]),
            ("upload_warnings", "warnings", ["sheet", "row_number", "column_name", "value", "message"])):
        parts = [(getattr(v, attr), u) for v, u in files if len(getattr(v, attr))]
        if parts:  # one concatenation and one id column, not a copy of each file's frame
            frame = pd.concat([f for f, _ in parts], ignore_index=True)[columns]  # one column pick, not one a file
            frame["upload_id"] = np.repeat([u for _, u in parts], [len(f) for f, _ in parts])
            _insert_frame(cur, table, frame, ["upload_id", *columns])


def _commit_in(cur, prepared: Prepared, validated: Validated | None, report: FileReport, *, replace: bool,
               whole_term: bool, by: str, accept_reference_changes: bool) -> None:
    name = report.file_name
    previous = run(cur, "SELECT upload_id FROM uploads WHERE sha256 = ? AND status = 'active'", [prepared.digest])
    if previous:
        _duplicate(report, previous[0][0])
        return
    # max + 1 rather than a sequence: a check or a refused file (both rolled back) leaves no gap in the ids
    upload_id = run(cur, "SELECT coalesce(max(upload_id), 0) + 1 FROM uploads")[0][0]
    run(cur, "INSERT INTO uploads VALUES (?, ?, ?, ?, current_timestamp, ?, ?, ?, 'active')",
        [upload_id, name, prepared.digest, by, report.rows_accepted, report.rows_quarantined, len(report.warnings)])
    if validated is not None:  # rows kept aside are kept even when none was accepted (a register with them)
        _write_rows(cur, [(validated, upload_id)])
    if validated is not None and report.rows_accepted:
        teacher = "NULL" if replace and whole_term else "teacher_id"
        run(cur, f"""INSERT INTO upload_scope SELECT DISTINCT upload_id, school_id, academic_year, term, {teacher}
                     FROM activities WHERE upload_id = ?""", [upload_id])
        # a join from this upload's few scope rows (a correlated EXISTS was the slowest statement of a commit)
        clashes = run(cur, f"""
            SELECT DISTINCT a.school_id, a.academic_year, a.term, a.upload_id, u.file_name
            FROM upload_scope s JOIN activities a ON {_COVERS.format(t="a")}
            JOIN uploads u ON u.upload_id = a.upload_id
            WHERE s.upload_id = ? AND a.upload_id <> ? AND u.status = 'active' AND a.superseded_by IS NULL
            ORDER BY 1, 2, 3, 4""", [upload_id, upload_id])
        if clashes and not replace:
            raise _NeedsReplace(_clash_message(name, clashes))
        if clashes:
            _resupersede(cur, upload_id)
            report.replaced_uploads = sorted({c[3] for c in clashes})
    if validated is not None and report.rows_accepted:
        own = sorted(set(validated.accepted["school_id"].unique().to_pylist()))
    else:
        own = []
    _write_references(cur, prepared, report, upload_id, own, accept_reference_changes)
    report.upload_id = upload_id
    report.status = "accepted"
    audit.record(cur, by, "replace" if report.replaced_uploads else "upload",
                 _upload_detail(upload_id, report, accept_reference_changes))


def _fill_counts(report: FileReport, validated: Validated | None) -> None:
    """What validation found in one file: its row counts, problems and the school-terms it covers."""
    if validated is None:
        return
    report.errors.extend(_issue_list(validated.quarantined, "reason"))
    report.warnings.extend(_issue_list(validated.warnings, "message"))
    report.rows_accepted = validated.accepted.num_rows
    report.rows_quarantined = int(validated.quarantined["_rid"].nunique())
    report.school_terms = sorted({cell[:3] for cell in validated.covered()})


def commit(store: Store, prepared: Prepared, validated: Validated | None, *, replace: bool = False,
           whole_term: bool = False, dry_run: bool = False, strict: bool = False, by: str = "cli",
           accept_reference_changes: bool = False, progress: Progress | None = None) -> FileReport:
    """Write one prepared, validated file as one upload in one transaction; returns its report.

    `replace` supersedes the active rows of the teachers (or, with `whole_term`, of every
    teacher of the school-terms) the file covers; without it such a file "needs Replace".
    A dry run does all of this and rolls it back, so Check reports what Commit will do.
    """
    report = prepared.report.copy()
    if report.status == "rejected":
        return report
    name = report.file_name
    try:
        _admit(report, validated, strict)
        with store.transaction(changes_results=not dry_run) as cur:
            _commit_in(cur, prepared, validated, report, replace=replace, whole_term=whole_term, by=by,
                       accept_reference_changes=accept_reference_changes)
            if progress:
                progress("commit", 0, 1, name)
            if dry_run and report.status == "accepted":
                raise _DryRun
        report.committed = report.status == "accepted"
    except _DryRun:
        report.notes.append("Checked against the database; nothing written yet")
    except _NeedsReplace as exc:
        _needs_replace(report, str(exc))
    except FileRejected as exc:
        _refuse(report, exc)
    return report


def _admit(report: FileReport, validated: Validated | None, strict: bool) -> None:
    """Counts and problems into the report; FileRejected when the file cannot go in at all."""
    _fill_counts(report, validated)
    name = report.file_name
    if strict and report.errors:
        raise FileRejected(f"{name}: {len(report.errors)} problem(s) found and --strict is on", report.errors)
    if report.rows_accepted == 0 and not any(report.reference_rows.values()):
        raise FileRejected(f"{name}: no row could be accepted", report.errors)


def _refuse(report: FileReport, exc: FileRejected) -> None:
    report.status = "rejected"
    report.committed = False
    report.upload_id = None
    report.errors = exc.issues + [i for i in report.errors if i not in exc.issues]


def _needs_replace(report: FileReport, message: str) -> None:
    report.status = "needs_replace"
    report.upload_id = None
    report.errors.insert(0, Issue(message))


def _duplicate(report: FileReport, previous: int) -> None:
    report.status = "duplicate"
    report.upload_id = previous
    report.notes.append(f"Already uploaded as upload #{previous}; nothing changed")
    report.rows_accepted = report.rows_quarantined = 0
    report.errors, report.warnings = [], []


def _clash_message(name: str, clashes: list[tuple]) -> str:
    return (f"{name} covers returns already uploaded: "
            + "; ".join(f"{_term_label(c[:3])} (upload #{c[3]}, {c[4]})" for c in clashes)
            + ". Tick Replace to supersede them (the earlier upload stays in the history and undo restores it).")


def _upload_detail(upload_id: int, report: FileReport, accept_reference_changes: bool) -> str:
    """The audit log's sentence for one committed upload."""
    return (f"#{upload_id} {report.file_name}: {report.rows_accepted} rows accepted, "
            f"{report.rows_quarantined} quarantined"
            + (f"; replaces {', '.join(f'#{u}' for u in report.replaced_uploads)}"
               if report.replaced_uploads else "")
            + (f"; {len(report.reference_changes)} reference change(s) outside its school accepted"
               if report.reference_changes and accept_reference_changes else ""))


# --------------------------------------------------------------------------- batches

@dataclass
class BatchClaims:
    """What earlier files of one batch hold, so a later file that overlaps them is caught."""

    digests: dict[str, str] = field(default_factory=dict)  # sha256 -> file name
    cells: dict[tuple, str] = field(default_factory=dict)  # (school, year, term[, teacher]) -> file name


def batch_outcomes(prepared: list[Prepared], validated: list[Validated | None], *, whole_term: bool = False,
                   claims: BatchClaims | None = None) -> dict[int, FileReport]:
    """Files of one batch that cannot go in as they are, found before anything is written.

    The same file twice is a duplicate (saved once). Files that cover the same teacher
    in the same school-term (or, for whole-school corrections, the same school-term)
    are all refused: nobody can tell which of them is right.
    """
    claims = claims if claims is not None else BatchClaims()
    overlaps: dict[int, set[str]] = {}
    where: dict[int, list[tuple]] = {}
    owners: dict[tuple, list[int]] = {}
    outcomes: dict[int, FileReport] = {}
    for i, (p, v) in enumerate(zip(prepared, validated, strict=True)):
        if p.report.status == "rejected":
            continue
        name = p.report.file_name
        if p.digest in claims.digests:
            report = p.report.copy()
            report.status = "duplicate"
            report.notes.append(f"The same file as {claims.digests[p.digest]} in this batch; it is saved once")
            outcomes[i] = report
            continue
        claims.digests[p.digest] = name
        if v is None or not v.accepted.num_rows:
            continue
        for key in dict.fromkeys(cell[:3] if whole_term else cell for cell in v.covered()):
            if key in claims.cells and claims.cells[key] != name:
                overlaps.setdefault(i, set()).add(claims.cells[key])
                where.setdefault(i, []).append(key)
            owners.setdefault(key, []).append(i)
    for key, files in owners.items():
        claims.cells.setdefault(key, prepared[files[0]].report.file_name)
        if len(files) > 1:
            for i in files:
                overlaps.setdefault(i, set()).update(prepared[j].report.file_name for j in files if j != i)
                where.setdefault(i, []).append(key)
    for i, others in overlaps.items():
        report = prepared[i].report.copy()
        _fill_counts(report, validated[i])
        report.status = "rejected"
        cells = sorted(set(where[i]))
        report.errors.insert(0, Issue(
            f"{report.file_name} overlaps {', '.join(sorted(others))} in this batch: "
            + "; ".join(_term_label(c) for c in cells[:5]) + (f"; … {len(cells) - 5} more" if len(cells) > 5 else "")
            + ". Nothing from it is saved: send one return per teacher, or combine them into one file."))
        outcomes[i] = report
    return outcomes


def _plain(prepared: Prepared, validated: Validated | None, options: dict) -> bool:
    """A file that only adds activity rows: no Replace and no reference sheet (most termly returns)."""
    return (prepared.report.status != "rejected" and validated is not None and not options.get("replace")
            and not any(len(rows) for rows in prepared.references.values()))


def _commit_plain(store: Store, files: list[tuple[Prepared, Validated]], *, dry_run: bool = False,
                  strict: bool = False, by: str = "cli", accept_reference_changes: bool = False,
                  progress: Progress | None = None, **_: object) -> list[FileReport]:
    """Plain files (see `_plain`) of one batch, none overlapping another, with the outcomes `commit`
    gives them one by one, in one transaction and a few statements for the whole run.

    Each file's outcome is decided before anything is written (the store as it was, since files of one
    batch never overlap), so a refused file writes nothing; only accepted files are written, in file order.
    """
    reports = [p.report.copy() for p, _ in files]
    live: list[int] = []
    for i, (report, (_, v)) in enumerate(zip(reports, files, strict=True)):
        try:
            _admit(report, v, strict)
            live.append(i)
        except FileRejected as exc:
            _refuse(report, exc)
    try:
        with store.transaction(changes_results=not dry_run) as cur:
            digests = [files[i][0].digest for i in live]
            previous = dict(run(cur, """SELECT sha256, min(upload_id) FROM uploads
                                        WHERE status = 'active' AND sha256 IN (SELECT unnest(?::VARCHAR[]))
                                        GROUP BY sha256""", [digests])) if digests else {}
            scope = [(i, r) for i in live if files[i][0].digest not in previous
                     for r in _scope_rows(files[i][1])]
            cur.register("incoming_scope", pa.table({
                "file": pa.array([i for i, _ in scope], pa.int64()),
                **{c: pa.array([r[k] for _, r in scope], pa.string())
                   for k, c in enumerate(("school_id", "academic_year", "term", "teacher_id"))}}))
            try:
                clashes = run(cur, f"""
                    SELECT DISTINCT s.file, a.school_id, a.academic_year, a.term, a.upload_id, u.file_name
                    FROM incoming_scope s JOIN activities a ON {_COVERS.format(t="a")}
                    JOIN uploads u ON u.upload_id = a.upload_id
                    WHERE u.status = 'active' AND a.superseded_by IS NULL
                    ORDER BY 2, 3, 4, 5""")
            finally:
                cur.unregister("incoming_scope")
            clashing: dict[int, list[tuple]] = {}
            for c in clashes:
                clashing.setdefault(c[0], []).append(c[1:])
            next_id = run(cur, "SELECT coalesce(max(upload_id), 0) + 1 FROM uploads")[0][0]
            written: list[tuple[int, int]] = []  # (file, upload id)
            for i in live:
                report = reports[i]
                if files[i][0].digest in previous:
                    _duplicate(report, previous[files[i][0].digest])
                elif i in clashing:
                    _needs_replace(report, _clash_message(report.file_name, clashing[i]))
                else:
                    report.upload_id = next_id if dry_run else next_id + len(written)
                    report.status = "accepted"
                    report.reference_changes = []
                    report.reference_changes_applied = accept_reference_changes
                    written.append((i, report.upload_id))
                if progress:
                    progress("commit", 0, 1, report.file_name)
            if written and not dry_run:
                _write_uploads(cur, files, reports, written, by)
                audit.record_many(cur, by, "upload", [_upload_detail(u, reports[i], accept_reference_changes)
                                                      for i, u in written])
            elif dry_run:
                raise _DryRun
    except _DryRun:
        for i, _ in written:
            reports[i].notes.append("Checked against the database; nothing written yet")
        return reports
    for i, _ in written:
        reports[i].committed = True
    return reports


def _scope_rows(validated: Validated) -> list[tuple]:
    """The (school, year, term, teacher) cells a file covers without Replace."""
    return validated.covered()


def _write_uploads(cur, files: list[tuple[Prepared, Validated]], reports: list[FileReport],
                   written: list[tuple[int, int]], by: str) -> None:
    """The uploads, their rows and the cells they cover, for plain files accepted together."""
    cur.register("incoming_uploads", pa.table({
        "upload_id": pa.array([u for _, u in written], pa.int32()),
        "file_name": [reports[i].file_name for i, _ in written],
        "sha256": [files[i][0].digest for i, _ in written],
        "rows_accepted": pa.array([reports[i].rows_accepted for i, _ in written], pa.int32()),
        "rows_quarantined": pa.array([reports[i].rows_quarantined for i, _ in written], pa.int32()),
        "warnings": pa.array([len(reports[i].warnings) for i, _ in written], pa.int32())}))
    try:
        run(cur, """INSERT INTO uploads (upload_id, file_name, sha256, uploaded_by, uploaded_at, rows_accepted,
                                         rows_quarantined, warnings, status)
                    SELECT upload_id, file_name, sha256, ?, current_timestamp, rows_accepted, rows_quarantined,
                           warnings, 'active' FROM incoming_uploads""", [by])
    finally:
        cur.unregister("incoming_uploads")
    _write_rows(cur, [(files[i][1], u) for i, u in written])
    first, last = written[0][1], written[-1][1]
    run(cur, """INSERT INTO upload_scope SELECT DISTINCT upload_id, school_id, academic_year, term, teacher_id
                FROM activities WHERE upload_id BETWEEN ? AND ?""", [first, last])


def commit_batch(store: Store, prepared: list[Prepared], validated: list[Validated | None], *,
                 dry_run: bool = False, whole_term: bool = False, claims: BatchClaims | None = None,
                 progress: Progress | None = None, **options) -> list[FileReport]:
    """Every file of a batch gets an outcome; with dry_run that is Check, otherwise Commit.

    Overlaps inside the batch are settled first, so Commit writes the same files Check
    accepted when the database has not changed. Each file is one upload, all of it or
    nothing; consecutive plain files (most termly returns) share one transaction, and
    any other file has its own.
    """
    blocked = batch_outcomes(prepared, validated, whole_term=whole_term, claims=claims)
    reports: list[FileReport] = []
    i = 0
    while i < len(prepared):
        run_end = i
        while (run_end < len(prepared) and run_end not in blocked
               and _plain(prepared[run_end], validated[run_end], options)):
            run_end += 1
        if run_end > i + 1:
            files = [(prepared[j], validated[j]) for j in range(i, run_end)]
            reports += _commit_plain(store, files, dry_run=dry_run, **options)  # type: ignore[arg-type]
        else:
            run_end = i + 1
            reports.append(blocked[i] if i in blocked else
                           commit(store, prepared[i], validated[i], dry_run=dry_run, whole_term=whole_term,
                                  **options))
        if progress:
            for j in range(i, run_end):
                progress("file", j + 1, len(prepared), prepared[j].report.file_name)
        i = run_end
    return number_as_commit_would(reports) if dry_run else reports


def number_as_commit_would(reports: list[FileReport]) -> list[FileReport]:
    """Check rolls every file back, so each accepted one saw the same next upload id; Commit gives them
    consecutive ids in batch order (refused and needs-Replace files get none, a duplicate keeps its earlier
    upload's), so Check numbers them that way too instead of showing one number for every file."""
    accepted = [r for r in reports if r.status == "accepted" and r.upload_id is not None]
    for k, report in enumerate(accepted):
        report.upload_id = accepted[0].upload_id + k
    return reports


# --------------------------------------------------------------------------- history and undo

UPLOAD_COLUMNS = ("upload_id", "file_name", "uploaded_by", "uploaded_at", "status", "rows_accepted",
                  "rows_quarantined", "warnings")


def _upload_details(store: Store, uploads: pd.DataFrame) -> pd.DataFrame:
    """Rows replaced since, by which uploads, and schools covered: for the uploads given only."""
    ids = [int(u) for u in uploads["upload_id"]]
    if not ids:
        return uploads.assign(rows_superseded=pd.Series(dtype="int64"), superseded_by=pd.Series(dtype=object),
                              schools=pd.Series(dtype=object))
    names = {f"u{i}": u for i, u in enumerate(ids)}
    among = ", ".join("$" + n for n in names)
    details = store.query_df(f"""
        SELECT ids.upload_id,
               (SELECT count(*) FROM activities a WHERE a.upload_id = ids.upload_id
                  AND a.superseded_by IS NOT NULL) AS rows_superseded,
               (SELECT string_agg(DISTINCT CAST(a.superseded_by AS VARCHAR), ', ')
                  FROM activities a WHERE a.upload_id = ids.upload_id) AS superseded_by,
               (SELECT string_agg(DISTINCT s.school_id, ', ' ORDER BY s.school_id)
                  FROM upload_scope s WHERE s.upload_id = ids.upload_id) AS schools
        FROM (SELECT upload_id FROM uploads WHERE upload_id IN ({among})) ids""", names)
    return uploads.merge(details, on="upload_id", how="left")


def upload_history(store: Store) -> PagedQuery:
    """Every upload, newest first, read a page at a time (a national programme has tens of thousands)."""
    return PagedQuery(store, f"SELECT {', '.join(UPLOAD_COLUMNS)} FROM uploads", "upload_id DESC",
                      decorate=lambda page: _upload_details(store, page))


def list_uploads(store: Store) -> pd.DataFrame:
    """The whole history, oldest first (the CLI and exports)."""
    return _upload_details(store, store.query_df(
        f"SELECT {', '.join(UPLOAD_COLUMNS)} FROM uploads ORDER BY upload_id"))


class UndoError(ValueError):
    pass


@dataclass
class UndoSummary:
    upload_id: int
    file_name: str
    rows_removed: int  # rows that stop counting
    rows_restored: int  # rows of earlier returns that count again
    schools: list[str]  # schools whose counted rows change
    reference_rows: int  # reference rows this upload wrote, now reverted
    done: bool = False

    def sentence(self) -> str:
        parts = [f"{self.rows_removed} activity row(s) stop counting"]
        if self.rows_restored:
            parts.append(f"{self.rows_restored} row(s) of the return(s) it replaced count again")
        if self.reference_rows:
            parts.append(f"{self.reference_rows} reference row(s) it wrote are reverted")
        schools = ", ".join(self.schools) if self.schools else "none"
        return "; ".join(parts) + f". Schools affected: {schools}."


def undo_upload(store: Store, upload_id: int, by: str = "cli", *, dry_run: bool = False) -> UndoSummary:
    """Reverse an upload as if it had never happened: its rows and reference rows stop counting,
    and whatever it replaced counts again unless a later upload also replaced it.

    With dry_run, says what would change and writes nothing (the confirmation before undo).
    """
    summary: UndoSummary | None = None
    try:
        with store.transaction() as cur:
            row = run(cur, "SELECT status, file_name FROM uploads WHERE upload_id = ?", [upload_id])
            if not row:
                raise UndoError(f"There is no upload #{upload_id}")
            if row[0][0] != "active":
                raise UndoError(f"Upload #{upload_id} is already undone")
            in_scope = f"EXISTS (SELECT 1 FROM upload_scope s WHERE s.upload_id = ? AND {_SAME_TERM.format(t='a')})"
            run(cur, f"CREATE TEMP TABLE undo_before AS SELECT activity_id, school_id FROM active_activities a "
                     f"WHERE {in_scope}", [upload_id])
            run(cur, "UPDATE uploads SET status = 'undone' WHERE upload_id = ?", [upload_id])
            _resupersede(cur, upload_id)
            reference_rows = 0
            for kind in REFERENCE:
                reference_rows += run(cur, f"SELECT count(*) FROM {kind}_versions WHERE upload_id = ?",
                                      [upload_id])[0][0]
                _materialise(cur, kind, upload_id)
            changed = run(cur, f"""
                WITH after AS (SELECT activity_id, school_id FROM active_activities a WHERE {in_scope})
                SELECT (SELECT count(*) FROM undo_before b WHERE b.activity_id NOT IN (SELECT activity_id FROM after)),
                       (SELECT count(*) FROM after WHERE activity_id NOT IN (SELECT activity_id FROM undo_before)),
                       (SELECT list(DISTINCT school_id ORDER BY school_id) FROM (
                           SELECT school_id FROM (SELECT * FROM undo_before EXCEPT SELECT * FROM after)
                           UNION SELECT school_id FROM (SELECT * FROM after EXCEPT SELECT * FROM undo_before)))""",
                          [upload_id])[0]
            run(cur, "DROP TABLE undo_before")
            summary = UndoSummary(upload_id, row[0][1], changed[0], changed[1], list(changed[2] or []),
                                  reference_rows)
            if dry_run:
                raise _DryRun
            audit.record(cur, by, "undo", f"#{upload_id}: {summary.sentence()}")
            summary.done = True
    except _DryRun:
        pass
    assert summary is not None
    return summary


# --------------------------------------------------------------------------- consent

def set_consent(store: Store, school_id: str, consent: bool, by: str) -> None:
    """An evaluator records whether a school agreed to be named; uploads never change this.

    Only for a school the database knows (in the Schools register or in a return that counts): a mistyped
    code would otherwise create a school nobody has, and leave the real one's consent unrecorded; a return
    under that code uploaded by mistake and undone does not make it a school."""
    with store.transaction() as cur:
        known = run(cur, """SELECT EXISTS (SELECT 1 FROM schools WHERE school_id = ?)
                                OR EXISTS (SELECT 1 FROM active_activities WHERE school_id = ?)""",
                    [school_id, school_id])
        if not known[0][0]:
            raise CpdqaError(f"No school with code {school_id!r} is in the Schools register or in any return. "
                             "Check the code (the School dashboard lists every school), or upload the Schools "
                             "register first.")
        run(cur, """INSERT INTO school_consent VALUES (?, ?, ?, current_timestamp)
                    ON CONFLICT (school_id) DO UPDATE SET consent_to_name = excluded.consent_to_name,
                        set_by = excluded.set_by, set_at = excluded.set_at""", [school_id, consent, by])
        run(cur, """INSERT INTO schools (school_id, consent_to_name) VALUES (?, ?)
                    ON CONFLICT (school_id) DO UPDATE SET consent_to_name = excluded.consent_to_name""",
            [school_id, consent])
        audit.record(cur, by, "consent", f"school {school_id}: " + ("may be named" if consent else "not named"))
