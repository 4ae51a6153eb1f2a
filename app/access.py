"""The one access-decision function for youth data. Every page, API route, search and export asks it.

For now an agency sees the youth it has linked to and its own screenings. Sharing across agencies
under consent extends these functions, and nothing else, when it arrives.
A denied read is reported as "not found", never as "forbidden", so it reveals nothing.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, exists
from sqlmodel import Session, col, select

from app.errors import NotFound
from app.models import Screening, User, Youth, YouthLink


def youth_readable_clause(user: User) -> ColumnElement[bool]:
    """A WHERE clause selecting the youth records `user` may read (filtering happens in the query)."""
    return exists().where(col(YouthLink.youth_id) == col(Youth.id), col(YouthLink.agency_id) == user.agency_id)


def screening_readable_clause(user: User) -> ColumnElement[bool]:
    """A WHERE clause selecting the screenings `user` may read."""
    return col(Screening.agency_id) == user.agency_id


def readable_youth(db: Session, user: User, youth_id: str) -> Youth:
    """The youth record, if `user` may read it; otherwise NotFound."""
    youth = db.exec(select(Youth).where(Youth.id == youth_id, youth_readable_clause(user))).first()
    if youth is None:
        raise NotFound("No such youth.")
    return youth


def readable_screening(db: Session, user: User, screening_id: str) -> Screening:
    """The screening, if `user` may read it; otherwise NotFound."""
    screening = db.exec(select(Screening).where(Screening.id == screening_id, screening_readable_clause(user))).first()
    if screening is None:
        raise NotFound("No such screening.")
    return screening


def writable_screening(db: Session, user: User, screening_id: str) -> Screening:
    """A screening `user` may change: one of their own agency's."""
    screening = readable_screening(db, user, screening_id)
    if screening.agency_id != user.agency_id:
        raise NotFound("No such screening.")
    return screening
