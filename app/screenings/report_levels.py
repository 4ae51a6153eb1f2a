"""The per-domain levels of completed screenings, stored in the clear for reports (`screening_level`).

A result is encrypted; its overall level is already kept beside it on `screening`. Reports by domain
need the domains' levels too, so completing a screening stores them in `screening_level`, and
amending it replaces them: reports count them without decrypting anything. Screenings completed
before the table existed get theirs from `backfill`, which `tellonce serve` runs at start (it needs the keys,
which a migration does not have).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlmodel import Session, col, select

from app import levels
from app.crypto import KeyRing
from app.models import Screening, ScreeningLevel, ScreeningResult, ScreeningStatus
from app.typed_sql import table_of

BACKFILL_BATCH = 500
_INSERT_LEVELS = insert(table_of(ScreeningLevel))  # built once: every completion runs it


def domain_levels(result: dict[str, Any]) -> dict[str, str]:
    """Domain id -> level of a stored result, in the words pages show ("unknown" of old results read as
    insufficient information)."""
    return {d["id"]: levels.shown(d["level"], domain=True) or "" for d in result.get("domains") or ()}


def store(db: Session, screening: Screening, result: dict[str, Any], first: bool = False) -> None:
    """Make the screening's stored domain levels those of `result` (its current revision); `first`: its first
    result, at completion, so nothing is stored to read or replace."""
    wanted = domain_levels(result)
    if first:  # plain rows in one INSERT: an ORM object per domain cost more than the write
        rows = [{"screening_id": screening.id, "domain_id": domain, "level": level} for domain, level in wanted.items()]
        if rows:
            db.execute(_INSERT_LEVELS, rows)  # rows of the table, not objects: the ORM's bulk insert cost more
        return
    query = select(ScreeningLevel).where(ScreeningLevel.screening_id == screening.id)
    stored = {row.domain_id: row for row in db.exec(query)}
    for domain_id, row in stored.items():
        if domain_id not in wanted:
            db.delete(row)
    for domain_id, level in wanted.items():
        row = stored.get(domain_id) or ScreeningLevel(screening_id=screening.id, domain_id=domain_id, level=level)
        row.level = level
        db.add(row)


def backfill(db: Session, keys: KeyRing, batch_size: int = BACKFILL_BATCH) -> int:
    """Store the domain levels of completed screenings that have a result and none stored yet; returns how many
    screenings it read. Idempotent; reads in batches, so memory stays flat. (A result without domains stores
    nothing and is read again next time: no bundled instrument has none.)"""
    of_result = col(ScreeningLevel.screening_id) == col(ScreeningResult.screening_id)
    missing = ~select(ScreeningLevel.screening_id).where(of_result).exists()
    query = (
        select(ScreeningResult.screening_id, ScreeningResult.result_enc)
        .join(Screening, col(Screening.id) == col(ScreeningResult.screening_id))
        .where(col(Screening.status) == ScreeningStatus.completed, missing)
        .order_by(col(ScreeningResult.screening_id))
        .limit(batch_size)
    )
    done, after = 0, ""
    while batch := db.exec(query.where(col(ScreeningResult.screening_id) > after)).all():
        rows = [
            {"screening_id": screening_id, "domain_id": domain_id, "level": level}
            for screening_id, result_enc in batch
            for domain_id, level in domain_levels(
                keys.decrypt_json(result_enc, "screening_result", "result", screening_id)
            ).items()
        ]
        if rows:  # a Core insert: nothing is kept in the session, whatever the number of screenings
            db.execute(insert(ScreeningLevel), rows)
        done += len(batch)
        after = batch[-1][0]
    return done
