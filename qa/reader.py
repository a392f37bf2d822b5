"""Spreadsheets and CSVs read as raw cells, in memory proportional to the cells that hold data.

Every failure becomes `FileRejected` with a sentence a school administrator can act on;
nothing a damaged or hostile file does escapes as a traceback. What the reader leaves out
on purpose (hidden sheets, hidden or filtered rows) is listed in `RawSheet.skipped` and in
the notes of the file's report.
"""

from __future__ import annotations

import csv
import datetime as dt
import gc
import io
import os
import re
import threading
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO
from xml.etree import ElementTree

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import python_calamine

from qa import binary_guard

EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".ods", ".xlsb"}
SUPPORTED_SUFFIXES = EXCEL_SUFFIXES | {".csv"}
DENSE_CELL_LIMIT = 5_000_000  # a used range larger than this is read cell by cell (sparse) instead
MERGE_FILL_LIMIT = 2_000_000  # cells a file's merged ranges may fill in all
PASSWORD_MESSAGE = ("is protected by a password; remove the password (in Excel: File > Info > Protect Workbook) "
                    "and upload it again")


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int = 50 * 1024 * 1024
    max_uncompressed_bytes: int = 500 * 1024 * 1024  # per xlsx/ods/zip, before it is opened
    max_compression_ratio: int = 200


DEFAULT_LIMITS = Limits()


@dataclass
class Issue:
    message: str
    sheet: str | None = None
    row: int | None = None
    column: str | None = None
    value: str | None = None

    def where(self) -> str:
        parts = [f"sheet '{self.sheet}'" if self.sheet else None,
                 f"row {self.row}" if self.row else None,
                 f"column {self.column}" if self.column else None]
        return ", ".join(p for p in parts if p)


class FileRejected(Exception):
    """The whole file cannot be accepted; nothing from it is written."""

    def __init__(self, message: str, issues: Iterable[Issue] = ()) -> None:
        super().__init__(message)
        self.issues = [Issue(message), *issues]


@dataclass
class RawSheet:
    name: str
    rows: list[list[object]]  # every row has the same length
    row_numbers: list[int] | None = None  # Excel row of each row; None: rows[i] is Excel row i + 1
    notes: list[str] = field(default_factory=list)  # what was left out, in plain words

    def row_number(self, i: int) -> int:
        return self.row_numbers[i] if self.row_numbers is not None else i + 1


_gc_lock = threading.Lock()
_gc_pausers = [0, False]  # files being read with the collector paused; was it running before the first


@contextmanager
def gc_paused() -> Iterator[None]:
    """Python's cycle collector off while a file's cells are Python objects: a 100,000-row sheet is 1.4 million
    of them, made and dropped by reference counting alone, and the collector kept walking them (80 of the 200 ms
    that turning a parsed sheet into rows and a grid took). Readers in other threads share one count, so the
    collector runs again once the last of them is done, if it ran before the first began."""
    with _gc_lock:
        if not _gc_pausers[0]:
            _gc_pausers[1] = gc.isenabled()
            gc.disable()
        _gc_pausers[0] += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pausers[0] -= 1
            if not _gc_pausers[0] and _gc_pausers[1]:
                gc.enable()


# --------------------------------------------------------------------------- zips

def refuse_encrypted(name: str, data: bytes) -> None:
    """Excel stores a password-protected workbook as an encrypted OLE file, whatever its name says."""
    if data[:4] != b"\xd0\xcf\x11\xe0":
        return
    bof = data.find(b"\x09\x08\x10\x00")  # an .xls: a FILEPASS record straight after the first BOF means encrypted
    if b"E\x00n\x00c\x00r\x00y\x00p\x00t\x00e\x00d\x00P" in data or (
            bof >= 0 and data[bof + 20:bof + 22] == b"\x2f\x00"):
        raise FileRejected(f"{name} {PASSWORD_MESSAGE}")


def check_zip_limits(data: bytes, name: str, limits: Limits) -> zipfile.ZipFile:
    """Refuse zip bombs before anything is decompressed (xlsx and ods are zips too); the zip, opened."""
    refuse_encrypted(name, data)
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise FileRejected(f"{name} is damaged or is not really a {Path(name).suffix or 'zip'} file "
                           f"(it could not be opened as one); save it again from the spreadsheet program "
                           f"and upload the new copy") from exc
    total = sum(i.file_size for i in infos)
    if total > limits.max_uncompressed_bytes or total > max(len(data), 1) * limits.max_compression_ratio:
        raise FileRejected(
            f"{name} would unpack to {total / 1e6:.0f} MB, more than the limit of "
            f"{limits.max_uncompressed_bytes / 1e6:.0f} MB (or {limits.max_compression_ratio}x its size)")
    return zf


def zip_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> bytes:
    """One member's bytes, or a refusal naming it (encrypted, damaged, unknown compression)."""
    member = f"{name}/{info.filename}"
    if info.flag_bits & 0x1:
        raise FileRejected(f"{member} is protected by a password inside the zip; "
                           f"zip it again without a password and upload it again")
    try:
        return zf.read(info)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
        raise FileRejected(f"{member} is damaged inside the zip ({exc}); "
                           f"make the zip again and upload it again") from exc
    except NotImplementedError as exc:
        raise FileRejected(f"{member} uses a zip compression this program cannot unpack; "
                           f"make the zip again with ordinary (deflate) compression") from exc


# --------------------------------------------------------------------------- CSV

def decode_csv(data: bytes) -> str:
    """Text of a CSV in the encodings spreadsheet programs write: UTF-8 (BOM or not), UTF-16, cp1252, MacRoman."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    head = data[:4096]
    if len(head) >= 4 and head.count(0) * 3 > len(head):  # UTF-16 without its BOM
        return data.decode("utf-16-le" if head[1] == 0 else "utf-16-be", errors="replace")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    if b"\r" in data and b"\n" not in data:  # Excel for Mac's "CSV (Macintosh)": MacRoman, CR line ends
        return data.decode("mac_roman")
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


_SEP_LINE = re.compile(r"\A\ufeff?sep=(.)[ \t]*\r?\n?", re.IGNORECASE)


def read_csv(name: str, data: bytes, limits: Limits) -> RawSheet:
    text = decode_csv(data).replace("\x00", "")
    delimiter = None
    sep = _SEP_LINE.match(text)
    if sep:  # Excel's hint line: 'sep=;' names the delimiter and is not part of the table
        delimiter, text = sep.group(1), text[sep.end():]
    if delimiter:
        dialect: type[csv.Dialect] | csv.Dialect = csv.excel
    else:
        try:
            dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
        except csv.Error:
            dialect = csv.excel
    csv.field_size_limit(max(limits.max_file_bytes, 131072))  # one long cell is a long cell, not an error
    try:
        reader = csv.reader(io.StringIO(text, newline=None), dialect,
                            **({"delimiter": delimiter} if delimiter else {}))
        rows = [list(r) for r in reader]
    except csv.Error as exc:
        raise FileRejected(f"{name} could not be read as a CSV file ({exc}); save it again from the "
                           f"spreadsheet program as 'CSV UTF-8' and upload the new copy") from exc
    width = max(map(len, rows), default=0)
    return RawSheet(Path(name).stem, [r + [""] * (width - len(r)) for r in rows])  # CSV rows can be ragged


# --------------------------------------------------------------------------- xlsx parts calamine does not give

_ROW = re.compile(rb"<(?:\w+:)?row\b([^>]*)>")
# either quote and spaces around '=', as XML allows (Excel hides a row written hidden = '1' all the same)
_ATTR_R = re.compile(rb'(?:^|\s)r\s*=\s*["\'](\d+)["\']')
_HIDDEN = re.compile(rb'\bhidden\s*=\s*["\'](?:1|true)["\']')
# r="..." on a row or a cell, either quote: calamine places a cell by its own reference, whatever its row says
# (spaces around = allowed; the possessive +: no backtracking, a third faster)
_TALL_REF = re.compile(rb' r *+= *+["\'][A-Za-z]{0,3}+(\d{6,})')  # rows 100,000 and beyond
_ANY_REF_ROW = re.compile(rb' r *+= *+["\'][A-Za-z]{0,3}+(\d+)')
SHORT_ROWS = 99_999  # the furthest row a reference of at most five digits can name
_SPACED_REF = re.compile(rb'\sr\s*=\s*["\']([A-Za-z]{0,3}+)(\d+)')  # r = "A5", a tab or new line before r...
_ANY_WIDE_CELL = re.compile(rb' r *+= *+["\'][A-Za-z]{2}')
_WIDE_CELL_COL = re.compile(rb' r *+= *+["\']([A-Za-z]{2,3})\d')
_NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
       "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
       "rel": "http://schemas.openxmlformats.org/package/2006/relationships"}


def column_number(letters: bytes | str) -> int:
    """1 for A, 16384 for XFD."""
    n = 0
    for ch in letters.decode() if isinstance(letters, bytes) else letters:
        n = n * 26 + ord(ch) - 64
    return n


@dataclass
class XlsxSheetInfo:
    path: str
    hidden_rows: list[int]  # Excel row numbers
    max_row: int
    max_col: int
    # a long sheet whose every row and cell tag carries its own reference first, spaced as programs write them:
    # two halves of it can be parsed at once (_read_in_halves)
    halves: bool = False
    # its XML, kept from the scan for the halves (one sheet's at a time: the others' are read again then)
    xml: bytes | None = None
    # how many '<' its XML holds (for _shared_text), counted while the searches run
    tags: int | None = field(default=None, compare=False)


def xlsx_sheet_info(zf: zipfile.ZipFile) -> dict[str, XlsxSheetInfo]:
    """Per sheet name: its part, hidden rows and the extent of its cells, scanned without building the grid."""
    names = set(zf.namelist())
    if "xl/workbook.xml" not in names:
        return {}
    book = ElementTree.fromstring(zf.read("xl/workbook.xml"))
    rels_name = "xl/_rels/workbook.xml.rels"
    targets = {}
    if rels_name in names:
        for rel in ElementTree.fromstring(zf.read(rels_name)):
            target = rel.get("Target", "")
            part = target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)
            targets[rel.get("Id")] = part
    info: dict[str, XlsxSheetInfo] = {}
    lengths, room = _shared_string_lengths(zf), SHARED_TEXT_LIMIT
    kept = False
    for sheet in book.iter(f"{{{_NS['m']}}}sheet"):
        part = targets.get(sheet.get(f"{{{_NS['r']}}}id"))
        if part not in names:
            continue
        xml = zf.read(part)
        scanned = info[sheet.get("name")] = _scan_sheet(part, xml)
        # the first long sheet keeps its XML for its halves; kept for every one, ten 41 MB sheets (a 35 MB
        # upload) were all held at once: 688 MB to read instead of 291 MB
        if kept:
            scanned.xml = None
        kept = kept or scanned.xml is not None
        room -= _shared_text(xml, lengths, room, scanned.tags)
        if room < 0:
            raise TooMuchText
    return info


class TooMuchText(Exception):
    """The workbook's shared-string cells spell out more than SHARED_TEXT_LIMIT characters."""


SHARED_TEXT_LIMIT = 50_000_000  # characters a workbook's cells may spell out from its shared strings
_SHARED_STRING = re.compile(rb"<(?:\w+:)?si\b.*?</(?:\w+:)?si\s*>|<(?:\w+:)?si\b[^>]*/>", re.DOTALL)
_TAG = re.compile(rb"<[^>]*>")
# a type of s and the string number in the <v> after it, never past the cell's end (starting with the literal
# t lets the search skip ahead: 0.45 s per million cells); on a tag other than a cell it only counts more
_SHARED_INDEX = re.compile(rb"""t\s*=\s*["']s["'][^>]*>(?:(?!</?(?:\w+:)?c[\s>/]).)*?<(?:\w+:)?v\b[^>]*>\s*(\d+)""",
                           re.DOTALL)


def _shared_string_lengths(zf: zipfile.ZipFile) -> np.ndarray:
    """Per shared string, the bytes of its text (at least its characters), and a 0 for a number past them."""
    name = next((n for n in zf.namelist() if n.lower() == "xl/sharedstrings.xml"), None)
    texts = [] if name is None else _SHARED_STRING.findall(zf.read(name))
    return np.array([len(m) - sum(map(len, _TAG.findall(m))) for m in texts] + [0], dtype=np.int64)


def _shared_text(xml: bytes, lengths: np.ndarray, room: int, tags: int | None = None) -> int:
    """A bound on the characters a sheet's shared-string cells spell out: calamine gives each cell its own
    copy, so a 30,000-character string named by 100,000 cells is 3 billion characters from a file of a few
    hundred kB. A cell with a value has four tags at least, so the cheap bound (a cell per four tags, each
    naming the longest string) settles most sheets; otherwise each cell's string is counted."""
    longest = int(lengths.max())
    cheap = (xml.count(b"<") if tags is None else tags) // 4 * longest
    if cheap <= room:  # the room the workbook's other sheets left
        return cheap
    numbers = np.array(_SHARED_INDEX.findall(xml) or [b"0"]).astype(np.int64)
    return int(lengths[np.minimum(numbers, len(lengths) - 1)].sum())


def _scan_sheet(part: str, xml: bytes) -> XlsxSheetInfo:
    """Hidden rows and a bound on the extent of the cells, by searches C does quickly (~0.1 s per 100,000 rows).

    The extent bounds the grid calamine would allocate, so every reference counts, a cell's as much as its
    row's: a crafted `<c r="XFD1048576">` inside `<row r="2">` is placed at row 1,048,576.
    """
    one_spelling = _refs_in_one_spelling(xml)
    pieces = _Pieces(xml) if one_spelling else None
    if pieces is not None and len(xml) >= SPLIT_BYTES:  # a long sheet: the three searches at once
        pieces.search_at_once((_RE2_R_NOT_FIRST, _RE2_ANY_WIDE_CELL, _RE2_TALL_REF))
    hidden, tags = _hidden_rows(xml), xml.count(b"<")  # while they run
    if _may_have_unreferenced_tags(xml, pieces):  # placed one after another: count them as calamine does
        max_row, max_col = _placed_extent(xml)
        return XlsxSheetInfo(part, hidden, max_row, max_col, tags=tags)
    if pieces is None:  # calamine reads any spelling: the exact extent, reference by reference
        refs = _SPACED_REF.findall(xml)
        max_col = max((column_number(c.upper()) for c, _ in refs if c), default=1)
        max_row = max(max((int(r) for _, r in refs), default=0), len(_ROW.findall(xml)))
        return XlsxSheetInfo(part, hidden, max_row, max_col, tags=tags)
    long = len(xml) >= SPLIT_BYTES
    info = XlsxSheetInfo(part, hidden, 0, 0, long, xml if long else None, tags)
    # columns: A-Z unless some cell lies further right; only the pieces holding such cells are read by Python
    wide = {col for piece in pieces.matching(_RE2_ANY_WIDE_CELL) for col in _WIDE_CELL_COL.findall(piece)}
    max_col = max((column_number(c.upper()) for c in wide), default=26)
    # rows: references of six digits or more are few (none below row 100,000), so only they are read
    max_row = max((int(r) for piece in pieces.matching(_RE2_TALL_REF) for r in _TALL_REF.findall(piece)),
                  default=SHORT_ROWS)
    if max_row * max_col > DENSE_CELL_LIMIT:  # near the limit: the exact furthest row, reference by reference
        max_row = max(max(map(int, _ANY_REF_ROW.findall(xml)), default=0), len(_ROW.findall(xml)))
    info.max_row, info.max_col = max_row, max_col
    return info


# The quick patterns again for RE2, which Arrow runs about five times faster than Python's re on sheet XML (and
# without the GIL). RE2 has no look-ahead and no possessive quantifier: each is its Python twin's meaning written
# plainly, or wider (a wider one only sends a sheet to the exact path more often). None matches a '<' after its
# first character, so cutting the XML just before a '<' never splits a match; only _R_NOT_FIRST looks past its
# match, and its RE2 form says yes at the end of a piece (`$`) where the look-ahead would have looked on.
_RE2_R_NOT_FIRST = r"<(\w+:)?(row|c)([>/]| ([^r]|r *([^ =]|$)|$))"
_RE2_ANY_WIDE_CELL = r""" r *= *["'][A-Za-z]{2}"""  # _ANY_WIDE_CELL
_RE2_TALL_REF = r""" r *= *["'][A-Za-z]{0,3}[0-9]{6}"""  # _TALL_REF


RE2_BYTES = 1_000_000  # below this size Python's re is as quick as a call into Arrow


class _Pieces:
    """A sheet's XML cut just before a '<' into about `count` pieces, as one Arrow array over the same bytes
    (no copy): RE2 says which pieces hold a match, and Python's re reads only those. A short sheet (under
    `re2_from` bytes) is one piece, searched by the Python twin of each pattern."""

    def __init__(self, xml: bytes, count: int = 32, re2_from: int | None = None) -> None:
        self.xml, self.cuts = xml, [0, len(xml)]
        self.found: dict[str, Future[np.ndarray]] = {}
        self.array: pa.Array | None = None
        if len(xml) < (RE2_BYTES if re2_from is None else re2_from):
            return
        cuts = [0]
        for k in range(1, count):
            at = xml.find(b"<", max(cuts[-1] + 1, len(xml) * k // count))
            if at < 0:
                break
            cuts.append(at)
        cuts.append(len(xml))
        self.cuts = cuts
        self.array = pa.LargeBinaryArray.from_buffers(
            pa.large_binary(), len(cuts) - 1, [None, pa.py_buffer(np.array(cuts, dtype=np.int64)), pa.py_buffer(xml)])

    def search_at_once(self, patterns: Iterable[str]) -> None:
        """Start a search for each pattern in a thread of its own (Arrow lets go of the GIL), for `matching`
        to wait for: this thread goes on meanwhile."""
        patterns = list(patterns)
        if self.array is None:
            return
        pool = ThreadPoolExecutor(len(patterns))
        self.found.update({pattern: pool.submit(self._hits, pattern) for pattern in patterns})
        pool.shutdown(wait=False)

    def _hits(self, pattern: str) -> np.ndarray:
        return np.flatnonzero(pc.match_substring_regex(self.array, pattern).to_numpy(zero_copy_only=False))

    def matching(self, pattern: str) -> list[bytes]:
        """The pieces in which RE2 finds `pattern`."""
        if self.array is None:
            return [self.xml] if _PYTHON_TWIN[pattern].search(self.xml) else []
        hits = self.found[pattern].result() if pattern in self.found else self._hits(pattern)
        return [self.xml[self.cuts[i]:self.cuts[i + 1]] for i in hits]


_CELL_OR_ROW = re.compile(rb"<(?:[\w.-]+:)?(row|c)(?=[\s/>])([^>]*)>")
_UNREFERENCED = re.compile(rb"<(?:[\w.-]+:)?(?:row|c)(?=[\s/>])(?:(?!\sr\s*=)[^>])*+>")
# a row or cell tag whose first attribute is not its reference, in the spelling programs write (searched for by
# its RE2 form, _RE2_R_NOT_FIRST); then, and in any other spelling, each tag is looked at
_R_NOT_FIRST = re.compile(rb"<(?:\w++:)?+(?:row|c)(?:[>/]| (?!r *+=))")
_PYTHON_TWIN = {_RE2_R_NOT_FIRST: _R_NOT_FIRST, _RE2_ANY_WIDE_CELL: _ANY_WIDE_CELL, _RE2_TALL_REF: _TALL_REF}


def _may_have_unreferenced_tags(xml: bytes, pieces: _Pieces | None) -> bool:
    """Is there a row or cell without its own reference (the r attribute is optional)? `pieces`: the XML, cut,
    when its attributes are spaced as programs write them (_refs_in_one_spelling)."""
    if pieces is not None and not pieces.matching(_RE2_R_NOT_FIRST):
        return False
    return _UNREFERENCED.search(xml) is not None


def _placed_extent(xml: bytes) -> tuple[int, int]:
    """An upper bound on the furthest row and column calamine places a cell at, reading the tags in order
    as it does: a row without a reference follows the row before it, a cell without one the cell before it.
    Crafted, `<c>` sixteen thousand times beside `<row r="190000">` would otherwise build 3 billion cells."""
    max_row = max_col = row = col = 0
    for tag, attributes in _CELL_OR_ROW.findall(xml):
        ref = _SPACED_REF.search(attributes)
        if tag == b"row":
            row, col = (int(ref.group(2)) if ref else row + 1), 0
        elif ref:
            col = column_number(ref.group(1).upper()) if ref.group(1) else col + 1
            row = max(row, int(ref.group(2)))  # whether or not a reference moves calamine's row, this bounds it
        else:
            col += 1
        max_row, max_col = max(max_row, row), max(max_col, col)
    return max_row, max(max_col, 1)


def _refs_in_one_spelling(xml: bytes) -> bool:
    """Is a space the only whitespace between the tags' attributes, as spreadsheet programs write them
    (no tab, new line or carriage return after the declaration)? Then the quick patterns of _scan_sheet,
    which allow spaces around =, see every reference; a crafted `<c\nr="XFD1048576">`, which calamine
    reads too, is read the slow way. Three one-byte searches at memory speed (0.015 s per 100,000 rows)."""
    start = 0
    if xml.lstrip(b"\xef\xbb\xbf")[:5] == b"<?xml":  # the declaration may end its own line
        start = xml.find(b"?>") + 2
        start += 2 if xml.startswith(b"\r\n", start) else 1 if xml.startswith(b"\n", start) else 0
    return all(xml.find(space, start) < 0 for space in (b"\t", b"\n", b"\r"))


def _hidden_rows(xml: bytes) -> list[int]:
    """Excel row numbers of the rows hidden by hand or by a filter."""
    hidden: list[int] = []
    # bytes.find runs at memory speed; the regex only where the literal occurs (0.3 s saved per 100k rows)
    if xml.find(b"hidden") >= 0 and _HIDDEN.search(xml):  # rows with hidden flags: look at each row tag
        last = 0
        for m in _ROW.finditer(xml):
            r = _ATTR_R.search(m.group(1))
            last = max(last, int(r.group(1)) if r else last + 1)
            if _HIDDEN.search(m.group(1)):
                hidden.append(int(r.group(1)) if r else last)
    return hidden


_ODS_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"


def ods_hidden_rows(zf: zipfile.ZipFile) -> dict[str, list[tuple[int, int]]]:
    """Per sheet of an OpenDocument spreadsheet: its hidden or filtered rows, as (first, last) row numbers.

    calamine does not report row visibility, so content.xml is streamed here; it is only parsed when the
    file hides some row at all.
    """
    if "content.xml" not in zf.namelist():
        return {}
    xml = zf.read("content.xml")
    if xml.find(b"collapse") < 0 and xml.find(b"filter") < 0:  # either quote: table:visibility='filter'
        return {}
    hidden: dict[str, list[tuple[int, int]]] = {}
    name, row = "", 0
    for event, el in ElementTree.iterparse(io.BytesIO(xml), events=("start", "end")):
        if event == "start":
            if el.tag == _ODS_TABLE + "table":
                name, row = el.get(_ODS_TABLE + "name", ""), 0
            continue
        if el.tag == _ODS_TABLE + "table-row":
            repeat = int(el.get(_ODS_TABLE + "number-rows-repeated", "1"))
            if el.get(_ODS_TABLE + "visibility", "visible") in ("collapse", "filter"):
                hidden.setdefault(name, []).append((row + 1, row + repeat))
            row += repeat
            el.clear()
    return hidden


# calamine knows the OpenDocument elements by these qualified names only
_ODS_SHEET = re.compile(rb"<table:table[\s>]")
_ODS_CELL = re.compile(rb"<table:(?:covered-)?table-cell(?=[\s/>])([^>]*)>")
_ODS_REPEAT = re.compile(rb"number-(?:rows|columns)-repeated\s*=\s*[\"'](\d+)")


def _ods_row_extent(cells: bytes) -> int:
    """How many columns a row lays out: up to its last cell with a type (calamine reads no other)."""
    if cells.find(b"value-type") < 0:
        return 0
    if cells.find(b"repeated") < 0:  # no repeats: at most one column per cell (each cell's tags count once or twice)
        return cells.count(b"table-cell")
    extent = col = 0
    for attributes in _ODS_CELL.findall(cells):
        col += int(m.group(1)) if (m := _ODS_REPEAT.search(attributes)) else 1
        if b"value-type" in attributes:
            extent = col
    return extent


def ods_grid_cells(zf: zipfile.ZipFile) -> int:
    """The most cells calamine lays out for one sheet of an OpenDocument spreadsheet: repeated rows and
    cells are expanded up to the furthest cell that holds a value, so 100 bytes of XML (a valued cell
    repeated across 16,000 columns, or after a million empty rows) would become a grid of billions.
    Trailing empty rows and cells, which LibreOffice writes in every file, are not laid out."""
    if "content.xml" not in zf.namelist():
        return 0
    xml = zf.read("content.xml")
    sheets = [m.start() for m in _ODS_SHEET.finditer(xml)] + [len(xml)]
    largest = row = rows_up_to = cols_up_to = 0
    at, sheet = xml.find(b"<table:table-row"), 1
    while at >= 0:
        while at > sheets[sheet]:  # a new sheet starts before this row
            largest, row, rows_up_to, cols_up_to, sheet = max(largest, rows_up_to * cols_up_to), 0, 0, 0, sheet + 1
        head_end = xml.find(b">", at)
        if head_end < 0:
            break
        head = xml[at:head_end]
        times = int(r.group(1)) if (r := _ODS_REPEAT.search(head)) else 1
        if head.endswith(b"/"):  # an empty row
            body, at = b"", head_end
        else:
            end = xml.find(b"</table:table-row", head_end)
            body, at = xml[head_end:end if end >= 0 else len(xml)], end if end >= 0 else len(xml)
        row += times
        extent = _ods_row_extent(body)
        if extent:
            rows_up_to, cols_up_to = row, max(cols_up_to, extent)
        at = xml.find(b"<table:table-row", at)
    return max(largest, rows_up_to * cols_up_to)


_BUILTIN_DATE_FORMATS = {14, 15, 16, 17, 22, 27, 30, 36, 50, 57}
_BUILTIN_TIME_FORMATS = {18, 19, 20, 21, 45, 46, 47}


def _format_kinds(zf: zipfile.ZipFile) -> list[str]:
    """Per cell style index: 'date', 'time', 'duration' or '' (a plain number)."""
    if "xl/styles.xml" not in zf.namelist():
        return []
    styles = ElementTree.fromstring(zf.read("xl/styles.xml"))
    custom = {int(f.get("numFmtId", "0")): f.get("formatCode", "")
              for f in styles.iter(f"{{{_NS['m']}}}numFmt")}
    kinds = []
    xfs = styles.find("m:cellXfs", _NS)
    for xf in (xfs if xfs is not None else []):
        fid = int(xf.get("numFmtId", "0"))
        code = re.sub(r'"[^"]*"|\[(?!h\]|hh\]|m\]|mm\]|s\]|ss\])[^\]]*\]|\\.', "", custom.get(fid, "")).lower()
        if fid in _BUILTIN_DATE_FORMATS or (code and re.search(r"[dy]", code)):
            kinds.append("date")
        elif fid == 46 or re.search(r"\[h+\]", code):
            kinds.append("duration")
        elif fid in _BUILTIN_TIME_FORMATS or (code and re.search(r"[hs]", code)):
            kinds.append("time")
        else:
            kinds.append("")
    return kinds


def _typed(value: float, kind: str) -> object:
    if kind == "date":
        return dt.datetime(1899, 12, 30) + dt.timedelta(days=value)
    if kind == "duration" or (kind == "time" and value >= 1):
        return dt.timedelta(days=value)
    if kind == "time":
        return (dt.datetime.min + dt.timedelta(days=value)).time()
    return value


def read_xlsx_sparse(zf: zipfile.ZipFile, part: str) -> tuple[list[list[object]], list[int]]:
    """Only the rows and columns that hold data, streamed from the sheet's XML (memory follows the cells)."""
    shared: list[str] = []
    if "xl/sharedStrings.xml" in zf.namelist():
        with zf.open("xl/sharedStrings.xml") as f:
            for _, el in ElementTree.iterparse(f):
                if el.tag == f"{{{_NS['m']}}}si":
                    shared.append("".join(t.text or "" for t in el.iter(f"{{{_NS['m']}}}t")))
                    el.clear()
    kinds = _format_kinds(zf)
    cells: dict[int, dict[int, object]] = {}
    row_number = col = 0
    with zf.open(part) as f:
        for event, el in ElementTree.iterparse(f, events=("start", "end")):
            tag = el.tag.rsplit("}", 1)[-1]
            if tag == "row":
                if event == "start":  # a row without a reference follows the one before it, as calamine reads it
                    r = el.get("r", "").strip()
                    row_number, col = (int(r) if r.isdigit() else row_number + 1), 0
                else:
                    el.clear()
            elif tag == "c" and event == "end":
                m = re.match(r"([A-Za-z]{1,3})(\d+)$", el.get("r", "").strip())
                if m:
                    cell_row, col = int(m.group(2)), column_number(m.group(1).upper())
                else:  # a cell without a reference follows the one before it
                    cell_row, col = row_number, col + 1
                t, v = el.get("t", "n"), el.find("m:v", _NS)
                text = v.text if v is not None else None
                if t == "inlineStr":
                    value: object = "".join(x.text or "" for x in el.iter(f"{{{_NS['m']}}}t"))
                elif text is None:
                    value = None
                elif t == "s":
                    value = shared[int(text)] if text.isdigit() and int(text) < len(shared) else None
                elif t == "b":
                    value = text == "1"
                elif t in ("str", "e"):
                    value = text
                else:
                    try:
                        number = float(text)
                    except ValueError:
                        value = text
                    else:
                        s = int(el.get("s", "0"))
                        value = _typed(number, kinds[s] if s < len(kinds) else "")
                if value is not None and value != "":
                    cells.setdefault(cell_row, {})[col] = value
                el.clear()
    used = sorted({c for row in cells.values() for c in row})
    position = {c: i for i, c in enumerate(used)}
    numbers = sorted(cells)
    rows = []
    for r in numbers:
        row: list[object] = [""] * len(used)
        for c, value in cells[r].items():
            row[position[c]] = value
        rows.append(row)
    return rows, numbers


# --------------------------------------------------------------------------- workbooks

def _fill_merged(sheet: python_calamine.CalamineSheet, rows: list[list[object]], budget: list[int]) -> None:
    """Give every cell of a merged range the value of its top-left cell (as the person reading it sees)."""
    try:
        ranges = sheet.merged_cell_ranges or []
    except Exception:  # merged ranges are a nicety; a file without them still reads
        return
    height, width = len(rows), len(rows[0]) if rows else 0
    for (r0, c0), (r1, c1) in ranges:
        if r0 >= height or c0 >= width:
            continue
        r1, c1 = min(r1, height - 1), min(c1, width - 1)
        budget[0] -= (r1 - r0 + 1) * (c1 - c0 + 1)
        if budget[0] < 0:
            return
        value = rows[r0][c0]
        for r in range(r0, r1 + 1):
            for c in range(c0, c1 + 1):
                rows[r][c] = value


def _too_much_text(name: str) -> FileRejected:
    return FileRejected(f"{name} repeats its text too often to be read safely (its cells spell out more than "
                        f"{SHARED_TEXT_LIMIT:,} characters between them); copy only the CPD log into a new "
                        f"workbook and upload that")


def _refuse_unbounded(name: str, layout: binary_guard.Layout | None) -> None:
    """Refuse an .xls or .xlsb workbook calamine would build too large (or could not read safely) from its
    records, measured by binary_guard before calamine opens it: these formats are not read sparsely."""
    if layout is None:
        return
    if layout.damaged:
        raise FileRejected(f"{name} is damaged or built in a way that cannot be read safely ({layout.damaged}); "
                           f"save it again from the spreadsheet program, as .xlsx if you can, and upload the new copy")
    if layout.places > DENSE_CELL_LIMIT:
        raise FileRejected(
            f"{name} lays its cells out over more than {DENSE_CELL_LIMIT:,} places (a cell far below or to the "
            f"right of the data, such as one in the last row or column); delete the empty rows and columns below "
            f"and to the right of the CPD log, or save it as .xlsx, and upload it again")
    if layout.shared_text > SHARED_TEXT_LIMIT:
        raise _too_much_text(name)


def _reraise_unless_calamine_failure(exc: BaseException) -> None:
    """Where calamine panics on a damaged file (a record shorter than it expects) it raises PanicException,
    which is a BaseException, not an Exception: it is a refusal of that file like any other. Anything else
    that is not an Exception (Ctrl-C, exit) goes on up."""
    if not isinstance(exc, Exception) and type(exc).__name__ != "PanicException":
        raise exc


def _unreadable(name: str, exc: BaseException) -> FileRejected:
    """The refusal of a file calamine could not read (`exc` re-raised unless it is calamine's failure). A panic's
    message is Rust's ("index out of bounds: the len is 2 but the index is 3"): it is said in words instead."""
    _reraise_unless_calamine_failure(exc)
    why = ("part of it is damaged, or laid out in a way this program cannot follow"
           if type(exc).__name__ == "PanicException" else str(exc))
    return FileRejected(f"{name} could not be read as a spreadsheet ({why}); save it again from the "
                        f"spreadsheet program and upload the new copy")


SPLIT_BYTES = 8_000_000  # a sheet's XML from this size (about 17,000 rows of 14 cells) is parsed in two halves at once
SPLIT_OTHER_BYTES = 16_000_000  # unpacked bytes of the other parts (shared strings, styles...): beyond, read whole
_CUT_ROW = re.compile(rb'</row><row r="\d+"[ >]')


def _read_in_halves(zf: zipfile.ZipFile, info: XlsxSheetInfo, name: str
                    ) -> tuple[list[list[object]], python_calamine.CalamineSheet] | None:
    """The sheet's cells as calamine reads them whole (`to_python(skip_empty_area=False)`), from its two halves
    parsed in two threads at once (calamine lets go of the GIL while it parses): about half the time on two cores.

    Each half is the sheet with only some of its rows, in a copy of the workbook holding every part but the
    other sheets. As every cell carries its own reference (XlsxSheetInfo.halves), each is placed where the whole
    would place it; the halves are cut between two rows with plain references, and their rows must not
    overlap. None (read it whole) when the sheet has no such cut or the halves do not line up.
    """
    part, xml, info.xml, info.halves = info.path, info.xml, None, False  # once; the XML let go once they are made
    if xml is None:  # not kept from the scan: another sheet's was
        try:
            xml = zf.read(part)
        except Exception:
            return None
    start, end = xml.find(b"<sheetData>"), xml.rfind(b"</sheetData>")
    declaration = xml.find(b"?>") + 2 if xml.lstrip(b"\xef\xbb\xbf")[:5] == b"<?xml" else 0
    # markup inside a comment, CDATA or processing instruction is not markup: no cut where one could be (a
    # one-byte search first, at memory speed: most sheets hold no '!' or '?' at all)
    if (start < 0 or end < start or (xml.find(b"!") >= 0 and xml.find(b"<!") >= 0)
            or (xml.find(b"?", declaration) >= 0 and xml.find(b"<?", declaration) >= 0)):
        return None
    # this thread's half a little shorter: it also makes its half into Python objects while the other parses
    middle = start + (end - start) * 6 // 13  # the first cut after this, or else the last before it
    at = xml.find(b'</row><row r="', middle, end)
    at = at if at >= 0 else xml.rfind(b'</row><row r="', start, middle + len(b'</row><row r="'))
    if at < 0 or not _CUT_ROW.match(xml, at):
        return None
    cut = at + len(b"</row>")
    body = memoryview(xml)
    sheets = {i.filename for i in zf.infolist() if i.filename.startswith("xl/worksheets/") and
              i.filename.endswith(".xml") and "/" not in i.filename[len("xl/worksheets/"):]}
    # each half copies the other parts unpacked: a workbook carrying a lot besides its sheets is read whole
    if sum(i.file_size for i in zf.infolist() if i.filename not in sheets and i.filename != part) > SPLIT_OTHER_BYTES:
        return None

    def workbook(*chunks: memoryview) -> BinaryIO:
        # on Linux a file in memory, which calamine opens by its path: through a file object it copies the
        # bytes in by Python calls, 0.04 s for each half of a 100,000-row sheet
        copy: BinaryIO = (open(os.memfd_create("cpdqa-half"), "w+b")  # noqa: SIM115 - parse closes it
                          if hasattr(os, "memfd_create") else io.BytesIO())
        try:
            with zipfile.ZipFile(copy, "w", zipfile.ZIP_STORED) as out:
                for member in zf.infolist():
                    if member.filename == part:
                        with out.open(member.filename, "w") as sheet:
                            for chunk in chunks:
                                sheet.write(chunk)
                    elif member.filename not in sheets and not member.is_dir():
                        out.writestr(member.filename, zf.read(member))
        except Exception:
            copy.close()
            raise
        copy.seek(0)
        return copy

    def parse(half: BinaryIO) -> python_calamine.CalamineSheet:
        with half:  # calamine holds its own copy, or its own handle on the file, once open
            book = (python_calamine.CalamineWorkbook.from_filelike(half) if isinstance(half, io.BytesIO)
                    else python_calamine.CalamineWorkbook.from_path(f"/proc/self/fd/{half.fileno()}"))
        return book.get_sheet_by_name(name)

    def made_and_parsed(chunks: list[memoryview]) -> python_calamine.CalamineSheet:
        # copying and checksumming a half (zlib and file writes let go of the GIL) in the thread that parses it:
        # the two halves are made at once as well
        half = workbook(*chunks)
        chunks.clear()  # the sheet's XML is let go once both halves are made
        return parse(half)

    # a part calamine may not need could be damaged (the copy fails): then the sheet is read whole, as it would be
    try:
        with ThreadPoolExecutor(1) as pool:
            later = pool.submit(made_and_parsed, [body[:start + len(b"<sheetData>")], body[cut:]])
            first_chunks = [body[:cut], body[end:]]
            del body, xml
            first = made_and_parsed(first_chunks)
            first_end = first.end
            # made into Python objects (which needs the GIL) while the other half may still be parsing
            rows = first.to_python(skip_empty_area=False) if first_end is not None else []
            second = later.result()
    except BaseException as exc:  # read whole, to fail (or not) as the whole sheet does
        _reraise_unless_calamine_failure(exc)
        return None
    second_start, second_end = second.start, second.end
    if first_end is None:  # the first half holds no value: the whole is the second half's grid from A1 (or none)
        return (second.to_python(skip_empty_area=False) if second_end is not None else []), first
    if second_start is None or second_end is None:  # the second half holds no value
        return rows, first
    if first_end[0] >= second_start[0]:  # rows out of order: the halves overlap
        return None
    width = max(first_end[1], second_end[1]) + 1
    if len(rows[0]) < width:
        rows = [row + [""] * (width - len(row)) for row in rows]
    rows.extend([""] * width for _ in range(second_start[0] - len(rows)))  # rows that hold nothing
    below = second.to_python(skip_empty_area=True)
    if second_start[1] or second_end[1] + 1 < width:
        below = [[""] * second_start[1] + row + [""] * (width - 1 - second_end[1]) for row in below]
    rows.extend(below)
    return rows, first


def read_workbook(name: str, data: bytes, limits: Limits) -> list[RawSheet]:
    suffix = Path(name).suffix.lower()
    xlsx_info: dict[str, XlsxSheetInfo] = {}
    ods_hidden: dict[str, list[tuple[int, int]]] = {}
    zf = None
    # calamine picks the format by the content, whatever the name says, so the guards do too: each measures
    # only the parts its format has (an .xlsx renamed .xls, or an .xlsb renamed .xlsx, is still guarded; an
    # .xls renamed .xlsx is read and guarded as the .xls it is)
    if data[:8] != binary_guard.CFB_MAGIC and (suffix in {".xlsx", ".xlsm", ".ods", ".xlsb"}
                                               or data[:4] == b"PK\x03\x04"):
        zf = check_zip_limits(data, name, limits)
        manifest = "META-INF/manifest.xml"
        if manifest in zf.namelist() and b"encryption-data" in zip_member(zf, zf.getinfo(manifest), name):
            raise FileRejected(f"{name} {PASSWORD_MESSAGE}")  # an OpenDocument file saved with a password
        try:
            xlsx_info = xlsx_sheet_info(zf)
            ods_hidden = ods_hidden_rows(zf)
            if ods_grid_cells(zf) > DENSE_CELL_LIMIT:
                raise FileRejected(
                    f"{name} lays its cells out over more than {DENSE_CELL_LIMIT:,} places (rows or columns "
                    f"repeated far beyond its data); delete the empty rows and columns below and to the right "
                    f"of the CPD log, or save it as .xlsx, and upload it again")
            _refuse_unbounded(name, binary_guard.xlsb_layout(zf))
        except TooMuchText as exc:
            raise _too_much_text(name) from exc
        except (ElementTree.ParseError, KeyError, ValueError, zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise FileRejected(f"{name} is damaged (part of the workbook could not be read); save it again "
                               f"from the spreadsheet program and upload the new copy") from exc
    elif data[:8] == binary_guard.CFB_MAGIC:
        refuse_encrypted(name, data)
        _refuse_unbounded(name, binary_guard.xls_layout(data))
    refuse_encrypted(name, data)
    try:
        book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    except python_calamine.PasswordError as exc:
        raise FileRejected(f"{name} {PASSWORD_MESSAGE}") from exc
    except BaseException as exc:  # calamine raises several types for damaged files
        raise _unreadable(name, exc) from exc
    sheets = []
    budget = [MERGE_FILL_LIMIT]
    try:
        for meta in book.sheets_metadata:
            if meta.typ != python_calamine.SheetTypeEnum.WorkSheet:
                continue
            if meta.visible != python_calamine.SheetVisibleEnum.Visible:
                if meta.name in xlsx_info:
                    xlsx_info[meta.name].xml = None
                sheets.append(RawSheet(meta.name, [], notes=[f"Hidden sheet '{meta.name}' was not imported"]))
                continue
            info = xlsx_info.get(meta.name)
            if info is not None and info.max_row * info.max_col > DENSE_CELL_LIMIT:
                rows, numbers = read_xlsx_sparse(zf, info.path)
                sheet = RawSheet(meta.name, rows, numbers)
            else:
                halves = _read_in_halves(zf, info, meta.name) if (
                    zf is not None and info is not None and info.halves) else None
                if halves is not None:
                    rows, calamine_sheet = halves
                else:
                    calamine_sheet = book.get_sheet_by_name(meta.name)
                    rows = calamine_sheet.to_python(skip_empty_area=False)
                _fill_merged(calamine_sheet, rows, budget)
                sheet = RawSheet(meta.name, rows)
            if info is not None:
                info.xml = None
            if info is not None and info.hidden_rows:
                sheet = _without_rows(sheet, set(info.hidden_rows))
            elif ods_hidden.get(meta.name):  # ranges may run past the data (a hidden block of empty rows)
                sheet = _without_rows(sheet, {r for first, last in ods_hidden[meta.name]
                                              for r in range(first, min(last, len(rows)) + 1)})
            sheets.append(sheet)
    except FileRejected:
        raise
    except BaseException as exc:  # calamine and the XML parser raise many kinds for damaged files
        raise _unreadable(name, exc) from exc
    return sheets


def _without_rows(sheet: RawSheet, hidden: set[int]) -> RawSheet:
    """The sheet minus its hidden rows (hidden by hand or by a filter), saying how many went."""
    keep = [i for i in range(len(sheet.rows)) if sheet.row_number(i) not in hidden]
    gone = len(sheet.rows) - len(keep)
    if not gone:
        return sheet
    noun = "row" if gone == 1 else "rows"
    notes = [*sheet.notes, f"{gone} hidden {noun} on '{sheet.name}' (hidden by hand or by a filter) "
                           f"{'was' if gone == 1 else 'were'} not imported"]
    return RawSheet(sheet.name, [sheet.rows[i] for i in keep], [sheet.row_number(i) for i in keep], notes)


def read_sheets(name: str, data: bytes, limits: Limits = DEFAULT_LIMITS) -> list[RawSheet]:
    """All sheets of a workbook or CSV as raw cell values; formulas give their cached values."""
    suffix = Path(name).suffix.lower()
    if suffix == ".csv":
        return [read_csv(name, data, limits)]
    if suffix not in EXCEL_SUFFIXES:
        raise FileRejected(f"{name}: files of type '{suffix or 'none'}' cannot be read; "
                           f"use .xlsx, .xlsm, .xls, .ods or .csv")
    return read_workbook(name, data, limits)


def expand_archive(name: str, data: bytes, limits: Limits = DEFAULT_LIMITS
                   ) -> list[tuple[str, bytes | FileRejected]]:
    """(name, bytes) for a file, or for each spreadsheet inside a .zip (zip-bomb checked first).

    A member that cannot be unpacked comes back as (name, FileRejected) so the others still go in.
    """
    if not name.lower().endswith(".zip"):
        return [(name, data)]
    items: list[tuple[str, bytes | FileRejected]] = []
    with check_zip_limits(data, name, limits) as zf:
        for info in sorted(zf.infolist(), key=lambda i: i.filename):
            member = Path(info.filename)
            if info.is_dir() or member.name.startswith((".", "~$")) or "__MACOSX" in member.parts:
                continue
            try:
                items.append((f"{name}/{info.filename}", zip_member(zf, info, name)))
            except FileRejected as exc:
                items.append((f"{name}/{info.filename}", exc))
    return items
