"""A partner's file in a real Chromium: identifiers recorded on two records, a mixed NDJSON file uploaded, the
preview read (each response under its own youth, the rest matching no one), then imported (issue 12 §2)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from app.interop import fhir
from app.main import loaded_instruments
from app.models import Screening, utcnow
from tests.app import fhir_support as support
from tests.browser import LiveServer, login, watch_console

SCREENER = "screener@riverbend.example.org"  # the same users as the API: any staff member of the agency
SYSTEM = "https://partner.example.org/fhir/client-number"


def _response(name: str, subject: dict[str, Any] | None) -> dict[str, Any]:
    """A completed self-report response (made-up answers of the shipped instrument) about `subject`."""
    instrument = next(c for c in loaded_instruments().latest() if c.id == support.SELF_REPORT)
    done = Screening(
        id=name, youth_id="-", agency_id="-", instrument_id=instrument.id, instrument_version=instrument.version,
        content_hash=instrument.content_hash, mode="interview", language="en", started_by="-",
        started_at=utcnow(), completed_at=utcnow(), status="completed",
    )  # fmt: skip
    response = fhir.questionnaire_response(done, support.SELF_ANSWERS, instrument, "x")
    response |= {"id": name, "identifier": {"value": name}}
    response["questionnaire"] = f"urn:tellonce:instrument:{instrument.id}|{instrument.version}"
    response.pop("subject", None)
    return response | ({"subject": subject} if subject else {})


def _record(page: Page, live_server: LiveServer, case_number: str, value: str) -> None:
    page.goto(live_server.at(f"/youth?case_number={case_number}"))
    page.locator("#identifiers summary").click()
    page.locator("#identifier-system").fill(SYSTEM)
    page.locator("#identifier-value").fill(value)
    with page.expect_navigation():
        page.locator("#identifier-form button[type=submit]").click()
    expect(page.locator("#identifiers")).to_contain_text(SYSTEM)
    expect(page.locator("#identifiers")).not_to_contain_text(value)


def test_a_mixed_file_is_previewed_and_imported_per_youth(page: Page, live_server: LiveServer, tmp_path: Path) -> None:
    errors = watch_console(page)
    login(page, live_server, SCREENER)
    run = uuid.uuid4().hex[:8]
    _record(page, live_server, "RB-1002", f"B2-{run}")
    _record(page, live_server, "RB-1003", f"B3-{run}")
    lines = [
        _response(f"a-{run}", {"identifier": {"system": SYSTEM, "value": f"B2-{run}"}}),
        _response(f"b-{run}", {"identifier": {"system": SYSTEM, "value": f"B3-{run}"}}),
        _response(f"c-{run}", {"identifier": {"system": SYSTEM, "value": f"B3-{run}"}}),
        _response(f"d-{run}", {"identifier": {"system": SYSTEM, "value": "nobody-we-know"}}),
        _response(f"e-{run}", None),
    ]
    file = tmp_path / "partner.ndjson"
    file.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Import a partner's file").click()
    page.locator("#bulk-file").set_input_files(str(file))
    with page.expect_navigation():
        page.get_by_role("button", name="Preview").click()
    people = page.locator("section.import-person")
    expect(people).to_have_count(2)
    expect(people.nth(0)).to_contain_text("RB-1002")
    expect(people.nth(0)).to_contain_text(f"a-{run}")
    expect(people.nth(1)).to_contain_text("RB-1003")
    expect(people.nth(1).get_by_text("Ready to import")).to_have_count(2)
    unmatched = page.locator("table", has=page.locator("code", has_text=f"d-{run}"))
    expect(unmatched).to_contain_text("line 4")
    expect(unmatched).to_contain_text("line 5")
    expect(unmatched).to_contain_text("has no subject")

    with page.expect_navigation():
        page.get_by_role("button", name="Import 3 responses").click()
    expect(page.locator("#outcome")).to_have_text("3 responses were imported.")
    expect(page.locator("section.import-person").nth(1).get_by_role("link", name="View result")).to_have_count(2)
    page.locator("section.import-person").nth(0).get_by_role("link", name="View result").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert errors == [], errors
