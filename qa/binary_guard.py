"""What calamine would build from an .xls or .xlsb workbook, measured on its records before calamine reads it.

calamine lays each sheet out as a grid from A1 to its furthest cell (32 bytes a place) and gives every cell
that names a shared string its own copy of it. Two cells, at A1 and XFD1048576, make a 1 kB .xlsb ask for
550 GB and abort the whole process; a 30,000-character string named by 100,000 cells makes a 1.5 MB .xls take
8 GB. These scans walk the records the way calamine walks them (one pass, no grid) and report the places the
sheets lay out and the characters their shared-string cells spell out, so the reader can refuse first.
Where a file is built in a way calamine would trip over (a record cut short, a sheet size no .xls can have,
a stream longer than the file), the scan says so rather than let calamine allocate or panic.
"""

from __future__ import annotations

import struct
import zipfile
from array import array
from dataclasses import dataclass
from xml.etree import ElementTree

import numpy as np

CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
BIFF8_MAX_PLACES = 65_536 * 256  # the largest sheet an .xls can describe


@dataclass
class Layout:
    """What calamine would build from a workbook's sheets, all together (an .xls is read whole at once)."""
    places: int = 0  # grid places of all sheets: (furthest row + 1) x (furthest column + 1), summed
    shared_text: int = 0  # characters the shared-string cells spell out between them
    damaged: str = ""  # why the file cannot be read safely, in plain words; "" when it can


class Damaged(Exception):
    """A structure calamine would allocate for, or panic on, without checking it."""


# --------------------------------------------------------------------------- .xlsb (BIFF12 records in a zip)

def _records12(data: bytes, types: frozenset[int]):
    """(type, start, size) of each BIFF12 record whose type is in `types`, read as calamine reads them: the
    type in one or two bytes (7 bits each), the size in one to four; every record's bounds are walked."""
    at, end = 0, len(data)
    while at < end:
        b = data[at]
        at += 1
        if b & 0x80:
            if at >= end:
                return
            typ = (b & 0x7F) | ((data[at] & 0x7F) << 7)
            at += 1
        else:
            typ = b
        size = shift = 0
        for _ in range(4):
            if at >= end:
                return
            b = data[at]
            at += 1
            size |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        if typ in types:
            if at + size > end:
                raise Damaged("a record runs past the end of its part")
            yield typ, at, size
        at += size


# BrtRowHdr (0), then the cell records calamine reads (types 2 to 10) with the bytes it reads of each
_XLSB_SHORTEST = {2: 12, 3: 9, 4: 9, 5: 16, 6: 12, 7: 12, 8: 12, 9: 16, 10: 9}
_XLSB_SHORTEST_BY_TYPE = np.array([4, 0, *(_XLSB_SHORTEST[t] for t in range(2, 11))], dtype=np.int64)
_XLSB_SST = frozenset({0x13, 0x23, 0x24, 0x9F})


def _xlsb_sheet_paths(zf: zipfile.ZipFile) -> list[str]:
    """The worksheet parts calamine reads: each sheet of xl/workbook.bin, through its relationship."""
    names = set(zf.namelist())
    targets: dict[str, str] = {}
    if "xl/_rels/workbook.bin.rels" in names:
        for rel in ElementTree.fromstring(zf.read("xl/_rels/workbook.bin.rels")):
            if rel.get("Id") is not None:
                targets[rel.get("Id", "")] = rel.get("Target", "")
    paths = []
    book = zf.read("xl/workbook.bin")
    for typ, at, size in _records12(book, frozenset({0x9C, 0x90})):
        if typ == 0x90:  # BrtEndBundleShs: calamine reads no sheet after it
            break
        if size < 12:
            raise Damaged("a sheet's entry in the workbook is cut short")
        (rel_len,) = struct.unpack_from("<I", book, at + 8)
        if rel_len == 0xFFFFFFFF:
            continue
        rel_id = book[at + 12:at + 12 + 2 * rel_len].decode("utf-16-le", errors="replace")
        path = f"xl/{targets.get(rel_id, '')}"
        if path.split("/")[1] == "worksheets":  # calamine's test for a worksheet
            paths.append(path)
    return [p for p in paths if p in names]  # a part named by two sheets is read twice


def _xlsb_shared_lengths(zf: zipfile.ZipFile) -> np.ndarray:
    """Characters of each shared string, in calamine's numbering (BrtSSTItem records after BrtBeginSst,
    not counting those inside a future-record block)."""
    if "xl/sharedStrings.bin" not in zf.namelist():
        return np.zeros(0, dtype=np.int64)
    data = zf.read("xl/sharedStrings.bin")
    lengths: list[int] = []
    count, in_future = -1, False
    for typ, at, size in _records12(data, _XLSB_SST):
        if typ == 0x9F and count < 0:
            if size < 8:
                raise Damaged("the shared-text table is cut short")
            (count,) = struct.unpack_from("<I", data, at + 4)
        elif typ == 0x23:
            in_future = True
        elif typ == 0x24:
            in_future = False
        elif typ == 0x13 and count >= 0 and not in_future and len(lengths) < count:
            if size < 5:
                raise Damaged("a shared text is cut short")
            lengths.append(struct.unpack_from("<I", data, at + 1)[0])
    return np.array(lengths, dtype=np.int64)


def _xlsb_sheet(data: bytes, lengths: np.ndarray) -> tuple[int, int]:
    """(grid places, shared-string characters) of one worksheet part.

    The whole part is walked, not only calamine's stretch between BrtBeginSheetData and BrtEndSheetData,
    so the bound holds however a crafted part arranges its blocks: the furthest row is the furthest row
    header calamine accepts (it stops at one past row 1,048,577), the furthest column any cell's (a 32-bit
    number: calamine does not stop at XFD). The records are found in one Python pass (one or two bytes
    of type, one to four of size, as calamine reads them); their fields are read in numpy."""
    types, starts, sizes = array("q"), array("q"), array("q")
    at, end = 0, len(data)
    while at < end:
        b = data[at]
        if b < 0x80:
            typ, at = b, at + 1
        elif at + 1 < end:
            typ, at = (b & 0x7F) | ((data[at + 1] & 0x7F) << 7), at + 2
        else:
            break
        if at < end and data[at] < 0x80:
            size, at = data[at], at + 1
        else:
            size = shift = 0
            for _ in range(4):
                if at >= end:
                    break
                b, at = data[at], at + 1
                size |= (b & 0x7F) << shift
                shift += 7
                if b < 0x80:
                    break
        if typ <= 10 and typ != 1:
            if at + size > end:
                raise Damaged("a record runs past the end of its part")
            types.append(typ)
            starts.append(at)
            sizes.append(size)
        at += size
    if not types:
        return 0, 0
    raw = np.frombuffer(data, dtype=np.uint8)
    kinds, at_, size_ = (np.frombuffer(v, dtype=np.int64) for v in (types, starts, sizes))
    if (size_ < _XLSB_SHORTEST_BY_TYPE[kinds]).any():
        raise Damaged("a row or cell record is cut short")

    def u32(where: np.ndarray) -> np.ndarray:
        return (raw[where].astype(np.int64) | (raw[where + 1].astype(np.int64) << 8)
                | (raw[where + 2].astype(np.int64) << 16) | (raw[where + 3].astype(np.int64) << 24))

    rows = u32(at_[kinds == 0])
    rows = rows[rows <= 0x100000]
    cells = kinds >= 2
    if not cells.any():
        return 0, 0
    max_row = int(rows.max()) if len(rows) else 0
    places = (max_row + 1) * (int(u32(at_[cells]).max()) + 1)
    named = at_[kinds == 7]
    if not len(named):
        return places, 0
    numbers = u32(named + 8)
    known = numbers < len(lengths)  # calamine reads a cell naming no text as empty
    return places, int(lengths[numbers[known]].sum())


def xlsb_layout(zf: zipfile.ZipFile) -> Layout | None:
    """The layout of an .xlsb workbook (None when the zip holds no xl/workbook.bin)."""
    if "xl/workbook.bin" not in zf.namelist():
        return None
    layout = Layout()
    try:
        lengths = _xlsb_shared_lengths(zf)
        measured: dict[str, tuple[int, int]] = {}
        for path in _xlsb_sheet_paths(zf):
            if path not in measured:
                measured[path] = _xlsb_sheet(zf.read(path), lengths)
            places, text = measured[path]
            layout.places += places
            layout.shared_text += text
    except Damaged as exc:
        layout.damaged = str(exc)
    return layout


# --------------------------------------------------------------------------- .xls (BIFF8 records in an OLE2 file)

def _numbers(table: bytes) -> np.ndarray:
    """A sector table as 32-bit numbers (a last sector cut short gives its whole numbers only)."""
    return np.frombuffer(table[:len(table) // 4 * 4], dtype="<u4")


def _cfb_streams(data: bytes, wanted: set[str]) -> list[bytes]:
    """The streams of an OLE2 compound file whose names (any case) are in `wanted`, read through the FAT
    (or the mini FAT for streams under 4,096 bytes) with every chain bounded by the file's sectors."""
    if len(data) < 512 or data[:8] != CFB_MAGIC:
        raise Damaged("it is not an Excel 97-2003 workbook")
    shift, mini_shift = struct.unpack_from("<HH", data, 30)
    if shift not in (9, 12) or mini_shift != 6:
        raise Damaged("its sector size is not one Excel writes")
    sector = 1 << shift
    n_dir, n_fat, dir_start = struct.unpack_from("<III", data, 40)
    mini_fat_start, n_mini_fat, difat_start = struct.unpack_from("<III", data, 60)
    n_sectors = max(0, -(-(len(data) - sector) // sector))  # the last may be cut short, as calamine allows
    if max(n_dir, n_fat, n_mini_fat) > n_sectors:  # calamine reserves room for as many sectors as stated
        raise Damaged("its header states more sectors than the file holds")
    per_sector = sector // 4

    def sector_bytes(i: int) -> bytes:
        if i >= n_sectors:
            raise Damaged("a sector lies past the end of the file")
        return data[(i + 1) * sector:(i + 2) * sector]

    difat = list(struct.unpack_from("<109I", data, 76))
    seen = 0
    while difat_start < 0xFFFFFFFA:  # a further DIFAT sector
        seen += 1
        if seen > n_sectors:
            raise Damaged("its sector table loops")
        block = struct.unpack(f"<{per_sector}I", sector_bytes(difat_start))
        difat += block[:-1]
        difat_start = block[-1]
    fat_ids = [i for i in difat if i < 0xFFFFFFFA]
    fat = _numbers(b"".join(sector_bytes(i) for i in fat_ids))

    def chain(start: int, table: np.ndarray, limit: int) -> list[int]:
        ids = []
        while start < 0xFFFFFFFA:
            if start >= len(table) or len(ids) > limit:
                raise Damaged("a stream's chain of sectors is broken")
            ids.append(start)
            start = int(table[start])
        return ids

    directory = b"".join(sector_bytes(i) for i in chain(dir_start, fat, n_sectors))
    entries = [directory[i:i + 128] for i in range(0, len(directory) - 127, 128)]
    if not entries:
        raise Damaged("it has no directory")
    root_start = struct.unpack_from("<I", entries[0], 116)[0]
    root_size = struct.unpack_from("<Q" if sector == 4096 else "<I", entries[0], 120)[0]
    if root_size > len(data):
        raise Damaged("a stream says it is longer than the whole file")
    ministream = b""
    mini_fat = np.zeros(0, dtype="<u4")
    streams = []
    for entry in entries:
        # as calamine names an entry: its 64 bytes up to the first NUL, whatever its length and type fields say
        name = entry[:64].decode("utf-16-le", errors="replace").split("\x00", 1)[0]
        if name.lower() not in wanted:
            continue
        start = struct.unpack_from("<I", entry, 116)[0]
        size = struct.unpack_from("<Q" if sector == 4096 else "<I", entry, 120)[0]
        if size > len(data):
            raise Damaged("a stream says it is longer than the whole file")
        if size < 4096:  # calamine's cutoff for the mini stream
            if not ministream:
                ministream = b"".join(sector_bytes(i) for i in chain(root_start, fat, n_sectors))
                ids = chain(mini_fat_start, fat, n_sectors)
                mini_fat = _numbers(b"".join(sector_bytes(i) for i in ids))
            ids = chain(start, mini_fat, len(ministream) // 64)
            stream = b"".join(ministream[i * 64:(i + 1) * 64] for i in ids)
        else:
            stream = b"".join(sector_bytes(i) for i in chain(start, fat, n_sectors))
        streams.append(stream[:size])
    return streams


_CONTINUE = 0x003C


def _biff_records(stream: bytes, at: int):
    """(type, data, continues) of the BIFF records from offset `at`, as calamine groups them: the CONTINUE
    records straight after a record belong to it. Stops where calamine would fail (a record cut short)."""
    end = len(stream)
    unpack = struct.unpack_from
    while end - at >= 4:
        typ, size = unpack("<HH", stream, at)
        if at + 4 + size > end:
            return
        data = stream[at + 4:at + 4 + size]
        at += 4 + size
        continues = []
        while end - at > 4 and unpack("<H", stream, at)[0] == _CONTINUE:
            (size,) = unpack("<H", stream, at + 2)
            if at + 4 + size > end:
                return
            continues.append(stream[at + 4:at + 4 + size])
            at += 4 + size
        yield typ, data, continues, at


def _sst_lengths(data: bytes, continues: list[bytes]) -> list[int]:
    """Characters of each string of an SST record, walked across its CONTINUE records as calamine walks
    them (a string's characters may run on into the next record, which starts with a new flags byte)."""
    if len(data) < 8:
        return []
    (count,) = struct.unpack_from("<I", data, 4)  # calamine does not trust it: texts are read while bytes last
    parts = [data[8:], *continues]
    part, pos = 0, 0

    def left_here() -> int:
        return len(parts[part]) - pos

    def next_part() -> bool:
        nonlocal part, pos
        if part + 1 >= len(parts):
            return False
        part, pos = part + 1, 0
        return True

    def skip(n: int) -> bool:
        nonlocal pos
        while n > 0:
            if left_here() <= 0 and not next_part():
                return False
            step = min(n, left_here())
            pos += step
            n -= step
        return True

    lengths: list[int] = []
    while len(lengths) < count:
        if left_here() <= 0 and not next_part():
            break
        if left_here() < 3:
            break
        cch, flags = struct.unpack_from("<HB", parts[part], pos)
        pos += 3
        lengths.append(cch)  # counted whole even if the bytes run out before its end (a bound)
        header = (2 if flags & 0x8 else 0) + (4 if flags & 0x4 else 0)
        if left_here() < header:
            break
        runs = struct.unpack_from("<H", parts[part], pos)[0] if flags & 0x8 else 0
        ext = struct.unpack_from("<I", parts[part], pos + header - 4)[0] if flags & 0x4 else 0
        pos += header
        left, wide = cch, bool(flags & 0x1)
        while left > 0:
            n = min(left_here() // 2 if wide else left_here(), left)
            pos += n * 2 if wide else n
            left -= n
            if left > 0:
                if not next_part() or left_here() < 1:
                    return lengths
                wide = bool(parts[part][pos] & 0x1)
                pos += 1
        if not (skip(runs * 4) and skip(ext)):
            break
    return lengths


_CELL_RECORDS = frozenset({0x0203, 0x0204, 0x0205, 0x027E, 0x00FD, 0x0006, 0x00D6})
_SHORTEST = {0x0203: 14, 0x0204: 6, 0x0205: 8, 0x027E: 10, 0x00FD: 10, 0x0006: 20, 0x00D6: 6}


def _xls_stream(stream: bytes) -> Layout:
    layout = Layout()
    sheets: list[int] = []
    lengths = np.zeros(0, dtype=np.int64)
    for typ, data, continues, _ in _biff_records(stream, 0):
        if typ == 0x0085:
            if len(data) < 6:
                raise Damaged("a sheet's entry in the workbook is cut short")
            sheets.append(struct.unpack_from("<I", data)[0])
        elif typ == 0x00FC:
            lengths = np.array(_sst_lengths(data, continues), dtype=np.int64)
        elif typ == 0x000A:
            break
    scanned = 0
    for start in sheets:
        if start > len(stream):
            raise Damaged("a sheet starts past the end of the workbook")
        offsets = _biff_offsets(stream, start)
        scanned += (int(offsets[-1]) if len(offsets) else start) - start
        if scanned > 2 * len(stream) + 65_536:
            raise Damaged("its sheets overlap one another")
        places, text = _xls_sheet(stream, offsets, lengths)
        layout.places += places
        layout.shared_text += text
    return layout


_HEADER = struct.Struct("<HH").unpack_from


def _biff_offsets(stream: bytes, at: int) -> np.ndarray:
    """Offsets of a sheet's records, from `at` to its EOF record, as calamine steps through them (a CONTINUE
    record is stepped over whether calamine files it under the record before or not); stops before a
    record that runs past the end of the stream, where calamine stops with an error."""
    offsets = array("q")  # raw 8-byte numbers: a list would keep a Python int per record (36 bytes each)
    append = offsets.append
    end = len(stream) - 4
    while at <= end:
        typ, size = _HEADER(stream, at)
        if at + 4 + size > end + 4:
            break
        append(at)
        if typ == 0x000A:
            break
        at += 4 + size
    return np.frombuffer(offsets, dtype=np.int64) if offsets else np.zeros(0, dtype=np.int64)


_XLS_SHORTEST = np.zeros(65_536, dtype=np.int64)  # per record type: the bytes calamine reads of a cell record
for _typ, _size in _SHORTEST.items():
    _XLS_SHORTEST[_typ] = _size
_XLS_SHORTEST[0x00BD] = 6  # MULRK


def _xls_sheet(stream: bytes, offsets: np.ndarray, lengths: np.ndarray) -> tuple[int, int]:
    """(grid places, shared-string characters) of one sheet, from its record offsets, in numpy."""
    raw = np.frombuffer(stream, dtype=np.uint8)
    n = len(raw)

    def u16(at: np.ndarray) -> np.ndarray:
        return raw[np.minimum(at, n - 1)].astype(np.int64) | (raw[np.minimum(at + 1, n - 1)].astype(np.int64) << 8)

    types, sizes = u16(offsets), u16(offsets + 2)
    dimensions = types == 0x0200  # calamine reserves room for the whole range a DIMENSIONS record states
    for at, size in zip(offsets[dimensions].tolist(), sizes[dimensions].tolist(), strict=True):
        _dimensions_fit(stream[at + 4:at + 4 + size])
    is_cell = _XLS_SHORTEST[types] > 0
    cells, cell_types, cell_sizes = offsets[is_cell], types[is_cell], sizes[is_cell]
    if not len(cells):
        return 0, 0
    if (cell_sizes < _XLS_SHORTEST[cell_types]).any():
        raise Damaged("a cell record is cut short")
    rows, cols = u16(cells + 4), u16(cells + 6)
    mulrk = cell_types == 0x00BD  # a run of numbers along a row: (size - 6) / 6 of them
    cols = np.where(mulrk, cols + np.maximum(0, (cell_sizes - 6) // 6 - 1), cols)
    places = (int(rows.max()) + 1) * (int(cols.max()) + 1)
    formulas = cell_types == 0x0006  # calamine also lays the formulas out, in a grid of their own (24 bytes a
    if formulas.any():  # place, first to last formula): a sheet near the limit took 480 MB, not 370
        f_rows, f_cols = rows[formulas], cols[formulas]
        places += (int(f_rows.max() - f_rows.min()) + 1) * (int(f_cols.max() - f_cols.min()) + 1)
    named = cells[cell_types == 0x00FD]
    if not len(named):
        return places, 0
    numbers = u16(named + 10) | (u16(named + 12) << 16)
    known = numbers < len(lengths)  # calamine leaves out a cell naming no string
    return places, int(lengths[numbers[known]].sum())


def _dimensions_fit(data: bytes) -> None:
    """Refuse a DIMENSIONS record stating a range larger than an .xls sheet can be (calamine reserves it)."""
    if len(data) == 10:
        first_row, last_row, first_col, last_col = struct.unpack_from("<HHHH", data)
    elif len(data) == 14:
        first_row, last_row, first_col, last_col = struct.unpack_from("<IIHH", data)
    else:
        return  # calamine refuses the file itself
    if last_row < 1 or last_col < 1:
        return
    # as calamine counts them (found by trying): rows wrap around as 32-bit numbers, columns as 16-bit, so a
    # range whose last row comes before its first asks for billions of places and aborts the process
    rows = (last_row - first_row) % 2**32
    cols = (last_col - first_col) % 2**16
    if rows * cols > BIFF8_MAX_PLACES:
        raise Damaged("it states a sheet size larger than an Excel 97-2003 sheet can be")


def xls_layout(data: bytes) -> Layout:
    """The layout of an .xls workbook: every Workbook (or older Book) stream calamine might read."""
    layout = Layout()
    try:
        for stream in _cfb_streams(data, {"workbook", "book"}):
            one = _xls_stream(stream)
            layout.places = max(layout.places, one.places)
            layout.shared_text = max(layout.shared_text, one.shared_text)
    except Damaged as exc:
        layout.damaged = str(exc)
    except (struct.error, ValueError, IndexError) as exc:
        layout.damaged = f"its structure could not be followed ({exc})"
    return layout
