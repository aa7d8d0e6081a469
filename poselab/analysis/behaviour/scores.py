"""Bouts and the scores of predicted behaviour states against the truth.

* :func:`bouts`: runs of equal codes;
* :func:`match_states`: relabel unsupervised states to truth codes (Hungarian);
* :func:`frame_scores`, :func:`boundary_f1`, :func:`bout_scores`: per frame, per state change
  and per bout.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from poselab.analysis.behaviour.errors import BehaviourError

__all__ = ["boundary_f1", "bout_scores", "bouts", "frame_scores", "match_states"]


def bouts(states: np.ndarray) -> np.ndarray:
    """Runs of equal codes.

    Parameters
    ----------
    states : numpy.ndarray
        ``(frames,)`` state codes.

    Returns
    -------
    numpy.ndarray
        ``(n_bouts, 3)`` int: start frame, end frame (exclusive), code.
    """
    s = np.asarray(states)
    if s.size == 0:
        return np.zeros((0, 3), dtype=int)
    starts = np.r_[0, np.flatnonzero(s[1:] != s[:-1]) + 1]
    ends = np.r_[starts[1:], s.size]
    return np.stack([starts, ends, s[starts]], 1).astype(int)


def match_states(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Relabel predicted states to truth codes, maximising frame agreement (Hungarian).

    Parameters
    ----------
    pred, truth : numpy.ndarray
        ``(frames,)`` codes of the same shape.

    Returns
    -------
    numpy.ndarray
        ``(frames,)`` predicted states in truth codes; -1 for states left without a partner
        (more predicted states than true ones).
    """
    pred, truth = np.asarray(pred), np.asarray(truth)
    if pred.shape != truth.shape:
        raise BehaviourError(f"pred {pred.shape} and truth {truth.shape} must have one shape")
    p_ids, p_inv = np.unique(pred, return_inverse=True)
    t_ids, t_inv = np.unique(truth, return_inverse=True)
    conf = np.zeros((p_ids.size, t_ids.size))
    np.add.at(conf, (p_inv, t_inv), 1)
    rows, cols = linear_sum_assignment(-conf)
    mapping = np.full(p_ids.size, -1)
    mapping[rows] = t_ids[cols]
    return mapping[p_inv]


def frame_scores(pred: np.ndarray, truth: np.ndarray) -> dict:
    """Per-class precision, recall and F1, and accuracy, over frames.

    Parameters
    ----------
    pred, truth : numpy.ndarray
        ``(frames,)`` codes.

    Returns
    -------
    dict
        ``{code: (precision, recall, f1)}`` for every code in either sequence and
        ``"accuracy"`` (fraction of frames equal), all fractions in [0, 1].
    """
    pred, truth = np.asarray(pred), np.asarray(truth)
    out: dict = {"accuracy": float(np.mean(pred == truth))}
    for c in np.unique(np.concatenate([pred, truth])):
        tp = np.sum((pred == c) & (truth == c))
        p = tp / max(np.sum(pred == c), 1)
        r = tp / max(np.sum(truth == c), 1)
        out[int(c)] = (float(p), float(r), float(2 * p * r / (p + r)) if p + r else 0.0)
    return out


def boundary_f1(pred: np.ndarray, truth: np.ndarray, tolerance: int = 2) -> float:
    """F1 of state-change frames.

    A predicted boundary matches a true one within ``tolerance`` frames (one-to-one, Hungarian
    on the distance in frames).

    Parameters
    ----------
    pred, truth : numpy.ndarray
        ``(frames,)`` codes.
    tolerance : int
        Largest distance in frames between matched boundaries.

    Returns
    -------
    float
        F1 in [0, 1]; 1 when neither sequence changes state.
    """
    bp = np.flatnonzero(np.diff(np.asarray(pred)) != 0)
    bt = np.flatnonzero(np.diff(np.asarray(truth)) != 0)
    if bp.size == 0 and bt.size == 0:
        return 1.0
    if bp.size == 0 or bt.size == 0:
        return 0.0
    d = np.abs(bp[:, None] - bt[None])
    rows, cols = linear_sum_assignment(np.where(d <= tolerance, d, 10**9))
    tp = int(np.sum(d[rows, cols] <= tolerance))
    p, r = tp / bp.size, tp / bt.size
    return 2 * p * r / (p + r) if tp else 0.0


def bout_scores(pred: np.ndarray, truth: np.ndarray, min_iou: float = 0.5) -> dict:
    """Bout-level precision, recall and F1 per class and their macro mean.

    A predicted bout is a true positive when it overlaps a true bout of the same code with
    intersection over union >= ``min_iou`` (one-to-one, Hungarian on IoU).

    Parameters
    ----------
    pred, truth : numpy.ndarray
        ``(frames,)`` codes of the same shape.
    min_iou : float
        IoU (frames over frames) needed for a match, in (0, 1].

    Returns
    -------
    dict
        ``{code: (precision, recall, f1)}`` for every code in either sequence and ``"macro"``
        (means of the three over codes), all fractions in [0, 1].
    """
    pred, truth = np.asarray(pred), np.asarray(truth)
    if pred.shape != truth.shape:
        raise BehaviourError(f"pred {pred.shape} and truth {truth.shape} must have one shape")
    if not 0 < min_iou <= 1:
        raise BehaviourError("min_iou must be in (0, 1]")
    bp, bt = bouts(pred), bouts(truth)
    out: dict = {}
    for c in np.unique(np.concatenate([pred, truth])):
        p, t = bp[bp[:, 2] == c], bt[bt[:, 2] == c]
        tp = 0
        if len(p) and len(t):
            inter = np.clip(np.minimum(p[:, None, 1], t[None, :, 1])
                            - np.maximum(p[:, None, 0], t[None, :, 0]), 0, None)
            union = (p[:, None, 1] - p[:, None, 0]) + (t[None, :, 1] - t[None, :, 0]) - inter
            iou = inter / union
            rows, cols = linear_sum_assignment(-iou)
            tp = int(np.sum(iou[rows, cols] >= min_iou))
        prec = tp / len(p) if len(p) else 0.0
        rec = tp / len(t) if len(t) else 0.0
        out[int(c)] = (prec, rec, 2 * prec * rec / (prec + rec) if tp else 0.0)
    vals = np.array(list(out.values()))
    out["macro"] = tuple(float(v) for v in vals.mean(0))
    return out
