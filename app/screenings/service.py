"""Screenings: start, save answers (refusing stale writes), complete and score, read results."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple, cast

from sqlalchemy import BindParameter, ColumnElement, CursorResult, and_, bindparam, insert, update
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from app import access, audit, paging
from app.crypto import KeyRing
from app.errors import Conflict, InvalidInput, NotFound
from app.i18n import _
from app.models import (
    Answer,
    Screening,
    ScreeningResult,
    ScreeningRevision,
    ScreeningStatus,
    User,
    Youth,
    YouthLink,
    utcnow,
)
from app.models_sharing import Category
from app.screenings import followup, report_levels
from app.screenings.disclosed import without_items
from app.screenings.schemas import (
    AnswersSave,
    DashboardFilter,
    GivenBy,
    ScreeningCreate,
    ScreeningPublic,
    StoredAnswer,
)
from app.typed_sql import ColumnArgument, select_rows, table_of
from instruments.compiled import CompiledInstrument
from instruments.loader import Registry
from scoring import AnswerError, answer_problem, score, visible_only


def instrument_of(registry: Registry, screening: Screening) -> CompiledInstrument:
    """The exact instrument version a screening was taken under."""
    instrument = registry.get(screening.instrument_id, screening.instrument_version)
    if instrument is None or instrument.content_hash != screening.content_hash:
        raise NotFound(
            _("Instrument %(instrument)s %(version)s is not loaded.")
            % {"instrument": screening.instrument_id, "version": screening.instrument_version}
        )
    return instrument


def start(db: Session, keys: KeyRing, registry: Registry, user: User, data: ScreeningCreate) -> Screening:
    """Begin a screening of a youth the user may read, with an instrument in a mode it allows.

    Answers the youth already gave (here, or at an agency that consented to share item answers)
    are carried forward with their source, so nobody asks again.
    """
    youth = access.readable_youth(db, user, data.youth_id)
    instrument = registry.get(data.instrument_id, data.instrument_version)
    if instrument is None:
        raise InvalidInput(_("No instrument '%(id)s'.") % {"id": data.instrument_id}, {"field": "instrument_id"})
    definition = instrument.definition
    if data.mode not in definition.modes:
        raise InvalidInput(
            _("%(instrument)s cannot be used in the '%(mode)s' mode (it allows: %(modes)s).")
            % {"instrument": definition.id, "mode": data.mode, "modes": ", ".join(definition.modes)},
            {"field": "mode"},
        )
    if data.language not in definition.languages:
        raise InvalidInput(
            _("%(instrument)s is not available in '%(language)s'.")
            % {"instrument": definition.id, "language": data.language},
            {"field": "language"},
        )
    screening = add(db, user, youth.id, instrument, data.mode, data.language)
    audit.record(
        db,
        "screening.start",
        actor_id=user.id,
        agency_id=user.agency_id,
        object_type="screening",
        object_id=screening.id,
        detail={"instrument": instrument.id, "version": instrument.version},
    )
    from app.sharing.tellonce import carry_forward  # sharing builds on screenings; import where used

    carry_forward(db, keys, user, screening, instrument)
    return screening


def add(
    db: Session,
    user: User,
    youth_id: str,
    instrument: CompiledInstrument,
    mode: str,
    language: str,
    started_at: datetime | None = None,
) -> Screening:
    """A new screening of the youth by the user's agency with this instrument, added and flushed (callers audit it)."""
    screening = Screening(
        youth_id=youth_id,
        agency_id=user.agency_id,
        instrument_id=instrument.id,
        instrument_version=instrument.version,
        content_hash=instrument.content_hash,
        mode=mode,
        language=language,
        started_by=user.id,
    )
    if started_at is not None:  # an imported response: when it was authored
        screening.started_at = started_at
    db.add(screening)
    db.flush()
    return screening


def _row_id(screening_id: str, item_id: str) -> str:
    return f"{screening_id}:{item_id}"


CARRIED = "carried"  # from an earlier screening, with its origin; counts once confirmed
CORRECTED = "corrected"  # an answer changed by staff after completion: not the youth's own words
GIVEN_BY: dict[str, GivenBy] = {"self": "self_report", "interview": "interview", "practitioner": "staff"}


def prune_carried(db: Session, screening: Screening) -> int:
    """Drop from a draft the carried answers nobody confirmed whose program no longer shares its answers with the
    screening's agency (a consent revoked, expired, or replaced by one without answers); returns how many.

    Every read of a draft's answers runs it first, so an ended consent takes effect on the very next request.
    """
    if screening.status != ScreeningStatus.in_progress:
        return 0
    pending = db.exec(
        select(Screening.agency_id, Youth.person_id)
        .join(Answer, col(Answer.carried_from) == col(Screening.id))
        .join(Youth, col(Youth.id) == col(Screening.youth_id))
        .where(Answer.screening_id == screening.id, Answer.source == CARRIED, col(Answer.confirmed_at).is_(None))
    ).all()
    if not pending:
        return 0
    still = set(access.answers_shared_by(db, screening.agency_id, pending[0][1]))
    gone = {agency for agency, _person in pending} - still
    return drop_unconfirmed(db, screening, gone) if gone else 0


# Built once (every save, completion and result reads it); rows, not objects: they are only read here.
_ANSWERS_OF = select_rows(
    col(Answer.item_id),
    col(Answer.value_enc),
    col(Answer.source),
    col(Answer.carried_from),
    col(Answer.updated_at),
    col(Answer.confirmed_at),
).where(col(Answer.screening_id) == bindparam("screening_id"))


class _Row(NamedTuple):
    """An answer's stored columns, as `_ANSWERS_OF` selects them."""

    item_id: str
    value_enc: str
    source: str
    carried_from: str | None
    updated_at: datetime
    confirmed_at: datetime | None


def stored_answers(db: Session, keys: KeyRing, screening: Screening) -> dict[str, StoredAnswer]:
    """Every stored answer of a screening, decrypted, with where it was first given (a draft is pruned first)."""
    of_screening = {"screening_id": screening.id}
    rows = [_Row(*row) for row in db.exec(_ANSWERS_OF, params=of_screening)]
    # Only a carried answer nobody confirmed can have to go: without one, nothing is pruned (and nothing asked).
    if any(row.source == CARRIED and row.confirmed_at is None for row in rows) and prune_carried(db, screening):
        db.flush()
        rows = [_Row(*row) for row in db.exec(_ANSWERS_OF, params=of_screening)]
    origin_ids = {row.carried_from for row in rows if row.carried_from}
    origins = {screening.id: screening}
    if origin_ids:
        origins |= {s.id: s for s in db.exec(select(Screening).where(col(Screening.id).in_(origin_ids)))}
    out = {}
    for row in rows:
        origin = origins.get(row.carried_from or screening.id)
        out[row.item_id] = StoredAnswer(
            value=keys.decrypt_json(row.value_enc, "answer", "value", _row_id(screening.id, row.item_id)),
            source=row.source,
            carried_from=row.carried_from,
            updated_at=row.updated_at,
            origin_agency_id=origin.agency_id if origin else None,
            given_at=(origin.completed_at or origin.started_at) if row.carried_from and origin else row.updated_at,
            given_by=GIVEN_BY.get(origin.mode, "staff") if origin else "staff",
            confirmed=row.source != CARRIED or row.confirmed_at is not None,
        )
    return out


def answer_values(db: Session, keys: KeyRing, screening: Screening, counted: bool = False) -> dict[str, Any]:
    """Item id -> answer value; `counted` leaves out carried answers nobody has confirmed (never scored)."""
    return {k: v.value for k, v in stored_answers(db, keys, screening).items() if v.confirmed or not counted}


_SCREENING = table_of(Screening)
# Built once, on the Core table (every save and completion runs it): an ORM UPDATE also matched its criteria
# against the session's objects, and building and keying it was a fifth of a screening cycle's SQL work.
_BUMP_VERSION = (
    update(_SCREENING)
    .where(_SCREENING.c.id == bindparam("screening_id"), _SCREENING.c.version == bindparam("expected"))
    .values(version=bindparam("bumped"))
)


def bump_version(db: Session, screening: Screening, expected: int) -> None:
    """Compare-and-swap on the version: a stale write is refused, never silently applied."""
    swap = {"screening_id": screening.id, "expected": expected, "bumped": expected + 1}
    result = cast("CursorResult[Any]", db.execute(_BUMP_VERSION, swap))  # an UPDATE's result has its row count
    if result.rowcount != 1:
        db.refresh(screening)
        raise Conflict(
            _("This screening was changed by someone else since you opened it."), {"current_version": screening.version}
        )
    # The swap succeeded, so no one else changed the row: only its version moved (no query to re-read it).
    set_committed_value(screening, "version", expected + 1)


def save_answers(
    db: Session, keys: KeyRing, registry: Registry, user: User, screening_id: str, data: AnswersSave
) -> Screening:
    """Store answers (all checked first; nothing is saved if any is invalid)."""
    screening = access.writable_screening(db, user, screening_id)
    return store_answers(db, keys, registry, screening, data, user.id)


def store_answers(
    db: Session, keys: KeyRing, registry: Registry, screening: Screening, data: AnswersSave, actor_id: str | None
) -> Screening:
    """Store answers to a screening the caller was allowed to change (a user's, or a youth's own)."""
    refuse_unless_in_progress(screening)
    instrument = instrument_of(registry, screening)
    problems = {item: p for item, value in data.answers.items() if (p := answer_problem(instrument, item, value))}
    if problems:
        raise InvalidInput(_("Some answers are not valid."), {"answers": problems})
    if prune_carried(db, screening):  # nothing may be confirmed that is no longer shared
        db.flush()
    carried = _carried_rows(db, screening, data.confirm)
    if missing := [item for item in data.confirm if item not in carried]:
        message = _("There is no carried answer to confirm for this question.")
        raise InvalidInput(_("Some answers are not valid."), {"confirm": dict.fromkeys(missing, message)})
    bump_version(db, screening, data.version)
    write_answers(db, keys, screening, data.answers, actor_id)
    confirm_carried(db, carried, actor_id)
    if data.notes is not None:
        screening.notes_enc = keys.encrypt(data.notes, "screening", "notes", screening.id) if data.notes else None
        db.add(screening)
    db.flush()
    audit.record(
        db,
        "screening.save",
        actor_id=actor_id,
        agency_id=screening.agency_id,
        object_type="screening",
        object_id=screening.id,
        detail={"items": len(data.answers), "by": "user" if actor_id else "youth"},
    )
    return screening


def _carried_rows(db: Session, screening: Screening, items: list[str]) -> dict[str, Answer]:
    if not items:
        return {}
    query = select(Answer).where(
        Answer.screening_id == screening.id, col(Answer.item_id).in_(items), Answer.source == CARRIED
    )
    return {row.item_id: row for row in db.exec(query)}


def confirm_carried(db: Session, rows: dict[str, Answer], actor_id: str | None) -> None:
    """Mark carried answers as confirmed still true (by staff, or by the youth when `actor_id` is None).
    An answer changed in the same save is the new answer's own, and needs no confirming."""
    now = utcnow()
    for row in rows.values():
        if row.source == CARRIED and row.confirmed_at is None:
            row.confirmed_at, row.confirmed_by = now, actor_id
            db.add(row)


def settle(db: Session, screening: Screening, items: list[str]) -> None:
    """Mark answers the youth settled on the "still true?" page (here: chose not to say), so they are not
    asked again on their pages."""
    if not items:
        return
    now = utcnow()
    for row in db.exec(select(Answer).where(Answer.screening_id == screening.id, col(Answer.item_id).in_(items))):
        row.confirmed_at = now
        db.add(row)


def drop_unconfirmed(db: Session, screening: Screening, origin_agency_ids: set[str] | None = None) -> int:
    """Remove carried answers nobody confirmed (all, or those given at the named agencies); returns how many."""
    query = select(Answer).where(
        Answer.screening_id == screening.id, Answer.source == CARRIED, col(Answer.confirmed_at).is_(None)
    )
    rows = list(db.exec(query))
    if origin_agency_ids is not None and rows:
        origins = {row.carried_from for row in rows if row.carried_from}
        agency_of = dict(db.exec(select(Screening.id, Screening.agency_id).where(col(Screening.id).in_(origins))).all())
        rows = [row for row in rows if agency_of.get(row.carried_from or "") in origin_agency_ids]
    for row in rows:
        db.delete(row)
    return len(rows)


def refuse_unless_in_progress(screening: Screening) -> None:
    """Answers change only while a screening is in progress (a completed one is amended instead)."""
    if screening.status == ScreeningStatus.completed:
        raise Conflict(_("This screening is completed; its answers can no longer change."))
    if screening.status == ScreeningStatus.discarded:
        raise Conflict(_("This draft was discarded; it cannot be resumed."))


def write_answers(
    db: Session,
    keys: KeyRing,
    screening: Screening,
    answers: dict[str, Any],
    actor_id: str | None,
    source: str = "given",
) -> None:
    """Store checked answers (None clears one) with their `source`; an unchanged answer keeps its source and date.

    The stored rows are read in one query (not one per answer); the new ones are written in one INSERT of plain
    rows, the changed ones by the session in one batched UPDATE."""
    now = utcnow()
    stored: dict[str, Answer] = {}
    if answers:
        which = {"screening_id": screening.id, "items": list(answers)}
        stored = {row.item_id: row for row in db.exec(_STORED_OF, params=which)}
    new: list[dict[str, Any]] = []
    for item_id, value in answers.items():
        row = stored.get(item_id)
        if value is None:
            if row is not None:
                db.delete(row)
            continue
        if (
            row is not None
            and keys.decrypt_json(row.value_enc, "answer", "value", _row_id(screening.id, item_id)) == value
        ):
            continue  # unchanged: a confirmed carried answer keeps its source
        encrypted = keys.encrypt_json(value, "answer", "value", _row_id(screening.id, item_id))
        if row is None:
            new.append(
                {
                    **_NEW_ANSWER,
                    "screening_id": screening.id,
                    "item_id": item_id,
                    "value_enc": encrypted,
                    "source": source,
                    "updated_at": now,
                    "updated_by": actor_id,
                }
            )
            continue
        row.value_enc, row.updated_at, row.updated_by, row.source = encrypted, now, actor_id, source
        row.carried_from, row.confirmed_at, row.confirmed_by = None, None, None
        db.add(row)
    if new:
        db.flush()  # the session's pending rows first (the screening's own)
        db.execute(_INSERT_ANSWERS, new)


# Built once (every save runs them): the stored answers among the items sent, and new answers as plain rows of
# the table (an ORM object per answer, or the ORM's bulk insert of them, cost more than the write).
_STORED_OF = select(Answer).where(
    col(Answer.screening_id) == bindparam("screening_id"), col(Answer.item_id).in_(bindparam("items", expanding=True))
)
_INSERT_ANSWERS = insert(table_of(Answer))
_NEW_ANSWER: dict[str, Any] = {"carried_from": None, "confirmed_at": None, "confirmed_by": None}


def complete(db: Session, keys: KeyRing, registry: Registry, user: User, screening_id: str, version: int) -> Screening:
    """Score the visible answers and store the result with its reasons."""
    return completed(db, keys, registry, user, screening_id, version)[0]


def completed(
    db: Session, keys: KeyRing, registry: Registry, user: User, screening_id: str, version: int
) -> tuple[Screening, dict[str, StoredAnswer]]:
    """`complete`, with the answers it kept (read and decrypted once: the API's reply shows them)."""
    screening = access.writable_screening(db, user, screening_id)
    return _finish(db, keys, registry, screening, version, user.id)


def finish(
    db: Session, keys: KeyRing, registry: Registry, screening: Screening, version: int, actor_id: str | None
) -> Screening:
    """Complete a screening the caller was allowed to change (a user's, or a youth's own)."""
    return _finish(db, keys, registry, screening, version, actor_id)[0]


def _finish(
    db: Session, keys: KeyRing, registry: Registry, screening: Screening, version: int, actor_id: str | None
) -> tuple[Screening, dict[str, StoredAnswer]]:
    if screening.status == ScreeningStatus.completed:
        raise Conflict(_("This screening is already completed."))
    refuse_unless_in_progress(screening)
    instrument = instrument_of(registry, screening)
    # The answers are read (and decrypted) once: the unconfirmed carried ones are never part of the screening.
    every = stored_answers(db, keys, screening)
    kept = {item: stored for item, stored in every.items() if stored.confirmed}
    answers = visible_only(instrument, {item: stored.value for item, stored in kept.items()})
    try:
        result = score(instrument, answers)
    except AnswerError as exc:  # stored answers were checked one by one; this is a safety net
        problems = {p.item_id: p.message for p in exc.problems}
        raise InvalidInput(_("The answers cannot be scored."), {"answers": problems}) from exc
    bump_version(db, screening, version)
    if len(kept) < len(every):  # nobody said they are still true: they were never part of this screening
        drop_unconfirmed(db, screening)
    screening.status = ScreeningStatus.completed
    screening.completed_at = utcnow()
    screening.overall_level = result.overall
    screening.total_score = result.total.value if result.total is not None else None
    followup.set_due(screening, instrument)  # when its next steps say to screen again, if they do
    db.add(screening)
    result_dict = result.to_dict()
    db.add(
        ScreeningResult(
            screening_id=screening.id,
            overall_level=result.overall,
            engine_version=result.engine_version,
            result_enc=keys.encrypt_json(result_dict, "screening_result", "result", screening.id),
        )
    )
    report_levels.store(db, screening, result_dict, first=True)  # the domains' levels in the clear, for reports
    record_revision(db, keys, screening, 1, kept, result_dict, actor_id)
    db.flush()
    audit.record(
        db,
        "screening.complete",
        actor_id=actor_id,
        agency_id=screening.agency_id,
        object_type="screening",
        object_id=screening.id,
    )
    return screening, kept


def record_revision(
    db: Session,
    keys: KeyRing,
    screening: Screening,
    number: int,
    answers: dict[str, StoredAnswer],
    result: dict[str, Any],
    author_id: str | None,
    reason: str | None = None,
) -> ScreeningRevision:
    """Keep one revision of a completed screening: its answers and result as they stand, and why it changed."""
    revision = ScreeningRevision(
        screening_id=screening.id,
        number=number,
        overall_level=result["overall"],
        engine_version=result["engine_version"],
        author_id=author_id,
        answers_enc="",
        result_enc="",
    )
    kept = {"value", "source", "carried_from"}
    snapshot = {item: a.model_dump(mode="json", include=kept) for item, a in answers.items()}
    revision.answers_enc = keys.encrypt_json(snapshot, "screening_revision", "answers", revision.id)
    revision.result_enc = keys.encrypt_json(result, "screening_revision", "result", revision.id)
    if reason is not None:
        revision.reason_enc = keys.encrypt(reason, "screening_revision", "reason", revision.id)
    db.add(revision)
    return revision


def result_of(db: Session, keys: KeyRing, user: User, screening_id: str) -> tuple[dict[str, Any], access.Read]:
    """The stored result of a completed screening and what the user may see of it; another agency's view
    (the summary, and the answers its evidence quotes where shared) is written in the disclosure ledger.

    Evidence quoting answers the reader may not see (given at an agency that has not consented to it)
    is left out here; without the answers category, `disclosed.result_summary` leaves out the rest.
    """
    read = access.open_screening(db, user, screening_id, (Category.result_summary, Category.item_answers))
    row = db.get(ScreeningResult, read.screening.id)
    if row is None:
        raise NotFound(_("This screening has no result yet; complete it first."))
    result: dict[str, Any] = keys.decrypt_json(row.result_enc, "screening_result", "result", read.screening.id)
    if read.own or not read.covers(Category.item_answers):
        return result, read
    answers = stored_answers(db, keys, read.screening)
    shown = shown_answers(db, user, read, answers)
    return without_items(result, set(answers) - set(shown)), read


def shown_answers(
    db: Session, user: User, read: access.Read, answers: dict[str, StoredAnswer]
) -> dict[str, StoredAnswer]:
    """The answers of a read screening the reader may see: all for its own agency; for another agency none
    without the answers category, and only those given at agencies that consented to it (each in the ledger)."""
    if read.own:
        return answers
    shown = {k: a for k, a in answers.items() if read.shows_answer_from(a.origin_agency_id)}
    access.disclose_origins(db, user, read, {a.origin_agency_id or "" for a in shown.values()})
    return shown


def notes_of(keys: KeyRing, screening: Screening) -> str | None:
    """The screening's notes, decrypted (none: None); only its own agency reads them."""
    return keys.decrypt(screening.notes_enc, "screening", "notes", screening.id) if screening.notes_enc else None


def public(
    db: Session, keys: KeyRing, screening: Screening, answers: dict[str, StoredAnswer] | None = None
) -> ScreeningPublic:
    """A screening with its answers (read here unless the caller just read them: `answers`), for pages and the API."""
    notes = notes_of(keys, screening)
    reason = screening.discard_reason_enc
    discarded = keys.decrypt(reason, "screening", "discard_reason", screening.id) if reason else None
    answers = stored_answers(db, keys, screening) if answers is None else answers
    return ScreeningPublic.model_validate(
        {**screening.model_dump(), "answers": answers, "notes": notes} | {"discard_reason": discarded}
    )


def for_youth(db: Session, user: User, youth_id: str) -> list[Screening]:
    """The screenings of a youth that the user may read, newest first."""
    return list(db.exec(_for_youth(user), params={"youth_id": youth_id}))


@access.per_viewer
def _for_youth(viewer: access.Viewer) -> SelectOfScalar[Screening]:
    return (
        select(Screening)
        .where(col(Screening.youth_id) == bindparam("youth_id"))
        .where(access.screening_readable_clause(viewer), _not_discarded())
        .order_by(col(Screening.started_at).desc())
    )


_DASHBOARD_LINK = aliased(YouthLink, name="own_link")  # the access clause correlates on youth_link itself
DASHBOARD_COLUMNS: tuple[ColumnArgument, ...] = (
    col(Screening.id),
    col(Screening.youth_id),
    col(Screening.instrument_id),
    col(Screening.instrument_version),
    col(Screening.status),
    col(Screening.started_at),
    col(Screening.started_by),
    col(Screening.overall_level),
    col(Youth.given_name_enc),
    col(Youth.family_name_enc),
    col(_DASHBOARD_LINK.id).label("link_id"),
    col(_DASHBOARD_LINK.case_number_enc),
)


def dashboard(
    db: Session, user: User, filters: DashboardFilter, after: paging.Cursor | None = None, size: int = paging.PAGE_SIZE
) -> paging.Page[Any]:
    """A page of the user's agency's screenings, newest started first, filtered: one query whatever the number of
    rows, the access clause applied in it. Each row has only the columns the list shows (DASHBOARD_COLUMNS): the
    screening's, and its youth's encrypted names and the agency's encrypted case number."""
    given = {name: value for name, value in filters.model_dump().items() if value}
    query = _dashboard(access.Viewer(user.id, user.agency_id), tuple(sorted(given)), after is not None, size)
    values = given | {"agency_id": user.agency_id} | paging.after_parameters(after)
    rows = db.exec(query, params=values).all()
    return paging.page_of(rows, size, lambda row: (row.started_at, row.id))


_DASHBOARD_FILTERS: dict[str, Callable[[Any], ColumnElement[bool]]] = {
    "level": lambda value: col(Screening.overall_level) == value,
    "instrument_id": lambda value: col(Screening.instrument_id) == value,
    "screener_id": lambda value: col(Screening.started_by) == value,
    "status": lambda value: col(Screening.status) == value,
    "date_from": lambda value: col(Screening.started_at) >= value,
    "date_to": lambda value: col(Screening.started_at) <= value,
}


@lru_cache(maxsize=256)
def _dashboard(viewer: access.Viewer, filtered: tuple[str, ...], paged: bool, size: int) -> Any:
    """The dashboard's statement for one user and the filters given, built once: the filters' values, the agency
    and the cursor are parameters."""
    own_link = _DASHBOARD_LINK
    agency: BindParameter[str] = bindparam("agency_id")
    query = (
        select_rows(*DASHBOARD_COLUMNS)
        .join(Youth, col(Youth.id) == col(Screening.youth_id))
        .outerjoin(own_link, and_(col(own_link.youth_id) == col(Youth.id), col(own_link.agency_id) == agency))
        .where(col(Screening.agency_id) == agency, _not_discarded(), access.youth_readable_clause(viewer))
    )
    for name in filtered:
        query = query.where(_DASHBOARD_FILTERS[name](bindparam(name)))
    started, screening_id = col(Screening.started_at), col(Screening.id)
    if paged:
        query = query.where(paging.older_than_parameters(started, screening_id))
    return query.order_by(started.desc(), screening_id.desc()).limit(size + 1)


def _not_discarded() -> ColumnElement[bool]:
    """Lists leave out discarded drafts (the audit keeps them)."""
    return col(Screening.status) != ScreeningStatus.discarded
