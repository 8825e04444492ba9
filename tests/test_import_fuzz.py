"""Hypothesis on the importers: the question bank (YAML, JSON, CSV in UTF-8 and GBK, .xlsx) and the
staff workbook, fed generated rows — valid ones, random and odd Unicode, missing fields, wrong
types, huge values, mangled files.

The property: an import either reports problems and writes nothing, or imports every row; it
never raises anything but the service's InvalidInput. Through the admin upload wizards: never a
500, and nothing changes unless the preview was clean and confirmed.

Each service-level example rolls back, so every example starts from the same database; examples
are derandomized, so CI runs the same cases every time.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import re
from datetime import datetime

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from sqlalchemy import func, select

from quizapp.extensions import db
from quizapp.models import AuditLog, Question, QuestionVersion, Role, Source, User
from quizapp.services import accounts, bank_io, uploads
from quizapp.services.errors import InvalidInput

from .conftest import PASSWORD, ROOT

BANK = ROOT / "question_bank"
EXAMPLES = 60
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],  # the explain phase can crash
)
HUGE_INT = "9" * 5000  # over Python's 4300-digit limit for int(str)
HUGE_MARK = "__HUGE_INT__"  # replaced by HUGE_INT as a bare number after serialising
QUOTE = "用人单位应当自成立之日起三十日内凭营业执照、登记证书或者单位印章，向当地社会保险经办机构申请办理社会保险登记"
COMMON = {
    "source": "law_social_insurance",
    "category": "社会保险",
    "ability": "法规政策理解运用能力",
    "difficulty": 2,
    "explanation": "《社会保险法》第五十七条。",
    "locator": "第五十七条",
    "quote": QUOTE,
}
TEMPLATES = [
    COMMON
    | {
        "type": "single",
        "stem": "用人单位应当自成立之日起多少日内申请办理社会保险登记",
        "options": {"A": "十日", "B": "十五日", "C": "三十日", "D": "六十日"},
        "answer": "C",
    },
    COMMON
    | {
        "type": "multiple",
        "stem": "申请办理社会保险登记可以凭哪些材料",
        "options": {"A": "营业执照", "B": "身份证", "C": "登记证书", "D": "单位印章"},
        "answer": ["A", "C", "D"],
    },
    COMMON | {"type": "judge", "stem": "用人单位应当自成立之日起三十日内申请社会保险登记", "answer": True},
    COMMON
    | {
        "type": "fill",
        "stem": "用人单位应当自成立之日起____日内申请社会保险登记",
        "answer": [["三十", "30"]],
    },
]
FIELDS = ["source", "type", "category", "ability", "difficulty", "stem", "options", "answer"]
FIELDS += ["explanation", "locator", "quote"]
CJK = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5)

# Odd values: random and hostile text, wrong types, huge values.
JUNK = st.one_of(
    st.none(),
    st.text(max_size=20),
    st.text(st.characters(codec="utf-8"), max_size=12),
    st.sampled_from(
        ["", " ", "\x00", "a\x00b", "\ud800", "²", "١", "三", "0", "-1", "4", "1.5", "NaN", "__"]
    ),
    st.sampled_from(
        ["单选", "多选题", "判断", "填空", "true", "正确", "A", "AB", "A,B", "|;", "第一条", "第99段"]
    ),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.just(HUGE_MARK),
    st.just("长" * 3000),
    st.just("../../../../etc/hostname"),
    st.just("x" * 300),
    st.lists(st.one_of(st.text(max_size=4), st.integers(), st.none()), max_size=4),
    st.dictionaries(st.text(max_size=3), st.one_of(st.text(max_size=6), st.integers()), max_size=3),
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1)),
)


@st.composite
def bank_rows(draw) -> list[dict]:
    """1–5 questions; a clean file a third of the time, else some rows with fields dropped or
    replaced by odd values."""
    clean = draw(st.integers(0, 2)) == 0
    rows = []
    for _ in range(draw(st.integers(1, 5))):
        row = dict(draw(st.sampled_from(TEMPLATES)))
        row["stem"] += draw(st.text(CJK, max_size=4)) + "？"
        if not clean and draw(st.booleans()):
            for field in draw(st.lists(st.sampled_from(FIELDS + ["extra"]), min_size=1, max_size=3)):
                if draw(st.integers(0, 3)) == 0:
                    row.pop(field, None)
                else:
                    row[field] = draw(JUNK)
        rows.append(row)
    return rows


def _bare_huge(text: str) -> str:
    return text.replace(f'"{HUGE_MARK}"', HUGE_INT).replace(HUGE_MARK, HUGE_INT)


def _jsonable(value):
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    return value


def _tabular_cell(field: str, value):
    """A value as someone would type it into a spreadsheet cell."""
    if field == "answer" and isinstance(value, list):
        if value and all(isinstance(item, list) for item in value):
            return "；".join("|".join(map(str, blank)) for blank in value)
        return "".join(map(str, value))
    if field == "answer" and isinstance(value, bool):
        return "正确" if value else "错误"
    if isinstance(value, list | dict):
        return json.dumps(_jsonable(value), ensure_ascii=False)
    return value


def tabular(rows: list[dict], headers: str) -> list[list]:
    columns = [(name, header) for name, header in bank_io.COLUMNS]
    header = [name if headers == "english" else title for name, title in columns]
    table = [header]
    for row in rows:
        options = row.get("options")
        if isinstance(options, dict):
            cells = {str(key): text for key, text in options.items()}
        elif isinstance(options, list):
            cells = dict(zip("ABCDEF", options, strict=False))
        else:
            cells = {"A": options} if "options" in row else {}
        table.append(
            [cells.get(name) if len(name) == 1 else _tabular_cell(name, row.get(name)) for name, _ in columns]
        )
    return table


def same_bytes(render):
    """``render``, giving the same bytes for the same arguments every time: a workbook carries the
    moment it was saved, and Hypothesis replays a case expecting the very file it mangled before
    (a byte more or less makes the replay draw differently: a "flaky" failure, seen in CI)."""
    made: dict[str, object] = {}

    @functools.wraps(render)
    def again(*args):
        key = repr(args)
        if key not in made:
            made[key] = render(*args)
        return made[key]

    return again


@same_bytes
def render_bank(rows: list[dict], fmt: str, variant: str) -> tuple[str, bytes]:
    if fmt == "yaml":
        document = {"source": {"id": "law_social_insurance"}, "questions": rows}
        return "fuzz.yaml", _bare_huge(yaml.safe_dump(document, allow_unicode=True)).encode(
            "utf-8", "surrogatepass"
        )
    if fmt == "json":
        document = {"source": {"id": "law_social_insurance"}, "questions": _jsonable(rows)}
        text = json.dumps(document, ensure_ascii=variant == "ascii")
        return "fuzz.json", _bare_huge(text).encode("utf-8", "surrogatepass")
    table = tabular(rows, "english" if variant == "english" else "chinese")
    if fmt == "csv":
        buffer = io.StringIO()
        csv.writer(buffer).writerows(
            [["" if cell is None else _cell_text(cell) for cell in row] for row in table]
        )
        text = buffer.getvalue()
        if variant == "gbk":
            try:
                return "fuzz.csv", text.encode("gbk")
            except UnicodeEncodeError:
                return "fuzz.csv", text.encode("gb18030", "replace")
        return "fuzz.csv", text.encode("utf-8-sig" if variant == "bom" else "utf-8", "surrogatepass")
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "题目"
    for row in table:
        sheet.append([_xlsx_cell(cell) for cell in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return "fuzz.xlsx", buffer.getvalue()


def _cell_text(cell) -> str:
    return HUGE_INT if cell == HUGE_MARK else str(cell)


def _xlsx_cell(cell):
    if cell == HUGE_MARK:
        return HUGE_INT
    if isinstance(cell, str):
        return ILLEGAL_CHARACTERS_RE.sub("", cell.encode("utf-8", "replace").decode("utf-8"))
    if isinstance(cell, int) and not isinstance(cell, bool) and abs(cell) > 2**53:
        return str(cell)
    return cell


@st.composite
def mangled(draw, data: bytes) -> bytes:
    """Mostly the file as made; sometimes cut short or with a few bytes overwritten."""
    how = draw(st.sampled_from(["as is"] * 6 + ["cut", "flip"]))
    if how == "cut" and data:
        return data[: draw(st.integers(0, len(data) - 1))]
    if how == "flip" and data:
        raw = bytearray(data)
        for _ in range(draw(st.integers(1, 4))):
            raw[draw(st.integers(0, len(raw) - 1))] = draw(st.integers(0, 255))
        return bytes(raw)
    return data


def non_blank(rows: list[dict], fmt: str) -> int:
    """How many records the reader sees: every question in YAML/JSON; rows with a cell in a table."""
    if fmt in ("yaml", "json"):
        return len(rows)
    count = 0
    for row in tabular(rows, "chinese")[1:]:
        if any(cell is not None and str(cell).strip() != "" for cell in row):
            count += 1
    return count


def bank_counts() -> tuple[int, int, int, int]:
    return tuple(
        db.session.scalar(select(func.count()).select_from(model))
        for model in (Question, QuestionVersion, Source, AuditLog)
    )


FORMATS = [("yaml", "utf-8"), ("json", "utf-8"), ("json", "ascii"), ("csv", "utf-8"), ("csv", "bom")]
FORMATS += [("csv", "gbk"), ("csv", "english"), ("xlsx", "chinese")]


def check_bank_import(app, rows: list[dict], fmt: str, variant: str, content: bytes, name: str) -> str:
    """The property: refused with problems and nothing written, or every row imported."""
    with app.app_context():
        before = bank_counts()
        try:
            batch = bank_io.read_for_import([(name, content, None)], BANK)
            summary = bank_io.import_batch(batch, actor_id=None)
        except InvalidInput as error:
            assert error.problems and all(problem.message for problem in error.problems)
            assert bank_counts() == before  # nothing written, not even flushed
            return "refused"
        else:
            after = bank_counts()
            assert summary.added + summary.duplicates == len(batch.drafts) > 0
            if content == render_bank(rows, fmt, variant)[1]:
                assert len(batch.drafts) == non_blank(rows, fmt)  # every row, not some
            assert after[0] - before[0] == after[1] - before[1] == summary.added
            return "imported"
        finally:
            db.session.rollback()


@pytest.mark.parametrize(("fmt", "variant"), FORMATS, ids=[f"{f}-{v}" for f, v in FORMATS])
def test_bank_import_is_all_or_nothing(app, fmt, variant, figures):
    outcomes = {"imported": 0, "refused": 0}

    @FUZZ
    @given(rows=bank_rows(), data=st.data())
    def run(rows, data):
        name, content = render_bank(rows, fmt, variant)
        outcomes[check_bank_import(app, rows, fmt, variant, data.draw(mangled(content)), name)] += 1

    run()
    figures.count("import fuzz", f"bank {fmt}/{variant} cases", sum(outcomes.values()))
    figures.count("import fuzz", "bank imported", outcomes["imported"])
    figures.count("import fuzz", "bank refused", outcomes["refused"])
    assert outcomes["imported"] >= 5 and outcomes["refused"] >= 5  # both paths were exercised


NASTY = [None, "", "\x00", "a\x00b", "\ud800", "²", "١", "９", HUGE_MARK, "长" * 3000, "x" * 300]
NASTY += ["../../../../etc/hostname", "第五十七条" + "之" * 80, -1, 2.0, float("nan"), True, [], {"a": 1}]


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("fmt", "variant"), FORMATS, ids=[f"{f}-{v}" for f, v in FORMATS])
def test_bank_import_every_field_with_every_nasty_value(app, backend, fmt, variant, figures):
    """The same property, exhaustively: one valid question with one field replaced by each value
    that once broke a reader or a database column (PostgreSQL refuses NUL and over-long text)."""
    outcomes = {"imported": 0, "refused": 0}
    for field in FIELDS:
        for value in NASTY:
            rows = [TEMPLATES[0] | {field: value}]
            name, content = render_bank(rows, fmt, variant)
            outcomes[check_bank_import(app, rows, fmt, variant, content, name)] += 1
    figures.count("import fuzz", f"bank nasty-value cases ({backend})", sum(outcomes.values()))
    assert outcomes["refused"] > len(FIELDS) * 5


# ---------------------------------------------------------------------------------------------
# Staff


STAFF_HEADER = list(accounts.STAFF_COLUMNS)  # 登录名 姓名 单位编码 角色 手机 岗位 性别 出生年份 职级 状态
UNITS = ["P", "A", "A1"]


@st.composite
def staff_rows(draw) -> list[list]:
    clean = draw(st.integers(0, 2)) == 0
    header = list(STAFF_HEADER)
    if not clean and draw(st.integers(0, 5)) == 0:
        header = draw(st.permutations(header))[: draw(st.integers(0, len(header)))]
    table = [header]
    for number in range(draw(st.integers(1, 6))):
        person = {
            "登录名": draw(st.sampled_from([f"user{number}", f"u.{number}@x", "existing", "root"]))
            if not clean
            else f"user{number}",
            "姓名": draw(st.text(CJK, min_size=2, max_size=4)),
            "单位编码": draw(st.sampled_from(UNITS)),
            "角色": draw(st.sampled_from(["学员", "单位管理员", "", "staff"])),
            "手机": draw(st.sampled_from(["", "13800000000", "+86 138-0000-0000"])),
            "岗位": draw(st.sampled_from(["", "社保经办", "就业服务"])),
            "性别": draw(st.sampled_from(["", "男", "女"])),
            "出生年份": draw(st.sampled_from(["", 1985, "1990", 1979.0])),
            "职级": draw(st.sampled_from(["", "科员"])),
            "状态": draw(st.sampled_from(["", "在职", "启用"])),
        }
        if not clean and draw(st.booleans()):
            for column in draw(st.lists(st.sampled_from(STAFF_HEADER), min_size=1, max_size=3)):
                person[column] = draw(
                    st.one_of(
                        JUNK,
                        st.sampled_from(
                            ["停用", "系统管理员", "²⁰⁰⁰", "١٩٨٥", "12345", "男女", "x" * 80, "Q"]
                        ),
                    )
                )
        table.append([person.get(column) for column in header])
    return table


@same_bytes
def render_staff(table: list[list]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in table:
        sheet.append([_xlsx_cell(_tabular_cell("", cell)) for cell in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@pytest.fixture
def staff_world(create_unit, create_user):
    create_unit("P", "示范省")
    create_unit("A", "甲市", "P")
    unit = create_unit("A1", "甲市窗口", "A")
    create_user("root", role=Role.ADMIN)
    create_user("existing", unit=unit, name="老员工")


def user_state() -> tuple:
    users = db.session.execute(
        select(User.username, User.name, User.unit_id, User.role, User.active, User.phone, User.birth_year)
    ).all()
    return tuple(sorted(map(tuple, users), key=str)), db.session.scalar(select(func.count(AuditLog.id)))


def test_staff_import_is_all_or_nothing(app, staff_world, figures):
    outcomes = {"imported": 0, "refused": 0}

    @FUZZ
    @given(table=staff_rows(), data=st.data())
    def run(table, data):
        content = data.draw(mangled(render_staff(table)))
        with app.app_context():
            before = user_state()
            try:
                result = accounts.import_staff(content, file_name="人员.xlsx")
            except InvalidInput as error:
                assert error.problems
                assert user_state() == before
                outcomes["refused"] += 1
            else:
                usernames = {row[0] for row in user_state()[0]}
                named = [str(row[0]).strip() for row in table[1:] if any(c not in (None, "") for c in row)]
                if content == render_staff(table):
                    assert set(named) <= usernames  # every row landed
                assert len(user_state()[0]) - len(before[0]) == result.created
                assert len(result.initial_passwords) == result.created
                outcomes["imported"] += 1
            finally:
                db.session.rollback()

    run()
    figures.count("import fuzz", "staff xlsx cases", sum(outcomes.values()))
    figures.count("import fuzz", "staff imported", outcomes["imported"])
    figures.count("import fuzz", "staff refused", outcomes["refused"])
    assert outcomes["imported"] >= 5 and outcomes["refused"] >= 5


STAFF_NASTY = [None, "", "\x00", "a\x00b", "\ud800", "²⁰⁰⁰", "١٩٨٥", HUGE_MARK, "长" * 70, "x" * 300]
STAFF_NASTY += ["root", "停用", "系统管理员", -1, 1985.0, float("nan"), True, datetime(1990, 1, 1)]
GOOD_PERSON = ["newbie", "新同事", "A1", "学员", "13800000000", "社保经办", "女", 1990, "科员", "在职"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_staff_import_every_column_with_every_nasty_value(app, staff_world, backend, figures):
    cases = 0
    for column in range(len(STAFF_HEADER)):
        for value in STAFF_NASTY:
            person = list(GOOD_PERSON)
            person[column] = value
            content = render_staff([STAFF_HEADER, person])
            with app.app_context():
                before = user_state()
                try:
                    result = accounts.import_staff(content, file_name="人员.xlsx")
                except InvalidInput as error:
                    assert error.problems and user_state() == before
                else:
                    assert result.created + result.updated + result.deactivated <= 1
                    assert len(user_state()[0]) - len(before[0]) == result.created
                finally:
                    db.session.rollback()
            cases += 1
    figures.count("import fuzz", f"staff nasty-value cases ({backend})", cases)


# ---------------------------------------------------------------------------------------------
# Through the admin upload wizards


def _admin(app):
    client = app.test_client()
    assert client.post("/login", data={"username": "root", "password": PASSWORD}).status_code == 302
    return client


def _upload(client, url: str, name: str, content: bytes):
    return client.post(url, data={"file": (io.BytesIO(content), name)}, content_type="multipart/form-data")


HTTP_FUZZ = settings(FUZZ, max_examples=30)


def test_bank_import_wizard_never_500(app, staff_world, figures):
    client = _admin(app)
    cases = 0

    @HTTP_FUZZ
    @given(rows=bank_rows(), fmt=st.sampled_from(FORMATS), data=st.data())
    def run(rows, fmt, data):
        nonlocal cases
        name, content = render_bank(rows, *fmt)
        content = data.draw(mangled(content))
        with app.app_context():
            before = bank_counts()
        preview = _upload(client, "/admin/questions/import", name, content)
        assert preview.status_code == 200, preview.status_code
        page = preview.get_data(as_text=True)
        with app.app_context():
            assert bank_counts() == before  # the preview writes nothing
        token = re.search(r'action="/admin/questions/import/([0-9a-f]+)"', page)
        if token:
            confirmed = client.post(f"/admin/questions/import/{token.group(1)}", data={"name": name})
            assert confirmed.status_code == 302
        cases += 1

    run()
    figures.count("import fuzz", "bank wizard uploads", cases)


def test_staff_import_wizard_never_500(app, staff_world, figures):
    client = _admin(app)
    cases = 0

    @HTTP_FUZZ
    @given(table=staff_rows(), data=st.data())
    def run(table, data):
        nonlocal cases
        content = data.draw(mangled(render_staff(table)))
        with app.app_context():
            before = user_state()
        preview = _upload(client, "/admin/staff/import", "人员.xlsx", content)
        assert preview.status_code == 200, preview.status_code
        with app.app_context():
            assert user_state() == before
        token = re.search(r'action="/admin/staff/import/([0-9a-f]+)"', preview.get_data(as_text=True))
        if token:
            confirmed = client.post(f"/admin/staff/import/{token.group(1)}")
            assert confirmed.status_code in (200, 302)
        cases += 1

    run()
    figures.count("import fuzz", "staff wizard uploads", cases)


# ---------------------------------------------------------------------------------------------
# Hostile shapes (issue 14): sheets claiming or holding huge extents, YAML aliases, deep nesting.
# Whatever the shape, the file is refused whole with a located reason, or read as any other file.


def _with_sheet(data: bytes, edit) -> bytes:
    """The workbook with its first sheet's XML passed through ``edit``."""
    import zipfile

    source, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for member in source.infolist():
            content = source.read(member)
            if member.filename == "xl/worksheets/sheet1.xml":
                content = edit(content)
            target.writestr(member, content)
    return out.getvalue()


def _column_letters(number: int) -> str:
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


@st.composite
def hostile_sheet(draw, data: bytes) -> tuple[bytes, bool]:
    """(file, whether it is over the limits): a declared <dimension> and/or a filled cell placed
    anywhere up to XFD1048576."""
    # Small (read as usual, quickly) or over a limit (refused before reading), never a sheet of
    # millions of real empty cells that is within the limits (read, slowly: the benchmark's job).
    rows = draw(st.one_of(st.integers(1, 60), st.integers(200_001, 1_048_576)))
    columns = draw(st.one_of(st.integers(1, 20), st.integers(101, 16_384)))
    far_cell = draw(st.booleans())
    ref = f"A1:{_column_letters(columns)}{rows}"

    def edit(xml: bytes) -> bytes:
        xml = re.sub(rb'<dimension ref="[^"]*"\s*/>', f'<dimension ref="{ref}"/>'.encode(), xml)
        if far_cell:
            cell = f'<row r="{rows + 1}"><c r="{_column_letters(columns)}{rows + 1}" t="inlineStr"><is><t>远</t></is></c></row>'
            xml = xml.replace(b"</sheetData>", cell.encode() + b"</sheetData>")
        return xml

    limits = uploads.limits()
    extent_rows = rows + 1 if far_cell else rows
    over = (
        extent_rows > limits["sheet_rows"]
        or columns > limits["sheet_columns"]
        or extent_rows * columns > limits["sheet_cells"]
    )
    return _with_sheet(data, edit), over


def _alias_yaml(rows: list[dict], depth: int) -> bytes:
    """The bank file with a shared block referenced ``depth`` times through aliases."""
    text = yaml.safe_dump({"source": {"id": "law_social_insurance"}, "questions": rows}, allow_unicode=True)
    anchors = "shared: &base [" + ", ".join(['"啊"'] * 9) + "]\n"
    for level in range(1, depth):
        anchors += (
            f"level{level}: &l{level} ["
            + ", ".join([f"*{'base' if level == 1 else f'l{level - 1}'}"] * 9)
            + "]\n"
        )
    return (anchors + text).encode()


def test_hostile_shapes_are_refused_whole(app, staff_world, figures):
    counts = {"refused": 0, "read": 0}

    @FUZZ
    @given(
        rows=bank_rows(),
        table=staff_rows(),
        shape=st.sampled_from(["sheet", "staff sheet", "aliases", "deep"]),
        data=st.data(),
    )
    def run(rows, table, shape, data):
        with app.app_context():
            before, users = bank_counts(), user_state()
            try:
                if shape == "sheet":
                    content, over = data.draw(hostile_sheet(render_bank(rows, "xlsx", "chinese")[1]))
                    bank_io.import_batch(bank_io.read_for_import([("fuzz.xlsx", content, None)], BANK))
                elif shape == "staff sheet":
                    content, over = data.draw(hostile_sheet(render_staff(table)))
                    accounts.import_staff(content, file_name="人员.xlsx")
                elif shape == "aliases":
                    over, content = True, _alias_yaml(rows, data.draw(st.integers(1, 9)))
                    bank_io.import_batch(bank_io.read_for_import([("fuzz.yaml", content, None)], BANK))
                else:
                    depth = data.draw(st.integers(33, 3000))
                    over, content = True, ("[" * depth + "]" * depth).encode()
                    bank_io.import_batch(bank_io.read_for_import([("fuzz.json", content, None)], BANK))
            except InvalidInput as error:
                assert error.problems and bank_counts() == before and user_state() == users
                messages = " ".join(problem.message for problem in error.problems)
                if over and shape != "deep":
                    assert "上限" in messages or "别名" in messages, messages
                counts["refused"] += 1
            else:
                assert not over, f"{shape} over the limits was read"
                counts["read"] += 1
            finally:
                db.session.rollback()

    run()
    figures.count("import fuzz", "hostile shapes refused", counts["refused"])
    figures.count("import fuzz", "hostile shapes within limits read", counts["read"])
    assert counts["refused"] >= 20
