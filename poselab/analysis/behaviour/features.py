"""Behaviour features from poses: egocentric, in body lengths, averaged over a sliding window.

* :func:`pose_features`: speeds, turning, body length and fore-paw places per frame;
* :func:`standardise`: z-scores pooled over sessions, so one model fits them all;
* :func:`moving_mean`, :func:`wrapped_rate`: the NaN-aware building blocks.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr
from scipy.ndimage import uniform_filter1d

from poselab.analysis.behaviour.errors import BehaviourError

__all__ = ["moving_mean", "pose_features", "standardise", "wrapped_rate"]


def wrapped_rate(theta: np.ndarray, fps: float) -> np.ndarray:
    """Absolute rate of change of a wrapped angle, by central differences.

    NaN-local: a NaN frame spoils only its neighbours (unlike ``np.unwrap``, which carries it
    on).

    Parameters
    ----------
    theta : numpy.ndarray
        ``(frames,)`` angles in radians.
    fps : float
        Frame rate in frames per second.

    Returns
    -------
    numpy.ndarray
        ``(frames,)`` ``|d theta / dt|`` in rad/s (one-sided differences at the ends).
    """
    n = theta.size
    if n < 2:
        return np.zeros(n)
    nxt, prv = np.r_[theta[1:], theta[-1]], np.r_[theta[0], theta[:-1]]
    step = np.r_[1.0, np.full(n - 2, 2.0), 1.0] if n > 2 else np.array([1.0, 1.0])
    return np.abs(np.angle(np.exp(1j * (nxt - prv)))) / step * fps


def moving_mean(v: np.ndarray, w: int) -> np.ndarray:
    """Centred moving mean over ``w`` frames, ignoring NaN rows.

    Parameters
    ----------
    v : numpy.ndarray
        ``(frames, d)`` values (any unit; the result has the same).
    w : int
        Window in frames; ``w <= 1`` returns ``v`` unchanged.

    Returns
    -------
    numpy.ndarray
        ``(frames, d)``; NaN where a window has no finite row. The ends repeat the edge rows
        (``mode="nearest"``).
    """
    if w <= 1:
        return v
    ok = np.isfinite(v).all(axis=1)
    total = uniform_filter1d(np.where(ok[:, None], v, 0.0), w, axis=0, mode="nearest")
    count = uniform_filter1d(ok.astype(float), w, mode="nearest")
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count[:, None] > 1e-9, total / count[:, None], np.nan)


def pose_features(ds: xr.Dataset, animal: str | None = None, window_s: float = 0.33,
                  nose: str = "snout", neck: str = "neck", tail: str = "tail_base",
                  centre: str = "body_centre",
                  fore: Sequence[str] = ("left_fore_paw", "right_fore_paw"),
                  hind: Sequence[str] = ("left_hind_paw", "right_hind_paw"),
                  floor: float = 0.05) -> xr.DataArray:
    """Egocentric behaviour features per frame, averaged over a sliding window.

    Distances are in body lengths ``L`` (median ``nose``-``tail`` distance of the animal),
    speeds in L/s, so sessions at different image scales are comparable. Features:

    ``speed`` log(L/s + floor) of ``centre``, from its velocity averaged over the window
    first (the norm of a mean velocity; a mean of per-frame speeds would add up keypoint
    noise and hide slow movement); ``forward`` velocity along the body axis (L/s);
    ``turning`` log(rad/s + floor) of the ``tail``->``neck`` axis; ``length`` nose-tail
    distance (L); ``fore_nose`` mean fore-paw to nose distance (L); ``fore_ahead`` mean
    fore-paw position along the body axis from ``centre`` (L); ``fore_motion`` log(L/s +
    floor) of the fore paws' speed in the body frame; ``hind_speed`` log(L/s + floor) of the
    hind paws (world frame; omitted when ``hind`` is empty).

    Parameters
    ----------
    ds : xarray.Dataset
        A pose Dataset (positions in pixels, ``attrs["fps"]`` in frames per second).
    animal : str, optional
        The animal to describe (default the first).
    window_s : float
        Centred moving-average window in seconds; 0 for none.
    nose, neck, tail, centre : str
        Part names of the snout, neck, tail base and body centre.
    fore, hind : sequence of str
        Part names of the fore paws (at least one) and hind paws (may be empty).
    floor : float
        Added before taking logs of rates (L/s or rad/s), so rest is finite.

    Returns
    -------
    xarray.DataArray
        ``(frame, feature)``, NaN frames filled with the feature's median; ``attrs``
        ``body_length`` (pixels) and ``window_s`` (s).

    Raises
    ------
    BehaviourError
        A named part is missing, ``fps`` is not positive, or no body length can be measured.
    """
    pos = ds["position"].sel(animal=animal) if animal is not None else ds["position"].isel(animal=0)
    missing = [p for p in (nose, neck, tail, centre, *fore, *hind) if p not in pos["part"].values]
    if missing:
        raise BehaviourError(f"parts {missing} not in the dataset; pass the names of yours")
    if not fore:
        raise BehaviourError("fore must name at least one paw")
    fps = float(ds.attrs.get("fps") or 0)
    if fps <= 0:
        raise BehaviourError("ds.attrs['fps'] must be > 0")

    def xy(p: str) -> np.ndarray:
        return pos.sel(part=p).transpose("frame", "coord").values.astype(float)

    n_xy, t_xy, c_xy = xy(nose), xy(tail), xy(centre)
    length = np.linalg.norm(n_xy - t_xy, axis=-1)
    body_l = float(np.nanmedian(length))
    if not np.isfinite(body_l) or body_l <= 0:
        raise BehaviourError("cannot measure the body length (nose and tail never both known)")
    axis = xy(neck) - t_xy
    with np.errstate(invalid="ignore", divide="ignore"):
        u = axis / np.linalg.norm(axis, axis=-1, keepdims=True)
    v = np.stack([-u[:, 1], u[:, 0]], -1)

    def ego(p: np.ndarray) -> np.ndarray:
        d = p - c_xy
        return np.stack([(d * u).sum(-1), (d * v).sum(-1)], -1) / body_l

    w = int(round(window_s * fps))  # noqa: RUF046 (window_s may be a numpy float)
    vel = np.gradient(c_xy, axis=0) * fps / body_l
    fore_e = [ego(xy(p)) for p in fore]
    f = {
        "speed": np.log(np.linalg.norm(moving_mean(vel, w), axis=-1) + floor),
        "forward": (vel * u).sum(-1),
        "turning": np.log(wrapped_rate(np.arctan2(axis[:, 1], axis[:, 0]), fps) + floor),
        "length": length / body_l,
        "fore_nose": np.mean([np.linalg.norm(xy(p) - n_xy, axis=-1) for p in fore], 0) / body_l,
        "fore_ahead": np.mean([e[:, 0] for e in fore_e], 0),
        "fore_motion": np.log(np.mean([np.linalg.norm(np.gradient(e, axis=0), axis=-1)
                                       for e in fore_e], 0) * fps + floor),
    }
    if hind:
        f["hind_speed"] = np.log(np.mean([np.linalg.norm(np.gradient(xy(p), axis=0), axis=-1)
                                          for p in hind], 0) * fps / body_l + floor)
    x = np.stack(list(f.values()), -1)
    med = np.nanmedian(x, axis=0)
    x = np.where(np.isfinite(x), x, np.where(np.isfinite(med), med, 0.0))
    if w > 1:  # speed is averaged already
        rest = [j for j, name in enumerate(f) if name != "speed"]
        x[:, rest] = uniform_filter1d(x[:, rest], w, axis=0, mode="nearest")
    return xr.DataArray(x, dims=("frame", "feature"),
                        coords={"frame": pos["frame"].values, "feature": list(f)},
                        name="features", attrs={"body_length": body_l, "window_s": window_s})


def standardise(xs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Z-score feature arrays with the mean and SD pooled over all of them.

    One model can then be fitted across sessions and its states stay comparable.

    Parameters
    ----------
    xs : sequence of numpy.ndarray
        ``(frames, features)`` arrays, one per session (any units; features in columns).

    Returns
    -------
    list of numpy.ndarray
        The arrays in pooled standard-deviation units (a feature with SD 0 is only centred).
    """
    arrays = [np.asarray(x, dtype=float) for x in xs]
    allx = np.concatenate(arrays)
    mu, sd = allx.mean(0), allx.std(0)
    sd = np.where(sd > 0, sd, 1.0)
    return [(x - mu) / sd for x in arrays]
