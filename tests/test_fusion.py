"""Score-level fusion of two recognisers, chosen on development pairs alone (`faceatlas eval fuse`)."""

from __future__ import annotations

import numpy as np

from faceatlas.embed.base import l2_normalise
from faceatlas.eval.fusion import MemberScores, choose_fusion, fusion_card
from faceatlas.models import get_card


def member(identities: np.ndarray, noise: float, dim: int, seed: int) -> np.ndarray:
    """Embeddings of people as unit vectors around one centre per identity, spread by `noise`."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(identities.max() + 1, dim))
    return l2_normalise(centres[identities] + noise * rng.normal(size=(len(identities), dim)))


def test_the_weight_favours_the_better_member_and_the_card_realises_the_fused_score():
    identities = np.repeat(np.arange(60), 3)
    labels = [str(i) for i in identities]
    good, poor = member(identities, 0.6, 64, 1), member(identities, 2.0, 32, 2)
    rng = np.random.default_rng(3)
    matched = [(3 * p, 3 * p + 1) for p in range(60)]
    unmatched = [(int(a), int(b)) for a, b in rng.integers(0, 180, (200, 2)) if identities[a] != identities[b]]
    pairs = np.array(matched + unmatched)
    same = np.array([True] * len(matched) + [False] * len(unmatched))

    def scores(vectors: np.ndarray) -> np.ndarray:
        return np.einsum("nd,nd->n", vectors[pairs[:, 0]], vectors[pairs[:, 1]])

    choice = choose_fusion(MemberScores("poor", scores(poor), poor, labels),
                           MemberScores("good", scores(good), good, labels), same)
    assert choice.weight <= 0.5 and choice.devtrain_accuracy >= max(choice.member_accuracy)
    assert abs(sum(choice.score_weights) - 1) < 1e-5
    card = fusion_card("fused-test", choice, (get_card("sface-2021dec-int8bq"), get_card("arcface-w600k-mbf")),
                       "synthetic pairs")
    assert card.members == ["poor", "good"] and card.embedding_dim == 640 and "non-commercial" in card.licence
    w = np.sqrt(np.array(card.score_weights))  # FusedRecogniser's scales: its cosine is the weighted sum
    fused = l2_normalise(np.concatenate([poor * w[0], good * w[1]], axis=1))
    expected = card.score_weights[0] * scores(poor) + card.score_weights[1] * scores(good)
    assert np.allclose(scores(fused), expected, atol=1e-5)
