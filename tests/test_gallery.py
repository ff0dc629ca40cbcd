"""The gallery on real models, with three backends running the same tests: a SQLite file with the local compressed
index (the default), a real PostgreSQL server, and a real Milvus server (milvus-lite's) holding the vectors.
Enrolment gates, calibrated identification with "unknown", verification, erasure down to the bytes on disk,
export/import, thumbnails, a writer killed with SIGKILL, concurrent writers, and the approximate indexes against the
exact reference."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import cv2
import numpy as np
import pytest
from helpers import ASTRONAUT
from milvus_servers import milvus_server
from postgres import new_database, postgres_server
from skimage import data
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.orm import Session

from faceatlas import FaceAnalyzer
from faceatlas.errors import StoreError
from faceatlas.gallery import Gallery, GalleryError
from faceatlas.gallery.decisions import comparisons, per_comparison_fmr, person_scores
from faceatlas.gallery.index import ExactIndex, HnswIndex, PqIndex
from faceatlas.gallery.schema import Sample, Subject
from faceatlas.gallery.store import open_engine
from faceatlas.gallery.transfer import export_collection, import_collection


@pytest.fixture(scope="module")
def analyzer() -> FaceAnalyzer:
    return FaceAnalyzer()


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest.fixture(scope="module")
def milvus() -> Iterator[tuple[str, Path]]:
    with milvus_server() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql", "milvus"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> dict:
    """Gallery arguments for a fresh gallery: a SQLite file with the compressed index saved beside it, a new
    database on the test PostgreSQL server, or a SQLite file with its vectors on the test Milvus server."""
    if request.param == "sqlite":
        return {"url": f"sqlite:///{tmp_path / 'db' / 'g.db'}", "index": "pq"}
    if request.param == "milvus":
        uri, _ = request.getfixturevalue("milvus")
        return {"url": f"sqlite:///{tmp_path / 'db' / 'g.db'}", "index": "milvus", "milvus_uri": uri}
    url = new_database(request.getfixturevalue("postgres"))
    return {"url": url, "index_dir": tmp_path / "index", "index": "pq"}


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Astronaut variants (the same person in different photos; a mirror image is not one: the default profile's
embedding averages each crop with its mirror), the cameraman, a blank, and a blurred thumbnail."""
    root = tmp_path_factory.mktemp("photos")
    astronaut = cv2.imread(str(ASTRONAUT))
    cameraman = cv2.cvtColor(data.camera(), cv2.COLOR_GRAY2BGR)
    images = {
        "alice1": astronaut, "alice2": astronaut[:, ::-1],
        "alice3": cv2.convertScaleAbs(cv2.resize(astronaut, None, fx=0.8, fy=0.8), alpha=0.8, beta=20),
        "alice4": cv2.warpAffine(astronaut, cv2.getRotationMatrix2D((256, 200), 8, 1.0), (512, 512)),
        "alice5": cv2.convertScaleAbs(np.roll(astronaut, 40, axis=1)[20:], alpha=1.2, beta=-10),
        "carl1": cameraman, "carl2": cameraman[:, ::-1],
        "blank": np.full((300, 300, 3), 128, np.uint8),
        "blurred": cv2.GaussianBlur(cv2.resize(astronaut, (96, 96)), (9, 9), 4),
    }
    paths = {}
    for name, pixels in images.items():
        paths[name] = root / f"{name}.png"
        cv2.imwrite(str(paths[name]), pixels)
    return paths


def test_enrol_identify_verify_with_gates_and_unknown(db, analyzer, photos):
    gallery = Gallery(**db, analyzer=analyzer)
    report = gallery.enroll("alice", [photos["alice1"], photos["alice4"], photos["alice2"], photos["blank"],
                                      photos["blurred"]], meta={"team": "nasa"})
    assert len(report.added) == 2
    reasons = {Path(r.source).stem: r.reason for r in report.rejected}
    assert "NoFaceError" in reasons["blank"] and "NoFaceError" in reasons["blurred"]
    assert "did not confirm" in reasons["blurred"]  # too poor for either detector to be sure of it
    assert "same face twice" in reasons["alice2"]
    again = gallery.enroll("alice", [photos["alice1"]])
    assert not again.added and "already enrolled" in again.rejected[0].reason
    clash = gallery.enroll("bob", [photos["alice3"]])
    assert not clash.added and "matches enrolled person 'alice'" in clash.rejected[0].reason
    assert [p.to_dict() for p in gallery.people()] == [{"name": "alice", "samples": 2, "meta": {"team": "nasa"}}]

    found = gallery.identify(photos["alice5"])
    assert len(found) == 1 and found[0].decision == "alice" and found[0].candidates[0].score > found[0].threshold
    stranger = gallery.identify(photos["carl1"], fpir=1e-2)
    assert stranger[0].decision is None and stranger[0].to_dict()["decision"] == "unknown"
    assert stranger[0].fmr == pytest.approx(1e-2 / 2)  # template "max": each of alice's 2 samples is a chance
    assert gallery.identify(photos["blank"]) == []
    assert gallery.verify(photos["alice3"], "alice", fmr=1e-4).same
    assert not gallery.verify(photos["carl1"], "alice", fmr=1e-4).same
    with pytest.raises(GalleryError, match="no person named 'nobody'"):
        gallery.verify(photos["alice3"], "nobody")


def test_identification_threshold_tightens_with_gallery_size():
    assert per_comparison_fmr(None, 1e-2, comparisons("max", 100, 300)) == pytest.approx(1e-2 / 300)
    assert per_comparison_fmr(None, 1e-2, comparisons("mean", 100, 300)) == pytest.approx(1e-4)
    assert per_comparison_fmr(1e-3, None, 100) == 1e-3
    with pytest.raises(ValueError):
        per_comparison_fmr(1e-3, 1e-2, 5)
    subjects = np.array([1, 1, 2])
    scores = np.array([0.9, 0.5, 0.6])
    assert person_scores(subjects, scores, np.array([1.0, 1.0, 1.0]), "max") == {1: 0.9, 2: 0.6}
    assert person_scores(subjects, scores, np.array([1.0, 1.0, 1.0]), "mean")[1] == pytest.approx(0.7)
    assert person_scores(subjects, scores, np.array([0.9, 0.1, 1.0]), "quality")[1] == pytest.approx(0.86)


def test_erase_leaves_no_embedding_or_name_bytes_on_disk(db, analyzer, photos):
    with ExitStack() as stack:
        folders = []
        if db["index"] == "milvus":  # a server of its own: the shared one holds other tests' copies of these faces
            db["milvus_uri"], milvus_data = stack.enter_context(milvus_server())
            folders.append(milvus_data)
        gallery = Gallery(**db, analyzer=analyzer, min_quality=0.0, keep_thumbnails=True)
        erase_and_search_the_files(gallery, folders, analyzer, photos)


def erase_and_search_the_files(gallery: Gallery, folders: list[Path], analyzer: FaceAnalyzer,
                               photos: dict[str, Path]) -> None:
    folders.append(gallery.index_dir)
    if gallery.engine.url.get_backend_name() == "postgresql":  # this database's table files (not the WAL: see compact)
        with gallery.engine.connect() as connection:
            oid = connection.execute(text("SELECT oid FROM pg_database WHERE datname = current_database()")).scalar()
        folders.append(Path(gallery.engine.url.query["host"]) / "data" / "base" / str(oid))
    gallery.enroll("alice_erasable", [photos["alice1"], photos["alice4"]])
    assert gallery.enroll("carl", [photos["carl1"]]).added
    embeddings = [analyzer.analyze(photos[p], subject="largest").embeddings[0] for p in ("alice1", "alice4")]
    gallery.rebuild_index()  # saved now (enrolments save it only now and then), so it holds them too
    if gallery.engine.url.get_backend_name() == "postgresql":
        with gallery.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("CHECKPOINT"))  # flush the table pages to their files
    for folder in folders:  # the test can see them in every folder before erasure
        assert all(e.tobytes() in _bytes_under([folder]) for e in embeddings), folder
    # a thumbnail spans database pages: look for 64-byte pieces of its compressed data (JPEG headers are shared)
    pieces = [t[i:i + 64] for t in thumbnails_of(gallery, "alice_erasable") for i in range(len(t) // 4, len(t), 512)]
    assert len(pieces) >= 4 and np.mean([piece in _bytes_under(folders) for piece in pieces]) > 0.8
    report = gallery.erase("alice_erasable")
    assert report.samples == 2
    if gallery.engine.url.get_backend_name() == "postgresql":
        with gallery.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("CHECKPOINT"))
    content = _bytes_under(folders)
    assert not any(e.tobytes() in content for e in embeddings)
    assert not any(piece in content for piece in pieces)
    assert b"alice_erasable" not in content
    assert [p.name for p in gallery.people()] == ["carl"] and gallery.check().ok
    assert gallery.identify(photos["alice3"])[0].decision is None


def thumbnails_of(gallery: Gallery, name: str) -> list[bytes | None]:
    with Session(gallery.engine) as session:
        return [s.thumbnail.jpeg if s.thumbnail else None for s in session.scalars(select(Sample).join(Subject).where(
            Subject.name == name, Sample.collection_id == gallery._collection_id).order_by(Sample.id))]


def test_thumbnails_are_off_by_default_and_let_migrate_work_without_the_photos(db, analyzer, photos, tmp_path):
    plain = Gallery(**db, analyzer=analyzer)
    plain.enroll("alice", [photos["alice1"]])
    assert thumbnails_of(plain, "alice") == [None]
    copies = {name: tmp_path / f"{name}.png" for name in ("alice1", "alice4")}
    for name, copy in copies.items():
        copy.write_bytes(photos[name].read_bytes())
    kept = Gallery(**db, collection="kept", analyzer=analyzer, keep_thumbnails=True)
    assert len(kept.enroll("alice", list(copies.values())).added) == 2
    for thumbnail in thumbnails_of(kept, "alice"):
        pixels = cv2.imdecode(np.frombuffer(thumbnail, np.uint8), cv2.IMREAD_COLOR)
        assert max(pixels.shape[:2]) <= 160 and len(analyzer.detect(pixels)) == 1
    copies["alice4"].unlink()  # the photo is gone: its thumbnail is re-detected and re-embedded instead
    target = Gallery(**db, collection="kept-dlib", analyzer=FaceAnalyzer(recogniser="dlib-resnet-v1"))
    report = kept.migrate(target)
    assert report.samples_migrated == 2 and report.sources_missing == [] and report.refused == []
    assert sorted(target.show("alice").samples, key=lambda s: s.source)[1].source == str(copies["alice4"])
    assert target.identify(photos["alice5"], fmr=1e-3)[0].decision == "alice"


def test_export_import_round_trip_and_model_pinning(db, tmp_path, analyzer, photos):
    source = Gallery(**db, analyzer=analyzer)
    source.enroll("alice", [photos["alice1"], photos["alice4"]], meta={"k": 1})
    assert export_collection(source, tmp_path / "backup").samples == 2
    target = Gallery(f"sqlite:///{tmp_path / 'b.db'}", analyzer=analyzer, index="exact")
    assert import_collection(target, tmp_path / "backup").to_dict() == {"people": 1, "samples": 2, "json": None,
                                                                       "npz": None}
    assert [p.to_dict() for p in target.people()] == [{"name": "alice", "samples": 2, "meta": {"k": 1}}]
    assert target.identify(photos["alice5"])[0].decision == "alice"
    with pytest.raises(GalleryError, match="holds embeddings of model"):
        Gallery(**db, analyzer=FaceAnalyzer(recogniser="dlib-resnet-v1"))
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(GalleryError, match="not a readable gallery export"):
        import_collection(target, tmp_path / "broken")


def test_migrate_re_embeds_from_the_source_photos(db, analyzer, photos):
    source = Gallery(**db, analyzer=analyzer)
    source.enroll("alice", [photos["alice1"], photos["alice4"]])
    target = Gallery(**db, collection="fast-model", analyzer=FaceAnalyzer(recogniser="dlib-resnet-v1"))
    report = source.migrate(target)
    assert report.samples_migrated == 2 and not report.sources_missing
    assert [p.to_dict() for p in target.people()] == [{"name": "alice", "samples": 2, "meta": {}}]
    assert target.identify(photos["alice5"], fmr=1e-3)[0].decision == "alice"
    assert source.people() == target.people()  # the source collection is untouched


def test_rename_merge_and_a_stale_index_is_repaired(db, analyzer, photos):
    gallery = Gallery(**db, analyzer=analyzer)
    gallery.enroll("a", [photos["alice1"]])
    gallery.enroll("a2", [photos["alice2"]], allow_identity_clash=True)
    assert gallery.merge("a2", "a") == 1
    gallery.rename("a", "alice")
    assert [p.to_dict() for p in gallery.people()] == [{"name": "alice", "samples": 2, "meta": {}}]
    if db["index"] == "milvus":  # the server lost the collection's rows (a crash between commit and index save)
        gallery.vectors._milvus_index().reset()
    else:
        gallery.vectors.path("pq").write_bytes(b"garbage")  # a bad disk: the sidecar still vouches for the file
    reopened = Gallery(**db, analyzer=analyzer)
    assert reopened.identify(photos["alice4"])[0].decision == "alice" and reopened.check().ok
    if db["index"] != "milvus":
        path = reopened.vectors.path("pq")
        (path.parent / (path.name + ".json")).unlink()  # a crash before the sidecar
    again = Gallery(**db, analyzer=analyzer)
    assert again.identify(photos["alice4"])[0].decision == "alice" and again.check().ok


WRITER = textwrap.dedent("""
    import json, sys
    from faceatlas.gallery import Gallery
    gallery = Gallery(**json.loads(sys.argv[1]), min_quality=0.0)
    for i in range(int(sys.argv[3])):
        report = gallery.enroll(f"{sys.argv[2]}{i}", [sys.argv[4]], allow_identity_clash=True)
        assert report.added, report.rejected
        print(f"ACK {sys.argv[2]}{i}", flush=True)
""")


def writer_arguments(db: dict) -> str:
    return json.dumps({k: str(v) for k, v in db.items()})


def test_sigkill_mid_enrolment_loses_no_acknowledged_person(db, photos):
    process = subprocess.Popen([sys.executable, "-c", WRITER, writer_arguments(db), "p", "200", str(photos["alice1"])],
                               stdout=subprocess.PIPE, text=True)
    acknowledged = []
    assert process.stdout is not None
    for line in process.stdout:
        acknowledged.append(line.split()[1])
        if len(acknowledged) == 6:
            os.kill(process.pid, signal.SIGKILL)
            break
    process.wait()
    acknowledged += [line.split()[1] for line in process.stdout.read().splitlines() if line.startswith("ACK")]
    gallery = Gallery(**db)
    names = {p.name for p in gallery.people()}
    assert set(acknowledged) <= names and len(names) <= len(acknowledged) + 1
    assert gallery.check().ok


def test_concurrent_writers_and_a_reader(db, photos):
    Gallery(**db)  # create the collection before the race
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, writer_arguments(db), prefix, "4", str(photos[image])],
                                stdout=subprocess.PIPE, text=True)
               for prefix, image in (("x", "alice1"), ("y", "carl1"))]
    reader = Gallery(**db)
    seen = [len(reader.identify(photos["alice4"])) for _ in range(3)]
    outputs = [w.communicate(timeout=300)[0] for w in writers]
    assert all(w.returncode == 0 for w in writers) and all(o.count("ACK") == 4 for o in outputs)
    assert seen == [1, 1, 1]
    final = Gallery(**db)
    assert len(final) == 8 and final.check().ok
    assert final.identify(photos["carl2"], fmr=1e-4)[0].decision.startswith("y")


@pytest.mark.parametrize("kind", [PqIndex, HnswIndex])
def test_approximate_index_recalls_what_exact_search_finds(kind, tmp_path):
    """1,000 synthetic people x 5 samples (a centre plus noise, like embeddings of several photos): an approximate
    index must return each probe's own people as exact search does, and survive saving and loading."""
    rng = np.random.default_rng(0)

    def unit(x: np.ndarray) -> np.ndarray:
        return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)

    centres = unit(rng.standard_normal((1000, 128)))
    vectors = unit(np.repeat(centres, 5, axis=0) + 0.08 * rng.standard_normal((5000, 128)))
    queries = unit(centres[:300] + 0.08 * rng.standard_normal((300, 128)))
    ids = np.arange(10, 5010)
    exact, approximate = ExactIndex(128), kind(128)
    exact.add(ids, vectors)
    approximate.add(ids[:1000], vectors[:1000])  # the compressed index trains once it has 1,024
    approximate.add(ids[1000:], vectors[1000:])
    truth, true_scores = exact.search(queries, 5)
    found, scores = approximate.search(queries, 5)
    person = (found - 10) // 5  # samples of one person score nearly alike, so compare people, not samples
    assert np.mean(person[:, 0] == (truth[:, 0] - 10) // 5) >= 0.99
    assert np.mean(person == np.arange(300)[:, None]) >= 0.98 * np.mean((truth - 10) // 5 == np.arange(300)[:, None])
    same = found[:, 0] == truth[:, 0]
    assert np.abs(scores[same, 0] - true_scores[same, 0]).max() < 0.02  # int8 quantisation error
    approximate.save(tmp_path / "index", {"generation": 3})
    loaded = kind.load(tmp_path / "index", 128)
    assert len(loaded) == len(exact) == 5000
    assert (loaded.search(queries, 5)[0] == found).all()
    empty_ids, _ = ExactIndex(128).search(queries[:2], 3)
    assert (empty_ids == -1).all()


def test_compressed_index_searches_exactly_until_trained(tmp_path):
    """Below 1,024 vectors the quantiser cannot be trained: they are kept as floats, searched exactly, saved and
    loaded as such; padding with -1 where fewer than k exist."""
    rng = np.random.default_rng(1)
    vectors = rng.standard_normal((40, 128)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = PqIndex(128)
    assert (index.search(vectors[:1], 3)[0] == -1).all()
    index.add(np.arange(40), vectors)
    index.save(tmp_path / "index", {"generation": 1})
    ids, scores = PqIndex.load(tmp_path / "index", 128).search(vectors[:3], 50)
    assert (ids[:, 0] == [0, 1, 2]).all() and np.allclose(scores[:, 0], 1.0, atol=1e-5)
    assert (ids[:, 40:] == -1).all() and np.isneginf(scores[:, 40:]).all()
    with pytest.raises(ValueError, match="64-d"):
        PqIndex.load(tmp_path / "index", 64)


def _bytes_under(folders: list[Path]) -> bytes:
    return b"".join(p.read_bytes() for folder in folders for p in folder.rglob("*") if p.is_file())


def test_a_database_from_before_collection_keys_is_upgraded(tmp_path, analyzer, photos):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    Gallery(url, analyzer=analyzer).enroll("alice", [photos["alice1"]])
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE collections DROP COLUMN key"))
    engine.dispose()
    reopened = Gallery(url, analyzer=analyzer)
    assert [p.to_dict() for p in reopened.people()] == [{"name": "alice", "samples": 1, "meta": {}}]
    assert len(reopened.collection_key) == 32


def test_the_saved_index_is_caught_up_from_the_database_but_never_trusted_across_a_removal(tmp_path, analyzer,
                                                                                          photos):
    url = f"sqlite:///{tmp_path / 'g.db'}"
    gallery = Gallery(url, analyzer=analyzer, index="pq", min_quality=0.0)
    gallery.enroll("alice", [photos["alice1"]])
    gallery.rebuild_index()
    path = gallery.vectors.path("pq")
    saved = {p: p.read_bytes() for p in (path, path.with_name(path.name + ".json"))}
    assert gallery.enroll("carl", [photos["carl1"]]).added
    assert path.read_bytes() == saved[path]  # an enrolment does not rewrite the index file
    reopened = Gallery(url, analyzer=analyzer, index="pq")
    assert reopened.identify(photos["carl2"])[0].decision == "carl" and reopened.check().ok  # added from the db

    reopened.erase("alice")
    for file, content in saved.items():  # a crash after the erasure's commit, before its index was saved
        file.write_bytes(content)
    after = Gallery(url, analyzer=analyzer, index="pq")
    assert after.check().to_dict() == {"samples": 1, "index_entries": 1, "self_recall_at_10": 1.0, "ok": True,
                                      "erasure_pending": False}
    assert after.identify(photos["alice4"])[0].candidates == [] or \
        all(c.name == "carl" for c in after.identify(photos["alice4"])[0].candidates)


def test_auto_index_turns_compressed_past_the_exact_limit(tmp_path, analyzer, photos, monkeypatch):
    import faceatlas.gallery.indexing as indexing_module

    monkeypatch.setattr(indexing_module, "EXACT_UP_TO", 2)  # 50,000 in use: the switch, not the size, is tested
    gallery = Gallery(f"sqlite:///{tmp_path / 'g.db'}", analyzer=analyzer, index="auto", min_quality=0.0)
    gallery.enroll("alice", [photos["alice1"], photos["alice4"]])
    assert gallery.check().ok and not gallery.vectors.path("pq").exists()
    gallery.enroll("carl", [photos["carl1"]])
    assert gallery.identify(photos["carl2"])[0].decision == "carl"
    assert gallery.vectors.path("pq").exists() and gallery.check().ok


OPENER = textwrap.dedent("""
    import sys, time
    from faceatlas.gallery.store import open_engine
    time.sleep(max(0.0, float(sys.argv[2]) - time.time()))  # every process opens at one moment
    open_engine(sys.argv[1]).dispose()
""")


@pytest.mark.slow
def test_first_runs_at_once_on_a_new_database_all_create_it(tmp_path):
    for round_ in range(3):
        url = f"sqlite:///{tmp_path / f'new{round_}.db'}"
        start = str(time.time() + 3)  # after every process has imported
        openers = [subprocess.Popen([sys.executable, "-c", OPENER, url, start], stderr=subprocess.PIPE, text=True)
                   for _ in range(6)]
        failures = [error for error in (p.communicate(timeout=120)[1] for p in openers) if "Error" in error]
        assert not failures, failures[0]
        assert all(p.returncode == 0 for p in openers)


def test_opening_a_current_database_takes_no_schema_lock(tmp_path):
    """Only a run that creates tables takes the lock file: reading a gallery needs no write access beside it."""
    url = f"sqlite:///{tmp_path / 'g.db'}"
    open_engine(url).dispose()
    (tmp_path / "schema.lock").unlink()
    open_engine(url).dispose()
    assert not (tmp_path / "schema.lock").exists()
    open_engine("sqlite://").dispose()  # in memory: no lock, no folder


def test_a_server_database_may_hold_other_programs_tables_but_a_sqlite_file_may_not(tmp_path):
    with postgres_server() as url:
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE notes (body TEXT)"))
        open_engine(url).dispose()
        with engine.connect() as connection:
            assert {"notes", "collections", "samples"} <= set(inspect(connection).get_table_names())
        engine.dispose()
    engine = create_engine(f"sqlite:///{tmp_path / 'notes.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE notes (body TEXT)"))
    with pytest.raises(StoreError, match="another program's tables"):
        open_engine(f"sqlite:///{tmp_path / 'notes.db'}")
    with engine.connect() as connection:
        assert inspect(connection).get_table_names() == ["notes"]
    engine.dispose()
