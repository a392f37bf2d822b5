"""The termly record's parsing rules: every yes/no and hours form, dates, year and term."""

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from qa import schema, validate


def parse(kind, cell):
    """One cell through the importer's SQL rules: (value, error, warning)."""
    row = validate.parse_cells(kind, [cell]).iloc[0]
    return row["value"], row["error"], row["warning"]

YES_CELLS = ["Y", "y", "Yes", "YES", "True", "true", True, 1, 1.0, "1", "✓", "✔", "x", "X", " yes "]


@pytest.mark.parametrize("cell", YES_CELLS)
def test_yes_forms(cell):
    value, error, warning = parse("yesno", cell)
    assert value is True or value == True  # noqa: E712 - numpy bool
    assert pd.isna(error) and pd.isna(warning)


@pytest.mark.parametrize("cell", ["N", "n", "No", "NO", "False", False, 0, 0.0, "0", "✗", "✘"])
def test_no_forms(cell):
    value, error, warning = parse("yesno", cell)
    assert not value and pd.isna(error) and pd.isna(warning)


def test_blank_flag_is_no_but_reported_as_blank():
    parsed = validate.parse_cells("yesno", [None, "", "  ", "\u00a0"])
    assert not parsed["value"].any() and parsed["error"].isna().all()
    assert list(parsed["warning"]) == ["Cell is blank; counted as 'no'"] * 4


def test_unknown_flag_is_an_error_a_person_can_read():
    message = parse("yesno", "maybe")[1]
    assert message == "Expected yes or no (Y, N, Yes, No, True, False, 1, 0, ✓, ✗ or x); found 'maybe'"


@pytest.mark.parametrize(("cell", "hours"), [
    (1.5, 1.5), (2, 2.0), ("1.5", 1.5), ("1,5", 1.5), ("1h30", 1.5), ("1h 30m", 1.5), ("1 hr 30 mins", 1.5),
    ("90 min", 1.5), ("90 mins", 1.5), ("45 minutes", 0.75), ("1:30", 1.5), ("0:45", 0.75), ("2 hours", 2.0),
    ("2hrs", 2.0), ("3h", 3.0), (dt.time(1, 30), 1.5), (dt.timedelta(minutes=90), 1.5),
])
def test_hours_forms(cell, hours):
    value, error, _ = parse("hours", cell)
    assert value == pytest.approx(hours)
    assert pd.isna(error)


@pytest.mark.parametrize(("cell", "message"), [
    ("two", "Hours must be a positive number (1.5, 1h30, 90 min or 1:30); found 'two'"),
    (0, "Hours must be a positive number; found '0'"),
    (-2, "Hours must be a positive number; found '-2'"),
    (None, "Hours are missing"),
    ("", "Hours are missing"),
    ("1:75", "Hours must be a positive number (1.5, 1h30, 90 min or 1:30); found '1:75'"),
    (True, "Hours must be a positive number (1.5, 1h30, 90 min or 1:30); found 'True'"),
])
def test_bad_hours_are_explained(cell, message):
    value, error, _ = parse("hours", cell)
    assert pd.isna(value)
    assert error == message


@pytest.mark.parametrize(("cell", "day"), [
    (dt.datetime(2019, 10, 1, 0, 0), dt.date(2019, 10, 1)),
    (dt.date(2019, 10, 1), dt.date(2019, 10, 1)),
    ("2019-10-01", dt.date(2019, 10, 1)),
    ("01/10/2019", dt.date(2019, 10, 1)),  # UK order: 1 October
    ("1/10/19", dt.date(2019, 10, 1)),
    ("01-10-2019", dt.date(2019, 10, 1)),
    ("01.10.2019", dt.date(2019, 10, 1)),
    ("1 October 2019", dt.date(2019, 10, 1)),
    (43739, dt.date(2019, 10, 1)),  # Excel serial number that arrived as a number
])
def test_date_forms(cell, day):
    value, error, _ = parse("date", cell)
    assert value == day and pd.isna(error)


@pytest.mark.parametrize(("cell", "message"), [
    ("31/02/2019", "'31/02/2019' is not a real date"),
    ("next Tuesday", "Date must be a date like 01/10/2019 or 2019-10-01; found 'next Tuesday'"),
    ("01/10/1919", "Date 01/10/1919 is outside the years 2000-2099"),
    (None, "Date is missing"),
])
def test_bad_dates_are_explained(cell, message):
    value, error, _ = parse("date", cell)
    assert pd.isna(value) and error == message


@pytest.mark.parametrize(("day", "year", "term"), [
    (dt.date(2020, 8, 31), "2019/20", "Summer"),
    (dt.date(2020, 9, 1), "2020/21", "Autumn"),
    (dt.date(2019, 12, 31), "2019/20", "Autumn"),
    (dt.date(2020, 1, 1), "2019/20", "Spring"),
    (dt.date(2020, 3, 31), "2019/20", "Spring"),
    (dt.date(2020, 4, 1), "2019/20", "Summer"),
    (dt.date(2099, 12, 1), "2099/00", "Autumn"),
])
def test_year_and_term_boundaries(day, year, term):
    assert schema.academic_year_of(day) == year
    assert schema.term_of(day) == term
    derived = validate.connect().sql(
        f"SELECT {validate.year_of('d')}, {validate.term_of('d')} FROM (SELECT DATE '{day}' AS d)").fetchall()
    assert derived == [(year, term)]


@pytest.mark.parametrize(("header", "canonical"), [
    ("Staff ID", "teacher_id"), ("staff_id", "teacher_id"), ("Duration (hrs)", "hours"),
    ("Date of activity", "activity_date"), ("Subject specific? (Y/N)", "subject_specific"),
    ("  TEACHER-ID ", "teacher_id"), ("DfE 3", "collaboration"), ("Aligned to my needs?", "aligned_to_needs"),
])
def test_header_synonyms(header, canonical):
    assert schema.match_header(header) == canonical


def test_unknown_header_is_not_guessed():
    assert schema.match_header("Cost (£)") is None


@pytest.mark.parametrize(("text", "year"), [("2019/20", "2019/20"), ("2019-20", "2019/20"),
                                             ("2019/2020", "2019/20"), ("2019/21", None), ("Autumn", None)])
def test_academic_year_labels(text, year):
    assert schema.normalise_academic_year(text) == year
    got = parse("year", text)[0]
    assert (None if pd.isna(got) else got) == year  # the importer's SQL agrees with the filter's check


def test_terms_started_through_the_year():
    assert schema.terms_started("2019/20", dt.date(2019, 8, 31)) == 0
    assert schema.terms_started("2019/20", dt.date(2019, 11, 1)) == 1
    assert schema.terms_started("2019/20", dt.date(2020, 2, 1)) == 2
    assert schema.terms_started("2019/20", dt.date(2020, 6, 1)) == 3
    assert schema.terms_started("2019/20", dt.date(2020, 9, 1)) == 3


def test_provider_names_normalise_to_one_key():
    keys = {schema.normalise_provider_key(n) for n in
            ["STEM Learning Ltd", "stem learning", "STEM  Learning Limited.", "The STEM Learning"]}
    assert keys == {"stem learning"}
    assert schema.normalise_provider_key("A & B Training") == schema.normalise_provider_key("A and B training")


def test_activity_types_map_and_unknown_become_other_with_warning():
    parsed = validate.parse_cells("activity_type", ["INSET", "Lesson Study", "PLC", "Twilight chat", None])
    assert list(parsed["value"][:4]) == ["INSET day", "lesson study", "professional learning community", "other"]
    assert parsed["warning"][3] == "Activity type 'Twilight chat' is not in the list; recorded as 'other'"
    assert parsed["error"][4] == "Activity type is missing"


def test_readme_record_format_is_generated_from_the_schema():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    block = readme.split("<!-- record-format:start")[1].split("-->", 1)[1].split("<!-- record-format:end -->")[0]
    assert block.strip() == schema.record_format_markdown()
