"""`faceatlas eval ...`: every published figure and shipped threshold comes from these commands.

Each prints a short table, writes a versioned JSON result (`-o`), and with `--plot DIR` PNG figures.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.progress import Progress
from rich.table import Table

from faceatlas.cli.common import (
    ProfileOption,
    ThreadsOption,
    console,
    fail,
    output,
    progress_bar,
    progress_callback,
    styled,
)
from faceatlas.config import get_settings
from faceatlas.errors import FaceAtlasError
from faceatlas.models import registry
from faceatlas.pipeline import FaceAnalyzer

T = TypeVar("T")
eval_app = typer.Typer(help="Measure: verification, identification, detection, calibration, time budgets, fairness "
                            "and an HTML report.", no_args_is_help=True)

OutputOption = Annotated[Path | None, typer.Option("--output", "-o", help="Where to write the JSON result "
                                                   "(default: faceatlas-eval-KIND.json).")]
PlotOption = Annotated[Path | None, typer.Option(help="Also write PNG figures into this folder.")]
CacheOption = Annotated[Path | None, typer.Option(help="Reuse and store per-image embeddings in this folder.")]
AnnotatedImagesOption = Annotated[Path | None, typer.Option(help="Folder the image paths are relative to (default: "
                                                                 "the annotation file's folder).")]


def _command() -> str:
    return "faceatlas " + " ".join(shlex.quote(arg) for arg in sys.argv[1:])


def _analyzer(profile: str, threads: int, recogniser: str | None = None) -> FaceAnalyzer:
    try:
        return FaceAnalyzer(profile=profile, threads=threads, recogniser=recogniser)
    except (FaceAtlasError, ValueError) as error:
        raise fail(error) from None


def _finish(result: dict, out: Path | None, plot: Path | None) -> None:
    from faceatlas.eval.results import write_result

    target = out or Path(f"faceatlas-eval-{result['kind']}.json")
    write_result(result, target)
    console.print(f"wrote {target}")
    if plot:
        from faceatlas.eval.plots import write_plots

        for path in write_plots(result, plot, target.stem):
            console.print(f"wrote {path}")


def _run(job: Callable[[Progress], T]) -> T:
    """Run a harness job under a progress bar, turning data and model errors into clear exits."""
    try:
        with progress_bar() as progress:
            return job(progress)
    except (FaceAtlasError, ValueError, FileNotFoundError) as error:
        raise fail(error) from None


def _failures_line(data: dict) -> None:
    if data.get("images_without_face"):
        console.print(styled(f"{data['images_without_face']} of {data['images']} images without a face", "yellow",
                             " (listed under data.failures in the JSON)"))


@eval_app.command("verify")
def eval_verify(
    pairs: Annotated[Path, typer.Option(help="LFW pairs file (View 1 or View 2) or CSV with a,b,same[,fold].")],
    images: Annotated[Path, typer.Option(help="Folder the pair paths are relative to.")],
    folds: Annotated[int, typer.Option(help="Folds for lists without their own (LFW View 2 keeps its 10).",
                                       min=2)] = 10,
    profile: ProfileOption = "default",
    threads: ThreadsOption = 0,
    cache: CacheOption = None,
    out: OutputOption = None,
    plot: PlotOption = None,
) -> None:
    """1:1 verification: k-fold accuracy (thresholds from the other folds), ROC, DET, EER, TAR at FAR."""
    from faceatlas.eval.harness import run_verify

    analyzer = _analyzer(profile, threads)
    result = _run(lambda p: run_verify(analyzer, pairs, images, folds, _command(), cache,
                                       progress_callback(p, "embedding")))
    m = result["metrics"]
    table = Table("profile", "pairs", "accuracy", "± std", "EER", *[f"TAR@FAR {r['far']:g}" for r in m["tar_at_far"]])
    table.add_row(profile, f"{m['pairs']:,}", f"{m['accuracy_kfold']['mean']:.4f}",
                  f"{m['accuracy_kfold']['std']:.4f}", f"{m['eer']['eer']:.4f}",
                  *[f"{r['tar']:.4f}" + ("" if r["reliable"] else "*") for r in m["tar_at_far"]])
    output.print(table)
    if any(not r["reliable"] for r in m["tar_at_far"]):
        console.print("* fewer than 30 false matches allowed at that FAR: not reliable")
    _failures_line(result["data"])
    _finish(result, out, plot)


@eval_app.command("identify")
def eval_identify(
    identities: Annotated[Path | None, typer.Option(help="Per-person folders or path,identity CSV: the split is "
                                                         "generated (first image enrolled, others probes, "
                                                         "single-image people distractors).")] = None,
    gallery: Annotated[Path | None, typer.Option(help="Enrolled images: path,identity CSV or per-person folders."
                                                 )] = None,
    probes: Annotated[Path | None, typer.Option(help="Probe images: path,identity CSV or per-person folders.")]
    = None,
    distractors: Annotated[Path | None, typer.Option(help="Non-mated probes (people not enrolled).")] = None,
    profile: ProfileOption = "default",
    threads: ThreadsOption = 0,
    cache: CacheOption = None,
    out: OutputOption = None,
    plot: PlotOption = None,
) -> None:
    """1:N identification: closed-set CMC and rank-1, open-set FNIR at FPIR 1e-1/1e-2/1e-3."""
    from faceatlas.eval.harness import identification_split, run_identify

    try:
        split = identification_split(gallery, probes, distractors, identities)
    except (ValueError, FileNotFoundError) as error:
        raise fail(error) from None
    analyzer = _analyzer(profile, threads)
    result = _run(lambda p: run_identify(analyzer, split, _command(), cache, progress_callback(p, "embedding")))
    m = result["metrics"]
    table = Table("profile", "gallery", "mated probes", "non-mated", "rank-1",
                  *[f"FNIR@FPIR {r['fpir']:g}" for r in m["fnir_at_fpir"]])
    table.add_row(profile, f"{m['gallery_identities']:,}", f"{m['mated_probes']:,}", f"{m['nonmated_probes']:,}",
                  "-" if m["rank1"] is None else f"{m['rank1']:.4f}",
                  *[f"{r['fnir']:.4f}" + ("" if r["reliable"] else "*") for r in m["fnir_at_fpir"]])
    output.print(table)
    if any(not r["reliable"] for r in m["fnir_at_fpir"]):
        console.print("* fewer than 30 false positives allowed at that FPIR: not reliable")
    _failures_line(result["data"])
    _finish(result, out, plot)


@eval_app.command("detect")
def eval_detect(
    boxes: Annotated[Path, typer.Option(help="Ground truth: CSV image,xmin,ymin,xmax,ymax or a folder of VOC XML.")],
    images: Annotated[Path, typer.Option(help="Folder the image names are relative to.")],
    min_face: Annotated[float, typer.Option(help="Boxes with a shorter side below this are ignored.")] = 10.0,
    iou: Annotated[float, typer.Option(help="IoU for a match.")] = 0.5,
    profile: ProfileOption = "default",
    threads: ThreadsOption = 0,
    out: OutputOption = None,
    plot: PlotOption = None,
) -> None:
    """Face detection: AP at IoU 0.5 (all-point), recall by face size, false positives per image."""
    from faceatlas.eval.harness import run_detect

    analyzer = _analyzer(profile, threads)
    result = _run(lambda p: run_detect(analyzer, boxes, images, min_face=min_face, iou=iou, command=_command(),
                                       progress=progress_callback(p, "detecting")))
    m = result["metrics"]
    table = Table("detector", "images", "faces", "AP", "recall", "precision", "FP/image",
                  *[f"recall {r['min_side']}-{r['max_side']}px" if r["max_side"] else f"recall {r['min_side']}+px"
                    for r in m["recall_by_size"]])
    table.add_row(result["pipeline"]["detector"], str(m["images"]), str(m["faces"]), f"{m['ap']:.4f}",
                  f"{m['recall']:.4f}", f"{m['precision']:.4f}", f"{m['fp_per_image']:.3f}",
                  *["-" if r["recall"] is None else f"{r['recall']:.3f} ({r['faces']})" for r in m["recall_by_size"]])
    output.print(table)
    if result["data"]["unreadable"]:
        console.print(styled(f"{len(result['data']['unreadable'])} unreadable images left out", "yellow"))
    _finish(result, out, plot)


@eval_app.command("calibrate")
def eval_calibrate(
    identities: Annotated[Path, typer.Option(help="Folder of per-person folders, or a CSV with path,identity.")],
    model: Annotated[str, typer.Option(help="Recogniser model id to calibrate.")],
    profile: Annotated[str, typer.Option(help="Profile whose detector, refiner and flip setting are used.")]
    = "default",
    data_name: Annotated[str | None, typer.Option(help="How the data is named in the card.")] = None,
    write: Annotated[bool, typer.Option(help="Write the table into the model's card.")] = True,
    cache: CacheOption = None,
    threads: ThreadsOption = 0,
    out: OutputOption = None,
) -> None:
    """Score every genuine and impostor pair of identity-labelled images and write thresholds at FMR 1e-2 … 1e-6
    (each row only where at least 30 false matches back it)."""
    from faceatlas.eval.harness import run_calibrate

    analyzer = _analyzer(profile, threads, recogniser=model)
    command = f"faceatlas eval calibrate --identities {identities} --model {model} --profile {profile}"
    if data_name:
        command += f" --data-name {shlex.quote(data_name)}"
    result, table = _run(lambda p: run_calibrate(analyzer, identities, data_name, command, cache,
                                                 progress_callback(p, "embedding")))
    rows = Table("FMR", "threshold", "FNMR", "impostor pairs")
    for row in table.rows:
        rows.add_row(f"{row.fmr:g}", f"{row.threshold:.4f}", f"{row.fnmr:.4f}", f"{row.impostor_pairs:,}")
    output.print(rows)
    console.print(f"{table.genuine_pairs:,} genuine pairs, {table.impostor_pairs:,} impostor pairs; "
                  f"{result['data']['images_without_face']} images without a face, "
                  f"{result['data']['images_found_on_retry']} found only on retry")
    if write:
        card = registry.get_card(model).model_copy(update={"calibration": table})
        target = (registry.bundled_card_path(model) if card.source.path is None
                  else get_settings().home / "cards" / f"{model}.json")
        card.to_file(target)
        console.print(f"wrote the table into {target}")
    _finish(result, out, None)


@eval_app.command("budget", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def eval_budget(
    ctx: typer.Context,
    images: Annotated[Path, typer.Option(help="Folder of photos to time (searched recursively).")],
    budget_ms: Annotated[list[float], typer.Option(help="Per-image time budgets in ms: --budget-ms 100 500 1000.")],
    profiles: Annotated[list[str] | None, typer.Option("--profile", help="Profiles to time (repeatable; default: "
                                                       "default, fast, retinaface).")] = None,
    threads: Annotated[list[int] | None, typer.Option(help="Thread counts (repeatable; default 1 and 2).")] = None,
    limit: Annotated[int, typer.Option(help="Time at most this many images.")] = 30,
    verify_results: Annotated[list[Path] | None, typer.Option("--verify", help="`eval verify` results giving "
                                                              "each profile's accuracy (repeatable).")] = None,
    out: OutputOption = None,
) -> None:
    """Latency (p50, p95) of each profile at 1 and 2 threads, and the most accurate profile within each budget."""
    from faceatlas.eval.harness import run_budget
    from faceatlas.eval.results import read_result

    accuracy = {}
    try:
        budget_ms = [*budget_ms, *(_milliseconds(arg) for arg in ctx.args)]
        for path in verify_results or []:
            result = read_result(path)
            if result["kind"] != "verify":
                raise ValueError(f"{path}: a {result['kind']} result, not a verify result")
            accuracy[result["pipeline"]["profile"]] = result["metrics"]["accuracy_kfold"]["mean"]
    except ValueError as error:
        raise fail(error) from None
    result = _run(lambda p: run_budget(profiles or ["default", "fast", "retinaface"], images, budget_ms,
                                       threads or [1, 2], limit, accuracy, _command(), progress_callback(p, "timing")))
    table = Table("profile", "threads", "p50 ms", "p95 ms", "accuracy")
    for row in result["metrics"]["latency"]:
        table.add_row(row["profile"], str(row["threads"]), f"{row['p50_ms']:.0f}", f"{row['p95_ms']:.0f}",
                      "-" if row["accuracy"] is None else f"{row['accuracy']:.4f}")
    output.print(table)
    choices = Table("budget ms", "threads", "best profile")
    for row in result["metrics"]["choices"]:
        choices.add_row(f"{row['budget_ms']:g}", str(row["threads"]),
                        row["profile"] or ("none fits" if accuracy else "none (give --verify results)"))
    output.print(choices)
    _finish(result, out, None)


@eval_app.command("fairness")
def eval_fairness(
    identities: Annotated[Path, typer.Option(help="Per-person folders or path,identity CSV (all pairs are scored).")],
    groups: Annotated[Path, typer.Option(help="CSV with a group column and an identity or image-path column.")],
    group_column: Annotated[str, typer.Option(help="The column holding the group label.")] = "group",
    key_column: Annotated[str | None, typer.Option(help="The identity or image-path column (default: the first "
                                                        "of identity, path, image, lfw_image).")] = None,
    profile: ProfileOption = "default",
    threads: ThreadsOption = 0,
    cache: CacheOption = None,
    out: OutputOption = None,
    plot: PlotOption = None,
) -> None:
    """FMR and FNMR per demographic group at the recogniser's calibrated global thresholds, and max/min ratios."""
    from faceatlas.eval.harness import run_fairness

    analyzer = _analyzer(profile, threads)
    result = _run(lambda p: run_fairness(analyzer, identities, groups, group_column, key_column, _command(), cache,
                                         progress_callback(p, "embedding")))
    m = result["metrics"]
    table = Table("group", "genuine", "impostor", *[f"FMR/FNMR @ {r['fmr_target']:g}" for r in m["ratios"]])
    for g in m["groups"]:
        cells = [f"{_rate(a['fmr'], '.2e')}/{_rate(a['fnmr'], '.4f')}" for a in g["at_threshold"]]
        table.add_row(g["group"], f"{g['genuine_pairs']:,}", f"{g['impostor_pairs']:,}", *cells)
    table.add_row("max/min", "", "", *[f"{_ratio(r['fmr_max_min_ratio'])}/{_ratio(r['fnmr_max_min_ratio'])}"
                                       for r in m["ratios"]])
    output.print(table)
    _failures_line(result["data"])
    _finish(result, out, plot)


def _milliseconds(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"unexpected argument {text!r}: budgets are numbers of milliseconds") from None


def _rate(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _ratio(value: float | None) -> str:
    return _rate(value, ".2f")


@eval_app.command("attributes")
def eval_attributes(
    labels: Annotated[Path, typer.Option(help="CSV with a path column and age/gender/expression columns, or a "
                                              "folder of expression class folders (FER2013 style).")],
    images: Annotated[Path | None, typer.Option(help="Folder the CSV's paths are relative to (default: its folder).")]
    = None,
    heads: Annotated[list[str] | None, typer.Option("--head", help="Heads to run (repeatable; default: all).")]
    = None,
    gender_codes: Annotated[str | None, typer.Option(help="Map coded genders, e.g. '0=male,1=female' (UTKFace).")]
    = None,
    group_column: Annotated[str | None, typer.Option(help="Column with a demographic group per image: every "
                                                          "figure is also reported per group.")] = None,
    group_codes: Annotated[str | None, typer.Option(help="Names for coded groups, e.g. '0=White,1=Black'.")] = None,
    profile: ProfileOption = "default",
    threads: ThreadsOption = 0,
    out: OutputOption = None,
) -> None:
    """Attribute heads against labels: age MAE by band, gender and expression accuracy, confusion, per group."""
    from faceatlas.attributes import HEADS
    from faceatlas.eval.attributes import load_attribute_labels
    from faceatlas.eval.harness import run_attributes

    try:
        loaded = load_attribute_labels(labels, gender_codes, group_column, group_codes, images)
        analyzer = FaceAnalyzer(profile=profile, threads=threads, heads=heads or HEADS)
    except (FaceAtlasError, ValueError, OSError) as error:
        raise fail(error) from None
    result = _run(lambda p: run_attributes(analyzer, loaded, command=_command(), data={"labels": str(labels)},
                                           progress=progress_callback(p, "describing")))
    m = result["metrics"]
    table = Table("images", "faces found", "age MAE", "gender accuracy", "expression accuracy")
    table.add_row(str(m["images"]), str(m["faces_found"]), _rate(m.get("age", {}).get("mae"), ".2f"),
                  _rate(m.get("gender", {}).get("accuracy"), ".4f"), _rate(m.get("expression", {}).get("accuracy"),
                                                                          ".4f"))
    output.print(table)
    if "age" in m:
        bands = Table("age band", "faces", "MAE", "bias", "mean age_std")
        for band in m["age"]["by_band"]:
            if band["faces"]:
                bands.add_row(f"{band['from']}-{band['to'] or ''}", str(band["faces"]), f"{band['mae']:.2f}",
                              f"{band['bias']:+.2f}", f"{band['mean_age_std']:.2f}")
        output.print(bands)
    _failures_line({"images": m["images"], "images_without_face": result["data"]["images_without_face"]})
    if result["data"]["images_unreadable"]:
        console.print(styled(f"{result['data']['images_unreadable']} images missing or unreadable", "yellow",
                             " (listed under data.failures in the JSON)"))
    _finish(result, out, None)


@eval_app.command("landmarks")
def eval_landmarks(
    points: Annotated[Path, typer.Option(help="MTFL testing.txt-style annotations, the LFW-MTFL labels CSV, or "
                                              "dlib's 68-point XML.")],
    images: AnnotatedImagesOption = None,
    source: Annotated[str, typer.Option(help="detector: the profile's five points; mesh: points read off the "
                                             "468-point face mesh (needed for 68 points).")] = "detector",
    profile: ProfileOption = "default",
    threads: ThreadsOption = 0,
    out: OutputOption = None,
) -> None:
    """Landmark error (NME by inter-ocular distance), per point and MTFL pose bin, and failure rate."""
    from faceatlas.eval.harness import run_landmarks
    from faceatlas.eval.landmarks import load_landmarks

    try:
        truth = load_landmarks(points, images)
    except (ValueError, OSError) as error:
        raise fail(error) from None
    analyzer = _analyzer(profile, threads)
    result = _run(lambda p: run_landmarks(analyzer, truth, source, command=_command(), data={"points": str(points)},
                                          progress=progress_callback(p, "detecting")))
    m = result["metrics"]
    table = Table("profile", "source", "faces", "coverage", "NME", "median", "failures (>0.1)",
                  *[f"pose {k}" for k in m["by_pose_bin"]])
    table.add_row(profile, source, str(m["faces"]), f"{m['coverage']:.3f}", _rate(m["nme"], ".4f"),
                  _rate(m["nme_median"], ".4f"), _rate(m["failure_rate"], ".3f"),
                  *[f"{v['nme']:.4f} ({v['faces']})" for v in m["by_pose_bin"].values()])
    output.print(table)
    _finish(result, out, None)


@eval_app.command("pose")
def eval_pose(
    points: Annotated[Path, typer.Option(help="Annotations with MTFL pose bins (MTFL testing.txt).")],
    images: AnnotatedImagesOption = None,
    edges_from: Annotated[Path | None, typer.Option(help="Fit the yaw bin edges on these labels first (e.g. the "
                                                         "LFW-MTFL CSV) instead of using the built-in ones.")] = None,
    edges_images: Annotated[Path | None, typer.Option(help="Image folder of --edges-from.")] = None,
    reference: Annotated[list[Path] | None, typer.Option(help="FSA-Net ONNX file(s) to compare against "
                                                              "(repeat to average several).")] = None,
    profile: ProfileOption = "default",
    threads: ThreadsOption = 0,
    out: OutputOption = None,
) -> None:
    """Head pose from the face mesh: MTFL pose-bin accuracy, mirror symmetry and agreement with a reference model."""
    from faceatlas.eval import pose
    from faceatlas.eval.harness import fit_pose_edges, run_pose
    from faceatlas.eval.landmarks import load_landmarks
    from faceatlas.eval.pose_reference import FsaNetReference

    try:
        truth = load_landmarks(points, images)
        reference_model = FsaNetReference(reference, threads) if reference else None
    except (ValueError, OSError) as error:
        raise fail(error) from None
    analyzer = _analyzer(profile, threads)
    edges = pose.YAW_EDGES
    data = {"points": str(points), "reference": [str(p) for p in reference or []]}
    if edges_from is not None:
        try:
            fit_truth = load_landmarks(edges_from, edges_images)
        except (ValueError, OSError) as error:
            raise fail(error) from None
        edges = _run(lambda p: fit_pose_edges(analyzer, fit_truth, progress_callback(p, "fitting edges")))
        data["edges_from"], data["edges_fitted_deg"] = str(edges_from), list(edges)
    result = _run(lambda p: run_pose(analyzer, truth, tuple(edges), reference_model, command=_command(), data=data,
                                     progress=progress_callback(p, "analysing")))
    m = result["metrics"]
    if m["bins"]:
        b = m["bins"]
        table = Table("faces", "yaw edges", "bin accuracy", "balanced", "within one bin", "Spearman yaw~bin",
                      *[f"median yaw, bin {k}" for k in b["median_yaw_by_bin"]])
        table.add_row(str(b["faces"]), f"{b['edges_deg'][0]:g}/{b['edges_deg'][1]:g}", f"{b['accuracy']:.3f}",
                      f"{b['balanced_accuracy']:.3f}", f"{b['within_one_bin']:.3f}",
                      _rate(b["spearman_yaw_vs_bin"], ".3f"),
                      *[f"{v:+.1f}" for v in b["median_yaw_by_bin"].values()])
        output.print(table)
    mirror = m["mirror"]
    output.print(f"mirror symmetry ({mirror['faces']} faces): |yaw + yaw'| {mirror['yaw_mae']:.2f}°, "
                 f"|pitch - pitch'| {mirror['pitch_mae']:.2f}°, |roll + roll'| {mirror['roll_mae']:.2f}°")
    if m["reference"]:
        r = m["reference"]
        output.print("reference agreement: " + ", ".join(
            f"{a} {r[a + '_mad']:.2f}° (r={r[a + '_correlation']:.3f})" for a in pose.ANGLES))
    _finish(result, out, None)


@eval_app.command("report")
def eval_report(
    results: Annotated[list[Path], typer.Argument(help="JSON results of `faceatlas eval` commands.")],
    out: Annotated[Path, typer.Option("--output", "-o", help="The HTML page to write.")] = Path("report.html"),
    title: Annotated[str, typer.Option(help="Page title.")] = "FaceAtlas evaluation report",
) -> None:
    """One self-contained HTML page (plots embedded): models, licences, data, every metric, limitations."""
    from faceatlas.eval.report import write_report
    from faceatlas.eval.results import read_result

    try:
        loaded = [read_result(path) for path in results]
    except ValueError as error:
        raise fail(error) from None
    write_report(loaded, out, title)
    console.print(f"wrote {out} ({len(loaded)} results)")
