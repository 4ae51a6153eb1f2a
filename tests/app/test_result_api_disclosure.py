"""The JSON API's result and revisions show another agency nothing that quotes an answer unless its
consent covers the answers: no indicator evidence, no questions named behind a count or a total."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.models_sharing import Category
from instruments.loader import Registry
from tests.app.conftest import World, bearer
from tests.app.exports_support import Scene, make_scene, mini_registry

BRIEF = "tellonce-brief-screen"
ONE_YES = dict.fromkeys(("nowhere_to_sleep", "debt_work", "pay_kept", "forced_work", "sexual_exchange"), "no") | {
    "kept_from_leaving": "yes"
}


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    return mini_registry(tmp_path_factory)


@pytest.fixture
def scene(world: World, registry: Registry) -> Scene:
    return make_scene(world, registry)


def _reads(client: TestClient, world: World, scene: Scene, screening_id: str) -> list[dict[str, object]]:
    auth = bearer(client, world.user(scene.b, "supervisor"))
    result = client.get(f"/api/v1/screenings/{screening_id}/result", headers=auth)
    revision = client.get(f"/api/v1/screenings/{screening_id}/revisions/1", headers=auth)
    assert result.status_code == revision.status_code == 200, (result.text, revision.text)
    return [result.json(), revision.json()["result"]]


def test_a_summary_consent_shows_the_result_without_what_the_youth_answered(
    client: TestClient, world: World, scene: Scene
) -> None:
    done = scene.screen(ONE_YES, instrument=BRIEF, version="1.1.0")
    scene.consent(Category.result_summary)
    for result in _reads(client, world, scene, done.id):
        assert result["overall"] == "possible_concern"
        assert all("evidence" not in indicator for indicator in result["indicators"])
        [clause] = result["reason"]["clauses"]
        assert clause["collection"] == "total" and clause["value"] == 1 and clause["members"] == []
        assert "kept_from_leaving" not in str(result)


def test_an_answers_consent_shows_the_evidence(client: TestClient, world: World, scene: Scene) -> None:
    done = scene.screen(ONE_YES, instrument=BRIEF, version="1.1.0")
    scene.consent(Category.result_summary, Category.item_answers)
    for result in _reads(client, world, scene, done.id):
        [clause] = result["reason"]["clauses"]
        assert clause["members"] == ["kept_from_leaving"]
        movement = next(i for i in result["indicators"] if i["id"] == "coercion.movement")
        assert movement["evidence"] == [{"item_id": "kept_from_leaving", "answer": "yes", "level": "clear_concern"}]


def test_the_owning_agency_sees_everything(client: TestClient, world: World, scene: Scene) -> None:
    done = scene.screen(ONE_YES, instrument=BRIEF, version="1.1.0")
    result = client.get(f"/api/v1/screenings/{done.id}/result", headers=bearer(client, scene.screener)).json()
    assert result["reason"]["clauses"][0]["members"] == ["kept_from_leaving"]


@pytest.mark.parametrize("version", [99999999999999999999999, -1])
def test_a_version_out_of_range_is_a_clear_error_not_a_crash(
    client: TestClient, world: World, scene: Scene, version: int
) -> None:
    done = scene.screen(ONE_YES, instrument=BRIEF, version="1.1.0")
    auth = bearer(client, scene.screener)
    amend = {"version": version, "answers": {"kept_from_leaving": "no"}, "reason": "Typed the wrong answer."}
    for method, path, body in (
        ("POST", f"/api/v1/screenings/{done.id}/revisions", amend),
        ("PUT", f"/api/v1/screenings/{done.id}/answers", {"version": version, "answers": {}}),
        ("POST", f"/api/v1/screenings/{done.id}/complete", {"version": version}),
    ):
        response = client.request(method, path, headers=auth, json=body)
        assert response.status_code == 422, (path, response.text)
        assert response.json()["detail"][0]["loc"][-1] == "version"


@pytest.mark.parametrize("raw", ["99999999999999999999999", "-1", "", "1e3", None])
def test_a_form_version_out_of_range_is_refused_with_a_message(raw: str | None) -> None:
    from app.errors import InvalidInput
    from app.versions import form_version

    with pytest.raises(InvalidInput, match="missing its version"):
        form_version(raw)
    assert form_version("7") == 7
