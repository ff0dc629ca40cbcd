"""Faces in motion (`faceatlas.video`, `faceatlas.privacy.video`): identity decisions change only on repeated
evidence; on the real clips one person talking is one track, a face that leaves ends its track and one that arrives
starts one; on a clip made of LFW photos of known people, tracks are named right, a stranger stays unknown, a person
hidden for longer than the tracker waits keeps their track id, and a keep-list leaves the consenting person visible
while everyone else is hidden; the CLI writes the events as JSON lines."""

from __future__ import annotations

import json
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from helpers import cli, data_path

from faceatlas.gallery import Gallery
from faceatlas.io.media import VideoSource
from faceatlas.pipeline import FaceAnalyzer
from faceatlas.privacy.keep import KeepList
from faceatlas.privacy.video import anonymize_video
from faceatlas.video import FaceFollower
from faceatlas.video.tracks import Track

PEOPLE = ("Ricardo_Lagos", "Jennifer_Lopez", "Paul_Wolfowitz")
"""Two people enrolled (from their first two photos) and a stranger; the clip shows each person's third photo."""

FPS, FRAMES = 25, 100
GONE = range(30, 70)
"""The frames where the second person is out of the picture: 1.6 s, longer than the tracker keeps a lost track."""

SIDE = 200


def test_an_identity_changes_only_when_two_answers_in_a_row_say_so() -> None:
    track = Track(1, first_ms=0, first_frame=0)
    assert track.vote(None, 0.2) and track.decided and track.name is None  # the first answer is taken at once
    assert not track.vote("ann", 0.7) and track.name is None  # one answer is not enough to change it
    assert not track.vote(None, 0.3) and not track.vote("ann", 0.7)  # the run is broken
    assert track.vote("ann", 0.72) and (track.name, track.score) == ("ann", 0.72)
    assert not track.vote("bob", 0.8) and not track.vote("ann", 0.75) and track.name == "ann"
    assert not track.vote("bob", 0.8) and track.vote("bob", 0.81) and track.name == "bob"


@pytest.fixture(scope="module")
def follower() -> FaceFollower:
    return FaceFollower()


def tracks_of(follower: FaceFollower, name: str) -> tuple[int, list]:
    frames, ended = 0, []
    for frame in follower.follow(VideoSource(data_path("videos", name))):
        frames += 1
        ended += [e for e in frame.events if e.event == "track_ended"]
    return frames, ended


def test_one_person_talking_is_one_track_and_a_face_that_leaves_or_arrives_is_one_too(
        follower: FaceFollower) -> None:
    frames, [track] = tracks_of(follower, "single_face.mp4")
    assert track.frames >= 0.9 * frames and track.track_id == 1
    frames, [leaves] = tracks_of(follower, "face_noface.mov")  # the face is gone for the last seconds
    assert leaves.first_ms < 500 and leaves.last_ms < 5000 and leaves.frames < 0.7 * frames
    frames, [arrives] = tracks_of(follower, "noface_face.mov")
    assert arrives.first_ms > 2000 and arrives.last_ms > 6000
    assert tracks_of(follower, "no_face.mp4")[1] == []


def lfw(person: str, number: int) -> Path:
    """The person's `number`-th photo (from 0, in name order)."""
    return sorted(data_path("lfw_view1", "images", person).glob("*.jpg"))[number]


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three people side by side on grey, swaying; the second leaves for `GONE`."""
    faces = [cv2.resize(cv2.imread(str(lfw(person, 2))), (SIDE, SIDE)) for person in PEOPLE]
    path = tmp_path_factory.mktemp("clip") / "three.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=FPS, options={"crf": "16"})
        stream.width, stream.height, stream.pix_fmt = 3 * SIDE + 80, SIDE + 40, "yuv420p"
        for i in range(FRAMES):
            canvas = np.full((SIDE + 40, 3 * SIDE + 80, 3), 128, np.uint8)
            for slot, face in enumerate(faces):
                if slot == 1 and i in GONE:
                    continue
                x = 20 + slot * (SIDE + 20) + round(8 * np.sin(i / 7 + slot))
                canvas[20:20 + SIDE, x:x + SIDE] = face
            frame = av.VideoFrame.from_ndarray(canvas, format="bgr24")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


@pytest.fixture(scope="module")
def gallery(tmp_path_factory: pytest.TempPathFactory) -> Gallery:
    folder = tmp_path_factory.mktemp("gallery")
    enrolled = Gallery(str(folder / "people.db"), analyzer=FaceAnalyzer(), index_dir=folder)
    for person in PEOPLE[:2]:
        enrolled.enroll(person, [lfw(person, 0), lfw(person, 1)])
    return enrolled


def slot_of(box: list[float] | np.ndarray) -> int:
    return int((box[0] + box[2]) / 2 // (SIDE + 20))


def test_tracks_are_named_right_a_stranger_stays_unknown_and_a_returning_face_keeps_its_track(
        clip: Path, gallery: Gallery) -> None:
    events = []
    names_by_slot: dict[int, set] = {0: set(), 1: set(), 2: set()}
    for frame in FaceFollower(gallery=gallery, fpir=1e-2).follow(VideoSource(clip)):
        events += frame.events
        for box, name, decided in zip(frame.shot.faces.boxes, frame.names, frame.decided, strict=True):
            if decided:
                names_by_slot[slot_of(box)].add(name)
    assert names_by_slot == {0: {PEOPLE[0]}, 1: {PEOPLE[1]}, 2: {None}}  # never a wrong name on any frame
    started = [e for e in events if e.event == "track_started"]
    assert sorted(slot_of(e.box) for e in started) == [0, 1, 2]  # the second person's return is no new track
    [second] = [e for e in events if e.event == "track_ended" and e.name == PEOPLE[1]]
    assert second.first_ms < 200 and second.last_ms > FRAMES * 1000 / FPS - 200
    assert FRAMES - len(GONE) - 2 <= second.frames <= FRAMES - len(GONE)  # a face's first frame back is unconfirmed
    identities = [e for e in events if e.event == "identity"]
    assert len(identities) == 3 and all(e.previous is None for e in identities)  # decided once, never flipped


def test_a_keep_list_leaves_the_consenting_person_visible_and_hides_everyone_else(
        clip: Path, gallery: Gallery, tmp_path: Path) -> None:
    out = tmp_path / "kept.mp4"
    result = anonymize_video(VideoSource(clip), out, mode="solid", keep=KeepList(gallery, frozenset({PEOPLE[0]})))
    assert result.frames == FRAMES and result.tracks == 3 and result.kept_visible > 0.9 * FRAMES
    original = [f.bgr for f in VideoSource(clip)]
    hidden = [f.bgr for f in VideoSource(out)]
    for i in (10, 50, 90):
        changed = [float(np.abs(hidden[i][30:SIDE, 40 + s * (SIDE + 20):SIDE + s * (SIDE + 20)].astype(int)
                                - original[i][30:SIDE, 40 + s * (SIDE + 20):SIDE + s * (SIDE + 20)]).mean())
                   for s in range(3)]
        assert changed[0] < 4  # the kept person: only compression noise
        assert changed[2] > 40 and (changed[1] > 40 or i in GONE)  # solid black over the others


def test_the_video_command_writes_events_as_json_lines_and_best_shots(clip: Path, gallery: Gallery,
                                                                      tmp_path: Path) -> None:
    db = str(gallery.engine.url.database)
    done = cli("video", str(clip), "--db", db, "--json", str(tmp_path / "events.jsonl"), "--best-shots",
               str(tmp_path / "shots"))
    assert done.returncode == 0, done.stdout + done.stderr
    events = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert {e["event"] for e in events} == {"track_started", "identity", "track_ended"}
    ended = [e for e in events if e["event"] == "track_ended"]
    assert sorted(str(e["name"]) for e in ended) == sorted([*PEOPLE[:2], "None"])
    assert all(Path(e["best_shot"]).is_file() and (Path(e["best_shot"]).stat().st_mode & 0o777) == 0o600
               for e in ended)
    assert f"{FRAMES} frames" in done.stderr and "3 tracks, 2 named" in done.stderr


def test_analyze_gives_a_video_one_face_per_track_with_its_template(clip: Path, tmp_path: Path) -> None:
    import jsonschema

    from faceatlas.io.records import record_schema

    done = cli("analyze", str(clip), "--embed", "--json", str(tmp_path / "records.jsonl"))
    assert done.returncode == 0, done.stderr
    [record] = [json.loads(line) for line in (tmp_path / "records.jsonl").read_text().splitlines()]
    jsonschema.validate(record, record_schema())
    assert (record["frames"], record["tracks"], len(record["faces"])) == (FRAMES, 3, 3)
    assert sorted(slot_of(face["box"]) for face in record["faces"]) == [0, 1, 2]
    for face in record["faces"]:
        assert np.linalg.norm(face["embedding"]) == pytest.approx(1, abs=1e-4)
        assert face["first_ms"] <= face["best_ms"] <= face["last_ms"] and face["frames"] >= FRAMES - len(GONE) - 2


def test_signals_measure_each_tracks_eyes_every_second(follower: FaceFollower) -> None:
    events = [e for frame in FaceFollower(follower.analyzer, signals=True).follow(
        VideoSource(data_path("videos", "single_face.mp4"))) for e in frame.events]
    windows = [e.signals for e in events if e.event == "signals"]
    [ended] = [e for e in events if e.event == "track_ended"]
    assert len(windows) == 2  # a 2.4 s clip: two whole seconds
    assert all(20 <= w.frames <= 31 and 0.1 < w.eye_openness < 0.5 and 0 <= w.attention <= 1 for w in windows)
    assert ended.signals is not None and ended.signals.frames == ended.frames
    assert ended.signals.blinks >= sum(w.blinks for w in windows)
