"""Short synthetic videos with exact per-frame face boxes and identities, for benchmarking video tracking, track
identity and the anonymisation leak rate.

The real clips in ../shared/data/videos have no box annotations, so a tracker or `faceatlas anonymize` run on them can
only be judged by eye. These clips are made from annotated stills, so every face's box is known in every frame:

* photo clips, a virtual camera over one Face Mask photo (`facemask/images`, `boxes.csv`): `pan`; `zoom` in on a
  face and out again; `blur`, a fast sway with a linear motion-blur kernel as long as the motion of one frame;
  `dark`, a brightness ramp from dark to bright; `occluder`, a grey bar sliding across the frame, wide enough to
  hide each face in turn (its box per frame is in `Clip.occluders`). Boxes are the photo's boxes under the frame's
  affine map; identity is None.
* people clips, LFW View 1 faces (150x150, five landmarks from `lfw_mtfl_labels`) cut out with a soft ellipse and
  pasted on a neutral background, drifting slowly in place and scale: `pair`; `handover` (one leaves at 2.4 s,
  another arrives at 1.6 s); `reentry` (one leaves and comes back after 1 s away); `trio` (a third one comes in
  from below for 2 s); `crossing` (two swap places, one passing in front of the other). The box is derived from the
  landmarks (brow to chin); identity is the person's name. `enrol_images` gives two other photos of each person
  for a gallery, never the one in the clip.

Boxes are xyxy in frame pixels (corner convention), clipped to the frame. A face is listed in a frame only while
at least 30 % of its box is visible (inside the frame, not under the bar or a face in front) and its clipped box is
at least 6 px on each side; `visible` is that fraction. Faces partly in view that miss this rule are in `Clip.ignore`
(a detection there is neither a hit nor a false positive). `instance` is stable through a clip, across gaps too.

    .venv/bin/python benchmarks/video_clips.py [--out /tmp/faceatlas-clips] [--seed 0]

Writes H.264 mp4 (yuv420p, CRF 18) and `truth.json` into --out and prints a JSON summary; a later build with the
same seed, size and fps reuses them (`load_clips`). The frames are made of the dev photos: never write them into
the repository.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from functools import cached_property
from pathlib import Path

import av
import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
FORMAT = "faceatlas-video-clips/2"
CRF = 18
MIN_VISIBLE = 0.3
MIN_SIDE = 6.0
SECONDS = 4.0
SLIDE = 0.6  # seconds to enter or leave the frame
# Face Mask photos with at least two faces where every visible face is annotated (checked by eye; crowd photos with
# unannotated background faces are left out, and so is maksssksksss478, a copy of 287).
CLEAN_PHOTOS = (9, 18, 42, 140, 141, 208, 269, 287, 315, 346, 430, 653, 697, 700)
PHOTO_KINDS = ("pan", "zoom", "blur", "dark", "occluder")
PEOPLE_KINDS = {"pair": 2, "handover": 2, "reentry": 2, "trio": 3, "crossing": 2}
Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class TruthFace:
    """One face in one frame: its box (xyxy, frame pixels), who it is (None if unknown) and its id in the clip."""

    frame: int
    box: Box
    identity: str | None
    instance: str
    visible: float = 1.0  # fraction of the unclipped box inside the frame and not hidden


@dataclass(frozen=True)
class Clip:
    """A video file and the faces in each of its frames."""

    path: Path
    width: int
    height: int
    fps: float
    frames: int
    kind: str
    faces: list[TruthFace]
    source: str = ""  # the photo or LFW images it is made of, relative to the data folder
    # faces partly in view but not listed (under 30 % visible or 6 px): score a detection there as neither hit nor miss
    ignore: list[TruthFace] = field(default_factory=list)
    # (frame, xyxy) of the grey bar in `occluder` clips: face pixels under it are hidden, so they cannot leak
    occluders: list[tuple[int, Box]] = field(default_factory=list)

    @cached_property
    def _by_frame(self) -> dict[int, list[TruthFace]]:
        index: dict[int, list[TruthFace]] = defaultdict(list)
        for face in self.faces:
            index[face.frame].append(face)
        return index

    def boxes_at(self, frame: int) -> list[TruthFace]:
        """The faces visible in `frame` (0-based)."""
        return list(self._by_frame.get(frame, []))


# ---------------------------------------------------------------- geometry and encoding


def _seconds(kind: str) -> float:
    return 5.0 if kind == "reentry" else SECONDS


def _frame_count(kind: str, fps: float) -> int:
    return round(_seconds(kind) * fps)


def _smooth(x: float) -> float:
    x = min(max(x, 0.0), 1.0)
    return x * x * (3 - 2 * x)


def _warp(image: np.ndarray, s: float, tx: float, ty: float, size: tuple[int, int], border: float = 0) -> np.ndarray:
    """Scale by s and shift by (tx, ty) in corner coordinates (x' = s x + t), as cv2 wants it (pixel centres)."""
    m = np.float32([[s, 0, tx + 0.5 * s - 0.5], [0, s, ty + 0.5 * s - 0.5]])
    value = (border,) * 3 if image.ndim == 3 else border
    return cv2.warpAffine(image, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=value)


def _map(box: Box, s: float, tx: float, ty: float) -> Box:
    return (box[0] * s + tx, box[1] * s + ty, box[2] * s + tx, box[3] * s + ty)


class _Truth:
    """The faces of a clip as they are added frame by frame: listed (see the module docstring) or ignored."""

    def __init__(self, size: tuple[int, int]) -> None:
        self.size = size
        self.faces: list[TruthFace] = []
        self.ignore: list[TruthFace] = []
        self.occluders: list[tuple[int, Box]] = []

    def add(self, frame: int, box: Box, identity: str | None, instance: str, hidden: np.ndarray | None = None) -> None:
        """Add a face at its unclipped box; `hidden` is 1 where something in front covers the frame."""
        w, h = self.size
        x1, y1, x2, y2 = max(box[0], 0.0), max(box[1], 0.0), min(box[2], float(w)), min(box[3], float(h))
        if x2 - x1 < 1 or y2 - y1 < 1:
            return
        visible = (x2 - x1) * (y2 - y1) / ((box[2] - box[0]) * (box[3] - box[1]))
        if hidden is not None:
            visible *= 1.0 - float(hidden[int(y1) : math.ceil(y2), int(x1) : math.ceil(x2)].mean())
        if visible <= 0.001:
            return
        clipped = (round(float(x1), 2), round(float(y1), 2), round(float(x2), 2), round(float(y2), 2))
        face = TruthFace(frame, clipped, identity, instance, round(float(visible), 3))
        listed = visible >= MIN_VISIBLE and min(x2 - x1, y2 - y1) >= MIN_SIDE
        (self.faces if listed else self.ignore).append(face)


def _encode(path: Path, frames: Iterable[np.ndarray], size: tuple[int, int], fps: float) -> int:
    """Write BGR frames as H.264 yuv420p at CRF 18; returns the frame count."""
    count = 0
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(CRF), "preset": "veryfast"}
        for image in frames:
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="bgr24")
            frame.pts = count
            container.mux(stream.encode(frame))
            count += 1
        container.mux(stream.encode(None))
    return count


# ---------------------------------------------------------------- photo clips


def _photo_boxes(data: Path) -> dict[str, list[Box]]:
    boxes: dict[str, list[Box]] = defaultdict(list)
    with open(data / "facemask" / "boxes.csv", newline="") as f:
        for row in csv.DictReader(f):
            boxes[Path(row["image"]).name].append(tuple(float(row[k]) for k in ("xmin", "ymin", "xmax", "ymax")))
    return boxes


def _motion_kernel(dx: float, dy: float) -> np.ndarray | None:
    """A normalised line kernel along (dx, dy), as long as the motion; None when under 1.5 px."""
    length = math.hypot(dx, dy)
    if length < 1.5:
        return None
    n = 2 * math.ceil(length / 2) + 1
    kernel = np.zeros((n, n), np.float32)
    c = n // 2
    for k in np.linspace(-length / 2, length / 2, int(4 * length) + 1):
        x, y = c + k * dx / length, c + k * dy / length
        x0, y0 = min(int(x), n - 2), min(int(y), n - 2)
        fx, fy = x - x0, y - y0
        kernel[y0 : y0 + 2, x0 : x0 + 2] += np.array([[(1 - fx) * (1 - fy), fx * (1 - fy)], [(1 - fx) * fy, fx * fy]])
    return kernel / kernel.sum()


def _camera(kind: str, n: int, fps: float, shape: tuple[int, int], size: tuple[int, int], boxes: list[Box],
            rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Per frame: scale from photo to frame pixels and view centre in photo pixels, before clamping."""
    ph, pw = shape
    w, h = size
    cover = max(w / pw, h / ph)  # the least scale that fills the frame
    t = np.arange(n) / fps
    u = t / (n / fps)
    mid = np.array([pw / 2, ph / 2])
    centres = np.array([[(b[0] + b[2]) / 2, (b[1] + b[3]) / 2] for b in boxes])
    if kind == "pan":
        z = np.full(n, 1.45)
        a, b = rng.permutation([0.0, 1.0]), rng.permutation([0.2, 0.8])
        k = np.array([_smooth(x) for x in u])
        centre = np.stack([(a[0] + (a[1] - a[0]) * k) * pw, (b[0] + (b[1] - b[0]) * k) * ph], axis=1)
    elif kind == "zoom":  # in on one face until it is ~45 % of the frame height (3x at most), and out again
        i = int(rng.integers(len(boxes)))
        face, face_h = centres[i], boxes[i][3] - boxes[i][1]
        zmax = float(np.clip(0.45 * h / (face_h * cover), 1.5, 3.0))
        k = 0.5 - 0.5 * np.cos(2 * np.pi * u)
        z = 1 + (zmax - 1) * k
        start = np.array([w / 2, h / 2]) + cover * (face - mid)  # where the face is in the first frame
        where = start + (np.array([w / 2, h / 2]) - start) * k[:, None]  # drawn to the frame centre as we zoom
        centre = face - (where - [w / 2, h / 2]) / (z * cover)[:, None]
    elif kind == "blur":  # fast sway around the faces: up to ~25 px per frame across, ~5 px up and down
        z = np.full(n, 1.5)
        phase = rng.uniform(0, 2 * np.pi, 2)
        sway = np.stack([0.25 * w * np.sin(2 * np.pi * t / 1.6 + phase[0]),
                         0.1 * h * np.sin(2 * np.pi * t / 2.3 + phase[1])], axis=1)
        centre = centres.mean(axis=0) + sway / (1.5 * cover)
    elif kind == "dark":
        z = 1.0 + 0.15 * u
        centre = np.tile(mid, (n, 1))
    else:  # occluder
        z = np.full(n, 1.1)
        centre = mid + np.outer(u - 0.5, rng.uniform(-0.05, 0.05, 2) * [pw, ph])
    return z * cover, centre


def _photo_clip(path: Path, photo: Path, boxes: list[Box], kind: str, size: tuple[int, int], fps: float,
                rng: np.random.Generator) -> _Truth:
    image = cv2.imread(str(photo), cv2.IMREAD_COLOR)
    ph, pw = image.shape[:2]
    w, h = size
    n = _frame_count(kind, fps)
    s, centre = _camera(kind, n, fps, (ph, pw), size, boxes, rng)
    cx = np.clip(centre[:, 0], w / (2 * s), pw - w / (2 * s))
    cy = np.clip(centre[:, 1], h / (2 * s), ph - h / (2 * s))
    tx, ty = w / 2 - s * cx, h / 2 - s * cy
    widest = max(b[2] - b[0] for b in boxes) * float(s.max())
    bar_w = round(max(0.15 * w, 1.25 * min(widest, 0.5 * w)))
    truth = _Truth(size)

    def frames() -> Iterator[np.ndarray]:
        for i in range(n):
            out = _warp(image, s[i], tx[i], ty[i], size, border=128)
            hidden = None
            if kind == "blur":
                j0, j1 = max(i - 1, 0), min(i + 1, n - 1)
                kernel = _motion_kernel((tx[j1] - tx[j0]) / (j1 - j0), (ty[j1] - ty[j0]) / (j1 - j0))
                if kernel is not None:
                    out = cv2.filter2D(out, -1, kernel, borderType=cv2.BORDER_REFLECT)
            elif kind == "dark":
                gain = 0.05 + 0.95 * _smooth(i / (0.85 * (n - 1)))
                out = cv2.convertScaleAbs(out, alpha=gain)
            elif kind == "occluder":
                x0 = round(-bar_w + (w + bar_w) * i / (n - 1))
                out[:, max(x0, 0) : max(x0 + bar_w, 0)] = 128
                hidden = np.zeros((h, w), np.float32)
                hidden[:, max(x0, 0) : max(x0 + bar_w, 0)] = 1
                if x0 + bar_w > 0 and x0 < w:
                    truth.occluders.append((i, (float(max(x0, 0)), 0.0, float(min(x0 + bar_w, w)), float(h))))
            for k, box in enumerate(boxes):
                truth.add(i, _map(box, s[i], tx[i], ty[i]), None, f"f{k}", hidden)
            yield out

    _encode(path, frames(), size, fps)
    return truth


# ---------------------------------------------------------------- people clips


def _landmarks(data: Path) -> dict[str, dict[str, str]]:
    with open(data / "lfw_mtfl_labels" / "labels.csv", newline="") as f:
        return {row["lfw_image"]: row for row in csv.DictReader(f)}


def _lfw_people(data: Path) -> dict[str, tuple[Path, list[Path]]]:
    """Eligible people: name -> (clip image, the other images, sorted).

    A person is eligible with at least 4 images; the clip image is the first (sorted) one with MTFL landmarks and
    a frontal pose bin (3)."""
    labels = _landmarks(data)
    people: dict[str, tuple[Path, list[Path]]] = {}
    for folder in sorted((data / "lfw_view1" / "images").iterdir()):
        images = sorted(folder.glob("*.jpg"))
        if len(images) < 4:
            continue
        shown = [p for p in images if labels.get(f"{folder.name}/{p.name}", {}).get("pose_bin") == "3"]
        if shown:
            people[folder.name] = (shown[0], [p for p in images if p != shown[0]])
    return people


def enrol_images(data: Path, names: Iterable[str]) -> dict[str, list[Path]]:
    """Two images of each person for a gallery, never the one shown in a clip."""
    people = _lfw_people(data)
    return {name: people[name][1][:2] for name in names}


def _face_box(row: dict[str, str]) -> Box:
    """Brow-to-chin box from the five landmarks: 2.2 x 2.45 units wide and tall (unit: the inter-ocular distance,
    or eye-to-mouth / 1.15 when larger), centred between eyes and mouth horizontally, 42 % of it above that point."""
    p = np.array([[float(row[f"x_{k}"]), float(row[f"y_{k}"])] for k in ("leye", "reye", "nose", "lmouth", "rmouth")])
    eyes, mouth = (p[0] + p[1]) / 2, (p[3] + p[4]) / 2
    unit = max(float(np.linalg.norm(p[1] - p[0])), float(np.linalg.norm(mouth - eyes)) / 1.15)
    cx, cy = (eyes + mouth) / 2
    bw, bh = 2.2 * unit, 2.45 * unit
    return (cx - bw / 2, cy - 0.42 * bh, cx + bw / 2, cy + 0.58 * bh)


def _schedule(kind: str, k: int) -> tuple[list[tuple[float, float]], str]:
    """Person k's presence intervals (seconds, slides included) and the side it enters and leaves by."""
    end = _seconds(kind)
    if kind == "handover":
        return ([(0.0, 2.4)], [(1.6, end)])[k], ("left", "right")[k]
    if kind == "reentry":  # away from 1.6 s to 2.6 s
        return ([(0.0, end)], [(0.0, 1.6), (2.6, end)])[k], ("left", "right")[k]
    if kind == "trio" and k == 2:
        return [(1.0, 3.0)], "bottom"
    return [(0.0, end)], ("left", "right")[k]


def _people_clip(path: Path, data: Path, names: list[str], kind: str, size: tuple[int, int], fps: float,
                 rng: np.random.Generator) -> tuple[_Truth, str]:
    people, labels = _lfw_people(data), _landmarks(data)
    w, h = size
    m = len(names)
    duration, n = _seconds(kind), _frame_count(kind, fps)
    top, bottom = rng.uniform(135, 165), rng.uniform(95, 120)
    tint = rng.uniform(-6, 6, 3)
    ramp = np.linspace(top, bottom, h)[:, None, None] + tint
    background = np.clip(np.broadcast_to(ramp, (h, w, 3)), 0, 255).astype(np.uint8)
    sprites = []
    for k, name in enumerate(names):
        image_path = people[name][0]
        box = _face_box(labels[f"{name}/{image_path.name}"])
        bw, bh = box[2] - box[0], box[3] - box[1]
        centre = ((box[0] + box[2]) / 2, box[1] + 0.45 * bh)
        image = cv2.imread(str(image_path), cv2.IMREAD_COLOR)
        alpha = np.zeros(image.shape[:2], np.float32)
        axes = (round(0.75 * bw), round(0.78 * bh))
        cv2.ellipse(alpha, (round(centre[0]), round(centre[1])), axes, 0, 0, 360, 1.0, -1, cv2.LINE_AA)
        alpha = cv2.GaussianBlur(alpha, (0, 0), 3.0)
        scale = 0.15 * w / bw * rng.uniform(0.9, 1.1) * (1.1 if kind == "crossing" and k == 1 else 1.0)
        intervals, side = _schedule(kind, k)
        lift = 0.04 * h if kind == "crossing" and k == 0 else 0.0  # the one passing behind is a little higher
        slot = (w * (k + 1) / (m + 1), h * (0.5 + rng.uniform(-0.05, 0.05)) - lift)
        if kind == "trio":
            slot = ((w / 4, w * 3 / 4, w / 2)[k], slot[1])
        sprites.append({
            "name": name, "image": image, "alpha": alpha, "box": box,
            "centre": centre, "scale": scale, "slot": slot, "intervals": intervals, "side": side,
            "phase": rng.uniform(0, 2 * np.pi, 3), "freq": rng.uniform(0.2, 0.4, 3),
        })
    truth = _Truth(size)

    def place(sp: dict, t: float) -> tuple[float, float, float] | None:
        """Scale and shift of the sprite at time t, or None when it is away."""
        span = next(((a, b) for a, b in sp["intervals"] if a <= t <= b), None)
        if span is None:
            return None
        x, y = sp["slot"]
        if kind == "crossing":  # swap places between 1 s and 3 s
            other = w * (m - names.index(sp["name"])) / (m + 1)
            x += (other - x) * _smooth((t - 1.0) / 2.0)
        ph, f = sp["phase"], sp["freq"]
        s = sp["scale"] * (1 + 0.08 * math.sin(2 * math.pi * f[2] * t + ph[2]))
        x += 12 * math.sin(2 * math.pi * f[0] * t + ph[0])
        y += 8 * math.sin(2 * math.pi * f[1] * t + ph[1])
        away = 1.0
        if span[0] > 0:
            away = min(away, _smooth((t - span[0]) / SLIDE))
        if span[1] < duration:
            away = min(away, _smooth((span[1] - t) / SLIDE))
        reach = max(sp["image"].shape[:2]) * s
        if sp["side"] == "left":
            x += (1 - away) * (-reach / 2 - x)
        elif sp["side"] == "right":
            x += (1 - away) * (w + reach / 2 - x)
        else:
            y += (1 - away) * (h + reach / 2 - y)
        return s, x - s * sp["centre"][0], y - s * sp["centre"][1]

    def frames() -> Iterator[np.ndarray]:
        for i in range(n):
            out = background.astype(np.float32)
            shown = []
            for k, sp in enumerate(sprites):
                where = place(sp, i / fps)
                if where is None:
                    continue
                a = _warp(sp["alpha"], *where, size)[..., None]
                out = out * (1 - a) + _warp(sp["image"], *where, size).astype(np.float32) * a
                shown.append((k, where, a[..., 0] > 0.5))
            for j, (k, where, _) in enumerate(shown):
                cover = [mask for _, _, mask in shown[j + 1 :]]
                hidden = np.logical_or.reduce(cover).astype(np.float32) if cover else None
                truth.add(i, _map(sprites[k]["box"], *where), names[k], f"p{k}", hidden)
            yield np.clip(out + 0.5, 0, 255).astype(np.uint8)

    _encode(path, frames(), size, fps)
    source = "; ".join(str(people[name][0].relative_to(data)) for name in names)
    return truth, source


# ---------------------------------------------------------------- build and load


def _face(f: dict) -> TruthFace:
    return TruthFace(f["frame"], tuple(f["box"]), f["identity"], f["instance"], f["visible"])


def load_clips(out: Path) -> list[Clip]:
    """The clips described by out/truth.json."""
    truth = json.loads((Path(out) / "truth.json").read_text())
    return [
        Clip(
            path=Path(out) / c["file"], width=c["width"], height=c["height"], fps=c["fps"], frames=c["frames"],
            kind=c["kind"], faces=[_face(f) for f in c["faces"]], source=c["source"],
            ignore=[_face(f) for f in c["ignore"]], occluders=[(i, tuple(box)) for i, box in c["occluders"]],
        )
        for c in truth["clips"]
    ]


def build_clips(
    out: Path, data: Path = DATA, seed: int = 0, size: tuple[int, int] = (640, 480), fps: float = 25.0
) -> list[Clip]:
    """Build the clips and truth.json into `out` (deterministic for a seed), or load them if already built alike."""
    out = Path(out)
    width, height = size
    if width % 2 or height % 2:
        raise ValueError(f"H.264 yuv420p needs an even frame size, not {size}")
    settings = {"format": FORMAT, "seed": seed, "size": [width, height], "fps": fps}
    truth_path = out / "truth.json"
    if truth_path.exists():
        truth = json.loads(truth_path.read_text())
        if {k: truth.get(k) for k in settings} == settings and all((out / c["file"]).exists() for c in truth["clips"]):
            return load_clips(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    all_boxes = _photo_boxes(data)
    photos = [f"maksssksksss{i}.jpg" for i in rng.permutation(CLEAN_PHOTOS)[: 2 * len(PHOTO_KINDS)]]
    eligible = sorted(_lfw_people(data))
    chosen = [eligible[i] for i in rng.permutation(len(eligible))[: sum(PEOPLE_KINDS.values())]]
    clips: list[Clip] = []
    jobs = [("photo", kind, [photo]) for photo, kind in zip(photos, PHOTO_KINDS * 2, strict=True)]
    for kind, count in PEOPLE_KINDS.items():
        jobs.append(("people", kind, chosen[:count]))
        chosen = chosen[count:]
    for index, (family, kind, items) in enumerate(jobs):
        path = out / f"c{index:02d}_{kind}.mp4"
        clip_rng = np.random.default_rng([seed, index])
        if family == "photo":
            photo = data / "facemask" / "images" / items[0]
            made = _photo_clip(path, photo, all_boxes[items[0]], kind, size, fps, clip_rng)
            source = str(photo.relative_to(data))
        else:
            made, source = _people_clip(path, data, items, kind, size, fps, clip_rng)
        frames = _frame_count(kind, fps)
        clips.append(Clip(path, width, height, fps, frames, kind, made.faces, source, made.ignore, made.occluders))
    document = settings | {
        "clips": [
            {"file": c.path.name, "width": c.width, "height": c.height, "fps": c.fps, "frames": c.frames,
             "kind": c.kind, "source": c.source, "faces": [asdict(f) for f in c.faces],
             "ignore": [asdict(f) for f in c.ignore], "occluders": c.occluders}
            for c in clips
        ]
    }
    truth_path.write_text(json.dumps(document, separators=(",", ":")))
    return clips


def summary(clips: list[Clip]) -> dict:
    """Clips, frames and faces per kind."""
    per_kind: dict[str, dict[str, int]] = defaultdict(lambda: {"clips": 0, "frames": 0, "faces": 0})
    for c in clips:
        row = per_kind[c.kind]
        row["clips"] += 1
        row["frames"] += c.frames
        row["faces"] += len(c.faces)
    return {
        "clips": [
            {"file": c.path.name, "kind": c.kind, "frames": c.frames, "faces": len(c.faces),
             "instances": len({f.instance for f in c.faces}),
             "identities": sorted({f.identity for f in c.faces if f.identity}),
             "source": c.source}
            for c in clips
        ],
        "per_kind": dict(per_kind),
        "total": {
            "clips": len(clips), "frames": sum(c.frames for c in clips), "faces": sum(len(c.faces) for c in clips)
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/faceatlas-clips"))
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=int, nargs=2, default=(640, 480), metavar=("W", "H"))
    parser.add_argument("--fps", type=float, default=25.0)
    args = parser.parse_args()
    start = time.perf_counter()
    clips = build_clips(args.out, args.data, args.seed, tuple(args.size), args.fps)
    result = {"out": str(args.out), "seed": args.seed, "seconds": round(time.perf_counter() - start, 2)}
    print(json.dumps(result | summary(clips), indent=1))


if __name__ == "__main__":
    main()
