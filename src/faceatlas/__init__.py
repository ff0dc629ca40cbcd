"""FaceAtlas: offline face detection, alignment, recognition and calibrated verification on the CPU."""

from faceatlas.errors import (
    AmbiguousFaceError,
    CalibrationError,
    FaceAtlasError,
    ImageDecodeError,
    ImageTooLargeError,
    ModelIntegrityError,
    ModelUnavailableError,
    NoFaceError,
)
from faceatlas.pipeline import FaceAnalyzer
from faceatlas.types import Faces, Shot, Verification
from faceatlas.version import __version__


def __getattr__(name: str) -> object:
    """`faceatlas.Gallery` and `faceatlas.Library`, imported on first use (they bring the database layer)."""
    if name == "Gallery":
        from faceatlas.gallery import Gallery

        return Gallery
    if name == "Library":
        from faceatlas.organize import Library

        return Library
    raise AttributeError(f"module 'faceatlas' has no attribute '{name}'")


__all__ = [
    "AmbiguousFaceError",
    "CalibrationError",
    "FaceAnalyzer",
    "FaceAtlasError",
    "Faces",
    "Gallery",
    "ImageDecodeError",
    "ImageTooLargeError",
    "Library",
    "ModelIntegrityError",
    "ModelUnavailableError",
    "NoFaceError",
    "Shot",
    "Verification",
    "__version__",
]
