"""The library's people on a real SQLite database: clusters named as gallery people, the review queue and what each
answer does (a "no" is a cannot-link that holds in later runs, a "yes" a must-link that adds samples), new faces
labelled automatically, photos of a person, and clear errors. The logic runs on faces with constructed embeddings
written to the database (the calibrated thresholds are the real model's); the end-to-end runs are on real photos."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import numpy as np
import pexpect
import pytest
import typer
from helpers import Completed, cli, data_path
from pexpect import fdpexpect
from postgres import postgres_server
from sqlalchemy import delete, event, select, text, update
from sqlalchemy.orm import Session

from faceatlas.cli.gallery import guarded
from faceatlas.errors import GalleryNotFoundError
from faceatlas.gallery.schema import Subject
from faceatlas.gallery.store import database_url
from faceatlas.organize import LabellingError, Library, LibraryError, ReviewItem
from faceatlas.organize.labelling import NAME_SAMPLES_PER_FILE
from faceatlas.organize.schema import LibraryFace, LibraryFile, LibraryNotPerson, LibraryNumbering, LibraryPath


def direction(angle_to_first: float, axis: int, ndim: int = 128) -> np.ndarray:
    """A unit vector at `angle_to_first` (its cosine) from the first axis, leaning towards `axis`."""
    vector = np.zeros(ndim)
    vector[0], vector[axis] = angle_to_first, np.sqrt(1 - angle_to_first**2)
    return vector


def photos_of(centre: np.ndarray, count: int, seed: int, spread: float = 0.25) -> np.ndarray:
    noise = np.random.default_rng(seed).standard_normal((count, len(centre))) / np.sqrt(len(centre))
    faces = centre + spread * noise
    return (faces / np.linalg.norm(faces, axis=1, keepdims=True)).astype(np.float32)


def add_faces(library: Library, folder: Path, name: str, embeddings: np.ndarray, video: bool = False) -> list[str]:
    """One photo file per face, recorded as indexed with that face (the detector is not what is tested here); with
    `video`, one video file with a face in each of its frames, a second apart."""
    paths = []
    with Session(library.gallery.engine) as session:
        for i, embedding in enumerate(embeddings):
            if not (video and i):
                path = folder / (f"{name}.mp4" if video else f"{name}{i}.jpg")
                path.write_bytes(f"{name}{i}".encode())
                record = LibraryFile(collection_id=library.gallery.collection_id,
                                     sha256=f"{name}{i}".ljust(64, "0"), size=1, faces=len(embeddings) if video else 1)
                session.add(record)
                session.flush()
                session.add(LibraryPath(collection_id=library.gallery.collection_id, path=str(path),
                                        file_id=record.id, size=1, mtime_ns=1))
                paths.append(str(path))
            session.add(LibraryFace(collection_id=library.gallery.collection_id, file_id=record.id,
                                    frame_ms=1000 * i if video else None, box=[0, 0, 10, 10], detection_score=0.9,
                                    quality=0.9 - 0.01 * i if video else 0.8, embedding=embedding.tobytes()))
        session.commit()
    return paths


@pytest.fixture
def scene(tmp_path: Path) -> tuple[Library, dict[str, list[str]]]:
    return make_scene(Library(f"sqlite:///{tmp_path / 'gallery.db'}"), tmp_path)


def make_scene(library: Library, tmp_path: Path) -> tuple[Library, dict[str, list[str]]]:
    """Alice's cluster, a cluster that may be Alice (in the review band) and a stranger's."""
    alice, maybe = direction(1.0, 1), direction(0.5, 2)
    paths = {"alice": add_faces(library, tmp_path, "alice", photos_of(alice, 4, 0)),
             "maybe": add_faces(library, tmp_path, "maybe", photos_of(maybe, 3, 1)),
             "stranger": add_faces(library, tmp_path, "stranger", photos_of(direction(0.0, 3), 2, 2))}
    report = library.labelling.update()
    assert (report.clustered, report.new_clusters) == (9, 3)
    return library, paths


def test_naming_a_cluster_makes_a_gallery_person_and_finds_their_photos(scene):
    library, paths = scene
    people = library.people()
    assert [p.faces for p in people] == [4, 3, 2] and all(p.name is None for p in people)
    result = library.name(people[0].cluster, "Alice")
    assert result.to_dict() == {"cluster": people[0].cluster, "name": "Alice", "faces": 4, "samples_added": 4,
                                "face_ids": result.face_ids} and len(set(result.face_ids)) == 4
    assert library.gallery.people()[0].name == "Alice" and library.gallery.people()[0].samples == 4
    assert sorted({row.path for row in library.photos(person="Alice")}) == sorted(paths["alice"])
    assert library.people()[0].name == "Alice"


def test_naming_a_cluster_takes_a_few_samples_of_one_video_not_its_every_frame(tmp_path):
    library = Library(f"sqlite:///{tmp_path / 'gallery.db'}")
    bob = direction(1.0, 1)
    photos = add_faces(library, tmp_path, "bob", photos_of(bob, 3, 0))
    [video] = add_faces(library, tmp_path, "bob-talks", photos_of(bob, 30, 1), video=True)  # better quality
    library.labelling.update()
    [cluster] = library.people()
    assert cluster.faces == 33 and cluster.photos == 4
    assert library.name(cluster.cluster, "Bob").samples_added == 3 + NAME_SAMPLES_PER_FILE
    sources = [sample.source for sample in library.gallery.show("Bob").samples]
    assert sorted(source.split("#")[0] for source in sources) == sorted(photos + [video] * NAME_SAMPLES_PER_FILE)
    assert sorted(source for source in sources if "#t=" in source)[0].startswith(f"{video}#t=0.000&")  # best first


def test_review_asks_about_the_uncertain_cluster_only_and_a_no_holds_in_later_runs(scene, tmp_path):
    library, paths = scene
    alice_cluster = library.people()[0].cluster
    library.name(alice_cluster, "Alice")
    queue = library.review()
    assert len(queue) == 1 and queue[0].name == "Alice" and queue[0].faces == 3
    assert library.reviewing.floor(1) <= queue[0].score < library.labelling.threshold
    refused = library.answer(queue[0], "no")
    assert (refused.cluster, refused.verdict, refused.name) == (queue[0].cluster, "not", "Alice")
    with pytest.warns(DeprecationWarning):  # the dict it used to be, still readable
        assert refused["not"] == "Alice" and "skipped" not in refused
    assert library.review() == []
    # faces between the two would join them, but the "no" forbids it
    bridge = photos_of(direction(0.87, 2), 6, 3, spread=0.05)
    add_faces(library, tmp_path, "bridge", bridge)
    report = library.labelling.update()
    assert report.merged == 0
    clusters = {p.cluster: p for p in library.people()}
    assert clusters[alice_cluster].faces >= 4 and clusters[queue[0].cluster].name is None
    assert not set(paths["maybe"]) & {row.path for row in library.photos(person="Alice")}


def test_an_answer_given_while_new_faces_are_clustered_is_not_overwritten(scene, tmp_path, monkeypatch):
    """Clustering runs outside the writer lock: a "no" given meanwhile (by another process's library, here at the
    moment the first clustering runs) makes the run cluster again with it."""
    library, _ = scene
    library.name(library.people()[0].cluster, "Alice")
    [item] = library.review()
    add_faces(library, tmp_path, "bridge", photos_of(direction(0.87, 2), 6, 3, spread=0.05))
    other = Library(f"sqlite:///{tmp_path / 'gallery.db'}")
    clusterings = []
    unlocked = library.labelling._cluster

    def answered_meanwhile(state):
        if not clusterings:
            other.answer(item, "no")
        clusterings.append(unlocked(state))
        return clusterings[-1]

    monkeypatch.setattr(library.labelling, "_cluster", answered_meanwhile)
    report = library.labelling.update()
    assert len(clusterings) == 2 and clusterings[0].merged and not clusterings[1].merged
    assert report.merged == 0 and [p.name for p in library.people()] == ["Alice", None, None]


def test_a_yes_joins_the_cluster_to_the_person_and_adds_samples(scene):
    library, paths = scene
    library.name(library.people()[0].cluster, "Alice")
    [item] = library.review()
    assert library.answer(item, "y").faces == 7
    assert sorted({row.path for row in library.photos(person="Alice")}) == sorted(paths["alice"] + paths["maybe"])
    assert library.gallery.people()[0].samples == 7
    assert [p.name for p in library.people()] == ["Alice", None]


def test_an_answer_taken_back_is_asked_again_and_leaves_nothing_behind(scene):
    library, _ = scene
    library.name(library.people()[0].cluster, "Alice")
    [item] = library.review()
    library.reviewing.undo(library.answer(item, "no"))  # a "no" forgotten: the question comes back
    assert [(i.cluster, i.name) for i in library.review()] == [(item.cluster, "Alice")]
    yes = library.answer(item, "yes")
    assert (yes.verdict, yes.faces, len(yes.face_ids)) == ("named", 7, 3)
    library.reviewing.undo(yes)  # the naming undone: the 3 faces are a cluster of their own, Alice's samples as before
    assert sorted((p.name, p.faces) for p in library.people() if p.name) == [("Alice", 4)]
    assert library.gallery.people()[0].samples == 4
    [again] = library.review()
    assert (again.faces, again.name) == (3, "Alice")
    named = library.answer(again, "Bob")  # a new person made by an answer, taken back: erased, not left empty
    library.reviewing.undo(named)
    assert [p.name for p in library.gallery.people()] == ["Alice"]
    with pytest.raises(LabellingError, match="nothing to take back"):
        library.reviewing.undo(yes)


def test_naming_two_clusters_alike_joins_them_under_the_older_id(scene):
    library, _ = scene
    clusters = sorted(p.cluster for p in library.people())
    library.name(clusters[-1], "Zed")
    joined = library.name(clusters[0], "Zed")  # the 4 faces it named join Zed's 2
    assert (joined.cluster, joined.name, joined.faces, joined.samples_added, len(joined.face_ids)) == \
        (clusters[0], "Zed", 6, 4, 4)
    assert [(p.cluster, p.name, p.faces) for p in library.people(named=True)] == [(clusters[0], "Zed", 6)]


def test_another_name_as_the_answer_names_the_cluster(scene):
    library, _ = scene
    library.name(library.people()[0].cluster, "Alice")
    [item] = library.review()
    assert library.answer(item, "Bob").name == "Bob"
    assert sorted(p.name for p in library.people() if p.name) == ["Alice", "Bob"]


def test_new_faces_of_a_named_person_are_labelled_automatically(scene, tmp_path):
    library, _ = scene
    library.name(library.people()[0].cluster, "Alice")
    new = add_faces(library, tmp_path, "alice-later", photos_of(direction(1.0, 1), 2, 9))
    report = library.labelling.update()
    assert (report.joined_named, report.new_clusters) == (2, 0)
    found = library.photos(person="Alice")
    assert set(new) <= {row.path for row in found}
    assert all(0.5 < row.similarity <= 1 for row in found)


def test_clear_errors(scene, tmp_path):
    library, _ = scene
    with pytest.raises(LabellingError, match="no person named 'Zoe'"):
        library.photos(person="Zoe")
    with pytest.raises(LabellingError, match="no cluster 999"):
        library.name(999, "Zoe")
    with pytest.raises(LabellingError, match="cannot be empty"):
        library.name(library.people()[0].cluster, "  ")
    library.name(library.people()[0].cluster, "Alice")
    with pytest.raises(LabellingError, match="already 'Alice'"):
        library.name(library.people()[0].cluster, "Bob")
    # a gallery person with no library cluster is told apart from an unknown name
    library.gallery.add_faces("Carol", photos_of(direction(0.0, 5), 1, 4), [0.9], [[0, 0, 1, 1]], ["x"])
    with pytest.raises(LabellingError, match="names no cluster"):
        library.photos(person="Carol")
    with pytest.raises(GalleryNotFoundError, match="no gallery database at"):
        Library(f"sqlite:///{tmp_path / 'absent' / 'gallery.db'}", create=False)
    assert not (tmp_path / "absent").exists()
    empty = Library(f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(LibraryError, match="no photos indexed"):
        empty.people()


def test_real_photos_cluster_by_person_and_new_photos_of_named_people_are_labelled(tmp_path):
    """deepface_testset: half of each person's photos indexed and named by the truth, then the rest indexed."""
    folder = data_path("deepface_testset")
    with open(folder / "identities.csv") as handle:
        truth = {folder / row["file"]: row["identity_id"] for row in csv.DictReader(handle)}
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir(), second.mkdir()
    for number, (path, _) in enumerate(sorted(truth.items())):
        (first if number % 2 == 0 else second).joinpath(path.name).symlink_to(path)
    library = Library(f"sqlite:///{tmp_path / 'gallery.db'}", workers=1)
    library.index([first])
    identity = {str(first / p.name): who for p, who in truth.items()} | {str(second / p.name): who
                                                                          for p, who in truth.items()}
    named = set()
    for person in library.people():
        members = {identity[row.path] for row in library.photos(like=person.sample_path)}
        who = identity[person.sample_path]
        if person.faces >= 2 and who not in named:
            assert members == {who}, f"cluster {person.cluster} mixes {members}"
            library.name(person.cluster, who)
            named.add(who)
    assert len(named) >= 5
    report = library.index([first, second])
    assert report.clusters.joined_named >= 10
    for who in named:
        for row in library.photos(person=who):
            assert identity[row.path] == who


def faceatlas_command() -> str:
    return str(Path(sys.executable).parent / "faceatlas")


def test_review_works_in_a_real_terminal(scene):
    library, _ = scene
    library.name(library.people()[0].cluster, "Alice")
    url = library.gallery.engine.url.render_as_string(hide_password=False)
    assert "no preview" in review_session(url, "q")  # the sample "photo" here is not an image
    assert "0 answered" in review_session(url, "s")
    said = review_session(url, "Bob")
    assert "Bob: 3 faces" in said and "1 answered" in said
    assert sorted(p.name for p in library.people() if p.name) == ["Alice", "Bob"]
    assert "nothing to review (`faceatlas library review --unnamed`" in review_session(url)


def test_review_unnamed_then_asks_who_each_unnamed_cluster_is(scene):
    library, _ = scene
    library.name(library.people()[0].cluster, "Alice")
    url = library.gallery.engine.url.render_as_string(hide_password=False)
    said = review_session(url, "n", "y", "Mia", "s", unnamed=True)  # the middle cluster is not Alice but Mia
    assert re.search(r"Is this Alice\?.*not Alice.*Who is this\?.*type who it is.*Who is this\?.*Mia: 3 faces.*"
                     r"Who is this\?.*skipped.*2 answered", said, re.DOTALL)
    assert [(p.name, p.faces) for p in library.people()] == [("Alice", 4), ("Mia", 3), (None, 2)]


def test_review_json_lists_the_questions_and_with_unnamed_who_each_unnamed_cluster_is(scene):
    library, _ = scene
    library.name(library.people()[0].cluster, "Alice")
    url = library.gallery.engine.url.render_as_string(hide_password=False)

    def listed(*flags: str) -> list[dict]:
        done = subprocess.run([faceatlas_command(), "library", "review", "--db", url, "--json", *flags],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    asked, everything = listed(), listed("--unnamed")
    assert [q["question"] for q in asked] == ["is_this"] * len(asked)
    unnamed = [p.cluster for p in library.people(named=False)]
    assert everything[:len(asked)] == asked and len(unnamed) == 2
    assert [(q["question"], q["cluster"]) for q in everything[len(asked):]] == [("who_is_this", c) for c in unnamed]


def review_session(url: str, *replies: str, unnamed: bool = False) -> str:
    """`faceatlas library review` in a pseudo-terminal, answering each question in turn; what it printed. Started by
    `subprocess` (vfork + exec), not `pexpect.spawn` (fork): a fork of this test process, which holds gRPC's threads
    once the Milvus tests ran, died in the child before exec once in CI ("Epoll1Poller ... Bad file descriptor")."""
    terminal, child_end = os.openpty()
    process = subprocess.Popen([faceatlas_command(), "library", "review", "--db", url,
                                *(["--unnamed"] * unnamed)], stdin=child_end, stdout=child_end, stderr=child_end,
                               env={**os.environ, "COLUMNS": "120", "TERM": "xterm"})
    os.close(child_end)
    child = fdpexpect.fdspawn(terminal, timeout=120, encoding="utf-8")
    try:
        seen = []
        for reply in replies:
            child.expect(r"(Is|Who is) this.*\?")
            seen.append(child.before + child.after)
            child.sendline(reply)
        child.expect(pexpect.EOF)
    finally:
        child.close()
        process.wait(timeout=60)
    assert process.returncode == 0, child.before
    return re.sub(r"\x1b\[[0-9;]*m", "", "".join([*seen, child.before]))  # the terminal gets colours


def test_review_preview_draws_the_face_cut_from_its_photo(tmp_path):
    """The preview is the square around the box (as gallery thumbnails), 32 cells wide, two pixels per cell."""
    from PIL import Image
    from rich.console import Console

    from faceatlas.cli.library import face_preview
    from faceatlas.io.draw import face_thumbnail

    pixels = np.zeros((400, 600, 3), np.uint8)
    pixels[:, :300] = (255, 0, 0)  # red left half, green right half (swapped channels would show blue)
    pixels[:, 300:] = (0, 255, 0)
    photo = tmp_path / "photo.png"
    Image.fromarray(pixels).save(photo)
    console = Console(record=True, color_system="truecolor", width=120, file=io.StringIO())
    console.print(face_preview(str(photo), [250, 100, 350, 200]))  # a 150 px square around it: 16 rows
    lines = console.export_text(clear=False).splitlines()
    assert len(lines) == 16 and {len(line) for line in lines} == {32}
    html = console.export_html(inline_styles=True)  # and clears the record
    assert "#ff0000" in html and "#00ff00" in html and "#0000ff" not in html
    console.print(face_preview(str(tmp_path / "gone.jpg"), [0, 0, 1, 1]))
    assert "no preview" in console.export_text()
    kept = face_thumbnail(np.ascontiguousarray(pixels[:, :, ::-1]), [250, 100, 350, 200])  # what the index keeps
    console.print(face_preview(str(tmp_path / "gone.jpg"), [250, 100, 350, 200], thumbnail=kept))
    assert len(console.export_text(clear=False).splitlines()) == 16  # drawn from the thumbnail, photo or not
    html = console.export_html(inline_styles=True)
    assert "#fe0000" in html or "#ff0000" in html
    console.print(face_preview(None, [0, 0, 1, 1], thumbnail=b"not a jpeg"))
    assert "no preview" in console.export_text()


def test_commands_fail_clearly(scene, tmp_path):
    library, paths = scene
    url = library.gallery.engine.url.render_as_string(hide_password=False)

    def run(*args: str) -> Completed:
        return cli("library", *args)

    missing = run("people", "--db", f"sqlite:///{tmp_path / 'nowhere' / 'g.db'}")
    assert missing.returncode == 12 and "no gallery database at" in missing.stderr
    assert not (tmp_path / "nowhere").exists()
    unknown = run("photos", "--person", "Zoe", "--db", url)
    assert unknown.returncode == 10 and "no person named 'Zoe'" in unknown.stderr
    odd = run("photos", "--person", "[bold]Zoe [/x]", "--db", url)
    assert odd.returncode == 10 and "no person named '[bold]Zoe [/x]'" in odd.stderr  # as typed, not as markup
    (tmp_path / "garbage.db").write_text("hello")
    garbage = run("people", "--db", str(tmp_path / "garbage.db"))
    assert garbage.returncode == 9 and "garbage.db: file is not a database" in garbage.stderr
    assert "Traceback" not in garbage.stderr
    (tmp_path / "empty.db").touch()  # an empty file (SQLite would take it as an empty database) is not a gallery
    blank = run("people", "--db", str(tmp_path / "empty.db"))
    assert blank.returncode == 12 and "no gallery database at" in blank.stderr
    assert (tmp_path / "empty.db").stat().st_size == 0
    with closing(sqlite3.connect(tmp_path / "notes.db")) as notes:  # another program's database
        notes.execute("CREATE TABLE notes (text TEXT)")
    foreign = run("index", str(tmp_path), "--db", str(tmp_path / "notes.db"))
    assert foreign.returncode == 9 and "holds another program's tables" in foreign.stderr
    with closing(sqlite3.connect(tmp_path / "notes.db")) as notes:
        assert notes.execute("SELECT name FROM sqlite_master").fetchall() == [("notes",)]
        assert notes.execute("PRAGMA journal_mode").fetchone() == ("delete",)  # read, not opened as a gallery
    assert run("name", "999", "Zoe", "--db", url).returncode == 10
    frames = run("index", str(tmp_path), "--frame-every", "1", "--db", url)
    assert frames.returncode == 2 and "add --videos" in frames.stderr
    merge = run("merge", "999", "1", "--db", url)
    assert merge.returncode == 10 and "no cluster 999" in merge.stderr
    forget = run("forget", "999", "--db", url)
    assert forget.returncode == 10 and "no cluster 999" in forget.stderr
    faint = add_faces(library, tmp_path, "faint", photos_of(direction(0.0, 9), 2, 5))  # like each other only
    with Session(library.gallery.engine) as session:
        session.execute(update(LibraryFace).where(LibraryFace.file_id.in_(select(LibraryPath.file_id).where(
            LibraryPath.path.in_(faint)))).values(quality=0.01))
        session.commit()
    empty = tmp_path / "empty"
    empty.mkdir()
    for _ in range(2):  # the faces that cannot start a cluster are said to wait, not counted as new each run
        rerun = run("index", str(empty), "--db", url)
        assert rerun.returncode == 0 and "faces to cluster" not in rerun.stderr
        assert "2 faces too poor to start a cluster wait for one like them" in rerun.stderr
    unreadable = run("index", str(tmp_path / "no-such-folder"), "--db", url)
    assert unreadable.returncode == 8 and "not a readable folder" in unreadable.stderr
    listed = run("people", "--db", url, "--json")
    assert listed.returncode == 0 and [p["faces"] for p in json.loads(listed.stdout)] == [4, 3, 2]
    by_path = run("people", "--db", str(tmp_path / "gallery.db"), "--json")  # a file path is a SQLite database
    assert by_path.returncode == 0 and json.loads(by_path.stdout) == json.loads(listed.stdout)
    wrong = run("people", "--db", "nosuchdriver://host/db")
    assert wrong.returncode != 0 and "not a database URL" in wrong.stderr and "Traceback" not in wrong.stderr
    folder = run("people", "--db", str(tmp_path))
    assert folder.returncode != 0 and "is a folder" in folder.stderr and "Traceback" not in folder.stderr
    odd = tmp_path / "100% sure?" / "gallery.db"  # a path is taken as it is, not parsed as a URL
    assert database_url(str(odd)).database == str(odd)
    named = run("name", str(library.people()[0].cluster), "Alice", "--db", url)
    assert named.returncode == 0 and "is Alice: 4 faces" in named.stderr
    found = run("photos", "--person", "Alice", "--db", url)
    assert found.returncode == 0 and len(found.stdout.split()) == 4 and "4 photos" in found.stderr
    unlabelled = run("unlabel", paths["alice"][0], "Alice", "--db", url)  # she is not in that one after all
    assert unlabelled.returncode == 0 and "1 face(s) no longer Alice" in unlabelled.stderr
    assert paths["alice"][0] not in run("photos", "--person", "Alice", "--db", url).stdout.split()
    for args, message in [((paths["alice"][0], "Alice"), "is not labelled in"), ((paths["alice"][1], "Zoe"),
                                                                                  "no person named 'Zoe'"),
                          ((str(tmp_path / "nowhere.jpg"), "Alice"), "is not in this library")]:
        refused = run("unlabel", *args, "--db", url)
        assert refused.returncode == 10 and message in refused.stderr
    odd = run("name", str(library.people(named=False)[0].cluster), "Zed [/x]", "--db", url)
    assert odd.returncode == 0 and "is Zed [/x]:" in odd.stderr  # printed as it is, not read as markup


def test_erasing_a_named_person_erases_their_library_faces_to_the_bytes(scene, tmp_path):
    library, _ = scene
    library.name(library.people()[0].cluster, "Alice")
    with Session(library.gallery.engine) as session:
        alice = [face.embedding for face in session.query(LibraryFace).all() if face.cluster_id is not None
                 and face.cluster_id == library.people(named=True)[0].cluster]
    assert len(alice) == 4
    library.gallery.erase("Alice")
    assert [p.faces for p in library.people()] == [3, 2]
    stored = b"".join(path.read_bytes() for path in tmp_path.iterdir() if path.name.startswith("gallery.db"))
    assert not any(embedding[:64] in stored for embedding in alice)
    assert library.labelling.update().clustered == 0  # and they do not come back


def test_a_database_that_refuses_writes_is_a_clear_cli_error_and_nothing_changes(scene, capsys):
    library, _ = scene
    cluster = library.people()[0].cluster
    event.listen(library.gallery.engine, "connect", lambda connection, _: connection.execute("PRAGMA query_only=1"))
    library.gallery.engine.dispose()  # new connections are read-only, as on a read-only file
    with pytest.raises(typer.Exit) as refused:
        guarded(lambda: library.name(cluster, "Alice"))
    assert refused.value.exit_code == 9
    assert "attempt to write a readonly database" in capsys.readouterr().err
    assert library.people(named=True) == [] and len(library.gallery) == 0


def test_forgetting_an_unnamed_cluster_erases_its_faces_to_the_bytes(scene, tmp_path):
    library, _ = scene
    library.name(library.people()[0].cluster, "Alice")
    stranger = library.people()[-1].cluster
    with Session(library.gallery.engine) as session:
        gone = [face.embedding for face in session.query(LibraryFace).filter(LibraryFace.cluster_id == stranger)]
    assert len(gone) == 2
    with pytest.raises(LabellingError, match="gallery erase 'Alice'"):
        library.forget(library.people()[0].cluster)
    library.people()  # this library's face cache is filled; another process forgets
    other = Library(library.gallery.engine.url.render_as_string(hide_password=False))
    assert other.forget(stranger).to_dict() == {"cluster": stranger, "faces_erased": 2}
    stored = b"".join(path.read_bytes() for path in tmp_path.iterdir() if path.name.startswith("gallery.db"))
    assert not any(embedding[:64] in stored for embedding in gone)
    # new faces take the erased faces' ids (SQLite reuses the highest): they are read, not taken for the old ones
    add_faces(library, tmp_path, "alice-again", photos_of(direction(1.0, 1), 2, 9))
    assert library.labelling.update().joined_named == 2
    assert [p.faces for p in library.people()] == [6, 3]
    with pytest.raises(LabellingError, match="no cluster"):
        library.forget(stranger)


def test_unlabelling_a_photo_takes_its_face_from_the_person_for_good(scene, tmp_path):
    library, paths = scene
    lookalike = direction(0.75, 5)  # close enough to join Alice's cluster (and become one of her samples)
    [wrong] = add_faces(library, tmp_path, "lookalike", lookalike[None].astype(np.float32))
    assert library.labelling.update().new_clusters == 0
    alice = library.people()[0]
    assert alice.faces == 5 and library.name(alice.cluster, "Alice").samples_added == 5
    result = library.unlabel(wrong, "Alice")
    assert (result.path, result.faces, result.samples_removed) == (wrong, 1, 1)
    assert sorted({row.path for row in library.photos(person="Alice")}) == sorted(paths["alice"])
    assert sorted(s.source.split("#")[0] for s in library.gallery.show("Alice").samples) == sorted(paths["alice"])
    assert library.gallery.check().ok  # the index was rebuilt without that sample
    assert result.cluster not in {item.cluster for item in library.review()}  # never asked as Alice again
    add_faces(library, tmp_path, "alice-more", photos_of(direction(1.0, 1), 3, 7))  # new photos of her: labelled,
    add_faces(library, tmp_path, "lookalike-more", lookalike[None].astype(np.float32))  # and of the look-alike not
    assert library.labelling.update().joined_named == 3
    counts = {p.cluster: (p.name, p.faces) for p in library.people()}
    assert counts[alice.cluster] == ("Alice", 7) and counts[result.cluster] == (None, 2)
    with pytest.raises(LabellingError, match="is not labelled in"):
        library.unlabel(wrong, "Alice")
    with pytest.raises(LabellingError, match="no person named 'Bob'"):
        library.unlabel(paths["alice"][0], "Bob")
    with pytest.raises(LabellingError, match="not in this library"):
        library.unlabel(tmp_path / "nowhere.jpg", "Alice")
    [stranger] = [p.cluster for p in library.people() if p.sample_path in paths["stranger"]]
    library.name(stranger, "Sam")
    assert library.unlabel(paths["stranger"][0], "Sam").faces == 1
    with pytest.raises(LabellingError, match="every face of 'Sam'"):
        library.unlabel(paths["stranger"][1], "Sam")


def test_merging_clusters_joins_them_for_good_unless_they_were_seen_together(scene, tmp_path):
    library, paths = scene
    alice, maybe, stranger = (p.cluster for p in library.people())
    with Session(library.gallery.engine) as session:  # a face like the stranger's beside Alice in her first photo
        beside = session.scalar(select(LibraryFace).where(LibraryFace.cluster_id == alice).order_by(LibraryFace.id))
        session.add(LibraryFace(collection_id=beside.collection_id, file_id=beside.file_id, box=[20, 0, 30, 10],
                                detection_score=0.9, quality=0.8,
                                embedding=photos_of(direction(0.0, 3), 1, 6)[0].tobytes()))
        session.commit()
    assert library.labelling.update().new_clusters == 0
    with pytest.raises(LabellingError, match=f"both have a face in {re.escape(paths['alice'][0])}"):
        library.merge(alice, stranger)
    with pytest.raises(LabellingError, match="no cluster 999"):
        library.merge(alice, 999)
    assert library.merge(stranger, maybe).to_dict() == {"cluster": maybe, "name": None, "faces": 6, "samples_added": 0,
                                                        "face_ids": []}
    add_faces(library, tmp_path, "later", photos_of(direction(0.0, 8), 1, 7))  # a later run keeps them one
    assert library.labelling.update().new_clusters == 1
    assert [(p.cluster, p.faces) for p in library.people()][:2] == [(maybe, 6), (alice, 4)]
    library.name(alice, "Alice")
    with pytest.raises(LabellingError, match="two faces seen together are two people"):
        library.name(maybe, "Alice")  # refused before the gallery gets her samples
    assert len(library.gallery.show("Alice").samples) == 4
    library.unlabel(paths["alice"][3], "Alice")
    unlabelled = library.people()[-1].cluster
    library.name(maybe, "Bea")
    with pytest.raises(LabellingError, match="gallery merge 'Bea' 'Alice'"):
        library.merge(alice, maybe)
    assert library.merge(alice, unlabelled).name == "Alice"  # a named one names the other
    samples = {name: len(library.gallery.show(name).samples) for name in ("Alice", "Bea")}
    with pytest.raises(LabellingError, match="two faces seen together are two people"):
        library.gallery.merge("Bea", "Alice")  # the gallery refuses it too, and nothing moves
    assert {name: len(library.gallery.show(name).samples) for name in ("Alice", "Bea")} == samples


def test_merging_two_people_in_the_gallery_keeps_both_their_library_faces(scene, tmp_path):
    """`gallery merge` of two people named in the library (one person named twice) used to delete the first one's
    subject row and, through it, their cluster and library faces."""
    library, _ = scene
    alice, maybe, stranger = (p.cluster for p in library.people())
    library.name(alice, "Alice")
    library.name(maybe, "Al")
    with Session(library.gallery.engine) as session:
        ids = dict(session.execute(select(Subject.name, Subject.id)).all())
    library.answer(ReviewItem(stranger, 2, "Al", ids["Al"], 0.5, None, []), "no")  # the stranger is not Al
    assert library.gallery.merge("Al", "Alice") == 3
    assert [(p.cluster, p.name, p.faces) for p in library.people()] == [(alice, "Alice", 7),
                                                                                 (stranger, None, 2)]
    assert library.faces() == 9 and len(library.photos(person="Alice")) == 7
    with Session(library.gallery.engine) as session:  # so not Alice either
        assert list(session.execute(select(LibraryNotPerson.cluster_id, LibraryNotPerson.subject_id))) == [
            (stranger, ids["Alice"])]
    add_faces(library, tmp_path, "al-again", photos_of(direction(0.5, 2), 2, 8))  # looking like Al: joins Alice
    assert library.labelling.update().joined_named == 2
    library.gallery.add_faces("Eileen", photos_of(direction(0.0, 7), 1, 3), [0.9], [[0, 0, 9, 9]], ["e.jpg"])
    library.name(stranger, "Sam")  # a library person merged into one enrolled in the gallery only
    library.gallery.merge("Sam", "Eileen")
    assert [(p.cluster, p.name, p.faces) for p in library.people()] == [(alice, "Alice", 9),
                                                                                 (stranger, "Eileen", 2)]


def test_on_postgresql_forgotten_and_erased_faces_leave_the_database_files(tmp_path):
    """The two erasures above on a real PostgreSQL server: the bytes are searched in this database's table files."""
    with postgres_server() as url:
        library, _ = make_scene(Library(url), tmp_path)
        alice, _, stranger = (p.cluster for p in library.people())
        with Session(library.gallery.engine) as session:
            erased = list(session.scalars(select(LibraryFace.embedding).where(
                LibraryFace.cluster_id.in_([alice, stranger]))))
            oid = session.scalar(text("SELECT oid FROM pg_database WHERE datname = current_database()"))
        tables = Path(library.gallery.engine.url.query["host"]) / "data" / "base" / str(oid)

        def stored() -> bytes:
            with library.gallery.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("CHECKPOINT"))  # the table pages written to their files
            return b"".join(path.read_bytes() for path in tables.iterdir() if path.is_file())

        before = stored()
        assert len(erased) == 6 and all(embedding in before for embedding in erased)
        library.name(alice, "Alice")
        library.gallery.erase("Alice")
        library.forget(stranger)
        assert [p.faces for p in library.people()] == [3]
        after = stored()
        assert not any(embedding[:64] in after for embedding in erased)
        library.gallery.engine.dispose()


def test_a_forgotten_or_merged_cluster_number_is_never_given_to_a_new_cluster(scene, tmp_path):
    library, _ = scene
    with Session(library.gallery.engine) as session:  # as a database made before numbers were kept
        session.execute(delete(LibraryNumbering))
        session.commit()
    numbers = sorted(p.cluster for p in library.people())
    library.forget(numbers[-1])  # the highest number: the next new cluster would have taken it
    add_faces(library, tmp_path, "newcomer", photos_of(direction(0.0, 4), 2, 3))
    library.labelling.update()
    newcomer = max(p.cluster for p in library.people())
    assert newcomer > numbers[-1]
    library.name(numbers[0], "Alice")
    library.name(newcomer, "Alice")  # joins the older cluster; the newcomer's number goes
    other = Library(library.gallery.engine.url.render_as_string(hide_password=False))
    add_faces(other, tmp_path, "third", photos_of(direction(0.0, 5), 2, 4))
    other.labelling.update()
    assert max(p.cluster for p in other.people()) == newcomer + 1


def test_the_review_band_narrows_as_more_people_are_named(scene):
    labelling, reviewing = scene[0].labelling, scene[0].reviewing
    floors = [reviewing.floor(named) for named in (1, 200, 2_000, 10_000)]
    assert floors[0] < floors[1] < floors[2] < labelling.threshold
    assert floors[3] == labelling.threshold  # 5 % over 10,000 people is stricter than clustering: nothing to ask


def test_the_gallery_finds_the_librarys_merge_hook_without_importing_the_library():
    code = ("import sys; from faceatlas.gallery.hooks import MERGE_HOOKS; "
            "print(MERGE_HOOKS.names(), 'faceatlas.organize' in sys.modules)")
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert found.strip() == "['library'] False"  # declared by name: a merge from any door keeps the clusters
