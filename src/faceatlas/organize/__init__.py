"""A photo library: the faces in folders of photos, indexed incrementally, clustered into people and named
progressively."""

from faceatlas.organize.labelling import ClusterReport, LabellingError, ReviewItem
from faceatlas.organize.library import IndexReport, Library, LibraryError

__all__ = ["ClusterReport", "IndexReport", "LabellingError", "Library", "LibraryError", "ReviewItem"]
