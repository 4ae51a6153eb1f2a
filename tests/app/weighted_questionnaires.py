"""Made-up FHIR Questionnaires in the shape the PHQ-9 and GAD-7 are published in (issue 12 §1): a contained
answerValueSet of four answers weighted 0..3 by `itemWeight` on the concepts, and a calculated total item
with a code. The wording and the codes are this file's own, not the published ones.
"""

from __future__ import annotations

from typing import Any

WEIGHT = "http://hl7.org/fhir/StructureDefinition/itemWeight"
CALCULATED = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-calculatedExpression"
TERMS = "urn:example:made-up-terms"  # stands in for LOINC
ANSWERS_SYSTEM = "urn:example:made-up-answers"
FREQUENCY = ["Not at all", "A few days", "Over half the days", "Almost daily"]


def _questionnaire(name: str, prefix: str, count: int, topic: str) -> dict[str, Any]:
    concepts = [
        {"code": f"MA-{n}", "display": label, "extension": [{"url": WEIGHT, "valueDecimal": n}]}
        for n, label in enumerate(FREQUENCY)
    ]
    items: list[dict[str, Any]] = [
        {
            "linkId": f"/{prefix}-{n}",
            "type": "choice",
            "text": f"Lately, how often was made-up {topic} number {n} a bother?",
            "code": [{"system": TERMS, "code": f"{prefix}-{n}"}],
            "answerValueSet": "#frequency",
        }
        for n in range(1, count + 1)
    ]
    items.append(
        {
            "linkId": f"/{prefix}-total",
            "type": "integer",
            "readOnly": True,
            "text": f"Made-up {topic} total",
            "code": [{"system": TERMS, "code": f"{prefix}-TOTAL", "display": f"Made-up {topic} total"}],
            "extension": [
                {
                    "url": CALCULATED,
                    "valueExpression": {
                        "language": "text/fhirpath",
                        "expression": "%resource.item.answer.score().sum()",
                    },
                }
            ],
        }
    )
    return {
        "resourceType": "Questionnaire",
        "url": f"https://example.org/fhir/Questionnaire/{name}",
        "version": "1.0.0",
        "name": name,
        "title": f"Made-up {topic} questions",
        "status": "active",
        "code": [{"system": TERMS, "code": f"{prefix}-PANEL"}],
        "contained": [
            {
                "resourceType": "ValueSet",
                "id": "frequency",
                "status": "active",
                "compose": {"include": [{"system": ANSWERS_SYSTEM, "concept": concepts}]},
            }
        ],
        "item": items,
    }


def nine_item_form() -> dict[str, Any]:
    """Nine weighted questions (0..3 each): totals from 0 to 27."""
    return _questionnaire("made-up-nine", "NINE", 9, "worry")


def seven_item_form() -> dict[str, Any]:
    """Seven weighted questions (0..3 each): totals from 0 to 21."""
    return _questionnaire("made-up-seven", "SEVEN", 7, "unease")


def item_ids(prefix: str, count: int) -> list[str]:
    """The TellOnce ids the importer gives the questions (`/NINE-1` -> `nine_1`)."""
    return [f"{prefix.lower()}_{n}" for n in range(1, count + 1)]
