"""Galleries of enrolled people: the store (SQLAlchemy), derived vector indexes, calibrated 1:N decisions, erasure."""

from faceatlas.errors import GalleryError
from faceatlas.gallery.gallery import Gallery
from faceatlas.gallery.results import Candidate, EnrollReport, Identification, Refusal

__all__ = ["Candidate", "EnrollReport", "Gallery", "GalleryError", "Identification", "Refusal"]
