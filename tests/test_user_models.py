"""Bring your own ONNX model: register a card file, then use it like a bundled model."""

import json
from pathlib import Path

import numpy as np
import pytest
from helpers import ASTRONAUT, data_path

from faceatlas import FaceAnalyzer
from faceatlas.errors import ModelUnavailableError
from faceatlas.models import get_card, list_cards, register_card
from faceatlas.models.registry import remove_user_card
from faceatlas.models.store import resolve, sha256_file


def write_card(folder: Path, **fields) -> Path:
    path = folder / f"{fields['id']}.json"
    path.write_text(json.dumps(fields))
    return path


def test_register_a_third_party_yunet_detector(isolated_home, tmp_path):
    onnx_file = data_path("models", "yunet", "face_detection_yunet_2026may.onnx")
    card_file = write_card(tmp_path, id="my-yunet", task="detect", architecture="yunet", licence="MIT",
                           source={"path": str(onnx_file)}, sha256=sha256_file(onnx_file))
    card = register_card(card_file)
    assert get_card("my-yunet").source.path == onnx_file
    faces = FaceAnalyzer(profile="fast", detector=card.id).analyze(ASTRONAUT, embed=False)
    reference = FaceAnalyzer(profile="fast").analyze(ASTRONAUT, embed=False)
    assert len(faces) == 1 and faces.detector == "my-yunet"
    assert np.abs(faces.boxes - reference.boxes).max() < 10  # another YuNet build: the same face, within pixels
    remove_user_card("my-yunet")
    assert "my-yunet" not in [c.id for c in list_cards()]


def test_register_an_arcface_style_recogniser(isolated_home, tmp_path):
    """A user's 112x112 ArcFace-aligned ONNX recogniser (here: the SFace file itself) embeds like the bundled one."""
    sface = resolve(get_card("sface-2021dec-int8bq"))
    card_file = write_card(tmp_path, id="my-arcface", task="recognise", architecture="arcface", licence="Apache-2.0",
                           source={"path": str(sface)}, embedding_dim=128,
                           input_spec={"color": "RGB", "mean": 0.0, "std": 1.0})
    register_card(card_file)
    mine = FaceAnalyzer(profile="fast", recogniser="my-arcface").analyze(ASTRONAUT)
    bundled = FaceAnalyzer(profile="fast").analyze(ASTRONAUT)
    assert mine.embedding_model == "my-arcface"
    assert float(mine.embeddings[0] @ bundled.embeddings[0]) == pytest.approx(1.0, abs=1e-5)


def test_bad_user_cards_are_refused(isolated_home, tmp_path):
    with pytest.raises(ModelUnavailableError, match=r"source\.path"):
        register_card(write_card(tmp_path, id="nofile", task="detect", architecture="yunet", licence="x"))
    with pytest.raises(ModelUnavailableError, match="bundled model id"):
        register_card(write_card(tmp_path, id="sface-2021dec-int8bq", task="recognise", architecture="sface",
                                 licence="x", source={"path": str(tmp_path / "x.onnx")}))
