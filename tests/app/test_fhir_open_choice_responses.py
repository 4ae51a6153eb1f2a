"""Free answers to open-choice questions in a partner's QuestionnaireResponse (issue 12 §1–2).

The questionnaire import asks an open-choice item as a choice plus a short-text item `<id>_other`; the
response import puts a free answer (a valueString, or a valueCoding that is none of the options) into that
item, and the choice to its own "other" option when it has one, instead of refusing the response. Made-up
questionnaire and codes.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from app import crypto
from app.interop.fhir_import import import_fhir
from app.interop.fhir_responses import answers_from_response, import_responses
from app.main import loaded_instruments
from app.models import Screening
from app.screenings import service as screenings
from instruments import Registry, load
from instruments.compiled import CompiledInstrument
from tests.app import fhir_support as support
from tests.app.conftest import World

PETS = "urn:example:made-up-pets"
URL = "https://example.org/fhir/Questionnaire/made-up-open-choice"


def _options(*codes: str) -> list[dict[str, Any]]:
    return [{"valueCoding": {"system": PETS, "code": code, "display": code.title()}} for code in codes]


def questionnaire() -> dict[str, Any]:
    return {
        "resourceType": "Questionnaire",
        "url": URL,
        "version": "1.0.0",
        "name": "made-up-open-choice",
        "status": "active",
        "item": [
            {"linkId": "pet", "type": "open-choice", "text": "Which pet?", "answerOption": _options("dog", "cat")},
            {
                "linkId": "hobbies",
                "type": "open-choice",
                "repeats": True,
                "text": "Which hobbies?",
                "answerOption": _options("music", "football"),
            },
            {
                "linkId": "place",
                "type": "open-choice",
                "text": "Where do you feel at ease?",
                "answerOption": _options("home", "school", "other"),
            },
            {"linkId": "colour", "type": "choice", "text": "Which colour?", "answerOption": _options("red", "blue")},
        ],
    }


def instrument() -> CompiledInstrument:
    report = import_fhir(questionnaire(), None)
    assert report.loads, report.problems
    loaded_result = load(text=report.yaml)
    compiled, problems = loaded_result.instrument, loaded_result.problems
    assert compiled is not None and problems == []
    assert {"pet_other", "hobbies_other", "place_other"} <= set(compiled.items)
    return compiled


def response(answers: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    return {
        "resourceType": "QuestionnaireResponse",
        "id": "partner-open-1",
        "questionnaire": f"{URL}|1.0.0",
        "status": "completed",
        "authored": "2025-03-04T10:00:00Z",
        "item": [{"linkId": k, "answer": v} for k, v in answers.items()],
    }


FREE = {
    "pet": [{"valueString": "a lizard"}],
    "hobbies": [
        {"valueCoding": {"system": PETS, "code": "music"}},
        {"valueCoding": {"system": "urn:example:elsewhere", "code": "CHS", "display": "Chess"}},
    ],
    "place": [{"valueString": "the library"}],
}


def test_free_answers_go_to_the_other_item_and_the_choice_keeps_what_it_offers() -> None:
    answers, problems = answers_from_response(response(FREE), instrument())
    assert problems == []
    assert answers["pet_other"] == "a lizard" and "pet" not in answers  # no option was chosen
    assert (answers["hobbies"], answers["hobbies_other"]) == (["music"], "Chess")
    assert (answers["place"], answers["place_other"]) == ("other", "the library")  # its own "other" option


def test_an_answer_that_is_one_of_the_options_stays_the_option() -> None:
    given = {"pet": [{"valueString": "dog"}], "hobbies": [{"valueCoding": {"system": PETS, "code": "football"}}]}
    answers, problems = answers_from_response(response(given), instrument())
    assert problems == []
    assert answers == {"pet": "dog", "hobbies": ["football"]}


def test_a_closed_choice_still_refuses_an_answer_it_does_not_offer() -> None:
    _answers, problems = answers_from_response(response({"colour": [{"valueString": "green"}]}), instrument())
    assert [p.link_id for p in problems] == ["colour"]


def test_a_free_answer_given_twice_is_a_problem() -> None:
    twice = response(FREE)
    twice["item"].insert(0, {"linkId": "pet_other", "answer": [{"valueString": "a snake"}]})
    _answers, problems = answers_from_response(twice, instrument())
    assert [p.link_id for p in problems] == ["pet"]


def test_a_response_with_free_answers_is_imported_onto_the_youth(world: World, session: Session) -> None:
    partner = world.user(world.agency("South", "shelter"))
    theirs = support.youth(session, partner, "S-7")
    registry = Registry(dict(loaded_instruments().instruments))
    compiled = instrument()
    registry.instruments[compiled.key] = compiled
    sent = support.about([response(FREE)], support.pseudonym_for(session, theirs, partner.agency_id))[0]
    keys = crypto.get_key_ring()
    report = import_responses(
        session, keys, registry, partner, {"resourceType": "Bundle", "entry": [{"resource": sent}]}, theirs.id
    )
    assert report.rejected == [] and len(report.imported) == 1
    stored = session.get(Screening, report.imported[0].screening_id)
    assert stored is not None
    values = screenings.answer_values(session, keys, stored)
    assert values["pet_other"] == "a lizard" and values["place"] == "other" and values["hobbies_other"] == "Chess"
