"""The web app's logins: a session cookie holding a random id, kept server-side in memory (a restart logs everyone
out) with the key it stands for, a CSRF token and an expiry. The key is looked up again on every request, so
revoking it ends its sessions."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass

from fastapi import Request

from faceatlas.service.keys import ApiKey, KeyStore

COOKIE = "faceatlas_session"
LIFETIME = 12 * 3600  # seconds
MOST = 10_000  # sessions kept at once: the oldest are dropped beyond it
CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class Session:
    id: str
    key_id: str
    csrf: str
    expires: float  # time.time()


class Sessions:
    """Session id -> `Session`, for one server process."""

    def __init__(self, lifetime: float = LIFETIME) -> None:
        self.lifetime = lifetime
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def start(self, key: ApiKey) -> Session:
        now = time.time()
        session = Session(secrets.token_urlsafe(32), key.id, secrets.token_urlsafe(32), now + self.lifetime)
        with self._lock:
            self._sessions = {sid: s for sid, s in self._sessions.items() if s.expires > now}
            while len(self._sessions) >= MOST:
                del self._sessions[next(iter(self._sessions))]  # the oldest (dicts keep insertion order)
            self._sessions[session.id] = session
        return session

    def get(self, session_id: str) -> Session | None:
        """The live session of this id, or None (unknown or expired)."""
        with self._lock:
            session = self._sessions.get(session_id)
            if session is not None and session.expires <= time.time():
                del self._sessions[session_id]
                return None
            return session

    def end(self, session_id: str) -> None:
        with self._lock:
            self._sessions.pop(session_id, None)

    def of(self, request: Request, store: KeyStore) -> tuple[Session, ApiKey] | None:
        """The request's session (from its cookie) and the key it stands for, while that key still exists."""
        session = self.get(request.cookies.get(COOKIE, ""))
        if session is None:
            return None
        key = next((k for k in store.listed() if k.id == session.key_id), None)
        if key is None:  # revoked: the session ends with it
            self.end(session.id)
            return None
        return session, key
