"""Decode any supported image source into a BGR uint8 array, or fail with a typed, clear error.

Rules (the same for files, bytes, PIL images and numpy arrays):

- the pixel limit (`max_pixels`, else `FACEATLAS_MAX_PIXELS`) is checked on the header, before any pixel is decoded;
- EXIF orientation is applied; animated and multi-page files give their first frame;
- transparency (alpha, palette or colour-key) is composited on white;
- 16-bit samples v become round(v / 257), so 65535 -> 255 (no per-image stretching); 32-bit integer images are
  clipped to 0..65535 first (Pillow reads 16-bit colour PNG/TIFF as their high byte, within 1 of this rule);
  float images are read as 0..1 when their maximum is <= 1, else as 0..255; NaN or infinity is an error;
- only JPEG, PNG, WebP, BMP, TIFF, GIF and PPM/PGM/PBM are decoded (whatever the file is named).
"""

from __future__ import annotations

import functools
import io
import os
import stat
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

import cv2
import numpy as np
from PIL import ExifTags, Image, UnidentifiedImageError

from faceatlas.config import get_settings
from faceatlas.errors import ImageDecodeError, ImageTooLargeError

ImageSource = str | Path | bytes | np.ndarray | Image.Image
ColorOrder = Literal["bgr", "rgb"]

UNSUPPORTED_SUFFIXES = {".heic": "HEIC", ".heif": "HEIF", ".avif": "AVIF", ".jxl": "JPEG XL", ".dng": "DNG raw",
                        ".cr2": "Canon raw", ".cr3": "Canon raw", ".nef": "Nikon raw", ".arw": "Sony raw",
                        ".raf": "Fujifilm raw", ".orf": "Olympus raw", ".rw2": "Panasonic raw"}
"""Photo formats cameras and phones write that FaceAtlas does not decode: listed as files a folder holds (so they
are reported, not silently skipped) and refused with their format's name."""

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".jfif", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif",
                            ".ppm", ".pgm", ".pbm", ".pnm", *UNSUPPORTED_SUFFIXES})

_DECODERS = ("JPEG", "MPO", "PNG", "WEBP", "BMP", "TIFF", "GIF", "PPM")
_MAGIC = {b"\xff\xd8\xff": "JPEG", b"\x89PNG": "PNG", b"GIF8": "GIF", b"II*\x00": "TIFF", b"MM\x00*": "TIFF",
          b"BM": "BMP"}
_TRANSPOSE = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
              5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
              8: Image.Transpose.ROTATE_90}
_HIGH_DEPTH_MODES = frozenset({"I", "I;16", "I;16L", "I;16B", "I;16N", "F"})
_U16_TO_U8 = ((np.arange(65536, dtype=np.uint32) + 128) // 257).astype(np.uint8)
_COMPLETE_FILE_ENDS = {"JPEG": b"\xff\xd9", "PNG": b"IEND\xaeB`\x82"}  # end-of-image markers
_STRIP_PIXELS = 1 << 18  # images are converted in strips of about this many pixels


@dataclass(frozen=True)
class LoadedImage:
    """Pixels in BGR order (H, W, 3) uint8, plus where they came from."""

    bgr: np.ndarray
    source: str | None

    @property
    def size(self) -> tuple[int, int]:
        return self.bgr.shape[1], self.bgr.shape[0]


def load_image(source: ImageSource, color: ColorOrder = "bgr", max_pixels: int | None = None) -> LoadedImage:
    """Decode a path, bytes, numpy array (`color` says its channel order) or PIL image into BGR uint8 pixels.

    See the module docstring for the conversion rules. A C-contiguous uint8 BGR array is returned as it is (no copy);
    a PIL image gives its current frame. Raises `ImageTooLargeError` above the pixel limit and `ImageDecodeError` for
    anything that is not a readable image.
    """
    if color not in ("bgr", "rgb"):
        raise ValueError(f"color must be 'bgr' or 'rgb', not {color!r}")
    limit = get_settings().max_pixels if max_pixels is None else max_pixels
    if limit <= 0:
        raise ValueError(f"max_pixels must be positive, not {limit}")
    if isinstance(source, np.ndarray):
        _check_array(source)
        _check_pixels(source.shape[1], source.shape[0], limit, "<array>")
        return LoadedImage(_array_to_bgr(source, color), None)
    if isinstance(source, Image.Image):
        return LoadedImage(_decode(source, limit, getattr(source, "filename", "") or "<PIL image>"), None)
    if isinstance(source, bytes | bytearray | memoryview):
        if not len(source):
            raise ImageDecodeError("<bytes>: empty (0 bytes)")
        return LoadedImage(_decode(_open(io.BytesIO(source), limit, "<bytes>"), limit, "<bytes>"), None)
    if not isinstance(source, str | os.PathLike):
        raise TypeError(f"cannot load an image from a {type(source).__name__}")
    label = shown(source)  # for messages: a name that is not UTF-8 cannot be printed as it is
    unsupported = UNSUPPORTED_SUFFIXES.get(Path(source).suffix.lower())
    if unsupported:
        raise ImageDecodeError(f"{label}: {unsupported} photos are not supported: convert it to JPEG or PNG")
    with _open_file(Path(source), get_settings().max_file_bytes) as fp:
        return LoadedImage(_decode(_open(fp, limit, label), limit, label), str(Path(source)))


def shown(path: str | os.PathLike) -> str:
    """A path as text that prints and stores anywhere: bytes of a file name that are not UTF-8 escaped (`\\xff`);
    the same text for every other name."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def iter_image_paths(paths: list[Path] | list[str], suffixes: frozenset[str] = IMAGE_SUFFIXES) -> list[Path]:
    """Files named directly, plus every file under named folders whose suffix is one of `suffixes` (images by
    default; recursive, sorted; a linked folder is followed unless the folder it links to is under a named folder
    itself, and each folder is walked once, so a link loop ends)."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(_files_under(path, suffixes)))
        else:
            found.append(path)
    return found


def _files_under(folder: Path, suffixes: frozenset[str]) -> Iterator[Path]:
    """The real folders first, then the linked folders they hold (each folder by the first path found to it: a
    folder is found at its own path, not through a link to it, whatever order the folders are listed in). Every
    entry with a wanted suffix that is not a folder is yielded, whether it can be read or not."""
    visited: set[str] = set()
    links = [folder]
    while links:
        for top, folders, files in os.walk(links.pop(0)):  # links are not followed here, but queued
            real = os.path.realpath(top)
            if real in visited:
                folders.clear()
                continue
            visited.add(real)
            folders.sort()
            links += [Path(top, name) for name in folders if os.path.islink(os.path.join(top, name))]
            for name in files:  # a pipe or a link to nothing is listed too: reported when read, not passed over
                candidate = Path(top, name)
                if candidate.suffix.lower() in suffixes:
                    yield candidate


@contextmanager
def _quiet_pillow() -> Iterator[None]:
    """Our own limit replaces Pillow's bomb warning; Pillow's notes on damaged metadata (EXIF) are not errors."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.")
        yield


@functools.cache
def _decoders() -> tuple[str, ...]:
    Image.init()
    return tuple(name for name in _DECODERS if name in Image.OPEN)


def _open_file(path: Path, max_bytes: int) -> BinaryIO:
    """Open a regular, non-empty file of at most `max_bytes`; anything else (missing, folder, pipe, device, a
    dangling link) is an `ImageDecodeError`, a larger file an `ImageTooLargeError` (checked before reading)."""
    name = shown(path)
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise ImageDecodeError(f"{name}: is a directory, not an image")
        if not stat.S_ISREG(info.st_mode):
            raise ImageDecodeError(f"{name}: not a regular file")
        if info.st_size == 0:
            raise ImageDecodeError(f"{name}: empty file (0 bytes)")
        if info.st_size > max_bytes:
            raise ImageTooLargeError(f"{name}: {info.st_size:,} bytes, more than the limit of {max_bytes:,} "
                                     "(FACEATLAS_MAX_FILE_BYTES)")
        return path.open("rb")
    except FileNotFoundError:
        raise ImageDecodeError(f"{name}: no such file" + (" (a link to nothing)" if path.is_symlink() else "")) \
            from None
    except (OSError, ValueError) as exc:
        raise ImageDecodeError(f"{name}: cannot read ({getattr(exc, 'strerror', None) or exc})") from None


def _open(fp: BinaryIO, limit: int, name: str) -> Image.Image:
    """Read the header only (Pillow opens lazily); no pixel is decoded here."""
    try:
        with _quiet_pillow():
            return Image.open(fp, formats=_decoders())
    except Image.DecompressionBombError as exc:
        raise _too_large_for_pillow(exc, limit, name) from None
    except Exception as exc:
        fp.seek(0)
        head = fp.read(16)
        kind = next((k for magic, k in _MAGIC.items() if head.startswith(magic)), None)
        if kind is None and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
            kind = "WebP"
        unidentified = isinstance(exc, UnidentifiedImageError)
        if kind:
            detail = "" if unidentified else f" ({exc})"
            raise ImageDecodeError(f"{name}: {kind} header is corrupt or truncated{detail}") from exc
        if unidentified:
            raise ImageDecodeError(
                f"{name}: not an image in a supported format (JPEG, PNG, WebP, BMP, TIFF, GIF, PPM)"
            ) from None
        raise ImageDecodeError(f"{name}: corrupt image header ({exc})") from exc


def _decode(image: Image.Image, limit: int, name: str) -> np.ndarray:
    """Check the size, then decode (this is where truncated data shows), orient and convert to BGR."""
    _check_pixels(image.width, image.height, limit, name)
    fast = _decode_with_opencv(image)
    if fast is not None:
        return fast
    loaded = False
    try:
        with _quiet_pillow():
            image.load()
            loaded = True
            return _pil_to_bgr(_oriented(image), name)
    except ImageDecodeError:
        raise
    except Image.DecompressionBombError as exc:
        raise _too_large_for_pillow(exc, limit, name) from None
    except MemoryError:
        raise ImageTooLargeError(f"{name}: not enough memory to decode {image.width}x{image.height} pixels") from None
    except Exception as exc:
        kind = getattr(image, "format", None) or "image"
        problem = f"cannot convert mode {image.mode}" if loaded else f"corrupt or truncated {kind} data"
        raise ImageDecodeError(f"{name}: {problem} ({exc})") from exc


def _decode_with_opencv(image: Image.Image) -> np.ndarray | None:
    """OpenCV's decoder for complete, opaque 8-bit JPEG and PNG files (most photos): about 30 % faster than Pillow's
    decode plus conversion, same pixels, EXIF orientation applied. None when the file is not such a file."""
    if image.format not in _COMPLETE_FILE_ENDS or image.mode not in ("RGB", "L") or "transparency" in image.info:
        return None
    fp = image.fp
    if fp is None:
        return None
    fp.seek(0)
    data = fp.read()
    if not data.rstrip(b"\x00").endswith(_COMPLETE_FILE_ENDS[image.format]):
        return None  # truncated (or trailing junk): Pillow's path decodes what it can and says what is wrong
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return None if bgr is None else bgr


def _check_pixels(width: int, height: int, limit: int, name: str) -> None:
    if width * height > limit:
        raise ImageTooLargeError(
            f"{name}: {width}x{height} = {width * height:,} pixels exceeds the limit of {limit:,} "
            "(raise it with max_pixels=, FACEATLAS_MAX_PIXELS or --max-pixels)"
        )
    if width <= 0 or height <= 0:
        raise ImageDecodeError(f"{name}: image has no pixels ({width}x{height})")


def _too_large_for_pillow(exc: Exception, limit: int, name: str) -> ImageTooLargeError:
    return ImageTooLargeError(
        f"{name}: refused before decoding ({exc}); the configured limit is {limit:,} pixels, "
        "and Pillow's own PIL.Image.MAX_IMAGE_PIXELS caps any larger one"
    )


def _oriented(image: Image.Image) -> Image.Image:
    """The image turned upright per its EXIF orientation; damaged or unknown orientation data is ignored."""
    try:
        orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
    except Exception:  # a damaged EXIF block does not make the pixels unreadable
        return image
    method = _TRANSPOSE.get(orientation) if isinstance(orientation, int) else None
    return image if method is None else image.transpose(method)


def _pil_to_bgr(image: Image.Image, name: str) -> np.ndarray:
    """Convert in strips, so that besides Pillow's own copy only the result is ever whole in memory."""
    if image.mode in _HIGH_DEPTH_MODES:
        array = np.asarray(image)
        if image.mode == "I":
            array = np.clip(array, 0, 65535).astype(np.uint16)
        return _array_to_bgr(array, "bgr", name)
    width, height = image.size
    out = np.empty((height, width, 3), np.uint8)
    rows = max(1, _STRIP_PIXELS // width)
    for top in range(0, height, rows):
        strip = image.crop((0, top, width, min(height, top + rows)))
        if strip.has_transparency_data:
            out[top : top + strip.height] = _on_white(np.asarray(strip.convert("RGBA")))[:, :, ::-1]
        else:
            packed = (strip if strip.mode == "RGB" else strip.convert("RGB")).tobytes("raw", "BGR")
            out[top : top + strip.height] = np.frombuffer(packed, np.uint8).reshape(strip.height, width, 3)
    return out


def _on_white(pixels: np.ndarray) -> np.ndarray:
    """Composite (H, W, 4) uint8 colour + alpha on a white background, keeping the channel order."""
    alpha = pixels[:, :, 3:].astype(np.uint16)
    return ((pixels[:, :, :3] * alpha + 255 * (255 - alpha) + 127) // 255).astype(np.uint8)


def _check_array(array: np.ndarray) -> None:
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (1, 3, 4)):
        raise ImageDecodeError(f"<array>: shape {array.shape} is not an image (want HxW, HxWx1, HxWx3 or HxWx4)")
    if array.dtype.kind not in ("u", "f") or (array.dtype.kind == "u" and array.dtype.itemsize > 2):
        raise ImageDecodeError(f"<array>: dtype {array.dtype} is not supported (use uint8, uint16 or float)")


def _array_to_bgr(array: np.ndarray, color: ColorOrder, name: str = "<array>") -> np.ndarray:
    """A checked array (see `_check_array`) as contiguous BGR uint8; uint8 BGR input is not copied."""
    if array.dtype.kind == "u" and array.dtype.itemsize == 2:  # either byte order
        array = _U16_TO_U8[array]
    elif array.dtype.kind == "f":
        if not np.isfinite(array).all():
            raise ImageDecodeError(f"{name}: float image contains NaN or infinity")
        scale = 255.0 if array.max() <= 1.0 else 1.0
        array = np.rint(np.clip(array * scale, 0, 255)).astype(np.uint8)
    if array.ndim == 2:
        array = array[:, :, None]
    if array.shape[2] == 1:
        return np.repeat(array, 3, axis=2)
    if array.shape[2] == 4:
        array = _on_white(array)
    return np.ascontiguousarray(array[:, :, ::-1] if color == "rgb" else array)
