"""Upload termly returns: check a batch, read each file's outcome, commit; undo with a confirmation."""

import hashlib

import pandas as pd
import streamlit as st

from app import widgets
from app.state import context, store
from qa import ingest, returns, template, termly
from qa.exports import to_xlsx_bytes

ctx = context()
db = store()
st.title("Upload termly returns")
widgets.evaluators_only(ctx.viewer)

# Outcomes of the last commit or undo, kept across the rerun that follows it.
for kind, message in st.session_state.pop("upload_flash", []):
    getattr(st, kind)(message)  # built with user text (file names, cells, codes) escaped by widgets.literal

st.caption("Drop in many returns or one .zip. Nothing is saved until you commit. Each file is one upload: it "
           "covers the teachers it lists in its school and terms. A file for teachers already uploaded "
           "needs Replace; two files in one batch for the same teacher and term are refused.")
uploader_key = f"uploads-{st.session_state.get('upload_round', 0)}"
files = st.file_uploader("Termly returns", type=["xlsx", "xlsm", "xls", "ods", "csv", "zip"],
                         accept_multiple_files=True, key=uploader_key)
school = st.text_input("School ID for files without a school_id column (optional)", key="upload_school") or None
date_order = st.selectbox(
    "Dates like 04/09/2020 that a file leaves open are read", ingest.DATE_ORDERS, key="upload_date_order",
    format_func={"day-first": "day first (UK: 4 September)", "month-first": "month first (US: 9 April)"}.get,
    help="A file with a date like 25/09/2020 or 9/25/2020 decides for itself; the report says which order was used.")


def _expand(uploaded) -> list[tuple[str, bytes | ingest.FileRejected]]:
    """Each file, or each member of a .zip; one that cannot be opened is kept with the reason why."""
    items: list[tuple[str, bytes | ingest.FileRejected]] = []
    for f in uploaded:
        try:
            items.extend(ingest.expand_archive(f.name, f.getvalue()))
        except ingest.FileRejected as exc:
            items.append((f.name, exc))
    return items


def _report_frames(reports: list[ingest.FileReport]) -> tuple[pd.DataFrame, pd.DataFrame]:
    summary = pd.DataFrame([{"file": r.file_name, "outcome": returns.outcome_word(r), "rows accepted": r.rows_accepted,
                             "rows quarantined": r.rows_quarantined, "warnings": len(r.warnings),
                             "school-terms": ", ".join(f"{s} {t} {y}" for s, y, t in r.school_terms),
                             "replaces": ", ".join(f"#{u}" for u in r.replaced_uploads),
                             "note": "; ".join(r.notes)} for r in reports])
    issues = pd.DataFrame([{"file": r.file_name, "kind": kind, "sheet": i.sheet, "row": i.row, "column": i.column,
                            "value": i.value, "description": i.message}
                           for r in reports for kind, group in (("error", r.errors), ("warning", r.warnings))
                           for i in group])
    return summary, issues


def _batch(items, *, dry_run: bool, replace: bool = False, whole_term: bool = False,
           accept: bool = False) -> list[ingest.FileReport]:
    """Check (dry run) or commit the whole batch: overlaps inside it are settled before anything is written."""
    bar = st.progress(0.0, text="Reading files…")
    prepared = []
    for n, (name, data) in enumerate(items):
        bar.progress(n / max(len(items), 1) / 2, text=f"Reading {name}")
        # a file or zip member that could not be opened stays in the batch as refused, with the reason
        prepared.append(ingest.Prepared(ingest.rejected_report(name, data)) if isinstance(data, ingest.FileRejected)
                        else ingest.prepare(name, data, school=school, date_order=date_order))
    bar.progress(0.5, text="Validating…")
    validated = ingest.validate_batch(prepared, school, ingest.school_register(db))
    reports = returns.commit_batch(
        db, prepared, validated, dry_run=dry_run, replace=replace, whole_term=whole_term,
        accept_reference_changes=accept, by=ctx.viewer.email,
        progress=lambda _stage, done, total, name: bar.progress(0.5 + done / max(total, 1) / 2,
                                                              text=f"{'Checking' if dry_run else 'Saving'} {name}"))
    bar.empty()
    return reports


def _committed_messages(results: list[ingest.FileReport]) -> list[tuple[str, str]]:
    saved = [r for r in results if r.committed]
    messages = [("success", f"Saved {len(saved)} upload(s): {sum(r.rows_accepted for r in saved)} activities, "
                            f"{sum(r.rows_quarantined for r in saved)} rows kept aside in quarantine.")]
    for r in results:
        if r.committed and r.replaced_uploads:
            messages.append(("info", f"{widgets.literal(r.file_name)} (upload #{r.upload_id}) replaces "
                                     + ", ".join(f"#{u}" for u in r.replaced_uploads) + "."))
        elif not r.committed:
            reason = r.errors[0].message if r.errors else "; ".join(r.notes)
            messages.append(("warning", f"{widgets.literal(r.file_name)}: {returns.outcome_word(r)}, not saved. "
                                        f"{widgets.literal(reason)}"))
    return messages


def _batch_identity(items: list[tuple[str, bytes | ingest.FileRejected]]) -> tuple:
    """What a check depends on: each file's name and content, the school given and the date order.

    A report checked before any of these changed is not what Commit would do, so it is not shown.
    """
    files = tuple((n, hashlib.sha256(d).hexdigest() if isinstance(d, bytes) else str(d)) for n, d in items)
    return files, school, date_order


def _check_and_commit(items: list[tuple[str, bytes]]) -> None:
    identity = _batch_identity(items)
    if st.button("Check files", type="primary", key="check"):
        st.session_state["checked"] = {(False, False, False): _batch(items, dry_run=True)}
        st.session_state["checked_names"] = identity
    plans = st.session_state.get("checked")
    if not plans or st.session_state.get("checked_names") != identity:
        if plans:
            st.info("The files or settings changed since they were checked: check them again before committing.")
        return
    base = plans[(False, False, False)]  # the outcomes without Replace or accepted reference changes
    needs_replace = [r for r in base if r.status == "needs_replace"]
    replace = whole_term = accept = False
    if needs_replace:
        st.warning(f"{len(needs_replace)} file(s) need Replace: they cover teachers and terms already uploaded.")
        replace = st.checkbox("Replace the earlier returns (they stay in the upload history; undo restores them)",
                              key="confirm_replace")
        whole_term = replace and st.radio(
            "What does each replacing file stand for?",
            ["Only the teachers it lists", "The school's whole return for its terms"],
            key="replace_scope", help="A whole-school correction also drops teachers it leaves out.",
        ) == "The school's whole return for its terms"
    outside = [(r.file_name, change) for r in base for change in r.reference_changes]
    if outside:
        st.warning(f"{len(outside)} reference change(s) are about other schools, providers or programmes. "
                   "They are left out unless you accept them.")
        widgets.table(pd.DataFrame(outside, columns=["file", "change"]))
        accept = st.checkbox("Apply these reference changes", key="accept_refs")
    options = (replace, whole_term, accept)
    if options not in plans:  # the outcomes shown are always those of the options chosen
        plans[options] = _batch(items, dry_run=True, replace=replace, whole_term=whole_term, accept=accept)
    plan = plans[options]
    summary, issues = _report_frames(plan)
    st.subheader("Validation report")
    widgets.table(summary)
    if not issues.empty:
        widgets.table(issues)
    st.download_button("Validation report (XLSX)", to_xlsx_bytes({"files": summary, "problems": issues}),
                       "validation-report.xlsx", widgets.XLSX_MIME, on_click="ignore", key="report-xlsx")
    chosen = {r.file_name for r in plan if r.status == "accepted"}
    if st.button(f"Commit {len(chosen)} file(s)", disabled=not chosen, key="commit", type="primary"):
        results = _batch([(n, d) for n, d in items if n in chosen], dry_run=False, replace=replace,
                         whole_term=whole_term, accept=accept)
        st.session_state["upload_flash"] = _committed_messages(results)
        for key in ("checked", "checked_names", "confirm_replace", "accept_refs", "replace_scope"):
            st.session_state.pop(key, None)
        st.session_state["upload_round"] = st.session_state.get("upload_round", 0) + 1  # empties the uploader
        st.rerun()


def _undo(history: pd.DataFrame) -> None:
    """Undo one of the uploads on the history page shown (the first page holds the latest)."""
    if history.empty:
        return
    active = history[history["status"] == "active"]["upload_id"].tolist()  # newest first
    if not active:
        return
    names = dict(zip(history["upload_id"], history["file_name"], strict=True))
    col1, col2 = st.columns([2, 1], vertical_alignment="bottom")
    # keyed by the newest upload, so the picker starts at the latest upload after every commit
    undo_id = col1.selectbox("Undo an upload (from the page of history shown)", active, key=f"undo_pick-{active[0]}",
                             format_func=lambda u: f"#{u} {names[u]}")
    if col2.button("Undo…", key="undo"):
        st.session_state["undo_confirm"] = int(undo_id)
    pending = st.session_state.get("undo_confirm")
    if pending is None:
        return
    try:
        preview = returns.undo_upload(db, pending, ctx.viewer.email, dry_run=True)
    except returns.UndoError as exc:
        st.session_state.pop("undo_confirm", None)
        st.error(widgets.literal(exc))
        return
    st.warning(f"Undo upload #{pending} ({widgets.literal(preview.file_name)})? As if it had never been uploaded: "
               f"{widgets.literal(preview.sentence())}")
    yes, no = st.columns(2)
    if yes.button(f"Yes, undo upload #{pending}", key="undo_yes", type="primary"):
        st.session_state.pop("undo_confirm", None)
        try:
            done = returns.undo_upload(db, pending, ctx.viewer.email)
            st.session_state["upload_flash"] = [("success", f"Upload #{pending} undone: "
                                                             f"{widgets.literal(done.sentence())}")]
        except returns.UndoError as exc:
            st.session_state["upload_flash"] = [("error", widgets.literal(exc))]
        st.rerun()
    if no.button("Cancel", key="undo_no"):
        st.session_state.pop("undo_confirm", None)
        st.rerun()


def _consent() -> None:
    with st.expander("Consent to name a school"):
        st.caption("Whether a school agreed to be named to funders. Uploads never change this; it is set here "
                   "by an evaluator and written to the audit log.")
        schools = db.schools()
        if schools.empty:
            st.caption("No schools yet.")
            return
        names = dict(zip(schools["school_id"], schools["name"], strict=True))
        pick = st.selectbox("School", list(names), key="consent_school", format_func=lambda s: f"{s} {names[s]}")
        answer = st.radio("May be named?", ["yes", "no"], horizontal=True, key="consent_answer")
        if st.button("Record consent", key="consent_save"):
            returns.set_consent(db, pick, answer == "yes", ctx.viewer.email)
            st.session_state["upload_flash"] = [
                ("success", f"School {widgets.literal(pick)}: "
                 + ("may be named." if answer == "yes" else "not named."))]
            st.rerun()


widgets.report_download("Blank return template (XLSX)", template.template_bytes, "cpd-return-template.xlsx",
                        widgets.XLSX_MIME, "template-xlsx")
if files:
    _check_and_commit(_expand(files))
else:
    widgets.empty_state("Add .xlsx, .xls, .ods or .csv returns, or a .zip of them. Schools can fill in the blank "
                        "return template above (drop-downs and instructions included).")


def _history() -> None:
    st.subheader("Upload history")
    schools = db.schools()
    names = dict(zip(schools["school_id"], schools["name"], strict=True))
    left, middle, right = st.columns(3)
    pick = left.selectbox("School", ["", *names], key="history_school",
                          format_func=lambda s: f"{names[s]} ({s})" if s else "All schools") or None
    year = middle.selectbox("Academic year", ["", *ctx.years], key="history_year",
                            format_func=lambda y: y or "All years") or None
    kinds = right.multiselect("Outcome", list(termly.UPLOAD_KINDS), key="history_kinds",
                              format_func=lambda k: termly.UPLOAD_KINDS[k][0], placeholder="Every upload")
    history = termly.upload_history(db, ctx.viewer, pick, year, tuple(kinds))
    empty = "No such uploads." if pick or year or kinds else "Nothing uploaded yet."
    _undo(widgets.paged_table(history, "upload-history", "history", empty))


_history()
_consent()
