"""The recipe poselab chooses from a project's images and labels, and DeepLabCut-style scores."""

from __future__ import annotations

import numpy as np
import pytest

from poselab.model import LabeledImages, TrainConfig, evaluate
from poselab.model.recipe import Recipe, label_geometry


def _animals(headings_deg: np.ndarray, *, image: tuple[int, int], length: float = 100.0) -> LabeledImages:
    """A straight 5-point animal of ``length`` pixels per heading, centred in the image."""
    w, h = image
    along = np.linspace(-0.5, 0.5, 5) * length
    kp = []
    for heading in np.radians(headings_deg):
        direction = np.array([np.cos(heading), np.sin(heading)])
        kp.append(np.array([w / 2, h / 2]) + along[:, None] * direction)
    images = [np.zeros((h, w, 3), np.uint8)] * len(kp)
    return LabeledImages(images, np.array(kp), [f"p{i}" for i in range(5)])


def test_geometry_of_analytic_animals():
    one_way = label_geometry(_animals(np.zeros(20), image=(640, 480)))
    assert one_way.image_long_side_px == 640
    assert one_way.animal_extent_px == pytest.approx(100.0)
    assert one_way.orientation_concentration == pytest.approx(1.0)  # the middle point: no direction
    assert one_way.heading_spread_deg == pytest.approx(0.0, abs=1e-3)
    every_way = label_geometry(_animals(np.arange(0, 360, 10.0), image=(640, 480)))
    assert every_way.orientation_concentration < 1e-9  # 36 evenly spread headings cancel out
    # headings spread evenly over +-30 degrees: the mean resultant length of those 61 angles
    headings = np.linspace(-30, 30, 61)
    spread = label_geometry(_animals(headings, image=(640, 480)))
    expected = abs(np.mean(np.exp(1j * np.radians(headings))))  # about sin(a)/a, a = 30 degrees
    assert spread.orientation_concentration == pytest.approx(expected, rel=1e-9)


def test_recipe_follows_the_camera_view_and_the_image_size():
    top = Recipe.for_data(_animals(np.arange(0, 360, 10.0), image=(640, 480)))
    assert top.train.augment.rotation == 180 and top.train.augment.flip == 0.5 and top.flip_test
    assert top.scale == 1.0 and top.input_size == 256
    side = Recipe.for_data(_animals(np.zeros(20), image=(640, 480)))
    assert side.train.augment.rotation == 15 and side.train.augment.flip == 0 and not side.flip_test
    big = Recipe.for_data(_animals(np.zeros(20), image=(1600, 1200), length=700), train=TrainConfig(epochs=3))
    assert big.scale == 0.5  # 800 px on the long side
    assert big.input_size == 384  # 1.25 x 700 x 0.5 = 437.5 px, at most 384
    assert big.train.epochs == 3 and big.train.missing_is_absent
    assert Recipe.for_data(_animals(np.zeros(4), image=(640, 480)), scale=0.75).scale == 0.75


class _Fixed:
    """A stand-in model with fixed predictions (evaluate only calls ``predict`` and ``parts``)."""

    parts = ["a", "b"]


def test_absent_parts_reported_above_the_cutoff_are_counted():
    nan = np.nan
    labeled = np.array([[[1, 1], [nan, nan]], [[2, 2], [5, 5]], [[3, 3], [nan, nan]], [[nan, nan], [nan, nan]]])
    data = LabeledImages([np.zeros((8, 8, 3), np.uint8)] * 4, labeled, ["a", "b"])
    xy = np.array([[[1, 2], [4, 4]], [[2, 2], [5, 8]], [[3, 3], [0, 0]], [[0, 0], [0, 0]]], float)
    likelihood = np.array([[0.9, 0.7], [0.9, 0.9], [0.3, 0.1], [0.9, 0.9]])
    result = evaluate(_Fixed(), data, predictions=(xy, likelihood))
    # b is absent from images 0 and 2 (image 3 has no label at all: it says nothing)
    assert result["n_absent"] == 2 and result["absent_false_rate"] == 0.5
    assert result["rmse_px"] == pytest.approx(np.sqrt((1 + 9) / 4))
    assert result["rmse_px_cutoff"] == pytest.approx(np.sqrt((1 + 9) / 3))  # a in image 2 cut
