"""Corrections after completion: amend a completed screening as a new revision, read earlier revisions,
and discard a draft nobody will finish.

A correction never rewrites history. The revision that was current stays readable with its answers
and result; the `answer` and `screening_result` rows move on to the new revision, so every other
reader (pages, exports, reports, sharing) sees the latest. Reasons are free text, so they are
encrypted like notes and never written to the audit log. Another agency reads a revision only as
it reads the result (under consent, or its break-glass), and each read is in the disclosure ledger
with the revision's number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import defer
from sqlmodel import Session, col, func, select

from app import access, audit
from app.crypto import KeyRing
from app.errors import Conflict, InvalidInput, NotFound
from app.i18n import _
from app.models import (
    Screening,
    ScreeningResult,
    ScreeningRevision,
    ScreeningStatus,
    User,
    YouthAccess,
    utcnow,
)
from app.models_sharing import Disclosure
from app.screenings import followup, report_levels, service
from app.screenings.disclosed import result_summary, without_items
from app.screenings.schemas import Amend, Discard, RevisionPublic, RevisionSummary, StoredAnswer
from instruments.loader import Registry
from scoring import AnswerError, answer_problem, score, visible_only


@dataclass
class Revision:
    """One revision as read back: its answers (item id -> value) and result, who made it, when and why."""

    number: int
    of: int
    created_at: datetime
    overall_level: str
    engine_version: str
    author_id: str | None
    reason: str | None
    answers: dict[str, Any] = field(default_factory=dict)
    result: dict[str, Any] = field(default_factory=dict)

    @property
    def amended(self) -> bool:
        """Whether this revision is a correction (revision 1 is the result as first completed)."""
        return self.number > 1


def _rows(db: Session, screening: Screening) -> list[ScreeningRevision]:
    """The revisions' rows for a list: without their answers and results, which a list never decrypts."""
    return list(
        db.exec(
            select(ScreeningRevision)
            .options(defer(ScreeningRevision.answers_enc), defer(ScreeningRevision.result_enc))  # type: ignore[arg-type]
            .where(ScreeningRevision.screening_id == screening.id)
            .order_by(col(ScreeningRevision.number))
        )
    )


def _reason(keys: KeyRing, row: ScreeningRevision) -> str | None:
    return keys.decrypt(row.reason_enc, "screening_revision", "reason", row.id) if row.reason_enc else None


def _snapshot(keys: KeyRing, row: ScreeningRevision) -> dict[str, dict[str, Any]]:
    """A revision's answers: item id -> {"value", "source", "carried_from"}."""
    answers: dict[str, dict[str, Any]] = keys.decrypt_json(row.answers_enc, "screening_revision", "answers", row.id)
    return answers


def _result_row(db: Session, screening: Screening) -> ScreeningResult:
    """The screening's current result row (the latest revision's)."""
    result_row = db.get(ScreeningResult, screening.id)
    if result_row is None:
        raise NotFound(_("No such revision."))
    return result_row


def _current(db: Session, keys: KeyRing, screening: Screening) -> Revision:
    """The current answers and result as a revision (a screening completed before revisions were kept has no row)."""
    result_row = _result_row(db, screening)
    answers = service.stored_answers(db, keys, screening)
    return Revision(
        number=screening.revision,
        of=screening.revision,
        created_at=screening.completed_at or result_row.scored_at,
        overall_level=result_row.overall_level,
        engine_version=result_row.engine_version,
        author_id=None,
        reason=None,
        answers={item: a.value for item, a in answers.items()},
        result=keys.decrypt_json(result_row.result_enc, "screening_result", "result", screening.id),
    )


def history(db: Session, keys: KeyRing, screening: Screening) -> list[Revision]:
    """Every revision of a completed screening, oldest first, without answers and results (for lists)."""
    rows = _rows(db, screening)
    if not rows:  # completed before revisions were kept: the current result is the only one (nothing decrypted)
        result_row = _result_row(db, screening)
        at = screening.completed_at or result_row.scored_at
        return [
            Revision(
                screening.revision,
                screening.revision,
                at,
                result_row.overall_level,
                result_row.engine_version,
                None,
                None,
            )
        ]
    return [
        Revision(
            r.number, screening.revision, r.created_at, r.overall_level, r.engine_version, r.author_id, _reason(keys, r)
        )
        for r in rows
    ]


def read(db: Session, keys: KeyRing, user: User, shown: access.Read, number: int) -> Revision:
    """One revision of a screening opened through the gate (`access.open_screening`, with `revision=number`,
    which wrote another agency's read in the ledger with its number).

    Who amended it and why stay with the owning agency (the reason is free text, like notes). Another agency
    gets the answers, and the evidence quoting them, only as far as `shown` covers them: none without the
    answers category, and none given at an agency that has not consented to it.
    """
    screening = shown.screening
    if screening.status != ScreeningStatus.completed or not 1 <= number <= screening.revision:
        raise NotFound(_("No such revision."))
    of_screening = ScreeningRevision.screening_id == screening.id
    row = db.exec(select(ScreeningRevision).where(of_screening, ScreeningRevision.number == number)).first()
    origins: dict[str, str | None] = {}
    if row is None:
        revision = _current(db, keys, screening)
        origins = {k: a.origin_agency_id for k, a in service.stored_answers(db, keys, screening).items()}
    else:
        snapshot = _snapshot(keys, row)
        revision = Revision(
            row.number,
            screening.revision,
            row.created_at,
            row.overall_level,
            row.engine_version,
            row.author_id,
            _reason(keys, row),
            {k: v["value"] for k, v in snapshot.items()},
            keys.decrypt_json(row.result_enc, "screening_revision", "result", row.id),
        )
        origins = _origins(db, screening, snapshot)
    if not shown.own:
        revision.author_id, revision.reason = None, None
        visible = {k for k, origin in origins.items() if shown.shows_answer_from(origin)}
        access.disclose_origins(db, user, shown, {origins[k] or "" for k in visible})
        revision.answers = {k: v for k, v in revision.answers.items() if k in visible}
        revision.result = without_items(revision.result, set(origins) - visible)
    audit.screening_viewed(db, user, screening.id, revision=number)
    return revision


def _origins(db: Session, screening: Screening, snapshot: dict[str, dict[str, Any]]) -> dict[str, str | None]:
    """Item id -> the agency where a revision's answer was first given."""
    carried = {v.get("carried_from") for v in snapshot.values() if v.get("carried_from")}
    agency_of = dict(db.exec(select(Screening.id, Screening.agency_id).where(col(Screening.id).in_(carried))).all())
    return {k: agency_of.get(v.get("carried_from") or "", screening.agency_id) for k, v in snapshot.items()}


def amend(db: Session, keys: KeyRing, registry: Registry, user: User, screening_id: str, data: Amend) -> Revision:
    """Correct a completed screening of the user's agency: change answers, rescore on the same instrument
    version, and keep the result that was current as the previous revision. A stale `version` is refused."""
    screening = access.writable_screening(db, user, screening_id)
    if screening.status != ScreeningStatus.completed:
        raise Conflict(_("Only a completed screening can be amended; a draft's answers can still be changed."))
    instrument = service.instrument_of(registry, screening)
    problems = {item: p for item, value in data.answers.items() if (p := answer_problem(instrument, item, value))}
    if problems:
        raise InvalidInput(_("Some answers are not valid."), {"answers": problems})
    before = service.stored_answers(db, keys, screening)
    values = {item: a.value for item, a in before.items()}
    changes = {item: value for item, value in data.answers.items() if values.get(item) != value}
    if not changes:
        raise InvalidInput(_("Change at least one answer: this correction changes nothing."), {"field": "answers"})
    after = {item: value for item, value in {**values, **changes}.items() if value is not None}
    try:
        result = score(instrument, visible_only(instrument, after)).to_dict()
    except AnswerError as exc:
        problems = {p.item_id: p.message for p in exc.problems}
        raise InvalidInput(_("The answers cannot be scored."), {"answers": problems}) from exc
    service.bump_version(db, screening, data.version)
    _keep_original(db, keys, screening, before)
    service.write_answers(db, keys, screening, changes, user.id, source=service.CORRECTED)
    db.flush()
    result_row = db.get(ScreeningResult, screening.id)
    if result_row is None:  # a completed screening always has one; a safety net
        raise NotFound(_("This screening has no result to amend."))
    result_row.overall_level, result_row.engine_version = result["overall"], result["engine_version"]
    result_row.result_enc = keys.encrypt_json(result, "screening_result", "result", screening.id)
    result_row.scored_at = utcnow()
    screening.revision += 1
    screening.overall_level = result["overall"]
    screening.total_score = (result.get("total") or {}).get("value")
    followup.set_due(screening, instrument)  # a corrected level may call for another date, or none
    db.add_all([result_row, screening])
    report_levels.store(db, screening, result)  # reports count the corrected domains' levels
    now = service.stored_answers(db, keys, screening)
    row = service.record_revision(db, keys, screening, screening.revision, now, result, user.id, data.reason)
    db.flush()
    audit.record(
        db,
        "screening.amend",
        actor_id=user.id,
        agency_id=user.agency_id,
        object_type="screening",
        object_id=screening.id,
        detail={"revision": screening.revision, "items": len(changes)},
    )
    return Revision(
        row.number,
        row.number,
        row.created_at,
        row.overall_level,
        row.engine_version,
        user.id,
        data.reason,
        {item: a.value for item, a in now.items()},
        result,
    )


def _keep_original(db: Session, keys: KeyRing, screening: Screening, answers: dict[str, StoredAnswer]) -> None:
    """A screening completed before revisions were kept gets its current result recorded as its revision first."""
    if db.exec(select(ScreeningRevision.id).where(ScreeningRevision.screening_id == screening.id)).first():
        return
    current = _current(db, keys, screening)
    row = service.record_revision(db, keys, screening, current.number, answers, current.result, None)
    row.created_at = current.created_at


def discard(db: Session, keys: KeyRing, user: User, screening_id: str, data: Discard) -> Screening:
    """Discard a draft of the user's agency that nobody will finish: kept for the audit, hidden from lists,
    no longer resumable (any link or code given to the youth stops working). A stale `version` is refused."""
    screening = access.writable_screening(db, user, screening_id)
    if screening.status == ScreeningStatus.completed:
        raise Conflict(_("A completed screening cannot be discarded; amend it to correct its answers."))
    if screening.status == ScreeningStatus.discarded:
        raise Conflict(_("This draft was already discarded."))
    service.bump_version(db, screening, data.version)
    screening.status = ScreeningStatus.discarded
    screening.discarded_at, screening.discarded_by = utcnow(), user.id
    screening.discard_reason_enc = keys.encrypt(data.reason, "screening", "discard_reason", screening.id)
    db.add(screening)
    from app.portal import service as portal  # the youth's access builds on screenings; import where used

    open_accesses = select(YouthAccess.id).where(
        YouthAccess.screening_id == screening.id, col(YouthAccess.revoked_at).is_(None)
    )
    for access_id in db.exec(open_accesses).all():
        portal.revoke(db, user, access_id)
    db.flush()
    audit.record(
        db,
        "screening.discard",
        actor_id=user.id,
        agency_id=user.agency_id,
        object_type="screening",
        object_id=screening.id,
    )
    return screening


@dataclass
class RevisionLine:
    """One revision as the result page lists it (author and reason: the owning agency only)."""

    number: int
    created_at: datetime
    overall_level: str | None = None
    author: str | None = None
    reason: str | None = None


@dataclass
class RevisionPanel:
    """What the result page says about revisions: "revision N of M", the list, and what a partner saw before."""

    screening_id: str
    own: bool
    current: int
    lines: list[RevisionLine]
    last_seen: tuple[int, datetime] | None = None  # another agency: the older revision it saw, and when

    @property
    def amended_at(self) -> datetime | None:
        """When the current revision was made, if it is a correction."""
        return self.lines[-1].created_at if self.current > 1 and self.lines else None


def panel(db: Session, keys: KeyRing, user: User, screening: Screening) -> RevisionPanel:
    """The result page's revisions; call it before the page's own view is recorded in the ledger."""
    own = screening.agency_id == user.agency_id
    revisions = history(db, keys, screening)
    if not own:
        lines = [RevisionLine(r.number, r.created_at) for r in revisions]
        return RevisionPanel(screening.id, False, screening.revision, lines, _last_seen(db, user, screening))
    names = {a: u.display_name for a in {r.author_id for r in revisions} if a and (u := db.get(User, a))}
    lines = [
        RevisionLine(r.number, r.created_at, r.overall_level, names.get(r.author_id or ""), r.reason) for r in revisions
    ]
    return RevisionPanel(screening.id, True, screening.revision, lines)


def _last_seen(db: Session, user: User, screening: Screening) -> tuple[int, datetime] | None:
    """The newest revision another agency saw of this screening, and when, if it has not seen the current one."""
    seen = db.exec(
        select(Disclosure.revision, func.max(Disclosure.at))
        .where(
            Disclosure.screening_id == screening.id,
            Disclosure.viewer_agency_id == user.agency_id,
            col(Disclosure.revision).is_not(None),
        )
        .group_by(col(Disclosure.revision))
    ).all()
    by_revision = {number: at for number, at in seen if number is not None}
    if not by_revision or screening.revision in by_revision:
        return None
    newest = max(by_revision)
    return newest, by_revision[newest]


def summary_of(revision: Revision) -> RevisionSummary:
    """A revision for the API's list."""
    return RevisionSummary(
        number=revision.number,
        created_at=revision.created_at,
        overall_level=revision.overall_level,
        amended=revision.amended,
        author_id=revision.author_id,
        reason=revision.reason,
    )


def public(screening: Screening, revision: Revision, own: bool, with_answers: bool | None = None) -> RevisionPublic:
    """A revision for the API: its answers for the owning agency only, and a result that quotes answers
    only `with_answers` (by default: for the owning agency)."""
    quoted = own if with_answers is None else with_answers
    return RevisionPublic(
        **summary_of(revision).model_dump(),
        screening_id=screening.id,
        of=revision.of,
        engine_version=revision.engine_version,
        result=result_summary(revision.result, quoted) if revision.result else revision.result,
        answers=revision.answers if own else None,
    )
