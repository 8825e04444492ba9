"""Issue 23 item 4: certificates (人人持证). Passing an exam issues one at the close — none for a
fail, none for an attempt held by the integrity review until it is cleared, revoked when voided — as
a PDF with the Chinese font embedded and a QR code to the public ``/verify/<serial>``, which shows
the name, the exam, the date and validity and nothing else. Admins revoke; unit admins download
their subtree's as a ZIP.

The PDF is rendered to an image (pypdfium2) and read back with tesseract (Debian tesseract-ocr,
tesseract-ocr-chi-sim) and zbarimg (zbar-tools): without them those tests skip, or fail when
QUIZAPP_TEST_REQUIRE_SERVICES is set."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import zipfile
from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select

from quizapp import jobs
from quizapp.config import DefaultConfig
from quizapp.extensions import db
from quizapp.models import Attempt, AuditLog, Certificate, IntegrityReview, ReviewStatus, ScoreBand
from quizapp.services import certificates, rounds

from .conftest import missing_service
from .test_jobs import T0, new_round, take_part

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
CLOSES = T0 + timedelta(hours=2)
AFTER_CLOSE = T0 + timedelta(hours=3)
PUBLIC = "https://lianbing.example.cn"
SERIAL = re.compile(r"\d{4}(-[0-9A-HJKMNP-TV-Z]{4}){4}")


def exam(app, title="社会保险专项考试", **changes) -> int:
    return new_round(app, "exam", title=title, closes=CLOSES, **changes)


def close_all(app, clock) -> None:
    clock.set(AFTER_CLOSE)
    assert jobs.run_sweep(app, "close_rounds").outcome == "ok"


def certificates_of(app, round_id: int) -> dict[str, Certificate]:
    """username → certificate (detached)."""
    from quizapp.models import User

    with app.app_context():
        rows = db.session.execute(
            select(User.username, Certificate)
            .join(Certificate, Certificate.user_id == User.id)
            .where(Certificate.round_id == round_id)
        ).all()
        for _, certificate in rows:
            db.session.expunge(certificate)
        return {username: certificate for username, certificate in rows}


def attempt_of(app, round_id: int, username: str) -> Attempt:
    from quizapp.models import User

    with app.app_context():
        attempt = db.session.scalar(
            select(Attempt)
            .join(User, User.id == Attempt.user_id)
            .where(Attempt.round_id == round_id, User.username == username)
        )
        db.session.expunge(attempt)
        return attempt


# ---------------------------------------------------------------------------------------------
# Issuing at the close


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_pass_gets_one_certificate_at_the_close_a_fail_none_and_closing_again_changes_nothing(
    backend, login_as, app, province, mixed_bank, frozen_clock, runner
):
    frozen_clock.set(T0)
    round_id = exam(app)
    weekly = new_round(app, "weekly", title="周周练不发证", closes=CLOSES)
    take_part(login_as, app, "amy", round_id, right=True)
    take_part(login_as, app, "bob", round_id, right=False)
    take_part(login_as, app, "amy", weekly, right=True)
    close_all(app, frozen_clock)

    issued = certificates_of(app, round_id)
    assert set(issued) == {"amy"}  # bob failed: none
    amy = issued["amy"]
    assert SERIAL.fullmatch(amy.serial) and amy.serial.startswith("2026-")
    assert (amy.holder_name, amy.unit_name, amy.title) == ("甲一", "甲市窗口", "社会保险专项考试")
    assert amy.percent == 100 and amy.band == ScoreBand.EXCELLENT and amy.revoked_at is None
    assert amy.issued_on.isoformat() == "2026-03-04"  # the close's business day (Shanghai)
    assert certificates_of(app, weekly) == {}  # only exams give certificates

    # The close, the repair and the rule itself, again: still one, the same serial.
    with app.app_context():
        assert rounds.close_round(round_id, now=AFTER_CLOSE)["closed"] is False
        assert rounds.repair_closed_rounds(now=AFTER_CLOSE) == []
        assert certificates.reconcile(round_id, now=AFTER_CLOSE) == {"issued": 0, "revoked": 0, "moved": 0}
        db.session.commit()
        assert db.session.scalar(select(func.count(Certificate.id))) == 1
        entries = db.session.scalars(select(AuditLog).where(AuditLog.action == "certificate.reconcile")).all()
        assert [entry.after["issued"] for entry in entries] == [1]
    assert runner.invoke(args=["round", "repair"]).exit_code == 0
    assert certificates_of(app, round_id)["amy"].serial == amy.serial


def test_the_repair_issues_what_an_exam_closed_before_certificates_lacks(
    login_as, app, province, mixed_bank, frozen_clock
):
    frozen_clock.set(T0)
    round_id = exam(app)
    take_part(login_as, app, "amy", round_id, right=True)
    take_part(login_as, app, "ann", round_id, right=True)
    close_all(app, frozen_clock)
    with app.app_context():  # as if closed before this feature
        db.session.execute(delete(Certificate))
        db.session.commit()
        assert rounds.repair_closed_rounds(now=AFTER_CLOSE) == [round_id]
        db.session.commit()
        assert rounds.repair_closed_rounds(now=AFTER_CLOSE) == []
    assert set(certificates_of(app, round_id)) == {"amy", "ann"}
    # Closed at the close's date, not the repair's.
    assert {c.issued_on.isoformat() for c in certificates_of(app, round_id).values()} == {"2026-03-04"}


def test_score_bands_follow_the_configured_limits_and_the_pass_mark(app):
    with app.app_context():
        assert DefaultConfig.CERTIFICATE_BANDS == {"excellent": 90, "good": 75}
        assert certificates.band_of(90) == ScoreBand.EXCELLENT
        assert certificates.band_of(89.99) == ScoreBand.GOOD
        assert certificates.band_of(75) == ScoreBand.GOOD
        assert certificates.band_of(60) == ScoreBand.PASS
        assert [band.label for band in ScoreBand] == ["优秀", "良好", "合格"]


def test_serials_are_random_well_formed_and_read_as_typed(app):
    serials = {certificates.new_serial(2026) for _ in range(2000)}
    assert len(serials) == 2000
    assert all(SERIAL.fullmatch(s) for s in serials)
    sample = next(iter(serials))
    assert certificates.normalise_serial(f"  {sample.lower()} ") == sample
    assert certificates.normalise_serial("2026-0000-1111-2222-3333".replace("0", "O").replace("1", "l")) == (
        "2026-0000-1111-2222-3333"
    )
    for bad in ("", "2026", "2026-ABCD-EFGH-JKMN", "2026-ABCD-EFGH-JKMN-PQRU", "../../etc/passwd"):
        assert certificates.normalise_serial(bad) is None


# ---------------------------------------------------------------------------------------------
# The integrity review: held → none until cleared; voided → revoked


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_held_pass_gets_its_certificate_when_cleared_and_none_when_voided(
    backend, login_as, app, province, mixed_bank, frozen_clock, create_user
):
    units, _ = province
    create_user("a_admin", unit=units["A"], role="unit_admin")
    app.config["INTEGRITY"] = dict(DefaultConfig.INTEGRITY)  # answers in one instant: a bot, held
    frozen_clock.set(T0)
    round_id = exam(app)
    take_part(login_as, app, "amy", round_id, right=True)
    take_part(login_as, app, "ann", round_id, right=True)
    close_all(app, frozen_clock)
    assert attempt_of(app, round_id, "amy").held and attempt_of(app, round_id, "ann").held
    assert certificates_of(app, round_id) == {}  # held: none yet

    reviewer = login_as("a_admin")
    with app.app_context():
        reviews = {
            review.user.username: review.id
            for review in db.session.scalars(
                select(IntegrityReview).where(IntegrityReview.round_id == round_id)
            )
        }
    frozen_clock.set(AFTER_CLOSE + timedelta(days=2))
    assert (
        reviewer.post(
            f"/admin/integrity/{reviews['amy']}", data={"decision": "clear", "reason": "已当面核实"}
        ).status_code
        == 302
    )
    reviewer.post(f"/admin/integrity/{reviews['ann']}", data={"decision": "void", "reason": "代答"})
    issued = certificates_of(app, round_id)
    assert set(issued) == {"amy"}  # cleared: issued; voided: none
    assert issued["amy"].issued_on.isoformat() == "2026-03-06"  # the day it was cleared
    assert issued["amy"].revoked_at is None


def test_voiding_the_attempt_a_certificate_was_issued_for_revokes_it(
    login_as, app, province, mixed_bank, frozen_clock, create_user, client
):
    units, _ = province
    create_user("a_admin", unit=units["A"], role="unit_admin")
    frozen_clock.set(T0)
    round_id = exam(app)
    take_part(login_as, app, "amy", round_id, right=True)
    close_all(app, frozen_clock)
    serial = certificates_of(app, round_id)["amy"].serial
    assert "有效" in client.get(f"/verify/{serial}").get_data(as_text=True)

    # A hold placed after the certificate (a review opened later), then voided by a reviewer.
    attempt = attempt_of(app, round_id, "amy")
    with app.app_context():
        review = db.session.scalar(select(IntegrityReview).where(IntegrityReview.attempt_id == attempt.id))
        if review is None:
            review = IntegrityReview(
                attempt_id=attempt.id,
                user_id=attempt.user_id,
                unit_id=attempt.unit_id,
                round_id=round_id,
                score=100,
                signals=[{"code": "manual", "label": "举报", "detail": "有人举报代考", "points": 100}],
                status=ReviewStatus.HELD,
            )
            db.session.add(review)
        review.status = ReviewStatus.HELD
        db.session.get(Attempt, attempt.id).held = True
        db.session.commit()
        review_id = review.id
    frozen_clock.set(AFTER_CLOSE + timedelta(days=1))
    login_as("a_admin").post(f"/admin/integrity/{review_id}", data={"decision": "void", "reason": "查实代考"})

    revoked = certificates_of(app, round_id)["amy"]
    assert revoked.revoked_at == AFTER_CLOSE + timedelta(days=1)
    assert "作废" in revoked.revoked_reason
    page = client.get(f"/verify/{serial}").get_data(as_text=True)
    assert "已撤销" in page and "2026年3月5日" in page and "有效</p>" not in page
    with app.app_context():  # and it is not issued again
        assert certificates.reconcile(round_id, now=AFTER_CLOSE + timedelta(days=2))["issued"] == 0


# ---------------------------------------------------------------------------------------------
# The PDF


def require_program(program: str, package: str) -> str:
    path = shutil.which(program)
    if path is None:
        missing_service(f"{program} is missing: apt-get install {package}")
    return path


@pytest.fixture
def passed(login_as, app, province, mixed_bank, frozen_clock, create_user):
    """amy (甲市窗口) and bob (乙市窗口) passed 社会保险专项考试, ann failed; unit admins of 甲市 and 乙市."""
    units, _ = province
    create_user("a_admin", unit=units["A"], role="unit_admin")
    create_user("b_admin", unit=units["B"], role="unit_admin")
    frozen_clock.set(T0)
    round_id = exam(app)
    take_part(login_as, app, "amy", round_id, right=True)
    take_part(login_as, app, "bob", round_id, right=True)
    take_part(login_as, app, "ann", round_id, right=False)
    close_all(app, frozen_clock)
    issued = certificates_of(app, round_id)
    assert set(issued) == {"amy", "bob"}
    return {"round": round_id, **{name: c.serial for name, c in issued.items()}}


def embedded_fonts(pdf: bytes) -> list[str]:
    """The fonts the page uses whose program is in the file (a FontFile of the descriptor)."""
    from pypdf import PdfReader

    found = []
    for font in PdfReader(io.BytesIO(pdf)).pages[0]["/Resources"]["/Font"].values():
        font = font.get_object()
        descendants = font.get("/DescendantFonts")
        described = descendants[0].get_object() if descendants else font
        descriptor = described.get("/FontDescriptor")
        if descriptor is not None and any(
            key in descriptor.get_object() for key in ("/FontFile", "/FontFile2", "/FontFile3")
        ):
            found.append(str(font["/BaseFont"]))
    return found


@pytest.mark.app_config(PUBLIC_URL=PUBLIC + "/")
def test_the_pdf_reads_back_the_name_and_serial_embeds_its_font_and_its_qr_opens_the_verify_page(
    login_as, app, passed, tmp_path, figures
):
    import pypdfium2

    tesseract = require_program("tesseract", "tesseract-ocr tesseract-ocr-chi-sim")
    languages = subprocess.run([tesseract, "--list-langs"], capture_output=True, text=True).stdout.split()
    if "chi_sim" not in languages:
        missing_service("tesseract has no chi_sim: apt-get install tesseract-ocr-chi-sim")
    zbarimg = require_program("zbarimg", "zbar-tools")

    response = login_as("amy").get(f"/certificates/{passed['amy']}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    pdf = response.data
    figures.put("certificates", "PDF bytes", len(pdf))

    fonts = embedded_fonts(pdf)
    assert any("WenQuanYi" in name or "MicroHei" in name for name in fonts), fonts  # the CJK font, embedded

    document = pypdfium2.PdfDocument(pdf)
    try:
        page = document[0]
        width, height = page.get_size()
        assert (round(width), round(height)) == (842, 595)  # A4 landscape
        text = page.get_textpage().get_text_range()
        assert "练兵比武合格证书" in text and "甲一" in text and passed["amy"] in text  # extractable too
        image = page.render(scale=200 / 72).to_pil().convert("L")
    finally:
        document.close()
    picture = tmp_path / "certificate.png"
    image.save(picture)

    read = subprocess.run(
        [tesseract, str(picture), "-", "-l", "chi_sim+eng"],
        capture_output=True,
        text=True,
        timeout=180,
        env=os.environ | {"OMP_THREAD_LIMIT": "1"},
    )
    assert read.returncode == 0, read.stderr
    seen = read.stdout
    assert passed["amy"] in seen, seen  # the serial, read off the image
    compact = re.sub(r"\s+", "", seen)
    assert "甲一" in compact and "合格证书" in compact, seen

    code = subprocess.run([zbarimg, "-q", "--raw", str(picture)], capture_output=True, text=True, timeout=60)
    assert code.stdout.strip() == f"{PUBLIC}/verify/{passed['amy']}"


def test_the_qr_code_uses_the_request_host_without_a_public_url(login_as, app, passed):
    import pypdfium2

    pdf = login_as("amy").get(f"/certificates/{passed['amy']}.pdf").data
    document = pypdfium2.PdfDocument(pdf)
    try:
        text = document[0].get_textpage().get_text_range()
    finally:
        document.close()
    assert f"http://localhost/verify/{passed['amy']}" in re.sub(r"\s+", "", text)


@pytest.mark.app_config(CERTIFICATE_FONT="/nowhere/no-font.ttc")
def test_a_missing_font_is_a_clear_error_not_a_broken_pdf(login_as, app, passed):
    amy = login_as("amy")
    response = amy.get(f"/certificates/{passed['amy']}.pdf")
    assert response.status_code == 503
    page = response.get_data(as_text=True)
    assert "证书字体文件不存在" in page and "/nowhere/no-font.ttc" in page and "fonts-wqy-microhei" in page
    assert login_as("root").get(f"/admin/certificates/{passed['round']}.zip?unit=P").status_code == 503


# ---------------------------------------------------------------------------------------------
# Verification: public, and nothing but name, exam, date and validity


def test_the_verify_page_is_public_and_shows_nothing_else(client, app, passed):
    response = client.get(f"/verify/{passed['amy']}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for shown in ("甲一", "社会保险专项考试", "2026年3月4日", "有效", passed["amy"]):
        assert shown in page, shown
    for hidden in ("甲市窗口", "amy", "优秀", "100", "分", "乙一", passed["bob"]):
        assert hidden not in page, hidden
    assert response.headers["Cache-Control"] == "no-store"
    assert "noindex" in response.headers["X-Robots-Tag"]
    # Typed by hand: any case; a paper's serial from the form.
    assert client.get(f"/verify/{passed['amy'].lower()}").status_code == 200
    typed = client.get("/verify", query_string={"serial": f" {passed['amy'].lower()} "})
    assert typed.status_code == 302 and typed.location.endswith(f"/verify/{passed['amy']}")
    wrong = client.get("/verify", query_string={"serial": "12345"})
    assert wrong.status_code == 200 and "证书编号格式不对" in wrong.get_data(as_text=True)


def test_an_unknown_serial_is_a_chinese_404(client, passed):
    for serial in ("2026-0000-0000-0000-0000", "nonsense", passed["amy"][:-1] + "?"):
        response = client.get(f"/verify/{serial}")
        assert response.status_code == 404
        assert "未找到该编号的证书" in response.get_data(as_text=True) or "页面不存在" in response.get_data(
            as_text=True
        )
    assert "未找到该编号的证书" in client.get("/verify/2026-0000-0000-0000-0000").get_data(as_text=True)


@pytest.mark.app_config(RATELIMIT_ENABLED=True, VERIFY_LIMIT_PER_ADDRESS="3 per minute")
def test_the_verify_page_is_rate_limited_per_address(client, passed):
    codes = [client.get(f"/verify/2026-0000-0000-0000-000{n}").status_code for n in range(4)]
    assert codes == [404, 404, 404, 429]
    assert client.get(f"/verify/{passed['amy']}").status_code == 429
    other = client.get(f"/verify/{passed['amy']}", environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code == 200


def test_an_admin_revokes_with_a_reason_and_it_verifies_as_revoked(
    login_as, client, app, passed, frozen_clock
):
    admin, unit_admin = login_as("root"), login_as("a_admin")
    url = f"/admin/certificates/{passed['amy']}/revoke"
    assert unit_admin.post(url, data={"reason": "测试"}).status_code == 403
    assert login_as("amy").post(url, data={"reason": "测试"}).status_code == 403
    no_reason = admin.post(url, data={"reason": "  "}, follow_redirects=True)
    assert "请填写撤销理由" in no_reason.get_data(as_text=True)
    assert "有效" in client.get(f"/verify/{passed['amy']}").get_data(as_text=True)

    frozen_clock.set(AFTER_CLOSE + timedelta(days=10))
    done = admin.post(url, data={"reason": "冒名参考，经查属实"}, follow_redirects=True)
    assert "证书已撤销" in done.get_data(as_text=True)
    page = client.get(f"/verify/{passed['amy']}").get_data(as_text=True)
    assert "已撤销" in page and "2026年3月14日" in page and "冒名参考" not in page  # the reason stays inside
    again = admin.post(url, data={"reason": "再撤"}, follow_redirects=True)
    assert "该证书已撤销" in again.get_data(as_text=True)
    with app.app_context():
        entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "certificate.revoke"))
        assert entry.after == {"serial": passed["amy"], "valid": False, "reason": "冒名参考，经查属实"}
        assert entry.actor_id is not None
        # A close or repair never issues a revoked certificate again.
        assert certificates.reconcile(passed["round"], now=AFTER_CLOSE + timedelta(days=11))["issued"] == 0
    mine = login_as("amy").get("/certificates").get_data(as_text=True)
    assert "已撤销" in mine and "冒名参考" in mine


# ---------------------------------------------------------------------------------------------
# Who sees which: one's own, a manager's subtree; the bulk ZIP


def test_staff_see_and_download_only_their_own(login_as, passed):
    amy, ann = login_as("amy"), login_as("ann")
    page = amy.get("/certificates").get_data(as_text=True)
    assert passed["amy"] in page and "社会保险专项考试" in page and "优秀" in page
    assert passed["bob"] not in page
    assert "还没有证书" in ann.get("/certificates").get_data(as_text=True)
    assert ann.get(f"/certificates/{passed['amy']}.pdf").status_code == 404
    assert login_as("bob").get(f"/certificates/{passed['amy']}.pdf").status_code == 404
    assert login_as("a_admin").get(f"/certificates/{passed['amy']}.pdf").status_code == 200
    assert login_as("b_admin").get(f"/certificates/{passed['amy']}.pdf").status_code == 404
    assert login_as("root").get(f"/certificates/{passed['amy']}.pdf").status_code == 200
    assert "我的证书" in amy.get("/history").get_data(as_text=True)


def zip_names(response) -> list[str]:
    assert response.status_code == 200 and response.mimetype == "application/zip", response.status_code
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert archive.testzip() is None
    for name in archive.namelist():
        assert archive.read(name).startswith(b"%PDF-")
    return sorted(archive.namelist())


def test_a_unit_admin_downloads_their_subtree_s_certificates_as_a_zip(login_as, app, passed):
    round_id = passed["round"]
    a_admin, b_admin, admin = login_as("a_admin"), login_as("b_admin"), login_as("root")
    own = a_admin.get(f"/admin/certificates/{round_id}.zip")
    assert own.is_streamed
    assert zip_names(own) == [f"甲一_{passed['amy']}.pdf"]
    assert "attachment" in own.headers["Content-Disposition"]
    assert zip_names(a_admin.get(f"/admin/certificates/{round_id}.zip?unit=A1")) == [
        f"甲一_{passed['amy']}.pdf"
    ]
    assert a_admin.get(f"/admin/certificates/{round_id}.zip?unit=B").status_code == 404  # not theirs
    assert a_admin.get(f"/admin/certificates/{round_id}.zip?unit=P").status_code == 404  # above them
    assert b_admin.get(f"/admin/certificates/{round_id}.zip?unit=A").status_code == 404
    assert zip_names(b_admin.get(f"/admin/certificates/{round_id}.zip")) == [f"乙一_{passed['bob']}.pdf"]
    assert len(zip_names(admin.get(f"/admin/certificates/{round_id}.zip?unit=P"))) == 2
    assert login_as("amy").get(f"/admin/certificates/{round_id}.zip").status_code == 403
    assert a_admin.get(f"/admin/certificates/{round_id + 999}.zip").status_code == 404

    # The manager's page: their subtree's list, with the download.
    page = a_admin.get(f"/admin/certificates?round={round_id}").get_data(as_text=True)
    assert passed["amy"] in page and passed["bob"] not in page and "乙一" not in page
    assert f"/admin/certificates/{round_id}.zip?unit=A" in page and "确认撤销" not in page
    assert "确认撤销" in admin.get(f"/admin/certificates?round={round_id}&unit=P").get_data(as_text=True)
    assert b_admin.get(f"/admin/certificates?round={round_id}&unit=A").status_code == 404


@pytest.mark.app_config(CERTIFICATE_ZIP_MAX=1)
def test_the_bulk_download_is_bounded_in_parts_and_leaves_out_revoked_ones(login_as, app, passed):
    admin = login_as("root")
    url = f"/admin/certificates/{passed['round']}.zip?unit=P"
    parts = [zip_names(admin.get(f"{url}&part={n}")) for n in (1, 2)]
    assert sorted(name for part in parts for name in part) == sorted(
        [f"甲一_{passed['amy']}.pdf", f"乙一_{passed['bob']}.pdf"]
    )
    assert all(len(part) == 1 for part in parts)
    assert admin.get(f"{url}&part=3").status_code == 404
    page = admin.get(f"/admin/certificates?round={passed['round']}&unit=P").get_data(as_text=True)
    assert "第 2 部分" in page
    admin.post(f"/admin/certificates/{passed['amy']}/revoke", data={"reason": "撤销测试"})
    assert zip_names(admin.get(url)) == [f"乙一_{passed['bob']}.pdf"]
    assert admin.get(f"{url}&part=2").status_code == 404


def test_the_managers_page_takes_a_fixed_number_of_queries(login_as, app, passed, count_queries):
    admin = login_as("root")
    url = f"/admin/certificates?round={passed['round']}&unit=P"
    admin.get(url)
    with count_queries() as few:
        assert admin.get(url).status_code == 200
    with app.app_context():  # many more certificates (copies of bob's for other people)
        from quizapp.models import User
        from quizapp.services import accounts

        bob = db.session.scalar(select(Certificate).where(Certificate.serial == passed["bob"]))
        for n in range(12):
            user = accounts.create_user(f"extra{n}", f"另一人{n}", "Passw0rd!x", unit_code="B1")
            db.session.flush()
            db.session.add(
                Certificate(
                    serial=certificates.new_serial(2026),
                    round_id=bob.round_id,
                    user_id=user.id,
                    unit_id=bob.unit_id,
                    attempt_id=bob.attempt_id,
                    holder_name=user.name,
                    unit_name=bob.unit_name,
                    title=bob.title,
                    percent=80,
                    band=ScoreBand.GOOD,
                    issued_on=bob.issued_on,
                )
            )
        db.session.commit()
        assert db.session.scalar(select(func.count(User.id))) > 12
    with count_queries() as many:
        page = admin.get(url)
    assert page.status_code == 200 and "另一人11" in page.get_data(as_text=True)
    assert many.count == few.count


def test_another_subtree_s_exam_is_not_listed_to_a_unit_admin(login_as, app, passed, frozen_clock):
    frozen_clock.set(T0)
    only_a = exam(app, title="甲市自己的考试")
    take_part(login_as, app, "amy", only_a, right=True)
    close_all(app, frozen_clock)
    a_admin, b_admin = login_as("a_admin"), login_as("b_admin")
    assert "甲市自己的考试" in a_admin.get("/admin/certificates").get_data(as_text=True)
    listing = b_admin.get("/admin/certificates").get_data(as_text=True)
    assert "甲市自己的考试" not in listing and "社会保险专项考试" in listing
    assert b_admin.get(f"/admin/certificates?round={only_a}").status_code == 404
    assert b_admin.get(f"/admin/certificates/{only_a}.zip").status_code == 404
    assert a_admin.get(f"/admin/certificates?round={only_a}&page=99999999999").status_code == 200
    assert a_admin.get("/admin/certificates?round=99999999999").status_code == 200  # no such: the latest
