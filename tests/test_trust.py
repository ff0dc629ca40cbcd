"""Attacks and accidents a gallery must survive (`attacks.py`): poisoned imports, paths from users' strings, links
under temporary files, damaged indexes, file modes."""

import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from attacks import crafted_exports, files_outside, modes, poisoning
from helpers import ASTRONAUT, cli, data_path
from postgres import new_database, postgres_server
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from faceatlas import FaceAnalyzer
from faceatlas.config import get_settings
from faceatlas.errors import ErasurePendingError
from faceatlas.gallery import Gallery
from faceatlas.gallery.erasure import traces
from faceatlas.gallery.index import sidecar_path
from faceatlas.gallery.schema import Sample, Subject, Thumbnail
from faceatlas.gallery.transfer import export_collection, import_collection
from faceatlas.io.files import traces_in
from faceatlas.organize import Library


@pytest.fixture(scope="module")
def analyzer() -> FaceAnalyzer:
    return FaceAnalyzer()


@pytest.fixture(scope="module")
def people() -> tuple[dict[str, list[Path]], list[Path]]:
    """Eight LFW people with two photos each to enrol, and a third photo of each as a probe."""
    root = data_path("lfw_view1", "images")
    chosen = [folder for folder in sorted(root.iterdir()) if len(list(folder.glob("*.jpg"))) >= 3][:8]
    photos = {folder.name: sorted(folder.glob("*.jpg"))[:3] for folder in chosen}
    return {name: paths[:2] for name, paths in photos.items()}, [paths[2] for paths in photos.values()]


@pytest.fixture
def gallery(tmp_path: Path, analyzer: FaceAnalyzer, people) -> Gallery:
    enrolled, _ = people
    gallery = Gallery(f"sqlite:///{tmp_path / 'gallery' / 'g.db'}", analyzer=analyzer, index="pq")
    for name, photos in enrolled.items():
        assert gallery.enroll(name, photos, allow_identity_clash=True).added
    return gallery


def test_every_poisoned_import_is_refused_and_changes_nothing(gallery: Gallery, people, tmp_path: Path):
    _, probes = people
    attempts = poisoning(gallery, probes, tmp_path)
    assert len(attempts) == 16
    for attempt in attempts:
        assert attempt.refused and attempt.unchanged, attempt
    reasons = {attempt.attack: attempt.error for attempt in attempts}
    assert "unit length" in reasons["non-unit vector (50x the mean direction)"]
    assert "finite" in reasons["NaN in a vector"] and "floating point" in reasons["int32 vector (unit length)"]
    assert "floating point" in reasons["complex vector (unit length)"]
    assert "128 dimensions" in reasons["wrong dimension (64)"]
    assert "digest does not match" in reasons["altered name, stale digest"]
    assert "truncated" in reasons["one embedding too few (truncated .npz)"]
    assert "not a readable gallery export" in reasons["truncated .json"]
    assert "a quality is a number in [0, 1]" in reasons["quality out of [0, 1] (7.5)"]
    assert "a box is four finite numbers" in reasons["box of three numbers"]
    assert "a thumbnail is JPEG bytes" in reasons["thumbnail that is not a JPEG (SVG with a script)"]
    assert "a box is four finite numbers" in reasons["NaN box through add_faces"]


def test_an_import_names_every_record_it_refuses_and_is_all_or_nothing(gallery: Gallery, analyzer, tmp_path: Path):
    exports = crafted_exports(gallery, tmp_path)
    target = Gallery(f"sqlite:///{tmp_path / 'other.db'}", analyzer=analyzer)
    samples = sum(person.samples for person in gallery.people())
    with pytest.raises(Exception, match=rf"1 of {samples} records refused, nothing imported: '.+' sample 0: an "
                                        "embedding must have unit length"):
        import_collection(target, exports["non-unit vector (50x the mean direction)"])
    assert target.people() == []
    assert import_collection(target, tmp_path / "genuine").samples == samples  # the genuine export goes in whole


def test_paths_from_users_strings_stay_in_their_roots(isolated_home: Path, tmp_path: Path, analyzer):
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = outside / "victim.json"
    victim.write_text("keep me")
    card = tmp_path / "card.json"
    card.write_text('{"id": "../outside/victim", "task": "detect", "architecture": "yunet", "licence": "x", '
                    f'"source": {{"path": "{ASTRONAUT}"}}}}')
    registered = cli("models", "register", str(card))
    removed = cli("models", "remove", "../../outside/victim")
    assert registered.returncode != 0 and "not allowed" in registered.stderr
    assert removed.returncode != 0 and "not allowed" in removed.stderr
    text = tmp_path / "notes.json"
    text.write_text('{"id": "notes", "task": "detect", "architecture": "yunet", "licence": "x", '
                    f'"source": {{"path": "{tmp_path / "notes.txt"}"}}}}')
    (tmp_path / "notes.txt").write_text("not a model")
    refused = cli("models", "register", str(text))
    assert refused.returncode == 5 and "not a valid ONNX model" in refused.stderr
    assert victim.read_text() == "keep me" and files_outside(outside, {victim}) == set()
    assert not list((isolated_home / "cards").glob("*")) if (isolated_home / "cards").exists() else True
    odd = Gallery(f"sqlite:///{tmp_path / 'g' / 'g.db'}", collection="../../outside/x", analyzer=analyzer,
                  index="pq")
    odd.add_faces("someone", np.eye(1, 128, dtype=np.float32), [0.9], [[0, 0, 1, 1]], ["x"])
    odd.rebuild_index()
    assert files_outside(outside, {victim}) == set()  # files are named by the collection's key, not its name


def test_links_at_derived_file_names_are_replaced_never_followed(gallery: Gallery, tmp_path: Path):
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    index = gallery.vectors.path("pq")
    for name in (index.name + ".part", index.name + ".json.part", index.name):  # old fixed names, the file itself
        target = index.with_name(name)
        target.unlink(missing_ok=True)
        target.symlink_to(victim)
    gallery.rebuild_index()
    assert victim.read_bytes() == b"precious" and not index.is_symlink() and gallery.check().ok
    exported = export_collection(gallery, tmp_path / "out")
    assert stat.S_IMODE(os.stat(exported.json).st_mode) == 0o600 == stat.S_IMODE(os.stat(exported.npz).st_mode)


def test_no_index_file_holds_faces_removed_before_it_was_saved(gallery: Gallery, people, analyzer):
    """A reader's index, built from rows read before a removal committed, never reaches the disk (a reader saves
    under the writer lock, and only with no removal since its rows); a removal deletes the files of every other
    index kind saved before it."""
    enrolled, probes = people
    first, second = list(enrolled)[:2]
    url, folder = str(gallery.engine.url), gallery.index_dir
    pq = gallery.vectors.path("pq")
    pq.unlink()
    reader = Gallery(url, analyzer=analyzer, index="pq", index_dir=folder)
    assert reader.identify(probes[0])[0].decision is not None
    assert pq.exists()  # no removal since its rows: saved, under the lock
    pq.unlink()
    with Session(reader.engine) as session:
        stale = reader.vectors.generation(session)
    hnsw = Gallery(url, analyzer=analyzer, index="hnsw", index_dir=folder)
    hnsw.erase(first)  # a removal commits after the reader read its rows
    reader.vectors._save(stale)
    assert not pq.exists()  # the reader's index holds the removed face: not saved
    reader.rebuild_index()
    assert pq.exists()
    hnsw.erase(second)
    assert hnsw.vectors.path("hnsw").exists() and not pq.exists() and not sidecar_path(pq).exists()


@pytest.mark.parametrize("damage", ["truncated", "zero-filled", "random bytes", "another format", "missing",
                                    "sidecar lies"])
def test_a_damaged_index_is_rebuilt_and_every_command_still_works(damage: str, gallery: Gallery, people,
                                                                    analyzer, tmp_path: Path):
    _, probes = people
    expected = [r.decision for r in gallery.identify(probes[0])]
    index = gallery.vectors.path("pq")
    assert index.exists()
    content = index.read_bytes()
    rng = np.random.default_rng(0)
    if damage == "truncated":
        index.write_bytes(content[: len(content) // 2])
    elif damage == "zero-filled":
        index.write_bytes(bytes(len(content)))
    elif damage == "random bytes":
        index.write_bytes(rng.integers(0, 256, len(content), dtype=np.uint8).tobytes())
    elif damage == "another format":
        np.savez(index.with_suffix(".npz"), shard0=np.zeros(10))
        index.with_suffix(".npz").rename(index)
    elif damage == "missing":
        index.unlink()
    else:  # a genuine-looking sidecar over a damaged file
        index.write_bytes(content[:-1] + bytes([content[-1] ^ 1]))
    url = gallery.engine.url.render_as_string(hide_password=False)
    reopened = Gallery(url, analyzer=analyzer, index="pq")
    assert [r.decision for r in reopened.identify(probes[0])] == expected and reopened.check().ok
    index.write_bytes(b"garbage again")
    rebuilt = cli("gallery", "rebuild-index", "--db", url, env={"FACEATLAS_GALLERY_INDEX": "pq"})
    assert rebuilt.returncode == 0 and f"{reopened.check().samples} entries" in rebuilt.stderr
    assert cli("gallery", "check", "--db", url, env={"FACEATLAS_GALLERY_INDEX": "pq"}).returncode == 0


@pytest.mark.parametrize("umask", [0o022, 0o000])
def test_every_file_holding_faces_is_private_whatever_the_umask(umask: int, tmp_path: Path, analyzer, people):
    enrolled, _ = people
    previous = os.umask(umask)
    try:
        gallery = Gallery(f"sqlite:///{tmp_path / 'home' / 'gallery' / 'g.db'}", analyzer=analyzer, index="pq",
                          keep_thumbnails=True)
        for name, photos in enrolled.items():
            gallery.enroll(name, photos, allow_identity_clash=True)
        gallery.rebuild_index()
        export_collection(gallery, tmp_path / "home" / "backup")
        (tmp_path / "pictures").mkdir()
        (tmp_path / "pictures" / "a.png").write_bytes(ASTRONAUT.read_bytes())
        library = Library(gallery.engine.url.render_as_string(hide_password=False), workers=1)
        assert library.index(tmp_path / "pictures", keep_thumbnails=True).faces == 1
        library.name(library.people()[0].cluster, "astronaut")
        found = modes(tmp_path / "home")
    finally:
        os.umask(previous)
    folders = {name: mode for name, mode in found.items() if (tmp_path / "home" / name).is_dir()}
    files = {name: mode for name, mode in found.items() if name not in folders}
    assert {"gallery/g.db", "gallery/g.db-wal", "backup.json", "backup.npz"} <= set(files)
    assert any(name.endswith(".faiss") for name in files) and any(name.endswith(".faiss.json") for name in files)
    assert set(files.values()) == {"0o600"}, files
    assert set(folders.values()) == {"0o700"}, folders


READER = """
import sys, time
url, kind, query = sys.argv[1:4]
if kind == "sqlite":
    import sqlite3
    connection = sqlite3.connect(url, isolation_level=None)
    connection.execute("BEGIN")
else:
    import psycopg
    connection = psycopg.connect(url)
    connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
connection.execute(query).fetchone()
print("ready", flush=True)
sys.stdin.read()  # hold the snapshot until the test closes our input
"""


@pytest.fixture(scope="module")
def postgres():
    with postgres_server() as url:
        yield url


READS_SAMPLES = "SELECT count(*), sum(length(embedding)) FROM samples"


@pytest.mark.parametrize(("backend", "readers", "query"), [
    *((backend, readers, READS_SAMPLES) for backend in ("sqlite", "postgresql") for readers in (0, 1, 3)),
    ("postgresql", 1, "SELECT 1"),  # a snapshot that never touched the table: no lock, yet it sees the rows
])
def test_erasure_is_proven_or_refused_and_finished_later(backend: str, readers: int, query: str, request,
                                                         tmp_path: Path, analyzer, people, monkeypatch):
    monkeypatch.setenv("FACEATLAS_ERASE_WAIT", "1")
    get_settings.cache_clear()
    enrolled, _ = people
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'g' / 'g.db'}"
        reader_url = str(tmp_path / "g" / "g.db")
    else:
        url = new_database(request.getfixturevalue("postgres"))
        name, host = url.split("@/")[1].split("?")[0], url.split("host=")[1]
        reader_url = f"host={host} user=postgres dbname={name}"
    gallery = Gallery(url, analyzer=analyzer, index="pq", index_dir=tmp_path / "index", keep_thumbnails=True)
    names = list(enrolled)[:3]
    for person in names:
        gallery.enroll(person, enrolled[person], allow_identity_clash=True)
    gallery.rebuild_index()
    with gallery.engine.connect() as connection:
        rows = connection.execute(select(Sample.embedding, Thumbnail.jpeg).outerjoin(Thumbnail)
                                  .join(Subject, Sample.subject_id == Subject.id).where(Subject.name == names[0])).all()
    erased = traces(rows)
    files = data_files(gallery, tmp_path / "index")
    assert len(erased) > 2 and traces_in(files(), erased) == len(erased)  # there to be found before
    holders = [subprocess.Popen([sys.executable, "-c", READER, reader_url, backend, query], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True) for _ in range(readers)]
    try:
        for holder in holders:
            assert holder.stdout.readline().strip() == "ready"
        if readers:
            with pytest.raises(ErasurePendingError, match="another connection holds an open read snapshot"):
                gallery.erase(names[0])
            assert not gallery.check().ok and gallery.check().erasure_pending
        else:
            erased_report = gallery.erase(names[0])
            assert erased_report.samples == len(enrolled[names[0]])
            assert f"none of its {len(erased)} traces is left" in erased_report.proof
            assert ("write-ahead log" in erased_report.proof) == (backend == "postgresql")
    finally:
        for holder in holders:
            holder.stdin.close()
            holder.wait(timeout=30)
    checked = gallery.check()  # finishes a pending erasure once the readers are gone
    assert checked.ok and not checked.erasure_pending
    assert traces_in(files(), erased) == 0
    assert [p.name for p in gallery.people()] == names[1:]
    get_settings.cache_clear()


def data_files(gallery: Gallery, index_dir: Path) -> Callable[[], list[Path]]:
    """A function listing the files that may hold the person: the SQLite files, or the PostgreSQL database's table
    files (after a checkpoint flushes them; the server's write-ahead log is out of scope, see the README), and the
    index folder."""

    def listed() -> list[Path]:
        found = [path for path in index_dir.rglob("*") if path.is_file()]
        if gallery.engine.url.get_backend_name() == "sqlite":
            database = Path(gallery.engine.url.database)
            return found + [path for path in database.parent.glob(database.name + "*") if path.is_file()]
        with gallery.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("CHECKPOINT"))
            oid = connection.execute(text("SELECT oid FROM pg_database WHERE datname = current_database()")).scalar()
        return found + [p for p in (Path(gallery.engine.url.query["host"]) / "data" / "base" / str(oid)).rglob("*")
                        if p.is_file()]

    return listed


def test_an_erasure_names_the_exports_that_still_hold_the_person(gallery: Gallery, people, tmp_path: Path):
    enrolled, _ = people
    backup = export_collection(gallery, tmp_path / "backup")
    victim = next(iter(enrolled))
    erased = gallery.erase(victim)
    assert erased.exports_holding == sorted([backup.json, backup.npz])
    assert gallery.erase(next(n for n in enrolled if n != victim)).exports_holding == sorted([backup.json,
                                                                                              backup.npz])


def test_a_database_that_refuses_writes_is_a_store_error_with_its_cause(gallery: Gallery, people):
    from sqlalchemy import event

    from faceatlas.errors import StoreError

    enrolled, _ = people
    event.listen(gallery.engine, "connect", lambda connection, _: connection.execute("PRAGMA query_only = ON"))
    gallery.engine.dispose()  # connections made from now on refuse writes, as a full or read-only disk would
    with pytest.raises(StoreError, match="readonly database") as raised:
        gallery.rename(next(iter(enrolled)), "someone else")
    assert type(raised.value.__cause__).__name__ == "OperationalError"
