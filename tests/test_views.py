"""Access control in the data layer, small-cell suppression, and export safety."""

import datetime as dt
import io

import openpyxl
import pandas as pd
import pytest

from qa import returns, views
from qa.access import AccessDenied, Viewer
from qa.disclosure import SUPPRESSED
from qa.exports import neutralise, to_csv_bytes, to_xlsx_bytes
from qa.framework import load_framework
from tests.conftest import activity, workbook_bytes

WELLCOME = load_framework("wellcome")
AS_OF = dt.date(2021, 1, 1)
EVALUATOR = Viewer("evaluator")
CHAMPION = Viewer("champion", school_id="S1")
FUNDER = Viewer("funder")


@pytest.fixture
def two_schools(store, load):
    big = [activity(school_id="S1", teacher_id=f"T{i}", hours=40 if i < 3 else 5) for i in range(6)]
    small = [activity(school_id="S2", teacher_id=f"U{i}", hours=40) for i in range(2)]
    load(big + small)
    load(workbook_bytes({"Schools": [{"school_id": "S1", "name": "Abbey"}, {"school_id": "S2", "name": "Birch"}]}),
         name="ref.xlsx", accept_reference_changes=True)
    returns.set_consent(store, "S1", True, "eva")  # consent is an evaluator's act, never an upload's
    returns.set_consent(store, "S2", False, "eva")
    return store


def test_champion_sees_own_school_and_is_refused_another(two_schools):
    board = views.school_dashboard(two_schools, CHAMPION, "S1", WELLCOME, "2019/20", as_of=AS_OF)
    assert set(board.teachers["school_id"]) == {"S1"} and len(board.teachers) == 6
    with pytest.raises(AccessDenied, match="your own school"):
        views.school_dashboard(two_schools, CHAMPION, "S2", WELLCOME, "2019/20", as_of=AS_OF)
    with pytest.raises(AccessDenied):
        views.missing_returns(two_schools, CHAMPION, AS_OF, school_id="S2")
    assert views.visible_schools(two_schools, CHAMPION)["school_id"].tolist() == ["S1"]


def test_funder_gets_no_teacher_or_school_records(two_schools):
    with pytest.raises(AccessDenied, match="aggregates"):
        views.school_dashboard(two_schools, FUNDER, "S1", WELLCOME, "2019/20", as_of=AS_OF)
    with pytest.raises(AccessDenied):
        views.data_quality(two_schools, FUNDER)
    assert views.visible_schools(two_schools, FUNDER).empty


def test_funder_figures_from_fewer_than_five_teachers_are_suppressed(two_schools):
    overview = views.funder_overview(two_schools, FUNDER, WELLCOME, "2019/20", as_of=AS_OF)
    schools = overview.schools.set_index("school")
    birch = views.school_labels(two_schools, ["S2"])["S2"]
    assert "Birch" not in schools.index and "S2" not in schools.index  # no consent to be named: a label
    assert schools.loc[birch, "teachers"] == SUPPRESSED and schools.loc[birch, "share_meeting"] == SUPPRESSED
    # Abbey (6 teachers) is suppressed too: the year's 8 minus Abbey's 6 would give Birch's 2 back
    assert schools.loc["Abbey", "teachers"] == SUPPRESSED and schools.loc["Abbey", "share_meeting"] == SUPPRESSED
    year = overview.by_year.iloc[0]
    assert year["teachers"] == 8 and year["share_meeting"] == pytest.approx(5 / 8)
    every_cell = [str(c) for c in pd.concat([overview.by_year, overview.by_phase, overview.by_local_authority,
                                             overview.schools], ignore_index=True).to_numpy().ravel()]
    assert not any(cell.startswith(("T", "U")) and cell[1:].isdigit() for cell in every_cell)  # no teacher ids
    csv_text = to_csv_bytes(overview.schools).decode("utf-8-sig")
    assert "S2" not in csv_text and f"{birch},,,c,c,c" in csv_text


def test_missing_returns_and_data_quality(store, load):
    load([activity(activity_date=dt.date(2019, 10, 1)), activity(activity_date=dt.date(2020, 5, 1))])
    missing = views.missing_returns(store, EVALUATOR, AS_OF)
    assert missing.to_dict("records") == [{"school_id": "S1", "academic_year": "2019/20", "term": "Spring"}]
    load([activity(school_id="S3", hours="lots")], name="bad.xlsx")  # rejected whole: nothing to show
    load([activity(school_id="S3"), activity(school_id="S3", teacher_id="T2", hours="lots")], name="part.xlsx")
    quality = views.data_quality(store, EVALUATOR, AS_OF)
    assert quality.quarantine.total() == 1
    assert quality.quarantine.all()[["file_name", "row_number", "column_name", "value"]].to_dict("records") == [
        {"file_name": "part.xlsx", "row_number": 3, "column_name": "hours", "value": "lots"}]


@pytest.mark.parametrize("cell", ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"])
def test_formula_injection_is_neutralised(cell):
    assert neutralise(cell) == "'" + cell
    frame = pd.DataFrame({"teacher_id": [cell], "hours": [1.5]})
    assert to_csv_bytes(frame).decode("utf-8-sig").splitlines()[1].startswith(("'", "\"'"))
    book = openpyxl.load_workbook(io.BytesIO(to_xlsx_bytes({"t": frame})))
    value = book["t"]["A2"].value
    assert value.startswith("'") and book["t"]["A2"].data_type == "s"  # XLSX stores \r as _x000D_


def test_ordinary_values_are_untouched():
    assert neutralise("T001") == "T001" and neutralise(3.5) == 3.5 and neutralise("Year 7 - maths") == "Year 7 - maths"


@pytest.mark.parametrize("cell", ["\uff1d1+1", "\uff0b1", "\uff0d2", "\uff20SUM(A1)", "\ufeff=cmd", "\u200b=1+1",
                                  "\u200d\u2060+1", " =1+1", "\u00a0@x", "\ncmd"])
def test_full_width_and_hidden_formula_starts_are_neutralised(cell):
    assert neutralise(cell) == "'" + cell
    assert to_csv_bytes(pd.DataFrame({"provider": [cell]})).decode("utf-8-sig").splitlines()[1].startswith(
        ("'", "\"'"))


def test_a_programme_in_one_local_authority_keeps_its_year_total_beside_an_unnamed_school(store, load):
    """All schools in Sheffield, one not named: the Sheffield row is the year itself, the only row of its table,
    so holding it back ties nothing; the funder keeps the year's headline figures, and only the unnamed school's
    small row and the one row that would give it back are suppressed."""
    load([activity(school_id=s, teacher_id=f"{s}-{i}", hours=40) for s, n in (("S1", 6), ("S2", 2), ("S3", 5))
          for i in range(n)])
    load(workbook_bytes({"Schools": [{"school_id": s, "name": n, "phase": "primary", "local_authority": "Sheffield"}
                                     for s, n in (("S1", "Abbey"), ("S2", "Birch"), ("S3", "Cedar"))]}),
         name="ref.xlsx", accept_reference_changes=True)
    for school in ("S1", "S3"):
        returns.set_consent(store, school, True, "eva")
    overview = views.funder_overview(store, FUNDER, WELLCOME, "2019/20", as_of=AS_OF)
    assert overview.by_year.iloc[0][["teachers", "schools"]].tolist() == [13, 3]
    assert overview.by_local_authority.iloc[0]["teachers"] == 13 and overview.by_phase.iloc[0]["teachers"] == 13
    shown = overview.schools.set_index("school")["teachers"]
    assert shown[views.school_labels(store, ["S2"])["S2"]] == SUPPRESSED
    assert (shown == SUPPRESSED).sum() == 2  # Birch's 2, and one named school so that 13 - it - 2 is not shown
