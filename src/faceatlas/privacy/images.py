"""Anonymising image files: faces found by the one pipeline (`FaceAnalyzer`, tuned for recall), hidden
(`faceatlas.privacy.masking`), and the picture re-encoded from its pixels, so no metadata of the original (EXIF with
GPS, XMP, IPTC, comments, thumbnails) survives; written atomically, never over the input."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from faceatlas.errors import FaceAtlasError
from faceatlas.pipeline import FaceAnalyzer
from faceatlas.privacy.masking import ENLARGE, hide_faces
from faceatlas.results import Result

if TYPE_CHECKING:
    from faceatlas.privacy.keep import KeepList
    from faceatlas.types import Shot

RECALL_THRESHOLD = 0.3
"""The detector's score threshold when anonymising (its default is 0.6): a face missed is a face shown, while a
false one only hides a patch of background."""

ENCODINGS: dict[str, tuple[str, int] | None] = {
    ".jpg": ("IMWRITE_JPEG_QUALITY", 95), ".jpeg": ("IMWRITE_JPEG_QUALITY", 95), ".webp": ("IMWRITE_WEBP_QUALITY", 95),
    ".png": None, ".bmp": None, ".tif": None, ".tiff": None,
}
"""The formats an anonymised picture keeps (with OpenCV's quality parameter); any other is written as PNG."""


@dataclass(frozen=True)
class AnonymizedImage(Result):
    """One image anonymised: where from, where to, the mode, and how many faces were hidden."""

    source: str
    output: str
    mode: str
    faces_hidden: int
    kept_visible: int = 0


def recall_analyzer(profile: str | None = None, threads: int | None = None, max_pixels: int | None = None,
                    threshold: float = RECALL_THRESHOLD) -> FaceAnalyzer:
    """The pipeline for anonymisation: the profile's detector at `threshold` (default `RECALL_THRESHOLD`) and without
    the landmark refiner (which drops unsure faces it does not confirm); no embeddings are needed."""
    return FaceAnalyzer(profile=profile, threads=threads, refiner="", max_pixels=max_pixels,
                        score_threshold=threshold)


def output_path(output: Path) -> Path:
    """Where an anonymised picture meant for `output` is written: `output`, or with `.png` for a format not kept."""
    return output if output.suffix.lower() in ENCODINGS else output.with_suffix(".png")


def write_anonymized(shot: Shot, output: Path, mode: str = "blur", enlarge: float = ENLARGE,
                     keep: KeepList | None = None) -> AnonymizedImage:
    """Hide the faces of an analysed picture (all, or with `keep` all but those it leaves visible: the shot needs
    embeddings then) and write it to `output` (see `output_path`), re-encoded from pixels and atomically; `output`
    must not be the picture's own file. A shot with an error raises it."""
    import cv2

    from faceatlas.io.files import write_atomically

    if shot.error is not None or shot.image is None:
        raise shot.error or FaceAtlasError("no picture to anonymise")
    target = output_path(Path(output))
    if shot.source and target.resolve() == Path(shot.source).resolve():
        raise ValueError(f"{target} is the input itself: anonymised pictures never overwrite their original")
    faces = keep.to_hide(shot.faces) if keep is not None else shot.faces
    hidden = hide_faces(shot.image, faces, mode, enlarge)
    suffix = target.suffix.lower()
    quality = ENCODINGS[suffix]
    encoded, data = cv2.imencode(suffix, hidden, [getattr(cv2, quality[0]), quality[1]] if quality else [])
    if not encoded:
        raise ValueError(f"{target}: the picture could not be encoded as {target.suffix}")
    write_atomically(target, data.tobytes())
    return AnonymizedImage(source=shot.source or "", output=str(target), mode=mode, faces_hidden=len(faces),
                           kept_visible=len(shot.faces) - len(faces))


def anonymize_image(source: Path, output: Path, mode: str = "blur", enlarge: float = ENLARGE,
                    analyzer: FaceAnalyzer | None = None) -> AnonymizedImage:
    """Anonymise one image file into `output` (its folder must exist) with `analyzer` (default: `recall_analyzer()`).

    >>> anonymize_image(Path("party.jpg"), Path("party-anonymous.jpg"), mode="pixelate").faces_hidden
    """
    analyzer = analyzer or recall_analyzer()
    return write_anonymized(analyzer.shot(Path(source), embed=False), output, mode, enlarge)
