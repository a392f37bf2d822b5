"""Upload termly returns: check a batch, read the validation report, then commit."""

import pandas as pd
import streamlit as st

from app import widgets
from app.state import context, store
from qa import ingest
from qa.exports import to_xlsx_bytes

ctx = context()
db = store()
st.title("Upload termly returns")
widgets.evaluators_only(ctx.viewer)

st.caption("Drop in many returns or one .zip. Nothing is saved until you commit; a rejected file saves nothing, "
           "and a row that cannot be read is kept aside with the reason.")
files = st.file_uploader("Termly returns", type=["xlsx", "xlsm", "xls", "ods", "csv", "zip"],
                         accept_multiple_files=True, key="uploads")
school = st.text_input("School ID for files without a school_id column (optional)", key="upload_school") or None
date_order = st.selectbox(
    "Dates like 04/09/2020 that a file leaves open are read", ingest.DATE_ORDERS, key="upload_date_order",
    format_func={"day-first": "day first (UK: 4 September)", "month-first": "month first (US: 9 April)"}.get,
    help="A file with a date like 25/09/2020 or 9/25/2020 decides for itself; the report says which order was used.")


def _expand(uploaded) -> list[tuple[str, bytes]]:
    items = []
    for f in uploaded:
        try:
            expanded = ingest.expand_archive(f.name, f.getvalue())
        except ingest.FileRejected as exc:
            st.error(exc.issues[0].message)
            continue
        for name, data in expanded:  # a damaged or locked member is refused alone; the others go on
            if isinstance(data, ingest.FileRejected):
                st.error(data.issues[0].message)
            else:
                items.append((name, data))
    return items


def _report_frames(reports: list[ingest.FileReport]) -> tuple[pd.DataFrame, pd.DataFrame]:
    summary = pd.DataFrame([{"file": r.file_name, "status": r.status, "rows accepted": r.rows_accepted,
                             "rows quarantined": r.rows_quarantined, "warnings": len(r.warnings),
                             "school-terms": ", ".join(f"{s} {t} {y}" for s, y, t in r.school_terms),
                             "note": "; ".join(r.notes)} for r in reports])
    issues = pd.DataFrame([{"file": r.file_name, "kind": kind, "sheet": i.sheet, "row": i.row, "column": i.column,
                            "value": i.value, "message": i.message}
                           for r in reports for kind, group in (("error", r.errors), ("warning", r.warnings))
                           for i in group])
    return summary, issues


def _run(items, *, dry_run: bool, replace: bool) -> list[ingest.FileReport]:
    bar = st.progress(0.0, text="Reading files…")
    reports = []
    for n, (name, data) in enumerate(items):
        bar.progress(n / max(len(items), 1), text=f"{'Checking' if dry_run else 'Saving'} {name}")
        reports.append(ingest.ingest_bytes(db, name, data, school=school, dry_run=dry_run, replace=replace,
                                           by=ctx.viewer.email, date_order=date_order))
    bar.progress(1.0, text="Done")
    return reports


if files:
    items = _expand(files)
    if st.button("Check files", type="primary", key="check"):
        st.session_state["checked"] = _run(items, dry_run=True, replace=False)
        st.session_state["checked_names"] = [n for n, _ in items]
    checked = st.session_state.get("checked")
    if checked and st.session_state.get("checked_names") == [n for n, _ in items]:
        summary, issues = _report_frames(checked)
        st.subheader("Validation report")
        widgets.table(summary)
        if not issues.empty:
            widgets.table(issues)
        st.download_button("Validation report (XLSX)", to_xlsx_bytes({"files": summary, "problems": issues}),
                           "validation-report.xlsx", widgets.XLSX_MIME, on_click="ignore", key="report-xlsx")
        conflicts = [r for r in checked if r.status == "rejected" and "covers returns already uploaded"
                     in (r.errors[0].message if r.errors else "")]
        ready = [n for n, r in zip(st.session_state["checked_names"], checked, strict=True) if r.status == "accepted"]
        replace = False
        if conflicts:
            st.warning(f"{len(conflicts)} file(s) replace returns already uploaded for the same school and term.")
            replace = st.checkbox("Replace the earlier returns (they stay in the upload history and can be restored)",
                                  key="confirm_replace")
        to_commit = ready + ([r.file_name for r in conflicts] if replace else [])
        if st.button(f"Commit {len(to_commit)} file(s)", disabled=not to_commit, key="commit", type="primary"):
            results = _run([(n, d) for n, d in items if n in to_commit], dry_run=False, replace=replace)
            saved = [r for r in results if r.committed]
            st.success(f"Saved {len(saved)} upload(s): {sum(r.rows_accepted for r in saved)} activities, "
                       f"{sum(r.rows_quarantined for r in saved)} rows kept aside in quarantine.")
            st.session_state.pop("checked", None)
else:
    widgets.empty_state("Add .xlsx, .xls, .ods or .csv returns, or a .zip of them. "
                        "`cpdqa template --out return.xlsx` writes a blank return with drop-downs.")

st.subheader("Upload history")
history = ingest.list_uploads(db).sort_values("upload_id", ascending=False)
if history.empty:
    st.caption("Nothing uploaded yet.")
else:
    widgets.table(history)
    widgets.downloads(history, "upload-history", "history")
    active = history[history["status"] == "active"]["upload_id"].tolist()
    if active:
        col1, col2 = st.columns([2, 1])
        undo_id = col1.selectbox("Undo an upload", active, key="undo_pick",  # newest first
                                 format_func=lambda u: f"#{u} {history.set_index('upload_id').loc[u, 'file_name']}")
        if col2.button("Undo", key="undo"):
            restored = ingest.undo_upload(db, int(undo_id), ctx.viewer.email)
            st.success(f"Upload #{undo_id} undone" + (f"; {restored} replaced rows count again." if restored else "."))
            st.rerun()
