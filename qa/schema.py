"""The canonical termly CPD record, defined once.

The importer, the blank template and the README all read the column list, header
synonyms, yes/no vocabulary and hours formats from here. The row-level
rules that parse cells (dates, hours, yes/no) are SQL in qa/validate.py.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

TERMS: tuple[str, ...] = ("Autumn", "Spring", "Summer")

ACTIVITY_TYPES: tuple[str, ...] = (
    "course/workshop",
    "INSET day",
    "coaching",
    "mentoring",
    "lesson study",
    "collaborative enquiry",
    "peer observation",
    "professional learning community",
    "conference",
    "online course",
    "research/reading",
    "qualification",
    "network meeting",
    "other",
)

# The four activity-level aspects of the DfE (2016) Standard; statement 5
# (leadership prioritisation) is a school-level attestation, not an activity flag.
DFE_ASPECTS: tuple[str, ...] = ("pupil_outcomes", "evidence_based", "collaboration", "sustained")
DFE_ASPECT_LABELS: dict[str, str] = {
    "pupil_outcomes": "DfE 1: focus on improving and evaluating pupil outcomes",
    "evidence_based": "DfE 2: underpinned by robust evidence and expertise",
    "collaboration": "DfE 3: collaboration and expert challenge",
    "sustained": "DfE 4: sustained over time",
}

YES_VALUES = frozenset({"y", "yes", "true", "1", "1.0", "✓", "✔", "x", "t"})
NO_VALUES = frozenset({"n", "no", "false", "0", "0.0", "✗", "✘", "f"})


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # text | date | year | term | activity_type | hours | yesno
    required: bool
    description: str
    synonyms: tuple[str, ...] = field(default_factory=tuple)


ACTIVITY_COLUMNS: tuple[Column, ...] = (
    Column("school_id", "text", True, "School code or URN (may instead be given for the whole file)",
           ("school", "school code", "school urn", "urn", "school number", "dfe number")),
    Column("teacher_id", "text", True, "Pseudonymous staff code, never a name",
           ("staff id", "staff code", "teacher", "teacher code", "teacher ref", "staff ref",
            "participant id", "staff number")),
    Column("activity_date", "date", True, "Date of the activity (Excel date, 2019-10-01 or 01/10/2019)",
           ("date", "date of activity", "activity date", "session date", "date attended")),
    Column("academic_year", "year", False, "e.g. 2019/20; derived from the date when blank",
           ("year", "academic year", "school year")),
    Column("term", "term", False, "Autumn, Spring or Summer; derived from the date when blank",
           ("term", "school term")),
    Column("activity_title", "text", True, "What the activity was",
           ("title", "activity", "activity name", "cpd activity", "description", "activity description",
            "name of activity", "session title")),
    Column("activity_type", "activity_type", True, "One of the activity types listed in the template",
           ("type", "type of activity", "activity type", "cpd type", "format")),
    Column("hours", "hours", True, "Length in hours: 1.5, 1h30, 90 min or 1:30",
           ("duration", "duration hrs", "duration hours", "hours", "time", "length", "no of hours",
            "number of hours", "hrs", "time spent")),
    Column("provider", "text", False, "Who delivered it; blank means in-school",
           ("provider", "delivered by", "provider name", "organisation", "training provider")),
    Column("programme", "text", False, "Multi-session programme the activity belongs to",
           ("programme", "program", "programme name", "course programme", "part of programme")),
    Column("subject_specific", "yesno", True, "Was it specific to the subject the teacher teaches?",
           ("subject specific", "subject-specific", "subject focused", "subject focus",
            "is subject specific")),
    Column("subject", "text", False, "Which subject, if subject-specific",
           ("subject", "subject area")),
    Column("aligned_to_needs", "yesno", True, "Aligned to the teacher's own development needs?",
           ("aligned to needs", "aligned to my needs", "meets my needs", "met my needs",
            "individual need", "aligned to development needs", "needs aligned")),
    Column("pupil_outcomes", "yesno", True, "DfE 1: focus on improving and evaluating pupil outcomes?",
           ("pupil outcomes", "focus on pupil outcomes", "dfe 1", "dfe1", "impact on pupils")),
    Column("evidence_based", "yesno", True, "DfE 2: underpinned by robust evidence and expertise?",
           ("evidence based", "evidence and expertise", "robust evidence", "dfe 2", "dfe2",
            "underpinned by evidence")),
    Column("collaboration", "yesno", True, "DfE 3: collaboration and expert challenge?",
           ("collaboration", "collaborative", "expert challenge", "collaboration and expert challenge",
            "dfe 3", "dfe3")),
    Column("sustained", "yesno", True, "DfE 4: part of a programme sustained over time?",
           ("sustained", "sustained over time", "dfe 4", "dfe4", "part of sustained programme")),
)

# Reference sheets, recognised by their headers. The first column listed is the key.
REFERENCE_SHEETS: dict[str, tuple[Column, ...]] = {
    "schools": (
        Column("school_id", "text", True, "School code / URN", ("school", "urn", "school code")),
        Column("name", "text", True, "School name", ("school name",)),
        Column("phase", "text", False, "primary, secondary, special, all-through", ()),
        Column("type", "text", False, "e.g. academy, maintained", ("school type",)),
        Column("local_authority", "text", False, "Local authority", ("la", "local authority", "authority")),
        Column("consent_to_name", "yesno", False, "May funders see the school's name?",
               ("consent to name", "named", "may be named")),
    ),
    "teachers": (
        Column("teacher_id", "text", True, "Pseudonymous staff code", ("staff id", "staff code", "teacher")),
        Column("school_id", "text", True, "School code / URN", ("school", "urn", "school code")),
        Column("role", "text", False, "e.g. class teacher, head of department", ("job role",)),
        Column("career_stage", "text", False, "e.g. ECT, experienced", ("career stage", "stage")),
        Column("fte", "number", False, "Full-time equivalent, 0-1", ("fte", "full time equivalent")),
    ),
    "providers": (
        Column("provider", "text", True, "Provider name", ("provider name", "organisation")),
        Column("provider_type", "text", False, "e.g. subject association, HEI", ("type", "provider type")),
        Column("quality_mark", "text", False, "External quality mark held", ("quality mark", "kitemark")),
        Column("quality_mark_level", "text", False, "Level of the mark", ("level", "mark level")),
        Column("awarded_on", "date", False, "When the mark was awarded", ("awarded", "awarded on")),
        Column("expires_on", "date", False, "When the mark expires", ("expires", "expiry", "expiry date")),
    ),
    "programmes": (
        Column("programme", "text", True, "Programme name", ("programme name", "program")),
        Column("provider", "text", False, "Provider", ("provider name",)),
        Column("accrediting_body", "text", False, "Who accredits it", ("accrediting body", "accredited by")),
        Column("valid_from", "date", False, "Accreditation valid from", ("valid from",)),
        Column("valid_to", "date", False, "Accreditation valid to", ("valid to", "valid until")),
        Column("min_hours", "number", False, "Hours needed for recognition", ("min hours", "minimum hours")),
        Column("min_terms", "number", False, "Distinct terms needed for recognition",
               ("min terms", "minimum terms")),
        Column("recognition_title", "text", False, "The recognition earned", ("recognition", "award")),
    ),
    "attestations": (
        Column("school_id", "text", True, "School code / URN", ("school", "urn", "school code")),
        Column("academic_year", "year", True, "e.g. 2019/20", ("year", "academic year")),
        Column("leadership_prioritised", "yesno", True,
               "DfE 5: professional development prioritised by school leadership",
               ("leadership prioritised", "dfe 5", "dfe5", "prioritised by leadership")),
    ),
}

def sheet_columns(kind: str) -> tuple[Column, ...]:
    """The columns of a sheet kind: 'activities' or one of REFERENCE_SHEETS."""
    return ACTIVITY_COLUMNS if kind == "activities" else REFERENCE_SHEETS[kind]


# Headers that together identify a sheet kind; every one must be present.
REFERENCE_SIGNATURES: dict[str, tuple[str, ...]] = {
    "schools": ("school_id", "name"),
    "teachers": ("teacher_id", "school_id"),
    "providers": ("provider", "quality_mark"),
    "programmes": ("programme", "min_hours"),
    "attestations": ("school_id", "leadership_prioritised"),
}


# Headers that name a field only loosely: a more specific header for the same field wins over them
# ("Time" may be a start time; "Duration (hours)" beside it is the length).
VAGUE_HEADERS = frozenset({"time", "length", "date", "type", "format", "title", "activity", "description",
                           "teacher", "school", "year", "term", "subject", "collaborative", "organisation"})

COLUMN_LABELS = {
    "school_id": "School", "teacher_id": "Teacher ID", "activity_date": "Date", "academic_year": "Academic year",
    "term": "Term", "activity_title": "Activity title", "activity_type": "Activity type", "hours": "Hours",
    "provider": "Provider", "programme": "Programme", "subject_specific": "Subject specific", "subject": "Subject",
    "aligned_to_needs": "Aligned to needs", "pupil_outcomes": "DfE 1 pupil outcomes",
    "evidence_based": "DfE 2 evidence-based", "collaboration": "DfE 3 collaboration", "sustained": "DfE 4 sustained",
}


def column_label(name: str) -> str:
    """A field's name as a person reads it."""
    return COLUMN_LABELS.get(name) or name.replace("_", " ").capitalize()


@functools.lru_cache(maxsize=4096)
def normalise_header(text: object) -> str:
    """Header key ignoring case, spacing, punctuation and a trailing '(hrs)'-style note."""
    s = str(text).strip().lower()
    s = re.sub(r"\(.*?\)", "", s)
    return re.sub(r"[^a-z0-9]", "", s)


def _synonym_index(columns: tuple[Column, ...]) -> dict[str, str]:
    index: dict[str, str] = {}
    for col in columns:
        for alias in (col.name, *col.synonyms):
            index.setdefault(normalise_header(alias), col.name)
    return index


ACTIVITY_HEADER_INDEX = _synonym_index(ACTIVITY_COLUMNS)
REFERENCE_HEADER_INDEX = {kind: _synonym_index(cols) for kind, cols in REFERENCE_SHEETS.items()}
REQUIRED_ACTIVITY_COLUMNS = tuple(c.name for c in ACTIVITY_COLUMNS if c.required)
ACTIVITY_COLUMN_NAMES = tuple(c.name for c in ACTIVITY_COLUMNS)


def match_header(text: object, index: dict[str, str] | None = None) -> str | None:
    """Canonical column name for a header cell, or None when it is not recognised."""
    return (index or ACTIVITY_HEADER_INDEX).get(normalise_header(text))


def closest_names(text: str, n: int = 2) -> list[str]:
    """Canonical names most like a header, for 'did you mean' messages."""
    import difflib

    return difflib.get_close_matches(normalise_header(text), list(ACTIVITY_COLUMN_NAMES), n=n, cutoff=0.5)


# --------------------------------------------------------------------------- year and term

def academic_year_of(day: dt.date) -> str:
    """'2019/20' for 1 Sep 2019 – 31 Aug 2020."""
    start = day.year if day.month >= 9 else day.year - 1
    return f"{start}/{(start + 1) % 100:02d}"


def term_of(day: dt.date) -> str:
    """Autumn = Sep–Dec, Spring = Jan–Mar, Summer = Apr–Aug."""
    if day.month >= 9:
        return "Autumn"
    if day.month <= 3:
        return "Spring"
    return "Summer"


_YEAR_PATTERN = re.compile(r"^(\d{4})\s*[/\-–]\s*(\d{2}|\d{4})$")


def normalise_academic_year(text: object) -> str | None:
    """'2019/20', '2019-20', '2019/2020' → '2019/20'; None when not a year label."""
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return None
    m = _YEAR_PATTERN.match(str(text).strip())
    if not m:
        return None
    start, end = int(m.group(1)), m.group(2)
    if int(end[-2:]) != (start + 1) % 100:
        return None
    return f"{start}/{(start + 1) % 100:02d}"


TERM_ALIASES = {"autumn": "Autumn", "aut": "Autumn", "t1": "Autumn", "1": "Autumn", "fall": "Autumn",
                "spring": "Spring", "spr": "Spring", "t2": "Spring", "2": "Spring",
                "summer": "Summer", "sum": "Summer", "t3": "Summer", "3": "Summer"}


def normalise_term(text: object) -> str | None:
    """'autumn', 'Aut', 'Autumn term', 'T1' → 'Autumn'; None when not recognised."""
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return None
    return TERM_ALIASES.get(normalise_header(text).removesuffix("term"))


def term_index(term: str) -> int:
    """1 for Autumn, 2 for Spring, 3 for Summer."""
    return TERMS.index(term) + 1


def academic_year_bounds(year: str) -> tuple[dt.date, dt.date]:
    start = int(year[:4])
    return dt.date(start, 9, 1), dt.date(start + 1, 8, 31)


def terms_started(year: str, as_of: dt.date) -> int:
    """How many of the year's three terms have begun by `as_of` (0–3)."""
    start, end = academic_year_bounds(year)
    if as_of < start:
        return 0
    if as_of > end:
        return 3
    return term_index(term_of(as_of))


def terms_judged(year: str, as_of: dt.date, through_term: str | None = None) -> int:
    """How many terms of the year a view judges: up to the term chosen, but never past the terms begun by
    `as_of` (to the end of a term not yet begun is the year so far, never the year as over)."""
    chosen = term_index(through_term) if through_term else len(TERMS)
    return min(chosen, terms_started(year, as_of))


# --------------------------------------------------------------------------- activity type

# normalise_header(typed name) -> canonical type; anything else is recorded as 'other'
ACTIVITY_TYPE_ALIASES = {
    "course": "course/workshop", "workshop": "course/workshop", "courseworkshop": "course/workshop",
    "training": "course/workshop", "twilight": "course/workshop", "twilightsession": "course/workshop",
    "inset": "INSET day", "insetday": "INSET day", "trainingday": "INSET day", "insettraining": "INSET day",
    "coaching": "coaching", "instructionalcoaching": "coaching",
    "mentoring": "mentoring", "mentor": "mentoring",
    "lessonstudy": "lesson study",
    "collaborativeenquiry": "collaborative enquiry", "collaborativeinquiry": "collaborative enquiry",
    "actionresearch": "collaborative enquiry",
    "peerobservation": "peer observation", "observation": "peer observation",
    "professionallearningcommunity": "professional learning community", "plc": "professional learning community",
    "conference": "conference", "teachmeet": "conference",
    "onlinecourse": "online course", "online": "online course", "webinar": "online course",
    "mooc": "online course", "elearning": "online course",
    "researchreading": "research/reading", "reading": "research/reading", "research": "research/reading",
    "qualification": "qualification", "npq": "qualification", "masters": "qualification",
    "networkmeeting": "network meeting", "network": "network meeting", "hubmeeting": "network meeting",
    "other": "other",
}


def normalise_provider_key(name: object) -> str | None:
    """One key per provider however it is typed: 'STEM Learning Ltd.' == 'stem learning'."""
    if name is None or (isinstance(name, float) and np.isnan(name)) or pd.isna(name):
        return None
    s = str(name).lower().replace("&", " and ")
    s = re.sub(r"[^a-z0-9 ]", " ", s)
    words = [w for w in s.split() if w not in {"ltd", "limited", "plc", "llp", "cic", "the"}]
    return " ".join(words) or None


def record_format_markdown() -> str:
    """The record-format table in the README, generated from the column definitions above."""
    lines = ["| column | required | what to enter | also recognised as |", "|---|---|---|---|"]
    for col in ACTIVITY_COLUMNS:
        synonyms = ", ".join(f"`{s}`" for s in col.synonyms if normalise_header(s) != normalise_header(col.name))
        lines.append(f"| `{col.name}` | {'yes' if col.required else ''} | {col.description} | {synonyms} |")
    return "\n".join(lines)


# How to read a date like 04/09/2020 when a file's own dates leave it open (qa.ingest; the CLI's choices).
DATE_ORDERS = ("day-first", "month-first")
