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
            "（疑似压缩炸弹，或表格过大：请拆分后分批导入）"
        )
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


READERS = {"yaml": read_yaml, "json": read_json, "csv": read_csv, "xlsx": read_xlsx}


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
