"""School dashboard: a champion's own school, or any school for an evaluator."""

import streamlit as st

from app import widgets
from app.state import context, store
from qa import audit, labels, reports, views
from qa import figures as charts

ctx = context()
db = store()
schools = views.visible_schools(db, ctx.viewer)
widgets.require_data("School dashboard", bool(ctx.year) and not schools.empty)

ids = schools["school_id"].tolist()
names = dict(zip(schools["school_id"], schools["name"], strict=True))
requested = st.query_params.get("school")
if ctx.viewer.role == "champion":
    if requested and requested != ctx.viewer.school_id:
        audit.record(db, ctx.viewer.email, "access refused", f"school dashboard for school {requested}")
        st.error("You can see your own school's data only.", icon=":material/lock:")
        st.stop()
    school_id = ctx.viewer.school_id
else:
    school_id = st.selectbox("School", ids, index=ids.index(requested) if requested in ids else 0,
                             format_func=lambda s: f"{names[s]} ({s})", key="school_pick")
    st.query_params["school"] = school_id

with widgets.refusals_shown():
    board = views.school_dashboard(db, ctx.viewer, school_id, ctx.framework, ctx.year, ctx.through_term, ctx.as_of)

period = labels.period(ctx.year, ctx.through_term)
widgets.caption("{} ({}) · {} · {} v{}", board.name, school_id, period, ctx.framework.title, ctx.framework.version)
widgets.report_download(
    "School report (PDF)",
    lambda: reports.school_report_pdf(db, ctx.viewer, school_id, ctx.framework, ctx.year, ctx.viewer.email,
                                      ctx.as_of, ctx.through_term),
    widgets.safe_name(f"cpd-report-{school_id}-{period}") + ".pdf", "application/pdf", "school-pdf")
if board.summary is None:
    widgets.empty_state(f"No activities recorded for {widgets.literal(board.name)} in {period}. "
                        "Upload the school's termly return.")
    st.stop()

s = board.summary
in_progress = bool(s["in_progress"])
hours_rule = next((r for r in ctx.framework.rules_at("teacher-year") if r.metric == "counted_hours"), None)
threshold = float(hours_rule.threshold) if hours_rule else None
k1, k2, k3, k4, k5 = st.columns(5)
silent = int(s["teachers_without_records"])
k1.metric("Teachers", int(s["teachers"]), border=True,
          help=f"{silent} listed with no CPD recorded" if silent else None)
if in_progress:
    on_track = int(s["teachers_met_or_on_track"])
    k2.metric("On track", f"{on_track} ({widgets.pct(on_track / s['teachers'])})", border=True,
              help="Counted hours at least the pro-rata share of the year's target, and the other criteria met")
else:
    k2.metric("Meet the criteria", f"{int(s['teachers_meeting'])} ({widgets.pct(s['share_meeting'])})", border=True,
              help="Teachers who meet every teacher-level criterion of the framework for the year")
k3.metric("Median hours", f"{s['median_counted_hours']:.1f}", border=True,
          help="Median counted hours per teacher: hours of quality CPD aligned to the teacher's needs")
k4.metric("All four DfE aspects", widgets.pct(s["share_activities_all_aspects"]), border=True,
          help="Share of activities with all four DfE aspects")
if board.baseline is not None:
    change = (s["share_meeting"] - board.baseline["share_meeting"]) * 100
    k5.metric(f"Since {board.baseline_year}", f"{change:+.0f} pts", border=True,
              help=f"Change in the share meeting the criteria since the baseline year {board.baseline_year} "
                   f"({widgets.pct(board.baseline['share_meeting'])} then)")
else:
    k5.metric("Since baseline", "–", border=True, help="This is the school's first year of records")
if board.missing_terms:
    st.warning("No return received for: " + ", ".join(board.missing_terms), icon=":material/assignment_late:")

progress_tab, quality_tab, teachers_tab = st.tabs(["Progress", "Quality and mix", "Teachers"])
with progress_tab:
    left, right = st.columns(2)
    left.plotly_chart(charts.cumulative_hours(board.progress, threshold))
    right.plotly_chart(charts.hours_distribution(board.teachers, threshold))
with quality_tab:
    st.plotly_chart(charts.aspect_heatmap(board.aspects_by_term))
    left, right = st.columns(2)
    left.plotly_chart(charts.mix_bar(board.activity_mix, "activity_type", "Hours by type of activity"))
    right.plotly_chart(charts.mix_bar(board.provider_mix.head(12), "provider", "Hours by provider"))
with teachers_tab:
    st.caption("Listed by staff code. What each teacher is short of comes from the framework's rules; "
               "this is for planning support, not for ranking staff.")
    shown = board.teachers[["teacher_id", "status", "total_hours", "counted_hours", "subject_specific_share",
                            "meets_framework", "explanation"]].copy()
    shown["status"] = shown["status"].map(labels.STATUSES)
    widgets.table(shown, subject_specific_share=widgets.share_column("Subject-specific share"),
                  meets_framework=st.column_config.CheckboxColumn(
                      "Meets the criteria" + (" (whole year)" if in_progress else "")))
    widgets.downloads(shown, f"teachers-{school_id}-{period}", "teachers")
