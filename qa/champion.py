"""What a school's CPD champion reads first: where each teacher's hours went, the headline measure,
the DfE 5 attestation and the staff's recognitions.

Every figure is computed by appending to the engine's own SQL (`engine._teacher_query`,
`engine._programme_sql`), so the breakdown reads the very flags (`is_quality`, `is_counted`) and
windows the framework's rules are judged on; nothing here re-decides what counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from qa import engine, schema
from qa.framework import KITEMARK_FRAMEWORK, Framework, Rule, load_framework
from qa.labels import ASPECTS_SHORT
from qa.store import Store


def hours_rule(framework: Framework) -> Rule | None:
    """The framework's teacher-year rule on counted hours (the yearly target), if it has one."""
    return next((r for r in framework.rules_at("teacher-year") if r.metric == "counted_hours"), None)


def teacher_breakdown(store: Store, framework: Framework, filters: engine.Filters) -> pd.DataFrame:
    """Per teacher: logged -> quality (hours lacking each aspect) -> aligned -> counted hours, and the
    shortfall against the hours target to date (pro rata by terms when the rule says so)."""
    return store.cached(("teacher breakdown", framework.model_dump_json(), filters),
                        lambda: _teacher_breakdown(store, framework, filters))


def _teacher_breakdown(store: Store, framework: Framework, filters: engine.Filters) -> pd.DataFrame:
    frame = engine._level_df(store, lambda spans_table: _breakdown_sql(store, framework, filters, spans_table))
    frame["where_hours_went"] = [where_hours_went(row, framework) for row in frame.to_dict("records")]
    return frame


def _breakdown_sql(store: Store, framework: Framework, filters: engine.Filters,
                   spans_table: str | None) -> tuple[str, dict]:
    """The breakdown's query, reading the programme spans kept for the data version as the levels do."""
    d = framework.definitions
    sql, params = engine._teacher_query(store, framework, filters, spans_table, per_activity_flag=False)
    aligned = "aligned_to_needs" if d.counted_requires_aligned else "TRUE"
    lacking = ",\n".join(f"SUM(CASE WHEN NOT is_quality AND NOT {a} THEN hours ELSE 0 END) AS lacking_{a}"
                         for a in schema.DFE_ASPECTS)
    rule = hours_rule(framework)
    if rule is None:
        target = "CAST(NULL AS DOUBLE)"
    else:
        fte = " * p_fte" if d.pro_rata_fte else ""
        pro_rata = " * terms_elapsed / 3.0" if rule.pro_rata_terms else ""
        target = f"({float(rule.threshold)!r}{fte}{pro_rata})"
    sql += f""",
    bd AS (
        SELECT school_id, teacher_id, academic_year,
               SUM(CASE WHEN is_quality AND {aligned} THEN hours ELSE 0 END) AS aligned_hours,
               {lacking}
        FROM flagged GROUP BY school_id, teacher_id, academic_year)
    SELECT tr.school_id, tr.academic_year, tr.teacher_id, tr.status, tr.total_hours, tr.quality_hours,
           ROUND(COALESCE(bd.aligned_hours, 0), 6) AS aligned_hours, tr.counted_hours,
           {', '.join(f'ROUND(COALESCE(bd.lacking_{a}, 0), 6) AS lacking_{a}' for a in schema.DFE_ASPECTS)},
           ROUND({target}, 6) AS target_hours,
           CASE WHEN {target} IS NOT NULL THEN GREATEST(ROUND({target}, 6) - tr.counted_hours, 0) END
               AS shortfall_hours,
           tr.subject_specific_share, tr.meets_framework, tr.explanation, tr.no_records
    FROM teacher_result tr
    LEFT JOIN bd ON bd.school_id = tr.school_id AND bd.teacher_id = tr.teacher_id
                AND bd.academic_year = tr.academic_year
    ORDER BY tr.school_id, tr.academic_year, tr.teacher_id"""
    return sql, params


def _h(value: float) -> str:
    """Hours to one decimal, or two when one would round a real shortfall down to '0.0 h'."""
    return f"{value:.2f} h" if 0 < abs(value) < 0.05 else f"{value:.1f} h"


def where_hours_went(row: dict, framework: Framework) -> str:
    """The breakdown in words: which stage lost which hours, and why."""
    d = framework.definitions
    logged, quality, aligned, counted = (row["total_hours"], row["quality_hours"], row["aligned_hours"],
                                         row["counted_hours"])
    quality_is = "all four DfE aspects" if d.quality_min_aspects == 4 else \
        f"at least {d.quality_min_aspects} of the four DfE aspects"
    parts = [f"{_h(logged)} logged."]
    if row["no_records"] or not logged:
        parts = ["No CPD recorded."]
    elif logged - quality > 1e-9:
        missing = [f"{ASPECTS_SHORT[a]} {_h(row[f'lacking_{a}'])}" for a in schema.DFE_ASPECTS
                   if row[f"lacking_{a}"] > 1e-9]
        parts.append(f"{_h(logged - quality)} without {quality_is} (lacking {', '.join(missing)}), "
                     f"leaving {_h(quality)} of quality CPD.")
    else:
        parts.append(f"All of it has {quality_is}.")
    if d.counted_requires_aligned and quality - aligned > 1e-9:
        parts.append(f"{_h(quality - aligned)} of that not aligned to the teacher's needs, leaving {_h(aligned)}.")
    if d.only_recognised_hours and aligned - counted > 1e-9:
        parts.append(f"{_h(aligned - counted)} not from an accredited programme or a provider with a current "
                     "quality mark.")
    if logged:
        parts.append(f"{_h(counted)} counted.")
    target = row["target_hours"]
    if target is not None and not pd.isna(target):
        which = "to date" if row["status"] in ("on_track", "at_risk") else "for the year"
        if row["shortfall_hours"] > 1e-9:
            parts.append(f"Short of the {_h(target)} target {which} by {_h(row['shortfall_hours'])}.")
        else:
            parts.append(f"Reaches the {_h(target)} target {which}.")
    return " ".join(parts)


@dataclass(frozen=True)
class Headline:
    """The one measure the KPI cards speak of: on track while the period is in progress, meeting at year end."""

    label: str
    count: int
    share: float
    meaning: str


def headline(summary: pd.Series) -> Headline:
    teachers = int(summary["teachers"])
    if bool(summary["in_progress"]):
        count = int(summary["teachers_met_or_on_track"])
        return Headline("On track", count, count / teachers if teachers else 0.0,
                        "the share of teachers on track (counted hours at least the pro-rata share of the "
                        "year's target, and the other criteria met)")
    return Headline("Meet the criteria", int(summary["teachers_meeting"]), float(summary["share_meeting"]),
                    "the share of teachers meeting every teacher-level criterion for the year")


def change_since_baseline(summary: pd.Series, baseline: pd.Series | None) -> float | None:
    """Percentage points between the baseline year and this one, of the same measure over the same terms;
    None when there is no baseline, or none judged the same way (a year not yet begun)."""
    if baseline is None:
        return None
    now, then = headline(summary), headline(baseline)
    if now.label != then.label:
        return None
    return (now.share - then.share) * 100


def attestation(store: Store, school_id: str, year: str) -> bool | None:
    """The school's DfE 5 attestation for the year (leadership prioritises CPD), or None if none is recorded."""
    return store.scalar("SELECT leadership_prioritised FROM attestations WHERE school_id = ? AND academic_year = ?",
                        [school_id, year])


def recognitions_earned(store: Store, framework: Framework, filters: engine.Filters) -> pd.DataFrame:
    """Recognised teachers (the engine's judgement) and the date each recognition was earned: the first
    activity date by which the hours and terms within the programme's window reached its minimum."""
    kitemark = framework if framework.recognition else load_framework(KITEMARK_FRAMEWORK, store)
    return store.cached(("recognitions earned", framework.model_dump_json(), kitemark.model_dump_json(), filters),
                        lambda: _recognitions_earned(store, framework, filters, kitemark))


def _recognitions_earned(store: Store, framework: Framework, filters: engine.Filters,
                         kitemark: Framework) -> pd.DataFrame:
    sql, params = engine._programme_sql(framework, filters, kitemark)
    sql += f""",
    win AS (
        SELECT f.programme, f.school_id, f.teacher_id, f.academic_year, f.term, f.activity_date, f.hours,
               tpr.min_hours, COALESCE(tpr.min_terms, 1) AS min_terms, tpr.recognition_title,
               tpr.registered_provider, tpr.provider_as_logged
        FROM flagged f
        JOIN tpr ON tpr.programme = f.programme AND tpr.school_id = f.school_id AND tpr.teacher_id = f.teacher_id
        LEFT JOIN programmes pg ON pg.programme = f.programme
        WHERE tpr.recognised AND {engine.programme_window_sql("f")}),
    marked AS (
        SELECT *, (ROW_NUMBER() OVER (PARTITION BY programme, school_id, teacher_id, academic_year, term
                                      ORDER BY activity_date) = 1) AS first_in_term
        FROM win),
    running AS (
        SELECT *, SUM(hours) OVER w AS hours_so_far,
               SUM(CASE WHEN first_in_term THEN 1 ELSE 0 END) OVER w AS terms_so_far
        FROM marked
        WINDOW w AS (PARTITION BY programme, school_id, teacher_id ORDER BY activity_date
                     RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW))
    SELECT teacher_id, programme, COALESCE(MIN(registered_provider), MIN(provider_as_logged)) AS provider,
           MIN(recognition_title) AS recognition_title,
           MIN(CASE WHEN ROUND(hours_so_far, 6) >= ROUND(min_hours, 6) AND terms_so_far >= min_terms
                    THEN activity_date END) AS earned_on
    FROM running GROUP BY school_id, teacher_id, programme ORDER BY teacher_id, programme"""
    return store.query_df(sql, params)
