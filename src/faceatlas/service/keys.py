"""API keys: who may call the HTTP API, for what (scopes) and on which collections. A key is shown once, when it is
made; only its SHA-256 is kept, in a private file under FACEATLAS_HOME (0600, written atomically), and a presented
key is compared in constant time. Keys are never logged; their creation and revocation are, in an append-only
audit log beside them."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from faceatlas.config import get_settings
from faceatlas.io.files import private_folder, write_atomically
from faceatlas.service.audit import AuditLog

SCOPES = ("analyze", "identify", "enrol", "erase", "admin")
"""analyze: detect, describe and verify photos; identify: search a collection; enrol: add, rename and merge people;
erase: erase people; admin: keys and collections."""

ALL_COLLECTIONS = "*"


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    scopes: tuple[str, ...]
    collections: tuple[str, ...]  # or (ALL_COLLECTIONS,)
    created: str
    digest: str = field(repr=False)  # SHA-256 of the secret part

    def allows(self, scope: str, collection: str | None = None) -> bool:
        in_collection = collection is None or ALL_COLLECTIONS in self.collections or collection in self.collections
        return (scope in self.scopes or "admin" in self.scopes) and in_collection


class KeyStore:
    """The keys in one file: `path`, else FACEATLAS_API_KEYS, else `service/keys.json` under FACEATLAS_HOME."""

    def __init__(self, path: Path | None = None) -> None:
        settings = get_settings()
        self.path = path or settings.api_keys or settings.home / "service" / "keys.json"
        self._read: tuple[tuple[int, int, int], list[ApiKey]] | None = None  # the file's identity and its keys

    def listed(self) -> list[ApiKey]:
        """The keys, read again only when the file changed (a server checks every request; another process may
        have made or revoked a key meanwhile)."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return []
        identity = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if self._read is None or self._read[0] != identity:
            self._read = identity, [ApiKey(**{**row, "scopes": tuple(row["scopes"]),
                                              "collections": tuple(row["collections"])})
                                    for row in json.loads(self.path.read_text())]
        return list(self._read[1])

    def create(self, name: str, scopes: list[str], collections: list[str]) -> tuple[ApiKey, str]:
        """A new key and its token (`fa_<id>_<secret>`), which is shown this once and never stored."""
        unknown = [s for s in scopes if s not in SCOPES]
        if unknown or not scopes:
            raise ValueError(f"scopes are some of {', '.join(SCOPES)}, not {unknown or 'none'}")
        if not name or not collections:
            raise ValueError("a key needs a name and at least one collection ('*' for all)")
        key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        key = ApiKey(key_id, name, tuple(scopes), tuple(collections), datetime.now(UTC).isoformat(timespec="seconds"),
                     _digest(secret))
        self._save([*self.listed(), key])
        self._audit("key created", key)
        return key, f"fa_{key_id}_{secret}"

    def revoke(self, key_id: str) -> bool:
        keys = self.listed()
        revoked = [k for k in keys if k.id == key_id]
        if not revoked:
            return False
        self._save([k for k in keys if k.id != key_id])
        self._audit("key revoked", revoked[0])
        return True

    @property
    def audit(self) -> AuditLog:
        """The append-only log beside the keys (see `audit`)."""
        private_folder(self.path.parent)
        return AuditLog(self.path.with_name("audit.jsonl"))

    def _audit(self, event: str, key: ApiKey) -> None:
        self.audit.record(event, key.id, key.name, scopes=list(key.scopes), collections=list(key.collections))

    def authenticate(self, token: str) -> ApiKey | None:
        """The key this token is, or None (unknown, revoked or malformed), compared in constant time."""
        parts = token.split("_", 2)
        if len(parts) != 3 or parts[0] != "fa":
            return None
        presented = _digest(parts[2])
        found = None
        for key in self.listed():  # every key is compared, so the time says nothing about which id exists
            if hmac.compare_digest(key.digest, presented) and hmac.compare_digest(key.id, parts[1]):
                found = key
        return found

    def _save(self, keys: list[ApiKey]) -> None:
        private_folder(self.path.parent)
        write_atomically(self.path, json.dumps([asdict(k) for k in keys], indent=1).encode())


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
