"""Decode any supported image source into a BGR uint8 array, or fail with a typed, clear error."""

from __future__ import annotations

import contextlib
import io
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from faceatlas.config import get_settings
from faceatlas.errors import ImageDecodeError, ImageTooLargeError

ImageSource = str | Path | bytes | np.ndarray | Image.Image
ColorOrder = Literal["bgr", "rgb"]

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif", ".jfif"})


@dataclass(frozen=True)
class LoadedImage:
    """Pixels in BGR order (H, W, 3) uint8, plus where they came from."""

    bgr: np.ndarray
    source: str | None

    @property
    def size(self) -> tuple[int, int]:
        return self.bgr.shape[1], self.bgr.shape[0]


def load_image(source: ImageSource, color: ColorOrder = "bgr", max_pixels: int | None = None) -> LoadedImage:
    """Decode a path, bytes, numpy array (`color` says its channel order) or PIL image.

    EXIF orientation is applied; grayscale, palette, RGBA, 16-bit and CMYK are converted to 8-bit colour;
    animated formats give their first frame. Raises `ImageDecodeError` or `ImageTooLargeError`.
    """
    limit = max_pixels or get_settings().max_pixels
    if isinstance(source, np.ndarray):
        return LoadedImage(_array_to_bgr(source, color, limit), None)
    if isinstance(source, Image.Image):
        return LoadedImage(_pil_to_bgr(source, limit, "<PIL image>"), None)
    if isinstance(source, bytes | bytearray | memoryview):
        return LoadedImage(_decode_bytes(bytes(source), limit, "<bytes>"), None)
    path = Path(source)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ImageDecodeError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ImageDecodeError(f"{path}: is a directory, not an image") from None
    except OSError as exc:
        raise ImageDecodeError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return LoadedImage(_decode_bytes(data, limit, str(path)), str(path))


def _decode_bytes(data: bytes, limit: int, name: str) -> np.ndarray:
    if not data:
        raise ImageDecodeError(f"{name}: empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            _check_pixels(image.width, image.height, limit, name)
            image.seek(0)
            image.load()
    except ImageTooLargeError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLargeError(f"{name}: {exc}") from None
    except UnidentifiedImageError:
        raise ImageDecodeError(f"{name}: not an image, or a format that cannot be read") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageDecodeError(f"{name}: corrupt or truncated image ({exc})") from None
    return _pil_to_bgr(image, limit, name)


def _check_pixels(width: int, height: int, limit: int, name: str) -> None:
    if width * height > limit:
        raise ImageTooLargeError(
            f"{name}: {width}x{height} = {width * height:,} pixels exceeds the limit of {limit:,} "
            "(raise FACEATLAS_MAX_PIXELS or --max-pixels to allow it)"
        )
    if width == 0 or height == 0:
        raise ImageDecodeError(f"{name}: image has no pixels ({width}x{height})")


def _pil_to_bgr(image: Image.Image, limit: int, name: str) -> np.ndarray:
    _check_pixels(image.width, image.height, limit, name)
    with contextlib.suppress(Exception):
        image = ImageOps.exif_transpose(image)
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        array = np.asarray(image, dtype=np.float64)
        peak = array.max() if array.size else 0.0
        scale = 255.0 / peak if peak > 255 else 1.0
        gray = np.clip(array * scale, 0, 255).astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    rgb = np.asarray(image.convert("RGB"))
    return np.ascontiguousarray(rgb[:, :, ::-1])


def _array_to_bgr(array: np.ndarray, color: ColorOrder, limit: int) -> np.ndarray:
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (1, 3, 4)):
        raise ImageDecodeError(f"array of shape {array.shape} is not an image (want HxW, HxWx1, HxWx3 or HxWx4)")
    _check_pixels(array.shape[1], array.shape[0], limit, "<array>")
    if array.dtype == np.uint16:
        array = (array / 257).astype(np.uint8)
    elif array.dtype.kind == "f":
        peak = 255.0 if array.max(initial=0) > 1.0 else 1.0
        array = np.clip(array * (255.0 / peak), 0, 255).astype(np.uint8)
    elif array.dtype != np.uint8:
        raise ImageDecodeError(f"array dtype {array.dtype} is not supported (use uint8, uint16 or float)")
    if array.ndim == 2 or array.shape[2] == 1:
        return np.ascontiguousarray(np.repeat(array.reshape(array.shape[0], array.shape[1], 1), 3, axis=2))
    array = array[:, :, :3]
    return np.ascontiguousarray(array[:, :, ::-1] if color == "rgb" else array)


def iter_image_paths(paths: list[Path] | list[str]) -> list[Path]:
    """Files named directly, plus every image file under named folders (recursive, sorted)."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES))
        else:
            found.append(path)
    return found
