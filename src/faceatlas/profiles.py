"""Named analysis profiles: which detector (with which options) and which recogniser a `FaceAnalyzer` uses."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Profile(BaseModel):
    name: str
    detector: str
    detector_options: dict[str, float | int] = Field(default_factory=dict)
    recogniser: str
    refiner: str | None = None  # a second detector whose landmarks on each face crop are averaged in
    confirm_below: float = 0.0  # with a refiner: a face the detector scores lower is kept only if the refiner finds it
    flip: bool = False  # embed each face and its mirror image, and add the two
    description: str = ""


ACCURATE = {"refiner": "retinaface-mnet025", "flip": True, "confirm_below": 0.8}
"""YuNet's five points averaged with RetinaFace's on each face crop, and mirrored-crop embeddings: on all LFW View 1
pairs, SFace's FNMR at FMR 1e-3 falls from 0.88 % to 0.66 % (see README, "Measured figures"). A face YuNet scores
under 0.8 is kept only if RetinaFace finds it too (on its crop, or in the whole picture): false detections on 318
face-free pictures fell from 178 to 25 (`benchmarks/false_detections.py`)."""

SMALL_FACES = {"detector_options": {"min_face": 40}}
"""Faces of 40 pixels and more are found in photos of any size (a 50 MP photo in 0.7 s median, 1.4 s at most, on 2
cores, `benchmarks/small_faces.py`): a photo longer than 1280 pixels also gets YuNet on 2560-pixel tiles at half
resolution (see `detect.create_detector`)."""

PROFILES: dict[str, Profile] = {
    p.name: p
    for p in [
        Profile(name="default", detector="yunet-2023mar-int8bq", recogniser="sface-2021dec-int8bq", **ACCURATE,
                **SMALL_FACES, description="YuNet + RetinaFace landmark refinement + SFace with flip: accurate; "
                                           "faces from 40 px in photos of any size."),
        Profile(name="fast", detector="yunet-2023mar-int8bq", recogniser="sface-2021dec-int8bq",
                description="YuNet + SFace, one pass each: the work of OpenCV's FaceDetectorYN + FaceRecognizerSF."),
        Profile(name="retinaface", detector="retinaface-mnet025", recogniser="sface-2021dec-int8bq", flip=True,
                description="RetinaFace-MobileNet0.25 + SFace with flip."),
        Profile(name="dlib", detector="yunet-2023mar-int8bq", recogniser="dlib-resnet-v1", **SMALL_FACES,
                description="YuNet + dlib ResNet (needs faceatlas[dlib])."),
        Profile(name="fused", detector="yunet-2023mar-int8bq", recogniser="fused-sface-dlib", **ACCURATE,
                **SMALL_FACES,
                description="The default profile's SFace fused with dlib ResNet (needs faceatlas[dlib])."),
        Profile(name="research", detector="yunet-2023mar-int8bq", recogniser="arcface-w600k-mbf", **ACCURATE,
                **SMALL_FACES, description="The default front end + InsightFace's w600k MobileFaceNet (ArcFace, "
                                           "512-d). Non-commercial research only: needs `faceatlas models "
                                           "accept-licence insightface-non-commercial`."),
        Profile(name="research-scrfd", detector="scrfd-500m-bnkps", recogniser="arcface-w600k-mbf", flip=True,
                description="InsightFace's buffalo_s detector and recogniser: SCRFD-500M + w600k MobileFaceNet with "
                            "flip. Non-commercial research only."),
        Profile(name="research-fused", detector="yunet-2023mar-int8bq", recogniser="fused-sface-w600k", **ACCURATE,
                **SMALL_FACES, description="The default profile's SFace fused with w600k MobileFaceNet at score "
                                           "level. Non-commercial research only."),
        Profile(name="small-faces", detector="yunet-2023mar-int8bq", recogniser="sface-2021dec-int8bq", **ACCURATE,
                detector_options={"tile": 1280},
                description="The default profile with YuNet also run on 1280-px tiles (native resolution; a smaller "
                            "image is enlarged to 1280): an exhaustive search for faces down to about 10 px in any "
                            "size of photo; 5x slower than default on small images, 2-4x on 12-50 MP photos."),
    ]
}


def get_profile(name: str) -> Profile:
    if name not in PROFILES:
        raise ValueError(f"unknown profile '{name}' (known: {', '.join(PROFILES)})")
    return PROFILES[name]
