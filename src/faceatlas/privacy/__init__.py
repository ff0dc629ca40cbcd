"""Privacy: hiding faces in photos (blur, pixelate, solid box, ellipse mask), the output re-encoded without metadata."""

from __future__ import annotations

from faceatlas.privacy.images import AnonymizedImage, anonymize_image, recall_analyzer, write_anonymized
from faceatlas.privacy.masking import ENLARGE, MODES, enlarged_boxes, hide_faces

__all__ = ["ENLARGE", "MODES", "AnonymizedImage", "anonymize_image", "enlarged_boxes", "hide_faces",
           "recall_analyzer", "write_anonymized"]
