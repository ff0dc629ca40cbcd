"""PNG figures of eval results (matplotlib, headless): ROC, DET, score histograms, CMC, recall by size, fairness."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from statistics import NormalDist

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

_probit = np.vectorize(NormalDist().inv_cdf, otypes=[float])


def _roc(ax: plt.Axes, curves: list[tuple[str, dict]]) -> None:
    for label, curve in curves:
        fmr, tmr = np.asarray(curve["fmr"]), np.asarray(curve["tmr"])
        keep = fmr > 0
        ax.plot(fmr[keep], tmr[keep], label=label)
    ax.set_xscale("log")
    ax.set_xlabel("false match rate (FMR)")
    ax.set_ylabel("true match rate (1 - FNMR)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)


def _det(ax: plt.Axes, curves: list[tuple[str, dict]]) -> None:
    """Detection error trade-off on normal-deviate axes (the NIST convention)."""
    ticks = np.array([1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 5e-2, 0.2, 0.5])
    low = {"x": 1.0, "y": 1.0}
    for label, curve in curves:
        fmr, fnmr = np.asarray(curve["fmr"]), 1 - np.asarray(curve["tmr"])
        keep = (fmr > 0) & (fnmr > 0) & (fmr < 1) & (fnmr < 1)
        if keep.any():
            low = {"x": min(low["x"], fmr[keep].min()), "y": min(low["y"], fnmr[keep].min())}
        ax.plot(_probit(fmr[keep]), _probit(fnmr[keep]), label=label)
    for axis, set_ticks in (("x", ax.set_xticks), ("y", ax.set_yticks)):
        shown = ticks[ticks >= ticks[max(0, np.searchsorted(ticks, low[axis]) - 1)]]
        set_ticks(_probit(shown), [f"{t:g}" for t in shown])
    ax.tick_params(axis="x", labelrotation=45)
    ax.set_xlabel("FMR")
    ax.set_ylabel("FNMR")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper right", fontsize=8)


def _histogram(ax: plt.Axes, histogram: dict) -> None:
    edges = np.asarray(histogram["edges"])
    for kind, colour in (("genuine", "tab:green"), ("impostor", "tab:red")):
        counts = np.asarray(histogram[kind], float)
        density = counts / max(counts.sum(), 1)
        ax.stairs(density, edges, fill=True, alpha=0.4, color=colour, label=f"{kind} ({int(counts.sum()):,})")
    ax.set_xlabel("score (cosine)")
    ax.set_ylabel("fraction of pairs")
    ax.legend(fontsize=8)


def figures(result: dict) -> dict[str, Figure]:
    """Named figures for one result (an empty dict for kinds without curves)."""
    kind, metrics = result["kind"], result["metrics"]
    out: dict[str, Figure] = {}

    def figure(name: str, draw: Callable[[plt.Axes], None]) -> None:
        fig, ax = plt.subplots(figsize=(5.5, 4), dpi=100)
        draw(ax)
        fig.tight_layout()
        out[name] = fig

    profile = (result.get("pipeline") or {}).get("profile", "")
    if kind == "verify":
        figure("roc", lambda ax: _roc(ax, [(profile, metrics["roc"])]))
        figure("det", lambda ax: _det(ax, [(profile, metrics["roc"])]))
        figure("histogram", lambda ax: _histogram(ax, metrics["histogram"]))
    elif kind == "identify" and metrics["cmc"]:
        def cmc(ax: plt.Axes) -> None:
            ax.plot(range(1, len(metrics["cmc"]) + 1), metrics["cmc"], marker="o")
            ax.set_xlabel("rank")
            ax.set_ylabel("identification rate")
            ax.grid(True, alpha=0.3)
        figure("cmc", cmc)
    elif kind == "detect":
        def bands(ax: plt.Axes) -> None:
            rows = [r for r in metrics["recall_by_size"] if r["recall"] is not None]
            ax.bar([f"{r['min_side']}-{r['max_side'] or ''}" for r in rows], [r["recall"] for r in rows])
            ax.set_xlabel("face size (shorter side, px)")
            ax.set_ylabel("recall")
            ax.set_ylim(0, 1)
        figure("recall_by_size", bands)
    elif kind == "fairness":
        curves = [(f"{g['group']} ({g['genuine_pairs']:,}/{g['impostor_pairs']:,})", g["roc"])
                  for g in metrics["groups"] if g["roc"] is not None and g["group"] != "(cross-group)"]
        if curves:
            figure("roc_by_group", lambda ax: _roc(ax, curves))
            figure("det_by_group", lambda ax: _det(ax, curves))
    return out


def png_bytes(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def write_plots(result: dict, folder: Path, stem: str) -> list[Path]:
    """Write each figure as `folder/stem-NAME.png`; returns the paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, fig in figures(result).items():
        path = folder / f"{stem}-{name}.png"
        path.write_bytes(png_bytes(fig))
        written.append(path)
    return written
