"""A weighted form as published scores its published total (issue 12 §1: "PHQ-9 and GAD-7 as published
(answerValueSet with weights) score their published totals (0–27, 0–21)").

Made-up 9- and 7-item questionnaires in that shape (`weighted_questionnaires`) are imported without
thresholds: they load with their total (the sum of the weights, coded as their calculated total item) and
no rules, score 27 and 21 at the highest answers, and conclude no level. Staff pages and exports show the
total beside "Not scored", say that no level is concluded from it, and never read "No concern"; the youth's
own pages never show it.
"""

from __future__ import annotations

import csv
import html
import io
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from app.cli import cli
from app.interop.fhir_import import import_fhir
from app.models import Screening
from instruments.compiled import CompiledInstrument
from instruments.loader import BUNDLED_DIR, Registry, load
from instruments.model import NOT_SCORED
from scoring import score
from tests.app.conftest import World, sign_in
from tests.app.sharing_support import Side, add_youth, consent, screen, side, start
from tests.app.test_portal import issue_link, youth_csrf
from tests.app.weighted_questionnaires import TERMS, item_ids, nine_item_form, seven_item_form

NINE, SEVEN = "made-up-nine", "made-up-seven"
NO_LEVEL_FROM_TOTAL = "No level is concluded from this total"


def imported(form: dict[str, Any]) -> str:
    """The YAML of a form imported without thresholds (it must load)."""
    report = import_fhir(form, None)
    assert report.loads, report.problems
    return report.yaml


def compiled(form: dict[str, Any]) -> CompiledInstrument:
    loaded_result = load(text=imported(form))
    instrument, problems = loaded_result.instrument, loaded_result.problems
    assert problems == [] and instrument is not None
    return instrument


def highest(prefix: str, count: int) -> dict[str, str]:
    return dict.fromkeys(item_ids(prefix, count), "ma_3")


@pytest.mark.parametrize(
    ("form", "prefix", "count", "top"), [(nine_item_form, "NINE", 9, 27), (seven_item_form, "SEVEN", 7, 21)]
)
def test_imported_without_thresholds_it_scores_its_published_total_and_no_level(
    form: Any, prefix: str, count: int, top: int
) -> None:
    report = import_fhir(form(), None)
    assert report.loads and report.scored is False and report.total is True
    said = [n.message for n in report.changed if n.link_id == f"/{prefix}-total"]
    assert said and "instrument's total" in said[0] and "no level is concluded" in said[0]
    assert all(n.link_id != f"/{prefix}-total" for n in report.dropped)
    instrument = compiled(form())
    assert instrument.scored is False and f"{prefix.lower()}_total" not in instrument.items  # not asked
    declared = instrument.declared_total
    assert declared is not None and declared.code is not None
    assert (declared.code.system, declared.code.code) == (TERMS, f"{prefix}-TOTAL")
    assert "no thresholds" in instrument.definition.provenance.statement["en"]

    result = score(instrument, highest(prefix, count))
    assert result.total is not None and result.total.value == top and result.total.thresholds == ()
    assert result.overall == NOT_SCORED and result.domains == () and result.indicators == ()
    ids = item_ids(prefix, count)
    mixed = {ids[0]: "ma_1", ids[1]: "ma_2", ids[2]: "ma_0", ids[3]: "ma_3", ids[4]: "declined"}
    result = score(instrument, mixed)
    assert result.total is not None and result.total.value == 1 + 2 + 0 + 3
    assert result.overall == NOT_SCORED
    assert score(instrument, {}).total.value == 0  # type: ignore[union-attr]


def test_with_thresholds_the_same_form_concludes_levels_as_before() -> None:
    report = import_fhir(nine_item_form(), {"possible_concern": 10, "clear_concern": 20})
    assert report.loads and report.scored is True and report.total is True
    loaded_result = load(text=report.yaml)
    instrument, problems = loaded_result.instrument, loaded_result.problems
    assert problems == [] and instrument is not None and instrument.scored
    assert score(instrument, highest("NINE", 9)).overall == "clear_concern"


def test_a_weighted_form_without_a_calculated_total_still_reports_the_sum() -> None:
    form = nine_item_form()
    form["item"] = form["item"][:-1]
    report = import_fhir(form, None)
    assert report.loads and report.total is True
    assert any(n.link_id is None and "their sum is the instrument's total" in n.message for n in report.changed)
    loaded_result = load(text=report.yaml)
    instrument, _problems = loaded_result.instrument, loaded_result.problems
    assert instrument is not None and instrument.declared_total is not None
    assert instrument.declared_total.label["en"] == "Weighted sum of the answers"
    assert score(instrument, highest("NINE", 9)).total.value == 27  # type: ignore[union-attr]


def test_the_command_says_the_total_is_reported_without_a_level(tmp_path: Path) -> None:
    import json

    path = tmp_path / "seven.json"
    path.write_text(json.dumps(seven_item_form()), encoding="utf-8")
    ran = CliRunner().invoke(cli, ["instruments", "import-fhir", str(path)])
    assert ran.exit_code == 0, ran.output
    assert "Scoring: the sum of the weights is reported as its total; no level is concluded" in ran.output


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    folder = tmp_path_factory.mktemp("weighted")
    for name, form in ((NINE, nine_item_form), (SEVEN, seven_item_form)):
        (folder / f"{name}-1.0.0.yaml").write_text(imported(form()), encoding="utf-8")
    loaded_result = load([BUNDLED_DIR, folder])
    loaded, problems = loaded_result.registry, loaded_result.problems
    assert not problems, problems
    return loaded


@pytest.fixture
def app_client(client: TestClient, registry: Registry) -> TestClient:
    client.app.state.registry = registry  # type: ignore[attr-defined]
    return client


def page_text(response: Any) -> str:
    assert response.status_code == 200, response.text[:500]
    return html.unescape(response.text)


def shows_total_not_scored(page: str, total: str, label: str) -> None:
    """The page shows the total beside "Not scored", says no level follows from it, and reads no conclusion."""
    assert "level-not_scored" in page and "Not scored" in page
    assert f"{label}: <strong>{total}</strong>" in page
    assert NO_LEVEL_FROM_TOTAL in page
    assert "No concern" not in page.replace("not a 'no concern'", "").replace("NOT a 'no concern'", "")
    for concluded in ("no_concern", "possible_concern", "clear_concern", "insufficient_information"):
        assert f"level-{concluded}" not in page, concluded


def test_staff_see_the_total_beside_not_scored_everywhere_and_exports_carry_it(
    app_client: TestClient, world: World
) -> None:
    client = app_client
    a = side(client, world, "Northside Youth Services")
    youth = add_youth(client, a, "NS-27")
    done = screen(client, a, youth, highest("NINE", 9), instrument=NINE, mode="interview")
    screening_id = done["id"]
    sign_in(client, a.users["screener"])

    result = page_text(client.get(f"/screenings/{screening_id}/result"))
    shows_total_not_scored(result, "27", "Made-up worry total")
    assert "its total is reported, but no level is concluded from it" in result
    summary = page_text(client.get(f"/screenings/{screening_id}/summary"))
    shows_total_not_scored(summary, "27", "Made-up worry total")
    assert client.get(f"/screenings/{screening_id}/summary.pdf").status_code == 200
    record = page_text(client.get(f"/youth/{youth}"))
    assert "level-not_scored" in record and "level-no_concern" not in record

    api = client.get(f"/api/v1/screenings/{screening_id}/result", headers=a.api).json()
    assert api["overall"] == NOT_SCORED and api["total"] == {"value": 27.0, "thresholds": []}
    world.session.expire_all()
    stored = world.session.get(Screening, screening_id)
    assert stored is not None and stored.overall_level == NOT_SCORED and stored.total_score == 27

    ids = item_ids("SEVEN", 7)
    mixed = {ids[0]: "ma_2", ids[1]: "ma_1", ids[2]: "ma_3", ids[6]: "ma_0"}
    seven = screen(client, a, youth, mixed, instrument=SEVEN, mode="interview")
    seven_page = page_text(client.get(f"/screenings/{seven['id']}/result"))
    shows_total_not_scored(seven_page, "6", "Made-up unease total")

    b = side(client, world, "Eastside Child Welfare", "child_welfare")
    consent(client, a, youth, b)
    timeline = client.get(f"/api/v1/youth/{youth}/timeline", headers=a.api).json()
    day = timeline[0]["completed_at"][:10]
    exported = {"recipient": b.agency.id, "from": day, "to": day, "categories": "result_summary,item_answers"}
    as_csv = client.get("/api/v1/exports", params=exported | {"format": "csv"}, headers=a.headers("supervisor"))
    assert as_csv.status_code == 200, as_csv.text[:500]
    rows = {r["instrument_id"]: r for r in csv.DictReader(io.StringIO(as_csv.text.lstrip("\ufeff")))}
    assert (rows[NINE]["overall_level"], rows[NINE]["total"], rows[NINE]["total_thresholds"]) == (NOT_SCORED, "27", "")
    assert (rows[SEVEN]["overall_level"], rows[SEVEN]["total"]) == (NOT_SCORED, "6")


def test_the_youth_never_sees_the_total(app_client: TestClient, world: World) -> None:
    client = app_client
    a: Side = side(client, world, "Northside Youth Services")
    youth = add_youth(client, a, "NS-21")
    own = start(client, a, youth, SEVEN, "self")
    csrf = sign_in(client, a.users["screener"])
    token_link, code = issue_link(client, own["id"], csrf)
    client.cookies.clear()
    client.get(f"/go/{token_link}")
    welcome = page_text(client.post("/go", data={"code": code, "link_token": token_link}))
    assert "Made-up unease total" not in welcome and "Not scored" not in welcome
    token = youth_csrf(page_text(client.get("/s/1")))
    answers = {f"q_{i}": "ma_3" for i in item_ids("SEVEN", 7)}
    page, seen = 1, []
    while True:
        seen.append(page_text(client.get(f"/s/{page}")))
        response = client.post(
            f"/s/{page}", data={"csrf_token": token, "action": "next", **answers}, follow_redirects=False
        )
        assert response.status_code == 303, response.text[:500]
        target = response.headers["location"]
        if target == "/s/done":
            break
        page = int(target.split("/")[-1].split("?")[0].split("#")[0])
    seen.append(page_text(client.get("/s/done")))
    for youth_page in seen:
        assert "Made-up unease total" not in youth_page and "Not scored" not in youth_page
        assert NO_LEVEL_FROM_TOTAL not in youth_page
    result = client.get(f"/api/v1/screenings/{own['id']}/result", headers=a.api).json()
    assert result["overall"] == NOT_SCORED and result["total"]["value"] == 21
