"""Frameworks: rules with their sources; evaluators change thresholds, compare versions and revert."""

import pandas as pd
import streamlit as st

from app import widgets
from app.state import context, store
from qa import engine, labels
from qa.framework import (
    KITEMARK_FRAMEWORK,
    FrameworkError,
    benchmarks,
    is_share_metric,
    load_framework,
    revert_to,
    save_version,
    saved_versions,
    shipped_frameworks,
    versions,
    with_overrides,
)

ctx = context()
db = store()
st.title("Frameworks")
ids = list(shipped_frameworks())
framework_id = st.selectbox("Framework", ids, index=ids.index(ctx.framework.id), key="fw_view",
                            format_func=lambda f: shipped_frameworks()[f].title)
fw = ctx.framework if framework_id == ctx.framework.id else load_framework(framework_id, db)
all_versions = versions(db, framework_id)
newest = all_versions[-1]
st.markdown(f"**{fw.title}** · version {fw.version}" + ("" if fw.version == newest else f" (newest is {newest})"))
st.write(fw.summary)


def threshold_text(metric: str, comparator: str, threshold: float | bool) -> str:
    return labels.criterion(metric, comparator, threshold)


if fw.rules:
    widgets.table(pd.DataFrame([{"Rule": r.title, "Applies to": labels.LEVELS[r.level],
                                 "Criterion": threshold_text(r.metric, r.comparator, r.threshold),
                                 "Period": r.period, "Why": r.explanation, "Source": fw.sources[r.source]}
                                for r in fw.rules]))
st.markdown("**Definitions**")
widgets.table(pd.DataFrame([{"Setting": labels.label(k), "Value": labels.figure(k, v) if isinstance(v, bool) else v}
                            for k, v in fw.definitions.model_dump().items()]))
if fw.kitemark:
    st.markdown("**Kite-mark levels** (providers with fewer than "
                f"{fw.kitemark.min_teachers} teachers: insufficient evidence)")
    widgets.table(pd.DataFrame([{"Level": lv.name, "Criterion": threshold_text(r.metric, r.comparator, r.threshold),
                                 "Why": r.explanation} for lv in fw.kitemark.levels for r in lv.rules]))
versions = saved_versions(db, framework_id)
if versions:
    # who saved a version is an evaluator's e-mail address: only evaluators see it
    by = ctx.viewer.role == "evaluator"
    widgets.caption("Saved versions: {}", ", ".join(f"v{v}" + (f" by {who}" if by else "") + f" on {when:%d %b %Y}"
                                                    for v, who, when in versions))

with st.expander("Benchmarks for context (not rules for teachers)"):
    widgets.table(pd.DataFrame(benchmarks()))


def show_comparison(before, after, key: str) -> None:
    """Which results change between two versions, by school, in the selected year and period."""
    filters = engine.Filters(year=ctx.year, through_term=ctx.through_term, as_of=ctx.as_of)
    diff = engine.compare_frameworks(db, before, after, filters)
    changed = int(diff["results_changed"].sum()) if len(diff) else 0
    gained = int(diff["meeting_or_on_track_after"].sum() - diff["meeting_or_on_track_before"].sum()) if len(diff) \
        else 0
    st.info(f"In {labels.period(ctx.year, ctx.through_term)}, {changed} of {int(diff['teachers'].sum())} teachers' "
            f"results would change ({gained:+d} meeting the criteria or on track), in "
            f"{int((diff['results_changed'] > 0).sum())} of {len(diff)} schools.", icon=":material/compare_arrows:")
    moved = diff[diff["results_changed"] > 0]
    if len(moved):
        widgets.table(moved)
        widgets.downloads(moved, f"{framework_id}-v{before.version}-v{after.version}-changes", key)


if ctx.viewer.role == "evaluator" and framework_id != KITEMARK_FRAMEWORK and len(all_versions) > 1 and ctx.year:
    st.subheader("Compare versions")
    left, right = st.columns(2)
    a = left.selectbox("Version", all_versions, index=len(all_versions) - 2, key=f"cmp-a-{framework_id}",
                       format_func=lambda v: f"version {v}")
    b = right.selectbox("with version", all_versions, index=len(all_versions) - 1, key=f"cmp-b-{framework_id}",
                        format_func=lambda v: f"version {v}")
    if a == b:
        st.caption("Pick two different versions to compare.")
    else:
        show_comparison(load_framework(framework_id, db, a), load_framework(framework_id, db, b), "compare")
    older = [v for v in all_versions if v != newest]
    back = st.selectbox("Judge by an earlier version again", older, index=len(older) - 1,
                        key=f"revert-{framework_id}", format_func=lambda v: f"version {v}")
    if st.button(f"Save version {back} as version {newest + 1}", key="revert_fw"):
        saved_fw = revert_to(db, framework_id, back, ctx.viewer.email)
        st.success(f"Saved {saved_fw.id} version {saved_fw.version}, a copy of version {back}. "
                   "Earlier versions are kept.")

if ctx.viewer.role == "evaluator" and fw.rules:
    st.subheader("Change thresholds")
    st.caption(f"Starting from version {fw.version}. Saving creates a new version; earlier assessments keep the "
               "version they used.")
    overrides = {}
    cols = st.columns(3)
    for i, rule in enumerate(fw.rules):
        if isinstance(rule.threshold, bool):
            continue
        share = is_share_metric(rule.metric)
        unit = "share, 0 to 1" if share else ("hours" if labels.unit(rule.metric) == "h" else "number")
        value = cols[i % 3].number_input(
            f"{labels.label(rule.metric)}: {labels.COMPARATORS[rule.comparator]} ({unit})",
            value=float(rule.threshold), min_value=0.0, max_value=1.0 if share else 2000.0,
            step=0.05 if share else 1.0, key=f"thr-{fw.id}-{rule.id}", help=rule.title)
        if value != float(rule.threshold):
            overrides[rule.id] = value
    d = fw.definitions
    k = cols[0].selectbox("Aspects needed for a quality activity", [4, 3, 2, 1], index=[4, 3, 2, 1].index(
        d.quality_min_aspects), key=f"k-{fw.id}", format_func=lambda n: f"at least {n} of 4")
    fte = cols[1].toggle("Pro rata by FTE", value=d.pro_rata_fte, key=f"fte-{fw.id}")
    recognised = cols[2].toggle("Only hours from accredited programmes or marked providers count",
                                value=d.only_recognised_hours, key=f"rec-{fw.id}")
    for name, new, old in (("quality_min_aspects", k, d.quality_min_aspects), ("pro_rata_fte", fte, d.pro_rata_fte),
                           ("only_recognised_hours", recognised, d.only_recognised_hours)):
        if new != old:
            overrides[name] = new
    if overrides and ctx.year and framework_id != KITEMARK_FRAMEWORK:
        try:
            edited = with_overrides(fw, overrides)
        except FrameworkError as exc:
            st.error(str(exc))
            st.stop()
        show_comparison(fw, edited, "preview")
        if st.button("Save as a new version", type="primary", key="save_fw"):
            saved_fw = save_version(db, edited, ctx.viewer.email)
            st.success(f"Saved {saved_fw.id} version {saved_fw.version}.")
