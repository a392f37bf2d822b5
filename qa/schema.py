"""The canonical termly CPD record, defined once.

The importer, the blank template and the README all read the column list, header
synonyms, yes/no vocabulary and hours formats from here. Parsers are vectorised:
they take a pandas Series of raw cell values (as the reader produced them, never
NA-guessed) and return the parsed values plus a per-cell error message (or NA).
"""

from __future__ import annotations

import datetime as dt
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
           ("evidence based", "evidence", "evidence and expertise", "robust evidence", "dfe 2", "dfe2",
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

# Headers that together identify a sheet kind; every one must be present.
REFERENCE_SIGNATURES: dict[str, tuple[str, ...]] = {
    "schools": ("school_id", "name"),
    "teachers": ("teacher_id", "school_id"),
    "providers": ("provider", "quality_mark"),
    "programmes": ("programme", "min_hours"),
    "attestations": ("school_id", "leadership_prioritised"),
}


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


# --------------------------------------------------------------------------- text

def map_unique(values: pd.Series, fn, dtype: str | None = None) -> pd.Series:
    """`values.map(fn)` computed once per distinct value: returns repeat a few values many times.

    Only for functions that give equal results for equal keys: factorize treats True, 1
    and 1.0 as one key, so hours (where True is an error and 1 is an hour) do not use it.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    mapped = np.empty(len(uniques) + 1, dtype=object)
    mapped[:-1] = [fn(u) for u in uniques]
    mapped[-1] = fn(None)  # code -1: missing
    out = pd.Series(mapped[codes], index=values.index)
    return out.astype(dtype) if dtype else out


def _blank(values: pd.Series) -> pd.Series:
    """True where a cell is empty (None, NaN or only whitespace)."""
    as_text = values.map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v))
    return as_text.str.strip().eq("")


def clean_text(values: pd.Series) -> pd.Series:
    """Trimmed text with blanks as NA. Whole-number floats lose their '.0' (IDs typed as numbers)."""

    def one(v: object) -> object:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return pd.NA
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        s = str(v).strip()
        return s if s else pd.NA

    return map_unique(values, one, "string")


# --------------------------------------------------------------------------- yes/no

def parse_yes_no(values: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Parse yes/no cells.

    Returns (parsed booleans with blanks as False, error messages, blank mask). Blanks
    count as "no" but are reported by the caller as a warning, never silently.
    """
    text = map_unique(values, lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v), "str")
    key = text.str.strip().str.lower()
    is_yes = key.isin(YES_VALUES)
    is_no = key.isin(NO_VALUES)
    blank = key.eq("")
    bad = ~(is_yes | is_no | blank)
    errors = pd.Series(pd.NA, index=values.index, dtype="string")
    errors[bad] = "Expected yes or no (Y, N, Yes, No, True, False, 1, 0, ✓, ✗ or x); found '" + text[bad] + "'"
    return is_yes, errors, blank


# --------------------------------------------------------------------------- hours

_NUM = r"(\d+(?:[.,]\d+)?)"
_H = r"(?:h|hr|hrs|hour|hours)"
_M = r"(?:m|min|mins|minute|minutes)"
_HOURS_ONLY = re.compile(rf"^{_NUM}\s*{_H}?$")
_HOURS_MINUTES = re.compile(rf"^(\d+)\s*{_H}\s*(\d+)\s*{_M}?$")
_MINUTES_ONLY = re.compile(rf"^{_NUM}\s*{_M}$")
_CLOCK = re.compile(r"^(\d+):([0-5]\d)(?::00)?$")


def _hours_from_text(s: str) -> float | None:
    s = s.strip().lower().replace("\u00a0", " ")
    if m := _HOURS_ONLY.match(s):
        return float(m.group(1).replace(",", "."))
    if m := _HOURS_MINUTES.match(s):
        return int(m.group(1)) + int(m.group(2)) / 60
    if m := _MINUTES_ONLY.match(s):
        return float(m.group(1).replace(",", ".")) / 60
    if m := _CLOCK.match(s):
        return int(m.group(1)) + int(m.group(2)) / 60
    return None


def _hours_one(v: object) -> tuple[float | None, str | None]:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None, "Hours are missing"
    if isinstance(v, bool):
        return None, f"Hours must be a positive number; found '{v}'"
    if isinstance(v, int | float | np.integer | np.floating):
        hours = float(v)
    elif isinstance(v, dt.timedelta):
        hours = v.total_seconds() / 3600
    elif isinstance(v, dt.time):  # a cell formatted as a clock time, e.g. 1:30
        hours = v.hour + v.minute / 60 + v.second / 3600
    else:
        text = str(v).strip()
        if not text:
            return None, "Hours are missing"
        parsed = _hours_from_text(text)
        if parsed is None:
            return None, (f"Hours must be a positive number (1.5, 1h30, 90 min or 1:30); "
                          f"found '{text}'")
        hours = parsed
    if not np.isfinite(hours) or hours <= 0:
        return None, f"Hours must be a positive number; found '{v}'"
    return hours, None


def parse_hours(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Hours as floats (NaN where invalid) and per-cell error messages."""
    # Fast path: most cells are already numbers.
    numeric = pd.to_numeric(values, errors="coerce")
    is_plain_number = values.map(lambda v: isinstance(v, int | float) and not isinstance(v, bool))
    good = is_plain_number & numeric.gt(0) & np.isfinite(numeric)
    hours = numeric.where(good).astype("float64")
    errors = pd.Series(pd.NA, index=values.index, dtype="string")
    rest = values[~good]
    if len(rest):
        parsed = rest.map(_hours_one)
        hours.loc[rest.index] = parsed.map(lambda p: np.nan if p[0] is None else p[0]).astype("float64")
        errors.loc[rest.index] = parsed.map(lambda p: pd.NA if p[1] is None else p[1]).astype("string")
    return hours, errors


# --------------------------------------------------------------------------- dates

_EXCEL_EPOCH = dt.datetime(1899, 12, 30)
_DATE_FORMATS = (
    (re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2})?)?$"), None),
    (re.compile(r"^\d{1,2}/\d{1,2}/\d{4}$"), "%d/%m/%Y"),
    (re.compile(r"^\d{1,2}/\d{1,2}/\d{2}$"), "%d/%m/%y"),
    (re.compile(r"^\d{1,2}-\d{1,2}-\d{4}$"), "%d-%m-%Y"),
    (re.compile(r"^\d{1,2}\.\d{1,2}\.\d{4}$"), "%d.%m.%Y"),
    (re.compile(r"^\d{1,2} [A-Za-z]{3,9} \d{4}$"), None),
)
EARLIEST_DATE = dt.date(2000, 1, 1)
LATEST_DATE = dt.date(2100, 1, 1)


def _date_one(v: object) -> tuple[dt.date | None, str | None]:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None, "Date is missing"
    if isinstance(v, dt.datetime):
        day = v.date()
    elif isinstance(v, dt.date):
        day = v
    elif isinstance(v, int | float) and not isinstance(v, bool):
        # An Excel serial number that reached us as a number (e.g. via CSV).
        if not 20000 <= float(v) <= 80000:
            return None, f"Date must be a date like 01/10/2019; found the number '{v}'"
        day = (_EXCEL_EPOCH + dt.timedelta(days=float(v))).date()
    else:
        text = str(v).strip()
        if not text:
            return None, "Date is missing"
        day = None
        for pattern, fmt in _DATE_FORMATS:
            if pattern.match(text):
                try:
                    day = dt.datetime.strptime(text, fmt).date() if fmt else pd.Timestamp(text).date()
                except ValueError:
                    return None, f"'{text}' is not a real date"
                break
        if day is None:
            return None, f"Date must be a date like 01/10/2019 or 2019-10-01; found '{text}'"
    if not EARLIEST_DATE <= day < LATEST_DATE:
        return None, f"Date {day:%d/%m/%Y} is outside the years 2000-2099"
    return day, None


def parse_dates(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Dates (datetime64[s], NaT where invalid) and per-cell error messages."""
    days = pd.Series(pd.NaT, index=values.index, dtype="datetime64[s]")
    errors = pd.Series(pd.NA, index=values.index, dtype="string")
    # Fast path: real date cells (most of a workbook) convert in one vectorised step.
    is_date = np.fromiter((isinstance(v, dt.date) for v in values), bool, len(values))
    if is_date.any():
        real = pd.to_datetime(values[is_date].astype(object), errors="coerce").astype("datetime64[s]").dt.normalize()
        in_range = (real >= pd.Timestamp(EARLIEST_DATE)) & (real < pd.Timestamp(LATEST_DATE))
        days[real.index[in_range]] = real[in_range]
        out_of_range = real.index[~in_range]
        errors[out_of_range] = [f"Date {d:%d/%m/%Y} is outside the years 2000-2099" for d in real[~in_range]]
    rest = values[~is_date]
    if len(rest):
        parsed = rest.map(_date_one)
        days[rest.index] = pd.to_datetime(parsed.map(lambda p: p[0]), errors="coerce").astype("datetime64[s]")
        errors[rest.index] = parsed.map(lambda p: pd.NA if p[1] is None else p[1]).astype("string")
    return days, errors


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


def derive_year_and_term(days: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Vectorised academic_year_of / term_of over a datetime Series (NA where NaT)."""
    month = days.dt.month
    start = days.dt.year.where(month >= 9, days.dt.year - 1)
    valid = days.notna()
    year = pd.Series(pd.NA, index=days.index, dtype="string")
    s = start[valid].astype("int64")
    year[valid] = s.astype(str) + "/" + ((s + 1) % 100).astype(str).str.zfill(2)
    term = pd.Series(pd.NA, index=days.index, dtype="string")
    term[valid & (month >= 9)] = "Autumn"
    term[valid & (month <= 3)] = "Spring"
    term[valid & (month >= 4) & (month <= 8)] = "Summer"
    return year, term


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


def normalise_term(text: object) -> str | None:
    """'autumn', 'Aut', 'Autumn term', 'T1' → 'Autumn'; None when not recognised."""
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return None
    key = normalise_header(text).removesuffix("term")
    aliases = {"autumn": "Autumn", "aut": "Autumn", "t1": "Autumn", "1": "Autumn", "fall": "Autumn",
               "spring": "Spring", "spr": "Spring", "t2": "Spring", "2": "Spring",
               "summer": "Summer", "sum": "Summer", "t3": "Summer", "3": "Summer"}
    return aliases.get(key)


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


# --------------------------------------------------------------------------- activity type

_TYPE_ALIASES = {
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


def parse_activity_type(values: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Canonical activity types; unknown types become 'other' with a warning, blanks are errors."""
    text = clean_text(values)
    def canonical(name: object) -> object:
        return pd.NA if name is None or pd.isna(name) else _TYPE_ALIASES.get(normalise_header(name), pd.NA)

    mapped = map_unique(text, canonical, "string")
    errors = pd.Series(pd.NA, index=values.index, dtype="string")
    errors[text.isna()] = "Activity type is missing"
    unknown = text.notna() & mapped.isna()
    warnings = pd.Series(pd.NA, index=values.index, dtype="string")
    warnings[unknown] = "Activity type '" + text[unknown] + "' is not in the list; recorded as 'other'"
    mapped[unknown] = "other"
    return mapped, errors, warnings


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
