"""Exports for keypoint-MoSeq, B-SOiD and SimBA, read back."""

from __future__ import annotations

import numpy as np

from poselab.core import poses
from poselab.io import read_deeplabcut
from poselab.io.behaviour_tools import to_bsoid, to_keypoint_moseq, to_simba


def test_keypoint_moseq_export_shapes_and_values():
    pos = np.arange(2 * 3 * 5 * 2, dtype=float).reshape(2, 3, 5, 2)
    ds = poses.from_arrays(pos, animals=["a", "b"], parts=["p", "q", "r"], fps=10.0)
    coords, confs, parts = to_keypoint_moseq(ds)
    assert parts == ["p", "q", "r"]
    assert sorted(coords) == ["session_a", "session_b"]
    assert coords["session_b"].shape == (5, 3, 2)
    np.testing.assert_array_equal(coords["session_b"][2, 1], pos[1, 1, 2])
    assert confs["session_a"].shape == (5, 3)


def test_keypoint_moseq_keeps_nan_and_names_by_video():
    pos = np.zeros((1, 2, 3, 2))
    pos[0, 1, 2] = np.nan
    lik = np.full((1, 2, 3), 0.5)
    lik[0, 1, 2] = np.nan
    ds = poses.from_arrays(pos, likelihood=lik, animals=["m"], parts=["a", "b"], fps=10.0,
                           video="videos/trial 3.mp4")
    coords, confs, _ = to_keypoint_moseq(ds)
    assert list(coords) == ["trial 3_m"]
    assert np.isnan(coords["trial 3_m"][2, 1]).all() and confs["trial 3_m"][2, 1] == 0.0
    assert confs["trial 3_m"][0, 0] == 0.5


def test_bsoid_and_simba_exports_read_back(tmp_path):
    pos = np.arange(2 * 3 * 4 * 2, dtype=float).reshape(2, 3, 4, 2)
    pos[1, 2, 3] = np.nan
    lik = np.full((2, 3, 4), 0.9)
    ds = poses.from_arrays(pos, likelihood=lik, animals=["m1", "m2"], parts=["a", "b", "c"],
                           fps=30.0, video="trial.mp4")
    paths = to_bsoid(ds, tmp_path / "bsoid")
    assert [p.name for p in paths] == ["trial_m1DLC_poselab.csv", "trial_m2DLC_poselab.csv"]
    head = paths[1].read_text().splitlines()[:3]
    assert [h.split(",")[0] for h in head] == ["scorer", "bodyparts", "coords"]
    back = read_deeplabcut(paths[1])
    np.testing.assert_array_equal(back["position"].values[0, :2], pos[1, :2])
    np.testing.assert_array_equal(back["position"].values[0, 2, 3], [0.0, 0.0])
    assert back["likelihood"].values[0, 2, 3] == 0.0
    path = to_simba(ds, tmp_path / "simba")
    assert path.name == "trial.csv"
    assert path.read_text().splitlines()[1].split(",")[0] == "individuals"
    back = read_deeplabcut(path)
    np.testing.assert_array_equal(back["position"].values[0], pos[0])
    # the input is left as it was (NaN still unknown there)
    assert np.isnan(ds["position"].values[1, 2, 3]).all()


def test_simba_single_animal_layout(tmp_path):
    pos = np.ones((1, 2, 3, 2))
    ds = poses.from_arrays(pos, animals=["solo"], parts=["a", "b"], fps=30.0)
    path = to_simba(ds, tmp_path)
    assert path.name == "session.csv"
    lines = path.read_text().splitlines()
    assert [line.split(",")[0] for line in lines[:3]] == ["scorer", "bodyparts", "coords"]
    np.testing.assert_array_equal(read_deeplabcut(path)["position"].values, pos)
