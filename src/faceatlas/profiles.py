"""Named analysis profiles: which detector (with which options) and which recogniser a `FaceAnalyzer` uses."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Profile(BaseModel):
    name: str
    detector: str
    detector_options: dict[str, float | int] = Field(default_factory=dict)
    recogniser: str
    refiner: str | None = None  # a second detector whose landmarks on each face crop are averaged in
    flip: bool = False  # embed each face and its mirror image, and add the two
    description: str = ""


ACCURATE = {"refiner": "retinaface-mnet025", "flip": True}
"""YuNet's five points averaged with RetinaFace's on each face crop, and mirrored-crop embeddings: on all LFW View 1
pairs, SFace's FNMR at FMR 1e-3 falls from 0.88 % to 0.66 % (see README, "Measured figures")."""

PROFILES: dict[str, Profile] = {
    p.name: p
    for p in [
        Profile(name="default", detector="yunet-2023mar-int8bq", recogniser="sface-2021dec-int8bq", **ACCURATE,
                description="YuNet + RetinaFace landmark refinement + SFace with flip: accurate, no extras."),
        Profile(name="fast", detector="yunet-2023mar-int8bq", recogniser="sface-2021dec-int8bq",
                description="YuNet + SFace, one pass each: the work of OpenCV's FaceDetectorYN + FaceRecognizerSF."),
        Profile(name="retinaface", detector="retinaface-mnet025", recogniser="sface-2021dec-int8bq", flip=True,
                description="RetinaFace-MobileNet0.25 + SFace with flip."),
        Profile(name="dlib", detector="yunet-2023mar-int8bq", recogniser="dlib-resnet-v1",
                description="YuNet + dlib ResNet (needs faceatlas[dlib])."),
        Profile(name="fused", detector="yunet-2023mar-int8bq", recogniser="fused-sface-dlib", **ACCURATE,
                description="The default profile's SFace fused with dlib ResNet (needs faceatlas[dlib])."),
        Profile(name="small-faces", detector="yunet-2023mar-int8bq", recogniser="sface-2021dec-int8bq", **ACCURATE,
                detector_options={"tile": 1280},
                description="The default profile with YuNet also run on 1280-px tiles (native resolution; a smaller "
                            "image is enlarged to 1280): finds faces down to about 10 px in any size of photo "
                            "without losing close-ups; 5x slower than default on small images, 10-15x on 12 MP."),
    ]
}


def get_profile(name: str) -> Profile:
    if name not in PROFILES:
        raise ValueError(f"unknown profile '{name}' (known: {', '.join(PROFILES)})")
    return PROFILES[name]
