"""The runs behind `faceatlas eval ...`: run a FaceAnalyzer over labelled data, compute the metrics, wrap the envelope.

The recognition runs (verify, identify, calibrate, fairness) embed the face nearest each image's centre
(`embed_centre_faces`) and can share a per-image embedding cache; detect, attributes, landmarks and budget run the
detector or heads directly. Metric definitions live in the metric modules; this module only gathers the data.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from faceatlas.attributes.expression import EXPRESSION_MODEL
from faceatlas.attributes.mesh import MeshHead
from faceatlas.detect import create_detector
from faceatlas.errors import FaceAtlasError
from faceatlas.eval import detection, fairness, identification, pose, verification
from faceatlas.eval.attributes import AttributeLabels, age_metrics, by_group, class_metrics
from faceatlas.eval.calibration import all_pair_scores, all_pairs, calibrate
from faceatlas.eval.embedding import EmbeddedSet, embed_centre_faces
from faceatlas.eval.identities import load_identities
from faceatlas.eval.landmarks import LandmarkTruth, landmark_metrics, nme
from faceatlas.eval.pairs import read_pairs, score_pairs
from faceatlas.eval.pose_reference import FsaNetReference
from faceatlas.eval.results import envelope
from faceatlas.io.image import iter_image_paths, load_image
from faceatlas.mesh.model import FaceMesh
from faceatlas.mesh.pose import head_pose
from faceatlas.mesh.topology import mesh_points
from faceatlas.models.registry import get_card
from faceatlas.pipeline import FaceAnalyzer
from faceatlas.types import Faces

Progress = Callable[[int], Callable[[], None]]
"""Called with a total, returns the callback to advance by one (the CLI's progress bar; tests pass nothing)."""


def _quiet(total: int) -> Callable[[], None]:
    return lambda: None


def _embed(analyzer: FaceAnalyzer, paths: list[Path], cache: Path | None, progress: Progress) -> EmbeddedSet:
    return embed_centre_faces(analyzer, paths, progress(len(paths)), cache)


def _failures(embedded: EmbeddedSet) -> dict:
    return {"images": len(embedded.paths), "images_without_face": len(embedded.failures),
            "images_found_on_retry": embedded.fallbacks, "failures": embedded.failures}


def run_verify(analyzer: FaceAnalyzer, pairs_file: Path, images: Path, folds: int = 10, command: str = "",
               cache: Path | None = None, progress: Progress = _quiet) -> dict:
    """k-fold accuracy, ROC, EER and TAR@FAR over a pairs list. A pair with an image where no face was found scores
    -1 (a rejection: an error for a matched pair), and is counted."""
    pairs = read_pairs(pairs_file, folds)
    names = sorted({name for pair in pairs for name in (pair.a, pair.b)})
    embedded = _embed(analyzer, [Path(images) / name for name in names], cache, progress)
    scores, same, missing = score_pairs(pairs, {name: i for i, name in enumerate(names)}, embedded.embeddings,
                                        embedded.found)
    metrics = verification.verification_metrics(scores, same, np.array([p.fold for p in pairs]))
    metrics["pairs_with_missing_face"] = missing
    metrics["pair_scores"] = scores.round(6)  # in pair-file order, so anyone can recompute every figure
    if analyzer.recogniser_card.calibration is not None:
        metrics["at_calibrated_thresholds"] = [
            {"fmr_target": row.fmr, "threshold": row.threshold, "fmr": float(np.mean(scores[~same] >= row.threshold)),
             "fnmr": float(np.mean(scores[same] < row.threshold))} for row in analyzer.recogniser_card.calibration.rows]
    data = {"pairs_file": str(pairs_file), "images": str(images), "folds": len(set(p.fold for p in pairs)),
            **_failures(embedded)}
    return envelope("verify", command, data, metrics, analyzer)


def identification_split(gallery: Path | None, probes: Path | None, distractors: Path | None,
                         identities: Path | None) -> identification.Split:
    """The split from explicit CSVs (path,identity) or generated from a folder/CSV of identities."""
    if identities is not None:
        return identification.split_identities([(str(p), label) for p, label in load_identities(identities)])
    if gallery is None or probes is None:
        raise ValueError("give --identities, or --gallery and --probes (and optionally --distractors)")

    def read(source: Path | None) -> list[tuple[str, str]]:
        return [] if source is None else [(str(p), label) for p, label in load_identities(source)]

    return identification.Split(read(gallery), read(probes), read(distractors))


def run_identify(analyzer: FaceAnalyzer, split: identification.Split, command: str = "", cache: Path | None = None,
                 progress: Progress = _quiet) -> dict:
    """Closed-set CMC and open-set FNIR@FPIR. Gallery images without a face are not enrolled; probes without a face
    count as misses (mated) or as correct rejections (non-mated), and are counted."""
    everything = split.gallery + split.probes + split.distractors
    embedded = _embed(analyzer, [Path(p) for p, _ in everything], cache, progress)
    parts = np.cumsum([0, len(split.gallery), len(split.probes)])
    vectors, found = embedded.embeddings, embedded.found

    def take(start: int, items: list[tuple[str, str]], keep_missing: bool) -> tuple[np.ndarray, list[str]]:
        rows = np.arange(start, start + len(items))
        rows = rows if keep_missing else rows[found[rows]]
        matrix = vectors[rows].copy()
        matrix[~found[rows]] = 0.0  # a probe without a face scores 0 against everyone
        return matrix, [everything[r][1] for r in rows]

    gallery_vectors, gallery_labels = take(0, split.gallery, keep_missing=False)
    probe_vectors, probe_labels = take(parts[1], split.probes, keep_missing=True)
    enrolled = set(gallery_labels)
    mated = [i for i, label in enumerate(probe_labels) if label in enrolled]
    distractor_vectors, _ = take(parts[2], split.distractors, keep_missing=True)
    metrics = identification.identification_metrics(gallery_vectors, gallery_labels, probe_vectors[mated],
                                                     [probe_labels[i] for i in mated], distractor_vectors)
    metrics["probes_whose_identity_is_not_enrolled"] = len(probe_labels) - len(mated)
    info = {"gallery_images": len(split.gallery), "probe_images": len(split.probes),
            "distractor_images": len(split.distractors), **_failures(embedded)}
    return envelope("identify", command, info, metrics, analyzer)


def run_detect(analyzer: FaceAnalyzer, boxes: Path, images: Path, min_face: float = 10.0, iou: float = 0.5,
               ap_threshold: float = 0.05, command: str = "", progress: Progress = _quiet) -> dict:
    """Recall, precision, recall by size and FP/image at the detector's own score threshold; AP over every detection
    scoring at least `ap_threshold` (the detector is run once at that low threshold: greedy NMS keeps the same boxes
    above any higher threshold, so both come from one pass); the detector's time per image. Images that cannot be
    read are listed and left out."""
    truths = detection.load_boxes(boxes)
    operating = float(getattr(analyzer.detector, "score_threshold", 0.0))
    ap_threshold = min(ap_threshold, operating)
    loose = create_detector(analyzer.detector_card, analyzer.threads,
                            **{**analyzer.detector_options, "score_threshold": ap_threshold})
    advance = progress(len(truths))
    results, kept, unreadable, times = [], [], {}, []
    for truth in truths:
        try:
            image = load_image(Path(images) / truth.image)
        except FaceAtlasError as error:  # every unreadable file is reported, none stops the run
            unreadable[truth.image] = f"{type(error).__name__}: {error}"
            advance()
            continue
        start = time.perf_counter()
        faces = loose.detect(image.bgr)
        times.append((time.perf_counter() - start) * 1000)
        results.append((faces.boxes, faces.scores))
        kept.append(truth.boxes)
        advance()
    metrics = detection.detection_metrics(results, kept, operating, min_face, iou)
    metrics["ap"] = detection.detection_metrics(results, kept, ap_threshold, min_face, iou)["ap"]
    metrics.update({"score_threshold": operating, "ap_score_threshold": ap_threshold, "iou": iou,
                    "min_face": min_face, "ms_per_image_median": statistics.median(times) if times else None})
    data = {"boxes": str(boxes), "images": str(images), "unreadable": unreadable}
    return envelope("detect", command, data, metrics, analyzer)


def run_calibrate(analyzer: FaceAnalyzer, identities: Path, data_name: str | None = None, command: str = "",
                  cache: Path | None = None, progress: Progress = _quiet) -> tuple[dict, object]:
    """The calibration table (all genuine and impostor pairs) and the result envelope around it."""
    items = load_identities(identities)
    embedded = _embed(analyzer, [p for p, _ in items], cache, progress)
    labels = [label for (_, label), ok in zip(items, embedded.found, strict=True) if ok]
    scores = all_pair_scores(embedded.embeddings[embedded.found], labels)
    refiner = analyzer.refiner_card.id if analyzer.refiner_card else None
    table = calibrate(scores, data=f"{data_name or identities}: {int(embedded.found.sum())} images "
                      f"({len(embedded.failures)} without a face), front end of profile '{analyzer.profile}' "
                      f"(detector {analyzer.detector_card.id}, refiner {refiner}, flip {analyzer.flip})",
                      command=command)
    metrics = {"model": analyzer.recogniser_card.id, **table.model_dump(mode="json")}
    return envelope("calibrate", command, {"identities": str(identities), **_failures(embedded)}, metrics,
                    analyzer), table


def run_fairness(analyzer: FaceAnalyzer, identities: Path, groups_csv: Path, group_column: str = "group",
                 key_column: str | None = None, command: str = "", cache: Path | None = None,
                 progress: Progress = _quiet) -> dict:
    """FMR and FNMR per group over all genuine and impostor pairs of identity-labelled images, at the recogniser's
    calibrated (global) thresholds. Keys may be identities, or image paths matched on their trailing components
    (e.g. "person/name.jpg"; a labelled image outside the set counts for the person its folder names); image labels
    are spread to their person by majority (labels such as gender are per person)."""
    items = load_identities(identities)
    labels, key = fairness.load_groups(groups_csv, group_column, key_column)
    conflicts = 0
    if key != "identity":
        # a labelled image that is not among the evaluated ones still names its person by its folder
        known = {identity for _, identity in items}
        identity_of = {k: Path(k).parent.name for k in labels if Path(k).parent.name in known}
        for path, identity in items:
            image_key = _matching_key(Path(path), labels)
            if image_key is not None:
                identity_of[image_key] = identity
        labels, conflicts = fairness.groups_by_identity(labels, identity_of)
    names = sorted(set(labels.values()))
    code_of = {name: c for c, name in enumerate(names)}
    embedded = _embed(analyzer, [p for p, _ in items], cache, progress)
    found = embedded.found
    identity = np.array([label for (_, label), ok in zip(items, found, strict=True) if ok])
    codes = np.array([code_of.get(labels.get(label, ""), fairness.UNKNOWN_CODE) for label in identity])
    first, second, scores, same = all_pairs(embedded.embeddings[found], list(identity))
    pair_group = fairness.pair_groups(codes[first], codes[second])
    card = analyzer.recogniser_card
    if card.calibration is None:
        raise ValueError(f"model '{card.id}' has no calibration table to take global thresholds from")
    thresholds = [{"fmr": row.fmr, "threshold": row.threshold} for row in card.calibration.rows]
    metrics = fairness.fairness_metrics(scores, same, pair_group, names, thresholds)
    metrics["images_per_group"] = {name: int((codes == c).sum()) for name, c in code_of.items()}
    metrics["identities_per_group"] = {name: len({i for i, c in zip(identity, codes, strict=True) if c == code})
                                       for name, code in code_of.items()}
    metrics["unlabelled_images"] = int((codes == fairness.UNKNOWN_CODE).sum())
    data = {"identities": str(identities), "groups": str(groups_csv), "group_column": group_column, "key_column": key,
            "identities_with_conflicting_labels": conflicts, "thresholds_from": card.calibration.data,
            **_failures(embedded)}
    return envelope("fairness", command, data, metrics, analyzer)


def _matching_key(path: Path, keys: dict[str, str]) -> str | None:
    """The key naming this image: the longest run of its trailing path components that is a key ("person/name.jpg"
    before "name.jpg")."""
    parts = path.parts
    for count in range(len(parts), 0, -1):
        candidate = "/".join(parts[-count:])
        if candidate in keys:
            return candidate
    return None


def _warm_up(analyzer: FaceAnalyzer, paths: list[Path]) -> None:
    """Load the models and run them once, on the first readable image, outside any timing."""
    for path in paths:
        try:
            analyzer.analyze(path)
            return
        except FaceAtlasError:
            continue


def run_budget(profiles: list[str], images: Path, budgets_ms: list[float], threads: list[int], limit: int = 30,
               accuracy: dict[str, float] | None = None, command: str = "", progress: Progress = _quiet) -> dict:
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


def run_attributes(analyzer: FaceAnalyzer, labels: AttributeLabels, upscale_below: int = 100, command: str = "",
                   progress: Progress = _quiet, data: dict | None = None) -> dict:
    """Age MAE (overall, by band), gender and expression accuracy with confusion matrices, and each per group, for
    the face nearest each image's centre. Images smaller than `upscale_below` pixels (FER2013's 48x48 crops) are
    enlarged 3x first so the detector sees a face. An image without a face counts against coverage, not accuracy,
    and is listed."""
    advance = progress(len(labels.paths))
    found, outputs, failures = [], [], {}
    for i, path in enumerate(labels.paths):
        try:
            bgr = load_image(path).bgr
            if max(bgr.shape[:2]) < upscale_below:
                bgr = cv2.resize(bgr, None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC)
            faces = analyzer.detect(bgr).nearest_to_centre()
            if len(faces) == 0:
                failures[str(path)] = "no face found (also after the low-threshold retry)"
            else:
                found.append(i)
                outputs.append(analyzer.describe(bgr, faces).attributes)
        except FaceAtlasError as error:
            failures[str(path)] = f"{type(error).__name__}: {error}"
        advance()
    column = {name: [o[name][0] for o in outputs] for name in (outputs[0] if outputs else {})}
    metrics: dict = {"images": len(labels.paths), "faces_found": len(found),
                     "coverage": len(found) / max(len(labels.paths), 1)}
    groups = [labels.group[i] for i in found]
    with_age = [k for k, i in enumerate(found) if labels.age[i] is not None]
    if with_age and "age" in column:
        truth = np.array([labels.age[found[k]] for k in with_age])
        predicted = np.array([column["age"][k] for k in with_age], float)
        metrics["age"] = age_metrics(truth, predicted, np.array([column["age_std"][k] for k in with_age], float))
        metrics["age"]["by_group"] = by_group(list(truth), list(predicted), [groups[k] for k in with_age], "mae")
    for name in ("gender", "expression"):
        labelled = [k for k, i in enumerate(found) if getattr(labels, name)[i] is not None]
        if labelled and name in column:
            truth = [getattr(labels, name)[found[k]] for k in labelled]
            predicted = [str(column[name][k]) for k in labelled]
            head_labels = sorted(set(truth) | set(predicted)) if name == "gender" else \
                list(get_card(EXPRESSION_MODEL).output_spec["labels"])
            metrics[name] = class_metrics(truth, predicted, head_labels)
            metrics[name]["by_group"] = by_group(truth, predicted, [groups[k] for k in labelled], "accuracy")
    unreadable = sum(not reason.startswith("no face") for reason in failures.values())
    info = {**(data or {}), "heads": list(analyzer.head_names), "images_without_face": len(failures) - unreadable,
            "images_unreadable": unreadable, "failures": failures}
    return envelope("attributes", command, info, metrics, analyzer,
                    tuple(m for head in analyzer.heads for m in head.model_ids))


def run_landmarks(analyzer: FaceAnalyzer, truth: LandmarkTruth, source: str = "detector", command: str = "",
                  progress: Progress = _quiet, data: dict | None = None) -> dict:
    """Landmark NME for the face whose box holds the true eye centre nearest its own centre (images without such a
    face count as misses). `source="detector"`: the profile's five points (detector, plus refinement when the profile
    has it); `"mesh"`: five or 68 points read off the face mesh (`faceatlas.mesh.topology`)."""
    if source not in ("detector", "mesh"):
        raise ValueError(f"unknown landmark source '{source}' (detector or mesh)")
    if source == "detector" and truth.points.shape[1] != 5:
        raise ValueError("the detector gives five points; evaluate 68-point annotations with source 'mesh'")
    mesh = FaceMesh(analyzer.threads) if source == "mesh" else None
    advance = progress(len(truth.paths))
    kept, predicted, failures = [], [], {}
    for i, path in enumerate(truth.paths):
        try:
            bgr = load_image(path).bgr
            faces = analyzer.detect(bgr)
        except FaceAtlasError as error:
            failures[f"{path}#{i}"] = f"{type(error).__name__}: {error}"
            advance()
            continue
        face = _face_at(faces, truth.eye_centres[i].mean(axis=0))
        if face is None:
            failures[f"{path}#{i}"] = "no detected face holds the annotated eyes"
        else:
            kept.append(i)
            predicted.append(face.landmarks5[0] if mesh is None else
                             mesh_points(mesh.predict(bgr, face.landmarks5), truth.points.shape[1])[0])
        advance()
    errors = nme(np.asarray(predicted, np.float64).reshape(-1, *truth.points.shape[1:]), truth.points[kept])
    metrics = landmark_metrics(errors, [truth.pose_bin[i] for i in kept])
    metrics["images"] = len(truth.paths)
    metrics["coverage"] = len(kept) / max(len(truth.paths), 1)
    info = {**(data or {}), "source": source, "landmark_count": int(truth.points.shape[1]),
            "images_without_face": len(failures), "failures": failures}
    return envelope("landmarks", command, info, metrics, analyzer, MeshHead.model_ids if mesh else ())


def run_pose(analyzer: FaceAnalyzer, truth: LandmarkTruth, edges: tuple[float, float] = pose.YAW_EDGES,
             reference: FsaNetReference | None = None, command: str = "", progress: Progress = _quiet,
             data: dict | None = None) -> dict:
    """Head pose from the mesh on faces with MTFL pose bins: bin accuracy with yaw `edges`, mirror symmetry (each
    image flipped and analysed again) and, with a `reference` estimator, agreement with it."""
    poses, mirrored, references, bins, failures = _collect_poses(analyzer, truth, True, reference, progress)
    labelled = bins > 0
    metrics = {"faces": len(poses), "images": len(truth.paths),
               "bins": pose.bin_metrics(poses[labelled, 0], bins[labelled], edges) if labelled.any() else None,
               "mirror": pose.mirror_metrics(poses, mirrored),
               "reference": pose.agreement_metrics(poses, references) if reference is not None else None}
    info = {**(data or {}), "images_without_face": len(failures), "failures": failures}
    return envelope("pose", command, info, metrics, analyzer, MeshHead.model_ids)


def fit_pose_edges(analyzer: FaceAnalyzer, truth: LandmarkTruth, progress: Progress = _quiet) -> tuple[float, float]:
    """Yaw bin edges fitted on other labelled faces (no mirror or reference runs: only their yaw is needed)."""
    poses, _, _, bins, _ = _collect_poses(analyzer, truth, False, None, progress)
    labelled = bins > 0
    if not labelled.any():
        raise ValueError("no faces with a pose bin to fit the yaw edges on")
    return pose.fit_yaw_edges(poses[labelled, 0], bins[labelled])


def _collect_poses(analyzer: FaceAnalyzer, truth: LandmarkTruth, mirror: bool, reference: FsaNetReference | None,
                   progress: Progress) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
    """Yaw, pitch, roll (N, 3) of the annotated face of each image, of its mirror image's face (when `mirror`), of
    the reference estimator (when given), the pose bins (0: none) and the failures."""
    mesh = FaceMesh(analyzer.threads)
    advance = progress(len(truth.paths))
    poses, mirrored, references, bins, failures = [], [], [], [], {}
    for i, path in enumerate(truth.paths):
        try:
            bgr = load_image(path).bgr
        except FaceAtlasError as error:
            failures[f"{path}#{i}"] = f"{type(error).__name__}: {error}"
            advance()
            continue
        centre = truth.eye_centres[i].mean(axis=0)
        face = _face_at(analyzer.detect(bgr), centre)
        flipped = np.ascontiguousarray(bgr[:, ::-1]) if mirror else None
        twin = None if flipped is None else \
            _face_at(analyzer.detect(flipped), np.array([bgr.shape[1] - 1 - centre[0], centre[1]]))
        if face is None or (mirror and twin is None):
            failures[f"{path}#{i}"] = "no detected face holds the annotated eyes (image or its mirror)"
        else:
            poses.append(head_pose(mesh.predict(bgr, face.landmarks5).mesh)[0])
            if twin is not None:
                mirrored.append(head_pose(mesh.predict(flipped, twin.landmarks5).mesh)[0])
            if reference is not None:
                references.append(reference.predict(bgr, face.boxes[0]))
            bins.append(truth.pose_bin[i] or 0)
        advance()
    return (np.asarray(poses).reshape(-1, 3), np.asarray(mirrored).reshape(-1, 3),
            np.asarray(references).reshape(-1, 3), np.asarray(bins, int), failures)


def _face_at(faces: Faces, point: np.ndarray) -> Faces | None:
    """The face whose box holds `point` with its centre nearest it, or None."""
    inside = (faces.boxes[:, 0] <= point[0]) & (point[0] <= faces.boxes[:, 2]) \
        & (faces.boxes[:, 1] <= point[1]) & (point[1] <= faces.boxes[:, 3])
    if not inside.any():
        return None
    centres = (faces.boxes[:, :2] + faces.boxes[:, 2:]) / 2
    return faces[int(np.argmin(np.where(inside, np.linalg.norm(centres - point, axis=1), np.inf)))]

