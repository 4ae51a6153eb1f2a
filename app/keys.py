"""Key operations: rotate the encryption key, re-encrypt stored values under it, count values per key.

Re-encryption works column by column (`app.crypto.ENCRYPTED_COLUMNS`), in batches of rows taken in
primary-key order, each batch in its own transaction. It selects only values not under the current
key, so a run that was interrupted continues where it stopped when started again, and values already
under the current key are never touched. A value is replaced only if it is still the one that was
read (a concurrent edit by the app wins). The blind-index key is not rotated here: see
docs/operations.md.
"""

from __future__ import annotations

import base64
import os
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Column, ColumnElement, Engine, Table, and_, func, select, tuple_, update

from app.crypto import ENCRYPTED_COLUMNS, EncryptedColumn, KeyRing, new_key, read_key_file
from app.crypto import write_key_file as _write_key_file
from app.errors import DecryptionError, KeyCommandError
from app.models import metadata
from app.settings import Settings


@dataclass
class Rotation:
    """What `rotate` did: the new key's id, and for environment keys the value to set."""

    key_id: str
    environment_value: str | None = None


def rotate(settings: Settings) -> Rotation:
    """Add a new key and make it current; old keys stay so existing values still decrypt."""
    key_id, key = new_key()
    if settings.encryption_keys:
        # The environment cannot be edited from here: the new value goes first (first is current).
        return Rotation(key_id, f"{key_id}:{key},{settings.encryption_keys.strip()}")
    path = settings.resolved_key_file
    if not path.exists():
        raise KeyCommandError(f"There is no key file at {path} to rotate; create one with `tellonce keys create`.")
    data = read_key_file(path)
    keys = dict(data["keys"])
    keys[key_id] = key
    _write_key_file(path, key_id, keys, data["index_key"], replace=True)
    return Rotation(key_id)


def retire(settings: Settings, engine: Engine, ring: KeyRing, key_id: str) -> Rotation:
    """Remove a key no stored value uses any more (never the current one)."""
    if key_id == ring.current:
        raise KeyCommandError(f"Key {key_id} is the current key; rotate to a new key first.")
    if key_id not in ring.keys:
        raise KeyCommandError(f"There is no key {key_id}.")
    used = status(engine).per_key.get(key_id, 0)
    if used:
        raise KeyCommandError(f"{used} value(s) still use key {key_id}; run `tellonce keys reencrypt` first.")
    if settings.encryption_keys:
        pairs = [p.strip() for p in settings.encryption_keys.split(",") if p.strip()]
        kept = [p for p in pairs if p.split(":", 1)[0].strip() != key_id]
        return Rotation(key_id, ",".join(kept))
    path = settings.resolved_key_file
    data = read_key_file(path)
    keys = {kid: value for kid, value in data["keys"].items() if kid != key_id}
    _write_key_file(path, data["current"], keys, data["index_key"], replace=True)
    return Rotation(key_id)


def environment_values() -> tuple[str, str]:
    """Fresh TELLONCE_ENCRYPTION_KEYS and TELLONCE_INDEX_KEY values."""
    key_id, key = new_key()
    return f"{key_id}:{key}", base64.urlsafe_b64encode(os.urandom(32)).decode()


def _table(spec: EncryptedColumn) -> tuple[Table, Column[Any], list[Column[Any]]]:
    table = metadata.tables[spec.table]
    return table, table.c[spec.db_column], [table.c[name] for name in spec.row_id]


def _row_id(spec: EncryptedColumn, values: tuple[Any, ...]) -> str:
    return ":".join(str(v) for v in values)


def _under_key(value: ColumnElement[Any], key_id: str) -> ColumnElement[bool]:
    prefix = f"v1.{key_id}."
    return func.substr(value, 1, len(prefix)) == prefix


@dataclass
class Status:
    """Stored values per key id, overall and per column."""

    per_key: Counter[str] = field(default_factory=Counter)
    per_column: dict[str, Counter[str]] = field(default_factory=dict)


def _values(engine: Engine, spec: EncryptedColumn) -> Iterator[tuple[str, str]]:
    """(row id, stored value) of every non-empty value of a column, streamed."""
    _, value, ids = _table(spec)
    with engine.connect() as connection:
        result = connection.execution_options(yield_per=1000).execute(
            select(*ids, value).where(value.is_not(None)).order_by(*ids)
        )
        for row in result:
            yield _row_id(spec, tuple(row[:-1])), row[-1]


def status(engine: Engine) -> Status:
    """How many stored values each key id encrypts."""
    found = Status()
    for spec in ENCRYPTED_COLUMNS:
        counts: Counter[str] = Counter(stored.split(".", 2)[1] for _, stored in _values(engine, spec))
        found.per_column[spec.name] = counts
        found.per_key.update(counts)
    return found


def unreadable(engine: Engine, ring: KeyRing) -> dict[str, int]:
    """Values that do not decrypt with these keys (wrong keys, or tampering), per column; empty when all do."""
    failed: Counter[str] = Counter()
    for spec in ENCRYPTED_COLUMNS:
        for row_id, stored in _values(engine, spec):
            try:
                if spec.kind == "json":
                    ring.decrypt_json(stored, spec.table, spec.column, row_id)
                else:
                    ring.decrypt(stored, spec.table, spec.column, row_id)
            except (DecryptionError, ValueError):
                failed[spec.name] += 1
    return dict(failed)


@dataclass
class Progress:
    """One column's progress: values under the current key (`done`) of all its values (`total`)."""

    column: str
    done: int
    total: int


@dataclass
class Reencryption:
    """The outcome of a run: values re-encrypted, values that could not be read, values left under older keys."""

    reencrypted: int = 0
    failed: dict[str, int] = field(default_factory=dict)
    remaining: int = 0


def _count(engine: Engine, spec: EncryptedColumn, current: str) -> tuple[int, int]:
    table, value, _ = _table(spec)
    with engine.connect() as connection:
        total = connection.execute(select(func.count()).select_from(table).where(value.is_not(None))).scalar_one()
        done = connection.execute(
            select(func.count()).select_from(table).where(value.is_not(None), _under_key(value, current))
        ).scalar_one()
    return int(total), int(done)


def remaining(engine: Engine, current: str) -> int:
    """Values still under a key other than `current`."""
    left = 0
    for spec in ENCRYPTED_COLUMNS:
        total, done = _count(engine, spec, current)
        left += total - done
    return left


def reencrypt(
    engine: Engine, ring: KeyRing, batch_size: int = 500, progress: Callable[[Progress], None] | None = None
) -> Reencryption:
    """Re-encrypt every value not under the current key, in batches, each batch in its own transaction."""
    if batch_size < 1:
        raise KeyCommandError("The batch size must be at least 1.")
    outcome = Reencryption()
    for spec in ENCRYPTED_COLUMNS:
        table, value, ids = _table(spec)
        total, done = _count(engine, spec, ring.current)
        last: tuple[Any, ...] | None = None
        while done < total:
            wanted = [value.is_not(None), ~_under_key(value, ring.current)]
            if last is not None:
                wanted.append(tuple_(*ids) > tuple_(*last))
            with engine.begin() as connection:
                rows = connection.execute(select(*ids, value).where(*wanted).order_by(*ids).limit(batch_size)).all()
                for row in rows:
                    key, stored = tuple(row[:-1]), row[-1]
                    try:
                        plain = ring.decrypt(stored, spec.table, spec.column, _row_id(spec, key))
                    except DecryptionError:
                        outcome.failed[spec.name] = outcome.failed.get(spec.name, 0) + 1
                        continue
                    fresh = ring.encrypt(plain, spec.table, spec.column, _row_id(spec, key))
                    same_row = and_(*(c == v for c, v in zip(ids, key, strict=True)), value == stored)
                    changed = connection.execute(update(table).where(same_row).values({value.name: fresh})).rowcount
                    outcome.reencrypted += changed
                    done += changed
            if not rows:
                break
            last = tuple(rows[-1][:-1])
            if progress is not None:
                progress(Progress(spec.name, done, total))
        if progress is not None and last is None:
            progress(Progress(spec.name, done, total))
    outcome.remaining = remaining(engine, ring.current)
    return outcome
