"""The recognition runs behind `faceatlas eval verify | identify | calibrate | fairness`: the pipeline's embedding
of the face nearest each image's centre (`embed_centre_faces`, which can share a per-image cache), the metrics, the
envelope. Detection, attributes, landmarks, pose and budgets are in `perception`. Metric definitions live in the
metric modules; this module only gathers the data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from faceatlas.eval import fairness, identification, verification
from faceatlas.eval.calibration import all_pair_scores, all_pairs, calibrate
from faceatlas.eval.embedding import EmbeddedSet, embed_centre_faces
from faceatlas.eval.fusion import FusionChoice, MemberScores, choose_fusion
from faceatlas.eval.identities import load_identities
from faceatlas.eval.pairs import read_pairs, score_pairs
from faceatlas.eval.perception import fit_pose_edges, run_attributes, run_budget, run_detect, run_landmarks, run_pose
from faceatlas.eval.progress import Progress, quiet
from faceatlas.eval.results import envelope
from faceatlas.pipeline import FaceAnalyzer


def _embed(analyzer: FaceAnalyzer, paths: list[Path], cache: Path | None, progress: Progress) -> EmbeddedSet:
    return embed_centre_faces(analyzer, paths, progress(len(paths)), cache)


def _failures(embedded: EmbeddedSet) -> dict:
    return {"images": len(embedded.paths), "images_without_face": len(embedded.failures),
            "images_found_on_retry": embedded.fallbacks, "failures": embedded.failures}


def run_verify(analyzer: FaceAnalyzer, pairs_file: Path, images: Path, folds: int = 10, command: str = "",
               cache: Path | None = None, progress: Progress = quiet) -> dict:
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
                 progress: Progress = quiet) -> dict:
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


def run_calibrate(analyzer: FaceAnalyzer, identities: Path, data_name: str | None = None, command: str = "",
                  cache: Path | None = None, progress: Progress = quiet) -> tuple[dict, object]:
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
                 progress: Progress = quiet) -> dict:
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


__all__ = ["fit_pose_edges", "identification_split", "run_attributes", "run_budget", "run_calibrate", "run_detect",
           "run_fairness", "run_identify", "run_landmarks", "run_pose", "run_verify"]


def run_fuse(analyzers: tuple[FaceAnalyzer, FaceAnalyzer], pairs_file: Path, images: Path, command: str = "",
             cache: Path | None = None, progress: Progress = quiet) -> tuple[dict, FusionChoice]:
    """The fusion weight of two recognisers (same front end) chosen on a development pairs list alone."""
    pairs = read_pairs(pairs_file)
    names = sorted({n for p in pairs for n in (p.a, p.b)})
    index = {n: i for i, n in enumerate(names)}
    embedded = [_embed(a, [images / n for n in names], cache, progress) for a in analyzers]
    found = embedded[0].found & embedded[1].found
    labels = [Path(n).parent.name or n for n, ok in zip(names, found, strict=True) if ok]
    members = []
    for analyzer, member in zip(analyzers, embedded, strict=True):
        scores, same, _ = score_pairs(pairs, index, member.embeddings, found)
        members.append(MemberScores(analyzer.recogniser_card.id, scores, member.embeddings[found], labels))
    choice = choose_fusion(members[0], members[1], same)
    metrics = {"members": list(choice.members), "weight": choice.weight, "impostor_spread": choice.impostor_spread,
               "score_weights": choice.score_weights, "devtrain_accuracy": choice.devtrain_accuracy,
               "member_accuracy": choice.member_accuracy, "grid": choice.grid}
    data = {"pairs": str(pairs_file), "images": len(names), "images_without_face": int((~found).sum())}
    return envelope("fuse", command, data, metrics, analyzers[0],
                    extra_models=(analyzers[1].recogniser_card.id,)), choice
