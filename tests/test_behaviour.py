from __future__ import annotations

import numpy as np
import pytest

from poselab import behaviour as bh


def test_hmm_recovers_separated_states():
    rng = np.random.default_rng(0)
    truth = np.repeat([0, 1, 2, 0, 2, 1], 50)
    means = np.array([[0, 0], [10, 0], [0, 10]], float)
    x = means[truth] + rng.normal(0, 1, (truth.size, 2))
    pred = bh.GaussianHMM(3, seed=0).fit(x).predict(x)
    matched = bh.match_states(pred, truth)
    assert np.mean(matched == truth) >= 0.99
    assert bh.boundary_f1(matched, truth, tolerance=1) == pytest.approx(1.0)


def test_match_states_is_a_permutation():
    truth = np.array([0, 0, 1, 1, 2, 2])
    pred = np.array([5, 5, 3, 3, 4, 4])
    np.testing.assert_array_equal(bh.match_states(pred, truth), truth)


def test_frame_scores_exact():
    truth = np.array([0, 0, 0, 1, 1, 1])
    pred = np.array([0, 0, 1, 1, 1, 0])
    s = bh.frame_scores(pred, truth)
    assert s["accuracy"] == pytest.approx(4 / 6)
    assert s[0] == pytest.approx((2 / 3, 2 / 3, 2 / 3))
    assert s[1] == pytest.approx((2 / 3, 2 / 3, 2 / 3))


def test_boundary_f1_tolerance():
    truth = np.array([0] * 10 + [1] * 10 + [0] * 10)  # boundaries at 9, 19
    pred = np.array([0] * 12 + [1] * 10 + [0] * 8)  # boundaries at 11, 21
    assert bh.boundary_f1(pred, truth, tolerance=2) == 1.0
    assert bh.boundary_f1(pred, truth, tolerance=1) == 0.0
    pred2 = np.array([0] * 10 + [1] * 20)  # one boundary at 9
    assert bh.boundary_f1(pred2, truth, tolerance=0) == pytest.approx(2 * 1 * 0.5 / 1.5)


def test_keypoint_moseq_export_shapes_and_values():
    from poselab import poses

    pos = np.arange(2 * 3 * 5 * 2, dtype=float).reshape(2, 3, 5, 2)
    ds = poses.from_arrays(pos, animals=["a", "b"], parts=["p", "q", "r"], fps=10.0)
    coords, confs, parts = bh.to_keypoint_moseq(ds)
    assert parts == ["p", "q", "r"]
    assert sorted(coords) == ["session_a", "session_b"]
    assert coords["session_b"].shape == (5, 3, 2)
    np.testing.assert_array_equal(coords["session_b"][2, 1], pos[1, 1, 2])
    assert confs["session_a"].shape == (5, 3)
