"""The gallery sources of samples a photo library adds: the media fragment of the picture (`gallery.sources`) plus
the library face it is, `PATH#face12&sha256=HEX` or, in a video, `PATH#t=12.345&face12&sha256=HEX`."""

from __future__ import annotations

from faceatlas.gallery.sources import fragment_parts


def face_source(path: str, face_id: int, frame_ms: int | None = None, sha256: str | None = None) -> str:
    """The source of face `face_id` of the photo (or, with `frame_ms`, video frame) at `path`, whose content has
    this `sha256`."""
    time = "" if frame_ms is None else f"t={frame_ms / 1000:.3f}&"
    content = "" if sha256 is None else f"&sha256={sha256}"
    return f"{path}#{time}face{face_id}{content}"


def fragment_face(source: str) -> int | None:
    """The library face a source names (`face_source`), or None."""
    parsed = fragment_parts(source)
    faces = [part[4:] for part in parsed[1] if part.startswith("face")] if parsed else []
    return int(faces[0]) if faces and faces[0].isdigit() else None
