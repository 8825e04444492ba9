"""Cell values of a workbook's first sheet, read straight from the .xlsx XML (standard library only).

openpyxl builds objects for every cell (and parses each inline string into rich text): about 30 s
for a 100,000-person staff list on a small shared machine. The staff import needs values only, so it
streams the sheet here in a few seconds. Values come back as openpyxl's ``values_only`` gives them,
except that date-formatted numbers stay numbers (a staff list has no dates).
"""

from __future__ import annotations

import io
import posixpath
import zipfile
from xml.etree.ElementTree import Element, fromstring, iterparse


def _local(tag: str) -> str:
    """The tag without its namespace (transitional and strict OOXML use different ones)."""
    return tag.rsplit("}", 1)[-1]


def _children(element: Element, name: str):
    return (child for child in element if _local(child.tag) == name)


def _text(element: Element) -> str:
    """A shared or inline string: its <t>, or its rich-text runs' <t>s (phonetic <rPh> skipped)."""
    parts = []
    for child in element:
        name = _local(child.tag)
        if name == "t":
            parts.append(child.text or "")
        elif name == "r":
            parts.extend(t.text or "" for t in _children(child, "t"))
    return "".join(parts)


def _column(reference: str) -> int:
    """0-based column of a cell reference such as "AB12"."""
    letters = reference.rstrip("0123456789").upper()
    if len(letters) == 1:
        return ord(letters) - 65
    number = 0
    for char in letters:
        number = number * 26 + ord(char) - 64
    return number - 1


def _first_sheet(archive: zipfile.ZipFile) -> str:
    workbook = fromstring(archive.read("xl/workbook.xml"))
    sheets = next(_children(workbook, "sheets"))
    first = next(_children(sheets, "sheet"))
    rel_id = next(value for key, value in first.attrib.items() if _local(key) == "id")
    relations = fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    target = next(rel.get("Target") for rel in relations if rel.get("Id") == rel_id)
    return target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))


def _shared_strings(archive: zipfile.ZipFile) -> list[str]:
    if "xl/sharedStrings.xml" not in archive.namelist():
        return []
    strings = []
    for _, element in iterparse(archive.open("xl/sharedStrings.xml"), events=("end",)):
        if _local(element.tag) == "si":
            strings.append(_text(element))
            element.clear()
    return strings


def _number(text: str):
    try:
        return int(text)
    except ValueError:
        return float(text)


def first_sheet_rows(data: bytes) -> list[tuple]:
    """Every row of the first worksheet as a tuple of values (None for an empty cell), blank rows
    included as empty tuples so that list positions stay row numbers. Raises ValueError for a file
    that is not a readable workbook."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            strings = _shared_strings(archive)
            rows: list[tuple] = []
            ns = None  # the sheet's namespace, from its first element: tags compare as plain strings
            for _, element in iterparse(archive.open(_first_sheet(archive)), events=("end",)):
                if ns is None:
                    ns = element.tag[: element.tag.index("}") + 1] if element.tag[0] == "{" else ""
                    row_tag, cell_tag, value_tag, inline_tag, text_tag = (
                        ns + name for name in ("row", "c", "v", "is", "t")
                    )
                if element.tag != row_tag:
                    continue
                number = int(element.get("r") or len(rows) + 1)
                rows.extend(() for _ in range(number - 1 - len(rows)))
                cells: dict[int, object] = {}
                position = 0
                for cell in element.iterfind(cell_tag):
                    reference = cell.get("r")
                    position = _column(reference) if reference else position
                    kind = cell.get("t", "n")
                    if kind == "inlineStr":
                        inline = cell.find(inline_tag)
                        if inline is None:
                            value = None
                        elif len(inline) == 1 and inline[0].tag == text_tag:  # the common case: <is><t>
                            value = inline[0].text or ""
                        else:
                            value = _text(inline)
                    else:
                        raw = cell.findtext(value_tag)
                        if raw is None:
                            value = None
                        elif kind == "s":
                            value = strings[int(raw)]
                        elif kind == "b":
                            value = raw == "1"
                        elif kind in ("str", "e", "d"):
                            value = raw
                        else:
                            value = _number(raw) if raw else None  # <v/>: a formula never calculated
                    cells[position] = value
                    position += 1
                rows.append(tuple(cells.get(i) for i in range(max(cells) + 1)) if cells else ())
                element.clear()
            return rows
    except (zipfile.BadZipFile, KeyError, StopIteration, ValueError, IndexError, SyntaxError) as error:
        raise ValueError(f"not a readable .xlsx workbook: {error}") from error
