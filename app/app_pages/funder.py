"""Programme overview: aggregates across schools, small cells suppressed."""

import streamlit as st

from app import widgets
from app.state import context, store
from qa import figures as charts
from qa import reports, views
from qa.access import is_suppressed

ctx = context()
db = store()
widgets.require_data("Programme overview", bool(ctx.year))

overview = views.funder_overview(db, ctx.viewer, ctx.framework, ctx.year, ctx.as_of)
st.caption(f"{ctx.year} · {ctx.framework.title} v{ctx.framework.version} · figures from fewer than 5 teachers "
           "are shown as <5 · schools appear by code unless they agreed to be named")
left, right, _ = st.columns([1, 1, 2])
with left:
    widgets.report_download(
        "Programme report (PDF)",
        lambda: reports.funder_report_pdf(db, ctx.viewer, ctx.framework, ctx.year, ctx.viewer.email),
        f"cpd-programme-report-{ctx.year.replace('/', '-')}.pdf", "application/pdf", "funder-pdf")
if ctx.viewer.role == "evaluator":
    with right:
        widgets.report_download(
            "Whole assessment (XLSX)",
            lambda: reports.assessment_xlsx(db, ctx.viewer, ctx.framework, ctx.year, ctx.viewer.email),
            f"cpd-assessment-{ctx.year.replace('/', '-')}.xlsx", widgets.XLSX_MIME, "assessment-xlsx")
row = overview.by_year[overview.by_year["academic_year"] == ctx.year].iloc[0]
baseline = overview.by_year.iloc[0]
k1, k2, k3, k4 = st.columns(4)
k1.metric("Schools", int(row["schools"]), border=True)
k2.metric("Teachers", row["teachers"] if is_suppressed(row["teachers"]) else int(row["teachers"]), border=True)
k3.metric("Teachers meeting the criteria", widgets.pct(row["share_meeting"], 1), border=True,
          delta=None if is_suppressed(row["share_meeting"]) or baseline["academic_year"] == ctx.year
          else f"{(row['share_meeting'] - baseline['share_meeting']) * 100:+.1f} pts since {baseline['academic_year']}",
          help="Published pilot figure for comparison: about 10% of teachers reached 35 fully compliant hours")
k4.metric("Activities with all four DfE aspects", widgets.pct(row["share_activities_all_aspects"], 1), border=True,
          delta=None if baseline["academic_year"] == ctx.year
          else f"{(row['share_activities_all_aspects'] - baseline['share_activities_all_aspects']) * 100:+.1f} pts",
          help="Published pilot figure for comparison: about 11% of logged CPD met all the quality criteria")

st.plotly_chart(charts.trend(overview.by_year, baseline["academic_year"]))
year_table = overview.by_year.rename(columns={"share_meeting": "share of teachers meeting",
                                              "share_activities_all_aspects": "share of activities with all four"})
widgets.table(year_table)
widgets.downloads(year_table, "programme-by-year", "by-year")

left, right = st.columns(2)
with left:
    st.plotly_chart(charts.quadrant(overview.quadrant))
with right:
    st.plotly_chart(charts.provider_levels(overview.provider_levels))

phase_tab, la_tab, school_tab = st.tabs(["By phase", "By local authority", "By school"])
for tab, frame, name in ((phase_tab, overview.by_phase, "by-phase"), (la_tab, overview.by_local_authority, "by-la"),
                         (school_tab, overview.schools, "by-school")):
    with tab:
        widgets.table(frame)
        widgets.downloads(frame, f"{name}-{ctx.year.replace('/', '-')}", name)
