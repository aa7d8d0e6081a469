"""Pose Datasets as inputs of behaviour tools: keypoint-MoSeq, B-SOiD and SimBA.

* :func:`to_keypoint_moseq`: the coordinate and confidence dicts keypoint-MoSeq takes;
* :func:`to_bsoid`: one single-animal DeepLabCut CSV per animal (B-SOiD's input);
* :func:`to_simba`: one DeepLabCut CSV per video (SimBA's import).

B-SOiD and SimBA read a number in every cell and drop low-likelihood points themselves, so
unknown points are written as x = y = 0 with likelihood 0. Files are written atomically (by
:func:`poselab.io.deeplabcut.write_deeplabcut`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import xarray as xr

from poselab.io.deeplabcut import write_deeplabcut

__all__ = ["to_bsoid", "to_keypoint_moseq", "to_simba"]


def _stem(ds: xr.Dataset) -> str:
    """The video's file name without suffix, or ``"session"``."""
    return os.path.splitext(os.path.basename(str(ds.attrs.get("video") or "session")))[0]


def _dlc_ready(ds: xr.Dataset) -> xr.Dataset:
    """Copy with unknown positions at (0, 0) and likelihood 0, and no ``dlc_*`` attributes."""
    out = ds[["position", "likelihood"]].copy()
    pos = out["position"].values.astype(float)
    lik = np.nan_to_num(out["likelihood"].values.astype(float))
    unknown = ~np.isfinite(pos).all(-1)
    pos[unknown] = 0.0
    lik[unknown] = 0.0
    out["position"] = (out["position"].dims, pos)
    out["likelihood"] = (out["likelihood"].dims, lik)
    out.attrs = {k: v for k, v in ds.attrs.items() if not str(k).startswith("dlc_")}
    return out


def to_keypoint_moseq(ds: xr.Dataset) -> tuple[dict, dict, list[str]]:
    """Pose Dataset -> keypoint-MoSeq inputs.

    Parameters
    ----------
    ds : xarray.Dataset
        A pose Dataset (positions in pixels).

    Returns
    -------
    coordinates : dict
        ``{name: (frames, parts, 2)}`` positions in pixels (NaN kept).
    confidences : dict
        ``{name: (frames, parts)}`` likelihoods in [0, 1] (NaN as 0).
    parts : list of str
        The part names, in the order of the arrays.

    Names are ``"<video stem or 'session'>_<animal>"``, one entry per animal.
    """
    stem = _stem(ds)
    pos = ds["position"].transpose("animal", "frame", "part", "coord").values
    lik = ds["likelihood"].transpose("animal", "frame", "part").values
    names = [f"{stem}_{a}" for a in ds["animal"].values]
    coords = {n: pos[i].astype(float) for i, n in enumerate(names)}
    confs = {n: np.nan_to_num(lik[i].astype(float)) for i, n in enumerate(names)}
    return coords, confs, [str(p) for p in ds["part"].values]


def to_bsoid(ds: xr.Dataset, folder: str | os.PathLike, scorer: str = "DLC_poselab") -> list[Path]:
    """Write B-SOiD inputs: one single-animal DeepLabCut CSV per animal.

    Each file has 3 header rows (scorer, bodyparts, coords), x, y (pixels) and likelihood per
    part, one row per frame, and is named ``<video stem>_<animal><scorer>.csv``. Unknown
    points: x = y = 0, likelihood 0.

    Parameters
    ----------
    ds : xarray.Dataset
        A pose Dataset.
    folder : str or os.PathLike
        Output folder (created if missing).
    scorer : str
        The scorer row and file-name suffix (B-SOiD looks for ``DLC`` in it).

    Returns
    -------
    list of pathlib.Path
        The files written, one per animal.
    """
    folder = Path(folder)
    clean = _dlc_ready(ds)
    paths = []
    for animal in ds["animal"].values:
        one = clean.sel(animal=[animal])
        one.attrs["dlc_layout"] = "single"
        paths.append(write_deeplabcut(one, folder / f"{_stem(ds)}_{animal}{scorer}.csv",
                                      scorer=scorer, kind="predictions"))
    return paths


def to_simba(ds: xr.Dataset, folder: str | os.PathLike, scorer: str = "DLC_poselab") -> Path:
    """Write a SimBA import file: one DeepLabCut CSV for the video.

    Single-animal layout (3 header rows) for one animal, multi-animal layout (4 header rows
    with ``individuals``) otherwise, named ``<video stem>.csv`` (SimBA matches it to the
    video by name). Positions in pixels; unknown points: x = y = 0, likelihood 0.

    Parameters
    ----------
    ds : xarray.Dataset
        A pose Dataset.
    folder : str or os.PathLike
        Output folder (created if missing).
    scorer : str
        The scorer row.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    clean = _dlc_ready(ds)
    clean.attrs["dlc_layout"] = "single" if ds.sizes["animal"] == 1 else "multi"
    return write_deeplabcut(clean, Path(folder) / f"{_stem(ds)}.csv", scorer=scorer,
                            kind="predictions")
