"""Incremental clustering of faces into people, with cannot-link constraints and quality-aware seeding.

Faces are taken best quality first. Each joins the cluster whose centroid it resembles most if the similarity clears
the calibrated threshold and the cluster holds no face of the same photo (two faces in one photo are two people);
otherwise it starts a new cluster if its quality is high enough to seed one, and stays unclustered if not. Clusters
are only ever added to, so their ids are stable and new photos never re-cluster the old ones.
"""

from __future__ import annotations

import numpy as np

SEED_QUALITY = 0.5
"""Faces below this quality score may join a cluster but never start one (blurred, tiny or profile faces make
clusters of their own that nobody can name)."""


class Clusters:
    """Running state: each cluster's centroid (the normalised sum of its members' embeddings) and size, and for each
    photo the clusters that already hold one of its faces. Arrays grow by doubling."""

    def __init__(self, ndim: int) -> None:
        self.size = 0
        self._sums = np.zeros((64, ndim), np.float64)
        self._centroids = np.zeros((64, ndim), np.float32)
        self._counts = np.zeros(64, np.int64)
        self.by_photo: dict[int, set[int]] = {}

    def __len__(self) -> int:
        return self.size

    @property
    def centroids(self) -> np.ndarray:
        return self._centroids[: self.size]

    @property
    def counts(self) -> np.ndarray:
        return self._counts[: self.size]

    def add(self, embedding: np.ndarray, photo: int, cluster: int | None = None) -> int:
        """Put a face into `cluster`, or into a new one when None; returns the cluster."""
        if cluster is None:
            if self.size == len(self._counts):
                self._sums, self._centroids, self._counts = (np.concatenate([a, np.zeros_like(a)]) for a in
                                                             (self._sums, self._centroids, self._counts))
            cluster, self.size = self.size, self.size + 1
        self._sums[cluster] += embedding
        self._counts[cluster] += 1
        self._centroids[cluster] = self._sums[cluster] / self._counts[cluster]
        self.by_photo.setdefault(photo, set()).add(cluster)
        return cluster


def assign(clusters: Clusters, embeddings: np.ndarray, quality: np.ndarray, photos: np.ndarray, threshold: float,
           seed_quality: float = SEED_QUALITY) -> np.ndarray:
    """Add faces to `clusters` (updated in place); returns each face's cluster, -1 for unclustered."""
    labels = np.full(len(embeddings), -1, np.int64)
    for face in np.lexsort((np.arange(len(quality)), -np.nan_to_num(quality, nan=0.0))):
        embedding, photo = embeddings[face], int(photos[face])
        target = None
        if len(clusters):
            similarity = clusters.centroids @ embedding
            for blocked in clusters.by_photo.get(photo, ()):
                similarity[blocked] = -np.inf
            best = int(np.argmax(similarity))
            target = best if similarity[best] >= threshold else None
        if target is not None or quality[face] >= seed_quality:
            labels[face] = clusters.add(embedding, photo, target)
    return labels
