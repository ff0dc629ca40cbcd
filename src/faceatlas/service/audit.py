"""The service's append-only audit log (`audit.jsonl` beside the key file, 0600): one JSON line per key event and
per change to a collection made over HTTP (enrol, rename, merge, move, erase, naming in a library): when, what, by
which key (its id and name, never its secret), on what; never an image or a vector."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from faceatlas.io.files import PRIVATE_FILE


class AuditLog:
    def __init__(self, path: Path) -> None:
        self.path = path

    def record(self, event: str, key_id: str, key_name: str, **what: Any) -> None:
        """Append one event, flushed to disk before the request is answered."""
        line = json.dumps({"when": datetime.now(UTC).isoformat(timespec="milliseconds"), "event": event,
                           "key": key_id, "name": key_name, **what}, default=str)
        descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, PRIVATE_FILE)
        with os.fdopen(descriptor, "a") as log:
            log.write(line + "\n")
            log.flush()
            os.fsync(log.fileno())
