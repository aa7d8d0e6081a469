"""The demo (``make demo``) end to end at a small size: files, counts and its own figures."""

from __future__ import annotations

import json

import numpy as np
import pytest

from poselab.core import poses
from poselab.demo import run
from poselab.io.video import open_video


def test_demo_end_to_end_small(tmp_path):
    out = tmp_path / "demo"
    summary = run(out, n_frames=60, n_labeled=10, minutes=0.15, progress=False)
    assert summary["labeled_frames"] == 10
    assert summary["labeled_points"] > 10 * 8  # most of the 12 parts are visible in each frame
    for name in ("poses.nc", "ground_truth.nc", "labels.nc", "labeled.mp4", "summary.json",
                 "CollectedData_poselab.csv", "project/models/demo.safetensors",
                 "plots/trajectory_and_speed.png", "plots/gait_diagram.png"):
        assert (out / name).is_file(), name
    predicted, truth = poses.load(out / "poses.nc"), poses.load(out / "ground_truth.nc")
    assert predicted.sizes == truth.sizes and predicted.sizes["frame"] == 60
    assert list(predicted["part"].values) == list(truth["part"].values)
    # The reported error is the one in the files.
    error = np.linalg.norm(predicted["position"].values - truth["position"].values, axis=-1)
    visible = truth["visible"].values.astype(bool)
    assert summary["video_median_error_px"] == pytest.approx(np.nanmedian(error[visible]), abs=0.006)
    saved = json.loads((out / "summary.json").read_text())
    assert saved["test_rmse_px"] == summary["test_rmse_px"]
    # the gait against the truth: stance agreement is a fraction, the truth's duty factor a stance share
    for key in ("stance_accuracy_walking", "duty_factor", "true_duty_factor"):
        assert key in saved and (np.isnan(saved[key]) or 0 <= saved[key] <= 1), key
    with open_video(out / "labeled.mp4") as reader:
        assert len(reader) == 60


def test_demo_refuses_to_replace_a_folder_it_did_not_write(tmp_path):
    (tmp_path / "thesis.txt").write_text("precious")
    with pytest.raises(FileExistsError, match="not a poselab demo output"):
        run(tmp_path, n_frames=30, n_labeled=4, minutes=0.05, progress=False)
    assert (tmp_path / "thesis.txt").read_text() == "precious"
