"""Termly round (evaluators): returns received or missing, rows to fix, warnings and teachers at risk,
school by school and term by term; a chase-up list to send; every teacher at risk in the programme."""

from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from app import widgets
from app.state import context, store
from qa import labels, termly

ctx = context()
db = store()
st.title("Termly round")
widgets.evaluators_only(ctx.viewer)
if not ctx.year:
    widgets.empty_state("No CPD returns yet. Add termly returns on the Upload page; the round starts with them.")
    st.stop()

with widgets.refusals_shown():
    rnd = termly.termly_round(db, ctx.viewer, ctx.framework, ctx.year, ctx.as_of, ctx.through_term)
grid = rnd.grid
period = labels.period(ctx.year, ctx.through_term)
widgets.caption("{} · judged by {} v{} · as of {}", period, ctx.framework.title, ctx.framework.version,
                f"{ctx.as_of:%d %b %Y}")

cells = grid[grid["term"].notna()]
k1, k2, k3, k4 = st.columns(4)
k1.metric("Returns received", f"{(cells['state'] == termly.RECEIVED).sum():,}", border=True,
          help="School-terms with a return that counts.")
k2.metric("Missing returns", f"{(cells['state'] == termly.MISSING).sum():,}", border=True,
          help="School-terms already begun with no return.")
k3.metric("Rows kept aside", f"{int(grid['kept_aside'].sum()):,}", border=True,
          help="Rows that could not be read and have not been sent again since.")
k4.metric("Schools to chase", f"{rnd.chase_up['school_id'].nunique():,}", border=True)

STATE_WORDS = {termly.RECEIVED: "received", termly.MISSING: "MISSING", termly.NOT_STARTED: "not begun"}


def cell_text(row) -> str:
    if row.state != termly.RECEIVED:
        return STATE_WORDS[row.state]
    return f"{termly.uploads_text(row.uploads)} on {row.received_on:%d %b %Y}"


def wide(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per school, four columns per term (the grid as an evaluator reads it)."""
    base = {k: v for k, v in st.query_params.to_dict().items() if k != "school"}
    schools = frame[["school_id", "name"]].drop_duplicates("school_id").set_index("school_id")
    out = pd.DataFrame({"School": schools["name"], "Code": schools.index,
                        "Dashboard": [f"school?{urlencode({**base, 'school': s})}" for s in schools.index]},
                       index=schools.index)
    parts = {term: frame[frame["term"] == term].set_index("school_id") for term in rnd.terms}
    for term, part in parts.items():  # the returns side by side, then each figure term by term
        out[f"{term}: return"] = pd.Series([cell_text(r) for r in part.itertuples()], index=part.index)
    for column, figure in (("kept_aside", "kept aside"), ("warnings", "warnings"), ("at_risk", "at risk")):
        for term, part in parts.items():
            out[f"{term}: {figure}"] = part[column]
    unknown = frame[frame["term"].isna()].set_index("school_id")["kept_aside"]
    if len(unknown):
        out["Kept aside, term not known"] = unknown.reindex(out.index).fillna(0).astype("int64")
    # missing returns first, then rows to correct: what a round chases; then by school code
    by_school = frame.groupby("school_id")
    out["_missing"] = by_school["state"].apply(lambda s: int((s == termly.MISSING).sum()))
    out["_kept"] = by_school["kept_aside"].sum()
    out = out.sort_values(["_missing", "_kept", "Code"], ascending=[False, False, True])
    return out.drop(columns=["_missing", "_kept"]).reset_index(drop=True)


st.subheader("Schools by term")
st.caption("Each term: the return received (upload numbers and date) or MISSING, rows kept aside that still "
           "need correcting, warnings on rows that count, and teachers short of the criteria by the end of "
           "the term. Schools with missing returns come first, then those with rows to correct. Open a school's "
           "dashboard from its link, or pick it below.")
needing = st.toggle("Only schools with something to chase", key="termly_only_chase")
view = wide(grid[grid["school_id"].isin(rnd.chase_up["school_id"])] if needing else grid)
if view.empty:
    st.caption("Nothing to chase: every school has its returns in, with no rows kept aside and no warnings."
               if needing else "No schools yet.")
else:
    st.dataframe(view, hide_index=True, column_config={
        "Dashboard": st.column_config.LinkColumn("Dashboard", display_text="Open"),
        **{c: st.column_config.NumberColumn(c) for c in view.columns if c.endswith(("kept aside", "warnings",
                                                                                   "at risk"))}})
    names = dict(zip(view["Code"], view["School"], strict=True))
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    pick = left.selectbox("School dashboard for", list(names), key="termly_school",
                          format_func=lambda s: f"{names[s]} ({s})")
    if right.button("Open dashboard", key="termly_open"):
        st.switch_page("app/app_pages/school.py", query_params={**st.query_params.to_dict(), "school": pick})
    widgets.downloads(lambda: view.drop(columns="Dashboard"), f"termly-round-{ctx.year}", "termly-grid")

st.subheader("Chase-up list")
if rnd.chase_up.empty:
    st.caption("Nothing to chase: every return so far is in, with no rows kept aside and no warnings.")
else:
    chase = rnd.chase_up.rename(columns={"name": "school", "to_do": "what to ask for"})
    widgets.table(chase)
    widgets.downloads(chase, f"chase-up-{ctx.year}", "chase-up")

st.subheader("Teachers at risk across the programme")
with widgets.refusals_shown():
    risk = termly.at_risk_teachers(db, ctx.viewer, ctx.framework, ctx.year, ctx.as_of, ctx.through_term)
st.caption(f"Every teacher short of the criteria in {period}: needing support while the year is under way, "
           "not yet meeting them once it is over.")
if risk.empty:
    st.caption("No teacher is at risk.")
else:
    risk = risk.rename(columns={"name": "school"})
    size = 100
    pages = -(-len(risk) // size)
    number = 1
    if pages > 1:
        left, right = st.columns([1, 3], vertical_alignment="bottom")
        number = left.number_input(f"Page (of {pages:,})", min_value=1, max_value=pages, value=1, step=1,
                                   key="at-risk-page")
        right.caption(f"Rows {(number - 1) * size + 1:,}–{min(number * size, len(risk)):,} of {len(risk):,}")
    widgets.table(risk.iloc[(number - 1) * size:number * size])
    widgets.downloads(risk, f"teachers-at-risk-{ctx.year}", "at-risk")
