"""A photo library: the faces in folders of photos, indexed incrementally, clustered into people and named
progressively."""

from faceatlas.errors import LabellingError, LibraryError
from faceatlas.gallery.hooks import MERGE_HOOKS
from faceatlas.organize.library import Library
from faceatlas.organize.merging import merge_person_clusters
from faceatlas.organize.results import ClusterReport, IndexReport, ReviewItem

MERGE_HOOKS.register("library")(merge_person_clusters)  # also declared as an entry point (pyproject.toml)

__all__ = ["ClusterReport", "IndexReport", "LabellingError", "Library", "LibraryError", "ReviewItem"]
