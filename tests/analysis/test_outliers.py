"""Outlier scores on analytic trajectories (exact values) and picking (pure functions).

Writing outlier frames into a project is the project's: tests/project/test_predictions.py."""

from __future__ import annotations

import numpy as np
import pytest

from poselab.analysis.outliers import (
    OutlierError,
    find_outliers,
    jumps,
    low_likelihood,
    misfits,
    outlier_scores,
    pick_outlier_frames,
)
from poselab.core import poses

N = 60


def linear_world() -> "poses.xr.Dataset":
    """Part a moves (3, 4) px per frame (5 px/frame) with a (60, 80) px spike at frame 30;
    part b sits at (50, 50), uncertain (0.2) at frame 12 and missing at frame 45."""
    t = np.arange(N, dtype=float)
    pos = np.zeros((1, 2, N, 2))
    pos[0, 0, :, 0] = 10 + 3 * t
    pos[0, 0, :, 1] = 20 + 4 * t
    pos[0, 0, 30] += (60, 80)
    pos[0, 1] = 50.0
    pos[0, 1, 45] = np.nan
    lik = np.ones((1, 2, N))
    lik[0, 1] = 0.9
    lik[0, 1, 12] = 0.2
    lik[0, 1, 45] = np.nan
    return poses.from_arrays(pos, lik, animals=["m"], parts=["a", "b"], fps=30.0)


def test_jumps_exact_on_linear_motion_with_a_spike():
    j = jumps(linear_world())
    a, b = j.sel(animal="m", part="a").values, j.sel(animal="m", part="b").values
    assert np.isnan(a[0]) and np.isnan(b[0])
    expected = np.full(N - 1, 5.0)
    expected[29] = 105.0  # frame 30: |(3 + 60, 4 + 80)|
    expected[30] = 95.0  # frame 31: |(3 - 60, 4 - 80)|
    np.testing.assert_allclose(a[1:], expected, rtol=0, atol=1e-12)
    assert np.isnan(b[45]) and np.isnan(b[46])  # missing point: no jump to or from it
    np.testing.assert_array_equal(np.delete(b, [0, 45, 46]), 0.0)
    assert j.attrs["units"] == "pixels/frame"


def test_jumps_divide_by_frame_gaps():
    pos = np.zeros((1, 1, 3, 2))
    pos[0, 0, :, 0] = [0, 10, 40]
    ds = poses.from_arrays(pos, frames=[0, 1, 4])
    np.testing.assert_allclose(jumps(ds).values[0, 0], [np.nan, 10.0, 10.0])


def test_low_likelihood_counts_missing_as_uncertain():
    low = low_likelihood(linear_world()).sel(animal="m", part="b").values
    assert low[0] == pytest.approx(0.1) and low[12] == pytest.approx(0.8) and low[45] == 1.0


def test_scores_without_fitting_exact_and_picking():
    s = outlier_scores(linear_world(), epsilon=20, p_cutoff=0.6, fitting=False)
    # the spike frame gets min(jump in, jump out); the next frame only its way out
    assert s["score"].sel(frame=30) == pytest.approx(95 / 20)
    assert s["score"].sel(frame=31) == pytest.approx(5 / 20)
    assert s["score"].sel(frame=0) == pytest.approx(5 / 20)  # no jump in: the jump out
    assert s["score"].sel(frame=12) == pytest.approx(0.8 / 0.4)
    assert s["score"].sel(frame=45) == pytest.approx(1.0 / 0.4)
    assert s["score"].sel(frame=5) == pytest.approx(max(5 / 20, 0.1 / 0.4))
    assert int(s["n_uncertain"].sel(frame=12)) == 1 and int(s["n_uncertain"].sel(frame=5)) == 0
    assert np.isnan(s["misfit"]).all()
    # below threshold 1 nothing else qualifies
    np.testing.assert_array_equal(pick_outlier_frames(s["score"], 3, min_gap=5), [12, 30, 45])
    np.testing.assert_array_equal(pick_outlier_frames(s["score"], 2, min_gap=5), [30, 45])
    np.testing.assert_array_equal(pick_outlier_frames(s["score"], 10, min_gap=5), [12, 30, 45])
    np.testing.assert_array_equal(pick_outlier_frames(s["score"], 2, min_gap=5, exclude={45}), [12, 30])
    # calm frames all tie at 5/20: the earliest first, each >= 5 frames from those taken
    no_limit = pick_outlier_frames(s["score"], 5, min_gap=5, threshold=None)
    np.testing.assert_array_equal(no_limit, [0, 5, 12, 30, 45])
    np.testing.assert_array_equal(pick_outlier_frames(s["score"], 5, min_gap=1, threshold=None),
                                  [0, 1, 12, 30, 45])
    np.testing.assert_array_equal(find_outliers(linear_world(), 1, fitting=False), [30])
    with pytest.raises(OutlierError):
        pick_outlier_frames(s["score"], 2, min_gap=0)
    with pytest.raises(OutlierError):
        outlier_scores(linear_world(), parts=["tail"], fitting=False)


def smooth_world(spike_frame: int = 70, spike: float = 25.0) -> "poses.xr.Dataset":
    rng = np.random.default_rng(0)
    t = np.arange(120, dtype=float)
    pos = np.zeros((1, 1, 120, 2))
    pos[0, 0, :, 0] = 200 + 40 * np.sin(2 * np.pi * t / 50) + rng.normal(0, 0.3, 120)
    pos[0, 0, :, 1] = 150 + 30 * np.cos(2 * np.pi * t / 50) + rng.normal(0, 0.3, 120)
    pos[0, 0, spike_frame, 0] += spike
    return poses.from_arrays(pos, animals=["m"], parts=["snout"])


def test_sarimax_misfit_finds_an_injected_excursion():
    m = misfits(smooth_world()).values[0, 0]
    assert np.isnan(m[:4]).all()  # burn-in: ar_degree + 1 frames
    assert int(np.nanargmax(m)) == 70
    assert 20 < m[70] < 30  # about the 25 px excursion
    assert np.nanmedian(np.delete(m, [70, 71, 72, 73])) < 2.0
    s = outlier_scores(smooth_world(), epsilon=20)
    np.testing.assert_array_equal(s["misfit"].values, m)  # deterministic (one point: mean = it)
    assert int(np.nanargmax(s["misfit"].values)) == 70 and s["score"].sel(frame=70) > 1
    np.testing.assert_array_equal(pick_outlier_frames(s["score"], 3, min_gap=10), [70])
    # no excursion: nothing is flagged by the fit
    calm = outlier_scores(smooth_world(spike=0.0), epsilon=20)
    assert float(calm["misfit"].max()) < 5 and float(calm["score"].max()) < 1


def test_one_input_check_with_the_shared_validator():
    from poselab.core.errors import PoselabError

    checks = [(jumps, "jumps"), (low_likelihood, "low_likelihood"), (misfits, "misfits"),
              (outlier_scores, "outlier_scores"), (find_outliers, "outlier_scores")]  # find: scores, then picks
    for func, name in checks:
        with pytest.raises(OutlierError, match=f"{name}: the Dataset has no 'position'") as error:
            func(linear_world()[["likelihood"]])
        assert isinstance(error.value, PoselabError) and isinstance(error.value, ValueError)
    with pytest.raises(OutlierError, match="jumps: expected a pose Dataset"):
        jumps(np.zeros((1, 2, 3, 2)))
    with pytest.raises(OutlierError, match=r"lacks the dim\(s\) \['frame'\]"):
        low_likelihood(linear_world().isel(frame=0))
