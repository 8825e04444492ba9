"""The hall's join QR code: phones scan it off the host's laptop or the projector.

segno writes the code as SVG with presentation attributes only (fill, stroke: no style attribute,
no script), so it is inlined in the page under the app's Content-Security-Policy (style-src 'self')
and scales to any size without blurring."""

from __future__ import annotations

import segno
from markupsafe import Markup


def join_qr(url: str) -> Markup:
    """An inline <svg> of ``url`` (error correction M: a projector's glare or a smudged screen)."""
    code = segno.make(url, error="m", micro=False)
    svg = code.svg_inline(
        dark="#000", light="#fff", border=2, omitsize=True, svgclass="join-qr", title="扫码加入比赛"
    )
    return Markup(svg)  # segno's own markup: the URL is only in the path's geometry, never as text
