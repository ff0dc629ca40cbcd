"""Video sources and sinks with PyAV (`faceatlas.io.media`): files at their timestamps, folders of frames, clear
errors for what is not a video or cannot be reached, a live stream served on loopback by this test (a slow consumer
drops frames and says how many, the source reconnects after the stream restarts), and written videos that keep
their source's timing and audio and none of its metadata."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from faceatlas.errors import SourceUnavailableError, VideoDecodeError
from faceatlas.io.media import VideoSource, is_live, write_video
from faceatlas.pipeline import FaceAnalyzer

SECRETS = {"title": "Alice Martin at home", "location": "+48.8584+002.2945/", "comment": "camera serial 12345XY"}
"""Container tags a video may carry that identify its subject or place."""

STREAM_SERVER = """
import sys, time
import av, numpy as np
port, frames, rounds = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
for _ in range(rounds):
    out = av.open(f"tcp://127.0.0.1:{port}?listen=1", "w", format="mpegts")
    stream = out.add_stream("libx264", rate=25, options={"tune": "zerolatency", "preset": "ultrafast"})
    stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
    for i in range(frames):
        frame = av.VideoFrame.from_ndarray(np.full((120, 160, 3), 40 + i, np.uint8), format="bgr24")
        frame.pts = i
        for packet in stream.encode(frame):
            out.mux(packet)
        time.sleep(1 / 25)
    for packet in stream.encode(None):
        out.mux(packet)
    out.close()
    time.sleep(0.3)
"""
"""A live H.264 stream over TCP on loopback: `rounds` times `frames` frames at 25 fps, a restart between rounds."""


def levels_video(path: Path, frames: int, fps: int = 10, size: tuple[int, int] = (64, 48),
                 audio: bool = False, tags: dict[str, str] | None = None) -> Path:
    """Frame i a flat grey of level 10 i, at `fps` (with `audio`: a 440 Hz AAC tone as long), with container tags."""
    with av.open(str(path), "w") as out:
        out.metadata.update(tags or {})
        video = out.add_stream("libx264", rate=fps, options={"crf": "10"})
        video.width, video.height, video.pix_fmt = *size, "yuv420p"
        sound = out.add_stream("aac", rate=16000) if audio else None
        if sound is not None:
            sound.metadata.update({"language": "fra", "title": SECRETS["title"]})
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(np.full((size[1], size[0], 3), 10 * i, np.uint8), format="bgr24")
            frame.pts = i
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        if sound is not None:
            samples = np.sin(np.arange(16000 * frames // fps) * 2 * np.pi * 440 / 16000).astype(np.float32)
            for start in range(0, len(samples), 1024):
                chunk = av.AudioFrame.from_ndarray(samples[None, start:start + 1024], format="fltp", layout="mono")
                chunk.sample_rate, chunk.pts, chunk.time_base = 16000, start, Fraction(1, 16000)
                out.mux(sound.encode(chunk))
            out.mux(sound.encode(None))
    return path


def level(frame: np.ndarray) -> int:
    return round(float(frame.mean()) / 10)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_file_gives_every_frame_at_its_timestamp_or_one_every_interval(tmp_path: Path) -> None:
    video = levels_video(tmp_path / "clip.mp4", frames=25)
    frames = list(VideoSource(video))
    assert [f.number for f in frames] == list(range(25))
    assert [f.time_ms for f in frames] == [100 * i for i in range(25)]
    assert [level(f.bgr) for f in frames] == list(range(25))
    sampled = VideoSource(video, every=0.5)
    assert [(f.time_ms, level(f.bgr)) for f in sampled] == [(0, 0), (500, 5), (1000, 10), (1500, 15), (2000, 20)]
    assert sampled.fps == pytest.approx(10) and sampled.damage is None and not sampled.live


def test_a_folder_of_frames_is_a_video_at_25_fps(tmp_path: Path) -> None:
    for i in range(3):
        cv2.imwrite(str(tmp_path / f"frame{i:03d}.png"), np.full((20, 30, 3), 10 * i, np.uint8))
    assert [(f.time_ms, level(f.bgr)) for f in VideoSource(tmp_path)] == [(0, 0), (40, 1), (80, 2)]


def test_what_is_not_a_video_or_cannot_be_reached_is_a_clear_error(tmp_path: Path) -> None:
    text = tmp_path / "notes.mp4"
    text.write_text("not a video at all")
    whole = levels_video(tmp_path / "whole.mp4", frames=20).read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole[: len(whole) // 2])  # its index (moov) is at the end: gone
    for path in (text, cut, tmp_path / "missing.mp4", tmp_path / "empty.mp4"):
        if path.name == "empty.mp4":
            path.write_bytes(b"")
        with pytest.raises(VideoDecodeError, match=path.name):
            list(VideoSource(path))
    assert is_live(0) and is_live("rtsp://camera.local/stream") and not is_live(cut)
    closed = f"tcp://127.0.0.1:{free_port()}"
    started = time.monotonic()
    with pytest.raises(SourceUnavailableError, match=r"cannot be opened and not back after 1 attempts"):
        list(VideoSource(closed, retries=1, backoff=0.1, timeout_s=2))
    assert time.monotonic() - started < 5


def test_a_loopback_stream_drops_frames_for_a_slow_consumer_and_reconnects_after_a_restart() -> None:
    port, frames, rounds = free_port(), 40, 2
    server = subprocess.Popen([sys.executable, "-c", STREAM_SERVER, str(port), str(frames), str(rounds)])
    try:
        time.sleep(0.5)
        source = VideoSource(f"tcp://127.0.0.1:{port}", buffer=4, retries=2, backoff=0.2, timeout_s=3)
        got, times = 0, []
        with pytest.raises(SourceUnavailableError, match="lost and not back after 2 attempts"):
            for frame in source:  # the stream ends for good after its rounds: the source says so
                got += 1
                times.append(frame.time_ms)
                time.sleep(0.08)  # half the stream's rate
        assert source.live and source.reconnects == 1
        assert got + source.dropped == frames * rounds  # every frame sent was either consumed or counted as dropped
        assert source.dropped >= frames * rounds // 3  # the slow consumer lost a good share
        assert times == sorted(times) and len(set(times)) == len(times)  # one clock across the restart
    finally:
        server.kill()
        server.wait()


def test_a_written_video_keeps_the_timing_and_audio_and_no_metadata(tmp_path: Path) -> None:
    source = levels_video(tmp_path / "tagged.mp4", frames=20, fps=10, audio=True, tags=SECRETS)
    with av.open(str(source)) as original:
        assert set(SECRETS) <= set(original.metadata)
        audio_in = [bytes(p) for p in original.demux(audio=0) if p.size]
    out = tmp_path / "copy.mp4"
    frames = [(f.time_ms, f.bgr) for f in VideoSource(source)]
    assert write_video(out, iter(frames), audio_from=source) == 20
    with av.open(str(out)) as copy:
        assert set(copy.metadata) <= {"major_brand", "minor_version", "compatible_brands", "encoder"}
        assert all("language" not in s.metadata or s.metadata["language"] == "und" for s in copy.streams)
        audio_out = [bytes(p) for p in copy.demux(audio=0) if p.size]
    assert audio_out == audio_in  # copied packet for packet, not re-encoded
    data = out.read_bytes()
    assert not any(secret.encode() in data for secret in SECRETS.values())
    copied = list(VideoSource(out))
    assert [f.time_ms for f in copied] == [t for t, _ in frames]
    assert max(abs(float(f.bgr.mean()) - float(b.mean())) for f, (_, b) in zip(copied, frames, strict=True)) < 5
    assert (out.stat().st_mode & 0o777) == 0o600
    assert not list(tmp_path.glob(".copy.mp4.*"))  # no temporary file left
    with pytest.raises(ValueError, match=r"not '\.webm'"):
        write_video(tmp_path / "copy.webm", iter(frames))


def test_the_pipeline_takes_a_video_source_frame_by_frame(tmp_path: Path) -> None:
    video = levels_video(tmp_path / "clip.mp4", frames=6)
    shots = list(FaceAnalyzer().shots(VideoSource(video), embed=False, batch=1))
    assert [(s.frame, s.time_ms, len(s.faces), s.error) for s in shots] == [(i, 100 * i, 0, None) for i in range(6)]
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00" * 100)
    [failed] = FaceAnalyzer().shots(VideoSource(broken))
    assert isinstance(failed.error, VideoDecodeError) and failed.image is None


def test_the_tracker_is_installed_without_a_second_opencv() -> None:
    """`trackers` declares the non-headless opencv-python; the README and CI install it with --no-deps, so the one
    OpenCV is the headless one (two would overwrite each other's `cv2`)."""
    from importlib.metadata import PackageNotFoundError, distribution

    from faceatlas.video import FaceTracker

    assert distribution("trackers").version == "2.6.1" and distribution("opencv-python-headless")
    for other in ("opencv-python", "opencv-contrib-python"):
        with pytest.raises(PackageNotFoundError):
            distribution(other)
    assert FaceTracker().alive_ids() == set()
