"""Attack a scratch gallery the way an attacker or a careless operator would, and print what got through.

Poisoned imports (`tests/attacks.py`: non-unit, NaN, int, complex, wrong dimension, wrong model or file, truncated,
altered), traversal through model ids, links at derived file names, six kinds of damaged index, and erasure while 0, 1
and 3 other processes hold read snapshots (SQLite). Every attack runs against real models on LFW photos.

    .venv/bin/python benchmarks/trust_attacks.py > trust-attacks.json

Prints one JSON document: for each attack whether it was refused, whether the gallery was unchanged, and for the
erasures how many of the person's traces (embeddings, thumbnail pieces) were left in the gallery's files right after
the erase and after `check`; the totals; and the crashes (exceptions that escaped: should be 0).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

import numpy as np
from sqlalchemy import select

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from attacks import Attempt, attempt, poisoning  # noqa: E402

from faceatlas import FaceAnalyzer  # noqa: E402
from faceatlas.errors import ErasurePendingError  # noqa: E402
from faceatlas.gallery import Gallery  # noqa: E402
from faceatlas.gallery.erasure import files, traces  # noqa: E402
from faceatlas.gallery.schema import Sample, Subject, Thumbnail  # noqa: E402
from faceatlas.io.files import traces_in  # noqa: E402
from faceatlas.models.registry import register_card, remove_user_card  # noqa: E402

LFW = REPO.parent / "shared" / "data" / "lfw_view1" / "images"
READER = ("import sqlite3, sys; c = sqlite3.connect(sys.argv[1], isolation_level=None); c.execute('BEGIN'); "
          "c.execute('SELECT count(*) FROM samples').fetchone(); print('ready', flush=True); sys.stdin.read()")


def people() -> tuple[dict[str, list[Path]], list[Path]]:
    chosen = [folder for folder in sorted(LFW.iterdir()) if len(list(folder.glob("*.jpg"))) >= 3][:8]
    photos = {folder.name: sorted(folder.glob("*.jpg"))[:3] for folder in chosen}
    return {name: paths[:2] for name, paths in photos.items()}, [paths[2] for paths in photos.values()]


def gallery_in(folder: Path, analyzer: FaceAnalyzer, enrolled: dict[str, list[Path]]) -> Gallery:
    gallery = Gallery(f"sqlite:///{folder / 'g.db'}", analyzer=analyzer, index="pq", keep_thumbnails=True)
    for name, photos in enrolled.items():
        gallery.enroll(name, photos, allow_identity_clash=True)
    gallery.rebuild_index()
    return gallery


def traversal(gallery: Gallery, probes: list[Path], folder: Path) -> list[Attempt]:
    card = folder / "card.json"
    card.write_text(json.dumps({"id": "../../escape", "task": "detect", "architecture": "yunet", "licence": "x",
                                "source": {"path": str(folder / "g.db")}}))
    text = folder / "notes.json"
    (folder / "notes.txt").write_text("not a model")
    text.write_text(json.dumps({"id": "notes", "task": "detect", "architecture": "yunet", "licence": "x",
                                "source": {"path": str(folder / "notes.txt")}}))
    return [attempt("model card id ../../escape", gallery, probes, lambda: register_card(card)),
            attempt("models remove ../../escape", gallery, probes, lambda: remove_user_card("../../escape")),
            attempt("a text file registered as a model", gallery, probes, lambda: register_card(text))]


def damaged_indexes(gallery: Gallery, probes: list[Path]) -> list[Attempt]:
    """Each damage, then the gallery reopened and used: 'refused' means it worked on a rebuilt index."""
    index = gallery.vectors.path("pq")
    content = index.read_bytes()
    damages = {"truncated": content[: len(content) // 2], "zero-filled": bytes(len(content)),
               "random bytes": np.random.default_rng(0).integers(0, 256, len(content), dtype=np.uint8).tobytes(),
               "one bit flipped": content[:-1] + bytes([content[-1] ^ 1]), "missing": None}
    before = [r.decision for r in gallery.identify(probes[0])]
    results = []
    for name, damaged in damages.items():
        if damaged is None:
            index.unlink()
        else:
            index.write_bytes(damaged)
        reopened = Gallery(gallery.engine.url.render_as_string(hide_password=False), analyzer=gallery.analyzer,
                           index="pq")
        same = [r.decision for r in reopened.identify(probes[0])] == before and reopened.check().ok
        results.append(Attempt(f"index {name}", same, "rebuilt from the database" if same else "broken", same))
    return results


def erasures(analyzer: FaceAnalyzer, enrolled: dict[str, list[Path]], root: Path) -> list[dict]:
    rows = []
    for readers in (0, 1, 3):
        folder = root / f"erase-{readers}"
        folder.mkdir()
        gallery = gallery_in(folder, analyzer, dict(list(enrolled.items())[:3]))
        victim = next(iter(enrolled))
        with gallery.engine.connect() as connection:
            found = traces(connection.execute(select(Sample.embedding, Thumbnail.jpeg).outerjoin(Thumbnail)
                                              .join(Subject, Sample.subject_id == Subject.id)
                                              .where(Subject.name == victim)).all())
        holders = [subprocess.Popen([sys.executable, "-c", READER, str(folder / "g.db")], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, text=True) for _ in range(readers)]
        for holder in holders:
            holder.stdout.readline()
        try:
            gallery.erase(victim)
            outcome = "erased"
        except ErasurePendingError:
            outcome = "pending (exit 11)"
        right_after = traces_in(files(gallery), found)
        for holder in holders:
            holder.stdin.close()
            holder.wait()
        check = gallery.check()
        rows.append({"readers": readers, "traces": len(found), "outcome": outcome, "traces_left_at_once":
                     right_after, "traces_left_after_check": traces_in(files(gallery), found), "check_ok": check.ok})
    return rows


def main() -> None:
    crashes = []
    analyzer = FaceAnalyzer()
    enrolled, probes = people()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        (root / "home").mkdir()
        attempts, erased = [], []
        try:
            gallery = gallery_in(root / "home", analyzer, enrolled)
            attempts += poisoning(gallery, probes, root)
            attempts += traversal(gallery, probes, root)
            attempts += damaged_indexes(gallery, probes)
            erased = erasures(analyzer, enrolled, root)
        except Exception:  # anything that escapes is a crash, counted and shown
            crashes.append(traceback.format_exc())
    print(json.dumps({
        "benchmark": "trust_attacks",
        "attacks_tried": len(attempts), "refused_or_survived": sum(a.refused for a in attempts),
        "gallery_unchanged": sum(a.unchanged for a in attempts),
        "attacks": [a.__dict__ for a in attempts], "erasures": erased,
        "traces_left_after_check": sum(row["traces_left_after_check"] for row in erased),
        "crashes": len(crashes), "crash_tracebacks": crashes,
    }, indent=1))


if __name__ == "__main__":
    main()
