"""Outlier scores on analytic trajectories (exact values), picking, extraction into a project."""

from __future__ import annotations

import numpy as np
import pytest

from poselab.analysis.outliers import (
    OutlierError,
    extract_outliers,
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


def test_extract_outliers_into_a_project(tmp_path):
    from poselab.datasets.synthetic import synthetic
    from poselab.io.video import open_video
    from poselab.project import Project

    world = synthetic(tmp_path / "m.mp4", n_frames=30, size=(320, 240), seed=3)
    parts = ["snout", "tail_base"]
    pred = world.poses[["position", "likelihood"]].sel(part=parts).copy(deep=True)
    pred["position"].loc[dict(animal="mouse0", part="snout", frame=20)] += np.array([60.0, 0.0])
    pred["likelihood"].loc[dict(animal="mouse0", part="tail_base", frame=20)] = 0.3
    project = Project.create(tmp_path / "p", parts, animals=["mouse0"], videos=[world.video])
    images = extract_outliers(project, pred, n=3, min_gap=5, fitting=False, min_likelihood=0.5)
    assert images == ["frames/m/img00020.png"]
    stored = project.labels.points(images[0])
    x, y = pred["position"].sel(animal="mouse0", part="snout", frame=20).values
    assert stored == {("mouse0", "snout"): (float(x), float(y), False)}  # tail_base: below 0.5
    with open_video(world.video) as reader:
        import cv2

        png = cv2.imread(str(project.root / images[0]))[:, :, ::-1]
        np.testing.assert_array_equal(png, reader.read(20))
    # again: frame 20 is taken, and nothing else is flagged
    assert extract_outliers(project, pred, n=3, min_gap=5, fitting=False) == []
    # explicit frames; a point outside the image is not written
    pred["position"].loc[dict(animal="mouse0", part="tail_base", frame=5)] = np.array([400.0, 10.0])
    images = extract_outliers(project, pred, frames=[5, 20])
    assert images == ["frames/m/img00005.png"]
    assert set(project.labels.points(images[0])) == {("mouse0", "snout")}
    with pytest.raises(OutlierError):
        extract_outliers(project, pred, frames=[99])
    project.close()
