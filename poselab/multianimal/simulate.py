"""A detector simulated from ground truth, and close encounters of animals (benchmarks, notebooks).

:func:`simulate_detector` stands in for a trained network when one is not at hand: it yields
per frame what a bottom-up network gives after peak finding (candidates of every part, with no
identity) and ideal part affinity fields plus noise. :func:`encounters` finds the runs of frames
in which two animals are close, and which of them are clean crossings (apart for a second
before and after), where tracking must not swap identities.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import xarray as xr

from poselab.multianimal.assembly import render_pafs

__all__ = ["simulate_detector", "encounters", "animal_length"]


def animal_length(positions: np.ndarray) -> float:
    """Median animal length: largest part-to-part distance, pixels, of ``(..., P, 2)`` poses."""
    d = np.linalg.norm(positions[..., :, None, :] - positions[..., None, :, :], axis=-1)
    return float(np.nanmedian(np.nanmax(d, axis=(-1, -2))))


def simulate_detector(
    truth: xr.Dataset,
    skeleton: np.ndarray | Sequence[Sequence[int]],
    rng: np.random.Generator,
    *,
    noise: float = 2.0,
    dropout: float = 0.05,
    false_rate: float = 0.1,
    paf_noise: float = 0.1,
    stride: int = 8,
) -> Iterator[tuple[list[np.ndarray], np.ndarray, np.ndarray]]:
    """Per frame: candidate lists, part affinity fields, and the perfect grouping (oracle).

    Parameters
    ----------
    truth
        Poses with ``visible (animal, part, frame)`` (e.g. a synthetic world's), pixels, and
        ``width``/``height`` attributes.
    skeleton
        ``(L, 2)`` limbs that get a field.
    rng
        Random generator (all randomness).
    noise
        Candidate position noise, pixels per axis (Gaussian).
    dropout
        Probability that a visible part is missed.
    false_rate
        False candidates per part and frame (Poisson), anywhere in the image, scores U(0.1, 0.5).
    paf_noise
        Standard deviation of noise added to the ideal fields (unit vectors).
    stride
        Field cell size, pixels.

    Yields
    ------
    candidates : list of numpy.ndarray
        Per part ``(n, 3)`` x, y (pixels), score (true ones U(0.5, 1)), in random order.
    pafs : numpy.ndarray
        ``(L, 2, H / stride, W / stride)`` fields of the visible parts (averaged where animals
        overlap, as a network's blur) plus noise.
    oracle : numpy.ndarray
        ``(A, P, 3)`` each animal's own candidates: perfect assembly.
    """
    pos = truth["position"].transpose("frame", "animal", "part", "coord").values
    vis = truth["visible"].transpose("frame", "animal", "part").values
    n_frames, n_animals, n_parts, _ = pos.shape
    width, height = int(truth.attrs["width"]), int(truth.attrs["height"])
    map_size = (height // stride, width // stride)
    paf_width = 0.2 * animal_length(pos)
    for f in range(n_frames):
        seen = vis[f] & np.isfinite(pos[f, ..., 0]) & (rng.random((n_animals, n_parts)) >= dropout)
        kp = np.where(vis[f][..., None], pos[f], np.nan)
        pafs = render_pafs(kp, skeleton, map_size, stride, width=paf_width)
        pafs += rng.normal(0, paf_noise, pafs.shape).astype(np.float32)
        cands = []
        oracle = np.full((n_animals, n_parts, 3), np.nan)
        for p in range(n_parts):
            xy = pos[f, seen[:, p], p] + rng.normal(0, noise, (int(seen[:, p].sum()), 2))
            score = rng.uniform(0.5, 1.0, len(xy))
            oracle[seen[:, p], p] = np.column_stack([xy, score])
            n_false = rng.poisson(false_rate)
            fxy = rng.uniform([0, 0], [width, height], (n_false, 2))
            c = np.vstack([np.column_stack([xy, score]),
                           np.column_stack([fxy, rng.uniform(0.1, 0.5, n_false)])])
            cands.append(c[rng.permutation(len(c))])
        yield cands, pafs, oracle


def encounters(truth: xr.Dataset, body_length: float) -> list[tuple[int, int, int, int, bool]]:
    """Close approaches of two animals: ``(i, j, first frame, last frame, is a crossing)``.

    Two animals meet while their centroids are within ``body_length`` pixels. A meeting is a
    *crossing* when it lasts at most one second and the pair is apart for a full second before
    and after; frames are positions along ``frame`` (0-based).
    """
    pos = truth["position"].transpose("animal", "part", "frame", "coord").values[..., :2]
    centre = np.nanmean(pos, axis=1)
    fps = int(round(float(truth.attrs["fps"])))
    out = []
    n = pos.shape[0]
    for i in range(n):
        for j in range(i + 1, n):
            close = np.linalg.norm(centre[i] - centre[j], axis=-1) < body_length
            edges = np.diff(np.concatenate([[0], close.astype(int), [0]]))
            for s, e in zip(np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0] - 1):
                before, after = close[max(0, s - fps) : s], close[e + 1 : e + 1 + fps]
                apart = len(before) == fps and len(after) == fps
                apart = apart and not before.any() and not after.any()
                out.append((i, j, int(s), int(e), bool(apart and e - s + 1 <= fps)))
    return out
