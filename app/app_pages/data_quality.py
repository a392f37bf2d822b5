"""Data quality: quarantined rows, warnings, teachers with no records, missing termly returns."""

import streamlit as st

from app import widgets
from app.state import context, store
from qa import views

ctx = context()
db = store()
st.title("Data quality")
with widgets.refusals_shown():
    quality = views.data_quality(db, ctx.viewer, ctx.as_of, ctx.through_term)
if ctx.through_term:
    st.caption(f"Missing returns are listed for each year up to the end of {ctx.through_term}.")

k1, k2, k3, k4 = st.columns(4)
k1.metric("Rows kept aside", f"{quality.quarantine.total():,}", border=True)
k2.metric("Warnings", f"{quality.warnings.total():,}", border=True)
k3.metric("Teachers with no records", f"{len(quality.teachers_without_records):,}", border=True)
k4.metric("Missing termly returns", f"{len(quality.missing_returns):,}", border=True)

st.subheader("Rows kept aside (quarantine)")
widgets.paged_table(quality.quarantine, "quarantine", "quarantine", "Every row uploaded so far was readable.")
for title, frame, name, empty in (
        ("Missing termly returns", quality.missing_returns, "missing-returns",
         "Every school has a return for every term so far."),
        ("Teachers with no records", quality.teachers_without_records, "no-records",
         "Every listed teacher has CPD recorded.")):
    st.subheader(title)
    if frame.empty:
        st.caption(empty)
        continue
    widgets.table(frame)
    widgets.downloads(frame, name, name)
st.subheader("Warnings")
widgets.paged_table(quality.warnings, "warnings", "warnings", "No warnings.")
