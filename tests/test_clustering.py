"""Incremental clustering on synthetic embeddings with known people: the same clusters as batch average linkage,
new photos joining without moving old ones, stable ids when clusters join, and the constraints (two faces of one
photo, people named apart or ruled out, the quality gate on seeding)."""

from __future__ import annotations

import numpy as np
from sklearn.cluster import AgglomerativeClustering
from sklearn.metrics import adjusted_rand_score

from faceatlas.organize.clustering import Constraints, cluster


def people(rng: np.random.Generator, count: int, photos_each: int, noise: float = 0.6) -> tuple[np.ndarray, np.ndarray]:
    """Embeddings of `count` people (random directions) photographed `photos_each` times, and who is who."""
    centres = rng.standard_normal((count, 128))
    who = np.repeat(np.arange(count), photos_each)
    vectors = centres[who] / np.sqrt(128) + noise * rng.standard_normal((len(who), 128)) / np.sqrt(128)
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32), who


def fresh(n: int) -> np.ndarray:
    return np.full(n, -1, np.int64)


def test_all_at_once_is_batch_average_linkage():
    """Up to CHUNK new faces at once are exactly batch average linkage (more are taken CHUNK at a time)."""
    rng = np.random.default_rng(3)
    vectors, _ = people(rng, 60, 5, noise=1.1)  # noisy enough that the threshold cuts some people apart
    labels = cluster(vectors, fresh(300), np.arange(300), np.ones(300), threshold=0.45, next_id=0).labels
    batch = AgglomerativeClustering(n_clusters=None, metric="cosine", linkage="average",
                                    distance_threshold=0.55).fit_predict(vectors)
    assert len(set(batch)) > 60 and adjusted_rand_score(batch, labels) == 1.0


def test_each_person_becomes_one_cluster_and_new_photos_join_without_moving_old_ones():
    rng = np.random.default_rng(0)
    vectors, who = people(rng, 30, 6)
    first = cluster(vectors[::2], fresh(90), np.arange(90), np.ones(90), threshold=0.4, next_id=100).labels
    assert len(set(first)) == 30 and all(len(set(first[who[::2] == p])) == 1 for p in range(30))
    assert first.min() == 100
    labels = fresh(180)
    labels[::2] = first
    second = cluster(vectors, labels, np.arange(180), np.ones(180), threshold=0.4, next_id=130)
    assert (second.labels[::2] == first).all() and not second.merged
    for person in range(30):  # every new photo joined its person's cluster: no new ones
        assert set(second.labels[who == person]) == set(first[who[::2] == person])


def test_a_new_face_that_bridges_two_clusters_joins_them_under_the_older_id():
    rng = np.random.default_rng(4)
    vectors, _ = people(rng, 1, 8, noise=0.3)
    labels = np.array([5, 5, 5, 5, 9, 9, 9, -1])  # one person split earlier (say, by a stricter threshold)
    result = cluster(vectors, labels, np.arange(8), np.ones(8), threshold=0.4, next_id=10)
    assert result.merged == {9: 5} and (result.labels == 5).all()


def test_two_faces_of_one_photo_never_share_a_cluster():
    rng = np.random.default_rng(1)
    vectors, _ = people(rng, 1, 2, noise=0.05)  # one person, twice, nearly identical: e.g. a mirror or a poster
    labels = cluster(vectors, fresh(2), np.array([7, 7]), np.ones(2), threshold=0.4, next_id=0).labels
    assert labels[0] != labels[1] and min(labels) >= 0


def test_clusters_named_apart_or_ruled_out_never_join():
    rng = np.random.default_rng(5)
    vectors, _ = people(rng, 1, 6, noise=0.3)
    labels = np.array([1, 1, 2, 2, -1, -1])
    apart = Constraints(person={1: 10, 2: 11}, not_person={})
    result = cluster(vectors, labels, np.arange(6), np.ones(6), threshold=0.4, next_id=3, constraints=apart)
    assert not result.merged and set(result.labels) == {1, 2}
    ruled_out = Constraints(person={1: 10}, not_person={2: {10}})
    result = cluster(vectors, labels, np.arange(6), np.ones(6), threshold=0.4, next_id=3, constraints=ruled_out)
    assert not result.merged and set(result.labels) == {1, 2}
    allowed = Constraints(person={1: 10}, not_person={2: {12}})
    assert cluster(vectors, labels, np.arange(6), np.ones(6), 0.4, 3, allowed).merged == {2: 1}


def test_low_quality_faces_join_but_never_seed():
    rng = np.random.default_rng(2)
    vectors, who = people(rng, 2, 3)
    quality = np.array([0.9, 0.0, 0.0, 0.0, 0.0, 0.0])  # person 1 has only faces below the quality scale
    labels = cluster(vectors, fresh(6), np.arange(6), quality, threshold=0.4, next_id=0).labels
    assert (labels[who == 0] == labels[0]).all() and labels[0] >= 0
    assert (labels[who == 1] == -1).all()
    quality[5] = np.nan  # an unknown quality may seed, and the poor faces join it
    labels = cluster(vectors, fresh(6), np.arange(6), quality, threshold=0.4, next_id=0).labels
    assert (labels[who == 1] == labels[5]).all() and labels[5] >= 0
