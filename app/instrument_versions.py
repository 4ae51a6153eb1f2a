"""A published instrument version never changes: its content hash is stored when a screening first uses it.

Every new screening row records (instrument id, version, content hash) if absent, wherever it was
created (a practitioner's start, a youth's own start, a FHIR import, demo data), through one mapper
hook. At start-up every stored hash is compared with the loaded files, and a file edited in place
under a published id and version is refused before it can turn old screenings into "not loaded".
Versions used by screenings from before the table existed are recorded at start-up from the loaded
files (trust on first use).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, event, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.errors import InstrumentChanged
from app.models import InstrumentVersion, Screening, utcnow
from app.typed_sql import table_of
from instruments.loader import Registry

_TABLE = table_of(InstrumentVersion)


@dataclass(frozen=True)
class Changed:
    """One loaded file whose content differs from the stored hash of the same id and version."""

    file: str
    instrument_id: str
    version: str
    stored_hash: str
    loaded_hash: str

    def message(self) -> str:
        """What the operator reads."""
        return (
            f"{self.file}: instrument {self.instrument_id} version {self.version} has changed since screenings "
            f"used it (stored hash {self.stored_hash}, this file's hash {self.loaded_hash}). A published version "
            "never changes: restore the file as it was and publish a new version instead."
        )


# Built once (every screening started reads it): its values are parameters.
_STORED_HASH = select(_TABLE.c.content_hash).where(
    _TABLE.c.instrument_id == bindparam("instrument_id"), _TABLE.c.version == bindparam("version")
)


def remember(connection: Connection, instrument_id: str, version: str, content_hash: str) -> None:
    """Store a version's hash if it is not stored yet; refuse a different hash for a stored version.

    Read first: nearly every screening uses a version already stored, so it costs one statement, not an insert
    and a read (two servers storing a new version at once both insert; the second insert does nothing)."""
    which = {"instrument_id": instrument_id, "version": version}
    stored = connection.execute(_STORED_HASH, which).scalar_one_or_none()
    if stored is None:
        insert = postgresql_insert if connection.dialect.name == "postgresql" else sqlite_insert
        statement = insert(_TABLE).values(
            instrument_id=instrument_id, version=version, content_hash=content_hash, first_seen_at=utcnow()
        )
        connection.execute(statement.on_conflict_do_nothing(index_elements=["instrument_id", "version"]))
        stored = connection.execute(_STORED_HASH, which).scalar_one()
    if stored != content_hash:
        raise InstrumentChanged(
            f"instrument {instrument_id} version {version} differs from the one screenings used "
            f"(stored hash {stored}, this server's {content_hash}); every app server must load the same files"
        )


@event.listens_for(Screening, "after_insert")
def _remember_screening_version(_mapper: Any, connection: Connection, screening: Screening) -> None:
    remember(connection, screening.instrument_id, screening.instrument_version, screening.content_hash)


def check(connection: Connection, registry: Registry) -> list[Changed]:
    """Record versions that screenings used before this table existed, then compare every stored hash.

    Returns every loaded file that differs from its stored hash (empty when all agree).
    """
    screenings = table_of(Screening)
    used = connection.execute(select(screenings.c.instrument_id, screenings.c.instrument_version).distinct()).all()
    known = {(row[0], row[1]) for row in connection.execute(select(_TABLE.c.instrument_id, _TABLE.c.version))}
    for instrument_id, version in used:
        loaded = registry.get(instrument_id, version)
        if (instrument_id, version) not in known and loaded is not None:
            remember(connection, instrument_id, version, loaded.content_hash)
    changed = []
    stored = select(_TABLE.c.instrument_id, _TABLE.c.version, _TABLE.c.content_hash).order_by(
        _TABLE.c.instrument_id, _TABLE.c.version
    )
    for instrument_id, version, stored_hash in connection.execute(stored):
        loaded = registry.get(instrument_id, version)
        if loaded is not None and loaded.content_hash != stored_hash:
            changed.append(Changed(loaded.file, instrument_id, version, stored_hash, loaded.content_hash))
    return changed
