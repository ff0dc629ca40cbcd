"""`FaceAnalyzer`: decode -> detect -> align -> embed, composed from a profile, plus calibrated 1:1 verification."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from faceatlas.attributes import HEADS, AttributeHead, create_head
from faceatlas.config import get_settings
from faceatlas.detect import Detector, create_detector
from faceatlas.detect.refine import LandmarkRefiner
from faceatlas.embed import Recogniser, create_recogniser
from faceatlas.errors import CalibrationError, NoFaceError
from faceatlas.io.image import ColorOrder, ImageSource, load_image
from faceatlas.models.card import ModelCard
from faceatlas.models.registry import get_card
from faceatlas.profiles import get_profile
from faceatlas.types import Faces, Verification

FALLBACK_SCORE_THRESHOLD = 0.3
"""When nothing is found at the normal threshold, `analyze` retries once at this one (and says so in `meta`)."""


class FaceAnalyzer:
    """One pipeline over the models of a profile. Models load lazily on first use and are cached per process.

    >>> fa = FaceAnalyzer()                    # "default": YuNet + RetinaFace refinement + SFace
    >>> faces = fa.analyze("group.jpg")        # boxes, scores, landmarks5, embeddings
    >>> fa.verify("a.jpg", "b.jpg", fmr=1e-4)  # score, same, threshold, fmr
    >>> FaceAnalyzer(heads=["age_gender", "expression", "quality"]).analyze("group.jpg").attributes
    """

    def __init__(self, profile: str | None = None, threads: int | None = None,
                 detector: str | None = None, recogniser: str | None = None, refiner: str | None = None,
                 flip: bool | None = None, heads: list[str] | tuple[str, ...] = (),
                 **detector_options: float | int) -> None:
        chosen = get_profile(profile or get_settings().profile)
        self.profile = chosen.name
        self.threads = get_settings().threads if threads is None else threads
        self.detector_card = get_card(detector or chosen.detector)
        self.recogniser_card = get_card(recogniser or chosen.recogniser)
        refiner_id = chosen.refiner if refiner is None else refiner
        self.refiner_card = get_card(refiner_id) if refiner_id else None
        self.flip = chosen.flip if flip is None else flip
        self.detector_options = {**chosen.detector_options, **detector_options}
        self._detector: Detector | None = None
        self._recogniser: Recogniser | None = None
        self._refiner: LandmarkRefiner | None = None
        unknown = [h for h in heads if h not in HEADS]
        if unknown:
            raise ValueError(f"unknown attribute head(s) {', '.join(unknown)} (known: {', '.join(HEADS)})")
        self.head_names = tuple(heads)
        self._heads: list[AttributeHead] | None = None

    @property
    def detector(self) -> Detector:
        if self._detector is None:
            self._detector = create_detector(self.detector_card, self.threads, **self.detector_options)
        return self._detector

    @property
    def refiner(self) -> LandmarkRefiner | None:
        if self._refiner is None and self.refiner_card is not None:
            # the detector sees the crop at its own size: enlarging it to 640 px cost 6x the time for no accuracy
            self._refiner = LandmarkRefiner(create_detector(self.refiner_card, self.threads,
                                                            input_size=LandmarkRefiner.size))
        return self._refiner

    @property
    def recogniser(self) -> Recogniser:
        if self._recogniser is None:
            self._recogniser = create_recogniser(self.recogniser_card, self.threads, self.flip)
        return self._recogniser

    @property
    def heads(self) -> list[AttributeHead]:
        if self._heads is None:
            self._heads = [create_head(name, self.threads) for name in self.head_names]
        return self._heads

    def analyze(self, source: ImageSource, embed: bool = True, color: ColorOrder = "bgr") -> Faces:
        """Every face in one image, with embeddings and the columns of the analyzer's attribute heads; `color`
        declares the channel order of a numpy array input."""
        image = load_image(source, color=color)
        faces = self.detect(image.bgr)
        faces = replace(faces, source=image.source)
        if embed:
            faces = self.embed(image.bgr, faces)
        return self.describe(image.bgr, faces)

    def describe(self, bgr: np.ndarray, faces: Faces) -> Faces:
        """Add the attribute heads' columns (age, gender, expression, ...) to faces found in `bgr`."""
        for head in self.heads:
            faces = faces.with_attributes(head.predict(bgr, faces))
        return faces

    def detect(self, bgr: np.ndarray) -> Faces:
        """Detect on decoded BGR pixels (retrying once at a lower threshold when nothing is found), then refine the
        landmarks if the profile has a refiner."""
        faces = self.detector.detect(bgr)
        threshold = getattr(self.detector, "score_threshold", None)
        if len(faces) == 0 and threshold is not None and threshold > FALLBACK_SCORE_THRESHOLD:
            options = {**self.detector_options, "score_threshold": FALLBACK_SCORE_THRESHOLD, "tile": 0}
            fallback = create_detector(self.detector_card, self.threads, **options)
            faces = fallback.detect(bgr)
            if len(faces):
                faces.meta["fallback"] = f"score_threshold {FALLBACK_SCORE_THRESHOLD}"
        return faces if self.refiner is None else self.refiner.refine(bgr, faces)

    def embed(self, bgr: np.ndarray, faces: Faces) -> Faces:
        """Add identity embeddings to faces found in `bgr`."""
        vectors = self.recogniser.embed(bgr, faces.landmarks5, faces.boxes)
        return faces.with_embeddings(vectors, self.recogniser.model_id)

    def primary_face(self, source: ImageSource, color: ColorOrder = "bgr") -> Faces:
        """The largest face of an image, embedded; `NoFaceError` if there is none."""
        return self._primary(source, color)[1]

    def verify(self, a: ImageSource, b: ImageSource, fmr: float = 1e-4, min_quality: float | None = None
               ) -> Verification:
        """Is the largest face of `a` the same person as the largest face of `b`, decided at false-match rate `fmr`.

        With `min_quality`, a pair where either face's quality score is below it gets the answer "insufficient
        quality" (`insufficient_quality=True`, `same=False`) instead of a decision likely to be wrong.
        """
        threshold = calibrated_threshold(self.recogniser_card, fmr)
        first, second = self._primary(a), self._primary(b)
        score = float(first[1].embeddings[0] @ second[1].embeddings[0])
        quality = None
        if min_quality is not None:
            from faceatlas.quality.head import QualityHead

            head = QualityHead()
            quality = tuple(float(head.predict(bgr, faces)["quality"][0]) for bgr, faces in (first, second))
        insufficient = quality is not None and min(quality) < min_quality
        return Verification(score=score, same=score >= threshold and not insufficient, threshold=threshold, fmr=fmr,
                            model=self.recogniser_card.id, quality=quality, insufficient_quality=insufficient)

    def _primary(self, source: ImageSource, color: ColorOrder = "bgr") -> tuple[np.ndarray, Faces]:
        """The decoded pixels and their largest face, embedded."""
        image = load_image(source, color=color)
        faces = self.detect(image.bgr)
        if len(faces) == 0:
            raise NoFaceError(f"{image.source or 'image'}: no face found")
        return image.bgr, self.embed(image.bgr, faces[int(np.argmax(faces.areas))])


def calibrated_threshold(card: ModelCard, fmr: float) -> float:
    """The score threshold at `fmr` from the card's calibration table."""
    if card.calibration is None:
        raise CalibrationError(
            f"model '{card.id}' has no calibration table; run `faceatlas eval calibrate --model {card.id} "
            "--identities DIR` on identity-labelled images"
        )
    return card.calibration.threshold_at(fmr)
