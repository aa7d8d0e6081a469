"""Behaviour segmentation and its evaluation.

Unsupervised states from a diagonal-covariance Gaussian HMM (vectorised EM in log space,
Viterbi decoding), Hungarian matching of states to labels, per-frame P/R/F1 and boundary F1.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.special import logsumexp

__all__ = ["BehaviourError", "GaussianHMM", "match_states", "frame_scores", "boundary_f1"]


class BehaviourError(ValueError):
    """Raised when behaviour inputs are invalid (say which argument to fix)."""


class GaussianHMM:
    """K-state HMM with diagonal Gaussian emissions, fitted by EM (Baum-Welch).

    Parameters
    ----------
    n_states : number of hidden states K.
    n_iter : EM iterations at most; stops when the log-likelihood gains < ``tol``.
    seed : random seed for the k-means++-like initialisation of the means.
    """

    def __init__(self, n_states: int, n_iter: int = 100, tol: float = 1e-4, seed: int = 0):
        if n_states < 1:
            raise BehaviourError("n_states must be >= 1")
        self.k, self.n_iter, self.tol, self.seed = n_states, n_iter, tol, seed

    def _loglik(self, x: np.ndarray) -> np.ndarray:
        d = (x[:, None, :] - self.means_[None]) ** 2 / self.vars_[None]
        return -0.5 * (d + np.log(2 * np.pi * self.vars_)[None]).sum(-1)

    def _init(self, x: np.ndarray) -> None:
        rng = np.random.default_rng(self.seed)
        centres = [x[rng.integers(len(x))]]
        for _ in range(1, self.k):  # k-means++ spread so separated states each get a mean
            d = np.min([((x - c) ** 2).sum(1) for c in centres], axis=0)
            centres.append(x[rng.choice(len(x), p=d / d.sum())] if d.sum() > 0 else x[0])
        self.means_ = np.array(centres)
        self.vars_ = np.tile(x.var(0) + 1e-6, (self.k, 1))
        self.trans_ = np.full((self.k, self.k), 0.05 / max(self.k - 1, 1))
        np.fill_diagonal(self.trans_, 0.95 if self.k > 1 else 1.0)
        self.start_ = np.full(self.k, 1.0 / self.k)

    def _forward_backward(self, ll: np.ndarray):
        n, lt = len(ll), np.log(self.trans_ + 1e-300)
        la = np.empty_like(ll)
        lb = np.zeros_like(ll)
        la[0] = np.log(self.start_ + 1e-300) + ll[0]
        for t in range(1, n):
            la[t] = ll[t] + logsumexp(la[t - 1][:, None] + lt, axis=0)
        for t in range(n - 2, -1, -1):
            lb[t] = logsumexp(lt + (ll[t + 1] + lb[t + 1])[None], axis=1)
        total = logsumexp(la[-1])
        gamma = np.exp(la + lb - total)
        xi = np.exp(la[:-1, :, None] + lt[None] + (ll[1:] + lb[1:])[:, None, :] - total)
        return total, gamma, xi.sum(0)

    def fit(self, x: np.ndarray) -> "GaussianHMM":
        """Fit to features ``x`` (frames, features); NaN rows are not allowed."""
        x = np.asarray(x, dtype=float)
        if x.ndim != 2 or not np.isfinite(x).all():
            raise BehaviourError("x must be a finite (frames, features) array; fill NaNs first")
        self._init(x)
        prev = -np.inf
        for _ in range(self.n_iter):
            total, gamma, xi = self._forward_backward(self._loglik(x))
            w = gamma.sum(0) + 1e-10
            self.means_ = gamma.T @ x / w[:, None]
            self.vars_ = gamma.T @ x**2 / w[:, None] - self.means_**2 + 1e-6
            self.trans_ = xi / xi.sum(1, keepdims=True)
            self.start_ = gamma[0] + 1e-10
            self.start_ /= self.start_.sum()
            if total - prev < self.tol:
                break
            prev = total
        self.loglik_ = total
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Most likely state per frame (Viterbi), ints in [0, K)."""
        ll = self._loglik(np.asarray(x, dtype=float))
        lt = np.log(self.trans_ + 1e-300)
        n = len(ll)
        back = np.empty((n, self.k), dtype=int)
        score = np.log(self.start_ + 1e-300) + ll[0]
        for t in range(1, n):
            cand = score[:, None] + lt
            back[t] = cand.argmax(0)
            score = cand.max(0) + ll[t]
        path = np.empty(n, dtype=int)
        path[-1] = score.argmax()
        for t in range(n - 1, 0, -1):
            path[t - 1] = back[t, path[t]]
        return path


def match_states(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Relabel predicted states to truth codes maximising frame agreement (Hungarian)."""
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
    """Per-class precision/recall/F1 and accuracy over frames: {code: (p, r, f1)}, 'accuracy'."""
    pred, truth = np.asarray(pred), np.asarray(truth)
    out: dict = {"accuracy": float(np.mean(pred == truth))}
    for c in np.unique(np.concatenate([pred, truth])):
        tp = np.sum((pred == c) & (truth == c))
        p = tp / max(np.sum(pred == c), 1)
        r = tp / max(np.sum(truth == c), 1)
        out[int(c)] = (float(p), float(r), float(2 * p * r / (p + r)) if p + r else 0.0)
    return out


def boundary_f1(pred: np.ndarray, truth: np.ndarray, tolerance: int = 2) -> float:
    """F1 of state-change frames, a predicted boundary matching a true one within
    ``tolerance`` frames (one-to-one, Hungarian on |distance|)."""
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


def to_keypoint_moseq(ds) -> tuple[dict, dict, list[str]]:
    """Pose Dataset -> keypoint-MoSeq inputs: ``coordinates`` {name: (frames, parts, 2)}
    pixels (NaN kept), ``confidences`` {name: (frames, parts)}, and the part names.

    Names are ``"<video stem or 'session'>_<animal>"``, one entry per animal.
    """
    import os

    stem = os.path.splitext(os.path.basename(str(ds.attrs.get("video") or "session")))[0]
    pos = ds["position"].transpose("animal", "frame", "part", "coord").values
    lik = ds["likelihood"].transpose("animal", "frame", "part").values
    names = [f"{stem}_{a}" for a in ds["animal"].values]
    coords = {n: pos[i].astype(float) for i, n in enumerate(names)}
    confs = {n: np.nan_to_num(lik[i].astype(float)) for i, n in enumerate(names)}
    return coords, confs, [str(p) for p in ds["part"].values]
