import json

import numpy as np
import pytest

from faceatlas.types import Faces


def make_faces(n: int = 3) -> Faces:
    boxes = np.array([[10 * i, 0, 10 * i + 8, 8] for i in range(n)], np.float32)
    return Faces(boxes=boxes, scores=np.linspace(0.5, 0.9, n).astype(np.float32),
                 landmarks5=np.arange(n * 10, dtype=np.float32).reshape(n, 5, 2), image_size=(100, 50),
                 embeddings=np.eye(n, 4, dtype=np.float32), embedding_model="m")


def test_indexing_keeps_columns_together():
    faces = make_faces()
    subset = faces[faces.scores > 0.6]
    assert len(subset) == 2
    np.testing.assert_array_equal(subset.boxes[:, 0], [10, 20])
    np.testing.assert_array_equal(subset.embeddings, np.eye(3, 4)[1:])
    assert faces[1].boxes.shape == (1, 4) and faces[1].landmarks5.shape == (1, 5, 2)
    assert faces[[2, 0]].scores.tolist() == pytest.approx([0.9, 0.5])


def test_empty_faces_have_correct_shapes():
    empty = Faces.empty((640, 480))
    assert len(empty) == 0 and empty.boxes.shape == (0, 4) and empty.landmarks5.shape == (0, 5, 2)
    assert empty.nearest_centre() is empty
    assert empty.to_dict()["faces"] == []


def test_inconsistent_columns_are_refused():
    with pytest.raises(ValueError, match="inconsistent"):
        Faces(boxes=np.zeros((2, 4)), scores=np.zeros(3), landmarks5=np.zeros((2, 5, 2)), image_size=(1, 1))


def test_nearest_centre_picks_the_central_box():
    boxes = np.array([[0, 0, 10, 10], [45, 20, 55, 30], [90, 40, 100, 50]], np.float32)
    faces = Faces(boxes=boxes, scores=np.ones(3, np.float32), landmarks5=np.zeros((3, 5, 2), np.float32),
                  image_size=(100, 50))
    assert faces.nearest_centre().boxes.tolist() == [[45, 20, 55, 30]]


def test_to_dict_is_json_ready():
    record = json.loads(json.dumps(make_faces().to_dict()))
    assert record["image_size"] == [100, 50]
    assert len(record["faces"]) == 3 and len(record["faces"][0]["landmarks5"]) == 5
    assert record["faces"][1]["embedding"] == [0.0, 1.0, 0.0, 0.0]


def test_renamed_and_retyped_api_keeps_working_with_a_warning():
    from faceatlas.gallery.results import IndexCheck
    from faceatlas.types import Verification

    faces = Faces(boxes=np.array([[0, 0, 10, 10], [45, 20, 55, 30]], np.float32), scores=np.ones(2, np.float32),
                  landmarks5=np.zeros((2, 5, 2), np.float32), image_size=(100, 50))
    with pytest.warns(DeprecationWarning, match="nearest_centre"):
        assert faces.nearest_to_centre().boxes.tolist() == faces.nearest_centre().boxes.tolist()
    check = IndexCheck(samples=3, index_entries=3, self_recall_at_10=1.0, ok=True)
    with pytest.warns(DeprecationWarning, match=r"\.ok"):
        assert check["ok"] is True
    with pytest.warns(DeprecationWarning):
        assert "ok" in check and check.get("missing", 3) == 3 and set(check.keys()) >= {"ok", "samples"}
    verdict = Verification(score=0.9, same=True, threshold=0.4, fmr=1e-4, model="m", name="alice", samples=2)
    assert verdict.to_dict()["name"] == "alice" and verdict.decision == "same"


def test_subject_rules_pick_one_face_or_say_why_not():
    from faceatlas.errors import AmbiguousFaceError, NoFaceError

    faces = Faces(boxes=np.array([[0, 0, 10, 10], [38, 13, 62, 37], [70, 0, 100, 30]], np.float32),
                  scores=np.ones(3, np.float32), landmarks5=np.zeros((3, 5, 2), np.float32), image_size=(100, 50))
    assert faces.subject("largest").boxes.tolist() == [[70, 0, 100, 30]]
    assert faces.subject("centre").boxes.tolist() == [[38, 13, 62, 37]]
    assert faces.subject([39, 14, 61, 36]).boxes.tolist() == [[38, 13, 62, 37]]
    with pytest.raises(AmbiguousFaceError, match=r"2 faces could each be the subject \(boxes \[38,13,62,37\], "
                                                 r"\[70,0,100,30\]\).*--subject"):
        faces.subject("alone")  # 576 px² at the centre beside 900 off it: a rival
    assert faces[[0, 2]].subject("alone").boxes.tolist() == [[70, 0, 100, 30]]  # 100 px² beside 900: alone
    corner = Faces(boxes=np.array([[0, 0, 30, 30], [35, 10, 65, 40]], np.float32), scores=np.ones(2, np.float32),
                   landmarks5=np.zeros((2, 5, 2), np.float32), image_size=(100, 50))
    assert corner.subject("alone").boxes.tolist() == [[35, 10, 65, 40]]  # the same size, but one is in the corner
    unsure = Faces(boxes=np.array([[35, 10, 65, 40], [70, 10, 100, 40]], np.float32),
                   scores=np.array([0.95, 0.62], np.float32), landmarks5=np.zeros((2, 5, 2), np.float32),
                   image_size=(100, 50))
    assert unsure.subject("alone").boxes.tolist() == [[35, 10, 65, 40]]  # a doubtful detection beside a sure one
    with pytest.raises(NoFaceError, match="no face found"):
        faces[[]].subject("largest")
    with pytest.raises(NoFaceError, match="no face at the given box"):
        faces.subject([0, 40, 5, 50])
    assert faces.holding((50, 25)).boxes.tolist() == [[38, 13, 62, 37]] and len(faces.holding((30, 45))) == 0


def test_a_value_below_a_gate_is_never_printed_as_the_gate():
    from faceatlas.results import below

    assert below(0.4996, 0.5) == "0.4996 below the gate 0.5"  # "0.500 below the gate 0.500" was the complaint
    assert below(0.2, 0.5) == "0.200 below the gate 0.5" and below(0.29999999, 0.3).startswith("0.29999999")


def test_faces_come_back_from_their_json_record():
    faces = Faces(boxes=np.array([[1, 2, 30, 40]], np.float32), scores=np.array([0.9], np.float32),
                  landmarks5=np.arange(10, dtype=np.float32).reshape(1, 5, 2), image_size=(64, 48),
                  embeddings=np.array([[0.6, 0.8]], np.float32), embedding_model="m")
    faces = faces.with_attributes({"age": np.array([31.0]), "expression_probabilities": np.array([[0.25, 0.75]])},
                                  {"expression_probabilities": ("sad", "happy")})
    back = Faces.from_dict(faces.to_dict())
    assert back.boxes.tolist() == faces.boxes.tolist() and back.image_size == (64, 48)
    assert back.landmarks5.tolist() == faces.landmarks5.tolist()
    np.testing.assert_allclose(back.embeddings, faces.embeddings, atol=1e-6)  # JSON rounds to 6 decimals
    assert back.attributes["age"].tolist() == [31.0] and back.labels == {"expression_probabilities": ("sad", "happy")}
    assert back.to_dict() == faces.to_dict()
