"""Programme overview: aggregates across schools, released through the disclosure-control layer."""

import pandas as pd
import streamlit as st

from app import widgets
from app.state import context, store
from qa import figures as charts
from qa import labels, reports, views
from qa.disclosure import SUPPRESSION_NOTE, is_suppressed

ctx = context()
db = store()
widgets.require_data("Programme overview", bool(ctx.year))

try:
    with widgets.refusals_shown():
        overview = views.funder_overview(db, ctx.viewer, ctx.framework, ctx.year, ctx.as_of, ctx.through_term)
except views.NothingRecorded as exc:
    widgets.empty_state(f"{exc} Choose a later term or another year.")
    st.stop()
period = labels.period(ctx.year, ctx.through_term)
widgets.caption("{} · {} v{} · " + (f"every year to the end of {ctx.through_term} · " if ctx.through_term else "")
                + "{} · schools that did not agree to be named appear as 'School N'",
                period, ctx.framework.title, ctx.framework.version, SUPPRESSION_NOTE)
left, right, _ = st.columns([1, 1, 2])
with left:
    widgets.report_download(
        "Programme report (PDF)",
        lambda: reports.funder_report_pdf(db, ctx.viewer, ctx.framework, ctx.year, ctx.viewer.email, ctx.as_of,
                                          ctx.through_term),
        widgets.safe_name(f"cpd-programme-report-{period}") + ".pdf", "application/pdf", "funder-pdf")
if ctx.viewer.role == "evaluator":
    with right:
        widgets.report_download(
            "Whole assessment (XLSX)",
            lambda: reports.assessment_xlsx(db, ctx.viewer, ctx.framework, ctx.year, ctx.viewer.email, ctx.as_of,
                                            ctx.through_term),
            widgets.safe_name(f"cpd-assessment-{period}") + ".xlsx", widgets.XLSX_MIME, "assessment-xlsx")
row = overview.by_year[overview.by_year["academic_year"] == ctx.year].iloc[0]
base_rows = overview.by_year[overview.by_year["academic_year"] == overview.baseline_year]
baseline = base_rows.iloc[0] if len(base_rows) else None
if baseline is None:
    st.info(f"The baseline year {overview.baseline_year} has no activities to the end of {ctx.through_term}, so "
            "no change since the baseline is shown. Choose a later term to compare with it.",
            icon=":material/info:")
pilot = ctx.framework.id == "wellcome"  # the published pilot figures were measured against the Wellcome criteria


def change(column: str) -> str | None:
    """Points since the baseline year (to the same term), only when both figures are released."""
    if baseline is None or baseline["academic_year"] == ctx.year:
        return None
    now, then = row[column], baseline[column]
    if is_suppressed(now) or is_suppressed(then) or pd.isna(now) or pd.isna(then):
        return None
    return f"{(float(now) - float(then)) * 100:+.1f} pts since {baseline['academic_year']}"


def count(value: object) -> object:
    return value if is_suppressed(value) else int(value)


k1, k2, k3, k4 = st.columns(4)
k1.metric("Schools", count(row["schools"]), border=True)
k2.metric("Teachers", count(row["teachers"]), border=True)
if overview.in_progress:  # to a term before the year's end: who is on pace, compared with every year to that term
    k3.metric("On track or meeting", widgets.pct(row["share_on_track"], 1), border=True,
              delta=change("share_on_track"),
              help="Share of teachers meeting the framework's criteria, or on pace for them (the pro-rata target) "
                   f"to the end of {ctx.through_term or 'the terms so far'}")
else:
    k3.metric("Meeting the criteria", widgets.pct(row["share_meeting"], 1), border=True,
              delta=change("share_meeting"),
              help="Share of teachers meeting the framework's criteria" + (
                  ". Published pilot figure for comparison: about 10% of teachers reached 35 fully compliant hours"
                  if pilot else ""))
k4.metric("All four DfE aspects", widgets.pct(row["share_activities_all_aspects"], 1), border=True,
          delta=change("share_activities_all_aspects"),
          help="Share of activities with all four DfE aspects" + (
              ". Published pilot figure for comparison: about 11% of logged CPD met all the quality criteria"
              if pilot else ""))

st.plotly_chart(charts.trend(overview.by_year, None if baseline is None else overview.baseline_year,
                             ctx.through_term, overview.in_progress))
widgets.table(overview.by_year)
widgets.downloads(overview.by_year, f"programme-by-year-{period}", "by-year")

left, right = st.columns(2)
with left:
    st.plotly_chart(charts.quadrant(overview.quadrant))
with right:
    st.plotly_chart(charts.provider_levels(overview.provider_levels, overview.level_order))

phase_tab, la_tab, school_tab = st.tabs(["By phase", "By local authority", "By school"])
for tab, frame, name in ((phase_tab, overview.by_phase, "by-phase"), (la_tab, overview.by_local_authority, "by-la"),
                         (school_tab, overview.schools, "by-school")):
    with tab:
        widgets.table(frame)
        widgets.downloads(frame, f"{name}-{period}", name)
