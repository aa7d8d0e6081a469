"""SLEAP analysis HDF5 files (``*.analysis.h5``), read and written in SLEAP's own layout.

SLEAP (``sleap.info.write_tracking_h5``) builds its arrays frame-major and writes each one
transposed, for MATLAB's column-major order. As h5py reads them back, the datasets are

=====================  ===================================  ==========================
dataset                shape on disk                        meaning
=====================  ===================================  ==========================
``tracks``             (n_tracks, 2, n_nodes, n_frames)     x, y in pixels, NaN unknown
``point_scores``       (n_tracks, n_nodes, n_frames)        per-point confidence
``instance_scores``    (n_tracks, n_frames)                 per-instance score
``tracking_scores``    (n_tracks, n_frames)                 tracker's score
``track_occupancy``    (n_frames, n_tracks) uint8           1 where the track has a pose
``track_names``        (n_tracks,) bytes                    track (animal) names
``node_names``         (n_nodes,) bytes                     node (part) names
``edge_names``         (n_edges, 2) bytes                   skeleton edges by name
``edge_inds``          (n_edges, 2) int                     skeleton edges by node index
``video_path``         scalar str                           the video analysed
``video_ind``          scalar int                           its index in the project
``labels_path``        scalar str                           the ``.slp`` file, or ""
``provenance``         scalar str                           JSON dict of the origin
=====================  ===================================  ==========================

Column ``i`` of the frame axis is video frame ``i`` (SLEAP's default ``all_frames=True``).

poselab stores what SLEAP's layout has no place for (its attributes, the frame indices of
the Dataset, extra frame coordinates) under the key ``"poselab"`` of ``provenance``, so that
``read_sleap_analysis(write_sleap_analysis(ds, f))`` equals ``ds`` exactly.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from poselab.core import poses
from poselab.core.files import atomic_path
from poselab.core.poses import PoseDataError
from poselab.io.hdf5 import read_dataset

__all__ = ["read_sleap_analysis", "write_sleap_analysis", "is_sleap_analysis"]

_META_KEY = "poselab"
_SCORE_VARS = {"instance_scores": "instance_score", "tracking_scores": "tracking_score"}


def is_sleap_analysis(path: str | os.PathLike) -> bool:
    """Whether ``path`` is an HDF5 file with a SLEAP ``tracks`` dataset at its root."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            return isinstance(f.get("tracks"), h5py.Dataset)
    except (OSError, KeyError):
        return False


def read_sleap_analysis(path: str | os.PathLike, *, fps: float | None = None) -> xr.Dataset:
    """Read a SLEAP analysis HDF5 file as a pose Dataset.

    Parameters
    ----------
    path
        A SLEAP analysis ``.h5`` file (File > Export Analysis HDF5 in SLEAP, or
        ``sleap-convert --format analysis``).
    fps
        Frame rate in frames per second; ``None`` keeps the one stored by poselab, if any,
        else the frame rate is unknown (``time`` NaN).

    Returns
    -------
    xarray.Dataset
        ``animal`` = tracks, ``part`` = nodes, ``frame`` = video frame index, position in
        pixels, ``likelihood`` = point scores. Instance and tracking scores, when the file
        has any, become the variables ``instance_score`` and ``tracking_score``
        ``(animal, frame)``; skeleton edges go to ``attrs["skeleton"]`` (JSON list of pairs).
    """
    import h5py

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no SLEAP analysis file at {path}")
    try:
        f = h5py.File(path, "r")
    except OSError as error:
        raise PoseDataError(f"{path} is not an HDF5 file: {error}") from error
    with f:
        if not isinstance(f.get("tracks"), h5py.Dataset) or "node_names" not in f:
            raise PoseDataError(
                f"{path} is not a SLEAP analysis file: expected datasets 'tracks' "
                f"(n_tracks, 2, n_nodes, n_frames) and 'node_names'; found {sorted(f.keys())}"
            )
        tracks = _canonical(f["tracks"], ("track", "node", "frame", "xy"), path)
        if tracks.ndim != 4 or tracks.shape[3] != 2:
            raise PoseDataError(
                f"{path}: 'tracks' has shape {f['tracks'].shape}; SLEAP writes "
                "(n_tracks, 2, n_nodes, n_frames)"
            )
        n_tracks, n_nodes, n_frames, _ = tracks.shape
        nodes = _strings(f["node_names"][()])
        track_names = _strings(f["track_names"][()]) if "track_names" in f else []
        scores = (
            _canonical(f["point_scores"], ("track", "node", "frame"), path)
            if "point_scores" in f
            else None
        )
        extra = {}
        for key, name in _SCORE_VARS.items():
            if key in f:
                values = _canonical(f[key], ("track", "frame"), path)
                if np.isfinite(values).any():
                    extra[name] = values
        edges = _strings(f["edge_names"][()]) if "edge_names" in f else []
        video_path = _scalar_str(f, "video_path")
        labels_path = _scalar_str(f, "labels_path")
        provenance = _scalar_str(f, "provenance")
    if len(nodes) != n_nodes:
        raise PoseDataError(f"{path}: {len(nodes)} node names for {n_nodes} nodes in 'tracks'")
    position = tracks  # (track, node, frame, xy) = (animal, part, frame, coord)
    likelihood = scores if scores is not None else None
    if likelihood is not None and likelihood.shape != (n_tracks, n_nodes, n_frames):
        raise PoseDataError(
            f"{path}: 'point_scores' has shape {likelihood.shape}; expected "
            f"(n_tracks, n_nodes, n_frames) = {(n_tracks, n_nodes, n_frames)}"
        )
    meta = _poselab_meta(provenance)
    animals = track_names if len(track_names) == n_tracks else None
    video = video_path if video_path and not os.path.isabs(video_path) else ""
    ds = poses.from_arrays(
        position,
        likelihood,
        animals=animals,
        parts=nodes,
        fps=fps,
        source="SLEAP",
        video=video,
    )
    for name, values in extra.items():
        ds[name] = (("animal", "frame"), values)
    if meta is not None:
        return _restore(ds, meta, fps)
    if edges:
        ds.attrs["skeleton"] = json.dumps(np.reshape(edges, (-1, 2)).tolist())
    if video_path and not video:
        ds.attrs["sleap_video_path"] = video_path
    if labels_path and labels_path != "None":
        ds.attrs["sleap_labels_path"] = labels_path
    return poses.with_provenance(ds, "read_sleap_analysis", path=path.name)


def write_sleap_analysis(ds: xr.Dataset, path: str | os.PathLike) -> Path:
    """Write a pose Dataset as a SLEAP analysis HDF5 file, in SLEAP's exported layout.

    The frame axis runs from video frame 0 to the Dataset's last frame (frames the Dataset
    does not hold are NaN with occupancy 0), so that column ``i`` is video frame ``i`` as in
    SLEAP's own export. Every animal becomes a track (also tracks without data, which SLEAP
    itself would drop) so that reading the file back gives ``ds`` exactly.

    Parameters
    ----------
    ds
        A valid 2-D pose Dataset (positions in pixels).
    path
        Target ``.h5`` path (SLEAP names them ``*.analysis.h5``). Written atomically.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    import h5py

    poses.validate(ds)
    if ds.sizes["coord"] != 2:
        raise PoseDataError("SLEAP analysis files hold 2-D poses; this Dataset has x, y, z")
    path = Path(path)
    frames = ds["frame"].values
    if frames.size and frames.min() < 0:
        raise PoseDataError(f"frame indices must be >= 0 for SLEAP; the first is {frames.min()}")
    n_frames = int(frames.max()) + 1 if frames.size else 0
    n_animals, n_parts = ds.sizes["animal"], ds.sizes["part"]
    position = ds["position"].values
    # (animal, part, frame, coord) -> SLEAP's on-disk (track, xy, node, frame)
    tracks = np.full((n_animals, 2, n_parts, n_frames), np.nan, dtype=position.dtype)
    tracks[..., frames] = np.transpose(position, (0, 3, 1, 2))
    likelihood = ds["likelihood"].values
    point_scores = np.full((n_animals, n_parts, n_frames), np.nan, dtype=likelihood.dtype)
    point_scores[..., frames] = likelihood
    occupancy = np.zeros((n_frames, n_animals), dtype=np.uint8)
    occupancy[frames] = (~np.isnan(position).all(axis=(1, 3))).T
    scores = {}
    for key, name in _SCORE_VARS.items():
        scores[key] = np.full((n_animals, n_frames), np.nan)
        if name in ds.data_vars:
            scores[key][:, frames] = ds[name].transpose("animal", "frame").values
    parts = [str(p) for p in ds["part"].values]
    edges = [
        (a, b) for a, b in json.loads(ds.attrs.get("skeleton", "[]")) if a in parts and b in parts
    ]
    arrays = {
        "tracks": tracks,
        "track_occupancy": occupancy,
        "point_scores": point_scores,
        "instance_scores": scores["instance_scores"],
        "tracking_scores": scores["tracking_scores"],
    }
    provenance = {_META_KEY: _meta_of(ds)}
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.create_dataset("track_names", data=_bytes([str(a) for a in ds["animal"].values]))
        f.create_dataset("node_names", data=_bytes(parts))
        f.create_dataset(
            "edge_names",
            data=np.array([[a.encode(), b.encode()] for a, b in edges], dtype="S")
            if edges
            else np.zeros((0, 2), dtype="S1"),
        )
        f.create_dataset(
            "edge_inds",
            data=np.array([[parts.index(a), parts.index(b)] for a, b in edges], dtype=np.int64)
            if edges
            else np.zeros((0, 2), dtype=np.int64),
        )
        for key, value in arrays.items():
            dataset = f.create_dataset(key, data=value, compression="gzip", compression_opts=9)
            # Self-description as sleap-io writes it (SLEAP itself ignores these).
            dims = ("frame", "track") if key == "track_occupancy" else _SLEAP_DIMS[value.ndim]
            dataset.attrs["dims"] = json.dumps(dims)
        f.create_dataset("labels_path", data=str(ds.attrs.get("sleap_labels_path", "")))
        f.create_dataset("video_path", data=str(ds.attrs.get("video", "")))
        f.create_dataset("video_ind", data=0)
        f.create_dataset("provenance", data=json.dumps(provenance))
    return path


# --- helpers ----------------------------------------------------------------------------------


_SLEAP_DIMS = {  # SLEAP's on-disk (MATLAB, column-major) order of each array
    4: ("track", "xy", "node", "frame"),
    3: ("track", "node", "frame"),
    2: ("track", "frame"),
}


def _canonical(dataset: Any, order: tuple[str, ...], path: Path) -> np.ndarray:
    """Read a SLEAP array and transpose it to ``order``.

    SLEAP writes MATLAB order (:data:`_SLEAP_DIMS`); sleap-io may write other orders and
    then names them in the dataset attribute ``dims``.
    """
    values = read_dataset(dataset)  # gzip chunks inflated on every allowed core
    stored = dataset.attrs.get("dims")
    dims = tuple(json.loads(stored)) if stored is not None else _SLEAP_DIMS.get(values.ndim)
    if dims is None or sorted(dims) != sorted(order) or len(dims) != values.ndim:
        raise PoseDataError(
            f"{path}: dataset {dataset.name!r} has shape {values.shape} (dims {dims}); "
            f"expected dims {_SLEAP_DIMS.get(len(order))}"
        )
    return np.transpose(values, [dims.index(d) for d in order])


def _bytes(names: list[str]) -> np.ndarray:
    """Fixed-length byte strings, as SLEAP writes names (``np.bytes_``)."""
    return np.array([n.encode("utf-8") for n in names], dtype="S") if names else np.zeros(0, "S1")


def _strings(values: Any) -> list:
    array = np.asarray(values)
    out = [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in array.ravel().tolist()]
    return out


def _scalar_str(f: Any, key: str) -> str:
    if key not in f:
        return ""
    value = f[key][()]
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.ndarray):
        return "" if value.size == 0 else _strings(value)[0]
    return str(value)


def _json_value(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _meta_of(ds: xr.Dataset) -> dict:
    """What SLEAP's layout cannot hold: attrs, frame indices, extra frame coords, dtypes."""
    coords = {}
    for name, coord in ds.coords.items():
        if name in ("frame", "time") or coord.dims != ("frame",):
            continue
        if coord.dtype.kind not in "iufbU":
            continue
        coords[name] = {
            "values": coord.values.tolist(),
            "dtype": coord.dtype.str,
            "attrs": dict(coord.attrs),
        }
    return {
        "attrs": {k: _json_value(v) for k, v in ds.attrs.items()},
        "frames": ds["frame"].values.tolist(),
        "coords": coords,
        "variables": {name: dict(var.attrs) for name, var in ds.data_vars.items()},
    }


def _poselab_meta(provenance: str) -> dict | None:
    if not provenance:
        return None
    try:
        value = json.loads(provenance)
    except json.JSONDecodeError:
        return None
    meta = value.get(_META_KEY) if isinstance(value, dict) else None
    return meta if isinstance(meta, dict) and "frames" in meta else None


def _restore(ds: xr.Dataset, meta: dict, fps: float | None) -> xr.Dataset:
    """Undo :func:`_meta_of`: keep the Dataset's frames and restore its attrs and coords."""
    frames = np.asarray(meta["frames"], dtype=np.int64)
    every = frames.size == ds.sizes["frame"] and np.array_equal(frames, np.arange(frames.size))
    out = (ds if every else ds.isel(frame=frames)).assign_coords(frame=frames)  # no copy when all
    out.attrs = dict(meta["attrs"])
    for name, info in meta.get("coords", {}).items():
        values = np.asarray(info["values"], dtype=np.dtype(info["dtype"]))
        out = out.assign_coords({name: ("frame", values, info.get("attrs", {}))})
    for name, attrs in meta.get("variables", {}).items():
        if name in out.data_vars:
            out[name].attrs = dict(attrs)
    out = poses.with_fps(out, fps if fps is not None else out.attrs.get("fps"))
    return poses.validate(out)
