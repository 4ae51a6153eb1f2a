"""A consent covering only the result summary shows another agency no answer, evidence or note through any
route; widened to the answers, the answers appear [issue 10, "Done when" 2; DESIGN §7].

Owner O screens a youth with distinctive answers (a free-text marker, choice codes and labels found nowhere
else) and a distinctive note; reader R holds its own record of the youth, linked under O's release. Every
route that returns screening data to R is one line of ROUTES: what it shows R under the summary-only
release, and what it must show once the release covers item answers. A route that needs more than the
summary refuses exactly as for a screening that does not exist.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient

from instruments.loader import BUNDLED_DIR, Registry, load
from tests.app.conftest import World, sign_in
from tests.app.matrix_support import MISSING_ID, same_as_missing
from tests.app.sharing_support import add_youth, consent, link, pdf_texts, side, start

PROBE = "summary-probe"
PROBE_YAML = """
id: summary-probe
version: 1.0.0
title: {en: Summary probe}
description: {en: 'Distinctive answers, for the summary-only matrix'}
authors: [TellOnce tests]
license: CC-BY-4.0
provenance: {validated: false, statement: {en: Written for tests}}
modes: [practitioner, interview]
languages: [en]
default_language: en
sections:
  - {id: only, title: {en: Only}}
domains:
  - id: travel
    title: {en: Travel}
    indicators:
      - {id: travel.moved, text: {en: Moved by someone}}
      - {id: travel.paid, text: {en: Paid in kind}}
items:
  - id: route_taken
    section: only
    type: single_choice
    text: {en: 'How did you get here?'}
    options:
      - {code: walked, label: {en: Walked}}
      - {code: quartz_9054, label: {en: Quartz van 9054}, weight: 2}
    indicates:
      - {indicator: travel.moved, level: clear_concern, answers: [quartz_9054]}
  - id: paid_with
    section: only
    type: multiple_choice
    text: {en: 'How were you paid?'}
    options:
      - {code: money, label: {en: Money}}
      - {code: cobalt_3318, label: {en: Cobalt card 3318}, weight: 1}
    indicates:
      - {indicator: travel.paid, level: clear_concern, answers: [cobalt_3318]}
  - {id: who_drove, section: only, type: short_text, text: {en: 'Who drove you?'}}
scoring:
  domain:
    - {level: clear_concern, when: "any(indicators, level='clear_concern')", explain: {en: Moved.}}
    - {level: no_concern, explain: {en: Nothing.}}
  overall:  # a clause over items names the questions behind its count: that quotes answers too
    - {level: clear_concern, when: "sum(weights) >= 2", explain: {en: Moved.}}
    - {level: no_concern, explain: {en: Nothing.}}
"""
TEXT = "ZEBRA-7731"
NOTES = "OSPREY-2209: met them at the pier"
ANSWERS = {"route_taken": "quartz_9054", "paid_with": ["cobalt_3318"], "who_drove": TEXT}
CODES = ("quartz_9054", "cobalt_3318")
LABELS = ("Quartz van 9054", "Cobalt card 3318")
QUESTIONS = ("How did you get here?", "How were you paid?", "Who drove you?")
# Nothing of these reaches R under a summary-only release: answers, the questions they answer, evidence.
NEVER_SUMMARY = (TEXT, *CODES, *LABELS, *QUESTIONS, *ANSWERS, "evidence", "Evidence")
EXPORT = {"recipient": "{r}", "from": "{day}", "to": "{day}", "categories": "result_summary,item_answers,notes"}


@dataclass(frozen=True)
class Route:
    """One route that returns screening data to R: {s} is O's screening, {y} R's record of the youth."""

    path: str
    params: dict[str, str] = field(default_factory=dict)
    refuses: str = ""  # "summary": refused under a summary-only release; "always": refused to R whatever R holds
    answers: tuple[str, ...] = ()  # what it shows once the release covers item answers
    by_owner: bool = False  # an export O runs for R: the file is R's copy


ROUTES = {
    "API screening": Route("/api/v1/screenings/{s}", refuses="always"),
    "API result": Route("/api/v1/screenings/{s}/result", answers=CODES),
    "API revisions": Route("/api/v1/screenings/{s}/revisions", refuses="always"),
    "API revision": Route("/api/v1/screenings/{s}/revisions/1", answers=CODES),
    "API timeline": Route("/api/v1/youth/{y}/timeline"),
    "API disclosures": Route("/api/v1/youth/{y}/disclosures"),
    "API FHIR": Route("/api/v1/screenings/{s}/fhir", refuses="summary", answers=(*CODES, TEXT)),
    "API FHIR NDJSON": Route(
        "/api/v1/screenings/{s}/fhir", {"format": "ndjson"}, refuses="summary", answers=(*CODES, TEXT)
    ),
    "form page": Route("/screenings/{s}", {"page": "1"}, refuses="always"),
    "review page": Route("/screenings/{s}/review", refuses="always"),
    "amend page": Route("/screenings/{s}/amend", refuses="always"),
    "result page": Route("/screenings/{s}/result", answers=LABELS),
    "revision page": Route("/screenings/{s}/revisions/1", answers=(*LABELS, TEXT)),
    "summary page": Route("/screenings/{s}/summary", answers=(*LABELS, TEXT)),
    "summary PDF": Route("/screenings/{s}/summary.pdf", answers=(*LABELS, TEXT)),
    "youth page": Route("/youth/{y}"),
    "disclosures page": Route("/youth/{y}/disclosures"),
    "reports page": Route("/reports"),
    "reports CSV": Route("/reports.csv"),
    "reports JSON": Route("/reports.json"),
    "API reports": Route("/api/v1/reports/aggregate"),
    **{
        f"R's own {fmt} export": Route("/api/v1/exports", EXPORT | {"format": fmt})
        for fmt in ("csv", "json", "ndjson", "fhir-bundle", "fhir-ndjson")
    },
    **{
        f"O's {fmt} export for R": Route(
            "/api/v1/exports", EXPORT | {"format": fmt}, answers=(*CODES, TEXT), by_owner=True
        )
        for fmt in ("csv", "json", "ndjson", "fhir-bundle", "fhir-ndjson")
    },
}


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    folder = tmp_path_factory.mktemp("summary-probe")
    (folder / "summary-probe.yaml").write_text(PROBE_YAML)
    loaded_result = load([BUNDLED_DIR, folder])
    loaded, problems = loaded_result.registry, loaded_result.problems
    assert not problems, problems
    return loaded


def _texts(response: Any) -> list[str]:
    """What a response says about the youth: its text; a PDF's text as each of its fonts decodes it; a FHIR
    document's resources but the Questionnaires (an instrument's definition, the same for every youth)."""
    kind = response.headers.get("content-type", "")
    if kind.startswith("application/pdf"):
        return pdf_texts(response.content)
    if "fhir" in kind:
        if "ndjson" in kind:
            resources = [json.loads(line) for line in response.text.splitlines() if line.strip()]
        else:
            resources = [e["resource"] for e in response.json().get("entry", [])]
        return [json.dumps([x for x in resources if x["resourceType"] != "Questionnaire"], ensure_ascii=False)]
    return [response.text]


def test_a_summary_only_release_shows_no_answer_anywhere_and_a_wider_one_does(
    client: TestClient, world: World, registry: Registry, subtests: Any
) -> None:
    client.app.state.registry = registry  # type: ignore[attr-defined]
    o = side(client, world, "Northside Youth Services")
    r = side(client, world, "Eastside Child Welfare", "child_welfare")
    youth_o = add_youth(client, o, "NS-5150")
    started = start(client, o, youth_o, PROBE)
    body = {"version": started["version"], "answers": ANSWERS, "notes": NOTES}
    saved = client.put(f"/api/v1/screenings/{started['id']}/answers", headers=o.api, json=body)
    assert saved.status_code == 200, saved.text
    version = saved.json()["version"]
    done = client.post(f"/api/v1/screenings/{started['id']}/complete", headers=o.api, json={"version": version})
    assert done.status_code == 200, done.text
    given = consent(client, o, youth_o, r, ("result_summary",))
    youth_r = add_youth(client, r, "ES-5150")
    assert link(client, r, youth_r).status_code == 201
    ids = {"s": done.json()["id"], "y": youth_r, "r": r.agency.id, "day": done.json()["completed_at"][:10]}

    def call(route: Route, screening_id: str) -> Any:
        path = route.path.format(**ids | {"s": screening_id})
        params = {k: v.format(**ids) for k, v in route.params.items()}
        if route.by_owner:
            return client.get(path, params=params, headers=o.headers("supervisor"))
        if path.startswith("/api/"):
            return client.get(path, params=params, headers=r.headers("supervisor"))
        return client.get(path, params=params)

    def check(widened: bool) -> None:
        for name, route in ROUTES.items():
            with subtests.test(name, release="answers" if widened else "summary only"):
                response = call(route, ids["s"])
                if route.refuses == "always" or (route.refuses == "summary" and not widened):
                    missing = call(route, MISSING_ID)
                    where = (response.status_code, response.text[:300])
                    assert same_as_missing(response, missing, {"s": ids["s"]}), where
                    continue
                assert response.status_code == 200, response.text[:300]
                texts = _texts(response)
                assert not any(NOTES in t for t in texts), "notes shown without a notes release"
                if widened:
                    left_out = [m for m in route.answers if not any(m in t for t in texts)]
                    assert left_out == [], "answers left out under a release of the answers"
                else:
                    told = [m for m in NEVER_SUMMARY if any(m in t for t in texts)]
                    assert told == [], "answers shown under a summary-only release"

    sign_in(client, r.users["supervisor"])
    check(widened=False)
    terms = {k: given[k] for k in ("to_agency_id", "grantor", "authority", "purpose", "ends_at", "method")}
    wider = terms | {"youth_id": youth_o, "categories": ["result_summary", "item_answers"]}
    assert client.post(f"/api/v1/consents/{given['id']}/supersede", headers=o.api, json=wider).status_code == 201
    check(widened=True)
