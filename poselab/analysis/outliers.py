"""Outlier frames of an analyzed video: where a model is probably wrong (active learning).

Three per-point scores, each an ``(animal, part, frame)`` DataArray:

* :func:`jumps`: distance moved since the previous frame (pixels per frame); a point that
  jumps far between two frames is usually a wrong detection (DeepLabCut's "jump" method).
* :func:`low_likelihood`: ``1 - likelihood`` (a missing point counts as 1); DeepLabCut's
  "uncertain" method.
* :func:`misfits`: distance (pixels) between each point and the one-step-ahead prediction of a
  SARIMAX state-space model fitted to its trajectory (x and y separately; DeepLabCut's "fitting"
  method, same defaults: ARMA(3, 1), points with likelihood < 0.01 treated as missing).

:func:`outlier_scores` reduces them to per-frame scores and one dimensionless ``score`` that is
>= 1 where any criterion flags the frame; :func:`pick_outlier_frames` picks the N worst frames,
spread out in time. All are pure functions of a pose Dataset. Writing the picked frames into a
project's label store, predictions as initial points, is project work:
``project.extract_outliers(poses, n)`` (:meth:`poselab.project.Project.extract_outliers`).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Any

import numpy as np
import xarray as xr

from poselab.core.errors import PoselabError
from poselab.core.validate import position_array

__all__ = [
    "OutlierError", "jumps", "low_likelihood", "misfits", "outlier_scores", "pick_outlier_frames",
    "find_outliers",
]

POINT_DIMS = ("animal", "part", "frame", "coord")


class OutlierError(PoselabError, ValueError):
    """Outlier scoring cannot be done as asked."""


def _position(ds: xr.Dataset, func: str) -> xr.DataArray:
    """The checked x, y positions ``(animal, part, frame, coord)`` of a pose Dataset, pixels."""
    pos = position_array(ds, func=func, dims=POINT_DIMS, error=OutlierError)
    return pos.sel(coord=["x", "y"]).transpose(*POINT_DIMS)


def _likelihood(ds: xr.Dataset, pos: xr.DataArray) -> xr.DataArray:
    """Likelihood ``(animal, part, frame)``; without one, 1 where ``pos`` is known, else NaN."""
    if isinstance(ds, xr.Dataset) and "likelihood" in ds:
        return ds["likelihood"].transpose("animal", "part", "frame")
    known = np.isfinite(pos).all("coord")
    return xr.where(known, 1.0, np.nan)


def _like(template: xr.DataArray, values: np.ndarray, name: str, units: str) -> xr.DataArray:
    out = xr.DataArray(values, dims=("animal", "part", "frame"),
                       coords={k: v for k, v in template.coords.items() if k != "coord"}, name=name)
    out.attrs["units"] = units
    return out


def jumps(ds: xr.Dataset) -> xr.DataArray:
    """Distance each point moved since the previous frame, in pixels per frame.

    Frames that are not consecutive (a gap in ``frame``) divide the distance by the number of
    frames between them. The first frame, and frames where the point or its previous position
    is missing, are NaN.

    Returns
    -------
    xarray.DataArray
        ``(animal, part, frame)``, pixels per frame.
    """
    pos = _position(ds, "jumps")
    xy = pos.values.astype(float)
    frames = np.asarray(pos["frame"].values, dtype=float)
    out = np.full(xy.shape[:3], np.nan)
    if xy.shape[2] > 1:
        step = np.diff(frames)
        if (step <= 0).any():
            raise OutlierError("frame values must increase")
        out[:, :, 1:] = np.linalg.norm(np.diff(xy, axis=2), axis=-1) / step
    return _like(pos, out, "jump", "pixels/frame")


def low_likelihood(ds: xr.Dataset) -> xr.DataArray:
    """``1 - likelihood`` per point; a missing point (NaN) counts as 1 (fully uncertain).

    Returns
    -------
    xarray.DataArray
        ``(animal, part, frame)``, dimensionless, in [0, 1].
    """
    pos = _position(ds, "low_likelihood")
    lik = _likelihood(ds, pos)
    values = 1.0 - np.clip(np.nan_to_num(lik.values.astype(float), nan=0.0), 0.0, 1.0)
    return _like(pos, values, "low_likelihood", "1")


def _one_blas_thread() -> AbstractContextManager:
    """Limit BLAS to one thread: these tiny Kalman-filter fits run ~8x slower with threads
    competing on a busy machine (measured: 1.1 s vs 0.14 s per fit of 120 frames)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional
        from contextlib import nullcontext

        return nullcontext()
    return threadpool_limits(1)


def _fit_one(y: np.ndarray, order: tuple[int, int, int], alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """One-step-ahead predicted mean and confidence half-width of a SARIMAX fit (NaN = missing)."""
    import statsmodels.api as sm

    n = len(y)
    finite = np.isfinite(y)
    if finite.sum() <= max(10, 2 * sum(order)):
        return np.full(n, np.nan), np.full(n, np.nan)
    # Centre the series: an ARMA without a constant assumes a zero mean.
    centre = float(np.mean(y[finite]))
    scale = float(np.std(y[finite])) or 1.0  # a flat series is fitted in units of 1 px
    z = (y - centre) / scale
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence / non-invertible start warnings
        model = sm.tsa.statespace.SARIMAX(z, order=order, seasonal_order=(0, 0, 0, 0),
                                          simple_differencing=True)
        result = model.fit(disp=False, cov_type="none")  # no parameter covariance: not used
        prediction = result.get_prediction(start=0, end=n - 1)
        mean = np.asarray(prediction.predicted_mean, dtype=float)
        ci = np.asarray(prediction.conf_int(alpha=alpha), dtype=float)
    # simple_differencing drops the first d values from the fitted series
    mean_full = np.full(n, np.nan)
    half_full = np.full(n, np.nan)
    mean_full[n - len(mean):] = mean * scale + centre
    half_full[n - len(mean):] = (ci[:, 1] - ci[:, 0]) / 2 * scale
    return mean_full, half_full


def misfits(
    ds: xr.Dataset,
    *,
    p_bound: float = 0.01,
    ar_degree: int = 3,
    ma_degree: int = 1,
    burn_in: int | None = None,
    progress: bool = False,
) -> xr.DataArray:
    """Distance (pixels) between each point and a SARIMAX model's one-step-ahead prediction.

    Each coordinate of each trajectory is fitted with a SARIMAX(``ar_degree``, 0,
    ``ma_degree``) state-space model (statsmodels; points with likelihood below ``p_bound``
    are missing data, as in DeepLabCut's "fitting" outlier method). The prediction for frame
    t uses frames before t only, so a point that leaves its smooth course scores about the size
    of the excursion.

    Parameters
    ----------
    ds
        A pose Dataset.
    p_bound
        Points with likelihood below this are treated as missing when fitting.
    ar_degree, ma_degree
        ARMA orders.
    burn_in
        First frames set to NaN (the filter has no history there); default ``ar_degree + 1``.
    progress
        Show a progress bar over trajectories (about 0.1-0.4 s each for 300 frames).

    Returns
    -------
    xarray.DataArray
        ``(animal, part, frame)``, pixels; NaN where the point is missing, in the burn-in, or
        when the trajectory has too few points to fit.
    """
    from tqdm.auto import tqdm

    pos = _position(ds, "misfits")
    xy = pos.values.astype(float)
    lik = _likelihood(ds, pos).values.astype(float)
    order = (int(ar_degree), 0, int(ma_degree))
    burn = order[0] + 1 if burn_in is None else int(burn_in)
    out = np.full(xy.shape[:3], np.nan)
    pairs = [(a, p) for a in range(xy.shape[0]) for p in range(xy.shape[1])]
    with _one_blas_thread():
        for a, p in tqdm(pairs, disable=not progress, desc="SARIMAX fits", unit="trajectory"):
            keep = np.nan_to_num(lik[a, p], nan=0.0) >= p_bound
            predicted = []
            for c in range(2):
                y = np.where(keep, xy[a, p, :, c], np.nan)
                predicted.append(_fit_one(y, order, 0.01)[0])
            out[a, p] = np.hypot(xy[a, p, :, 0] - predicted[0], xy[a, p, :, 1] - predicted[1])
    out[:, :, :burn] = np.nan
    return _like(pos, out, "misfit", "pixels")


def outlier_scores(
    ds: xr.Dataset,
    *,
    epsilon: float = 20.0,
    p_cutoff: float = 0.6,
    fitting: bool = True,
    p_bound: float = 0.01,
    ar_degree: int = 3,
    ma_degree: int = 1,
    parts: Sequence[str] | None = None,
    progress: bool = False,
) -> xr.Dataset:
    """Per-frame outlier scores of a pose Dataset.

    Parameters
    ----------
    ds
        A pose Dataset (e.g. from :func:`poselab.inference.analyze_video`).
    epsilon
        Pixels: a jump (pixels/frame) or misfit (pixels) of this size flags a frame.
    p_cutoff
        Likelihood below this flags a frame.
    fitting
        Compute the SARIMAX misfit (the slow part: one fit per coordinate and point).
    p_bound, ar_degree, ma_degree
        See :func:`misfits`.
    parts
        Only these parts count (default all).
    progress
        Progress bar for the fits.

    Returns
    -------
    xarray.Dataset
        Along ``frame``: ``jump`` (pixels/frame: over animals and parts, the largest of
        ``min(jump into the frame, jump out of it)``, so a point that jumps away and back is
        charged to the frame where it is wrong; a lasting step shows in ``misfit``),
        ``low_likelihood`` (``1 -`` the smallest likelihood), ``misfit`` (mean misfit over the
        points, pixels; NaN without ``fitting``), ``n_uncertain`` (points below ``p_cutoff``)
        and ``score = max(jump / epsilon, misfit / epsilon, low_likelihood / (1 - p_cutoff))``,
        dimensionless: >= 1 where at least one criterion flags the frame.
    """
    _position(ds, "outlier_scores")
    if not epsilon > 0:
        raise OutlierError(f"epsilon must be positive pixels, got {epsilon}")
    if not 0 <= p_cutoff < 1:
        raise OutlierError(f"p_cutoff must be in [0, 1), got {p_cutoff}")
    if parts is not None:
        unknown = sorted(set(parts) - set(ds["part"].values.tolist()))
        if unknown:
            raise OutlierError(f"unknown parts {unknown}: the Dataset has {ds['part'].values.tolist()}")
        ds = ds.sel(part=list(parts))
    frame_coords = {k: v for k, v in ds["frame"].coords.items()}
    j_in = jumps(ds)
    j_out = np.full(j_in.shape, np.nan)
    j_out[:, :, :-1] = j_in.values[:, :, 1:]
    # A wrong point jumps away and back: charge the frame where it is wrong (both jumps large),
    # not the next, correct frame (only its incoming jump is large).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        jump = j_in.copy(data=np.fmin(j_in.values, j_out)).max(("animal", "part"), skipna=True)
    low = low_likelihood(ds)
    low_max = low.max(("animal", "part"))
    n_uncertain = (low > 1 - p_cutoff).sum(("animal", "part"))
    if fitting:
        misfit = misfits(ds, p_bound=p_bound, ar_degree=ar_degree, ma_degree=ma_degree,
                         progress=progress).mean(("animal", "part"), skipna=True)
    else:
        misfit = xr.full_like(jump, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN frames
        score = np.fmax(np.fmax(jump.values / epsilon, misfit.values / epsilon),
                        low_max.values / (1 - p_cutoff))
    out = xr.Dataset(
        {"jump": ("frame", jump.values), "low_likelihood": ("frame", low_max.values),
         "misfit": ("frame", misfit.values), "n_uncertain": ("frame", n_uncertain.values.astype(int)),
         "score": ("frame", np.nan_to_num(score, nan=0.0))},
        coords=frame_coords,
    )
    out["jump"].attrs["units"] = "pixels/frame"
    out["misfit"].attrs["units"] = "pixels"
    out.attrs.update(epsilon=float(epsilon), p_cutoff=float(p_cutoff), fitting=int(bool(fitting)))
    return out


def pick_outlier_frames(
    score: xr.DataArray | np.ndarray,
    n: int,
    *,
    min_gap: int = 10,
    threshold: float | None = 1.0,
    frames: Sequence[int] | np.ndarray | None = None,
    exclude: Iterable[int] = (),
) -> np.ndarray:
    """The ``n`` highest-scoring frames, at least ``min_gap`` frames apart.

    Greedy: frames in decreasing score (ties: the earlier frame first) are taken unless closer
    than ``min_gap`` frames to one already taken, so one bad stretch yields one frame, not ten
    near-identical ones.

    Parameters
    ----------
    score
        One score per frame (e.g. ``outlier_scores(ds)["score"]``); NaN never picked.
    n
        How many frames at most.
    min_gap
        Minimum distance between picked frames, in frames (1: adjacent frames allowed).
    threshold
        Only frames scoring at least this (None: any score).
    frames
        Frame numbers of ``score``'s entries (default: its ``frame`` coordinate, or 0..N-1).
    exclude
        Frame numbers never to pick (e.g. frames already labeled).

    Returns
    -------
    numpy.ndarray
        The picked frame numbers, ascending (int64).
    """
    if int(n) < 0:
        raise OutlierError(f"n must be >= 0, got {n}")
    if int(min_gap) < 1:
        raise OutlierError(f"min_gap must be >= 1 frame, got {min_gap}")
    values = np.asarray(score, dtype=float).ravel()
    if frames is None:
        frames = score["frame"].values if isinstance(score, xr.DataArray) else np.arange(len(values))
    frames = np.asarray(frames, dtype=np.int64)
    if len(frames) != len(values):
        raise OutlierError(f"{len(frames)} frame numbers for {len(values)} scores")
    ok = np.isfinite(values) & ~np.isin(frames, np.fromiter(exclude, dtype=np.int64))
    if threshold is not None:
        ok &= values >= threshold
    candidates = np.flatnonzero(ok)
    order = candidates[np.lexsort((frames[candidates], -values[candidates]))]
    picked: list[int] = []
    for i in order:
        if len(picked) >= n:
            break
        f = int(frames[i])
        if all(abs(f - q) >= min_gap for q in picked):
            picked.append(f)
    return np.array(sorted(picked), dtype=np.int64)


def find_outliers(ds: xr.Dataset, n: int = 20, *, min_gap: int = 10, threshold: float | None = 1.0,
                  exclude: Iterable[int] = (), **score_kwargs: Any) -> np.ndarray:
    """:func:`outlier_scores` then :func:`pick_outlier_frames`: the ``n`` worst frame numbers.

    Parameters
    ----------
    ds
        A pose Dataset (positions in pixels).
    n, min_gap, threshold, exclude
        See :func:`pick_outlier_frames` (``min_gap`` in frames).
    **score_kwargs
        See :func:`outlier_scores` (``epsilon`` in pixels, ``p_cutoff``, ``fitting``...).

    Returns
    -------
    numpy.ndarray
        The picked frame numbers, ascending (int64).
    """
    scores = outlier_scores(ds, **score_kwargs)
    return pick_outlier_frames(scores["score"], n, min_gap=min_gap, threshold=threshold, exclude=exclude)
