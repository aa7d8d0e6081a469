"""Gait analysis from pose tracks: stance/swing, strides, duty factor, inter-limb phase.

Stance is detected automatically (no hand annotation). The default method uses what stance
means: a paw on the ground is fixed in the world. A frame is stance when it belongs to a short
window (3 frames) of paw positions that all lie within ``k`` noise standard deviations of their
mean, the noise being estimated per paw from its own track (robust MAD of frame-to-frame
steps), so the threshold adapts to each paw's tracking quality. The edges of every stance run
are then refined against its foothold (the median position of the run, far more precise than a
3-frame mean): a frame next to the run belongs to it while the paw's displacement from the
foothold, measured along the direction of the step to or from the neighbouring foothold, stays
within ``edge_k`` standard deviations of the positional noise around the footholds
(:func:`refine_stance_edges`). :func:`time_swings` (``swing_profile=``, off by default) can
instead time each swing by fitting the paw's path between footholds with a profile of
:data:`SWING_PROFILES`; it helps only where the profile is the paws' own. The older speed method
(hysteresis on paw speed relative to body speed) remains as ``method="speed"``.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import xarray as xr

from poselab.analysis import kinematics
from poselab.core.errors import PoselabError

__all__ = [
    "GaitError", "StanceConfig", "stance_from_speed", "stance_from_position", "refine_stance_edges",
    "time_swings", "SWING_PROFILES",
    "foothold_noise", "track_noise", "stance", "stance_onsets", "duty_factor", "interlimb_phase",
    "circular_mean", "stride_table", "gait_summary", "contralateral",
]


class GaitError(PoselabError, ValueError):
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


def track_noise(position: np.ndarray) -> float:
    """Robust noise standard deviation of a (frames, 2) track, position units (px).

    1.4826 x the median absolute deviation of the frame-to-frame steps per coordinate, averaged
    over coordinates; most frames of a paw are still, so swings barely move the median.
    When a track is stepping without pause and in swing for ~40 % of its frames or more, the
    swings do move it (up to ~2x), and the still-window test then misses short swings; pass
    ``noise`` to :func:`stance_from_position` in that case. Returns 0.0 for fewer than two
    finite steps.
    """
    p = np.asarray(position, dtype=float)
    d = np.diff(p, axis=0)
    d = d[np.isfinite(d).all(axis=1)]
    if len(d) < 2:
        return 0.0
    return float((1.4826 * np.median(np.abs(d - np.median(d, axis=0)), axis=0)).mean())


def stance_from_position(position: np.ndarray, k: float = 2.0, window: int = 3,
                         min_radius: float = 0.5, noise: float | None = None,
                         edge_k: float | None = 3.0) -> np.ndarray:
    """Stance (True) per frame of one paw from its world positions.

    A window of ``window`` consecutive frames is *still* when every position lies within
    ``radius = max(k * noise, min_radius)`` of the window mean; a frame is stance when it belongs
    to at least one still window. The run edges are then refined against the footholds
    (:func:`refine_stance_edges` with ``edge_k``; None skips it). Exact on noise-free data: the
    first and last frames of a swing are those where the paw has left its foothold and not yet
    reached the next one.

    Parameters
    ----------
    position : (frames, 2) array, pixels (or calibrated units). NaN frames keep the previous
        frame's state (swing before any known frame).
    k : radius in noise standard deviations.
    window : frames per stillness window (>= 2).
    min_radius : radius floor in position units, so noise-free tracks still work.
    noise : noise standard deviation (position units); default :func:`track_noise` of the track.
    edge_k : radius of the edge refinement in noise standard deviations (see
        :func:`refine_stance_edges`; it gets ``noise`` when given); None for none.
    """
    p = np.asarray(position, dtype=float)
    if p.ndim != 2 or p.shape[1] != 2:
        raise GaitError("position must be (frames, 2); select one animal and paw")
    if window < 2 or k < 0 or min_radius < 0 or (edge_k is not None and edge_k < 0):
        raise GaitError("need window >= 2, k >= 0, min_radius >= 0 and edge_k >= 0 (or None)")
    n = len(p)
    finite = np.isfinite(p).all(axis=1)
    q = p[finite]
    st_known = np.zeros(len(q), dtype=bool)
    if len(q) >= window:
        r = max(k * (track_noise(q) if noise is None else float(noise)), min_radius)
        win = np.lib.stride_tricks.sliding_window_view(q, window, axis=0)  # (m, 2, window)
        dev = np.linalg.norm(win - win.mean(axis=-1, keepdims=True), axis=1).max(axis=-1)
        still = dev < r
        for j in range(window):  # a frame is stance if any window covering it is still
            st_known[j:j + len(still)] |= still
    out = np.zeros(n, dtype=bool)
    out[finite] = st_known
    # NaN frames: state of the previous known frame.
    idx = np.where(finite, np.arange(n), -1)
    last = np.maximum.accumulate(idx)
    out = np.where(last >= 0, out[np.maximum(last, 0)], False)
    if edge_k is not None:
        out = refine_stance_edges(p, out, edge_k, min_radius, noise)
    return out


def _runs(mask: np.ndarray) -> tuple[list[int], list[int]]:
    """Start and end (exclusive) frames of the runs of True in a 1-D bool array."""
    edges = np.diff(np.r_[0, np.asarray(mask, dtype=np.int8), 0])
    return np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()


def _track_and_stance(position: np.ndarray, st: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One paw's (frames, 2) float positions and (frames,) bool stance, checked to match."""
    p = np.asarray(position, dtype=float)
    st = np.asarray(st, dtype=bool)
    if p.ndim != 2 or p.shape[1] != 2 or st.shape != (len(p),):
        raise GaitError("position must be (frames, 2) and st (frames,)")
    return p, st


def foothold_noise(position: np.ndarray, st: np.ndarray) -> float:
    """Robust positional noise SD (position units) around the footholds of a stance series.

    1.4826 x the median absolute deviation of stance positions from their run's median
    (the foothold), averaged over the two coordinates; 0.0 without finite stance frames.
    Unlike :func:`track_noise` it measures the noise of a position, not of a step, so it stays
    right when the track was smoothed (smoothing correlates neighbouring frames).
    """
    p = np.asarray(position, dtype=float)
    finite = np.isfinite(p).all(axis=1)
    res = [p[s:e][finite[s:e]] - np.median(p[s:e][finite[s:e]], axis=0)
           for s, e in zip(*_runs(st)) if finite[s:e].any()]
    if not res:
        return 0.0
    return float((1.4826 * np.median(np.abs(np.concatenate(res)), axis=0)).mean())


def refine_stance_edges(position: np.ndarray, st: np.ndarray, k: float = 3.0,
                        min_radius: float = 0.5, noise: float | None = None) -> np.ndarray:
    """Refine where each stance run of one paw starts and ends, against its foothold.

    The foothold of a run is the median of its positions. Runs whose footholds lie within the
    radius ``r = max(k * noise, min_radius)`` of each other are merged (the paw did not step).
    Then each run's end is moved back over frames displaced from its foothold by more than ``r``
    and forward over frames displaced by at most ``r``, displacement measured along the
    direction to the next foothold (its projection: the noise across the step does not count);
    starts likewise towards the previous foothold. The first run's start and the last run's
    end use the plain distance. NaN frames never stop an extension (they keep the previous
    state) nor count as displaced.

    Parameters
    ----------
    position : (frames, 2) array, position units (pixels).
    st : (frames,) bool, initial stance, e.g. from the still-window test.
    k : radius in noise standard deviations; 3 keeps false swing frames from noise rare
        (one-sided Gaussian tail 0.1 %) while catching the first frames of a swing.
    min_radius : radius floor (position units).
    noise : positional noise SD; default :func:`foothold_noise` of the initial stance.

    Returns
    -------
    (frames,) bool stance.
    """
    p, st = _track_and_stance(position, st)
    n = len(p)
    finite = np.isfinite(p).all(axis=1)
    starts, ends = _runs(st & finite)
    if not starts:
        return st.copy()
    r = max(k * (foothold_noise(p, st & finite) if noise is None else float(noise)), min_radius)

    def foothold(s: int, e: int) -> np.ndarray:
        return np.median(p[s:e][finite[s:e]], axis=0)

    feet = [foothold(s, e) for s, e in zip(starts, ends)]
    i = 0
    while i + 1 < len(starts):  # no step between two runs: one foothold
        if np.linalg.norm(feet[i + 1] - feet[i]) <= r:
            ends[i] = ends.pop(i + 1)
            starts.pop(i + 1)
            feet.pop(i + 1)
            feet[i] = foothold(starts[i], ends[i])
        else:
            i += 1

    def displacement(foot: np.ndarray, towards: np.ndarray | None):
        """Displacement of frame t from ``foot`` (along ``towards - foot`` when given); NaN
        for unknown frames, so comparisons with r are False for them."""
        if towards is None:
            return lambda t: float(np.linalg.norm(p[t] - foot))
        u = (towards - foot) / np.linalg.norm(towards - foot)
        return lambda t: float((p[t] - foot) @ u)

    m = len(starts)
    for i in range(m):
        out_d = displacement(feet[i], feet[i + 1] if i + 1 < m else None)
        hi = starts[i + 1] if i + 1 < m else n
        e = ends[i]
        while e - 1 > starts[i] and out_d(e - 1) > r:
            e -= 1
        while e < hi and not out_d(e) > r:
            e += 1
        ends[i] = e
        in_d = displacement(feet[i], feet[i - 1] if i > 0 else None)
        lo = ends[i - 1] if i > 0 else 0
        s = starts[i]
        while s + 1 < ends[i] and in_d(s) > r:
            s += 1
        while s > lo and not in_d(s - 1) > r:
            s -= 1
        starts[i] = s
    out = np.zeros(n, dtype=bool)
    for s, e in zip(starts, ends):
        out[s:e] = True
    return out


#: Shapes of a paw's path from one foothold to the next, as the fraction of the step made at a
#: fraction of the swing's time (both 0-1). Minimum jerk (Flash & Hogan 1985) is the usual model
#: of a reaching or stepping limb; the raised cosine is another bell-shaped speed; linear is a
#: constant speed.
SWING_PROFILES = {
    "minimum_jerk": lambda s: s ** 3 * (10.0 - 15.0 * s + 6.0 * s ** 2),
    "raised_cosine": lambda s: 0.5 - 0.5 * np.cos(np.pi * s),
    "linear": lambda s: s,
}


def _swing_windows(p: np.ndarray, finite: np.ndarray, st: np.ndarray, max_swing_frames: int,
                   margin: int = 3, foothold_frames: int = 5) -> list[tuple[int, int, int, int, np.ndarray, np.ndarray]]:
    """Each swing to fit: (lo, hi, lift, land, times, progress along the step 0-1)."""
    starts, ends = _runs(st)
    out = []
    for i in range(len(starts) - 1):
        lift, land = ends[i], starts[i + 1]  # first swing frame, first stance frame after it
        if land - lift > max_swing_frames:
            continue
        # footholds from the frames next to the swing: a long run may span several footholds
        # (a slow shuffle, a paw set down while grooming)
        s0, e1 = max(starts[i], lift - foothold_frames), min(ends[i + 1], land + foothold_frames)
        before, after = p[s0:lift][finite[s0:lift]], p[land:e1][finite[land:e1]]
        if not len(before) or not len(after):
            continue
        a, b = np.median(before, axis=0), np.median(after, axis=0)
        step2 = float((b - a) @ (b - a))
        if step2 == 0:
            continue
        lo, hi = max(starts[i], lift - margin), min(ends[i + 1], land + margin)
        keep = finite[lo:hi]
        out.append((lo, hi, lift, land, np.arange(lo, hi)[keep].astype(float), (p[lo:hi][keep] - a) @ (b - a) / step2))
    return out


def _fit_swing(window: tuple, shape, resolution: float) -> tuple[float, float, float]:
    """Least-squares lift-off and touch-down times (frames) of one swing, and the squared error."""
    lo, hi, lift, land, t, progress = window
    t0 = np.arange(max(lo, lift - 2.0), land - 1.0 + 1e-9, resolution)
    t1 = np.arange(lift + 1.0, min(hi - 1.0, land + 2.0) + 1e-9, resolution)
    span = t1[None, :] - t0[:, None]
    valid = span >= 2.0  # at least one frame in the air
    if not valid.any():
        return np.inf, np.nan, np.nan
    frac = np.clip((t - t0[:, None, None]) / np.where(valid, span, 1.0)[..., None], 0.0, 1.0)
    sse = np.where(valid, ((shape(frac) - progress) ** 2).sum(axis=-1), np.inf)
    j0, j1 = np.unravel_index(np.argmin(sse), sse.shape)
    return float(sse[j0, j1]), float(t0[j0]), float(t1[j1])


def time_swings(position: np.ndarray, st: np.ndarray, profile: str = "minimum_jerk",
                max_swing_frames: int = 12, resolution: float = 0.05) -> np.ndarray:
    """Stance with every swing's lift-off and touch-down timed from the paw's whole path.

    A threshold on each frame's displacement must choose between missing the first and last
    frames of a swing (where the paw has moved a small fraction of the step) and taking noise
    for a swing. Here each swing between two footholds (medians of the 5 stance frames on each side)
    is fitted as a whole: the paw's progress along the step, 0 at the first foothold and 1 at
    the next, is modelled as 0 until a lift-off time ``t0``, a profile from ``t0`` to a
    touch-down time ``t1``, and 1 after; ``t0`` and ``t1`` (continuous, in frames) are found by
    least squares over the swing and 3 frames on each side. A frame is swing when the paw has
    been in the air for more than half a frame at both ends (``t0 + 0.5 < t < t1 - 0.5``):
    its position has moved a visible part of the step. Every frame of the swing informs the
    two times, so sub-pixel noise moves them by a fraction of a frame.

    Parameters
    ----------
    position : (frames, 2) array, position units (pixels).
    st : (frames,) bool, stance with runs already on their footholds, e.g. from
        :func:`stance_from_position` (its edges need only be right to within a frame or two).
    profile : key of :data:`SWING_PROFILES`. The profile cannot be told from a track: with 3-4
        frames per swing and sub-pixel noise, the three fit a track's swings about equally well
        (tried, and dropped, as a per-track choice), while timing with the wrong one costs a few
        per cent of frames.
    max_swing_frames : gaps between stance runs longer than this (frames) are left as they
        are: the paw is off the ground for another reason (grooming, rearing), not stepping.
    resolution : grid step of ``t0`` and ``t1``, frames.

    Returns
    -------
    (frames,) bool stance.
    """
    p, st = _track_and_stance(position, st)
    if profile not in SWING_PROFILES:
        raise GaitError(f"profile must be one of {sorted(SWING_PROFILES)}; got {profile!r}")
    windows = _swing_windows(p, np.isfinite(p).all(axis=1), st, max_swing_frames)
    out = st.copy()
    for window in windows:
        lo, hi = window[:2]
        sse, t0, t1 = _fit_swing(window, SWING_PROFILES[profile], resolution)
        if np.isfinite(sse):
            frames = np.arange(lo, hi)
            out[lo:hi] = ~((frames > t0 + 0.5) & (frames < t1 - 0.5))
    return out


@dataclass(frozen=True)
class StanceConfig:
    """How :func:`stance` tells stance from swing.

    Attributes
    ----------
    method : str
        ``"position"`` (default): :func:`stance_from_position` per paw, from where the paw
        stays put; ``"speed"``: :func:`stance_from_speed` on the paw's speed relative to the
        body's.
    k, window, min_radius : float, int, float
        ``"position"``: a paw is planted while it stays within ``max(k * noise, min_radius)``
        (position units, usually pixels) of its position over ``window`` frames.
    edge_k : float or None
        ``"position"``: refine the edges of stance runs against the foothold (None: skip).
    swing_profile : str or None
        ``"position"``: then time every swing by fitting the paw's path between footholds
        (:func:`time_swings` with this key of :data:`SWING_PROFILES`). None (default): keep the
        edges the threshold gives. A fit helps only with the paws' own profile: on the
        synthetic world, whose paws follow a raised cosine, that profile raised stance accuracy
        in walking bouts from 0.941-0.973 to 0.945-0.978 (tuning seeds, 0.3-1 px of noise),
        while minimum jerk and linear lowered it to 0.82-0.89 (BENCHMARKS.md).
    enter, leave, min_speed : float
        ``"speed"``: stance begins below ``enter`` times the body speed and ends above
        ``leave`` times it; speeds below ``min_speed`` (px/s) count as still.
    """

    method: str = "position"
    k: float = 2.0
    window: int = 3
    min_radius: float = 0.5
    edge_k: float | None = 3.0
    swing_profile: str | None = None
    enter: float = 0.8
    leave: float = 1.5
    min_speed: float = 20.0


def stance(ds: xr.Dataset, paws: Sequence[str], body_part: str = "body_centre",
           config: StanceConfig | None = None, **settings: Any) -> xr.DataArray:
    """Stance per (animal, paw, frame) from a pose Dataset.

    Parameters
    ----------
    ds
        Pose Dataset (pixels).
    paws
        The paw parts.
    body_part
        The part whose speed is the body's (``method="speed"`` only).
    config, **settings
        :class:`StanceConfig`, and overrides of its fields (``method="speed"``, ``k=3``...).

    Returns
    -------
    xarray.DataArray
        Boolean ``(animal, paw, frame)``, True in stance.
    """
    config = dataclasses.replace(StanceConfig() if config is None else config, **settings)
    method, k, window, min_radius, edge_k = (config.method, config.k, config.window,
                                             config.min_radius, config.edge_k)
    enter, leave, min_speed = config.enter, config.leave, config.min_speed

    if method not in ("position", "speed"):
        raise GaitError(f"method must be 'position' or 'speed', got {method!r}")
    for p in [*paws, *([body_part] if method == "speed" else [])]:
        if p not in ds["part"].values:
            raise GaitError(f"part {p!r} not in the dataset parts {list(ds['part'].values)}")
    if method == "position":
        pos = ds["position"].sel(part=list(paws)).transpose("animal", "part", "frame", "coord")
        pos = np.asarray(pos.values)
        def one_paw(track: np.ndarray) -> np.ndarray:
            st = stance_from_position(track, k, window, min_radius, edge_k=edge_k)
            return st if config.swing_profile is None else time_swings(track, st, config.swing_profile)

        out = np.stack([np.stack([one_paw(pos[a, j]) for j in range(pos.shape[1])])
                        for a in range(pos.shape[0])])
    else:
        sp = kinematics.speed(ds["position"])
        body = sp.sel(part=body_part).transpose("animal", "frame").values
        paw = sp.sel(part=list(paws)).transpose("animal", "part", "frame").values
        out = np.stack([np.stack([stance_from_speed(paw[a, j], body[a], enter, leave, min_speed)
                                  for j in range(paw.shape[1])]) for a in range(paw.shape[0])])
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


def contralateral(paw: str) -> str | None:
    """The paw of the other side by name (``left`` <-> ``right``), or None when not named so."""
    for a, b in (("left", "right"), ("right", "left"), ("Left", "Right"), ("Right", "Left"),
                 ("L", "R"), ("R", "L")):
        if a in paw:
            return paw.replace(a, b, 1)
    return None


def _step_width(p_ref: np.ndarray, st_ref: np.ndarray, p_other: np.ndarray,
                st_other: np.ndarray, direction: np.ndarray) -> float:
    """Distance (position units) across the direction of travel between the mean footholds
    (mean stance positions) of two paws within one stride; NaN when either paw has no stance
    frame there or the direction is unknown."""
    norm = np.linalg.norm(direction)
    if not st_ref.any() or not st_other.any() or not np.isfinite(norm) or norm == 0:
        return np.nan
    across = np.array([-direction[1], direction[0]]) / norm
    gap = np.nanmean(p_ref[st_ref], axis=0) - np.nanmean(p_other[st_other], axis=0)
    return float(abs(gap @ across))


def stride_table(ds: xr.Dataset, paws: Sequence[str], reference: str | None = None,
                 body_part: str = "body_centre", enter: float = 0.8,
                 leave: float = 1.5, st: xr.DataArray | None = None,
                 method: str = "position"):
    """One row per stride (consecutive stance onsets of the reference paw).

    Columns: animal, stride, start_frame, end_frame, duration_s (s), cadence_hz (strides/s),
    stride_length (``ds.attrs['units']``, reference-paw displacement), stance_duration_s and
    swing_duration_s (s, reference paw), duty_factor (reference paw), step_width (units:
    distance across the stride's direction of travel between the mean footholds of the
    reference paw and its contralateral paw in the stride; NaN without such a paw), body_speed (units/s, mean), and
    ``phase_<paw>`` (cycles, first stance onset of that paw inside the stride) for each other
    paw. Pass ``st`` (animal, paw, frame) to use a precomputed stance instead of detecting it
    (``method``, ``enter``, ``leave`` go to :func:`stance`).
    """
    import pandas as pd

    reference = reference or paws[0]
    if reference not in paws:
        raise GaitError(f"reference {reference!r} must be one of paws {list(paws)}")
    if st is None:
        st = stance(ds, paws, body_part, enter=enter, leave=leave, method=method)
    fps = float(ds.attrs.get("fps") or 0)
    if fps <= 0:
        raise GaitError("ds.attrs['fps'] must be > 0 to time strides")
    body = kinematics.speed(ds["position"].sel(part=body_part)).transpose("animal", "frame").values
    allpos = ds["position"].transpose("animal", "part", "frame", "coord")
    pos = allpos.sel(part=reference).values
    contra = contralateral(reference)
    contra = contra if contra in paws else None
    cpos = allpos.sel(part=contra).values if contra else None
    rows = []
    for a, animal in enumerate(ds["animal"].values):
        ref = st.sel(animal=animal, paw=reference).values
        on = stance_onsets(ref)
        others = {p: stance_onsets(st.sel(animal=animal, paw=p).values)
                  for p in paws if p != reference}
        cst = st.sel(animal=animal, paw=contra).values if contra else None
        for i, (s, e) in enumerate(zip(on[:-1], on[1:])):
            n_stance = int(ref[s:e].sum())
            row = {"animal": animal, "stride": i, "start_frame": int(ds["frame"].values[s]),
                   "end_frame": int(ds["frame"].values[e]), "duration_s": (e - s) / fps,
                   "cadence_hz": fps / (e - s),
                   "stride_length": float(np.linalg.norm(pos[a, e] - pos[a, s])),
                   "stance_duration_s": n_stance / fps,
                   "swing_duration_s": (e - s - n_stance) / fps,
                   "duty_factor": float(ref[s:e].mean()),
                   "step_width": (_step_width(pos[a, s:e], ref[s:e], cpos[a, s:e], cst[s:e],
                                              pos[a, e] - pos[a, s])
                                  if contra else np.nan),
                   "body_speed": float(np.nanmean(body[a, s:e]))}
            for p, o in others.items():
                inside = o[(o >= s) & (o < e)]
                row[f"phase_{p}"] = float((inside[0] - s) / (e - s)) if inside.size else np.nan
            rows.append(row)
    # the columns even without a stride (a short or resting recording): the table stays usable
    columns = ["animal", "stride", "start_frame", "end_frame", "duration_s", "cadence_hz",
               "stride_length", "stance_duration_s", "swing_duration_s", "duty_factor",
               "step_width", "body_speed", *(f"phase_{p}" for p in paws if p != reference)]
    return pd.DataFrame(rows, columns=columns)


def gait_summary(table, max_duration_s: float | None = None):
    """Per-animal summary of a :func:`stride_table`: one row per animal.

    Columns: animal, n_strides, the mean of every numeric stride column (duration_s,
    cadence_hz, stride_length, stance_duration_s, swing_duration_s, duty_factor, step_width,
    body_speed), and for each ``phase_<paw>`` column its circular mean
    ``phase_<paw>_mean`` (cycles, in [0, 1)) and resultant length ``phase_<paw>_r`` (0-1:
    1 = the same phase in every stride, 0 = no preferred phase). ``max_duration_s`` drops
    strides longer than that (pauses between bouts of stepping).
    """
    import pandas as pd

    if max_duration_s is not None:
        table = table[table["duration_s"] <= max_duration_s]
    linear = ["duration_s", "cadence_hz", "stride_length", "stance_duration_s",
              "swing_duration_s", "duty_factor", "step_width", "body_speed"]
    phases = [c for c in table.columns if c.startswith("phase_")]
    rows = []
    for animal, g in table.groupby("animal", sort=False):
        row = {"animal": animal, "n_strides": len(g)}
        for c in linear:
            if c in g:
                v = g[c].to_numpy(dtype=float)
                row[c] = float(np.nanmean(v)) if np.isfinite(v).any() else np.nan
        for c in phases:
            v = g[c].to_numpy(dtype=float)
            v = v[np.isfinite(v)]
            m, r = circular_mean(v) if v.size else (np.nan, np.nan)
            row[f"{c}_mean"], row[f"{c}_r"] = m, r
        rows.append(row)
    return pd.DataFrame(rows)
