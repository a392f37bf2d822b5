"""Shared fixtures: a fresh store per test and builders for hand-made returns."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest

from qa.store import Store

ROOT = Path(__file__).resolve().parents[1]
CANONICAL = ["school_id", "teacher_id", "activity_date", "activity_title", "activity_type", "hours",
             "provider", "programme", "subject_specific", "aligned_to_needs", "pupil_outcomes",
             "evidence_based", "collaboration", "sustained"]


def activity(**overrides) -> dict:
    """One valid activity row; every quality flag 'Y' unless overridden."""
    row = {"school_id": "S1", "teacher_id": "T1", "activity_date": dt.date(2019, 10, 1),
           "activity_title": "Subject knowledge course", "activity_type": "course/workshop", "hours": 5,
           "provider": None, "programme": None, "subject_specific": "Y", "aligned_to_needs": "Y",
           "pupil_outcomes": "Y", "evidence_based": "Y", "collaboration": "Y", "sustained": "Y"}
    row.update(overrides)
    return row


def workbook_bytes(sheets: dict[str, list[dict]] | list[dict], headers: list[str] | None = None,
                   title_rows: list[str] | None = None, header_names: dict[str, str] | None = None) -> bytes:
    """An .xlsx with one sheet per entry; `header_names` renames canonical headers (synonyms)."""
    if isinstance(sheets, list):
        sheets = {"Log": sheets}
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        ws = book.create_sheet(name)
        cols = headers or (list(rows[0]) if rows else CANONICAL)
        for line in title_rows or []:
            ws.append([line])
        if title_rows:
            ws.append([])
        ws.append([(header_names or {}).get(c, c) for c in cols])
        for row in rows:
            ws.append([row.get(c) for c in cols])
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


@pytest.fixture
def store(tmp_path) -> Store:
    s = Store(tmp_path / "test.duckdb")
    yield s
    s.close()


@pytest.fixture
def load(store) -> Callable:
    """Ingest rows (or sheets) straight into the test store; returns the FileReport."""
    from qa.ingest import ingest_bytes

    counter = iter(range(10_000))

    def _load(rows, name: str | None = None, **options):
        data = workbook_bytes(rows) if not isinstance(rows, bytes) else rows
        report = ingest_bytes(store, name or f"return{next(counter)}.xlsx", data, **options)
        return report

    return _load


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory) -> Path:
    """The demo database built once from data/sample/ (read-only use in tests, please)."""
    from qa.cli import build_demo

    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    build_demo(path)
    return path
