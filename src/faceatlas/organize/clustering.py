"""Incremental clustering of faces into people: average linkage, computed over the faces that are new since the last
run, with the clusters already made taken as they are.

Two groups join when the average similarity between their faces clears the calibrated threshold and nothing forbids
it: two faces of one photo are two people (cannot-link), and so are two clusters named as different people or a
cluster and a person the user said it is not. Average linkage is computed from each group's sum of embeddings (the
mean of all cross similarities is the dot product of the sums over the product of the sizes), so an existing cluster
costs no more than one face. An average above the threshold needs at least one pair above it, so only groups linked
by such a pair (one face of it new) are ever compared: a sparse graph, not a matrix, which keeps a library of 100k
faces in memory even when the pairs chain most of it together. New faces are taken a few hundred at a time, each
batch among the clusters the earlier ones made, as a library grows run by run. Faces below the seeding quality join
a cluster when they clear the threshold and never start one. Clusters keep their ids: new faces join them, and when
two existing clusters join, the older id stays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SEED_QUALITY = 0.05
"""Faces below this quality score may join a cluster but never start one (tiny or blurred faces, mostly strangers in
the background, make clusters of their own that nobody can name). The score is the predicted chance that a face
matches another photo of its person at FMR 1e-3: under 5 %, a face starting a cluster would mostly start a wrong one.
No labelled LFW View 1 face scores under it; on the LFW faces of `benchmarks/library_clustering.py`, BCubed F is
0.9920 with the gate (0.9917 with the quality score before, which held back 95 faces)."""

BLOCK = 1024
"""New faces compared with the whole library at a time (bounds the similarity block to BLOCK x faces floats)."""

CHUNK = 256
"""New faces agglomerated at a time, among the clusters all earlier faces made: the way a library grows run by run,
and what keeps a first import of 100k faces fast (a cluster is one node however many faces it has, where a person
photographed 2,000 times at once would bring 2,000^2 links)."""


@dataclass
class Constraints:
    """Who cannot be the same person, besides two faces of one photo: `person[c]` is the person cluster `c` is named
    as, `not_person[c]` the people the user said cluster `c` is not."""

    person: dict[int, int]
    not_person: dict[int, set[int]]


@dataclass
class Clustering:
    labels: np.ndarray  # per face: its cluster, -1 for a face that could not seed one and joined none
    merged: dict[int, int]  # existing cluster -> the existing cluster it joined (which keeps its id)


class _Groups:
    """Groups being agglomerated, by slot (existing clusters first, oldest first, then new faces in order): sums,
    sizes, photos, people, links to the groups they may join, and the slot each was joined into."""

    def __init__(self, ndim: int, capacity: int) -> None:
        self.sums = np.zeros((capacity, ndim), np.float64)
        self.counts = np.zeros(capacity, np.float64)
        self.photos: list[set[int]] = [set() for _ in range(capacity)]
        self.person: list[int | None] = [None] * capacity
        self.not_person: list[set[int]] = [set() for _ in range(capacity)]
        self.links: list[set[int]] = [set() for _ in range(capacity)]
        self.parent = np.arange(capacity)

    def linkage(self, a: int, others: np.ndarray) -> np.ndarray:
        return self.sums[others] @ self.sums[a] / (self.counts[others] * self.counts[a])

    def forbidden(self, a: int, b: int) -> bool:
        pa, pb = self.person[a], self.person[b]
        return (not self.photos[a].isdisjoint(self.photos[b]) or (pa is not None and pb is not None and pa != pb)
                or pa in self.not_person[b] or pb in self.not_person[a])

    def unlink(self, a: int, b: int) -> None:
        self.links[a].discard(b)
        self.links[b].discard(a)

    def join(self, keep: int, gone: int) -> None:
        self.sums[keep] += self.sums[gone]
        self.counts[keep] += self.counts[gone]
        self.photos[keep] |= self.photos[gone]
        self.person[keep] = self.person[keep] if self.person[keep] is not None else self.person[gone]
        self.not_person[keep] |= self.not_person[gone]
        for other in self.links[gone]:
            self.links[other].discard(gone)
            if other != keep:
                self.links[other].add(keep)
                self.links[keep].add(other)
        self.links[keep].discard(gone)
        self.links[gone] = set()
        self.parent[gone] = keep

    def roots(self) -> np.ndarray:
        """The slot each slot ended in."""
        roots = self.parent.copy()
        while not np.array_equal(roots[roots], roots):
            roots = roots[roots]
        return roots


def cluster(embeddings: np.ndarray, labels: np.ndarray, photos: np.ndarray, quality: np.ndarray, threshold: float,
            next_id: int, constraints: Constraints | None = None, seed_quality: float = SEED_QUALITY) -> Clustering:
    """Cluster the faces whose label is -1 among the faces already clustered (`labels` >= 0, kept together);
    `embeddings` are L2-normalised, `photos` says which faces share a photo, `quality` may be NaN (unknown: may
    seed). New clusters are numbered from `next_id` up."""
    constraints = constraints or Constraints({}, {})
    embeddings = np.ascontiguousarray(embeddings, np.float32)
    labels = np.asarray(labels, np.int64).copy()
    photos = np.asarray(photos, np.int64)
    seeds = np.flatnonzero((labels < 0) & ~(np.nan_to_num(quality, nan=1.0) < seed_quality))
    clustered = np.flatnonzero(labels >= 0)
    existing, owner = np.unique(labels[clustered], return_inverse=True)
    groups = _Groups(embeddings.shape[1], len(existing) + len(seeds))
    slot_of_face = np.full(len(labels), -1, np.int64)
    slot_of_face[clustered] = owner
    if len(clustered):
        order = np.argsort(owner, kind="stable")
        starts = np.flatnonzero(np.r_[True, np.diff(owner[order]) != 0])
        groups.sums[:len(existing)] = np.add.reduceat(embeddings[clustered[order]].astype(np.float64), starts)
        groups.counts[:len(existing)] = np.bincount(owner)
    for face, slot in zip(clustered.tolist(), owner.tolist(), strict=True):
        groups.photos[slot].add(int(photos[face]))
    for slot, cluster_id in enumerate(existing.tolist()):
        groups.person[slot] = constraints.person.get(cluster_id)
        groups.not_person[slot] = set(constraints.not_person.get(cluster_id, ()))
    for start in range(0, len(seeds), CHUNK):
        chunk = seeds[start:start + CHUNK]
        slots = len(existing) + start + np.arange(len(chunk))
        groups.sums[slots] = embeddings[chunk]
        groups.counts[slots] = 1
        for face, slot in zip(chunk.tolist(), slots.tolist(), strict=True):
            groups.photos[slot].add(int(photos[face]))
        slot_of_face[chunk] = slots
        involved = _link(groups, embeddings, chunk, slot_of_face, threshold)
        _agglomerate(groups, involved, threshold)
        placed = slot_of_face >= 0
        slot_of_face[placed] = groups.roots()[slot_of_face[placed]]
    # ids: an existing slot keeps its cluster's id (the oldest wins a join: it has the lowest slot), a new one that
    # is still a root gets the next id
    roots = groups.roots()
    slot_id = np.full(len(roots), -1, np.int64)
    slot_id[:len(existing)] = existing
    new_roots = np.flatnonzero(roots[len(existing):] == np.arange(len(existing), len(roots))) + len(existing)
    slot_id[new_roots] = next_id + np.arange(len(new_roots))
    merged = {int(existing[s]): int(existing[roots[s]]) for s in np.flatnonzero(roots[:len(existing)]
                                                                                 != np.arange(len(existing)))}
    placed = slot_of_face >= 0
    labels[placed] = slot_id[roots[slot_of_face[placed]]]
    _attach_low_quality(embeddings, labels, photos, quality, seed_quality, threshold)
    return Clustering(labels, merged)


def _link(groups: _Groups, embeddings: np.ndarray, chunk: np.ndarray, slot_of_face: np.ndarray,
          threshold: float) -> list[int]:
    """Link each face of `chunk` (its own group still) to every group holding a face it clears the threshold with;
    returns the groups linked."""
    member = np.flatnonzero(slot_of_face >= 0)
    member = member[np.argsort(slot_of_face[member], kind="stable")]
    slot = slot_of_face[member]
    starts = np.flatnonzero(np.r_[True, np.diff(slot) != 0])
    involved = set()
    for start in range(0, len(chunk), BLOCK):
        block = chunk[start:start + BLOCK]
        reaches = np.logical_or.reduceat(embeddings[block] @ embeddings[member].T >= threshold, starts, axis=1)
        faces, reached = np.nonzero(reaches)
        x, y = slot_of_face[block[faces]], slot[starts[reached]]
        keep = (y < x) | ((y > x) & (y < slot_of_face[chunk[0]]))  # each pair within the chunk once, not itself
        for a, b in zip(x[keep].tolist(), y[keep].tolist(), strict=True):
            groups.links[a].add(b)
            groups.links[b].add(a)
        involved.update(np.unique(np.r_[x[keep], y[keep]]).tolist())
    return sorted(involved)


def _agglomerate(groups: _Groups, involved: list[int], threshold: float) -> None:
    """Average-linkage agglomeration of the linked groups down to the threshold by nearest-neighbour chain: follow
    each group's most similar linked group until two are each other's; join them if they clear the threshold, else
    the group at the chain's end can never join anyone (average linkage is reducible: a join never makes a group
    more similar to a third than the closer of its two parts was, and constraints only ever forbid more) and is set
    aside. Links are dropped afterwards: a later face can only bring two groups over the threshold by a link of
    its own."""
    open_ = np.zeros(len(groups.parent), bool)
    open_[involved] = True
    chain: list[int] = []
    starts = involved[::-1]  # a stack: every joined group goes back on it
    while True:
        if not chain:
            while starts and not open_[starts[-1]]:
                starts.pop()
            if not starts:
                break
            chain.append(starts.pop())
        a = chain[-1]
        candidates = np.fromiter(groups.links[a], np.int64, len(groups.links[a]))
        candidates = candidates[open_[candidates]]
        similarity = groups.linkage(a, candidates)
        b, best = -1, -np.inf
        for index in np.argsort(-similarity, kind="stable"):
            if similarity[index] < threshold:
                break
            if groups.forbidden(a, int(candidates[index])):
                groups.unlink(a, int(candidates[index]))
                continue
            b, best = int(candidates[index]), float(similarity[index])
            break
        if b < 0:
            open_[a] = False
            chain.pop()
            continue
        if len(chain) > 1 and chain[-2] != b and float(groups.linkage(a, np.array([chain[-2]]))[0]) >= best:
            b = chain[-2]
        if len(chain) < 2 or b != chain[-2]:
            chain.append(b)
            continue
        chain.pop(), chain.pop()
        keep, gone = min(a, b), max(a, b)  # the lower slot: existing clusters come first, oldest first
        groups.join(keep, gone)
        open_[gone] = False
        starts.append(keep)
    for slot in involved:
        groups.links[slot] = set()


def _attach_low_quality(embeddings: np.ndarray, labels: np.ndarray, photos: np.ndarray, quality: np.ndarray,
                        seed_quality: float, threshold: float) -> None:
    """Faces that may not seed join the cluster they resemble most on average, if it clears the threshold and holds
    no face of their photo."""
    waiting = np.flatnonzero((labels < 0) & (np.nan_to_num(quality, nan=1.0) < seed_quality))
    if not len(waiting) or not (labels >= 0).any():
        return
    ids, owner = np.unique(labels[labels >= 0], return_inverse=True)
    members = np.flatnonzero(labels >= 0)
    sums = np.zeros((len(ids), embeddings.shape[1]), np.float64)
    np.add.at(sums, owner, embeddings[members])
    counts = np.bincount(owner, minlength=len(ids))
    in_photo: dict[int, set[int]] = {}
    for face, cluster_index in zip(members, owner, strict=True):
        in_photo.setdefault(int(photos[face]), set()).add(int(cluster_index))
    for face in waiting:
        similarity = sums @ embeddings[face] / counts
        for cluster_index in in_photo.get(int(photos[face]), ()):
            similarity[cluster_index] = -np.inf
        best = int(np.argmax(similarity))
        if similarity[best] >= threshold:
            labels[face] = ids[best]
            in_photo.setdefault(int(photos[face]), set()).add(best)
