"""The review queue: unnamed clusters that may be a named person, asked about biggest first ("is this Alice?"), and
the answers (yes, no, skip, or the right name).

A cluster is put up when its average similarity to a named person's cluster is below the clustering threshold (above
it, it would have joined them) but above the review floor, calibrated so that a stranger's cluster is put up with a
5 % chance however many people are named.
"""

from __future__ import annotations

import numpy as np
from sqlalchemy import delete
from sqlalchemy.orm import Session

from faceatlas.gallery.decisions import per_comparison_fmr
from faceatlas.organize.labelling import CLUSTER_FMR, Labelling
from faceatlas.organize.results import Answer, ReviewItem
from faceatlas.organize.schema import LibraryFace, LibraryNotPerson
from faceatlas.pipeline import calibrated_threshold

REVIEW_FPIR = 0.05
"""The floor of the review band: the chance that a cluster of someone not yet named is asked about a named person
(spread over the named people, so the band narrows as more are named), and never a per-comparison rate above
REVIEW_FMR. Below it, a cluster is left unknown."""

REVIEW_FMR = 1e-3


class Review:
    """Questions about one library's unnamed clusters, answered into its `Labelling`."""

    def __init__(self, labelling: Labelling) -> None:
        self.labelling = labelling
        self.view = labelling.view
        self.gallery = labelling.gallery

    def floor(self, named: int) -> float:
        """The lowest average similarity to one of `named` people that puts a cluster up for review (the threshold
        itself when the per-comparison rate would be stricter than clustering's: nothing to review)."""
        fmr = min(REVIEW_FMR, per_comparison_fmr(None, REVIEW_FPIR, named))
        card = self.gallery.analyzer.recogniser_card
        return self.labelling.threshold if fmr <= CLUSTER_FMR else calibrated_threshold(card, fmr)

    def queue(self, limit: int | None = None) -> list[ReviewItem]:
        """Unnamed clusters that may be a named person (average similarity in the review band, and not ruled out),
        biggest first, then most similar first."""
        with Session(self.gallery.engine) as session:
            faces = self.view.faces(session)
            names = self.view.names(session)
            ruled_out = self.view.ruled_out(session)
            if not names:
                return []
            ids, members = faces.groups()
            sums, counts = faces.sums(members)
            is_named = np.isin(ids, list(names))
            floor = self.floor(len(names))
            named, unnamed = np.flatnonzero(is_named), np.flatnonzero(~is_named)
            linkage = (sums[unnamed] @ sums[named].T) / np.outer(counts[unnamed], counts[named])
            subjects = [names[int(ids[n])][0] for n in named]
            for row, u in enumerate(unnamed):
                for subject_id in ruled_out.get(int(ids[u]), ()):
                    if subject_id in subjects:
                        linkage[row, subjects.index(subject_id)] = -np.inf
            items = []
            for row, u in enumerate(unnamed):
                column = int(np.argmax(linkage[row]))
                if linkage[row, column] < floor:
                    continue
                items.append((int(ids[u]), len(members[u]), column, float(linkage[row, column]),
                              faces.best(members[u])))
            items.sort(key=lambda item: (-item[1], -item[3], item[0]))
            items = items[:limit]
            paths = self.view.paths(session, [faces.files[item[4]] for item in items])
            boxes = self.view.column(session, LibraryFace.box, [faces.ids[item[4]] for item in items])
        return [ReviewItem(cluster=c, faces=n, name=names[int(ids[named[column]])][1], subject_id=subjects[column],
                           score=round(score, 4), sample_path=paths.get(int(faces.files[best]), [None])[0],
                           sample_box=boxes[int(faces.ids[best])], sample_frame_ms=faces.frame_ms(best),
                           sample_face=int(faces.ids[best]))
                for c, n, column, score, best in items]

    def answer(self, item: ReviewItem, reply: str) -> Answer:
        """"yes": the cluster is that person; "no": it is not (never asked again); "skip": ask later; any other
        text: the cluster is the person of that name."""
        reply = reply.strip()
        if reply.lower() in ("no", "n"):
            with self.gallery.writing() as session:
                session.merge(LibraryNotPerson(cluster_id=item.cluster, subject_id=item.subject_id))
                session.commit()
            return Answer(item.cluster, "not", item.name, subject_id=item.subject_id)
        if reply.lower() in ("skip", "s", ""):
            return Answer(item.cluster, "skipped", subject_id=item.subject_id)
        named = self.labelling.name(item.cluster, item.name if reply.lower() in ("yes", "y") else reply)
        return Answer(named.cluster, "named", named.name, named.faces, named.samples_added, item.subject_id,
                      named.face_ids)

    def undo(self, answer: Answer) -> None:
        """Take an answer back: a "no" is forgotten (the question can come again); a naming returns its faces to
        a cluster of their own, unnamed, and removes the samples it added (see `Labelling.unname`)."""
        if answer.verdict == "not" and answer.subject_id is not None:
            with self.gallery.writing() as session:
                session.execute(delete(LibraryNotPerson).where(LibraryNotPerson.cluster_id == answer.cluster,
                                                               LibraryNotPerson.subject_id == answer.subject_id))
                session.commit()
        elif answer.verdict == "named" and answer.name is not None:
            self.labelling.unname(answer.face_ids, answer.name)
