"""A lossless adapter between poselab's pose Dataset and the ``movement`` package's schema.

movement (https://movement.neuroinformatics.dev) holds poses as

``position``
    dims ``(time, space, keypoint, individual)`` (movement >= 0.17) or
    ``(time, space, keypoints, individuals)`` (movement <= 0.16);
``confidence``
    dims ``(time, keypoint, individual)``;

with ``time`` in seconds when the frame rate is known (attrs ``fps``, ``time_unit="seconds"``)
and in frames otherwise (``time_unit="frames"``), and attrs ``source_software`` and
``ds_type="poses"``.

:func:`to_movement` renames and transposes (animal -> individual, part -> keypoint,
frame -> time, coord -> space, likelihood -> confidence). What movement's schema has no place
for travels with it: the video frame index as a ``frame`` coordinate along ``time``, other
frame coordinates (``image``...) likewise, and every poselab attribute as JSON in
``attrs["poselab_attrs"]``. :func:`from_movement` undoes it exactly, and also accepts
Datasets made by movement's own loaders.
"""

from __future__ import annotations

import json
import math
from typing import Any, Literal

import numpy as np
import xarray as xr

from poselab.core import poses
from poselab.core.poses import PoseDataError

__all__ = ["to_movement", "from_movement", "movement_dims"]

_META = "poselab_attrs"
_SINGULAR = ("time", "space", "keypoint", "individual")
_PLURAL = ("time", "space", "keypoints", "individuals")


def movement_dims() -> tuple[str, str, str, str]:
    """The position dims of the installed movement (singular names when it is not installed)."""
    try:
        from movement.validators.datasets import ValidPosesInputs
    except ImportError:
        return _SINGULAR
    dims = tuple(getattr(ValidPosesInputs, "DIM_NAMES", _SINGULAR))
    return dims if dims in (_SINGULAR, _PLURAL) else _SINGULAR  # type: ignore[return-value]


def to_movement(
    ds: xr.Dataset, *, dims: Literal["auto", "singular", "plural"] = "auto"
) -> xr.Dataset:
    """Convert a pose Dataset to movement's poses schema (lossless; see :func:`from_movement`).

    Parameters
    ----------
    ds
        A valid pose Dataset.
    dims
        ``"singular"`` (``keypoint``, ``individual``: movement >= 0.17), ``"plural"``
        (``keypoints``, ``individuals``: movement <= 0.16), or ``"auto"``: those of the
        installed movement.

    Returns
    -------
    xarray.Dataset
        ``position (time, space, keypoint(s), individual(s))`` in pixels and ``confidence
        (time, keypoint(s), individual(s))``; ``time`` in seconds when ``fps`` is known, else
        the video frame index; the frame index also as coordinate ``frame`` along ``time``.
    """
    poses.validate(ds)
    names = _dims(dims)
    _, _, keypoint, individual = names
    fps = float(ds.attrs["fps"])
    known_fps = not math.isnan(fps)
    frames = ds["frame"].values
    out = ds.drop_vars("time").rename_vars(likelihood="confidence")
    out = out.rename({"frame": "time", "coord": "space", "part": keypoint, "animal": individual})
    out = out.assign_coords(frame=("time", frames))
    # movement's time: seconds when the frame rate is known, else frames (its own convention).
    out = out.assign_coords(time=ds["time"].values if known_fps else frames.astype(np.int64))
    out["position"] = out["position"].transpose(*names)
    out["confidence"] = out["confidence"].transpose("time", keypoint, individual)
    attrs: dict[str, Any] = {
        "source_software": str(ds.attrs["source"]),
        "ds_type": "poses",
        "time_unit": "seconds" if known_fps else "frames",
    }
    if known_fps:
        attrs["fps"] = fps
    attrs[_META] = json.dumps({k: _plain(v) for k, v in ds.attrs.items()})
    out.attrs = attrs
    return out


def from_movement(mds: xr.Dataset) -> xr.Dataset:
    """Convert a movement poses Dataset to a pose Dataset.

    Exact inverse of :func:`to_movement`. Datasets from movement's loaders (or any Dataset in
    its schema, singular or plural dim names) are accepted too: frames are ``time`` when
    ``time_unit`` is ``"frames"``, else ``round(time * fps)``; ``likelihood`` is the
    ``confidence`` (broadcast over parts when it is per individual).

    Raises
    ------
    PoseDataError
        When ``mds`` is not a movement poses Dataset (the message says what is missing).
    """
    if not isinstance(mds, xr.Dataset):
        raise PoseDataError(f"expected a movement xarray.Dataset; got {type(mds).__name__}")
    names = _SINGULAR if "keypoint" in mds.dims or "individual" in mds.dims else _PLURAL
    _, _, keypoint, individual = names
    missing = [d for d in names if d not in mds.dims]
    if "position" not in mds.data_vars or missing:
        raise PoseDataError(
            "not a movement poses Dataset: expected a 'position' variable with dims "
            f"{_SINGULAR} (or {_PLURAL}); missing "
            f"{(['position'] if 'position' not in mds.data_vars else []) + missing}"
        )
    meta = json.loads(mds.attrs[_META]) if _META in mds.attrs else None
    if meta is not None and "frame" in mds.coords:
        frames = np.asarray(mds["frame"].values, dtype=np.int64)
    else:
        frames = _frames_from_time(mds)
    fps = meta.get("fps") if meta is not None else mds.attrs.get("fps")
    out = mds.drop_vars([n for n in ("time", "frame") if n in mds.coords])
    if "confidence" in out.data_vars:
        out = out.rename_vars(confidence="likelihood")
    out = out.rename({"time": "frame", "space": "coord", keypoint: "part", individual: "animal"})
    out = out.assign_coords(frame=frames)
    for dim in ("animal", "part", "coord"):
        # movement's loaders may give object arrays; the data model wants plain str.
        values = out[dim].values
        out = out.assign_coords({dim: np.asarray([str(v) for v in values.tolist()], dtype=str)})
    out["position"] = out["position"].transpose(*poses.POSITION_DIMS)
    if "likelihood" not in out.data_vars:
        out["likelihood"] = xr.full_like(out["position"].isel(coord=0, drop=True), np.nan)
    elif set(out["likelihood"].dims) == {"frame", "animal"}:  # individual-wise confidence
        template = out["position"].isel(coord=0, drop=True)
        out["likelihood"] = out["likelihood"].broadcast_like(template)
    out["likelihood"] = out["likelihood"].transpose(*poses.LIKELIHOOD_DIMS)
    if meta is not None:
        out.attrs = meta
    else:
        out.attrs = {
            "fps": float("nan"),
            "source": str(mds.attrs.get("source_software") or "movement"),
            "video": "",
            "width": 0,
            "height": 0,
            "units": str(mds["position"].attrs.get("units", "pixels")),
            "provenance": "[]",
        }
        if mds.attrs.get("source_file"):
            out.attrs["movement_source_file"] = str(mds.attrs["source_file"])
        out["position"].attrs.setdefault("units", out.attrs["units"])
    out = poses.with_fps(out, None if fps is None or _isnan(fps) else float(fps))
    if meta is None:
        out = poses.with_provenance(out, "from_movement", source_software=out.attrs["source"])
    return poses.validate(out)


def _dims(dims: str) -> tuple[str, str, str, str]:
    if dims == "auto":
        return movement_dims()
    if dims == "singular":
        return _SINGULAR
    if dims == "plural":
        return _PLURAL
    raise ValueError(f"dims must be 'auto', 'singular' or 'plural'; got {dims!r}")


def _frames_from_time(mds: xr.Dataset) -> np.ndarray:
    time = np.asarray(mds["time"].values)
    unit = mds.attrs.get("time_unit")
    fps = mds.attrs.get("fps")
    if unit == "frames" or (unit is None and np.issubdtype(time.dtype, np.integer)):
        frames = time
    elif fps is None or _isnan(fps):
        raise PoseDataError(
            "the movement Dataset's time is in seconds but attrs['fps'] is missing: "
            "set mds.attrs['fps'] to convert time to frames"
        )
    else:
        frames = np.rint(time.astype(np.float64) * float(fps))
    if not np.all(np.isfinite(frames)) or not np.allclose(frames, np.rint(frames)):
        raise PoseDataError("the movement Dataset's time does not fall on whole frames")
    return np.rint(frames).astype(np.int64)


def _isnan(value: Any) -> bool:
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return True


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
