"""Plain-English names (and units) for every figure and column users see, beside the metrics in `qa`.

Pages, charts, reports and exports call `label` / `labelled` so that no snake_case reaches a reader.
A name missing here still reads as words ("some_new_metric" -> "Some new metric"), never as code.
"""

from __future__ import annotations

import pandas as pd

# name: (label, unit) — unit is "h", "%", "count", "yes/no", "date" or "" for text.
LABELS: dict[str, tuple[str, str]] = {
    # teacher-year metrics and results
    "teacher_id": ("Teacher (staff code)", ""),
    "school_id": ("School code", ""),
    "academic_year": ("Academic year", ""),
    "total_hours": ("All CPD hours", "h"),
    "quality_hours": ("Quality CPD hours", "h"),
    "counted_hours": ("Counted hours", "h"),
    "aligned_hours": ("Quality hours aligned to needs", "h"),
    "target_hours": ("Hours target to date", "h"),
    "shortfall_hours": ("Short of the target by", "h"),
    "where_hours_went": ("Where the hours went", ""),
    "earned_on": ("Date earned", "date"),
    "subject_specific_share": ("Subject-specific share of counted hours", "%"),
    "quality_share": ("Share of hours with all four aspects", "%"),
    "collaborative_sustained_hours": ("Collaborative and sustained hours", "h"),
    "activities": ("Activities", "count"),
    "activities_all_aspects": ("Activities with all four aspects", "count"),
    "no_records": ("No CPD recorded", "yes/no"),
    "meets_framework": ("Meets the criteria", "yes/no"),
    "meets_hours": ("Meets the hours", "yes/no"),
    "meets_subject": ("Meets the subject-specific share", "yes/no"),
    "meets_quality_share": ("Half of hours meet all four statements", "yes/no"),
    "collaborative_sustained": ("Some collaborative and sustained CPD", "yes/no"),
    "status": ("Status", ""),
    "explanation": ("What is short", ""),
    # school-year metrics
    "teachers": ("Teachers", "count"),
    "teachers_meeting": ("Teachers meeting the criteria", "count"),
    "teachers_met_or_on_track": ("Teachers meeting or on track", "count"),
    "teachers_without_records": ("Teachers with no CPD recorded", "count"),
    "share_meeting": ("Share of teachers meeting the criteria", "%"),
    "teachers_on_track": ("Teachers meeting or on track", "count"),
    "share_on_track": ("Share of teachers meeting or on track", "%"),
    "median_counted_hours": ("Median counted hours", "h"),
    "share_activities_all_aspects": ("Activities with all four aspects", "%"),
    "share_hours_all_aspects": ("Hours with all four aspects", "%"),
    "share_hours_3plus_aspects": ("Hours with three or more aspects", "%"),
    "share_hours_pupil_outcomes": ("Hours focused on pupil outcomes", "%"),
    "share_hours_evidence_based": ("Hours based on evidence", "%"),
    "share_hours_collaboration": ("Hours with collaboration", "%"),
    "share_hours_sustained": ("Hours sustained over time", "%"),
    "share_hours_collaborative_sustained": ("Hours both collaborative and sustained", "%"),
    "share_hours_sustained_programmes": ("Hours in sustained programmes", "%"),
    "share_activities_pupil_outcomes": ("Activities focused on pupil outcomes", "%"),
    "share_activities_evidence_based": ("Activities based on evidence", "%"),
    "share_activities_collaboration": ("Activities with collaboration", "%"),
    "share_activities_sustained": ("Activities sustained over time", "%"),
    "leadership_prioritised": ("Prioritised by school leadership", "yes/no"),
    "in_progress": ("Year in progress", "yes/no"),
    "hours": ("Hours", "h"),
    "hours_collaborative_sustained": ("Hours collaborative and sustained", "h"),
    "hours_collaborative_only": ("Hours collaborative only", "h"),
    "hours_sustained_only": ("Hours sustained only", "h"),
    "hours_neither": ("Hours neither collaborative nor sustained", "h"),
    "terms_with_returns": ("Terms with returns", "count"),
    "covers_pupil_outcomes": ("Statement 1: pupil outcomes", "yes/no"),
    "covers_evidence": ("Statement 2: evidence and expertise", "yes/no"),
    "covers_collaboration": ("Statement 3: collaboration", "yes/no"),
    "covers_sustained": ("Statement 4: sustained", "yes/no"),
    "leadership": ("Statement 5: leadership", "yes/no"),
    # programme overview
    "schools": ("Schools", "count"),
    "school": ("School", ""),
    "phase": ("Phase", ""),
    "local_authority": ("Local authority", ""),
    "name": ("School name", ""),
    "consent_to_name": ("Agreed to be named", "yes/no"),
    # providers and programmes
    "provider": ("Provider", ""),
    "provider_key": ("Provider key", ""),
    "kitemark_level": ("Level", ""),
    "kitemark_limited_by": ("What holds it back", ""),
    "quality_mark_status": ("Quality mark", ""),
    "quality_mark": ("Quality mark name", ""),
    "quality_mark_level": ("Quality mark level", ""),
    "quality_mark_expires_on": ("Mark expires", "date"),
    "quality_mark_held": ("Holds a quality mark", "yes/no"),
    "share_hours_pupil": ("Hours focused on pupil outcomes", "%"),
    "programme": ("Programme", ""),
    "recognised_teachers": ("Teachers recognised", "count"),
    "accredited": ("Accredited", "yes/no"),
    "terms_spanned_median": ("Median terms spanned", "count"),
    "terms_spanned": ("Terms spanned", "count"),
    "share_hours_self_reported_sustained": ("Hours flagged sustained by teachers", "%"),
    "share_teachers_sustained_by_dates": ("Teachers spanning 2+ terms (from dates)", "%"),
    "min_hours": ("Hours needed", "h"),
    "min_terms": ("Terms needed", "count"),
    "recognition_title": ("Recognition", ""),
    "window_hours": ("Hours in the programme's window", "h"),
    "window_terms": ("Terms in the programme's window", "count"),
    "recognised": ("Recognised", "yes/no"),
    "results_changed": ("Teachers whose result changes", "count"),
    "meeting_or_on_track_before": ("Meeting or on track before", "count"),
    "meeting_or_on_track_after": ("Meeting or on track after", "count"),
    # data quality
    "upload_id": ("Upload", ""),
    "file_name": ("File", ""),
    "sheet": ("Sheet", ""),
    "row_number": ("Row", ""),
    "column_name": ("Column", ""),
    "value": ("Value", ""),
    "reason": ("Why it was kept aside", ""),
    "message": ("Warning", ""),
    # upload history
    "uploaded_by": ("By", ""),
    "uploaded_at": ("When", "date"),
    "rows_accepted": ("Rows accepted", "count"),
    "rows_quarantined": ("Rows kept aside", "count"),
    "rows_superseded": ("Rows replaced since", "count"),
    "superseded_by": ("Replaced by", ""),
    "role": ("Role", ""),
    "career_stage": ("Career stage", ""),
    "term": ("Term", ""),
    "activity_type": ("Type of activity", ""),
    # framework definitions and rules
    "quality_min_aspects": ("Aspects needed for quality CPD", "count"),
    "counted_requires_aligned": ("Counted hours must be aligned to the teacher's needs", "yes/no"),
    "pro_rata_fte": ("Pro rata by FTE", "yes/no"),
    "only_recognised_hours": ("Only hours from accredited programmes or marked providers count", "yes/no"),
    "sustained_min_terms": ("Terms a programme must span to be sustained", "count"),
    "period_years": ("Period (years)", "count"),
}

# The four activity-level DfE aspects in a few words, for sentences that name several of them.
ASPECTS_SHORT = {"pupil_outcomes": "pupil outcomes (DfE 1)", "evidence_based": "evidence (DfE 2)",
                 "collaboration": "collaboration (DfE 3)", "sustained": "sustained (DfE 4)"}

COMPARATORS = {">=": "at least", ">": "more than", "<=": "at most", "<": "less than", "=": "equal to"}
LEVELS = {"teacher-year": "Each teacher, each year", "school-year": "Each school, each year"}
STATUSES = {"met": "meets the criteria", "not_met": "not yet", "on_track": "on track", "at_risk": "needs support"}


def label(name: str) -> str:
    """The plain-English name of a column or metric."""
    if name in LABELS:
        return LABELS[name][0]
    words = str(name).replace("_", " ").replace("-", " ").strip()
    return words[:1].upper() + words[1:]


def unit(name: str) -> str:
    return LABELS.get(name, ("", ""))[1]


def labelled(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with every column named in plain English (for tables, exports and reports)."""
    return frame.rename(columns={c: label(c) for c in frame.columns if isinstance(c, str)})


def figure(name: str, value: float | bool) -> str:
    """A value in its unit: '23.3 h', '48%', 'yes'."""
    kind = unit(name)
    if isinstance(value, bool) or kind == "yes/no":
        return "yes" if value else "no"
    if kind == "%":
        return f"{100 * float(value):.0f}%"
    if kind == "h":
        return f"{float(value):.1f} h"
    return f"{float(value):g}"


def criterion(name: str, comparator: str, threshold: float | bool) -> str:
    """'Counted hours at least 35.0 h' — a rule in words, not '>='."""
    return f"{label(name)} {COMPARATORS.get(comparator, comparator)} {figure(name, threshold)}"


def is_snake_case(text: object) -> bool:
    """True for a header a user should never see: an identifier such as 'counted_hours'."""
    return isinstance(text, str) and "_" in text and " " not in text.strip()


def period(year: str | None, through_term: str | None = None) -> str:
    """Which part of the year a page, report or export shows: '2019/20, to the end of Spring'."""
    if not year:
        return "every year" + (f", each to the end of {through_term}" if through_term else "")
    return f"{year}, " + (f"to the end of {through_term}" if through_term else "whole year")
