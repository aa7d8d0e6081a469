"""Unsupervised behaviour states by change points.

* :func:`change_points`: PELT with an L2 cost (ruptures' ``KernelCPD`` with the linear
  kernel, whose cost is the L2 cost);
* :func:`changepoint_states`: the segments clustered by weighted k-means (scikit-learn), one
  state per frame.
"""

from __future__ import annotations

import numpy as np
import ruptures as rpt
from sklearn.cluster import KMeans

from poselab.analysis.behaviour.errors import BehaviourError

__all__ = ["change_points", "changepoint_states"]


def change_points(x: np.ndarray, penalty: float | None = None, min_size: int = 5) -> np.ndarray:
    """Change points of the mean of ``x`` by PELT with an L2 cost (ruptures).

    Minimises the sum over segments of squared deviations from the segment mean plus
    ``penalty`` per segment (exact, with PELT pruning). ruptures' ``KernelCPD(kernel="linear")``
    solves this (the linear kernel's cost is the L2 cost) in compiled code: the same change
    points as ``ruptures.Pelt(model="l2", jump=1)`` and as poselab's former numpy PELT on the
    benchmark's 6000 frames (10 sessions) at penalties 5-200 and min_size 1-12, in 0.01 s
    instead of 22 s (``Pelt``, pure Python) or 1.6 s (the numpy PELT).

    Parameters
    ----------
    x : numpy.ndarray
        ``(frames,)`` or ``(frames, features)``, finite; standardise features first.
    penalty : float, optional
        Cost of a new segment (> 0), in squared feature units; default
        ``features * log(frames)`` (BIC-like, for unit-variance features).
    min_size : int
        Shortest segment (frames).

    Returns
    -------
    numpy.ndarray
        Sorted start frames of the segments after the first (empty when there is one segment).
    """
    x = np.asarray(x, dtype=float)
    x = x[:, None] if x.ndim == 1 else x
    if x.ndim != 2 or not np.isfinite(x).all():
        raise BehaviourError("x must be a finite (frames, features) array")
    if min_size < 1:
        raise BehaviourError("min_size must be >= 1")
    n, d = x.shape
    beta = d * np.log(max(n, 2)) if penalty is None else float(penalty)
    if not beta > 0:
        raise BehaviourError(f"penalty must be > 0 (squared feature units); got {penalty!r}")
    if n < 2 * min_size:  # no room for two segments
        return np.zeros(0, dtype=int)
    algo = rpt.KernelCPD(kernel="linear", min_size=int(min_size)).fit(np.ascontiguousarray(x))
    return np.asarray(algo.predict(pen=beta)[:-1], dtype=int)


def _weighted_kmeans(x: np.ndarray, k: int, weights: np.ndarray, seed: int,
                     n_init: int = 10) -> np.ndarray:
    """Labels of weighted k-means (scikit-learn, k-means++ starts, best inertia of ``n_init``)."""
    km = KMeans(n_clusters=k, n_init=n_init, random_state=seed)
    return km.fit(x, sample_weight=weights).labels_.astype(int)


def changepoint_states(x: np.ndarray, n_states: int, penalty: float | None = None,
                       min_size: int = 5, seed: int = 0) -> np.ndarray:
    """Unsupervised states by change points.

    PELT segments (:func:`change_points`), then k-means on the segment means weighted by
    segment length (scikit-learn ``KMeans`` with ``sample_weight``, 10 k-means++ starts).

    Parameters
    ----------
    x : numpy.ndarray
        ``(frames,)`` or ``(frames, features)``, finite, standardised.
    n_states : int
        Number of states (fewer when there are fewer segments).
    penalty, min_size
        As in :func:`change_points` (squared feature units; frames).
    seed : int
        Seed of the k-means starts.

    Returns
    -------
    numpy.ndarray
        ``(frames,)`` int states in ``[0, n_states)``.
    """
    x = np.asarray(x, dtype=float)
    x = x[:, None] if x.ndim == 1 else x
    if n_states < 1:
        raise BehaviourError("n_states must be >= 1")
    starts = np.r_[0, change_points(x, penalty, min_size)]
    ends = np.r_[starts[1:], len(x)]
    means = np.array([x[s:e].mean(0) for s, e in zip(starts, ends)])
    k = min(n_states, len(starts))
    lab = (_weighted_kmeans(means, k, (ends - starts).astype(float), seed) if k > 1
           else np.zeros(len(starts), int))
    return np.repeat(lab, ends - starts)
