"""Incremental clustering of faces into people: average linkage, computed over the faces that are new since the last
run, with the clusters already made taken as they are.

Two groups join when the average similarity between their faces clears the calibrated threshold and nothing forbids
it: two faces of one photo are two people (cannot-link), and so are two clusters named as different people or a
cluster and a person the user said it is not. Average linkage is computed from each group's sum of embeddings (the
mean of all cross similarities is the dot product of the sums over the product of the sizes), so an existing cluster
costs no more than one face. An average above the threshold needs at least one pair above it, so only groups linked
by such a pair (one face of it new) are ever compared: a sparse graph, not a matrix, which keeps a library of 100k
faces in memory even when the pairs chain most of it together. Faces below the seeding quality join a cluster when
they clear the threshold and never start one. Clusters keep their ids: new faces join them, and when two existing
clusters join, the older id stays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SEED_QUALITY = 0.5
"""Faces below this quality score may join a cluster but never start one (blurred, tiny or profile faces make
clusters of their own that nobody can name)."""

BLOCK = 1024
"""New faces compared with the whole library at a time (bounds the similarity block to BLOCK x faces floats)."""


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


@dataclass
class _Groups:
    """The nodes being agglomerated (existing clusters first, oldest first, then new faces): sums, sizes, photos,
    people, links to the groups they may join, and which group each ended in."""

    sums: np.ndarray
    counts: np.ndarray
    photos: list[set[int]]
    person: list[int | None]
    not_person: list[set[int]]
    links: list[set[int]]
    parent: np.ndarray

    def linkage(self, a: int, others: list[int]) -> np.ndarray:
        return self.sums[others] @ self.sums[a] / (self.counts[others] * self.counts[a])

    def forbidden(self, a: int, b: int) -> bool:
        pa, pb = self.person[a], self.person[b]
        return (not self.photos[a].isdisjoint(self.photos[b]) or (pa is not None and pb is not None and pa != pb)
                or pa in self.not_person[b] or pb in self.not_person[a])

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

    def root(self, node: int) -> int:
        while self.parent[node] != node:
            self.parent[node] = self.parent[self.parent[node]]
            node = int(self.parent[node])
        return node


def cluster(embeddings: np.ndarray, labels: np.ndarray, photos: np.ndarray, quality: np.ndarray, threshold: float,
            next_id: int, constraints: Constraints | None = None, seed_quality: float = SEED_QUALITY) -> Clustering:
    """Cluster the faces whose label is -1 among the faces already clustered (`labels` >= 0, kept together);
    `embeddings` are L2-normalised, `photos` says which faces share a photo, `quality` may be NaN (unknown: may
    seed). New clusters are numbered from `next_id` up."""
    constraints = constraints or Constraints({}, {})
    embeddings = np.ascontiguousarray(embeddings, np.float32)
    labels = np.asarray(labels, np.int64).copy()
    seeds = np.flatnonzero((labels < 0) & ~(np.nan_to_num(quality, nan=1.0) < seed_quality))
    existing = np.unique(labels[labels >= 0])
    node_of_face = np.full(len(labels), -1, np.int64)
    node_of_face[labels >= 0] = np.searchsorted(existing, labels[labels >= 0])
    node_of_face[seeds] = len(existing) + np.arange(len(seeds))
    groups = _groups(embeddings, node_of_face, photos, existing, constraints, len(existing) + len(seeds))
    _link(groups, embeddings, seeds, node_of_face, threshold)
    _agglomerate(groups, threshold)
    # name the groups: the oldest existing cluster in a group keeps its id, all-new groups get new ids
    group_id: dict[int, int] = {}
    merged: dict[int, int] = {}
    for node in range(len(existing)):
        root = groups.root(node)
        if root in group_id:
            merged[int(existing[node])] = group_id[root]
        else:
            group_id[root] = int(existing[node])
    for face in seeds:
        root = groups.root(int(node_of_face[face]))
        if root not in group_id:
            group_id[root], next_id = next_id, next_id + 1
        labels[face] = group_id[root]
    for old, kept in merged.items():
        labels[labels == old] = kept
    _attach_low_quality(embeddings, labels, photos, quality, seed_quality, threshold)
    return Clustering(labels, merged)


def _groups(embeddings: np.ndarray, node_of_face: np.ndarray, photos: np.ndarray, existing: np.ndarray,
            constraints: Constraints, nodes: int) -> _Groups:
    member = np.flatnonzero(node_of_face >= 0)
    sums = np.zeros((nodes, embeddings.shape[1]), np.float64)
    np.add.at(sums, node_of_face[member], embeddings[member])
    in_photos: list[set[int]] = [set() for _ in range(nodes)]
    for face in member:
        in_photos[node_of_face[face]].add(int(photos[face]))
    person: list[int | None] = [constraints.person.get(int(c)) for c in existing] + [None] * (nodes - len(existing))
    not_person = [set(constraints.not_person.get(int(c), ())) for c in existing] + [
        set() for _ in range(nodes - len(existing))]
    return _Groups(sums, np.bincount(node_of_face[member], minlength=nodes).astype(np.float64), in_photos, person,
                   not_person, [set() for _ in range(nodes)], np.arange(nodes))


def _link(groups: _Groups, embeddings: np.ndarray, seeds: np.ndarray, node_of_face: np.ndarray,
          threshold: float) -> None:
    """Link the groups of every pair of faces above the threshold, one of them new (a seed)."""
    member = np.flatnonzero(node_of_face >= 0)
    for start in range(0, len(seeds), BLOCK):
        block = seeds[start:start + BLOCK]
        a, b = np.nonzero(embeddings[block] @ embeddings[member].T >= threshold)
        for x, y in zip(node_of_face[block[a]].tolist(), node_of_face[member[b]].tolist(), strict=True):
            if x != y:
                groups.links[x].add(y)
                groups.links[y].add(x)


def _agglomerate(groups: _Groups, threshold: float) -> None:
    """Average-linkage agglomeration down to the threshold by nearest-neighbour chain: follow each group's most
    similar linked group until two are each other's; join them if they clear the threshold, else the group at the
    chain's end can never join anyone (average linkage is reducible: a join never makes a group more similar to a
    third than the closer of its two parts was, and constraints only ever forbid more) and is set aside."""
    open_ = np.array([bool(links) for links in groups.links])
    chain: list[int] = []
    starts = np.flatnonzero(open_)[::-1].tolist()  # a stack: every joined group goes back on it
    while True:
        if not chain:
            while starts and not open_[starts[-1]]:
                starts.pop()
            if not starts:
                return
            chain.append(starts.pop())
        a = chain[-1]
        for other in [o for o in groups.links[a] if groups.forbidden(a, o)]:
            groups.links[a].discard(other)
            groups.links[other].discard(a)
        candidates = [o for o in groups.links[a] if open_[o]]
        if not candidates:
            open_[a] = False
            chain.pop()
            continue
        similarity = groups.linkage(a, candidates)
        b = candidates[int(np.argmax(similarity))]
        best = float(similarity.max())
        if len(chain) > 1 and chain[-2] in groups.links[a]:
            previous = float(groups.linkage(a, [chain[-2]])[0])
            if previous >= best:
                b, best = chain[-2], previous
        if best < threshold:
            open_[a] = False
            chain.pop()
            continue
        if len(chain) < 2 or b != chain[-2]:
            chain.append(b)
            continue
        chain.pop(), chain.pop()
        keep, gone = min(a, b), max(a, b)  # the lower index: existing clusters come first, oldest first
        groups.join(keep, gone)
        open_[gone] = False
        starts.append(keep)


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
