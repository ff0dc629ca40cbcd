"""Score-level fusion of two recognisers, chosen on labelled development pairs only.

Each member's cosine is first put on a common scale — divided by the spread (standard deviation) of its impostor
scores over every impostor pair of the development images — and the fused score is `w * s1 / sd1 + (1 - w) * s2 /
sd2`. The weight `w` is the one with the best pair accuracy on the development pairs (threshold chosen there), ties
broken by the lower FNMR at FMR 1e-3 over all pairs of the development images. The card stores the combined
weights `w / sd1, (1 - w) / sd2` (normalised to sum 1), so `FusedRecogniser`'s concatenated vectors give exactly
that score up to a constant factor, and one calibration table then holds for the fused score.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from faceatlas.eval.calibration import all_pair_scores, threshold_at_fmr
from faceatlas.eval.verification import best_threshold
from faceatlas.models.card import ModelCard

WEIGHTS = tuple(float(w) for w in np.round(np.linspace(0.05, 0.95, 19), 2))


@dataclass(frozen=True)
class MemberScores:
    """One recogniser on the development data: its scores on the pairs, and its embeddings of the images."""

    model: str
    pair_scores: np.ndarray  # (P,) cosine per development pair, -1 where a face is missing
    embeddings: np.ndarray  # (M, D) rows of the development images that have a face in every member
    labels: list[str]  # identity per row


@dataclass(frozen=True)
class FusionChoice:
    members: tuple[str, str]
    weight: float  # of the first member's rescaled score
    impostor_spread: tuple[float, float]
    score_weights: tuple[float, float]  # what the card stores
    devtrain_accuracy: float
    member_accuracy: tuple[float, float]
    grid: list[dict[str, float]]


def _accuracy(scores: np.ndarray, same: np.ndarray) -> float:
    return float(np.mean((scores >= best_threshold(scores, same)) == same))


def choose_fusion(first: MemberScores, second: MemberScores, same: np.ndarray) -> FusionChoice:
    """The weight of `first` in the fused score, from the development pairs (`same`: matched or not) alone."""
    every = [all_pair_scores(m.embeddings, m.labels) for m in (first, second)]
    spreads = tuple(float(np.std(e.impostor)) for e in every)
    rows = []
    for weight in WEIGHTS:
        a, b = weight / spreads[0], (1 - weight) / spreads[1]
        genuine, impostor = (a * every[0].genuine + b * every[1].genuine,
                             a * every[0].impostor + b * every[1].impostor)  # the fused cosine, pair by pair
        rows.append({"first_weight": weight,
                     "devtrain_accuracy": _accuracy(a * first.pair_scores + b * second.pair_scores, same),
                     "devtrain_fnmr_at_fmr_1e-3": float(np.mean(genuine < threshold_at_fmr(impostor, 1e-3)))})
    best = max(rows, key=lambda r: (r["devtrain_accuracy"], -r["devtrain_fnmr_at_fmr_1e-3"]))
    raw = (best["first_weight"] / spreads[0], (1 - best["first_weight"]) / spreads[1])
    return FusionChoice(members=(first.model, second.model), weight=best["first_weight"],
                        impostor_spread=(round(spreads[0], 6), round(spreads[1], 6)),
                        score_weights=(round(raw[0] / sum(raw), 6), round(raw[1] / sum(raw), 6)),
                        devtrain_accuracy=best["devtrain_accuracy"],
                        member_accuracy=(_accuracy(first.pair_scores, same), _accuracy(second.pair_scores, same)),
                        grid=rows)


def fusion_card(model_id: str, choice: FusionChoice, cards: tuple[ModelCard, ModelCard], data: str) -> ModelCard:
    """The fused recogniser's card (not yet calibrated): members, weights, and the licences of both."""
    dims = sum(int(c.embedding_dim or 0) for c in cards)
    return ModelCard(id=model_id, task="recognise", architecture="fusion",
                     licence=" + ".join(dict.fromkeys(c.licence for c in cards)), members=list(choice.members),
                     score_weights=list(choice.score_weights), embedding_dim=dims,
                     output_spec={"embedding": dims, "score": "weighted sum of the members' cosines, each divided "
                                                              "by its impostor-score spread"},
                     notes=f"Score-level fusion chosen on {data}: weight {choice.weight:g} of {choice.members[0]}'s "
                           f"rescaled score (impostor spreads {choice.impostor_spread[0]:g} and "
                           f"{choice.impostor_spread[1]:g}); pair accuracy there {choice.devtrain_accuracy:.4f} "
                           f"against {choice.member_accuracy[0]:.4f} and {choice.member_accuracy[1]:.4f} alone.")
