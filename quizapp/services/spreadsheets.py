"""Cell values of a workbook's first sheet, for imports that need values only (the staff list).

openpyxl builds an object for every cell: about 30 s for a 100,000-person staff list on a small
machine. python-calamine (Rust's calamine) reads the same file in about a second. Values come back
as openpyxl's ``values_only`` gives them: None for an empty cell, whole numbers as int.
"""

from __future__ import annotations

import io

from python_calamine import CalamineWorkbook


def _value(cell):
    if cell == "":
        return None
    if isinstance(cell, float) and cell.is_integer():
        return int(cell)
    return cell


def first_sheet_rows(data: bytes) -> list[tuple]:
    """Every row of the first sheet; ValueError when the bytes are not a readable workbook."""
    try:
        sheet = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0)
        return [tuple(_value(cell) for cell in row) for row in sheet.to_python()]
    except Exception as error:  # noqa: BLE001 - calamine raises its own error types for a damaged file
        raise ValueError(f"not a readable .xlsx workbook: {error}") from error
