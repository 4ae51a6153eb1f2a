"""Interface translations: gettext catalogs (Babel), compiled in memory from the .po files at start-up.

Staff read every page in their own language (`staff_language`), whatever language the youth answered
in; youth pages pass the youth's language. A page is rendered inside `rendering_in(language)`, and
everything translated while it renders (template strings and the lazy strings below) reads that
language. Outside a page, in the JSON API, logs and the command line, text stays English.

Python code marks text with `_` (`lazy_gettext`): the result is a `str` holding the English, so the
API, comparisons and JSON see plain English, but a template shows it in the page's language.
"""

from __future__ import annotations

import gettext as gettext_module
import io
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from babel.core import negotiate_locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from markupsafe import Markup, escape
from starlette.requests import Request

if TYPE_CHECKING:
    from instruments.compiled import CompiledInstrument

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "messages"
LANGUAGES = ("en", "es")
LANGUAGE_NAMES = {"en": "English", "es": "Español"}
LANGUAGE_COOKIE = "tellonce_lang"  # remembers a signed-out browser's last choice (no personal data)

_page_language: ContextVar[str] = ContextVar("tellonce_page_language", default="en")


@lru_cache
def translations(language: str) -> gettext_module.NullTranslations:
    """The catalog for a language; English is the source language and needs none."""
    po_file = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if language == "en" or not po_file.exists():
        return gettext_module.NullTranslations()
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


def content_language(instrument: CompiledInstrument, viewer_language: str) -> str:
    """The language to show an instrument's own words in to a viewer: theirs when the instrument has it."""
    definition = instrument.definition
    return pick_language(viewer_language, list(definition.languages), definition.default_language)


def staff_language(request: Request | None, user: Any) -> str:
    """The language of a staff page: the person's saved choice; signed out, the browser's last choice or
    its Accept-Language; English otherwise. The one place every staff page gets its language from."""
    chosen = getattr(user, "language", None)
    if chosen in LANGUAGES:
        return str(chosen)
    if request is None:
        return "en"
    remembered = request.cookies.get(LANGUAGE_COOKIE)
    if remembered in LANGUAGES:
        return str(remembered)
    return browser_language(request.headers.get("accept-language", ""))


def browser_language(header: str) -> str:
    """The best interface language for an Accept-Language header (English when none fits)."""
    preferred = []
    for part in header.split(","):
        tag, _sep, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and quality > 0:
            preferred.append((quality, tag.strip()))
    tags = [tag.lower().replace("-", "_") for _quality, tag in sorted(preferred, key=lambda pair: -pair[0])]
    found = negotiate_locale(tags, list(LANGUAGES), sep="_")  # "es-MX" finds "es"
    return found if found in LANGUAGES else "en"


@contextmanager
def rendering_in(language: str) -> Iterator[None]:
    """Translate into `language` while a page (or a document such as a PDF or a codebook) is produced."""
    token = _page_language.set(language if language in LANGUAGES else "en")
    try:
        yield
    finally:
        _page_language.reset(token)


def page_language() -> str:
    """The language of what is being rendered now ("en" outside a page)."""
    return _page_language.get()


def gettext(message: str) -> str:
    """`message` in the language of what is being rendered now."""
    return translations(_page_language.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form for `n`, in the language of what is being rendered now."""
    return translations(_page_language.get()).ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    """`message` as meant in `context` (one English word, two Spanish ones), in the page's language."""
    return translations(_page_language.get()).pgettext(context, message)


def _plain(value: Any) -> Any:
    """The English of a lazy string (an exact `str`), anything else as it is."""
    return str.__str__(value) if isinstance(value, LazyText) else value


def _translated(value: Any) -> Any:
    return str(value) if isinstance(value, LazyText) else value


def _each(args: Any, convert: Callable[[Any], Any]) -> Any:
    if isinstance(args, dict):
        return {key: convert(value) for key, value in args.items()}
    if isinstance(args, tuple):
        return tuple(convert(value) for value in args)
    return convert(args)


class LazyText(str):
    """Text that is English as a `str` and reads in the page's language when shown.

    `str(text)`, `format`, Jinja's output and `% args` give the translation for the page being
    rendered; the `str` value itself (what JSON, `==` and hashing see) is the English.
    """

    _render: Callable[[], str]

    def __new__(cls, english: str, render: Callable[[], str]) -> LazyText:
        text = super().__new__(cls, english)
        text._render = render
        return text

    def __str__(self) -> str:
        return self._render()

    def __html__(self) -> Markup:
        return escape(str(self))

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def __mod__(self, args: Any) -> LazyText:
        return LazyText(
            str.__mod__(_plain(self), _each(args, _plain)), lambda: str.__mod__(str(self), _each(args, _translated))
        )

    def __add__(self, other: str) -> LazyText:
        return LazyText(_plain(self) + _plain(other), lambda: str(self) + str(other))

    def __radd__(self, other: str) -> LazyText:
        return LazyText(_plain(other) + _plain(self), lambda: str(other) + str(self))

    def __repr__(self) -> str:
        return f"LazyText({str.__repr__(self)})"


def lazy_gettext(message: str) -> LazyText:
    """Mark `message` for translation; it is translated when a page shows it. Import it as `_`."""
    return LazyText(message, lambda: gettext(message))


def lazy_join(separator: str, parts: Iterable[str]) -> LazyText:
    """`separator.join(parts)` that keeps lazy parts lazy."""
    items = list(parts)
    return LazyText(separator.join(_plain(p) for p in items), lambda: separator.join(str(p) for p in items))


_ = lazy_gettext
