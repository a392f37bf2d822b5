"""Providers: kite-mark levels, what limits them, quality marks, programmes and recognition."""

import streamlit as st

from app import widgets
from app.state import context, store
from qa import figures as charts
from qa import labels, views
from qa.access import is_suppressed

ctx = context()
db = store()
widgets.require_data("Providers", bool(ctx.year))

providers = views.provider_overview(db, ctx.viewer, ctx.framework, ctx.year, ctx.as_of, ctx.through_term)
period = labels.period(ctx.year, ctx.through_term)
note = " used by your school" if ctx.viewer.role == "champion" else ""
st.caption(f"Providers{note} in {period}, assessed developmentally from the activities that name them. "
           "Levels: Bronze, Silver, Gold; fewer than 5 teachers is insufficient evidence.")
if providers.empty:
    widgets.empty_state(f"No activities name a provider in {period}.")
    st.stop()

shown = providers[["provider", "kitemark_level", "kitemark_limited_by", "quality_mark_status",
                   "quality_mark_expires_on", "teachers", "schools", "hours", "share_hours_all_aspects",
                   "share_hours_3plus_aspects", "share_hours_sustained_programmes"]].rename(columns={
    "kitemark_level": "level", "kitemark_limited_by": "what holds it back", "quality_mark_status": "quality mark",
    "quality_mark_expires_on": "mark expires"})
widgets.table(shown, share_hours_all_aspects=widgets.share_column("hours with all four aspects"),
              share_hours_3plus_aspects=widgets.share_column("hours with 3+ aspects"),
              share_hours_sustained_programmes=widgets.share_column("hours in sustained programmes"))
widgets.downloads(shown, f"providers-{period}", "providers")

st.subheader("One provider")
choice = st.selectbox("Provider", providers["provider"].tolist(), key="provider_pick")
row = providers[providers["provider"] == choice].iloc[0]
left, right = st.columns([1, 2])
with left:
    widgets.level_badge(row["kitemark_level"])
    if isinstance(row["kitemark_limited_by"], str) and row["kitemark_limited_by"]:
        st.markdown("**What holds it back**")
        st.text(row["kitemark_limited_by"])
    mark = row["quality_mark_status"]
    expires = row["quality_mark_expires_on"]
    st.markdown(f"**External quality mark:** {mark}" + (f" (expires {expires:%d %b %Y})" if mark != "none"
                                                        and expires is not None and str(expires) != "NaT" else ""))
    hours = row["hours"] if is_suppressed(row["hours"]) else f"{row['hours']:,.1f}"
    st.markdown(f"**Teachers:** {row['teachers']}  \n**Schools:** {row['schools']}  \n**Hours:** {hours}")
with right:
    st.plotly_chart(charts.aspect_bars(row))

st.subheader("Programmes and professional recognition")
programmes = views.programme_overview(db, ctx.viewer, ctx.framework, ctx.year, ctx.as_of, ctx.through_term)
if ctx.viewer.role == "champion":
    programmes = programmes[programmes["provider"].isin(providers["provider"])]
prog_shown = programmes.rename(columns={
    "share_hours_self_reported_sustained": "hours flagged sustained by teachers",
    "share_teachers_sustained_by_dates": "teachers spanning 2+ terms (from dates)"})
widgets.table(prog_shown)
widgets.downloads(prog_shown, f"programmes-{period}", "programmes")
