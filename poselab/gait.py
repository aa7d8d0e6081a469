"""Gait analysis from pose tracks: stance/swing, strides, duty factor, inter-limb phase.

Stance is detected automatically (no hand annotation): a paw is in stance while its
world-frame speed (px/s) is low relative to the body speed, with hysteresis thresholds so
that noise does not flicker the state.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import xarray as xr

__all__ = ["GaitError", "stance_from_speed", "stance", "stance_onsets", "duty_factor",
           "interlimb_phase", "circular_mean"]


class GaitError(ValueError):
    """Raised when gait inputs are invalid (say which argument to fix)."""


def stance_from_speed(paw_speed: np.ndarray, body_speed: np.ndarray | float,
                      enter: float = 0.5, leave: float = 1.0,
                      min_speed: float = 0.0) -> np.ndarray:
    """Stance (True) / swing (False) per frame from a paw's speed with hysteresis.

    Parameters
    ----------
    paw_speed : (frames,) array, px/s (NaN = unknown, keeps the previous state).
    body_speed : (frames,) array or scalar, px/s; thresholds scale with it.
    enter : a swing paw enters stance when its speed < ``enter * body_speed``.
    leave : a stance paw leaves it when its speed > ``leave * body_speed``.
    min_speed : px/s floor of the enter threshold (leave uses twice it), so a paw of a
        resting body (body speed ~0) still counts as in stance.
    """
    v = np.asarray(paw_speed, dtype=float)
    if v.ndim != 1:
        raise GaitError("paw_speed must be 1-D (frames,); select one animal and paw")
    if not 0 <= enter <= leave:
        raise GaitError(f"need 0 <= enter <= leave, got enter={enter}, leave={leave}")
    b = np.broadcast_to(np.asarray(body_speed, dtype=float), v.shape)
    low = v < np.maximum(enter * b, min_speed)
    high = v > np.maximum(leave * b, 2 * min_speed)
    # Hysteresis: state is set by the last decisive frame (low -> stance, high -> swing).
    decisive = np.where(low, 1, np.where(high, 0, -1))
    idx = np.where(decisive >= 0, np.arange(v.size), -1)
    last = np.maximum.accumulate(idx)
    state = np.where(last >= 0, decisive[np.maximum(last, 0)], 0)
    return state.astype(bool)


def stance(ds: xr.Dataset, paws: Sequence[str], body_part: str = "body_centre",
           enter: float = 0.8, leave: float = 1.5, min_speed: float = 20.0) -> xr.DataArray:
    """Stance per (animal, paw, frame) from a pose Dataset (world-frame paw speed, px/s)."""
    from poselab import kinematics

    for p in [*paws, body_part]:
        if p not in ds["part"].values:
            raise GaitError(f"part {p!r} not in the dataset parts {list(ds['part'].values)}")
    sp = kinematics.speed(ds["position"])
    body = sp.sel(part=body_part).transpose("animal", "frame").values
    paw = sp.sel(part=list(paws)).transpose("animal", "part", "frame").values
    out = np.stack([np.stack([stance_from_speed(paw[a, k], body[a], enter, leave, min_speed)
                              for k in range(paw.shape[1])]) for a in range(paw.shape[0])])
    return xr.DataArray(out, dims=("animal", "paw", "frame"),
                        coords={"animal": ds["animal"].values, "paw": list(paws),
                                "frame": ds["frame"].values}, name="stance")


def stance_onsets(st: np.ndarray) -> np.ndarray:
    """Frame indices where a boolean stance series switches swing -> stance."""
    s = np.asarray(st, dtype=bool)
    return np.flatnonzero(~s[:-1] & s[1:]) + 1


def duty_factor(st: np.ndarray) -> float:
    """Fraction of stance frames between the first and last stance onset (whole strides)."""
    on = stance_onsets(st)
    if on.size < 2:
        raise GaitError("need at least two stance onsets (one whole stride) for a duty factor")
    return float(np.mean(np.asarray(st, dtype=bool)[on[0]:on[-1]]))


def circular_mean(phases: np.ndarray) -> tuple[float, float]:
    """Circular mean (cycles, in [0, 1)) and resultant length (0-1) of phases in cycles."""
    z = np.exp(2j * np.pi * np.asarray(phases, dtype=float))
    m = z.mean()
    return float((np.angle(m) / (2 * np.pi)) % 1.0), float(abs(m))


def interlimb_phase(ref: np.ndarray, other: np.ndarray) -> tuple[float, float]:
    """Phase of ``other``'s stance onsets within ``ref``'s strides, in cycles.

    Returns the circular mean (cycles) and resultant length.
    """
    r, o = stance_onsets(ref), stance_onsets(other)
    if r.size < 2 or o.size < 1:
        raise GaitError("need >= 2 reference stance onsets and >= 1 onset of the other paw")
    k = np.searchsorted(r, o, side="right") - 1
    ok = (k >= 0) & (k < r.size - 1)
    if not ok.any():
        raise GaitError("no onsets of the other paw fall inside a reference stride")
    start, end = r[k[ok]], r[k[ok] + 1]
    return circular_mean((o[ok] - start) / (end - start))


def stride_table(ds: xr.Dataset, paws: Sequence[str], reference: str | None = None,
                 body_part: str = "body_centre", enter: float = 0.8,
                 leave: float = 1.5, st: xr.DataArray | None = None):
    """One row per stride (consecutive stance onsets of the reference paw).

    Columns: animal, stride, start_frame, end_frame, duration_s (s), cadence_hz (strides/s),
    stride_length (``ds.attrs['units']``, reference-paw displacement), duty_factor (reference
    paw), body_speed (units/s, mean), and ``phase_<paw>`` (cycles) for each other paw.
    Pass ``st`` (animal, paw, frame) to use a precomputed stance instead of detecting it.
    """
    import pandas as pd

    from poselab import kinematics

    reference = reference or paws[0]
    if reference not in paws:
        raise GaitError(f"reference {reference!r} must be one of paws {list(paws)}")
    if st is None:
        st = stance(ds, paws, body_part, enter, leave)
    fps = float(ds.attrs.get("fps") or 0)
    if fps <= 0:
        raise GaitError("ds.attrs['fps'] must be > 0 to time strides")
    body = kinematics.speed(ds["position"].sel(part=body_part)).transpose("animal", "frame").values
    pos = ds["position"].sel(part=reference).transpose("animal", "frame", "coord").values
    rows = []
    for a, animal in enumerate(ds["animal"].values):
        ref = st.sel(animal=animal, paw=reference).values
        on = stance_onsets(ref)
        others = {p: stance_onsets(st.sel(animal=animal, paw=p).values)
                  for p in paws if p != reference}
        for i, (s, e) in enumerate(zip(on[:-1], on[1:])):
            row = {"animal": animal, "stride": i, "start_frame": int(ds["frame"].values[s]),
                   "end_frame": int(ds["frame"].values[e]), "duration_s": (e - s) / fps,
                   "cadence_hz": fps / (e - s),
                   "stride_length": float(np.linalg.norm(pos[a, e] - pos[a, s])),
                   "duty_factor": float(ref[s:e].mean()),
                   "body_speed": float(np.nanmean(body[a, s:e]))}
            for p, o in others.items():
                inside = o[(o >= s) & (o < e)]
                row[f"phase_{p}"] = float((inside[0] - s) / (e - s)) if inside.size else np.nan
            rows.append(row)
    return pd.DataFrame(rows)
