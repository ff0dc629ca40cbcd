"""Video in and out with PyAV (FFmpeg's libraries).

`VideoSource` gives the frames of a video file, a folder of frames, a camera or a network stream (RTSP, HTTP, TCP, ...)
with the container's timestamps. A live source (camera, stream) is read on its own thread into a bounded buffer: when
the consumer falls behind, the oldest frame is dropped and counted, so memory never grows; a lost stream is reopened
with back-off. `write_video` encodes frames at their own timestamps (a variable frame rate stays true) into a new
file, written atomically, copying the audio of the source through untouched and no metadata of the source's.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from faceatlas.errors import FaceAtlasError, ImageTooLargeError, SourceUnavailableError, VideoDecodeError

if TYPE_CHECKING:
    import av

LIVE_SCHEMES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://", "tcp://", "udp://", "srt://")
"""Locations with these prefixes are network streams: read live, reconnected when lost."""

FOLDER_FPS = 25.0
"""The rate a folder of frames is played at (its frames carry no time)."""

OUTPUT_FORMATS: dict[str, tuple[str, str]] = {
    ".mp4": ("mp4", "libx264"), ".m4v": ("mp4", "libx264"), ".mov": ("mov", "libx264"),
    ".mkv": ("matroska", "libx264"), ".avi": ("avi", "mpeg4"),
}
"""The containers a video is written to, by suffix, with the video codec used."""

TIME_BASE = Fraction(1, 1000)
"""Written videos keep time in milliseconds (the timestamps `Frame` carries)."""


@dataclass(frozen=True)
class Frame:
    """One decoded frame: its number among the frames given, its time (ms, the container's clock) and its pixels."""

    number: int
    time_ms: int
    bgr: np.ndarray


def is_live(location: str | Path | int) -> bool:
    """Whether `location` is a camera (an index, or a /dev/video device) or a network stream."""
    text = str(location)
    return isinstance(location, int) or text.startswith("/dev/video") or text.lower().startswith(LIVE_SCHEMES)


def utf8_name(path: str | Path) -> None:
    """Refuse a file name that is not UTF-8 (OpenCV, which cuts the library's frames, would crash the process on it)
    with a `VideoDecodeError` that says to rename it."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        raise VideoDecodeError(f"{os.fsencode(path).decode('utf-8', 'backslashreplace')}: a video whose file name "
                               "is not UTF-8 cannot be decoded: rename it") from None


def _open_input(location: str | Path | int, timeout_s: float) -> av.container.InputContainer:
    """The container at `location` (a camera index opens /dev/videoN through video4linux)."""
    import av

    if isinstance(location, int) or str(location).startswith("/dev/video"):
        device = f"/dev/video{location}" if isinstance(location, int) else str(location)
        return av.open(device, format="v4l2", timeout=timeout_s)
    options = {"rtsp_transport": "tcp"} if str(location).lower().startswith("rtsp") else {}
    return av.open(str(location), options=options, timeout=timeout_s)


class VideoSource:
    """The frames of `location` (a video file, a folder of frames, a camera index or device, or a stream URL), one
    every `every` seconds (0: all), as `Frame`s when iterated.

    A file that cannot be decoded raises `VideoDecodeError`; one damaged part-way gives the frames before the damage
    and says so in `damage`. A live source that cannot be opened, or is lost and does not come back after `retries`
    attempts (waiting `backoff` seconds, doubling up to `max_backoff`), raises `SourceUnavailableError`; while it runs,
    at most `buffer` frames wait for the consumer, and `dropped` counts those a slow consumer lost, `reconnects` the
    times the stream was reopened. Frames over `max_pixels` are refused before decoding (`ImageTooLargeError`)."""

    def __init__(self, location: str | Path | int, every: float = 0.0, buffer: int = 8, retries: int = 5,
                 backoff: float = 0.5, max_backoff: float = 8.0, timeout_s: float = 5.0,
                 max_pixels: int | None = None, live: bool | None = None) -> None:
        if every < 0:
            raise ValueError("every must be 0 (every frame) or positive")
        if buffer < 1:
            raise ValueError("buffer holds at least one frame")
        self.location, self.every, self.buffer = location, every, buffer
        self.retries, self.backoff, self.max_backoff, self.timeout_s = retries, backoff, max_backoff, timeout_s
        self.max_pixels = max_pixels
        self.live = is_live(location) if live is None else live
        self.dropped = self.reconnects = 0
        self.damage: str | None = None
        self.fps: float | None = None
        self.start_ms = 0  # a file's video stream starts at this time: frames' times minus it count from 0

    @property
    def name(self) -> str:
        return str(self.location)

    def __iter__(self) -> Iterator[Frame]:
        if not self.live and Path(str(self.location)).is_dir():
            frames = self._folder()
        else:
            frames = self._live() if self.live else self._file()
        due, number = 0.0, 0
        for time_ms, bgr in frames:
            if time_ms + 1e-6 < due:
                continue
            due = time_ms + self.every * 1000.0
            yield Frame(number, time_ms, bgr)
            number += 1

    # ---- kinds of source -------------------------------------------------------------------------------------

    def _folder(self) -> Iterator[tuple[int, np.ndarray]]:
        from faceatlas.io.image import iter_image_paths, load_image

        paths = sorted(iter_image_paths([Path(str(self.location))]))
        if not paths:
            raise VideoDecodeError(f"{self.location}: a folder of frames with no image in it")
        self.fps = FOLDER_FPS
        for index, path in enumerate(paths):
            yield round(index * 1000 / FOLDER_FPS), load_image(path, max_pixels=self.max_pixels).bgr

    def _file(self) -> Iterator[tuple[int, np.ndarray]]:
        import av

        path = Path(str(self.location))
        utf8_name(path)
        try:
            container = _open_input(path, self.timeout_s)
        except (av.error.FFmpegError, OSError, UnicodeError) as error:
            raise VideoDecodeError(f"{path}: not a video that can be decoded (missing, unreadable, truncated or not "
                                   f"a video): {error}") from None
        with container:
            if not container.streams.video:
                raise VideoDecodeError(f"{path}: has no video stream")
            stream = self._prepare(container)
            decoded, last, broken = 0, 0, None
            try:
                for frame in container.decode(stream):
                    last = self._time_ms(frame, decoded)
                    decoded += 1
                    yield last, frame.to_ndarray(format="bgr24")
            except av.error.FFmpegError as error:
                if decoded == 0:
                    raise VideoDecodeError(f"{path}: no frame could be decoded: {error}") from None
                broken = error
            if decoded == 0:
                raise VideoDecodeError(f"{path}: no frame could be decoded (empty, truncated or not a video)")
            stated = max(float(stream.duration * stream.time_base) if stream.duration else 0.0,
                         stream.frames / self.fps if stream.frames and self.fps else 0.0)  # an AVI header's count
            end = (last - self.start_ms) / 1000 + (1 / self.fps if self.fps else 0.0)
            if stated and (broken is not None or end < stated - 1.0):
                self.damage = f"decoded {end:.1f} s of the {stated:.1f} s it states (truncated or damaged after that)"
            elif broken is not None:
                self.damage = f"damaged after {end:.1f} s: {broken}"

    def _prepare(self, container: av.container.InputContainer) -> av.video.stream.VideoStream:
        """The video stream, checked against the pixel limit, decoded on several threads; notes its frame rate."""
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        pixels = (stream.codec_context.width or 0) * (stream.codec_context.height or 0)
        if self.max_pixels is not None and pixels > self.max_pixels:
            raise ImageTooLargeError(f"{self.location}: frames of {pixels:,} pixels, over the limit of "
                                     f"{self.max_pixels:,}")
        self.fps = float(stream.average_rate) if stream.average_rate else None
        self.start_ms = round(float(stream.start_time * stream.time_base) * 1000) if stream.start_time else 0
        return stream

    def _time_ms(self, frame: av.VideoFrame, index: int) -> int:
        """The frame's timestamp in ms; counted from the frame rate where the container gives none."""
        if frame.time is not None:
            return round(frame.time * 1000)
        return round(index * 1000 / (self.fps or FOLDER_FPS))

    def _live(self) -> Iterator[tuple[int, np.ndarray]]:
        frames: queue.Queue[tuple[int, np.ndarray] | FaceAtlasError] = queue.Queue(self.buffer)
        stop = threading.Event()
        reader = threading.Thread(target=self._read_live, args=(frames, stop), daemon=True,
                                  name=f"faceatlas-source-{self.location}")
        reader.start()
        try:
            while True:
                item = frames.get()
                if isinstance(item, FaceAtlasError):
                    raise item
                yield item
        finally:
            stop.set()
            with contextlib.suppress(queue.Empty):
                frames.get_nowait()  # unblock a reader waiting to put
            reader.join(timeout=self.timeout_s + 1)

    def _read_live(self, frames: queue.Queue, stop: threading.Event) -> None:
        """The reader thread: open, decode into `frames` (dropping the oldest when full), reopen when lost."""
        import av

        failures, offset_ms, last_ms, lost = 0, 0, -1, False
        while not stop.is_set():
            got_frame = False
            try:
                with _open_input(self.location, self.timeout_s) as container:
                    stream = self._prepare(container)
                    started, first = time.monotonic(), None
                    for frame in container.decode(stream):
                        if stop.is_set():
                            return
                        clock = frame.time if frame.time is not None else time.monotonic() - started
                        first = clock if first is None else first
                        now = max(offset_ms + round((clock - first) * 1000), last_ms + 1)
                        if lost:
                            self.reconnects, lost = self.reconnects + 1, False
                        got_frame, failures, last_ms = True, 0, now
                        self._put(frames, (now, frame.to_ndarray(format="bgr24")))
            except FaceAtlasError as error:
                self._put(frames, error)
                return
            except (av.error.FFmpegError, OSError) as error:
                reason: Exception | None = error
            else:
                reason = None  # the stream ended: a live source is expected to come back
            if stop.is_set():
                return
            failures = 1 if got_frame else failures + 1
            if failures > self.retries:
                self._put(frames, SourceUnavailableError(
                    f"{self.location}: {'lost' if last_ms >= 0 else 'cannot be opened'} and not back after "
                    f"{self.retries} attempts{f' ({reason})' if reason else ''}"))
                return
            lost, offset_ms = last_ms >= 0, last_ms + 1
            stop.wait(min(self.backoff * 2 ** (failures - 1), self.max_backoff))

    def _put(self, frames: queue.Queue, item: object) -> None:
        """Put `item`, dropping the oldest waiting frame if the buffer is full (an error is never dropped)."""
        while True:
            try:
                frames.put_nowait(item)
                return
            except queue.Full:
                with contextlib.suppress(queue.Empty):
                    frames.get_nowait()
                    self.dropped += 1


def write_video(path: Path, frames: Iterable[tuple[int, np.ndarray]], audio_from: Path | None = None,
                crf: int = 18) -> int:
    """Encode `frames` ((time in ms, BGR), in time order) into a new video at `path` (a suffix of `OUTPUT_FORMATS`),
    atomically, each frame at its own time; with `audio_from`, that file's audio streams are copied through
    untouched (not re-encoded). No metadata of the source is written. Returns the number of frames written."""
    from faceatlas.io.files import written_by

    suffix = path.suffix.lower()
    if suffix not in OUTPUT_FORMATS:
        raise ValueError(f"{path}: videos are written as {', '.join(OUTPUT_FORMATS)}, not '{path.suffix}'")
    written = [0]

    def encode(temporary: str) -> None:
        written[0] = _encode(temporary, suffix, frames, audio_from, crf)

    written_by(path, encode)
    return written[0]


def _encode(temporary: str, suffix: str, frames: Iterable[tuple[int, np.ndarray]], audio_from: Path | None,
            crf: int) -> int:
    import av

    container_format, codec = OUTPUT_FORMATS[suffix]
    source = av.open(str(audio_from)) if audio_from is not None else None
    with contextlib.ExitStack() as stack:
        if source is not None:
            stack.enter_context(source)
        output = stack.enter_context(av.open(temporary, "w", format=container_format))
        audio = _audio_copies(source, output) if source is not None else {}
        packets = source.demux(*source.streams.audio) if audio else iter(())
        pending = next(packets, None)
        video, count = None, 0
        for time_ms, bgr in frames:
            if video is None:
                video = output.add_stream(codec, rate=30, options={"crf": str(crf)} if codec == "libx264" else {})
                video.width, video.height = bgr.shape[1] - bgr.shape[1] % 2, bgr.shape[0] - bgr.shape[0] % 2
                video.pix_fmt, video.codec_context.time_base, video.time_base = "yuv420p", TIME_BASE, TIME_BASE
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(bgr[:video.height, :video.width]),
                                               format="bgr24")
            frame.pts, frame.time_base = time_ms, TIME_BASE
            while pending is not None and (pending.dts is None or pending.time_base is None
                                           or pending.dts * pending.time_base * 1000 <= time_ms):
                pending = _copy(pending, audio, output, packets)
            output.mux(video.encode(frame))
            count += 1
        if video is None:
            raise VideoDecodeError("no frame to write")
        output.mux(video.encode(None))
        while pending is not None:
            pending = _copy(pending, audio, output, packets)
    return count


def _audio_copies(source: av.container.InputContainer, output: av.container.OutputContainer) -> dict:
    """Output streams copying each audio stream of `source`, by the source stream's index (codec parameters only: no
    language, title or other tag)."""
    copies = {}
    for stream in source.streams.audio:
        copy = output.add_stream_from_template(stream)
        copy.metadata.clear()
        copies[stream.index] = copy
    return copies


def _copy(packet: av.Packet, audio: dict, output: av.container.OutputContainer,
          packets: Iterator[av.Packet]) -> av.Packet | None:
    """Mux `packet` into its copy stream (flush packets without data are skipped); the next packet, or None."""
    if packet.dts is not None and packet.size:
        packet.stream = audio[packet.stream.index]
        output.mux(packet)
    return next(packets, None)
