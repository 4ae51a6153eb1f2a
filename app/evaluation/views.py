"""What the youth's record shows of outcomes: its items, and its form's values and errors after a refused post.

Reads go through `app.evaluation.outcomes`; the record page (`app.records.record_page`) puts this section on the page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from app.crypto import KeyRing
from app.evaluation import outcomes
from app.evaluation.schemas import OutcomePublic
from app.i18n import _
from app.models import User
from app.models_evaluation import OutcomeKind, OutcomeSource

KIND_LABELS: dict[str, str] = {
    OutcomeKind.confirmed: _("Exploitation confirmed (by a later assessment, investigation or finding)"),
    OutcomeKind.not_indicated: _("No indication after follow-up"),
    OutcomeKind.lost_to_follow_up: _("Lost to follow-up"),
}
SOURCE_LABELS: dict[str, str] = {
    OutcomeSource.later_assessment: _("A later assessment"),
    OutcomeSource.investigation: _("An investigation"),
    OutcomeSource.court_finding: _("A court finding"),
    OutcomeSource.youth_disclosure: _("The youth told staff"),
    OutcomeSource.service_record: _("A service record"),
    OutcomeSource.other: _("Other"),
}


@dataclass
class OutcomeSection:
    """What the youth page shows of outcomes, and the form's values and errors after a refused post."""

    items: list[OutcomePublic]
    may_record: bool
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, Any] = field(default_factory=dict)
    kinds: Mapping[str, Any] = field(default_factory=lambda: dict(KIND_LABELS))
    sources: Mapping[str, Any] = field(default_factory=lambda: dict(SOURCE_LABELS))

    @property
    def form_open(self) -> bool:
        """The record form opens by itself after its own refused post."""
        return any(not name.startswith("withdraw-") for name in self.errors)

    @property
    def summary(self) -> list[tuple[str, str]]:
        """(anchor, message) of each error, the anchor being the field to fix."""
        anchors = {"kind": "outcome-kind-confirmed", "form": "outcome-form"}
        return [
            (name if name.startswith("withdraw-") else anchors.get(name, f"outcome-{name}"), message)
            for name, message in self.errors.items()
        ]


def record_section(
    db: Session, keys: KeyRing, user: User, youth_id: str, form: OutcomeSection | None = None
) -> OutcomeSection:
    """The outcomes section of a youth's record (after a refused post: with the form's values and errors)."""
    items = outcomes.for_youth(db, keys, user, youth_id)
    section = form or OutcomeSection(items=[], may_record=False)
    section.items, section.may_record = items, outcomes.may_record(user)
    return section
