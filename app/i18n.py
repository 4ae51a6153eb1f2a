"""Interface translations: gettext catalogs (Babel), compiled in memory from the .po files at start-up."""

from __future__ import annotations

import gettext
import io
from functools import lru_cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "messages"
LANGUAGES = ("en", "es")
LANGUAGE_NAMES = {"en": "English", "es": "Español"}


@lru_cache
def translations(language: str) -> gettext.NullTranslations:
    """The catalog for a language; English is the source language and needs none."""
    po_file = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if language == "en" or not po_file.exists():
        return gettext.NullTranslations()
    with po_file.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


def pick_language(requested: str | None, offered: tuple[str, ...] | list[str], default: str = "en") -> str:
    """A language the interface and the instrument both offer."""
    if requested in offered and requested in LANGUAGES:
        return requested
    return default if default in offered else offered[0]
