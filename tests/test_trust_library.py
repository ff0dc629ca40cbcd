"""The photo library and the other doors under accidents: files replaced or deleted while a run reads them, names
that are not UTF-8, a padded multi-gigabyte file, a folder of junk around good photos, and the API's edges."""

import os
import signal
from pathlib import Path

import cv2
import numpy as np
import pytest
from helpers import ASTRONAUT, cli, write_video
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import faceatlas.organize.ingest as ingest
from faceatlas import FaceAnalyzer
from faceatlas.errors import GalleryError
from faceatlas.gallery import Gallery
from faceatlas.io.files import sha256_file
from faceatlas.organize import Library
from faceatlas.organize.results import IndexReport
from faceatlas.organize.schema import LibraryFace

NOT_UTF8 = os.fsdecode(b"caf\xe9 \xff.jpg")
"""A file name with bytes that are not UTF-8 (a Latin-1 name copied from an old camera card)."""


def photo(path: Path, shift: int = 0) -> Path:
    """The astronaut, moved by `shift` pixels (a different file, the same face). Encoded in memory: OpenCV crashes
    on a file name that is not UTF-8."""
    path.write_bytes(cv2.imencode(path.suffix, np.roll(cv2.imread(str(ASTRONAUT)), shift, axis=1))[1].tobytes())
    return path


@pytest.fixture
def worker() -> None:
    """This process as an indexing worker (`ingest.analyse` runs the worker's analyzer)."""
    ingest._ANALYZER = FaceAnalyzer(heads=["quality"])
    yield
    ingest._ANALYZER = None


def test_a_photo_replaced_while_it_is_read_is_not_stored_under_the_old_hash(worker, tmp_path: Path):
    path = photo(tmp_path / "a.jpg")
    planned = sha256_file(path)
    photo(path, shift=60)  # replaced between the plan and the analysis
    found = ingest.analyse(str(path), planned, path.stat().st_size, path.stat().st_mtime_ns)
    assert found.retry and "changed while it was being indexed" in found.error and found.embeddings is None
    gone = ingest.analyse(str(tmp_path / "deleted.jpg"), planned, 1, 1)  # deleted during the run
    assert gone.retry and "FileNotFoundError" in gone.error
    same = ingest.analyse(str(path), sha256_file(path), path.stat().st_size, path.stat().st_mtime_ns)
    assert not same.retry and same.error is None and len(same.embeddings) == 1
    os.mkfifo(tmp_path / "pipe.jpg")  # a pipe put where a photo was planned: opened, it would wait for a writer
    signal.alarm(30)  # a hang fails the test instead of the run
    try:
        piped = ingest.analyse(str(tmp_path / "pipe.jpg"), planned, 1, 1)
    finally:
        signal.alarm(0)
    assert piped.retry and "no longer a regular file" in piped.error


def test_a_deleted_and_restored_photo_is_indexed_when_it_is_back(tmp_path: Path, monkeypatch):
    folder = tmp_path / "photos"
    folder.mkdir()
    path = photo(folder / "a.jpg")
    library = Library(f"sqlite:///{tmp_path / 'g.db'}", workers=1)
    original = ingest.analysed

    def deleting(jobs, *args, **kwargs):  # the photo goes away after it was planned, before it is read
        kept = path.read_bytes()
        path.unlink()
        yield from original(jobs, *args, **kwargs)
        path.write_bytes(kept)

    monkeypatch.setattr("faceatlas.organize.library.analysed", deleting)
    first = library.index(folder)
    assert first.analysed == 0 and "No such file" in first.failed[0].error
    monkeypatch.setattr("faceatlas.organize.library.analysed", original)
    second = library.index(folder)
    assert second.analysed == 1 and second.faces == 1 and second.failed == []


def test_a_folder_of_junk_never_stops_the_good_photos(tmp_path: Path):
    folder = tmp_path / "photos"
    (folder / "album.jpg").mkdir(parents=True)  # a folder named like a photo
    good = [photo(folder / "one.jpg"), photo(folder / "two.png", 40), photo(folder / NOT_UTF8, 80)]
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "text.png").write_text("not an image")
    (folder / "cut.jpg").write_bytes(good[0].read_bytes()[:3000])
    (folder / "phone.heic").write_bytes(b"\x00\x00\x00\x18ftypheic")
    (folder / "nowhere.jpg").symlink_to(tmp_path / "missing.jpg")
    os.mkfifo(folder / "pipe.jpg")  # read, it would block forever
    with open(folder / "padded.jpg", "wb") as handle:  # 2 GiB: a JPEG header, then zeros (a sparse file)
        handle.write(good[0].read_bytes()[:2000])
        handle.truncate(2 << 30)
    library = Library(f"sqlite:///{tmp_path / 'g.db'}", workers=1)
    report = library.index(folder)
    failed = {Path(f.path).name: f.error for f in report.failed}
    assert report.analysed == 3 and report.faces == 3, report
    assert set(failed) == {"empty.jpg", "text.png", "cut.jpg", "phone.heic", "nowhere.jpg", "pipe.jpg",
                           "padded.jpg"}, failed
    assert "HEIC photos are not supported" in failed["phone.heic"]
    assert "not a regular file" in failed["pipe.jpg"] and "limit" in failed["padded.jpg"]
    again = library.index(folder)  # the name that is not UTF-8 is found again, unchanged
    assert (again.seen, again.unchanged, again.analysed, len(again.failed)) == (10, 7, 0, 7)  # 4 recorded, 3 re-read
    assert any("\\xe9" in row.path for row in library.photos(like=good[0]))
    analysed = cli("analyze", str(folder), "--json", str(tmp_path / "out.jsonl"))
    assert analysed.returncode == 0 and "10 files, 3 faces, 7 skipped with an error" in analysed.stderr
    gallery = Gallery(f"sqlite:///{tmp_path / 'people.db'}")
    assert gallery.enroll("someone", str(good[2])).added  # one path is one photo, whatever its name


def test_the_api_says_what_is_wrong(tmp_path: Path):
    gallery = Gallery(f"sqlite:///{tmp_path / 'g.db'}")
    with pytest.raises(GalleryError, match="non-empty string"):
        gallery.enroll(None, [ASTRONAUT])
    with pytest.raises(GalleryError, match="non-empty string"):
        gallery.add_faces("  ", np.eye(1, 128, dtype=np.float32), [0.9], [[0, 0, 1, 1]], ["x"])
    with pytest.raises(ValueError, match="top_k"):
        gallery.identify(ASTRONAUT, top_k=0)
    with pytest.raises(ValueError, match="unknown template 'bogus'"):
        Gallery(f"sqlite:///{tmp_path / 'g.db'}", template="bogus")
    assert gallery.people() == []


def test_faces_the_store_refuses_fail_their_file_and_are_never_written(worker, tmp_path: Path):
    """A broken model's output (NaN embeddings) goes through the gallery's one check like every other face."""
    library = Library(f"sqlite:///{tmp_path / 'g.db'}", workers=1)
    path = photo(tmp_path / "a.jpg")
    found = ingest.analyse(str(path), sha256_file(path), path.stat().st_size, path.stat().st_mtime_ns)
    found.embeddings = np.full_like(found.embeddings, np.nan)
    report = IndexReport()
    with Session(library.gallery.engine) as session:
        library._commit(session, found, [], report)
        assert session.scalar(select(func.count()).select_from(LibraryFace)) == 0
    assert [failure.error for failure in report.failed] == [
        "face 0: an embedding must be finite (NaN or infinity found); its faces were not stored"]


def test_a_video_refused_for_its_name_is_analysed_once_renamed(tmp_path: Path):
    """A failure about a video's name is not recorded against its content (which would mark the renamed file as
    known and failed)."""
    folder = tmp_path / "videos"
    folder.mkdir()
    odd = folder / os.fsdecode(b"f\xeate.mp4")
    write_video(tmp_path / "clip.mp4", 20).rename(odd)
    library = Library(f"sqlite:///{tmp_path / 'g.db'}", workers=1)
    first = library.index(folder, videos=True, frame_every=0.5)
    assert first.analysed == 0 and len(first.failed) == 1 and "file name is not UTF-8" in first.failed[0].error
    odd.rename(folder / "fete.mp4")
    renamed = library.index(folder, videos=True, frame_every=0.5)
    assert (renamed.analysed, renamed.known_content, renamed.failed) == (1, 0, []), renamed


def test_erasing_a_person_enrolled_from_a_photo_the_library_indexed_erases_its_copy_there(tmp_path: Path):
    """The library's face of that photo holds the very vector of the person's sample: the erasure takes it too, and
    its proof holds (before, the copy kept the bytes in the file and the erasure stayed pending for ever)."""
    photos = tmp_path / "photos"
    photos.mkdir()
    library = Library(f"sqlite:///{tmp_path / 'gallery.db'}", workers=1)
    photo(photos / "eileen.jpg")
    library.index([photos])
    library.gallery.enroll("Eileen", [photos / "eileen.jpg"])
    with Session(library.gallery.engine) as session:
        assert session.scalar(select(func.count(LibraryFace.id))) == 1
    erased = library.gallery.erase("Eileen")
    assert "none of its 1 traces is left" in erased.proof
    with Session(library.gallery.engine) as session:
        assert session.scalar(select(func.count(LibraryFace.id))) == 0
