"""Reading and writing pose files: DeepLabCut, SLEAP analysis HDF5, the movement schema.

Every reader returns a pose Dataset (:mod:`poselab.core.poses`); every writer takes one.

- :func:`read_deeplabcut` / :func:`write_deeplabcut`: DeepLabCut ``.h5`` / ``.csv`` tables
  (predictions and label files, single and multi-animal);
- :func:`read_sleap_analysis` / :func:`write_sleap_analysis`: SLEAP analysis ``.h5``;
- :func:`to_movement` / :func:`from_movement`: the ``movement`` package's Dataset schema;
- :func:`read_nwb` / :func:`write_nwb`: Neurodata Without Borders files with ``ndx-pose``
  (:mod:`poselab.io.nwb`; needs ``poselab[nwb]``);
- :func:`read_lightning_pose` / :func:`write_lightning_pose`: Lightning Pose's prediction
  CSVs (network, ensemble, EKS with variances; one file per view);
- :func:`read_deeplabcut_tracks`: DeepLabCut's multi-animal tracks (``*_el.h5``) by identity;
- :func:`to_keypoint_moseq` / :func:`to_bsoid` / :func:`to_simba`: inputs of keypoint-MoSeq,
  B-SOiD and SimBA (:mod:`poselab.io.behaviour_tools`);
- :func:`read`: any of the above files, or a poselab ``.nc`` / ``.zarr``, told apart by content.
  A DeepLabCut ``CollectedData`` label file gives the labels Dataset (rows along ``image``).

Videos: :mod:`poselab.io.video` (reading, writing); labeled videos: :mod:`poselab.io.render`.
"""

from __future__ import annotations

import os
from pathlib import Path

import xarray as xr

from poselab.core import poses
from poselab.core.poses import PoseDataError
from poselab.io.behaviour_tools import to_bsoid, to_keypoint_moseq, to_simba
from poselab.io.deeplabcut import read_deeplabcut, write_deeplabcut
from poselab.io.deeplabcut_tracks import find_dlc_video, read_deeplabcut_tracks
from poselab.io.lightning_pose import read_lightning_pose, write_lightning_pose
from poselab.io.movement import from_movement, to_movement
from poselab.io.nwb import read_nwb, read_nwb_skeleton, write_nwb
from poselab.io.sleap import read_sleap_analysis, write_sleap_analysis

__all__ = [
    "read",
    "read_deeplabcut",
    "write_deeplabcut",
    "read_sleap_analysis",
    "write_sleap_analysis",
    "to_movement",
    "from_movement",
    "read_lightning_pose",
    "write_lightning_pose",
    "read_nwb",
    "read_nwb_skeleton",
    "write_nwb",
    "read_deeplabcut_tracks",
    "find_dlc_video",
    "to_keypoint_moseq",
    "to_bsoid",
    "to_simba",
]

_NETCDF_SUFFIXES = (".nc", ".h5nc", ".netcdf")


def read(path: str | os.PathLike, *, fps: float | None = None) -> xr.Dataset:
    """Read any pose file poselab knows, telling the format from the file's content.

    Parameters
    ----------
    path
        A DeepLabCut ``.h5`` / ``.csv`` (Lightning Pose's CSVs too), a SLEAP analysis ``.h5`` (an HDF5 file with a
        ``tracks`` dataset), an NWB ``.nwb`` file with ``ndx-pose`` data, or a poselab
        ``.nc`` / ``.zarr`` (from :func:`poselab.core.poses.save`).
    fps
        Frame rate in frames per second for formats that do not store it (DeepLabCut, SLEAP);
        ignored for poselab and NWB files, which store their own.

    Returns
    -------
    xarray.Dataset
        A valid pose Dataset.

    Raises
    ------
    PoseDataError
        If the file is none of these formats (the message lists what is supported).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no pose file at {path}")
    suffix = path.suffix.lower()
    if suffix == ".zarr" or suffix in _NETCDF_SUFFIXES:
        return poses.load(path)
    if suffix == ".csv":
        if _has_variance_columns(path):  # Lightning Pose's ensemble / EKS predictions
            return read_lightning_pose(path, fps=fps)
        return read_deeplabcut(path, fps=fps)
    if suffix == ".nwb":
        return read_nwb(path)
    if suffix in (".h5", ".hdf5", ".hdf"):
        kind = _hdf5_kind(path)
        if kind == "sleap":
            return read_sleap_analysis(path, fps=fps)
        if kind == "netcdf":
            return poses.load(path)
        if kind == "pandas":
            return read_deeplabcut(path, fps=fps)
        raise PoseDataError(
            f"{path} is an HDF5 file but neither a DeepLabCut table (pandas), a SLEAP analysis "
            "file (a 'tracks' dataset) nor a poselab NetCDF file"
        )
    if suffix == ".slp":
        raise PoseDataError(
            f"{path}: SLEAP project files (.slp) are not read directly; export an analysis file "
            "in SLEAP (File > Export Analysis HDF5) and read that"
        )
    raise PoseDataError(
        f"{path}: unknown pose file type {suffix!r}; poselab reads DeepLabCut .h5/.csv, SLEAP "
        "analysis .h5, NWB .nwb (ndx-pose) and poselab .nc/.zarr files"
    )


def _has_variance_columns(path: Path) -> bool:
    with open(path, encoding="utf-8", errors="replace") as f:
        header = [f.readline() for _ in range(4)]
    return any(line.startswith("coords,") and "_var" in line for line in header)


def _hdf5_kind(path: Path) -> str | None:
    import h5py

    try:
        with h5py.File(path, "r") as f:
            if isinstance(f.get("tracks"), h5py.Dataset):
                return "sleap"
            if "_NCProperties" in f.attrs or "position" in f:
                return "netcdf"
            # pandas (PyTables) marks each stored object's group with a 'pandas_type'.
            if any("pandas_type" in f[key].attrs for key in f.keys()):
                return "pandas"
    except OSError as error:
        raise PoseDataError(f"{path} is not a readable HDF5 file: {error}") from error
    return None
