"""Model predictions as label-store points, and which of them may be written over stored ones.

The project layer merges predictions into its label store in one place
(:meth:`~poselab.project.Project.write_predictions`, used by ``Project.extract_outliers`` and by
the review widget's "send"); this module holds its two pure steps:

* :func:`predicted_points`: the points of one video frame of a pose Dataset, as label-store
  values (missing, unsure and out-of-image points left out);
* :func:`points_to_write`: which of them to write over what the store holds. A point a person
  placed is never replaced unless asked (``overwrite_labels``); a person's correction (e.g. a
  point dragged in the review widget) replaces a stored prediction; other predictions only fill
  parts not labeled yet.

Coordinates are image pixels: origin at the top-left corner, x to the right, y down, pixel
centres at integers (an image of width W spans ``[-0.5, W - 0.5]``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import numpy as np
import xarray as xr

from poselab.core.errors import PoselabError
from poselab.core.validate import position_array

__all__ = ["PredictionError", "predicted_points", "points_to_write"]

#: ``{(animal, part): (x, y)}``, pixels.
Points = dict[tuple[str, str], tuple[float, float]]


class PredictionError(PoselabError, ValueError):
    """Predictions cannot be turned into label-store points as asked."""


def predicted_points(
    ds: xr.Dataset,
    frame: int,
    *,
    animals: Sequence[str] | None = None,
    parts: Sequence[str] | None = None,
    min_likelihood: float = 0.0,
    width: int = 0,
    height: int = 0,
) -> Points:
    """Predicted points of one video frame as label-store values ``{(animal, part): (x, y)}``.

    Parameters
    ----------
    ds
        A pose Dataset (``frame`` = video frame index); without ``likelihood`` every known point
        counts as certain.
    frame
        The video frame number.
    animals, parts
        Only these animals and parts (default: all of ``ds``).
    min_likelihood
        Points with a likelihood (0-1) below this, or NaN, are left out.
    width, height
        Image size in pixels; when given, points outside the image are left out.

    Returns
    -------
    dict
        ``{(animal, part): (x, y)}`` in pixels, in the order of ``ds``'s animals and parts.
    """
    position = position_array(ds, func="predicted_points", dims=("animal", "part", "frame", "coord"),
                              error=PredictionError)
    frames = position["frame"].values
    if int(frame) not in frames:
        raise PredictionError(f"frame {int(frame)} is not in the predictions")
    at = {"frame": int(frame)}
    xy = position.sel(at).sel(coord=["x", "y"]).transpose("animal", "part", "coord").values.astype(float)
    if "likelihood" in ds.data_vars:
        likelihood = ds["likelihood"].sel(at).transpose("animal", "part").values.astype(float)
    else:
        likelihood = np.where(np.isfinite(xy).all(-1), 1.0, np.nan)
    ok = np.isfinite(xy).all(-1) & (np.nan_to_num(likelihood, nan=0.0) >= min_likelihood)
    if width and height:
        ok &= ((xy >= -0.5) & (xy <= np.array([width, height]) - 0.5)).all(-1)
    names_a = [str(a) for a in position["animal"].values]
    names_p = [str(p) for p in position["part"].values]
    out: Points = {}
    for i, j in zip(*np.nonzero(ok)):
        key = (names_a[i], names_p[j])
        if (animals is None or key[0] in animals) and (parts is None or key[1] in parts):
            out[key] = (float(xy[i, j, 0]), float(xy[i, j, 1]))
    return out


def points_to_write(
    predicted: Mapping[tuple[str, str], tuple[float, float]],
    stored: Mapping[tuple[str, str], str],
    *,
    corrected: Collection[tuple[str, str]] = (),
    overwrite_labels: bool = False,
) -> tuple[Points, Points]:
    """Split predictions of one image into the points to write as a person's and as predicted.

    Parameters
    ----------
    predicted
        ``{(animal, part): (x, y)}`` pixels (see :func:`predicted_points`), corrections included.
    stored
        Who placed each point the store holds for the image (``LabelStore.point_sources``):
        ``{(animal, part): "human" or "predicted"}``.
    corrected
        Points a person placed (dragged to the right place): written as ``"human"``; they
        replace a stored prediction, and a point a person placed only with ``overwrite_labels``.
    overwrite_labels
        Let corrections replace points a person placed before (off: a human label is never
        replaced without the user asking).

    Returns
    -------
    human, predicted : dict
        ``{(animal, part): (x, y)}`` to store with source ``"human"`` and ``"predicted"``.
        Uncorrected predictions only fill parts the store does not hold yet.
    """
    corrected = set(corrected)
    human = {k: v for k, v in predicted.items()
             if k in corrected and (stored.get(k) != "human" or overwrite_labels)}
    machine = {k: v for k, v in predicted.items() if k not in corrected and k not in stored}
    return human, machine
