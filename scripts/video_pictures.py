"""The README's video pictures, made from one public-domain photo only: scikit-image's astronaut.png (NASA's portrait
of Eileen Collins). A 4 s clip shows her twice, side by side (the right copy mirrored, darker and smaller), the camera
panning and zooming; a temporary gallery enrols her from the original photo. The real commands then run on it:
`faceatlas video --db ... --annotate` and `faceatlas anonymize --mode pixelate`, and the middle frame of each output is
saved as docs/images/video-annotated.png and docs/images/video-anonymized.png (256 colours).

    .venv/bin/python scripts/video_pictures.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import av
import cv2
import numpy as np
import skimage
from PIL import Image

from faceatlas.gallery import Gallery
from faceatlas.io.media import VideoSource

ASTRONAUT = Path(skimage.data.__file__).parent / "astronaut.png"
IMAGES = Path(__file__).resolve().parents[1] / "docs" / "images"
FACEATLAS = Path(sys.executable).with_name("faceatlas")
NAME = "Eileen Collins"
SIZE, FPS, FRAMES = (640, 360), 25, 100


def clip(path: Path) -> Path:
    """Two copies of the astronaut on a grey stage, the camera panning right and zooming in."""
    photo = cv2.imread(str(ASTRONAUT))
    second = cv2.convertScaleAbs(cv2.flip(cv2.resize(photo, (400, 400)), 1), alpha=0.8)
    stage = np.full((620, 1180, 3), 90, np.uint8)
    stage[40:552, 40:552] = photo
    stage[140:540, 700:1100] = second
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=FPS, options={"crf": "18"})
        stream.width, stream.height, stream.pix_fmt = *SIZE, "yuv420p"
        for i in range(FRAMES):
            zoom = 1 + 0.25 * i / FRAMES
            width, height = round(1180 / zoom), round(620 / zoom)
            left = round((1180 - width) * i / FRAMES)
            view = cv2.resize(stage[620 - height:, left:left + width], SIZE, interpolation=cv2.INTER_AREA)
            frame = av.VideoFrame.from_ndarray(view, format="bgr24")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def middle_frame(video: Path, target: Path) -> None:
    """The middle frame of `video` as a 256-colour PNG (small enough for the README)."""
    frames = list(VideoSource(video))
    rgb = cv2.cvtColor(frames[len(frames) // 2].bgr, cv2.COLOR_BGR2RGB)
    Image.fromarray(rgb).quantize(256).save(target, optimize=True)
    print(f"wrote {target} ({target.stat().st_size // 1024} KB)")


def main() -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work)
        source = clip(folder / "astronauts.mp4")
        gallery = Gallery(str(folder / "people.db"), index_dir=folder)
        gallery.enroll(NAME, [ASTRONAUT])
        gallery.close()
        for command in (["video", str(source), "--db", str(folder / "people.db"), "--annotate",
                         str(folder / "annotated.mp4")],
                        ["anonymize", str(source), str(folder / "anonymized.mp4"), "--mode", "pixelate"]):
            subprocess.run([str(FACEATLAS), *command], check=True)
        middle_frame(folder / "annotated.mp4", IMAGES / "video-annotated.png")
        middle_frame(folder / "anonymized.mp4", IMAGES / "video-anonymized.png")


if __name__ == "__main__":
    main()
