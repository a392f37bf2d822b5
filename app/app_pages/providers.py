"""Providers: kite-mark levels, quality marks, programmes and recognition, scoped to the viewer.

Champions see their own school's use of each provider beside its public level and quality mark;
funders see programme-wide figures released through the disclosure-control layer.
"""

import streamlit as st

from app import widgets
from app.state import context, store
from qa import figures as charts
from qa import labels, views
from qa.disclosure import SUPPRESSION_NOTE, is_suppressed

ctx = context()
db = store()
widgets.require_data("Providers", bool(ctx.year))

with widgets.refusals_shown():
    page = views.provider_page(db, ctx.viewer, ctx.framework, ctx.year, ctx.as_of, ctx.through_term)
providers = page.providers
period = labels.period(ctx.year, ctx.through_term)
champion = ctx.viewer.role == "champion"
if champion:
    widgets.caption("Providers your school used in {}: your school's teachers and hours, beside each provider's "
                    "kite-mark level and external quality mark (judged on the whole programme's activities).",
                    period)
else:
    widgets.caption("Providers in {}, assessed developmentally from the activities that name them. Levels: Bronze, "
                    "Silver, Gold; fewer than 5 teachers is insufficient evidence." +
                    (" · {}" if ctx.viewer.role == "funder" else ""), period, SUPPRESSION_NOTE)
if providers.empty:
    widgets.empty_state(f"No activities name a provider in {period}.")
    st.stop()

renamed = {"kitemark_level": "level", "kitemark_limited_by": "what holds it back",
           "quality_mark_status": "quality mark", "quality_mark_expires_on": "mark expires"}
columns = ["provider", "kitemark_level", "kitemark_limited_by", "quality_mark_status", "quality_mark_expires_on",
           "teachers", "schools", "hours", "share_hours_all_aspects", "share_hours_3plus_aspects",
           "share_hours_sustained_programmes"]
shown = providers[[c for c in columns if c in providers]].rename(columns=renamed)
if champion:
    shown = shown.rename(columns={"teachers": "your teachers", "hours": "your hours",
                                  "share_hours_all_aspects": "share_of_your_hours_all_aspects",
                                  "share_hours_3plus_aspects": "share_of_your_hours_3plus_aspects",
                                  "share_hours_sustained_programmes": "share_of_your_hours_sustained"})
widgets.table(shown)
widgets.downloads(shown, f"providers-{period}", "providers")

st.subheader("One provider")
choice = st.selectbox("Provider", providers["provider"].tolist(), key="provider_pick")
row = providers[providers["provider"] == choice].iloc[0]
left, right = st.columns([1, 2])
with left:
    widgets.level_badge(row["kitemark_level"])
    limited = row.get("kitemark_limited_by")
    if isinstance(limited, str) and limited and not is_suppressed(limited):
        st.markdown("**What holds it back**")
        st.text(limited)
    mark = row["quality_mark_status"]
    expires = row["quality_mark_expires_on"]
    st.markdown(f"**External quality mark:** {widgets.literal(mark)}" + (
        f" (expires {expires:%d %b %Y})" if mark != "none" and expires is not None and str(expires) != "NaT" else ""))
    hours = row["hours"] if is_suppressed(row["hours"]) else f"{row['hours']:,.1f}"
    if champion:
        st.markdown(f"**Your school's teachers:** {row['teachers']}  \n**Your school's hours:** {hours}")
    else:
        st.markdown(f"**Teachers:** {row['teachers']}  \n**Schools:** {row['schools']}  \n**Hours:** {hours}")
with right:
    figure = charts.aspect_bars(row)
    if figure is None:
        st.info("This provider's figures are suppressed: " + SUPPRESSION_NOTE + ".", icon=":material/lock:")
    else:
        if champion:
            figure.update_layout(title={"text": "Share of your school's hours with this provider with each aspect"})
        st.plotly_chart(figure)

if not champion and not page.trend.empty:
    st.subheader("Kite-mark level and quality by year")
    years = "each year to the end of " + ctx.through_term if ctx.through_term else "each whole year"
    widgets.caption("Every provider in every year of the programme, {}, so years compare like with like." +
                    (" · {}" if ctx.viewer.role == "funder" else ""), years, SUPPRESSION_NOTE)
    history = page.trend[page.trend["provider_key"] == row["provider_key"]]
    left, right = st.columns(2)
    with left:
        st.plotly_chart(charts.level_trend(history, page.level_order), key="level-trend")
    with right:
        st.plotly_chart(charts.share_trend(history, "share_hours_all_aspects",
                                           "Share of this provider's hours with all four aspects"),
                        key="share-trend")
    trend_shown = page.trend.drop(columns="provider_key").rename(columns={"kitemark_level": "level"})
    widgets.table(trend_shown)
    widgets.downloads(trend_shown, f"providers-by-year-{years}", "providers-by-year")

st.subheader("Programmes and professional recognition")
if champion:
    st.caption("Your school's teachers on each programme, and who has reached its recognition (by staff code).")
# the shares keep their names: the label registry heads them and the table shows them as percentages
prog_shown = page.programmes.rename(columns={"recognised_staff": "recognised (staff codes)"})
widgets.table(prog_shown)
widgets.downloads(prog_shown, f"programmes-{period}", "programmes")
