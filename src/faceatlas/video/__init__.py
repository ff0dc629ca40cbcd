"""Faces in motion: tracking (ByteTrack), track-level identity with hysteresis and re-identification, best shots
and events."""

from faceatlas.video.following import FaceFollower, TrackedFrame, TrackEvent, video_analyzer
from faceatlas.video.tracking import Coasting, FaceTracker

__all__ = ["Coasting", "FaceFollower", "FaceTracker", "TrackEvent", "TrackedFrame", "video_analyzer"]
