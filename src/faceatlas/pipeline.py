"""`FaceAnalyzer`: the one way from pixels to faces. Decode -> detect (+ refine) -> pick the subject -> align once ->
embed (batched across faces and pictures) -> attribute heads, composed from a profile; plus calibrated 1:1
verification. Every door (gallery, library, CLI, eval) consumes its `shots`."""

from __future__ import annotations

import copy
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from faceatlas.attributes import ATTRIBUTE_HEADS, AttributeHead, create_head
from faceatlas.config import get_settings
from faceatlas.errors import FaceAtlasError
from faceatlas.models.card import ModelCard
from faceatlas.models.licences import licences_of, licences_of_models, require_all_accepted
from faceatlas.models.registry import get_card, with_dependencies
from faceatlas.profiles import get_profile
from faceatlas.types import Faces, Shot, SubjectRule, Verification

if TYPE_CHECKING:
    from faceatlas.detect import Detector
    from faceatlas.detect.refine import LandmarkRefiner
    from faceatlas.embed import Recogniser
    from faceatlas.io.image import ColorOrder, ImageSource
    from faceatlas.io.sources import Picture, Sources

FACE_CROP_SIDE = 64
"""A picture at most this many pixels a side that holds a face is a face crop (FER2013's are 48): one face filling
it, its landmarks where such crops have them, not re-cut from a detector's landmarks on an enlarged copy (which cost
3 points of expression accuracy on FER2013 PublicTest: 62.0 % against 65.2 % for the network on the crops)."""

CROP_INPUT = 160
"""The detector that confirms a small picture holds a face sees it enlarged to this many pixels a side."""

CROP_FACE_SHARE = 0.25
"""The detected face must cover this share of the small picture for it to be a face crop."""

FALLBACK_SCORE_THRESHOLD = 0.3
"""When nothing is found at the normal threshold, detection retries once at this one (and says so in `meta`)."""

BATCH_PICTURES = 16
BATCH_PIXELS = 40_000_000
"""A batch of pictures is analysed together (one recogniser run for all their faces) up to this many pictures or
pixels, whichever comes first (the picture that crosses the pixel bound is the batch's last): memory stays bounded
however long the stream."""

HEAD_CROP = 112
"""The side of the ArcFace-aligned crop heads are given (`AttributeHead.predict`'s `aligned`)."""

Subject = SubjectRule | Sequence[float] | None
"""Which faces of each picture to keep: all (None), the one a `SubjectRule` picks, or the one at an xyxy box."""


@dataclass(frozen=True)
class AnalyzerSpec:
    """Everything that decides what a `FaceAnalyzer` computes: picklable, so a worker process can build the same
    analyzer (`spec.build()`)."""

    profile: str
    threads: int
    detector: str
    recogniser: str
    refiner: str | None
    flip: bool
    heads: tuple[str, ...] = ()
    detector_options: dict[str, float | int] = field(default_factory=dict)
    max_pixels: int | None = None

    def build(self) -> FaceAnalyzer:
        return FaceAnalyzer(self.profile, self.threads, self.detector, self.recogniser, self.refiner or "",
                            self.flip, self.heads, max_pixels=self.max_pixels, **self.detector_options)


class FaceAnalyzer:
    """One pipeline over the models of a profile. Models load lazily on first use, once per analyzer (sessions are
    cached per process).

    >>> fa = FaceAnalyzer()                    # "default": YuNet + RetinaFace refinement + SFace
    >>> faces = fa.analyze("group.jpg")        # boxes, scores, landmarks5, embeddings
    >>> for shot in fa.shots(["a.jpg", "folder/"]): print(shot.source, len(shot.faces), shot.error)
    >>> fa.verify("a.jpg", "b.jpg", fmr=1e-4)  # score, same, threshold, fmr
    >>> FaceAnalyzer(heads=["age_gender", "expression", "quality"]).analyze("group.jpg").attributes
    """

    def __init__(self, profile: str | None = None, threads: int | None = None,
                 detector: str | None = None, recogniser: str | None = None, refiner: str | None = None,
                 flip: bool | None = None, heads: Sequence[str] = (), max_pixels: int | None = None,
                 **detector_options: float | int) -> None:
        settings = get_settings()
        chosen = get_profile(profile or settings.profile)
        refiner_id = chosen.refiner if refiner is None else refiner
        unknown = [h for h in heads if h not in ATTRIBUTE_HEADS]
        if unknown:
            raise ValueError(f"unknown attribute head(s) {', '.join(unknown)} (known: "
                             f"{', '.join(ATTRIBUTE_HEADS.names())})")
        self.spec = AnalyzerSpec(
            profile=chosen.name, threads=settings.threads if threads is None else threads,
            detector=detector or chosen.detector,
            recogniser=recogniser or (settings.recogniser if profile is None else None) or chosen.recogniser,
            refiner=refiner_id or None, flip=chosen.flip if flip is None else flip, heads=tuple(heads),
            detector_options={**chosen.detector_options, **detector_options}, max_pixels=max_pixels)
        self.detector_card = get_card(self.spec.detector)
        self.recogniser_card = get_card(self.spec.recogniser)
        self.refiner_card = get_card(self.spec.refiner) if self.spec.refiner else None

    # ---- what it is ------------------------------------------------------------------------------------------

    @property
    def profile(self) -> str:
        return self.spec.profile

    @property
    def threads(self) -> int:
        return self.spec.threads

    @property
    def flip(self) -> bool:
        return self.spec.flip

    @property
    def head_names(self) -> tuple[str, ...]:
        return self.spec.heads

    @property
    def confirm_below(self) -> float:
        """Faces the detector scores lower are kept only if the refiner finds them too (0: no refiner, or the
        profile does not ask)."""
        return get_profile(self.profile).confirm_below if self.refiner_card is not None else 0.0

    @property
    def detector_options(self) -> dict[str, float | int]:
        return dict(self.spec.detector_options)

    def with_heads(self, *names: str) -> FaceAnalyzer:
        """This analyzer with these attribute heads added, sharing the models already loaded."""
        missing = tuple(n for n in names if n not in self.spec.heads)
        if not missing:
            return self
        other = copy.copy(self)  # the models already built come along (cached properties live in __dict__)
        other.spec = replace(self.spec, heads=self.spec.heads + missing)
        if "heads" in self.__dict__:
            other.__dict__["heads"] = [*self.heads, *(create_head(n, self.threads) for n in missing)]
        return other

    # ---- models, built once ----------------------------------------------------------------------------------

    @cached_property
    def detector(self) -> Detector:
        from faceatlas.detect import create_detector

        return create_detector(self.detector_card, self.threads, **self.spec.detector_options)

    @cached_property
    def _fallback_detector(self) -> Detector | None:
        """The detector at `FALLBACK_SCORE_THRESHOLD` (whole image, no tiles), or None if it would be no looser."""
        from faceatlas.detect import create_detector

        threshold = getattr(self.detector, "score_threshold", None)
        if threshold is None or threshold <= FALLBACK_SCORE_THRESHOLD:
            return None
        options = {**self.spec.detector_options, "score_threshold": FALLBACK_SCORE_THRESHOLD, "tile": 0,
                   "min_face": 0}
        return create_detector(self.detector_card, self.threads, **options)

    @cached_property
    def refiner(self) -> LandmarkRefiner | None:
        if self.refiner_card is None:
            return None
        from faceatlas.detect import create_detector
        from faceatlas.detect.refine import LandmarkRefiner

        # the detector sees the crop at its own size: enlarging it to 640 px cost 6x the time for no accuracy
        return LandmarkRefiner(create_detector(self.refiner_card, self.threads, input_size=LandmarkRefiner.size),
                               confirm_below=self.confirm_below)

    @cached_property
    def recogniser(self) -> Recogniser:
        from faceatlas.embed import create_recogniser

        return create_recogniser(self.recogniser_card, self.threads, self.flip)

    @cached_property
    def heads(self) -> list[AttributeHead]:
        return [create_head(name, self.threads) for name in self.spec.heads]

    @property
    def _quality_reads_norms(self) -> bool:
        """The quality head is asked for and the recogniser gives the embedding norms it reads: embed for it."""
        return "quality" in self.spec.heads and hasattr(self.recogniser, "embed_crops_and_norms")

    # ---- the stream ------------------------------------------------------------------------------------------

    def shots(self, sources: Sources, embed: bool = True, color: ColorOrder = "bgr", subject: Subject = None,
              videos: bool = False, every: float | None = None, folders: bool = True, batch: int = BATCH_PICTURES,
              describe: bool = True) -> Iterator[Shot]:
        """One `Shot` per picture of `sources` (see `faceatlas.io.sources`: paths, folders, bytes, arrays, PIL
        images, videos with `videos` or `every`), in order. Pictures are analysed in batches (`BATCH_PICTURES`,
        `BATCH_PIXELS`); with `subject`, each keeps only the face the rule picks (a picture without one gets the
        `NoFaceError` as its `error`). A source that cannot be read gives a shot with its error and the stream goes
        on; a model that cannot run (not installed, say) raises, as it would for every picture. With
        `folders=False` a folder is not searched: callers that map shots back by position pass it. A live source
        wants `batch=1`: each frame is analysed as soon as it arrives. With `describe=False` the attribute heads
        do not run (a tracker asks for them, with `complete`, only for the faces that need them)."""
        from faceatlas.io.sources import pictures  # decoders (OpenCV, Pillow) load with the first picture

        waiting: list[Picture] = []
        pixels = 0
        for picture in pictures(sources, color, self.spec.max_pixels, videos, every, folders):
            waiting.append(picture)
            pixels += 0 if picture.bgr is None else picture.bgr.shape[0] * picture.bgr.shape[1]
            if len(waiting) >= batch or pixels >= BATCH_PIXELS:
                yield from self._analyse(waiting, embed, subject, describe)
                waiting, pixels = [], 0
        yield from self._analyse(waiting, embed, subject, describe)

    def shot(self, source: ImageSource, embed: bool = True, color: ColorOrder = "bgr", subject: Subject = None
             ) -> Shot:
        """The one picture of an image source (a path, bytes, an array or a PIL image; not a folder or a list),
        analysed; its error raised if it has one."""
        from faceatlas.io.sources import is_single

        if not is_single(source):
            raise TypeError(f"one image is analysed at a time, not a {type(source).__name__} (use shots)")
        [found] = self.shots(source, embed, color, subject, folders=False)
        if found.error is not None:
            raise found.error
        return found

    def analyze(self, source: ImageSource, embed: bool = True, color: ColorOrder = "bgr", subject: Subject = None
                ) -> Faces:
        """Every face in one image (or, with `subject`, the one it picks), with embeddings and the columns of the
        analyzer's attribute heads; `color` declares the channel order of a numpy array input."""
        return self.shot(source, embed, color, subject).faces

    def _analyse(self, batch: list[Picture], embed: bool, subject: Subject, describe: bool = True) -> list[Shot]:
        """Detect and pick faces picture by picture, align once, embed the whole batch in one recogniser run, then
        run the heads."""
        found: list[tuple[Picture, Faces, FaceAtlasError | None, dict[str, float]]] = []
        for picture in batch:
            ms = {"decode": picture.decode_ms}
            if picture.bgr is None:
                found.append((picture, Faces.empty((0, 0), source=picture.source), picture.error, ms))
                continue
            started = time.perf_counter()
            faces, error = replace(self.detect(picture.bgr), source=picture.source), None
            if subject is not None:
                try:
                    faces = faces.subject(subject)
                except FaceAtlasError as refused:
                    name = picture.source or "image"
                    error = type(refused)(f"{name}: {refused}")
                    faces = faces[[]]
            ms["detect"] = (time.perf_counter() - started) * 1000
            found.append((picture, faces, error, ms))
        live = [(p.bgr, faces, ms) for p, faces, error, ms in found if p.bgr is not None and error is None]
        needed = embed or (describe and self._quality_reads_norms)
        aligned = self._align([(bgr, faces) for bgr, faces, _ in live], needed) if needed or describe \
            else [None] * len(live)
        embedded = self._embed_batch([(bgr, faces) for bgr, faces, _ in live], aligned, [ms for *_, ms in live]) \
            if needed else [faces for _, faces, _ in live]
        described = (self._describe(bgr, faces, crops, ms) if describe else faces for (bgr, _, ms), faces, crops
                     in zip(live, embedded, aligned, strict=True))
        if needed and not embed:  # embedded for the quality head only: not returned
            described = (faces.with_embeddings(None, None) for faces in described)
        shots = []
        for picture, faces, error, ms in found:
            if picture.bgr is not None and error is None:
                faces = next(described)
            shots.append(Shot(faces=faces, image=picture.bgr, source=picture.source, index=picture.index,
                              frame=picture.frame, time_ms=picture.time_ms, error=error, warning=picture.warning,
                              ms={k: round(v, 3) for k, v in ms.items()}))
        return shots

    # ---- the steps -------------------------------------------------------------------------------------------

    @property
    def licences(self) -> tuple[str, ...]:
        """The restrictive licences (accepted by the user) of every model this analyzer runs; each result names
        those of the models that made it."""
        return tuple(sorted({*self._detection_licences, *self._embedding_licences, *self._head_licences}))

    def require_licences(self) -> None:
        """`LicenceNotAcceptedError` unless they are all accepted: for work that reuses this analyzer's earlier
        results (cached embeddings) without running a model."""
        require_all_accepted(self.licences)

    @property
    def _head_licences(self) -> tuple[str, ...]:
        return licences_of_models(tuple(m for head in self.heads for m in head.model_ids))

    @cached_property
    def _detection_licences(self) -> tuple[str, ...]:
        return licences_of([self.detector_card, *([self.refiner_card] if self.refiner_card else [])])

    @cached_property
    def _embedding_licences(self) -> tuple[str, ...]:
        return licences_of(with_dependencies(self.recogniser_card))

    def detect(self, bgr: np.ndarray) -> Faces:
        """Detect-only mode on decoded BGR pixels: the detector (retrying once at a lower threshold when nothing is
        found), then the profile's landmark refiner, whose doubt about an unsure face can drop it under the
        threshold. A picture no larger than `FACE_CROP_SIDE` is a face crop (`face_crop_faces`) when a face fills it,
        and has no face otherwise."""
        faces = self._detect(bgr)
        return replace(faces, licences=self._detection_licences) if self._detection_licences else faces

    def _detect(self, bgr: np.ndarray) -> Faces:
        if max(bgr.shape[:2]) <= FACE_CROP_SIDE:
            return self._face_crop(bgr)
        faces, threshold = self.detector.detect(bgr), getattr(self.detector, "score_threshold", None)
        if len(faces) == 0 and self._fallback_detector is not None:
            faces, threshold = self._fallback_detector.detect(bgr), FALLBACK_SCORE_THRESHOLD
            if len(faces):
                faces.meta["fallback"] = f"score_threshold {FALLBACK_SCORE_THRESHOLD}"
        if self.refiner is None:
            return faces
        refined = self.refiner.refine(bgr, faces)
        if threshold is None or (refined.scores >= threshold).all():
            return refined
        kept = refined[refined.scores >= threshold]  # without the unsure faces the refiner did not confirm
        return replace(kept, meta={**kept.meta, "unconfirmed": len(refined) - len(kept)})

    @cached_property
    def _crop_detector(self) -> Detector:
        """The profile's detector at `FALLBACK_SCORE_THRESHOLD` with a `CROP_INPUT`-pixel input (whole picture)."""
        from faceatlas.detect import create_detector

        options = {**self.spec.detector_options, "score_threshold": FALLBACK_SCORE_THRESHOLD, "tile": 0,
                   "min_face": 0, "input_size": CROP_INPUT}
        return create_detector(self.detector_card, self.threads, **options)

    def _face_crop(self, bgr: np.ndarray) -> Faces:
        """A small picture's one face filling it, if the crop detector finds a face covering `CROP_FACE_SHARE` of
        it; else no face."""
        height, width = bgr.shape[:2]
        found = self._crop_detector.detect(bgr)
        if not len(found) or found.areas.max() < CROP_FACE_SHARE * width * height:
            return Faces.empty((width, height))
        from faceatlas.attributes.chips import face_crop_faces  # OpenCV, loaded when first needed

        return face_crop_faces(width, height)

    def embed(self, bgr: np.ndarray, faces: Faces) -> Faces:
        """Add identity embeddings to faces found in `bgr`."""
        return self._embed_batch([(bgr, faces)], self._align([(bgr, faces)], True), [{}])[0]

    def complete(self, bgr: np.ndarray, faces: Faces) -> Faces:
        """Embeddings and the attribute heads' columns for faces already found in `bgr` (a tracker's faces that need
        them), aligned once for both."""
        aligned = self._align([(bgr, faces)], True)
        [embedded] = self._embed_batch([(bgr, faces)], aligned, [{}])
        return self._describe(bgr, embedded, aligned[0], {})

    def describe(self, bgr: np.ndarray, faces: Faces) -> Faces:
        """Add the attribute heads' columns (age, gender, expression, ...) to faces found in `bgr`."""
        return self._describe(bgr, faces, self._align([(bgr, faces)], False)[0], {})

    def _align(self, items: list[tuple[np.ndarray, Faces]], embed: bool) -> list[np.ndarray | None]:
        """Each picture's faces aligned to the ArcFace template, once: at the recogniser's crop size when it embeds
        such crops, else at 112 px when the quality head needs them; None where nothing needs them."""
        size = self.recogniser.crop_size if embed else None
        if size is None and "quality" in self.spec.heads:
            size = HEAD_CROP
        if size is None:
            return [None] * len(items)
        from faceatlas.align import align_faces

        return [align_faces(bgr, faces.landmarks5, size) for bgr, faces in items]

    def _embed_batch(self, items: list[tuple[np.ndarray, Faces]], aligned: list[np.ndarray | None],
                     ms: list[dict[str, float]]) -> list[Faces]:
        """Embeddings for the faces of every picture: one recogniser run over all their aligned crops (and mirrors)
        when the recogniser embeds crops, else picture by picture."""
        started = time.perf_counter()
        recogniser = self.recogniser
        counts = [len(faces) for _, faces in items]
        norm_parts: list[np.ndarray | None] = [None] * len(items)
        if recogniser.crop_size is not None and items:
            crops = np.concatenate([c for c in aligned if c is not None]) if sum(counts) else None
            if crops is None:
                vectors, norms = np.zeros((0, recogniser.dim), np.float32), np.zeros(0, np.float32)
            elif hasattr(recogniser, "embed_crops_and_norms"):
                vectors, norms = recogniser.embed_crops_and_norms(crops)
            else:
                vectors, norms = recogniser.embed_crops(crops), None
            parts = np.split(vectors, np.cumsum(counts)[:-1])
            if norms is not None:
                norm_parts = list(np.split(norms, np.cumsum(counts)[:-1]))
        else:
            parts = [recogniser.embed(bgr, faces.landmarks5, faces.boxes) for bgr, faces in items]
        share = (time.perf_counter() - started) * 1000 / max(sum(counts), 1)
        for (_, faces), times in zip(items, ms, strict=True):
            times["embed"] = share * len(faces)
        return [faces.with_embeddings(part, recogniser.model_id, norms, self._embedding_licences)
                for (_, faces), part, norms in zip(items, parts, norm_parts, strict=True)]

    def _describe(self, bgr: np.ndarray, faces: Faces, aligned: np.ndarray | None, ms: dict[str, float]) -> Faces:
        if aligned is not None and aligned.shape[1] != HEAD_CROP:
            aligned = None  # a recogniser's crop of another size: heads cut their own
        started = time.perf_counter()
        for head in self.heads:
            faces = faces.with_attributes(head.predict(bgr, faces, aligned), getattr(head, "labels_of", None))
        if self.heads:
            ms["heads"] = (time.perf_counter() - started) * 1000
            if self._head_licences:
                faces = replace(faces, licences=tuple(sorted({*faces.licences, *self._head_licences})))
        return faces

    def aligned_crops(self, bgr: np.ndarray, faces: Faces, size: int = 112) -> np.ndarray:
        """(N, size, size, 3) BGR: each face aligned to the ArcFace template by its five points, as the recogniser
        and the quality head see it."""
        from faceatlas.align import align_faces

        return align_faces(bgr, faces.landmarks5, size)

    # ---- decisions -------------------------------------------------------------------------------------------

    def verify(self, a: ImageSource, b: ImageSource, fmr: float = 1e-4, min_quality: float | None = None
               ) -> Verification:
        """Is the largest face of `a` the same person as the largest face of `b`, decided at false-match rate `fmr`.

        With `min_quality`, a pair where either face's quality score is below it gets the answer "insufficient
        quality" (`insufficient_quality=True`, `same=False`) instead of a decision likely to be wrong.
        """
        threshold = calibrated_threshold(self.recogniser_card, fmr)
        analyzer = self if min_quality is None else self.with_heads("quality")
        first, second = (analyzer.analyze(x, subject="largest") for x in (a, b))
        score = float(first.embeddings[0] @ second.embeddings[0])
        quality = None if min_quality is None else (float(first.quality[0]), float(second.quality[0]))
        insufficient = quality is not None and min(quality) < min_quality
        return Verification(score=score, same=score >= threshold and not insufficient, threshold=threshold, fmr=fmr,
                            model=self.recogniser_card.id, quality=quality, insufficient_quality=insufficient,
                            min_quality=min_quality, licences=tuple(sorted({*first.licences, *second.licences})))

    def primary_face(self, source: ImageSource, color: ColorOrder = "bgr") -> Faces:
        """Deprecated: `analyze(source, subject="largest")`."""
        warnings.warn("FaceAnalyzer.primary_face() is deprecated; use analyze(source, subject='largest')",
                      DeprecationWarning, stacklevel=2)
        return self.analyze(source, color=color, subject="largest")


def calibrated_threshold(card: ModelCard, fmr: float) -> float:
    """The score threshold at `fmr` from the card's calibration table (`CalibrationError` when it has none)."""
    return card.threshold_at(fmr)
