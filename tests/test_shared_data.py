"""End-to-end checks on the development photos in ../shared/data (skipped when it is absent)."""

import csv
import json
from collections import defaultdict
from pathlib import Path

import jsonschema
import pytest
from helpers import cli, data_path

from faceatlas import FaceAnalyzer
from faceatlas.io.records import record_schema

pytestmark = [pytest.mark.data, pytest.mark.slow]


def test_compreface_face_counts_and_huge_photos():
    """Every labelled nose point lies in exactly one detected box; the no-face photo gives none; 30+ MP photos work."""
    folder = data_path("compreface_samples")
    noses: dict[str, list[tuple[float, float]]] = defaultdict(list)
    with open(folder / "faces_nose_points.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["nose_x"]:
                noses[row["image"]].append((float(row["nose_x"]), float(row["nose_y"])))
    analyzer = FaceAnalyzer()
    hits = total = extra = 0
    for image in sorted(folder.glob("*.jpg")):
        faces = analyzer.analyze(image, embed=False)
        points = noses.get(image.name, [])
        for x, y in points:
            inside = (faces.boxes[:, 0] <= x) & (x <= faces.boxes[:, 2]) & (faces.boxes[:, 1] <= y) \
                & (y <= faces.boxes[:, 3])
            hits += int(inside.sum() == 1)
        total += len(points)
        extra += max(0, len(faces) - len(points))
        if image.name == "017_0.jpg":
            assert len(faces) == 0
    assert total == 46 and hits >= 45 and extra <= 2


def test_analyze_cli_over_mixed_real_data(tmp_path: Path):
    """The CLI over real folders (a WebP named .jpg, 30+ MP photos, a no-face photo) validates line by line."""
    out = tmp_path / "records.jsonl"
    folders = [data_path("deepface_testset"), data_path("compreface_samples")]
    result = cli("analyze", *map(str, folders), "--json", str(out))
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    schema = record_schema()
    for record in records:
        jsonschema.validate(record, schema)
    images = [p for f in folders for p in f.rglob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png", ".webp"}]
    assert len(records) == len(images)
    assert all(r["error"] is None for r in records)  # every one of these photos is readable
    webp = next(r for r in records if r["path"].endswith("img47.jpg"))
    assert len(webp["faces"]) >= 1


