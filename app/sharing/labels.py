"""The words the sharing pages and the youth record's sharing section show for consent fields, states and roles."""

from __future__ import annotations

from app.i18n import _
from app.models import Role
from app.models_sharing import Category, ConsentMethod, Grantor
from app.texts import PURPOSE_LABELS

LABELS: dict[str, dict[str, str]] = {
    "grantor": {
        Grantor.youth: _("The youth"),
        Grantor.parent_guardian: _("Parent or guardian"),
        Grantor.custodial_agency: _("Custodial agency"),
        Grantor.court: _("Court"),
    },
    "category": {
        Category.result_summary: _("Result summary"),
        Category.item_answers: _("Answers"),
        Category.notes: _("Notes"),
        "referral": _("Referral (who the youth is, and why)"),
    },
    "purpose": PURPOSE_LABELS,
    "method": {
        ConsentMethod.written: _("Written and signed"),
        ConsentMethod.electronic_signature: _("Electronic signature"),
        ConsentMethod.verbal_pending_written: _("Spoken, written form to follow"),
    },
    "state": {
        "active": _("Active"),
        "scheduled": _("Starts later"),
        "revoked": _("Revoked"),
        "superseded": _("Replaced by a change"),
        "expired": _("Expired"),
    },
    "kind": {
        "view": _("Viewed"),
        "export": _("Exported"),
        "carry_forward": _("Answers carried into a new screening"),
    },
    "role": {
        Role.system_admin: _("System administrator"),
        Role.agency_admin: _("Agency administrator"),
        Role.supervisor: _("Supervisor"),
        Role.evaluator: _("Evaluator"),
        Role.screener: _("Screener"),
    },
    "field": {
        "to_agency_id": _("Share with"),
        "grantor": _("Who gives consent"),
        "authority": _("Authority"),
        "categories": _("What may be shared"),
        "purpose": _("Purpose"),
        "starts_at": _("Start date"),
        "ends_at": _("End date"),
        "method": _("How consent was given"),
    },
}
