"""The Spanish catalog covers every interface string, staff and youth: adding English without Spanish fails here.

Extraction runs in-process with the project's babel.cfg (all templates and app/**.py), exactly what
scripts/i18n-update extracts; the fix for a failure here is to run that script and write the Spanish.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from app.i18n import LOCALE_DIR, translations

ROOT = Path(__file__).resolve().parents[2]
SPANISH = LOCALE_DIR / "es" / "LC_MESSAGES" / "messages.po"
FIX = "run scripts/i18n-update, then write the Spanish in app/locale/es/LC_MESSAGES/messages.po"

Key = tuple[str | None, str | tuple[str, ...]]  # (context, msgid or singular and plural)


@lru_cache
def source_messages() -> dict[Key, set[str]]:
    """Every message the source marks for translation, with the files it comes from."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle, "babel.cfg")
    found: dict[Key, set[str]] = {}
    for filename, _line, message, _comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=DEFAULT_KEYWORDS
    ):
        found.setdefault((context, message), set()).add(filename)
    return found


@lru_cache
def spanish() -> Catalog:
    with SPANISH.open("rb") as handle:
        return read_po(handle, locale="es")


def _msgid(message: str | tuple[str, ...]) -> str:
    return message if isinstance(message, str) else message[0]


def _describe(key: Key) -> str:
    context, message = key
    return f"{_msgid(message)!r}" + (f" (context {context!r})" if context else "")


def _translated(strings: str | tuple[str, ...]) -> bool:
    return all(strings) if isinstance(strings, tuple) else bool(strings)


def _active_entries() -> Iterator[Key]:
    for entry in spanish():
        if entry.id:
            yield entry.context, entry.id


def test_extraction_covers_staff_pages_youth_pages_and_python() -> None:
    files = {f for places in source_messages().values() for f in places}
    messages = {_msgid(m) for _c, m in source_messages()}
    assert {"Leave now", "Prefer not to answer", "Save and finish later"} <= messages  # youth pages
    assert {"Permission to share information", "You can take it back at any time"} <= messages  # the release form
    assert {"Recent screenings", "Check the answers", "Export screenings", "Aggregate report"} <= messages  # staff
    assert {"Care coordination", "No such screening.", "Your role does not allow this."} <= messages  # Python
    assert any(f.startswith("templates/portal/") for f in files)
    assert any(f.startswith("templates/admin/") for f in files)
    assert any(f.startswith("app/") and f.endswith(".py") for f in files)
    assert len(messages) > 400


def test_every_interface_string_has_a_reviewed_spanish_translation() -> None:
    catalog = spanish()
    missing = [_describe(key) for key in source_messages() if catalog.get(_msgid(key[1]), key[0]) is None]
    empty = [
        _describe(key)
        for key in source_messages()
        if (entry := catalog.get(_msgid(key[1]), key[0])) is not None and not _translated(entry.string)
    ]
    fuzzy = [_describe((entry.context, entry.id)) for entry in catalog if entry.id and entry.fuzzy]
    problems = {
        f"not in the Spanish catalog ({FIX})": missing,
        f"no Spanish yet ({FIX})": empty,
        "Babel guessed these from similar strings: check each and remove 'fuzzy'": fuzzy,
    }
    report = [f"{why}: {', '.join(which)}" for why, which in problems.items() if which]
    assert not report, "\n".join(report)


def test_the_catalog_holds_nothing_the_source_no_longer_says() -> None:
    in_source = {(context, _msgid(message)) for context, message in source_messages()}
    stale = [_describe(key) for key in _active_entries() if (key[0], _msgid(key[1])) not in in_source]
    assert not stale, f"no longer in the source ({FIX}; it drops them): {', '.join(stale)}"
    assert list(spanish().obsolete) == [], "remove the #~ entries (scripts/i18n-update does)"


def test_translations_keep_every_placeholder() -> None:
    """A translation that loses or renames %(name)s would break the page that formats it."""
    problems = [f"{entry.id!r}: {'; '.join(str(e) for e in errors)}" for entry, errors in spanish().check() if errors]
    assert not problems, "\n".join(problems)


def test_the_product_name_is_never_translated() -> None:
    named = [entry for entry in spanish() if entry.id and "TellOnce" in _msgid(entry.id)]
    assert named, "some strings name TellOnce"
    assert [entry.id for entry in named if "TellOnce" not in str(entry.string)] == []


def test_the_compiled_catalog_translates_at_run_time() -> None:
    assert translations("es").gettext("Leave now") == "Salir ahora"
    assert translations("es").gettext("Recent screenings") == "Evaluaciones recientes"
    assert translations("es").pgettext("the list of youth", "Youth") == "Jóvenes"
    assert translations("en").gettext("Leave now") == "Leave now"
