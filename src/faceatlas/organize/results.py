"""What photo-library operations return: typed results with `to_dict()`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from faceatlas.results import Result


@dataclass
class ClusterReport(Result):
    clustered: int  # faces that were waiting for a cluster
    new_clusters: int
    joined_named: int  # new faces labelled automatically: they joined a named person's cluster
    merged: int  # existing clusters joined to others by new faces
    unclustered: int  # faces too poor to start a cluster and like none


@dataclass
class FailedFile(Result):
    path: str
    error: str


@dataclass
class IncompleteFile(Result):
    path: str
    warning: str


@dataclass
class IndexReport(Result):
    """What one `index` run did. Every file seen is counted once: `seen` = `analysed` + `copies` + `unchanged` +
    `known_content` + (len(`failed`) - `failed_before`)."""

    seen: int = 0  # image files (and video files, when asked) under the folders
    unchanged: int = 0  # same path, size and modification time as last time: not even hashed
    known_content: int = 0  # moved, renamed, copied or touched, or analysed by another run meanwhile
    analysed: int = 0
    copies: int = 0  # more paths of content this run analysed (one file, several names): not analysed again
    faces: int = 0  # faces found in the analysed files
    # under the folders, whether analysed by this run or an earlier one:
    failed: list[FailedFile] = field(default_factory=list)  # unreadable, or not images
    failed_before: int = 0  # of `failed`, those unchanged or known since an earlier run found them unreadable
    incomplete: list[IncompleteFile] = field(default_factory=list)  # analysed up to damage (videos)
    removed_paths: int = 0  # paths indexed before, gone from the folders now
    thumbnails_added: int = 0  # with keep_thumbnails: faces indexed before without one, given theirs now
    clusters: ClusterReport | None = None  # the new faces clustered (and labelled, where they joined a person)
    seconds: float = 0.0


@dataclass
class ClusterSummary(Result):
    """A named person or an unnamed cluster, with its best face (`Library.people`)."""

    cluster: int
    name: str | None
    faces: int
    photos: int  # photos still found at a path
    sample_path: str | None
    sample_box: list
    sample_frame_ms: int | None
    sample_face: int


@dataclass
class ReviewItem(Result):
    """Is cluster `cluster` (`faces` faces) the person `name`? `score`: their average similarity."""

    cluster: int
    faces: int
    name: str
    subject_id: int
    score: float
    sample_path: str | None
    sample_box: list
    sample_frame_ms: int | None = None  # the sample face's frame, when it is in a video
    sample_face: int | None = None  # the sample face's id (its kept thumbnail: `Library.thumbnail`)


@dataclass
class Naming(Result):
    """A cluster named (or joined to another): it is `name` (None: still unnamed) with `faces` faces."""

    cluster: int
    name: str | None
    faces: int
    samples_added: int = 0  # its best faces added to the person's gallery samples
    face_ids: list[int] = field(default_factory=list)  # the faces this naming named (what an undo takes back)


@dataclass
class Answer(Result):
    """A review question answered: the cluster was named `name` (and has `faces` faces, `samples_added` of them new
    gallery samples), is not `name`, or was skipped."""

    cluster: int
    verdict: Literal["named", "not", "skipped"]
    name: str | None = None
    faces: int | None = None
    samples_added: int = 0
    subject_id: int | None = None  # the person asked about
    face_ids: list[int] = field(default_factory=list)  # the faces the answer named (what `Review.undo` takes back)

    def legacy(self) -> dict:
        if self.verdict == "not":
            return {"cluster": self.cluster, "not": self.name}
        if self.verdict == "skipped":
            return {"cluster": self.cluster, "skipped": True}
        return {"cluster": self.cluster, "name": self.name, "faces": self.faces, "samples_added": self.samples_added}


@dataclass
class Unlabelling(Result):
    """`name` taken off their faces in the photo at `path`: those faces now form cluster `cluster`."""

    path: str
    name: str
    faces: int
    cluster: int
    samples_removed: int


@dataclass
class Forgetting(Result):
    cluster: int
    faces_erased: int


@dataclass
class PhotoMatch(Result):
    """One face in one photo of the people asked for, with how sure its cluster is of it."""

    path: str
    box: list
    frame_ms: int | None
    cluster: int
    name: str | None
    similarity: float
