"""School dashboard: a champion's own school, or any school for an evaluator."""

import streamlit as st

from app import widgets
from app.state import context, store
from qa import audit, champion, labels, reports, views
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
hours_rule = champion.hours_rule(ctx.framework)
threshold = float(hours_rule.threshold) if hours_rule else None
judged = champion.headline(s)
k1, k2, k3, k4, k5 = st.columns(5)
silent = int(s["teachers_without_records"])
k1.metric("Teachers", int(s["teachers"]), border=True,
          help=f"{silent} listed with no CPD recorded" if silent else None)
k2.metric(judged.label, f"{judged.count} ({widgets.pct(judged.share)})", border=True,
          help=judged.meaning[:1].upper() + judged.meaning[1:])
k3.metric("Median hours", f"{s['median_counted_hours']:.1f}", border=True,
          help=f"Median counted hours per teacher in {period}: quality CPD hours aligned to the teacher's needs")
k4.metric("All four DfE aspects", widgets.pct(s["share_activities_all_aspects"]), border=True,
          help="Share of activities in " + period + " with all four DfE aspects")
change = champion.change_since_baseline(s, board.baseline)
if change is not None:
    then = champion.headline(board.baseline)
    k5.metric(f"Change since {board.baseline_year}", f"{change:+.0f} pts", border=True,
              help=f"Change in {judged.meaning}: {labels.period(board.baseline_year, board.baseline_span)} "
                   f"{widgets.pct(then.share)}, {labels.period(ctx.year, board.baseline_span)} "
                   f"{widgets.pct(judged.share)}")
else:
    k5.metric("Change since baseline", "–", border=True,
              help="No earlier year to compare over the same terms: this is the school's first year of records, "
                   "or this year has not begun")
if board.missing_terms:
    st.warning("No return received for: " + ", ".join(board.missing_terms), icon=":material/assignment_late:")

st.subheader("What to work on next")
steps = reports.next_steps(ctx.framework, board.teachers, board.aspects_by_term, board.missing_terms)
st.markdown("\n".join(f"- {widgets.literal(step)}" for step in steps))
st.markdown(widgets.literal(reports.attestation_text(board.leadership_prioritised, ctx.year)))

teachers_tab, progress_tab, recognition_tab, quality_tab = st.tabs(
    ["Teachers", "Progress", "Recognition and providers", "Quality and mix"])
with teachers_tab:
    st.caption("Listed by staff code. Where each teacher's logged hours went, stage by stage, and what they are "
               "short of, from the framework's rules; this is for planning support, not for ranking staff.")
    columns = ["teacher_id", "status", "total_hours", "quality_hours", "aligned_hours", "counted_hours",
               "target_hours", "shortfall_hours", "where_hours_went", "explanation", "subject_specific_share",
               "meets_framework"]
    if not ctx.framework.definitions.counted_requires_aligned:
        columns.remove("aligned_hours")
    if hours_rule is None:
        columns = [c for c in columns if c not in ("target_hours", "shortfall_hours")]
    shown = board.breakdown[columns].copy()
    shown["status"] = shown["status"].map(labels.STATUSES)
    widgets.table(shown, subject_specific_share=widgets.share_column("Subject-specific share"),
                  where_hours_went=st.column_config.TextColumn(labels.label("where_hours_went"), width="large"),
                  meets_framework=st.column_config.CheckboxColumn(
                      "Meets the criteria" + (" (whole year)" if in_progress else "")))
    widgets.downloads(shown, f"teachers-{school_id}-{period}", "teachers")
    if len(shown):
        pick = st.selectbox("One teacher, in full", shown["teacher_id"].tolist(), key="teacher_pick")
        row = shown[shown["teacher_id"] == pick].iloc[0]
        st.markdown(f"**{widgets.literal(pick)}** ({row['status']}): {widgets.literal(row['where_hours_went'])}"
                    + (f"  \n**What is short:** {widgets.literal(row['explanation'])}"
                       if isinstance(row["explanation"], str) and row["explanation"] else ""))
with progress_tab:
    left, right = st.columns(2)
    left.plotly_chart(charts.cumulative_hours(board.progress, threshold))
    right.plotly_chart(charts.hours_distribution(board.teachers, threshold))
with recognition_tab:
    st.markdown("**Recognitions your staff have earned**")
    if board.recognitions.empty:
        st.caption(f"No teacher has reached a programme's recognition in {period}.")
    else:
        widgets.table(board.recognitions)
        widgets.downloads(board.recognitions, f"recognitions-{school_id}-{period}", "recognitions")
    st.markdown("**Your school's use of each provider**")
    if board.provider_use.empty:
        st.caption(f"No activities name a provider in {period}.")
    else:
        use = board.provider_use[["provider", "teachers", "hours", "activities", "kitemark_level",
                                  "quality_mark_status", "quality_mark", "quality_mark_level"]].rename(
            columns={"teachers": "your teachers", "hours": "your hours", "activities": "your activities"})
        st.caption("Level and quality mark are the provider's public judgements, made on the whole programme.")
        widgets.table(use)
        widgets.downloads(use, f"providers-{school_id}-{period}", "provider-use")
with quality_tab:
    st.plotly_chart(charts.aspect_heatmap(board.aspects_by_term))
    left, right = st.columns(2)
    left.plotly_chart(charts.mix_bar(board.activity_mix, "activity_type", "Hours by type of activity"))
    right.plotly_chart(charts.mix_bar(board.provider_mix.head(12), "provider", "Hours by provider"))
