"""The bulk staff import (issue 8.3): initial passwords strong by entropy and cheaply hashed until the
forced change, set-based checking and writing (a fixed number of statements whatever the size),
.csv as well as .xlsx, the fast worksheet reader, and the benchmark's figure."""

from __future__ import annotations

import io
import zipfile

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from benchmarks.staff_import import staff_file, staff_import_figure
from quizapp.extensions import db
from quizapp.models import AuditLog, User
from quizapp.services import accounts, uploads
from quizapp.services.errors import InvalidInput

from .test_cli import staff_workbook

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def person(username, unit="C1X01", status=None, job="综合柜员", gender="女", birth_year=1990):
    return [username, f"{username}姓名", unit, "学员", "13800000000", job, gender, birth_year, "科员", status]


def test_initial_passwords_have_64_bits_and_a_cheap_hash_until_the_forced_change(app, org_tree, figures):
    assert accounts.INITIAL_PASSWORD_BITS >= 64
    generated = {accounts.random_password() for _ in range(2000)}
    assert len(generated) == 2000
    assert all(len(p) == 12 and p.isalnum() and not p.isalpha() and not p.isdigit() for p in generated)
    with app.app_context():
        result = accounts.import_staff(staff_workbook([person("new01"), person("new02")]), file_name="a.xlsx")
        db.session.commit()
        (_, _, password), _ = result.initial_passwords
        new01 = db.session.scalar(select(User).where(User.username == "new01"))
        assert new01.password_hash.startswith("pbkdf2:sha256:100$")
        assert new01.check_password(password) and not new01.check_password(password + "x")
        assert new01.must_change_password
        chosen = db.session.scalar(select(User.password_hash).where(User.username == "astaff"))
        assert chosen.startswith("scrypt:")  # a password a person chose keeps the strong default
    client = app.test_client()
    assert client.post("/login", data={"username": "new01", "password": password}).location == "/password"
    assert client.get("/").location == "/password"  # nothing else until the change
    changed = client.post(
        "/password", data={"current": password, "new": "Mine2026ok", "confirm": "Mine2026ok"}
    )
    assert changed.status_code == 302 and client.get("/").status_code == 200
    with app.app_context():
        new01 = db.session.scalar(select(User).where(User.username == "new01"))
        assert new01.password_hash.startswith("scrypt:")  # the strong default replaced the cheap hash
        assert not new01.must_change_password and not new01.check_password(password)
    figures.put("staff import", "initial password bits", round(accounts.INITIAL_PASSWORD_BITS, 1))


def import_counted(app, count_queries, rows) -> tuple[int, accounts.StaffImportResult]:
    with app.app_context():
        data = staff_workbook(rows)
        with count_queries() as counted:
            result = accounts.import_staff(data, file_name="staff.xlsx")
        db.session.commit()
    return counted.count, result


@pytest.mark.parametrize("backend", BACKENDS)
def test_import_statements_do_not_grow_with_the_rows(backend, app, org_tree, count_queries, monkeypatch):
    """2 people or 300 (creates, updates, deactivations, reactivations): the same statements."""
    monkeypatch.setattr(accounts, "CHUNK", 1000)
    small, _ = import_counted(app, count_queries, [person("s01"), person("s02", status="停用")])
    small_again, result = import_counted(
        app, count_queries, [person("s01", job="窗口"), person("s02"), person("s03")]
    )
    assert (result.created, result.updated, result.deactivated) == (1, 2, 0)  # s02 reactivated
    rows = [person(f"m{n:03d}") for n in range(150)]
    many, _ = import_counted(app, count_queries, rows)
    rows = [person(f"m{n:03d}", job="窗口") for n in range(100)]
    rows += [person(f"m{n:03d}", status="停用") for n in range(100, 150)]
    rows += [person(f"n{n:03d}", unit="C2X01") for n in range(150)]
    many_again, result = import_counted(app, count_queries, rows)
    assert (result.created, result.updated, result.deactivated) == (150, 100, 50)
    assert small == many and small_again == many_again <= 6, (small, many, small_again, many_again)


def test_chunked_writes_keep_every_row_and_sign_out_the_deactivated(app, org_tree, monkeypatch):
    monkeypatch.setattr(accounts, "CHUNK", 7)  # many chunks, and partial ones
    with app.app_context():
        accounts.import_staff(staff_workbook([person(f"k{n:02d}") for n in range(40)]), file_name="a.xlsx")
        db.session.commit()
        before = dict(db.session.execute(select(User.username, User.session_version)).all())
        rows = [person(f"k{n:02d}", unit="C2X01", gender="男", birth_year=1980 + n) for n in range(20)]
        rows += [person(f"k{n:02d}", status="停用") for n in range(20, 30)]
        rows += [person(f"k{n:02d}") for n in range(30, 40)]  # unchanged
        rows.append(["astaff", "甲员工", "C1X01", "单位管理员", None, None, None, None, None, None])
        result = accounts.import_staff(staff_workbook(rows), file_name="b.xlsx", actor_id=None)
        db.session.commit()
        assert (result.created, result.updated, result.deactivated) == (0, 21, 10)
        people = {u.username: u for u in db.session.scalars(select(User))}
        for n in range(20):
            user = people[f"k{n:02d}"]
            assert (user.unit.code, user.gender, user.birth_year, user.active) == (
                "C2X01",
                "男",
                1980 + n,
                True,
            )
        for n in range(20, 30):
            user = people[f"k{n:02d}"]
            assert not user.active and user.session_version == before[user.username] + 1
        assert all(people[f"k{n:02d}"].session_version == before[f"k{n:02d}"] for n in range(30, 40))
        assert people["astaff"].role == "unit_admin" and people["astaff"].phone is None
        logged = select(AuditLog.after).where(AuditLog.action == "user.import").order_by(AuditLog.id.desc())
        assert db.session.scalar(logged.limit(1)) == {"created": 0, "updated": 21, "deactivated": 10}


def test_csv_in_utf8_or_gbk_through_the_wizard(login_as, app, org_tree):
    header = "登录名,姓名,单位编码,角色,手机,岗位,性别,出生年份,职级,状态\n"
    body = "csv01,陈一,C1X01,学员,13800000001,社会保险经办,男,1988,科员,\ncsv02,陈二,C1X01,,,,女,,,\n"
    with app.app_context():
        for encoding in ("utf-8-sig", "gb18030"):
            parsed = accounts.check_staff_import((header + body).encode(encoding), file_name="人员.csv")
            assert [(v["username"], v["name"], v.get("birth_year")) for v, *_ in parsed] == [
                ("csv01", "陈一", "1988"),
                ("csv02", "陈二", ""),
            ]
        with pytest.raises(InvalidInput) as bad:
            accounts.check_staff_import((header + "x y,,NOPE,,,,,,,\n").encode(), file_name="bad.csv")
        assert {p.field for p in bad.value.problems} == {"登录名", "姓名", "单位编码"}
    root = login_as("root")
    preview = root.post(
        "/admin/staff/import",
        data={"file": (io.BytesIO((header + body).encode("gb18030")), "人员.csv")},
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    assert "新增 <b>2</b> 人" in preview
    token = preview.split("/admin/staff/import/")[1].split('"')[0]
    done = root.post(f"/admin/staff/import/{token}")
    sheet = load_workbook(io.BytesIO(done.data)).active
    assert [r[:2] for r in sheet.iter_rows(min_row=2, values_only=True)] == [
        ("csv01", "陈一"),
        ("csv02", "陈二"),
    ]
    with app.app_context():
        assert db.session.scalar(select(User.birth_year).where(User.username == "csv01")) == 1988


def openpyxl_rows(data: bytes) -> list[tuple]:
    workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    rows = [tuple(row) for row in workbook.worksheets[0].iter_rows(values_only=True)]
    workbook.close()
    return rows


def trimmed(rows):
    """Rows without trailing empty cells (openpyxl pads every row to the sheet's width), and without
    trailing empty rows (a formula cell with no cached value is empty to both readers)."""
    out = []
    for row in rows:
        row = list(row)
        while row and row[-1] is None:
            row.pop()
        out.append(tuple(row))
    while out and not out[-1]:
        out.pop()
    return out


def sheet_rows(data: bytes) -> list[tuple]:
    """The first sheet's rows as the upload parser's child process reads them."""
    return [tuple(cells) for _, cells in uploads.parse_one("xlsx", data)]


def test_fast_reader_reads_what_openpyxl_reads(app):
    workbook = Workbook()
    first = workbook.active
    first.title = "人员"
    first.append(["登录名", "姓名", "出生年份", "在职", "备注"])
    first.append(["a01", "张三", 1990, True, "含 <尖括号> & 符号"])
    first.append([None, "李四", 1.5, False, None])
    first["A6"] = "after a gap"
    first["AB6"] = 42
    first["C7"] = "=1+1"  # a formula: no cached value in a file openpyxl wrote
    workbook.create_sheet("其他").append(["not", "this", "sheet"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    data = buffer.getvalue()
    assert trimmed(sheet_rows(data)) == trimmed(openpyxl_rows(data))
    assert sheet_rows(data)[5][27] == 42

    # What Excel writes: shared strings (with rich-text runs and phonetic hints), cells without t.
    shared = excel_like_workbook()
    assert sheet_rows(shared) == [("登录名", "姓名", "出生年份"), ("x01", "王五", 1985)]
    assert trimmed(openpyxl_rows(shared)) == sheet_rows(shared)
    generated = staff_file(["W1", "W2"], 50, "g", "xlsx")
    assert trimmed(sheet_rows(generated)) == trimmed(openpyxl_rows(generated))
    for garbage in (b"not a zip", b"PK\x03\x04broken", zip_of({"xl/workbook.xml": "<oops"})):
        with pytest.raises(uploads.UploadRefused, match="无法读取 .xlsx 文件"):
            sheet_rows(garbage)


def zip_of(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def excel_like_workbook() -> bytes:
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    return zip_of(
        {
            "[Content_Types].xml": (
                '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                '<Default Extension="xml" ContentType="application/xml"/>'
                '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
                '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
                "</Types>"
            ),
            "_rels/.rels": (
                '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
            ),
            "xl/workbook.xml": (
                f'<workbook xmlns="{main}" xmlns:r="{rel}"><sheets>'
                '<sheet name="人员" sheetId="1" r:id="rId1"/></sheets></workbook>'
            ),
            "xl/_rels/workbook.xml.rels": (
                '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/>'
                f'<Relationship Id="rId2" Type="{rel}/sharedStrings" Target="sharedStrings.xml"/>'
                "</Relationships>"
            ),
            "xl/sharedStrings.xml": (
                f'<sst xmlns="{main}" count="5" uniqueCount="5">'
                "<si><t>登录名</t></si><si><t>姓名</t></si><si><t>出生年份</t></si><si><t>x01</t></si>"
                '<si><r><t>王</t></r><r><rPr><b/></rPr><t>五</t></r><rPh sb="0" eb="1"><t>wang</t></rPh></si>'
                "</sst>"
            ),
            "xl/worksheets/sheet1.xml": (
                f'<worksheet xmlns="{main}"><sheetData>'
                '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c></row>'
                '<row r="2"><c r="A2" t="s"><v>3</v></c><c r="B2" t="s"><v>4</v></c><c r="C2"><v>1985</v></c></row>'
                "</sheetData></worksheet>"
            ),
        }
    )


def test_benchmark_figure_imports_and_cleans_up(app, org_tree, figures):
    with app.app_context():
        before = db.session.scalar(select(func.count(User.id)))
    seconds = staff_import_figure(app, 300)
    csv_seconds = staff_import_figure(app, 300, "csv")
    assert 0 < seconds < 60 and 0 < csv_seconds < 60
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == before
    figures.put("staff import", "300 rows from .xlsx (s)", round(seconds, 2))
    figures.put("staff import", "300 rows from .csv (s)", round(csv_seconds, 2))
