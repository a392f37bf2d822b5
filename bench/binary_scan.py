"""Benchmark: what the .xls/.xlsb guard (qa/binary_guard.py) costs on a large ordinary workbook, against
calamine reading the same file, back to back in one run (CPU seconds; ratios, as the machine is shared).

The workbooks are CPD logs written record by record (tests/binary_writers.py): texts in the shared table as
Excel writes them, numbers as numbers. An .xls holds at most 65,536 rows.

Run: .venv/bin/python bench/binary_scan.py [--xls-rows 65000] [--xlsb-rows 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
import zipfile
from pathlib import Path

import python_calamine

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qa import binary_guard  # noqa: E402
from tests.binary_writers import cfb_bytes, xls_stream, xlsb_bytes, xlsb_sheet  # noqa: E402

COLUMNS = 14


def log(rows: int) -> tuple[list, list[str]]:
    shared = [f"Teacher {i}" for i in range(200)] + ["Y", "N", "course/workshop", "Subject knowledge course"]
    cells = [(0, c, ("sst", 200 + c % 4)) for c in range(COLUMNS)]
    for r in range(1, rows):
        cells += [(r, 0, ("sst", r % 200)), (r, 1, 43_000.0 + r % 300), (r, 2, ("sst", 203)),
                  (r, 3, ("sst", 202)), (r, 4, float(r % 7))]
        cells += [(r, c, ("sst", 200 + (r + c) % 2)) for c in range(5, COLUMNS)]
    return cells, shared


def cpu(fn) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def calamine_read(data: bytes) -> None:
    book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    for name in book.sheet_names:
        book.get_sheet_by_name(name).to_python(skip_empty_area=False)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--xls-rows", type=int, default=65_000)
    parser.add_argument("--xlsb-rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    cells, shared = log(args.xls_rows)
    xls = cfb_bytes(xls_stream({"Log": cells}, shared=shared))
    cells, shared = log(args.xlsb_rows)
    xlsb = xlsb_bytes({"Log": xlsb_sheet(cells)}, shared=shared)
    cases = {
        f".xls  {args.xls_rows:,} rows x {COLUMNS} ({len(xls) / 1e6:.1f} MB)":
            (xls, lambda: binary_guard.xls_layout(xls)),
        f".xlsb {args.xlsb_rows:,} rows x {COLUMNS} ({len(xlsb) / 1e6:.1f} MB)":
            (xlsb, lambda: binary_guard.xlsb_layout(zipfile.ZipFile(io.BytesIO(xlsb)))),
    }
    print(f"load average {os.getloadavg()[0]:.2f} (1 min)")
    for label, (data, scan) in cases.items():
        scans, reads = [], []
        for _ in range(args.repeat):
            scans.append(cpu(scan))
            reads.append(cpu(lambda data=data: calamine_read(data)))
        s, r = statistics.median(scans), statistics.median(reads)
        print(f"{label}: guard {s:.2f} s CPU, calamine read {r:.2f} s CPU, guard adds {s / r:.0%}")


if __name__ == "__main__":
    main()
