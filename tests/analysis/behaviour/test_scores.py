"""Bouts and scores of predicted states against the truth, on hand-made cases."""

from __future__ import annotations

import numpy as np
import pytest

from poselab.analysis import behaviour as bh


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


def test_bouts_exact():
    np.testing.assert_array_equal(bh.bouts(np.array([2, 2, 0, 0, 0, 2])),
                                  [[0, 2, 2], [2, 5, 0], [5, 6, 2]])
    assert bh.bouts(np.array([], int)).shape == (0, 3)


def test_bout_scores_iou_threshold():
    truth = np.r_[np.zeros(10), np.ones(10), np.zeros(10)].astype(int)
    pred = np.r_[np.zeros(10), np.ones(4), np.zeros(16)].astype(int)
    s = bh.bout_scores(pred, truth)
    assert s[0] == pytest.approx((1.0, 1.0, 1.0))  # IoUs 1 and 10/16
    assert s[1] == pytest.approx((0.0, 0.0, 0.0))  # IoU 4/10 < 0.5
    assert s["macro"] == pytest.approx((0.5, 0.5, 0.5))
    assert bh.bout_scores(pred, truth, min_iou=0.4)[1] == pytest.approx((1.0, 1.0, 1.0))
    with pytest.raises(bh.BehaviourError, match="one shape"):
        bh.bout_scores(pred[:-1], truth)
