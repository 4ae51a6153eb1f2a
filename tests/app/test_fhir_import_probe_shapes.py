"""Importing FHIR Questionnaires in shapes an outside probe found imported badly (issue 12: "PHQ-9 and
GAD-7 as published score their published totals"; "of the real published questionnaires that are valid
R4, at least 80% import").

Each shape is that of a real published file, with made-up wording and codes: weights in a contained
ValueSet's expansion as R5 `property` entries or their R4 cross-version extension (the SDC PHQ-9
example); a number item whose text and code call it the total, without any expression, beside
`ordinalValue` weights (LHC-Forms' GAD-7); a UUID resource id and no name; answer Codings with only a
display (R4 allows them; LHC-Forms' form builder writes them).
"""

from __future__ import annotations

from typing import Any

import pytest

from app.interop.fhir_import import default_id, import_fhir
from app.interop.fhir_responses import answers_from_response
from instruments import load
from scoring import score
from scoring.answers import visible_only

TERMS = "http://example.org/fhir/made-up-terms"
SCORES = "http://example.org/fhir/made-up-scores"
CONTAINS_PROPERTY = "http://hl7.org/fhir/5.0/StructureDefinition/extension-ValueSet.expansion.contains.property"
EXPANSION_PROPERTY = "http://hl7.org/fhir/5.0/StructureDefinition/extension-ValueSet.expansion.property"
ITEM_WEIGHT_URI = "http://hl7.org/fhir/concept-properties#itemWeight"
ORDINAL = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
PREFIX = "http://hl7.org/fhir/StructureDefinition/questionnaire-optionPrefix"
UNIT = "http://hl7.org/fhir/StructureDefinition/questionnaire-unit"
CALCULATED = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-calculatedExpression"
ANSWERS = [("rarely", "Hardly ever"), ("sometimes", "Now and then"), ("often", "Most days"), ("always", "All the time")]


def _loaded(report: Any) -> Any:
    assert report.loads, report.problems
    loaded_result = load(text=report.yaml)
    instrument, problems = loaded_result.instrument, loaded_result.problems
    assert instrument is not None and problems == []
    return instrument


def _said(report: Any, link: str) -> list[str]:
    return [n.message for n in [*report.changed, *report.dropped] if n.link_id == link]


def _extremes(instrument: Any) -> tuple[Any, Any]:
    """The totals of all-lowest and all-highest weighted answers."""
    choices = [i for i in instrument.items.values() if getattr(i, "options", None)]

    def answers(pick: Any) -> dict[str, str]:
        return {i.id: pick(i.options, key=lambda o: o.weight or 0).code for i in choices}

    return score(instrument, answers(min)).total, score(instrument, answers(max)).total


def _weighted_entry(code: str, label: str, weight: int, shape: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"system": TERMS, "code": code, "display": label}
    if shape == "r4-extension":  # R5's expansion.contains.property, written in R4 (as the SDC PHQ-9 example)
        parts = [{"url": "code", "valueCode": "itemWeight"}, {"url": "value[x]", "valueDecimal": weight}]
        entry["extension"] = [{"url": CONTAINS_PROPERTY, "extension": parts}]
    elif shape == "r5-property":
        entry["property"] = [{"code": "itemWeight", "valueDecimal": weight}]
    else:  # a local property code, declared by the expansion as an item weight
        entry["property"] = [{"code": "pts", "valueInteger": weight}]
    return entry


def nine_items_weighted_in_the_expansion(shape: str) -> dict[str, Any]:
    """A made-up nine-item form in the shape of the SDC PHQ-9 example: a contained ValueSet whose compose
    lists the answers without weights and whose expansion carries them; a calculated quantity total."""
    expansion: dict[str, Any] = {
        "timestamp": "2024-01-01T00:00:00Z",
        "contains": [_weighted_entry(c, label, w, shape) for w, (c, label) in enumerate(ANSWERS)],
    }
    if shape == "r4-extension":
        declared = [{"url": "code", "valueCode": "itemWeight"}, {"url": "uri", "valueUri": ITEM_WEIGHT_URI}]
        expansion["extension"] = [{"url": EXPANSION_PROPERTY, "extension": declared}]
    elif shape == "declared-code":
        expansion["property"] = [{"code": "pts", "uri": ITEM_WEIGHT_URI}]
    value_set = {
        "resourceType": "ValueSet",
        "id": "howoften",
        "status": "active",
        "compose": {"include": [{"system": TERMS, "concept": [{"code": c, "display": t} for c, t in ANSWERS]}]},
        "expansion": expansion,
    }
    questions = [
        {"linkId": f"G/Q{n}", "text": f"Made-up question {n}", "type": "choice", "answerValueSet": "#howoften"}
        for n in range(1, 10)
    ]
    total = {
        "linkId": "G/TS",
        "text": "Made-up nine total score",
        "type": "quantity",
        "code": [{"system": SCORES, "code": "nine-total", "display": "Made-up nine total score"}],
        "extension": [
            {
                "url": CALCULATED,
                "valueExpression": {
                    "language": "text/fhirpath",
                    "expression": "%resource.item.where(linkId!='G/TS').answer.value.weight().sum()",
                },
            }
        ],
    }
    return {
        "resourceType": "Questionnaire",
        "id": "made-up-nine",
        "name": "MadeUpNine",
        "status": "active",
        "url": "http://example.org/fhir/Questionnaire/made-up-nine",
        "contained": [value_set],
        "item": [{"linkId": "G", "text": "Over the last while", "type": "group", "item": [*questions, total]}],
    }


@pytest.mark.parametrize("shape", ["r4-extension", "r5-property", "declared-code"])
def test_weights_in_a_value_set_expansions_properties_score_the_published_total_0_to_27(shape: str) -> None:
    report = import_fhir(nine_items_weighted_in_the_expansion(shape))
    instrument = _loaded(report)
    assert [o.weight for o in instrument.items["g_q1"].options] == [0, 1, 2, 3]
    lowest, highest = _extremes(instrument)
    assert (lowest.value, highest.value) == (0, 27)
    total = instrument.definition.scoring.total
    assert total.code.system == SCORES and total.code.code == "nine-total"
    assert "g_ts" not in instrument.items and report.total
    assert any("calculated total" in m for m in _said(report, "G/TS"))
    assert "items, answers and weights are the source's" in instrument.definition.provenance.statement["en"]


def test_the_provenance_claims_weights_only_when_the_answers_carry_some() -> None:
    form = nine_items_weighted_in_the_expansion("r5-property")
    for entry in form["contained"][0]["expansion"]["contains"]:
        del entry["property"]
    report = import_fhir(form)
    statement = _loaded(report).definition.provenance.statement["en"]
    assert "weights" not in statement and "items and answers are the source's" in statement
    assert any("no answer carries a weight" in m for m in _said(report, "G/TS"))


def seven_items_with_a_total_item(weighted: bool = True) -> dict[str, Any]:
    """A made-up seven-item form in the shape of LHC-Forms' GAD-7: ordinalValue on each answerOption, a
    decimal item coded and named as the total score, with no expression; a UUID id and no name."""

    def option(weight: int, code: str, label: str) -> dict[str, Any]:
        option: dict[str, Any] = {"valueCoding": {"system": TERMS, "code": code, "display": label}}
        option["extension"] = [{"url": PREFIX, "valueString": str(weight)}]
        if weighted:
            option["extension"].append({"url": ORDINAL, "valueDecimal": weight})
        return option

    questions = [
        {
            "linkId": f"/q-{n}",
            "text": f"Made-up worry {n}",
            "type": "choice",
            "code": [{"system": SCORES, "code": f"worry-{n}", "display": f"Made-up worry {n}"}],
            "required": False,
            "answerOption": [option(w, c, label) for w, (c, label) in enumerate(ANSWERS)],
        }
        for n in range(1, 8)
    ]
    total = {
        "linkId": "/seven-total",
        "text": "Made-up seven item total score",
        "type": "decimal",
        "code": [{"system": SCORES, "code": "seven-total", "display": "Made-up seven item total score"}],
        "extension": [{"url": UNIT, "valueCoding": {"system": "http://unitsofmeasure.org", "code": "{score}"}}],
        "required": False,
    }
    return {
        "resourceType": "Questionnaire",
        "id": "5b1f0c2e-8a47-4f7e-9d3a-2c6e1b0f9a11",
        "title": "Made-up seven worries (MSW-7)",
        "status": "draft",
        "code": [{"system": SCORES, "code": "seven-panel", "display": "Made-up seven worries"}],
        "item": [*questions, total],
    }


def test_a_number_item_that_says_it_is_the_total_of_a_weighted_form_is_its_total_not_a_question() -> None:
    report = import_fhir(seven_items_with_a_total_item())
    instrument = _loaded(report)
    assert "seven_total" not in instrument.items and len(instrument.items) == 7
    assert "/seven-total" not in [k.link_id for k in report.kept]
    total = instrument.definition.scoring.total
    assert total.code.code == "seven-total" and total.label["en"] == "Made-up seven item total score"
    lowest, highest = _extremes(instrument)
    assert (lowest.value, highest.value) == (0, 21)
    assert any(
        m.startswith("taken as the form's total: its text/code says it is a score")
        for m in _said(report, "/seven-total")
    )
    # Its id comes from the title, not the UUID a form builder gave it.
    assert report.instrument_id == "made-up-seven-worries-msw-7"


def test_without_weights_a_number_item_named_a_total_is_still_asked() -> None:
    report = import_fhir(seven_items_with_a_total_item(weighted=False))
    instrument = _loaded(report)
    assert instrument.items["seven_total"].type == "number" and instrument.definition.scoring is None
    assert not any("total" in m for m in _said(report, "/seven-total"))


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"name": "MadeUpForm", "title": "A made-up form", "id": "made-up"}, "madeupform"),
        ({"title": "A made-up form", "id": "made-up"}, "a-made-up-form"),
        ({"id": "made-up-7"}, "made-up-7"),
        ({"title": "A made-up form", "id": "5b1f0c2e-8a47-4f7e-9d3a-2c6e1b0f9a11"}, "a-made-up-form"),
        ({"id": "5b1f0c2e-8a47-4f7e-9d3a-2c6e1b0f9a11"}, "imported"),
        ({"id": "5674304189455"}, "imported"),
        ({"title": "7 made-up items"}, "imported-7-made-up-items"),
    ],
)
def test_the_default_instrument_id_prefers_name_then_title_then_a_readable_id(
    fields: dict[str, str], expected: str
) -> None:
    assert default_id({"resourceType": "Questionnaire", **fields}) == expected


def display_only_options() -> dict[str, Any]:
    """A made-up form in the shape of LHC-Forms' builder: answer Codings with only a display, and an
    enableWhen on one of them."""
    places = ["Coastal / Northern", "Inland", "Islands"]
    return {
        "resourceType": "Questionnaire",
        "status": "draft",
        "title": "Made-up origins",
        "item": [
            {
                "linkId": "5674304189455",
                "text": "Where do you come from?",
                "type": "choice",
                "answerOption": [{"valueCoding": {"display": p}} for p in places],
            },
            {
                "linkId": "which-island",
                "text": "Which island?",
                "type": "string",
                "enableWhen": [{"question": "5674304189455", "operator": "=", "answerCoding": {"display": "Islands"}}],
            },
        ],
    }


def test_answer_codings_with_only_a_display_are_kept_with_codes_made_from_the_display() -> None:
    report = import_fhir(display_only_options())
    instrument = _loaded(report)
    origin = instrument.items["q_5674304189455"]
    assert [(o.code, o.label["en"]) for o in origin.options] == [
        ("coastal_northern", "Coastal / Northern"),
        ("inland", "Inland"),
        ("islands", "Islands"),
    ]
    assert all(o.coding is None for o in origin.options)
    said = _said(report, "5674304189455")
    assert any("'Inland' has no code (only a display): its code is 'inland'" in m for m in said)
    # The enableWhen on a display-only answer still shows the follow-up only after that answer.
    island = {"q_5674304189455": "islands", "which_island": "A made-up isle"}
    assert visible_only(instrument, island) == island
    assert visible_only(instrument, {**island, "q_5674304189455": "inland"}) == {"q_5674304189455": "inland"}
    # A partner's response to the same form answers with the display alone: it lands on the option.
    response = {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "item": [{"linkId": "5674304189455", "answer": [{"valueCoding": {"display": "Coastal / Northern"}}]}],
    }
    answers, problems = answers_from_response(response, instrument)
    assert answers == {"q_5674304189455": "coastal_northern"} and problems == []
