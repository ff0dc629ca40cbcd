"""FaceAtlas: offline face detection, alignment, recognition and calibrated verification on the CPU."""

from faceatlas.errors import (
    CalibrationError,
    FaceAtlasError,
    ImageDecodeError,
    ImageTooLargeError,
    ModelIntegrityError,
    ModelUnavailableError,
    NoFaceError,
)
from faceatlas.pipeline import FaceAnalyzer
from faceatlas.types import Faces, Verification

__version__ = "0.1.0"

__all__ = [
    "CalibrationError",
    "FaceAnalyzer",
    "FaceAtlasError",
    "Faces",
    "ImageDecodeError",
    "ImageTooLargeError",
    "ModelIntegrityError",
    "ModelUnavailableError",
    "NoFaceError",
    "Verification",
]
