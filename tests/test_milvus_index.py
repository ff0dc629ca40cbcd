"""MilvusIndex on milvus-lite: recall against ExactIndex, padding, persistence of the saved state, erasure that leaves
no copy of a vector on disk, and the one-process-per-directory lock."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pymilvus", reason="pymilvus is not installed (pip install -e '.[milvus]')")
pytest.importorskip("milvus_lite", reason="milvus-lite is not installed (pip install -e '.[milvus]')")
import pyarrow.parquet as pq

from faceatlas.gallery.index import ExactIndex
from faceatlas.gallery.milvus_index import MilvusIndex, collection_name

NDIM = 128


def unit(rng: np.random.Generator, n: int) -> np.ndarray:
    vectors = rng.standard_normal((n, NDIM)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def near(rng: np.random.Generator, vectors: np.ndarray, noise: float) -> np.ndarray:
    moved = vectors + noise * rng.standard_normal(vectors.shape).astype(np.float32)
    return (moved / np.linalg.norm(moved, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture
def uri(tmp_path: Path) -> str:
    return str(tmp_path / "faces.milvus.db")


def test_collection_names_are_sanitised_and_distinct():
    assert collection_name("faces_sface") == "faces_sface"
    cleaned = {collection_name(name) for name in ("main.sface-2021dec", "main_sface_2021dec", "main-sface.2021dec",
                                                  "1st", "visage-ŝ")}
    assert len(cleaned) == 5
    assert all(name.isascii() and name.replace("_", "a").isalnum() and not name[0].isdigit() for name in cleaned)
    assert collection_name("x" * 300) != collection_name("x" * 301)
    assert max(len(collection_name("x" * n)) for n in (255, 256, 1000)) <= 255


def test_recall_against_exact(uri):
    rng = np.random.default_rng(0)
    base = unit(rng, 3000)
    planted = near(rng, base[:300], 0.02)  # near-duplicates: a second photo of the same face
    vectors, ids = np.concatenate([base, planted]), np.arange(3300, dtype=np.int64) * 7 + 1
    exact = ExactIndex(NDIM)
    exact.add(ids, vectors)
    queries = np.concatenate([near(rng, base[:300], 0.05), near(rng, base[1000:1300], 0.3), unit(rng, 200)])
    with MilvusIndex(uri, "recall", NDIM) as index:
        index.add(ids, vectors)
        assert len(index) == 3300
        found, scores = index.search(queries, 10)
    expected, expected_scores = exact.search(queries, 10)
    assert found.shape == scores.shape == (800, 10) and found.dtype == np.int64 and scores.dtype == np.float32
    assert np.array_equal(found[:, 0], expected[:, 0])
    recall_10 = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, expected, strict=True)])
    assert recall_10 >= 0.99
    np.testing.assert_allclose(scores, expected_scores, atol=1e-5)  # cosine similarities, best first
    assert np.all(np.diff(scores, axis=1) <= 0)


def test_fewer_than_k_are_padded(uri):
    vectors = unit(np.random.default_rng(1), 3)
    with MilvusIndex(uri, "few", NDIM) as index:
        index.add(np.array([5, 6, 7]), vectors)
        found, scores = index.search(vectors[1], 5)
    assert found[0, 0] == 6 and sorted(found[0, :3]) == [5, 6, 7] and list(found[0, 3:]) == [-1, -1]
    assert scores[0, 0] == pytest.approx(1.0, abs=1e-5) and np.all(np.isneginf(scores[0, 3:]))


def test_empty_index(uri):
    with MilvusIndex(uri, "empty", NDIM) as index:
        assert len(index) == 0
        found, scores = index.search(unit(np.random.default_rng(2), 2), 4)
        no_queries = index.search(np.zeros((0, NDIM), np.float32), 4)
    assert np.all(found == -1) and np.all(np.isneginf(scores)) and found.shape == (2, 4)
    assert no_queries[0].shape == no_queries[1].shape == (0, 4)


def test_rows_and_saved_state_survive_reopening_and_adding_again_replaces(uri, tmp_path):
    vectors = unit(np.random.default_rng(3), 50)
    index = MilvusIndex(uri, "kept", NDIM)
    assert index.state is None and len(index) == 0
    index.add(np.arange(50), vectors)
    index.save(tmp_path / "ignored", {"generation": 7, "count": 50, "max_id": 49})
    index.close()

    index = MilvusIndex(uri, "kept", NDIM)
    assert index.state == {"generation": 7, "count": 50, "max_id": 49} and len(index) == 50
    assert index.search(vectors[10], 1)[0][0, 0] == 10
    index.add(np.array([50]), vectors[:1])  # rows are durable at once, the state is what was saved
    index.close()

    index = MilvusIndex(uri, "kept", NDIM)
    assert index.state["generation"] == 7 and len(index) == 51
    index.add(np.arange(45, 51), np.concatenate([vectors[45:], vectors[:1]]))  # again after a crash: replaced
    assert len(index) == 51
    index.reset()
    assert index.state is None
    index.save(tmp_path / "ignored", {"generation": 8, "count": 0, "max_id": 0})
    index.close()
    with pytest.raises(ValueError, match="64-d"):
        MilvusIndex(uri, "kept", 64)
    index = MilvusIndex(uri, "kept", NDIM)
    assert index.state["generation"] == 8 and len(index) == 0
    index.close()


def stored_files(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


def raw_hits(root: Path, vectors: np.ndarray) -> set[int]:
    """Rows of `vectors` whose 512 float32 bytes occur verbatim in some file (the WAL's Arrow IPC, FLAT .idx npy)."""
    blobs = [path.read_bytes() for path in stored_files(root)]
    return {row for row, vector in enumerate(vectors) if any(vector.tobytes() in blob for blob in blobs)}


def parquet_hits(root: Path, ids: np.ndarray, vectors: np.ndarray) -> set[int]:
    """Rows of `vectors` (or their ids) found in the segments, which are Parquet: dictionary-encoded floats, Snappy
    compressed, so the raw bytes never occur there and the files have to be decoded."""
    hits = set()
    for path in root.rglob("*.parquet"):
        table = pq.read_table(path)
        if "id" in table.column_names:
            hits |= set(np.flatnonzero(np.isin(ids, table.column("id").to_numpy())).tolist())
        if "vector" in table.column_names and table.num_rows:
            stored = np.stack(table.column("vector").to_numpy(zero_copy_only=False)).astype(np.float32)
            hits |= {row for row, vector in enumerate(vectors) if np.any(np.all(stored == vector, axis=1))}
    return hits


def test_erasure_leaves_no_copy_on_disk(uri):
    rng = np.random.default_rng(4)
    people, per_person, erased = 40, 8, 7
    vectors = unit(rng, people * per_person)
    ids = np.arange(len(vectors), dtype=np.int64) + 1000
    gone = np.arange(erased * per_person, (erased + 1) * per_person)
    keep = np.setdiff1d(np.arange(len(vectors)), gone)
    root = Path(uri)

    index = MilvusIndex(uri, "erasure", NDIM)
    half = erased * per_person + per_person // 2  # the erased person straddles a flushed segment and the WAL
    index.add(ids[:half], vectors[:half])
    index.save(root, {"generation": 1, "count": half, "max_id": int(ids[half - 1])})
    index.add(ids[half:], vectors[half:])
    # the detectors see the person before erasure: flushed rows raw in the FLAT index file and decoded from the
    # Parquet segment, unflushed rows raw in the write-ahead log
    flushed, logged = gone[gone < half], gone[gone >= half]
    assert len(flushed) and len(logged)
    assert raw_hits(root, vectors[gone]) == set(range(per_person))
    assert parquet_hits(root, ids[flushed], vectors[flushed]) == set(range(len(flushed)))

    index.reset()
    index.add(ids[keep], vectors[keep])
    index.save(root, {"generation": 2, "count": len(keep), "max_id": int(ids[keep].max())})
    assert len(index) == len(keep)
    index.close()

    assert raw_hits(root, vectors[gone]) == set()
    assert parquet_hits(root, ids[gone], vectors[gone]) == set()
    assert raw_hits(root, vectors[keep]) == set(range(len(keep)))  # and the detectors still see the others
    assert parquet_hits(root, ids[keep], vectors[keep]) == set(range(len(keep)))
    with MilvusIndex(uri, "erasure", NDIM) as index:
        assert not set(index.search(vectors[gone], 10)[0].ravel()) & set(ids[gone])


def test_one_process_per_local_directory(uri):
    probe = "import sys\nfrom pymilvus import MilvusClient\nMilvusClient(sys.argv[1]).close()\n"
    index = MilvusIndex(uri, "shared", NDIM)
    with MilvusIndex(uri, "other", NDIM):  # two collections, one milvus-lite server in this process
        refused = subprocess.run([sys.executable, "-c", probe, uri], capture_output=True, text=True)
    assert refused.returncode == 1 and "ConnectionConfigException" in refused.stderr
    assert len(index) == 0  # closing the other index left the server running for this one
    index.close()
    allowed = subprocess.run([sys.executable, "-c", probe, uri], capture_output=True, text=True)
    assert allowed.returncode == 0, allowed.stderr


def test_a_local_index_folder_is_private_whatever_the_umask(uri):
    rng = np.random.default_rng(3)
    previous = os.umask(0o022)
    try:
        with MilvusIndex(uri, "private", NDIM) as index:
            index.add(np.arange(1, 21, dtype=np.int64), unit(rng, 20))
            index.save(Path(uri), {"generation": 1, "count": 20, "max_id": 20})
    finally:
        os.umask(previous)
    paths = [Path(uri), *Path(uri).rglob("*")]
    assert any(path.suffix == ".parquet" for path in paths)  # the vectors' own file is among them
    assert {oct(path.stat().st_mode & 0o777) for path in paths if path.is_dir()} == {"0o700"}
    assert {oct(path.stat().st_mode & 0o777) for path in paths if path.is_file()} == {"0o600"}
