"""The words for a referral's status, urgency and how a change reached us, in both languages."""

from __future__ import annotations

from app.i18n import _
from app.models_referrals import ReferralStatus, Urgency

STATUS_LABELS = {
    ReferralStatus.requested.value: _("Sent, not yet opened"),
    ReferralStatus.received.value: _("Received"),
    ReferralStatus.accepted.value: _("Accepted"),
    ReferralStatus.rejected.value: _("Declined"),
    ReferralStatus.in_progress.value: _("In progress"),
    ReferralStatus.completed.value: _("Completed"),
    ReferralStatus.cancelled.value: _("Cancelled"),
}
# What the button that moves a referral to each status says.
ACTION_LABELS = {
    ReferralStatus.received.value: _("Mark as received"),
    ReferralStatus.accepted.value: _("Accept"),
    ReferralStatus.rejected.value: _("Decline"),
    ReferralStatus.in_progress.value: _("Mark in progress"),
    ReferralStatus.completed.value: _("Mark completed"),
    ReferralStatus.cancelled.value: _("Cancel the referral"),
}
URGENCY_LABELS = {
    Urgency.routine.value: _("Routine"),
    Urgency.urgent.value: _("Urgent"),
    Urgency.asap.value: _("As soon as possible"),
}
VIA_LABELS = {
    "app": "",
    "by_hand": _("recorded by the sender, as the partner told it"),
    "fhir": _("from the partner's system (FHIR)"),
    "consent": _("because the youth's consent was revoked"),
}
