"""Hostile spreadsheets, built in the tests: small files that claim or unpack to something huge."""

from __future__ import annotations

import io
import zipfile

CONTENT_TYPES = (
    b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
    b'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    b'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/'
    b'workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"'
    b'/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
    b'officedocument.spreadsheetml.worksheet+xml"/></Types>'
)
RELS = (
    b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
    b'2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
    b'2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
WORKBOOK = (
    b'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
    b'2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
    b'<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
    b'2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
    b'2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
)
SHEET_START = (
    b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
    b'spreadsheetml/2006/main">'
)
STAFF_HEADER = ["登录名", "姓名", "单位编码"]


def _cell(ref: str, text: str) -> bytes:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'.encode()


def _header_row() -> bytes:
    return (
        b'<row r="1">'
        + b"".join(_cell(f"{c}1", t) for c, t in zip("ABC", STAFF_HEADER, strict=True))
        + b"</row>"
    )


def _package(sheet_chunks) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            for chunk in sheet_chunks:
                sheet.write(chunk)
    return buffer.getvalue()


def far_cell(declare: bool = True) -> bytes:
    """About 1.6 KB: a staff header and one cell at XFD1048576 (calamine would allocate 512 GiB)."""
    dimension = b'<dimension ref="A1:XFD1048576"/>' if declare else b""
    return _package(
        [
            SHEET_START,
            dimension,
            b"<sheetData>",
            _header_row(),
            b'<row r="1048576">',
            _cell("XFD1048576", "x"),
            b"</row></sheetData></worksheet>",
        ]
    )


def zip_bomb(megabytes: int = 500) -> bytes:
    """About 0.5 MB holding ``megabytes`` MB of sheet XML (a comment of one repeated letter)."""

    def chunks():
        yield SHEET_START + b"<sheetData>" + _header_row()
        block = b"<!--" + b"B" * (1 << 20) + b"-->"
        for _ in range(megabytes):
            yield block
        yield b"</sheetData></worksheet>"

    return _package(chunks())


def empty_formatted_rows(count: int = 1_000_000, declared_rows: int | None = None) -> bytes:
    """A staff header, then ``count`` rows that hold only a styled empty cell (as formatting a whole
    column can leave behind); ``declared_rows``: the row count its <dimension> claims."""

    def chunks():
        yield SHEET_START
        if declared_rows:
            yield f'<dimension ref="A1:C{declared_rows}"/>'.encode()
        yield b"<sheetData>" + _header_row()
        for start in range(2, count + 2, 10000):
            yield b"".join(
                f'<row r="{i}" s="1" customFormat="1"><c r="A{i}" s="1"/></row>'.encode()
                for i in range(start, min(start + 10000, count + 2))
            )
        yield b"</sheetData></worksheet>"

    return _package(chunks())


def yaml_alias_bomb(levels: int = 9) -> bytes:
    """About 700 bytes of nested aliases that expand to 9**levels strings."""
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, levels):
        refs = ", ".join([f"*a{level - 1}"] * 9)
        lines.append(f"a{level}: &a{level} [{refs}]")
    lines.append(f"source: {{id: bomb}}\nquestions: [*a{levels - 1}]")
    return "\n".join(lines).encode()
