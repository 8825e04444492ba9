"""Time the staff import (check + apply + commit) of a generated file into the benchmark org's units.

    python -m benchmarks.staff_import --rows 100000 [--format xlsx|csv] [--database-url URL]

Build the organisation first (``python -m benchmarks.make_org``): the generated people are spread
over its existing units. Generating the file is not timed; reading, validating, hashing the initial
passwords, inserting and committing are. The imported accounts are deleted afterwards, so the
benchmark organisation is left as it was.
"""

from __future__ import annotations

import argparse
import csv
import io
import secrets
import time

from flask_migrate import upgrade
from openpyxl import Workbook
from sqlalchemy import delete, func, select

from quizapp.extensions import db
from quizapp.models import Unit, User
from quizapp.services import accounts

from .common import app_for


def staff_file(unit_codes: list[str], rows: int, prefix: str, file_format: str = "xlsx") -> bytes:
    """A staff workbook (or UTF-8 CSV) of ``rows`` new people, spread round-robin over the units."""
    header = list(accounts.STAFF_COLUMNS)
    body = (
        [
            f"{prefix}{n}",
            f"导入员工{n}",
            unit_codes[n % len(unit_codes)],
            "学员",
            f"138{n:08d}",
            ("社会保险经办", "就业创业服务", "劳动关系协调")[n % 3],
            "男女"[n % 2],
            1965 + n % 35,
            "科员",
            "在职",
        ]
        for n in range(rows)
    )
    if file_format == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(header)
        writer.writerows(body)
        return buffer.getvalue().encode("utf-8-sig")
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("人员")
    sheet.append(header)
    for row in body:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def staff_import_figure(app, rows: int, file_format: str = "xlsx") -> float:
    """Seconds to check and apply (and commit) an import of ``rows`` new staff."""
    prefix = f"imp{secrets.token_hex(3)}_"
    with app.app_context():
        unit_codes = list(db.session.scalars(select(Unit.code).where(Unit.active).order_by(Unit.id)))
        if not unit_codes:
            raise SystemExit("no units: build the organisation first (python -m benchmarks.make_org)")
        data = staff_file(unit_codes, rows, prefix, file_format)
        db.session.rollback()
        started = time.perf_counter()
        parsed = accounts.check_staff_import(data, file_name=f"staff.{file_format}")
        result = accounts.apply_staff_import(parsed)
        db.session.commit()
        seconds = time.perf_counter() - started
        assert result.created == rows and len(result.initial_passwords) == rows, result.created
        created = db.session.scalar(select(func.count(User.id)).where(User.username.startswith(prefix)))
        assert created == rows, created
        db.session.execute(delete(User).where(User.username.startswith(prefix)))
        db.session.commit()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100000)
    parser.add_argument("--format", choices=("xlsx", "csv"), default="xlsx")
    parser.add_argument("--database-url")
    args = parser.parse_args()
    app = app_for(args.database_url)
    with app.app_context():
        upgrade()
    seconds = staff_import_figure(app, args.rows, args.format)
    print(f"staff import: {args.rows} rows from .{args.format} (check + apply + commit): {seconds:.2f} s")


if __name__ == "__main__":
    main()
