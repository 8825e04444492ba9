"""A certificate as a PDF (A4 landscape, reportlab), and many as a streamed ZIP.

The Chinese font is embedded (a subset of the glyphs used), so the PDF reads the same on a phone, a
print shop's PC or an archive's viewer that has no Chinese font: WenQuanYi Micro Hei from Debian's
``fonts-wqy-microhei`` by default (``CERTIFICATE_FONT``; a .ttc takes ``CERTIFICATE_FONT_INDEX``).
The QR code (reportlab's own encoder) holds the public verification address of the serial.

Rendering reads nothing from the database: the caller passes the certificate's fields and its
verification URL, so a ZIP of hundreds is rendered while it streams, after the request's
transaction has ended.
"""

from __future__ import annotations

import io
import os
import threading
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from ..errors import DomainError

if TYPE_CHECKING:
    from reportlab.pdfgen import canvas

# reportlab is imported by the functions that draw: a server process that never renders a
# certificate does not carry it (about 10 MB a worker).

TITLE = "练兵比武合格证书"
ISSUER = "人社系统窗口单位业务技能练兵比武"
RED = "#9b1c1c"
GOLD = "#b8862b"
INK = "#1f2328"
GREY = "#5b6470"
PAPER = (1, 0.992, 0.965)
NO_LINE_START = set("，。、；：！？）》」』”’…")  # closing punctuation stays at the end of its line


class FontMissing(DomainError):
    """The configured font file is not there: no certificate can be drawn (a server setup fault)."""

    code = "certificate_font_missing"
    status = 503


@dataclass(frozen=True)
class CertificateText:
    """What a certificate shows (copied from the row, so rendering needs no session)."""

    serial: str
    name: str
    unit: str
    title: str
    band: str  # 优秀 / 良好 / 合格
    issued_on: date
    verify_url: str
    valid: bool = True

    @classmethod
    def of(cls, certificate, verify_url: str) -> CertificateText:
        return cls(
            serial=certificate.serial,
            name=certificate.holder_name,
            unit=certificate.unit_name,
            title=certificate.title,
            band=certificate.band.label,
            issued_on=certificate.issued_on,
            verify_url=verify_url,
            valid=certificate.revoked_at is None,
        )

    @property
    def filename(self) -> str:
        """``甲员工_2026-7KQ4-….pdf``: the name as far as a file name can carry it."""
        name = "".join(ch for ch in self.name if ch.isalnum() or ch in "·-_")[:40]
        return f"{name}_{self.serial}.pdf" if name else f"{self.serial}.pdf"


_fonts: dict[tuple[str, int], str] = {}
_font_lock = threading.Lock()


def font_name(font_path: str, font_index: int = 0) -> str:
    """Register the font once per process (reading a 5 MB .ttc costs ~0.4 s) and return its name;
    FontMissing, with what to do, when the file is not there or is no font."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    path, index = font_path, int(font_index)
    key = (path, index)
    with _font_lock:
        if key in _fonts:
            return _fonts[key]
        if not path or not os.path.isfile(path):
            raise FontMissing(
                f"证书字体文件不存在：{path or '（未设置）'}。请安装中文字体（Debian: apt-get install "
                "fonts-wqy-microhei），或在配置 CERTIFICATE_FONT（环境变量 QUIZAPP_CERTIFICATE_FONT）"
                "中指定一个 .ttf/.ttc 字体文件。"
            )
        name = f"CertificateFont{len(_fonts)}"
        try:
            pdfmetrics.registerFont(TTFont(name, path, subfontIndex=int(index)))
        except Exception as error:  # reportlab raises TTFError and others for what is not a font
            raise FontMissing(
                f"证书字体文件无法使用：{path}（{error}）。请换用 .ttf/.ttc 字体文件。"
            ) from error
        _fonts[key] = name
        return name


def _lines(text: str, font: str, size: float, width: float, most: int) -> list[str]:
    """Break ``text`` into lines no wider than ``width`` (character by character: Chinese has no
    spaces to break at); the last of ``most`` lines ends in … when the text goes on."""
    from reportlab.pdfbase import pdfmetrics

    lines, line = [], ""
    for char in text:
        if line and char not in NO_LINE_START and pdfmetrics.stringWidth(line + char, font, size) > width:
            lines.append(line)
            line = ""
        line += char
    if line:
        lines.append(line)
    if len(lines) > most:
        lines = lines[:most]
        last = lines[-1]
        while last and pdfmetrics.stringWidth(last + "…", font, size) > width:
            last = last[:-1]
        lines[-1] = last + "…"
    return lines


def _qr(c: canvas.Canvas, url: str, x: float, y: float, size: float) -> None:
    from reportlab.graphics import renderPDF
    from reportlab.graphics.barcode.qr import QrCodeWidget
    from reportlab.graphics.shapes import Drawing

    widget = QrCodeWidget(url, barLevel="M", barBorder=2)
    left, bottom, right, top = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (right - left), 0, 0, size / (top - bottom), 0, 0])
    drawing.add(widget)
    renderPDF.draw(drawing, c, x, y)


def render_pdf(text: CertificateText, *, font_path: str, font_index: int = 0) -> bytes:
    """One certificate, one A4 landscape page."""
    from reportlab.lib.colors import Color
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.pdfgen import canvas

    font = font_name(font_path, font_index)
    buffer = io.BytesIO()
    width, height = landscape(A4)
    c = canvas.Canvas(buffer, pagesize=(width, height), pageCompression=1)
    c.setTitle(f"{TITLE} {text.serial}")
    c.setAuthor(ISSUER)
    c.setSubject(f"{text.name} · {text.title}")
    c.setCreator("quizapp")

    c.setFillColor(PAPER)
    c.rect(0, 0, width, height, stroke=0, fill=1)
    c.setStrokeColor(RED)
    c.setLineWidth(6)
    c.rect(22, 22, width - 44, height - 44)
    c.setStrokeColor(GOLD)
    c.setLineWidth(1.2)
    c.rect(34, 34, width - 68, height - 68)
    c.rect(38, 38, width - 76, height - 76)

    c.setFillColor(RED)
    c.setFont(font, 38)
    c.drawCentredString(width / 2, height - 112, TITLE)
    c.setFillColor(GREY)
    c.setFont(font, 13)
    c.drawCentredString(width / 2, height - 140, ISSUER)
    c.setStrokeColor(GOLD)
    c.setLineWidth(1)
    c.line(width / 2 - 160, height - 154, width / 2 + 160, height - 154)

    left, text_width = 96, width - 96 - 250
    c.setFillColor(INK)
    name_lines = _lines(text.name, font, 26, text_width, 1)
    c.setFont(font, 26)
    c.drawString(left, height - 212, f"{name_lines[0]} 同志：")
    body = (
        f"于 {text.issued_on.year} 年 {text.issued_on.month} 月 {text.issued_on.day} 日通过"
        f"“{text.title}”，成绩{text.band}，特发此证。"
    )
    c.setFont(font, 17)
    y = height - 252
    for line in _lines(body, font, 17, text_width, 4):
        c.drawString(left + 34 if y == height - 252 else left, y, line)
        y -= 27

    rows = [
        ("姓　　名", text.name),
        ("所在单位", text.unit),
        ("考试名称", text.title),
        ("成绩等次", text.band),
        ("发证日期", f"{text.issued_on.year}年{text.issued_on.month}月{text.issued_on.day}日"),
    ]
    y = min(y - 12, 250)
    c.setFont(font, 13)
    for label, value in rows:
        c.setFillColor(GREY)
        c.drawString(left, y, label)
        c.setFillColor(INK)
        c.drawString(left + 80, y, _lines(value, font, 13, text_width - 80, 1)[0])
        y -= 22
    c.setFillColor(GREY)
    c.drawString(left, 84, "证书编号")
    c.setFillColor(INK)
    c.setFont("Helvetica-Bold", 20)  # a face whose 5 and S, 0 and D no reader (or OCR) confuses
    c.drawString(left + 80, 82, text.serial)

    qr_size = 132
    qr_x, qr_y = width - 96 - qr_size, 92
    _qr(c, text.verify_url, qr_x, qr_y, qr_size)
    c.setFillColor(GREY)
    c.setFont(font, 11)
    c.drawCentredString(qr_x + qr_size / 2, qr_y - 14, "扫码验证证书真伪")
    c.setFont(font, 8)
    for n, line in enumerate(_lines(text.verify_url, font, 8, 210, 2)):
        c.drawCentredString(qr_x + qr_size / 2, qr_y - 28 - n * 10, line)

    # The seal's place: a ring with the issuer, drawn, not an image.
    c.setStrokeColor(RED)
    c.setLineWidth(2.5)
    seal_x, seal_y = width - 96 - qr_size / 2, height - 250
    c.circle(seal_x, seal_y, 54)
    c.setFillColor(RED)
    c.setFont(font, 30)
    c.drawCentredString(seal_x, seal_y - 11, "★")
    c.setFont(font, 10)
    c.drawCentredString(seal_x, seal_y + 22, "练兵比武")
    c.drawCentredString(seal_x, seal_y - 32, "证书专用")

    if not text.valid:  # a revoked certificate's PDF says so across the page
        c.saveState()
        c.setFillColor(Color(0.75, 0.1, 0.1, alpha=0.35))
        c.setFont(font, 96)
        c.translate(width / 2, height / 2)
        c.rotate(18)
        c.drawCentredString(0, -30, "已撤销")
        c.restoreState()
    c.showPage()
    c.save()
    return buffer.getvalue()


class _Sink:
    """A write-only file for ``zipfile``: what it writes is taken out chunk by chunk."""

    def __init__(self):
        self._chunks: list[bytes] = []

    def write(self, data) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


def zip_stream(texts: Iterable[CertificateText], *, font_path: str, font_index: int = 0) -> Iterator[bytes]:
    """A ZIP of one PDF per certificate, yielded as each is rendered (memory: one PDF at a time).
    PDFs are compressed already: stored, not deflated again."""
    font_name(font_path, font_index)  # a missing font fails before the first byte
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED) as archive:
        for text in texts:
            archive.writestr(text.filename, render_pdf(text, font_path=font_path, font_index=font_index))
            yield sink.take()
    yield sink.take()
