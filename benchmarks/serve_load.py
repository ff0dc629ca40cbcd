"""`faceatlas serve` under load: HTTP throughput and latency beside the same work in-process, and a soak.

A real server process (`python -m faceatlas.cli serve`) on a free 127.0.0.1 port, with a temporary FACEATLAS_HOME
(its own gallery, key file and audit log; the model files linked from the real home), ~50 LFW people enrolled over
HTTP into collection "bench" (one photo each). Probes: the second photo of every enrolled person and photos of people
not enrolled, 64 by default, sent as their JPEG bytes.

Load (default): per round, every route (`POST /v1/analyze?embed=true`, the full pipeline, and
`POST /v1/collections/bench/identify`) at every concurrency level (1, 4, 16: that many asyncio clients on one
`httpx.AsyncClient`, keep-alive connections), a bounded number of requests each (96, capped in time). In the same
round, with the server idle, the same photos in this process: `FaceAnalyzer().analyze(bytes)` one after another and
`list(analyzer.shots(batch, folders=False))` in batches of 4 and 16; for identify the same batches followed by
`gallery.identify(faces)` (the server's work), and `Gallery(url, collection="bench").identify(bytes)` one after another
(the Python API as a user calls it; it adds the quality head). Each HTTP run sits beside its in-process twin, the
order alternating, so paired runs are seconds apart. Throughput is the median over rounds; the ratio at concurrency c
is the median over rounds of HTTP(c) / in-process(batch c), and also against in-process one by one. Latency p50/p99
pool every request of every round. The server's own counters (`/metrics`) give the mean batch the batcher formed;
/proc gives the server's CPU time per request (beside this process's per picture in-process: a figure other
processes move less than throughput); `cpu_ratio` is in-process CPU per picture over server + client CPU per request.

Soak (`--soak SECONDS`): concurrency 4, analyze and identify alternating, a warm-up of `--warmup` seconds, then
SECONDS of steady load; the server's VmRSS (and threads, open files) sampled every 10 s. Growth is end over start.

    .venv/bin/python benchmarks/serve_load.py                       # load, 3 rounds: docs/results/serve-load.json
    .venv/bin/python benchmarks/serve_load.py --rounds 5 --requests 128
    FACEATLAS_BATCH_WINDOW_MS=0 .venv/bin/python benchmarks/serve_load.py --out /tmp/window0.json
    nohup .venv/bin/python benchmarks/serve_load.py --soak 600 > soak.log 2>&1 &   # docs/results/serve-soak.json

FACEATLAS_* variables of this process reach the server and the in-process analyzer alike. Prints one JSON document
on stdout; progress goes to stderr. Other processes on a 2-core machine move these figures: see `loadavg`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import numpy as np
from reporting import emit, loadavg, machine

from faceatlas.client import LocalServer, local_server

if TYPE_CHECKING:
    from faceatlas import FaceAnalyzer
    from faceatlas.gallery import Gallery

REPO = Path(__file__).resolve().parents[1]
LFW = REPO.parent / "shared" / "data" / "lfw_view1" / "images"
RESULTS = REPO / "docs" / "results"
COLLECTION = "bench"
TARGET_RATIO = 0.85
TARGET_GROWTH = 5.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Photo:
    person: str
    name: str
    data: bytes


@dataclass
class Run:
    """One timed run: `count` pictures (or requests) of `route` at `level` (concurrency, or in-process batch)."""

    side: str  # "http", "inprocess" or "api" (Gallery.identify(bytes))
    route: str
    level: int
    round: int
    count: int
    seconds: float
    latencies: list[float]
    errors: dict[str, int] = field(default_factory=dict)
    cpu_seconds: float = 0.0  # the server's (http) or this process's (in-process)
    client_cpu_seconds: float = 0.0
    batches: int = 0  # batcher runs during an http run (from /metrics)
    pictures: int = 0

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else 0.0


# --------------------------------------------------------------------------------------------------------- photos
def pick_photos(people: int, probes: int) -> tuple[list[Photo], list[Photo]]:
    """`people` persons to enrol (their first photo, in folder order spread over the alphabet) and `probes` photos to
    send: the second photo of each enrolled person, then first photos of people not enrolled."""
    if not LFW.is_dir():
        sys.exit(f"serve_load: LFW images not found at {LFW} (see ../shared/data/README.md); nothing measured")
    folders = sorted(p for p in LFW.iterdir() if p.is_dir())
    several = [f for f in folders if len(list(f.glob("*.jpg"))) >= 2]
    single = [f for f in folders if len(list(f.glob("*.jpg"))) == 1]
    step = max(1, len(several) // (people * 2))  # spare candidates, in case enrolment refuses some
    chosen = several[::step][:people * 2]
    enrol = [Photo(f.name, p.name, p.read_bytes()) for f in chosen for p in sorted(f.glob("*.jpg"))[:1]]
    strangers = [Photo(f.name, p.name, p.read_bytes()) for f in single[::max(1, len(single) // probes)]
                 for p in sorted(f.glob("*.jpg"))[:1]]
    return enrol, strangers


# --------------------------------------------------------------------------------------------------------- server
def isolated_env(root: Path) -> dict[str, str]:
    """A FACEATLAS_HOME under `root` whose models (and wheels) are links to the real home's; its own gallery, keys
    and audit log."""
    real = Path(os.environ.get("FACEATLAS_HOME", Path.home() / ".faceatlas"))
    home = root / "home"
    home.mkdir(parents=True)
    for name in ("models", "wheels", "cards"):
        if (real / name).exists():
            (home / name).symlink_to(real / name)
    return {**os.environ, "FACEATLAS_HOME": str(home), "FACEATLAS_GALLERY_URL": f"sqlite:///{home / 'gallery.db'}",
            "FACEATLAS_API_KEYS": str(home / "service" / "keys.json")}


def make_key(env: dict[str, str]) -> str:
    made = subprocess.run([sys.executable, "-m", "faceatlas.cli", "serve", "keys", "create", "bench",
                           "--scope=analyze", "--scope=identify", "--scope=enrol", f"--collection={COLLECTION}"],
                          capture_output=True, text=True, timeout=120, env=env, check=True)
    return made.stdout.strip().splitlines()[-1].strip()


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (KiB), threads and open files of process `pid`."""
    found: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM", "Threads"):
            found[key] = int(value.split()[0])
    found["fds"] = len(os.listdir(f"/proc/{pid}/fd"))
    return found


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of process `pid` (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def batch_counters(url: str) -> tuple[int, int]:
    """The batcher's runs and pictures so far (`/metrics`)."""
    values = {}
    for line in httpx.get(f"{url}/metrics", timeout=10).text.splitlines():
        name, _, value = line.partition(" ")
        if name in ("faceatlas_batches", "faceatlas_batched_pictures"):
            values[name] = int(float(value))
    return values.get("faceatlas_batches", 0), values.get("faceatlas_batched_pictures", 0)


def enrol(server: LocalServer, token: str, candidates: list[Photo], people: int) -> list[Photo]:
    """Enrol candidates over HTTP, one photo each, until `people` are in; the ones enrolled."""
    enrolled = []
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=120) as client:
        for photo in candidates:
            answer = client.post(f"{server.url}/v1/collections/{COLLECTION}/people/{photo.person}/faces",
                                 files=[("images", (photo.name, photo.data, "image/jpeg"))])
            answer.raise_for_status()
            if answer.json()["added"]:
                enrolled.append(photo)
            if len(enrolled) == people:
                break
    return enrolled


# --------------------------------------------------------------------------------------------------------- client
def endpoint(route: str) -> str:
    return "/v1/analyze?embed=true" if route == "analyze" else f"/v1/collections/{COLLECTION}/identify"


async def drive(url: str, token: str, photos: list[Photo], routes: list[str], concurrency: int, count: int | None,
                seconds: float, latencies: list[float], errors: dict[str, int], offset: int = 0) -> int:
    """`concurrency` clients sending photos in turn to `routes` in turn (keep-alive), until `count` requests were
    sent or `seconds` passed; latencies (s) and errors (by status) are appended; returns the requests answered."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    stop = time.monotonic() + seconds
    sent = 0
    done = 0

    async def client_loop(client: httpx.AsyncClient) -> None:
        nonlocal sent, done
        while (count is None or sent < count) and time.monotonic() < stop:
            number = offset + sent
            sent += 1
            photo, route = photos[number % len(photos)], routes[number % len(routes)]
            started = time.perf_counter()
            try:
                answer = await client.post(endpoint(route), files={"image": (photo.name, photo.data, "image/jpeg")})
                status = str(answer.status_code)
            except httpx.HTTPError as error:
                status = type(error).__name__
            latencies.append(time.perf_counter() - started)
            done += 1
            if status != "200":
                errors[status] = errors.get(status, 0) + 1

    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=120,
                                 headers={"Authorization": f"Bearer {token}"}) as client:
        await asyncio.gather(*(client_loop(client) for _ in range(concurrency)))
    return done


def http_run(server: LocalServer, token: str, photos: list[Photo], route: str, level: int, count: int,
             max_seconds: float, round_: int) -> Run:
    latencies: list[float] = []
    errors: dict[str, int] = {}
    batches, pictures = batch_counters(server.url)
    cpu, client_cpu = proc_cpu(server.pid), time.process_time()
    started = time.perf_counter()
    done = asyncio.run(drive(server.url, token, photos, [route], level, count, max_seconds, latencies, errors,
                             offset=round_ * 7))
    elapsed = time.perf_counter() - started
    run = Run("http", route, level, round_, done, elapsed, latencies, errors, proc_cpu(server.pid) - cpu,
              time.process_time() - client_cpu)
    after = batch_counters(server.url)
    run.batches, run.pictures = after[0] - batches, after[1] - pictures
    return run


# ------------------------------------------------------------------------------------------------------ in-process
@dataclass
class InProcess:
    """The same work without HTTP: the server's analyzer settings and the server's gallery file."""

    analyzer: FaceAnalyzer
    gallery: Gallery

    @classmethod
    def open(cls, env: dict[str, str]) -> InProcess:
        os.environ.update({k: env[k] for k in ("FACEATLAS_HOME", "FACEATLAS_GALLERY_URL", "FACEATLAS_API_KEYS")})
        from faceatlas import FaceAnalyzer  # after the environment: settings are read once
        from faceatlas.config import get_settings
        from faceatlas.gallery import Gallery

        get_settings.cache_clear()
        analyzer = FaceAnalyzer()
        return cls(analyzer, Gallery(url=env["FACEATLAS_GALLERY_URL"], collection=COLLECTION, analyzer=analyzer,
                                     create=False))

    def run(self, route: str, level: int, photos: list[Photo], count: int, round_: int, api: bool = False) -> Run:
        """`count` photos (cycling) analysed, or identified, `level` pictures per call (1: `analyze(bytes)`, or
        with `api` `Gallery.identify(bytes)`)."""
        data = [photos[(round_ * 7 + i) % len(photos)].data for i in range(count)]
        calls: list[Callable[[], object]] = []
        for start in range(0, count, level):
            chunk = data[start:start + level]
            if route == "analyze":
                calls.append((lambda c=chunk: self.analyzer.analyze(c[0])) if level == 1 else
                             (lambda c=chunk: list(self.analyzer.shots(c, folders=False))))
            elif api:
                calls.append(lambda c=chunk: [self.gallery.identify(d) for d in c])
            else:
                calls.append(lambda c=chunk: [self.gallery.identify(s.faces) for s in
                                              self.analyzer.shots(c, folders=False)])
        latencies: list[float] = []
        cpu = time.process_time()
        started = time.perf_counter()
        for call in calls:
            began = time.perf_counter()
            call()
            latencies.append(time.perf_counter() - began)
        elapsed = time.perf_counter() - started
        return Run("api" if api else "inprocess", route, level, round_, count, elapsed, latencies,
                   cpu_seconds=time.process_time() - cpu)


# ------------------------------------------------------------------------------------------------------- summaries
def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def summary(runs: list[Run]) -> dict[str, object]:
    rates = [r.rate for r in runs]
    latencies = np.array([x for r in runs for x in r.latencies])
    count = sum(r.count for r in runs)
    errors: dict[str, int] = {}
    for r in runs:
        for status, n in r.errors.items():
            errors[status] = errors.get(status, 0) + n
    row: dict[str, object] = {
        "per_second": {"median": round(statistics.median(rates), 2), "min": round(min(rates), 2),
                       "max": round(max(rates), 2), "rounds": [round(x, 2) for x in rates]},
        "p50_ms": ms(float(np.percentile(latencies, 50))), "p99_ms": ms(float(np.percentile(latencies, 99))),
        "requests": count, "errors": sum(errors.values()), "errors_by_status": errors,
        "cpu_ms_per_item": round(1000 * sum(r.cpu_seconds for r in runs) / count, 1),
    }
    if runs[0].side == "http":
        pictures = sum(r.pictures for r in runs)
        row["mean_batch"] = round(pictures / max(1, sum(r.batches for r in runs)), 2)
        row["client_cpu_ms_per_request"] = round(1000 * sum(r.client_cpu_seconds for r in runs) / count, 1)
    return row


def paired_ratio(http: list[Run], base: list[Run]) -> float:
    by_round = {r.round: r.rate for r in base}
    return round(statistics.median(r.rate / by_round[r.round] for r in http if r.round in by_round), 3)


def faceatlas_env() -> dict[str, str]:
    return {k: v for k, v in sorted(os.environ.items())
            if k.startswith("FACEATLAS_") and k not in ("FACEATLAS_HOME", "FACEATLAS_GALLERY_URL",
                                                        "FACEATLAS_API_KEYS")}


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------------------------ load
def load(args: argparse.Namespace, env: dict[str, str], root: Path, photos: list[Photo], candidates: list[Photo]
         ) -> dict[str, object]:
    token = make_key(env)
    runs: list[Run] = []
    loads = {"start": loadavg(), "rounds": []}
    with local_server(root / "server.log", env, timeout=180) as server:
        enrolled = enrol(server, token, candidates, args.people)
        probes = probe_photos(enrolled, candidates, photos, args.images)
        say(f"server pid {server.pid} at {server.url}; {len(enrolled)} people enrolled; {len(probes)} probes")
        local = InProcess.open(env)
        for route in args.routes:  # warm-up: models loaded, connections and caches made, on both sides
            asyncio.run(drive(server.url, token, probes, [route], 4, 16, 60, [], {}))
            local.run(route, 4, probes, 8, 0)
            local.run(route, 1, probes, 4, 0, api=route == "identify")
        for round_ in range(args.rounds):
            loads["rounds"].append(loadavg())
            for step, (route, level) in enumerate((r, c) for r in args.routes for c in args.levels):
                # each HTTP level beside its in-process twin, the order alternating: paired runs seconds apart
                sides = ["inprocess", "http"] if (round_ + step) % 2 == 0 else ["http", "inprocess"]
                if route == "identify" and level == 1:
                    sides.insert(sides.index("inprocess") + 1, "api")
                for side in sides:
                    if side == "http":
                        run = http_run(server, token, probes, route, level, args.requests, args.max_seconds, round_)
                    else:
                        run = local.run(route, level, probes, args.requests, round_, api=side == "api")
                    runs.append(run)
                    say(f"round {round_ + 1} {side} {route}@{level}: {run.rate:.2f}/s, load {loadavg()[0]}"
                        f"{f', errors {run.errors}' if run.errors else ''}")
        rss = proc_status(server.pid)
    loads["end"] = loadavg()

    def chosen(side: str, route: str, level: int) -> list[Run]:
        return [r for r in runs if (r.side, r.route, r.level) == (side, route, level)]

    http = {route: {str(c): summary(chosen("http", route, c)) for c in args.levels} for route in args.routes}
    inprocess = {route: {str(b): summary(chosen("inprocess", route, b)) for b in args.levels}
                 for route in args.routes}
    if "identify" in args.routes:
        inprocess["identify_api"] = {"1": summary(chosen("api", "identify", 1))}
    ratios: dict[str, dict[str, dict[str, float]]] = {}
    for route in args.routes:
        ratios[route] = {}
        for c in args.levels:
            row = {"vs_same_batch": paired_ratio(chosen("http", route, c), chosen("inprocess", route, c)),
                   "vs_one_by_one": paired_ratio(chosen("http", route, c), chosen("inprocess", route, 1))}
            served, local_cpu = http[route][str(c)], inprocess[route][str(c)]["cpu_ms_per_item"]
            row["cpu_ms_over_inprocess"] = round(served["cpu_ms_per_item"] - local_cpu, 1)  # type: ignore[operator]
            # in-process CPU per picture over server + client CPU per request: the throughput ratio to expect
            # when the cores are the limit, and a figure other processes on the machine move less
            row["cpu_ratio"] = round(local_cpu / (served["cpu_ms_per_item"]  # type: ignore[operator]
                                                  + served["client_cpu_ms_per_request"]), 3)
            if route == "identify":
                row["vs_api_one_by_one"] = paired_ratio(chosen("http", route, c), chosen("api", route, 1))
            ratios[route][str(c)] = row
    verdict = {f"{route}@{c}": {"ratio_vs_same_batch": ratios[route][str(c)]["vs_same_batch"],
                                "errors": http[route][str(c)]["errors"],
                                "met": ratios[route][str(c)]["vs_same_batch"] >= TARGET_RATIO
                                and http[route][str(c)]["errors"] == 0}
               for route in args.routes for c in args.levels if c >= 4}
    top = max(args.levels)
    return {
        "benchmark": "serve_load",
        "machine": {**machine(), "loadavg_1_5_15": loads},
        "settings": {"probes": len(probes), "people_enrolled": len(enrolled), "requests_per_level": args.requests,
                     "max_seconds_per_level": args.max_seconds, "rounds": args.rounds, "levels": args.levels,
                     "faceatlas_env": faceatlas_env(),
                     "client": "httpx.AsyncClient in this process, one keep-alive connection per concurrent client",
                     "inprocess": "same process, server idle; batch 1: analyzer.analyze(bytes), batch b: "
                                  "list(analyzer.shots(batch, folders=False)) (+ gallery.identify(faces) per shot)",
                     "identify_api": "Gallery(url, collection='bench').identify(bytes) one by one (adds the "
                                     "quality head)",
                     "ratios": "median over rounds of HTTP(c) / in-process, paired by round",
                     "latency": "percentiles over every request (http) or call (in-process: a whole batch) of "
                                "every round"},
        "http": http,
        "inprocess": inprocess,
        "ratios": ratios,
        "target": {"ratio": TARGET_RATIO, "at": verdict, "met": all(v["met"] for v in verdict.values()),
                   f"p99_ms_at_{top}": {route: http[route][str(top)]["p99_ms"] for route in args.routes}},
        "server_after": {"rss_kib": rss["VmRSS"], "hwm_kib": rss["VmHWM"], "threads": rss["Threads"]},
    }


def probe_photos(enrolled: list[Photo], candidates: list[Photo], strangers: list[Photo], count: int) -> list[Photo]:
    """The second photo of each enrolled person, then strangers, `count` in all, shuffled with a fixed seed."""
    seconds = []
    for photo in enrolled:
        files = sorted((LFW / photo.person).glob("*.jpg"))
        seconds.append(Photo(photo.person, files[1].name, files[1].read_bytes()))
    chosen = (seconds + strangers)[:count]
    random.Random(0).shuffle(chosen)
    return chosen


# ------------------------------------------------------------------------------------------------------------ soak
def soak(args: argparse.Namespace, env: dict[str, str], root: Path, photos: list[Photo], candidates: list[Photo]
         ) -> dict[str, object]:
    token = make_key(env)
    load_start = loadavg()
    with local_server(root / "server.log", env, timeout=180) as server:
        enrolled = enrol(server, token, candidates, args.people)
        probes = probe_photos(enrolled, candidates, photos, args.images)
        say(f"server pid {server.pid}; {len(enrolled)} enrolled; warm-up {args.warmup:g} s, then {args.soak:g} s")
        samples, latencies, errors, requests = asyncio.run(soak_load(server, token, probes, args))
        alive = proc_status(server.pid)
    measured = [s for s in samples if s["t"] >= 0]
    start, end = measured[0], measured[-1]
    peak = max(s["rss_kib"] for s in measured)
    window = end["t"] - start["t"]
    done = end["requests"] - start["requests"]
    return {
        "benchmark": "serve_soak",
        "machine": {**machine(), "loadavg_1_5_15": {"start": load_start, "end": loadavg()}},
        "settings": {"seconds": args.soak, "warmup_seconds": args.warmup, "concurrency": 4,
                     "mix": "analyze (embed=true) and identify alternating", "sample_every_seconds": 10,
                     "probes": len(probes), "people_enrolled": len(enrolled), "faceatlas_env": faceatlas_env()},
        "requests": requests, "errors": sum(errors.values()), "errors_by_status": errors,
        "measured": {"seconds": round(window, 1), "requests": done, "per_second": round(done / window, 2),
                     "errors": end["errors"] - start["errors"],
                     "p50_ms": ms(float(np.percentile(latencies, 50))),
                     "p99_ms": ms(float(np.percentile(latencies, 99)))},
        "rss_kib": {"start": start["rss_kib"], "end": end["rss_kib"], "max": peak,
                    "growth_percent": round(100 * (end["rss_kib"] - start["rss_kib"]) / start["rss_kib"], 2),
                    "max_growth_percent": round(100 * (peak - start["rss_kib"]) / start["rss_kib"], 2)},
        "threads": {"start": start["threads"], "end": end["threads"]},
        "open_files": {"start": start["fds"], "end": end["fds"]},
        "target": {"errors": 0, "growth_percent_below": TARGET_GROWTH,
                   "met": sum(errors.values()) == 0
                   and 100 * (end["rss_kib"] - start["rss_kib"]) / start["rss_kib"] < TARGET_GROWTH},
        "server_alive_at_end": alive["VmRSS"] > 0,
        "samples": samples,
    }


async def soak_load(server: LocalServer, token: str, probes: list[Photo], args: argparse.Namespace
                    ) -> tuple[list[dict[str, float]], list[float], dict[str, int], int]:
    """Steady load with RSS samples every 10 s (t < 0: warm-up); latencies only after the warm-up."""
    latencies: list[float] = []
    errors: dict[str, int] = {}
    total = args.warmup + args.soak
    began = time.monotonic()
    load = asyncio.create_task(drive(server.url, token, probes, ["analyze", "identify"], 4, None, total, latencies,
                                     errors))
    samples: list[dict[str, float]] = []
    next_at = began + args.warmup
    while not load.done():
        await asyncio.wait([load], timeout=max(0.0, next_at - time.monotonic()))
        now = time.monotonic()
        if now >= next_at and now <= began + total + 5:
            if not samples:
                latencies.clear()  # only the steady state counts for latency
            status = proc_status(server.pid)
            samples.append({"t": round(now - began - args.warmup, 1), "rss_kib": status["VmRSS"],
                            "threads": status["Threads"], "fds": status["fds"], "requests": len(latencies),
                            "errors": sum(errors.values()), "loadavg_1": round(os.getloadavg()[0], 2)})
            say(f"t={samples[-1]['t']:.0f}s rss {status['VmRSS'] / 1024:.1f} MiB, {len(latencies)} requests, "
                f"errors {errors or 0}")
            next_at += 10
    requests = await load
    status = proc_status(server.pid)
    samples.append({"t": round(time.monotonic() - began - args.warmup, 1), "rss_kib": status["VmRSS"],
                    "threads": status["Threads"], "fds": status["fds"], "requests": len(latencies),
                    "errors": sum(errors.values()), "loadavg_1": round(os.getloadavg()[0], 2)})
    return samples, latencies, errors, requests


# ------------------------------------------------------------------------------------------------------------- CLI
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=64, help="distinct probe photos (default 64)")
    parser.add_argument("--people", type=int, default=50, help="people enrolled, one photo each (default 50)")
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 4, 16], help="concurrency levels")
    parser.add_argument("--routes", nargs="+", default=["analyze", "identify"], choices=["analyze", "identify"])
    parser.add_argument("--requests", type=int, default=96, help="requests per level and round (default 96)")
    parser.add_argument("--max-seconds", type=float, default=60, help="time cap per level and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--soak", type=float, default=None, metavar="SECONDS", help="soak instead of load")
    parser.add_argument("--warmup", type=float, default=30, help="soak warm-up seconds before RSS start")
    parser.add_argument("--out", type=Path, default=None,
                        help="result file (default docs/results/serve-load.json or serve-soak.json)")
    args = parser.parse_args(argv)
    candidates, strangers = pick_photos(args.people, args.images)
    with tempfile.TemporaryDirectory(prefix="serve-load-") as tmp:
        root = Path(tmp)
        env = isolated_env(root)
        if args.soak is not None:
            report = soak(args, env, root, strangers, candidates)
            out = args.out or RESULTS / "serve-soak.json"
        else:
            report = load(args, env, root, strangers, candidates)
            out = args.out or RESULTS / "serve-load.json"
    emit(report, out, indent=1)
    say(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
