"""Several views of the same body points: finding them by name, the subspace they share, and
decoding each body point so that its views agree (poselab.model.views)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from poselab.model import LabeledImages, TrainConfig, create_model, load_model, train
from poselab.model.decode import decode_candidates
from poselab.model.views import MultiView, find_views, fit_multiview

MIRROR_PARTS = ["paw1LH_top", "paw2LF_top", "paw3RF_top", "paw4RH_top", "nose_top", "obs_top",
                "paw1LH_bot", "paw2LF_bot", "paw3RF_bot", "paw4RH_bot", "nose_bot", "obsHigh_bot"]


def test_find_views_pairs_the_same_point_in_each_view():
    views, groups = find_views(MIRROR_PARTS)
    assert views == ["top", "bot"]
    assert groups == [[0, 6], [1, 7], [2, 8], [3, 9], [4, 10]]  # obstacles: one view each


@pytest.mark.parametrize("parts", [
    ["snout", "leftear", "rightear", "tailbase"],
    ["left_ear", "right_ear", "nose"],  # "ear" is carried by two points only
    ["a_top", "b_top", "a_bot", "b_bot"],  # two points per view are too few
])
def test_find_views_needs_two_views_of_three_points(parts):
    assert find_views(parts) == ([], [])


def _two_camera_labels(n: int, seed: int, noise: float = 0.0) -> np.ndarray:
    """Five 3-D points per frame seen by two affine cameras, as (n, 10, 2) keypoints."""
    rng = np.random.default_rng(seed)
    points = rng.uniform(-40, 40, (n, 5, 3)) + rng.uniform(-60, 60, (n, 1, 3))
    side = np.array([[1.0, 0.0, 0.1], [0.0, 0.2, 1.0]])  # x, z mostly
    below = np.array([[0.95, 0.05, 0.0], [0.0, 1.0, 0.15]])  # x, y mostly
    top = points @ side.T + [200, 150]
    bottom = points @ below.T + [210, 380]
    kp = np.concatenate([top, bottom], axis=1)
    return kp + rng.normal(0, noise, kp.shape)


TWO_VIEW_PARTS = [f"p{i}_top" for i in range(5)] + [f"p{i}_bot" for i in range(5)]


def test_fit_finds_the_subspace_of_two_affine_cameras():
    views = fit_multiview(_two_camera_labels(40, seed=0), TWO_VIEW_PARTS)
    assert views is not None and views.groups == [[i, i + 5] for i in range(5)]
    held_out = _two_camera_labels(10, seed=1)
    stacked = np.concatenate([held_out[:, [i, i + 5]].reshape(10, 4) for i in range(5)])
    assert views.residual_px2(stacked).max() < 1e-12  # exact for affine cameras
    assert views.group_sigma_px == [1.0] * 5  # the floor: no error in the labels
    swapped = stacked.copy()
    swapped[:, :2] = np.roll(stacked[:, :2], 1, axis=0)  # top view of another point
    assert np.median(views.residual_px2(swapped)) > 100


def test_fit_refuses_names_alike_that_are_not_views():
    rng = np.random.default_rng(0)
    kp = rng.uniform(0, 400, (60, 10, 2))  # "p0_top" and "p0_bot" unrelated
    assert fit_multiview(kp, TWO_VIEW_PARTS) is None
    assert fit_multiview(kp[:2], TWO_VIEW_PARTS) is None  # too few labeled
    assert fit_multiview(kp, [f"part{i}" for i in range(10)]) is None


def test_multiview_round_trips_through_a_dict():
    views = fit_multiview(_two_camera_labels(40, seed=0, noise=1.5), TWO_VIEW_PARTS)
    again = MultiView.from_dict(views.to_dict())
    assert again.groups == views.groups and again.views == views.views
    np.testing.assert_array_equal(again.basis, views.basis)
    assert again.group_sigma_px == views.group_sigma_px


def _maps_with_peaks(peaks: list[list[tuple[float, float, float]]], size: int = 64, stride: int = 4):
    """Scoremap logits (1, P, size, size) with Gaussian bumps: per part, (x, y, height)."""
    centres = torch.arange(size) * stride + (stride - 1) / 2
    yy, xx = torch.meshgrid(centres, centres, indexing="ij")
    maps = torch.full((1, len(peaks), size, size), -8.0)
    for p, bumps in enumerate(peaks):
        for x, y, height in bumps:
            bump = -8 + (height + 8) * torch.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * 4.0**2))
            maps[0, p] = torch.maximum(maps[0, p], bump)
    return maps


def test_candidates_are_the_local_maxima_best_first():
    maps = _maps_with_peaks([[(41.5, 61.5, 1.0), (181.5, 101.5, 3.0)]])  # on cell centres
    xy, logits = decode_candidates(maps, None, stride=4, k=2)
    assert xy.shape == (1, 1, 2, 2)
    np.testing.assert_allclose(xy[0, 0].numpy(), [[181.5, 101.5], [41.5, 61.5]], atol=1e-5)
    np.testing.assert_allclose(logits[0, 0].numpy(), [3.0, 1.0], atol=1e-4)


def test_the_view_below_tells_a_left_paw_from_a_right_one():
    """Side view: the left paw's best peak is on the right paw (they look alike from the side);
    the view from below is sure. Decoding with the views picks the left paw's own peak."""
    kp = _two_camera_labels(1, seed=5)[0]  # truth, (10, 2)
    views = fit_multiview(_two_camera_labels(40, seed=0, noise=1.0), TWO_VIEW_PARTS)
    peaks = [[(x, y, 4.0)] for x, y in kp]
    other = 1 + int(np.argmax(np.linalg.norm(kp[1:5] - kp[0], axis=-1)))  # a far top-view point
    peaks[0] = [(kp[other, 0], kp[other, 1], 4.0), (kp[0, 0], kp[0, 1], 1.0)]  # p0_top fooled
    maps = _maps_with_peaks(peaks, size=128)
    xy, logits = decode_candidates(maps, None, stride=4, k=3)
    plain = xy[:, :, 0]
    assert torch.linalg.norm(plain[0, 0] - torch.tensor(kp[0])) > 20
    chosen, chosen_logits = views.choose(xy, logits)
    err = torch.linalg.norm(chosen[0] - torch.tensor(kp, dtype=torch.float32), dim=-1)
    assert float(err.max()) < 2.9  # every part on its own peak (cells of 4 px: at most 2.83 off)
    assert float(chosen_logits[0, 0]) == float(logits[0, 0, 1])  # its second peak


def test_views_that_agree_or_a_hidden_view_keep_the_best_peaks():
    kp = _two_camera_labels(1, seed=6)[0]
    views = fit_multiview(_two_camera_labels(40, seed=0, noise=1.0), TWO_VIEW_PARTS)
    peaks = [[(x, y, 4.0), (x + 60, y + 8, 3.5)] for x, y in kp]  # decoys everywhere
    peaks[5] = [(kp[5, 0] + 80, kp[5, 1], -6.0)]  # p0 hidden below: a faint peak far off
    xy, logits = decode_candidates(_maps_with_peaks(peaks, size=128), None, stride=4, k=3)
    chosen, _ = views.choose(xy, logits)
    torch.testing.assert_close(chosen, xy[:, :, 0])


def test_training_learns_the_views_and_the_model_file_keeps_them(tmp_path):
    rng = np.random.default_rng(0)
    kp = _two_camera_labels(12, seed=2, noise=1.0) * 0.18  # inside 128 x 96 images
    images = [rng.integers(0, 255, (96, 128, 3), dtype=np.uint8) for _ in range(12)]
    data = LabeledImages(images, kp, TWO_VIEW_PARTS)
    model = create_model("tf_efficientnet_lite0", TWO_VIEW_PARTS, input_size=64, head_channels=32,
                         pretrained=False)
    train(model, data, TrainConfig(epochs=1, batch_size=4, progress=False, resume=False))
    assert model.card["multiview"]["groups"] == [[i, i + 5] for i in range(5)]
    again = load_model(model.save(tmp_path / "m.safetensors"))
    assert again.card["multiview"] == model.card["multiview"]
    xy, lik = again.predict(images[:2])
    assert xy.shape == (2, 10, 2) and np.isfinite(xy).all() and ((lik >= 0) & (lik <= 1)).all()
    train(model, data, TrainConfig(epochs=1, batch_size=4, progress=False, resume=False, multiview=False))
    assert model.card["multiview"] is None
