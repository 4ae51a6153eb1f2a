"""An export's plan (its instruments, and whether item-answer and notes columns are needed) is read in one statement,
one pass over the export's screenings, whatever the categories asked and the consents in force (issue 14: it was
three, each checking the consents of every screening again)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.exports import tabular
from app.models_sharing import Category
from instruments.loader import Registry
from tests.app.conftest import World
from tests.app.exports_support import ALL, MINI, Scene, make_scene, mini_registry, today
from tests.app.plans_support import captured


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    return mini_registry(tmp_path_factory)


@pytest.fixture
def scene(world: World, registry: Registry) -> Scene:
    scene = make_scene(world, registry)
    scene.screen({"unpaid": "yes", "old_question": "no", "employer": "Acme"}, notes="Seen at school.")
    return scene


@pytest.mark.parametrize(
    ("consented", "to", "categories", "items", "notes"),
    [
        ((Category.result_summary,), "b", ALL, False, False),
        ((Category.result_summary, Category.item_answers), "b", ALL, True, False),
        ((Category.result_summary, Category.notes), "b", ALL, False, True),
        (tuple(Category), "b", ALL, True, True),
        (tuple(Category), "b", [Category.result_summary.value], False, False),
        ((), "a", ALL, True, True),  # an agency's own export needs no consent
    ],
    ids=["summary", "items", "notes", "all", "summary-asked", "own"],
)
def test_the_plan_is_one_statement_with_the_columns_the_consents_allow(
    scene: Scene,
    consented: tuple[Category, ...],
    to: str,
    categories: list[str],
    items: bool,
    notes: bool,
) -> None:
    if consented:
        scene.consent(*consented)
    engine = scene.db.get_bind()
    terms = (getattr(scene, to).id, today() - timedelta(days=1), today(), categories, "care_coordination")
    with captured(engine, lambda s: "FROM screening" in s) as seen:
        planned = tabular.prepare(scene.db, scene.registry, scene.supervisor, *terms)
    assert len(seen) == 1, seen
    assert {c.id for c in planned.instruments} == {MINI}
    assert (planned.with_items, planned.with_notes) == (items, notes)
    assert (any(c.startswith(f"{MINI}.") for c in planned.columns), "notes" in planned.columns) == (items, notes)


def test_nothing_shared_plans_no_instruments(scene: Scene) -> None:
    terms = (scene.b.id, today() - timedelta(days=1), today(), ALL, "care_coordination")
    planned = tabular.prepare(scene.db, scene.registry, scene.supervisor, *terms)
    assert (planned.instruments, planned.with_items, planned.with_notes) == ((), False, False)
