"""The shipped top-view mouse model: zero-shot on a synthetic video it never saw, and video
adaptation (pseudo-labels it is sure of and consistent about)."""

from __future__ import annotations

import numpy as np
import pytest

from poselab import zoo
from poselab.datasets import SYNTHETIC_PARTS, synthetic
from poselab.inference import analyze_video
from poselab.model import create_model

BODY = [p for p in SYNTHETIC_PARTS if "paw" not in p]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    # seed 7100: not among the zoo model's training (5000-5899) or validation (5900-5999) worlds
    return synthetic(tmp_path_factory.mktemp("zoo") / "unseen.mp4", n_frames=40, seed=7100)


@pytest.fixture(scope="module")
def model():
    return zoo.load("topview_mouse")


def _errors(xy, world, frames=None):
    truth = world.poses["position"].isel(animal=0).transpose("frame", "part", "coord").values
    seen = world.poses["visible"].isel(animal=0).transpose("frame", "part").values
    if frames is not None:
        truth, seen = truth[frames], seen[frames]
    return np.where(seen, np.linalg.norm(xy - truth, axis=-1), np.nan)


def test_zero_shot_poses_on_a_video_it_never_saw(model, world):
    poses = analyze_video(model, world.video, progress=False)
    xy = poses["position"].isel(animal=0).transpose("frame", "part", "coord").values
    err = _errors(xy, world)
    body = err[:, [SYNTHETIC_PARTS.index(p) for p in BODY]]
    assert np.nanmedian(body) < 1.5  # 0.68 px with the shipped model (paws included: 0.80 px)
    assert np.nanpercentile(body, 90) < 4.0
    assert np.nanmedian(err) < 2.0


def test_pseudo_labels_are_the_keypoints_it_is_sure_of_and_consistent_about(model, world):
    data, report = zoo.pseudo_labels(model, world.video, zoo.AdaptConfig(frames=20))
    frames = [int(name.split("#")[1]) for name in data.names]
    assert report["frames_read"] == 20 and report["frames_kept"] == len(data) >= 15
    err = _errors(data.keypoints, world, frames)
    kept = np.isfinite(err)
    assert 0.6 < report["keypoints_kept"] <= min(report["likely"], report["mirror_agrees"], report["step_small"])
    assert np.median(err[kept]) < 1.5 and np.percentile(err[kept], 95) < 4.0  # 0.76 and 1.93 px with the shipped model


def test_adaptation_records_what_it_learned_from(model, world):
    adapted = zoo.adapt_to_video(model, world.video, zoo.AdaptConfig(frames=12, epochs=1, batch_size=4))
    assert adapted.card["adapted_to"]["video"] == "unseen.mp4"
    assert adapted.card["adapted_to"]["frames_kept"] >= 8
    assert adapted.card["init_from"]["zoo"] == "topview_mouse"
    assert "init_from" not in model.card  # the zoo model itself is untouched


def test_a_model_that_sees_nothing_is_told_to_label_frames_instead(tmp_path):
    small = synthetic(tmp_path / "small.mp4", n_frames=12, size=(320, 240), seed=7101)
    untrained = create_model("tf_efficientnet_lite0", ["snout", "tail_base"], input_size=64, head_channels=32)
    data, report = zoo.pseudo_labels(untrained, small.video, zoo.AdaptConfig(frames=10, batch_size=3))
    assert report["frames_read"] == 10 and len(data) == 0  # consecutive starts share frames
    with pytest.raises(zoo.AdaptationError, match="label a few frames"):
        zoo.adapt_to_video(untrained, small.video, zoo.AdaptConfig(frames=10))
