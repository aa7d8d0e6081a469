"""The pose data model: one xarray Dataset shared by every poselab module.

A pose Dataset holds

``position``
    float, dims ``(animal, part, frame, coord)``, in ``attrs["units"]`` (pixels unless
    calibrated), NaN where the part is unknown.
``likelihood``
    float, dims ``(animal, part, frame)``, in [0, 1], NaN where unknown.

with coordinates ``animal`` (str), ``part`` (str), ``frame`` (int, the video's frame index),
``time`` along ``frame`` (seconds, ``frame / fps``; NaN when the frame rate is unknown) and
``coord`` (``["x", "y"]`` or ``["x", "y", "z"]``), and attributes that are always serialisable:
``fps`` (frames per second, NaN when unknown), ``source`` (software and version), ``video``
(path relative to the project, or ""), ``width`` and ``height`` (pixels, 0 when unknown),
``units`` and ``provenance`` (a JSON list of the operations applied, read with
:func:`provenance`).

The labels Dataset (labeled images: a project's label store, a DeepLabCut ``CollectedData``
file) is the same but for its rows: dim ``image`` instead of ``frame``, indexed by each image's
path (str, forward slashes), with optional coordinates ``video`` (str) and ``video_frame`` (int,
the frame's index in that video, -1 when unknown) along ``image`` and no ``time``. Build one
with :func:`labels_from_arrays`, check it with :func:`validate_labels`; :func:`save` and
:func:`load` store both kinds (:func:`is_labels` tells them apart).

Image coordinates follow the usual convention: origin at the top-left corner of the top-left
pixel's centre, x to the right, y down, both in pixels.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from poselab._version import __version__
from poselab.core.errors import PoselabError
from poselab.core.files import atomic_path

POSITION_DIMS = ("animal", "part", "frame", "coord")
LIKELIHOOD_DIMS = ("animal", "part", "frame")
LABELS_POSITION_DIMS = ("animal", "part", "image", "coord")
LABELS_LIKELIHOOD_DIMS = ("animal", "part", "image")
COORDS_2D = ("x", "y")
COORDS_3D = ("x", "y", "z")
REQUIRED_ATTRS = ("fps", "source", "video", "width", "height", "units", "provenance")
SOURCE = f"poselab {__version__}"

__all__ = [
    "PoseDataError",
    "from_arrays",
    "empty",
    "validate",
    "labels_from_arrays",
    "validate_labels",
    "is_labels",
    "save",
    "load",
    "append_zarr",
    "provenance",
    "with_provenance",
    "select_frames",
    "with_fps",
]


class PoseDataError(PoselabError, ValueError):
    """A Dataset, array or file does not follow the pose data model."""


def from_arrays(
    position: np.ndarray,
    likelihood: np.ndarray | None = None,
    *,
    animals: Sequence[str] | None = None,
    parts: Sequence[str] | None = None,
    frames: Sequence[int] | np.ndarray | None = None,
    fps: float | None = None,
    **attrs: Any,
) -> xr.Dataset:
    """Build a validated pose Dataset from numpy arrays.

    Parameters
    ----------
    position
        Array of shape ``(n_animals, n_parts, n_frames, n_coords)`` with ``n_coords`` 2 or 3,
        in pixels (or ``units``); NaN where unknown.
    likelihood
        Array of shape ``(n_animals, n_parts, n_frames)`` in [0, 1]. Defaults to 1 where the
        position is known and NaN elsewhere.
    animals, parts
        Names; default ``animal0, ...`` and ``part0, ...``.
    frames
        Video frame index of each frame; defaults to ``0 .. n_frames - 1``.
    fps
        Frame rate in frames per second; ``None`` when unknown (``time`` is then NaN).
    **attrs
        The other attributes: ``source`` (the software that produced the poses, with its
        version; default this poselab), ``video`` (path of the video relative to the project,
        or ""), ``width`` and ``height`` (image size in pixels, 0 when unknown), ``units`` (of
        ``position``: "pixels", the default, or a calibrated unit such as "mm").

    Returns
    -------
    xarray.Dataset
        A Dataset that passes :func:`validate`.
    """
    position, likelihood, animals, parts = _arrays(position, likelihood, animals, parts, "frame")
    n_frames = position.shape[2]
    frames = np.arange(n_frames, dtype=np.int64) if frames is None else np.asarray(frames)
    if frames.shape != (n_frames,):
        raise PoseDataError(f"frames must have {n_frames} entries; got shape {frames.shape}")
    if frames.size and not np.issubdtype(frames.dtype, np.integer):
        if not np.all(frames == np.round(frames)):
            raise PoseDataError("frames must be whole video frame indices")
    frames = frames.astype(np.int64)
    ds = xr.Dataset(
        {
            "position": (POSITION_DIMS, position, {"units": str(attrs.get("units", "pixels"))}),
            "likelihood": (LIKELIHOOD_DIMS, likelihood),
        },
        coords={"animal": animals, "part": parts, "frame": frames, "coord": _coord_names(position)},
        attrs=_attrs(fps=fps, **attrs),
    )
    ds = _with_time(ds)
    validate(ds)
    return ds


def labels_from_arrays(
    position: np.ndarray,
    likelihood: np.ndarray | None = None,
    *,
    images: Sequence[str],
    animals: Sequence[str] | None = None,
    parts: Sequence[str] | None = None,
    videos: Sequence[str] | None = None,
    video_frames: Sequence[int] | np.ndarray | None = None,
    **attrs: Any,
) -> xr.Dataset:
    """Build a validated labels Dataset (one row per labeled image) from numpy arrays.

    Parameters
    ----------
    position
        Array of shape ``(n_animals, n_parts, n_images, n_coords)`` with ``n_coords`` 2 or 3,
        in pixels (or ``units``); NaN where a part is not labeled.
    likelihood
        Array of shape ``(n_animals, n_parts, n_images)`` in [0, 1]. Defaults to 1 where the
        position is known and NaN elsewhere.
    images
        Each image's path (the ``image`` index; unique, forward slashes).
    animals, parts
        Names; default ``animal0, ...`` and ``part0, ...``.
    videos, video_frames
        Optional coordinates along ``image``: the video each image was taken from (relative
        path or "") and the frame's index in it (-1 when unknown). Give both or neither.
    **attrs
        The attributes, as in :func:`from_arrays`: ``fps`` (frames per second), ``source``,
        ``video`` (when all images come from one), ``width`` and ``height`` (pixels, 0 when
        unknown or when the images differ), ``units``.

    Returns
    -------
    xarray.Dataset
        A Dataset that passes :func:`validate_labels`.
    """
    position, likelihood, animals, parts = _arrays(position, likelihood, animals, parts, "image")
    images = [str(name).replace("\\", "/") for name in images]
    if len(images) != position.shape[2]:
        raise PoseDataError(f"{len(images)} image names for {position.shape[2]} images")
    coords: dict[str, Any] = {
        "animal": animals, "part": parts, "image": np.asarray(images, dtype=str).reshape(-1),
        "coord": _coord_names(position),
    }
    if (videos is None) != (video_frames is None):
        raise PoseDataError("give both videos and video_frames (one per image), or neither")
    if videos is not None:
        coords["video"] = ("image", np.asarray([str(v) for v in videos], dtype=str).reshape(-1))
        coords["video_frame"] = ("image", np.asarray(video_frames, dtype=np.int64).reshape(-1))
    ds = xr.Dataset(
        {
            "position": (LABELS_POSITION_DIMS, position, {"units": str(attrs.get("units", "pixels"))}),
            "likelihood": (LABELS_LIKELIHOOD_DIMS, likelihood),
        },
        coords=coords,
        attrs=_attrs(**attrs),
    )
    validate_labels(ds)
    return ds


def empty(
    animals: Sequence[str],
    parts: Sequence[str],
    n_frames: int,
    *,
    n_coords: int = 2,
    dtype: Any = np.float32,
    **attrs: Any,
) -> xr.Dataset:
    """A pose Dataset of ``n_frames`` frames filled with NaN (to be written into).

    ``attrs`` are passed to :func:`from_arrays` (``fps``, ``video``, ``width``, ...).
    """
    position = np.full((len(animals), len(parts), n_frames, n_coords), np.nan, dtype=dtype)
    likelihood = np.full(position.shape[:3], np.nan, dtype=dtype)
    return from_arrays(position, likelihood, animals=animals, parts=parts, **attrs)


def validate(ds: Any) -> xr.Dataset:
    """Check that ``ds`` follows the pose data model; raise :class:`PoseDataError` if not.

    Every problem found is listed in one message, each with what to fix.

    Returns
    -------
    xarray.Dataset
        ``ds`` itself, so that the call can be chained.
    """
    return _checked(ds, "frame")


def validate_labels(ds: Any) -> xr.Dataset:
    """Check that ``ds`` is a labels Dataset (rows along ``image``); raise :class:`PoseDataError`.

    The checks are those of :func:`validate`, with ``image`` (unique non-empty paths) in place
    of ``frame`` and ``time``; ``video`` (str) and ``video_frame`` (int) coordinates, when
    present, lie along ``image``. Every problem is listed in one message; returns ``ds``.
    """
    return _checked(ds, "image")


def is_labels(ds: Any) -> bool:
    """Whether ``ds`` is a labels Dataset (rows along ``image``) rather than a pose Dataset."""
    return isinstance(ds, xr.Dataset) and "image" in ds.dims


def _checked(ds: Any, rows: str) -> xr.Dataset:
    problems = _problems(ds, rows)
    if problems:
        what = "pose Dataset" if rows == "frame" else "labels Dataset"
        raise PoseDataError(f"not a valid {what}:\n  - " + "\n  - ".join(problems))
    return ds


def _problems(ds: Any, rows: str) -> list[str]:
    """Every way ``ds`` breaks the data model whose rows run along ``rows`` ("frame" or "image")."""
    if not isinstance(ds, xr.Dataset):
        raise PoseDataError(f"expected an xarray.Dataset; got {type(ds).__name__}")
    position_dims, likelihood_dims = (
        (POSITION_DIMS, LIKELIHOOD_DIMS) if rows == "frame" else (LABELS_POSITION_DIMS, LABELS_LIKELIHOOD_DIMS)
    )
    problems: list[str] = []
    for name, dims in (("position", position_dims), ("likelihood", likelihood_dims)):
        if name not in ds.data_vars:
            problems.append(f"missing data variable {name!r} with dims {dims}")
            continue
        var = ds[name]
        if var.dims != dims:
            problems.append(
                f"{name!r} has dims {var.dims}; expected {dims} "
                f"(use ds.transpose(*{dims}) or rename the dims)"
            )
        if not np.issubdtype(var.dtype, np.floating):
            problems.append(f"{name!r} must be a float array (NaN marks unknown); got {var.dtype}")
    for dim in position_dims:
        if dim not in ds.coords:
            problems.append(f"missing coordinate {dim!r}")
    if "coord" in ds.coords and tuple(ds["coord"].values.tolist()) not in (COORDS_2D, COORDS_3D):
        problems.append(
            f"coordinate 'coord' must be ['x', 'y'] or ['x', 'y', 'z']; "
            f"got {ds['coord'].values.tolist()}"
        )
    for dim in ("animal", "part", "image") if rows == "image" else ("animal", "part"):
        if dim in ds.coords:
            values = ds[dim].values.tolist()
            if any(not isinstance(v, str) or not v for v in values):
                problems.append(f"coordinate {dim!r} must hold non-empty strings; got {values[:5]}")
            elif len(set(values)) != len(values):
                duplicates = sorted({v for v in values if values.count(v) > 1})
                problems.append(f"coordinate {dim!r} has duplicate names: {duplicates if dim == 'image' else values}")
    if rows == "frame":
        if "image" in ds.dims:
            problems.append(
                "the rows run along 'image': this is a labels Dataset (check it with "
                "validate_labels); pose analysis needs rows along 'frame'"
            )
        if "frame" in ds.coords:
            if not np.issubdtype(ds["frame"].dtype, np.integer):
                problems.append(f"coordinate 'frame' must be integer; got {ds['frame'].dtype}")
            elif ds.sizes["frame"] > 1 and not np.all(np.diff(ds["frame"].values) > 0):
                problems.append("coordinate 'frame' must increase strictly (sort with ds.sortby('frame'))")
        if "time" not in ds.coords or ds["time"].dims != ("frame",):
            problems.append("missing coordinate 'time' along 'frame' (seconds, frame / fps)")
    else:
        if "frame" in ds.dims:
            problems.append("a labels Dataset has rows along 'image', not 'frame'")
        for name, kind in (("video", "U"), ("video_frame", "i")):
            if name in ds.coords:
                if ds[name].dims != ("image",):
                    problems.append(f"coordinate {name!r} must lie along 'image'; it has dims {ds[name].dims}")
                elif ds[name].dtype.kind != kind:
                    problems.append(f"coordinate {name!r} must be {'str' if kind == 'U' else 'int'}; got {ds[name].dtype}")
    for key in REQUIRED_ATTRS:
        if key not in ds.attrs:
            problems.append(f"missing attribute {key!r}")
        elif ds.attrs[key] is None:
            problems.append(f"attribute {key!r} is None; use a value (NaN, 0 or '') instead")
    if "fps" in ds.attrs and ds.attrs["fps"] is not None:
        fps = float(ds.attrs["fps"])
        if not (math.isnan(fps) or fps > 0):
            problems.append(f"attribute 'fps' must be positive or NaN (unknown); got {fps}")
    if isinstance(ds.attrs.get("video"), str) and os.path.isabs(ds.attrs["video"]):
        problems.append(
            f"attribute 'video' must be a relative path (so results stay portable); "
            f"got {ds.attrs['video']!r}"
        )
    if "likelihood" in ds.data_vars and not problems:
        lk = ds["likelihood"]
        if not hasattr(lk.data, "compute"):  # lazy (dask): checking would load everything
            values = lk.values
            # one NaN-ignoring pass each way, without temporaries (reads stay as fast as can be)
            low = np.fmin.reduce(values, axis=None, initial=np.inf) if values.size else 0.0
            high = np.fmax.reduce(values, axis=None, initial=-np.inf) if values.size else 0.0
            bad = np.isfinite(values) & ((values < 0) | (values > 1)) if low < 0 or high > 1 else None
            if bad is not None and bad.any():
                problems.append(
                    f"'likelihood' must lie in [0, 1]; {int(bad.sum())} values lie outside"
                )
    return problems


# --- provenance -------------------------------------------------------------------------------


def provenance(ds: xr.Dataset) -> list[dict[str, Any]]:
    """The operations applied to ``ds``, oldest first, as a list of dicts."""
    return json.loads(ds.attrs.get("provenance", "[]"))


def with_provenance(ds: xr.Dataset, operation: str, **parameters: Any) -> xr.Dataset:
    """Return ``ds`` (shallow copy) with ``operation`` and its parameters appended to provenance.

    Parameters must be JSON-serialisable (numbers, strings, lists); others are stored as text.
    """
    history = provenance(ds)
    history.append({"operation": operation, "parameters": parameters, "poselab": __version__})
    out = ds.copy()
    out.attrs = dict(ds.attrs)
    out.attrs["provenance"] = json.dumps(history, default=str)
    return out


# --- storage ----------------------------------------------------------------------------------


def save(ds: xr.Dataset, path: str | os.PathLike, *, chunk_frames: int = 4096) -> Path:
    """Save a pose Dataset (or a labels Dataset) as NetCDF (``.nc``, the default) or Zarr (``.zarr``).

    The write is atomic (:func:`poselab.core.files.atomic_path`): the file or folder is written
    beside the target and renamed into place, so a crash never leaves a half-written result in
    place of a good one. :func:`load` gives back the same Dataset, bit for bit.

    Parameters
    ----------
    ds
        A valid pose Dataset (:func:`validate`) or labels Dataset (:func:`validate_labels`).
    path
        Target path; the suffix picks the format (``.nc`` or ``.h5nc`` NetCDF, ``.zarr`` Zarr).
    chunk_frames
        Zarr chunk length along ``frame`` (or ``image``), in rows.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    _validate_either(ds)
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".nc", ".h5nc", ".netcdf"):
        with atomic_path(path) as tmp:
            ds.to_netcdf(tmp, engine="h5netcdf", invalid_netcdf=False)
    elif suffix == ".zarr":
        with atomic_path(path) as tmp:
            _chunked(ds, chunk_frames).to_zarr(tmp, mode="w", consolidated=False)
    else:
        raise PoseDataError(f"unknown pose file type {suffix!r}: use a .nc or .zarr path")
    return path


def load(path: str | os.PathLike, *, lazy: bool | None = None) -> xr.Dataset:
    """Load a pose (or labels) Dataset saved by :func:`save` (NetCDF or Zarr), validated.

    Parameters
    ----------
    path
        A ``.nc`` or ``.zarr`` path.
    lazy
        Keep the data on disk (dask arrays) instead of loading it. Defaults to True for Zarr
        (long videos) and False for NetCDF (the file is closed after loading).

    Returns
    -------
    xarray.Dataset
        A pose Dataset, or a labels Dataset when one was saved.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no pose file at {path}")
    if path.suffix.lower() == ".zarr":
        ds = xr.open_zarr(path, consolidated=False)
        if lazy is False:
            ds = ds.load()
    else:
        if lazy:
            ds = xr.open_dataset(path, engine="h5netcdf", chunks={})
        else:
            try:
                ds = xr.load_dataset(path, engine="h5netcdf")
            except OSError as error:
                raise PoseDataError(f"{path} is not a readable NetCDF pose file: {error}") from error
    return _validate_either(_restore_types(ds))


def append_zarr(ds: xr.Dataset, path: str | os.PathLike, *, chunk_frames: int = 4096) -> Path:
    """Append the frames of ``ds`` to a Zarr pose store along ``frame`` (create it if absent).

    Frames must come after those already stored; animals, parts and attributes must match.
    """
    validate(ds)
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        _chunked(ds, chunk_frames).to_zarr(path, mode="w", consolidated=False)
        return path
    stored = xr.open_zarr(path, consolidated=False)
    for dim in ("animal", "part", "coord"):
        if stored[dim].values.tolist() != ds[dim].values.tolist():
            raise PoseDataError(
                f"cannot append to {path}: {dim!r} differs "
                f"({stored[dim].values.tolist()} stored, {ds[dim].values.tolist()} given)"
            )
    if stored.sizes["frame"] and ds.sizes["frame"] and ds["frame"].values[0] <= stored["frame"].values[-1]:
        raise PoseDataError(
            f"cannot append to {path}: frames must follow the last stored frame "
            f"{int(stored['frame'].values[-1])}; got {int(ds['frame'].values[0])}"
        )
    # Attributes (provenance included) are those of the last write: they describe the whole store.
    _chunked(ds, chunk_frames).to_zarr(path, append_dim="frame", consolidated=False)
    return path


def select_frames(ds: xr.Dataset, frames: Sequence[int] | slice) -> xr.Dataset:
    """The frames of ``ds`` with the given video frame indices (label based, not positional)."""
    return ds.sel(frame=frames)


# --- helpers ----------------------------------------------------------------------------------


def _validate_either(ds: Any) -> xr.Dataset:
    return validate_labels(ds) if is_labels(ds) else validate(ds)


def _arrays(
    position: np.ndarray,
    likelihood: np.ndarray | None,
    animals: Sequence[str] | None,
    parts: Sequence[str] | None,
    rows: str,
) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    """Checked float ``position`` and ``likelihood`` arrays and the animal and part names."""
    position = np.asarray(position)
    if position.ndim != 4:
        raise PoseDataError(
            f"position must have 4 dims (animal, part, {rows}, coord); got shape {position.shape}"
        )
    n_animals, n_parts, _, n_coords = position.shape
    if n_coords not in (2, 3):
        raise PoseDataError(f"the last axis of position (coord) must be 2 or 3; got {n_coords}")
    if not np.issubdtype(position.dtype, np.floating):
        position = position.astype(np.float64)
    if likelihood is None:
        likelihood = np.where(np.isnan(position).any(axis=-1), np.nan, 1.0).astype(position.dtype)
    likelihood = np.asarray(likelihood)
    if likelihood.shape != position.shape[:3]:
        raise PoseDataError(
            f"likelihood must have shape (animal, part, {rows}) = {position.shape[:3]}; "
            f"got {likelihood.shape}"
        )
    if not np.issubdtype(likelihood.dtype, np.floating):
        likelihood = likelihood.astype(np.float64)
    return position, likelihood, _names(animals, n_animals, "animal"), _names(parts, n_parts, "part")


def _coord_names(position: np.ndarray) -> list[str]:
    return list(COORDS_2D if position.shape[-1] == 2 else COORDS_3D)


_ATTR_NAMES = ("fps", "source", "video", "width", "height", "units")


def _attrs(**given: Any) -> dict[str, Any]:
    """The attributes every pose and labels Dataset carries (all serialisable)."""
    unknown = sorted(set(given) - set(_ATTR_NAMES))
    if unknown:
        raise PoseDataError(f"unknown attribute(s) {unknown}; a pose Dataset has {list(_ATTR_NAMES)}")
    fps, source, video = given.get("fps"), given.get("source", SOURCE), given.get("video", "")
    width, height, units = given.get("width", 0), given.get("height", 0), given.get("units", "pixels")
    return {
        "fps": _fps_value(fps),
        "source": str(source),
        "video": str(video),
        "width": int(width),
        "height": int(height),
        "units": str(units),
        "provenance": "[]",
    }


def _names(names: Sequence[str] | None, n: int, prefix: str) -> list[str]:
    if names is None:
        return [f"{prefix}{i}" for i in range(n)]
    names = [str(name) for name in names]
    if len(names) != n:
        raise PoseDataError(f"{len(names)} {prefix} names given for {n} {prefix}s: {names}")
    return names


def _fps_value(fps: float | None) -> float:
    if fps is None:
        return float("nan")
    fps = float(fps)
    if not (math.isnan(fps) or fps > 0):
        raise PoseDataError(f"fps must be a positive number of frames per second; got {fps}")
    return fps


def _with_time(ds: xr.Dataset) -> xr.Dataset:
    fps = float(ds.attrs["fps"])
    frames = ds["frame"].values.astype(np.float64)
    time = frames / fps if not math.isnan(fps) else np.full(frames.shape, np.nan)
    return ds.assign_coords(time=("frame", time, {"units": "seconds"}))


def _chunked(ds: xr.Dataset, chunk_frames: int) -> xr.Dataset:
    ds = ds.copy()
    for name in ds.variables:
        ds[name].encoding.pop("chunks", None)
        ds[name].encoding.pop("preferred_chunks", None)
    for name, coord in ds.coords.items():
        # Variable-length strings: Zarr v3 has a specification for them, not for fixed-width.
        if coord.dtype.kind == "U":
            ds[name] = coord.astype(object)
    chunks = {dim: -1 for dim in ds.dims}
    rows = "image" if is_labels(ds) else "frame"
    chunks[rows] = min(chunk_frames, max(ds.sizes[rows], 1))
    chunked = ds.chunk(chunks)
    # String coordinates stay in memory (Zarr cannot infer an object dtype from a dask array).
    strings = {name: ds[name] for name in ds.coords if ds[name].dtype == object}
    return chunked.assign_coords(strings) if strings else chunked


def _restore_types(ds: xr.Dataset) -> xr.Dataset:
    """Undo what storage does to types: object string coords back to str, attrs to Python."""
    attrs = {}
    for key, value in ds.attrs.items():
        if isinstance(value, np.generic):
            value = value.item()
        attrs[key] = value
    ds.attrs = attrs
    for name, coord in list(ds.coords.items()):
        # Zarr gives back object or numpy StringDType strings; the data model uses plain str.
        if coord.dtype.kind in "OT" and all(isinstance(v, str) for v in coord.values.ravel().tolist()):
            ds = ds.assign_coords({name: (coord.dims, np.asarray(coord.values.tolist(), dtype=str), coord.attrs)})
    if "width" in attrs:
        ds.attrs["width"] = int(attrs["width"])
        ds.attrs["height"] = int(attrs["height"])
        ds.attrs["fps"] = float(attrs["fps"])
    return ds


def with_fps(ds: xr.Dataset, fps: float | None) -> xr.Dataset:
    """Return ``ds`` with a new frame rate (frames per second) and ``time`` recomputed."""
    out = ds.copy()
    out.attrs = dict(ds.attrs)
    out.attrs["fps"] = _fps_value(fps)
    return _with_time(out)
