"""The child process that reads uploaded files (run by path by ``uploads.parse``; imports nothing of
quizapp, so it starts in a few tens of milliseconds).

It limits its own address space and CPU time before it reads a byte of the input, so a parser that
allocates without bound (a spreadsheet claiming a cell at XFD1048576 makes calamine ask for 512 GiB),
loops, or crashes takes down this process only. The parent sees the exit status and says so.

Protocol: stdin carries one JSON line ``{"limits": {...}, "files": [{"kind", "size", "options"}]}``
followed by the files' bytes back to back; stdout carries one pickle of a list with, per file,
``("ok", value)`` or ``("refused", row, message)``. Only plain values, dates and times are pickled;
the parent unpickles with an allow-list.
"""

from __future__ import annotations

import csv
import io
import json
import os
import pickle
import re
import sys
import zipfile

# ---------------------------------------------------------------------------------------------
# Limits


def _apply_limits(limits: dict) -> None:
    try:
        import resource
    except ImportError:  # Windows: the parent's time limit still holds
        return
    memory = int(limits["memory_bytes"])
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    seconds = int(limits["seconds"]) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds))


class Refused(Exception):
    def __init__(self, message: str, row: str = ""):
        super().__init__(message)
        self.message = message
        self.row = row


# ---------------------------------------------------------------------------------------------
# Text formats


def decode_text(data: bytes) -> str:
    """As Excel saves text: UTF-8 (with or without BOM), else GBK/GB18030."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise Refused("无法识别文件编码（请保存为 UTF-8 或 GBK 编码）")


MAX_NESTING = 64  # a bank file nests four or five levels; a result deeper than this is refused


def _shallow(value):
    """The value, if it nests mappings and lists at most MAX_NESTING deep (checked without
    recursion: a deep document must not exhaust this process's stack, nor pickle's)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > MAX_NESTING:
                raise Refused(f"嵌套超过 {MAX_NESTING} 层，不是题库文件")
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return value


def read_yaml(data: bytes, options: dict, limits: dict):
    """Every YAML document, each mapping marked with the line it starts on (``__line__``).

    Aliases are refused before anything is built: a few hundred bytes of nested aliases expand to
    gigabytes in whatever walks the result (the "billion laughs" of YAML)."""
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class LineLoader(base):
        def construct_mapping(self, node, deep=False):
            mapping = super().construct_mapping(node, deep=deep)
            mapping["__line__"] = node.start_mark.line + 1
            return mapping

    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Refused("文件不是 UTF-8 编码") from None
    try:
        for event in yaml.parse(text, Loader=base):
            if isinstance(event, yaml.AliasEvent):
                raise Refused("不支持 YAML 别名（*引用），请直接写出内容", f"第{event.start_mark.line + 1}行")
        return _shallow(list(yaml.load_all(text, Loader=LineLoader)))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        row = f"第{mark.line + 1}行" if mark else ""
        raise Refused(f"YAML 格式错误：{getattr(exc, 'problem', None) or exc}", row) from None
    except (ValueError, RecursionError, OverflowError):  # a value Python cannot build, or deep nesting
        raise Refused("YAML 格式错误：含有无法读取的值（如超长数字、无效日期）或嵌套过深") from None


def read_json(data: bytes, options: dict, limits: dict):
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Refused("文件不是 UTF-8 编码") from None
    try:
        return _shallow(json.loads(text))
    except json.JSONDecodeError as exc:
        raise Refused(f"JSON 格式错误：{exc.msg}", f"第{exc.lineno}行") from None
    except (ValueError, RecursionError):  # an integer over Python's 4300 digits, or deep nesting
        raise Refused("JSON 格式错误：含有超长数字或嵌套过深") from None


def read_csv(data: bytes, options: dict, limits: dict):
    """``[(line number, [cells…]), …]``; at most the sheet row and column limits."""
    try:
        text = decode_text(data)
    except Refused:
        raise Refused("无法识别文件编码（请保存为 UTF-8 或 GBK 编码的 CSV）") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    rows = []
    try:
        for row in reader:
            if len(rows) >= limits["sheet_rows"]:
                raise Refused(f"文件超过 {limits['sheet_rows']:,} 行的上限", f"第{reader.line_num}行")
            if len(row) > limits["sheet_columns"]:
                raise Refused(
                    f"有 {len(row)} 列，超过 {limits['sheet_columns']} 列的上限", f"第{reader.line_num}行"
                )
            rows.append((reader.line_num, row))
    except csv.Error as exc:
        raise Refused(f"CSV 格式错误：{exc}", f"第{reader.line_num}行") from None
    return rows


# ---------------------------------------------------------------------------------------------
# .xlsx: the package and the sheet are measured before calamine reads them

_SHEET = re.compile(rb'<sheet\b[^>]*?\bname="([^"]*)"[^>]*?\br:id="([^"]+)"')
_SHEET_ID_FIRST = re.compile(rb'<sheet\b[^>]*?\br:id="([^"]+)"[^>]*?\bname="([^"]*)"')
_RELATION = re.compile(rb'<Relationship\b[^>]*?\bId="([^"]+)"[^>]*?\bTarget="([^"]+)"')
_RELATION_TARGET_FIRST = re.compile(rb'<Relationship\b[^>]*?\bTarget="([^"]+)"[^>]*?\bId="([^"]+)"')
_DIMENSION = re.compile(rb'<dimension\s+ref="([A-Z]{0,3})(\d{0,7}):?([A-Z]{0,3})(\d{0,7})"')
# A cell with content (<c …>…</c>); styled empty cells (<c …/>, <c …></c>) do not extend the sheet.
_FILLED_CELL = re.compile(rb'<c\s+r="([A-Z]{1,3})(\d{1,7})"[^>/]*>(?!</c>)')
_FILLED_CELL_ANY_ORDER = re.compile(rb'<c\b[^>/]*?\sr="([A-Z]{1,3})(\d{1,7})"[^>/]*>(?!</c>)')


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def _column_letters(number: int) -> str:
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _sheet_parts(archive: zipfile.ZipFile) -> list[tuple[str, str]]:
    """(name, part path) of every worksheet, in workbook order."""
    workbook, links = archive.read("xl/workbook.xml"), archive.read("xl/_rels/workbook.xml.rels")
    relations = {rid: target for target, rid in _RELATION_TARGET_FIRST.findall(links)}
    relations.update(_RELATION.findall(links))
    sheets = _SHEET.findall(workbook) or [(name, rid) for rid, name in _SHEET_ID_FIRST.findall(workbook)]
    parts = []
    for name, rid in sheets:
        target = relations.get(rid, b"").decode("utf-8", "replace")
        path = target.lstrip("/") if target.startswith("/") else "xl/" + target
        parts.append((name.decode("utf-8", "replace"), path))
    return parts


def _check_sheet(name: str, xml: bytes, limits: dict) -> None:
    rows_limit, columns_limit, cells_limit = (
        limits["sheet_rows"],
        limits["sheet_columns"],
        limits["sheet_cells"],
    )

    def over(rows: int, columns: int) -> bool:
        return rows > rows_limit or columns > columns_limit or rows * columns > cells_limit

    limit_text = f"上限 {rows_limit:,} 行、{columns_limit} 列、{cells_limit:,} 个单元格"
    declared = _DIMENSION.search(xml, 0, 4096)
    if declared:
        last_column = declared.group(3) or declared.group(1)
        last_row = declared.group(4) or declared.group(2)
        rows, columns = int(last_row or 1), _column_number(last_column or b"A")
        if over(rows, columns):
            ref = b":".join(filter(None, [declared.group(1) + declared.group(2), last_column + last_row]))
            raise Refused(
                f"工作表“{name}”声明的数据范围为 {ref.decode()}（{rows:,} 行 × {columns:,} 列），超过{limit_text}；"
                "请删除多余的行和列（或把有内容的部分复制到新工作簿）后重试"
            )
    max_row = max_column = 0
    pattern = _FILLED_CELL if b"<c r=" in xml[:65536] else _FILLED_CELL_ANY_ORDER
    for letters, number in pattern.findall(xml):
        max_row = max(max_row, int(number))
        max_column = max(max_column, _column_number(letters))
    if over(max_row, max_column):
        raise Refused(
            f"工作表“{name}”有内容的单元格延伸到第 {max_row:,} 行、{_column_letters(max_column)} 列，"
            f"超过{limit_text}；请删除多余的内容后重试"
        )


def read_xlsx(data: bytes, options: dict, limits: dict):
    """``[(row number, [cells…]), …]`` of the sheet named ``options["sheet"]`` if there is one, else
    the first: cell values as openpyxl's ``values_only`` gives them (None for empty, whole numbers
    as int)."""
    unreadable = "无法读取 .xlsx 文件（文件损坏或不是 Excel 2007+ 格式）"
    archive = _measured(data, limits, unreadable, "（疑似压缩炸弹，或表格过大：请拆分后分批导入）")
    try:
        parts = _sheet_parts(archive)
        if not parts:
            raise Refused(unreadable)
        wanted = options.get("sheet")
        index = next((i for i, (name, _) in enumerate(parts) if name == wanted), 0)
        name, part = parts[index]
        # zipfile stops at the declared size and checks the CRC: a member that lies about its size
        # is an error here, never more bytes than the limit above.
        _check_sheet(name, archive.read(part), limits)
    except (KeyError, zipfile.BadZipFile, EOFError, ValueError, OSError, NotImplementedError):
        raise Refused(unreadable) from None

    from python_calamine import CalamineWorkbook

    try:
        sheet = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_name(name)
        rows = sheet.to_python(skip_empty_area=False)
    except Exception:  # noqa: BLE001 - calamine raises its own error types for a damaged file
        raise Refused(unreadable) from None
    return [(number, [_cell(value) for value in row]) for number, row in enumerate(rows, 1)]


def _cell(value):
    if value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# ---------------------------------------------------------------------------------------------
# Word (.docx), plain text (GIFT, Aiken, policy documents) and Moodle XML

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Word 97-2003 .doc, Excel .xls


def _package(data: bytes, limits: dict, what: str) -> zipfile.ZipFile:
    """An Office package measured before anything in it is parsed (member count, unpacked size)."""
    if data[:8] == OLE_MAGIC:
        raise Refused(
            f"这是旧版 Office 97-2003 文件（.doc/.xls），不是 {what}；请在 Office 中“另存为” {what} 后重试"
        )
    return _measured(
        data, limits, f"无法读取：文件损坏，或不是 {what} 文件", "（疑似压缩炸弹）；请检查文件后重试"
    )


def _measured(data: bytes, limits: dict, unreadable: str, too_big: str) -> zipfile.ZipFile:
    """A zip package whose member count and unpacked size are within the limits (read from its
    directory: nothing is unpacked)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError):
        raise Refused(unreadable) from None
    if len(members) > limits["zip_members"]:
        raise Refused(f"文件内含 {len(members):,} 个部件，超过 {limits['zip_members']} 个的上限")
    unpacked = sum(member.file_size for member in members)
    if unpacked > limits["uncompressed_bytes"]:
        raise Refused(
            f"文件解压后有 {unpacked / 2**20:,.0f} MB，超过 {limits['uncompressed_bytes'] / 2**20:,.0f} MB 的上限"
            + too_big
        )
    return archive


def read_docx(data: bytes, options: dict, limits: dict) -> list[str]:
    """The document's paragraphs in reading order, a table's cells one paragraph each (their own
    paragraphs joined by line breaks)."""
    archive = _package(data, limits, "Word 文档（.docx）")
    names = set(archive.namelist())
    if "word/document.xml" not in names:
        if "xl/workbook.xml" in names:
            raise Refused("这是 Excel 工作簿（.xlsx）改成了 .docx 扩展名；请把扩展名改回 .xlsx 后按表格导入")
        if "ppt/presentation.xml" in names:
            raise Refused("这是 PowerPoint 演示文稿，不是 Word 文档（.docx）")
        raise Refused("不是 Word 文档（.docx）：文件中没有正文部分")
    try:
        archive.read("word/document.xml")  # the CRC and the declared size are checked here
        import docx
        from docx.table import Table
        from docx.text.paragraph import Paragraph

        document = docx.Document(io.BytesIO(data))
        paragraphs: list[str] = []
        for block in document.element.body.iterchildren():
            tag = block.tag.rsplit("}", 1)[-1]
            if tag == "p":
                paragraphs.append(Paragraph(block, document).text)
            elif tag == "tbl":
                for row in Table(block, document).rows:
                    seen = set()
                    for cell in row.cells:
                        if id(cell._tc) not in seen:  # a merged cell repeats across the row
                            seen.add(id(cell._tc))
                            paragraphs.extend(p.text for p in cell.paragraphs)
            if len(paragraphs) > limits["sheet_rows"]:
                raise Refused(f"文档超过 {limits['sheet_rows']:,} 段的上限")
    except Refused:
        raise
    except Exception:  # noqa: BLE001 - python-docx and lxml raise many kinds for a damaged package
        raise Refused("无法读取 Word 文档（文件损坏，或不是 Word 2007+ 的 .docx 格式）") from None
    return paragraphs


def read_text(data: bytes, options: dict, limits: dict) -> str:
    """Plain text as people save it: UTF-8 (with or without BOM), else GBK/GB18030."""
    if data[:8] == OLE_MAGIC or data[:2] == b"PK":
        raise Refused("这不是纯文本文件（看起来是 Word/Excel 文件改了扩展名）")
    if b"\x00" in data[:4096]:
        raise Refused("这不是纯文本文件（含有二进制内容；UTF-16 文本请另存为 UTF-8）")
    text = decode_text(data).replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise Refused("文件为空")
    return text


def read_pdf(data: bytes, options: dict, limits: dict) -> str:
    """The text of a PDF's pages (a scanned PDF has none: said so). pypdf caps what one stream may
    inflate to; the page count and the text are capped here, the memory and time by the child."""
    if not data.startswith(b"%PDF-"):
        raise Refused("不是 PDF 文件（文件开头没有 %PDF 标记）")
    try:
        from pypdf import PdfReader

        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise Refused("PDF 已加密，无法读取正文；请先去除密码保护")
        if len(reader.pages) > limits["pdf_pages"]:
            raise Refused(f"PDF 有 {len(reader.pages):,} 页，超过 {limits['pdf_pages']:,} 页的上限")
        pages, size = [], 0
        for page in reader.pages:
            pages.append(page.extract_text() or "")
            size += len(pages[-1])
            if size > limits["uncompressed_bytes"] // 4:
                raise Refused("PDF 的正文过长，超过上限")
    except Refused:
        raise
    except Exception:  # noqa: BLE001 - pypdf raises many kinds for a damaged file
        raise Refused("无法读取 PDF 文件（文件损坏或格式不受支持）") from None
    text = "\n".join(pages)
    if not text.strip():
        raise Refused("PDF 中没有可提取的文字（可能是扫描件）；请上传文字版 PDF、Word 或文本文件")
    return text


def read_moodle_xml(data: bytes, options: dict, limits: dict) -> list[dict]:
    """Moodle XML questions as plain dicts, read by lxml with no DTD, no entities, no network: a
    file that declares a DOCTYPE (the carrier of entity bombs and external entities) is refused."""
    from lxml import etree

    head = data[:65536].lstrip()
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise Refused("Moodle XML 不应含有 DOCTYPE 或实体声明（出于安全原因拒绝读取）")
    if head[:2] == b"PK" or data[:8] == OLE_MAGIC:
        raise Refused("这不是 XML 文件（看起来是 Office 文件改了扩展名）")
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_comments=False
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        line = exc.lineno or (exc.position[0] if exc.position else 0)
        raise Refused(f"XML 格式错误：{exc.msg}", f"第{line}行" if line else "") from None
    if root.tag != "quiz":
        raise Refused("不是 Moodle XML 题目文件（根元素应为 <quiz>）", f"第{root.sourceline}行")

    def text_of(element, path: str) -> str | None:
        found = element.find(path)
        return None if found is None else "".join(found.itertext())

    questions = []
    for element in root.iterchildren():
        if not isinstance(element.tag, str):
            continue
        if element.tag != "question":
            raise Refused(f"<quiz> 下只能有 <question>，这里是 <{element.tag}>", f"第{element.sourceline}行")
        meta = None
        for child in element.iterchildren():
            if child.tag is etree.Comment and (child.text or "").strip().startswith("quizapp "):
                meta = child.text.strip()[len("quizapp ") :]
        entry = {
            "line": element.sourceline,
            "type": element.get("type") or "",
            "name": text_of(element, "name/text"),
            "text": text_of(element, "questiontext/text"),
            "format": (
                element.find("questiontext").get("format")
                if element.find("questiontext") is not None
                else None
            ),
            "feedback": text_of(element, "generalfeedback/text"),
            "graderinfo": text_of(element, "graderinfo/text"),  # an essay's model answer and rubric
            "graderinfo_format": (
                element.find("graderinfo").get("format") if element.find("graderinfo") is not None else None
            ),
            "single": text_of(element, "single"),
            "category": text_of(element, "category/text"),
            "tags": [("".join(t.itertext())) for t in element.findall("tags/tag/text")],
            "answers": [
                {
                    "fraction": answer.get("fraction") or "0",
                    "format": answer.get("format"),
                    "text": text_of(answer, "text") or "",
                    "tolerance": text_of(answer, "tolerance"),
                    "feedback": text_of(answer, "feedback/text"),
                }
                for answer in element.findall("answer")
            ],
            "units": [text_of(unit, "unit_name") for unit in element.findall("units/unit")],
            "meta": meta,
            "others": sorted(
                {child.tag for child in element.iterchildren() if isinstance(child.tag, str)}
                - {
                    "name",
                    "questiontext",
                    "generalfeedback",
                    "single",
                    "answer",
                    "category",
                    "tags",
                    "defaultgrade",
                    "penalty",
                    "hidden",
                    "idnumber",
                    "shuffleanswers",
                    "answernumbering",
                    "units",
                    "usecase",
                    "correctfeedback",
                    "partiallycorrectfeedback",
                    "incorrectfeedback",
                    "showstandardinstruction",
                    "unitgradingtype",
                    "unitpenalty",
                    "showunits",
                    "unitsleft",
                    "responseformat",
                    "responserequired",
                    "responsefieldlines",
                    "attachments",
                    "attachmentsrequired",
                    "graderinfo",
                    "responsetemplate",
                    "minwordlimit",
                    "maxwordlimit",
                    "maxbytes",
                    "filetypeslist",
                    "info",
                    "shownumcorrect",
                }
            ),
        }
        questions.append(entry)
    return questions


READERS = {
    "yaml": read_yaml,
    "json": read_json,
    "csv": read_csv,
    "xlsx": read_xlsx,
    "docx": read_docx,
    "text": read_text,
    "pdf": read_pdf,
    "moodlexml": read_moodle_xml,
}


def parse_request(stream) -> bytes:
    """Read one request from ``stream`` and parse its files: the pickled results."""
    request = json.loads(stream.readline())
    limits = request["limits"]
    _apply_limits(limits)
    results = []
    for entry in request["files"]:
        data = _read_exactly(stream, entry["size"])
        try:
            results.append(("ok", READERS[entry["kind"]](data, entry.get("options") or {}, limits)))
        except Refused as refusal:
            results.append(("refused", refusal.row, refusal.message))
        except MemoryError:
            results.append(("refused", "", "文件过大，读取时超出内存上限"))
        del data
    return pickle.dumps(results, protocol=pickle.HIGHEST_PROTOCOL)


def _read_exactly(stream, size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise EOFError("the request ended early")
    return data


def serve() -> None:
    """Stay up and fork a fresh child per request (``--serve``): the parse runs in the child, with
    the limits, so the per-file cost is a fork, not an interpreter start, and no request's parse
    shares a process with another's. This process reads requests and relays answers; it parses
    nothing itself.

    Request: the same JSON line and bytes as a one-shot run. Answer: a JSON line
    ``{"status": "ok" | "timeout" | "failed", "exit": …, "size": n}`` and n bytes of results."""
    import selectors
    import signal
    import time

    import python_calamine  # noqa: F401  (loaded once here, inherited by every child)
    import yaml  # noqa: F401

    try:  # Word and Moodle XML: loaded once too
        import docx  # noqa: F401
        from lxml import etree  # noqa: F401
    except ImportError:  # an install without python-docx still reads the other formats
        pass

    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while True:
        line = stdin.readline()
        if not line:
            return  # the app process has gone
        header = json.loads(line)
        payload = line + _read_exactly(stdin, sum(entry["size"] for entry in header["files"]))
        reader, writer = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: parse, write, leave without running anything else
            os.close(reader)
            code = 1
            try:
                answer = parse_request(io.BufferedReader(io.BytesIO(payload)))
                with os.fdopen(writer, "wb") as out:
                    out.write(answer)
                code = 0
            finally:
                os._exit(code)
        os.close(writer)
        del payload
        chunks, status = [], "ok"
        deadline = time.monotonic() + header["limits"]["seconds"]
        with selectors.DefaultSelector() as selector:
            selector.register(reader, selectors.EVENT_READ)
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not selector.select(remaining):
                    os.kill(pid, signal.SIGKILL)
                    status = "timeout"
                    break
                chunk = os.read(reader, 1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
        os.close(reader)
        _, exit_status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(exit_status)
        if status == "ok" and code != 0:
            status = "failed"
        body = b"".join(chunks) if status == "ok" else b""
        stdout.write(json.dumps({"status": status, "exit": code, "size": len(body)}).encode() + b"\n")
        stdout.write(body)
        stdout.flush()


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        serve()
    else:
        sys.stdout.buffer.write(parse_request(sys.stdin.buffer))
        sys.stdout.buffer.flush()
