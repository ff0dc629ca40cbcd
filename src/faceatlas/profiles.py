"""Named analysis profiles: which detector (with which options) and which recogniser a `FaceAnalyzer` uses."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Profile(BaseModel):
    name: str
    detector: str
    detector_options: dict[str, float | int] = Field(default_factory=dict)
    recogniser: str
    description: str = ""


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in [
        Profile(name="default", detector="yunet-2023mar-int8bq", recogniser="sface-2021dec-int8bq",
                description="YuNet + SFace: fastest, no optional extras."),
        Profile(name="retinaface", detector="retinaface-mnet025", recogniser="sface-2021dec-int8bq",
                description="RetinaFace-MobileNet0.25 + SFace."),
        Profile(name="dlib", detector="yunet-2023mar-int8bq", recogniser="dlib-resnet-v1",
                description="YuNet + dlib ResNet (needs faceatlas[dlib])."),
        Profile(name="fused", detector="yunet-2023mar-int8bq", recogniser="fused-sface-dlib",
                description="YuNet + SFace and dlib ResNet fused (needs faceatlas[dlib]); the most accurate."),
        Profile(name="small-faces", detector="yunet-2023mar-int8bq", recogniser="sface-2021dec-int8bq",
                detector_options={"tile": 1280},
                description="YuNet on the whole image at 640 px plus on 1280-px tiles (native resolution; a smaller "
                            "image is enlarged to 1280): finds faces down to about 10 px in any size of photo "
                            "without losing close-ups; 5x slower than default on small images, 10-15x on 12 MP."),
    ]
}


def get_profile(name: str) -> Profile:
    if name not in PROFILES:
        raise ValueError(f"unknown profile '{name}' (known: {', '.join(PROFILES)})")
    return PROFILES[name]
