"""One vocabulary of result levels: their order, their words in English and Spanish, their colours.

Every page, summary, export and report takes its level words from here, so "not enough information
to conclude" reads the same everywhere and can never fall back to "no concern".
"""

from __future__ import annotations

from instruments.model import INSUFFICIENT as INSUFFICIENT  # re-exported: the one vocabulary of levels
from instruments.model import NOT_SCORED as NOT_SCORED

CLEAR, POSSIBLE, NONE = "clear_concern", "possible_concern", "no_concern"
# The order in which levels are listed: concerns first, and "insufficient information" before
# "no concern" so that it is never read as a kind of it. "Not scored" (a form with no scoring rules)
# comes after all of them: it is no conclusion at all, not a kind of "no concern".
ORDER: tuple[str, ...] = (CLEAR, POSSIBLE, INSUFFICIENT, NONE, NOT_SCORED)
LABELS: dict[str, dict[str, str]] = {
    CLEAR: {"en": "Clear concern", "es": "Preocupación clara"},
    POSSIBLE: {"en": "Possible concern", "es": "Posible preocupación"},
    INSUFFICIENT: {"en": "Not enough information to conclude", "es": "Información insuficiente para concluir"},
    NONE: {"en": "No concern", "es": "Sin preocupación"},
    NOT_SCORED: {"en": "Not scored", "es": "Sin puntuación"},
    "unknown": {"en": "Not enough information", "es": "No hay suficiente información"},  # an indicator
}
# Base colours: white text on each has a contrast of at least 4.5:1.
COLOURS: dict[str, str] = {
    CLEAR: "#a4161a",
    POSSIBLE: "#7a4f00",
    INSUFFICIENT: "#3f3d8f",
    NONE: "#2d6a4f",
    NOT_SCORED: "#595959",  # a plain grey: no conclusion, so no colour that reads as one
    "unknown": "#4a4a55",
}


def shown(level: str | None, *, domain: bool = False) -> str | None:
    """The level to show: a domain that results stored before 1.1 called "unknown" had too little
    information to conclude, and says so."""
    if domain and level == "unknown":
        return INSUFFICIENT
    return level


def label(level: str | None, language: str = "en") -> str:
    """A level's words in a language (English when the language has none)."""
    if not level:
        return ""
    words = LABELS.get(level)
    if words is None:
        return level
    return words.get(language) or words["en"]
