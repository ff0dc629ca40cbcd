"""Identity-labelled image sets: a folder of per-person folders, or a CSV with `path,identity` columns."""

from __future__ import annotations

import csv
from pathlib import Path

from faceatlas.io.image import IMAGE_SUFFIXES


def load_identities(source: Path) -> list[tuple[Path, str]]:
    """(image path, identity) pairs, sorted by identity then path."""
    source = Path(source)
    if source.is_dir():
        items = [(p, p.parent.name) for p in source.glob("*/*") if p.suffix.lower() in IMAGE_SUFFIXES]
    elif source.suffix.lower() == ".csv":
        with open(source, newline="") as handle:
            rows = list(csv.DictReader(handle))
        if not rows or not {"path", "identity"} <= set(rows[0]):
            raise ValueError(f"{source}: a CSV of identities needs the columns 'path' and 'identity'")
        items = [((source.parent / row["path"]).resolve(), row["identity"]) for row in rows]
    else:
        raise ValueError(f"{source}: give a folder of per-person folders or a CSV with path,identity")
    return sorted(items, key=lambda item: (item[1], str(item[0])))
