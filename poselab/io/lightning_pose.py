"""Lightning Pose prediction files: the network's CSVs, its ensembles' and the ensemble Kalman
smoother's (EKS), single and multi-view.

Lightning Pose (Biderman et al., Nature Methods 2024) writes predictions as DeepLabCut-style CSV
tables (header rows ``scorer``, ``bodyparts``, ``coords``; one row per video frame), one file
per camera view. Besides ``x``, ``y`` and ``likelihood`` its ensembles and EKS add variances
(``x_ens_var``/``y_ens_var``: the spread of the ensemble's members; ``x_posterior_var``/
``y_posterior_var``: the smoother's posterior; some versions write ``x_var``/``y_var``) and
ensemble medians. :func:`read_lightning_pose` keeps positions and likelihoods as usual and the
variance, where a file has one, as ``position_variance`` (pixels², the smoother's posterior
first); several views become one Dataset whose parts are named ``<part>_<view>`` (the naming
with which :mod:`poselab.model.views` recognises views). :func:`write_lightning_pose` writes
the same layout back.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from poselab.core import poses
from poselab.core.files import atomic_path
from poselab.core.poses import PoseDataError
from poselab.io.deeplabcut import from_deeplabcut_table, read_deeplabcut_table, to_deeplabcut_table

__all__ = ["read_lightning_pose", "write_lightning_pose"]

#: Variance columns, in order of preference: the smoother's posterior, then plain, then the
#: ensemble's spread.
VARIANCE_COORDS = (("x_posterior_var", "y_posterior_var"), ("x_var", "y_var"), ("x_ens_var", "y_ens_var"))
_KEPT = ("x", "y", "likelihood")


def read_lightning_pose(
    path: str | os.PathLike | Mapping[str, str | os.PathLike], *, fps: float | None = None,
    video: str = "",
) -> xr.Dataset:
    """Read Lightning Pose predictions (network, ensemble or EKS CSV) as a pose Dataset.

    Parameters
    ----------
    path
        One CSV, or ``{view: CSV}`` for a multi-view recording (one file per camera, frames
        aligned): parts are then named ``<part>_<view>``.
    fps
        Frame rate in frames per second (Lightning Pose's files do not store it).
    video
        Path of the video relative to the project, or "".

    Returns
    -------
    xarray.Dataset
        One animal (``animal0``); ``position`` in pixels, ``likelihood``, and
        ``position_variance`` ``(animal, part, frame, coord)`` in pixels² where the file has
        variances (NaN elsewhere).

    Raises
    ------
    PoseDataError
        If a file is not such a table, or the views' frames differ.
    """
    if isinstance(path, Mapping):
        views = [(_read_one(p, fps, video), str(view)) for view, p in path.items()]
        first = views[0][0]
        for ds, view in views[1:]:
            if not np.array_equal(ds["frame"].values, first["frame"].values):
                raise PoseDataError(f"view {view!r} has frames {ds.sizes['frame']} that differ from "
                                    f"view {views[0][1]!r}'s {first.sizes['frame']}: the views must be aligned")
        renamed = [ds.assign_coords(part=[f"{p}_{view}" for p in ds["part"].values]) for ds, view in views]
        out = xr.concat(renamed, dim="part", data_vars="all", coords="minimal", compat="override",
                        combine_attrs="override")
        out = out.transpose("animal", "part", "frame", "coord")
        return poses.validate(out)
    return _read_one(path, fps, video)


def _read_one(path: str | os.PathLike, fps: float | None, video: str) -> xr.Dataset:
    path = Path(path)
    table = read_deeplabcut_table(path)
    coords = table.columns.get_level_values(-1).astype(str)
    if not {"x", "y"} <= set(coords):
        raise PoseDataError(f"{path}: no x and y columns; a Lightning Pose prediction CSV has "
                            f"coords x, y, likelihood (and variances); found {sorted(set(coords))}")
    ds = from_deeplabcut_table(table.loc[:, coords.isin(_KEPT)], fps=fps, video=video, origin=str(path))
    ds.attrs["source"] = f"Lightning Pose ({ds.attrs.pop('dlc_scorer')})"
    for key in [k for k in ds.attrs if k.startswith("dlc_")]:
        del ds.attrs[key]
    for x_name, y_name in VARIANCE_COORDS:
        if {x_name, y_name} <= set(coords):
            ds["position_variance"] = _variance(table, ds, x_name, y_name)
            ds.attrs["lp_variance"] = x_name.removeprefix("x_")
            break
    return poses.with_provenance(ds, "read_lightning_pose", path=path.name)


def _variance(table: pd.DataFrame, ds: xr.Dataset, x_name: str, y_name: str) -> xr.DataArray:
    parts = [str(p) for p in ds["part"].values]
    var = np.full((1, len(parts), ds.sizes["frame"], 2), np.nan)
    for p, part in enumerate(parts):
        for c, name in enumerate((x_name, y_name)):
            column = table.xs((part, name), axis=1, level=(-2, -1))
            var[0, p, :, c] = column.to_numpy(dtype=np.float64)[:, 0]
    return xr.DataArray(var, dims=poses.POSITION_DIMS, attrs={"units": "pixels^2"})


def write_lightning_pose(ds: xr.Dataset, path: str | os.PathLike, *, view: str | None = None) -> Path:
    """Write one animal's poses as a Lightning Pose prediction CSV (atomically).

    Parameters
    ----------
    ds
        A pose Dataset with one animal; its ``position_variance``, if any, is written as
        ``x_var``/``y_var`` (or the columns it was read from).
    path
        The ``.csv`` file.
    view
        Write only the parts named ``<part>_<view>``, without the suffix (one file per view,
        as Lightning Pose keeps them).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    poses.validate(ds)
    if ds.sizes["animal"] != 1:
        raise PoseDataError(f"Lightning Pose files hold one animal; select one of {ds['animal'].values.tolist()}")
    if view is not None:
        suffix = f"_{view}"
        parts = [str(p) for p in ds["part"].values if str(p).endswith(suffix)]
        if not parts:
            raise PoseDataError(f"no part is named '<part>{suffix}' among {ds['part'].values.tolist()}")
        ds = ds.sel(part=parts).assign_coords(part=[p.removesuffix(suffix) for p in parts])
    table = to_deeplabcut_table(ds.drop_vars("position_variance", errors="ignore"), kind="predictions",
                                scorer=_scorer(ds))
    if "position_variance" in ds:
        kind = ds.attrs.get("lp_variance", "var")
        scorer = table.columns.get_level_values(0)[0]
        for part in ds["part"].values:
            var = ds["position_variance"].sel(part=part).values[0]  # (frame, coord)
            table[(scorer, str(part), f"x_{kind}")] = var[:, 0]
            table[(scorer, str(part), f"y_{kind}")] = var[:, 1]
        order = [(scorer, str(p), c) for p in ds["part"].values for c in (*_KEPT, f"x_{kind}", f"y_{kind}")]
        table = table[order]
    path = Path(path)
    with atomic_path(path) as tmp:
        table.to_csv(tmp)
    return path


def _scorer(ds: xr.Dataset) -> str:
    source = str(ds.attrs.get("source", ""))
    if source.startswith("Lightning Pose (") and source.endswith(")"):
        return source[len("Lightning Pose ("):-1]
    return "poselab"
