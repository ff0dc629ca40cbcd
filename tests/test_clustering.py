"""Incremental clustering on synthetic embeddings with known people: joins at the threshold, cannot-link (two faces
of one photo are two people), the quality gate on seeding, and clusters that stay put when photos are added."""

from __future__ import annotations

import numpy as np

from faceatlas.organize.clustering import Clusters, assign


def people(rng: np.random.Generator, count: int, photos_each: int, noise: float = 0.6) -> tuple[np.ndarray, np.ndarray]:
    """Embeddings of `count` people (random directions) photographed `photos_each` times, and who is who."""
    centres = rng.standard_normal((count, 128))
    who = np.repeat(np.arange(count), photos_each)
    vectors = centres[who] / np.sqrt(128) + noise * rng.standard_normal((len(who), 128)) / np.sqrt(128)
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32), who


def test_each_person_becomes_one_cluster_and_new_photos_join_without_moving_old_ones():
    rng = np.random.default_rng(0)
    vectors, who = people(rng, 30, 6)
    clusters = Clusters(128)
    first = assign(clusters, vectors[::2], np.ones(90), np.arange(0, 180, 2), threshold=0.4)
    assert len(clusters) == 30 and all(len(set(first[who[::2] == p])) == 1 for p in range(30))
    second = assign(clusters, vectors[1::2], np.ones(90), np.arange(1, 180, 2), threshold=0.4)
    assert len(clusters) == 30  # no new clusters: every new photo joined its person's
    for person in range(30):
        assert set(second[who[1::2] == person]) == set(first[who[::2] == person])


def test_two_faces_of_one_photo_never_share_a_cluster():
    rng = np.random.default_rng(1)
    vectors, _ = people(rng, 1, 2, noise=0.05)  # one person, twice, nearly identical: e.g. a mirror or a poster
    labels = assign(Clusters(128), vectors, np.ones(2), np.array([7, 7]), threshold=0.4)
    assert labels[0] != labels[1] and min(labels) >= 0


def test_low_quality_faces_join_but_never_seed():
    rng = np.random.default_rng(2)
    vectors, who = people(rng, 2, 3)
    quality = np.array([0.9, 0.2, 0.2, 0.2, 0.2, 0.2])  # person 1 has only poor faces
    labels = assign(Clusters(128), vectors, quality, np.arange(6), threshold=0.4)
    assert (labels[who == 0] == labels[0]).all() and labels[0] >= 0
    assert (labels[who == 1] == -1).all()
