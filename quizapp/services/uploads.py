"""Reading uploaded files where a parser cannot take the server down.

Every bank and staff file, in every format, is parsed by ``upload_child.py`` in a child process with
its own memory and CPU limits, under a wall-clock timeout kept here. Before a spreadsheet is read, the
child checks the package's unpacked size, the sheet's declared dimension and the extent of its filled
cells against ``UPLOAD_LIMITS``. A crash, a memory blow-up or an endless loop ends the child; the
request gets a clear refusal and every other request, and the in-process scheduler, carry on.
"""

from __future__ import annotations

import atexit
import datetime
import io
import json
import logging
import os
import pickle
import select
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from flask import current_app, has_app_context

from ..config import DefaultConfig

CHILD = Path(__file__).with_name("upload_child.py")
KINDS = {".yaml": "yaml", ".yml": "yaml", ".json": "json", ".csv": "csv", ".xlsx": "xlsx"}
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Refused:
    """A file the child would not or could not read: where (may be empty) and why, in Chinese."""

    row: str
    message: str


class UploadRefused(Exception):
    def __init__(self, refusal: Refused):
        super().__init__(refusal.message)
        self.row, self.message = refusal.row, refusal.message


def limits() -> dict:
    """``UPLOAD_LIMITS`` of the app over the defaults (instance config may set single keys)."""
    configured = current_app.config["UPLOAD_LIMITS"] if has_app_context() else {}
    return DefaultConfig.UPLOAD_LIMITS | configured


class _PlainValues(pickle.Unpickler):
    """What a parser can produce and nothing else: a child taken over by a hostile file cannot
    make this process call anything."""

    ALLOWED = {("datetime", name) for name in ("datetime", "date", "time", "timedelta", "timezone")}

    def find_class(self, module: str, name: str):
        if (module, name) in self.ALLOWED:
            return getattr(datetime, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not a plain value")


def parse(files: list[tuple[str, bytes, dict | None]], *, limit: dict | None = None) -> list:
    """Parse ``(kind, bytes, options)`` triples in one child; per file, its value or a ``Refused``.

    If the child dies (a crash, the memory or time limit) while reading several files, each is read
    again alone, so the refusal names the file that caused it.
    """
    if not files:
        return []
    limit = limit or limits()
    outcome = _run_child(files, limit)
    if not isinstance(outcome, Refused):
        return outcome
    if len(files) > 1:
        return [parse([file], limit=limit)[0] for file in files]
    return [outcome]


def parse_one(kind: str, data: bytes, **options):
    """One file's value; raises UploadRefused."""
    (result,) = parse([(kind, data, options)])
    if isinstance(result, Refused):
        raise UploadRefused(result)
    return result


def _failure(status: str, limit: dict) -> Refused:
    if status == "timeout":
        return Refused("", f"读取文件超时（上限 {limit['seconds']} 秒）；请拆分后分批导入")
    return Refused("", "文件无法安全读取（读取时超出内存上限，或文件结构异常）；请检查文件后重试")


def _run_child(files, limit: dict) -> list | Refused:
    header = {
        "limits": limit,
        "files": [
            {"kind": kind, "size": len(data), "options": options or {}} for kind, data, options in files
        ],
    }
    request = json.dumps(header).encode() + b"\n" + b"".join(data for _, data, _ in files)
    status, answer = (_PARSER.run if hasattr(os, "fork") else _run_once)(request, limit["seconds"])
    if status != "ok":
        logger.warning("upload parser: %s", status)
        return _failure(status, limit)
    try:
        results = _PlainValues(io.BytesIO(answer)).load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as error:
        logger.warning("upload parser sent an unreadable result: %s", error)
        return _failure("failed", limit)
    return [value if status == "ok" else Refused(value, rest[0]) for status, value, *rest in results]


def _command(*arguments: str) -> list[str]:
    # -P: the script's folder (services/, with modules named like the standard library's) stays off
    # sys.path.
    return [sys.executable, "-P", str(CHILD), *arguments]


def _run_once(request: bytes, seconds: float) -> tuple[str, bytes]:
    """Where there is no fork (Windows): one interpreter per request."""
    try:
        finished = subprocess.run(_command(), input=request, capture_output=True, timeout=seconds)
    except subprocess.TimeoutExpired:
        return "timeout", b""
    return ("ok" if finished.returncode == 0 else f"failed (exit {finished.returncode})"), finished.stdout


class _ForkingParser:
    """This process's ``upload_child.py --serve``, started on first use and again whenever it is
    found gone. One request at a time per app process (uploads are rare; a 100,000-row sheet
    takes about a second)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.process: subprocess.Popen | None = None

    def run(self, request: bytes, seconds: float) -> tuple[str, bytes]:
        with self.lock:
            for _ in range(2):  # a server that died since the last request is started again once
                try:
                    return self._exchange(request, seconds)
                except (OSError, ValueError, EOFError) as error:
                    logger.warning("upload parser server lost (%s); starting a new one", error)
                    self._stop()
            return "failed (parser server lost)", b""

    def _exchange(self, request: bytes, seconds: float) -> tuple[str, bytes]:
        if self.process is not None and self.process.poll() is not None:
            self._stop()  # it died between requests
        if self.process is None:
            self.process = subprocess.Popen(
                _command("--serve"), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
            )
        self.process.stdin.write(request)
        self.process.stdin.flush()
        # The server kills a child at ``seconds``; the margin only guards against the server itself.
        status, body = _receive(self.process.stdout.fileno(), time.monotonic() + seconds + 30)
        if status["status"] == "failed":
            return f"failed (exit {status['exit']})", body
        return status["status"], body

    def _stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            for stream in (self.process.stdin, self.process.stdout):
                stream.close()
            self.process = None


def _receive(descriptor: int, deadline: float) -> tuple[dict, bytes]:
    """The server's answer: a JSON status line, then ``size`` bytes."""
    buffer = bytearray()
    while b"\n" not in buffer:
        buffer += _chunk(descriptor, deadline)
    line, _, body = bytes(buffer).partition(b"\n")
    status = json.loads(line)
    body = bytearray(body)
    while len(body) < status["size"]:
        body += _chunk(descriptor, deadline)
    return status, bytes(body)


def _chunk(descriptor: int, deadline: float) -> bytes:
    if not select.select([descriptor], [], [], max(0.0, deadline - time.monotonic()))[0]:
        raise EOFError("no answer from the upload parser server")
    chunk = os.read(descriptor, 1 << 20)
    if not chunk:
        raise EOFError("the upload parser server closed its output")
    return chunk


_PARSER = _ForkingParser()
atexit.register(_PARSER._stop)
