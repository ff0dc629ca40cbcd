"""Typed errors: every failure a user can meet has a class and a message that says what to do."""

from __future__ import annotations


class FaceAtlasError(Exception):
    """Base class of all FaceAtlas errors."""

    exit_code = 1


class ImageDecodeError(FaceAtlasError):
    """The input is not a readable image (empty, truncated, corrupt, or not an image at all)."""

    exit_code = 3


class ImageTooLargeError(ImageDecodeError):
    """The image has more pixels than the configured limit (a decompression-bomb guard)."""


class VideoDecodeError(FaceAtlasError):
    """The input is not a video that can be decoded (missing, empty, truncated, or not a video)."""

    exit_code = 3


class NoFaceError(FaceAtlasError):
    """An operation that needs a face found none."""

    exit_code = 4


class ModelUnavailableError(FaceAtlasError):
    """A model's weights are not in the store and cannot be resolved offline."""

    exit_code = 5


class ModelIntegrityError(ModelUnavailableError):
    """A weight file exists but its SHA-256 does not match its model card."""


class CalibrationError(FaceAtlasError):
    """A decision was asked for at an operating point the model's calibration cannot support."""

    exit_code = 6


class StoreError(FaceAtlasError):
    """The gallery database cannot be opened or written (not a database, damaged, read-only, unreachable)."""

    exit_code = 9
