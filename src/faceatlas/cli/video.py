"""`faceatlas video`: who appears in a video file, camera or stream, and when: events per track as they happen,
optionally as JSON lines, best shots and an annotated copy."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TextIO

import typer

from faceatlas.cli.common import MaxPixelsOption, ProfileOption, ThreadsOption, console, fail, styled
from faceatlas.cli.gallery import CollectionOption, open_gallery
from faceatlas.errors import FaceAtlasError

if TYPE_CHECKING:
    from collections.abc import Iterator

    import numpy as np
    from rich.text import Text

    from faceatlas.video import TrackedFrame, TrackEvent


def video(
    source: Annotated[str, typer.Argument(help="A video file, a folder of frames, a camera index (0) or device "
                                               "(/dev/video0), or a stream URL (rtsp://, http://, tcp://, ...).")],
    db: Annotated[str | None, typer.Option("--db", help="A gallery (SQLAlchemy URL or SQLite file) to name the "
                                                        "tracks from; without it tracks stay anonymous.")] = None,
    collection: CollectionOption = None,
    fpir: Annotated[float, typer.Option(help="Target false-positive identification rate of a track's name.")]
    = 1e-2,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the events as JSON lines ('-': stdout).")]
    = None,
    best_shots: Annotated[Path | None, typer.Option(help="Write each track's best face (highest quality) into "
                                                         "this folder.")] = None,
    annotate: Annotated[Path | None, typer.Option(help="Write a copy of the video with each face boxed, its "
                                                       "track and name (.mp4, .mkv, .mov, .avi).")] = None,
    every: Annotated[float, typer.Option(min=0.0, help="Take a frame every this many seconds (0: every frame).")]
    = 0.0,
    signals: Annotated[bool, typer.Option("--signals", help="Measure each track's blinks and attention (the mesh "
                                                            "head on every frame); a 'signals' event per track "
                                                            "each second.")] = False,
    profile: ProfileOption = None,
    threads: ThreadsOption = None,
    max_pixels: MaxPixelsOption = None,
) -> None:
    """Follow every face through a video, camera or stream; with --db, name each track (at a calibrated FPIR, with
    hysteresis). Prints an event per track start, identity decision and end.
    Exit 0: the source was read to its end (a live one: until Ctrl-C)."""
    from faceatlas.io.files import private_folder, private_output
    from faceatlas.io.media import VideoSource
    from faceatlas.video import FaceFollower, video_analyzer

    gallery = open_gallery(db, collection, profile) if db else None
    try:
        location: str | int = int(source) if source.isdigit() else source
        reader = VideoSource(location, every=every, max_pixels=max_pixels)
        follower = FaceFollower(video_analyzer(profile, threads, max_pixels), gallery=gallery, fpir=fpir,
                                best_shots=private_folder(best_shots) if best_shots else None, signals=signals)
        sink = sys.stdout if str(json_out) == "-" else (private_output(json_out) if json_out else None)
    except (FaceAtlasError, ValueError, OSError) as error:
        raise fail(error) from None
    frames, started = 0, time.perf_counter()
    tracks: dict[int, str | None] = {}
    try:
        stream = _counted(follower.follow(reader), tracks, sink)
        if annotate is not None:
            from faceatlas.io.media import write_video

            audio = Path(source) if not reader.live and Path(source).is_file() else None
            frames = write_video(annotate, _annotated(stream), audio_from=audio)
        else:
            frames = sum(1 for _ in stream)
    except KeyboardInterrupt:
        console.print("stopped")
    except (FaceAtlasError, ValueError, OSError) as error:
        raise fail(error) from None
    finally:
        if sink and sink is not sys.stdout:
            sink.close()
    seconds = time.perf_counter() - started
    named = sum(name is not None for name in tracks.values())
    dropped = f", {reader.dropped} dropped by a slow consumer" if reader.live else ""
    console.print(f"{frames} frames in {seconds:.1f} s ({frames / max(seconds, 1e-9):.1f} per second{dropped}), "
                  f"{len(tracks)} tracks, {named} named")


def _counted(frames: Iterator[TrackedFrame], tracks: dict[int, str | None], sink: TextIO | None
             ) -> Iterator[TrackedFrame]:
    """`frames`, printing (and writing to `sink`) their events and noting each track's last name in `tracks`."""
    for frame in frames:
        for event in frame.events:
            if event.event in ("identity", "track_ended"):
                tracks[event.track_id] = event.name
            tracks.setdefault(event.track_id, None)
            if event.event != "signals":  # one a second per track: for the JSON lines, not the terminal
                console.print(_line(event))
            if sink is not None:
                sink.write(json.dumps(event.to_dict()) + "\n")
        yield frame


def _line(event: TrackEvent) -> Text:
    at = f"{event.time_ms / 1000:8.2f} s  track {event.track_id:<4}"
    if event.event == "track_started":
        return styled(at, "cyan", " started")
    if event.event == "identity":
        was = f" (was {event.previous or 'unknown'})" if event.previous is not None else ""
        return styled(at, "green" if event.name else "yellow",
                      f" is {event.name or 'unknown'}{f' {event.score:.3f}' if event.score is not None else ''}{was}")
    span = f"{(event.last_ms or 0) / 1000 - (event.first_ms or 0) / 1000:.1f} s"
    shot = f", best shot {event.best_shot}" if event.best_shot else ""
    eyes = (f", {event.signals.blinks} blinks, looking at the camera {event.signals.attention:.0%}"
            if event.signals else "")
    return styled(at, "dim", f" ended after {span} ({event.name or 'unknown'}){eyes}{shot}")


def _annotated(frames: Iterator[TrackedFrame]) -> Iterator[tuple[int, np.ndarray]]:
    from faceatlas.io.draw import draw_faces

    for frame in frames:
        shot = frame.shot
        assert shot.image is not None
        labels = [f"#{tid} {name or '?'}" if tid >= 0 else ""
                  for tid, name in zip(frame.track_ids.tolist(), frame.names, strict=True)]
        yield shot.time_ms or 0, draw_faces(shot.image, shot.faces, labels)

