"""Group part candidates into individuals with part affinity fields (PAF) along a skeleton.

Each limb ``(a, b)`` of the skeleton has a 2-channel field that points from part ``a`` to part
``b`` on the animal's body. A candidate pair is scored by the mean dot product of the field with
the pair's unit direction, sampled along the segment (the line integral); each limb is solved by
optimal assignment (:func:`scipy.optimize.linear_sum_assignment`); the limb matches are then
merged greedily from the strongest affinity down into assemblies in which every part appears at
most once, which is DeepLabCut's assembly rule. :func:`skeleton_from_labels` picks a skeleton
from multi-animal labels when none is given, and :func:`render_pafs` draws ideal fields from
keypoints (training targets, and a noise-free grouping signal for benchmarks).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

import numpy as np
import xarray as xr
from scipy.optimize import linear_sum_assignment
from scipy.sparse.csgraph import minimum_spanning_tree

from poselab.core.errors import PoselabError
from poselab.core.validate import part_index_pairs, position_array
from poselab.multianimal.peaks import Candidates

__all__ = [
    "AssemblyError",
    "all_pairs",
    "limb_affinity",
    "assemble",
    "assemble_batch",
    "skeleton_from_labels",
    "limb_length_limits",
    "render_pafs",
]


class AssemblyError(PoselabError, ValueError):
    """Inputs to the assembler are inconsistent (shapes, skeleton, parameters)."""


def all_pairs(n_parts: int) -> np.ndarray:
    """Every pair of parts in DeepLabCut's PAF graph order: ``itertools.combinations`` (L, 2)."""
    return np.array(list(combinations(range(n_parts), 2)), dtype=np.int64).reshape(-1, 2)


def _sample_field(field: np.ndarray, xy: np.ndarray, stride: int) -> np.ndarray:
    """Bilinear samples ``(..., 2)`` of a ``(2, H, W)`` field at pixel positions ``(..., 2)``."""
    h, w = field.shape[-2:]
    centre = (stride - 1) / 2
    gx = np.clip((xy[..., 0] - centre) / stride, 0, w - 1)
    gy = np.clip((xy[..., 1] - centre) / stride, 0, h - 1)
    x0 = np.minimum(np.floor(gx).astype(np.int64), w - 2 if w > 1 else 0)
    y0 = np.minimum(np.floor(gy).astype(np.int64), h - 2 if h > 1 else 0)
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    fx, fy = gx - x0, gy - y0
    out = (
        field[:, y0, x0] * ((1 - fx) * (1 - fy))
        + field[:, y0, x1] * (fx * (1 - fy))
        + field[:, y1, x0] * ((1 - fx) * fy)
        + field[:, y1, x1] * (fx * fy)
    )
    return np.moveaxis(out, 0, -1)


def limb_affinity(
    field: np.ndarray, xy_a: np.ndarray, xy_b: np.ndarray, stride: int, *, n_samples: int = 10
) -> np.ndarray:
    """PAF line integral of every candidate pair of one limb.

    Parameters
    ----------
    field
        ``(2, H, W)`` the limb's field (x, y components).
    xy_a, xy_b
        ``(n, 2)`` and ``(m, 2)`` candidate positions of the limb's two parts (pixels).
    stride
        Input pixels per field cell.
    n_samples
        Points sampled evenly along each segment, ends included.

    Returns
    -------
    numpy.ndarray
        ``(n, m)`` mean of ``field . unit(b - a)`` along the segment (about 1 on a true limb,
        about 0 or negative elsewhere).
    """
    xy_a = np.asarray(xy_a, float).reshape(-1, 2)
    xy_b = np.asarray(xy_b, float).reshape(-1, 2)
    if field.ndim != 3 or field.shape[0] != 2:
        raise AssemblyError(f"a limb's field must be (2, H, W); got {field.shape}")
    vec = xy_b[None, :, :] - xy_a[:, None, :]  # (n, m, 2)
    length = np.linalg.norm(vec, axis=-1)
    unit = vec / np.maximum(length, 1e-6)[..., None]
    t = np.linspace(0.0, 1.0, n_samples)
    points = xy_a[:, None, None, :] + t[None, None, :, None] * vec[:, :, None, :]  # (n, m, S, 2)
    values = _sample_field(field, points, stride)
    return np.einsum("nmsc,nmc->nm", values, unit) / n_samples


def limb_indices(
    skeleton: np.ndarray | Sequence[Sequence[str | int]] | None, parts: Sequence[str] | int
) -> np.ndarray:
    """Limbs as an ``(L, 2)`` array of part indices.

    Parameters
    ----------
    skeleton
        Limbs as pairs of part names (or of part indices).
    parts
        The part names (or their number, when the limbs are given as indices).
    """
    return part_index_pairs(skeleton, parts, what="limb", error=AssemblyError)


def assemble(
    candidates: Sequence[np.ndarray],
    pafs: np.ndarray,
    stride: int,
    *,
    paf_graph: np.ndarray | Sequence[Sequence[int]] | None = None,
    skeleton: np.ndarray | Sequence[Sequence[int]] | None = None,
    min_affinity: float = 0.1,
    min_parts: int = 2,
    max_individuals: int | None = None,
    max_length: np.ndarray | Sequence[float] | None = None,
    n_samples: int = 10,
) -> np.ndarray:
    """Assemble one frame's candidates into individuals.

    Parameters
    ----------
    candidates
        One ``(n_p, 3)`` array per part: x, y (pixels), score.
    pafs
        ``(L, 2, H, W)`` part affinity fields, limb ``l`` connecting ``paf_graph[l]``.
    stride
        Input pixels per field cell.
    paf_graph
        ``(L, 2)`` the part pair of each field channel; default :func:`all_pairs`.
    skeleton
        The limbs used for grouping, a subset of ``paf_graph`` (either direction); default all
        of ``paf_graph``. Fewer, reliable limbs (e.g. :func:`skeleton_from_labels`) are faster.
    min_affinity
        Pairs with a lower PAF integral are never linked.
    min_parts
        Assemblies with fewer parts are dropped.
    max_individuals
        Keep at most this many assemblies (the best by summed score x mean affinity).
    max_length
        Longest plausible length (pixels) of each limb of ``skeleton`` (e.g. from
        :func:`limb_length_limits`); longer pairs are never linked, and no assembly may hold
        a longer limb, which keeps the fields' blur where animals touch from joining two
        animals into one.

    Returns
    -------
    numpy.ndarray
        ``(n_found, P, 3)`` x, y (pixels), score; NaN where a part is missing. Sorted by
        number of parts, then total score, descending.
    """
    n_parts = len(candidates)
    cands = [np.asarray(c, float).reshape(-1, 3) for c in candidates]
    pafs = np.asarray(pafs)
    graph = all_pairs(n_parts) if paf_graph is None else limb_indices(paf_graph, n_parts)
    if pafs.ndim != 4 or pafs.shape[0] != len(graph) or pafs.shape[1] != 2:
        raise AssemblyError(
            f"pafs must be ({len(graph)}, 2, H, W) for {len(graph)} limbs; got {pafs.shape}"
        )
    lookup = {(int(a), int(b)): (i, 1) for i, (a, b) in enumerate(graph)}
    lookup.update({(int(b), int(a)): (i, -1) for i, (a, b) in enumerate(graph)})
    limbs = graph if skeleton is None else limb_indices(skeleton, n_parts)
    if max_length is not None:
        max_length = np.broadcast_to(np.asarray(max_length, float), (len(limbs),))

    # 1. every limb: affinities of all candidate pairs, optimal one-to-one matches
    links = []  # (affinity, part a, index a, part b, index b)
    for li, (a, b) in enumerate(limbs):
        a, b = int(a), int(b)
        if (a, b) not in lookup:
            raise AssemblyError(f"limb ({a}, {b}) has no field in paf_graph")
        if not len(cands[a]) or not len(cands[b]):
            continue
        channel, sign = lookup[(a, b)]
        aff = sign * limb_affinity(
            pafs[channel], cands[a][:, :2], cands[b][:, :2], stride, n_samples=n_samples
        )
        if max_length is not None:
            length = np.linalg.norm(cands[a][:, None, :2] - cands[b][None, :, :2], axis=-1)
            aff = np.where(length <= max_length[li], aff, -1e9)
        rows, cols = linear_sum_assignment(aff, maximize=True)
        good = aff[rows, cols] >= min_affinity  # also drops implausibly long pairs (-1e9)
        links += [(float(aff[r, c]), a, int(r), b, int(c)) for r, c in zip(rows[good], cols[good])]

    # 2. greedy merge from the strongest link: a part appears at most once per assembly, and
    # with length limits every skeleton limb inside an assembly must have a plausible length
    limit = {}
    if max_length is not None:
        for li, (a, b) in enumerate(limbs):
            limit[(int(a), int(b))] = limit[(int(b), int(a))] = float(max_length[li])

    def fits(group: dict[int, int], other: dict[int, int]) -> bool:
        if set(group) & set(other):
            return False
        for pa_, ia_ in other.items():
            for pb_, ib_ in group.items():
                lim = limit.get((pa_, pb_))
                if lim is None:
                    continue
                if np.hypot(*(cands[pa_][ia_, :2] - cands[pb_][ib_, :2])) > lim:
                    return False
        return True

    owner: dict[tuple[int, int], int] = {}
    members: list[dict[int, int]] = []  # assembly -> {part: candidate index}
    affinity_sum: list[list[float]] = []
    for aff, pa, ia, pb, ib in sorted(links, key=lambda l: -l[0]):
        ka, kb = owner.get((pa, ia)), owner.get((pb, ib))
        if ka is None and kb is None:
            members.append({pa: ia, pb: ib})
            affinity_sum.append([aff])
            owner[(pa, ia)] = owner[(pb, ib)] = len(members) - 1
        elif ka is not None and kb is None:
            if fits(members[ka], {pb: ib}):
                members[ka][pb] = ib
                owner[(pb, ib)] = ka
                affinity_sum[ka].append(aff)
        elif ka is None and kb is not None:
            if fits(members[kb], {pa: ia}):
                members[kb][pa] = ia
                owner[(pa, ia)] = kb
                affinity_sum[kb].append(aff)
        elif ka != kb and fits(members[ka], members[kb]):
            for part, idx in members[kb].items():
                owner[(part, idx)] = ka
            members[ka].update(members[kb])
            affinity_sum[ka] += affinity_sum[kb] + [aff]
            members[kb], affinity_sum[kb] = {}, []
        elif ka == kb:
            affinity_sum[ka].append(aff)

    out = []
    quality = []
    for m, affs in zip(members, affinity_sum):
        if len(m) < max(min_parts, 1):
            continue
        pose = np.full((n_parts, 3), np.nan)
        for part, idx in m.items():
            pose[part] = cands[part][idx]
        out.append(pose)
        quality.append((len(m), np.nansum(pose[:, 2]) * float(np.mean(affs))))
    if not out:
        return np.full((0, n_parts, 3), np.nan)
    order = sorted(range(len(out)), key=lambda i: quality[i], reverse=True)
    if max_individuals is not None:
        order = order[:max_individuals]
    return np.stack([out[i] for i in order])


def assemble_batch(
    candidates: Candidates, pafs: np.ndarray, stride: int, **kwargs
) -> list[np.ndarray]:
    """:func:`assemble` for every frame of a batch; ``pafs`` is ``(B, L, 2, H, W)``.

    Returns a list over frames of ``(n_found, P, 3)`` arrays (pixels, score).
    """
    pafs = np.asarray(pafs)
    if pafs.ndim != 5 or pafs.shape[0] != candidates.n_frames:
        raise AssemblyError(
            f"pafs must be (B={candidates.n_frames}, L, 2, H, W); got {pafs.shape}"
        )
    return [
        assemble(candidates.frame(b), pafs[b], stride, **kwargs)
        for b in range(candidates.n_frames)
    ]


def skeleton_from_labels(
    ds: xr.Dataset, *, n_limbs: int | None = None, min_pairs: int = 5
) -> np.ndarray:
    """A tree over the parts that links parts whose distance varies least across animals.

    For every pair of parts the distance between them is measured on every labeled animal and
    frame; the pair's cost is the coefficient of variation of that distance (std / mean) times
    the mean distance relative to the median over pairs, so that short, rigid links win. The
    skeleton is the minimum spanning tree of those costs (``n_parts - 1`` limbs), plus the
    cheapest other pairs up to ``n_limbs``: redundant limbs keep an animal in one piece when a
    part of the tree is missed (DeepLabCut likewise keeps more limbs than a tree).

    Parameters
    ----------
    ds
        Pose Dataset of multi-animal labels (pixels).
    n_limbs
        Number of limbs, at least ``n_parts - 1`` (the default: a tree) and at most all pairs.
    min_pairs
        Pairs seen together fewer times get an infinite cost (never chosen if avoidable).

    Returns
    -------
    numpy.ndarray
        ``(n_limbs, 2)`` limbs as part index pairs (smaller index first), sorted.
    """
    pos = _positions(ds, "skeleton_from_labels")
    n_parts = pos.shape[1]
    if n_parts < 2:
        raise AssemblyError("a skeleton needs at least two parts")
    xy = np.moveaxis(pos, 1, 0).reshape(n_parts, -1, 2)  # (P, animal*frame, 2)
    d = np.linalg.norm(xy[:, None] - xy[None, :], axis=-1)  # (P, P, N)
    count = np.isfinite(d).sum(-1)
    mean, std = _nanmean(d), _nanstd(d)
    with np.errstate(invalid="ignore", divide="ignore"):
        cost = (std / mean) * (mean / np.nanmedian(mean[np.triu_indices(n_parts, 1)]))
    big = 1e6 * (np.nanmax(cost[np.isfinite(cost)]) + 1 if np.isfinite(cost).any() else 1.0)
    cost = np.where((count >= min_pairs) & np.isfinite(cost), cost, big) + 1e-9
    np.fill_diagonal(cost, 0)
    n_all = n_parts * (n_parts - 1) // 2
    n_limbs = n_parts - 1 if n_limbs is None else int(n_limbs)
    if not (n_parts - 1 <= n_limbs <= n_all):
        raise AssemblyError(f"n_limbs must be between {n_parts - 1} and {n_all}; got {n_limbs}")
    tree = minimum_spanning_tree(np.triu(cost, 1)).tocoo()
    limbs = np.sort(np.column_stack([tree.row, tree.col]), axis=1)
    if n_limbs > len(limbs):
        iu = np.triu_indices(n_parts, 1)
        in_tree = set(map(tuple, limbs.tolist()))
        extra = [(int(a), int(b)) for k in np.argsort(cost[iu], kind="stable")
                 for a, b in [(iu[0][k], iu[1][k])] if (a, b) not in in_tree]
        extra = np.array(extra[: n_limbs - len(limbs)], dtype=np.int64).reshape(-1, 2)
        limbs = np.vstack([limbs, extra])
    return limbs[np.lexsort((limbs[:, 1], limbs[:, 0]))].astype(np.int64)


def limb_length_limits(
    ds: xr.Dataset,
    skeleton: np.ndarray | Sequence[Sequence[str | int]],
    *,
    n_std: float = 3.0,
    slack: float = 1.2,
    margin: float = 5.0,
) -> np.ndarray:
    """Longest plausible length of each limb: ``slack * (mean + n_std * std) + margin`` pixels.

    Parameters
    ----------
    ds
        Pose Dataset of labels (pixels).
    skeleton
        ``(L, 2)`` limbs: pairs of part names (or part indices).
    n_std, slack
        How far beyond the labelled lengths a detection may go (stretching, pose changes).
    margin
        Pixels added for detection noise, which matters most for short limbs (about four
        times the detector's error per axis).

    Returns
    -------
    numpy.ndarray
        ``(L,)`` lengths in pixels; inf for limbs never labelled.
    """
    pos = _positions(ds, "limb_length_limits")
    sk = limb_indices(skeleton, [str(p) for p in ds["part"].values])
    d = np.linalg.norm(pos[:, sk[:, 0]] - pos[:, sk[:, 1]], axis=-1)  # (A, L, F)
    d = np.moveaxis(d, 1, 0).reshape(len(sk), -1)
    mean, std = _nanmean(d), _nanstd(d)
    return np.where(np.isfinite(mean), slack * (mean + n_std * std) + margin, np.inf)


def _positions(ds: xr.Dataset, func: str) -> np.ndarray:
    """``(animal, part, frame or image, 2)`` float positions of a pose or labels Dataset (pixels)."""
    position = position_array(ds, func=func, dims=("animal", "part", "coord"), error=AssemblyError)
    values = position.transpose("animal", "part", ..., "coord").values
    return np.asarray(values, float).reshape(*values.shape[:2], -1, values.shape[-1])[..., :2]


def _nanmean(d: np.ndarray) -> np.ndarray:
    n = np.isfinite(d).sum(-1)
    return np.where(n > 0, np.nansum(d, -1) / np.maximum(n, 1), np.nan)


def _nanstd(d: np.ndarray) -> np.ndarray:
    m = _nanmean(d)
    n = np.isfinite(d).sum(-1)
    var = np.nansum((d - m[..., None]) ** 2, -1) / np.maximum(n, 1)
    return np.where(n > 0, np.sqrt(var), np.nan)


def render_pafs(
    keypoints: np.ndarray,
    paf_graph: np.ndarray | Sequence[Sequence[int]],
    map_size: tuple[int, int],
    stride: int,
    *,
    width: float = 20.0,
) -> np.ndarray:
    """Ideal part affinity fields of one frame: unit limb direction within ``width`` of the limb.

    Parameters
    ----------
    keypoints
        ``(A, P, 2)`` positions of every animal's parts (pixels, NaN = missing).
    paf_graph
        ``(L, 2)`` part pairs.
    map_size
        ``(H, W)`` cells.
    stride
        Input pixels per cell.
    width
        Full width of the band around each limb (pixels), DeepLabCut's ``pafwidth``.

    Returns
    -------
    numpy.ndarray
        ``(L, 2, H, W)`` fields; where animals' bands overlap the vectors are averaged.
    """
    kp = np.asarray(keypoints, float)
    if kp.ndim != 3 or kp.shape[-1] != 2:
        raise AssemblyError(f"keypoints must be (animals, parts, 2); got {kp.shape}")
    graph = limb_indices(paf_graph, kp.shape[1])
    h, w = map_size
    centre = (stride - 1) / 2
    gy, gx = np.meshgrid(
        np.arange(h) * stride + centre, np.arange(w) * stride + centre, indexing="ij"
    )
    grid = np.stack([gx, gy], -1)  # (H, W, 2)
    a, b = kp[:, graph[:, 0]], kp[:, graph[:, 1]]  # (A, L, 2)
    vec = b - a
    length = np.linalg.norm(vec, axis=-1)
    unit = vec / np.maximum(length, 1e-6)[..., None]
    rel = grid[None, None] - a[:, :, None, None, :]  # (A, L, H, W, 2)
    along = np.einsum("alhwc,alc->alhw", rel, unit)
    ux, uy = unit[:, :, None, None, 0], unit[:, :, None, None, 1]
    across = np.abs(rel[..., 0] * uy - rel[..., 1] * ux)
    inside = (along >= 0) & (along <= length[:, :, None, None]) & (across <= width / 2)
    inside &= np.isfinite(length)[:, :, None, None] & (length > 0)[:, :, None, None]
    total = np.einsum("alhw,alc->lchw", inside.astype(float), np.nan_to_num(unit))
    n = inside.sum(0)[:, None]
    return np.where(n > 0, total / np.maximum(n, 1), 0.0).astype(np.float32)
