"""Attribute heads (real models on the photos scikit-image ships), the Keras-HDF5 converter against a NumPy
reference, attribute columns on `Faces`, and the attribute metrics on hand-computed fixtures."""

import io
import json

import h5py
import jsonschema
import numpy as np
import onnxruntime as ort
import pytest
from helpers import ASTRONAUT
from scipy.signal import correlate2d
from skimage import data

from faceatlas import FaceAnalyzer
from faceatlas.eval.attributes import age_metrics, class_metrics
from faceatlas.io.records import record_schema, success_record
from faceatlas.models.keras_h5 import keras_h5_to_onnx


@pytest.fixture(scope="module")
def analyzer() -> FaceAnalyzer:
    return FaceAnalyzer(heads=["age_gender", "expression"])


def test_heads_describe_the_astronaut_and_the_cameraman(analyzer):
    astronaut = analyzer.analyze(ASTRONAUT)
    a = astronaut.attributes
    assert a["gender"].tolist() == ["female"] and a["gender_confidence"][0] > 0.9
    assert a["expression"].tolist() == ["happy"] and a["expression_probabilities"].shape == (1, 7)
    assert a["expression_probabilities"].sum() == pytest.approx(1.0, abs=1e-4)
    assert 20 < a["age"][0] < 50 and a["age_std"][0] > 0  # Eileen Collins was in her late thirties
    cameraman = analyzer.analyze(np.repeat(data.camera()[:, :, None], 3, axis=2))
    assert cameraman.attributes["gender"].tolist() == ["male"]


def test_attribute_columns_index_serialise_and_validate(analyzer):
    faces = analyzer.analyze(ASTRONAUT)
    assert faces[[0]].attributes["age"].shape == (1,) and faces[faces.scores < 0].attributes["gender"].shape == (0,)
    record = success_record(str(ASTRONAUT), faces, 1.0)
    jsonschema.validate(record, record_schema())
    attributes = record["faces"][0]["attributes"]
    assert attributes["gender"] == "female" and len(attributes["expression_probabilities"]) == 7
    json.dumps(record)
    blank = analyzer.analyze(np.full((200, 200, 3), 127, np.uint8))
    assert len(blank) == 0 and blank.attributes["age"].shape == (0,)


def test_unknown_head_is_refused():
    with pytest.raises(ValueError, match="unknown attribute head"):
        FaceAnalyzer(heads=["mood_ring"])


def _keras_file(layers: list[dict], weights: dict[str, dict[str, np.ndarray]]) -> bytes:
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as h5:
        config = {"class_name": "Model", "config": {"layers": layers, "output_layers": [[layers[-1]["name"], 0, 0]]}}
        h5.attrs["model_config"] = json.dumps(config)
        group = h5.create_group("model_weights")
        for layer, tensors in weights.items():
            inner = group.create_group(layer).create_group(f"{layer}_1")
            for name, value in tensors.items():
                inner[name] = value
    return buffer.getvalue()


def _layer(kind: str, name: str, inbound: str | None, **config: object) -> dict:
    return {"class_name": kind, "name": name, "config": config,
            "inbound_nodes": [[[inbound, 0, 0, {}]]] if inbound else []}


def test_keras_h5_conversion_matches_a_numpy_reference():
    rng = np.random.default_rng(0)
    conv = rng.normal(size=(3, 3, 1, 2)).astype(np.float32)
    bias = np.array([0.1, -0.2], np.float32)
    depthwise = rng.normal(size=(3, 3, 2, 1)).astype(np.float32)
    pointwise = rng.normal(size=(1, 1, 2, 3)).astype(np.float32)
    gamma, beta = np.array([1.5, 0.5, 1.0], np.float32), np.array([0.0, 0.3, -0.1], np.float32)
    mean, variance = np.array([0.2, -0.1, 0.0], np.float32), np.array([1.0, 2.0, 0.5], np.float32)
    layers = [
        _layer("InputLayer", "input", None, batch_input_shape=[None, 7, 7, 1]),
        _layer("Conv2D", "conv", "input", strides=[1, 1], padding="valid", use_bias=True, activation="relu"),
        _layer("SeparableConv2D", "sep", "conv", strides=[1, 1], padding="same", use_bias=False,
               activation="linear"),
        _layer("BatchNormalization", "bn", "sep", epsilon=1e-3),
        _layer("GlobalAveragePooling2D", "pool", "bn"),
        _layer("Activation", "softmax", "pool", activation="softmax"),
    ]
    weights = {"conv": {"kernel:0": conv, "bias:0": bias},
               "sep": {"depthwise_kernel:0": depthwise, "pointwise_kernel:0": pointwise},
               "bn": {"gamma:0": gamma, "beta:0": beta, "moving_mean:0": mean, "moving_variance:0": variance}}
    model = keras_h5_to_onnx(_keras_file(layers, weights))
    x = rng.normal(size=(7, 7)).astype(np.float32)

    # NumPy reference, channels last as Keras computes it
    a = np.stack([correlate2d(x, conv[:, :, 0, o], mode="valid") + bias[o] for o in range(2)], axis=-1)
    a = np.maximum(a, 0)
    d = np.stack([correlate2d(a[:, :, c], depthwise[:, :, c, 0], mode="same") for c in range(2)], axis=-1)
    p = d @ pointwise[0, 0]
    b = (p - mean) / np.sqrt(variance + 1e-3) * gamma + beta
    pooled = b.mean(axis=(0, 1))
    expected = np.exp(pooled) / np.exp(pooled).sum()

    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    got = session.run(None, {"image": x[None, None]})[0][0]
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_keras_h5_conversion_refuses_unknown_layers():
    layers = [_layer("InputLayer", "input", None, batch_input_shape=[None, 4, 4, 1]),
              _layer("LSTM", "lstm", "input")]
    with pytest.raises(ValueError, match="LSTM"):
        keras_h5_to_onnx(_keras_file(layers, {}))


def test_age_metrics_by_band_and_class_metrics():
    truth = np.array([1.0, 2.0, 35.0, 75.0])
    predicted = np.array([2.0, 2.0, 30.0, 60.0])
    m = age_metrics(truth, predicted, np.array([1.0, 1.0, 3.0, 8.0]))
    assert m["mae"] == pytest.approx((1 + 0 + 5 + 15) / 4)
    bands = {b["from"]: b for b in m["by_band"]}
    assert bands[0]["faces"] == 2 and bands[0]["mae"] == pytest.approx(0.5) and bands[0]["bias"] == pytest.approx(0.5)
    assert bands[70]["mae"] == 15 and bands[70]["to"] is None and bands[10]["mae"] is None
    c = class_metrics(["happy", "sad", "sad"], ["happy", "happy", "sad"], ["happy", "sad"])
    assert c["accuracy"] == pytest.approx(2 / 3) and c["confusion"] == [[1, 0], [1, 1]]
    assert c["per_class_accuracy"] == {"happy": 1.0, "sad": 0.5}


def test_quality_falls_with_blur_and_low_resolution():
    import cv2

    analyzer = FaceAnalyzer(heads=["quality"])
    sharp = cv2.imread(str(ASTRONAUT))
    blurred = cv2.GaussianBlur(sharp, (0, 0), 8)  # at 4 px the face still matches its sharp self: quality 0.7
    tiny = cv2.resize(cv2.resize(sharp, (64, 64)), (512, 512))
    scores = [float(analyzer.analyze(image).attributes["quality"][0]) for image in (sharp, blurred, tiny)]
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert scores[0] > 0.5 and scores[1] < scores[0] - 0.2 and scores[2] < scores[0] - 0.2


def test_quality_reads_the_recognisers_norm_and_falls_back_to_image_signals():
    """The quality head's strongest signal is SFace's output norm: the pipeline embeds for it even when embeddings
    are not asked for (and does not return them); faces without a norm of SFace get the image-only model."""
    import cv2

    from faceatlas.quality.features import quality_features
    from faceatlas.quality.head import quality_scores

    analyzer = FaceAnalyzer(heads=["quality"])
    described = analyzer.analyze(ASTRONAUT, embed=False)
    assert described.embeddings is None and described.embedding_norms is None
    embedded = analyzer.analyze(ASTRONAUT)
    assert embedded.embedding_norms[0] > 10 and float(embedded.quality[0]) == pytest.approx(described.quality[0])
    bgr = cv2.imread(str(ASTRONAUT))
    features = quality_features(bgr, embedded)
    image_only = quality_scores(features)
    assert image_only[0] != pytest.approx(embedded.quality[0]) and 0.5 < image_only[0] <= 1
    assert quality_scores(features, embedded.embedding_norms, "dlib-resnet-v1")[0] == image_only[0]  # not its norm
    low = quality_scores(features, np.array([4.0], np.float32), embedded.embedding_model)  # a dark or tiny face's
    assert low[0] < 0.1


def test_verify_answers_insufficient_quality_below_the_gate():
    import cv2

    analyzer = FaceAnalyzer()
    sharp = cv2.imread(str(ASTRONAUT))
    blurred = cv2.GaussianBlur(sharp, (0, 0), 8)  # no longer matches: similarity -0.03 at a threshold of 0.37
    plain = analyzer.verify(sharp, sharp[:, ::-1].copy(), fmr=1e-3)
    assert plain.decision == "same" and plain.quality is None
    gated = analyzer.verify(sharp, blurred, fmr=1e-3, min_quality=0.5)
    assert gated.insufficient_quality and not gated.same and gated.decision == "insufficient_quality"
    assert gated.quality[0] > 0.5 > gated.quality[1]
    assert gated.to_dict()["decision"] == "insufficient_quality"
    passed = analyzer.verify(sharp, sharp[:, ::-1].copy(), fmr=1e-3, min_quality=0.5)
    assert passed.decision == "same" and min(passed.quality) >= 0.5


def test_error_versus_reject_on_a_hand_made_set():
    from faceatlas.eval.quality import error_versus_reject, recognisability

    # person A: images 0 and 1 match well; image 2 (A, low quality) matches nobody; person B: images 3 and 4
    e = np.array([[1, 0], [1, 0], [0, 1], [0.6, 0.8], [0.6, 0.8]], float)
    e /= np.linalg.norm(e, axis=1, keepdims=True)
    labels = ["A", "A", "A", "B", "B"]
    quality = np.array([0.9, 0.8, 0.1, 0.7, 0.6])
    rows = error_versus_reject(e, labels, quality, threshold=0.9, fractions=(0.0, 0.2))
    assert rows[0]["genuine_pairs"] == 4 and rows[0]["fnmr"] == pytest.approx(0.5)  # 0-2 and 1-2 fail
    assert rows[1]["genuine_pairs"] == 2 and rows[1]["fnmr"] == 0.0  # rejecting image 2 removes both failures
    target = recognisability(e, labels)
    assert target[2] == pytest.approx(0.0) and target[0] == pytest.approx(0.5)


def test_landmark_nme_loader_and_metrics(tmp_path):
    from faceatlas.eval.landmarks import landmark_metrics, load_landmarks, nme

    annotations = tmp_path / "testing.txt"
    annotations.write_text("AFLW\\\\a.jpg 10 30 20 12 28 10 10 20 30 30 1 2 2 3\n"
                           "AFLW\\\\b.jpg 10 30 20 12 28 10 10 20 30 30 2 2 2 1\n")
    truth = load_landmarks(annotations)
    assert truth.paths[0] == tmp_path / "AFLW" / "a.jpg" and truth.pose_bin == [3, 1]
    assert truth.points[0].tolist() == [[10, 10], [30, 10], [20, 20], [12, 30], [28, 30]]
    predicted = truth.points.copy()
    predicted[1, 2] += [4, 0]  # nose off by 4 px; inter-ocular distance 20 -> 0.2 on that point
    errors = nme(predicted, truth.points)
    assert errors[1, 2] == pytest.approx(0.2) and errors[0].sum() == 0
    m = landmark_metrics(errors, truth.pose_bin)
    assert m["nme"] == pytest.approx(0.02) and m["failure_rate"] == 0.0
    assert m["by_pose_bin"] == {"1": {"faces": 1, "nme": pytest.approx(0.04)}, "3": {"faces": 1, "nme": 0.0}}
    assert m["per_point"]["nose"] == pytest.approx(0.1)
