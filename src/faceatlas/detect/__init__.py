"""Face detectors: each finds boxes, scores and five landmarks and returns a `Faces`."""

from faceatlas.detect.base import Detector, create_detector

__all__ = ["Detector", "create_detector"]
