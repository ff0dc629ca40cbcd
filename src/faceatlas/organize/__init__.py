"""A photo library: the faces in folders of photos, indexed incrementally, clustered into people and named
progressively."""

from faceatlas.errors import LabellingError, LibraryError
from faceatlas.organize.library import Library
from faceatlas.organize.results import ClusterReport, IndexReport, ReviewItem

__all__ = ["ClusterReport", "IndexReport", "LabellingError", "Library", "LibraryError", "ReviewItem"]
