"""Galleries of enrolled people: the store (SQLAlchemy), derived vector indexes, calibrated 1:N decisions, erasure."""

from faceatlas.gallery.gallery import Candidate, EnrollReport, Gallery, GalleryError, Identification

__all__ = ["Candidate", "EnrollReport", "Gallery", "GalleryError", "Identification"]
