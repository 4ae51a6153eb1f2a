"""One vocabulary of result levels: their order, their words in English and Spanish, their colours.

Every page, summary, export and report takes its level words from here, so "not enough information
to conclude" reads the same everywhere and can never fall back to "no concern".
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from app import i18n
from instruments.model import DECLINED, NOT_ASKED, NOT_ENOUGH_INFO, NOT_SCORED
from instruments.model import INSUFFICIENT as INSUFFICIENT  # re-exported: pages compare levels with it

CLEAR, POSSIBLE, NONE = "clear_concern", "possible_concern", "no_concern"
# The order in which levels are listed: concerns first, and "insufficient information" before
# "no concern" so that it is never read as a kind of it. "Not scored" (a form with no scoring rules)
# comes after all of them: it is no conclusion at all, not a kind of "no concern".
ORDER: tuple[str, ...] = (CLEAR, POSSIBLE, INSUFFICIENT, NONE, NOT_SCORED)
UNKNOWN = "unknown"  # an indicator rated "not enough information" (and a domain's level in results before 1.1)


def N_(message: str) -> str:
    """Marks English words for the catalog; they are translated where they are shown."""
    return message


# The words of each level: English here, every other language in the one catalog (app/locale), read through
# gettext like every other interface string. Nothing else defines a level's words.
WORDS: dict[str, str] = {
    CLEAR: N_("Clear concern"),
    POSSIBLE: N_("Possible concern"),
    INSUFFICIENT: N_("Not enough information to conclude"),
    NONE: N_("No concern"),
    NOT_SCORED: N_("Not scored"),
    UNKNOWN: N_("Not enough information"),
}
# Answers beside the levels that a form offers and every surface shows in the same words.
ANSWER_WORDS: dict[str, str] = {
    NONE: WORDS[NONE],
    POSSIBLE: WORDS[POSSIBLE],
    CLEAR: WORDS[CLEAR],
    DECLINED: N_("Prefer not to answer"),
    NOT_ENOUGH_INFO: WORDS[UNKNOWN],
    NOT_ASKED: N_("Not asked"),
}
# The same answers as staff record them about the young person (the practitioner mode): "Prefer not to answer"
# is the young person's own choice, in the first person, so staff choose and read that the young person declined.
STAFF_ANSWER_WORDS: dict[str, str] = {**ANSWER_WORDS, DECLINED: N_("They preferred not to answer")}


class InEveryLanguage(Mapping[str, dict[str, str]]):
    """Codes to their words in every language (`{"en": ..., "es": ...}`), read from the catalog: for the few
    readers that write all languages at once (FHIR displays) or choose one later (`app.web.text`)."""

    def __init__(self, english: Mapping[str, str]) -> None:
        self.english = english

    def __getitem__(self, code: str) -> dict[str, str]:
        words = self.english[code]
        return {language: i18n.translations(language).gettext(words) for language in i18n.LANGUAGES}

    def __iter__(self) -> Iterator[str]:
        return iter(self.english)

    def __len__(self) -> int:
        return len(self.english)


LABELS = InEveryLanguage(WORDS)
ANSWER_TEXTS = InEveryLanguage(ANSWER_WORDS)
# Base colours: white text on each has a contrast of at least 4.5:1.
COLOURS: dict[str, str] = {
    CLEAR: "#a4161a",
    POSSIBLE: "#7a4f00",
    INSUFFICIENT: "#3f3d8f",
    NONE: "#2d6a4f",
    NOT_SCORED: "#595959",  # a plain grey: no conclusion, so no colour that reads as one
    UNKNOWN: "#4a4a55",
}


def shown(level: str | None, *, domain: bool = False) -> str | None:
    """The level to show: a domain that results stored before 1.1 called "unknown" had too little
    information to conclude, and says so."""
    if domain and level == UNKNOWN:
        return INSUFFICIENT
    return level


def label(level: str | None, language: str = "en") -> str:
    """A level's words in a language (English when the catalog has none); an unknown code as it is."""
    if not level:
        return ""
    words = WORDS.get(level)
    return level if words is None else i18n.translations(language).gettext(words)


def answer_label(code: str, language: str = "en", *, staff: bool = False) -> str:
    """A rating or special answer ("prefer not to answer", "not enough information") in a language; `staff`: as
    staff record it about the young person."""
    return i18n.translations(language).gettext((STAFF_ANSWER_WORDS if staff else ANSWER_WORDS)[code])
