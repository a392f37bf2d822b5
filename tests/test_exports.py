"""XLSX exports read back cell for cell: text stays text (neutralised), numbers numbers, blanks blank."""

import datetime as dt
import decimal
import io

import openpyxl
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from qa.disclosure import SUPPRESSED
from qa.exports import neutralise, to_xlsx_bytes

TEXT = st.one_of(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=12),
                 st.sampled_from(["=SUM(A1)", "+1", "-2", "@x", "\uff1d1", "\u200b=1", "1.5", "007", "http://x.org",
                                  "TRUE", SUPPRESSED]))
CELL = st.one_of(st.none(), TEXT, st.floats(allow_nan=False, allow_infinity=False, width=32),
                 st.integers(-10**9, 10**9))


def _read(data: bytes, sheet: str) -> list[list]:
    return [[c.value for c in row] for row in openpyxl.load_workbook(io.BytesIO(data))[sheet].iter_rows()]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(CELL, CELL, st.booleans()), max_size=8))
def test_every_cell_reads_back_as_written(rows):
    frame = pd.DataFrame(rows, columns=["mixed", "=other", "flag"], dtype=object)
    back = _read(to_xlsx_bytes({"t": frame}), "t")
    assert back[0] == ["mixed", "'=other", "flag"]
    expected = [[neutralise(v) if isinstance(v, str) else v for v in row] for row in rows]
    assert back[1:] == [[None if v == "" else v for v in row] for row in expected]


def test_typed_columns_blanks_dates_and_repeated_headers():
    frame = pd.DataFrame({"when": pd.to_datetime([None, "2021-03-04 10:30"]).tz_localize("UTC"),
                          "n": pd.array([None, 3], dtype="Int64"), "ok": pd.array([None, True], dtype="boolean"),
                          "share": [float("nan"), 0.25], "who": pd.array([None, "-1"], dtype="string")})
    frame.columns = ["when", "n", "ok", "share", "n"]
    data = to_xlsx_bytes({"a sheet name longer than thirty-one characters": frame})
    book = openpyxl.load_workbook(io.BytesIO(data))
    sheet = book["a sheet name longer than thirty"]
    assert [[c.value for c in row] for row in sheet.iter_rows()] == [
        ["when", "n", "ok", "share", "n (2)"],
        [None, None, None, None, None],  # a blank row stays a row
        [dt.datetime(2021, 3, 4, 10, 30), 3, True, 0.25, "'-1"]]
    assert sheet["A1"].font.b and sheet["A3"].number_format == "yyyy-mm-dd"


def test_nothing_is_left_blank_or_breaks_the_file():
    """Text past Excel's 32,767 characters is cut with a visible '…'; values of other kinds are written as text."""
    frame = pd.DataFrame({"v": pd.Series(["=" + "x" * 40_000, dt.timedelta(hours=2), dt.time(10, 30), [1, 2],
                                          decimal.Decimal("1.5")], dtype=object)})
    values = [row[0] for row in _read(to_xlsx_bytes({"t": frame}), "t")[1:]]
    assert len(values[0]) == 32_767 and values[0].startswith("'=xxx") and values[0].endswith("x…")
    assert values[1:] == ["2:00:00", "10:30:00", "[1, 2]", 1.5]
