"""Incremental clustering of faces into people: average linkage, computed over the faces that are new since the last
run, with the clusters already made taken as they are.

Two groups join when the average similarity between their faces clears the calibrated threshold and nothing forbids
it: two faces of one photo are two people (cannot-link), and so are two clusters named as different people or a
cluster and a person the user said it is not. Average linkage is computed from each group's sum of embeddings (the
mean of all cross similarities is the dot product of the sums over the product of the sizes), so an existing cluster
costs no more than one face. Only groups connected through a new face by at least one pair above the threshold can
join (an average above the threshold needs such a pair), so each run clusters the small components that new faces
touch, not the whole library. Faces below the seeding quality join a cluster when they clear the threshold and never
start one. Clusters keep their ids: new faces join them, and when two existing clusters join, the older id stays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

SEED_QUALITY = 0.5
"""Faces below this quality score may join a cluster but never start one (blurred, tiny or profile faces make
clusters of their own that nobody can name)."""

BLOCK = 4096
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
    # nodes: existing clusters first, then each seeding face
    node_of_face = np.full(len(labels), -1, np.int64)
    node_of_face[labels >= 0] = np.searchsorted(existing, labels[labels >= 0])
    node_of_face[seeds] = len(existing) + np.arange(len(seeds))
    components = _components(embeddings, seeds, node_of_face, len(existing) + len(seeds), threshold)
    merged: dict[int, int] = {}
    joined = np.arange(len(existing) + len(seeds))  # node -> the node it ended in
    by_node = np.argsort(node_of_face, kind="stable")
    bounds = np.searchsorted(node_of_face[by_node], np.arange(len(joined) + 1))
    for nodes in components:
        faces = np.concatenate([by_node[bounds[n]:bounds[n + 1]] for n in nodes])
        owner = np.repeat(np.arange(len(nodes)), bounds[nodes + 1] - bounds[nodes])
        _average_linkage(embeddings[faces], owner, photos[faces], nodes, existing, constraints, threshold, joined)
    # name the groups: the oldest existing cluster in a group keeps its id, all-new groups get new ids
    group_id: dict[int, int] = {}
    for node in range(len(existing)):
        root = int(joined[node])
        if root in group_id:
            merged[int(existing[node])] = group_id[root]
        else:
            group_id[root] = int(existing[node])
    for face in seeds:
        root = int(joined[node_of_face[face]])
        if root not in group_id:
            group_id[root], next_id = next_id, next_id + 1
        labels[face] = group_id[root]
    for old, kept in merged.items():
        labels[labels == old] = kept
    _attach_low_quality(embeddings, labels, photos, quality, seed_quality, threshold)
    return Clustering(labels, merged)


def _components(embeddings: np.ndarray, seeds: np.ndarray, node_of_face: np.ndarray, nodes: int,
                threshold: float) -> list[np.ndarray]:
    """Groups of nodes connected by a pair of faces above the threshold, one face of each pair new (only these can
    join); groups of one node are left out."""
    member = np.flatnonzero(node_of_face >= 0)
    rows, cols = [], []
    for start in range(0, len(seeds), BLOCK):
        block = seeds[start:start + BLOCK]
        similar = (embeddings[block] @ embeddings[member].T) >= threshold
        a, b = np.nonzero(similar)
        rows.append(node_of_face[block[a]])
        cols.append(node_of_face[member[b]])
    if not rows:
        return []
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    graph = coo_matrix((np.ones(len(rows), np.int8), (rows, cols)), shape=(nodes, nodes))
    _, component = connected_components(graph, directed=False)
    order = np.argsort(component, kind="stable")
    bounds = np.flatnonzero(np.diff(component[order])) + 1
    return [group for group in np.split(order, bounds) if len(group) > 1]


def _average_linkage(embeddings: np.ndarray, owner: np.ndarray, photos: np.ndarray, nodes: np.ndarray,
                     existing: np.ndarray, constraints: Constraints, threshold: float, joined: np.ndarray) -> None:
    """Average-linkage agglomeration of one component (its faces' embeddings, photos and node `owner`, an index
    into `nodes`) down to the threshold; records in `joined` the node each ended in.

    Nearest-neighbour chain, O(k^2) for k nodes: follow each group's most similar group until two are each other's;
    join them if they clear the threshold, else the group at the chain's end can never join anyone (average linkage
    is reducible: a join never makes a group more similar to a third than the closer of its two parts was, and a
    constraint only ever forbids more), so it is set aside."""
    k = len(nodes)
    sums = np.zeros((k, embeddings.shape[1]), np.float64)
    np.add.at(sums, owner, embeddings)
    counts = np.bincount(owner, minlength=k).astype(np.float64)
    dots = sums @ sums.T
    blocked = _blocked(owner, photos, nodes, existing, constraints, k)
    np.fill_diagonal(blocked, True)
    open_ = np.ones(k, bool)  # still able to join
    chain: list[int] = []
    while chain or open_.any():
        if not chain:
            chain.append(int(np.argmax(open_)))
        a = chain[-1]
        row = np.where(blocked[a] | ~open_, -np.inf, dots[a] / (counts[a] * counts))
        b = int(np.argmax(row))
        if len(chain) > 1 and row[chain[-2]] >= row[b]:
            b = chain[-2]
        if row[b] < threshold:
            open_[a] = False
            chain.pop()
            continue
        if len(chain) < 2 or b != chain[-2]:
            chain.append(b)
            continue
        chain.pop(), chain.pop()
        keep, gone = min(a, b), max(a, b)  # the lower index: existing clusters come first, oldest first
        dots[keep] += dots[gone]
        dots[:, keep] = dots[keep]
        counts[keep] += counts[gone]
        blocked[keep] |= blocked[gone]
        blocked[:, keep] = blocked[keep]
        open_[gone] = False
        joined[nodes[joined[nodes] == nodes[gone]]] = nodes[keep]


def _blocked(owner: np.ndarray, photos: np.ndarray, nodes: np.ndarray, existing: np.ndarray,
             constraints: Constraints, k: int) -> np.ndarray:
    """Which node pairs may never join: a shared photo, two different people, or a person the user ruled out."""
    _, photo = np.unique(photos, return_inverse=True)
    incidence = np.zeros((k, int(photo.max()) + 1), np.float32)
    incidence[owner, photo] = 1
    blocked = (incidence @ incidence.T) > 0
    person = np.full(k, -1, np.int64)
    for n, node in enumerate(nodes):
        if node < len(existing):
            person[n] = constraints.person.get(int(existing[node]), -1)
    named = person >= 0
    blocked |= named[:, None] & named[None] & (person[:, None] != person[None])
    for n, node in enumerate(nodes):
        if node < len(existing):
            ruled_out = constraints.not_person.get(int(existing[node]), set())
            hit = np.isin(person, list(ruled_out)) if ruled_out else np.zeros(k, bool)
            blocked[n] |= hit
            blocked[:, n] |= hit
    return blocked


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
