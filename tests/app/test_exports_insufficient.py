"""Insufficient information is its own outcome on every export surface: CSV and codebook, JSON and NDJSON,
FHIR (the Observation of the result, the QuestionnaireResponse); and a declared total goes with its thresholds.

A practitioner rating under 1.1.0 where every line is 'not enough information' concludes
insufficient_information, never no_concern; a brief check-in under 1.1.0 with one 'yes' has a total of 1
against the threshold possible_concern>=1.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from app.exports import tabular
from app.interop import fhir
from app.interop.fhir_responses import answers_from_response
from app.models import Screening, ScreeningResult
from app.models_sharing import Category
from instruments.loader import Registry
from tests.app.conftest import World
from tests.app.exports_support import (
    ALL,
    BRIEF,
    PRACTITIONER,
    Scene,
    make_scene,
    mini_registry,
    parse,
    today,
    validate_fhir,
)

INSUFFICIENT = "insufficient_information"
WHY_INSUFFICIENT = "any(domains, level='insufficient_information')"
UNKNOWN_INDICATORS = "any(indicators, level='unknown')"
ONE_YES = {
    "nowhere_to_sleep": "yes",
    "debt_work": "no",
    "pay_kept": "no",
    "forced_work": "no",
    "sexual_exchange": "no",
    "kept_from_leaving": "no",
}


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    return mini_registry(tmp_path_factory)


@pytest.fixture
def scene(world: World, registry: Registry) -> Scene:
    return make_scene(world, registry)


def nothing_known(scene: Scene) -> Screening:
    """A practitioner rating under 1.1.0 with every line 'not enough information'."""
    instrument = scene.registry.get(PRACTITIONER, "1.1.0")
    assert instrument is not None
    return scene.screen(
        {item: "not_enough_info" for item in instrument.items}, instrument=PRACTITIONER, version="1.1.0"
    )


def one_yes(scene: Scene) -> Screening:
    """A brief check-in under 1.1.0 with one 'yes' (not to a key question) and five 'no'."""
    return scene.screen(ONE_YES, instrument=BRIEF, version="1.1.0")


def resources(scene: Scene, **options: Any) -> dict[str, list[dict[str, Any]]]:
    """The FHIR Bundle export, validated, by resource type."""
    bundle = json.loads(scene.export("fhir-bundle", **options))
    validate_fhir(bundle)
    found: dict[str, list[dict[str, Any]]] = {}
    for entry in bundle.get("entry", []):
        found.setdefault(entry["resource"]["resourceType"], []).append(entry["resource"])
    return found


def codebook(scene: Scene) -> dict[str, dict[str, str]]:
    """The codebook of the export `scene.export()` writes, by column (without its notes on every column)."""
    terms = (scene.b.id, today() - timedelta(days=1), today(), ALL, "care_coordination")
    book = parse(tabular.codebook(scene.db, scene.registry, scene.supervisor, *terms))
    return {e["column"]: e for e in book if e["kind"] != "note"}


def test_nothing_known_is_insufficient_information_in_the_csv_and_its_codebook(scene: Scene) -> None:
    done = nothing_known(scene)
    scene.consent(*Category)
    text = scene.export()
    header = next(csv.reader(io.StringIO(text, newline="")))
    [row] = parse(text)
    assert row["screening_id"] == done.id
    assert row["overall_level"] == INSUFFICIENT  # never no_concern
    instrument = scene.registry.get(PRACTITIONER, "1.1.0")
    assert instrument is not None
    assert {row[f"domain.{d.id}"] for d in instrument.definition.domains} == {INSUFFICIENT}
    assert row["skipped_sections"] == ";".join(s.id for s in instrument.definition.sections)
    assert row["reason_clauses"] == f"{WHY_INSUFFICIENT} | {UNKNOWN_INDICATORS}"  # both parts of the rule held
    assert (row["total"], row["total_thresholds"]) == ("", "")  # the rating declares no total
    assert {row[f"{PRACTITIONER}.{item}"] for item in instrument.items} == {"not_enough_info"}
    at = header.index("overall_level")
    assert header[at + 1 : at + 5] == ["total", "total_thresholds", "skipped_sections", "reason_clauses"]

    book = codebook(scene)
    assert list(book) == header  # every column, in order
    levels = book["overall_level"]["codes"]
    assert "insufficient_information=Not enough information to conclude" in levels
    assert "NOT a 'no concern'" in levels
    for code in ("clear_concern=", "possible_concern=", "no_concern="):
        assert code in levels
    assert "unknown" not in levels
    assert "insufficient_information=" in book["domain.housing"]["codes"]
    assert "'unknown'" in book["domain.housing"]["description"]  # how older results are written
    for column in ("total", "total_thresholds", "skipped_sections", "reason_clauses"):
        assert book[column]["kind"] == "result" and book[column]["description"]
    assert "housing=" in book["skipped_sections"]["codes"]
    assert f"{BRIEF} 1.1.0: Questions answered 'yes'" not in book["total"]["description"]  # not in this export


def test_nothing_known_is_insufficient_information_in_json_and_ndjson(scene: Scene) -> None:
    nothing_known(scene)
    scene.consent(Category.result_summary)
    [obj] = json.loads(scene.export("json"))
    assert obj["overall_level"] == obj["result"]["overall"] == INSUFFICIENT
    assert set(obj["domains"].values()) == {INSUFFICIENT}
    assert obj["result"]["total"] is None and len(obj["result"]["skipped_sections"]) == 8
    clause, unknown = obj["result"]["reason"]["clauses"]
    assert clause["source"] == WHY_INSUFFICIENT and clause["collection"] == "domains"
    assert len(clause["members"]) == 8  # domains are the result summary's: they go without item answers
    assert unknown["source"] == UNKNOWN_INDICATORS and len(unknown["members"]) == 34  # so are indicators
    [line] = [json.loads(text) for text in scene.export("ndjson").splitlines()]
    assert line["overall_level"] == INSUFFICIENT and line["result"]["reason"] == obj["result"]["reason"]


def test_nothing_known_in_fhir_is_coded_insufficient_and_its_answers_are_absent_not_coded(scene: Scene) -> None:
    done = nothing_known(scene)
    scene.consent(*Category)
    found = resources(scene)
    [result] = found["Observation"]
    [coding] = result["valueCodeableConcept"]["coding"]
    assert coding == {
        "system": fhir.LEVEL_SYSTEM,
        "code": INSUFFICIENT,
        "display": "Not enough information to conclude",
    }
    domains = [c for c in result["component"] if c["code"]["coding"][0]["system"].endswith(".domains")]
    assert len(domains) == 8
    assert {c["valueCodeableConcept"]["coding"][0]["code"] for c in domains} == {INSUFFICIENT}
    assert not [c for c in result["component"] if c["code"]["coding"][0]["code"] == "total"]

    [response] = found["QuestionnaireResponse"]
    items = [i for group in response["item"] for i in group["item"]]  # no total item: the rating declares none
    assert len(items) == 34
    for item in items:
        assert "answer" not in item  # no coding of a special answer, and never an empty list
        assert item["extension"] == [{"url": fhir.EXT_DATA_ABSENT, "valueCode": "unknown"}]
    assert '"answer"' not in json.dumps(response)

    instrument = scene.registry.get(PRACTITIONER, "1.1.0")
    assert instrument is not None
    answers, problems = answers_from_response(response, instrument)  # and it reads back as it was
    assert problems == [] and answers == {item: "not_enough_info" for item in instrument.items}
    assert response["id"] == done.id


def test_a_declined_answer_is_asked_declined_and_reads_back_as_declined(scene: Scene) -> None:
    answers = {**ONE_YES, "debt_work": "declined"}
    scene.screen(answers, instrument=BRIEF, version="1.1.0")
    scene.consent(*Category)
    [response] = resources(scene)["QuestionnaireResponse"]
    items = {i["linkId"]: i for group in response["item"] for i in group.get("item", [group])}
    assert "answer" not in items["debt_work"]
    assert items["debt_work"]["extension"] == [{"url": fhir.EXT_DATA_ABSENT, "valueCode": "asked-declined"}]
    assert items["nowhere_to_sleep"]["answer"][0]["valueCoding"]["code"] == "yes"
    instrument = scene.registry.get(BRIEF, "1.1.0")
    assert instrument is not None
    assert answers_from_response(response, instrument) == (answers, [])


def test_a_total_goes_with_its_threshold_in_csv_json_and_fhir(scene: Scene) -> None:
    done = one_yes(scene)
    scene.consent(*Category)
    [row] = parse(scene.export())
    assert row["overall_level"] == "possible_concern"
    assert (row["total"], row["total_thresholds"]) == ("1", "possible_concern>=1")
    assert row["reason_clauses"] == "total() >= 1" and row["skipped_sections"] == ""
    book = codebook(scene)
    assert f"{BRIEF} 1.1.0: Questions answered 'yes'" in book["total"]["description"]

    [obj] = json.loads(scene.export("json"))
    assert obj["screening_id"] == done.id
    assert obj["result"]["total"] == {"value": 1, "thresholds": [{"level": "possible_concern", "op": ">=", "bound": 1}]}
    [clause] = obj["result"]["reason"]["clauses"]
    assert (clause["collection"], clause["value"], clause["op"], clause["bound"]) == ("total", 1, ">=", 1)
    assert clause["members"] == ["nowhere_to_sleep"]  # item answers are exported: the question may be named

    found = resources(scene)
    [result, total] = found["Observation"]
    by_code = {c["code"]["coding"][0]["code"]: c for c in result["component"]}
    assert by_code["total"]["valueQuantity"] == {"value": 1}
    assert by_code["total"]["code"]["text"] == "Questions answered 'yes'"
    assert by_code["total-threshold"]["valueString"] == "possible_concern>=1"
    assert result["valueCodeableConcept"]["coding"][0]["code"] == "possible_concern"
    # The total is also an Observation of its own, derived from the response, which answers it too.
    assert result["hasMember"] == [{"reference": f"Observation/{total['id']}"}]
    assert total["valueQuantity"] == {"value": 1} and total["code"]["text"] == "Questions answered 'yes'"
    assert total["code"]["coding"] == [
        {"system": fhir.code_system(BRIEF, "scores"), "code": "total", "display": "Questions answered 'yes'"}
    ]
    assert total["category"][0]["coding"][0]["code"] == "survey"
    [response] = found["QuestionnaireResponse"]
    assert total["derivedFrom"] == [{"reference": f"QuestionnaireResponse/{response['id']}"}]
    [item] = [i for i in response["item"] if i["linkId"] == fhir.TOTAL_LINK]
    assert item["answer"] == [{"valueDecimal": 1}]


def test_without_item_answers_a_clause_names_no_question(scene: Scene) -> None:
    one_yes(scene)
    scene.consent(Category.result_summary)
    for fmt in ("json", "ndjson"):
        text = scene.export(fmt)
        [obj] = json.loads(text) if fmt == "json" else [json.loads(line) for line in text.splitlines()]
        [clause] = obj["result"]["reason"]["clauses"]
        assert clause["collection"] == "total" and clause["value"] == 1 and clause["members"] == []
        assert "nowhere_to_sleep" not in text and "answers" not in obj
        assert obj["result"]["total"]["value"] == 1  # the total is the result summary's
    [row] = parse(scene.export(categories=["result_summary"]))
    assert row["total"] == "1" and row["reason_clauses"] == "total() >= 1"
    found = resources(scene, categories=["result_summary"])
    assert "QuestionnaireResponse" not in found
    assert "nowhere_to_sleep" not in json.dumps(found["Observation"])  # the Questionnaire names every question


def test_a_result_stored_before_1_1_is_written_in_the_same_vocabulary(scene: Scene) -> None:
    done = scene.screen({"rate_coercion_debt": "possible_concern"}, instrument=PRACTITIONER, version="1.0.0")
    stored = scene.db.exec(select(ScreeningResult).where(ScreeningResult.screening_id == done.id)).one()
    result = scene.keys.decrypt_json(stored.result_enc, "screening_result", "result", done.id)
    for key in ("skipped_sections", "total"):
        result.pop(key, None)
    result["reason"].pop("clauses", None)
    for domain in result["domains"]:
        domain["reason"].pop("clauses", None)
        if domain["id"] != "coercion":
            domain["level"] = "unknown"  # what results stored before 1.1 called a domain with nothing known
    stored.result_enc = scene.keys.encrypt_json(result, "screening_result", "result", done.id)
    scene.db.add(stored)
    scene.db.commit()
    scene.consent(Category.result_summary)

    [row] = parse(scene.export())
    assert row["overall_level"] == "possible_concern" and row["domain.coercion"] == "possible_concern"
    assert row["domain.housing"] == INSUFFICIENT and "unknown" not in row.values()
    assert (row["total"], row["total_thresholds"], row["skipped_sections"], row["reason_clauses"]) == ("",) * 4
    [obj] = json.loads(scene.export("json"))
    assert obj["domains"]["housing"] == INSUFFICIENT
    assert {d["level"] for d in obj["result"]["domains"]} == {"possible_concern", INSUFFICIENT}
    assert obj["result"]["skipped_sections"] == [] and obj["result"]["total"] is None
    assert obj["result"]["reason"]["clauses"] == []
    [result_fhir] = resources(scene)["Observation"]
    codes = {c["valueCodeableConcept"]["coding"][0]["code"] for c in result_fhir["component"]}
    assert codes == {"possible_concern", INSUFFICIENT}
