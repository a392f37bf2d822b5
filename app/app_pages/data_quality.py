"""Data quality: rows kept aside (whole, as written), warnings, teachers with no records, missing termly returns."""

import streamlit as st

from app import widgets
from app.state import context, store
from qa import termly, views

ctx = context()
db = store()
st.title("Data quality")
with widgets.refusals_shown():
    quality = views.data_quality(db, ctx.viewer, ctx.as_of, ctx.through_term)
if ctx.through_term:
    st.caption(f"Missing returns are listed for each year up to the end of {ctx.through_term}.")

ALL = ""
schools = db.schools()
names = dict(zip(schools["school_id"], schools["name"], strict=True))
left, middle, right = st.columns(3)
school = left.selectbox("School", [ALL, *names], key="dq_school",
                        format_func=lambda s: "All schools" if s == ALL else f"{names[s]} ({s})") or None
year = middle.selectbox("Academic year", [ALL, *ctx.years], key="dq_year",
                        format_func=lambda y: "All years" if y == ALL else y) or None
kinds = termly.warning_kinds(db, ctx.viewer)
picked = right.multiselect("Warnings about", list(kinds), key="dq_kinds", format_func=kinds.get,
                           placeholder="Every kind of warning")
kept = termly.kept_aside(db, ctx.viewer, school, year)
warnings = termly.warnings(db, ctx.viewer, school, year, tuple(picked))
missing = quality.missing_returns
if school:
    missing = missing[missing["school_id"] == school]
if year:
    missing = missing[missing["academic_year"] == year]
silent = quality.teachers_without_records
if school:
    silent = silent[silent["school_id"] == school]

k1, k2, k3, k4 = st.columns(4)
k1.metric("Rows kept aside", f"{kept.total():,}", border=True)
k2.metric("Warnings", f"{warnings.total():,}", border=True)
k3.metric("Teachers with no records", f"{len(silent):,}", border=True)
k4.metric("Missing termly returns", f"{len(missing):,}", border=True)

st.subheader("Rows kept aside (quarantine)")
st.caption("Each row whole, as the school wrote it: why it was kept aside, which cells were wrong, then every "
           "cell of the row.")
widgets.paged_table(kept, "kept-aside", "quarantine", "No rows kept aside." if school or year
                    else "Every row uploaded so far was readable.")
for title, frame, name, empty in (
        ("Missing termly returns", missing, "missing-returns",
         "Every school has a return for every term so far."),
        ("Teachers with no records", silent, "no-records",
         "Every listed teacher has CPD recorded.")):
    st.subheader(title)
    if frame.empty:
        st.caption(empty)
        continue
    widgets.table(frame)
    widgets.downloads(frame, name, name)
st.subheader("Warnings")
widgets.paged_table(warnings, "warnings", "warnings", "No warnings." if not (school or year or picked)
                    else "No such warnings.")
