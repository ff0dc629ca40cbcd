"""The version of FaceAtlas (also `faceatlas.__version__`)."""

__version__ = "0.1.0"
