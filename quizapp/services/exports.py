"""Any table a page shows, as an .xlsx workbook."""

from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def table_xlsx(
    title: str, headers: list[str], rows: list[list], *, sheets: list[tuple] | None = None
) -> bytes:
    """One sheet per (title, headers, rows); the first is the given one. Header row bold, frozen."""
    workbook = Workbook()
    for index, (sheet_title, sheet_headers, sheet_rows) in enumerate(
        [(title, headers, rows), *(sheets or [])]
    ):
        sheet = workbook.active if index == 0 else workbook.create_sheet()
        sheet.title = sheet_title[:31].replace("/", "-").replace(":", "-")
        sheet.append(sheet_headers)
        for cell in sheet[1]:
            cell.font = Font(bold=True, color="FFFFFF")
            cell.fill = PatternFill("solid", fgColor="C0392B")
            cell.alignment = Alignment(horizontal="center")
        for row in sheet_rows:
            sheet.append(row)
        for column, header in enumerate(sheet_headers, 1):
            width = max(
                [len(str(header))] + [len(str(r[column - 1])) for r in sheet_rows[:200] if column <= len(r)]
            )
            sheet.column_dimensions[get_column_letter(column)].width = min(max(8, width * 1.6 + 2), 60)
        sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
