"""Re-embedding a collection with another model (`Gallery.migrate`): from the photos its samples were enrolled from,
or from their kept thumbnails where a photo is gone; samples with neither are listed, not guessed."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from faceatlas.gallery.results import MigrationReport
from faceatlas.gallery.schema import Subject
from faceatlas.gallery.sources import fragment_image

if TYPE_CHECKING:
    from faceatlas.gallery.gallery import Gallery


def migrate(source: Gallery, target: Gallery) -> MigrationReport:
    """Every person of `source` enrolled again into `target`: a plain source from its photo (the face there alone),
    a media-fragment source (a photo library's face: `PATH#...`) from its photo or video frame at the sample's box,
    else the kept thumbnail."""
    with Session(source.engine) as session:
        people = [(s.name, s.meta, [(sample.source, sample.box, sample.thumbnail.jpeg if sample.thumbnail else None)
                                    for sample in s.samples])
                  for s in session.scalars(select(Subject).where(Subject.collection_id == source.collection_id)
                                           .order_by(Subject.name))]
    report = MigrationReport(people=len(people), samples_migrated=0)
    for name, meta, samples in people:
        usable = []  # (source, image, box to find the face at)
        for where, box, thumbnail in samples:
            if Path(where).is_file():
                usable.append((where, where, None))
            elif len(box or ()) == 4 and (frame := fragment_image(where)) is not None:
                usable.append((where, frame, box))
            elif thumbnail is not None:
                usable.append((where, thumbnail, None))
            else:
                report.sources_missing.append(f"{name}: {where}")
        if usable:
            enrolled = target.enroll(name, [image for _, image, _ in usable], meta=meta, allow_identity_clash=True,
                                     sources=[where for where, _, _ in usable], boxes=[b for _, _, b in usable])
            report.samples_migrated += len(enrolled.added)
            report.refused += [f"{name}: {r.source}: {r.reason}" for r in enrolled.rejected]
    return report
