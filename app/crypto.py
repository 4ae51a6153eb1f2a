"""Field-level encryption (AES-GCM) and keyed blind indexes (HMAC-SHA256).

A stored value is `v1.<key id>.<base64(nonce + ciphertext)>`. The associated data binds it to
its table, column and row, so a ciphertext copied into another row or column does not decrypt.
Several keys can be loaded; the first is used to encrypt, any can decrypt, so keys can rotate.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.settings import Settings, get_settings


class DecryptionError(Exception):
    """A stored value could not be decrypted (wrong key, row or column, or tampering)."""


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
            key = self.keys[key_id]
        except (ValueError, KeyError) as exc:
            raise DecryptionError(f"cannot decrypt {table}.{column}: unknown format or key") from exc
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

    def key_id_of(self, stored: str) -> str:
        """The id of the key a stored value was encrypted with (for re-encryption after rotation)."""
        return stored.split(".", 2)[1]

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


def new_key_file(path: Path) -> None:
    """Write a fresh key file readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    key_id = secrets.token_hex(4)
    content = {
        "current": key_id,
        "keys": {key_id: base64.urlsafe_b64encode(os.urandom(32)).decode()},
        "index_key": base64.urlsafe_b64encode(os.urandom(32)).decode(),
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(content, handle, indent=2)


def load_key_ring(settings: Settings) -> KeyRing:
    """Keys from the environment, else from the key file (created on first run)."""
    if settings.encryption_keys:
        if not settings.index_key:
            raise ValueError("TELLONCE_INDEX_KEY is required with TELLONCE_ENCRYPTION_KEYS")
        pairs = [p.split(":", 1) for p in settings.encryption_keys.split(",") if p.strip()]
        keys = {kid.strip(): _b64key(key.strip()) for kid, key in pairs}
        return KeyRing(keys, pairs[0][0].strip(), _b64key(settings.index_key))
    path = settings.resolved_key_file
    if not path.exists():
        new_key_file(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    keys = {kid: _b64key(key) for kid, key in data["keys"].items()}
    return KeyRing(keys, data["current"], _b64key(data["index_key"]))


@lru_cache
def get_key_ring() -> KeyRing:
    """The process's key ring."""
    return load_key_ring(get_settings())
