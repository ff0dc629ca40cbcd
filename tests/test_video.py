"""Video files as sampled frames: the right frames at the right times, and clear errors for what is not a video."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from faceatlas.errors import VideoDecodeError
from faceatlas.io.image import iter_image_paths
from faceatlas.io.video import VIDEO_SUFFIXES, frame_at, sample_frames


def write_video(path: Path, frames: int, fps: float = 10.0) -> Path:
    """Frame i is a flat grey of level 6 i (readable back through compression)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (64, 48))
    for i in range(frames):
        writer.write(np.full((48, 64, 3), 6 * i, np.uint8))
    writer.release()
    return path


def level(frame: np.ndarray) -> int:
    return round(float(frame.mean()) / 6)


def test_frames_are_sampled_at_the_interval_and_found_again_by_time(tmp_path):
    video = write_video(tmp_path / "clip.mp4", frames=35)  # 3.5 s at 10 fps
    sampled = list(sample_frames(video, 1.0))
    assert [ms for ms, _ in sampled] == [0, 1000, 2000, 3000]
    assert [level(frame) for _, frame in sampled] == [0, 10, 20, 30]
    assert level(frame_at(video, 2000)) == 20
    for ms, frame in sample_frames(video, 0.7):  # seeking lands on the very frame sampling gave, key frame or not
        assert level(frame_at(video, ms)) == level(frame)
    assert [ms for ms, _ in sample_frames(video, 0.25)][:5] == [0, 300, 600, 900, 1200]  # every 3rd frame at 10 fps
    with pytest.raises(VideoDecodeError, match="shorter"):
        frame_at(video, 9000)


def test_what_is_not_a_video_is_a_clear_error(tmp_path):
    video = write_video(tmp_path / "clip.mp4", frames=20)
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(video.read_bytes()[:200])
    text = tmp_path / "notes.mov"
    text.write_text("not a video")
    for path in (truncated, text, tmp_path / "missing.mp4"):
        with pytest.raises(VideoDecodeError, match=path.name):
            list(sample_frames(path, 1.0))
    with pytest.raises(ValueError):
        list(sample_frames(video, 0))
    assert iter_image_paths([tmp_path], VIDEO_SUFFIXES) == [video, text, truncated]
