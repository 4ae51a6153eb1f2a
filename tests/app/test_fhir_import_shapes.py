"""Importing FHIR Questionnaires in the shapes they are published in (issue 12 §1).

Every questionnaire here is made up for the test (own wording, own codes) in a published *shape*:
answerOption with itemWeight, contained and bundle-level answerValueSets with weights on concepts,
ordinalValue, enableBehavior any/all/missing, nested groups, calculated totals, unweighted forms.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from app.cli import cli
from app.interop.fhir_import import import_fhir
from app.models import Role
from instruments import load
from instruments.model import NOT_SCORED
from scoring import score
from tests.app.conftest import World, bearer, sign_in

WEIGHT = "http://hl7.org/fhir/StructureDefinition/itemWeight"
ORDINAL = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
CALCULATED = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-calculatedExpression"
TERMS = "http://example.org/fhir/terms"  # a made-up terminology standing in for LOINC
OFTEN = "http://example.org/fhir/CodeSystem/how-often"
OFTEN_VS = "http://example.org/fhir/ValueSet/how-often"
LABELS = ["Never", "Some days", "Most days", "Every day"]


def _concepts(weights: bool = True) -> list[dict[str, Any]]:
    return [
        {
            "code": f"often-{n}",
            "display": label,
            **({"extension": [{"url": WEIGHT, "valueDecimal": n}]} if weights else {}),
        }
        for n, label in enumerate(LABELS)
    ]


def _total(link: str = "total") -> dict[str, Any]:
    return {
        "linkId": link,
        "type": "integer",
        "readOnly": True,
        "text": "Sum of the answers",
        "code": [{"system": TERMS, "code": "T-100", "display": "Made-up total"}],
        "extension": [
            {
                "url": CALCULATED,
                "valueExpression": {"language": "text/fhirpath", "expression": "answers().sum(value.weight())"},
            }
        ],
    }


def nine_items() -> dict[str, Any]:
    """A 9-item form with a contained answerValueSet whose concepts carry weights 0..3, and a calculated total."""
    questions = [
        {
            "linkId": f"g/q{n}",
            "type": "choice",
            "text": f"How often did made-up thing {n} happen?",
            "code": [{"system": TERMS, "code": f"Q-{n}"}],
            "answerValueSet": "#often",
        }
        for n in range(1, 10)
    ]
    return {
        "resourceType": "Questionnaire",
        "url": "https://example.org/fhir/Questionnaire/nine-made-up",
        "version": "3.1.0",
        "name": "NineMadeUp",
        "title": "Nine made-up questions",
        "status": "active",
        "code": [{"system": TERMS, "code": "P-9", "display": "Made-up panel"}],
        "contained": [
            {
                "resourceType": "ValueSet",
                "id": "often",
                "status": "active",
                "compose": {"include": [{"system": OFTEN, "concept": _concepts()}]},
            }
        ],
        "item": [{"linkId": "g", "type": "group", "text": "Over two weeks", "item": [*questions, _total()]}],
    }


def seven_items_bundle(weights_on: str = "codesystem") -> dict[str, Any]:
    """A 7-item form whose answerValueSet is a canonical given in the same Bundle, weights on the CodeSystem."""
    code_system = {"resourceType": "CodeSystem", "url": OFTEN, "status": "active", "content": "complete"}
    code_system["concept"] = _concepts(weights_on == "codesystem")
    value_set = {
        "resourceType": "ValueSet",
        "url": OFTEN_VS,
        "status": "active",
        "compose": {"include": [{"system": OFTEN}]},
    }
    questionnaire = {
        "resourceType": "Questionnaire",
        "url": "https://example.org/fhir/Questionnaire/seven-made-up",
        "status": "active",
        "title": "Seven made-up questions",
        "item": [
            *(
                {"linkId": f"s{n}", "type": "choice", "text": f"Made-up worry {n}", "answerValueSet": OFTEN_VS}
                for n in range(1, 8)
            ),
            _total("sum"),
        ],
    }
    entries = [questionnaire, value_set, code_system]
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in entries]}


def _loaded(report: Any) -> Any:
    assert report.loads, report.problems
    loaded_result = load(text=report.yaml)
    instrument, problems = loaded_result.instrument, loaded_result.problems
    assert instrument is not None and problems == []
    return instrument


def test_a_nine_item_form_with_a_contained_answer_value_set_scores_its_total_0_to_27() -> None:
    report = import_fhir(nine_items(), {"possible_concern": 10, "clear_concern": 20})
    instrument = _loaded(report)
    d = instrument.definition
    assert (d.id, d.version) == ("ninemadeup", "3.1.0")
    assert d.derived_from is not None and (d.derived_from.url, d.derived_from.version) == (
        "https://example.org/fhir/Questionnaire/nine-made-up",
        "3.1.0",
    )
    assert [(c.system, c.code) for c in d.codes] == [(TERMS, "P-9")]
    assert d.provenance.validated is False and d.provenance.citation is None
    assert "not validated" in d.provenance.statement["en"]
    first = instrument.items["g_q1"]
    assert [(c.system, c.code) for c in first.codes] == [(TERMS, "Q-1")]
    assert [(o.code, o.weight, o.coding.system, o.coding.code) for o in first.options][-1] == (
        "often_3",
        3,
        OFTEN,
        "often-3",
    )
    assert "total" not in instrument.items  # the calculated total is not asked
    assert d.scoring.total is not None and d.scoring.total.code is not None and d.scoring.total.code.code == "T-100"
    assert any(n.link_id == "total" for n in report.changed)

    highest = score(instrument, {f"g_q{n}": "often_3" for n in range(1, 10)})
    assert highest.total is not None and highest.total.value == 27 and highest.overall == "clear_concern"
    mixed = {"g_q1": "often_1", "g_q2": "often_2", "g_q3": "often_0", "g_q4": "often_3", "g_q5": "often_1"}
    result = score(instrument, mixed)
    assert result.total is not None and result.total.value == 7 and result.overall == "no_concern"


def test_a_seven_item_form_with_weights_on_a_bundled_code_system_scores_0_to_21() -> None:
    report = import_fhir(seven_items_bundle(), {"possible_concern": 5, "clear_concern": 15}, "seven-check")
    instrument = _loaded(report)
    assert [o.label["en"] for o in instrument.items["s1"].options] == LABELS  # displays from the CodeSystem
    highest = score(instrument, {f"s{n}": "often_3" for n in range(1, 8)})
    assert highest.total is not None and highest.total.value == 21 and highest.overall == "clear_concern"
    mixed = score(instrument, {"s1": "often_2", "s2": "often_1", "s3": "often_3", "s7": "often_0"})
    assert mixed.total is not None and mixed.total.value == 6 and mixed.overall == "possible_concern"


def test_answer_value_sets_given_beside_the_questionnaire_and_missing_ones() -> None:
    bundle = seven_items_bundle()
    questionnaire, value_set, code_system = (e["resource"] for e in bundle["entry"])
    beside = import_fhir(questionnaire, {"possible_concern": 5}, "seven-check", value_sets=[value_set, code_system])
    assert _loaded(beside).items["s1"].options[3].weight == 3
    missing = import_fhir(questionnaire, {}, "seven-check")  # nothing to read its answers from
    assert not missing.loads and {n.link_id for n in missing.dropped} >= {f"s{n}" for n in range(1, 8)}
    assert all(OFTEN_VS in n.message for n in missing.dropped if n.link_id != "sum")


def _one_list_missing() -> dict[str, Any]:
    """The nine-item form with its last question's answers named by a canonical the upload does not hold."""
    questionnaire = nine_items()
    last = questionnaire["item"][0]["item"][8]
    last["answerValueSet"] = "http://example.org/fhir/ValueSet/not-uploaded"
    return questionnaire


def test_a_question_whose_answer_list_is_not_uploaded_is_left_out_and_the_import_says_incomplete(
    tmp_path: Path,
) -> None:
    report = import_fhir(_one_list_missing(), {}, "nine-check")
    assert report.loads and len(report.kept) == 8  # the other questions still import
    assert [(m.value_set, m.link_ids) for m in report.missing_answers] == [
        ("http://example.org/fhir/ValueSet/not-uploaded", ["g/q9"])
    ]
    assert import_fhir(nine_items(), {}, "nine-check").missing_answers == []
    ran = CliRunner().invoke(cli, ["instruments", "import-fhir", str(_write(tmp_path, _one_list_missing()))])
    assert ran.exit_code == 0, ran.output
    assert "Incomplete: the answer list http://example.org/fhir/ValueSet/not-uploaded is not in the file" in ran.output
    assert "g/q9 were left out" in ran.output


def test_expansion_contains_and_ordinal_value_give_weights() -> None:
    questionnaire = nine_items()
    questionnaire["contained"][0] = {
        "resourceType": "ValueSet",
        "id": "often",
        "status": "active",
        "expansion": {
            "timestamp": "2024-01-01",
            "contains": [
                {
                    "system": OFTEN,
                    "code": f"often-{n}",
                    "display": label,
                    "extension": [{"url": ORDINAL, "valueDecimal": n}],
                }
                for n, label in enumerate(LABELS)
            ],
        },
    }
    instrument = _loaded(import_fhir(questionnaire, {"clear_concern": 9}))
    assert [o.weight for o in instrument.items["g_q9"].options] == [0, 1, 2, 3]


def _option(code: str, label: str, weight: float, url: str = WEIGHT) -> dict[str, Any]:
    return {
        "valueCoding": {"system": TERMS, "code": code, "display": label},
        "extension": [{"url": url, "valueDecimal": weight}],
    }


def answer_options() -> dict[str, Any]:
    return {
        "resourceType": "Questionnaire",
        "status": "active",
        "title": "Answer options",
        "item": [
            {
                "linkId": "a",
                "type": "choice",
                "text": "Weighted",
                "answerOption": [_option("A-0", "Low", 0), _option("A-2", "High", 2)],
            },
            {
                "linkId": "b",
                "type": "choice",
                "text": "Ordinal",
                "answerOption": [_option("B-0", "No", 0, ORDINAL), _option("B-1", "Yes", 1.5, ORDINAL)],
            },
            {
                "linkId": "c",
                "type": "choice",
                "text": "Strings",
                "answerOption": [{"valueString": "red"}, {"valueString": "blue"}],
            },
            {
                "linkId": "d",
                "type": "choice",
                "text": "Numbers",
                "answerOption": [{"valueInteger": 1}, {"valueInteger": 2}],
            },
            {
                "linkId": "e",
                "type": "choice",
                "text": "Dates",
                "answerOption": [{"valueDate": "2024-01-01"}, {"valueDate": "2024-06-01"}],
            },
        ],
    }


def test_answer_options_of_every_value_type_keep_their_codes_and_weights() -> None:
    instrument = _loaded(import_fhir(answer_options(), {"possible_concern": 2}, "answer-options"))
    a, b = instrument.items["a"], instrument.items["b"]
    assert [(o.code, o.weight, o.coding.code) for o in a.options] == [("a_0", 0, "A-0"), ("a_2", 2, "A-2")]
    assert [o.weight for o in b.options] == [0, 1.5]
    assert [o.code for o in instrument.items["c"].options] == ["red", "blue"]
    assert [o.code for o in instrument.items["d"].options] == ["c_1", "c_2"]
    assert [o.label["en"] for o in instrument.items["e"].options] == ["2024-01-01", "2024-06-01"]
    assert score(instrument, {"a": "a_2", "b": "b_1"}).total.value == 3.5


def test_a_form_without_weights_is_imported_unscored_and_concludes_no_level() -> None:
    bundle = seven_items_bundle(weights_on="nowhere")
    report = import_fhir(bundle, None, "seven-unweighted")
    instrument = _loaded(report)
    assert report.scored is False and instrument.definition.scoring is None
    assert any(n.link_id == "sum" for n in report.dropped)  # a total with nothing to sum
    assert score(instrument, {"s1": "often_3"}).overall == NOT_SCORED
    refused = import_fhir(bundle, {"possible_concern": 3}, "seven-unweighted")
    assert not refused.loads and "no answer option carries a weight" in refused.problems[0].message


def _conditions() -> dict[str, Any]:
    yes = {"question": "seen", "operator": "=", "answerBoolean": True}
    many = {"question": "count", "operator": ">=", "answerInteger": 3}
    return {
        "resourceType": "Questionnaire",
        "status": "active",
        "title": "Conditions",
        "item": [
            {"linkId": "seen", "type": "boolean", "text": "Seen?"},
            {"linkId": "count", "type": "integer", "text": "How many?"},
            {"linkId": "any", "type": "string", "text": "Any", "enableWhen": [yes, many], "enableBehavior": "any"},
            {"linkId": "all", "type": "string", "text": "All", "enableWhen": [yes, many], "enableBehavior": "all"},
            {"linkId": "missing", "type": "string", "text": "Missing", "enableWhen": [yes, many]},
            {
                "linkId": "outer",
                "type": "group",
                "text": "Outer group",
                "enableWhen": [yes],
                "item": [
                    {
                        "linkId": "inner",
                        "type": "group",
                        "text": "Inner group",
                        "enableWhen": [many],
                        "enableBehavior": "all",
                        "item": [
                            {"linkId": "deep", "type": "text", "text": "Deep"},
                            {"linkId": "when", "type": "date", "text": "When"},
                        ],
                    }
                ],
            },
        ],
    }


def test_enable_behavior_any_all_and_missing_and_nested_groups() -> None:
    report = import_fhir(_conditions(), None, "conditions")
    instrument = _loaded(report)
    ifs = {i.id: i.show_if for i in instrument.definition.items}
    assert ifs["any"] == "(seen == 'yes') or (count >= 3)"
    assert ifs["all"] == "(seen == 'yes') and (count >= 3)"
    assert ifs["missing"] == ifs["any"]  # R4 requires enableBehavior; STU3 meant "any"
    assert [n.link_id for n in report.changed if "enableBehavior" in n.message] == ["missing"]
    assert {"outer", "inner"} & set(instrument.items) == set()  # the top group is a section
    assert instrument.items["inner_group"].type == "notice"
    assert ifs["deep"] == ifs["when"] == "((seen == 'yes')) and ((count >= 3))"
    assert [s.id for s in instrument.definition.sections] == ["main", "outer"]


def test_types_that_cannot_be_expressed_are_dropped_by_link_id_and_open_choice_keeps_other() -> None:
    questionnaire = answer_options()
    questionnaire["item"] += [
        {"linkId": f"x-{kind}", "type": kind, "text": kind}
        for kind in ("dateTime", "time", "url", "quantity", "attachment", "reference")
    ]
    questionnaire["item"].append(
        {
            "linkId": "pick",
            "type": "open-choice",
            "text": "Pick",
            "answerOption": [{"valueString": "one"}, {"valueString": "two"}],
        }
    )
    questionnaire["item"].append({"linkId": "say", "type": "display", "text": "Thanks"})
    listed = [{"valueInteger": 10}, {"valueInteger": 20}]  # an integer with a list of answers, as R5 allows
    questionnaire["item"].append({"linkId": "size", "type": "integer", "text": "Size", "answerOption": listed})
    report = import_fhir(questionnaire, None, "types")
    instrument = _loaded(report)
    assert {n.link_id for n in report.dropped} == {f"x-{k}" for k in ("url", "attachment", "reference")}
    # asked otherwise, and said so (tests/app/test_fhir_import_real_shapes.py)
    assert [instrument.items[f"x_{k.lower()}"].type for k in ("dateTime", "time", "quantity")] == [
        "date",
        "short_text",
        "number",
    ]
    assert instrument.items["pick"].type == "single_choice" and instrument.items["pick_other"].type == "short_text"
    assert instrument.items["say"].type == "notice"
    assert [k.link_id for k in report.kept][-4:] == ["pick", "pick_other", "say", "size"]
    assert [o.code for o in instrument.items["size"].options] == ["c_10", "c_20"]
    unaskable = [questionnaire["item"][i] for i in (7, 9, 10)]  # url, attachment, reference
    nothing = import_fhir({"resourceType": "Questionnaire", "status": "active", "item": unaskable})
    assert not nothing.loads and nothing.problems[0].message.startswith("no item could be imported")


def _write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "form.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_the_command_writes_the_yaml_and_says_what_became_of_each_link_id(tmp_path: Path) -> None:
    path = _write(tmp_path, nine_items())
    runner = CliRunner()
    ran = runner.invoke(
        cli,
        ["instruments", "import-fhir", str(path), "--id", "nine-check", "--threshold", "possible_concern=10"],
    )
    assert ran.exit_code == 0, ran.output
    written = tmp_path / "nine-check-3.1.0.yaml"
    assert load(text=written.read_text(encoding="utf-8")).problems == []
    assert "g/q1 -> g_q1 (single_choice)" in ran.output and "total: a calculated total" in ran.output
    assert "It loads" in ran.output
    out = tmp_path / "elsewhere.yaml"
    bad = runner.invoke(
        cli, ["instruments", "import-fhir", str(path), "--out", str(out), "--threshold", "clear_concern=99"]
    )
    assert bad.exit_code == 1 and "above the highest possible sum" in bad.output and out.exists()


def test_the_api_answers_422_with_the_problems_when_it_would_not_load(client: TestClient, world: World) -> None:
    admin = bearer(client, world.user(world.agency(), Role.system_admin))
    bundle = seven_items_bundle()
    questionnaire, value_set, code_system = (e["resource"] for e in bundle["entry"])
    body = {
        "questionnaire": questionnaire,
        "valueSets": [value_set, code_system],
        "thresholds": {"possible_concern": 5},
    }
    ok = client.post("/api/v1/instruments/fhir-import", headers=admin, json=body)
    assert ok.status_code == 200, ok.text
    assert ok.json()["loads"] is True and ok.json()["problems"] == [] and load(text=ok.json()["yaml"]).problems == []
    assert [k["link_id"] for k in ok.json()["kept"]] == [f"s{n}" for n in range(1, 8)]
    refused = client.post(
        "/api/v1/instruments/fhir-import", headers=admin, json=body | {"thresholds": {"clear_concern": 99}}
    )
    assert refused.status_code == 422 and refused.json()["loads"] is False
    assert "above the highest possible sum" in refused.json()["problems"][0]["message"]
    wrong = client.post(
        "/api/v1/instruments/fhir-import", headers=admin, json={"questionnaire": {"resourceType": "Patient"}}
    )
    assert wrong.status_code == 422 and "Questionnaire" in wrong.json()["problems"][0]["message"]


def test_the_admin_page_uploads_reports_and_downloads(client: TestClient, world: World) -> None:
    agency = world.agency()
    sign_in(client, world.user(agency))
    assert client.get("/admin/instruments/fhir-import").status_code == 403
    client.cookies.clear()
    csrf = sign_in(client, world.user(agency, Role.system_admin))
    assert 'href="/admin/instruments/fhir-import"' in client.get("/youth").text
    page = client.get("/admin/instruments/fhir-import")
    assert page.status_code == 200 and 'enctype="multipart/form-data"' in page.text
    upload = {"file": ("nine.json", json.dumps(nine_items()), "application/fhir+json")}
    fields = {"csrf_token": csrf, "instrument_id": "nine-check", "possible_concern": "10", "action": "check"}
    shown = client.post("/admin/instruments/fhir-import", data=fields, files=upload)
    assert shown.status_code == 200, shown.text
    assert "g/q1" in shown.text and "The instrument file loads" in shown.text and "nine-check-3.1.0.yaml" in shown.text
    downloaded = client.post("/admin/instruments/fhir-import", data=fields | {"action": "download"}, files=upload)
    assert downloaded.status_code == 200 and "attachment" in downloaded.headers["content-disposition"]
    assert load(text=downloaded.text).problems == []
    too_high = client.post("/admin/instruments/fhir-import", data=fields | {"clear_concern": "99"}, files=upload)
    assert too_high.status_code == 422 and "would not load" in too_high.text
    assert re.search(r"above the highest possible sum", too_high.text)
    assert "Incomplete" not in shown.text
    partial = {"file": ("nine.json", json.dumps(_one_list_missing()), "application/fhir+json")}
    incomplete = client.post("/admin/instruments/fhir-import", data=fields, files=partial)
    assert incomplete.status_code == 200 and "Incomplete: questions were left out" in incomplete.text
    assert "http://example.org/fhir/ValueSet/not-uploaded</code>: g/q9" in incomplete.text
    not_json = client.post(
        "/admin/instruments/fhir-import", data=fields, files={"file": ("x.json", "{", "application/json")}
    )
    assert not_json.status_code == 422 and "not JSON" in not_json.text
    # (without a file: a refused form's upload is never read, so nothing is left to close)
    no_token = client.post("/admin/instruments/fhir-import", data=fields | {"csrf_token": "x"})
    assert no_token.status_code == 403
