"""Answers that leave in our FHIR export come back the same on import, and answers to the item kinds the
Questionnaire import now keeps (quantity, dateTime, time) land on the items it made of them (issue 12).

Pure: the export's QuestionnaireResponse builder and the import's reader, no database.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from app.interop import fhir
from app.interop.fhir_import import import_fhir
from app.interop.fhir_responses import answers_from_response
from app.models import Screening, ScreeningStatus
from instruments import load
from instruments.compiled import CompiledInstrument
from tests.app.test_fhir_import_shapes import nine_items
from tests.instruments.malformed_base import BASE


def _base() -> CompiledInstrument:
    loaded_result = load(text=BASE)
    compiled, problems = loaded_result.instrument, loaded_result.problems
    assert problems == [] and compiled is not None
    return compiled


def _round_trip(instrument: CompiledInstrument, answers: dict[str, Any]) -> dict[str, Any]:
    screening = Screening(
        id="s-1",
        youth_id="y-1",
        agency_id="a-1",
        instrument_id=instrument.id,
        instrument_version=instrument.version,
        content_hash=instrument.content_hash,
        mode="interview",
        language="en",
        status=ScreeningStatus.completed,
        started_at=datetime(2026, 11, 2, tzinfo=UTC),
        completed_at=datetime(2026, 11, 2, 1, tzinfo=UTC),
    )
    response = fhir.questionnaire_response(screening, answers, instrument, "Patient/p")
    back, problems = answers_from_response(response, instrument)
    assert problems == [], problems
    return back


def test_an_empty_multiple_choice_comes_back_as_nothing_chosen_not_as_unanswered() -> None:
    instrument = _base()
    sent = {"slept_elsewhere": "no", "hours": 10, "paid_with": []}
    assert _round_trip(instrument, sent) == sent


def test_special_answers_on_number_and_choice_items_come_back_as_the_same_codes() -> None:
    instrument = _base()
    sent = {"slept_elsewhere": "declined", "hours": "not_enough_info", "paid_with": ["money", "food"]}
    assert _round_trip(instrument, sent) == sent


def _answer(link: str, **value: Any) -> dict[str, Any]:
    return {"linkId": link, "answer": [value]}


def test_quantity_date_time_and_time_answers_land_on_the_items_the_import_made_of_them() -> None:
    questionnaire = {
        "resourceType": "Questionnaire",
        "status": "draft",
        "url": "https://example.org/fhir/Questionnaire/kinds",
        "title": "Made-up measures",
        "item": [
            {
                "linkId": "weight",
                "type": "quantity",
                "text": "Weight",
                "extension": [
                    {
                        "url": "http://hl7.org/fhir/StructureDefinition/questionnaire-unit",
                        "valueCoding": {"system": "http://unitsofmeasure.org", "code": "kg", "display": "kg"},
                    }
                ],
            },
            {"linkId": "seen", "type": "dateTime", "text": "When were you last seen?"},
            {"linkId": "wake", "type": "time", "text": "When do you wake up?"},
        ],
    }
    report = import_fhir(questionnaire, {}, "kinds-check")
    assert report.loads, report.problems
    loaded_result = load(text=report.yaml)
    instrument, problems = loaded_result.instrument, loaded_result.problems
    assert problems == [] and instrument is not None
    response = {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "item": [
            _answer("weight", valueQuantity={"value": 61.5, "unit": "kg", "system": "http://unitsofmeasure.org"}),
            _answer("seen", valueDateTime="2026-10-30T14:05:00Z"),
            _answer("wake", valueTime="07:30:00"),
        ],
    }
    answers, problems = answers_from_response(response, instrument)
    assert problems == [], problems
    assert answers == {"weight": 61.5, "seen": "2026-10-30", "wake": "07:30:00"}


def test_a_read_only_item_is_filled_by_the_form_so_it_is_never_asked() -> None:
    questionnaire = nine_items()
    questionnaire["item"][0]["item"].append(
        {"linkId": "g/shown", "type": "decimal", "text": "A figure the form fills in", "readOnly": True}
    )
    report = import_fhir(questionnaire, {}, "nine-check")
    assert report.loads and "g_shown" not in report.yaml
    assert [(n.link_id, n.message) for n in report.dropped] == [
        ("g/shown", "a read-only item (filled in by the form, never by the person answering) is not asked")
    ]


def test_a_total_computed_by_a_cqf_expression_is_the_form_s_total_not_a_question() -> None:
    """R4's own PHQ-9 example computes its total with core's `cqf-expression`, not SDC's calculatedExpression:
    it must not become a question asking the youth to type in a total."""
    questionnaire = nine_items()
    group = questionnaire["item"][0]["item"]
    total = group[-1]
    assert total["linkId"] == "total"
    total["extension"][0]["url"] = "http://hl7.org/fhir/StructureDefinition/cqf-expression"
    total.pop("readOnly")
    total["text"], total["code"][0]["display"] = "What the answers add up to", "Made-up figure"  # no telling words
    report = import_fhir(questionnaire, {}, "nine-check")
    assert report.loads and report.total, report.problems
    loaded_result = load(text=report.yaml)
    instrument, problems = loaded_result.instrument, loaded_result.problems
    assert problems == [] and instrument is not None
    assert "total" not in instrument.items and instrument.declared_total is not None
    coded = instrument.declared_total.code
    assert coded is not None and (coded.system, coded.code) == ("http://example.org/fhir/terms", "T-100")
