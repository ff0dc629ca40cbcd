"""Leak rate of `faceatlas anonymize --mode solid` beside deface on the Face Mask photos (../shared/data/facemask).

    .venv/bin/python benchmarks/anonymize_leaks.py --deface /tmp/deface-venv/bin/deface [--out FILE] [--limit N]

deface (PyPI `deface`, CenterFace) pulls the non-headless `opencv-python`, so it lives in its own venv:
`python3 -m venv /tmp/deface-venv && /tmp/deface-venv/bin/pip install deface==1.5.0`. Without `--deface` (or when
the file is missing) only FaceAtlas is measured, with a message on stderr.

Each tool is run once, as a whole command, on a temporary folder of symlinks to the photos: FaceAtlas as
`faceatlas anonymize IN OUT --mode solid`, deface as `deface IN --replacewith solid` (default threshold, ellipse
masks, mask scale 1.3; it writes `NAME_anonymized.EXT` next to its inputs). With `--format png` (default) the
symlinks are named `.png` (the files are still JPEG; both tools decode by content) so both tools write lossless PNG.

Coverage: a ground-truth box pixel is covered where the output differs from the photo (decoded by OpenCV) by more than
`--tolerance` (8) in any channel. A face instance leaks when less than `--covered` (0.9) of its box is covered; the
leak rate is the fraction of instances that leak (`leaks_missed`: under 10 % covered, i.e. not found), overall, for
small faces (box shorter side < `--small` = 24 px) and for the others. Controls: deface with `--replacewith none`
(its decode and re-encode, nothing hidden) and an OpenCV JPEG quality-95 re-encode (FaceAtlas's JPEG setting), both
scored the same way: they should be ~0 % covered.
`outside_changed` is the mean fraction of pixels outside every ground-truth box that changed (over-masking, false
detections, faces not annotated); `box_dark_fraction` is the mean fraction of box pixels already black in the photo
(both tools fill black, so those pixels never count as covered). Speed is the command's wall time (model start-up
included) over the image count; deface's own per-image rate is taken from its progress bar when it prints one.
"""

from __future__ import annotations

import argparse
import csv
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np
from reporting import emit, machine

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "facemask"


@dataclass
class Photo:
    name: str  # stem, e.g. maksssksksss10
    path: Path
    boxes: list[tuple[int, int, int, int]]  # xmin, ymin, xmax, ymax


@dataclass
class ToolResult:
    tool: str
    command: list[str]
    images: int
    faces: int
    leak_rate: float
    leaks: int
    leaks_missed: int  # coverage < 0.1: the face was not found
    leaks_partial: int  # found (in part) but covered below `--covered`
    small_faces: int
    small_leak_rate: float | None
    large_faces: int
    large_leak_rate: float | None
    mean_coverage: float
    small_mean_coverage: float | None
    large_mean_coverage: float | None
    outside_changed: float
    wall_s: float | None = None
    images_per_s: float | None = None
    tool_reported_images_per_s: float | None = None
    missing_outputs: list[str] = field(default_factory=list)
    exit_code: int | None = None


def load_photos(root: Path, limit: int | None) -> list[Photo]:
    """The photos of `boxes.csv` sorted by name (the first `limit` if given), with their integer boxes."""
    by_image: dict[str, list[tuple[int, int, int, int]]] = defaultdict(list)
    with open(root / "boxes.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            by_image[row["image"]].append(tuple(round(float(row[k])) for k in ("xmin", "ymin", "xmax", "ymax")))
    names = sorted(by_image)[:limit]
    return [Photo(Path(n).stem, root / n, by_image[n]) for n in names]


def link_folder(photos: list[Photo], folder: Path, suffix: str) -> None:
    folder.mkdir(parents=True)
    for photo in photos:
        (folder / f"{photo.name}{suffix}").symlink_to(photo.path.resolve())


def run(command: list[str]) -> tuple[float, int, str]:
    """Run a command; its wall time, exit code and combined output."""
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    return time.perf_counter() - start, done.returncode, done.stdout + done.stderr


def changed(original: np.ndarray, output: np.ndarray, tolerance: int) -> np.ndarray:
    """Where any channel differs by more than `tolerance` (boolean H x W)."""
    return (np.abs(original.astype(np.int16) - output.astype(np.int16)) > tolerance).any(axis=2)


def score(tool: str, photos: list[Photo], outputs: dict[str, Path | np.ndarray], args: argparse.Namespace,
          command: list[str]) -> ToolResult:
    """Coverage of every ground-truth box by the changed pixels of each photo's output."""
    coverage: list[float] = []
    small: list[bool] = []
    outside: list[float] = []
    missing: list[str] = []
    for photo in photos:
        original = cv2.imread(str(photo.path), cv2.IMREAD_COLOR)
        out = outputs.get(photo.name)
        if isinstance(out, Path):
            out = cv2.imread(str(out), cv2.IMREAD_COLOR) if out.exists() else None
        if out is None or out.shape != original.shape:
            missing.append(photo.name)  # no usable output: every face counts as shown
            out = original
        mask = changed(original, out, args.tolerance)
        in_box = np.zeros(mask.shape, bool)
        height, width = mask.shape
        for xmin, ymin, xmax, ymax in photo.boxes:
            x0, y0, x1, y1 = max(xmin, 0), max(ymin, 0), min(xmax, width), min(ymax, height)
            if x1 <= x0 or y1 <= y0:
                continue
            coverage.append(float(mask[y0:y1, x0:x1].mean()))
            small.append(min(xmax - xmin, ymax - ymin) < args.small)
            in_box[y0:y1, x0:x1] = True
        outside.append(float(mask[~in_box].mean()) if (~in_box).any() else 0.0)
    cov = np.asarray(coverage)
    is_small = np.asarray(small)
    leak = cov < args.covered

    def rate(sel: np.ndarray) -> float | None:
        return round(float(leak[sel].mean()), 4) if sel.any() else None

    def mean(sel: np.ndarray) -> float | None:
        return round(float(cov[sel].mean()), 4) if sel.any() else None

    return ToolResult(tool=tool, command=command, images=len(photos), faces=len(cov),
                      leak_rate=round(float(leak.mean()), 4), leaks=int(leak.sum()),
                      leaks_missed=int((cov < 0.1).sum()), leaks_partial=int((leak & (cov >= 0.1)).sum()),
                      small_faces=int(is_small.sum()), small_leak_rate=rate(is_small),
                      large_faces=int((~is_small).sum()), large_leak_rate=rate(~is_small),
                      mean_coverage=round(float(cov.mean()), 4), small_mean_coverage=mean(is_small),
                      large_mean_coverage=mean(~is_small), outside_changed=round(float(np.mean(outside)), 4),
                      missing_outputs=missing)


def timed(result: ToolResult, wall: float, code: int, text: str) -> ToolResult:
    result.wall_s = round(wall, 2)
    result.images_per_s = round(result.images / wall, 2)
    result.exit_code = code
    rates = re.findall(r"([\d.]+)it/s\]", text)  # tqdm's final rate (deface)
    result.tool_reported_images_per_s = float(rates[-1]) if rates else None
    return result


def run_faceatlas(photos: list[Photo], work: Path, suffix: str, args: argparse.Namespace) -> ToolResult:
    source, target = work / "faceatlas-in", work / "faceatlas-out"
    link_folder(photos, source, suffix)
    command = [str(args.faceatlas), "anonymize", str(source), str(target), "--mode", "solid"]
    wall, code, text = run(command)
    if code:
        print(text[-2000:], file=sys.stderr)
    outputs: dict[str, Path | np.ndarray] = {p.name: target / f"{p.name}{suffix}" for p in photos}
    return timed(score("faceatlas", photos, outputs, args, command), wall, code, text)


def run_deface(photos: list[Photo], work: Path, suffix: str, replace: str, args: argparse.Namespace) -> ToolResult:
    folder = work / f"deface-{replace}"
    link_folder(photos, folder, suffix)
    command = [str(args.deface), str(folder), "--replacewith", replace]
    wall, code, text = run(command)
    if code:
        print(text[-2000:], file=sys.stderr)
    outputs: dict[str, Path | np.ndarray] = {p.name: folder / f"{p.name}_anonymized{suffix}" for p in photos}
    name = "deface" if replace == "solid" else f"control: deface --replacewith {replace}"
    return timed(score(name, photos, outputs, args, command), wall, code, text)


def jpeg_control(photos: list[Photo], args: argparse.Namespace) -> ToolResult:
    """An OpenCV JPEG quality-95 re-encode of each photo (FaceAtlas's JPEG setting), nothing hidden."""
    outputs: dict[str, Path | np.ndarray] = {}
    for photo in photos:
        _, data = cv2.imencode(".jpg", cv2.imread(str(photo.path), cv2.IMREAD_COLOR), [cv2.IMWRITE_JPEG_QUALITY, 95])
        outputs[photo.name] = cv2.imdecode(data, cv2.IMREAD_COLOR)
    return score("control: OpenCV JPEG q95 re-encode", photos, outputs, args, ["cv2.imencode(.jpg, q=95)"])


def dark_fraction(photos: list[Photo], tolerance: int) -> float:
    """Mean over face boxes of the fraction of pixels already within `tolerance` of black (both tools fill black):
    coverage there cannot be seen, so it caps measured coverage."""
    fractions = []
    for photo in photos:
        dark = (cv2.imread(str(photo.path), cv2.IMREAD_COLOR) <= tolerance).all(axis=2)
        for xmin, ymin, xmax, ymax in photo.boxes:
            box = dark[max(ymin, 0):ymax, max(xmin, 0):xmax]
            if box.size:
                fractions.append(float(box.mean()))
    return round(float(np.mean(fractions)), 4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--faceatlas", type=Path, default=ROOT / ".venv" / "bin" / "faceatlas")
    parser.add_argument("--deface", type=Path, default=None, help="deface executable (its own venv)")
    parser.add_argument("--format", choices=("png", "jpg"), default="png", help="output format of both tools")
    parser.add_argument("--limit", type=int, default=None, help="only the first N photos by name")
    parser.add_argument("--tolerance", type=int, default=8, help="a pixel is changed above this channel difference")
    parser.add_argument("--covered", type=float, default=0.9, help="a face is hidden at this box coverage")
    parser.add_argument("--small", type=int, default=24, help="small faces: box shorter side below this (px)")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON document here")
    args = parser.parse_args()

    photos = load_photos(args.data, args.limit)
    suffix = f".{args.format}"
    results: list[ToolResult] = []
    controls: list[ToolResult] = [jpeg_control(photos, args)]
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="anonymize-leaks-") as tmp:
        work = Path(tmp)
        if args.deface is not None and args.deface.exists():
            version = subprocess.run([str(args.deface), "--version"], capture_output=True, text=True).stdout.strip()
            notes.append(f"deface {version}")
            print(f"deface {version}: {len(photos)} photos", file=sys.stderr)
            results.append(run_deface(photos, work, suffix, "solid", args))
            controls.append(run_deface(photos, work, suffix, "none", args))
        else:
            message = f"deface not measured: {'no --deface given' if args.deface is None else f'{args.deface} missing'}"
            notes.append(message)
            print(message, file=sys.stderr)
        print(f"faceatlas: {len(photos)} photos", file=sys.stderr)
        results.insert(0, run_faceatlas(photos, work, suffix, args))
    ratios: dict[str, float | None] = {}
    if len(results) == 2:
        ours, theirs = results
        leak_ratio = round(ours.leak_rate / theirs.leak_rate, 3) if theirs.leak_rate else None
        ratios = {"leak_rate_ours_over_deface": leak_ratio,
                  "speed_ours_over_deface": round(ours.images_per_s / theirs.images_per_s, 3)
                  if ours.images_per_s and theirs.images_per_s else None,
                  "target_met": bool(theirs.leak_rate and ours.leak_rate <= theirs.leak_rate / 2
                                     and (ours.images_per_s or 0) >= (theirs.images_per_s or 0))}
    document = {"benchmark": "anonymize_leaks", "machine": machine(), "data": str(args.data),
                "photos": len(photos), "settings": {k: str(v) for k, v in vars(args).items()},
                "results": [asdict(r) for r in results], "controls": [asdict(c) for c in controls],
                "ratios": ratios, "box_dark_fraction": dark_fraction(photos, args.tolerance), "notes": notes}
    emit(document, args.out)


if __name__ == "__main__":
    main()
