"""The admins' view of denied reads: who keeps asking for records they may not see (probing shows here)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import case, func
from sqlmodel import Session, col

from app.audit import DENIED
from app.db import SessionDep
from app.deps import ADMINS, SettingsDep, WebAuthDep, require_role
from app.models import Agency, AuditEvent, Role, User, utcnow
from app.typed_sql import select_rows
from app.web import render

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class DenialRate:
    """One user's denied reads over the last day and week, and the distinct objects they tried."""

    user_id: str
    display_name: str
    email: str
    role: str
    agency: str
    day: int
    day_objects: int
    week: int
    week_objects: int
    last_at: datetime


def denial_rates(db: Session, viewer: User, now: datetime | None = None) -> list[DenialRate]:
    """Denied reads per user over the last 7 days (a system admin sees every agency, an agency admin
    its own agency's users), most in the last day first; one query."""
    now = now or utcnow()
    day_ago, week_ago = now - timedelta(days=1), now - timedelta(days=7)
    in_day = col(AuditEvent.at) >= day_ago
    day_count = func.sum(case((in_day, 1), else_=0))
    query = (
        select_rows(
            col(User.id),
            col(User.display_name),
            col(User.email),
            col(User.role),
            col(Agency.name),
            day_count,
            func.count(func.distinct(case((in_day, col(AuditEvent.object_id)), else_=None))),
            func.count(),
            func.count(func.distinct(col(AuditEvent.object_id))),
            func.max(col(AuditEvent.at)),
        )
        .join(User, col(User.id) == col(AuditEvent.actor_id))
        .join(Agency, col(Agency.id) == col(User.agency_id))
        .where(col(AuditEvent.action) == DENIED, col(AuditEvent.at) >= week_ago)
        .group_by(col(User.id), col(User.display_name), col(User.email), col(User.role), col(Agency.name))
        .order_by(day_count.desc(), func.count().desc(), col(User.display_name))
    )
    if viewer.role != Role.system_admin:
        query = query.where(col(User.agency_id) == viewer.agency_id)
    return [DenialRate(*row) for row in db.exec(query)]


@router.get("/admin/denials", response_class=HTMLResponse)
def denials_page(request: Request, db: SessionDep, settings: SettingsDep, auth: WebAuthDep) -> Response:
    """For admins: denied reads per user, flagging anyone above the daily alert threshold."""
    require_role(auth.user, *ADMINS)
    return render(
        request,
        "admin/denials.html",
        auth=auth,
        rates=denial_rates(db, auth.user),
        threshold=settings.denial_alert_per_day,
        every_agency=auth.user.role == Role.system_admin,
    )
