"""`faceatlas eval detect | attributes | landmarks | pose`: the figures of the detector, the attribute heads, the
landmarks and head pose, each as a short table and a versioned JSON result (`-o`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from faceatlas.cli.common import ProfileOption, ThreadsOption, console, fail, output, progress_callback, styled
from faceatlas.cli.eval_common import (
    AnnotatedImagesOption,
    OutputOption,
    PlotOption,
    analyzer_for,
    command_line,
    eval_app,
    failures_line,
    finish,
    rate,
    run,
)
from faceatlas.errors import FaceAtlasError
from faceatlas.pipeline import FaceAnalyzer


@eval_app.command("detect")
def eval_detect(
    boxes: Annotated[Path, typer.Option(help="Ground truth: CSV image,xmin,ymin,xmax,ymax or a folder of VOC XML.")],
    images: Annotated[Path, typer.Option(help="Folder the image names are relative to.")],
    min_face: Annotated[float, typer.Option(help="Boxes with a shorter side below this are ignored.")] = 10.0,
    iou: Annotated[float, typer.Option(help="IoU for a match.")] = 0.5,
    profile: ProfileOption = None,
    threads: ThreadsOption = None,
    out: OutputOption = None,
    plot: PlotOption = None,
) -> None:
    """Face detection: AP at IoU 0.5 (all-point), recall by face size, false positives per image."""
    from faceatlas.eval.perception import run_detect

    analyzer = analyzer_for(profile, threads)
    result = run(lambda p: run_detect(analyzer, boxes, images, min_face=min_face, iou=iou, command=command_line(),
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
    finish(result, out, plot)


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
    profile: ProfileOption = None,
    threads: ThreadsOption = None,
    out: OutputOption = None,
) -> None:
    """Attribute heads against labels: age MAE by band, gender and expression accuracy, confusion, per group."""
    from faceatlas.attributes import HEADS
    from faceatlas.eval.attributes import load_attribute_labels
    from faceatlas.eval.perception import run_attributes

    try:
        loaded = load_attribute_labels(labels, gender_codes, group_column, group_codes, images)
        analyzer = FaceAnalyzer(profile=profile, threads=threads, heads=heads or HEADS)
    except (FaceAtlasError, ValueError, OSError) as error:
        raise fail(error) from None
    result = run(lambda p: run_attributes(analyzer, loaded, command=command_line(), data={"labels": str(labels)},
                                           progress=progress_callback(p, "describing")))
    m = result["metrics"]
    table = Table("", "images", "faces found", "age MAE", "gender accuracy", "expression accuracy")
    table.add_row("FaceAtlas", str(m["images"]), str(m["faces_found"]), rate(m.get("age", {}).get("mae"), ".2f"),
                  rate(m.get("gender", {}).get("accuracy"), ".4f"), rate(m.get("expression", {}).get("accuracy"),
                                                                          ".4f"))
    if "network_alone" in m:  # the same faces, the networks alone: what the heads add
        alone = m["network_alone"]
        table.add_row("networks alone", "", "", rate(alone.get("age_mae"), ".2f"),
                      rate(alone.get("gender_accuracy"), ".4f"), rate(alone.get("expression_accuracy"), ".4f"))
    output.print(table)
    if "age" in m:
        bands = Table("age band", "faces", "MAE", "bias", "mean age_std")
        for band in m["age"]["by_band"]:
            if band["faces"]:
                bands.add_row(f"{band['from']}-{band['to'] or ''}", str(band["faces"]), f"{band['mae']:.2f}",
                              f"{band['bias']:+.2f}", f"{band['mean_age_std']:.2f}")
        output.print(bands)
    failures_line({"images": m["images"], "images_without_face": result["data"]["images_without_face"]})
    if result["data"]["images_unreadable"]:
        console.print(styled(f"{result['data']['images_unreadable']} images missing or unreadable", "yellow",
                             " (listed under data.failures in the JSON)"))
    finish(result, out, None)


@eval_app.command("landmarks")
def eval_landmarks(
    points: Annotated[Path, typer.Option(help="MTFL testing.txt-style annotations, the LFW-MTFL labels CSV, or "
                                              "dlib's 68-point XML.")],
    images: AnnotatedImagesOption = None,
    source: Annotated[str, typer.Option(help="detector: the profile's five points; mesh: points read off the "
                                             "468-point face mesh (needed for 68 points).")] = "detector",
    profile: ProfileOption = None,
    threads: ThreadsOption = None,
    out: OutputOption = None,
) -> None:
    """Landmark error (NME by inter-ocular distance), per point and MTFL pose bin, and failure rate."""
    from faceatlas.eval.landmarks import load_landmarks
    from faceatlas.eval.perception import run_landmarks

    try:
        truth = load_landmarks(points, images)
    except (ValueError, OSError) as error:
        raise fail(error) from None
    analyzer = analyzer_for(profile, threads)
    result = run(lambda p: run_landmarks(analyzer, truth, source, command=command_line(), data={"points": str(points)},
                                          progress=progress_callback(p, "detecting")))
    m = result["metrics"]
    table = Table("profile", "source", "faces", "coverage", "NME", "median", "failures (>0.1)",
                  *[f"pose {k}" for k in m["by_pose_bin"]])
    table.add_row(analyzer.profile, source, str(m["faces"]), f"{m['coverage']:.3f}", rate(m["nme"], ".4f"),
                  rate(m["nme_median"], ".4f"), rate(m["failure_rate"], ".3f"),
                  *[f"{v['nme']:.4f} ({v['faces']})" for v in m["by_pose_bin"].values()])
    output.print(table)
    finish(result, out, None)


@eval_app.command("pose")
def eval_pose(
    points: Annotated[Path, typer.Option(help="Annotations with MTFL pose bins (MTFL testing.txt).")],
    images: AnnotatedImagesOption = None,
    edges_from: Annotated[Path | None, typer.Option(help="Fit the yaw bin edges on these labels first (e.g. the "
                                                         "LFW-MTFL CSV) instead of using the built-in ones.")] = None,
    edges_images: Annotated[Path | None, typer.Option(help="Image folder of --edges-from.")] = None,
    reference: Annotated[list[Path] | None, typer.Option(help="FSA-Net ONNX file(s) to compare against "
                                                              "(repeat to average several).")] = None,
    profile: ProfileOption = None,
    threads: ThreadsOption = None,
    out: OutputOption = None,
) -> None:
    """Head pose from the face mesh: MTFL pose-bin accuracy, mirror symmetry and agreement with a reference model."""
    from faceatlas.eval import pose
    from faceatlas.eval.landmarks import load_landmarks
    from faceatlas.eval.perception import fit_pose_edges, run_pose
    from faceatlas.eval.pose_reference import FsaNetReference

    try:
        truth = load_landmarks(points, images)
        reference_model = FsaNetReference(reference, threads) if reference else None
    except (ValueError, OSError) as error:
        raise fail(error) from None
    analyzer = analyzer_for(profile, threads)
    edges = pose.YAW_EDGES
    data = {"points": str(points), "reference": [str(p) for p in reference or []]}
    if edges_from is not None:
        try:
            fit_truth = load_landmarks(edges_from, edges_images)
        except (ValueError, OSError) as error:
            raise fail(error) from None
        edges = run(lambda p: fit_pose_edges(analyzer, fit_truth, progress_callback(p, "fitting edges")))
        data["edges_from"], data["edges_fitted_deg"] = str(edges_from), list(edges)
    result = run(lambda p: run_pose(analyzer, truth, tuple(edges), reference_model, command=command_line(), data=data,
                                     progress=progress_callback(p, "analysing")))
    m = result["metrics"]
    if m["bins"]:
        b = m["bins"]
        table = Table("faces", "yaw edges", "bin accuracy", "balanced", "within one bin", "Spearman yaw~bin",
                      *[f"median yaw, bin {k}" for k in b["median_yaw_by_bin"]])
        table.add_row(str(b["faces"]), f"{b['edges_deg'][0]:g}/{b['edges_deg'][1]:g}", f"{b['accuracy']:.3f}",
                      f"{b['balanced_accuracy']:.3f}", f"{b['within_one_bin']:.3f}",
                      rate(b["spearman_yaw_vs_bin"], ".3f"),
                      *[f"{v:+.1f}" for v in b["median_yaw_by_bin"].values()])
        output.print(table)
    mirror = m["mirror"]
    output.print(f"mirror symmetry ({mirror['faces']} faces): |yaw + yaw'| {mirror['yaw_mae']:.2f}°, "
                 f"|pitch - pitch'| {mirror['pitch_mae']:.2f}°, |roll + roll'| {mirror['roll_mae']:.2f}°")
    if m["reference"]:
        r = m["reference"]
        output.print("reference agreement: " + ", ".join(
            f"{a} {r[a + '_mad']:.2f}° (r={r[a + '_correlation']:.3f})" for a in pose.ANGLES))
    finish(result, out, None)
