"""A photo library: incremental indexing of the faces in folders of photos (clustering and progressive labelling
build on it)."""

from faceatlas.organize.library import IndexReport, Library, LibraryError

__all__ = ["IndexReport", "Library", "LibraryError"]
