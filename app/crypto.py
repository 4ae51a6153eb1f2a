"""Field-level encryption (AES-GCM) and keyed blind indexes (HMAC-SHA256).

A stored value is `v1.<key id>.<base64(nonce + ciphertext)>`. The associated data binds it to
its table, column and row, so a ciphertext copied into another row or column does not decrypt.
Several keys can be loaded; the first is used to encrypt, any can decrypt, so keys can rotate.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import logging
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.errors import DecryptionError, KeyConfigurationError, MissingKeys, UnknownKey
from app.settings import Settings, get_settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KeyRing:
    """Encryption keys by id (the first is current) and the blind-index key."""

    keys: dict[str, bytes]
    current: str
    index_key: bytes

    def encrypt(self, plaintext: str, table: str, column: str, row_id: str) -> str:
        """Encrypt text for one cell."""
        nonce = os.urandom(12)
        sealed = AESGCM(self.keys[self.current]).encrypt(nonce, plaintext.encode("utf-8"), _aad(table, column, row_id))
        return f"v1.{self.current}.{base64.urlsafe_b64encode(nonce + sealed).decode('ascii')}"

    def decrypt(self, stored: str, table: str, column: str, row_id: str) -> str:
        """Decrypt one cell's value."""
        try:
            version, key_id, payload = stored.split(".", 2)
            raw = base64.urlsafe_b64decode(payload)
        except ValueError as exc:
            raise DecryptionError(f"cannot decrypt {table}.{column}: unknown format") from exc
        if key_id not in self.keys:
            raise UnknownKey(table, column, key_id)
        key = self.keys[key_id]
        if version != "v1":
            raise DecryptionError(f"cannot decrypt {table}.{column}: unknown version")
        try:
            return AESGCM(key).decrypt(raw[:12], raw[12:], _aad(table, column, row_id)).decode("utf-8")
        except InvalidTag as exc:
            raise DecryptionError(f"cannot decrypt {table}.{column}: the value does not belong here") from exc

    def encrypt_json(self, value: Any, table: str, column: str, row_id: str) -> str:
        """Encrypt a JSON-serialisable value."""
        return self.encrypt(json.dumps(value, ensure_ascii=False, separators=(",", ":")), table, column, row_id)

    def decrypt_json(self, stored: str, table: str, column: str, row_id: str) -> Any:
        """Decrypt a value stored by encrypt_json."""
        return json.loads(self.decrypt(stored, table, column, row_id))

    def blind_index(self, purpose: str, normalized: str) -> str:
        """A keyed hash revealing only equality of normalized values, separated by purpose."""
        return hmac.new(self.index_key, f"{purpose}\x1f{normalized}".encode(), hashlib.sha256).hexdigest()


def _aad(table: str, column: str, row_id: str) -> bytes:
    return f"tellonce\x1f{table}\x1f{column}\x1f{row_id}".encode()


def _b64key(text: str) -> bytes:
    key = base64.urlsafe_b64decode(text.encode("ascii") + b"=" * (-len(text) % 4))
    if len(key) != 32:
        raise ValueError("every key must be 32 bytes (base64)")
    return key


@dataclass(frozen=True)
class EncryptedColumn:
    """One encrypted column: where the app calls `encrypt`/`encrypt_json` with (table, column, row id).

    The database column is `<column>_enc`; the row id bound in the associated data is the values of
    `row_id` joined with ':' (an answer is bound to "<screening id>:<item id>").
    """

    table: str
    column: str
    row_id: tuple[str, ...]
    kind: str  # "text" (encrypt) or "json" (encrypt_json)

    @property
    def db_column(self) -> str:
        """The column's name in the database."""
        return f"{self.column}_enc"

    @property
    def name(self) -> str:
        """`table.column`, as the progress of re-encryption names it."""
        return f"{self.table}.{self.db_column}"


# Every encrypted column, once: key rotation re-encrypts these and backups are checked against them.
# A new `keys.encrypt(..., "table", "column", row_id)` in the app needs its line here; the test that
# rotates keys over the demo data scans every string column for values left under the old key.
ENCRYPTED_COLUMNS: tuple[EncryptedColumn, ...] = (
    EncryptedColumn("youth", "given_name", ("id",), "text"),
    EncryptedColumn("youth", "family_name", ("id",), "text"),
    EncryptedColumn("youth", "birth_date", ("id",), "text"),
    EncryptedColumn("youth_link", "case_number", ("id",), "text"),
    EncryptedColumn("screening", "notes", ("id",), "text"),
    EncryptedColumn("screening", "discard_reason", ("id",), "text"),
    EncryptedColumn("answer", "value", ("screening_id", "item_id"), "json"),
    EncryptedColumn("screening_result", "result", ("screening_id",), "json"),
    EncryptedColumn("screening_revision", "answers", ("id",), "json"),
    EncryptedColumn("screening_revision", "result", ("id",), "json"),
    EncryptedColumn("screening_revision", "reason", ("id",), "text"),
    EncryptedColumn("consent", "revoke_reason", ("id",), "text"),
    EncryptedColumn("break_glass", "reason", ("id",), "text"),
    EncryptedColumn("referral", "reason", ("id",), "text"),
    EncryptedColumn("referral", "recipient_contact", ("id",), "text"),
    EncryptedColumn("referral", "preparer_contact", ("id",), "text"),
    EncryptedColumn("referral", "status_reason", ("id",), "text"),
    EncryptedColumn("referral", "recipient_case_ref", ("id",), "text"),
    EncryptedColumn("referral_event", "reason", ("id",), "text"),
    EncryptedColumn("outcome", "note", ("id",), "text"),
    EncryptedColumn("outcome", "withdrawn_reason", ("id",), "text"),
)

HOW_TO_MAKE_KEYS = (
    "Create the keys once and give every app server the same ones, either\n"
    "  - as a key file: `tellonce keys create --file /etc/tellonce/keys.json`, then set\n"
    "    TELLONCE_KEY_FILE=/etc/tellonce/keys.json on every app server; or\n"
    "  - in the environment: `tellonce keys create --env`, then set the TELLONCE_ENCRYPTION_KEYS and\n"
    "    TELLONCE_INDEX_KEY it prints on every app server.\n"
    "Keep a copy of the keys apart from the database backups: a backup cannot be read without them."
)


def new_key() -> tuple[str, str]:
    """A fresh (key id, base64 key)."""
    return secrets.token_hex(4), base64.urlsafe_b64encode(os.urandom(32)).decode()


def new_key_file(path: Path) -> None:
    """Write a fresh key file readable by its owner only; never overwrites one."""
    key_id, key = new_key()
    write_key_file(path, key_id, {key_id: key}, base64.urlsafe_b64encode(os.urandom(32)).decode(), replace=False)


def write_key_file(path: Path, current: str, keys: dict[str, str], index_key: str, *, replace: bool) -> None:
    """Write a key file (0600, in a 0700 folder when it makes one): a new file, or an atomic replacement."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    content = json.dumps({"current": current, "keys": keys, "index_key": index_key}, indent=2).encode()
    target = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, content)
        os.fsync(fd)
    finally:
        os.close(fd)
    if not replace:
        # link, not rename: a file that appeared meanwhile (another process's first run) is never replaced,
        # and readers see no file or the whole file, never half of one
        try:
            os.link(target, path)
        finally:
            os.unlink(target)
    else:
        os.replace(target, path)  # readers see the old file or the new one, never half of one
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


def read_key_file(path: Path) -> dict[str, Any]:
    """The key file's content: {"current": id, "keys": {id: base64}, "index_key": base64}."""
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def load_key_ring(settings: Settings) -> KeyRing:
    """Keys from the environment, else from the key file.

    Outside production a missing key file is created on first run; in production that would give each
    app server its own keys, so a missing key file is refused with how to make one.
    """
    if settings.encryption_keys:
        if not settings.index_key:
            raise KeyConfigurationError(
                "TELLONCE_INDEX_KEY is required with TELLONCE_ENCRYPTION_KEYS "
                "(`tellonce keys create --env` prints both)."
            )
        try:
            pairs = [p.split(":", 1) for p in settings.encryption_keys.split(",") if p.strip()]
            keys = {kid.strip(): _b64key(key.strip()) for kid, key in pairs}
            return KeyRing(keys, pairs[0][0].strip(), _b64key(settings.index_key))
        except (ValueError, IndexError):
            raise KeyConfigurationError(
                "TELLONCE_ENCRYPTION_KEYS must be id:key[,id:key...] and TELLONCE_INDEX_KEY a key, each key 32 bytes "
                "of URL-safe base64 (`tellonce keys create --env` prints both)."
            ) from None
    path = settings.resolved_key_file
    if not path.exists():
        if settings.environment == "production":
            raise MissingKeys(
                f"No encryption keys are configured: TELLONCE_ENCRYPTION_KEYS is not set and there is no key "
                f"file at {path}. In production TellOnce does not make its own keys (two app servers would "
                f"each make different ones).\n{HOW_TO_MAKE_KEYS}"
            )
        with contextlib.suppress(FileExistsError):  # a concurrent first run made it first: use theirs
            new_key_file(path)
    data = read_key_file(path)
    keys = {kid: _b64key(key) for kid, key in data["keys"].items()}
    return KeyRing(keys, data["current"], _b64key(data["index_key"]))


def _stamp(path: Path) -> tuple[int, int, int] | None:
    """What changes when a key file is rewritten (`keys rotate` replaces it: a new inode)."""
    try:
        found = path.stat()
    except OSError:
        return None
    return (found.st_ino, found.st_mtime_ns, found.st_size)


class _KeyRingCache:
    """The process's key ring, loaded once; from a key file, loaded again whenever the file changed.

    Each call costs one `stat` of the key file, so a running server uses a rotated key (`tellonce keys
    rotate`) from its next request on, without a restart. A key file that disappears or cannot be read
    meanwhile leaves the keys loaded before (never new keys). Keys from the environment cannot change
    under a running process: they are loaded once. `cache_clear()` forgets the keys (tests).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ring: KeyRing | None = None
        self._source: tuple[Settings, tuple[int, int, int] | None] | None = None

    def __call__(self) -> KeyRing:
        settings = get_settings()
        ring, source = self._ring, self._source
        if ring is not None and source is not None and source[0] is settings:
            if settings.encryption_keys:
                return ring
            stamp = _stamp(settings.resolved_key_file)
            if stamp is None or stamp == source[1]:
                return ring
            with self._lock:
                try:
                    fresh = load_key_ring(settings)
                except (OSError, ValueError, KeyError, TypeError) as exc:
                    log.warning(
                        "The key file %s changed but cannot be read (%s); keeping the keys loaded before.",
                        settings.resolved_key_file,
                        exc,
                    )
                    self._source = (settings, stamp)
                    return ring
                self._ring, self._source = fresh, (settings, stamp)
                return fresh
        with self._lock:
            stamp = None if settings.encryption_keys else _stamp(settings.resolved_key_file)
            fresh = load_key_ring(settings)
            if stamp is None and not settings.encryption_keys:
                stamp = _stamp(settings.resolved_key_file)  # made just now (first run)
            self._ring, self._source = fresh, (settings, stamp)
            return fresh

    def cache_clear(self) -> None:
        """Forget the loaded keys; the next call loads them again."""
        with self._lock:
            self._ring, self._source = None, None


get_key_ring = _KeyRingCache()
"""The process's key ring (`get_key_ring()`); see _KeyRingCache."""
