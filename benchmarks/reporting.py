"""What every benchmark's JSON says about the run, and how it is written: the machine (CPU, cores, load, the commit
and whether `src` had uncommitted changes) and the document printed to stdout and, with `--out`, to a file."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    try:
        commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--", "src"], capture_output=True,
                               text=True, check=True).stdout.strip()
        git = f"{commit}{' +uncommitted src changes' if dirty else ''}"
    except (OSError, subprocess.CalledProcessError):
        git = None
    return {"nproc": os.cpu_count(), "usable_cpus": len(os.sched_getaffinity(0)), "cpu": cpu,
            "platform": platform.platform(), "python": platform.python_version(), "git": git,
            "loadavg_1_5_15": loadavg()}


def emit(document: dict[str, Any], out: Path | None, indent: int = 2) -> None:
    """Print `document` as JSON and, with `out`, write it there too (its folder made if missing)."""
    text = json.dumps(document, indent=indent)
    print(text)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n")
