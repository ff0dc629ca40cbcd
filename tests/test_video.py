"""Video files as sampled frames: the right frames at the right times, and clear errors for what is not a video."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from helpers import write_video

import faceatlas.io.video as video_module
from faceatlas.errors import VideoDecodeError
from faceatlas.io.image import iter_image_paths
from faceatlas.io.video import VIDEO_SUFFIXES, SampledVideo, frame_at, frames_at

open_video = video_module._open


def level(frame: np.ndarray) -> int:
    return round(float(frame.mean()) / 6)


def test_frames_are_sampled_at_the_interval_and_found_again_by_time(tmp_path):
    video = write_video(tmp_path / "clip.mp4", frames=35)  # 3.5 s at 10 fps
    clip = SampledVideo(video, 1.0)
    sampled = list(clip)
    assert clip.damage is None
    assert [ms for ms, _ in sampled] == [0, 1000, 2000, 3000]
    assert [level(frame) for _, frame in sampled] == [0, 10, 20, 30]
    assert level(frame_at(video, 2000)) == 20
    for ms, frame in SampledVideo(video, 0.7):  # seeking lands on the very frame sampling gave, key frame or not
        assert level(frame_at(video, ms)) == level(frame)
    assert [ms for ms, _ in SampledVideo(video, 0.25)][:5] == [0, 300, 600, 900, 1200]  # every 3rd frame at 10 fps
    with pytest.raises(VideoDecodeError, match="shorter"):
        frame_at(video, 9000)


def test_many_frames_are_found_again_in_one_decoding_pass(tmp_path, monkeypatch):
    video = write_video(tmp_path / "clip.mp4", frames=40)  # 4 s at 10 fps
    opened = []
    monkeypatch.setattr(video_module, "_open", lambda path: opened.append(path) or open_video(path))
    found = list(frames_at(video, [3600, 3100, 3900, 9000]))  # from a seek to 0.1 s; 9 s: past the end, left out
    assert [ms for ms, _ in found] == [3100, 3600, 3900]
    assert len(opened) == 1
    assert list(frames_at(video, [])) == [] and len(opened) == 1
    for ms, frame in found:  # the frames sampling and seeking give, pixel for pixel
        assert abs(level(frame) - ms // 100) <= 1 and np.array_equal(frame, frame_at(video, ms))


class LateSeek:
    """A capture whose seeks land 3.5 s past where they were asked (variable frame rates fool seeking so)."""

    def __init__(self, capture: object) -> None:
        self.capture = capture

    def set(self, prop: int, value: float) -> bool:
        return self.capture.set(prop, value + 3500)

    def __getattr__(self, name: str) -> object:
        return getattr(self.capture, name)


def test_frames_a_seek_lands_past_are_decoded_again_from_the_start(tmp_path, monkeypatch):
    video = write_video(tmp_path / "clip.mp4", frames=40)  # 4 s at 10 fps
    expected = {ms: frame_at(video, ms) for ms in (3200, 3900)}
    opened = []
    monkeypatch.setattr(video_module, "_open", lambda path: opened.append(path) or LateSeek(open_video(path)))
    found = dict(frames_at(video, [3200, 3900, 9000]))  # the seek to 0.2 s lands at 3.7 s: past 3.2 s
    assert found.keys() == expected.keys()
    assert all(np.array_equal(found[ms], expected[ms]) for ms in expected)
    assert len(opened) == 2  # the second pass, from the start, for 3.2 s only (not for 9 s, past the end)


def test_what_is_not_a_video_is_a_clear_error(tmp_path):
    video = write_video(tmp_path / "clip.mp4", frames=20)
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(video.read_bytes()[:200])
    text = tmp_path / "notes.mov"
    text.write_text("not a video")
    for path in (truncated, text, tmp_path / "missing.mp4"):
        with pytest.raises(VideoDecodeError, match=path.name):
            list(SampledVideo(path, 1.0))
    with pytest.raises(ValueError):
        list(SampledVideo(video, -1))
    assert len(list(SampledVideo(video, 0))) == 20  # 0: every frame
    assert iter_image_paths([tmp_path], VIDEO_SUFFIXES) == [video, text, truncated]


def test_a_video_damaged_part_way_gives_its_frames_up_to_the_damage_and_says_so(tmp_path):
    whole = write_video(tmp_path / "clip.avi", frames=40, codec="MJPG")  # 4 s; AVI's header states its length
    cut = tmp_path / "cut.avi"
    cut.write_bytes(whole.read_bytes()[:len(whole.read_bytes()) // 2])
    clip = SampledVideo(cut, 0.5)
    assert [ms for ms, _ in clip] == [0, 500]
    assert clip.damage == "decoded 0.9 s of the 4.0 s it states (truncated or damaged after that)"
    script = f"from faceatlas.io.video import SampledVideo; list(SampledVideo({str(cut)!r}, 0.5))"
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert run.stderr == ""  # FFmpeg's own complaint ("[mjpeg @ 0x...] com: invalid len") is not printed
