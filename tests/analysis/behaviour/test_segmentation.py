"""segment: one model over several sessions."""

from __future__ import annotations

import numpy as np
import pytest

from poselab.analysis import behaviour as bh


def test_segment_sessions_share_states():
    rng = np.random.default_rng(0)
    t1, t2 = np.repeat([0, 1, 2, 0], 40), np.repeat([2, 1, 0], 50)
    means = np.array([[0, 0], [6, 0], [0, 6]], float)
    xs = [means[t] + rng.normal(0, 0.5, (t.size, 2)) for t in (t1, t2)]
    for method in ("hmm", "changepoint"):
        p1, p2 = bh.segment(xs, 3, method=method)
        assert p1.shape == t1.shape and p2.shape == t2.shape
        both = bh.match_states(np.r_[p1, p2], np.r_[t1, t2])
        # The HMM's default variance floor (0.1, standardised) is above these tight states'
        # variance (~0.03): 1 of 310 noise frames flips; exact without the floor.
        assert np.mean(both == np.r_[t1, t2]) >= (1.0 if method == "changepoint" else 0.99)
    p1, p2 = bh.segment(xs, 3, min_var=1e-3)
    assert np.mean(bh.match_states(np.r_[p1, p2], np.r_[t1, t2]) == np.r_[t1, t2]) == 1.0
    with pytest.raises(bh.BehaviourError, match="method"):
        bh.segment(xs, 3, method="kmeans")
    with pytest.raises(bh.BehaviourError, match="at least one frame"):
        bh.segment([xs[0], xs[0][:0]], 3)


def test_segment_falls_back_to_random_starts():
    """A penalty so high that there is one segment: the HMM starts from k-means (5 starts)."""
    rng = np.random.default_rng(1)
    truth = np.repeat([0, 1, 2, 1, 0], 40)
    x = np.array([[0.0], [5.0], [10.0]])[truth] + rng.normal(0, 0.5, (200, 1))
    assert np.unique(bh.segment([x], 3, method="changepoint", penalty=1e9)[0]).size == 1
    (pred,) = bh.segment([x], 3, penalty=1e9)
    np.testing.assert_array_equal(bh.match_states(pred, truth), truth)
