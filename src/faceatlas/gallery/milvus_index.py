"""A Milvus collection as the gallery's vector index (the `VectorIndex` Protocol of `index.py`), with milvus-lite
for a local file or a Milvus server for production. Like the other indexes it is derived from the database and can
be rebuilt from it at any time."""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from pathlib import Path

import numpy as np
from pymilvus import DataType, MilvusClient

from faceatlas.io.files import make_private, private_folder

# milvus-lite runs one in-process server per data directory and keeps it (with the directory's lock) until it is
# released: count the indexes using each so the last to close releases it.
_LOCAL_USERS: dict[str, int] = {}
_LOCAL_LOCK = threading.Lock()

_STATE_KEY = "faceatlas.index"  # collection property: {"generation": int, "count": int}
_BATCH = 10_000  # rows per insert, queries per search request (Milvus caps nq at 16,384)


def collection_name(name: str) -> str:
    """`name` if Milvus accepts it (ASCII letters, digits and underscores, not starting with a digit, at most 255
    characters), otherwise a cleaned form with a digest of `name` so distinct names stay distinct."""
    if re.fullmatch(r"[A-Za-z_]\w{0,254}", name, flags=re.ASCII):
        return name
    clean = re.sub(r"\W", "_", name, flags=re.ASCII)[:200]
    return f"_{clean}_{hashlib.sha256(name.encode()).hexdigest()[:12]}"


class MilvusIndex:
    """One Milvus collection per gallery collection and model: an int64 primary key (the sample id) and a float
    vector, FLAT (exact) COSINE, strong consistency. `uri` is a milvus-lite path ending in ``.db`` (a directory that
    milvus-lite creates; its parent must exist) or a server address such as ``http://host:19530``.

    Unlike the in-memory indexes, rows are durable as soon as `add` returns; `add` upserts, so adding a sample
    again (the gallery re-adds everything after the last saved state, some of which may have landed before a crash)
    replaces it instead of duplicating it. The saved state lives in Milvus itself, as a collection property. A
    milvus-lite directory is usable by one process at a time (its lock is held until the last `MilvusIndex` on it
    in this process closes)."""

    def __init__(self, uri: str, name: str, ndim: int, token: str = "") -> None:
        self.uri, self.name, self.ndim = uri, collection_name(name), ndim
        self._local = os.path.abspath(uri) if uri.endswith(".db") else None
        if self._local is not None:
            private_folder(Path(self._local))  # milvus-lite's folder, made before it writes there with the umask
            with _LOCAL_LOCK:
                self._client = MilvusClient(uri)
                _LOCAL_USERS[self._local] = _LOCAL_USERS.get(self._local, 0) + 1
        else:
            self._client = MilvusClient(uri, token=token)
        self._state: dict | None = None
        try:
            if self._client.has_collection(self.name):
                self._open_existing()
            else:
                self._create()
        except BaseException:
            self.close()
            raise

    @property
    def state(self) -> dict | None:
        """What the last `save` recorded (generation, count, largest id), None if nothing was."""
        return self._state

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids = np.asarray(ids, np.int64).reshape(-1)
        if not len(ids):
            return
        vectors = np.asarray(vectors, np.float32).reshape(len(ids), self.ndim)
        for start in range(0, len(ids), _BATCH):
            rows = [{"id": int(i), "vector": v} for i, v in
                    zip(ids[start:start + _BATCH], vectors[start:start + _BATCH], strict=True)]
            self._client.upsert(self.name, rows)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        queries = np.asarray(queries, np.float32).reshape(-1, self.ndim)
        ids = np.full((len(queries), k), -1, np.int64)
        scores = np.full((len(queries), k), -np.inf, np.float32)
        if k <= 0:
            return ids, scores
        for start in range(0, len(queries), _BATCH):
            found = self._client.search(self.name, data=queries[start:start + _BATCH], limit=k, anns_field="vector",
                                        output_fields=["id"], search_params={"metric_type": "COSINE"})
            for row, hits in enumerate(found, start):
                for column, hit in enumerate(hits):
                    ids[row, column] = hit["id"]
                    scores[row, column] = hit["distance"]
        return ids, scores

    def __len__(self) -> int:
        rows = self._client.query(self.name, filter="", output_fields=["count(*)"], consistency_level="Strong")
        return int(rows[0]["count(*)"])

    def save(self, path: Path, state: dict) -> None:
        """Flush the rows and record `state` as a collection property. `path` is ignored: the index lives where
        `uri` and the collection name say; it is accepted for the Protocol."""
        self._client.flush(self.name)
        self._client.alter_collection_properties(self.name, properties={_STATE_KEY: json.dumps(state)})
        self._state = dict(state)
        if self._local is not None:  # the files milvus-lite wrote (with the umask) made private
            make_private(Path(self._local))

    def reset(self) -> None:
        """Drop the collection (rows, index files and recorded generation) and create it again empty: the start of
        a rebuild, and of an erasure. On milvus-lite the dropped files are deleted at once; a Milvus server deletes
        a dropped collection's files only at its garbage collection (see `dataCoord.gc` in its configuration)."""
        self._client.drop_collection(self.name)
        self._create()

    def close(self) -> None:
        """Close the connection; on milvus-lite, stop its server (releasing the directory's lock) once no other
        index in this process uses that directory."""
        self._client.close()
        local, self._local = self._local, None
        if local is None:
            return
        with _LOCAL_LOCK:
            _LOCAL_USERS[local] -= 1
            if _LOCAL_USERS[local]:
                return
            del _LOCAL_USERS[local]
            from milvus_lite import server_manager_instance

            server_manager_instance.release_server(local)

    def __enter__(self) -> MilvusIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _create(self) -> None:
        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=self.ndim)
        self._client.create_collection(self.name, schema=schema, consistency_level="Strong")
        index_params = self._client.prepare_index_params()
        index_params.add_index("vector", index_type="FLAT", metric_type="COSINE")
        # nothing to build on an empty collection: not waiting spares pymilvus' 0.5 s polling sleep
        self._client.create_index(self.name, index_params, sync=False)
        self._client.load_collection(self.name)
        self._state = None

    def _open_existing(self) -> None:
        described = self._client.describe_collection(self.name)
        dims = [int(field["params"]["dim"]) for field in described["fields"] if field["name"] == "vector"]
        if dims != [self.ndim]:
            raise ValueError(f"Milvus collection '{self.name}' at {self.uri} is not a {self.ndim}-d face index")
        self._client.load_collection(self.name)
        recorded = described.get("properties", {}).get(_STATE_KEY)
        self._state = json.loads(recorded) if recorded else None
