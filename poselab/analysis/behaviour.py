"""Behaviour segmentation and its evaluation.

* :func:`pose_features`: egocentric, body-length-normalised features per frame (speeds, turning,
  body length, fore-paw places), averaged over a sliding window; :func:`standardise` pools
  sessions.
* Unsupervised: :class:`GaussianHMM` (EM with restarts, sticky transitions, diagonal or full
  covariances; Viterbi decoding) and a change-point option (:func:`change_points`, PELT with
  an L2 cost, and :func:`changepoint_states`, k-means on the segments).
* Supervised from a few labeled bouts: :class:`BoutClassifier` (Gaussian class models with
  shrinkage, decoded with a sticky Viterbi).
* Evaluation: Hungarian :func:`match_states`, per-frame :func:`frame_scores`,
  :func:`boundary_f1`, bout-level :func:`bout_scores`.
* Export: :func:`to_keypoint_moseq`, :func:`to_bsoid`, :func:`to_simba`.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

__all__ = ["BehaviourError", "pose_features", "standardise", "GaussianHMM", "viterbi",
           "change_points", "changepoint_states", "segment", "BoutClassifier", "bouts", "match_states",
           "frame_scores", "boundary_f1", "bout_scores", "to_keypoint_moseq", "to_bsoid",
           "to_simba"]


class BehaviourError(ValueError):
    """Raised when behaviour inputs are invalid (say which argument to fix)."""


def _wrapped_rate(theta: np.ndarray, fps: float) -> np.ndarray:
    """|d theta / dt| (rad/s) by central differences of a wrapped angle (NaN-local: a NaN
    frame spoils only its neighbours, unlike np.unwrap)."""
    n = theta.size
    if n < 2:
        return np.zeros(n)
    nxt, prv = np.r_[theta[1:], theta[-1]], np.r_[theta[0], theta[:-1]]
    step = np.r_[1.0, np.full(n - 2, 2.0), 1.0] if n > 2 else np.array([1.0, 1.0])
    return np.abs(np.angle(np.exp(1j * (nxt - prv)))) / step * fps


def _moving_mean(v: np.ndarray, w: int) -> np.ndarray:
    """Centred moving mean over ``w`` frames of a (frames, d) array, ignoring NaN rows (NaN
    where a window has no finite row); ``w`` <= 1 returns ``v`` unchanged."""
    from scipy.ndimage import uniform_filter1d

    if w <= 1:
        return v
    ok = np.isfinite(v).all(axis=1)
    total = uniform_filter1d(np.where(ok[:, None], v, 0.0), w, axis=0, mode="nearest")
    count = uniform_filter1d(ok.astype(float), w, mode="nearest")
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count[:, None] > 1e-9, total / count[:, None], np.nan)


def pose_features(ds, animal=None, window_s: float = 0.33, nose: str = "snout",
                  neck: str = "neck", tail: str = "tail_base", centre: str = "body_centre",
                  fore: Sequence[str] = ("left_fore_paw", "right_fore_paw"),
                  hind: Sequence[str] = ("left_hind_paw", "right_hind_paw"),
                  floor: float = 0.05):
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
    ds : pose Dataset; ``animal`` selects one (default the first).
    window_s : centred moving-average window (s); 0 for none.

    Returns
    -------
    xarray.DataArray (frame, feature), NaN frames filled with the feature's median.
    """
    import xarray as xr
    from scipy.ndimage import uniform_filter1d

    pos = ds["position"].sel(animal=animal) if animal is not None else ds["position"].isel(animal=0)
    missing = [p for p in (nose, neck, tail, centre, *fore, *hind) if p not in pos["part"].values]
    if missing:
        raise BehaviourError(f"parts {missing} not in the dataset; pass the names of yours")
    if not fore:
        raise BehaviourError("fore must name at least one paw")
    fps = float(ds.attrs.get("fps") or 0)
    if fps <= 0:
        raise BehaviourError("ds.attrs['fps'] must be > 0")

    def xy(p):
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

    def ego(p):
        d = p - c_xy
        return np.stack([(d * u).sum(-1), (d * v).sum(-1)], -1) / body_l

    w = int(round(window_s * fps))
    vel = np.gradient(c_xy, axis=0) * fps / body_l
    fore_e = [ego(xy(p)) for p in fore]
    f = {
        "speed": np.log(np.linalg.norm(_moving_mean(vel, w), axis=-1) + floor),
        "forward": (vel * u).sum(-1),
        "turning": np.log(_wrapped_rate(np.arctan2(axis[:, 1], axis[:, 0]), fps) + floor),
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
    """Z-score feature arrays (frames, features) with the mean and SD pooled over all of them,
    so one model can be fitted across sessions and their states stay comparable."""
    arrays = [np.asarray(x, dtype=float) for x in xs]
    allx = np.concatenate(arrays)
    mu, sd = allx.mean(0), allx.std(0)
    sd = np.where(sd > 0, sd, 1.0)
    return [(x - mu) / sd for x in arrays]


class GaussianHMM:
    """K-state HMM with Gaussian emissions, fitted by EM (Baum-Welch).

    Parameters
    ----------
    n_states : number of hidden states K.
    n_iter : EM iterations at most; stops when the log-likelihood gains < ``tol``.
    seed : random seed for the k-means++ initialisation of the means.
    n_init : random restarts (seeds ``seed``, ``seed + 1``, ...); the fit with the highest
        log-likelihood is kept. 0 is allowed when :meth:`fit` gets ``init_labels`` (then EM
        starts from those only).
    sticky : pseudo-counts (frames) added to every self-transition in each M-step, a Dirichlet
        prior that favours long bouts over flicker (0 = plain maximum likelihood).
    covariance : ``"diag"`` or ``"full"`` emission covariances.
    min_var : variance floor (features' units squared), so a state cannot collapse on a few
        frames.
    """

    def __init__(self, n_states: int, n_iter: int = 100, tol: float = 1e-4, seed: int = 0,
                 n_init: int = 1, sticky: float = 0.0, covariance: str = "diag",
                 min_var: float = 1e-3):
        if n_states < 1:
            raise BehaviourError("n_states must be >= 1")
        if n_init < 0 or sticky < 0 or min_var <= 0:
            raise BehaviourError("need n_init >= 0, sticky >= 0 and min_var > 0")
        if covariance not in ("diag", "full"):
            raise BehaviourError(f"covariance must be 'diag' or 'full', got {covariance!r}")
        self.k, self.n_iter, self.tol, self.seed = n_states, n_iter, tol, seed
        self.n_init, self.sticky, self.covariance, self.min_var = n_init, sticky, covariance, min_var

    # --- emissions ---------------------------------------------------------------------------
    def _loglik(self, x: np.ndarray) -> np.ndarray:
        if self.covariance == "diag":
            d = (x[:, None, :] - self.means_[None]) ** 2 / self.vars_[None]
            return -0.5 * (d + np.log(2 * np.pi * self.vars_)[None]).sum(-1)
        out = np.empty((len(x), self.k))
        for j in range(self.k):
            c = np.linalg.cholesky(self.covs_[j])
            z = np.linalg.solve(c, (x - self.means_[j]).T)
            out[:, j] = -0.5 * (z**2).sum(0) - np.log(np.diag(c)).sum() \
                - 0.5 * x.shape[1] * np.log(2 * np.pi)
        return out

    @property
    def vars_(self) -> np.ndarray:
        """Per-state feature variances (K, features)."""
        return self._vars if self.covariance == "diag" else np.stack(
            [np.diag(c) for c in self.covs_])

    def _init(self, x: np.ndarray, seed: int) -> None:
        rng = np.random.default_rng(seed)
        centres = [x[rng.integers(len(x))]]
        for _ in range(1, self.k):  # k-means++ spread so separated states each get a mean
            d = np.min([((x - c) ** 2).sum(1) for c in centres], axis=0)
            centres.append(x[rng.choice(len(x), p=d / d.sum())] if d.sum() > 0 else x[0])
        self.means_ = np.array(centres)
        self._vars = np.tile(x.var(0) + self.min_var, (self.k, 1))
        if self.covariance == "full":
            cov = np.cov(x.T).reshape(x.shape[1], x.shape[1]) + self.min_var * np.eye(x.shape[1])
            self.covs_ = np.tile(cov, (self.k, 1, 1))
        self.trans_ = np.full((self.k, self.k), 0.05 / max(self.k - 1, 1))
        np.fill_diagonal(self.trans_, 0.95 if self.k > 1 else 1.0)
        self.start_ = np.full(self.k, 1.0 / self.k)

    # --- inference ---------------------------------------------------------------------------
    def _forward_backward(self, ll: np.ndarray):
        """Scaled forward-backward in probability space (matrix products per frame)."""
        n = len(ll)
        shift = ll.max(1, keepdims=True)
        b = np.exp(ll - shift)
        a_t = self.trans_
        alpha = np.empty_like(b)
        c = np.empty(n)
        v = self.start_ * b[0]
        c[0] = v.sum()
        alpha[0] = v / c[0]
        for t in range(1, n):
            v = (alpha[t - 1] @ a_t) * b[t]
            c[t] = v.sum()
            alpha[t] = v / c[t]
        beta = np.ones_like(b)
        for t in range(n - 2, -1, -1):
            beta[t] = a_t @ (b[t + 1] * beta[t + 1]) / c[t + 1]
        gamma = alpha * beta
        gamma /= gamma.sum(1, keepdims=True)
        xi = a_t * (alpha[:-1].T @ (b[1:] * beta[1:] / c[1:, None]))
        total = float(np.log(c).sum() + shift.sum())
        return total, gamma, xi

    def _m_step(self, x: np.ndarray, gamma: np.ndarray, xi: np.ndarray) -> None:
        w = gamma.sum(0) + 1e-10
        self.means_ = gamma.T @ x / w[:, None]
        if self.covariance == "diag":
            self._vars = np.maximum(gamma.T @ x**2 / w[:, None] - self.means_**2, 0) + self.min_var
        else:
            covs = []
            for j in range(self.k):
                d = x - self.means_[j]
                covs.append((gamma[:, j, None] * d).T @ d / w[j]
                            + self.min_var * np.eye(x.shape[1]))
            self.covs_ = np.stack(covs)
        counts = xi + self.sticky * np.eye(self.k)
        self.trans_ = counts / np.maximum(counts.sum(1, keepdims=True), 1e-300)
        self.start_ = gamma[0] + 1e-10
        self.start_ /= self.start_.sum()

    def _init_from_labels(self, x: np.ndarray, labels: np.ndarray) -> None:
        """Start from given per-frame labels: their means, covariances and transitions."""
        self._init(x, self.seed)
        codes = np.unique(labels)
        if codes.size != self.k:
            raise BehaviourError(f"init_labels must use exactly n_states={self.k} codes")
        gamma = (np.asarray(labels)[:, None] == codes[None]).astype(float)
        xi = gamma[:-1].T @ gamma[1:] + 1.0  # +1: every transition stays possible
        self._m_step(x, gamma, xi)

    def _fit_once(self, x: np.ndarray, seed: int, init_labels: np.ndarray | None = None) -> float:
        if init_labels is None:
            self._init(x, seed)
        else:
            self._init_from_labels(x, init_labels)
        prev = -np.inf
        total = prev
        for _ in range(self.n_iter):
            total, gamma, xi = self._forward_backward(self._loglik(x))
            self._m_step(x, gamma, xi)
            if total - prev < self.tol:
                break
            prev = total
        return total

    def fit(self, x: np.ndarray, init_labels: np.ndarray | None = None) -> "GaussianHMM":
        """Fit to features ``x`` (frames, features); NaN rows are not allowed.

        ``init_labels`` (frames,) with ``n_states`` distinct codes starts EM from those states
        (e.g. :func:`changepoint_states`) in addition to the ``n_init`` random starts; the
        best log-likelihood wins."""
        x = np.asarray(x, dtype=float)
        if x.ndim != 2 or not np.isfinite(x).all():
            raise BehaviourError("x must be a finite (frames, features) array; fill NaNs first")
        if len(x) < self.k:
            raise BehaviourError(f"need at least n_states={self.k} frames, got {len(x)}")
        best = None
        starts = [(self.seed + r, None) for r in range(self.n_init)]
        if init_labels is None and not starts:
            raise BehaviourError("n_init=0 needs init_labels")
        if init_labels is not None:
            if np.shape(init_labels) != (len(x),):
                raise BehaviourError("init_labels must be (frames,)")
            starts.insert(0, (self.seed, np.asarray(init_labels)))
        for seed, labels in starts:
            total = self._fit_once(x, seed, labels)
            if best is None or total > best[0]:
                best = (total, {k: np.copy(v) for k, v in vars(self).items()
                                if k.endswith("_") and isinstance(v, np.ndarray)})
        for key, value in best[1].items():
            setattr(self, key, value)
        self.loglik_ = best[0]
        return self

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Posterior state probabilities per frame (frames, K)."""
        return self._forward_backward(self._loglik(np.asarray(x, dtype=float)))[1]

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Most likely state per frame (Viterbi), ints in [0, K)."""
        return viterbi(self._loglik(np.asarray(x, dtype=float)), self.trans_, self.start_)


def viterbi(loglik: np.ndarray, trans: np.ndarray, start: np.ndarray | None = None) -> np.ndarray:
    """Most likely state path given per-frame log-likelihoods (frames, K), a (K, K) transition
    matrix and start probabilities (uniform by default)."""
    ll = np.asarray(loglik, dtype=float)
    n, k = ll.shape
    lt = np.log(np.asarray(trans, dtype=float) + 1e-300)
    start = np.full(k, 1.0 / k) if start is None else np.asarray(start, dtype=float)
    back = np.empty((n, k), dtype=int)
    score = np.log(start + 1e-300) + ll[0]
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


# --- change points ---------------------------------------------------------------------------


def change_points(x: np.ndarray, penalty: float | None = None, min_size: int = 5) -> np.ndarray:
    """Change points of the mean of ``x`` (frames, features) by PELT with an L2 cost.

    Minimises the sum over segments of squared deviations from the segment mean plus
    ``penalty`` per segment (exact, with PELT pruning).

    Parameters
    ----------
    x : (frames,) or (frames, features) array, finite; standardise features first.
    penalty : cost of a new segment, in squared feature units; default
        ``features * log(frames)`` (BIC-like, for unit-variance features).
    min_size : shortest segment (frames).

    Returns
    -------
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
    s1 = np.vstack([np.zeros(d), np.cumsum(x, 0)])
    s2 = np.r_[0.0, np.cumsum((x**2).sum(1))]

    def cost(a: np.ndarray, b: int) -> np.ndarray:  # segments [a, b) for many a
        m = (b - a)[:, None]
        seg = s1[b] - s1[a]
        return s2[b] - s2[a] - (seg**2).sum(1) / m[:, 0]

    best = np.full(n + 1, np.inf)
    best[0] = -beta
    prev = np.zeros(n + 1, dtype=int)
    cands = np.array([0])
    for t in range(min_size, n + 1):
        ok = cands[t - cands >= min_size]
        if ok.size:
            total = best[ok] + cost(ok, t) + beta
            j = int(np.argmin(total))
            best[t], prev[t] = total[j], ok[j]
            keep = best[cands] + np.where(t - cands >= min_size, cost(cands, t), 0) <= best[t]
            cands = cands[keep | (t - cands < min_size)]
        if t + 1 - min_size >= 0:  # t becomes a possible segment start
            cands = np.r_[cands, t] if np.isfinite(best[t]) else cands
    cps, t = [], n
    while t > 0:
        t = prev[t]
        if t > 0:
            cps.append(t)
    return np.array(sorted(cps), dtype=int)


def _kmeans(x: np.ndarray, k: int, weights: np.ndarray, seed: int, n_init: int = 10,
            n_iter: int = 100) -> np.ndarray:
    """Weighted k-means (k-means++ starts, best inertia of ``n_init``); labels per row."""
    best = None
    for r in range(n_init):
        rng = np.random.default_rng(seed + r)
        c = [x[rng.choice(len(x), p=weights / weights.sum())]]
        for _ in range(1, k):
            d = np.min([((x - ci) ** 2).sum(1) for ci in c], 0) * weights
            c.append(x[rng.choice(len(x), p=d / d.sum())] if d.sum() > 0 else x[0])
        c = np.array(c)
        for _ in range(n_iter):
            lab = ((x[:, None] - c[None]) ** 2).sum(-1).argmin(1)
            new = np.array([np.average(x[lab == j], axis=0, weights=weights[lab == j])
                            if np.any(lab == j) else c[j] for j in range(k)])
            if np.allclose(new, c):
                break
            c = new
        inertia = float((((x - c[lab]) ** 2).sum(1) * weights).sum())
        if best is None or inertia < best[0]:
            best = (inertia, lab)
    return best[1]


def changepoint_states(x: np.ndarray, n_states: int, penalty: float | None = None,
                       min_size: int = 5, seed: int = 0) -> np.ndarray:
    """Unsupervised states by change points: PELT segments (:func:`change_points`), then
    k-means on the segment means weighted by segment length; one state per frame."""
    x = np.asarray(x, dtype=float)
    x = x[:, None] if x.ndim == 1 else x
    starts = np.r_[0, change_points(x, penalty, min_size)]
    ends = np.r_[starts[1:], len(x)]
    means = np.array([x[s:e].mean(0) for s, e in zip(starts, ends)])
    k = min(n_states, len(starts))
    lab = _kmeans(means, k, (ends - starts).astype(float), seed) if k > 1 else np.zeros(len(starts), int)
    return np.repeat(lab, ends - starts)


def segment(xs: Sequence[np.ndarray], n_states: int, method: str = "hmm",
            penalty: float | None = None, min_size: int = 5, covariance: str = "full",
            n_init: int = 0, sticky: float = 0.0, seed: int = 0,
            min_var: float = 0.1) -> list[np.ndarray]:
    """Unsupervised states for one or more sessions of features, with one model for all.

    Features are standardised together (:func:`standardise`) and segmented by change points
    (:func:`changepoint_states` over the sessions end to end). ``method="changepoint"`` returns
    those states; ``method="hmm"`` (default) starts a :class:`GaussianHMM` from them (plus
    ``n_init`` random starts, the best likelihood kept) and returns its Viterbi paths. Starting
    EM from change-point segments is far more stable than random starts, whose highest
    likelihood often splits one behaviour and merges two others.

    Parameters
    ----------
    xs : feature arrays (frames, features), one per session (e.g. :func:`pose_features`).
    n_states : number of states.
    min_var : variance floor of the HMM states in standardised units (0.1: no state narrower
        than ~1/3 of a feature's pooled SD). Without it a state such as rest collapses onto
        the noise floor of its features and the frames just outside it, slow walking at the
        start and end of a bout, go to a broader state. 0.1 was chosen on synthetic seeds
        100-123 (pooled frame accuracy 0.934 at 1e-3, 0.941 at 0.05, 0.945 at 0.1, 0.940 at
        0.2).

    Returns
    -------
    One int array of states per session.
    """
    if method not in ("hmm", "changepoint"):
        raise BehaviourError(f"method must be 'hmm' or 'changepoint', got {method!r}")
    zs = standardise(xs)
    z = np.concatenate(zs)
    labels = changepoint_states(z, n_states, penalty, min_size, seed)
    if method == "hmm":
        if np.unique(labels).size == n_states:
            hmm = GaussianHMM(n_states, n_init=n_init, covariance=covariance, sticky=sticky,
                              seed=seed, min_var=min_var).fit(z, init_labels=labels)
        else:  # too few change points for n_states: random starts only
            hmm = GaussianHMM(n_states, n_init=max(n_init, 5), covariance=covariance,
                              sticky=sticky, seed=seed, min_var=min_var).fit(z)
        labels = np.concatenate([hmm.predict(zi) for zi in zs])
    return np.split(labels, np.cumsum([len(zi) for zi in zs])[:-1])


# --- supervised ------------------------------------------------------------------------------


class BoutClassifier:
    """Supervised behaviour classes from a few labeled bouts.

    Each class is a Gaussian over the features (mean and a covariance shrunk towards its
    diagonal, which keeps it well defined from a few hundred frames); frames are decoded with
    a sticky Viterbi (each frame keeps its class with probability ``stay``), which removes
    single-frame flicker.

    Parameters
    ----------
    shrinkage : weight (0-1) of the diagonal in the covariance.
    stay : self-transition probability of the decoder (0 < stay < 1); 0 for per-frame argmax.
    """

    def __init__(self, shrinkage: float = 0.2, stay: float = 0.95):
        if not 0 <= shrinkage <= 1 or not 0 <= stay < 1:
            raise BehaviourError("need 0 <= shrinkage <= 1 and 0 <= stay < 1")
        self.shrinkage, self.stay = shrinkage, stay

    def fit(self, x: np.ndarray, labels: np.ndarray) -> "BoutClassifier":
        """``x`` (frames, features); ``labels`` (frames,) ints, -1 for unlabeled frames."""
        x, labels = np.asarray(x, dtype=float), np.asarray(labels)
        if x.ndim != 2 or labels.shape != (len(x),):
            raise BehaviourError("x must be (frames, features) and labels (frames,)")
        ok = (labels >= 0) & np.isfinite(x).all(1)
        self.classes_ = np.unique(labels[ok])
        if self.classes_.size < 2:
            raise BehaviourError("label frames of at least two classes")
        var_all = x[ok].var(0) + 1e-6
        self.means_, self.covs_ = [], []
        for c in self.classes_:
            xc = x[ok & (labels == c)]
            if len(xc) < 2:
                raise BehaviourError(f"class {c} needs at least 2 labeled frames")
            cov = np.cov(xc.T).reshape(x.shape[1], x.shape[1])
            diag = np.diag(np.diag(cov)) + 1e-3 * np.diag(var_all)
            self.means_.append(xc.mean(0))
            self.covs_.append((1 - self.shrinkage) * cov + self.shrinkage * diag
                              + 1e-6 * np.eye(x.shape[1]))
        self.means_, self.covs_ = np.array(self.means_), np.array(self.covs_)
        return self

    def _loglik(self, x: np.ndarray) -> np.ndarray:
        out = np.empty((len(x), len(self.classes_)))
        for j in range(len(self.classes_)):
            c = np.linalg.cholesky(self.covs_[j])
            z = np.linalg.solve(c, (x - self.means_[j]).T)
            out[:, j] = -0.5 * (z**2).sum(0) - np.log(np.diag(c)).sum()
        return out

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Per-frame class probabilities (frames, classes), equal priors, no smoothing."""
        ll = self._loglik(np.asarray(x, dtype=float))
        p = np.exp(ll - ll.max(1, keepdims=True))
        return p / p.sum(1, keepdims=True)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Class code per frame (codes as in the labels)."""
        ll = self._loglik(np.asarray(x, dtype=float))
        k = len(self.classes_)
        if self.stay == 0 or k == 1:
            return self.classes_[ll.argmax(1)]
        trans = np.full((k, k), (1 - self.stay) / (k - 1))
        np.fill_diagonal(trans, self.stay)
        return self.classes_[viterbi(ll, trans)]


# --- bouts and their scores ------------------------------------------------------------------


def bouts(states: np.ndarray) -> np.ndarray:
    """Runs of equal codes: (n_bouts, 3) int array of start frame, end frame (exclusive), code."""
    s = np.asarray(states)
    if s.size == 0:
        return np.zeros((0, 3), dtype=int)
    starts = np.r_[0, np.flatnonzero(s[1:] != s[:-1]) + 1]
    ends = np.r_[starts[1:], s.size]
    return np.stack([starts, ends, s[starts]], 1).astype(int)


def bout_scores(pred: np.ndarray, truth: np.ndarray, min_iou: float = 0.5) -> dict:
    """Bout-level precision, recall and F1 per class and their macro mean.

    A predicted bout is a true positive when it overlaps a true bout of the same code with
    intersection over union >= ``min_iou`` (one-to-one, Hungarian on IoU). Returns
    ``{code: (precision, recall, f1)}`` for every code in either sequence and ``"macro"``
    (means of the three over codes).
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


# --- export to B-SOiD and SimBA --------------------------------------------------------------


def _dlc_ready(ds):
    """Copy with unknown positions at (0, 0) and likelihood 0: B-SOiD and SimBA read numbers
    in every cell and drop low-likelihood points themselves."""
    out = ds[["position", "likelihood"]].copy()
    pos = out["position"].values.astype(float)
    lik = np.nan_to_num(out["likelihood"].values.astype(float))
    unknown = ~np.isfinite(pos).all(-1)
    pos[unknown] = 0.0
    lik[unknown] = 0.0
    out["position"] = (out["position"].dims, pos)
    out["likelihood"] = (out["likelihood"].dims, lik)
    out.attrs = {k: v for k, v in ds.attrs.items() if not str(k).startswith("dlc_")}
    return out


def _stem(ds) -> str:
    import os

    return os.path.splitext(os.path.basename(str(ds.attrs.get("video") or "session")))[0]


def to_bsoid(ds, folder, scorer: str = "DLC_poselab") -> list:
    """Write B-SOiD inputs: one single-animal DeepLabCut CSV per animal in ``folder`` (3 header
    rows scorer/bodyparts/coords, x, y, likelihood per part, one row per frame), named
    ``<video stem>_<animal><scorer>.csv``. Unknown points: x = y = 0, likelihood 0.
    Returns the paths written."""
    from pathlib import Path

    from poselab.io.deeplabcut import write_deeplabcut

    folder = Path(folder)
    clean = _dlc_ready(ds)
    paths = []
    for animal in ds["animal"].values:
        one = clean.sel(animal=[animal])
        one.attrs["dlc_layout"] = "single"
        paths.append(write_deeplabcut(one, folder / f"{_stem(ds)}_{animal}{scorer}.csv",
                                      scorer=scorer, kind="predictions"))
    return paths


def to_simba(ds, folder, scorer: str = "DLC_poselab"):
    """Write a SimBA import file: one DeepLabCut CSV for the video in ``folder``, single-animal
    layout (3 header rows) for one animal, multi-animal layout (4 header rows with
    ``individuals``) otherwise, named ``<video stem>.csv`` (SimBA matches it to the video by
    name). Unknown points: x = y = 0, likelihood 0. Returns the path."""
    from pathlib import Path

    from poselab.io.deeplabcut import write_deeplabcut

    clean = _dlc_ready(ds)
    clean.attrs["dlc_layout"] = "single" if ds.sizes["animal"] == 1 else "multi"
    return write_deeplabcut(clean, Path(folder) / f"{_stem(ds)}.csv", scorer=scorer,
                            kind="predictions")
