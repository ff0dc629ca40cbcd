"""`faceatlas eval report`: one self-contained HTML page (plots embedded) from eval results, in the spirit of a model
card: pipeline, models and licences, data, every metric, disaggregated results, limitations."""

from __future__ import annotations

import base64
import html
from pathlib import Path

LIMITATIONS = (
    "Figures hold for the data they were measured on; faces unlike it (age, pose, image quality, capture device, "
    "demographics) may see different error rates. Recalibrate on data like yours: `faceatlas eval calibrate`.",
    "Rates at low FMR rest on the impostor counts shown; rows with fewer than 30 false matches at their threshold are "
    "marked not reliable, and calibration tables leave them out.",
    "LFW is celebrity press photos, mostly frontal and well lit; it over-represents adult, lighter-skinned men.",
    "Group labels in fairness reports are the labels of the data set, not self-declared, and cover few groups.",
)


def _e(value: object) -> str:
    return html.escape(str(value))


def _number(value: object, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) < 1e-3 and value else f"{value:.{digits}f}".rstrip("0").rstrip(".")
    if isinstance(value, int):
        return f"{value:,}"
    return _e(value)


def _table(header: list[str], rows: list[list[object]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_number(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _images(result: dict) -> str:
    from faceatlas.eval.plots import figures, png_bytes  # matplotlib loads only when a report is drawn

    tags = []
    for name, fig in figures(result).items():
        data = base64.b64encode(png_bytes(fig)).decode()
        tags.append(f'<img alt="{_e(name)}" src="data:image/png;base64,{data}">')
    return f'<div class="plots">{"".join(tags)}</div>' if tags else ""


def _verify(m: dict) -> str:
    k = m["accuracy_kfold"]
    parts = [f"<p>{m['pairs']:,} pairs ({m['genuine_pairs']:,} genuine, {m['impostor_pairs']:,} impostor), "
             f"{m.get('pairs_with_missing_face', 0)} with an image where no face was found (scored as rejections).</p>",
             _table(["accuracy (k-fold)", "std", "folds", "EER"],
                    [[k["mean"], k["std"], len(k["folds"]), m["eer"]["eer"]]]),
             _table(["FAR", "TAR", "threshold", "impostor pairs", "reliable"],
                    [[r["far"], r["tar"], r["threshold"], r["impostor_pairs"], "yes" if r["reliable"] else "no"]
                     for r in m["tar_at_far"]])]
    if m.get("at_calibrated_thresholds"):
        parts.append(_table(["calibrated FMR", "threshold", "FMR here", "FNMR here"],
                            [[r["fmr_target"], r["threshold"], r["fmr"], r["fnmr"]]
                             for r in m["at_calibrated_thresholds"]]))
    return "".join(parts)


def _identify(m: dict) -> str:
    return (_table(["gallery identities", "mated probes", "non-mated probes", "rank-1", "rank-5"],
                   [[m["gallery_identities"], m["mated_probes"], m["nonmated_probes"], m["rank1"],
                     m["cmc"][4] if len(m["cmc"]) > 4 else None]])
            + _table(["FPIR", "FNIR", "threshold", "non-mated searches", "reliable"],
                     [[r["fpir"], r["fnir"], r["threshold"], r["nonmated_searches"], "yes" if r["reliable"] else "no"]
                      for r in m["fnir_at_fpir"]]))


def _detect(m: dict) -> str:
    return (_table(["images", "faces", "AP@0.5", "recall", "precision", "FP / image", "ms / image"],
                   [[m["images"], m["faces"], m["ap"], m["recall"], m["precision"], m["fp_per_image"],
                     m["ms_per_image_median"]]])
            + _table(["face size (px)", "faces", "recall"],
                     [[f"{r['min_side']}-{r['max_side'] or 'up'}", r["faces"], r["recall"]]
                      for r in m["recall_by_size"]]))


def _calibrate(m: dict) -> str:
    return (f"<p>{_e(m['model'])}: {m['genuine_pairs']:,} genuine and {m['impostor_pairs']:,} impostor pairs; "
            f"{_e(m['data'])}</p>"
            + _table(["FMR", "threshold", "FNMR", "impostor pairs"],
                     [[r["fmr"], r["threshold"], r["fnmr"], r["impostor_pairs"]] for r in m["rows"]]))


def _budget(m: dict) -> str:
    return (_table(["profile", "threads", "p50 ms", "p95 ms", "accuracy"],
                   [[r["profile"], r["threads"], r["p50_ms"], r["p95_ms"], r["accuracy"]] for r in m["latency"]])
            + _table(["budget ms", "threads", "best profile", "accuracy", "p95 ms"],
                     [[r["budget_ms"], r["threads"], r["profile"] or "none fits", r["accuracy"], r["p95_ms"]]
                      for r in m["choices"]]))


def _fairness(m: dict) -> str:
    rows = []
    for group in m["groups"]:
        for at in group["at_threshold"]:
            rows.append([group["group"], at["fmr_target"], at["threshold"], at["fmr"], at["fnmr"],
                         group["genuine_pairs"], group["impostor_pairs"]])
    return (_table(["group", "global FMR", "threshold", "FMR in group", "FNMR in group", "genuine pairs",
                    "impostor pairs"], rows)
            + _table(["global FMR", "FMR max/min", "FNMR max/min", "FMR range", "FNMR range"],
                     [[r["fmr_target"], r["fmr_max_min_ratio"], r["fnmr_max_min_ratio"],
                       f"{_number(r['fmr_min'])} - {_number(r['fmr_max'])}",
                       f"{_number(r['fnmr_min'])} - {_number(r['fnmr_max'])}"] for r in m["ratios"]]))


def _attributes(m: dict) -> str:
    parts = [_table(["images", "faces found", "coverage"], [[m["images"], m["faces_found"], m["coverage"]]])]
    if "age" in m:
        parts.append(_table(["age band", "faces", "MAE", "bias", "mean age_std"],
                            [[f"{b['from']}-{b['to'] or 'up'}", b["faces"], b["mae"], b["bias"], b["mean_age_std"]]
                             for b in m["age"]["by_band"] if b["faces"]]))
    for name in ("age", "gender", "expression"):
        if name not in m:
            continue
        if name != "age":
            parts.append(f"<p>{name} accuracy {_number(m[name]['accuracy'])} over {m[name]['faces']:,} faces</p>")
            parts.append(_table(["true \\ predicted", *m[name]["labels"]],
                                [[label, *row] for label, row in zip(m[name]["labels"], m[name]["confusion"],
                                                                     strict=True)]))
        groups = m[name].get("by_group")
        if groups:
            metric = groups["kind"]
            parts.append(_table([f"{name} by group", "faces", metric],
                                [[g["group"], g["count"], g[metric]] for g in groups["groups"]]))
    return "".join(parts)


def _landmarks(m: dict) -> str:
    return (_table(["faces", "coverage", "NME", "median NME", "failure rate (NME > 0.1)"],
                   [[m["faces"], m["coverage"], m["nme"], m["nme_median"], m["failure_rate"]]])
            + _table(["point", "NME"], [[name, value] for name, value in m["per_point"].items()])
            + _table(["pose bin", "faces", "NME"], [[k, v["faces"], v["nme"]] for k, v in m["by_pose_bin"].items()]))


def _pose(m: dict) -> str:
    bins = m["bins"]
    parts = [_table(["faces", "yaw edges (deg)", "bin accuracy", "balanced accuracy", "within one bin",
                     "Spearman yaw vs bin"],
                    [[bins["faces"], " / ".join(_number(e) for e in bins["edges_deg"]), bins["accuracy"],
                      bins["balanced_accuracy"], bins["within_one_bin"], bins["spearman_yaw_vs_bin"]]]),
             _table(["pose bin", "median yaw (deg)"], [[k, v] for k, v in bins["median_yaw_by_bin"].items()])]
    for name, title in (("mirror", "mirrored image: error against the negated angles"),
                        ("reference", "against the reference model")):
        if m.get(name):
            parts.append(_table([title, "value"], [[k, v] for k, v in m[name].items()]))
    return "".join(parts)


SECTIONS = {"verify": ("Verification (1:1)", _verify), "identify": ("Identification (1:N)", _identify),
            "detect": ("Detection", _detect), "calibrate": ("Calibration", _calibrate),
            "budget": ("Time budgets", _budget), "fairness": ("Fairness: error rates by group", _fairness),
            "attributes": ("Attributes: age, gender, expression", _attributes),
            "landmarks": ("Five-point landmarks", _landmarks), "pose": ("Head pose", _pose)}


def _section(result: dict) -> str:
    title, render = SECTIONS[result["kind"]]
    pipeline = result.get("pipeline")
    front = (f"profile <b>{_e(pipeline['profile'])}</b>: detector {_e(pipeline['detector'])}, refiner "
             f"{_e(pipeline['refiner'])}, recogniser {_e(pipeline['recogniser'])}, flip {_e(pipeline['flip'])}"
             if pipeline else "")
    data = result.get("data", {})
    data_line = ", ".join(f"{_e(k)}: {_number(v)}" for k, v in data.items() if not isinstance(v, dict | list))
    return (f"<section><h2>{_e(title)}</h2><p class='meta'>{front}<br>data: {data_line}<br>"
            f"command: <code>{_e(result.get('command', ''))}</code><br>{_e(result['created'])}, "
            f"{_e(result['machine'].get('processor'))}, {result['machine'].get('logical_cpus')} CPUs</p>"
            f"{render(result['metrics'])}{_images(result)}</section>")


def _licence(model: dict) -> str:
    """The licence, and for a restrictive one that it was accepted (when, by whom)."""
    if not model.get("restricted_licence"):
        return model["licence"]
    return (f"{model['licence']} — RESTRICTED ({model['restricted_licence']}), accepted "
            f"{model.get('licence_accepted') or 'through the setting'}")


def build_report(results: list[dict], title: str = "FaceAtlas evaluation report") -> str:
    models: dict[str, dict] = {}
    for result in results:
        for model in result.get("models", []):
            models[model["id"]] = model
    model_rows = [[m["id"], m["task"], _licence(m), f"{m.get('distribution') or 'user file'} {m.get('version') or ''}",
                   (m.get("sha256") or "")[:16], m.get("runtime", "")] for m in models.values()]
    limitations = "".join(f"<li>{_e(text)}</li>" for text in LIMITATIONS)
    style = ("body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}"
             "table{border-collapse:collapse;margin:.8em 0}td,th{border:1px solid #ccc;padding:.25em .6em;"
             "text-align:right}th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}"
             ".meta{color:#555;font-size:.9em}.plots img{max-width:49%;margin:.2em}code{background:#f6f6f6}")
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{_e(title)}</title>"
            f"<style>{style}</style></head><body><h1>{_e(title)}</h1>"
            f"<h2>Models</h2>{_table(['model', 'task', 'licence', 'source', 'sha256', 'runtime'], model_rows)}"
            + "".join(_section(r) for r in results)
            + f"<h2>Limitations</h2><ul>{limitations}</ul></body></html>\n")


def write_report(results: list[dict], path: Path, title: str = "FaceAtlas evaluation report") -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(build_report(results, title))
