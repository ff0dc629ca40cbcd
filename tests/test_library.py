"""The photo library's indexing on real models and a real SQLite database: incremental and content-addressed
(renames are free, nothing is analysed twice), bad files reported without stopping the run, and a run killed with
SIGKILL that, restarted, finishes with exactly the faces a clean run finds."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from helpers import ASTRONAUT, write_video
from skimage import data
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

import faceatlas.organize.library as library_module
from faceatlas import FaceAnalyzer
from faceatlas.gallery import Gallery
from faceatlas.io.draw import THUMBNAIL_SIDE
from faceatlas.io.video import frames_at
from faceatlas.organize import Library, LibraryError
from faceatlas.organize.schema import LibraryFace, LibraryFile, LibraryPath


def make_photos(folder: Path, count: int) -> list[Path]:
    """`count` distinct photos (the astronaut moved, rescaled and re-exposed; the cameraman), in nested folders."""
    astronaut = cv2.imread(str(ASTRONAUT))
    cameraman = cv2.cvtColor(data.camera(), cv2.COLOR_GRAY2BGR)
    paths = []
    for i in range(count):
        if i % 4 == 3:
            pixels = np.roll(cameraman, 7 * i, axis=1)
        else:
            pixels = cv2.convertScaleAbs(np.roll(astronaut, 11 * i, axis=1), alpha=0.8 + 0.02 * i, beta=i)
        path = folder / f"album{i % 3}" / f"photo{i:02d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), pixels)
        paths.append(path)
    return paths


def faces_of(url: str) -> list[tuple[str, tuple, bytes]]:
    """Every indexed face as (content hash, box, embedding bytes), sorted: what two runs must agree on."""
    engine = create_engine(url)
    with Session(engine) as session:
        rows = session.execute(select(LibraryFile.sha256, LibraryFace.box, LibraryFace.embedding)
                               .join(LibraryFile, LibraryFace.file_id == LibraryFile.id)).all()
    engine.dispose()
    return sorted((sha, tuple(box), blob) for sha, box, blob in rows)


def test_index_is_incremental_content_addressed_and_reports_bad_files(tmp_path):
    photos = make_photos(tmp_path / "pictures", 6)
    (tmp_path / "pictures" / "album0" / "truncated.jpg").write_bytes(photos[0].read_bytes()[:300])
    (tmp_path / "pictures" / "notes.png").write_text("not an image")
    (tmp_path / "pictures" / "copy").mkdir()
    (tmp_path / "pictures" / "copy" / "same.jpg").write_bytes(photos[1].read_bytes())  # one content, two paths
    library = Library(f"sqlite:///{tmp_path / 'lib.db'}", workers=2)

    first = library.index([tmp_path / "pictures"])
    assert (first.seen, first.analysed, first.copies, first.unchanged, first.known_content) == (9, 6, 1, 0, 0)
    assert sorted(Path(f.path).name for f in first.failed) == ["notes.png", "truncated.jpg"]
    assert all("ImageDecodeError" in f.error for f in first.failed)
    assert first.faces == library.faces() == 6  # one face a photo; the copy is not analysed again

    again = library.index([tmp_path / "pictures"])  # the bad files are not read again, but still reported
    assert (again.analysed, again.unchanged) == (0, 9)
    assert sorted(again.failed, key=lambda f: f.path) == sorted(first.failed, key=lambda f: f.path)

    photos[2].rename(photos[2].with_name("renamed.jpg"))
    moved = library.index([tmp_path / "pictures"])
    assert (moved.analysed, moved.known_content, moved.removed_paths) == (0, 1, 1)
    assert library.faces() == 6
    for report in (first, again, moved):  # every file counted once
        assert report.seen == (report.analysed + report.copies + report.unchanged + report.known_content
                               + len(report.failed) - report.failed_before)
    assert (first.failed_before, again.failed_before) == (0, 2)

    with pytest.raises(LibraryError, match="not a readable folder"):
        library.index([tmp_path / "missing"])


def test_a_photo_refused_under_a_pixel_limit_is_analysed_on_a_later_run(tmp_path):
    photos = make_photos(tmp_path / "pictures", 2)
    (tmp_path / "pictures" / "copy.jpg").write_bytes(photos[0].read_bytes())
    library = Library(f"sqlite:///{tmp_path / 'lib.db'}", workers=1)
    limited = library.index([tmp_path / "pictures"], max_pixels=1000)  # the pixel limit, not the photos, refuses
    assert limited.analysed == 0 and len(limited.failed) == 3 and limited.copies == 0  # the copy too: the same
    assert all("ImageTooLargeError" in f.error for f in limited.failed)
    later = library.index([tmp_path / "pictures"])
    assert (later.analysed, later.seen, later.failed, library.faces()) == (2, 3, [], 2)
    with pytest.raises(LibraryError, match="max_pixels must be a positive"):
        library.index([tmp_path / "pictures"], max_pixels=0)


def test_setup_errors_recorded_by_an_earlier_version_are_tried_again(tmp_path):
    [photo] = make_photos(tmp_path / "pictures", 1)
    url = f"sqlite:///{tmp_path / 'lib.db'}"
    library = Library(url, workers=1)
    stamp = os.stat(photo)
    with Session(library.gallery.engine) as session:  # as a version that recorded every error left it
        record = LibraryFile(collection_id=library.gallery.collection_id, sha256="0" * 64, size=stamp.st_size,
                             error="ModelUnavailableError: no weights", faces=0)
        session.add(record)
        session.flush()
        session.add(LibraryPath(collection_id=library.gallery.collection_id, path=str(photo), file_id=record.id,
                                size=stamp.st_size, mtime_ns=stamp.st_mtime_ns))
        session.commit()
    report = library.index([tmp_path / "pictures"])
    assert (report.analysed, report.unchanged, report.failed, library.faces()) == (1, 0, [], 1)


def test_linked_photos_and_folders_are_indexed_and_named_by_the_path_they_were_found_at(tmp_path):
    elsewhere = make_photos(tmp_path / "elsewhere", 3)  # the astronaut three times, in three albums
    pictures = tmp_path / "pictures"
    pictures.mkdir()
    (pictures / "linked.jpg").symlink_to(elsewhere[0])
    (pictures / "album").symlink_to(elsewhere[1].parent, target_is_directory=True)
    (elsewhere[1].parent / "back").symlink_to(pictures, target_is_directory=True)  # a loop through the link
    (pictures / "own").mkdir()
    (pictures / "own" / "photo.jpg").write_bytes(elsewhere[2].read_bytes())
    for name in "abcdef":  # links to a folder that is in the library anyway: it is found at its own path
        (pictures / name).symlink_to(pictures / "own", target_is_directory=True)
    library = Library(f"sqlite:///{tmp_path / 'lib.db'}", workers=1)
    report = library.index(str(pictures))  # one folder, as a string
    assert (report.seen, report.analysed, report.failed) == (3, 3, [])
    cluster = library.people()[0].cluster
    assert library.name(np.int64(cluster), "Astro").faces == 3  # a NumPy integer is a cluster number too
    assert sorted(row.path for row in library.photos(person="Astro")) == [str(pictures / "album" / "photo01.jpg"),
                                                                              str(pictures / "linked.jpg"),
                                                                              str(pictures / "own" / "photo.jpg")]
    assert library.unlabel(pictures / "linked.jpg", "Astro").faces == 1  # the path it was found at
    assert library.unlabel(elsewhere[1], "Astro").faces == 1  # a path it was not found at: by its content
    with pytest.raises(LibraryError, match="whole number"):
        library.merge("1", cluster)


INDEXER = textwrap.dedent("""
    import sys
    from faceatlas.organize import Library
    Library(sys.argv[1], workers=1).index([sys.argv[2]])
""")


def running(pid: str) -> bool:
    """Is this process alive (a zombie waiting for a parent that does not reap it is not)?"""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def test_a_killed_index_run_resumes_to_exactly_the_faces_of_a_clean_run(tmp_path):
    make_photos(tmp_path / "pictures", 12)
    url = f"sqlite:///{tmp_path / 'killed.db'}"
    run = subprocess.Popen([sys.executable, "-c", INDEXER, url, str(tmp_path / "pictures")])
    engine = create_engine(url)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and run.poll() is None:  # wait for the first commits, then kill
        try:
            with engine.connect() as connection:
                if connection.scalar(select(func.count()).select_from(LibraryFile)) >= 3:
                    break
        except Exception:  # the tables may not exist yet
            pass
        time.sleep(0.05)
    workers = subprocess.run(["pgrep", "-P", str(run.pid)], capture_output=True, text=True).stdout.split()
    os.kill(run.pid, signal.SIGKILL)
    run.wait()
    with engine.connect() as connection:
        interrupted = connection.scalar(text("SELECT COUNT(*) FROM library_files"))
    engine.dispose()
    assert 3 <= interrupted < 12  # killed mid-run
    time.sleep(2)  # orphaned workers notice within a second and end
    assert workers and not any(running(pid) for pid in workers)

    resumed = Library(url, workers=2).index([tmp_path / "pictures"])
    assert resumed.unchanged == interrupted and resumed.analysed == 12 - interrupted
    clean_url = f"sqlite:///{tmp_path / 'clean.db'}"
    Library(clean_url, workers=2).index([tmp_path / "pictures"])
    assert faces_of(url) == faces_of(clean_url) and len(faces_of(url)) == 12


def photo_and_clip(folder: Path) -> Path:
    """A photo of the astronaut and `clip.mp4`: her, moving, 3 s at 5 fps (frames sampled every second at 0, 1 and
    2 s); returns the photo."""
    [photo] = make_photos(folder, 1)
    astronaut = cv2.imread(str(ASTRONAUT))
    writer = cv2.VideoWriter(str(folder / "clip.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 5.0, astronaut.shape[1::-1])
    for i in range(15):
        writer.write(np.roll(astronaut, 4 * i, axis=1))
    writer.release()
    return photo


def test_videos_are_indexed_track_by_track_when_asked(tmp_path):
    """A video's faces are followed: one person across its frames is one track and one face (its best shot, which
    knows its frame's time), clustered with her photo; a broken video is reported."""
    folder = tmp_path / "pictures"
    photo = photo_and_clip(folder)
    (folder / "broken.mov").write_bytes((folder / "clip.mp4").read_bytes()[:500])
    cut = write_video(folder / "cut.avi", frames=40, codec="MJPG")
    cut.write_bytes(cut.read_bytes()[:len(cut.read_bytes()) // 2])
    library = Library(f"sqlite:///{tmp_path / 'lib.db'}", workers=2)
    assert library.index([folder]).seen == 1  # photos only unless asked
    report = library.index([folder], videos=True, frame_every=1.0)
    assert (report.seen, report.unchanged, report.analysed, report.faces) == (4, 1, 2, 1)
    assert [Path(f.path).name for f in report.failed] == ["broken.mov"]
    assert "VideoDecodeError" in report.failed[0].error
    assert [i.to_dict() for i in report.incomplete] == [
        {"path": str(cut), "warning": "decoded 0.9 s of the 4.0 s it states (truncated or damaged after that)"}]
    [astronaut_cluster] = library.people()
    assert (astronaut_cluster.faces, astronaut_cluster.photos) == (2, 2)
    library.name(astronaut_cluster.cluster, "Eileen")
    [(clip, frame_ms), still] = sorted((Path(row.path).name, row.frame_ms) for row in library.photos(person="Eileen"))
    assert (clip, still) == ("clip.mp4", (photo.name, None)) and frame_ms in range(0, 3000, 200)  # 5 fps
    assert library.index([folder]).removed_paths == 0  # a run without --videos does not forget them
    cut.rename(folder / "moved.avi")  # reported again when unchanged or moved, without being analysed again
    again = library.index([folder], videos=True)
    assert (again.analysed, again.known_content, again.failed) == (0, 1, report.failed)
    assert [i.to_dict() for i in again.incomplete] == [{**report.incomplete[0].to_dict(),
                                                        "path": str(folder / "moved.avi")}]


def test_two_index_runs_over_one_folder_at_once_agree(tmp_path):
    """A second indexer that commits the photos first (here: run to the end from inside the first one's progress
    callback, after the first one's first commit) costs the first one nothing but the work: no error, no duplicate."""
    folder = tmp_path / "pictures"
    make_photos(folder, 5)
    url = f"sqlite:///{tmp_path / 'lib.db'}"
    first, second = Library(url, workers=1), Library(url, workers=1)
    runs = []

    def progress(done: int, total: int) -> None:
        if done == 1:
            runs.append(second.index([folder]))

    report = first.index([folder], progress=progress)
    assert (runs[0].analysed, runs[0].known_content) == (4, 0)  # the first one had committed one photo
    assert (report.analysed, report.known_content) == (1, 4)  # the other four it found committed
    clean = tmp_path / "clean.db"
    Library(f"sqlite:///{clean}", workers=1).index([folder])
    assert faces_of(url) == faces_of(f"sqlite:///{clean}")


def test_content_committed_by_another_run_between_check_and_write_is_written_again_as_known(tmp_path, monkeypatch):
    """The narrowest race: the other indexer commits the same photos after this one found the first of them new and
    before it wrote it (the database refuses the duplicate; the write is rolled back and done again)."""
    folder = tmp_path / "pictures"
    make_photos(folder, 5)
    url = f"sqlite:///{tmp_path / 'lib.db'}"
    first, second = Library(url, workers=1), Library(url, workers=1)
    write_file, raced = first._write_file, []

    def racing(session: Session, found: object, others: list) -> bool:
        if not raced:
            check = session.scalar

            def check_then_race(*args: object, **kwargs: object) -> object:
                answer = check(*args, **kwargs)
                session.scalar = check
                raced.append(second.index([folder]))
                return answer

            session.scalar = check_then_race
        return write_file(session, found, others)

    monkeypatch.setattr(first, "_write_file", racing)
    report = first.index([folder])
    assert (raced[0].analysed, raced[0].known_content) == (5, 0)
    assert (report.analysed, report.known_content, report.failed) == (0, 5, [])
    clean = tmp_path / "clean.db"
    Library(f"sqlite:///{clean}", workers=1).index([folder])
    assert faces_of(url) == faces_of(f"sqlite:///{clean}")


def test_kept_thumbnails_show_faces_and_migrate_people_after_their_photos_are_gone(tmp_path, monkeypatch):
    folder = tmp_path / "pictures"
    photos = make_photos(folder, 3)  # the astronaut three times
    url = f"sqlite:///{tmp_path / 'lib.db'}"
    library = Library(url, workers=1)
    library.index([folder], keep_thumbnails=True)
    with Session(library.gallery.engine) as session:
        jpegs = session.scalars(select(LibraryFace.thumbnail)).all()
    sides = [cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR).shape[:2] for jpeg in jpegs]
    assert len(sides) == 3 and all(64 < max(side) <= THUMBNAIL_SIDE for side in sides)
    [person] = library.people()
    assert library.thumbnail(person.sample_face) in jpegs
    assert library.name(person.cluster, "Eileen").samples_added == 3
    assert [sample.thumbnail for sample in library.gallery.show("Eileen").samples] == [True] * 3
    for photo in photos:
        photo.unlink()
    report = library.gallery.migrate(Gallery(url, "fast", FaceAnalyzer(profile="fast")))
    # from the thumbnails: all three found again (the photos are one picture shifted: the gallery keeps one)
    assert report.sources_missing == [] and report.samples_migrated >= 1
    assert report.samples_migrated + len(report.refused) == 3
    assert all(reason.endswith("the same face twice in this enrolment") for reason in report.refused)
    library.gallery.erase("Eileen")  # her library faces and both copies of their thumbnails go, to the bytes
    stored = b"".join(path.read_bytes() for path in tmp_path.glob("lib.db*"))
    assert not any(jpeg[len(jpeg) // 2:len(jpeg) // 2 + 64] in stored for jpeg in jpegs)
    plain = Library(f"sqlite:///{tmp_path / 'plain.db'}", workers=1)  # not asked: none kept
    more = tmp_path / "more"
    make_photos(more, 2)
    photo_and_clip(more / "clips")  # the clip, and a copy of the first photo
    plain.index([more], videos=True, frame_every=1.0)
    sample = plain.people()[0]
    assert plain.gallery.engine.dialect.name == "sqlite"
    with sqlite3.connect(tmp_path / "plain.db") as db:  # not asked: none kept
        assert db.execute("SELECT count(*) FROM library_faces WHERE thumbnail IS NOT NULL").fetchone() == (0,)
    cut = plain.thumbnail(sample.sample_face)  # cut from its photo or frame, where it still is
    assert cut[:3] == b"\xff\xd8\xff" and cv2.imdecode(np.frombuffer(cut, np.uint8), cv2.IMREAD_COLOR) is not None
    elsewhere = tmp_path / "elsewhere"
    for photo in make_photos(elsewhere, 3)[:2]:
        photo.unlink()  # `more` has these two
    assert plain.index([elsewhere]).faces == 1
    steps, decoded = [], []

    def decoding(path: str, times: list[int]) -> Iterator[tuple[int, np.ndarray]]:
        for ms, frame in frames_at(path, times):
            other = sqlite3.connect(tmp_path / "plain.db", timeout=0)
            other.execute("BEGIN IMMEDIATE")  # "database is locked" if the back-fill held the write lock meanwhile
            other.rollback()
            other.close()
            decoded.append(ms)
            yield ms, frame

    monkeypatch.setattr(library_module, "frames_at", decoding)
    asked = plain.index([more], videos=True, keep_thumbnails=True,  # asked later: the faces indexed get theirs
                        progress=lambda done, total: steps.append((done, total)))
    assert (asked.analysed, asked.thumbnails_added) == (0, 3)  # 2 photos + the clip's track, cut from the files again
    assert steps == [(1, 3), (2, 3), (3, 3)]  # a step a file: the two photos, the clip; not the other folder's
    assert len(decoded) == 1 and decoded[0] in range(0, 3000, 200)  # the track's best frame
    kept = Library(f"sqlite:///{tmp_path / 'kept.db'}", workers=1)  # kept from the start: the very same JPEGs
    kept.index([more], videos=True, frame_every=1.0, keep_thumbnails=True)
    with Session(plain.gallery.engine) as session, Session(kept.gallery.engine) as other:
        assert session.scalar(select(func.count()).where(LibraryFace.thumbnail.is_(None))) == 1  # elsewhere's
        assert sorted(session.scalars(select(LibraryFace.thumbnail).where(LibraryFace.thumbnail.is_not(None)))) \
            == sorted(other.scalars(select(LibraryFace.thumbnail)))
    assert plain.index([more], videos=True, keep_thumbnails=True).thumbnails_added == 0


def test_people_named_in_the_library_migrate_to_another_model_from_their_photos_and_frames(tmp_path):
    """Naming a cluster adds samples whose source is the face's photo or video frame; `Gallery.migrate` finds each
    face again there by its box (no thumbnails kept here) and lists the ones whose file is gone."""
    folder = tmp_path / "pictures"
    photo = photo_and_clip(folder)
    url = f"sqlite:///{tmp_path / 'lib.db'}"
    library = Library(url, workers=1)
    library.index([folder], videos=True, frame_every=1.0)
    library.name(library.people()[0].cluster, "Eileen")
    target = Gallery(url, "fast", FaceAnalyzer(profile="fast"))
    report = library.gallery.migrate(target)
    # the photo, and the clip's one track (its best frame): one picture shifted, still two samples
    assert report.refused == [] and report.samples_migrated == 2
    assert report.sources_missing == [] and target.people()[0].samples == report.samples_migrated
    photo.rename(tmp_path / "elsewhere.jpg")
    again = library.gallery.migrate(Gallery(url, "fast-again", FaceAnalyzer(profile="fast")))
    assert [missing.split("#")[0] for missing in again.sources_missing] == [f"Eileen: {photo}"]
    assert again.samples_migrated + len(again.refused) == 1
    cv2.imwrite(str(photo), cv2.cvtColor(data.camera(), cv2.COLOR_GRAY2BGR))  # another photo at her photo's path
    replaced = library.gallery.migrate(Gallery(url, "fast-third", FaceAnalyzer(profile="fast")))
    assert [missing.split("#")[0] for missing in replaced.sources_missing] == [f"Eileen: {photo}"]
    library.index([folder], videos=True, frame_every=1.0)
    [eileen] = library.people(named=True)
    assert eileen.photos == len({row.path for row in library.photos(person="Eileen")}) == 1  # the clip
    assert eileen.faces == 2 and eileen.sample_path == str(folder / "clip.mp4")  # her face there stays
