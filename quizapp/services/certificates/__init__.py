"""Certificates (人人持证, issue 23): issued at an exam's close to those who passed, verifiable by
anyone at ``/verify/<serial>``, revocable by admins; ``issuing`` holds the rules, ``documents``
the PDF and the bulk ZIP."""

from .documents import CertificateText, FontMissing, font_name, render_pdf, zip_stream
from .issuing import (
    band_of,
    by_serial,
    exam_in_scope,
    exams,
    lacking,
    new_serial,
    normalise_serial,
    of_user,
    reconcile,
    revoke,
    scope_unit,
    subtree_counts,
    subtree_page,
    verification,
    visible,
)

__all__ = [
    "CertificateText",
    "FontMissing",
    "band_of",
    "by_serial",
    "exam_in_scope",
    "exams",
    "font_name",
    "lacking",
    "new_serial",
    "normalise_serial",
    "of_user",
    "reconcile",
    "render_pdf",
    "revoke",
    "scope_unit",
    "subtree_counts",
    "subtree_page",
    "verification",
    "visible",
    "zip_stream",
]
