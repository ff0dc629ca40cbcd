import numpy as np
from helpers import ASTRONAUT

from faceatlas import FaceAnalyzer
from faceatlas.eval.embedding import embed_centre_faces


def test_centre_faces_with_a_cache_and_a_failure(tmp_path):
    good = tmp_path / "a.png"
    good.write_bytes(ASTRONAUT.read_bytes())
    bad = tmp_path / "b.png"
    bad.write_bytes(b"not an image")
    analyzer = FaceAnalyzer(profile="fast")
    first = embed_centre_faces(analyzer, [good, bad], cache_dir=tmp_path / "cache")
    assert first.found.tolist() == [True, False] and "ImageDecodeError" in first.failures[str(bad)]
    assert len(list((tmp_path / "cache").glob("embeddings-*.json"))) == 1
    good.write_bytes(b"")  # a changed file is embedded again, not served from the cache
    second = embed_centre_faces(analyzer, [good, bad], cache_dir=tmp_path / "cache")
    assert second.found.tolist() == [False, False]
    good.write_bytes(ASTRONAUT.read_bytes())
    third = embed_centre_faces(analyzer, [good], cache_dir=tmp_path / "cache")
    np.testing.assert_allclose(third.embeddings, first.embeddings[:1], atol=1e-6)
