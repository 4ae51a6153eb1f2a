"""Youth records: create, read and find, with identifiers encrypted at rest."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import and_, bindparam
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import Select

from app import access, audit, paging
from app.crypto import KeyRing
from app.errors import InvalidInput, NotFound
from app.i18n import _
from app.models import User, Youth, YouthLink
from app.records import search as search_keys
from app.records.schemas import YouthCreate, YouthFound, YouthPublic, YouthSearch
from app.records.search import normalize

SEARCH_LIMIT = 50
"""The most youth a search lists; past it, the page asks for a narrower search."""

EARLIEST_BIRTH_DATE = date(1900, 1, 1)


def _case_index(keys: KeyRing, agency_id: str, case_number: str) -> str:
    return keys.blind_index("case", f"{agency_id}|{normalize(case_number)}")


def create(db: Session, keys: KeyRing, user: User, data: YouthCreate) -> Youth:
    """Add a youth and link it to the user's agency under its case number."""
    if data.birth_date > date.today():
        raise InvalidInput(_("The date of birth is in the future."), {"field": "birth_date"})
    if data.birth_date < EARLIEST_BIRTH_DATE:  # a typo such as 1000 for 2010
        raise InvalidInput(_("The date of birth is before 1900: check the year."), {"field": "birth_date"})
    index = _case_index(keys, user.agency_id, data.case_number)
    taken = db.exec(
        select(YouthLink).where(YouthLink.agency_id == user.agency_id, YouthLink.case_number_index == index)
    ).first()
    if taken is not None:
        raise InvalidInput(_("Your agency already has a youth with that case number."), {"field": "case_number"})
    youth = Youth(
        given_name_enc="",
        family_name_enc="",
        birth_date_enc="",
        name_index="",
        birth_date_index="",
        person_id="",
        created_by=user.id,
    )
    youth.person_id = youth.id
    youth.given_name_enc = keys.encrypt(data.given_name.strip(), "youth", "given_name", youth.id)
    youth.family_name_enc = keys.encrypt(data.family_name.strip(), "youth", "family_name", youth.id)
    youth.birth_date_enc = keys.encrypt(data.birth_date.isoformat(), "youth", "birth_date", youth.id)
    youth.name_index = keys.blind_index("name", f"{normalize(data.given_name)}|{normalize(data.family_name)}")
    youth.birth_date_index = keys.blind_index("birth_date", data.birth_date.isoformat())
    db.add(youth)
    db.flush()
    link = YouthLink(
        youth_id=youth.id, agency_id=user.agency_id, case_number_index=index, case_number_enc="", created_by=user.id
    )
    link.case_number_enc = keys.encrypt(data.case_number.strip(), "youth_link", "case_number", link.id)
    db.add(link)
    db.flush()
    search_keys.index_link(db, keys, link, data.given_name, data.family_name, data.case_number)
    from app.sharing.links import index_record  # here, not at the top: sharing builds on records

    index_record(db, keys, youth)
    audit.record(
        db, "youth.create", actor_id=user.id, agency_id=user.agency_id, object_type="youth", object_id=youth.id
    )
    return youth


def public(db: Session, keys: KeyRing, user: User, youth: Youth) -> YouthPublic:
    """The youth's record as the user's agency sees it (with its own case number)."""
    link = db.exec(_AGENCY_LINK, params={"youth_id": youth.id, "agency_id": user.agency_id}).first()
    return public_of(keys, youth, link)


_AGENCY_LINK = select(YouthLink).where(  # built once: every record page and API read of a youth runs it
    col(YouthLink.youth_id) == bindparam("youth_id"), col(YouthLink.agency_id) == bindparam("agency_id")
)


def public_of(keys: KeyRing, youth: Youth, link: YouthLink | None) -> YouthPublic:
    """A record and its agency link, decrypted (no query: lists fetch both at once)."""
    return YouthPublic(
        id=youth.id,
        given_name=keys.decrypt(youth.given_name_enc, "youth", "given_name", youth.id),
        family_name=keys.decrypt(youth.family_name_enc, "youth", "family_name", youth.id),
        birth_date=date.fromisoformat(keys.decrypt(youth.birth_date_enc, "youth", "birth_date", youth.id)),
        case_number=keys.decrypt(link.case_number_enc, "youth_link", "case_number", link.id) if link else None,
        created_at=youth.created_at,
        version=youth.version,
    )


@dataclass(frozen=True)
class ListedName:
    """A youth as a list shows them: the name, and the agency's case number."""

    id: str
    given_name: str
    family_name: str
    case_number: str | None


def listed_name(keys: KeyRing, row: Any) -> ListedName:
    """The names of a list's row (`youth_id`, `given_name_enc`, `family_name_enc`, `link_id`, `case_number_enc`),
    decrypted; the birth date and everything else stay encrypted."""
    case = row.case_number_enc
    return ListedName(
        id=row.youth_id,
        given_name=keys.decrypt(row.given_name_enc, "youth", "given_name", row.youth_id),
        family_name=keys.decrypt(row.family_name_enc, "youth", "family_name", row.youth_id),
        case_number=keys.decrypt(case, "youth_link", "case_number", row.link_id) if row.link_id else None,
    )


def view(db: Session, keys: KeyRing, user: User, youth_id: str) -> YouthPublic:
    """Read one youth through the access function, and audit the view."""
    youth = access.readable_youth(db, user, youth_id)
    audit.record(db, "youth.view", actor_id=user.id, agency_id=user.agency_id, object_type="youth", object_id=youth.id)
    return public(db, keys, user, youth)


def find_by_case_number(db: Session, keys: KeyRing, user: User, case_number: str) -> Youth:
    """The youth with this case number in the user's agency."""
    index = _case_index(keys, user.agency_id, case_number)
    youth = db.exec(
        select(Youth)
        .join(YouthLink, col(YouthLink.youth_id) == col(Youth.id))
        .where(YouthLink.agency_id == user.agency_id, YouthLink.case_number_index == index)
    ).first()
    if youth is None:
        raise NotFound(_("No youth with that case number in your agency."))
    return youth


# The agency's own link, aliased: the access clause correlates on `youth_link` in a subquery of its own.
_LINK = aliased(YouthLink, name="own_link")


def _own(user: User) -> Select[Youth, YouthLink]:
    """The user's agency's records with their links, through the access function, newest first."""
    return (
        select(Youth, _LINK)
        .join(_LINK, and_(col(_LINK.youth_id) == col(Youth.id), col(_LINK.agency_id) == user.agency_id))
        .where(access.youth_readable_clause(user))
        .order_by(col(_LINK.created_at).desc(), col(_LINK.id).desc())
    )


def list_for(
    db: Session, keys: KeyRing, user: User, after: paging.Cursor | None = None, size: int = paging.PAGE_SIZE
) -> paging.Page[YouthPublic]:
    """A page of the youth the user's agency holds, newest added first (one query, whatever their number)."""
    query = _own(user)
    if (older := paging.older_than(col(_LINK.created_at), col(_LINK.id), after)) is not None:
        query = query.where(older)
    rows = db.exec(query.limit(size + 1)).all()
    page = paging.page_of(rows, size, lambda row: (row[1].created_at, row[1].id))
    return paging.Page([public_of(keys, youth, link) for youth, link in page.items], page.next)


def search(db: Session, keys: KeyRing, user: User, data: YouthSearch, limit: int | None = None) -> YouthFound:
    """The user's agency's youth matching every word searched (name parts or part of a case number), audited.

    The newest `limit` (default SEARCH_LIMIT) matches are listed by family and given name. The audit event
    counts words and results; the query itself is never stored (it holds identifiers).
    """
    limit = SEARCH_LIMIT if limit is None else limit
    query = search_keys.parse(keys, user.agency_id, data.q)
    rows = db.exec(_own(user).where(search_keys.matches(query, col(_LINK.id))).limit(limit + 1)).all()
    youth = [public_of(keys, y, link) for y, link in rows[:limit]]
    youth.sort(key=lambda y: (normalize(y.family_name), normalize(y.given_name), y.case_number or ""))
    more = len(rows) > limit
    audit.record(
        db,
        "youth.search",
        actor_id=user.id,
        agency_id=user.agency_id,
        object_type="youth",
        detail={"words": len(query.words), "results": len(youth), "more": more},
    )
    return YouthFound(youth=youth, more=more)
