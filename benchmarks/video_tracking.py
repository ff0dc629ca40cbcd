"""Video tracking with identities: `FaceFollower` beside the full per-frame pipeline, speed and identity per track.

    .venv/bin/python benchmarks/video_tracking.py                                   # 3 rounds, 640x480 + 1280x720
    .venv/bin/python benchmarks/video_tracking.py --rounds 5 --out docs/results/video-tracking.json
    .venv/bin/python benchmarks/video_tracking.py --rounds 1 --sizes 640x480 --kinds pair,reentry --tables

Systems, both timed from the video file (decoding included) to a name or "unknown" for every face of every frame,
against the same gallery at the same FPIR (`--fpir`, 1e-2), on the same frames:

* ``ours``: ``FaceFollower(gallery=g, fpir=1e-2).follow(VideoSource(path))``: YuNet on every frame (no landmark
  refiner), ByteTrack, a track's face embedded only when it needs it (new track, then at most once a second up to 8
  times, or when it grew 1.5x), each track's template identified, its name kept with hysteresis.
* ``baseline``: the full per-frame pipeline: ``FaceAnalyzer()`` (default profile: YuNet + RetinaFace landmark
  refiner + SFace with flip) over ``fa.shots(VideoSource(path), embed=True)``, then ``g.identify(shot.faces,
  fpir=1e-2)`` for every face of every frame. It has no tracks: each face's name is that frame's decision.

Clips (`video_clips.build_clips`, cached in ``--clips``/WxH, one folder per ``--sizes`` entry, 25 fps): the LFW
people clips ``pair``, ``handover``, ``reentry``, ``trio``, ``crossing`` (2-3 faces, per-frame truth boxes with
identities; 525 frames in all) are the "several faces" set and the identity test. The "one face" set is the real
``../shared/data/videos/WolfgangLanger_Pexels.mp4`` (one person talking, 640x360), its first ``--real-frames`` (240)
frames scaled to cover WxH and centre-cropped, H.264 CRF 18, written next to the clips (never into the repository);
it has no truth boxes, and its person is in no gallery: every track and face should come out unknown.

Gallery: a fresh SQLite gallery in a temporary folder (``Gallery(path, analyzer=FaceAnalyzer())``) holding every
person of the five LFW clips (whatever ``--kinds`` runs: the same gallery for every selection), each enrolled from two
other photos of theirs (`video_clips.enrol_images`), except one stranger per clip, chosen by role, not by result
(``--strangers``): ``last`` (default) the last person listed in each clip (pair: the right-hand one; handover: the
one who arrives; reentry: the one who leaves and comes back; trio: the one who comes in from below; crossing: the one
passing in front), ``first`` the first one. A stranger's right answer is unknown (None); so is that of a person whose
enrolment was refused (listed in ``gallery.refused``).

Identity, on the LFW clips (truth: listed faces plus the partly visible ones of `Clip.ignore`):

* matching: in every frame, output faces and listed truth faces are paired one to one (Hungarian on IoU) where
  their box IoU >= ``--iou`` (0.5), then the output faces left over with the partly visible ones (so a face almost
  hidden behind another never takes that one's detection). ``detected``: the share of listed truth faces paired.
* tracks (ours): the ids >= 0 of ``shot.faces.attributes["track_id"]``. A track's instance is the truth instance it
  is paired with in most of its paired frames (``purity``: that share); a track never paired is ``unmatched``. Its
  expected name is that instance's identity if enrolled, else None.
* ``track_accuracy``: the share of matched tracks whose final name (its ``track_ended`` event) is the expected one;
  ``tracks_per_instance``: matched tracks over truth instances (1.0: no instance split into several tracks).
* ``wrong_name_tracks``: tracks (matched or not) that ever carried a decided name other than the expected one, in
  any frame or identity event (for a stranger or an unmatched track: any name). Each is in ``wrong_name_list``,
  with its identity events (scores) or, for the baseline, its wrong frames and top score.
* ``id_switches``: per truth instance, the track id of its paired (tracked) face in consecutive paired frames;
  every change is a switch (a re-entry that keeps its id is none). ``id_switches_per_100_frames`` is over all the
  clips' frames. ``instances_without_track``: instances never paired with a tracked face.
* ``frame_accuracy``: the share of listed truth faces (every frame of every clip) whose paired output face carries
  the right decided name (ours: `TrackedFrame.decided` and `.names`; for a stranger, decided unknown);
  ``frame_wrong_rate``: the share carrying a decided name other than the right one. Undecided, unconfirmed (track
  id -1) and missed faces count as neither right nor wrong.
* baseline per track: it has no tracks, so it is given the truth's (oracle association): each instance's decisions
  over its paired listed frames; its final name is their majority (ties: the earliest), ``track_accuracy`` the share
  of instances whose final name is right, ``wrong_name_tracks`` those ever named as someone else in any frame.
  This favours the baseline (perfect association, no ID switches). ``identity_parity``: ours' ``track_accuracy`` is
  at least the baseline's.
* ``stranger_check`` (one-face set): faces and tracks named on the real clip, whose person is not enrolled (0).

Speed: frames per second over each set = its frames / the wall time of running the system over its clips, decoding
included; ``cpu_per_wall`` is process CPU over wall time. One follower and one analyzer serve every run; before the
timed rounds each system runs once untimed over the first clip of each size (models loaded and warmed at that frame
size). Every round runs every (size, set, clip) with both systems back to back, the order alternating from clip to
clip and round to round. FPS is the median over rounds (min and max beside); ``ratio`` is the median over rounds of
the paired ours / baseline FPS. ``embedded_per_frame``: faces embedded per frame (ours counts
`FaceAnalyzer.complete`'s faces; the baseline embeds every face found). Identity is scored on round 1's outputs;
later rounds must give the same tracks and names (``outputs_stable``).

Targets (our issue): tracking >= 3x the FPS of the full per-frame pipeline at equal (or better) track-level identity
accuracy, and >= 30 FPS at 640x480 with identities.

Prints one JSON document on stdout (and writes it to ``--out``); progress and ``--tables`` on stderr. Other processes
on the machine move the speed figures: see ``machine.loadavg`` and ``cpu_per_wall``.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
from reporting import emit, loadavg, machine
from scipy.optimize import linear_sum_assignment
from video_clips import DATA, Clip, TruthFace, build_clips, enrol_images  # this script's folder is on sys.path

from faceatlas.gallery import Gallery
from faceatlas.io.media import VideoSource
from faceatlas.pipeline import FaceAnalyzer
from faceatlas.types import Faces
from faceatlas.video import FaceFollower

REPO = Path(__file__).resolve().parents[1]
PEOPLE_KINDS = ("pair", "handover", "reentry", "trio", "crossing")
REAL_VIDEO = "videos/WolfgangLanger_Pexels.mp4"
TARGET_RATIO = 3.0
TARGET_FPS = 30.0
TARGET_FPS_SIZE = "640x480"
SYSTEMS = ("ours", "baseline")


# --------------------------------------------------------------------------------------------------------- outputs
@dataclass
class FrameOut:
    """One frame of a system's output: each face's box, track id (-1: none), name and whether it is decided."""

    boxes: np.ndarray
    track_ids: np.ndarray
    names: list[str | None]
    decided: list[bool]
    scores: list[float | None]


@dataclass
class Output:
    """A system's run over one clip."""

    frames: list[FrameOut]
    seconds: float
    cpu_seconds: float
    embedded: int
    ended: dict[int, dict[str, Any]] = field(default_factory=dict)  # track id -> its track_ended event
    identity_events: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # track id -> identity events

    def signature(self) -> list:
        """What must not change from round to round: per frame, each face's track id and decided name."""
        return [[(int(t), n, d) for t, n, d in zip(f.track_ids, f.names, f.decided, strict=True)] for f in self.frames]


class Ours:
    name = "ours"

    def __init__(self, gallery: Gallery, fpir: float) -> None:
        self.follower = FaceFollower(gallery=gallery, fpir=fpir)
        self.analyzer = self.follower.analyzer
        self.embedded = 0
        complete = self.analyzer.complete

        def counting(bgr: np.ndarray, faces: Faces) -> Faces:  # counts the faces the follower embeds
            self.embedded += len(faces)
            return complete(bgr, faces)

        self.analyzer.complete = counting  # type: ignore[method-assign]

    def run(self, path: Path) -> Output:
        frames: list[FrameOut] = []
        ended: dict[int, dict[str, Any]] = {}
        identities: dict[int, list[dict[str, Any]]] = defaultdict(list)
        self.embedded = 0
        wall0, cpu0 = time.perf_counter(), time.process_time()
        for tracked in self.follower.follow(VideoSource(path)):
            faces = tracked.shot.faces
            frames.append(FrameOut(faces.boxes.copy(), np.asarray(tracked.track_ids).copy(), list(tracked.names),
                                   list(tracked.decided), [None] * len(faces)))
            for event in tracked.events:
                if event.event == "track_ended":
                    ended[event.track_id] = {"name": event.name, "score": event.score, "frames": event.frames}
                elif event.event == "identity":
                    identities[event.track_id].append({"frame": event.frame, "name": event.name,
                                                       "score": event.score, "previous": event.previous})
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        return Output(frames, wall, cpu, self.embedded, ended, dict(identities))


class Baseline:
    name = "baseline"

    def __init__(self, gallery: Gallery, fpir: float) -> None:
        self.analyzer, self.gallery, self.fpir = FaceAnalyzer(), gallery, fpir

    def run(self, path: Path) -> Output:
        frames: list[FrameOut] = []
        embedded = 0
        wall0, cpu0 = time.perf_counter(), time.process_time()
        for shot in self.analyzer.shots(VideoSource(path), embed=True):
            if shot.error is not None:
                raise shot.error
            faces = shot.faces
            answers = self.gallery.identify(faces, fpir=self.fpir) if len(faces) else []
            embedded += len(faces)
            frames.append(FrameOut(faces.boxes.copy(), np.full(len(faces), -1, np.int64),
                                   [a.decision for a in answers], [True] * len(answers),
                                   [a.candidates[0].score if a.candidates else None for a in answers]))
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        return Output(frames, wall, cpu, embedded)


# --------------------------------------------------------------------------------------------------------- clips
def parse_size(text: str) -> tuple[int, int]:
    width, _, height = text.lower().partition("x")
    return int(width), int(height)


def real_clip(data: Path, folder: Path, size: tuple[int, int], frames: int) -> Path:
    """The real one-face video's first `frames` frames scaled to cover `size` and centre-cropped (cached)."""
    width, height = size
    path = folder / f"real_{Path(REAL_VIDEO).stem}_{width}x{height}_{frames}.mp4"
    if path.exists():
        return path
    source = VideoSource(data / REAL_VIDEO)
    partial = path.with_suffix(".partial.mp4")
    with av.open(str(partial), "w") as container:
        stream = None
        for frame in source:
            if frame.number >= frames:
                break
            if stream is None:
                rate = Fraction(source.fps or 25.0).limit_denominator(1001)
                stream = container.add_stream("libx264", rate=rate)
                stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
                stream.options = {"crf": "18", "preset": "veryfast"}
            h, w = frame.bgr.shape[:2]
            scale = max(width / w, height / h)
            big = cv2.resize(frame.bgr, (max(width, round(w * scale)), max(height, round(h * scale))),
                             interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
            top, left = (big.shape[0] - height) // 2, (big.shape[1] - width) // 2
            picture = av.VideoFrame.from_ndarray(np.ascontiguousarray(big[top:top + height, left:left + width]),
                                                 format="bgr24")
            picture.pts = frame.number
            container.mux(stream.encode(picture))
        if stream is not None:
            container.mux(stream.encode(None))
    partial.rename(path)
    return path


def instance_names(clip: Clip) -> list[tuple[str, str]]:
    """(instance, identity) of a people clip, in the clip's order (p0, p1, ...)."""
    found = {f.instance: f.identity for f in [*clip.faces, *clip.ignore] if f.identity}
    return sorted(found.items(), key=lambda item: int(item[0][1:]))


def choose_strangers(clips: list[Clip], rule: str) -> dict[str, str]:
    """clip file -> the person kept out of the gallery (see the module docstring)."""
    return {c.path.name: instance_names(c)[-1 if rule == "last" else 0][1] for c in clips}


def build_gallery(folder: Path, data: Path, people: list[str]) -> tuple[Gallery, dict[str, Any]]:
    gallery = Gallery(str(folder / "people.db"), analyzer=FaceAnalyzer(), index_dir=folder)
    enrolled, refused = {}, {}
    for name, paths in enrol_images(data, people).items():
        report = gallery.enroll(name, paths)
        if report.added:
            enrolled[name] = len(report.added)
        if report.rejected:
            refused[name] = [f"{r.source}: {r.reason}" for r in report.rejected]
    return gallery, {"enrolled": enrolled, "refused": refused, "people": len(gallery)}


# --------------------------------------------------------------------------------------------------------- scoring
def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = a.reshape(-1, 4).astype(np.float64), b.reshape(-1, 4).astype(np.float64)
    x0, y0 = np.maximum(a[:, None, 0], b[None, :, 0]), np.maximum(a[:, None, 1], b[None, :, 1])
    x1, y1 = np.minimum(a[:, None, 2], b[None, :, 2]), np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


def assign(boxes: np.ndarray, truth: list[TruthFace], threshold: float) -> list[tuple[int, int, float]]:
    """(output face, truth face, IoU) pairs, one to one (Hungarian on IoU), IoU >= threshold."""
    if len(boxes) == 0 or not truth:
        return []
    iou = iou_matrix(boxes, np.array([t.box for t in truth]))
    rows, cols = linear_sum_assignment(-iou)
    return [(int(r), int(c), float(iou[r, c])) for r, c in zip(rows, cols, strict=True) if iou[r, c] >= threshold]


def pair(boxes: np.ndarray, listed: list[TruthFace], ignored: list[TruthFace], threshold: float
         ) -> list[tuple[int, int, float]]:
    """(output face, truth face, IoU) pairs: the listed faces first, then the output faces left over against the
    partly visible ones (index len(listed) + j), so a face mostly hidden behind another never takes its detection."""
    pairs = assign(boxes, listed, threshold)
    left = [i for i in range(len(boxes)) if i not in {o for o, _, _ in pairs}]
    more = assign(boxes[left], ignored, threshold) if left else []
    return pairs + [(left[o], len(listed) + t, overlap) for o, t, overlap in more]


def ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


def score_clip(clip: Clip, output: Output, expected: dict[str, str | None], tracked: bool, iou: float
               ) -> dict[str, Any]:
    """The identity counts of one system on one clip (see the module docstring); `tracked`: ours (track ids)."""
    ignored: dict[int, list[TruthFace]] = defaultdict(list)
    for face in clip.ignore:
        ignored[face.frame].append(face)
    listed_faces = detected = correct = wrong = 0
    ious: list[float] = []
    track_instances: dict[int, Counter] = defaultdict(Counter)
    track_names: dict[int, Counter] = defaultdict(Counter)  # decided names over the track's frames
    track_frames: dict[int, list[int]] = defaultdict(list)
    instance_tracks: dict[str, list[int]] = defaultdict(list)  # tracked ids of an instance, frame after frame
    instance_votes: dict[str, list[str | None]] = defaultdict(list)  # the baseline's per-frame decisions
    instance_wrong: dict[str, dict[str, list]] = defaultdict(dict)  # instance -> wrong name -> [frames, top score]
    for number, frame in enumerate(output.frames):
        listed, partial = clip.boxes_at(number), ignored.get(number, [])
        truth = listed + partial
        for i, track_id in enumerate(frame.track_ids):
            if track_id >= 0:
                track_frames[int(track_id)].append(number)
                if frame.decided[i]:
                    track_names[int(track_id)][frame.names[i]] += 1
        listed_faces += len(listed)
        for o, t, overlap in pair(frame.boxes, listed, partial, iou):
            face, track_id = truth[t], int(frame.track_ids[o])
            if track_id >= 0:
                track_instances[track_id][face.instance] += 1
                instance_tracks[face.instance].append(track_id)
            if t >= len(listed):
                continue  # a partly visible face: it places tracks, it is not scored
            detected += 1
            ious.append(overlap)
            right = expected[face.instance]
            name, decided = frame.names[o], frame.decided[o]
            if not tracked:
                instance_votes[face.instance].append(name)
            if decided and name == right:
                correct += 1
            elif decided and name is not None:
                wrong += 1
                seen = instance_wrong[face.instance].setdefault(name, [0, None])
                seen[0] += 1
                if frame.scores[o] is not None:
                    seen[1] = round(max(seen[1] or -1.0, float(frame.scores[o])), 4)
    result: dict[str, Any] = {
        "clip": clip.path.name, "kind": clip.kind, "frames": len(output.frames), "truth_faces": listed_faces,
        "instances": len(expected), "detected": detected, "match_iou_median": round(statistics.median(ious), 3)
        if ious else None, "frame_correct": correct, "frame_wrong": wrong,
    }
    identities = dict(instance_names(clip))
    if not tracked:
        rows = []
        for instance, right in expected.items():
            votes = instance_votes.get(instance, [])
            final = Counter(votes).most_common(1)[0][0] if votes else None
            rows.append({"instance": instance, "identity": identities.get(instance), "expected": right,
                         "frames": len(votes), "final_name": final,
                         "correct": bool(votes) and final == right,
                         "wrong_names": sorted(instance_wrong.get(instance, {})),
                         "wrong_frames": {n: {"frames": c, "top_score": t}
                                          for n, (c, t) in sorted(instance_wrong.get(instance, {}).items())}})
        result |= {"tracks": sum(1 for r in rows if r["frames"]), "matched_tracks": sum(1 for r in rows if r["frames"]),
                   "unmatched_tracks": 0, "correct_tracks": sum(r["correct"] for r in rows),
                   "wrong_name_tracks": sum(bool(r["wrong_names"]) for r in rows), "id_switches": None,
                   "instances_without_track": sum(1 for r in rows if not r["frames"]), "track_table": rows}
        return result
    rows, switches = [], 0
    for ids in instance_tracks.values():
        switches += sum(1 for a, b in itertools.pairwise(ids) if a != b)
    for track_id in sorted(track_frames):
        counts = track_instances.get(track_id, Counter())
        instance, hits = counts.most_common(1)[0] if counts else (None, 0)
        right = expected.get(instance) if instance is not None else None
        ended = output.ended.get(track_id, {})
        final = ended.get("name")
        names = track_names.get(track_id, Counter())
        events = output.identity_events.get(track_id, [])
        ever = {n for n in names if n is not None} | {e["name"] for e in events if e["name"] is not None}
        wrong_frames = {n: {"frames": c} for n, c in sorted(names.items(), key=str) if n is not None and n != right}
        rows.append({
            "track_id": track_id, "frames": len(track_frames[track_id]), "first_frame": track_frames[track_id][0],
            "last_frame": track_frames[track_id][-1], "instance": instance,
            "identity": identities.get(instance) if instance else None, "expected": right,
            "purity": ratio(hits, sum(counts.values())), "final_name": final, "final_score": ended.get("score"),
            "correct": instance is not None and final == right, "wrong_names": sorted(ever - {right}),
            "wrong_frames": wrong_frames, "identity_events": events,
        })
    result |= {
        "tracks": len(rows), "matched_tracks": sum(1 for r in rows if r["instance"] is not None),
        "unmatched_tracks": sum(1 for r in rows if r["instance"] is None),
        "correct_tracks": sum(r["correct"] for r in rows),
        "wrong_name_tracks": sum(bool(r["wrong_names"]) for r in rows),
        "id_switches": switches, "instances_without_track": sum(1 for i in expected if i not in instance_tracks),
        "track_table": rows,
    }
    return result


def total(per_clip: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts summed over clips and the shares they give."""
    keys = ("frames", "truth_faces", "instances", "detected", "frame_correct", "frame_wrong", "tracks",
            "matched_tracks", "unmatched_tracks", "correct_tracks", "wrong_name_tracks", "instances_without_track")
    summed = {k: sum(c[k] for c in per_clip) for k in keys}
    switches = [c["id_switches"] for c in per_clip]
    summed["id_switches"] = None if None in switches else sum(switches)
    wrong = [{"clip": c["clip"]} | {k: r.get(k) for k in ("track_id", "instance", "identity", "expected", "wrong_names",
                                                          "identity_events", "wrong_frames") if k in r}
             for c in per_clip for r in c["track_table"] if r["wrong_names"]]
    return {
        "track_accuracy": ratio(summed["correct_tracks"], summed["matched_tracks"]),
        "tracks_per_instance": ratio(summed["matched_tracks"], summed["instances"]),
        "wrong_name_tracks": summed["wrong_name_tracks"],
        "id_switches_per_100_frames": None if summed["id_switches"] is None
        else round(100 * summed["id_switches"] / summed["frames"], 3),
        "frame_accuracy": ratio(summed["frame_correct"], summed["truth_faces"]),
        "frame_wrong_rate": ratio(summed["frame_wrong"], summed["truth_faces"]),
        "detected": ratio(summed["detected"], summed["truth_faces"]),
    } | summed | {"wrong_name_list": wrong}


def score_real(output: Output, tracked: bool) -> dict[str, Any]:
    """The one-face real clip: nobody in it is enrolled, so every name is a wrong one."""
    named = sum(1 for f in output.frames for n, d in zip(f.names, f.decided, strict=True) if d and n is not None)
    row: dict[str, Any] = {"frames": len(output.frames), "faces": sum(len(f.names) for f in output.frames),
                           "frames_with_face": sum(1 for f in output.frames if len(f.names)), "named_faces": named}
    if tracked:
        row["tracks"] = len({int(t) for f in output.frames for t in f.track_ids if t >= 0})
        row["named_tracks"] = sorted({int(t) for t, e in output.ended.items() if e["name"] is not None})
    return row


# --------------------------------------------------------------------------------------------------------- speed
def spread(values: list[float]) -> dict[str, Any]:
    return {"median": round(statistics.median(values), 2), "min": round(min(values), 2),
            "max": round(max(values), 2), "rounds": [round(v, 2) for v in values]}


def speed_summary(runs: dict[str, list[list[Output]]], size: str) -> dict[str, Any]:
    """runs[system][round] = outputs of that round's clips."""
    fps = {s: [sum(len(o.frames) for o in r) / sum(o.seconds for o in r) for r in runs[s]] for s in SYSTEMS}
    paired = [a / b for a, b in zip(fps["ours"], fps["baseline"], strict=True)]
    first = {s: runs[s][0] for s in SYSTEMS}
    frames = sum(len(o.frames) for o in first["ours"])
    row: dict[str, Any] = {"frames": frames, "clips": len(first["ours"])}
    for s in SYSTEMS:
        walls = sum(o.seconds for r in runs[s] for o in r)
        row[s] = {"fps": spread(fps[s]),
                  "cpu_per_wall": round(sum(o.cpu_seconds for r in runs[s] for o in r) / walls, 2),
                  "embedded_per_frame": round(sum(o.embedded for o in first[s]) / frames, 3),
                  "faces_per_frame": round(sum(len(f.names) for o in first[s] for f in o.frames) / frames, 3)}
    row["ratio"] = spread(paired)
    row["meets_ratio_target"] = statistics.median(paired) >= TARGET_RATIO
    if size == TARGET_FPS_SIZE:
        row["meets_fps_target"] = statistics.median(fps["ours"]) >= TARGET_FPS
    return row


# --------------------------------------------------------------------------------------------------------- tables
def print_table(title: str, rows: Iterable[dict[str, Any]], columns: list[str]) -> None:
    rows = list(rows)
    cells = [[str(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)] if cells else \
        [len(c) for c in columns]
    print(title, file=sys.stderr)
    print("  " + "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)), file=sys.stderr)
    for row in cells:
        print("  " + "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)), file=sys.stderr)


# --------------------------------------------------------------------------------------------------------- machine
# --------------------------------------------------------------------------------------------------------- main
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds, the two systems interleaved (3)")
    parser.add_argument("--sizes", default="640x480,1280x720", help="frame sizes, WxH comma-separated")
    parser.add_argument("--clips", type=Path, default=Path("/tmp/faceatlas-clips"),
                        help="clip cache; one WxH folder per size (default /tmp/faceatlas-clips)")
    parser.add_argument("--kinds", default=",".join(PEOPLE_KINDS), help="LFW clip kinds (default: all five)")
    parser.add_argument("--real-frames", type=int, default=240,
                        help="frames of the real one-face video (0: no one-face set)")
    parser.add_argument("--strangers", choices=("last", "first"), default="last",
                        help="who in each clip is kept out of the gallery (default: the last person listed)")
    parser.add_argument("--fpir", type=float, default=1e-2)
    parser.add_argument("--iou", type=float, default=0.5, help="IoU at which an output face is a truth face")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--tables", action="store_true", help="print each clip's track table to stderr")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON document here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = [parse_size(s) for s in args.sizes.split(",") if s]
    kinds = [k for k in args.kinds.split(",") if k]
    unknown = [k for k in kinds if k not in PEOPLE_KINDS]
    if unknown:
        sys.exit(f"video_tracking: unknown kinds {unknown} (known: {', '.join(PEOPLE_KINDS)})")
    started, load_start = time.perf_counter(), loadavg()

    # clips: the LFW people clips and the real one-face clip, per size
    sets: dict[str, dict[str, list[Clip | Path]]] = {}
    lfw: dict[str, list[Clip]] = {}
    people_clips: list[Clip] = []  # every people clip, whatever --kinds says: they decide the gallery
    for width, height in sizes:
        label = f"{width}x{height}"
        folder = args.clips / label
        t0 = time.perf_counter()
        built = build_clips(folder, args.data, size=(width, height))
        people_clips = people_clips or [c for c in built if c.kind in PEOPLE_KINDS]
        clips = [c for c in built if c.kind in kinds]
        lfw[label] = clips
        sets[label] = {"several_faces": list(clips)}
        if args.real_frames > 0:
            sets[label]["one_face"] = [real_clip(args.data, folder, (width, height), args.real_frames)]
        print(f"[clips] {label}: {len(clips)} LFW clips, {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    strangers = choose_strangers(people_clips, args.strangers)
    people = sorted({name for c in people_clips for _, name in instance_names(c)})

    with tempfile.TemporaryDirectory(prefix="video-tracking-") as tmp:
        gallery, gallery_info = build_gallery(Path(tmp), args.data, [p for p in people
                                                                     if p not in strangers.values()])
        print(f"[gallery] {gallery_info['people']} people enrolled, strangers {sorted(strangers.values())}",
              file=sys.stderr)
        systems = {"ours": Ours(gallery, args.fpir), "baseline": Baseline(gallery, args.fpir)}

        def clip_path(item: Clip | Path) -> Path:
            return item.path if isinstance(item, Clip) else item

        # warm-up: each system over the first clip of each size, untimed
        for by_set in sets.values():
            first = clip_path(next(iter(by_set.values()))[0])
            for system in systems.values():
                system.run(first)
        print(f"[warm-up] {time.perf_counter() - started:.1f} s", file=sys.stderr)

        # runs[size][set][system][round] = outputs of the set's clips, in order
        runs: dict[str, dict[str, dict[str, list[list[Output]]]]] = {
            label: {name: {s: [] for s in SYSTEMS} for name in by_set} for label, by_set in sets.items()}
        stable = True
        for r in range(args.rounds):
            t0 = time.perf_counter()
            turn = r
            for label, by_set in sets.items():
                for set_name, items in by_set.items():
                    for s in SYSTEMS:
                        runs[label][set_name][s].append([])
                    for item in items:
                        order = SYSTEMS if turn % 2 == 0 else SYSTEMS[::-1]
                        turn += 1
                        for s in order:
                            output = systems[s].run(clip_path(item))
                            done = runs[label][set_name][s]
                            if r > 0 and output.signature() != done[0][len(done[-1])].signature():
                                stable = False
                                print(f"[warning] {s} {label} {clip_path(item).name}: round {r + 1} differs from "
                                      "round 1", file=sys.stderr)
                            done[-1].append(output)
            print(f"[round {r + 1}/{args.rounds}] {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        gallery.close()

    results: dict[str, Any] = {}
    for label, by_set in sets.items():
        speed = {name: speed_summary(runs[label][name], label) for name in by_set}
        identity: dict[str, Any] = {}
        for s in SYSTEMS:
            per_clip = []
            for clip, output in zip(lfw[label], runs[label]["several_faces"][s][0], strict=True):
                expected = {i: (n if n in gallery_info["enrolled"] else None) for i, n in instance_names(clip)}
                per_clip.append(score_clip(clip, output, expected, s == "ours", args.iou))
            identity[s] = total(per_clip) | {"per_clip": per_clip}
        if "one_face" in by_set:
            speed["one_face"]["stranger_check"] = {s: score_real(runs[label]["one_face"][s][0][0], s == "ours")
                                                  for s in SYSTEMS}
        ours, base = identity["ours"]["track_accuracy"], identity["baseline"]["track_accuracy"]
        results[label] = {
            "speed": speed,
            "identity": identity,
            "identity_parity": None if ours is None or base is None else ours >= base,
        }
        if args.tables:
            for s in SYSTEMS:
                for clip in identity[s]["per_clip"]:
                    columns = ["track_id", "frames", "first_frame", "last_frame", "instance", "identity", "expected",
                               "purity", "final_name", "correct", "wrong_names"] if s == "ours" else \
                        ["instance", "identity", "expected", "frames", "final_name", "correct", "wrong_names"]
                    print_table(f"{label} {s} {clip['clip']} (switches {clip['id_switches']}, frame accuracy "
                                f"{ratio(clip['frame_correct'], clip['truth_faces'])})", clip["track_table"],
                                columns)

    report = {
        "benchmark": "video_tracking",
        "command": " ".join([Path(sys.argv[0]).name, *(argv if argv is not None else sys.argv[1:])]),
        "machine": machine() | {"loadavg_1_5_15": {"start": load_start, "end": loadavg()}},
        "settings": {
            "rounds": args.rounds, "sizes": [f"{w}x{h}" for w, h in sizes], "fpir": args.fpir, "iou": args.iou,
            "kinds": kinds, "clips": str(args.clips), "real_video": REAL_VIDEO, "real_frames": args.real_frames,
            "threads": systems["ours"].analyzer.threads,
            "ours": "FaceFollower(gallery, fpir): " + repr(systems["ours"].analyzer.spec),
            "baseline": "FaceAnalyzer() shots(embed=True) + gallery.identify(faces, fpir): "
                        + repr(systems["baseline"].analyzer.spec),
            "strangers_rule": args.strangers,
            "strangers": strangers,
            "gallery": gallery_info,
            "targets": {"ratio": TARGET_RATIO, "fps": TARGET_FPS, "fps_size": TARGET_FPS_SIZE},
        },
        "outputs_stable": stable if args.rounds > 1 else None,
        "summary": summary(results),
        "results": results,
        "seconds": round(time.perf_counter() - started, 1),
    }
    emit(report, args.out, indent=1)
    return 0


def summary(results: dict[str, Any]) -> dict[str, Any]:
    """The headline figures per size."""
    rows: dict[str, Any] = {}
    keys = ("track_accuracy", "wrong_name_tracks", "id_switches_per_100_frames", "frame_accuracy", "frame_wrong_rate",
            "tracks", "matched_tracks", "instances", "tracks_per_instance")

    def pick(identity: dict[str, Any]) -> dict[str, Any]:
        return {k: identity[k] for k in keys}

    for label, result in results.items():
        row: dict[str, Any] = {"identity": {s: pick(result["identity"][s]) for s in SYSTEMS},
                               "identity_parity": result["identity_parity"]}
        for name, speed in result["speed"].items():
            row[name] = {"ours_fps": speed["ours"]["fps"]["median"], "baseline_fps": speed["baseline"]["fps"]["median"],
                         "ratio": speed["ratio"]["median"], "meets_ratio_target": speed["meets_ratio_target"]}
            if "meets_fps_target" in speed:
                row[name]["meets_fps_target"] = speed["meets_fps_target"]
        rows[label] = row
    return rows


if __name__ == "__main__":
    sys.exit(main())
