"""Tests for poselab.analysis.filters: exact behaviour on analytic tracks, NaN handling, dask equality."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from poselab.analysis import filters as F
from poselab.core import poses


def track(values: np.ndarray, frames: np.ndarray | None = None) -> xr.DataArray:
    values = np.asarray(values, dtype=float)
    frames = np.arange(values.size) if frames is None else frames
    return xr.DataArray(values, dims="frame", coords={"frame": frames}, attrs={"units": "pixels"})


def noisy_dataset(seed: int = 0, n: int = 300, fps: float = 30.0, noise: float = 2.0):
    """Constant-velocity tracks (truth) plus Gaussian noise, likelihood 0.9, a few gaps."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / fps
    vel = np.array([[[40.0, -25.0], [10.0, 5.0]]])  # (animal, part, xy) pixels/s
    truth = np.array([[[50.0, 300.0], [80.0, 90.0]]])[:, :, None] + vel[:, :, None] * t[:, None]
    position = truth + rng.normal(scale=noise, size=truth.shape)
    likelihood = np.full(position.shape[:3], 0.9)
    position[0, 0, 100:104] = np.nan
    likelihood[0, 0, 100:104] = np.nan
    return poses.from_arrays(position, likelihood, fps=fps, parts=["nose", "tail"]), truth


# --- mask_by_likelihood --------------------------------------------------------------------------


def test_mask_by_likelihood():
    position = np.arange(24, dtype=float).reshape(1, 2, 6, 2)
    likelihood = np.array([[[0.9, 0.6, 0.59, np.nan, 1.0, 0.0], [0.7] * 6]])
    ds = poses.from_arrays(position, likelihood)
    out = F.mask_by_likelihood(ds, 0.6)
    masked = np.isnan(out["position"].values).all(axis=-1)
    np.testing.assert_array_equal(masked[0, 0], [False, False, True, True, False, True])
    assert not masked[0, 1].any()
    np.testing.assert_array_equal(out["likelihood"].values, ds["likelihood"].values)
    assert poses.provenance(out)[-1] == {
        "operation": "mask_by_likelihood", "parameters": {"threshold": 0.6},
        "poselab": poses.provenance(out)[-1]["poselab"],
    }
    poses.validate(out)
    lazy = F.mask_by_likelihood(ds.chunk({"frame": 2}), 0.6)
    assert hasattr(lazy["position"].data, "dask")
    np.testing.assert_array_equal(lazy["position"].values, out["position"].values)
    with pytest.raises(F.FilterError, match=r"\[0, 1\]"):
        F.mask_by_likelihood(ds, 1.5)
    with pytest.raises(F.FilterError, match="needs the pose Dataset"):
        F.mask_by_likelihood(ds["position"], 0.5)


# --- interpolate_gaps ----------------------------------------------------------------------------


def test_interpolate_gaps_fills_only_short_gaps():
    x = np.arange(30) * 2.0 + 1.0
    x[[0, 1]] = np.nan  # leading gap: no left neighbour
    x[5] = np.nan  # 1 frame
    x[9:12] = np.nan  # 3 frames
    x[15:19] = np.nan  # 4 frames: too long for max 3
    x[-1] = np.nan  # trailing
    out = F.interpolate_gaps(track(x), max_gap_frames=3).values
    expected = np.arange(30) * 2.0 + 1.0
    filled = np.r_[5, 9, 10, 11]
    np.testing.assert_allclose(out[filled], expected[filled], rtol=1e-15)
    assert np.isnan(out[[0, 1, 15, 16, 17, 18, 29]]).all()
    assert int(np.isnan(out).sum()) == 7
    known = ~np.isnan(x)
    np.testing.assert_array_equal(out[known], x[known])
    out0 = F.interpolate_gaps(track(x), max_gap_frames=0).values
    np.testing.assert_array_equal(np.isnan(out0), np.isnan(x))


def test_interpolate_gaps_counts_dropped_frames():
    # Frames 3 and 4 were dropped from the Dataset: the gap 2 -> 6 spans 3 missing video frames.
    frames = np.array([0, 1, 2, 5, 6])
    values = np.array([0.0, 1.0, 2.0, np.nan, 6.0])
    assert np.isnan(F.interpolate_gaps(track(values, frames), 2).values[3])
    assert F.interpolate_gaps(track(values, frames), 3).values[3] == pytest.approx(5.0)


def test_interpolate_gaps_dataset_and_movement_parity():
    ds, _ = noisy_dataset()
    position = ds["position"].values.copy()
    rng = np.random.default_rng(1)
    position[rng.random(position.shape[:3]) < 0.15] = np.nan
    ds["position"] = ds["position"].copy(data=position)
    out = F.interpolate_gaps(ds, max_gap_frames=2)
    assert isinstance(out, xr.Dataset) and out["position"].attrs == ds["position"].attrs
    assert poses.provenance(out)[-1]["parameters"] == {"max_gap_frames": 2}
    pytest.importorskip("movement")
    from movement.filtering import interpolate_over_time

    as_movement = ds["position"].drop_vars(["time", "frame"]).rename(frame="time")
    as_movement = as_movement.assign_coords(time=ds["time"].values)
    theirs = interpolate_over_time(as_movement, max_gap=2).values
    np.testing.assert_allclose(out["position"].values, theirs, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("chunk", [3, 7, 50])
def test_interpolate_gaps_dask_equal(chunk):
    rng = np.random.default_rng(chunk)
    x = rng.normal(size=(2, 120)).cumsum(axis=1)
    x[rng.random(x.shape) < 0.3] = np.nan
    da = xr.DataArray(x, dims=("part", "frame"), coords={"frame": np.arange(120)})
    eager = F.interpolate_gaps(da, 4)
    lazy = F.interpolate_gaps(da.chunk({"frame": chunk}), 4)
    assert hasattr(lazy.data, "dask")
    np.testing.assert_array_equal(lazy.values, eager.values)


def test_interpolate_gaps_rejects_bad_input():
    with pytest.raises(F.FilterError, match=">= 0"):
        F.interpolate_gaps(track(np.ones(5)), -1)
    with pytest.raises(F.FilterError, match="must be an int"):
        F.interpolate_gaps(track(np.ones(5)), 2.5)
    with pytest.raises(F.FilterError, match=r"lacks the dim\(s\) \['frame'\]"):
        F.interpolate_gaps(xr.DataArray(np.ones(5), dims="time"), 2)


# --- rolling median and Savitzky-Golay ----------------------------------------------------------


@pytest.mark.parametrize("window", [1, 3, 5, 11])
def test_rolling_median_keeps_constant_and_linear(window):
    for values in (np.full(40, 7.25), 3.0 * np.arange(40) - 11.0):
        out = F.rolling_median(track(values), window).values
        np.testing.assert_allclose(out, values, rtol=0, atol=1e-12)


def test_rolling_median_removes_spike_and_keeps_gaps():
    x = np.arange(20, dtype=float)
    x[10] = 500.0  # outlier
    x[4] = np.nan
    out = F.rolling_median(track(x), 5).values
    assert out[10] == 11.0  # median of 8, 9, 500, 11, 12
    assert np.isnan(out[4]) and int(np.isnan(out).sum()) == 1
    assert out[3] == 2.5  # mean of the middle two of 1, 2, 3, 5
    strict = F.rolling_median(track(x), 5, min_periods=5).values
    assert int(np.isnan(strict).sum()) == 5  # frames 2..6 have the NaN in their window


@pytest.mark.parametrize(("window", "polyorder"), [(5, 1), (7, 2), (11, 3)])
def test_savgol_keeps_polynomials(window, polyorder):
    t = np.linspace(-2, 3, 60)
    for degree in range(polyorder + 1):
        values = 4.0 + 2.5 * t**degree
        out = F.savgol(track(values), window, polyorder).values
        np.testing.assert_allclose(out, values, rtol=0, atol=1e-9)


def test_savgol_nan_counts_and_errors():
    rng = np.random.default_rng(3)
    x = rng.normal(size=100)
    x[[0, 50, 51, 99]] = np.nan
    out = F.savgol(track(x), 7, 2).values
    # frame 0: frames 0-3 (edge fit + centred windows); 50-51: 47-54; 99: 96-99
    assert int(np.isnan(out).sum()) == 4 + 8 + 4
    assert np.isfinite(out[4:47]).all()
    with pytest.raises(F.FilterError, match="odd"):
        F.savgol(track(x), 6, 2)
    with pytest.raises(F.FilterError, match="polyorder"):
        F.savgol(track(x), 5, 5)
    with pytest.raises(F.FilterError, match="longer than"):
        F.savgol(track(x[:4]), 5, 2)
    with pytest.raises(F.FilterError, match="odd"):
        F.rolling_median(track(x), 4)


def test_smoothing_reduces_noise_on_dataset():
    ds, truth = noisy_dataset(noise=2.0)
    ds = F.interpolate_gaps(ds, 5)
    raw = np.sqrt(np.nanmean((ds["position"].values - truth) ** 2))
    for out in (F.rolling_median(ds, 7), F.savgol(ds, 15, 2)):
        rmse = np.sqrt(np.nanmean((out["position"].values - truth) ** 2))
        assert rmse < 0.7 * raw
        poses.validate(out)
    assert [p["operation"] for p in poses.provenance(out)] == ["interpolate_gaps", "savgol"]


@pytest.mark.parametrize("chunk", [4, 9, 64, 74])
def test_windowed_filters_dask_equal(chunk):
    rng = np.random.default_rng(chunk)
    x = rng.normal(size=(3, 150, 2))  # chunk 74: a last chunk of 2 frames
    x[rng.random(x.shape[:2]) < 0.05] = np.nan
    da = xr.DataArray(x, dims=("part", "frame", "coord"))
    for func, kwargs in ((F.rolling_median, {"window_frames": 7}),
                         (F.savgol, {"window_frames": 9, "polyorder": 3})):
        lazy = func(da.chunk({"frame": chunk}), **kwargs)
        assert hasattr(lazy.data, "dask"), func.__name__
        eager = func(da, **kwargs)
        np.testing.assert_array_equal(lazy.values, eager.values, err_msg=func.__name__)


# --- savgol with a window per track ---------------------------------------------------------------


def stepping_paw(n: int = 400, stance: int = 5, swing: int = 3, step_px: float = 12.0) -> np.ndarray:
    """(frame, coord) track of a paw: still for ``stance`` frames, then a linear swing of
    ``step_px`` along x over ``swing`` frames, repeated (pixels)."""
    x, pos = [], 0.0
    while len(x) < n:
        x += [pos] * stance
        x += list(pos + step_px * np.arange(1, swing + 1) / swing)
        pos += step_px
    x = np.asarray(x[:n])
    return np.stack([x, np.full(n, 40.0)], axis=-1)


def per_track(tracks: list[np.ndarray]) -> xr.DataArray:
    return xr.DataArray(np.stack(tracks), dims=("part", "frame", "coord"),
                        coords={"part": [f"p{i}" for i in range(len(tracks))]})


def test_smoothing_windows_follow_each_tracks_noise():
    rng = np.random.default_rng(0)
    t = np.arange(400.0)
    slow = np.stack([0.002 * (t - 200) ** 2, 3.0 + 0.5 * t], axis=-1)  # a parabola: no bias at any window
    paw = stepping_paw()
    da = per_track([slow + rng.normal(0, 2.0, slow.shape),   # noisy, slow: the widest window
                    paw.copy(),                              # exact, fast: no smoothing
                    paw + rng.normal(0, 1.5, paw.shape),     # noisy and fast: something between
                    np.full((400, 2), np.nan)])              # nothing known: left alone
    windows = F.smoothing_windows(da)
    assert windows.dims == ("part",) and windows.attrs["units"] == "frames"
    assert windows.values.tolist()[0] == 21 and windows.values.tolist()[1] == 1
    assert windows.values[2] in (5, 7, 9) and windows.values[3] == 1
    out = F.savgol(da, "auto")
    np.testing.assert_array_equal(out.sel(part="p1").values, paw)  # window 1: untouched
    assert np.isnan(out.sel(part="p3").values).all()
    np.testing.assert_allclose(out.sel(part="p0").values, F.savgol(da.sel(part="p0"), 21).values)
    # The chosen window is the best candidate for the noisy paw, by the truth it never saw.
    def error(window):
        smoothed = da.sel(part="p2") if window == 1 else F.savgol(da.sel(part="p2"), window)
        return float(np.sqrt(np.mean((smoothed.values - paw) ** 2)))
    errors = {w: error(w) for w in (1, 5, 7, 9, 11, 15, 21)}
    assert errors[int(windows.values[2])] <= 1.05 * min(errors.values())


def test_savgol_auto_on_a_dataset_records_the_windows_and_stays_lazy():
    ds, truth = noisy_dataset(noise=2.0)  # straight lines: the widest window wins
    ds = F.interpolate_gaps(ds, 5)
    out = F.savgol(ds, "auto")
    step = poses.provenance(out)[-1]
    assert step["operation"] == "savgol" and step["parameters"]["tracks_per_window"] == {"21": 2}
    rmse = np.sqrt(np.nanmean((out["position"].values - truth) ** 2))
    assert rmse < 0.5 * np.sqrt(np.nanmean((ds["position"].values - truth) ** 2))
    lazy = F.savgol(ds["position"].chunk({"frame": 50}), "auto")
    assert hasattr(lazy.data, "dask")
    np.testing.assert_array_equal(lazy.values, out["position"].values)


def test_savgol_per_track_windows_are_checked():
    da = per_track([stepping_paw(60)])
    with pytest.raises(F.FilterError, match="'auto'"):
        F.savgol(da, "wide")
    with pytest.raises(F.FilterError, match="track dims"):
        F.savgol(da, xr.DataArray([5, 5], dims="coord"))
    with pytest.raises(F.FilterError, match="odd number"):
        F.savgol(da, xr.DataArray([4], dims="part", coords={"part": ["p0"]}))
    with pytest.raises(F.FilterError, match="no usable window"):
        F.smoothing_windows(da, windows=(4, 6))


# --- Kalman smoother -----------------------------------------------------------------------------


def test_kalman_reduces_rmse_on_constant_velocity():
    ds, truth = noisy_dataset(noise=2.0)
    out = F.kalman_smooth(ds)
    known = ~np.isnan(ds["position"].values)
    raw = np.sqrt(np.mean((ds["position"].values[known] - truth[known]) ** 2))
    smooth = np.sqrt(np.mean((out["position"].values[known] - truth[known]) ** 2))
    assert raw == pytest.approx(2.0, rel=0.1)
    assert smooth < 0.25 * raw
    np.testing.assert_array_equal(np.isnan(out["position"].values), ~known)  # gaps stay gaps
    assert poses.provenance(out)[-1]["operation"] == "kalman_smooth"
    poses.validate(out)


def test_kalman_fill_gaps_and_likelihood_weighting():
    ds, truth = noisy_dataset(seed=1, noise=1.0)
    filled = F.kalman_smooth(ds, process_noise=1.0, measurement_noise=1.0, fill_gaps=True)
    gap = filled["position"].values[0, 0, 100:104]
    assert np.isfinite(gap).all()
    assert np.abs(gap - truth[0, 0, 100:104]).max() < 1.0
    # A 40-pixel outlier pulls the estimate far less when its likelihood is low.
    position = ds["position"].values.copy()
    position[0, 1, 200, 0] += 40.0
    pulls = []
    for lik in (0.9, 0.1):
        likelihood = ds["likelihood"].values.copy()
        likelihood[0, 1, 200] = lik
        bad = poses.from_arrays(position, likelihood, fps=30.0, parts=["nose", "tail"])
        out = F.kalman_smooth(bad, process_noise=1.0, measurement_noise=1.0)
        pulls.append(out["position"].values[0, 1, 200, 0] - truth[0, 1, 200, 0])
    assert abs(pulls[1]) < abs(pulls[0]) / 4
    # Below min_likelihood the observation is ignored altogether.
    likelihood = ds["likelihood"].values.copy()
    likelihood[0, 1, 200] = 0.01
    bad = poses.from_arrays(position, likelihood, fps=30.0, parts=["nose", "tail"])
    out = F.kalman_smooth(bad, process_noise=1.0, measurement_noise=1.0)
    assert abs(out["position"].values[0, 1, 200, 0] - truth[0, 1, 200, 0]) < 1.0


def test_kalman_dask_equal_and_errors():
    ds, _ = noisy_dataset(n=120)
    eager = F.kalman_smooth(ds, process_noise=2.0, measurement_noise=1.5)
    lazy = F.kalman_smooth(ds.chunk({"frame": 25}), process_noise=2.0, measurement_noise=1.5)
    assert hasattr(lazy["position"].data, "dask")
    np.testing.assert_allclose(lazy["position"].values, eager["position"].values, rtol=1e-12)
    with pytest.raises(F.FilterError, match="positive"):
        F.kalman_smooth(ds, process_noise=-1.0)
    with pytest.raises(F.FilterError, match="needs the pose Dataset"):
        F.kalman_smooth(ds["position"])
    sparse = ds.copy()
    sparse["position"] = ds["position"].where(ds["frame"] < 2)
    np.testing.assert_array_equal(
        F.kalman_smooth(sparse, 1.0, 1.0)["position"].values, sparse["position"].values
    )


# --- ensemble Kalman smoother --------------------------------------------------------------------


def _member(xy: np.ndarray, fps: float = 30.0, likelihood: float = 0.9) -> xr.Dataset:
    """One animal, one part, track ``xy`` (frame, 2)."""
    return poses.from_arrays(xy[None, None], np.full((1, 1, len(xy)), likelihood), fps=fps, parts=["paw"])


def test_ensemble_smoother_keeps_a_straight_line_exactly():
    frames = np.arange(60.0)
    line = np.stack([10 + 2.5 * frames, 40 - 0.5 * frames], axis=-1)  # constant velocity
    out = F.ensemble_kalman_smooth([_member(line + 1.0), _member(line - 1.0)], process_noise=50.0)
    np.testing.assert_allclose(out["position"].values[0, 0], line, atol=1e-3)  # diffuse start


def test_ensemble_posterior_variance_is_the_least_squares_one():
    """Without random acceleration the smoother fits a straight line by least squares: the
    variance of its position at the middle of N frames observed with variance s^2 is s^2 / N."""
    n, spread = 101, 3.0
    frames = np.arange(float(n))
    line = np.stack([5 + frames, 7 + 0.2 * frames], axis=-1)
    members = [_member(line + spread), _member(line - spread)]  # ensemble variance spread^2 per coord
    out = F.ensemble_kalman_smooth(members, process_noise=1e-9, min_std=0.01)
    variance = out["position_variance"].values[0, 0]
    assert variance[n // 2] == pytest.approx([spread**2 / n] * 2, rel=0.02)
    assert variance[0, 0] == pytest.approx(spread**2 * (4 * n - 2) / (n * (n + 1)), rel=0.02)  # an end
    assert out["position_variance"].attrs["units"] == "pixels^2"
    np.testing.assert_allclose(out["likelihood"].values, 0.9)


def test_ensemble_disagreement_makes_a_frame_count_less():
    frames = np.arange(40.0)
    line = np.stack([3.0 * frames, 100 + 0 * frames], axis=-1)
    a, b = line.copy(), line.copy()
    a[20] += [30.0, 0.0]  # one model puts the paw on the other paw in frame 20
    b[20] += [-2.0, 0.0]
    ensemble = F.ensemble_kalman_smooth([_member(a), _member(b)], process_noise=2000.0)
    assert abs(ensemble["position"].values[0, 0, 20, 0] - line[20, 0]) < 1.5
    assert ensemble["position_variance"].values[0, 0, 20, 0] < 30
    # the same mean with a fixed doubt (one member, no disagreement to go by) follows it more
    single = F.ensemble_kalman_smooth([_member((a + b) / 2)], process_noise=2000.0, min_std=1.0)
    assert abs(single["position"].values[0, 0, 20, 0] - line[20, 0]) > 5


def test_ensemble_gaps_and_errors():
    frames = np.arange(30.0)
    line = np.stack([frames, frames], axis=-1)
    a, b = line.copy(), line.copy() + 0.5
    a[10:13] = np.nan
    b[10:13] = np.nan  # no member saw frames 10-12
    out = F.ensemble_kalman_smooth([_member(a), _member(b)], process_noise=5.0)
    assert np.isnan(out["position"].values[0, 0, 10:13]).all()
    filled = F.ensemble_kalman_smooth([_member(a), _member(b)], process_noise=5.0, fill_gaps=True)
    np.testing.assert_allclose(filled["position"].values[0, 0, 10:13], line[10:13] + 0.25, atol=0.05)
    with pytest.raises(F.FilterError, match="same animals, parts and frames"):
        F.ensemble_kalman_smooth([_member(a), _member(b[:20])])
    with pytest.raises(F.FilterError, match="at least one member"):
        F.ensemble_kalman_smooth([])
    with pytest.raises(F.FilterError, match="min_std must be positive"):
        F.ensemble_kalman_smooth([_member(a)], min_std=0)
