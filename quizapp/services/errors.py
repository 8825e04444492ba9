"""Domain errors. Blueprints turn them into pages or JSON errors; the CLI into messages and exit codes."""

from __future__ import annotations

from dataclasses import dataclass


class DomainError(Exception):
    """A rule refused the operation. ``message`` is shown to the user (Chinese)."""

    code = "invalid"
    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    code = "not_found"
    status = 404


class PermissionDenied(DomainError):
    code = "forbidden"
    status = 403


class Conflict(DomainError):
    code = "conflict"
    status = 409


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one row of an input file."""

    file: str
    row: str  # human locator: "第12行", "第3题（第40行）"
    field: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file} {self.row}" if self.file else self.row
        return f"{where} [{self.field}] {self.message}" if self.field else f"{where} {self.message}"

    def as_dict(self) -> dict:
        return {"file": self.file, "row": self.row, "field": self.field, "message": self.message}


class InvalidInput(DomainError):
    """Validation failed; nothing was written. Carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem], message: str | None = None):
        super().__init__(message or f"发现 {len(problems)} 处错误，未写入任何数据")
        self.problems = problems
