""".xls and .xlsb read in bounded memory: their records are measured before calamine builds a sheet.

Without the guard, a 909-byte .xlsb with cells at A1 and XFD1048576 aborts the process ("memory allocation
of 549755813888 bytes failed"), a 5 kB .xls with a cell at IV65536 takes 1.2 GB, and one 30,000-character
text named by 100,000 cells takes 8.6 GB (.xls, 1.5 MB) or 5.7 GB (.xlsb, 16 kB), all measured with
python-calamine 0.9.1 (calamine 0.37).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import struct
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import openpyxl
import pytest
import python_calamine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa import binary_guard
from qa.ingest import ingest_files, prepare, validate_batch
from tests.binary_writers import biff, cfb_bytes, xls_stream, xlsb_bytes, xlsb_sheet
from tests.conftest import CANONICAL, ROOT, activity, workbook_bytes

FIXTURES = ROOT.parent / "shared" / "fixtures"
needs_fixtures = pytest.mark.skipif(not FIXTURES.is_dir(), reason="../shared/fixtures is not beside the checkout")
needs_proc = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="peak memory is read from /proc")


def places_message(name: str) -> str:
    return (f"{name} lays its cells out over more than 5,000,000 places (a cell far below or to the right of the "
            f"data, such as one in the last row or column); delete the empty rows and columns below and to the "
            f"right of the CPD log, or save it as .xlsx, and upload it again")


def text_message(name: str) -> str:
    return (f"{name} repeats its text too often to be read safely (its cells spell out more than 50,000,000 "
            f"characters between them); copy only the CPD log into a new workbook and upload that")


def damaged_message(name: str, why: str) -> str:
    return (f"{name} is damaged or built in a way that cannot be read safely ({why}); save it again from the "
            f"spreadsheet program, as .xlsx if you can, and upload the new copy")


def log_cells(rows: list[dict], first_row: int = 0) -> tuple[list, list[str]]:
    """A CPD log's cells as Excel writes them: texts in the shared table, numbers as numbers, dates as ISO text."""
    shared: list[str] = []
    cells = []
    for r, values in enumerate([dict(zip(CANONICAL, CANONICAL, strict=True)), *rows]):
        for c, key in enumerate(CANONICAL):
            value = values[key]
            if value is None:
                continue
            if hasattr(value, "isoformat"):
                value = value.isoformat()
            if isinstance(value, str):
                if value not in shared:
                    shared.append(value)
                value = ("sst", shared.index(value))
            cells.append((first_row + r, c, value))
    return cells, shared


def good_xls(rows: list[dict]) -> bytes:
    cells, shared = log_cells(rows)
    return cfb_bytes(xls_stream({"Log": cells}, shared=shared))


def good_xlsb(rows: list[dict]) -> bytes:
    cells, shared = log_cells(rows)
    return xlsb_bytes({"Log": xlsb_sheet(cells)}, shared=shared)


HEAD = [(0, 0, "Teacher"), (1, 0, 1.0)]


def xlsb_far_cell() -> bytes:
    return xlsb_bytes({"Log": xlsb_sheet([*HEAD, (1_048_575, 16_383, 1.0)])})


def text_bomb_cells(cells: int = 100_000) -> list:
    return [*HEAD, *((2 + i // 100, i % 100, ("sst", 0)) for i in range(cells))]


def refusal(name: str, data: bytes) -> str:
    report = prepare(name, data).report
    assert report.status == "rejected", name
    return report.errors[0].message


def stored(name: str, data: bytes) -> list[tuple]:
    prepared = prepare(name, data)
    [validated] = validate_batch([prepared])
    assert prepared.report.status == "pending", prepared.report.errors
    table = validated.accepted
    columns = ["school_id", "teacher_id", "activity_date", "academic_year", "term", "activity_title",
               "activity_type", "hours", "provider", "subject_specific", "aligned_to_needs", "pupil_outcomes",
               "evidence_based", "collaboration", "sustained"]
    return sorted(zip(*(table[c].to_pylist() for c in columns), strict=True))


# --------------------------------------------------------------------------- good files read exactly

ROWS = [activity(), activity(teacher_id="T2", hours=1.5, activity_title="Phonics network", collaboration="N"),
        activity(teacher_id="T3", activity_date=dt.date(2020, 2, 3), hours=12,
                 provider="Local authority", sustained="N")]


@pytest.mark.parametrize(("name", "build"), [("log.xls", good_xls), ("log.xlsb", good_xlsb)])
def test_a_cpd_log_in_xls_or_xlsb_stores_exactly_what_the_same_log_in_xlsx_stores(name, build):
    expected = stored("log.xlsx", workbook_bytes(ROWS))
    assert len(expected) == 3
    assert stored(name, build(ROWS)) == expected


def _calamine_places(data: bytes) -> int:
    """The places of all worksheets calamine builds for a workbook (it raises on one it cannot read)."""
    book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    grids = [book.get_sheet_by_name(m.name).to_python(skip_empty_area=False) for m in book.sheets_metadata
             if m.typ == python_calamine.SheetTypeEnum.WorkSheet]
    return sum(len(g) * len(g[0]) for g in grids if g)


@needs_fixtures
def test_every_xls_and_xlsb_fixture_calamine_reads_passes_the_guard_with_a_bound_at_least_its_grid():
    """Real files from LibreOffice and other projects' tests (19 of them keep their Workbook stream in the
    OLE mini stream): no false alarm, and never a bound below what calamine builds."""
    files = sorted(p for p in FIXTURES.rglob("*") if p.suffix.lower() in (".xls", ".xlsb"))
    checked = 0
    for path in files:
        data = path.read_bytes()
        try:
            places = _calamine_places(data)
        except BaseException as exc:  # a file calamine refuses (or panics on) is refused either way
            if not isinstance(exc, Exception) and type(exc).__name__ != "PanicException":
                raise
            continue
        layout = (binary_guard.xls_layout(data) if data[:8] == binary_guard.CFB_MAGIC
                  else binary_guard.xlsb_layout(zipfile.ZipFile(io.BytesIO(data))))
        assert layout.damaged == "", path.name
        assert places <= layout.places < 5_000_000, path.name
        checked += 1
    assert checked >= 80  # the six LibreOffice returns among them (tests/test_reader.py checks their rows)


# --------------------------------------------------------------------------- hostile files refused

def test_an_xlsb_with_cells_at_a1_and_xfd1048576_is_refused_before_calamine_aborts():
    data = xlsb_far_cell()
    assert len(data) < 2_000
    assert binary_guard.xlsb_layout(zipfile.ZipFile(io.BytesIO(data))).places == 1_048_576 * 16_384
    assert refusal("far.xlsb", data) == places_message("far.xlsb")


def test_an_xlsb_cell_past_column_xfd_is_counted_as_calamine_places_it():
    """calamine reads an .xlsb column as a 32-bit number and does not stop at XFD (40 million columns: 3 GB)."""
    data = xlsb_bytes({"Log": xlsb_sheet([*HEAD, (1, 40_000_000, 1.0)])})
    assert refusal("wide.xlsb", data) == places_message("wide.xlsb")


@pytest.mark.parametrize("cell", [(65_535, 255, 1.0), (65_535, 65_535, 1.0), (1_000, 60_000, ("sst", 0))])
def test_an_xls_with_a_far_cell_is_refused(cell):
    """IV65536 makes calamine build 16.7 million places (1.2 GB); a column number past IV (the record has room
    for 65,535) makes it abort."""
    data = cfb_bytes(xls_stream({"Log": [*HEAD, cell]}, shared=["far"]))
    assert refusal("far.xls", data) == places_message("far.xls")


@pytest.mark.parametrize("record", [
    biff(0x00D6, struct.pack("<HH", 65_535, 255) + b"\x00" * 16),  # RSTRING: calamine 0.37 places it too
    biff(0x00BD, struct.pack("<HH", 65_535, 250) + b"\x00" * 18 + struct.pack("<H", 252)),  # MULRK, 3 numbers
])
def test_far_cells_of_every_kind_calamine_places_are_counted(record):
    stream = xls_stream({"Log": HEAD})
    data = cfb_bytes(stream[:-4] + record + stream[-4:])  # before the sheet's EOF record
    grid = _calamine_grid(data)
    assert len(grid) == 65_536
    assert binary_guard.xls_layout(data).places == len(grid) * len(grid[0])
    assert refusal("far.xls", data) == places_message("far.xls")


def test_an_xlsb_sheet_part_named_by_three_sheets_counts_three_times():
    """calamine reads a part once per sheet that names it: three grids of 2 million places are 6 million."""
    part = xlsb_sheet([*HEAD, (1_999, 999, 1.0)])
    plain = zipfile.ZipFile(io.BytesIO(xlsb_bytes({"A": part, "B": part, "C": part})))
    crafted = io.BytesIO()
    with zipfile.ZipFile(crafted, "w") as z:
        for info in plain.infolist():
            body = plain.read(info)
            if info.filename.endswith(".rels"):
                body = body.replace(b"sheet2.bin", b"sheet1.bin").replace(b"sheet3.bin", b"sheet1.bin")
            z.writestr(info, body)
    data = crafted.getvalue()
    book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    assert [len(book.get_sheet_by_name(n).to_python(skip_empty_area=False)) for n in "ABC"] == [2_000] * 3
    assert binary_guard.xlsb_layout(zipfile.ZipFile(io.BytesIO(data))).places == 3 * 2_000 * 1_000
    assert refusal("three.xlsb", data) == places_message("three.xlsb")


def _formula(row: int, col: int) -> bytes:
    """A FORMULA record with a cached number and an empty formula."""
    return biff(0x0006, struct.pack("<HHHdHIH", row, col, 0x0F, 1.0, 0, 0, 0))


def test_xls_formulas_count_twice_as_calamine_lays_them_out_in_a_second_grid():
    """Numbers at A1 and IV19001 read (4.9 million places, 370 MB at peak); formulas there too would take
    480 MB, as calamine keeps a grid of formula texts beside the values: refused."""
    stream = xls_stream({"Log": HEAD})
    numbers = cfb_bytes(stream[:-4] + biff(0x0203, struct.pack("<HHHd", 19_000, 255, 0x0F, 1.0)) + stream[-4:])
    assert binary_guard.xls_layout(numbers).places == 19_001 * 256
    formulas = cfb_bytes(stream[:-4] + _formula(0, 1) + _formula(19_000, 255) + stream[-4:])
    assert binary_guard.xls_layout(formulas).places == 2 * 19_001 * 256 - 19_001  # the formulas start at B1
    assert refusal("formulas.xls", formulas) == places_message("formulas.xls")


def test_the_workbook_stream_is_found_as_calamine_finds_it_whatever_its_entry_says():
    """calamine names a directory entry by its first 64 bytes alone: a zero name length and a wrong entry type
    must not hide a far cell from the guard."""
    data = bytearray(cfb_bytes(xls_stream({"Log": [*HEAD, (65_535, 255, 1.0)]})))
    at = data.index("Workbook".encode("utf-16-le"))
    data[at + 64:at + 67] = b"\x00\x00\x01"
    assert len(_calamine_grid(bytes(data))) == 65_536
    assert refusal("hidden.xls", bytes(data)) == places_message("hidden.xls")


@pytest.mark.parametrize("dimensions", [struct.pack("<IIHHH", 0, 0xFFFFFFFF, 0, 0xFFFF, 0),
                                        struct.pack("<IIHHH", 5_000, 10, 0, 256, 0),  # last row before the first
                                        struct.pack("<HHHHH", 5_000, 10, 0, 75, 0)])
def test_an_xls_stating_an_impossible_sheet_size_is_refused(dimensions):
    """calamine reserves room for the range a DIMENSIONS record states, its rows wrapping around: these abort."""
    data = cfb_bytes(xls_stream({"Log": HEAD}, dimensions={"Log": dimensions}))
    assert refusal("dims.xls", data) == damaged_message(
        "dims.xls", "it states a sheet size larger than an Excel 97-2003 sheet can be")


@pytest.mark.parametrize("dimensions", [struct.pack("<IIHHH", 0, 65_536, 0, 256, 0),
                                        struct.pack("<HHHHH", 0, 192, 512, 75, 0)])  # calamine's OOM_alloc2.xls
def test_an_xls_stating_a_large_but_possible_sheet_size_still_reads(dimensions):
    cells, shared = log_cells(ROWS)
    data = cfb_bytes(xls_stream({"Log": cells}, shared=shared, dimensions={"Log": dimensions}))
    assert stored("dims.xls", data) == stored("log.xlsx", workbook_bytes(ROWS))


@pytest.mark.parametrize(("name", "build"), [
    ("text.xls", lambda: cfb_bytes(xls_stream({"Log": text_bomb_cells()}, shared=["x" * 30_000]))),
    ("text.xlsb", lambda: xlsb_bytes({"Log": xlsb_sheet(text_bomb_cells())}, shared=["x" * 30_000])),
])
def test_one_long_text_named_by_many_cells_is_refused(name, build):
    assert refusal(name, build()) == text_message(name)


def test_texts_just_under_the_limit_are_read():
    """1,600 cells naming a 30,000-character text spell out 48 million characters: under the limit."""
    cells, shared = log_cells(ROWS)
    shared.append("x" * 30_000)
    cells += [(10 + i // 100, 20 + i % 100, ("sst", len(shared) - 1)) for i in range(1_600)]
    data = cfb_bytes(xls_stream({"Log": cells}, shared=shared))
    assert binary_guard.xls_layout(data).shared_text == 1_600 * 30_000 + sum(
        len(shared[v[1]]) for _, _, v in cells[:-1_600] if isinstance(v, tuple))
    assert len(stored("near.xls", data)) == 3


def test_an_xlsb_renamed_xlsx_and_an_xlsx_renamed_xls_are_still_guarded():
    """calamine picks the format by the content, so a bomb cannot slip past the guard under another name."""
    assert refusal("far.xlsx", xlsb_far_cell()) == places_message("far.xlsx")
    book = openpyxl.Workbook()
    book.active.append(CANONICAL)
    book.active.append(list(activity(hours=2.5).values()))
    book.active["XFD1048576"] = "stray"
    buf = io.BytesIO()
    book.save(buf)
    assert [row[7] for row in stored("sparse.xls", buf.getvalue())] == [2.5]  # read sparsely, as an .xlsx


def test_an_xls_renamed_xlsx_is_read_and_guarded_as_the_xls_it_is():
    """Renamed to .xlsx by someone told to send .xlsx, an .xls was refused as 'damaged or not really a .xlsx
    file', though calamine reads it by its content: it is read (and guarded) as an .xls."""
    assert stored("log.xlsx", good_xls(ROWS)) == stored("log.xls", good_xls(ROWS))
    far = cfb_bytes(xls_stream({"Log": [*HEAD, (65_535, 255, 1.0)]}, shared=["far"]))
    assert refusal("far.xlsx", far) == places_message("far.xlsx")


PANIC_REFUSAL = ("short.xls could not be read as a spreadsheet (part of it is damaged, or laid out in a way this "
                 "program cannot follow); save it again from the spreadsheet program and upload the new copy")


def test_a_record_calamine_panics_on_is_a_refusal_not_a_crash():
    """A name record two bytes long makes calamine panic (PanicException, a BaseException): refused like any
    damaged file, so one file never stops a batch."""
    stream = bytearray(xls_stream({"Log": HEAD}))
    stream[20:20] = biff(0x0018, b"\x00\x00")
    at = stream.index(b"\x85\x00")  # the sheet now starts 6 bytes later
    struct.pack_into("<I", stream, at + 4, struct.unpack_from("<I", stream, at + 4)[0] + 6)
    assert refusal("short.xls", cfb_bytes(bytes(stream))) == PANIC_REFUSAL  # not Rust's words for it


def _panicking_xls() -> bytes:
    stream = bytearray(xls_stream({"Log": HEAD}))
    stream[20:20] = biff(0x0018, b"\x00\x00")  # a name record two bytes long
    at = stream.index(b"\x85\x00")
    struct.pack_into("<I", stream, at + 4, struct.unpack_from("<I", stream, at + 4)[0] + 6)
    return cfb_bytes(bytes(stream))


@pytest.mark.parametrize("backtrace", ["0", "1", "full"])
def test_cpdqa_ingest_of_a_file_calamine_panics_on_prints_the_refusal_and_no_rust_panic(tmp_path, backtrace):
    """Rust prints calamine's panic (with RUST_BACKTRACE set, a backtrace of 50 frames) straight to the
    terminal, above the refusal that says what to do: the person at the command line sees only the refusal."""
    (tmp_path / "short.xls").write_bytes(_panicking_xls())
    out = subprocess.run([sys.executable, "-c", "from qa.cli import main; main()", "ingest", "--db",
                          str(tmp_path / "cpd.duckdb"), str(tmp_path / "short.xls")], capture_output=True, text=True,
                         timeout=120, cwd=ROOT, env={**os.environ, "RUST_BACKTRACE": backtrace})
    assert out.returncode == 1
    assert out.stdout.splitlines()[:2] == [
        "✗ short.xls: refused",
        f"    error: {PANIC_REFUSAL}"]
    assert out.stderr.strip() == ""


def test_a_sheet_starting_past_the_end_of_the_workbook_is_refused():
    stream = bytearray(xls_stream({"Log": HEAD}))
    at = stream.index(b"\x85\x00")
    struct.pack_into("<I", stream, at + 4, 10_000_000)
    assert refusal("past.xls", cfb_bytes(bytes(stream))) == damaged_message(
        "past.xls", "a sheet starts past the end of the workbook")


def test_good_bombs_and_good_in_one_batch_store_both_good_files(store, tmp_path):
    (tmp_path / "a.xls").write_bytes(good_xls([activity(school_id="S1")]))
    (tmp_path / "far.xlsb").write_bytes(xlsb_far_cell())
    (tmp_path / "text.xls").write_bytes(cfb_bytes(xls_stream({"Log": text_bomb_cells()}, shared=["x" * 30_000])))
    (tmp_path / "b.xlsb").write_bytes(good_xlsb([activity(school_id="S3")]))
    reports = ingest_files(store, [tmp_path / n for n in ("a.xls", "far.xlsb", "text.xls", "b.xlsb")])
    assert [(r.file_name, r.status) for r in reports] == [
        ("a.xls", "accepted"), ("far.xlsb", "rejected"), ("text.xls", "rejected"), ("b.xlsb", "accepted")]
    assert reports[1].errors[0].message == places_message("far.xlsb")
    assert reports[2].errors[0].message == text_message("text.xls")
    assert store.query_rows("SELECT school_id, hours FROM active_activities ORDER BY 1") == [("S1", 5.0), ("S3", 5.0)]


# --------------------------------------------------------------------------- peak memory, in a fresh process

def _refused_in_a_fresh_process(path: Path) -> tuple[str, int]:
    """The first message of a file's report, and the peak memory in MB of the process that read it."""
    script = textwrap.dedent(f"""
        import json, sys
        sys.path.insert(0, {str(ROOT)!r})
        from pathlib import Path
        from qa.ingest import prepare
        p = Path({str(path)!r})
        report = prepare(p.name, p.read_bytes()).report
        peak_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
        print(json.dumps([report.errors[0].message if report.errors else report.status, peak_kb // 1024]))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    message, peak_mb = json.loads(out.stdout.splitlines()[-1])
    return message, peak_mb


@needs_proc
@pytest.mark.parametrize(("name", "build", "message"), [
    ("far.xlsb", xlsb_far_cell, places_message),
    ("far.xls", lambda: cfb_bytes(xls_stream({"Log": [*HEAD, (65_535, 255, 1.0)]})), places_message),
    ("text.xls", lambda: cfb_bytes(xls_stream({"Log": text_bomb_cells()}, shared=["x" * 30_000])), text_message),
    ("text.xlsb", lambda: xlsb_bytes({"Log": xlsb_sheet(text_bomb_cells())}, shared=["x" * 30_000]), text_message),
])
def test_hostile_binary_workbooks_are_refused_in_bounded_memory(tmp_path, name, build, message):
    path = tmp_path / name
    path.write_bytes(build())
    refused, peak_mb = _refused_in_a_fresh_process(path)
    assert refused == message(name)
    assert peak_mb < 300


# --------------------------------------------------------------------------- the bound is calamine's grid

_TEXT = st.text(alphabet="abcdé€ xyz", min_size=1, max_size=12)
_SHARED = st.lists(st.one_of(_TEXT, st.integers(8_000, 20_000).map(lambda n: "long" * (n // 4)),
                                  st.integers(8_000, 20_000).map(lambda n: "long" * (n // 4) + "€"),
                                  st.integers(2_000, 9_000).map(lambda n: "€" * n + "long" * n)),
                   min_size=1, max_size=5)


@st.composite
def sheets(draw, max_col: int):
    shared = draw(_SHARED)
    value = st.one_of(st.floats(-1e6, 1e6, allow_nan=False), _TEXT,
                      st.integers(0, len(shared) - 1).map(lambda i: ("sst", i)))
    cells = draw(st.dictionaries(st.tuples(st.integers(0, 400), st.integers(0, max_col)), value,
                                 min_size=1, max_size=30))
    return [(r, c, v) for (r, c), v in cells.items()], shared


def _calamine_grid(data: bytes) -> list[list[object]]:
    book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    return book.get_sheet_by_name("Log").to_python(skip_empty_area=False)


def _check(layout: binary_guard.Layout, grid: list[list[object]], cells: list, shared: list[str]) -> None:
    assert layout.damaged == ""
    assert layout.places == len(grid) * len(grid[0])  # calamine lays out exactly this many places
    named = [(r, c, shared[v[1]]) for r, c, v in cells if isinstance(v, tuple)]
    assert layout.shared_text == sum(len(s) for _, _, s in named)
    assert all(grid[r][c] == s for r, c, s in named)  # and the texts are the ones the cells name


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sheets(max_col=255))
def test_the_xls_scan_measures_exactly_the_grid_and_texts_calamine_builds(sheet):
    """Texts long enough to run on over CONTINUE records, and past them, are counted one by one."""
    cells, shared = sheet
    data = cfb_bytes(xls_stream({"Log": cells}, shared=shared))
    _check(binary_guard.xls_layout(data), _calamine_grid(data), cells, shared)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sheets(max_col=3_000))
def test_the_xlsb_scan_measures_exactly_the_grid_and_texts_calamine_builds(sheet):
    cells, shared = sheet
    data = xlsb_bytes({"Log": xlsb_sheet(cells)}, shared=shared)
    _check(binary_guard.xlsb_layout(zipfile.ZipFile(io.BytesIO(data))), _calamine_grid(data), cells, shared)


# --------------------------------------------------------------------------- damaged files: a refusal, never a crash

_MUTATE = textwrap.dedent("""
    import io, random, resource, sys, zipfile
    sys.path.insert(0, {root!r})
    resource.setrlimit(resource.RLIMIT_AS, (3 * 1024 ** 3, 3 * 1024 ** 3))  # a runaway allocation aborts at once
    from qa.reader import FileRejected, read_sheets
    from tests.binary_writers import cfb_bytes, xls_stream, xlsb_bytes, xlsb_sheet
    from tests.test_binary_formats import ROWS, log_cells
    cells, shared = log_cells(ROWS)
    stream = xls_stream({{"Log": cells}}, shared=shared)
    parts = {{"xl/worksheets/sheet1.bin": xlsb_sheet(cells)}}
    rng = random.Random(12)
    outcomes = {{"read": 0, "refused": 0}}
    for i in range({n}):
        if i % 2:
            data = bytearray(stream)
            for _ in range(rng.randint(1, 6)):
                data[rng.randrange(len(data))] = rng.choice([0, 0xFF, rng.randrange(256)])
            name, data = "m.xls", cfb_bytes(bytes(data))
        else:
            part = bytearray(parts["xl/worksheets/sheet1.bin"])
            for _ in range(rng.randint(1, 6)):
                part[rng.randrange(len(part))] = rng.choice([0, 0xFF, 0x7F, 0x80, rng.randrange(256)])
            name, data = "m.xlsb", xlsb_bytes({{"Log": bytes(part)}}, shared=shared)
        try:
            read_sheets(name, data)
            outcomes["read"] += 1
        except FileRejected:
            outcomes["refused"] += 1
    print(outcomes["read"], outcomes["refused"])
""")


def test_damaged_xls_and_xlsb_files_are_read_or_refused_never_a_crash():
    """400 copies of a good log with a few bytes changed (fixed seed), read in a process capped at 3 GB: each is
    read or refused with a sentence; none aborts the process or escapes as another exception."""
    out = subprocess.run([sys.executable, "-c", _MUTATE.format(root=str(ROOT), n=400)], capture_output=True,
                         text=True, timeout=300, env={**os.environ, "RUST_BACKTRACE": "0"})
    assert out.returncode == 0, out.stderr[-2000:]
    read, refused = map(int, out.stdout.split())
    assert read + refused == 400 and read > 0 and refused > 0
