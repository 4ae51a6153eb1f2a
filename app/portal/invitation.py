"""What staff give a youth to take away: the private link with its language, and the link as a QR code."""

from __future__ import annotations

import segno
from markupsafe import Markup, escape

from app import i18n


def youth_link(base: str, token: str, language: str) -> str:
    """The youth's private link; it opens the code page in the screening's language (English is its default)."""
    link = f"{base}/go/{token}"
    language = i18n.pick_language(language, i18n.LANGUAGES)
    return link if language == "en" else f"{link}?lang={language}"


def qr_svg(text: str, label: str) -> Markup:
    """`text` as an inline SVG QR code named `label` for screen readers; sized by CSS (class `qr`).

    Dark on white whatever the page's colours, with the standard four-module quiet zone, so phone
    cameras read it on screen and on paper.
    """
    code = segno.make(text, error="m", micro=False)
    svg = code.svg_inline(scale=1, border=4, dark="#000", light="#fff", omitsize=True, svgclass="qr")
    return Markup(svg.replace("<svg ", f'<svg role="img" aria-label="{escape(label)}" ', 1))  # noqa: S704 (segno draws paths, never the text; the label is escaped)
