"""Kinematics of pose data: displacement, velocity, acceleration, speed, path length, distances,
joint angles, heading and body-frame (egocentric) coordinates.

Conventions
-----------
Every function takes a pose Dataset (its ``position`` is used) or a position-like
:class:`xarray.DataArray` with at least the dims ``frame`` and, where vectors are involved,
``coord`` (``["x", "y"]`` or ``["x", "y", "z"]``); any other dims (``animal``, ``part``, ...) are
carried along. Functions return a DataArray whose ``attrs["units"]`` states its unit and whose
``name`` says what it is. Inputs are validated first; a wrong input raises :class:`KinematicsError`
(a :class:`ValueError`) naming what is missing.

Time derivatives use the ``time`` coordinate (seconds, ``frame / fps``), so velocities come out
in ``<units>/s``. When the frame rate is unknown (``time`` all NaN) the ``frame`` coordinate is
used instead and the units say so (``pixels/frame``). Position units come from ``attrs["units"]``
(``"pixels"`` by default; see :func:`to_units` for a calibration to mm).

Definitions follow the `movement <https://movement.neuroinformatics.dev>`_ package where they
coincide (velocity and acceleration are its second-order central differences with first-order
edges, i.e. ``numpy.gradient(edge_order=1)``; speed is the norm of velocity; path length is the sum
of chord lengths with the same ``"ffill"`` / ``"scale"`` NaN policies), so results are equal to
movement's on the same data, with two deliberate differences: a frame whose position is unknown
never gets a velocity (with evenly spaced times movement's central difference skips the frame
itself), and displacement is NaN, not 0, at the frame with no neighbour.

All functions are NaN-aware (NaN marks an unknown position and propagates to every result that
depends on it) and dask-safe: on data chunked along ``frame`` they stay lazy and give the same
numbers as in memory (stencils run with a one-frame overlap between chunks).

Image coordinates: x to the right, y **down** (see :mod:`poselab.core.poses`). Angles measured from
the +x axis are therefore positive **clockwise on screen**.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Hashable, Sequence
from typing import Literal

import numpy as np
import xarray as xr

from poselab.core import poses
from poselab.core.errors import PoselabError
from poselab.core.validate import position_array, sample_times

__all__ = [
    "KinematicsError",
    "displacement",
    "velocity",
    "acceleration",
    "speed",
    "path_length",
    "distance",
    "inter_animal_distance",
    "joint_angle",
    "heading",
    "egocentric",
    "to_units",
]

class KinematicsError(PoselabError, ValueError):
    """The input to a kinematics function is not what it needs (missing dim, part, ...)."""


# --- input handling ---------------------------------------------------------------------------


def _position(
    data: xr.Dataset | xr.DataArray, func: str, dims: Sequence[str] = ("frame", "coord")
) -> xr.DataArray:
    """The position DataArray of ``data``, with ``dims`` checked (clear error otherwise)."""
    return position_array(data, func=func, dims=dims, error=KinematicsError)


def _track_and_times(data: xr.Dataset | xr.DataArray, func: str) -> tuple[xr.DataArray, np.ndarray, str]:
    """Positions (checked, at least 2 frames) and their sample times and time unit."""
    da = _position(data, func)
    t, time_unit = sample_times(da, func=func, error=KinematicsError)
    if da.sizes["frame"] < 2:
        raise KinematicsError(f"{func}: at least 2 frames are needed")
    return da, t, time_unit


def _units(da: xr.DataArray) -> str:
    return str(da.attrs.get("units", "pixels"))


def _select(da: xr.DataArray, dim: str, label: Hashable, func: str) -> xr.DataArray:
    if dim not in da.dims:
        raise KinematicsError(f"{func}: the input has no {dim!r} dim (dims {tuple(da.dims)})")
    labels = da[dim].values.tolist()
    if label not in labels:
        raise KinematicsError(f"{func}: {dim} {label!r} not found; available: {labels}")
    return da.sel({dim: label}, drop=True)


def _is_lazy(da: xr.DataArray) -> bool:
    return hasattr(da.data, "dask")


# --- numerical kernels ------------------------------------------------------------------------


def _index(ndim: int, axis: int, index: slice | int) -> tuple:
    return tuple(index if i == axis else slice(None) for i in range(ndim))


def _merged(f: np.ndarray, axis: int) -> tuple[np.ndarray, int, int]:
    """``f`` as a C-contiguous ``(lead, n_frames * trail)`` array: frames and the axes after them
    merged, so stencils run over long contiguous rows (not length-2 inner loops over coord)."""
    f = np.ascontiguousarray(f)
    n = f.shape[axis]
    lead = math.prod(f.shape[:axis])
    trail = math.prod(f.shape[axis + 1 :])
    return f.reshape(lead, n * trail), n, trail


def _block_frames(lead: int, trail: int) -> int:
    # About 2**18 elements (2 MB of float64) per temporary: fits in cache, no per-frame loop.
    return max(64, (1 << 18) // max(lead * trail, 1))


def _gradient_frames(
    f2: np.ndarray, n: int, trail: int, dx: np.ndarray, start: int, stop: int
) -> np.ndarray:
    """Derivative at frames ``[start, stop)`` of merged ``f2`` (see :func:`_merged`).

    ``numpy.gradient(f, t, edge_order=1)`` with the non-uniform formula always, in numpy's
    operation order: bit-identical for unevenly spaced ``t`` (e.g. ``arange(n) / 30``); with even
    spacing the middle weight is exactly 0, equal to numpy's ``(f[i+1] - f[i-1]) / 2h`` except
    that a NaN at ``i`` stays NaN (``0 * NaN``).
    """
    out = np.empty((f2.shape[0], (stop - start) * trail), dtype=np.result_type(f2, np.float64))
    lo, hi = max(start, 1), min(stop, n - 1)
    if hi > lo:
        dx1, dx2 = dx[lo - 1 : hi - 1], dx[lo:hi]
        a = np.repeat(-dx2 / (dx1 * (dx1 + dx2)), trail)
        b = np.repeat((dx2 - dx1) / (dx1 * dx2), trail)
        c = np.repeat(dx1 / (dx2 * (dx1 + dx2)), trail)
        dest = out[:, (lo - start) * trail : (hi - start) * trail]
        np.multiply(f2[:, (lo - 1) * trail : (hi - 1) * trail], a, out=dest)
        tmp = f2[:, lo * trail : hi * trail] * b
        dest += tmp
        np.multiply(f2[:, (lo + 1) * trail : (hi + 1) * trail], c, out=tmp)
        dest += tmp
    if start == 0:
        out[:, :trail] = (f2[:, trail : 2 * trail] - f2[:, :trail]) / dx[0]
    if stop == n:
        last, before = f2[:, (n - 1) * trail :], f2[:, (n - 2) * trail : (n - 1) * trail]
        out[:, -trail:] = (last - before) / dx[-1]
    return out


def _gradient_kernel(f: np.ndarray, t: np.ndarray, axis: int) -> np.ndarray:
    """Time derivative along ``axis`` (see :func:`_gradient_frames`), in blocks of frames."""
    t = np.asarray(t, dtype=np.float64).reshape(-1)
    f2, n, trail = _merged(f, axis)
    out = np.empty(f.shape, dtype=np.result_type(f.dtype, np.float64))
    if n < 2:
        out[...] = np.nan
        return out
    o2 = out.reshape(f2.shape)
    dx = np.diff(t)
    step = _block_frames(f2.shape[0], trail)
    for start in range(0, n, step):
        stop = min(start + step, n)
        o2[:, start * trail : stop * trail] = _gradient_frames(f2, n, trail, dx, start, stop)
    return out


def _speed_kernel(f: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Norm of the time derivative of ``f (..., frame, coord)`` without storing the velocity."""
    t = np.asarray(t, dtype=np.float64).reshape(-1)
    f2, n, trail = _merged(f, f.ndim - 2)
    out = np.empty(f.shape[:-1], dtype=np.result_type(f.dtype, np.float64))
    o2 = out.reshape(f2.shape[0], n)
    dx = np.diff(t)
    step = _block_frames(f2.shape[0], trail)
    for start in range(0, n, step):
        stop = min(start + step, n)
        vel = _gradient_frames(f2, n, trail, dx, start, stop).reshape(f2.shape[0], -1, trail)
        o2[:, start:stop] = _norm_last_axis(vel)
    return out


def _gradient_block(f: np.ndarray, t: np.ndarray, axis: int) -> np.ndarray:
    return _gradient_kernel(f, t, axis)


def _derivative(da: xr.DataArray, t: np.ndarray) -> xr.DataArray:
    """First derivative of ``da`` along ``frame`` with sample times ``t`` (lazy for dask)."""
    axis = da.get_axis_num("frame")
    if _is_lazy(da):
        import dask.array as dsa

        data = da.data
        shape = [1] * da.ndim
        shape[axis] = -1
        t_lazy = dsa.from_array(t.reshape(shape), chunks=tuple(
            data.chunks[i] if i == axis else (1,) for i in range(da.ndim)
        ))
        result = dsa.map_overlap(
            _gradient_block,
            data,
            t_lazy,
            depth={axis: 1},
            boundary="none",
            dtype=np.result_type(data.dtype, np.float64),
            axis=axis,
            align_arrays=False,
        )
    else:
        result = _gradient_kernel(np.asarray(da.data), t, axis)
    return da.copy(data=result)


def _norm(vec: xr.DataArray) -> xr.DataArray:
    """Euclidean norm over ``coord`` (NaN if any component is NaN; lazy for dask).

    Computed as ``sqrt(x*x + y*y [+ z*z])`` in that order, like ``numpy.linalg.norm``.
    """
    return xr.apply_ufunc(
        _norm_last_axis,
        vec,
        input_core_dims=[["coord"]],
        dask="parallelized",
        output_dtypes=[np.result_type(vec.dtype, np.float64)],
        keep_attrs=False,
    )


def _norm_last_axis(v: np.ndarray) -> np.ndarray:
    out = v[..., 0] * v[..., 0]
    for i in range(1, v.shape[-1]):
        out += v[..., i] * v[..., i]
    return np.sqrt(out, out=out)


def _finish(result: xr.DataArray, name: str, units: str, **attrs: object) -> xr.DataArray:
    result.name = name
    result.attrs = {"units": units, **attrs}
    return result


# --- kinematics -------------------------------------------------------------------------------


def displacement(
    data: xr.Dataset | xr.DataArray, direction: Literal["backward", "forward"] = "backward"
) -> xr.DataArray:
    """Frame-to-frame displacement vectors.

    Parameters
    ----------
    data
        Pose Dataset or position DataArray with dims ``(..., frame, coord)``, in ``units``
        (pixels unless calibrated).
    direction
        ``"backward"``: at frame ``t``, the vector from the previous position to the current one,
        ``p[t] - p[t-1]`` (NaN at the first frame). ``"forward"``: from the current position to the
        next, ``p[t+1] - p[t]`` (NaN at the last frame).

    Returns
    -------
    xarray.DataArray
        Same dims as the input, in ``units`` (pixels) per step; ``name`` ``"displacement"``.

    Notes
    -----
    movement's ``compute_forward_displacement`` equals ``direction="forward"`` except that it puts
    0 in the last frame; its ``compute_backward_displacement`` is the negated ``"backward"``
    vector (pointing to the previous position) with 0 in the first frame. A frame without a
    neighbour has no displacement, so poselab writes NaN there.
    """
    da = _position(data, "displacement")
    if direction == "backward":
        result = da - da.shift(frame=1)
    elif direction == "forward":
        result = da.shift(frame=-1) - da
    else:
        raise KinematicsError(
            f"displacement: direction must be 'backward' or 'forward'; got {direction!r}"
        )
    return _finish(result, "displacement", _units(da), direction=direction)


def velocity(data: xr.Dataset | xr.DataArray) -> xr.DataArray:
    """Velocity vectors: the time derivative of position.

    Parameters
    ----------
    data
        Pose Dataset or position DataArray with dims ``(..., frame, coord)``.

    Returns
    -------
    xarray.DataArray
        Same dims as the input, in ``<units>/s`` (``pixels/s``), or ``<units>/frame`` when the
        frame rate is unknown (``time`` NaN); ``name`` ``"velocity"``.

    Notes
    -----
    Second-order central differences over the ``time`` coordinate in the interior (uneven
    spacing handled) and one-sided first-order differences at the first and last frame:
    ``numpy.gradient(p, time, edge_order=1)``, i.e. movement's ``compute_velocity``. No smoothing
    is applied: smooth positions first (:mod:`poselab.analysis.filters`). An unknown position at frame ``t``
    makes the velocity NaN at ``t - 1``, ``t`` and ``t + 1``, so a gap of ``k`` frames inside the
    track gives ``k + 2`` NaN frames.
    """
    da, t, time_unit = _track_and_times(data, "velocity")
    result = _derivative(da, t)
    return _finish(result, "velocity", f"{_units(da)}/{time_unit}")


def acceleration(data: xr.Dataset | xr.DataArray) -> xr.DataArray:
    """Acceleration vectors: the second time derivative of position.

    Parameters
    ----------
    data
        Pose Dataset or position DataArray with dims ``(..., frame, coord)``.

    Returns
    -------
    xarray.DataArray
        Same dims as the input, in ``<units>/s^2`` (``pixels/s^2``), or ``<units>/frame^2`` when
        the frame rate is unknown; ``name`` ``"acceleration"``.

    Notes
    -----
    The derivative of :func:`velocity` computed the same way (movement's
    ``compute_acceleration``). The first two and last two frames use one-sided differences and are
    biased for curved motion. A gap of ``k`` frames inside the track gives ``k + 4`` NaN frames.
    """
    da, t, time_unit = _track_and_times(data, "acceleration")
    result = _derivative(_derivative(da, t), t)
    return _finish(result, "acceleration", f"{_units(da)}/{time_unit}^2")


def speed(data: xr.Dataset | xr.DataArray) -> xr.DataArray:
    """Speed: the magnitude of the velocity.

    Parameters
    ----------
    data
        Pose Dataset or position DataArray with dims ``(..., frame, coord)``.

    Returns
    -------
    xarray.DataArray
        The input's dims without ``coord``, in ``<units>/s`` (``pixels/s``; ``<units>/frame``
        when the frame rate is unknown); ``name`` ``"speed"``.
    """
    da, t, time_unit = _track_and_times(data, "speed")
    units = f"{_units(da)}/{time_unit}"
    if _is_lazy(da):
        return _finish(_norm(_derivative(da, t)), "speed", units)
    # In memory: velocity block by block, never the whole velocity array.
    ordered = da.transpose(..., "frame", "coord")
    values = _speed_kernel(np.asarray(ordered.data), t)
    result = ordered.isel(coord=0, drop=True).copy(data=values)
    return _finish(result, "speed", units)


def path_length(
    data: xr.Dataset | xr.DataArray,
    start: int | None = None,
    stop: int | None = None,
    nan_policy: Literal["ffill", "scale"] = "ffill",
    nan_warn_threshold: float | None = 0.2,
) -> xr.DataArray:
    """Length of the path travelled: the sum of the straight chords between successive frames.

    Parameters
    ----------
    data
        Pose Dataset or position DataArray with dims ``(..., frame, coord)``.
    start, stop
        First and last video frame (``frame`` labels, inclusive); default: the whole track.
    nan_policy
        ``"ffill"``: a part is assumed to stay where it was last seen during a gap and then to
        jump straight to where it reappears (under-estimates the length when positions are
        missing). ``"scale"``: sum the chords whose two ends are known and divide by the fraction
        of such chords (assumes the missing motion resembles the observed motion).
    nan_warn_threshold
        Warn (``UserWarning``) for tracks with at least this fraction of unknown frames;
        ``None`` to skip the check. Skipped on lazy (dask) data, where it would load everything.

    Returns
    -------
    xarray.DataArray
        The input's dims without ``frame`` and ``coord``, in ``units`` (pixels); NaN for tracks
        with no chord; ``name`` ``"path_length"``.

    Notes
    -----
    Same definition and NaN policies as movement's ``compute_path_length``, but ``start``/``stop``
    are frame labels and chunked (dask) data work (movement's raises on chunked data). The chord
    sum under-estimates the arc length of a curve sampled coarsely.
    """
    da = _position(data, "path_length")
    if nan_policy not in ("ffill", "scale"):
        raise KinematicsError(
            f"path_length: nan_policy must be 'ffill' or 'scale'; got {nan_policy!r}"
        )
    if start is not None or stop is not None:
        da = da.sel(frame=slice(start, stop))
    n = da.sizes["frame"]
    if n < 2:
        raise KinematicsError(
            f"path_length: at least 2 frames are needed; {n} found between start={start} and "
            f"stop={stop}"
        )
    if nan_warn_threshold is not None:
        threshold = float(nan_warn_threshold)
        if not 0 <= threshold <= 1:
            raise KinematicsError(f"nan_warn_threshold must lie in [0, 1]; got {threshold}")
    if not _is_lazy(da):
        # In memory: one blocked pass (chords, their count and the unknown frames per track).
        ordered = da.transpose(..., "frame", "coord")
        total, count, unknown = _path_kernel(np.asarray(ordered.data), nan_policy == "ffill")
        template = ordered.isel(frame=0, coord=0, drop=True)
        if nan_warn_threshold is not None:
            _warn_nan_fraction(template.copy(data=unknown / n), threshold)
        with np.errstate(invalid="ignore", divide="ignore"):
            if nan_policy == "ffill":
                values = np.where(count > 0, total, np.nan)
            else:
                values = total / (count / (n - 1))
        result = template.copy(data=values)
        return _finish(result, "path_length", _units(da), nan_policy=nan_policy)
    if nan_policy == "ffill":
        chords = _norm(da.ffill("frame").diff("frame"))  # dask-aware push (xarray)
        result = chords.sum("frame", min_count=1)
    else:
        chords = _norm(da.diff("frame"))
        valid = chords.notnull().sum("frame")
        result = chords.sum("frame") / (valid / (n - 1))
    return _finish(result, "path_length", _units(da), nan_policy=nan_policy)


def _path_kernel(
    f: np.ndarray, ffill: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Chord sums of ``f (..., frame, coord)`` in blocks of frames.

    Returns the sum of the known chord lengths, their number (with ``ffill``: 1 if any chord is
    known, else 0), and the number of frames with an unknown coordinate, each of shape
    ``f.shape[:-2]``. With ``ffill`` each coordinate is forward filled first, as
    ``xarray.DataArray.ffill`` would: chords inside a gap are 0 and the chord that ends a gap
    starts at the last known position (carried across blocks).
    """
    f2, n, trail = _merged(f, f.ndim - 2)
    lead = f2.shape[0]
    rows = f2.reshape(lead, n, trail)
    total = np.zeros(lead)
    count = np.zeros(lead, dtype=np.int64)
    unknown = _nan_masks(rows[:, :1])[0][:, 0].astype(np.int64)
    previous = rows[:, 0].astype(np.float64)  # last row before the block (filled for ffill)
    step = _block_frames(lead, trail)
    for start in range(1, n, step):
        stop = min(start + step, n)
        ext = np.concatenate([previous[:, None], rows[:, start:stop]], axis=1)
        any_nan, all_nan = _nan_masks(ext)
        unknown += np.count_nonzero(any_nan[:, 1:], axis=1)
        chord = _norm_last_axis(np.diff(ext, axis=1))
        bad = np.isnan(chord)
        if not ffill:
            count += bad.shape[1] - np.count_nonzero(bad, axis=1)
            chord[bad] = 0.0
            total += chord.sum(axis=1)
            previous = ext[:, -1].copy()
            continue
        known = ~any_nan
        count |= known[:, :-1].any(axis=1)  # some known frame before this block's last one
        if bad.any() and not np.array_equal(any_nan, all_nan):
            # Coordinates unknown separately: fill each one (rare; full-block gather).
            index = np.where(np.isnan(ext), 0, np.arange(ext.shape[1])[None, :, None])
            np.maximum.accumulate(index, axis=1, out=index)
            ext = np.take_along_axis(ext, index, axis=1)
            chord = _norm_last_axis(np.diff(ext, axis=1))
            chord[np.isnan(chord)] = 0.0
            total += chord.sum(axis=1)
            previous = ext[:, -1].copy()
            continue
        chord[bad] = 0.0  # inside a gap the filled position does not move
        total += chord.sum(axis=1)
        if bad.any():
            # Bridge each gap: from the last known frame before it to the frame that ends it.
            width = ext.shape[1]
            end_row, end_at = np.nonzero(known[:, 1:] & ~known[:, :-1])
            start_row, last_known = np.nonzero(known[:, :-1] & ~known[:, 1:])
            end_at = end_at + 1
            k = np.searchsorted(start_row * width + last_known, end_row * width + end_at) - 1
            safe = np.maximum(k, 0)
            if start_row.size:
                ok = (k >= 0) & (start_row[safe] == end_row)
            else:  # every gap here is a leading one (nothing known before it)
                ok = np.zeros(k.shape, dtype=bool)
                safe = np.zeros(k.shape, dtype=np.int64)
            row, j = end_row[ok], last_known[safe[ok]]
            bridge = _norm_last_axis(ext[row, end_at[ok]] - ext[row, j])
            np.add.at(total, row, bridge)
        has = known.any(axis=1)
        last = ext.shape[1] - 1 - np.argmax(known[:, ::-1], axis=1)
        previous = previous.copy()
        previous[has] = ext[has, last[has]]
    shape = f.shape[:-2]
    return total.reshape(shape), count.reshape(shape), unknown.reshape(shape)


def _nan_masks(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Whether any / all coordinates (last axis) of each point are NaN."""
    any_nan = np.isnan(a[..., 0])
    all_nan = any_nan.copy()
    for i in range(1, a.shape[-1]):
        nan = np.isnan(a[..., i])
        any_nan |= nan
        all_nan &= nan
    return any_nan, all_nan


def _warn_nan_fraction(unknown: xr.DataArray, threshold: float) -> None:
    """Warn about tracks whose fraction of unknown frames (``unknown``) reaches ``threshold``."""
    bad = unknown >= threshold
    if bool(bad.any()):
        stacked = bad.stack(track=[d for d in bad.dims]) if bad.ndim else bad
        names = (
            [str(v) for v in stacked["track"].values[stacked.values]] if bad.ndim else ["track"]
        )
        warnings.warn(
            f"path_length may be unreliable: {len(names)} track(s) have >= {threshold:.0%} "
            f"unknown frames: {names[:10]}{' ...' if len(names) > 10 else ''}",
            UserWarning,
            stacklevel=3,
        )


def distance(
    data: xr.Dataset | xr.DataArray, part_a: str, part_b: str
) -> xr.DataArray:
    """Distance between two parts of the same animal, frame by frame.

    Parameters
    ----------
    data
        Pose Dataset or position DataArray with dims ``(..., part, frame, coord)``.
    part_a, part_b
        Part names.

    Returns
    -------
    xarray.DataArray
        The input's dims without ``part`` and ``coord``, in ``units`` (pixels); ``name``
        ``"distance"``.
    """
    da = _position(data, "distance", ("part", "frame", "coord"))
    diff = _select(da, "part", part_a, "distance") - _select(da, "part", part_b, "distance")
    return _finish(_norm(diff), "distance", _units(da), part_a=part_a, part_b=part_b)


def inter_animal_distance(
    data: xr.Dataset | xr.DataArray,
    animal_a: str,
    animal_b: str,
    part: str | None = None,
    part_b: str | None = None,
) -> xr.DataArray:
    """Distance between two animals, frame by frame.

    Parameters
    ----------
    data
        Pose Dataset or position DataArray with dims ``(animal, ..., frame, coord)``.
    animal_a, animal_b
        Animal names.
    part
        Part of ``animal_a`` (and of ``animal_b`` unless ``part_b`` is given). ``None``: every part
        to the same part of the other animal.
    part_b
        Part of ``animal_b`` when it differs from ``part`` (e.g. nose of one to tail of the
        other).

    Returns
    -------
    xarray.DataArray
        The input's dims without ``animal`` and ``coord`` (and ``part`` when ``part`` is given), in
        ``units`` (pixels); ``name`` ``"distance"``.
    """
    func = "inter_animal_distance"
    da = _position(data, func, ("animal", "frame", "coord"))
    a = _select(da, "animal", animal_a, func)
    b = _select(da, "animal", animal_b, func)
    if part is not None:
        a = _select(a, "part", part, func)
        b = _select(b, "part", part if part_b is None else part_b, func)
    elif part_b is not None:
        raise KinematicsError(f"{func}: part_b needs part (the part of animal_a)")
    return _finish(
        _norm(a - b), "distance", _units(da), animal_a=animal_a, animal_b=animal_b
    )


def joint_angle(
    data: xr.Dataset | xr.DataArray, a: str, b: str, c: str, degrees: bool = True
) -> xr.DataArray:
    """Angle at part ``b`` between the segments ``b -> a`` and ``b -> c`` (unsigned).

    Parameters
    ----------
    data
        Pose Dataset or position DataArray with dims ``(..., part, frame, coord)``, 2-D or 3-D.
    a, b, c
        Part names; the angle is measured at ``b`` (e.g. hip, knee, ankle -> knee angle).
    degrees
        Degrees in [0, 180] (default) or radians in [0, pi].

    Returns
    -------
    xarray.DataArray
        The input's dims without ``part`` and ``coord``; ``attrs["units"]`` ``"degrees"`` or
        ``"radians"``; NaN where a part is unknown or a segment has zero length; ``name``
        ``"joint_angle"``.

    Notes
    -----
    ``atan2(|u x v|, u . v)`` with ``u = a - b`` and ``v = c - b``: accurate near 0 and 180
    degrees, where ``arccos`` of the normalised dot product loses precision. A straight limb
    gives 180.
    """
    func = "joint_angle"
    da = _position(data, func, ("part", "frame", "coord"))
    pb = _select(da, "part", b, func)
    u = _select(da, "part", a, func) - pb
    v = _select(da, "part", c, func) - pb
    ux, uy = u.sel(coord="x", drop=True), u.sel(coord="y", drop=True)
    vx, vy = v.sel(coord="x", drop=True), v.sel(coord="y", drop=True)
    dot = ux * vx + uy * vy
    if da.sizes["coord"] == 3:
        uz, vz = u.sel(coord="z", drop=True), v.sel(coord="z", drop=True)
        dot = dot + uz * vz
        cross = np.sqrt(
            (uy * vz - uz * vy) ** 2 + (uz * vx - ux * vz) ** 2 + (ux * vy - uy * vx) ** 2
        )
    else:
        cross = abs(ux * vy - uy * vx)
    angle = np.arctan2(cross, dot)
    angle = angle.where((_norm(u) > 0) & (_norm(v) > 0))
    if degrees:
        angle = np.degrees(angle)
    return _finish(angle, "joint_angle", "degrees" if degrees else "radians", parts=[a, b, c])


def heading(
    data: xr.Dataset | xr.DataArray, from_part: str, to_part: str, degrees: bool = False
) -> xr.DataArray:
    """Direction of the body axis ``from_part -> to_part`` (e.g. tail base -> nose).

    Parameters
    ----------
    data
        Pose Dataset or position DataArray with dims ``(..., part, frame, coord)``; x and y are
        used.
    from_part, to_part
        Part names.
    degrees
        Return degrees instead of radians (default).

    Returns
    -------
    xarray.DataArray
        The input's dims without ``part`` and ``coord``, in radians in (-pi, pi] (or degrees);
        NaN where a part is unknown or both coincide; ``name`` ``"heading"``.

    Notes
    -----
    ``atan2(dy, dx)`` in image coordinates (x right, y down): 0 points right (+x), +pi/2 points
    **down** the image (+y), -pi/2 points up, +-pi points left. Positive angles therefore turn
    clockwise as seen on screen. Unwrap with ``numpy.unwrap`` before differencing over time.
    """
    func = "heading"
    da = _position(data, func, ("part", "frame", "coord"))
    vec = _select(da, "part", to_part, func) - _select(da, "part", from_part, func)
    dx, dy = vec.sel(coord="x", drop=True), vec.sel(coord="y", drop=True)
    angle = np.arctan2(dy, dx).where((dx != 0) | (dy != 0))
    angle = xr.where(angle == -np.pi, np.pi, angle)  # the (-pi, pi] convention
    if degrees:
        angle = np.degrees(angle)
    return _finish(
        angle, "heading", "degrees" if degrees else "radians",
        convention="image coordinates (y down): 0 = +x, +pi/2 = +y (down), clockwise on screen",
        from_part=from_part, to_part=to_part,
    )


def egocentric(
    data: xr.Dataset | xr.DataArray, origin_part: str, heading_from: str, heading_to: str
) -> xr.DataArray:
    """Positions in each animal's body frame: origin at ``origin_part``, +x along the heading.

    Parameters
    ----------
    data
        Pose Dataset or position DataArray with dims ``(..., part, frame, coord)``, 2-D.
    origin_part
        Part placed at (0, 0) in every frame (e.g. the body centre).
    heading_from, heading_to
        Parts defining the body axis (see :func:`heading`); ``heading_to`` lands on the +x axis.

    Returns
    -------
    xarray.DataArray
        Same dims as the input, in ``units`` (pixels); NaN in frames whose origin or heading is
        unknown; ``name`` ``"egocentric_position"``.

    Notes
    -----
    With heading angle ``theta`` (:func:`heading`), every point is translated by ``-origin`` and
    rotated by ``-theta``: ``x' = cos(theta) dx + sin(theta) dy``, ``y' = -sin(theta) dx +
    cos(theta) dy``. Since y points down, +y' is the animal's right side.
    """
    func = "egocentric"
    da = _position(data, func, ("part", "frame", "coord"))
    if da.sizes["coord"] != 2:
        raise KinematicsError(f"{func}: only 2-D positions are supported (coord x, y)")
    theta = heading(da, heading_from, heading_to)
    origin = _select(da, "part", origin_part, func)
    rel = da - origin
    dx, dy = rel.sel(coord="x"), rel.sel(coord="y")
    cos, sin = np.cos(theta), np.sin(theta)
    x_new = cos * dx + sin * dy
    y_new = -sin * dx + cos * dy
    result = xr.concat([x_new, y_new], dim="coord").transpose(*da.dims)
    result = result.assign_coords(coord=da["coord"].values)
    return _finish(
        result, "egocentric_position", _units(da),
        origin_part=origin_part, heading=[heading_from, heading_to],
    )


def to_units(
    data: xr.Dataset | xr.DataArray, px_per_unit: float, unit: str = "mm"
) -> xr.Dataset | xr.DataArray:
    """Convert positions from pixels to a physical unit (a calibration scale).

    Parameters
    ----------
    data
        Pose Dataset (``position`` converted, provenance recorded) or a position DataArray, in
        pixels (``attrs["units"] == "pixels"``).
    px_per_unit
        Pixels per ``unit`` (e.g. 4.2 pixels per mm), positive.
    unit
        Name of the new unit; velocities computed afterwards are in ``<unit>/s``.

    Returns
    -------
    xarray.Dataset or xarray.DataArray
        Same type as ``data`` with positions divided by ``px_per_unit`` and ``attrs["units"]`` set
        to ``unit`` (also on the Dataset).
    """
    scale = float(px_per_unit)
    if not math.isfinite(scale) or scale <= 0:
        raise KinematicsError(
            f"to_units: px_per_unit must be a positive number; got {px_per_unit}"
        )
    if not isinstance(unit, str) or not unit:
        raise KinematicsError(f"to_units: unit must be a non-empty string; got {unit!r}")
    da = _position(data, "to_units", ("coord",))
    current = _units(da)
    if current != "pixels":
        raise KinematicsError(
            f"to_units: positions are already in {current!r}; convert from pixels only once"
        )
    converted = da / scale
    converted.attrs = {**da.attrs, "units": unit, "px_per_unit": scale}
    if isinstance(data, xr.Dataset):
        out = data.assign(position=converted)
        out.attrs = {**data.attrs, "units": unit}
        return poses.with_provenance(out, "to_units", px_per_unit=scale, unit=unit)
    return converted
