"""DeepLabCut multi-animal tracks (``*_el.h5``, ``*_filtered.h5``, ``.csv``) as identity Datasets.

DeepLabCut's multi-animal pipeline writes one table per video whose ``individuals`` column level
holds the tracked identities (``individual1``, ...) plus ``single`` for the "unique" parts that
belong to no animal (arena corners, a feeder). :func:`read_deeplabcut_tracks` returns the pose
Dataset with ``animal`` = identities and ``part`` = the animals' parts only (the layout that
:func:`poselab.multianimal.track` produces), and the unique parts separately.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import xarray as xr

from poselab.core import poses
from poselab.io.deeplabcut import UNIQUE_ANIMAL, read_deeplabcut
from poselab.io.video import VideoReader

__all__ = ["read_deeplabcut_tracks", "find_dlc_video"]

_SCORER = re.compile(r"DLC_.*$")


def find_dlc_video(path: str | os.PathLike) -> Path | None:
    """The video a DeepLabCut output was made from: ``<video stem>DLC_...`` -> ``<video stem>.*``.

    Looks beside the output for a file whose name is the part before ``DLC_`` plus a video
    suffix (``.mp4``, ``.avi``, ``.mov``, ``.mkv``); None when there is none.
    """
    path = Path(path)
    stem = _SCORER.sub("", path.stem)
    if not stem or stem == path.stem:
        return None
    for suffix in (".mp4", ".avi", ".mov", ".mkv", ".MP4", ".AVI"):
        candidate = path.with_name(stem + suffix)
        if candidate.is_file():
            return candidate
    return None


def read_deeplabcut_tracks(
    path: str | os.PathLike,
    *,
    fps: float | None = None,
    video: str | os.PathLike | None = None,
    drop_empty: bool = False,
) -> tuple[xr.Dataset, xr.Dataset | None]:
    """Read DeepLabCut multi-animal tracks: identities as the ``animal`` dim, unique parts apart.

    Parameters
    ----------
    path
        A DeepLabCut multi-animal ``.h5`` or ``.csv`` (e.g. ``*_el.h5``, ``*_filtered.h5``).
    fps
        Frame rate (frames per second). Default: the video's (``video``, else the video found
        beside the file by :func:`find_dlc_video`); NaN when neither is known.
    video
        The video the tracks belong to (default: found beside the file). Its frame size fills
        the ``width``/``height`` attributes.
    drop_empty
        Drop identities that have no position in any frame.

    Returns
    -------
    tracks : xarray.Dataset
        ``position (animal, part, frame, coord)`` in pixels and ``likelihood``; ``animal`` =
        the identities in file order (without ``single``), ``part`` = the animals' parts.
        Values are the table's, unchanged.
    unique : xarray.Dataset or None
        The unique parts (one ``animal`` named ``single``), or None when the file has none.

    Raises
    ------
    poselab.core.poses.PoseDataError
        If the file is not a multi-animal DeepLabCut table.
    """
    path = Path(path)
    video_path = Path(video) if video is not None else find_dlc_video(path)
    width = height = 0
    video_fps = float("nan")
    if video_path is not None and video_path.is_file():
        with VideoReader(video_path) as reader:
            width, height, video_fps = reader.info.width, reader.info.height, reader.info.fps
    rate = float(fps) if fps is not None else video_fps
    ds = read_deeplabcut(path, fps=None if not np.isfinite(rate) else rate,
                         video=video_path.name if video_path is not None else "")
    if ds.attrs.get("dlc_layout") != "multi":
        raise poses.PoseDataError(
            f"{path}: a single-animal DeepLabCut table; use poselab.io.read_deeplabcut"
        )
    ds.attrs.update(width=int(width), height=int(height))
    names = [str(a) for a in ds["animal"].values]
    identities = [a for a in names if a != UNIQUE_ANIMAL]
    # DeepLabCut lists the unique parts under the individual "single"
    unique_parts = json.loads(ds.attrs.get("dlc_unique_parts", "[]")) if UNIQUE_ANIMAL in names else []
    animal_parts = [str(p) for p in ds["part"].values if str(p) not in unique_parts]
    tracks = ds.sel(animal=identities, part=animal_parts)
    if drop_empty:
        has = np.isfinite(tracks["position"].values).any(axis=(1, 2, 3))
        tracks = tracks.isel(animal=np.nonzero(has)[0])
    tracks = poses.with_provenance(tracks, "read_deeplabcut_tracks", path=path.name,
                                   n_identities=int(tracks.sizes["animal"]))
    unique = None
    if unique_parts:
        unique = ds.sel(animal=[UNIQUE_ANIMAL], part=[str(p) for p in unique_parts])
    return tracks, unique
