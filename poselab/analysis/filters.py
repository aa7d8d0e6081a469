"""Cleaning pose tracks: mask by likelihood, fill short gaps, smooth.

Conventions
-----------
Every filter takes either a pose Dataset (see :mod:`poselab.core.poses`) or a DataArray with a
``frame`` dim (typically ``ds["position"]``, dims ``(animal, part, frame, coord)``), and returns
the same type: a Dataset comes back with its ``position`` filtered, everything else unchanged, and
the operation recorded in ``attrs["provenance"]`` (:func:`poselab.core.poses.with_provenance`); a
DataArray comes back filtered with its attrs (``units``) kept. :func:`mask_by_likelihood` and
:func:`kalman_smooth` need the likelihood, so they take a Dataset. Wrong inputs raise
:class:`FilterError` (a :class:`ValueError`) naming what to fix.

Windows and gaps are counted in frames (rows along ``frame``), never in seconds, so a filter does
the same thing whatever the frame rate. Units are unchanged by filtering (pixels stay pixels).

NaN marks an unknown position. Filters never invent a position where the input had none, except
:func:`interpolate_gaps` (its purpose) and :func:`kalman_smooth` with ``fill_gaps=True``.

All filters are dask-safe: on data chunked along ``frame`` (``ds.chunk({"frame": 1000})``) they
stay lazy and give the same values as in memory. Windowed filters run per chunk with an overlap
of half a window (``dask.array.map_overlap``), so chunk boundaries do not change any value;
:func:`kalman_smooth` needs whole series and processes one chunk per (animal, part) instead.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import xarray as xr

from poselab.core import poses
from poselab.core.errors import PoselabError
from poselab.core.validate import pose_dataset, position_array, sample_times

__all__ = [
    "FilterError",
    "mask_by_likelihood",
    "interpolate_gaps",
    "rolling_median",
    "savgol",
    "smoothing_windows",
    "kalman_smooth",
    "ensemble_kalman_smooth",
]


class FilterError(PoselabError, ValueError):
    """The input or a parameter of a filter is not usable (missing dim, bad window, ...)."""


# --- input handling ---------------------------------------------------------------------------


def _positions(data: xr.Dataset | xr.DataArray, func: str) -> xr.DataArray:
    return position_array(data, func=func, dims=("frame",), error=FilterError, floating=True)


def _dataset(data: Any, func: str) -> xr.Dataset:
    return pose_dataset(data, func=func, error=FilterError)


def _wrap(
    data: xr.Dataset | xr.DataArray, filtered: xr.DataArray, func: str, **params: Any
) -> xr.Dataset | xr.DataArray:
    """Put filtered positions back into the input's type, recording provenance for a Dataset."""
    source = data["position"] if isinstance(data, xr.Dataset) else data
    filtered = filtered.transpose(*source.dims)
    filtered.attrs = dict(source.attrs)
    filtered.name = source.name
    if isinstance(data, xr.Dataset):
        out = data.assign(position=filtered)
        out.attrs = dict(data.attrs)
        return poses.with_provenance(out, func, **params)
    return filtered


def _window(window_frames: Any, func: str, n_frames: int | None = None) -> int:
    if isinstance(window_frames, bool) or not isinstance(window_frames, (int, np.integer)):
        raise FilterError(f"{func}: window_frames must be an int; got {window_frames!r}")
    window = int(window_frames)
    if window < 1 or window % 2 == 0:
        raise FilterError(
            f"{func}: window_frames must be a positive odd number of frames (centred window); "
            f"got {window}"
        )
    if n_frames is not None and window > n_frames:
        raise FilterError(f"{func}: window_frames={window} is longer than the {n_frames} frames")
    return window


def _frames_of(da: xr.DataArray) -> np.ndarray:
    if "frame" in da.coords:
        return np.asarray(da["frame"].values, dtype=np.float64)
    return np.arange(da.sizes["frame"], dtype=np.float64)


def _map_frames(
    da: xr.DataArray,
    kernel: Callable[..., np.ndarray],
    depth: int,
    with_frames: bool = False,
    **kwargs: Any,
) -> xr.DataArray:
    """Apply ``kernel(values, [frames,] axis=..., **kwargs)`` along ``frame``.

    In memory: one call. On dask data: per chunk with ``depth`` frames of overlap from the
    neighbouring chunks (none beyond the array's ends), so values equal the in-memory ones as long
    as the kernel only looks ``depth`` frames away.
    """
    axis = da.get_axis_num("frame")
    if hasattr(da.data, "dask"):
        import dask.array as dsa

        data = da.data
        args = [data]
        if with_frames:
            shape = [1] * da.ndim
            shape[axis] = -1
            chunks = tuple(data.chunks[i] if i == axis else (1,) for i in range(da.ndim))
            args.append(dsa.from_array(_frames_of(da).reshape(shape), chunks=chunks))
        result = dsa.map_overlap(
            functools.partial(kernel, axis=axis, **kwargs),
            *args,
            depth={axis: depth},
            boundary="none",
            dtype=np.result_type(data.dtype, np.float64),
            align_arrays=False,
        )
    else:
        args = [np.asarray(da.data)]
        if with_frames:
            args.append(_frames_of(da))
        result = kernel(*args, axis=axis, **kwargs)
    return da.copy(data=result)


# --- kernels (numpy, along one axis) ----------------------------------------------------------


def _fill_gaps_kernel(
    a: np.ndarray, frames: np.ndarray, axis: int, max_gap: int
) -> np.ndarray:
    """Linear interpolation over runs of NaN spanning at most ``max_gap`` frames."""
    a = np.moveaxis(np.asarray(a, dtype=np.float64), axis, -1)
    frames = np.asarray(frames, dtype=np.float64).reshape(-1)
    n = a.shape[-1]
    out = a.copy()
    nan = np.isnan(a)
    if n < 3 or not nan.any():
        return np.moveaxis(out, -1, axis)
    index = np.arange(n)
    prev = np.where(nan, -1, index)
    np.maximum.accumulate(prev, axis=-1, out=prev)
    nxt = np.where(nan, n, index)
    nxt = np.minimum.accumulate(nxt[..., ::-1], axis=-1)[..., ::-1]
    inside = nan & (prev >= 0) & (nxt < n)
    p, q = np.clip(prev, 0, n - 1), np.clip(nxt, 0, n - 1)
    f0, f1 = frames[p], frames[q]
    # Unknown video frames between the two known ones (frame labels, so dropped rows count too).
    fill = inside & (f1 - f0 - 1 <= max_gap)
    if fill.any():
        y0 = np.take_along_axis(a, p, axis=-1)[fill]
        y1 = np.take_along_axis(a, q, axis=-1)[fill]
        x = np.broadcast_to(frames, a.shape)[fill]
        out[fill] = y0 + (x - f0[fill]) * (y1 - y0) / (f1[fill] - f0[fill])
    return np.moveaxis(out, -1, axis)


def _odd_reflect_pad(a: np.ndarray, half: int) -> np.ndarray:
    """Pad the last axis by point reflection about the end values (keeps lines straight)."""
    n = a.shape[-1]
    if half == 0:
        return a
    if n <= half:
        pad = np.full(a.shape[:-1] + (half,), np.nan)
        return np.concatenate([pad, a, pad], axis=-1)
    left = 2 * a[..., :1] - a[..., half:0:-1]
    right = 2 * a[..., -1:] - a[..., n - 2 : n - 2 - half : -1]
    return np.concatenate([left, a, right], axis=-1)


def _rolling_median_kernel(a: np.ndarray, axis: int, window: int, min_periods: int) -> np.ndarray:
    a = np.moveaxis(np.asarray(a, dtype=np.float64), axis, -1)
    half = window // 2
    windows = np.lib.stride_tricks.sliding_window_view(_odd_reflect_pad(a, half), window, axis=-1)
    ordered = np.sort(windows, axis=-1)  # NaN sort last
    count = window - np.isnan(windows).sum(axis=-1)
    lo = np.take_along_axis(ordered, np.maximum((count - 1) // 2, 0)[..., None], axis=-1)[..., 0]
    upper = np.minimum(count // 2, window - 1)[..., None]
    hi = np.take_along_axis(ordered, upper, axis=-1)[..., 0]
    out = 0.5 * (lo + hi)
    out[(count < min_periods) | np.isnan(a)] = np.nan
    return np.moveaxis(out, -1, axis)


def _savgol_kernel(a: np.ndarray, axis: int, window: int, polyorder: int) -> np.ndarray:
    from scipy.ndimage import maximum_filter1d
    from scipy.signal import savgol_filter

    a = np.asarray(a, dtype=np.float64)
    nan = np.isnan(a)
    if not nan.any():
        return savgol_filter(a, window, polyorder, axis=axis, mode="interp")
    out = savgol_filter(np.where(nan, 0.0, a), window, polyorder, axis=axis, mode="interp")
    # An output is unknown when any input it was computed from is: the centred window in the
    # interior, the first / last whole window for the edge frames (mode="interp" fits them).
    bad = maximum_filter1d(nan.astype(np.uint8), size=window, axis=axis, mode="constant").astype(
        bool
    )
    half = window // 2
    if half:
        n = a.shape[axis]

        def take(s: slice) -> tuple:
            return tuple(s if i == axis else slice(None) for i in range(a.ndim))

        bad[take(slice(0, half))] |= nan[take(slice(0, window))].any(axis=axis, keepdims=True)
        bad[take(slice(n - half, n))] |= nan[take(slice(n - window, n))].any(
            axis=axis, keepdims=True
        )
    out[bad] = np.nan
    return out


# --- filters ----------------------------------------------------------------------------------


def mask_by_likelihood(ds: xr.Dataset, threshold: float = 0.6) -> xr.Dataset:
    """Mark positions whose likelihood is below ``threshold`` as unknown (NaN).

    Parameters
    ----------
    ds
        Pose Dataset with ``position`` and ``likelihood``.
    threshold
        Likelihood in [0, 1]; positions with ``likelihood >= threshold`` are kept. A NaN likelihood
        counts as below the threshold.

    Returns
    -------
    xarray.Dataset
        ``ds`` with masked ``position`` (pixels); ``likelihood`` is kept as the model gave it.
    """
    ds = _dataset(ds, "mask_by_likelihood")
    threshold = float(threshold)
    if not 0.0 <= threshold <= 1.0:
        raise FilterError(f"mask_by_likelihood: threshold must lie in [0, 1]; got {threshold}")
    masked = ds["position"].where(ds["likelihood"] >= threshold)
    return _wrap(ds, masked, "mask_by_likelihood", threshold=threshold)


def interpolate_gaps(
    data: xr.Dataset | xr.DataArray, max_gap_frames: int
) -> xr.Dataset | xr.DataArray:
    """Fill gaps of at most ``max_gap_frames`` unknown frames by linear interpolation.

    Parameters
    ----------
    data
        Pose Dataset or DataArray with a ``frame`` dim (pixels).
    max_gap_frames
        Longest run of consecutive unknown frames to fill (frames, >= 0). Longer gaps, and gaps at
        the start or end of a track (no known position on one side), stay NaN.

    Returns
    -------
    xarray.Dataset or xarray.DataArray
        Same type as ``data``, positions in the same units.

    Notes
    -----
    Gap length and interpolation weights use the ``frame`` labels, so rows dropped from the Dataset
    count as missing frames. With contiguous frames this equals movement's
    ``interpolate_over_time(max_gap=max_gap_frames)``; unlike it, chunked data stay lazy (overlap
    of ``max_gap_frames + 1`` frames between chunks).
    """
    da = _positions(data, "interpolate_gaps")
    if isinstance(max_gap_frames, bool) or not isinstance(max_gap_frames, (int, np.integer)):
        raise FilterError(
            f"interpolate_gaps: max_gap_frames must be an int; got {max_gap_frames!r}"
        )
    if max_gap_frames < 0:
        raise FilterError(f"interpolate_gaps: max_gap_frames must be >= 0; got {max_gap_frames}")
    max_gap = int(max_gap_frames)
    depth = min(max_gap + 1, max(da.sizes["frame"] - 1, 0))
    filled = _map_frames(da, _fill_gaps_kernel, depth, with_frames=True, max_gap=max_gap)
    return _wrap(data, filled, "interpolate_gaps", max_gap_frames=max_gap)


def rolling_median(
    data: xr.Dataset | xr.DataArray, window_frames: int, min_periods: int = 1
) -> xr.Dataset | xr.DataArray:
    """Centred rolling median over ``window_frames`` frames, ignoring unknown frames.

    Parameters
    ----------
    data
        Pose Dataset or DataArray with a ``frame`` dim (pixels).
    window_frames
        Odd window length in frames.
    min_periods
        Fewest known frames in a window for a result; fewer give NaN.

    Returns
    -------
    xarray.Dataset or xarray.DataArray
        Same type as ``data``; NaN where the input was NaN (no gap filling).

    Notes
    -----
    The median of the known values in each window (the mean of the two middle ones for an even
    count). At the ends the track is extended by point reflection about the end value, so constant
    and straight-line (uniform motion) tracks come back unchanged, end frames included. movement's
    ``rolling_filter`` pads by mirror reflection instead and needs every frame in a window known by
    default.
    """
    da = _positions(data, "rolling_median")
    window = _window(window_frames, "rolling_median")
    if isinstance(min_periods, bool) or not 1 <= int(min_periods) <= window:
        raise FilterError(
            f"rolling_median: min_periods must lie in [1, {window}]; got {min_periods}"
        )
    depth = min(window // 2, max(da.sizes["frame"] - 1, 0))
    out = _map_frames(
        da, _rolling_median_kernel, depth, window=window, min_periods=int(min_periods)
    )
    return _wrap(
        data, out, "rolling_median", window_frames=window, min_periods=int(min_periods)
    )


def savgol(
    data: xr.Dataset | xr.DataArray,
    window_frames: int | str | xr.DataArray,
    polyorder: int = 2,
) -> xr.Dataset | xr.DataArray:
    """Savitzky-Golay smoothing: a least-squares polynomial fit in a sliding window.

    Parameters
    ----------
    data
        Pose Dataset or DataArray with a ``frame`` dim (pixels).
    window_frames
        Odd window length in frames, larger than ``polyorder`` and at most the number of frames.
        ``"auto"``: a window for each track (each animal and part) chosen from the track's own
        noise, none where smoothing would do more harm than good (:func:`smoothing_windows`).
        A DataArray of odd windows over the track dims (1 = leave the track as it is) applies
        those.
    polyorder
        Degree of the local polynomial; polynomials up to this degree pass unchanged.

    Returns
    -------
    xarray.Dataset or xarray.DataArray
        Same type as ``data``; NaN wherever a frame used by the fit is unknown.

    Notes
    -----
    ``scipy.signal.savgol_filter(mode="interp")``: the end frames get the polynomial fitted to the
    first / last window. Unknown frames are never smoothed over: every output whose window holds a
    NaN is NaN (fill short gaps first with :func:`interpolate_gaps`). SciPy itself raises on NaN
    in an end window, and movement's ``savgol_filter`` loads chunked data into memory; this one
    stays lazy.
    """
    da = _positions(data, "savgol")
    if isinstance(polyorder, bool) or not isinstance(polyorder, (int, np.integer)):
        raise FilterError(f"savgol: polyorder must be an int; got {polyorder!r}")
    if isinstance(window_frames, str) and window_frames != "auto":
        raise FilterError(f"savgol: window_frames must be an odd int, 'auto' or a DataArray; got {window_frames!r}")
    if isinstance(window_frames, (str, xr.DataArray)):
        windows = smoothing_windows(da, polyorder) if isinstance(window_frames, str) else window_frames
        out = _savgol_per_track(da, windows, int(polyorder))
        chosen = {int(w): int((windows == w).sum()) for w in np.unique(windows.values)}
        return _wrap(data, out, "savgol", window_frames="per track", tracks_per_window=chosen,
                     polyorder=int(polyorder))
    window = _window(window_frames, "savgol", da.sizes["frame"])
    if not 0 <= polyorder < window:
        raise FilterError(
            f"savgol: polyorder must lie in [0, window_frames); got {polyorder} for {window}"
        )
    return _wrap(data, _savgol_array(da, window, int(polyorder)), "savgol", window_frames=window,
                 polyorder=int(polyorder))


def _savgol_array(da: xr.DataArray, window: int, polyorder: int) -> xr.DataArray:
    """:func:`savgol` of a position DataArray with one window (lazy on dask data)."""
    depth = window // 2
    if hasattr(da.data, "dask"):
        # The end fits of mode="interp" need the first / last whole window in one block: merge
        # end chunks shorter than a window into their neighbours.
        chunks = list(da.chunks[da.get_axis_num("frame")])
        while len(chunks) > 1 and chunks[-1] < window:
            chunks[-2:] = [chunks[-2] + chunks[-1]]
        while len(chunks) > 1 and chunks[0] < window:
            chunks[:2] = [chunks[0] + chunks[1]]
        if tuple(chunks) != da.chunks[da.get_axis_num("frame")]:
            da = da.chunk({"frame": tuple(chunks)})
    return _map_frames(da, _savgol_kernel, depth, window=window, polyorder=polyorder)


def _track_dims(da: xr.DataArray) -> list[str]:
    return [d for d in da.dims if d not in ("frame", "coord")]


def _savgol_per_track(da: xr.DataArray, windows: xr.DataArray, polyorder: int) -> xr.DataArray:
    """Each track smoothed with its own window (1: unchanged)."""
    missing = [d for d in windows.dims if d not in _track_dims(da)]
    if missing:
        raise FilterError(
            f"savgol: the windows' dims {missing} are not track dims of the positions "
            f"({_track_dims(da)}); pass windows over those, e.g. from smoothing_windows"
        )
    out = da
    for w in np.unique(windows.values):
        w = int(w)
        if w == 1:
            continue
        if w < 1 or w % 2 == 0 or w <= polyorder or w > da.sizes["frame"]:
            raise FilterError(
                f"savgol: every window must be 1 or an odd number of frames above polyorder "
                f"{polyorder} and at most {da.sizes['frame']}; got {w}"
            )
        out = xr.where(windows == w, _savgol_array(da, w, polyorder), out, keep_attrs=True)
    return out.transpose(*da.dims)


AUTO_WINDOWS = (1, 5, 7, 9, 11, 15, 21)
"""Windows (frames) that :func:`smoothing_windows` chooses among; 1 is no smoothing."""


def _noise_sd_kernel(a: np.ndarray, axis: int) -> np.ndarray:
    """Robust white-noise SD along ``axis`` from second differences, pooled over the last axis.

    For white noise of SD s the second difference has SD s * sqrt(6). Paws are still in stance
    but jump in swing, so up to half of the differences are motion, not noise: the 25th
    percentile of their magnitude (0.3186 SD for a normal variable) is read instead of the
    median; it holds while at least about a third of the frames are free of fast motion.
    """
    a = np.moveaxis(np.asarray(a, dtype=np.float64), axis, -2)  # (..., frame, coord)
    d2 = np.abs(a[..., 2:, :] - 2 * a[..., 1:-1, :] + a[..., :-2, :])
    d2 = d2.reshape(*d2.shape[:-2], -1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN tracks give NaN
        return np.nanpercentile(d2, 25, axis=-1) / 0.3186 / math.sqrt(6)


def smoothing_windows(
    data: xr.Dataset | xr.DataArray,
    polyorder: int = 2,
    windows: tuple[int, ...] = AUTO_WINDOWS,
) -> xr.DataArray:
    """The Savitzky-Golay window for each track that minimises its expected error.

    For each track (animal and part), the error that smoothing with each candidate window
    leaves is estimated with Stein's unbiased risk estimate (SURE; Mallows' Cp), from the track
    itself: ``mean((smoothed - raw)**2) - s**2 + 2 s**2 h``, where ``h`` is the window's weight
    on the frame itself and ``s`` the track's white-noise SD, read robustly off its second
    differences. No smoothing (window 1) leaves ``s**2``. A track from a precise model, whose
    errors are small and change slowly from frame to frame, gets little or no smoothing; a
    noisy one a wide window, as wide as its motion allows (a fast step is not flattened).

    Parameters
    ----------
    data
        Pose Dataset or DataArray with a ``frame`` dim (pixels); fill short gaps first
        (:func:`interpolate_gaps`): frames whose window holds a NaN do not count.
    polyorder
        Degree of the local polynomial (windows at or below it are skipped).
    windows
        Candidate odd windows in frames; 1 stands for no smoothing.

    Returns
    -------
    xarray.DataArray
        Int windows (frames) over the track dims (``animal``, ``part``), named ``window_frames``,
        for :func:`savgol`; a track with too few known frames gets 1.

    Notes
    -----
    Reads the data once (a dask array is computed for the choice; :func:`savgol` stays lazy).
    Errors of a network are correlated from frame to frame, so their second differences
    understate them and the choice leans to less smoothing, as it should: smoothing does little
    against an error that stays for several frames, and would blur fast motion.
    """
    from scipy.signal import savgol_coeffs

    da = _positions(data, "smoothing_windows")
    n = da.sizes["frame"]
    cands = sorted({int(w) for w in windows if w == 1 or (w % 2 == 1 and polyorder < w <= n)})
    if not cands:
        raise FilterError(f"smoothing_windows: no usable window among {windows} for {n} frames")
    track = _track_dims(da)
    stacked = da.transpose(*track, "frame", ...)
    values = np.asarray(stacked.values, dtype=np.float64)
    if values.ndim == len(track) + 1:  # no coord dim
        values = values[..., None]
    s2 = _noise_sd_kernel(values, axis=-2) ** 2
    risks = []
    for w in cands:
        if w == 1:
            risks.append(s2)
            continue
        smooth = _savgol_kernel(values, axis=-2, window=w, polyorder=polyorder)
        h = float(savgol_coeffs(w, polyorder)[w // 2])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            mse = np.nanmean(((smooth - values) ** 2).reshape(*values.shape[:-2], -1), axis=-1)
        risks.append(mse - s2 + 2 * s2 * h)
    risks = np.stack(risks, axis=-1)
    best = np.argmin(np.where(np.isfinite(risks), risks, np.inf), axis=-1)
    chosen = np.where(np.isfinite(risks).all(axis=-1), np.asarray(cands)[best], 1)
    coords = {d: da[d] for d in track if d in da.coords}
    return xr.DataArray(chosen.astype(int), dims=track, coords=coords, name="window_frames",
                        attrs={"units": "frames"})


# --- Kalman smoother --------------------------------------------------------------------------


def kalman_smooth(
    ds: xr.Dataset,
    process_noise: float | None = None,
    measurement_noise: float | None = None,
    min_likelihood: float = 0.05,
    fill_gaps: bool = False,
    max_fit_frames: int = 20_000,
    progress: bool = False,
) -> xr.Dataset:
    """Smooth each track with a constant-velocity state-space model (Kalman / RTS smoother).

    Parameters
    ----------
    ds
        Pose Dataset (``position`` and ``likelihood``).
    process_noise
        Standard deviation of the random acceleration, in ``units``/s^2 (pixels/s^2; per frame^2
        when the frame rate is unknown). ``None``: estimated per track by maximum likelihood.
    measurement_noise
        Standard deviation of a position with likelihood 1, in ``units`` (pixels). ``None``:
        estimated per track by maximum likelihood.
    min_likelihood
        Observations with a lower (or NaN) likelihood are treated as missing.
    fill_gaps
        Keep the smoother's estimates at frames whose position was unknown (bridging gaps along
        the constant-velocity prediction). Default: such frames stay NaN.
    max_fit_frames
        When noise levels are estimated, fit them on at most this many leading frames per track
        (the smoother itself always runs over the whole track).
    progress
        Show a progress bar over tracks (in-memory data).

    Returns
    -------
    xarray.Dataset
        ``ds`` with smoothed ``position`` (same units), provenance recorded.

    Notes
    -----
    Per (animal, part), the state is position and velocity of every coordinate; each step of
    ``dt`` seconds (from ``time``; frames when fps is unknown) moves the position by ``velocity *
    dt`` plus a random acceleration ``a ~ N(0, process_noise^2)`` held during the step (discrete
    white-noise acceleration). Coordinates are observed with variance ``measurement_noise^2 /
    likelihood``, so confident detections pull harder; missing or low-likelihood ones are skipped
    by the filter. Built on ``statsmodels.tsa.statespace.MLEModel`` (approximate diffuse start);
    noise levels, when not given, maximise the likelihood of the track. Tracks with fewer than 3
    usable observations are returned as they were. On chunked (dask) data each track is processed
    whole (one chunk per animal and part along ``frame``), lazily.
    """
    ds = _dataset(ds, "kalman_smooth")
    position = _positions(ds, "kalman_smooth")
    if "coord" not in position.dims:
        raise FilterError("kalman_smooth: 'position' lacks the 'coord' dim")
    noises = (("process_noise", process_noise), ("measurement_noise", measurement_noise))
    for name, value in noises:
        if value is not None and not (math.isfinite(float(value)) and float(value) > 0):
            raise FilterError(f"kalman_smooth: {name} must be positive (or None); got {value}")
    if not 0.0 <= float(min_likelihood) <= 1.0:
        raise FilterError(
            f"kalman_smooth: min_likelihood must lie in [0, 1]; got {min_likelihood}"
        )

    t, time_unit = sample_times(position, func="kalman_smooth", error=FilterError)
    likelihood = ds["likelihood"]
    lead = [d for d in position.dims if d not in ("frame", "coord")]
    kwargs = dict(
        t=t,
        process_noise=None if process_noise is None else float(process_noise),
        measurement_noise=None if measurement_noise is None else float(measurement_noise),
        min_likelihood=float(min_likelihood),
        fill_gaps=bool(fill_gaps),
        max_fit_frames=int(max_fit_frames),
    )
    lazy = hasattr(position.data, "dask")
    if lazy:
        position = position.chunk({"frame": -1, **{d: 1 for d in lead}})
        likelihood = likelihood.chunk(
            {"frame": -1, **{d: 1 for d in lead if d in likelihood.dims}}
        )
    smoothed = xr.apply_ufunc(
        functools.partial(_kalman_tracks, progress=progress and not lazy, **kwargs),
        position,
        likelihood,
        input_core_dims=[["frame", "coord"], ["frame"]],
        output_core_dims=[["frame", "coord"]],
        dask="parallelized",
        output_dtypes=[np.float64],
    )
    return _wrap(
        ds,
        smoothed,
        "kalman_smooth",
        process_noise=process_noise,
        measurement_noise=measurement_noise,
        min_likelihood=float(min_likelihood),
        fill_gaps=bool(fill_gaps),
        time_unit=time_unit,
    )


def ensemble_kalman_smooth(
    members: list[xr.Dataset],
    process_noise: float | None = None,
    min_std: float = 0.5,
    fill_gaps: bool = False,
    max_fit_frames: int = 20_000,
    progress: bool = False,
) -> xr.Dataset:
    """Smooth the mean of an ensemble of pose estimates, trusting each frame as much as the
    members agree there (an ensemble Kalman smoother, after Lightning Pose's EKS).

    Parameters
    ----------
    members
        Two or more pose Datasets of the same video, animals and parts (several models, or one
        model's predictions with test-time changes); one member gives a plain Kalman smoother
        with ``min_std`` as its measurement noise.
    process_noise
        Standard deviation of the random acceleration, in ``units``/s^2 (pixels/s^2; per
        frame^2 when the frame rate is unknown). ``None``: per track, by maximum likelihood.
    min_std
        Floor of the observation standard deviation, in ``units`` (pixels): members that agree
        exactly still leave this much doubt.
    fill_gaps
        Keep the smoother's estimates at frames no member saw (otherwise NaN there).
    max_fit_frames
        Fit the process noise on at most this many leading frames per track.
    progress
        Show a progress bar over tracks.

    Returns
    -------
    xarray.Dataset
        The first member with ``position`` smoothed, ``likelihood`` the members' mean, and
        ``position_variance`` ``(animal, part, frame, coord)``: the smoother's posterior
        variance, in ``units``^2 (pixels^2).

    Notes
    -----
    Per (animal, part): the observation is the members' mean position, with variance the
    members' variance (mean over coordinates, at least ``min_std^2``; frames seen by no member
    are missing); the state is position and velocity with a random acceleration, as in
    :func:`kalman_smooth`. A frame where the members disagree (a paw one model puts on the
    other paw) is thus nearly ignored, and the neighbouring frames carry the track through it.
    """
    if not members:
        raise FilterError("ensemble_kalman_smooth: give at least one member (a pose Dataset)")
    datasets = [_dataset(m, "ensemble_kalman_smooth") for m in members]
    first = datasets[0]
    for k, other in enumerate(datasets[1:], start=1):
        for dim in ("animal", "part", "frame", "coord"):
            if not np.array_equal(other[dim].values, first[dim].values):
                raise FilterError(f"ensemble_kalman_smooth: member {k} has other {dim!r} values than "
                                  f"member 0; members must cover the same animals, parts and frames")
    if process_noise is not None and not (math.isfinite(float(process_noise)) and float(process_noise) > 0):
        raise FilterError(f"ensemble_kalman_smooth: process_noise must be positive (or None); got {process_noise}")
    if not (math.isfinite(float(min_std)) and float(min_std) > 0):
        raise FilterError(f"ensemble_kalman_smooth: min_std must be positive; got {min_std}")
    stacked = np.stack([d["position"].transpose("animal", "part", "frame", "coord").values
                        for d in datasets])  # (member, animal, part, frame, coord)
    seen = np.isfinite(stacked).all(-1)  # (member, animal, part, frame)
    count = seen.sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        total = np.where(seen[..., None], stacked, 0.0).sum(0)
        mean = np.where(count[..., None] > 0, total / count[..., None], np.nan)
        spread = np.where(seen[..., None], (stacked - mean) ** 2, 0.0).sum(0)
        variance = np.where(count > 0, spread.mean(-1) / np.maximum(count, 1), np.nan)
    variance = np.maximum(variance, float(min_std) ** 2)
    position = _positions(first, "ensemble_kalman_smooth")
    t, time_unit = sample_times(position, func="ensemble_kalman_smooth", error=FilterError)
    from tqdm.auto import tqdm

    smoothed = np.full(mean.shape, np.nan)
    posterior = np.full(mean.shape, np.nan)
    tracks = list(np.ndindex(*mean.shape[:2]))
    for index in tqdm(tracks, disable=not progress, desc="ensemble_kalman_smooth"):
        smoothed[index], posterior[index] = _ensemble_track(
            mean[index], variance[index], t, None if process_noise is None else float(process_noise),
            bool(fill_gaps), int(max_fit_frames))
    dims = ("animal", "part", "frame", "coord")
    likelihoods = np.stack([d["likelihood"].transpose("animal", "part", "frame").values for d in datasets])
    with warnings.catch_warnings():  # a frame no member saw has no mean: NaN, said once here
        warnings.simplefilter("ignore", RuntimeWarning)
        mean_likelihood = np.nanmean(likelihoods, axis=0)
    out = _wrap(first, xr.DataArray(smoothed, dims=dims, coords={d: first[d] for d in dims}),
                "ensemble_kalman_smooth", members=len(datasets), process_noise=process_noise,
                min_std=float(min_std), fill_gaps=bool(fill_gaps), time_unit=time_unit)
    out["likelihood"] = xr.DataArray(mean_likelihood, dims=dims[:3]).transpose(*first["likelihood"].dims)
    units = first["position"].attrs.get("units", "pixels")
    out["position_variance"] = xr.DataArray(posterior, dims=dims, attrs={"units": f"{units}^2"}).transpose(
        *first["position"].dims)
    return out


def _ensemble_track(
    mean: np.ndarray, variance: np.ndarray, t: np.ndarray, process_noise: float | None,
    fill_gaps: bool, max_fit_frames: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Smoothed positions and their posterior variances ``(frame, coord)`` of one track."""
    usable = np.isfinite(mean).all(-1) & np.isfinite(variance)
    if usable.sum() < 3:
        return mean.copy(), np.where(usable[:, None], variance[:, None], np.nan) * np.ones(mean.shape)
    obs = np.where(usable[:, None], mean, np.nan)
    weight = np.where(usable, 1.0 / np.where(usable, variance, 1.0), 1.0)  # obs variance = 1 / weight
    dt = np.diff(t) if t.size > 1 else np.ones(1)
    params = np.array([])
    if process_noise is None:
        n_fit = min(len(obs), max(max_fit_frames, 3))
        fit_model = _ConstantVelocity(obs[:n_fit], dt[: max(n_fit - 1, 1)], weight[:n_fit], None, 1.0)
        try:
            params = fit_model.fit(disp=False, maxiter=200).params
        except (np.linalg.LinAlgError, ValueError):
            params = fit_model.start_params
    model = _ConstantVelocity(obs, dt, weight, process_noise, 1.0)
    result = model.smooth(params)
    n = mean.shape[-1]
    smoothed = np.asarray(result.smoothed_state[:n]).T
    cov = np.asarray(result.smoothed_state_cov)  # (k, k, frame)
    posterior = np.stack([cov[c, c] for c in range(n)], axis=-1)
    if not fill_gaps:
        smoothed[~usable] = np.nan
        posterior[~usable] = np.nan
    return smoothed, posterior


def _kalman_tracks(
    position: np.ndarray, likelihood: np.ndarray, progress: bool = False, **kwargs: Any
) -> np.ndarray:
    """Smooth every track of ``position (..., frame, coord)`` (one statsmodels run per track)."""
    from tqdm.auto import tqdm

    lead = position.shape[:-2]
    out = np.empty(position.shape, dtype=np.float64)
    for index in tqdm(list(np.ndindex(*lead)), disable=not progress, desc="kalman_smooth"):
        out[index] = _kalman_track(position[index], likelihood[index], **kwargs)
    return out


def _kalman_track(
    y: np.ndarray,
    likelihood: np.ndarray,
    t: np.ndarray,
    process_noise: float | None,
    measurement_noise: float | None,
    min_likelihood: float,
    fill_gaps: bool,
    max_fit_frames: int,
) -> np.ndarray:
    """Smoothed positions ``(frame, coord)`` of one track."""
    y = np.asarray(y, dtype=np.float64)
    known = ~np.isnan(y).any(axis=-1)
    weight = np.asarray(likelihood, dtype=np.float64).copy()
    usable = known & np.isfinite(weight) & (weight >= min_likelihood) & (weight > 0)
    if usable.sum() < 3:
        return y.copy()
    obs = np.where(usable[:, None], y, np.nan)
    weight = np.where(usable, np.clip(weight, min_likelihood, 1.0), 1.0)
    dt = np.diff(t) if t.size > 1 else np.ones(1)
    params = None
    if process_noise is None or measurement_noise is None:
        n_fit = min(len(y), max(int(max_fit_frames), 3))
        fit_model = _ConstantVelocity(
            obs[:n_fit], dt[: max(n_fit - 1, 1)], weight[:n_fit], process_noise, measurement_noise
        )
        try:
            fitted = fit_model.fit(disp=False, maxiter=200)
            params = fitted.params
        except (np.linalg.LinAlgError, ValueError):
            params = fit_model.start_params
    model = _ConstantVelocity(obs, dt, weight, process_noise, measurement_noise)
    if params is None:
        params = model.start_params
    result = model.smooth(params)
    n_coords = y.shape[-1]
    smoothed = np.asarray(result.smoothed_state[:n_coords]).T
    if not fill_gaps:
        smoothed[~known] = np.nan
    return smoothed


def _make_mlemodel() -> type:
    from statsmodels.tsa.statespace.mlemodel import MLEModel

    class ConstantVelocity(MLEModel):
        """Position + velocity per coordinate; observation variance scaled by 1 / likelihood.

        Free parameters (those not fixed by the caller): the acceleration standard deviation and
        the measurement standard deviation, both positive (fitted on a log scale).
        """

        def __init__(
            self,
            endog: np.ndarray,
            dt: np.ndarray,
            weight: np.ndarray,
            process_noise: float | None,
            measurement_noise: float | None,
        ) -> None:
            n_frames, n_coords = endog.shape
            k = 2 * n_coords
            super().__init__(endog, k_states=k, k_posdef=k, initialization="approximate_diffuse")
            self._fixed = (process_noise, measurement_noise)
            self._n_coords = n_coords
            eye = np.eye(n_coords)
            self["design"] = np.hstack([eye, np.zeros((n_coords, n_coords))])
            self["selection"] = np.eye(k)
            steps = np.empty(n_frames)
            steps[: len(dt)] = dt[:n_frames]
            steps[len(dt) :] = dt[-1]
            uniform = np.allclose(steps, steps[0], rtol=1e-9, atol=0)
            if uniform:
                steps = steps[:1]
            transition = np.zeros((k, k, steps.size))
            transition[:n_coords, :n_coords] = eye[..., None]
            transition[n_coords:, n_coords:] = eye[..., None]
            transition[:n_coords, n_coords:] = eye[..., None] * steps
            q = np.zeros((k, k, steps.size))  # per unit acceleration variance
            q[:n_coords, :n_coords] = eye[..., None] * steps**4 / 4
            q[:n_coords, n_coords:] = eye[..., None] * steps**3 / 2
            q[n_coords:, :n_coords] = eye[..., None] * steps**3 / 2
            q[n_coords:, n_coords:] = eye[..., None] * steps**2
            if uniform:
                transition, q = transition[..., 0], q[..., 0]
            self["transition"] = transition
            self._q = q
            self._r = eye[..., None] / weight[None, None, :]
            self._step = float(steps[0])
            self._start = self._initial_guess(endog)

        def _initial_guess(self, endog: np.ndarray) -> np.ndarray:
            # Second differences of a constant-velocity track are 6 sigma^2 of noise plus
            # acceleration; a robust spread of them starts both noise levels.
            d2 = np.diff(endog, n=2, axis=0)
            d2 = d2[np.isfinite(d2)]
            spread = 1.4826 * np.median(np.abs(d2)) if d2.size else 1.0
            spread = spread if spread > 0 else 1.0
            return np.array([spread / self._step**2, spread / math.sqrt(6)])

        @property
        def param_names(self) -> list[str]:
            names = ["process_noise", "measurement_noise"]
            return [n for n, fixed in zip(names, self._fixed) if fixed is None]

        @property
        def start_params(self) -> np.ndarray:
            return np.array(
                [g for g, fixed in zip(self._start, self._fixed) if fixed is None], dtype=float
            )

        def transform_params(self, unconstrained: np.ndarray) -> np.ndarray:
            return np.exp(unconstrained)

        def untransform_params(self, constrained: np.ndarray) -> np.ndarray:
            return np.log(constrained)

        def update(self, params: np.ndarray, **kwargs: Any) -> None:
            params = super().update(params, **kwargs)
            values = iter(np.atleast_1d(params))
            sigma_a, sigma_m = (
                fixed if fixed is not None else next(values) for fixed in self._fixed
            )
            self["state_cov"] = self._q * sigma_a**2
            self["obs_cov"] = self._r * sigma_m**2

        def smooth(self, params: np.ndarray, **kwargs: Any) -> Any:
            if len(np.atleast_1d(params)) == 0:
                params = np.array([])
            return super().smooth(params, **kwargs)

    return ConstantVelocity


@functools.cache
def _model_class() -> type:
    return _make_mlemodel()


def _ConstantVelocity(*args: Any, **kwargs: Any) -> Any:  # noqa: N802 (reads like a class)
    return _model_class()(*args, **kwargs)
