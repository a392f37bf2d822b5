"""The blank termly return a school fills in: canonical headers, drop-downs, instructions."""

from __future__ import annotations

import io
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation

from qa import schema

TEMPLATE_ROWS = 500


def write_template(path: str | Path) -> Path:
    """Write the template workbook; every header, list and hint comes from `qa.schema`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(template_bytes())
    return path


def template_bytes() -> bytes:
    """The template workbook as .xlsx bytes (the CLI writes them to a file, the Upload page offers them)."""
    book = Workbook()
    log = book.active
    log.title = "CPD log"
    header_fill = PatternFill("solid", fgColor="DDEBF7")
    for col, column in enumerate(schema.ACTIVITY_COLUMNS, start=1):
        cell = log.cell(row=1, column=col, value=column.name)
        cell.font = Font(bold=True)
        cell.fill = header_fill
        log.column_dimensions[cell.column_letter].width = max(14, len(column.name) + 4)
    log.freeze_panes = "A2"

    lists = book.create_sheet("Lists")
    for row, value in enumerate(schema.ACTIVITY_TYPES, start=1):
        lists.cell(row=row, column=1, value=value)
    for row, value in enumerate(schema.TERMS, start=1):
        lists.cell(row=row, column=2, value=value)
    lists.sheet_state = "hidden"

    def letter(name: str) -> str:
        index = schema.ACTIVITY_COLUMN_NAMES.index(name) + 1
        return log.cell(row=1, column=index).column_letter

    last = TEMPLATE_ROWS + 1
    validations = [
        (f"=Lists!$A$1:$A${len(schema.ACTIVITY_TYPES)}", ["activity_type"], "Pick an activity type"),
        (f"=Lists!$B$1:$B${len(schema.TERMS)}", ["term"], "Autumn, Spring or Summer"),
        ('"Y,N"', ["subject_specific", "aligned_to_needs", *schema.DFE_ASPECTS], "Y or N"),
    ]
    for formula, columns, prompt in validations:
        dv = DataValidation(type="list", formula1=formula, allow_blank=True, showErrorMessage=True,
                            error=prompt, errorTitle="Not in the list", prompt=prompt)
        for name in columns:
            dv.add(f"{letter(name)}2:{letter(name)}{last}")
        log.add_data_validation(dv)
    hours = DataValidation(type="decimal", operator="greaterThan", formula1="0", allow_blank=True,
                           showErrorMessage=True, error="Hours must be a number above 0",
                           errorTitle="Hours")
    hours.add(f"{letter('hours')}2:{letter('hours')}{last}")
    log.add_data_validation(hours)
    for row in range(2, last + 1):
        log[f"{letter('activity_date')}{row}"].number_format = "dd/mm/yyyy"

    info = book.create_sheet("Instructions", 0)
    info.column_dimensions["A"].width = 22
    info.column_dimensions["B"].width = 12
    info.column_dimensions["C"].width = 80
    lines = [
        ("Termly CPD return", "", ""),
        ("One row per CPD activity per teacher. Use staff codes, never names.", "", ""),
        ("Yes/no cells accept Y, N, Yes, No, True, False, 1, 0, ✓, ✗ or x (x means yes).", "", ""),
        ("Hours accept 1.5, 1h30, 90 min or 1:30. Blank year and term are worked out from the date.", "",
         ""),
        ("", "", ""),
        ("column", "required", "what to enter"),
    ]
    lines += [(c.name, "yes" if c.required else "", c.description) for c in schema.ACTIVITY_COLUMNS]
    for row, values in enumerate(lines, start=1):
        for col, value in enumerate(values, start=1):
            cell = info.cell(row=row, column=col, value=value)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    info["A1"].font = Font(bold=True, size=14)
    for col in range(1, 4):
        info.cell(row=6, column=col).font = Font(bold=True)
    book.active = book.sheetnames.index("CPD log")
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
