"""One vocabulary of levels: every surface (pages, the form's rating choices, summaries through the badge
macro, the CSV codebook and value labels, FHIR, the aggregate and performance reports) shows the same words
for each level in English and Spanish, and the badges use the one colour of each level."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app import i18n, levels
from app.evaluation.charts import RATES
from app.exports import codebook
from app.interop import fhir
from app.reports.pages import STYLE
from app.screenings import forms
from app.templating import level_label, templates
from app.texts import text
from instruments.model import DECLINED, NOT_ASKED, NOT_ENOUGH_INFO

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = {  # the reviewed words: a change here is a change every reader sees
    "en": {
        "clear_concern": "Clear concern",
        "possible_concern": "Possible concern",
        "insufficient_information": "Not enough information to conclude",
        "no_concern": "No concern",
        "not_scored": "Not scored",
        "unknown": "Not enough information",
    },
    "es": {
        "clear_concern": "Preocupación clara",
        "possible_concern": "Posible preocupación",
        "insufficient_information": "Información insuficiente para concluir",
        "no_concern": "Sin preocupación",
        "not_scored": "Sin puntuación",
        "unknown": "No hay suficiente información",
    },
}
RATINGS = ("no_concern", "possible_concern", "clear_concern")


@pytest.mark.parametrize("language", ["en", "es"])
def test_every_surface_shows_the_same_words_for_each_level(language: str) -> None:
    words = EXPECTED[language]
    assert {code: levels.label(code, language) for code in words} == words
    assert {code: levels.LABELS[code][language] for code in words} == words
    badge = templates.env.from_string("{{ level_tag(code) }}")
    with i18n.rendering_in(language):
        assert {code: level_label(code) for code in words} == words  # every page and summary
        for code in levels.ORDER:
            assert f">{words[code]}</span>" in badge.render(code=code)  # the badge of pages and summaries
        assert {code: codebook.level_meanings()[code].split(":")[0] for code in levels.ORDER} == {
            code: words[code] for code in levels.ORDER
        }  # the CSV codebook
        reports = {category: str(label) for category, (label, _colour) in STYLE.items()}
        assert reports == {
            "clear": words["clear_concern"],
            "possible": words["possible_concern"],
            "insufficient": words["insufficient_information"],
            "none": words["no_concern"],
        }  # the aggregate report's charts and tables
        assert {c: str(text(label)) for c, (label, _colour, _pattern) in RATES.items()} == {
            "clear": words["clear_concern"],
            "possible": words["possible_concern"],
        }  # the performance report's charts
    # The practitioner's rating choices and the answers shown back read the same words.
    assert {code: forms.label(code, language) for code in RATINGS} == {code: words[code] for code in RATINGS}
    assert forms.label(NOT_ENOUGH_INFO, language) == words["unknown"]
    # FHIR: its rating codings carry these words in every language; a result level's display is English.
    for code in RATINGS:
        assert levels.ANSWER_TEXTS[code][language] == words[code]
    if language == "en":
        assert {code: fhir.level_concept(code)["text"] for code in levels.ORDER} == {c: words[c] for c in levels.ORDER}


def test_special_answers_have_one_set_of_words_too() -> None:
    assert [levels.answer_label(c, "es") for c in (DECLINED, NOT_ENOUGH_INFO, NOT_ASKED)] == [
        "Prefiero no responder",
        "No hay suficiente información",
        "No se preguntó",
    ]
    assert levels.answer_label(DECLINED) == "Prefer not to answer"


def test_an_unknown_code_reads_as_itself_and_none_as_nothing() -> None:
    assert levels.label("something_else", "es") == "something_else"
    assert levels.label(None) == ""


def test_the_badges_use_the_one_colour_of_each_level() -> None:
    css = (ROOT / "app" / "static" / "app.css").read_text(encoding="utf-8")
    variables = dict(re.findall(r"--([a-z]+):\s*(#[0-9a-f]{6})", css))
    found: dict[str, str] = {}
    for code, colour in re.findall(r"\.level-([a-z_]+)\s*\{\s*background:\s*([^;]+);", css):
        variable = re.fullmatch(r"var\(--([a-z]+)\)", colour.strip())
        found[code] = variables[variable.group(1)] if variable else colour.strip()
    assert found == {code: colour.lower() for code, colour in levels.COLOURS.items()}
