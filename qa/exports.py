"""CSV and XLSX exports with spreadsheet formula injection neutralised."""

from __future__ import annotations

import io

import pandas as pd
import xlsxwriter

# A cell starting with one of these is run as a formula by spreadsheet programs; the full-width forms
# are converted to their ASCII twins by some (Excel with East Asian input, LibreOffice autocorrect).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
# Invisible characters a spreadsheet skips before looking for a formula: spaces, a byte-order mark,
# zero-width spaces and joiners, word joiner, no-break spaces.
_INVISIBLE = " \ufeff\u200b\u200c\u200d\u2060\u00a0\u202f\u3000"


def neutralise(value: object) -> object:
    """Prefix an apostrophe to text that could start a formula, even behind invisible characters."""
    if isinstance(value, str) and value.lstrip(_INVISIBLE).startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(neutralise)
    out.columns = [neutralise(str(c)) for c in out.columns]
    return out


def to_csv_text(frame: pd.DataFrame) -> str:
    """CSV text with every cell neutralised (what the CLI prints)."""
    return safe_frame(frame).to_csv(index=False)


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """UTF-8 with a BOM so Excel shows accented names correctly."""
    return to_csv_text(frame).encode("utf-8-sig")


def _cell_values(series: pd.Series) -> list:
    """Plain Python values for xlsxwriter: blanks as None, times without a zone (Excel has none)."""
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        series = series.dt.tz_localize(None)
    values = series.astype(object)
    return values.where(series.notna(), None).tolist()


def to_xlsx_bytes(sheets: dict[str, pd.DataFrame]) -> bytes:
    """One sheet per frame; strings are never written as formulas, links or numbers.

    Rows go straight to xlsxwriter in constant-memory mode: about twice as fast as pandas' `to_excel`
    and flat in memory, which matters for a national teacher sheet of 100,000 rows.
    """
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"constant_memory": True, "strings_to_formulas": False,
                                        "strings_to_urls": False, "strings_to_numbers": False,
                                        "default_date_format": "yyyy-mm-dd"})
    bold = book.add_format({"bold": True})
    for name, frame in sheets.items():
        export = safe_frame(frame)
        sheet = book.add_worksheet(name[:31])
        headers = [str(c) for c in export.columns]
        columns = [_cell_values(export[c]) for c in export.columns]
        for i, (header, values) in enumerate(zip(headers, columns, strict=True)):
            sample = [len(str(v)) for v in values[:500] if v is not None]
            sheet.set_column(i, i, min(60, max([len(header), *sample]) + 2))
        sheet.write_row(0, 0, headers, bold)
        write = sheet.write_row
        for row_number, row in enumerate(zip(*columns, strict=True), start=1):
            write(row_number, 0, row)
    book.close()
    return buffer.getvalue()
