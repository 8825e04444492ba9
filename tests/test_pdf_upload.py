"""A policy document uploaded as PDF (issue 22, document → draft questions): its text is read in the
upload parser's child process, bounded, and every PDF that cannot give text is a clear refusal."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

from quizapp.config import DefaultConfig
from quizapp.services import uploads


def pdf_with(pages: list[list[str]], *, password: str | None = None) -> bytes:
    """A PDF whose pages hold these lines of text (Helvetica; a page of no lines is blank, as a scan
    without a text layer reads)."""
    writer = PdfWriter()
    for lines in pages:
        page = writer.add_blank_page(595, 842)
        if not lines:
            continue
        font = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/Helvetica"),
            }
        )
        fonts = DictionaryObject({NameObject("/F1"): writer._add_object(font)})
        page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): fonts})
        stream = DecodedStreamObject()
        shown = " ".join(f"({line}) Tj T*" for line in lines)
        stream.set_data(f"BT /F1 12 Tf 72 760 Td 14 TL {shown} ET".encode())
        page[NameObject("/Contents")] = writer._add_object(stream)
    if password:
        writer.encrypt(password)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def read(data: bytes, **limits):
    (outcome,) = uploads.parse([("pdf", data, {})], limit=DefaultConfig.UPLOAD_LIMITS | limits)
    return outcome


def test_the_text_of_every_page_is_read_in_order():
    text = read(pdf_with([["Article 1 wages within 30 days."], ["Article 2 leave of 5 days."]]))
    assert text.index("Article 1 wages within 30 days.") < text.index("Article 2 leave of 5 days.")


@pytest.mark.parametrize(
    ("data", "limits", "said"),
    [
        (b"PK\x03\x04 not a pdf at all", {}, "不是 PDF 文件"),
        (pdf_with([["secret"]], password="pw"), {}, "PDF 已加密"),
        (pdf_with([[], []]), {}, "扫描件"),
        (pdf_with([["one"], ["two"], ["three"]]), {"pdf_pages": 2}, "超过 2 页的上限"),
        (b"%PDF-1.7\n" + b"\x00garbage" * 1000, {}, "无法读取 PDF 文件"),
    ],
    ids=["not-a-pdf", "encrypted", "scanned", "too-many-pages", "damaged"],
)
def test_a_pdf_without_readable_text_is_refused_with_the_reason(data, limits, said):
    outcome = read(data, **limits)
    assert isinstance(outcome, uploads.Refused), outcome
    assert said in outcome.message


def test_a_pdf_policy_document_becomes_a_source_for_drafts():
    from quizapp.services.drafting import source_from_upload

    lines = ["Article 1 The employer shall pay wages within 30 days.", "Article 2 Leave is 5 days a year."]
    source = source_from_upload("rules.pdf", pdf_with([lines]), "Test rules", today="20261207")
    assert source.title == "Test rules" and source.code.startswith("doc_20261207_")
    assert [p.strip() for p in source.paragraphs] == lines
