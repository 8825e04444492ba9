"""Every .xlsx the platform writes goes through here: tables a page shows, bank exports and templates,
initial passwords.

Text stays text. openpyxl stores a string that starts with "=" as a live formula, and a spreadsheet
program may treat text starting with "+", "-", "@", a tab or a carriage return as one when it is
edited: names, unit names, job titles and 解析 are typed by unit admins and learners, and the
province admin opens the file. Such strings are written as string cells marked quote-prefixed.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from openpyxl import Workbook
    from openpyxl.styles import Font

# openpyxl (with numpy, lxml and PIL behind it: about 40 MB a process) is imported when a file is
# made, not when the app starts: most server processes never write one.

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def workbook(*, write_only: bool = False) -> Workbook:
    """A new openpyxl workbook (``write_only``: rows streamed, for the long ones)."""
    from openpyxl import Workbook

    return Workbook(write_only=write_only)


def bold() -> Font:
    from openpyxl.styles import Font

    return Font(bold=True)


def append(sheet, values) -> None:
    """Add one row; text that a spreadsheet could run is stored as text."""
    sheet.append([_safe(sheet, value) for value in values])


def _safe(sheet, value):
    if not (isinstance(value, str) and value.startswith(FORMULA_STARTS)):
        return value
    from openpyxl.cell.cell import Cell, WriteOnlyCell
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

    cell = WriteOnlyCell(sheet, value) if isinstance(sheet, WriteOnlyWorksheet) else Cell(sheet, value=value)
    cell.data_type = "s"
    cell.quotePrefix = True
    return cell


def save(workbook: Workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def header(sheet, titles: list[str], *, color: str = "C0392B") -> None:
    """A bold white-on-colour header row, frozen."""
    from openpyxl.styles import Alignment, Font, PatternFill

    append(sheet, titles)
    for cell in sheet[1]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor=color)
        cell.alignment = Alignment(horizontal="center")
    sheet.freeze_panes = "A2"


def table_xlsx(
    title: str, headers: list[str], rows: list[list], *, sheets: list[tuple] | None = None
) -> bytes:
    """One sheet per (title, headers, rows); the first is the given one. Header row bold, frozen."""
    from openpyxl.utils import get_column_letter

    book = workbook()
    for index, (sheet_title, sheet_headers, sheet_rows) in enumerate(
        [(title, headers, rows), *(sheets or [])]
    ):
        sheet = book.active if index == 0 else book.create_sheet()
        sheet.title = sheet_title[:31].replace("/", "-").replace(":", "-")
        header(sheet, sheet_headers)
        for row in sheet_rows:
            append(sheet, row)
        for column, title_text in enumerate(sheet_headers, 1):
            width = max(
                [len(str(title_text))]
                + [len(str(r[column - 1])) for r in sheet_rows[:200] if column <= len(r)]
            )
            sheet.column_dimensions[get_column_letter(column)].width = min(max(8, width * 1.6 + 2), 60)
    return save(book)
