"""`faceatlas eval verify | identify | calibrate | fuse | budget | fairness | report`: every published recognition
figure and shipped threshold comes from these commands. Each prints a short table, writes a versioned JSON result
(`-o`), and with `--plot DIR` PNG figures."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from faceatlas.cli.common import (
    CalibrateOption,
    ProfileOption,
    ThreadsOption,
    console,
    fail,
    output,
    progress_callback,
    styled,
)
from faceatlas.cli.eval_common import (
    CacheOption,
    OutputOption,
    PlotOption,
    analyzer_for,
    command_line,
    eval_app,
    failures_line,
    finish,
    rate,
    ratio,
    run,
)
from faceatlas.models import registry


@eval_app.command("verify")
def eval_verify(
    pairs: Annotated[Path, typer.Option(help="LFW pairs file (View 1 or View 2) or CSV with a,b,same[,fold].")],
    images: Annotated[Path, typer.Option(help="Folder the pair paths are relative to.")],
    folds: Annotated[int, typer.Option(help="Folds for lists without their own (LFW View 2 keeps its 10).",
                                       min=2)] = 10,
    profile: ProfileOption = None,
    threads: ThreadsOption = None,
    cache: CacheOption = None,
    out: OutputOption = None,
    plot: PlotOption = None,
) -> None:
    """1:1 verification: k-fold accuracy (thresholds from the other folds), ROC, DET, EER, TAR at FAR."""
    from faceatlas.eval.harness import run_verify

    analyzer = analyzer_for(profile, threads)
    result = run(lambda p: run_verify(analyzer, pairs, images, folds, command_line(), cache,
                                       progress_callback(p, "embedding")))
    m = result["metrics"]
    table = Table("profile", "pairs", "accuracy", "± std", "EER", *[f"TAR@FAR {r['far']:g}" for r in m["tar_at_far"]])
    table.add_row(analyzer.profile, f"{m['pairs']:,}", f"{m['accuracy_kfold']['mean']:.4f}",
                  f"{m['accuracy_kfold']['std']:.4f}", f"{m['eer']['eer']:.4f}",
                  *[f"{r['tar']:.4f}" + ("" if r["reliable"] else "*") for r in m["tar_at_far"]])
    output.print(table)
    if any(not r["reliable"] for r in m["tar_at_far"]):
        console.print("* fewer than 30 false matches allowed at that FAR: not reliable")
    failures_line(result["data"])
    finish(result, out, plot)


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
    profile: ProfileOption = None,
    threads: ThreadsOption = None,
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
    analyzer = analyzer_for(profile, threads)
    result = run(lambda p: run_identify(analyzer, split, command_line(), cache, progress_callback(p, "embedding")))
    m = result["metrics"]
    table = Table("profile", "gallery", "mated probes", "non-mated", "rank-1",
                  *[f"FNIR@FPIR {r['fpir']:g}" for r in m["fnir_at_fpir"]])
    table.add_row(analyzer.profile, f"{m['gallery_identities']:,}", f"{m['mated_probes']:,}",
                  f"{m['nonmated_probes']:,}",
                  "-" if m["rank1"] is None else f"{m['rank1']:.4f}",
                  *[f"{r['fnir']:.4f}" + ("" if r["reliable"] else "*") for r in m["fnir_at_fpir"]])
    output.print(table)
    if any(not r["reliable"] for r in m["fnir_at_fpir"]):
        console.print("* fewer than 30 false positives allowed at that FPIR: not reliable")
    failures_line(result["data"])
    finish(result, out, plot)


@eval_app.command("calibrate")
def eval_calibrate(
    identities: Annotated[Path, typer.Option(help="Folder of per-person folders, or a CSV with path,identity.")],
    model: Annotated[str, typer.Option(help="Recogniser model id to calibrate.")],
    profile: ProfileOption = None,
    data_name: Annotated[str | None, typer.Option(help="How the data is named in the card.")] = None,
    write: Annotated[bool, typer.Option(help="Write the table into the model's card.")] = True,
    cache: CacheOption = None,
    threads: ThreadsOption = None,
    out: OutputOption = None,
) -> None:
    """Score every genuine and impostor pair of identity-labelled images and write thresholds at FMR 1e-2 … 1e-6
    (each row only where at least 30 false matches back it), with each row's FMR confidence interval."""
    calibrate_and_write(model, identities, profile, threads, data_name, write, cache, out)


def calibrate_and_write(model: str, identities: Path, profile: str | None, threads: int | None,
                        data_name: str | None = None, write: bool = True, cache: Path | None = None,
                        out: Path | None = None) -> None:
    """Calibrate recogniser `model` on identity-labelled photos (front end of `profile`), print the table and write
    it into the model's card (`faceatlas eval calibrate`, `faceatlas models import --calibrate`)."""
    from faceatlas.eval.harness import run_calibrate

    analyzer = analyzer_for(profile, threads, recogniser=model)
    command = f"faceatlas eval calibrate --identities {identities} --model {model} --profile {analyzer.profile}"
    if data_name:
        command += f" --data-name {shlex.quote(data_name)}"
    result, table = run(lambda p: run_calibrate(analyzer, identities, data_name, command, cache,
                                                 progress_callback(p, "embedding")))
    rows = Table("FMR", "threshold", "FNMR", "FMR 95 % interval", "impostor pairs")
    for row in table.rows:
        interval = f"{row.fmr_interval[0]:.2g} … {row.fmr_interval[1]:.2g}" if row.fmr_interval else "-"
        rows.add_row(f"{row.fmr:g}", f"{row.threshold:.4f}", f"{row.fnmr:.4f}", interval, f"{row.impostor_pairs:,}")
    output.print(rows)
    low, high = table.fmr_range
    console.print(f"{table.genuine_pairs:,} genuine pairs, {table.impostor_pairs:,} impostor pairs: supports FMR "
                  f"{low:g} … {high:g}; {result['data']['images_without_face']} images without a face, "
                  f"{result['data']['images_found_on_retry']} found only on retry")
    if write:
        card = registry.get_card(model).model_copy(update={"calibration": table})
        target = registry.card_path(model)
        card.to_file(target)
        console.print(f"wrote the table into {target}")
    finish(result, out, None)


@eval_app.command("fuse")
def eval_fuse(
    models: Annotated[list[str], typer.Option("--model", help="A member recogniser (give two).")],
    pairs: Annotated[Path, typer.Option(help="Development pairs (e.g. LFW View 1 pairsDevTrain.txt): the weight "
                                             "is chosen on these alone; an image's identity is its folder.")],
    images: Annotated[Path, typer.Option(help="Folder the pair paths are relative to.")],
    model_id: Annotated[str, typer.Option("--id", help="Id of the fused recogniser's card.")],
    calibrate: CalibrateOption = None,
    profile: ProfileOption = None,
    threads: ThreadsOption = None,
    cache: CacheOption = None,
    out: OutputOption = None,
) -> None:
    """Fuse two recognisers at score level: each member's cosine rescaled by its own impostor spread, the weight
    chosen on development pairs, written as a new recogniser card (then calibrated with --calibrate)."""
    from faceatlas.eval.fusion import fusion_card
    from faceatlas.eval.harness import run_fuse

    if len(models) != 2:
        raise fail(ValueError(f"give two --model, not {len(models)}"))
    existing = next((c for c in registry.list_cards() if c.id == model_id), None)
    if existing is not None and (existing.architecture != "fusion" or registry.bundled_card_path(model_id).is_file()):
        raise fail(ValueError(f"'{model_id}' is already a model; choose another --id"))  # before the long run
    first, second = (analyzer_for(profile, threads, recogniser=m) for m in models)
    result, choice = run(lambda p: run_fuse((first, second), pairs, images, command_line(), cache,
                                            progress_callback(p, "embedding")))
    table = Table("fused weight of " + models[0], "score weights", "accuracy (dev pairs)", *models)
    table.add_row(f"{choice.weight:g}", " / ".join(f"{w:.4f}" for w in choice.score_weights),
                  f"{choice.devtrain_accuracy:.4f}", *(f"{a:.4f}" for a in choice.member_accuracy))
    output.print(table)
    try:
        card = fusion_card(model_id, choice, (first.recogniser_card, second.recogniser_card), str(pairs))
    except ValueError as error:
        raise fail(error) from None
    target = registry.user_cards_dir() / f"{card.id}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    card.to_file(target)
    console.print(f"wrote the card {target}")
    finish(result, out, None)
    if calibrate is not None:
        calibrate_and_write(card.id, calibrate, profile, threads, cache=cache)


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
    from faceatlas.eval.perception import run_budget
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
    result = run(lambda p: run_budget(profiles or ["default", "fast", "retinaface"], images, budget_ms,
                                      threads or [1, 2], limit, accuracy, command_line(),
                                      progress_callback(p, "timing")))
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
    finish(result, out, None)


@eval_app.command("fairness")
def eval_fairness(
    identities: Annotated[Path, typer.Option(help="Per-person folders or path,identity CSV (all pairs are scored).")],
    groups: Annotated[Path, typer.Option(help="CSV with a group column and an identity or image-path column.")],
    group_column: Annotated[str, typer.Option(help="The column holding the group label.")] = "group",
    key_column: Annotated[str | None, typer.Option(help="The identity or image-path column (default: the first "
                                                        "of identity, path, image, lfw_image).")] = None,
    profile: ProfileOption = None,
    threads: ThreadsOption = None,
    cache: CacheOption = None,
    out: OutputOption = None,
    plot: PlotOption = None,
) -> None:
    """FMR and FNMR per demographic group at the recogniser's calibrated global thresholds, and max/min ratios."""
    from faceatlas.eval.harness import run_fairness

    analyzer = analyzer_for(profile, threads)
    result = run(lambda p: run_fairness(analyzer, identities, groups, group_column, key_column, command_line(), cache,
                                         progress_callback(p, "embedding")))
    m = result["metrics"]
    table = Table("group", "genuine", "impostor", *[f"FMR/FNMR @ {r['fmr_target']:g}" for r in m["ratios"]])
    for g in m["groups"]:
        cells = [f"{rate(a['fmr'], '.2e')}/{rate(a['fnmr'], '.4f')}" for a in g["at_threshold"]]
        table.add_row(g["group"], f"{g['genuine_pairs']:,}", f"{g['impostor_pairs']:,}", *cells)
    table.add_row("max/min", "", "", *[f"{ratio(r['fmr_max_min_ratio'])}/{ratio(r['fnmr_max_min_ratio'])}"
                                       for r in m["ratios"]])
    output.print(table)
    failures_line(result["data"])
    finish(result, out, plot)


def _milliseconds(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"unexpected argument {text!r}: budgets are numbers of milliseconds") from None



@eval_app.command("report")
def eval_report(
    results: Annotated[list[Path], typer.Argument(help="JSON results of `faceatlas eval` commands.")],
    out: Annotated[Path, typer.Option("--output", "-o", help="The HTML page to write.")] = Path("report.html"),
    title: Annotated[str, typer.Option(help="Page title.")] = "FaceAtlas evaluation report",
) -> None:
    """One self-contained HTML page (plots embedded): models, licences, data, every metric, limitations. Files that
    are not eval results (a benchmark's JSON in the same folder) are listed as skipped; none at all is exit 2."""
    from faceatlas.eval.report import write_report
    from faceatlas.eval.results import read_result

    loaded = []
    for path in results:
        try:
            loaded.append(read_result(path))
        except ValueError as error:
            console.print(styled("  skipped", "yellow", f" {error}"))
    if not loaded:
        raise fail(ValueError(f"none of the {len(results)} files is a faceatlas eval result"))
    write_report(loaded, out, title)
    console.print(f"wrote {out} ({len(loaded)} results)")
