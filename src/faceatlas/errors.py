"""Typed errors: every failure a user can meet has a class, a message that says what to do, one exit code and one
HTTP status (the HTTP API answers with an RFC 9457 problem whose type is named after the class).

The CLI exits with `exit_code`. A subclass shares its parent's exit code (catching the parent catches it); unrelated
errors never share one. `ERRORS` lists them in the order of the README's exit-code table
(`tests/test_architecture.py` checks both).
"""

from __future__ import annotations


class FaceAtlasError(Exception):
    """Base class of all FaceAtlas errors."""

    exit_code = 1
    http_status = 500


class ImageDecodeError(FaceAtlasError):
    """The input is not a readable image (empty, truncated, corrupt, or not an image at all)."""

    exit_code = 3
    http_status = 422


class ImageTooLargeError(ImageDecodeError):
    """The image has more pixels than the configured limit (a decompression-bomb guard)."""

    http_status = 413


class VideoDecodeError(ImageDecodeError):
    """The input is not a video that can be decoded (missing, empty, truncated, or not a video)."""


class NoFaceError(FaceAtlasError):
    """An operation that needs a face found none."""

    exit_code = 4
    http_status = 422


class AmbiguousFaceError(NoFaceError):
    """An operation that needs the one face of a photo found several it cannot choose between."""


class ModelUnavailableError(FaceAtlasError):
    """A model's weights are not in the store and cannot be resolved offline."""

    exit_code = 5
    http_status = 503


class ModelIntegrityError(ModelUnavailableError):
    """A weight file exists but its SHA-256 does not match its model card."""


class CalibrationError(FaceAtlasError):
    """A decision was asked for at an operating point the model's calibration cannot support."""

    exit_code = 6
    http_status = 422


class GalleryError(FaceAtlasError):
    """A gallery operation that cannot be done as asked (unknown person, wrong model, a bad export, ...)."""

    exit_code = 7
    http_status = 422


class LibraryError(FaceAtlasError):
    """A photo-library operation that cannot be done as asked (a folder that cannot be read, nothing indexed, ...)."""

    exit_code = 8
    http_status = 422


class StoreError(FaceAtlasError):
    """The gallery database cannot be opened or written (not a database, damaged, read-only, unreachable)."""

    exit_code = 9
    http_status = 503


class LabellingError(FaceAtlasError):
    """A naming or review step that cannot be done as asked (unknown cluster or person, a refused merge, ...)."""

    exit_code = 10
    http_status = 422


class ErasurePendingError(FaceAtlasError):
    """A person is erased from the records, but another connection's open snapshot keeps their bytes in the
    database's files for now: run the erasure's check again (`gallery check`) once it has closed."""

    exit_code = 11
    http_status = 409


class GalleryNotFoundError(FaceAtlasError):
    """A command that reads a gallery was pointed at a database or collection that does not exist (a mistyped
    `--db` or `--collection`): nothing is created."""

    exit_code = 12
    http_status = 404


class SourceUnavailableError(FaceAtlasError):
    """A camera or network stream cannot be opened, or was lost and did not come back within its reconnection
    attempts."""

    exit_code = 13
    http_status = 502


class LicenceNotAcceptedError(FaceAtlasError):
    """A model whose weights are under restrictive terms (non-commercial research only) was asked for before its
    licence was accepted: `faceatlas models accept-licence NAME`, or the setting FACEATLAS_ACCEPT_LICENCES."""

    exit_code = 14
    http_status = 403


ERRORS: tuple[type[FaceAtlasError], ...] = (
    FaceAtlasError, ImageDecodeError, ImageTooLargeError, VideoDecodeError, NoFaceError, AmbiguousFaceError,
    ModelUnavailableError, ModelIntegrityError, CalibrationError, GalleryError, LibraryError, StoreError,
    LabellingError, ErasurePendingError, GalleryNotFoundError, SourceUnavailableError, LicenceNotAcceptedError,
)
"""Every error class, in the order of the README's table."""

USAGE_EXIT_CODE = 2
"""The CLI's exit code for a usage mistake (an unknown option or profile, a bad value), as Typer/Click use it."""


def problem_slug(name: str) -> str:
    """The HTTP API's name for an error class or condition in its problem type: `NoFaceError` -> `no-face-error`."""
    return "".join(f"-{c.lower()}" if c.isupper() and i else c.lower() for i, c in enumerate(name))
