"""Identities across frames: link assemblies into tracklets, stitch tracklets into animals.

1. :func:`link_tracklets` walks the frames once. Each open track predicts where the animal is
   now from constant-velocity motion of its centroid; the cost of a track-assembly pair is the
   mean distance (pixels) over the parts both know, pairs are matched by optimal assignment
   with a gate, unmatched assemblies start tracks and tracks unseen for ``max_age`` frames
   close. A track also closes when the match is ambiguous (another assembly nearly as close),
   so that touching animals leave the decision to the global step.
2. :func:`stitch` joins tracklets into a known number of animals: a global min-cost path cover
   over tracklet end -> start pairs (``linear_sum_assignment`` on the usual augmented matrix with
   birth and death costs), where the cost of a join is the distance between the first
   tracklet's pose extrapolated over the gap and the second's first pose, plus a cost per frame
   of gap; an unseen animal is assumed to slow down (its velocity decays by a tenth per frame),
   as animals hidden in a contact mostly stop. Chains beyond the number of animals are then
   given to the identity that is free during them and nearest at their ends; a chain that fits
   no identity whole is placed tracklet by tracklet, and what fits nowhere is dropped.
3. :func:`track` runs both and returns a pose Dataset whose ``animal`` dim holds identities.

:func:`swap_identities` swaps two identities from a frame on (the review widget's fix), and
:func:`identity_checkpoints` lists the frames where that is worth checking: where two animals
part after a contact, the only place poses alone can swap them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import xarray as xr
from scipy.optimize import linear_sum_assignment
from tqdm.auto import tqdm

from poselab.core import poses
from poselab.core.errors import PoselabError
from poselab.multianimal.appearance import AppearanceEmbedding, learn_appearance

__all__ = [
    "TrackingConfig",
    "TrackingError",
    "Tracklet",
    "assign_identities",
    "link_tracklets",
    "stitch",
    "track",
    "swap_identities",
    "identity_checkpoints",
    "pose_distance",
]

_INF = 1e12


class TrackingError(PoselabError, ValueError):
    """Inputs to the tracker are malformed or parameters out of range."""


@dataclass
class Tracklet:
    """Consecutive detections believed to be one animal.

    Attributes
    ----------
    frames : list[int]
        Positions along the input's frame axis (0-based), increasing.
    poses : list[numpy.ndarray]
        ``(P, 3)`` x, y (pixels), score for each entry of ``frames``.
    appearance : list[numpy.ndarray]
        The appearance descriptor of each entry (:func:`poselab.multianimal.describe`), or
        empty when the detections have none.
    """

    frames: list[int] = field(default_factory=list)
    poses: list[np.ndarray] = field(default_factory=list)
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(2))
    appearance: list[np.ndarray] = field(default_factory=list)  # a descriptor per frame, or none

    @property
    def start(self) -> int:
        return self.frames[0]

    @property
    def end(self) -> int:
        return self.frames[-1]

    def __len__(self) -> int:
        return len(self.frames)

    def array(self) -> np.ndarray:
        """``(T, P, 3)`` stacked poses."""
        return np.stack(self.poses)


def pose_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mean part distance (pixels) between every pose of ``a (n, P, 2+)`` and ``b (m, P, 2+)``.

    Uses the parts both poses know; pairs without a common part fall back to the distance of
    their centroids; NaN when either pose is empty. Returns ``(n, m)``.
    """
    a = np.asarray(a, float)[..., :2]
    b = np.asarray(b, float)[..., :2]
    return _paired_distance(a[:, None], b[None])


def _paired_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mean part distance of broadcast poses ``a (..., P, 2)`` and ``b (..., P, 2)`` (pixels)."""
    d = np.linalg.norm(a - b, axis=-1)
    common = np.isfinite(d)
    n = common.sum(-1)
    mean = np.where(common, d, 0).sum(-1) / np.maximum(n, 1)
    with np.errstate(invalid="ignore"):
        centroid = np.linalg.norm(_centroid(a) - _centroid(b), axis=-1)
    return np.where(n > 0, mean, centroid)


def _centroid(x: np.ndarray) -> np.ndarray:
    n = np.isfinite(x[..., 0]).sum(-1)
    s = np.nansum(np.where(np.isfinite(x), x, 0), axis=-2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n[..., None] > 0, s / np.maximum(n, 1)[..., None], np.nan)


def _as_frames(assemblies) -> list[np.ndarray]:
    out = []
    for i, a in enumerate(assemblies):
        a = np.asarray(a, float)
        if a.ndim != 3 or a.shape[-1] not in (2, 3):
            raise TrackingError(
                f"frame {i}: assemblies must be (n_animals, n_parts, 2 or 3); got {a.shape}"
            )
        if a.shape[-1] == 2:
            a = np.concatenate([a, np.where(np.isnan(a[..., :1]), np.nan, 1.0)], -1)
        keep = np.isfinite(a[..., 0]).any(-1)  # empty rows carry no detection
        out.append(a[keep])
    sizes = {a.shape[1] for a in out if len(a)}
    if len(sizes) > 1:
        raise TrackingError(
            f"all assemblies must have the same number of parts; got {sorted(sizes)}"
        )
    return out


def _known_pose(t: Tracklet, lookback: int = 5) -> np.ndarray:
    """Last pose with parts missing there filled from the few frames before (pixels)."""
    pose = t.poses[-1][:, :2].copy()
    for p in t.poses[-2 : -lookback - 1 : -1]:
        missing = np.isnan(pose[:, 0])
        if not missing.any():
            break
        pose[missing] = p[missing, :2]
    return pose


def _update_velocity(t: Tracklet, pose: np.ndarray, frame: int, smoothing: float) -> None:
    if not t.frames:
        return
    dt = frame - t.end
    step = _centroid(pose[None, :, :2] - _known_pose(t)[None])[0] / max(dt, 1)
    # centroid of part-wise displacements: robust to parts that come and go
    if np.all(np.isfinite(step)):
        t.velocity = step if len(t) == 1 else smoothing * step + (1 - smoothing) * t.velocity


def link_tracklets(
    assemblies: Sequence[np.ndarray],
    *,
    gate: float | None = None,
    max_age: int = 1,
    ambiguity: float = 0.5,
    smoothing: float = 0.5,
    progress: bool = False,
    appearance: Sequence[np.ndarray] | None = None,
) -> list[Tracklet]:
    """Link per-frame assemblies into tracklets by predicted-position optimal assignment.

    Parameters
    ----------
    assemblies
        One ``(n_i, P, 3)`` (or ``(n_i, P, 2)``) array per frame: x, y (pixels), score.
    gate
        Largest mean part distance (pixels) between a prediction and an assembly that may be
        linked; default half the median animal length (largest part-to-part span).
    max_age
        Frames a track may go unmatched before it closes.
    ambiguity
        A match closes its track (and its assembly starts a new one) when its cost is at least
        ``ambiguity`` times the second-best cost in its row or column (another track or
        assembly nearly as close, as when animals touch). 0 disables.
    smoothing
        Weight of the newest displacement in the velocity estimate (px/frame), in (0, 1].
    progress
        Show a progress bar.
    appearance
        One ``(n_i, D)`` array of appearance descriptors per frame, carried into the
        tracklets (linking itself uses positions only).

    Returns
    -------
    list[Tracklet]
        Sorted by start frame.
    """
    frames = _as_frames(assemblies)
    if max_age < 1 or not (0 < smoothing <= 1) or not (0 <= ambiguity < 1):
        raise TrackingError(
            "need max_age >= 1, 0 < smoothing <= 1, 0 <= ambiguity < 1; "
            f"got {max_age}, {smoothing}, {ambiguity}"
        )
    if gate is None:
        gate = 0.5 * typical_length(frames)
    closed: list[Tracklet] = []
    open_: list[Tracklet] = []
    for f, dets in enumerate(tqdm(frames, disable=not progress, desc="linking")):
        still = []
        for t in open_:
            (still if f - t.end <= max_age else closed).append(t)
        open_ = still
        matched_dets: set[int] = set()
        if open_ and len(dets):
            pred = np.stack([_known_pose(t) + t.velocity * (f - t.end) for t in open_])
            cost = pose_distance(pred, dets)
            feasible = np.isfinite(cost) & (cost <= gate)
            rows, cols = linear_sum_assignment(np.where(feasible, cost, _INF))
            keep = feasible[rows, cols]
            rows, cols = rows[keep], cols[keep]
            ambiguous = np.zeros(len(rows), bool)
            if ambiguity > 0 and len(rows):
                best = cost[rows, cols]
                c_row = np.where(feasible, cost, np.inf)[rows].copy()
                c_row[np.arange(len(rows)), cols] = np.inf
                c_col = np.where(feasible, cost, np.inf)[:, cols].T.copy()
                c_col[np.arange(len(rows)), rows] = np.inf
                second = np.minimum(c_row.min(1), c_col.min(1))
                ambiguous = best >= ambiguity * second
            finished = []
            for r, c, amb in zip(rows, cols, ambiguous):
                t = open_[r]
                if amb:  # let the global step decide who is who
                    finished.append(r)
                    continue
                _update_velocity(t, dets[c], f, smoothing)
                t.frames.append(f)
                t.poses.append(dets[c])
                if appearance is not None:
                    t.appearance.append(appearance[f][c])
                matched_dets.add(int(c))
            for r in sorted(finished, reverse=True):
                closed.append(open_.pop(r))
        for c in range(len(dets)):
            if c not in matched_dets:
                seen = [] if appearance is None else [appearance[f][c]]
                open_.append(Tracklet(frames=[f], poses=[dets[c]], appearance=seen))
    closed += open_
    return sorted(closed, key=lambda t: (t.start, t.end))


def typical_length(frames: Sequence[np.ndarray], chunk: int = 4096) -> float:
    """Median over poses of the largest part-to-part distance (pixels); 50 if none.

    ``frames``: arrays ``(..., P, 2 or more)`` of poses (x, y first); poses with fewer than
    two known parts are left out. Computed ``chunk`` poses at a time (memory ``chunk * P^2``).
    """
    stacks = [np.asarray(a, float) for a in frames if np.size(a)]
    if not stacks:
        return 50.0
    n_parts = stacks[0].shape[-2]
    xy = np.concatenate([a[..., :2].reshape(-1, n_parts, 2) for a in stacks])
    xy = xy[np.isfinite(xy[..., 0]).sum(-1) >= 2]
    if not len(xy):
        return 50.0
    spans = np.empty(len(xy))
    for start in range(0, len(xy), chunk):
        x = xy[start : start + chunk]
        d = np.linalg.norm(x[:, :, None] - x[:, None], axis=-1)  # (n, P, P), NaN: unknown part
        spans[start : start + chunk] = np.where(np.isfinite(d), d, -np.inf).max(axis=(1, 2))
    return float(np.median(spans))


def _join_costs(
    tracklets: list[Tracklet], max_gap: int, gap_cost: float, lookahead: int = 3
) -> np.ndarray:
    """``(n, n)`` cost of continuing tracklet i with tracklet j (inf where impossible)."""
    n = len(tracklets)
    ends = np.array([t.end for t in tracklets])
    starts = np.array([t.start for t in tracklets])
    gap = starts[None, :] - ends[:, None]
    possible = (gap >= 1) & (gap <= max_gap)
    cost = np.full((n, n), np.inf)
    if not possible.any():
        return cost
    last = np.stack([_known_pose(t) for t in tracklets])  # (n, P, 2)
    vel = np.stack([t.velocity for t in tracklets])  # (n, 2) px/frame at the end
    first = np.stack([_first_known(t, lookahead) for t in tracklets])
    back = np.stack([_start_velocity(t, lookahead) for t in tracklets])  # NaN if one frame
    i, j = np.nonzero(possible)
    g = _coasting(gap[i, j])[:, None, None]
    forward = _paired_distance(last[i] + vel[i, None, :] * g, first[j])
    backward = _paired_distance(first[j] - back[j, None, :] * g, last[i])
    # both tracklets' motion must agree with the join; a one-frame tracklet has no motion
    d = np.where(np.isfinite(backward), 0.5 * (forward + backward), forward)
    cost[i, j] = d + gap_cost * (gap[i, j] - 1)
    return cost


_MOTION_DECAY = 0.9


def _coasting(gap):
    """Frames of motion (at the last velocity) assumed over a gap of ``gap`` frames.

    Unseen animals slow down (those hidden by a contact mostly stop): the velocity decays by
    ``_MOTION_DECAY`` per frame, so the assumed motion levels off at ``1 / (1 - _MOTION_DECAY)``
    frames instead of growing with the gap.
    """
    return (1 - _MOTION_DECAY ** np.asarray(gap, float)) / (1 - _MOTION_DECAY)


def _start_velocity(t: Tracklet, lookahead: int) -> np.ndarray:
    """Centroid velocity (px/frame) over a tracklet's first frames; NaN for a single frame."""
    if len(t) < 2:
        return np.full(2, np.nan)
    k = min(len(t) - 1, lookahead)
    step = _centroid(t.poses[k][None, :, :2] - t.poses[0][None, :, :2])[0]
    return step / (t.frames[k] - t.frames[0])


def _first_known(t: Tracklet, lookahead: int) -> np.ndarray:
    pose = t.poses[0][:, :2].copy()
    for p in t.poses[1:lookahead]:
        missing = np.isnan(pose[:, 0])
        if not missing.any():
            break
        pose[missing] = p[missing, :2]
    return pose


def stitch(
    tracklets: list[Tracklet],
    n_animals: int,
    *,
    max_gap: int = 60,
    gate: float | None = None,
    gap_cost: float = 1.0,
    min_length: int = 1,
    anchor_length: int = 5,
    embedding: AppearanceEmbedding | None = None,
    appearance_weight: float = 0.0,
) -> list[list[int]]:
    """Group tracklets into at most ``n_animals`` identities.

    Parameters
    ----------
    tracklets
        From :func:`link_tracklets`.
    n_animals
        Number of animals in the video.
    max_gap
        Largest gap (frames) a join may bridge in the global step.
    gate
        Joins costing more than this (pixels) are not made in the global step; default the
        median animal length.
    gap_cost
        Cost (pixels) per frame of gap, so that of two equally close continuations the nearer
        in time wins.
    min_length
        Tracklets shorter than this (frames) are ignored (spurious assemblies).
    anchor_length
        Only tracklets at least this long (frames) take part in the global step: their motion
        is known. Shorter ones (typically where animals touch) are then given, longest first,
        to the identity that is free during them and nearest at their ends.
    embedding, appearance_weight
        With tracklets that carry appearance descriptors: joins and assignments also cost
        ``appearance_weight * gate * (1 - cos) / 2``, where ``cos`` compares the mean embedded
        appearance (:class:`~poselab.multianimal.AppearanceEmbedding`) of the two sides: up to
        ``appearance_weight`` animal lengths for animals that look wholly different.

    Returns
    -------
    list[list[int]]
        For each identity, the indices of its tracklets in time order (possibly empty lists).
    """
    if n_animals < 1:
        raise TrackingError(f"n_animals must be at least 1; got {n_animals}")
    idx = [k for k, t in enumerate(tracklets) if len(t) >= min_length]
    ts = [tracklets[k] for k in idx]
    if not ts:
        return [[] for _ in range(n_animals)]
    if gate is None:
        gate = typical_length([t.array() for t in ts])
    anchors = [k for k, t in enumerate(ts) if len(t) >= anchor_length] or list(range(len(ts)))
    looks = _Looks(ts, embedding, appearance_weight * gate)
    chains = _path_cover([ts[k] for k in anchors], max_gap, gap_cost, gate, looks.between(anchors, anchors))
    chains = [[anchors[k] for k in c] for c in chains]
    short = [[k] for k in range(len(ts)) if k not in set(anchors)]
    chains.sort(key=lambda c: -sum(len(ts[k]) for k in c))
    identities = [list(c) for c in chains[:n_animals]]
    used = [set().union(*[set(ts[k].frames) for k in ident]) for ident in identities]
    # the rest (longest first) goes to the identity free during it and nearest at its ends
    def frames_of(chain):
        return sum(len(ts[k]) for k in chain)

    rest = sorted(chains[n_animals:] + short, key=frames_of)  # longest last: popped first
    while rest:
        chain = rest.pop()
        span = set().union(*[set(ts[k].frames) for k in chain])
        best, best_cost = None, np.inf
        for a, ident in enumerate(identities):
            if used[a] & span:
                continue
            c = _boundary_cost(ts, ident, chain, gap_cost) + looks.of_groups(ident, chain)
            if c < best_cost:
                best, best_cost = a, c
        if best is None and len(identities) < n_animals:
            identities.append([])
            used.append(set())
            best = len(identities) - 1
        if best is not None:
            identities[best] = sorted(identities[best] + chain, key=lambda k: ts[k].start)
            used[best] |= span
        elif len(chain) > 1:  # no identity is free for all of it: place its tracklets one by one
            rest = sorted(rest + [[k] for k in chain], key=frames_of)
    while len(identities) < n_animals:
        identities.append([])
    return [[idx[k] for k in ident] for ident in identities]


def assign_identities(tracklets: list[Tracklet], n_animals: int, *, min_length: int = 1,
                      floor: float = 1e-3) -> list[list[int]]:
    """Give tracklets to the known animals an identity head names (no stitching by motion).

    Parameters
    ----------
    tracklets
        From :func:`link_tracklets` with ``appearance=`` the identity probabilities of each
        detection, ``(K,)`` per frame for ``K`` known animals.
    n_animals
        Number of animals in the video (at most ``K`` are kept: those with the most frames).
    min_length
        Tracklets shorter than this (frames) are ignored.
    floor
        Smallest probability counted (a single confident mistake costs at most ``-log(floor)``).

    Returns
    -------
    list[list[int]]
        For each identity, the indices of its tracklets in time order. Longest tracklets go
        first, each to the animal its frames name with the highest summed log-probability among
        those free during it; a tracklet that no named animal is free for is left out.
    """
    if n_animals < 1:
        raise TrackingError(f"n_animals must be at least 1; got {n_animals}")
    votes = {}
    for k, t in enumerate(tracklets):
        if len(t) >= min_length and t.appearance:
            votes[k] = np.log(np.clip(np.stack(t.appearance), floor, 1.0)).sum(0)
    if not votes:
        return [[] for _ in range(n_animals)]
    n_known = len(next(iter(votes.values())))
    owner: list[list[int]] = [[] for _ in range(n_known)]
    busy: list[set[int]] = [set() for _ in range(n_known)]
    for k in sorted(votes, key=lambda k: -len(tracklets[k])):
        span = set(tracklets[k].frames)
        for a in np.argsort(-votes[k], kind="stable"):
            if not busy[a] & span:
                owner[a].append(k)
                busy[a] |= span
                break
    kept = sorted(sorted(range(n_known), key=lambda a: -len(busy[a]))[:n_animals])
    identities = [sorted(owner[a], key=lambda k: tracklets[k].start) for a in kept]
    return identities + [[] for _ in range(n_animals - len(identities))]


class _Looks:
    """Appearance costs between tracklets and groups of them (zero without an embedding)."""

    def __init__(self, ts: list[Tracklet], embedding: AppearanceEmbedding | None, scale: float):
        self.scale = scale if embedding is not None and scale > 0 else 0.0
        self.sums = None
        if self.scale:  # per tracklet: the sum of its embedded frames, and their count
            self.sums = np.stack([embedding(np.stack(t.appearance)).sum(0) if t.appearance
                                  else np.zeros(embedding.weights.shape[1]) for t in ts])
            self.counts = np.array([len(t.appearance) for t in ts], float)

    def _mean(self, group: Sequence[int]) -> np.ndarray:
        total = self.sums[list(group)].sum(0)
        return total / max(float(np.linalg.norm(total)), 1e-12)

    def between(self, rows: Sequence[int], cols: Sequence[int]) -> np.ndarray | None:
        """``(len(rows), len(cols))`` costs of tracklet pairs, or None without appearance."""
        if not self.scale:
            return None
        a = np.stack([self._mean([k]) for k in rows])
        b = np.stack([self._mean([k]) for k in cols])
        seen = (self.counts[list(rows)] > 0)[:, None] & (self.counts[list(cols)] > 0)[None, :]
        return np.where(seen, self.scale * (1 - a @ b.T) / 2, 0.0)

    def of_groups(self, first: Sequence[int], second: Sequence[int]) -> float:
        """The cost of one identity holding both groups of tracklets."""
        if not self.scale or not first or not self.counts[list(first)].sum() or not self.counts[list(second)].sum():
            return 0.0
        return float(self.scale * (1 - self._mean(first) @ self._mean(second)) / 2)


def _path_cover(ts: list[Tracklet], max_gap: int, gap_cost: float, gate: float,
                looks: np.ndarray | None = None) -> list[list[int]]:
    """Min-cost chains of tracklets: link i -> j, or end i / start j at ``gate / 2`` each
    (``looks``: appearance costs added to the links)."""
    n = len(ts)
    cost = _join_costs(ts, max_gap, gap_cost)
    if looks is not None:
        cost = cost + looks
    link = np.where(np.isfinite(cost) & (cost <= gate), cost, _INF)
    death = np.full((n, n), _INF)
    np.fill_diagonal(death, gate / 2)
    birth = death.copy()
    aug = np.block([[link, death], [birth, np.where(link.T < _INF, 0.0, _INF)]])
    rows, cols = linear_sum_assignment(aug)
    nxt = {int(r): int(c) for r, c in zip(rows, cols) if r < n and c < n and link[r, c] < _INF}
    has_prev = set(nxt.values())
    chains = []
    for k in range(n):
        if k in has_prev:
            continue
        chain = [k]
        while chain[-1] in nxt:
            chain.append(nxt[chain[-1]])
        chains.append(chain)
    return chains


def _boundary_cost(
    ts: list[Tracklet], ident: list[int], chain: list[int], gap_cost: float
) -> float:
    """Distance (pixels) between a chain and an identity's tracklets just before and after it."""
    if not ident:
        return 1e6  # prefer identities with evidence nearby, but an empty one is better than none
    start = min(ts[k].start for k in chain)
    end = max(ts[k].end for k in chain)
    before = [k for k in ident if ts[k].end < start]
    after = [k for k in ident if ts[k].start > end]
    costs = []
    if before:
        b = max(before, key=lambda k: ts[k].end)
        first = min(chain, key=lambda k: ts[k].start)
        g = ts[first].start - ts[b].end
        pred = _known_pose(ts[b]) + ts[b].velocity * _coasting(g)
        costs.append(_paired_distance(pred, _first_known(ts[first], 3)) + gap_cost * g)
    if after:
        a = min(after, key=lambda k: ts[k].start)
        last = max(chain, key=lambda k: ts[k].end)
        g = ts[a].start - ts[last].end
        pred = _known_pose(ts[last]) + ts[last].velocity * _coasting(g)
        costs.append(_paired_distance(pred, _first_known(ts[a], 3)) + gap_cost * g)
    costs = [c for c in costs if np.isfinite(c)]
    return float(np.mean(costs)) if costs else 1e5


@dataclass(frozen=True)
class TrackingConfig:
    """Settings of :func:`track`: how detections link into tracklets and tracklets into animals.

    Attributes
    ----------
    gate : float or None
        Largest mean part distance (pixels) for a frame-to-frame link (default: from the typical
        animal length); see :func:`link_tracklets`.
    max_age : int
        Frames a tracklet may miss before it ends.
    ambiguity : float
        How much better the best link must be than the second best (see :func:`link_tracklets`).
    max_gap : int
        Longest gap (frames) bridged when stitching tracklets into an identity.
    gap_cost : float
        Cost per frame of a gap, relative to the distance cost (see :func:`stitch`).
    min_length : int
        Tracklets shorter than this (frames) are dropped.
    anchor_length : int
        Tracklets at least this long anchor identities.
    appearance_weight : float
        With appearance descriptors (stored by :func:`poselab.analyze_video`): how much looks
        count when tracklets are joined into identities, in animal lengths of distance for
        animals that look wholly different (see :func:`stitch`); the embedding is learned from
        the video's own tracklets (:func:`poselab.multianimal.learn_appearance`). 0: positions
        and motion only.
    """

    gate: float | None = None
    max_age: int = 1
    ambiguity: float = 0.5
    max_gap: int = 60
    gap_cost: float = 1.0
    min_length: int = 1
    anchor_length: int = 5
    appearance_weight: float = 0.0


def track(
    assemblies: Sequence[np.ndarray],
    n_animals: int,
    config: TrackingConfig | None = None,
    *,
    parts: Sequence[str] | None = None,
    animals: Sequence[str] | None = None,
    frames: Sequence[int] | None = None,
    progress: bool = False,
    appearance: Sequence[np.ndarray] | None = None,
    identity: Sequence[np.ndarray] | None = None,
    **attrs,
) -> xr.Dataset:
    """Identities for per-frame assemblies: link into tracklets, stitch into ``n_animals``.

    Parameters
    ----------
    assemblies
        One ``(n_i, P, 3)`` array per frame (x, y in pixels, score), e.g. from
        :func:`poselab.multianimal.assemble_batch`; NaN rows are ignored.
    n_animals
        Number of animals.
    config
        Linking and stitching settings (:class:`TrackingConfig`; default its defaults).
    parts, animals
        Names (default ``part0..``, ``animal0..``).
    frames
        Video frame index of each entry (default ``0..``).
    progress
        Show a progress bar while linking.
    appearance
        One ``(n_i, D)`` array of appearance descriptors per frame (used when
        ``config.appearance_weight > 0``).
    identity
        One ``(n_i, K)`` array per frame: the probabilities of an identity head that each
        detection is known animal ``k`` (:meth:`~poselab.multianimal.MultiAnimalModel.detect_pixels`
        of a model with ``identities``). Tracklets then go to the animals it names
        (:func:`assign_identities`) instead of being stitched by motion.
    attrs
        ``fps``, ``video``, ``width``, ``height``, ``source`` for
        :func:`poselab.core.poses.from_arrays`.

    Returns
    -------
    xarray.Dataset
        Pose Dataset ``(animal=n_animals, part, frame, coord)``; ``likelihood`` is the
        detection score.
    """
    config = TrackingConfig() if config is None else config
    data = _as_frames(assemblies)
    n_frames = len(data)
    n_parts = next((a.shape[1] for a in data if len(a)), len(parts) if parts is not None else 0)
    if n_parts == 0:
        raise TrackingError("no assemblies and no part names: cannot tell the number of parts")
    looks = appearance if appearance is not None and config.appearance_weight > 0 else None
    tracklets = link_tracklets(
        data, gate=config.gate, max_age=config.max_age, ambiguity=config.ambiguity,
        progress=progress, appearance=looks if identity is None else identity,
    )
    if identity is not None:
        identities = assign_identities(tracklets, n_animals, min_length=config.min_length)
    else:
        embedding = learn_appearance(tracklets, min_length=config.anchor_length) if looks is not None else None
        identities = stitch(
            tracklets, n_animals, max_gap=config.max_gap, gap_cost=config.gap_cost,
            min_length=config.min_length, anchor_length=config.anchor_length,
            embedding=embedding, appearance_weight=config.appearance_weight,
        )
    out = np.full((n_animals, n_parts, n_frames, 3), np.nan)
    for a, ident in enumerate(identities):
        for k in ident:
            t = tracklets[k]
            out[a, :, t.frames] = t.array()
    ds = poses.from_arrays(
        out[..., :2], np.clip(out[..., 2], 0, 1), animals=animals, parts=parts, frames=frames,
        **attrs,
    )
    return poses.with_provenance(
        ds, "multianimal.track", n_animals=n_animals, **asdict(config), n_tracklets=len(tracklets),
        by_identity_head=identity is not None,
    )


def swap_identities(ds: xr.Dataset, animal_a: str, animal_b: str, from_frame: int) -> xr.Dataset:
    """Swap two animals' data from video frame ``from_frame`` on (inclusive); a new Dataset.

    Every data variable with ``animal`` and ``frame`` dims is swapped; others are unchanged.
    """
    names = [str(a) for a in ds["animal"].values]
    for name in (animal_a, animal_b):
        if name not in names:
            raise TrackingError(f"no animal {name!r}; animals are {names}")
    if animal_a == animal_b:
        raise TrackingError("give two different animals to swap")
    ia, ib = names.index(animal_a), names.index(animal_b)
    later = ds["frame"].values >= from_frame
    out = ds.copy(deep=True)
    for name, var in ds.data_vars.items():
        if "animal" not in var.dims or "frame" not in var.dims:
            continue
        values = var.values.copy()
        ax_a, ax_f = var.dims.index("animal"), var.dims.index("frame")
        moved = np.moveaxis(values, (ax_a, ax_f), (0, 1))
        swapped = moved.copy()
        swapped[ia, later], swapped[ib, later] = moved[ib, later], moved[ia, later]
        out[name] = (var.dims, np.moveaxis(swapped, (0, 1), (ax_a, ax_f)), var.attrs)
    return poses.with_provenance(
        out, "swap_identities", animal_a=animal_a, animal_b=animal_b, from_frame=int(from_frame)
    )


def identity_checkpoints(
    ds: xr.Dataset, *, distance: float | None = None, hold: int = 30
) -> np.ndarray:
    """Frames where two tracked animals part after a contact: where to check for a swap.

    Animals whose centroids come closer than ``distance`` are in contact; an animal that is not
    detected counts as staying where it was last seen for up to ``hold`` frames (it is usually
    hidden under or behind another). A checkpoint is the first frame after a contact in which
    both animals are seen apart. Identities swap inside contacts, so checking these frames in
    the review widget, and swapping identities from there on where they are wrong, undoes the
    tracker's swaps.

    Parameters
    ----------
    ds
        Tracked pose Dataset (``animal`` = identities), e.g. from :func:`track`.
    distance
        Contact distance between centroids (pixels); default 0.3 times the median animal
        length (largest part-to-part span, tail included), about half a mouse's body length:
        animals further apart are told apart at a glance.
    hold
        Frames an undetected animal is kept at its last known centroid.

    Returns
    -------
    numpy.ndarray
        Sorted unique video frame numbers (``ds['frame']`` values).
    """
    pos = np.asarray(ds["position"].transpose("animal", "frame", "part", "coord").values, float)
    pos = pos[..., :2]
    if distance is None:
        distance = 0.3 * typical_length([pos])
    if not distance > 0 or hold < 0:
        raise TrackingError(f"need distance > 0 pixels and hold >= 0; got {distance}, {hold}")
    seen_centre = _centroid(pos)  # (A, F, 2), NaN where the animal is not detected
    seen = np.isfinite(seen_centre[..., 0])
    index = np.arange(pos.shape[1])
    centre = seen_centre.copy()
    for a in range(len(centre)):  # hidden animals stay where they were last seen
        last = np.maximum.accumulate(np.where(seen[a], index, -1))
        fill = ~seen[a] & (last >= 0) & (index - last <= hold)
        centre[a, fill] = seen_centre[a, last[fill]]
    frames = ds["frame"].values
    out: set[int] = set()
    for i in range(len(centre)):
        for j in range(i + 1, len(centre)):
            with np.errstate(invalid="ignore"):
                d = np.linalg.norm(centre[i] - centre[j], axis=-1)
            close = d < distance
            apart = seen[i] & seen[j] & (d >= distance)
            last_close = np.maximum.accumulate(np.where(close, index, -1))
            last_apart = np.maximum.accumulate(np.where(apart, index, -1))
            previous_apart = np.concatenate([[-1], last_apart[:-1]])
            first_apart = apart & (last_close > previous_apart)  # a contact since last apart
            out.update(int(frames[k]) for k in np.nonzero(first_apart)[0])
    return np.array(sorted(out), dtype=int)
