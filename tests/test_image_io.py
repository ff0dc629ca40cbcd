"""Image decoding: every kind of bad or unusual input gives correct pixels or a typed, clear error.

Every fixture is generated here, in tmp_path, with Pillow and numpy; no binary file is committed.
"""

from __future__ import annotations

import os
import struct
import sys
import time
import tracemalloc
import warnings
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from faceatlas.config import get_settings
from faceatlas.errors import ImageDecodeError, ImageTooLargeError
from faceatlas.io.image import iter_image_paths, load_image

RED, GREEN, BLUE, WHITE, GRAY = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255), (128, 128, 128)


def bgr(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    return rgb[2], rgb[1], rgb[0]


def near(pixel: np.ndarray, rgb: tuple[int, int, int], tol: int = 0) -> bool:
    """Is a BGR pixel (or the mean of a BGR patch) within `tol` of the RGB colour?"""
    value = np.asarray(pixel, dtype=np.float64).reshape(-1, 3).mean(axis=0)
    return bool(np.all(np.abs(value - np.array(bgr(rgb))) <= tol))


def quadrants(width: int = 32, height: int = 24) -> Image.Image:
    """Top-left red, top-right green, bottom-left blue, bottom-right white."""
    image = Image.new("RGB", (width, height))
    w, h = width // 2, height // 2
    for colour, box in ((RED, (0, 0, w, h)), (GREEN, (w, 0, width, h)),
                        (BLUE, (0, h, w, height)), (WHITE, (w, h, width, height))):
        image.paste(colour, box)
    return image


def assert_quadrants(out: np.ndarray, tol: int = 0, shape: tuple[int, int] = (24, 32)) -> None:
    assert out.shape == (*shape, 3) and out.dtype == np.uint8
    h, w = shape
    qh, qw = h // 4, w // 4  # centres of the four quadrants
    assert near(out[qh - 2 : qh + 2, qw - 2 : qw + 2], RED, tol)
    assert near(out[qh - 2 : qh + 2, w - qw - 2 : w - qw + 2], GREEN, tol)
    assert near(out[h - qh - 2 : h - qh + 2, qw - 2 : qw + 2], BLUE, tol)
    assert near(out[h - qh - 2 : h - qh + 2, w - qw - 2 : w - qw + 2], WHITE, tol)


def png_bytes(width: int, height: int, raw: bytes = b"", *, depth: int = 8, color_type: int = 0) -> bytes:
    """A hand-made PNG: `raw` is the filtered scanlines (each row starts with its filter byte)."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    header = struct.pack(">IIBBBBB", width, height, depth, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def pil_mode_and_frames(path: Path) -> tuple[str, int]:
    """How Pillow itself reads a file (to check a fixture is what it claims to be)."""
    with Image.open(path) as image:
        return image.mode, getattr(image, "n_frames", 1)


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def noise(width: int = 64, height: int = 48) -> Image.Image:
    return Image.fromarray(np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8))


@pytest.fixture
def env_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Set FACEATLAS_* variables through the yielded monkeypatch; settings are re-read, then restored."""
    get_settings.cache_clear()
    yield monkeypatch
    monkeypatch.undo()
    get_settings.cache_clear()


# ----------------------------------------------------------------------------------------------- EXIF orientation

# Orientation tag -> (decoded height, width) of a 40x20 (WxH) raw image, and where its top-left marker ends up.
ORIENTATIONS = {
    1: ((20, 40), "tl"), 2: ((20, 40), "tr"), 3: ((20, 40), "br"), 4: ((20, 40), "bl"),
    5: ((40, 20), "tl"), 6: ((40, 20), "tr"), 7: ((40, 20), "br"), 8: ((40, 20), "bl"),
}


def marked(width: int = 40, height: int = 20) -> Image.Image:
    """Gray, with a red 8x8 marker in the raw top-left corner (asymmetric: the marker shows any rotation)."""
    image = Image.new("RGB", (width, height), GRAY)
    image.paste(RED, (0, 0, 8, 8))
    return image


def corner(out: np.ndarray, which: str) -> np.ndarray:
    h, w = out.shape[:2]
    rows = slice(1, 5) if which[0] == "t" else slice(h - 5, h - 1)
    cols = slice(1, 5) if which[1] == "l" else slice(w - 5, w - 1)
    return out[rows, cols]


def with_orientation(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


@pytest.mark.parametrize("orientation", sorted(ORIENTATIONS))
def test_exif_orientation_jpeg(tmp_path: Path, orientation: int) -> None:
    path = tmp_path / f"o{orientation}.jpg"
    marked().save(path, quality=95, exif=with_orientation(orientation))
    out = load_image(path).bgr
    shape, where = ORIENTATIONS[orientation]
    assert out.shape == (*shape, 3)
    assert near(corner(out, where), RED, tol=40)
    for other in {"tl", "tr", "bl", "br"} - {where}:
        assert near(corner(out, other), GRAY, tol=40)


def test_exif_orientation_png_and_pil_input(tmp_path: Path) -> None:
    path = tmp_path / "o6.png"
    marked().save(path, exif=with_orientation(6))
    with Image.open(path) as opened:
        for source in (path, opened, path.read_bytes()):
            out = load_image(source).bgr
            assert out.shape == (40, 20, 3)
            assert near(corner(out, "tr"), RED)


@pytest.mark.parametrize("exif", [b"Exif\x00\x00garbage-not-a-tiff", with_orientation(9)], ids=["corrupt", "invalid"])
def test_bad_exif_keeps_raw_pixels(tmp_path: Path, exif: bytes) -> None:
    path = tmp_path / "badexif.jpg"
    marked().save(path, quality=95, exif=exif)
    out = load_image(path).bgr
    assert out.shape == (20, 40, 3)
    assert near(corner(out, "tl"), RED, tol=40)


# ----------------------------------------------------------------------------------------------------------- modes


def test_mode_l(tmp_path: Path) -> None:
    Image.new("L", (7, 5), 100).save(tmp_path / "l.png")
    out = load_image(tmp_path / "l.png").bgr
    assert out.shape == (5, 7, 3) and (out == 100).all()


def test_mode_la_composites_on_white(tmp_path: Path) -> None:
    array = np.zeros((2, 3, 2), np.uint8)
    array[..., 0] = 40
    array[0, :, 1] = [0, 128, 255]
    array[1, :, 1] = 255
    image = Image.fromarray(array)
    assert image.mode == "LA"
    image.save(tmp_path / "la.png")
    out = load_image(tmp_path / "la.png").bgr
    assert out[0, 0].tolist() == [255] * 3  # fully transparent -> white
    assert abs(int(out[0, 1, 0]) - (40 * 128 + 255 * 127) / 255) <= 1  # half transparent -> blend
    assert out[0, 2].tolist() == [40] * 3 and (out[1] == 40).all()  # opaque -> itself


def test_mode_rgba_composites_on_white(tmp_path: Path) -> None:
    image = Image.new("RGBA", (4, 2), (*RED, 255))
    image.putpixel((2, 0), (0, 255, 0, 0))  # transparent, with a colour that must not show
    image.putpixel((3, 0), (255, 0, 0, 128))
    image.save(tmp_path / "rgba.png")
    out = load_image(tmp_path / "rgba.png").bgr
    assert near(out[1], RED) and near(out[0, :2], RED)
    assert near(out[0, 2], WHITE)
    assert near(out[0, 3], (255, 127, 127), tol=1)


def palette_image(transparent: bool) -> Image.Image:
    image = Image.new("P", (4, 4), 0)
    image.putpalette([*RED, *BLUE, *GREEN] + [0] * (256 - 3) * 3)
    image.paste(1, (2, 0, 4, 4))
    image.putpixel((0, 3), 2)
    if transparent:
        image.info["transparency"] = 1
    return image


@pytest.mark.parametrize("transparent", [False, True])
@pytest.mark.parametrize("suffix", [".png", ".gif"])
def test_mode_palette(tmp_path: Path, suffix: str, transparent: bool) -> None:
    path = tmp_path / f"p{suffix}"
    image = palette_image(transparent)
    image.save(path, **({"transparency": 1} if transparent else {}))
    out = load_image(path).bgr
    assert near(out[0, 0], RED) and near(out[3, 0], GREEN)
    assert near(out[:, 2:], WHITE if transparent else BLUE)


def test_mode_palette_pil_input_with_transparency() -> None:
    out = load_image(palette_image(True)).bgr
    assert near(out[:, 2:], WHITE) and near(out[0, 0], RED)


# 16-bit rule: a 16-bit sample v becomes round(v / 257), i.e. 65535 -> 255; no per-image stretching.
SIXTEEN_BIT = np.array([[0, 255, 257 * 100, 32768, 65535]], np.uint16)
EIGHT_BIT = [0, 1, 100, 128, 255]


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_mode_i16_gray_scaled_by_257(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"g16{suffix}"
    Image.fromarray(SIXTEEN_BIT).save(path)
    assert pil_mode_and_frames(path)[0].startswith("I;16")
    out = load_image(path).bgr
    assert out[0, :, 0].tolist() == EIGHT_BIT and (out == out[:, :, :1]).all()


def test_mode_i16_dim_image_is_not_stretched(tmp_path: Path) -> None:
    Image.fromarray(np.full((3, 3), 1000, np.uint16)).save(tmp_path / "dim.png")
    assert (load_image(tmp_path / "dim.png").bgr == 4).all()  # 1000 / 257 = 3.9


def test_mode_i16_big_endian_tiff(tmp_path: Path) -> None:
    image = Image.frombytes("I;16B", SIXTEEN_BIT.shape[::-1], SIXTEEN_BIT.astype(">u2").tobytes())
    image.save(tmp_path / "g16b.tif")
    assert pil_mode_and_frames(tmp_path / "g16b.tif")[0] == "I;16B"
    assert load_image(tmp_path / "g16b.tif").bgr[0, :, 0].tolist() == EIGHT_BIT


def test_mode_rgb16_png(tmp_path: Path) -> None:
    """16-bit colour PNGs: Pillow keeps the high byte, which is within 1 of the v / 257 rule."""
    row = b"\x00" + struct.pack(">6H", 65535, 32768, 0, 257 * 100, 1000, 65535)
    path = write(tmp_path / "rgb16.png", png_bytes(2, 1, row, depth=16, color_type=2))
    out = load_image(path).bgr.astype(int)
    expected = np.array([[[0, 128, 255], [255, 4, 100]]])
    assert np.abs(out - expected).max() <= 1


def test_mode_i32_and_float_tiff(tmp_path: Path) -> None:
    Image.fromarray(np.array([[-5, 0, 257 * 100, 65535, 100000]], np.int32)).save(tmp_path / "i32.tif")
    assert load_image(tmp_path / "i32.tif").bgr[0, :, 0].tolist() == [0, 0, 100, 255, 255]
    Image.fromarray(np.array([[0.0, 0.5, 1.0]], np.float32)).save(tmp_path / "f32.tif")
    assert load_image(tmp_path / "f32.tif").bgr[0, :, 0].tolist() == [0, 128, 255]


def test_mode_cmyk_jpeg(tmp_path: Path) -> None:
    path = tmp_path / "cmyk.jpg"
    quadrants(64, 48).convert("CMYK").save(path, quality=95)
    assert pil_mode_and_frames(path)[0] == "CMYK"
    assert_quadrants(load_image(path).bgr, tol=12, shape=(48, 64))


def test_mode_1bit(tmp_path: Path) -> None:
    image = Image.new("1", (9, 3), 0)
    image.putpixel((4, 1), 1)
    image.save(tmp_path / "bits.png")
    out = load_image(tmp_path / "bits.png").bgr
    assert out[1, 4].tolist() == [255] * 3 and int(out.sum()) == 3 * 255


# --------------------------------------------------------------------------------------------------------- formats

FORMATS = {
    "jpeg": ("q.jpg", {"quality": 95}, 12),
    "png": ("q.png", {}, 0),
    "webp-lossless": ("q.webp", {"lossless": True}, 0),
    "webp-lossy": ("q.webp", {"quality": 90}, 12),
    "bmp": ("q.bmp", {}, 0),
    "tiff": ("q.tif", {}, 0),
    "tiff-lzw": ("q.tif", {"compression": "tiff_lzw"}, 0),
    "tiff-jpeg": ("q.tif", {"compression": "jpeg", "quality": 95}, 12),
    "gif": ("q.gif", {}, 0),
    "ppm": ("q.ppm", {}, 0),
}


@pytest.mark.parametrize("kind", FORMATS)
def test_formats(tmp_path: Path, kind: str) -> None:
    name, options, tol = FORMATS[kind]
    quadrants().save(tmp_path / name, **options)
    loaded = load_image(tmp_path / name)
    assert_quadrants(loaded.bgr, tol)
    assert loaded.source == str(tmp_path / name) and loaded.size == (32, 24)
    assert loaded.bgr.flags.c_contiguous and loaded.bgr.flags.writeable


@pytest.mark.parametrize("suffix", [".gif", ".webp", ".tif", ".png"])
def test_multi_frame_gives_first_frame(tmp_path: Path, suffix: str) -> None:
    frames = [Image.new("RGB", (16, 8), colour) for colour in (RED, BLUE, GREEN)]
    path = tmp_path / f"anim{suffix}"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0,
                   **({"lossless": True} if suffix == ".webp" else {}))
    assert pil_mode_and_frames(path)[1] == 3
    out = load_image(path).bgr
    assert out.shape == (8, 16, 3) and near(out, RED)


def test_gif_with_transparency_composites_on_white(tmp_path: Path) -> None:
    path = tmp_path / "t.gif"
    palette_image(False).save(path, transparency=0)
    out = load_image(path).bgr
    assert near(out[0, 0], WHITE) and near(out[:, 2:], BLUE)


def test_webp_named_jpg(tmp_path: Path) -> None:
    path = tmp_path / "actually_webp.jpg"
    quadrants().save(path, format="WEBP", lossless=True)
    assert_quadrants(load_image(path).bgr)


def test_unsupported_format_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "q.tga"
    quadrants().save(path)
    with pytest.raises(ImageDecodeError, match="supported") as info:
        load_image(path)
    assert str(path) in str(info.value)


def test_iter_image_paths(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    for name in ("b.JPG", "sub/a.png", "sub/face.pgm", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    found = iter_image_paths([tmp_path, tmp_path / "notes.txt"])
    assert [p.relative_to(tmp_path).as_posix() for p in found] == ["b.JPG", "sub/a.png", "sub/face.pgm", "notes.txt"]


# ------------------------------------------------------------------------------------------------------- bad files


def jpeg_bytes(tmp_path: Path) -> bytes:
    noise().save(tmp_path / "ok.jpg", quality=90)
    return (tmp_path / "ok.jpg").read_bytes()


def png_file_bytes(tmp_path: Path) -> bytes:
    noise().save(tmp_path / "ok.png")
    return (tmp_path / "ok.png").read_bytes()


def corrupt_ihdr_crc(tmp_path: Path) -> bytes:
    data = bytearray(png_file_bytes(tmp_path))
    data[29] ^= 0xFF  # the IHDR CRC: 8 signature + 8 length/tag + 13 data
    return bytes(data)


def corrupt_idat(tmp_path: Path) -> bytes:
    data = bytearray(png_file_bytes(tmp_path))
    start = data.index(b"IDAT") + 4
    data[start : start + 64] = np.random.default_rng(1).integers(0, 256, 64, dtype=np.uint8).tobytes()
    return bytes(data)


# name -> (bytes of the file, a phrase the message must contain)
BAD_FILES: dict[str, tuple[Callable[[Path], bytes], str]] = {
    "zero-byte": (lambda tmp: b"", "empty"),
    "truncated-jpeg": (lambda tmp: jpeg_bytes(tmp)[: len(jpeg_bytes(tmp)) // 2], "truncated"),
    "truncated-png": (lambda tmp: png_file_bytes(tmp)[: len(png_file_bytes(tmp)) // 2], "truncated"),
    "png-header-only": (lambda tmp: png_file_bytes(tmp)[:40], "truncated"),
    "jpeg-header-only": (lambda tmp: jpeg_bytes(tmp)[:12], "JPEG"),
    "random-bytes": (lambda tmp: np.random.default_rng(2).integers(0, 256, 4096, dtype=np.uint8).tobytes(),
                     "not an image"),
    "text": (lambda tmp: b"name,age\nada,36\n" * 20, "not an image"),
    "png-bad-ihdr-crc": (corrupt_ihdr_crc, "PNG"),
    "png-corrupt-idat": (corrupt_idat, "corrupt"),
}


@pytest.mark.parametrize("kind", BAD_FILES)
def test_bad_files(tmp_path: Path, kind: str) -> None:
    make, phrase = BAD_FILES[kind]
    path = write(tmp_path / f"{kind}.img", make(tmp_path))
    started = time.perf_counter()
    with pytest.raises(ImageDecodeError) as info:
        load_image(path)
    assert type(info.value) is ImageDecodeError
    assert str(path) in str(info.value) and phrase in str(info.value)
    assert time.perf_counter() - started < 1.0
    with pytest.raises(ImageDecodeError, match="<bytes>"):  # the same content given as bytes
        load_image(path.read_bytes())


@pytest.mark.parametrize("suffix", [".gif", ".webp", ".bmp", ".tif"])
def test_truncated_other_formats(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"n{suffix}"
    noise().save(path)
    data = path.read_bytes()
    write(path, data[: len(data) // 2])
    with pytest.raises(ImageDecodeError, match=str(path)):
        load_image(path)


def test_png_idat_crc_only_is_tolerated(tmp_path: Path) -> None:
    """Pillow does not verify IDAT CRCs; intact pixel data still decodes correctly (no silent corruption)."""
    quadrants().save(tmp_path / "q.png")
    data = bytearray((tmp_path / "q.png").read_bytes())
    end = data.index(b"IEND") - 4 - 4  # the IDAT CRC sits just before IEND's length field
    data[end] ^= 0xFF
    assert_quadrants(load_image(bytes(data)).bgr)


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(ImageDecodeError, match="no such file") as info:
        load_image(tmp_path / "nope.jpg")
    assert str(tmp_path / "nope.jpg") in str(info.value)


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(ImageDecodeError, match="directory") as info:
        load_image(str(tmp_path))
    assert str(tmp_path) in str(info.value)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_fifo_does_not_hang(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(ImageDecodeError, match="not a regular file"):
        load_image(tmp_path / "pipe")


def test_empty_bytes() -> None:
    with pytest.raises(ImageDecodeError, match="empty"):
        load_image(b"")


def test_lazily_opened_truncated_pil_image(tmp_path: Path) -> None:
    path = write(tmp_path / "t.jpg", jpeg_bytes(tmp_path)[:2000])
    with Image.open(path) as image, pytest.raises(ImageDecodeError, match="truncated") as info:
        load_image(image)  # only the header was read: the damage shows at load time
    assert str(path) in str(info.value)


def test_wrong_argument_types() -> None:
    with pytest.raises(TypeError):
        load_image(42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="color"):
        load_image(np.zeros((2, 2, 3), np.uint8), color="bgra")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_pixels"):
        load_image(np.zeros((2, 2, 3), np.uint8), max_pixels=0)


# --------------------------------------------------------------------------------------------- decompression bombs


def huge_jpeg(tmp_path: Path, width: int, height: int) -> bytes:
    """A valid small JPEG whose frame header (SOF0) is patched to declare `width` x `height`."""
    data = bytearray(jpeg_bytes(tmp_path))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


class PixelsLoaded(BaseException):
    """Raised by the `no_pixel_loading` fixture; not an Exception, so no decoder can swallow it."""


@pytest.fixture
def no_pixel_loading(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to decode pixels fails loudly (not with an ImageDecodeError a test could mistake)."""

    def refuse(self: ImageFile.ImageFile) -> None:
        raise PixelsLoaded

    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)


@pytest.mark.parametrize(("kind", "width", "height"), [
    ("png", 20000, 20000), ("png", 12000, 12000), ("png", 1, 150_000_000), ("jpeg", 30000, 30000),
    ("jpeg", 11000, 11000),
])
def test_bomb_header_refused_fast(tmp_path: Path, no_pixel_loading: None, kind: str, width: int, height: int) -> None:
    data = png_bytes(width, height) if kind == "png" else huge_jpeg(tmp_path, width, height)
    path = write(tmp_path / f"bomb.{kind}", data)
    started = time.perf_counter()
    with pytest.raises(ImageTooLargeError) as info:
        load_image(path)
    assert time.perf_counter() - started < 0.5
    message = str(info.value)
    assert str(path) in message and "100,000,000" in message  # the file, and the configured (default) limit
    # the declared size (as WxH, or as a pixel count when Pillow's own hard limit refused the header first)
    assert f"{width}x{height}" in message or str(width * height) in message


def test_bomb_with_explicit_limit_and_env(tmp_path: Path, env_settings: pytest.MonkeyPatch) -> None:
    path = tmp_path / "n.png"
    Image.new("RGB", (300, 200)).save(path)
    assert load_image(path, max_pixels=60_000).size == (300, 200)  # exactly at the limit is allowed
    with pytest.raises(ImageTooLargeError, match="59,999"):
        load_image(path, max_pixels=59_999)
    env_settings.setenv("FACEATLAS_MAX_PIXELS", "50000")
    get_settings.cache_clear()
    with pytest.raises(ImageTooLargeError, match=r"300x200 = 60,000 pixels exceeds the limit of 50,000"):
        load_image(path)
    with pytest.raises(ImageTooLargeError, match="FACEATLAS_MAX_PIXELS"):
        load_image(path.read_bytes())
    with pytest.raises(ImageTooLargeError):
        load_image(np.zeros((200, 300, 3), np.uint8))
    with pytest.raises(ImageTooLargeError):
        load_image(Image.new("RGB", (300, 200)))
    assert load_image(path, max_pixels=70_000).size == (300, 200)  # the argument wins over the environment


def test_pillow_global_limit_is_not_changed(tmp_path: Path) -> None:
    before = Image.MAX_IMAGE_PIXELS
    with pytest.raises(ImageTooLargeError):
        load_image(write(tmp_path / "b.png", png_bytes(20000, 20000)))
    load_image(np.zeros((4, 4), np.uint8))
    assert before == Image.MAX_IMAGE_PIXELS


def test_limit_above_pillow_warning_threshold_is_silent(tmp_path: Path) -> None:
    """Between Pillow's bomb warning (~89M pixels) and our limit, the header check passes without a warning."""
    path = write(tmp_path / "big.png", png_bytes(10000, 9500))  # 95M pixels; pixel data missing on purpose
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ImageDecodeError) as info:
            load_image(path, max_pixels=100_000_000)
    assert type(info.value) is ImageDecodeError  # allowed by size, then fails as truncated


def test_huge_but_allowed_image_is_not_copied_needlessly(tmp_path: Path) -> None:
    width, height = 4000, 3000
    image = Image.new("RGB", (width, height), GRAY)
    image.paste(RED, (0, 0, 8, 8))
    image.save(tmp_path / "large.png", compress_level=1)
    del image
    tracemalloc.start()
    try:
        out = load_image(tmp_path / "large.png").bgr
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert out.shape == (height, width, 3) and near(out[:8, :8], RED) and near(out[-1, -1], GRAY)
    assert peak < 1.2 * out.nbytes  # the result plus small strips; no whole-image intermediate in Python


# --------------------------------------------------------------------------------------------------- numpy inputs


def test_numpy_uint8_channel_order() -> None:
    array = np.zeros((2, 3, 3), np.uint8)
    array[0, 0] = [1, 2, 3]
    assert load_image(array).bgr[0, 0].tolist() == [1, 2, 3]
    assert load_image(array, color="rgb").bgr[0, 0].tolist() == [3, 2, 1]
    assert load_image(array).source is None


def test_numpy_gray_2d_and_single_channel() -> None:
    gray = np.arange(6, dtype=np.uint8).reshape(2, 3)
    for array in (gray, gray[:, :, None]):
        out = load_image(array, color="rgb").bgr
        assert out.shape == (2, 3, 3) and (out == gray[:, :, None]).all()


@pytest.mark.parametrize("color", ["bgr", "rgb"])
def test_numpy_four_channels_composite_on_white(color: str) -> None:
    array = np.zeros((1, 3, 4), np.uint8)
    array[0, 0] = [10, 20, 30, 255]
    array[0, 1] = [10, 20, 30, 0]
    array[0, 2] = [0, 0, 0, 128]
    out = load_image(array, color=color).bgr  # type: ignore[arg-type]
    first = [10, 20, 30] if color == "bgr" else [30, 20, 10]
    assert out[0, 0].tolist() == first
    assert out[0, 1].tolist() == [255, 255, 255]
    assert out[0, 2].tolist() == [127, 127, 127]


def test_numpy_uint16_and_float() -> None:
    assert load_image(SIXTEEN_BIT).bgr[0, :, 0].tolist() == EIGHT_BIT
    assert load_image(SIXTEEN_BIT.astype(">u2")).bgr[0, :, 0].tolist() == EIGHT_BIT
    unit = np.array([[0.0, 0.25, 0.5, 1.0]], np.float32)
    assert load_image(unit).bgr[0, :, 0].tolist() == [0, 64, 128, 255]
    byte_range = np.array([[-5.0, 0.0, 1.5, 200.2, 300.0]])
    assert load_image(byte_range).bgr[0, :, 0].tolist() == [0, 0, 2, 200, 255]
    colour = np.zeros((1, 1, 3), np.float64)
    colour[0, 0] = [1.0, 0.0, 0.0]
    assert load_image(colour, color="rgb").bgr[0, 0].tolist() == [0, 0, 255]


@pytest.mark.parametrize("array", [
    np.zeros(5, np.uint8), np.zeros((2, 2, 3, 1), np.uint8), np.zeros((2, 2, 2), np.uint8),
    np.zeros((2, 2, 5), np.uint8), np.zeros((0, 4, 3), np.uint8),
], ids=["1d", "4d", "2ch", "5ch", "empty"])
def test_numpy_bad_shapes(array: np.ndarray) -> None:
    with pytest.raises(ImageDecodeError, match=r"shape|no pixels"):
        load_image(array)


@pytest.mark.parametrize("dtype", [np.bool_, np.int64, np.int32, np.int8, np.uint32, np.complex64, object])
def test_numpy_bad_dtypes(dtype: type) -> None:
    with pytest.raises(ImageDecodeError, match="dtype") as info:
        load_image(np.zeros((2, 2, 3), dtype))
    assert type(info.value) is ImageDecodeError


def test_numpy_non_finite_float() -> None:
    array = np.zeros((2, 2), np.float32)
    array[1, 1] = np.nan
    with pytest.raises(ImageDecodeError, match="NaN"):
        load_image(array)


def test_numpy_non_contiguous_and_no_copy() -> None:
    base = np.random.default_rng(3).integers(0, 256, (6, 8, 3), dtype=np.uint8)
    out = load_image(base[:, ::2]).bgr
    assert out.flags.c_contiguous and (out == base[:, ::2]).all()
    assert load_image(base).bgr is base  # a contiguous uint8 BGR array is used as it is


# ----------------------------------------------------------------------------------------- PIL and bytes inputs


def test_pil_input() -> None:
    loaded = load_image(quadrants())
    assert_quadrants(loaded.bgr)
    assert loaded.source is None


@pytest.mark.parametrize("wrap", [bytes, bytearray, memoryview])
def test_bytes_input(tmp_path: Path, wrap: Callable[[bytes], object]) -> None:
    quadrants().save(tmp_path / "q.png")
    loaded = load_image(wrap((tmp_path / "q.png").read_bytes()))  # type: ignore[arg-type]
    assert_quadrants(loaded.bgr)
    assert loaded.source is None


def test_string_path(tmp_path: Path) -> None:
    quadrants().save(tmp_path / "q.png")
    assert load_image(str(tmp_path / "q.png")).source == str(tmp_path / "q.png")


# ---------------------------------------------------------------------------------------------- no noise on stderr


def test_normal_images_emit_no_warning(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    paths = []
    for kind, (name, options, _) in FORMATS.items():
        path = tmp_path / f"{kind}-{name}"
        quadrants().save(path, **options)
        paths.append(path)
    for name, image in {"p.png": palette_image(True), "rgba.png": quadrants().convert("RGBA"),
                        "g16.png": Image.fromarray(SIXTEEN_BIT), "cmyk.jpg": quadrants().convert("CMYK"),
                        "la.png": quadrants().convert("LA"), "bits.png": quadrants().convert("1")}.items():
        image.save(tmp_path / name)
        paths.append(tmp_path / name)
    marked().save(tmp_path / "o6.jpg", exif=with_orientation(6))
    paths.append(tmp_path / "o6.jpg")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for path in paths:
            load_image(path)
        load_image(palette_image(True))
        load_image(np.zeros((4, 4, 4), np.float32))
    sys.stderr.flush()
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""
