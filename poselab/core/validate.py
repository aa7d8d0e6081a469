"""The one validator for pose inputs: a pose Dataset or a DataArray with the dims a function needs.

Every analysis function starts with :func:`position_array` (or :func:`pose_dataset` when it also
needs the likelihood), so a wrong input gets the same kind of message everywhere: which
function, what it got, and what to pass instead, raised as the caller's own error class.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from poselab.core.errors import PoselabError

__all__ = [
    "InputError", "part_index_pairs", "pose_dataset", "position_array", "require_dims", "sample_times",
]


class InputError(PoselabError, ValueError):
    """An input is not the pose data a function needs (the message says what to pass)."""


def require_dims(
    da: xr.DataArray,
    dims: Sequence[str],
    *,
    func: str,
    error: type[Exception] = InputError,
) -> xr.DataArray:
    """Check that ``da`` has every dim in ``dims``; returns ``da``.

    Parameters
    ----------
    da
        The array to check.
    dims
        Dims it must have (in any order; others may be present).
    func
        Name of the calling function, shown in the message.
    error
        Exception class to raise (the caller's layer error).
    """
    missing = [dim for dim in dims if dim not in da.dims]
    if missing:
        raise error(
            f"{func}: the input lacks the dim(s) {missing} (it has {tuple(da.dims)}); pass a pose "
            f"Dataset or its 'position' DataArray with dims (..., {', '.join(dims)})"
        )
    return da


def position_array(
    data: xr.Dataset | xr.DataArray,
    *,
    func: str,
    dims: Sequence[str] = ("frame",),
    error: type[Exception] = InputError,
    floating: bool = False,
) -> xr.DataArray:
    """The position DataArray of a pose Dataset (or a DataArray itself), checked.

    Parameters
    ----------
    data
        A pose Dataset (its ``position`` variable is used; a Dataset-level ``units`` attribute
        is carried over) or a DataArray of positions.
    func
        Name of the calling function, shown in error messages.
    dims
        Dims the positions must have. When ``coord`` is among them its labels must be
        ``["x", "y"]`` or ``["x", "y", "z"]``; when ``frame`` is, there must be at least one.
    error
        Exception class to raise (the caller's layer error).
    floating
        Also require a floating-point dtype (NaN marks unknown values).

    Returns
    -------
    xarray.DataArray
        The positions (not copied unless units were carried over).
    """
    if isinstance(data, xr.Dataset):
        if "position" not in data.data_vars:
            raise error(
                f"{func}: the Dataset has no 'position' variable; pass a pose Dataset "
                "(see poselab.poses) or a position DataArray"
            )
        da = data["position"]
        if "units" not in da.attrs and "units" in data.attrs:
            da = da.copy()
            da.attrs = {**da.attrs, "units": data.attrs["units"]}
    elif isinstance(data, xr.DataArray):
        da = data
    else:
        raise error(
            f"{func}: expected a pose Dataset or an xarray.DataArray; got {type(data).__name__}"
        )
    require_dims(da, dims, func=func, error=error)
    if "coord" in dims:
        labels = da["coord"].values.tolist() if "coord" in da.coords else []
        if labels not in (["x", "y"], ["x", "y", "z"]):
            raise error(f"{func}: coordinate 'coord' must be ['x', 'y'] or ['x', 'y', 'z']; got {labels}")
    if "frame" in dims and da.sizes["frame"] < 1:
        raise error(f"{func}: the input has no frames")
    if floating and not np.issubdtype(da.dtype, np.floating):
        raise error(f"{func}: positions must be floats (NaN marks unknown); got {da.dtype}")
    return da


def pose_dataset(
    data: Any,
    *,
    func: str,
    variables: Sequence[str] = ("position", "likelihood"),
    dims: Sequence[str] = ("frame",),
    error: type[Exception] = InputError,
) -> xr.Dataset:
    """Check that ``data`` is a pose Dataset holding ``variables``, each with ``dims``."""
    if not isinstance(data, xr.Dataset):
        raise error(
            f"{func}: needs the pose Dataset ({', '.join(variables)}); got {type(data).__name__}"
        )
    missing = [name for name in variables if name not in data.data_vars]
    if missing:
        raise error(f"{func}: the Dataset lacks {missing}; pass a pose Dataset")
    for name in variables:
        require_dims(data[name], dims, func=f"{func} ({name!r})", error=error)
    return data


def sample_times(
    da: xr.DataArray, *, func: str, error: type[Exception] = InputError
) -> tuple[np.ndarray, str]:
    """Sample times along ``frame`` and their unit.

    Parameters
    ----------
    da
        Data with a ``frame`` dim, and a ``time`` coordinate along it when the frame rate is
        known.
    func
        Name of the calling function, shown in messages.
    error
        Exception class to raise.

    Returns
    -------
    times : numpy.ndarray
        float64, strictly increasing: seconds from the ``time`` coordinate, or else the frame
        numbers (the ``frame`` coordinate, or 0, 1, 2 ...).
    unit : str
        ``"s"`` or ``"frame"``.
    """
    t, unit = None, "frame"
    if "time" in da.coords and da["time"].dims == ("frame",):
        times = np.asarray(da["time"].values, dtype=np.float64)
        finite = np.isfinite(times)
        if finite.all():
            t, unit = times, "s"
        elif finite.any():
            raise error(
                f"{func}: the 'time' coordinate is NaN for some frames only; set the frame rate "
                "with poses.with_fps(ds, fps) (or to None to work in frames)"
            )
    if t is None:
        if "frame" not in da.coords:
            t = np.arange(da.sizes["frame"], dtype=np.float64)
        else:
            t = np.asarray(da["frame"].values, dtype=np.float64)
    if t.size > 1 and not np.all(np.diff(t) > 0):
        raise error(f"{func}: 'time'/'frame' must increase strictly along frame")
    return t, unit


def part_index_pairs(
    pairs: Sequence[Sequence[str | int]] | np.ndarray | None,
    parts: Sequence[str] | int,
    *,
    what: str = "pair",
    error: type[Exception] = InputError,
) -> np.ndarray:
    """Pairs of parts (a skeleton, left/right pairs) as an ``(L, 2)`` array of part indices.

    Parameters
    ----------
    pairs
        Pairs of part names (the form every public poselab API takes, as in ``poselab.yaml``),
        or of part indices (as stored in model cards); None or empty gives no pairs.
    parts
        The part names the indices refer to (or only their number, where no names are
        known: then pairs must be indices).
    what
        What the pairs are, for messages (``"limb"``, ``"flip pair"``).
    error
        Exception class to raise.
    """
    if isinstance(parts, (int, np.integer)):
        names = None
        n_parts = int(parts)
    else:
        names = [str(p) for p in parts]
        n_parts = len(names)
    out = []
    for pair in [] if pairs is None else list(pairs):
        pair = list(pair)
        if len(pair) != 2:
            raise error(f"each {what} must be two parts; got {pair}")
        indices = []
        for item in pair:
            if isinstance(item, (str, np.str_)):
                if names is None or item not in names:
                    known = f"parts are {names}" if names is not None else "give part indices here"
                    raise error(f"{what} {pair}: {item!r} is not a part; {known}")
                indices.append(names.index(str(item)))
            elif isinstance(item, (int, np.integer)) and not isinstance(item, bool):
                if not 0 <= int(item) < n_parts:
                    raise error(f"{what} {pair}: index {item} is not a part index (0-{n_parts - 1})")
                indices.append(int(item))
            else:
                raise error(f"{what} {pair}: give part names (or indices), not {item!r}")
        if indices[0] == indices[1]:
            raise error(f"{what} {pair} joins a part to itself")
        out.append(indices)
    return np.asarray(out, dtype=np.int64).reshape(-1, 2)
