"""CSV and XLSX exports with spreadsheet formula injection neutralised."""

from __future__ import annotations

import io

import pandas as pd

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


def to_xlsx_bytes(sheets: dict[str, pd.DataFrame]) -> bytes:
    """One sheet per frame; strings are never written as formulas or links."""
    buffer = io.BytesIO()
    options = {"strings_to_formulas": False, "strings_to_urls": False}
    with pd.ExcelWriter(buffer, engine="xlsxwriter", engine_kwargs={"options": options}) as writer:
        for name, frame in sheets.items():
            sheet = name[:31]
            export = safe_frame(frame)
            for col in export.columns:  # Excel has no time zones
                if isinstance(export[col].dtype, pd.DatetimeTZDtype):
                    export[col] = export[col].dt.tz_localize(None)
            export.to_excel(writer, sheet_name=sheet, index=False)
            writer.sheets[sheet].autofit()
    return buffer.getvalue()
