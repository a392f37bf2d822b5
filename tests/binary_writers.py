"""Minimal writers of .xlsb (BIFF12 records in a zip) and .xls (BIFF8 records in an OLE2 compound file), enough
for calamine to read them: no spreadsheet library writes these formats, and the hostile files the reader must
refuse (a cell at XFD1048576, one string named by 100,000 cells) have to be crafted record by record."""

from __future__ import annotations

import io
import struct
import zipfile
from collections.abc import Iterable

Cell = tuple[int, int, object]  # (row, column, value), 0-based; a str, a float, or ("sst", index)


# --------------------------------------------------------------------------- xlsb

def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def brt(typ: int, data: bytes = b"") -> bytes:
    """One BIFF12 record: its type (1 or 2 bytes) and size (1 to 4 bytes) as 7-bit varints, then its data."""
    return _varint(typ) + _varint(len(data)) + data


def _wide(text: str) -> bytes:
    return struct.pack("<I", len(text)) + text.encode("utf-16-le")


def xlsb_sheet(cells: Iterable[Cell]) -> bytes:
    """A worksheet part: rows (BrtRowHdr) then their cells (BrtCellSt text, BrtCellReal numbers, BrtCellIsst)."""
    body = [brt(0x81), brt(0x94, struct.pack("<4I", 0, 0, 0, 0)), brt(0x91)]
    row = None
    for r, c, value in sorted(cells, key=lambda cell: (cell[0], cell[1])):
        if r != row:
            body.append(brt(0x00, struct.pack("<IIHBBBI", r, 0, 300, 0, 0, 0, 0)))
            row = r
        head = struct.pack("<II", c, 0)
        if isinstance(value, tuple):
            body.append(brt(0x07, head + struct.pack("<I", value[1])))
        elif isinstance(value, str):
            body.append(brt(0x06, head + _wide(value)))
        else:
            body.append(brt(0x05, head + struct.pack("<d", float(value))))
    body += [brt(0x92), brt(0x82)]
    return b"".join(body)


def xlsb_bytes(sheets: dict[str, bytes], shared: list[str] | None = None) -> bytes:
    """A workbook of the given worksheet parts (from `xlsb_sheet`, or crafted), with an optional shared-string table."""
    book = [brt(0x83), brt(0x8F)]
    rels = []
    for i, name in enumerate(sheets, 1):
        book.append(brt(0x9C, struct.pack("<II", 0, i) + _wide(f"rId{i}") + _wide(name)))
        rels.append(f'<Relationship Id="rId{i}" Target="worksheets/sheet{i}.bin" Type="http://schemas.'
                    f'openxmlformats.org/officeDocument/2006/relationships/worksheet"/>')
    book += [brt(0x90), brt(0x9D, b"\x00" * 16), brt(0x84)]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                   'package/2006/content-types"><Default Extension="bin" ContentType="application/'
                   'vnd.ms-excel.sheet.binary.macroEnabled.main"/></Types>')
        z.writestr("xl/workbook.bin", b"".join(book))
        z.writestr("xl/_rels/workbook.bin.rels", '<?xml version="1.0"?><Relationships xmlns="http://schemas.'
                   'openxmlformats.org/package/2006/relationships">' + "".join(rels) + "</Relationships>")
        for i, part in enumerate(sheets.values(), 1):
            z.writestr(f"xl/worksheets/sheet{i}.bin", part)
        if shared is not None:
            sst = [brt(0x9F, struct.pack("<II", len(shared), len(shared)))]
            sst += [brt(0x13, b"\x00" + _wide(s)) for s in shared]
            z.writestr("xl/sharedStrings.bin", b"".join(sst) + brt(0xA0))
    return out.getvalue()


# --------------------------------------------------------------------------- xls

def biff(typ: int, data: bytes = b"") -> bytes:
    return struct.pack("<HH", typ, len(data)) + data


def _bof(kind: int) -> bytes:
    return biff(0x0809, struct.pack("<HHHHII", 0x0600, kind, 0x0DBB, 0x07CC, 0, 0x06))


def _sst(strings: list[str]) -> bytes:
    """SST and its CONTINUE records: a string's characters may run on into the next record, which then starts
    with a flags byte of its own (BIFF8 records hold at most 8,224 bytes). As Excel does, a stretch of
    characters that all fit in one byte is written one byte each (flags 0), any other two bytes each (flags 1)."""
    records, data = [], bytearray(struct.pack("<II", len(strings), len(strings)))

    def stretch(chars: str, room: int) -> tuple[int, bytes, int]:
        """(flags, bytes, characters taken) of the longest stretch of `chars` fitting in `room` bytes."""
        narrow = all(ord(ch) < 256 for ch in chars[:room])
        if narrow:
            return 0, chars[:room].encode("latin-1"), len(chars[:room])
        n = room // 2
        return 1, chars[:n].encode("utf-16-le"), len(chars[:n])

    for s in strings:
        if len(data) + 3 + 2 > 8224:
            records.append(bytes(data))
            data = bytearray()
        flags, raw, taken = stretch(s, 8224 - len(data) - 3)
        data += struct.pack("<HB", len(s), flags) + raw
        left = s[taken:]
        while left:
            records.append(bytes(data))
            flags, raw, taken = stretch(left, 8224 - 1)
            data = bytearray([flags]) + raw
            left = left[taken:]
    records.append(bytes(data))
    return biff(0x00FC, records[0]) + b"".join(biff(0x003C, r) for r in records[1:])


def xls_stream(sheets: dict[str, list[Cell]], shared: list[str] | None = None,
               dimensions: dict[str, bytes] | None = None) -> bytes:
    """A BIFF8 Workbook stream; `dimensions` gives a sheet a crafted DIMENSIONS record body."""
    parts = []
    for name, cells in sheets.items():
        body = [_bof(0x0010)]
        if dimensions and name in dimensions:
            body.append(biff(0x0200, dimensions[name]))
        for r, c, value in sorted(cells, key=lambda cell: (cell[0], cell[1])):
            if isinstance(value, tuple):
                body.append(biff(0x00FD, struct.pack("<HHHI", r, c, 0x0F, value[1])))
            elif isinstance(value, str):
                body.append(biff(0x0204, struct.pack("<HHHHB", r, c, 0x0F, len(value), 1)
                                 + value.encode("utf-16-le")))
            else:
                body.append(biff(0x0203, struct.pack("<HHHd", r, c, 0x0F, float(value))))
        body.append(biff(0x000A))
        parts.append(b"".join(body))

    def globals_(offsets: list[int]) -> bytes:
        out = [_bof(0x0005), biff(0x0042, struct.pack("<H", 1200))]
        out += [biff(0x00E0, struct.pack("<HH", 0, 0) + b"\x00" * 16)] * 16
        for name, at in zip(sheets, offsets, strict=True):
            out.append(biff(0x0085, struct.pack("<IBBBB", at, 0, 0, len(name), 1) + name.encode("utf-16-le")))
        if shared is not None:
            out.append(_sst(shared))
        out.append(biff(0x000A))
        return b"".join(out)

    head = len(globals_([0] * len(parts)))
    offsets, at = [], head
    for part in parts:
        offsets.append(at)
        at += len(part)
    return globals_(offsets) + b"".join(parts)


def cfb_bytes(stream: bytes, name: str = "Workbook") -> bytes:
    """An OLE2 compound file holding one stream, padded with zeros to 4,096 bytes at least so it lives in
    ordinary sectors (a shorter stream would belong in the mini stream); the reader stops at the last EOF
    record, before the padding. Version 3 (512-byte sectors) up to 6 MB, version 4 (4,096-byte) above."""
    stream = stream.ljust(4096, b"\x00")
    size = len(stream)
    sector = 512 if size <= 6_000_000 else 4096
    per = sector // 4
    stream = stream.ljust(-(-size // sector) * sector, b"\x00")
    n_stream = len(stream) // sector
    n_fat = 1
    while (n_fat + 2 + n_stream) > n_fat * per:
        n_fat += 1
    if n_fat > 109:
        raise ValueError("stream too large for this writer")
    # FAT sectors, the directory's one sector, an empty sector for the root's mini stream (version 4 wants one)
    fat = [0xFFFFFFFD] * n_fat + [0xFFFFFFFE, 0xFFFFFFFE]
    first = n_fat + 2
    fat += [first + i + 1 for i in range(n_stream - 1)] + [0xFFFFFFFE]
    fat += [0xFFFFFFFF] * (n_fat * per - len(fat))
    difat = list(range(n_fat)) + [0xFFFFFFFF] * (109 - n_fat)
    header = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 16
              + struct.pack("<HHHHH", 0x3E, 3 if sector == 512 else 4, 0xFFFE, 9 if sector == 512 else 12, 6)
              + b"\x00" * 6 + struct.pack("<IIIIIIIII", 0 if sector == 512 else 1, n_fat, n_fat, 0, 4096,
                                           0xFFFFFFFE, 0, 0xFFFFFFFE, 0)
              + struct.pack("<109I", *difat)).ljust(sector, b"\x00")

    def entry(entry_name: str, kind: int, child: int, start: int, length: int) -> bytes:
        encoded = (entry_name + "\x00").encode("utf-16-le")
        return (encoded.ljust(64, b"\x00") + struct.pack("<HBBIII", len(encoded), kind, 1, 0xFFFFFFFF,
                                                         0xFFFFFFFF, child)
                + b"\x00" * 36 + struct.pack("<IQ", start, length))

    directory = (entry("Root Entry", 5, 1, n_fat + 1, 0) + entry(name, 2, 0xFFFFFFFF, first, size)).ljust(
        sector, b"\x00")
    return header + struct.pack(f"<{n_fat * per}I", *fat) + directory + b"\x00" * sector + stream
