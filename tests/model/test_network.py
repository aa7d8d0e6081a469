"""Model building, prediction on images, safe model files, data sets and evaluation."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch

from poselab.model import (
    DataError,
    LabeledImages,
    ModelError,
    create_model,
    evaluate,
    load_model,
    plot_predictions,
    read_card,
)
from poselab.model.network import flip_pairs_from_names


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return create_model("tf_efficientnet_lite0", ["snout", "leftear", "rightear", "tailbase"],
                        pretrained=False, head_channels=32)


@pytest.mark.parametrize("stride", [4, 8])
def test_network_output_shapes(stride):
    m = create_model(parts=["a", "b"], stride=stride, pretrained=False, head_channels=16)
    scoremaps, locref = m.net.eval()(torch.zeros(2, 3, 64, 96))
    assert scoremaps.shape == (2, 2, 64 // stride, 96 // stride)
    assert locref.shape == (2, 2, 2, 64 // stride, 96 // stride)
    assert m.card["backbone"] == "tf_efficientnet_lite0" and m.card["mean"] == [0.5, 0.5, 0.5]


def test_predict_returns_image_pixels_for_any_size(model):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (3, 70, 100, 3), dtype=np.uint8)  # padded to 96 x 128 inside
    xy, lik = model.predict(images, batch_size=2)
    assert xy.shape == (3, 4, 2) and lik.shape == (3, 4)
    assert np.all((xy[..., 0] >= -8) & (xy[..., 0] < 108) & (xy[..., 1] >= -8) & (xy[..., 1] < 78))
    assert np.all((lik >= 0) & (lik <= 1))
    # a list of differently sized images works too and agrees image by image
    xy2, _ = model.predict([images[0], images[1, :64, :64]])
    np.testing.assert_allclose(xy2[0], xy[0], atol=1e-4)
    with pytest.raises(ModelError, match="uint8"):
        model.predict(images.astype(np.float32))


def test_scale_maps_back_to_image_pixels():
    m = create_model(parts=["a"], pretrained=False, scale=0.5, head_channels=16)
    pts = np.array([[0.0, 0.0], [10.0, 21.0]])
    np.testing.assert_allclose(m.to_image_pixels(m.to_network_pixels(pts)), pts)
    np.testing.assert_allclose(m.to_network_pixels(pts)[1], [4.75, 10.25])


def test_model_file_round_trip_without_pickle(model, tmp_path):
    model.card["data_hash"] = "abc"
    path = model.save(tmp_path / "mouse")
    assert path.name == "mouse.safetensors"
    # the header is plain JSON: the card is readable without torch
    raw = path.read_bytes()
    header = json.loads(raw[8 : 8 + int.from_bytes(raw[:8], "little")])
    card = json.loads(header["__metadata__"]["poselab_model_card"])
    assert card == read_card(path) and card["parts"] == model.parts and card["data_hash"] == "abc"
    again = load_model(path)
    for (k, a), (_, b) in zip(model.net.state_dict().items(), again.net.state_dict().items()):
        assert torch.equal(a, b), k
    img = np.random.default_rng(1).integers(0, 255, (2, 64, 64, 3), dtype=np.uint8)
    np.testing.assert_array_equal(model.predict(img)[0], again.predict(img)[0])
    (tmp_path / "bad.safetensors").write_bytes(b"\x02\x00\x00\x00\x00\x00\x00\x00{}")
    with pytest.raises(ModelError, match="not a poselab model"):
        load_model(tmp_path / "bad.safetensors")


def test_create_model_validates():
    with pytest.raises(ModelError, match="distinct"):
        create_model(parts=["a", "a"])
    with pytest.raises(ModelError, match="stride"):
        create_model(parts=["a"], stride=16)
    with pytest.raises(ModelError, match="multiples of 32"):
        create_model(parts=["a"], input_size=100)
    assert flip_pairs_from_names(["nose", "leftear", "rightear", "left_paw", "right_paw", "tail"]) == [
        (1, 2), (3, 4)]
    assert flip_pairs_from_names(["ear_l", "ear_r", "l_hand", "r_hand"]) == [(0, 1), (2, 3)]


def test_labeled_images_from_label_store(tmp_path):
    from poselab.project.labels import ImageRecord, LabelStore

    rng = np.random.default_rng(0)
    (tmp_path / "labeled-data").mkdir()
    store = LabelStore(tmp_path / "labels.sqlite", ["nose", "tail"])
    truth = {}
    for i in range(6):
        name = f"labeled-data/img{i}.png"
        cv2.imwrite(str(tmp_path / name), rng.integers(0, 255, (40, 50, 3), dtype=np.uint8))
        store.add_images([ImageRecord(name, width=50, height=40)])
        if i == 5:
            continue  # an image without labels is dropped
        store.set_point(name, "nose", 10.0 + i, 20.0)
        truth[name] = [[10.0 + i, 20.0], [np.nan, np.nan]]
        if i % 2 == 0:
            store.set_point(name, "tail", 30.0, 5.5 + i)
            truth[name][1] = [30.0, 5.5 + i]
    data = LabeledImages.from_label_dataset(store.to_dataset(), tmp_path)
    store.close()
    assert data.parts == ["nose", "tail"] and data.names == list(truth)
    np.testing.assert_array_equal(data.keypoints, np.array(list(truth.values())))
    assert data.image(0).shape == (40, 50, 3)
    a_train, a_test = data.split(0.4, seed=3)
    b_train, b_test = data.split(0.4, seed=3)
    assert a_test.names == b_test.names and len(a_test) == 2 and len(a_train) == 3
    assert set(a_train.names) | set(a_test.names) == set(data.names)
    assert data.split(0.4, seed=4)[1].names != a_test.names or data.split(0.4, seed=5)[1].names != a_test.names
    with pytest.raises(DataError, match="keypoints must be"):
        LabeledImages([np.zeros((4, 4, 3), np.uint8)], np.zeros((2, 2, 2)), ["a", "b"])


class _Fixed:
    """Stands in for a model whose predictions are known (evaluate only calls predict)."""

    parts = ["a", "b"]

    def __init__(self, xy, lik):
        self.xy, self.lik = xy, lik

    def predict(self, images, batch_size=8):
        return self.xy, self.lik


def test_evaluate_metrics_are_exact():
    keypoints = np.array([[[10.0, 10.0], [20.0, 20.0]], [[30.0, 30.0], [np.nan, np.nan]]])
    data = LabeledImages([np.zeros((50, 50, 3), np.uint8)] * 2, keypoints, ["a", "b"])
    xy = keypoints + np.array([[[3.0, 4.0], [0.0, 1.0]], [[0.0, 12.0], [5.0, 5.0]]])
    lik = np.array([[0.9, 0.9], [0.1, 0.9]])
    result = evaluate(_Fixed(xy, lik), data, cutoff=0.5, thresholds=(2, 5, 10))
    assert result["rmse_px"] == pytest.approx(np.sqrt((25 + 1 + 144) / 3))
    assert result["rmse_px_cutoff"] == pytest.approx(np.sqrt(13))
    assert result["per_part"] == {"a": pytest.approx(np.sqrt((25 + 144) / 2)), "b": pytest.approx(1.0)}
    assert result["pck"] == {2.0: pytest.approx(1 / 3), 5.0: pytest.approx(2 / 3), 10.0: pytest.approx(2 / 3)}
    assert result["kept_fraction"] == pytest.approx(2 / 3) and result["n_points"] == 3
    fig = plot_predictions(_Fixed(xy, lik), data)
    assert len(fig.axes) >= 2


def test_flip_test_is_mirror_symmetric(model):
    """With flip averaging, mirroring the image mirrors the prediction and swaps the ears."""
    rng = np.random.default_rng(2)
    img = rng.integers(0, 255, (2, 64, 96, 3), dtype=np.uint8)
    xy, lik = model.predict(img, flip_test=True)
    xy_m, lik_m = model.predict(np.ascontiguousarray(img[:, :, ::-1]), flip_test=True)
    perm = [0, 2, 1, 3]  # leftear <-> rightear
    mirrored = np.stack([95 - xy_m[:, perm, 0], xy_m[:, perm, 1]], axis=-1)
    np.testing.assert_allclose(mirrored, xy, atol=1e-3)
    np.testing.assert_allclose(lik_m[:, perm], lik, atol=1e-5)
    plain, _ = model.predict(img)
    assert not np.allclose(plain, xy, atol=1e-3)  # the averaging changes the answer
