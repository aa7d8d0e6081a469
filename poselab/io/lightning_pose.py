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
#: Lightning Pose's column of each labeled frame's split (train, validation, test, unused).
SPLIT_COLUMN = ("set", "", "")


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
        variances (NaN elsewhere). Predictions on labeled frames (``predictions.csv``, image
        paths as the index) give a labels Dataset whose rows run along ``image``, with the
        ``set`` column as the coordinate ``split`` (train, validation, test, unused); several
        views of them are aligned by row, each view's paths kept as ``image_<view>``.

    Raises
    ------
    PoseDataError
        If a file is not such a table, or the views' frames differ.
    """
    if isinstance(path, Mapping):
        return _read_views([(_read_one(p, fps, video), str(view)) for view, p in path.items()])
    return _read_one(path, fps, video)


def _read_views(views: list[tuple[xr.Dataset, str]]) -> xr.Dataset:
    """One Dataset of several views' predictions, parts named ``<part>_<view>``.

    Video predictions must have the same frames. Predictions on labeled frames are aligned by
    row, as Lightning Pose keeps a multi-view dataset (row i of every view is the same
    instant): the first view's image paths become ``image``, each view's its own coordinate
    ``image_<view>``.
    """
    first, first_view = views[0]
    rows = "frame" if "frame" in first.dims else "image"
    what = {"frame": "a video", "image": "labeled frames"}
    for ds, view in views[1:]:
        if rows not in ds.dims:
            other = "image" if rows == "frame" else "frame"
            raise PoseDataError(f"view {view!r} holds predictions on {what[other]}, view {first_view!r} on {what[rows]}")
        same = (np.array_equal(ds["frame"].values, first["frame"].values) if rows == "frame"
                else ds.sizes["image"] == first.sizes["image"])
        if not same:
            raise PoseDataError(f"view {view!r} has {ds.sizes[rows]} {rows}s that differ from view "
                                f"{first_view!r}'s {first.sizes[rows]}: the views must be aligned")
    renamed = []
    for ds, view in views:
        ds = ds.assign_coords(part=[f"{p}_{view}" for p in ds["part"].values])
        if rows == "image":
            ds = ds.assign_coords({"image": first["image"].values, f"image_{view}": ("image", ds["image"].values)})
        renamed.append(ds)
    out = xr.concat(renamed, dim="part", data_vars="all", coords="minimal", compat="override",
                    combine_attrs="override")
    out = out.transpose("animal", "part", rows, "coord")
    return poses.validate(out) if rows == "frame" else poses.validate_labels(out)


def _read_one(path: str | os.PathLike, fps: float | None, video: str) -> xr.Dataset:
    path = Path(path)
    table = read_deeplabcut_table(path)
    coords = table.columns.get_level_values(-1).astype(str)
    if not {"x", "y"} <= set(coords):
        raise PoseDataError(f"{path}: no x and y columns; a Lightning Pose prediction CSV has "
                            f"coords x, y, likelihood (and variances); found {sorted(set(coords))}")
    ds = from_deeplabcut_table(table.loc[:, coords.isin(_KEPT)], fps=fps, video=video, origin=str(path))
    split = table.columns.get_level_values(0) == SPLIT_COLUMN[0]  # pandas names its empty cells
    if split.sum() == 1 and "image" in ds.dims:  # predictions on labeled frames
        ds = ds.assign_coords(split=("image", table.loc[:, split].iloc[:, 0].astype(str).to_numpy()))
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
        ``x_var``/``y_var`` (or the columns it was read from). Predictions on labeled frames
        (a labels Dataset, rows along ``image``) are written with their image paths and, where
        the Dataset has a ``split`` coordinate, Lightning Pose's ``set`` column.
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
    labeled_frames = "image" in ds.dims  # predictions on labeled frames, rows by image path
    poses.validate_labels(ds) if labeled_frames else poses.validate(ds)
    if ds.sizes["animal"] != 1:
        raise PoseDataError(f"Lightning Pose files hold one animal; select one of {ds['animal'].values.tolist()}")
    if view is not None:
        suffix = f"_{view}"
        parts = [str(p) for p in ds["part"].values if str(p).endswith(suffix)]
        if not parts:
            raise PoseDataError(f"no part is named '<part>{suffix}' among {ds['part'].values.tolist()}")
        ds = ds.sel(part=parts).assign_coords(part=[p.removesuffix(suffix) for p in parts])
        if labeled_frames and f"image_{view}" in ds.coords:  # this view's own image paths
            ds = ds.assign_coords(image=ds[f"image_{view}"].values)
    ds = ds.drop_vars([name for name in ds.coords if str(name).startswith("image_")])
    table = to_deeplabcut_table(ds.drop_vars("position_variance", errors="ignore").assign_attrs(dlc_index="string"),
                                kind="predictions", scorer=_scorer(ds))
    if "position_variance" in ds:
        kind = ds.attrs.get("lp_variance", "var")
        scorer = table.columns.get_level_values(0)[0]
        for part in ds["part"].values:
            var = ds["position_variance"].sel(part=part).values[0]  # (frame, coord)
            table[(scorer, str(part), f"x_{kind}")] = var[:, 0]
            table[(scorer, str(part), f"y_{kind}")] = var[:, 1]
        order = [(scorer, str(p), c) for p in ds["part"].values for c in (*_KEPT, f"x_{kind}", f"y_{kind}")]
        table = table[order]
    if labeled_frames and "split" in ds.coords:
        table[SPLIT_COLUMN] = ds["split"].values.astype(str)
    path = Path(path)
    with atomic_path(path) as tmp:
        table.to_csv(tmp)
    return path


def _scorer(ds: xr.Dataset) -> str:
    source = str(ds.attrs.get("source", ""))
    if source.startswith("Lightning Pose (") and source.endswith(")"):
        return source[len("Lightning Pose ("):-1]
    return "poselab"
