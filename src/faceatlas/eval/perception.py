"""The runs behind `faceatlas eval detect | attributes | landmarks | pose | budget`: the pipeline over labelled
faces (its detect-only mode for the detector and landmark protocols), the metrics, the envelope."""

from __future__ import annotations

import statistics
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from faceatlas.errors import FaceAtlasError
from faceatlas.eval import detection, pose
from faceatlas.eval.attributes import AttributeLabels, age_metrics, by_group, calibration_error, class_metrics
from faceatlas.eval.landmarks import LandmarkTruth, landmark_metrics, nme
from faceatlas.eval.pose_reference import FsaNetReference
from faceatlas.eval.progress import Progress, quiet
from faceatlas.eval.results import envelope
from faceatlas.io.image import iter_image_paths
from faceatlas.mesh.topology import mesh_points
from faceatlas.pipeline import FaceAnalyzer


def run_detect(analyzer: FaceAnalyzer, boxes: Path, images: Path, min_face: float = 10.0, iou: float = 0.5,
               ap_threshold: float = 0.05, command: str = "", progress: Progress = quiet) -> dict:
    """Recall, precision, recall by size and FP/image at the detector's own score threshold; AP over every detection
    scoring at least `ap_threshold` (the detector is run once at that low threshold: greedy NMS keeps the same boxes
    above any higher threshold, so both come from one pass; landmark refinement only where the refiner also confirms
    the faces scored low, which changes which boxes are kept); the detector's time per image. Images that cannot be
    read are listed and left out."""
    truths = detection.load_boxes(boxes)
    operating = float(getattr(analyzer.detector, "score_threshold", 0.0))
    ap_threshold = min(ap_threshold, operating)
    loose = replace(analyzer.spec, refiner=analyzer.spec.refiner if analyzer.confirm_below else None, heads=(),
                    detector_options={**analyzer.detector_options, "score_threshold": ap_threshold}).build()
    advance = progress(len(truths))
    results, kept, unreadable, times = [], [], {}, []
    for shot in loose.shots([Path(images) / truth.image for truth in truths], embed=False, folders=False):
        truth = truths[shot.index]
        if shot.error is not None:  # every unreadable file is reported, none stops the run
            unreadable[truth.image] = f"{type(shot.error).__name__}: {shot.error}"
        else:
            times.append(shot.ms["detect"])
            results.append((shot.faces.boxes, shot.faces.scores))
            kept.append(truth.boxes)
        advance()
    metrics = detection.detection_metrics(results, kept, operating, min_face, iou)
    metrics["ap"] = detection.detection_metrics(results, kept, ap_threshold, min_face, iou)["ap"]
    metrics.update({"score_threshold": operating, "ap_score_threshold": ap_threshold, "iou": iou,
                    "min_face": min_face, "ms_per_image_median": statistics.median(times) if times else None})
    data = {"boxes": str(boxes), "images": str(images), "unreadable": unreadable}
    return envelope("detect", command, data, metrics, analyzer)


def run_attributes(analyzer: FaceAnalyzer, labels: AttributeLabels, command: str = "",
                   progress: Progress = quiet, data: dict | None = None) -> dict:
    """Age MAE (overall, by band), gender and expression accuracy with confusion matrices, and each per group, for
    the face nearest each image's centre (a picture of at most `pipeline.FACE_CROP_SIDE` pixels, FER2013's 48x48
    crops, is one face filling it). An image without a face counts against coverage, not accuracy, and is listed.
    Beside them, on the same faces in the same run, the same figures of the networks alone (`network_alone`: the
    heads of `attributes.NETWORK_ALONE`)."""
    from faceatlas.attributes import NETWORK_ALONE

    advance = progress(len(labels.paths))
    alone = tuple(NETWORK_ALONE[name] for name in analyzer.head_names if name in NETWORK_ALONE)
    reference = replace(analyzer.spec, heads=alone).build() if alone else None
    found, outputs, networks, failures = [], [], [], {}
    for shot in analyzer.shots(labels.paths, embed=False, subject="centre", folders=False):
        path = labels.paths[shot.index]
        if shot.error is None and shot.image is not None:
            found.append(shot.index)
            outputs.append(shot.faces.attributes)
            if reference is not None:
                networks.append(reference.describe(shot.image, shot.faces).attributes)
        elif type(shot.error).__name__ == "NoFaceError":
            failures[str(path)] = "no face found (also after the low-threshold retry)"
        else:
            failures[str(path)] = f"{type(shot.error).__name__}: {shot.error}"
        advance()
    column = {name: [o[name][0] for o in outputs] for name in (outputs[0] if outputs else {})}
    metrics: dict = {"images": len(labels.paths), "faces_found": len(found),
                     "coverage": len(found) / max(len(labels.paths), 1)}
    groups = [labels.group[i] for i in found]
    with_age = [k for k, i in enumerate(found) if labels.age[i] is not None]
    if with_age and "age" in column:
        truth = np.array([labels.age[found[k]] for k in with_age])
        predicted = np.array([column["age"][k] for k in with_age], float)
        interval = (np.array([column["age_low"][k] for k in with_age], float),
                    np.array([column["age_high"][k] for k in with_age], float)) if "age_low" in column else None
        metrics["age"] = age_metrics(truth, predicted, np.array([column["age_std"][k] for k in with_age], float),
                                     interval)
        metrics["age"]["by_group"] = by_group(list(truth), list(predicted), [groups[k] for k in with_age], "mae")
    for name in ("gender", "expression"):
        labelled = [k for k, i in enumerate(found) if getattr(labels, name)[i] is not None]
        if labelled and name in column:
            truth = [getattr(labels, name)[found[k]] for k in labelled]
            predicted = [str(column[name][k]) for k in labelled]
            head_labels = sorted(set(truth) | set(predicted)) if name == "gender" else \
                [str(label) for head in analyzer.heads if head.name == "expression" for label in head.labels]
            metrics[name] = class_metrics(truth, predicted, head_labels)
            confidence = np.array([column[f"{name}_confidence"][k] for k in labelled], float)
            metrics[name]["calibration"] = calibration_error(confidence, np.array(truth) == np.array(predicted))
            metrics[name]["by_group"] = by_group(truth, predicted, [groups[k] for k in labelled], "accuracy")
    if networks:
        metrics["network_alone"] = _network_alone(networks, labels, found)
    unreadable = sum(not reason.startswith("no face") for reason in failures.values())
    info = {**(data or {}), "heads": list(analyzer.head_names), "images_without_face": len(failures) - unreadable,
            "images_unreadable": unreadable, "failures": failures}
    return envelope("attributes", command, info, metrics, analyzer,
                    tuple(m for head in analyzer.heads for m in head.model_ids))


def _network_alone(outputs: list[dict], labels: AttributeLabels, found: list[int]) -> dict:
    """Age MAE, gender and expression accuracy of the networks alone on the faces found."""
    out: dict = {}
    ages = [(labels.age[i], float(o["age"][0])) for i, o in zip(found, outputs, strict=True)
            if labels.age[i] is not None and "age" in o]
    if ages:
        out["age_mae"] = float(np.mean([abs(truth - age) for truth, age in ages]))
    for name in ("gender", "expression"):
        pairs = [(getattr(labels, name)[i], str(o[name][0])) for i, o in zip(found, outputs, strict=True)
                 if getattr(labels, name)[i] is not None and name in o]
        if pairs:
            out[f"{name}_accuracy"] = float(np.mean([truth == predicted for truth, predicted in pairs]))
    return out


def run_landmarks(analyzer: FaceAnalyzer, truth: LandmarkTruth, source: str = "detector", command: str = "",
                  progress: Progress = quiet, data: dict | None = None) -> dict:
    """Landmark NME for the face whose box holds the true eye centre nearest its own centre (images without such a
    face count as misses). `source="detector"`: the profile's five points (detector, plus refinement when the profile
    has it: the pipeline's detect-only mode); `"mesh"`: five or 68 points read off the mesh head
    (`faceatlas.mesh.topology`)."""
    if source not in ("detector", "mesh"):
        raise ValueError(f"unknown landmark source '{source}' (detector or mesh)")
    if source == "detector" and truth.points.shape[1] != 5:
        raise ValueError("the detector gives five points; evaluate 68-point annotations with source 'mesh'")
    used = analyzer.with_heads("mesh") if source == "mesh" else analyzer
    advance = progress(len(truth.paths))
    kept, predicted, failures = [], [], {}
    for shot in used.shots(truth.paths, embed=False, folders=False):
        i = shot.index
        face = None if shot.error is not None else shot.faces.holding(truth.eye_centres[i].mean(axis=0))
        if shot.error is not None:
            failures[f"{truth.paths[i]}#{i}"] = f"{type(shot.error).__name__}: {shot.error}"
        elif not face:
            failures[f"{truth.paths[i]}#{i}"] = "no detected face holds the annotated eyes"
        else:
            kept.append(i)
            predicted.append(face.landmarks5[0] if source == "detector" else mesh_points(
                face.attributes["landmarks468"], face.attributes["iris_centres"], truth.points.shape[1])[0])
        advance()
    errors = nme(np.asarray(predicted, np.float64).reshape(-1, *truth.points.shape[1:]), truth.points[kept])
    metrics = landmark_metrics(errors, [truth.pose_bin[i] for i in kept])
    metrics["images"] = len(truth.paths)
    metrics["coverage"] = len(kept) / max(len(truth.paths), 1)
    info = {**(data or {}), "source": source, "landmark_count": int(truth.points.shape[1]),
            "images_without_face": len(failures), "failures": failures}
    return envelope("landmarks", command, info, metrics, analyzer,
                    tuple(m for head in used.heads for m in head.model_ids))


def run_pose(analyzer: FaceAnalyzer, truth: LandmarkTruth, edges: tuple[float, float] = pose.YAW_EDGES,
             reference: FsaNetReference | None = None, command: str = "", progress: Progress = quiet,
             data: dict | None = None) -> dict:
    """Head pose from the mesh on faces with MTFL pose bins: bin accuracy with yaw `edges`, mirror symmetry (each
    image flipped and analysed again) and, with a `reference` estimator, agreement with it."""
    meshed = analyzer.with_heads("mesh")
    poses, mirrored, references, bins, failures = _collect_poses(meshed, truth, True, reference, progress)
    labelled = bins > 0
    metrics = {"faces": len(poses), "images": len(truth.paths),
               "bins": pose.bin_metrics(poses[labelled, 0], bins[labelled], edges) if labelled.any() else None,
               "mirror": pose.mirror_metrics(poses, mirrored),
               "reference": pose.agreement_metrics(poses, references) if reference is not None else None}
    info = {**(data or {}), "images_without_face": len(failures), "failures": failures}
    return envelope("pose", command, info, metrics, analyzer, tuple(m for head in meshed.heads for m in head.model_ids))


def fit_pose_edges(analyzer: FaceAnalyzer, truth: LandmarkTruth, progress: Progress = quiet) -> tuple[float, float]:
    """Yaw bin edges fitted on other labelled faces (no mirror or reference runs: only their yaw is needed)."""
    poses, _, _, bins, _ = _collect_poses(analyzer, truth, False, None, progress)
    labelled = bins > 0
    if not labelled.any():
        raise ValueError("no faces with a pose bin to fit the yaw edges on")
    return pose.fit_yaw_edges(poses[labelled, 0], bins[labelled])


def _collect_poses(analyzer: FaceAnalyzer, truth: LandmarkTruth, mirror: bool, reference: FsaNetReference | None,
                   progress: Progress) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
    """Yaw, pitch, roll (N, 3) of the annotated face of each image (the mesh head's pose), of its mirror image's face
    (when `mirror`), of the reference estimator (when given), the pose bins (0: none) and the failures."""
    meshed = analyzer.with_heads("mesh")
    advance = progress(len(truth.paths))
    poses, mirrored, references, bins, failures = [], [], [], [], {}
    for shot in meshed.shots(truth.paths, embed=False, folders=False):
        i = shot.index
        if shot.error is not None:
            failures[f"{truth.paths[i]}#{i}"] = f"{type(shot.error).__name__}: {shot.error}"
            advance()
            continue
        centre = truth.eye_centres[i].mean(axis=0)
        face = shot.faces.holding(centre)
        twin = None
        if mirror and face:
            flipped = meshed.analyze(np.ascontiguousarray(shot.image[:, ::-1]), embed=False)
            twin = flipped.holding((shot.image.shape[1] - 1 - centre[0], centre[1]))
        if not face or (mirror and not twin):
            failures[f"{truth.paths[i]}#{i}"] = "no detected face holds the annotated eyes (image or its mirror)"
        else:
            poses.append(face.pose[0])
            if twin:
                mirrored.append(twin.pose[0])
            if reference is not None:
                references.append(reference.predict(shot.image, face.boxes[0]))
            bins.append(truth.pose_bin[i] or 0)
        advance()
    return (np.asarray(poses).reshape(-1, 3), np.asarray(mirrored).reshape(-1, 3),
            np.asarray(references).reshape(-1, 3), np.asarray(bins, int), failures)


def run_budget(profiles: list[str], images: Path, budgets_ms: list[float], threads: list[int], limit: int = 30,
               accuracy: dict[str, float] | None = None, command: str = "", progress: Progress = quiet) -> dict:
    """Per-image latency (decode, detect, embed; p50 and p95 after one warm-up image) of each profile at each thread
    count, and for each budget the most accurate profile whose p95 fits it. `accuracy` maps profiles to a verification
    accuracy (from `eval verify` results); profiles without one are timed but never chosen."""
    paths = iter_image_paths([Path(images)])[:limit]
    if not paths:
        raise ValueError(f"{images}: no images")
    advance = progress(len(profiles) * len(threads) * len(paths))
    rows = []
    for count in threads:
        for name in profiles:
            analyzer = FaceAnalyzer(profile=name, threads=count)
            _warm_up(analyzer, paths)
            latencies = []
            for path in paths:
                start = time.perf_counter()
                try:
                    analyzer.analyze(path)
                except FaceAtlasError:  # unreadable files are not timed
                    advance()
                    continue
                latencies.append((time.perf_counter() - start) * 1000)
                advance()
            if not latencies:
                raise ValueError(f"{images}: none of the images could be read")
            rows.append({"profile": name, "threads": count, "images": len(latencies),
                         "p50_ms": float(np.percentile(latencies, 50)), "p95_ms": float(np.percentile(latencies, 95)),
                         "accuracy": (accuracy or {}).get(name)})
    choices = []
    for budget in budgets_ms:
        for count in threads:
            fitting = [r for r in rows if r["threads"] == count and r["p95_ms"] <= budget and r["accuracy"] is not None]
            best = max(fitting, key=lambda r: (r["accuracy"], -r["p95_ms"]), default=None)
            choices.append({"budget_ms": budget, "threads": count, "profile": best["profile"] if best else None,
                            "accuracy": best["accuracy"] if best else None, "p95_ms": best["p95_ms"] if best else None})
    data = {"images": str(images), "timed_images": rows[0]["images"], "accuracy_source": "eval verify results"
            if accuracy else None}
    return envelope("budget", command, data, {"latency": rows, "choices": choices})


def _warm_up(analyzer: FaceAnalyzer, paths: list[Path]) -> None:
    """Load the models and run them once, on the first readable image, outside any timing."""
    for path in paths:
        try:
            analyzer.analyze(path)
            return
        except FaceAtlasError:
            continue
