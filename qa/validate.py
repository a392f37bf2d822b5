"""Row validation as one SQL pass over the raw cells, run by an in-memory DuckDB.

The reader hands over every cell as it was typed: `encode_column` keeps each one
as its text plus, where the spreadsheet typed it, its number or date (three Arrow
columns per canonical column: `c`, `c__num`, `c__day`). The rules below turn those
into parsed values and plain-sentence messages in SQL, so a 100,000-row return is
checked in a few vectorised passes on every core instead of row by row in Python.

The messages are the contract with the person who uploaded the file; the tests in
tests/test_schema.py and tests/test_ingest.py pin them.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from qa import schema

LONG_ACTIVITY_HOURS = 12
EARLIEST_DATE = dt.date(2000, 1, 1)
LATEST_DATE = dt.date(2100, 1, 1)
NUM, DAY, TRIMMED, TICKED = "__num", "__day", "__t", "__ticks"
HEADER, YES_MARK = "__h", "__yes"  # per row: the file's own header text; a plain yes word its column uses
PLAIN_YES = tuple(sorted(schema.YES_VALUES - {"x", "✓", "✔"}))  # yes words beside which an x may be a no
YES_NO_NAMES = frozenset(c.name for cols in (schema.ACTIVITY_COLUMNS, *schema.REFERENCE_SHEETS.values())
                         for c in cols if c.kind == "yesno")

def lit(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# --------------------------------------------------------------------------- cells to Arrow

def _number_text(v: float) -> str:
    return str(int(v)) if v.is_integer() else str(v)


def _encode_one(v: object) -> tuple[str, float | None, dt.date | None]:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "", None, None
    if isinstance(v, str):
        return v, None, None
    if isinstance(v, bool | np.bool_):
        return str(bool(v)), None, None
    if isinstance(v, int | float | np.integer | np.floating):
        number = float(v)
        if math.isnan(number):
            return "", None, None
        return (_number_text(number) if math.isfinite(number) else str(number)), number, None
    if isinstance(v, dt.timedelta):  # an [h]:mm duration cell: 26:00 is 26 hours, not '1 day, 2:00:00'
        hours = v.total_seconds() / 3600
        return _number_text(hours), hours, None
    if isinstance(v, dt.datetime):
        return str(v), None, v.date()
    if isinstance(v, dt.date):
        return v.isoformat(), None, v
    return str(v), None, None  # clock times, durations, anything else: its text


def encode_column(values: Sequence[object]) -> tuple[pa.Array, pa.Array, pa.Array]:
    """(text, number, date) Arrow arrays for one column of raw cells.

    Columns of one type (with blank cells) take a vectorised path; mixed columns
    fall back to a per-cell loop. Blank cells have the text ''.
    """
    n = len(values)
    no_num, no_day = pa.nulls(n, pa.float64()), pa.nulls(n, pa.date32())
    try:  # most columns are all text: no need to look at each cell's type first
        return pa.array(values, pa.string()), no_num, no_day
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        types = set(map(type, values))
    blanks_only = str not in types or all(not s.strip() for s in {v for v in values if type(v) is str})
    typed = types - {str, type(None)}
    if blanks_only and len(typed) == 1:
        kind = typed.pop()
        cleaned = [None if v is None or type(v) is str else v for v in values]
        if kind is float or kind is int:
            numbers = pa.array(cleaned, pa.float64(), from_pandas=True)  # NaN is a blank cell too
            finite = np.isfinite(numbers.to_numpy(zero_copy_only=False))
            if finite[~np.isnan(numbers.to_numpy(zero_copy_only=False))].all():
                text = numbers.cast(pa.string()).fill_null("")
                return text, numbers, no_day
        elif kind is dt.date:
            days = pa.array(cleaned, pa.date32())
            return days.cast(pa.string()).fill_null(""), no_num, days
    text, num, day = zip(*map(_encode_one, values), strict=True) if n else ((), (), ())
    return pa.array(text, pa.string()), pa.array(num, pa.float64()), pa.array(day, pa.date32())


def cells_table(columns: dict[str, Sequence[object]], names: Sequence[str], n: int,
                extra: dict[str, pa.Array], keep_blank_rows: bool = False,
                headers: dict[str, str] | None = None) -> pa.Table:
    """The Arrow table the SQL reads, without its wholly blank rows (a reader skips them too).

    Four arrays per canonical name, all null when the sheet lacks the column: the
    text as typed, the text trimmed of (Unicode) whitespace, the number and the date.
    Per column too, constant over this table: whether it marks yes with ticks, the first
    plain yes word it uses (then an 'x' in it is ambiguous) and the file's header text.
    A batch of small returns calls this once per sheet, so arrays that do not depend on a
    column's cells (nulls, constant flags, dictionary indices) are built once per call and shared.
    """
    zeros = pa.array(np.zeros(n, dtype=np.int32))  # the indices of every constant (dictionary) column
    no_text, no_num, no_day = pa.nulls(n, pa.string()), pa.nulls(n, pa.float64()), pa.nulls(n, pa.date32())
    unknown = pa.nulls(n, pa.dictionary(pa.int32(), pa.string()))
    flag = {False: pa.array(np.zeros(n, dtype=bool)), True: pa.array(np.ones(n, dtype=bool))}

    def constant(text: str | None) -> pa.Array:
        """`text` on every row, stored once (a dictionary array); all null when None."""
        return unknown if text is None else pa.DictionaryArray.from_arrays(zeros, pa.array([text], pa.string()))

    present = [name for name in names if name in columns]
    encoded = [encode_column(columns[name]) for name in present]
    # each Arrow call below runs over every column at once (a chunk per column): one call per table, not
    # one per column, which is what a batch of a thousand small returns would otherwise pay for
    trimmed_texts = _per_column(pc.utf8_trim_whitespace(pa.chunked_array([t for t, _, _ in encoded], pa.string())),
                                len(present), n)
    everything = pa.chunked_array(trimmed_texts, pa.string())
    has_text = _grid(pc.fill_null(pc.not_equal(everything, ""), False), len(present), n)
    filled = has_text.any(axis=0) if present else None
    for _, num, day in encoded:
        for typed in (num, day):
            if typed.null_count < n:
                filled |= typed.is_valid().to_numpy(zero_copy_only=False)
    ticked = _grid(pc.is_in(everything, pa.array(TICKS)), len(present), n).any(axis=1)
    yes_no = [i for i, name in enumerate(present) if name in YES_NO_NAMES]
    plain = _grid(pc.is_in(pc.utf8_lower(pa.chunked_array([trimmed_texts[i] for i in yes_no], pa.string())),
                           pa.array(PLAIN_YES)), len(yes_no), n)
    arrays: dict[str, pa.Array] = dict(extra)
    arrays.setdefault(MONTH_FIRST, flag[False])
    position = {name: i for i, name in enumerate(present)}
    for name in names:
        i = position.get(name)
        if i is None:  # the sheet lacks this column
            arrays[name], arrays[name + TRIMMED], arrays[name + NUM], arrays[name + DAY] = (
                no_text, no_text, no_num, no_day)
            arrays[name + TICKED], arrays[name + YES_MARK], arrays[name + HEADER] = flag[False], unknown, unknown
            continue
        text, num, day = encoded[i]
        arrays[name], arrays[name + TRIMMED], arrays[name + NUM], arrays[name + DAY] = (
            text, trimmed_texts[i], num, day)
        # one flag per column of this table, computed once here rather than per row in SQL
        arrays[name + TICKED] = flag[bool(ticked[i])]
        yes_mark = None
        if i in yes_no:
            hits = plain[yes_no.index(i)]
            yes_mark = trimmed_texts[i][int(hits.argmax())].as_py() if hits.any() else None
        arrays[name + YES_MARK] = constant(yes_mark)
        arrays[name + HEADER] = constant((headers or {}).get(name))
    table = pa.table(arrays)
    if keep_blank_rows or (filled is not None and filled.all()):
        return table
    return table.slice(0, 0) if filled is None else table.filter(pa.array(filled))


def _per_column(chunked: pa.ChunkedArray, k: int, n: int) -> list[pa.Array]:
    """The k columns of n rows each that were computed as the chunks of one array."""
    if chunked.num_chunks == k and all(len(c) == n for c in chunked.chunks):
        return list(chunked.chunks)
    whole = chunked.combine_chunks()
    return [whole.slice(i * n, n) for i in range(k)]


def _grid(flags: pa.ChunkedArray, k: int, n: int) -> np.ndarray:
    """A boolean array over k columns of n rows each, as a k x n grid."""
    return flags.to_numpy().reshape(k, n) if k else np.zeros((0, n), dtype=bool)


# --------------------------------------------------------------------------- SQL pieces

def trimmed(c: str) -> str:
    return ident(c + TRIMMED)


def cleaned(c: str) -> str:
    """Trimmed text, NULL when blank (whole numbers already lost their '.0' in encoding)."""
    return f"nullif({trimmed(c)}, '')"


def is_blank(c: str) -> str:
    return f"(coalesce({trimmed(c)}, '') = '')"


_NOTE = r"\(.*?\)"


def header_key(expr: str) -> str:
    """SQL twin of schema.normalise_header: lower case, no '(...)' notes, letters and digits only."""
    no_notes = f"regexp_replace(lower({expr}), {lit(_NOTE)}, '', 'g')"
    return f"regexp_replace({no_notes}, '[^a-z0-9]', '', 'g')"


def mapped(key_expr: str, mapping: dict[str, str]) -> str:
    cases = " ".join(f"WHEN {lit(k)} THEN {lit(v)}" for k, v in mapping.items())
    return f"(CASE {key_expr} {cases} END)"


def quoted(expr: str) -> str:
    """'found ''value''' text: the value in single quotes inside a message."""
    return f"'''' || {expr} || ''''"


MONTH_FIRST = "_month_first"  # per-row flag: numeric dates of this row's file are written month first
# (pattern over the tidied text, strptime formats day first, the same month first or None when unambiguous);
# a format of None is an ISO date, cast directly
_DATE_PATTERNS = (
    (r"\d{4}-\d{2}-\d{2}([ t]\d{2}:\d{2}(:\d{2})?)?", None, None),
    (r"\d{4}/\d{1,2}/\d{1,2}", ["%Y/%m/%d"], None),
    (r"\d{1,2}/\d{1,2}/\d{4}", ["%d/%m/%Y"], ["%m/%d/%Y"]),
    (r"\d{1,2}/\d{1,2}/\d{2}", ["%d/%m/%y"], ["%m/%d/%y"]),
    (r"\d{1,2}-\d{1,2}-\d{4}", ["%d-%m-%Y"], ["%m-%d-%Y"]),
    (r"\d{1,2}\.\d{1,2}\.\d{4}", ["%d.%m.%Y"], None),
    (r"\d{1,2} [a-z]{3,9} \d{4}", ["%d %B %Y", "%d %b %Y"], None),
    (r"\d{1,2} [a-z]{3,9} \d{2}", ["%d %B %y", "%d %b %y"], None),
    (r"[a-z]{3,9} \d{1,2} \d{4}", ["%B %d %Y", "%b %d %Y"], None),
)
_WEEKDAY = r"^(mon|tue|tues|wed|wednes|thu|thur|thurs|fri|sat|satur|sun)(day)?\.?,?\s+"
_EXCEL_SERIALS = (20000, 80000)  # 1954-2119: plausible dates that arrived as plain numbers


def date_text(t: str) -> str:
    """Typed date text `t` tidied to few forms: lower case, no weekday, '3rd' as '3', '3-Oct-19' and
    'Oct 3, 2019' spaced, 'sept' as 'sep'."""
    t = f"lower({t})"
    t = f"regexp_replace({t}, {lit(_WEEKDAY)}, '')"
    t = f"regexp_replace({t}, '(\\d)(st|nd|rd|th)\\b', '\\1', 'g')"
    t = f"regexp_replace({t}, '^(\\d{{1,2}})-([a-z]{{3,9}})-(\\d{{2,4}})$', '\\1 \\2 \\3')"
    t = f"regexp_replace({t}, '\\bsept\\b', 'sep')"
    return f"trim(regexp_replace(replace({t}, ',', ' '), '\\s+', ' ', 'g'))"


def _strptime(t: str, formats: list[str]) -> str:
    return f"CAST(try_strptime({t}, [{', '.join(map(lit, formats))}]) AS DATE)"


# in a lookup over `k`: date_text(k) and header_key(k), worked out once per distinct text (with_lookups) rather
# than once in each of the many places an expression names them (binding those copies cost more than running them)
TIDY_DATE, TIDY_KEY = "k__date", "k__key"


def text_date(d: str, month_first: bool) -> str:
    """A typed date in one of the text forms, numeric ones read in the given order (else NULL); `d` is its
    text tidied by date_text."""
    forms = []
    for pattern, day_first_formats, month_first_formats in _DATE_PATTERNS:
        if day_first_formats is None:
            parse = f"CAST(try_cast(replace({d}, 't', ' ') AS TIMESTAMP) AS DATE)"
        else:
            parse = _strptime(d, (month_first and month_first_formats) or day_first_formats)
        forms.append(f"WHEN regexp_full_match({d}, {lit(pattern)}) THEN {parse}")
    return f"(CASE {' '.join(forms)} END)"


def text_date_form(d: str) -> str:
    """Does a typed text look like one of the date forms (even when it is not a real date)? `d`: its text tidied
    by date_text."""
    return "(" + " OR ".join(f"regexp_full_match({d}, {lit(p)})" for p, _, _ in _DATE_PATTERNS) + ")"


def date_lookups(c: str) -> list[tuple[str, str, str]]:
    """Per distinct typed text of date column `c`: read day first, read month first, looks like a date."""
    return [(f"dd__{c}", trimmed(c), text_date(TIDY_DATE, False)), (f"dm__{c}", trimmed(c), text_date(TIDY_DATE, True)),
            (f"df__{c}", trimmed(c), text_date_form(TIDY_DATE))]


def date_value(c: str) -> str:
    """The date as given, before the range check: a date cell, an Excel serial or one of the text forms.

    Numeric text dates follow the row's MONTH_FIRST flag, decided once per file (ingest.decide_date_order);
    the text forms are parsed once per distinct text (date_lookups), not per row.
    """
    low, high = _EXCEL_SERIALS
    return (f"(CASE WHEN {ident(c + DAY)} IS NOT NULL THEN {ident(c + DAY)} "
            f"WHEN {ident(c + NUM)} IS NOT NULL THEN CASE WHEN {ident(c + NUM)} BETWEEN {low} AND {high} "
            f"THEN DATE '1899-12-30' + CAST(floor({ident(c + NUM)}) AS INTEGER) END "
            f"WHEN coalesce({ident(MONTH_FIRST)}, false) THEN {ident('dm__' + c)} ELSE {ident('dd__' + c)} END)")


def date_in_range(raw: str) -> str:
    return f"({raw} >= DATE '{EARLIEST_DATE}' AND {raw} < DATE '{LATEST_DATE}')"


def date_error(c: str, raw: str) -> str:
    """`raw` is the column holding date_value(c)."""
    t = trimmed(c)
    any_form = f"coalesce({ident('df__' + c)}, false)"
    low, high = _EXCEL_SERIALS
    return f"""(CASE
        WHEN {ident(c + DAY)} IS NULL AND {ident(c + NUM)} IS NULL AND {is_blank(c)} THEN 'Date is missing'
        WHEN {ident(c + DAY)} IS NULL AND {ident(c + NUM)} IS NOT NULL
             AND NOT {ident(c + NUM)} BETWEEN {low} AND {high}
            THEN 'Date must be a date like 01/10/2019; found the number ' || {quoted(ident(c))}
        WHEN {raw} IS NULL AND ({any_form}) THEN {quoted(t)} || ' is not a real date'
        WHEN {raw} IS NULL THEN 'Date must be a date like 01/10/2019 or 2019-10-01; found ' || {quoted(t)}
        WHEN NOT {date_in_range(raw)}
            THEN 'Date ' || strftime({raw}, '%d/%m/%Y') || ' is outside the years 2000-2099'
        END)"""


_NUMBER = r"(\d+(?:[.,]\d+)?)"
_H = r"(?:h|hr|hrs|hour|hours)"
_M = r"(?:m|min|mins|minute|minutes)"
# (whole-text pattern, [(extract pattern, divisor)...]): the hours are the sum of the extracts
_HOURS_FORMS = (
    (_NUMBER + r"\s*" + _H + "?", [("^" + _NUMBER, 1)]),  # 1.5, 1,5, 2 hours
    (r"(\d+)\s*" + _H + r"\s*(\d+)\s*" + _M + "?", [(r"^(\d+)", 1), (r"^\d+\s*" + _H + r"\s*(\d+)", 60)]),  # 1h30
    (_NUMBER + r"\s*" + _M, [("^" + _NUMBER, 60)]),  # 90 min
    (r"(\d+):([0-5]\d)(?::00)?", [(r"^(\d+)", 1), (r"^\d+:(\d\d)", 60)]),  # 1:30
    (r"pt(\d+)h(\d+)m(\d+(?:\.\d+)?)s",  # an OpenDocument duration cell: PT26H00M00S is 26 hours
     [(r"^pt(\d+)", 1), (r"^pt\d+h(\d+)", 60), (r"^pt\d+h\d+m(\d+(?:\.\d+)?)", 3600)]),
)


def hours_value(c: str) -> str:
    """Hours as given, before the positivity check: a number, or 1.5 / 1h30 / 90 min / 1:30 as text."""
    h = f"replace(lower({trimmed(c)}), chr(160), ' ')"
    forms = []
    for whole, parts in _HOURS_FORMS:
        total = " + ".join(f"CAST(replace(regexp_extract({h}, {lit(p)}, 1), ',', '.') AS DOUBLE) / {d}"
                           for p, d in parts)
        forms.append(f"WHEN regexp_full_match({h}, {lit(whole)}) THEN {total}")
    return f"(CASE WHEN {ident(c + NUM)} IS NOT NULL THEN {ident(c + NUM)} {' '.join(forms)} END)"


_DAYS = r"(a |one |1 |half |half a |½ |\d+(?:[.,]\d+)? )?(half-)?days?"


def hours_error(c: str, raw: str) -> str:
    return f"""(CASE
        WHEN {ident(c + NUM)} IS NULL AND {is_blank(c)} THEN 'Hours are missing'
        WHEN {ident(c + NUM)} IS NULL AND regexp_full_match(lower({trimmed(c)}), {lit(_DAYS)})
            THEN 'Hours must be given in hours, not days; found ' || {quoted(trimmed(c))}
                 || '. Write the hours it took, e.g. 3 for a half day or 6 for a full day'
        WHEN {raw} IS NULL
            THEN 'Hours must be a positive number (1.5, 1h30, 90 min or 1:30); found ' || {quoted(trimmed(c))}
        WHEN NOT ({raw} > 0 AND isfinite({raw})) THEN 'Hours must be a positive number; found ' || {quoted(ident(c))}
        END)"""


def yes_no_word(k: str) -> str:
    """What a mark `k` says, worked out once per distinct mark (see parses): 'y' a yes word or tick,
    'x' an x (yes or no by its column), 'n' a no or blank, '?' neither."""
    key = f"lower(coalesce({k}, ''))"
    plain = ", ".join(map(lit, sorted(schema.YES_VALUES - {"x"})))
    known = ", ".join(map(lit, sorted(schema.NO_VALUES | {""})))
    return (f"(CASE WHEN {key} IN ({plain}) THEN 'y' WHEN {key} = 'x' THEN 'x' WHEN {key} IN ({known}) THEN 'n' "
            f"ELSE '?' END)")


def yes_no_mark(c: str) -> str:
    """Per row: yes_no_word of column `c`'s mark (a blank cell, or no such column, is 'n')."""
    return f"coalesce({ident('yw__' + c)}, 'n')"


TICKS = ("✓", "✔", "☑")


def ticks_used(c: str) -> str:
    """Per row: does this column of its table mark yes with ticks? Then an 'x' in it is a cross, a no."""
    return ident(c + TICKED)


def yes_no_value(c: str, ticks: str | None = None) -> str:
    x_means_yes = "true" if ticks is None else f"NOT coalesce({ticks}, false) AND {ident(c + YES_MARK)} IS NULL"
    return f"({yes_no_mark(c)} = 'y' OR ({yes_no_mark(c)} = 'x' AND {x_means_yes}))"


def yes_no_error(c: str) -> str:
    """Neither a yes nor a no; or an 'x' in a column that also writes yes as a word, where x may mean no."""
    return (f"(CASE WHEN {yes_no_mark(c)} = '?' THEN 'Expected yes or no (Y, N, Yes, No, True, False, "
            f"1, 0, ✓, ✗ or x); found ' || {quoted(ident(c))} "
            f"WHEN {yes_no_mark(c)} = 'x' AND NOT coalesce({ticks_used(c)}, false) "
            f"AND {ident(c + YES_MARK)} IS NOT NULL "
            f"THEN {quoted(trimmed(c))} || ' in ' || {named(c)} || ' could mean yes or no: the column also marks yes "
            f"with ' || {quoted(ident(c + YES_MARK))} || '. Write yes or no the same way in every row' END)")


def named(c: str, label: str | None = None) -> str:
    """A column as its file names it: the header in quotes, else the field's label."""
    return f"coalesce({quoted(ident(c + HEADER))}, {lit(label or schema.column_label(c))})"


def about(c: str, value: str, rest: str, label: str | None = None) -> str:
    """'<value>' in '<header>'<rest>, or <Label> '<value>'<rest> when the file's header is not known."""
    return (f"(CASE WHEN {ident(c + HEADER)} IS NULL THEN {lit((label or schema.column_label(c)) + ' ')} "
            f"|| {quoted(value)} "
            f"ELSE {quoted(value)} || ' in ' || {quoted(ident(c + HEADER))} END || {rest})")


_YEAR = r"^(\d{4})\s*[/\-–]\s*(\d{2}|\d{4})$"


def academic_year_value(t: str) -> str:
    """SQL twin of schema.normalise_academic_year over trimmed text `t`: '2019-20' -> '2019/20'; else NULL."""
    start = f"CAST(regexp_extract({t}, {lit(_YEAR)}, 1) AS INTEGER)"
    end = f"CAST(right(regexp_extract({t}, {lit(_YEAR)}, 2), 2) AS INTEGER)"
    return (f"(CASE WHEN regexp_matches({t}, {lit(_YEAR)}) AND {end} = ({start} + 1) % 100 "
            f"THEN CAST({start} AS VARCHAR) || '/' || lpad(CAST(({start} + 1) % 100 AS VARCHAR), 2, '0') END)")


def term_value(t: str) -> str:
    """SQL twin of schema.normalise_term over trimmed text `t`."""
    return term_of_key(header_key(t))


def term_of_key(key: str) -> str:
    """term_value of a text whose header_key is `key`."""
    key = f"(CASE WHEN suffix({key}, 'term') THEN left({key}, length({key}) - 4) ELSE {key} END)"
    return mapped(key, schema.TERM_ALIASES)


def year_of(day: str) -> str:
    start = f"(year({day}) - CASE WHEN month({day}) >= 9 THEN 0 ELSE 1 END)"
    return f"(CAST({start} AS VARCHAR) || '/' || lpad(CAST(({start} + 1) % 100 AS VARCHAR), 2, '0'))"


def term_of(day: str) -> str:
    return (f"(CASE WHEN month({day}) >= 9 THEN 'Autumn' WHEN month({day}) <= 3 THEN 'Spring' "
            f"WHEN {day} IS NOT NULL THEN 'Summer' END)")


# --------------------------------------------------------------------------- one column of one kind

def kind_parts(kind: str, c: str, raw: str | None) -> tuple[str, str | None, str | None]:
    """(value, error, warning) SQL for column `c` read as `kind`; `raw` names its pre-parsed column.

    The same definitions check activity rows, reference sheets and, in the tests, single cells.
    """
    if kind == "text":
        return cleaned(c), None, None
    if kind == "date":
        return f"(CASE WHEN {date_in_range(raw)} THEN {raw} END)", date_error(c, raw), None
    if kind == "hours":
        value = f"(CASE WHEN {raw} > 0 AND isfinite({raw}) THEN {raw} END)"
        long = (f"(CASE WHEN {value} > {LONG_ACTIVITY_HOURS} THEN 'More than {LONG_ACTIVITY_HOURS} hours in one "
                f"row (' || CAST(round({value}, 2) AS VARCHAR) || '); please check it is one activity' END)")
        dotted = (f"(CASE WHEN {ident(c + NUM)} IS NULL AND regexp_full_match({trimmed(c)}, '\\d+[.,](15|30|45)') "
                  f"THEN {quoted(trimmed(c))} || ' read as ' || CAST({value} AS VARCHAR) || ' hours; if it means "
                  f"' || regexp_extract({trimmed(c)}, '^(\\d+)', 1) || ' h ' || "
                  f"regexp_extract({trimmed(c)}, '(\\d+)$', 1) || ' min, write it as ' || "
                  f"regexp_replace({trimmed(c)}, '[.,]', ':') END)")
        return value, hours_error(c, raw), f"coalesce({long}, {dotted})"
    if kind == "yesno":
        blank_warning = f"{named(c)} || ' is blank; counted as ''no'''"
        return yes_no_value(c, ticks_used(c)), yes_no_error(c), f"(CASE WHEN {is_blank(c)} THEN {blank_warning} END)"
    if kind in ("year", "term"):
        return raw, None, None
    if kind == "number":
        value = f"coalesce({ident(c + NUM)}, try_cast({trimmed(c)} AS DOUBLE))"
        error = f"(CASE WHEN NOT {is_blank(c)} AND {value} IS NULL THEN {named(c)} || ' must be a number' END)"
        return value, error, None
    if kind == "activity_type":
        canonical = raw
        unknown = "' is not in the list; recorded as ''other'''"
        return (f"(CASE WHEN {cleaned(c)} IS NOT NULL THEN coalesce({canonical}, 'other') END)",
                f"(CASE WHEN {cleaned(c)} IS NULL THEN {named(c, 'Activity type')} || ' is missing' END)",
                f"(CASE WHEN {cleaned(c)} IS NOT NULL AND {canonical} IS NULL "
                f"THEN {about(c, cleaned(c), unknown, 'Activity type')} END)")
    raise ValueError(f"unknown column kind {kind!r}")


def raw_parse(kind: str, c: str) -> str | None:
    """The per-row parse that a kind's checks refer to (computed once, in an earlier stage)."""
    if kind == "date":
        return date_value(c)
    if kind == "hours":
        return hours_value(c)
    return None


def per_value_parse(kind: str) -> str | None:
    """A parse of trimmed text `k` alone, computed once per distinct value (returns repeat a few labels)."""
    if kind == "year":
        return academic_year_value("k")
    if kind == "term":
        return term_of_key(TIDY_KEY)
    if kind == "activity_type":
        return mapped(TIDY_KEY, schema.ACTIVITY_TYPE_ALIASES)
    return None


def parses(columns: Sequence[schema.Column]) -> tuple[list[tuple[str, str]], list[tuple[str, str, str]]]:
    """Per-row and per-distinct-value parses (named r__<column>) that `kind_parts` refers to."""
    per_row = [(f"r__{c.name}", raw_parse(c.kind, c.name)) for c in columns if raw_parse(c.kind, c.name)]
    per_value = [(f"r__{c.name}", trimmed(c.name), per_value_parse(c.kind))
                 for c in columns if per_value_parse(c.kind)]
    per_value += [lookup for c in columns if c.kind == "date" for lookup in date_lookups(c.name)]
    per_value += [(f"yw__{c.name}", trimmed(c.name), yes_no_word("k")) for c in columns if c.kind == "yesno"]
    return per_row, per_value


def with_lookups(con: duckdb.DuckDBPyConnection, cells: pa.Table,
                 lookups: Sequence[tuple[str, str, str]]) -> pa.Table:
    """`cells` plus one column per lookup (alias, key column, SQL over `k`), each parse run once per distinct key.

    The keys are dictionary-encoded in Arrow; the expressions run in DuckDB over the small dictionaries, every
    key column's in one statement (binding these expressions costs more than running them), and come back to
    every row by `take`, so a 100,000-row return costs no hash join per lookup. A lookup may use TIDY_DATE and
    TIDY_KEY, the key's text tidied by date_text and header_key.
    """
    by_key: dict[str, list[tuple[str, str]]] = {}
    for alias, key, expr in lookups:
        by_key.setdefault(key.strip('"').replace('""', '"'), []).append((alias, expr))
    if not by_key:
        return cells
    encoded = {key: pc.dictionary_encode(cells[key].combine_chunks()) for key in by_key}
    parts = []
    for n, (key, items) in enumerate(by_key.items()):
        dictionary = encoded[key].dictionary
        con.register(f"lookup_keys_{n}", pa.table({"k": dictionary, "_i": np.arange(len(dictionary))}))
        tidy = "".join(f", {tidied('k')} AS {name}" for name, tidied in ((TIDY_DATE, date_text), (TIDY_KEY, header_key))
                       if any(name in expr for _, expr in items))
        parts.append(f"SELECT {n} AS _key, _i, {', '.join(f'{expr} AS {ident(alias)}' for alias, expr in items)} "
                     f"FROM (SELECT k, _i{tidy} FROM lookup_keys_{n})")
    try:
        parsed = con.sql(" UNION ALL BY NAME ".join(parts) + " ORDER BY _key, _i").to_arrow_table()
    finally:
        for n in range(len(by_key)):
            con.unregister(f"lookup_keys_{n}")
    # each key's rows are one slice of the result, in the order of its dictionary
    bounds = np.searchsorted(parsed["_key"].to_numpy(), np.arange(len(by_key) + 1))
    for n, (key, items) in enumerate(by_key.items()):
        for alias, _ in items:
            values = parsed[alias].slice(bounds[n], bounds[n + 1] - bounds[n]).combine_chunks()
            cells = cells.append_column(alias, values.take(encoded[key].indices))
    return cells


def source_sql(pre: Sequence[list[tuple[str, str]]]) -> tuple[str, str]:
    """(CTE list, final relation): `cells` (with its lookups, see with_lookups), then the stages of `pre`."""
    ctes, source = ["looked AS (SELECT * FROM cells)"], "looked"
    for i, stage in enumerate(s for s in pre if s):
        ctes.append(f"p{i} AS ({_select(source, stage)})")
        source = f"p{i}"
    return "WITH " + ", ".join(ctes), source


# --------------------------------------------------------------------------- running checks

_ENGINE = duckdb.connect(":memory:")


def connect() -> duckdb.DuckDBPyConnection:
    """A cursor on the shared in-memory engine: its own state per validation, so uploads never interfere."""
    return _ENGINE.cursor()


@dataclass
class Check:
    """One column's parsed value and, per row, an error (the row is quarantined) or a warning (kept)."""

    column: str
    value: str | None = None  # SQL for the parsed value, output as v__<column>
    error: str | None = None
    warning: str | None = None


ISSUE_COLUMNS = ["_rid", "_file", "sheet", "row_number", "column_name", "value", "message"]


def _issue_frame(issues: pa.Table) -> pd.DataFrame:
    """Issues as a frame whose missing cells are None (pandas would show NaN, which a report and JSON cannot)."""
    frame = issues.to_pandas().astype(object)
    return frame.where(frame.notna(), None)


def column_names(cells: pa.Table, c: str, rids: pa.Array) -> pa.ChunkedArray | pa.Array:
    """The file's own header of column `c` for the rows `rids` (the field's label where the file had none)."""
    label = pa.scalar(schema.column_label(c), pa.string())
    if c + HEADER not in cells.column_names:
        return pa.array([label.as_py()] * len(rids), pa.string())
    return pc.fill_null(pc.cast(cells[c + HEADER].take(rids), pa.string()), label)


def _select(source: str, items: list[tuple[str, str]]) -> str:
    if not items:
        return f"SELECT * FROM {source}"
    return f"SELECT *, {', '.join(f'{expr} AS {ident(alias)}' for alias, expr in items)} FROM {source}"


def run_checks(con: duckdb.DuckDBPyConnection, cells: pa.Table, names: Sequence[str], checks: list[Check],
               outputs: Sequence[str], pre: Sequence[list[tuple[str, str]]] = (),
               lookups: Sequence[tuple[str, str, str]] = (),
               duplicate_key: Sequence[str] = ()) -> tuple[pa.Table, pd.DataFrame, pd.DataFrame]:
    """Evaluate `checks` over `cells`: (accepted rows, errors, warnings about accepted rows).

    `cells` has _rid (its row position), _file, source_sheet, source_row and the
    encoded columns `names`. `pre` are stages of intermediate columns that later
    expressions use, `lookups` parses computed once per distinct value (see
    with_lookups). One SQL pass computes every value and message; the issues are
    then gathered with Arrow. Each error carries its raw row as JSON, so a
    quarantined row loses nothing. `duplicate_key` (checked columns) marks repeated
    accepted rows of one file with a warning.
    """
    ctes, source = source_sql(pre)
    cells = with_lookups(con, cells, lookups)
    values = [(f"v__{c.column}", c.value) for c in checks if c.value]
    errors = [i for i, c in enumerate(checks) if c.error]
    warnings = [i for i, c in enumerate(checks) if c.warning]
    columns = ["_rid", "_file", "source_sheet", "source_row",
               *(f"{expr} AS {ident(alias)}" for alias, expr in values),
               *(f"{checks[i].error} AS e__{i}" for i in errors),
               *(f"{checks[i].warning} AS w__{i}" for i in warnings)]
    con.register("cells", cells)
    try:
        result = con.sql(f"{ctes} SELECT {', '.join(columns)} FROM {source}").to_arrow_table()
    finally:
        con.unregister("cells")
    bad = pa.array(np.zeros(result.num_rows, dtype=bool))
    for i in errors:
        bad = pc.or_(bad, result[f"e__{i}"].is_valid())
    any_bad = pc.any(bad).as_py()
    # filter only the columns still needed, and only when some row failed: most uploads are clean
    kept = result.select(["_rid", *(f"w__{i}" for i in warnings),
                          *{*outputs, *(f"v__{k}" for k in duplicate_key), "_file", "source_sheet", "source_row"}])
    accepted = kept.filter(pc.invert(bad)) if any_bad else kept

    def issues(table: pa.Table, prefix: str, indexes: list[int]) -> pa.Table | None:
        found = []
        for i in indexes:
            hit = table.filter(table[f"{prefix}__{i}"].is_valid())
            if hit.num_rows:
                rids = hit["_rid"]
                found.append(pa.table({
                    "_rid": rids, "_file": hit["_file"], "sheet": hit["source_sheet"], "row_number": hit["source_row"],
                    "column_name": column_names(cells, checks[i].column, rids),
                    "value": pc.fill_null(cells[checks[i].column].take(rids), ""),
                    "message": hit[f"{prefix}__{i}"], "_order": pa.array(np.full(hit.num_rows, i))}))
        return pa.concat_tables(found).sort_by([("_rid", "ascending"), ("_order", "ascending")]) if found else None

    error_table = issues(result.filter(bad), "e", errors) if any_bad else None
    if error_table is None:
        error_frame = pd.DataFrame(columns=[*ISSUE_COLUMNS, "raw_row"])
    else:
        error_frame = _issue_frame(error_table.drop_columns("_order"))
        bad_rids = pc.unique(error_table["_rid"])
        raw = cells.select(list(names)).take(bad_rids).to_pylist()
        raw_json = dict(zip(bad_rids.to_pylist(), (json.dumps(r, ensure_ascii=False) for r in raw), strict=True))
        error_frame["raw_row"] = error_frame["_rid"].map(raw_json)
    warning_tables = [t for t in [issues(accepted, "w", warnings)] if t is not None]
    if duplicate_key and accepted.num_rows:
        con.register("accepted_rows", accepted.select(["_rid", "_file", "source_sheet", "source_row",
                                                       *(f"v__{k}" for k in duplicate_key)]))
        try:
            repeats = con.sql(f"""
                SELECT _rid, _file, source_sheet AS sheet, source_row AS row_number,
                       CAST(NULL AS VARCHAR) AS column_name, CAST(NULL AS VARCHAR) AS value,
                       'Same teacher, date, title and hours as row ' || first_row || '; both kept' AS message,
                       CAST({len(checks)} AS BIGINT) AS _order
                FROM (SELECT *, row_number() OVER w AS nth, first_value(source_row) OVER w AS first_row
                      FROM accepted_rows
                      WINDOW w AS (PARTITION BY _file, {', '.join(f'v__{k}' for k in duplicate_key)} ORDER BY _rid))
                WHERE nth > 1""").to_arrow_table()
        finally:
            con.unregister("accepted_rows")
        if repeats.num_rows:
            warning_tables.append(repeats)
    if warning_tables:
        warning_frame = _issue_frame(pa.concat_tables(warning_tables, promote_options="permissive")
                                     .sort_by([("_rid", "ascending"), ("_order", "ascending")]).drop_columns("_order"))
    else:
        warning_frame = pd.DataFrame(columns=ISSUE_COLUMNS)
    renamed = {f"v__{c.column}": c.column for c in checks}
    # in the order of the rows, so files are contiguous (DuckDB keeps it here; sorted only if it did not)
    rids = accepted["_rid"].to_numpy()
    if len(rids) > 1 and not (np.diff(rids) > 0).all():
        accepted = accepted.sort_by("_rid")
    accepted = accepted.select(list(outputs)).rename_columns([renamed.get(o, o) for o in outputs])
    return accepted, error_frame, warning_frame


# --------------------------------------------------------------------------- activity rows

TEACHER_NAME_PATTERN = "|".join((  # the forms a person's name is written in a staff list
    r"[A-Za-z][a-z]+(?: [A-Za-z][a-z'-]+)+",  # Jane Smith
    r"(?i:mr|mrs|ms|miss|mx|dr|prof)\.? +[A-Za-z].*",  # Mrs J Smith
    r"(?:[A-Z]\.? ?)+ ?[A-Z][a-z'-]+",  # J. Smith, J Smith, J.A. Smith
    r"[A-Z][A-Za-z'-]+, *[A-Z][a-z'-]+.*",  # Smith, Jane
    r"[A-Z][A-Z'-]+ [A-Z][a-z'-]+",  # SMITH Jane
))
NOT_ACTIVITY = (  # (pattern over a row's school, teacher and title, why the row is set aside)
    (r"(?i)(e\.?g\.?|example)\b.*", "This looks like an example row, not an activity"),
    (r"(?i)(sub-? ?)?totals?\b.*", "This looks like a total or subtotal row, not an activity"),
)
URN_PREFIX = r"(?i)(urn|dfe|laestab|school)( ?(no\.?|number|code))? *[:#]? *(\d+)"
MISSING_LABELS = {"school_id": "School", "teacher_id": "Teacher ID", "activity_title": "Activity title"}
DUPLICATE_KEY = ("school_id", "teacher_id", "activity_date", "activity_title", "hours")


def school_code(t: str) -> str:
    """The school code in trimmed text `t`: 'URN 107100' is the school 107100; NULL when blank."""
    return f"(CASE WHEN regexp_full_match({t}, {lit(URN_PREFIX)}) THEN regexp_extract({t}, '(\\d+)$', 1) " \
           f"ELSE nullif({t}, '') END)"


REGISTER = "school_register"  # the known school codes, registered on the validation cursor when a register exists
NOT_REGISTERED = ("is not in the Schools register; add the school to the register (a Schools sheet with its "
                  "code) or correct the code")


def activity_checks(school: str | None, register: frozenset[str] | None = None
                    ) -> tuple[list[list[tuple[str, str]]], list[tuple[str, str, str]], list[Check]]:
    """The termly record's rules, column by column, in the order a person reads the row.

    With a `register` of school codes, a row whose school is not in it is set aside. A row dated after
    the day of the upload (the server's clock) is set aside too: a log records what
    was done, so a future date is a mistyped year, and kept it would count in a year that has not
    happened and become every viewer's latest year. A day's grace allows for clocks in other time zones.
    """
    today = dt.date.today()
    per_row, lookups = parses(schema.ACTIVITY_COLUMNS)
    day = "d__ok"
    pre = [per_row, [(day, f"(CASE WHEN {date_in_range('r__activity_date')} THEN r__activity_date END)")]]
    checks = []
    for i, (pattern, why) in enumerate(NOT_ACTIVITY):  # matched once per distinct text, not per row
        hits = []
        for c in ("school_id", "teacher_id", "activity_title"):
            lookups.append((f"na{i}__{c}", trimmed(c), f"coalesce(regexp_full_match(k, {lit(pattern)}), false)"))
            hits.append(f"coalesce({ident(f'na{i}__{c}')}, false)")
        checks.append(Check("activity_title", None, f"(CASE WHEN {' OR '.join(hits)} THEN {lit(why)} END)"))
    lookups.append(("nm__teacher_id", trimmed("teacher_id"),
                    f"coalesce(regexp_full_match(k, {lit(TEACHER_NAME_PATTERN)}), false)"))
    for column in schema.ACTIVITY_COLUMNS:
        c = column.name
        value, error, warning = kind_parts(column.kind, c, f"r__{c}")
        if c == "school_id":  # 'URN 107100' is the school 107100; once per distinct code
            lookups.append(("sc__school_id", trimmed(c), school_code("k")))
            value = "sc__school_id"
            if register is not None:
                lookups.append(("sk__school_id", trimmed(c), f"{school_code('k')} IN (SELECT code FROM {REGISTER})"))
                given = "true" if school is None or school in register else "false"
                typed = (f"(CASE WHEN sc__school_id <> {cleaned(c)} THEN ' (written ' || {quoted(cleaned(c))} || ')' "
                         f"ELSE '' END)")
                checks.append(Check(c, None, f"""(CASE
                    WHEN sc__school_id IS NULL AND NOT {given} THEN {lit(f"School '{school}' {NOT_REGISTERED}")}
                    WHEN sc__school_id IS NOT NULL AND NOT coalesce(sk__school_id, false)
                        THEN 'School ' || {quoted('sc__school_id')} || {typed} || ' ' || {lit(NOT_REGISTERED)} END)"""))
        if c == "school_id" and school:
            error = (f"(CASE WHEN {value} <> {lit(school)} THEN 'School ' || {quoted(cleaned(c))} || "
                     f"{lit(f' differs from the school this file was uploaded for ({school})')} END)")
            value = f"coalesce({value}, {lit(school)})"
        elif c in MISSING_LABELS:
            error = f"(CASE WHEN {cleaned(c)} IS NULL THEN {named(c, MISSING_LABELS[c])} || ' is missing' END)"
        if c == "teacher_id":
            warning = (f"(CASE WHEN coalesce(nm__teacher_id, false) THEN {named(c, 'Teacher ID')} || "
                       "' looks like a person''s name; use a pseudonymous staff code' END)")
        if c == "activity_date":
            why = lit(f" is in the future (this upload is dated {today:%d/%m/%Y}); please check the year")
            future = (f"(CASE WHEN {date_in_range('r__activity_date')} AND r__activity_date > "
                      f"DATE '{today + dt.timedelta(days=1)}' "
                      f"THEN 'Date ' || strftime(r__activity_date, '%d/%m/%Y') || {why} END)")
            error = f"coalesce({error}, {future})"
        if c in ("academic_year", "term"):  # derived from the date; a disagreeing label is only reported
            label, derived = ("Academic year", year_of(day)) if c == "academic_year" else ("Term", term_of(day))
            disagrees = about(c, ident(c), f"' does not match the date; using ' || {derived}", label)
            warning = (f"(CASE WHEN NOT {is_blank(c)} AND {day} IS NOT NULL AND {value} IS DISTINCT FROM {derived} "
                       f"THEN {disagrees} END)")
            value = derived
        checks.append(Check(c, value, error, warning))
    return pre, lookups, checks


def validate_activities(cells: pa.Table, school: str | None = None, register: Iterable[str] | None = None
                        ) -> tuple[pa.Table, pd.DataFrame, pd.DataFrame]:
    """Accepted activity rows (Arrow), quarantine rows and warnings for a batch of encoded cells.

    `register`: the school codes known (the Schools register); None when there is none, and then any
    school code is accepted.
    """
    known = None if register is None else frozenset(register)
    pre, lookups, checks = activity_checks(school, known)
    outputs = ["_file", "source_sheet", "source_row", *(f"v__{c.name}" for c in schema.ACTIVITY_COLUMNS)]
    with connect() as con:
        if known is not None:
            con.register(REGISTER, pa.table({"code": pa.array(sorted(known), pa.string())}))
        accepted, errors, warnings = run_checks(con, cells, schema.ACTIVITY_COLUMN_NAMES, checks, outputs, pre,
                                                lookups, DUPLICATE_KEY)
    return accepted, errors.rename(columns={"message": "reason"}), warnings


def validate_reference(kind: str, cells: pa.Table) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reference rows (keys required; dates, numbers, years and yes/no parsed) and the problems found."""
    columns = schema.sheet_columns(kind)
    per_row, lookups = parses(columns)
    checks = []
    for col in columns:
        value, error, _ = kind_parts(col.kind, col.name, f"r__{col.name}")
        missing = f"{named(col.name)} || ' is missing'"
        if col.kind == "date":  # optional dates may be blank
            error = f"(CASE WHEN NOT {is_blank(col.name)} THEN {error} END)"
        elif col.kind == "year":
            error = f"(CASE WHEN {value} IS NULL THEN 'Academic year must look like 2019/20' END)"
        if col.required and col.kind == "text":
            error = f"(CASE WHEN {value} IS NULL THEN {missing} END)"
        elif col.required and col.kind == "yesno":
            error = f"(CASE WHEN {is_blank(col.name)} THEN {missing} ELSE {error} END)"
        checks.append(Check(col.name, value, error))
    outputs = [f"v__{col.name}" for col in columns]
    with connect() as con:
        accepted, errors, _ = run_checks(con, cells, [c.name for c in columns], checks, outputs, [per_row], lookups)
    return accepted.to_pandas(), errors


def parse_cells(kind: str, values: Sequence[object]) -> pd.DataFrame:
    """Parse loose cells as one column kind: a frame of value, error and warning per cell (blank ones too)."""
    n = len(values)
    table = cells_table({"cell": values}, ["cell"], n, {
        "_rid": pa.array(range(n), pa.int64()), "_file": pa.array([0] * n, pa.int64()),
        "source_sheet": pa.array(["cells"] * n), "source_row": pa.array(range(1, n + 1), pa.int64())},
        keep_blank_rows=True)
    per_row, lookups = parses([schema.Column("cell", kind, False, "")])
    value, error, warning = kind_parts(kind, "cell", "r__cell")
    ctes, source = source_sql([per_row])
    with connect() as con:
        con.register("cells", with_lookups(con, table, lookups))
        return con.sql(f"{ctes} SELECT {value} AS value, {error or 'NULL'} AS error, {warning or 'NULL'} AS warning "
                       f"FROM {source} ORDER BY _rid").to_arrow_table().to_pandas()
