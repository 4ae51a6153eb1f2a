"""Every youth-facing interface string has a Spanish translation; a missing one fails here."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from app.i18n import LOCALE_DIR, translations

ROOT = Path(__file__).resolve().parents[2]
YOUTH_FACING = ("templates/portal/**.html", "templates/sharing/consent_form.html")
METHOD_MAP = [(pattern, "jinja2") for pattern in YOUTH_FACING]
OPTIONS = {pattern: {"extensions": "jinja2.ext.i18n"} for pattern in YOUTH_FACING}


def source_messages() -> set[str]:
    found = extract_from_dir(str(ROOT), METHOD_MAP, OPTIONS)
    return {message if isinstance(message, str) else message[0] for _file, _line, message, _comments, _ctx in found}


def test_the_extractor_finds_the_youth_pages_strings() -> None:
    messages = source_messages()
    assert {"Leave now", "Prefer not to answer", "Save and finish later"} <= messages
    assert {"Permission to share information", "You can take it back at any time"} <= messages  # the release form
    assert len(messages) > 30


def test_every_youth_facing_string_is_translated_to_spanish() -> None:
    with (LOCALE_DIR / "es" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale="es")
    missing = sorted(m for m in source_messages() if not catalog.get(m) or not catalog.get(m).string)
    fuzzy = sorted(m.id for m in catalog if m.id and m.fuzzy)
    assert missing == [], f"add Spanish for: {missing}"
    assert fuzzy == [], f"review fuzzy translations: {fuzzy}"


def test_the_compiled_catalog_translates_at_run_time() -> None:
    assert translations("es").gettext("Leave now") == "Salir ahora"
    assert translations("en").gettext("Leave now") == "Leave now"
