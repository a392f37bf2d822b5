"""Frameworks: rules with their sources; evaluators change thresholds and save a new version."""

import pandas as pd
import streamlit as st

from app import widgets
from app.state import context, store
from qa import engine
from qa.framework import (
    KITEMARK_FRAMEWORK,
    FrameworkError,
    benchmarks,
    load_framework,
    save_version,
    saved_versions,
    shipped_frameworks,
    with_overrides,
)

ctx = context()
db = store()
st.title("Frameworks")
ids = list(shipped_frameworks())
framework_id = st.selectbox("Framework", ids, index=ids.index(ctx.framework.id), key="fw_view",
                            format_func=lambda f: load_framework(f, db).title)
fw = load_framework(framework_id, db)
st.markdown(f"**{fw.title}** · version {fw.version}")
st.write(fw.summary)

if fw.rules:
    rules = pd.DataFrame([{"rule": r.title, "level": r.level, "metric": r.metric, "comparator": r.comparator,
                           "threshold": r.threshold, "period": r.period, "why": r.explanation,
                           "source": fw.sources[r.source]} for r in fw.rules])
    widgets.table(rules)
st.markdown("**Definitions**")
widgets.table(pd.DataFrame([fw.definitions.model_dump()]))
if fw.kitemark:
    st.markdown("**Kite-mark levels** (providers with fewer than "
                f"{fw.kitemark.min_teachers} teachers: insufficient evidence)")
    widgets.table(pd.DataFrame([{"level": lv.name, "metric": r.metric, "comparator": r.comparator,
                                 "threshold": r.threshold, "criterion": r.explanation}
                                for lv in fw.kitemark.levels for r in lv.rules]))
versions = saved_versions(db, framework_id)
if versions:
    # who saved a version is an evaluator's e-mail address: only evaluators see it
    by = ctx.viewer.role == "evaluator"
    widgets.caption("Saved versions: {}", ", ".join(f"v{v}" + (f" by {who}" if by else "") + f" on {when:%d %b %Y}"
                                                    for v, who, when in versions))

with st.expander("Benchmarks for context (not rules for teachers)"):
    widgets.table(pd.DataFrame(benchmarks()))

if ctx.viewer.role == "evaluator" and fw.rules:
    st.subheader("Change thresholds")
    st.caption("Saving creates a new version; earlier assessments keep the version they used.")
    overrides = {}
    cols = st.columns(3)
    for i, rule in enumerate(fw.rules):
        if isinstance(rule.threshold, bool):
            continue
        share = engine.is_share_metric(rule.metric)
        value = cols[i % 3].number_input(rule.title, value=float(rule.threshold), min_value=0.0,
                                         max_value=1.0 if share else 10_000.0, step=0.05 if share else 1.0,
                                         key=f"thr-{fw.id}-{rule.id}")
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
        filters = engine.Filters(year=ctx.year, as_of=ctx.as_of)
        before = engine.teacher_results(db, fw, filters).set_index(["school_id", "teacher_id"])["status"]
        after = engine.teacher_results(db, edited, filters).set_index(["school_id", "teacher_id"])["status"]
        changed = (before != after.reindex(before.index)).sum()
        gained = ((after == "met") | (after == "on_track")).sum() - ((before == "met") | (before == "on_track")).sum()
        st.info(f"In {ctx.year}, {changed} of {len(before)} teachers' results would change "
                f"({gained:+d} meeting the criteria or on track).", icon=":material/compare_arrows:")
        if st.button("Save as a new version", type="primary", key="save_fw"):
            saved = save_version(db, edited, ctx.viewer.email)
            st.success(f"Saved {saved.id} version {saved.version}.")
