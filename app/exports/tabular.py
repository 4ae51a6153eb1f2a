"""Exports of an agency's screenings for a recipient agency: CSV (plain or for Excel) with a codebook, SPSS and
Stata files, JSON, NDJSON and FHIR.

Every export takes one path: the exporting agency's completed screenings in a date range, narrowed by
`access.shared_with_clause` to what the recipient may receive right now (an agency exporting to itself
gets all of its own), read in keyset-paginated batches so memory stays flat whatever the size. Each
batch is written to the disclosure ledger and committed before its rows are released, so nothing
leaves without its entry. The writers (`app.exports.writers`, `app.interop.fhir_stream`) turn the rows
into text; `app.exports.stats_files` holds them and writes a .sav or .dta file (the one kind of export
whose memory grows with its size: it is bounded before it starts).

A row's levels are those every page shows (`app.levels.shown`): a domain that a result stored before
1.1 called "unknown" is `insufficient_information`. Its `result` always has `total`, `skipped_sections`
and each reason's `clauses` (empty for older results). A clause that counted items, weights or the
total names the questions behind it in `members`, which quotes what the youth answered: those
members go only with the row's item answers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Row, case, literal, or_, text, tuple_
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, func, select

from app import access, audit
from app.crypto import KeyRing
from app.errors import Forbidden, InvalidInput, NotFound
from app.exports import codebook as codebooks
from app.exports import stats_files, writers
from app.exports.plan import UNANSWERED, ExportRequest, Plan, plan_for, request_of
from app.i18n import _
from app.interop import fhir_stream
from app.models import Agency, Answer, Screening, ScreeningResult, ScreeningStatus, User, Youth
from app.models_sharing import Category, Consent
from app.screenings.disclosed import result_summary, without_items
from app.sharing import ledger
from app.typed_sql import select_rows
from instruments.compiled import CompiledInstrument
from instruments.expressions import Context
from instruments.loader import Registry
from instruments.model import NOT_ASKED

BATCH_SIZE = 500
Progress = Callable[[int], None]


def _where(req: ExportRequest, after: tuple[datetime, str] | None = None) -> list[ColumnElement[bool]]:
    """The export's screenings: the agency's completed ones in the dates (the leading columns of
    ix_screening_agency_completed), and for another agency only those shared with it; `after`: only those
    after this (completed_at, id), the last row of the previous batch."""
    start = datetime.combine(req.date_from, time.min, UTC)
    end = datetime.combine(req.date_to, time.max, UTC)  # the whole last day (and no overflow at date.max)
    where = [col(Screening.agency_id) == req.agency_id, col(Screening.status) == ScreeningStatus.completed.value]
    if after is None:
        where.append(col(Screening.completed_at) >= start)
    else:
        # A row comparison, not `a > x OR (a = x AND id > y)`: both engines read it as a bound on
        # ix_screening_agency_completed and start each batch where the last one stopped. It replaces the first
        # day's bound (which it implies): PostgreSQL estimates it by its first column over the whole table, and
        # times the date range's own estimate that would count the dates twice, so late batches of a large table
        # looked nearly empty and were read by scanning (and sorting) every remaining row of the range instead.
        where.append(tuple_(col(Screening.completed_at), col(Screening.id)) > after)
    where.append(col(Screening.completed_at) <= end)
    if not req.own:
        where.append(access.shared_with_clause(req.recipient_agency_id, Category.result_summary, req.purpose))
    return where


def _shared(req: ExportRequest, category: Category) -> ColumnElement[bool]:
    """Whether the recipient may receive this category of a row (always, for an agency's own export)."""
    if req.own:
        return literal(True)
    return access.shared_with_clause(req.recipient_agency_id, category, req.purpose)


def plan(db: Session, registry: Registry, req: ExportRequest) -> Plan:
    """The plan of an export: the recipient must exist; item and notes columns only when some row may carry them."""
    recipient = db.get(Agency, req.recipient_agency_id)
    if recipient is None:
        raise NotFound(_("No such agency."))
    agency = db.get(Agency, req.agency_id)

    def any_shared(category: Category) -> Any:
        """Whether some screening of an instrument may carry the category (1 or 0), counted in the same statement."""
        if category.value not in req.categories:
            return literal(0)
        return func.max(case((_shared(req, category), 1), else_=0))

    # One statement, one pass over the export's screenings (for another agency, each consent check reads the youth
    # and consents once): the instruments, and whether any row may carry item answers or notes.
    found = db.exec(
        select(Screening.instrument_id, any_shared(Category.item_answers), any_shared(Category.notes))
        .where(*_where(req))
        .group_by(col(Screening.instrument_id))
    ).all()
    return plan_for(
        registry,
        req,
        [instrument for instrument, _items, _notes in found],
        agency_name=agency.name if agency else "",
        recipient_name=recipient.name,
        with_items=any(items for _instrument, items, _notes in found),
        with_notes=any(notes for _instrument, _items, notes in found),
    )


def count(db: Session, req: ExportRequest) -> int:
    """How many screenings the export holds (for a progress bar)."""
    return int(db.exec(select(func.count()).select_from(Screening).where(*_where(req))).one())


def person_key(keys: KeyRing, recipient_agency_id: str, person_id: str) -> str:
    """A pseudonym of a person for one recipient: a keyed hash, stable across its exports, never a name."""
    return keys.blind_index("export_person", f"{recipient_agency_id}\x1f{person_id}")[:32]


def item_values(instrument: CompiledInstrument, stored: dict[str, Any]) -> dict[str, Any]:
    """Every answerable item's value: the answer, `not_asked` when show_if hid it, else `unanswered`."""
    values: dict[str, Any] = {}
    context = Context(values)
    out: dict[str, Any] = {}
    for item_id in instrument.visibility_order:
        condition = instrument.show_if.get(item_id)
        if condition is not None and not condition.truth(context):
            values[item_id] = out[item_id] = NOT_ASKED
            continue
        value = values[item_id] = stored.get(item_id)
        out[item_id] = UNANSWERED if value is None else value
    return out


Stored = dict[str, tuple[str, str | None]]  # item id -> (encrypted value, the agency where it was given)


def _answers(db: Session, screening_ids: list[str]) -> dict[str, Stored]:
    """Screening id -> item id -> (encrypted value, the agency where the answer was given; None: the screening's
    own). Values stay encrypted until their row is written: only the answers that go are decrypted, one row at a
    time, so a batch holds no decrypted values (and no long-lived objects for the garbage collector to walk)."""
    found: dict[str, Stored] = {}
    if not screening_ids:
        return found
    origin = aliased(Screening)
    query = (
        select(Answer.screening_id, Answer.item_id, Answer.value_enc, origin.agency_id)
        .outerjoin(origin, col(origin.id) == col(Answer.carried_from))
        .where(col(Answer.screening_id).in_(screening_ids))
    )
    for sid, item, enc, given_at in db.execute(query):
        found.setdefault(sid, {})[item] = (enc, given_at)
    return found


def _consents(db: Session, req: ExportRequest, person_ids: set[str]) -> dict[str, list[Consent]]:
    """The consents in force to the recipient about these persons, newest first: from the exporter's agency (for
    its rows), and from any agency covering item answers (for answers that were given there)."""
    query = (
        select(Consent)
        .where(
            col(Consent.person_id).in_(person_ids),
            access.consent_covers(
                person_id=col(Consent.person_id),
                from_agency_id=col(Consent.from_agency_id),
                to_agency_id=req.recipient_agency_id,
                purpose=req.purpose,
            ),
        )
        .where(or_(col(Consent.from_agency_id) == req.agency_id, col(Consent.item_answers).is_(True)))
        .order_by(col(Consent.recorded_at).desc())
    )
    found: dict[str, list[Consent]] = {}
    for consent in db.exec(query):
        found.setdefault(consent.person_id, []).append(consent)
    return found


# A batch reads about 500 rows by an index, and their answers by primary key: a few milliseconds. On a large table
# PostgreSQL plans both as worth parallel workers and JIT compilation (it expects far more answers per screening
# than there are), and starting those cost several times the reading, batch after batch (issue 14: the export took
# 1.7x the csv-module baseline at 1,000,000 screenings, 1.2x without them). The settings last until the batch's
# commit, so they are set again for each batch, and nothing else the session runs later is affected.
_SMALL_READS = text("SELECT set_config('max_parallel_workers_per_gather', '0', true), set_config('jit', 'off', true)")


def _small_reads(db: Session) -> None:
    """PostgreSQL: this transaction's reads run without parallel workers or JIT (SQLite has neither)."""
    if db.get_bind().dialect.name == "postgresql":
        db.execute(_SMALL_READS)


def _settle(db: Session, commit: bool) -> None:
    if commit:
        db.commit()
    else:
        db.flush()


@dataclass(frozen=True, slots=True)
class _Decided:
    """What goes of one row, decided from the batch's plaintext columns (before anything is decrypted)."""

    row: Row[Any]
    stored: Stored  # the answers that go (with_items), or none
    withheld: frozenset[str]  # answered items that do not go: given at an agency without its own consent
    with_items: bool
    with_notes: bool
    categories: list[str]
    consents: dict[str, str | None]


def _decide(
    req: ExportRequest, plan: Plan, r: Row[Any], items_ok: set[str], stored: Stored, consents: list[Consent]
) -> tuple[_Decided, list[ledger.ExportEntry]] | None:
    """What of a row goes to the recipient and the ledger entries saying so; None: the row does not go."""
    given = [c for c in consents if c.from_agency_id == req.agency_id]
    by = {c.value: next((g.id for g in given if getattr(g, c.value)), None) for c in Category}
    # Answers given at a third agency go only under that agency's own consent to the recipient.
    elsewhere = {c.from_agency_id: c.id for c in reversed(consents) if c.item_answers}
    if not req.own and by[Category.result_summary.value] is None:
        return None  # revoked between the two queries: not sent
    with_items = r.id in items_ok and (req.own or by[Category.item_answers.value] is not None)
    with_notes = plan.with_notes and bool(r.notes_ok) and (req.own or by[Category.notes.value] is not None)
    kept, mine = stored, (None, req.agency_id, req.recipient_agency_id)
    if not req.own:
        kept = {i: (v, at) for i, (v, at) in stored.items() if at in mine or at in elsewhere}
    shared = [Category.result_summary.value]
    shared += [Category.item_answers.value] if plan.with_items and with_items else []
    shared += [Category.notes.value] if with_notes else []
    chosen = {c: by[c] for c in shared}
    decided = _Decided(
        r, kept if with_items else {}, frozenset(stored.keys() - kept.keys()), with_items, with_notes, shared, chosen
    )
    if req.own:
        return decided, []  # nothing is disclosed: an agency's export to itself is not in the ledger
    entries = [
        ledger.ExportEntry(
            person_id=r.person_id,
            screening_id=r.id,
            categories=shared,
            consent_id=by[Category.result_summary.value],
            detail={"consents": chosen},
            revision=r.revision,
        )
    ]
    origins = {at for _v, at in kept.values() if at not in mine} if with_items else set()
    entries += [
        ledger.ExportEntry(
            person_id=r.person_id,
            screening_id=r.id,
            categories=[Category.item_answers.value],
            consent_id=elsewhere.get(origin),
            detail={"given_at": origin},
            revision=r.revision,
            owner_agency_id=origin,
        )
        for origin in sorted(origins)
    ]
    return decided, entries


def _row(keys: KeyRing, registry: Registry, plan: Plan, fmt: str, decided: _Decided) -> dict[str, Any]:
    """One exported row, decrypted now (only what goes)."""
    r, req = decided.row, plan.request
    result = keys.decrypt_json(r.result_enc, "screening_result", "result", r.id)
    summary = result_summary(without_items(result, decided.withheld), decided.with_items)
    row: dict[str, Any] = {
        "person_key": person_key(keys, req.recipient_agency_id, r.person_id),
        "screening_id": r.id,
        "agency": plan.agency_name,
        "instrument_id": r.instrument_id,
        "instrument_version": r.instrument_version,
        "content_hash": r.content_hash,
        "mode": r.mode,
        "language": r.language,
        "started_at": r.started_at.isoformat(),
        "completed_at": r.completed_at.isoformat(),
        "overall_level": summary["overall"],
        "domains": {d["id"]: d["level"] for d in summary["domains"]},
        "result": summary,
    }
    if plan.with_items:
        answers = None
        if decided.with_items:
            sid = r.id
            values = {
                i: keys.decrypt_json(enc, "answer", "value", f"{sid}:{i}") for i, (enc, _at) in decided.stored.items()
            }
            instrument = registry.get(r.instrument_id, r.instrument_version)
            answers = item_values(instrument, values) if instrument else values
        row["answers"] = answers
    if plan.with_notes:
        row["notes"] = None  # not shared: not decrypted either
        if decided.with_notes:
            row["notes"] = keys.decrypt(r.notes_enc, "screening", "notes", r.id) if r.notes_enc else ""
    row["categories"] = decided.categories
    if fmt in fhir_stream.FORMATS:  # the FHIR writer adds the Consent resources that allowed the row
        row["consents"] = decided.consents
    return row


def export_rows(
    db: Session,
    keys: KeyRing,
    registry: Registry,
    plan: Plan,
    *,
    fmt: str = "rows",
    batch_size: int = BATCH_SIZE,
    commit: bool = True,
    progress: Progress | None = None,
) -> Iterator[dict[str, Any]]:
    """The export's rows, batch by batch; each batch is in the ledger (and committed) before it is yielded.

    A batch is decided from its plaintext columns (which rows, categories and answers go, under which consents),
    written to the ledger in one statement and committed; only then are its rows decrypted and built, one at a
    time as they are consumed.
    """
    req = plan.request
    exporter = db.get(User, req.exporter_id)
    if exporter is None or not exporter.is_active or exporter.agency_id != req.agency_id:
        raise Forbidden(_("This account may not export."))
    audit.record(
        db,
        "export",
        actor_id=exporter.id,
        agency_id=exporter.agency_id,
        object_type="agency",
        object_id=req.recipient_agency_id,
        detail={
            "format": fmt,
            "categories": list(req.categories),
            "purpose": req.purpose,
            "from": req.date_from.isoformat(),
            "to": req.date_to.isoformat(),
        },
    )
    exporter_id = exporter.id  # read now: each commit below expires the session's objects
    _settle(db, commit)  # the audit chain's lock is not held while rows stream
    columns = (
        col(Screening.id),
        col(Youth.person_id),
        col(Screening.instrument_id),
        col(Screening.instrument_version),
        col(Screening.content_hash),
        col(Screening.mode),
        col(Screening.language),
        col(Screening.started_at),
        col(Screening.completed_at),
        col(Screening.notes_enc),
        col(Screening.revision),
        col(ScreeningResult.result_enc),
        (_shared(req, Category.item_answers) if plan.with_items else literal(False)).label("items_ok"),
        (_shared(req, Category.notes) if plan.with_notes else literal(False)).label("notes_ok"),
    )
    base = (
        select_rows(*columns)
        .join(ScreeningResult, col(ScreeningResult.screening_id) == col(Screening.id))
        .join(Youth, col(Youth.id) == col(Screening.youth_id))
        .order_by(col(Screening.completed_at), col(Screening.id))
        .limit(batch_size)
    )
    after: tuple[datetime, str] | None = None
    while True:
        _small_reads(db)
        batch = db.execute(base.where(*_where(req, after))).all()
        if not batch:
            return
        after = (batch[-1].completed_at, batch[-1].id)
        items_ok = {r.id for r in batch if plan.with_items and r.items_ok}
        answers = _answers(db, sorted(items_ok))
        consents = {} if req.own else _consents(db, req, {r.person_id for r in batch})
        going: list[_Decided] = []
        entries: list[ledger.ExportEntry] = []
        for r in batch:
            decided = _decide(req, plan, r, items_ok, answers.get(r.id, {}), consents.get(r.person_id, []))
            if decided is not None:
                going.append(decided[0])
                entries += decided[1]
        del answers, consents  # not held while the batch streams: each decided row keeps what it needs
        ledger.record_exports(
            db, exporter_id, req.agency_id, req.recipient_agency_id, req.purpose, {"format": fmt}, entries
        )
        _settle(db, commit)
        for one in going:
            yield _row(keys, registry, plan, fmt, one)
        if progress is not None:
            progress(len(going))
        if len(batch) < batch_size:
            return


FORMATS = {
    "csv": ("text/csv; charset=utf-8", "csv"),
    "csv-excel": ("text/csv; charset=utf-8", "excel.csv"),  # with a byte-order mark, so Excel reads UTF-8
    "sav": stats_files.FORMATS["sav"],
    "dta": stats_files.FORMATS["dta"],
    "json": ("application/json", "json"),
    "ndjson": ("application/x-ndjson", "ndjson"),
    "fhir-bundle": ("application/fhir+json", "fhir.json"),
    "fhir-ndjson": ("application/fhir+ndjson", "fhir.ndjson"),
}
FORMAT_NAMES = ", ".join(FORMATS)


def prepare(
    db: Session,
    registry: Registry,
    exporter: User,
    recipient_agency_id: str,
    date_from: date,
    date_to: date,
    categories: Iterable[str],
    purpose: str,
) -> Plan:
    """Check an export's terms and plan it; raises before anything is streamed."""
    return plan(db, registry, request_of(exporter, recipient_agency_id, date_from, date_to, categories, purpose))


def stream(db: Session, keys: KeyRing, registry: Registry, planned: Plan, fmt: str, **options: Any) -> Iterator[str]:
    """A planned export as text in a format: csv, csv-excel, json (an array), ndjson, fhir-bundle or fhir-ndjson
    (.sav and .dta are files: `write_file`)."""
    if fmt in stats_files.FORMATS:
        raise InvalidInput(f"'{fmt}' is written as a whole file (tabular.write_file), not streamed.")
    if fmt not in FORMATS:
        raise InvalidInput(f"Unknown format '{fmt}' (expected {FORMAT_NAMES}).", {"field": "format"})
    exported = export_rows(db, keys, registry, planned, fmt=fmt, **options)
    if fmt in fhir_stream.FORMATS:
        return fhir_stream.lines(db, registry, planned, exported, fmt)
    if fmt in ("csv", "csv-excel"):
        return writers.csv_lines(planned, exported, excel=fmt == "csv-excel")
    return writers.json_lines(exported, ndjson=fmt == "ndjson")


def write_file(
    db: Session, keys: KeyRing, registry: Registry, planned: Plan, fmt: str, path: Path | str, **options: Any
) -> int:
    """A planned export as a whole .sav or .dta file at `path` (the rows of `export_rows`, in the ledger batch by
    batch as they are read, then held until the file is written); returns how many rows it holds. One too large
    to hold in memory is refused before anything is read (`stats_files.too_large`): here, so that the API, the
    page and the command line all refuse it."""
    if fmt not in stats_files.FORMATS:
        raise InvalidInput(f"Unknown file format '{fmt}' (expected {', '.join(stats_files.FORMATS)}).")
    stats_files.too_large(count(db, planned.request), planned)
    return stats_files.write(planned, export_rows(db, keys, registry, planned, fmt=fmt, **options), fmt, path)


def codebook(db: Session, registry: Registry, exporter: User, *terms: Any, excel: bool = False) -> str:
    """The codebook of the CSV export with these terms: every column and every code (CSV)."""
    return codebooks.codebook_csv(prepare(db, registry, exporter, *terms), excel=excel)
