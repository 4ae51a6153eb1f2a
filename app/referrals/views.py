"""What the dashboard and the youth's record show of referrals: the sections built from `app.referrals.service`.

The dashboard (`app.screenings.pages`) and the record page (`app.records.record_page`) put these sections on the page.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from app.crypto import KeyRing
from app.models import User, utcnow
from app.referrals import service
from app.settings import get_settings


def dashboard_section(db: Session, keys: KeyRing, user: User) -> dict[str, Any]:
    """The dashboard's referral lists: new in the inbox, waiting on a partner, declined, no change lately."""
    stale_days = get_settings().referral_stale_days
    lists = service.dashboard(db, user, stale_days)
    everyone = {item.referral.id: item for items in lists.values() for item in items}
    service.record_views(db, user, lists["new"])
    by_id = {f.id: f for f in service.facts(db, keys, user, list(everyone.values()))}
    return {
        "lists": {name: [(i, by_id[i.referral.id]) for i in items] for name, items in lists.items()},
        "stale_days": stale_days,
        "today": utcnow().date(),
    }


def record_section(db: Session, keys: KeyRing, user: User, youth_id: str) -> list[Any]:
    """The referrals about this youth that the agency sent or received, for the youth's record."""
    items = service.listed(db, user, "all", youth_id=youth_id, size=200).items
    service.record_views(db, user, items)
    return list(zip(items, service.facts(db, keys, user, items), strict=True))
