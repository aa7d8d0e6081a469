"""Gaussian hidden Markov models of behaviour states, fitted and decoded by hmmlearn.

:class:`GaussianHMM` is a thin layer over :class:`hmmlearn.hmm.GaussianHMM` (EM, i.e.
Baum-Welch, forward-backward and Viterbi in compiled code) that keeps poselab's settings:

* a variance floor ``min_var`` added to every re-estimated covariance (hmmlearn's
  ``min_covar`` only floors the first covariances; here it floors every M-step);
* EM started from given per-frame labels (``init_labels``, e.g. change-point states) and/or
  ``n_init`` random starts, the highest log-likelihood kept;
* a sticky Dirichlet prior on self-transitions (``sticky`` pseudo-frames, hmmlearn's
  ``transmat_prior``);
* several sessions fitted as one model (``lengths``: no transition across a session end).

:func:`viterbi` decodes any per-frame log-likelihoods with a transition matrix (hmmlearn's
Viterbi).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
from hmmlearn import hmm as hmmlearn_hmm
from hmmlearn.base import BaseHMM

from poselab.analysis.behaviour.errors import BehaviourError

__all__ = ["GaussianHMM", "viterbi"]

# Start probabilities never reach 0 (a state a session may start in stays possible).
_START_FLOOR = 1e-10
# Posterior frames of a state in the M-step never reach 0 (an empty state keeps a finite mean).
_POST_FLOOR = 1e-10


class _FlooredGaussianHMM(hmmlearn_hmm.GaussianHMM):
    """hmmlearn's Gaussian HMM with ``min_covar`` added to every re-estimated covariance.

    hmmlearn 0.3 uses ``min_covar`` only when it initialises the covariances. With
    ``covars_prior=0`` and ``covars_weight=1`` its M-step is the maximum-likelihood one; this
    adds ``min_covar`` to the diagonal afterwards (so a state cannot collapse onto a few frames)
    and keeps every start probability above ``1e-10``. Overriding ``_do_mstep`` is hmmlearn's
    documented way to change an M-step.
    """

    def _do_mstep(self, stats: dict) -> None:
        if "post" in stats:
            stats["post"] = np.maximum(stats["post"], _POST_FLOOR)
        super()._do_mstep(stats)
        if "c" in self.params:
            covars = self.covars_  # (K, d, d) whatever the covariance type
            if self.covariance_type == "diag":
                diag = np.diagonal(covars, axis1=1, axis2=2)
                self.covars_ = np.maximum(diag, 0.0) + self.min_covar
            else:
                self.covars_ = covars + self.min_covar * np.eye(covars.shape[-1])
        if "s" in self.params:
            start = self.startprob_ + _START_FLOOR
            self.startprob_ = start / start.sum()


class _GivenEmissions(BaseHMM):
    """An HMM whose observations are already the per-state log-likelihoods (frames, K)."""

    def _compute_log_likelihood(self, X: np.ndarray) -> np.ndarray:
        return X


@contextmanager
def _quiet_hmmlearn() -> Iterator[None]:
    """Silence hmmlearn's "Model is not converging" log messages for the block.

    With the variance floor the EM steps maximise a penalised likelihood, so the plain
    log-likelihood may dip by a little at the end; EM stops there (gain < ``tol``), as it
    always did.
    """
    log = logging.getLogger("hmmlearn")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


def _check_lengths(lengths: Sequence[int] | None, n: int) -> np.ndarray:
    if lengths is None:
        return np.array([n])
    out = np.asarray(lengths, dtype=int).ravel()
    if out.size == 0 or np.any(out < 1) or int(out.sum()) != n:
        raise BehaviourError(f"lengths must be positive session lengths (frames) summing to the "
                             f"{n} frames of x; got {list(out)}")
    return out


class GaussianHMM:
    """K-state HMM with Gaussian emissions, fitted by EM (Baum-Welch) in hmmlearn.

    Parameters
    ----------
    n_states : int
        Number of hidden states K.
    n_iter : int
        EM iterations at most; EM stops when the log-likelihood gains less than ``tol``.
    tol : float
        Smallest log-likelihood gain (nats, summed over frames) that continues EM.
    seed : int
        Random seed of the random starts (start ``r`` uses ``seed + r``).
    n_init : int
        Random starts: means by k-means (hmmlearn's initialisation, seed ``seed + r``),
        covariances the pooled one plus ``min_var``, uniform start probabilities and
        self-transitions 0.95. The fit with the highest log-likelihood is kept. 0 is allowed
        when :meth:`fit` gets ``init_labels`` (then EM starts from those only).
    sticky : float
        Pseudo-counts (frames) added to every self-transition in each M-step, a Dirichlet
        prior that favours long bouts over flicker (0 = plain maximum likelihood).
    covariance : str
        ``"diag"`` or ``"full"`` emission covariances.
    min_var : float
        Variance floor (features' units squared) added to every state's covariance in every
        M-step, so a state cannot collapse on a few frames.

    Attributes
    ----------
    model_ : hmmlearn.hmm.GaussianHMM
        The fitted hmmlearn model (its whole API: ``score_samples``, ``sample``, ...).
    loglik_ : float
        Log-likelihood (nats) of the training frames at the last EM iteration of the kept fit.
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

    # --- parameters ----------------------------------------------------------------------------
    def _new_model(self, seed: int, init_params: str) -> _FlooredGaussianHMM:
        return _FlooredGaussianHMM(
            n_components=self.k, covariance_type=self.covariance, min_covar=self.min_var,
            startprob_prior=1.0, transmat_prior=1.0 + self.sticky * np.eye(self.k),
            means_prior=0.0, means_weight=0.0, covars_prior=0.0, covars_weight=1.0,
            random_state=seed, n_iter=self.n_iter, tol=self.tol, params="stmc",
            init_params=init_params, implementation="scaling")

    @classmethod
    def from_parameters(cls, means: np.ndarray, covars: np.ndarray, trans: np.ndarray,
                        start: np.ndarray | None = None, covariance: str = "diag") -> GaussianHMM:
        """A model with given parameters, ready to decode (no fitting).

        Parameters
        ----------
        means : numpy.ndarray
            ``(K, features)`` state means (features' units).
        covars : numpy.ndarray
            ``(K, features)`` variances for ``"diag"``, ``(K, features, features)``
            covariances for ``"full"`` (features' units squared).
        trans : numpy.ndarray
            ``(K, K)`` transition probabilities, rows summing to 1.
        start : numpy.ndarray, optional
            ``(K,)`` start probabilities (uniform by default).
        covariance : str
            ``"diag"`` or ``"full"``.
        """
        means = np.atleast_2d(np.asarray(means, dtype=float))
        k = len(means)
        model = cls(k, covariance=covariance)
        m = model._new_model(model.seed, "")
        m.n_features = means.shape[1]
        m.means_ = means
        m.covars_ = np.asarray(covars, dtype=float)
        m.transmat_ = np.asarray(trans, dtype=float)
        m.startprob_ = np.full(k, 1.0 / k) if start is None else np.asarray(start, dtype=float)
        model.model_ = m
        return model

    def _fitted(self) -> _FlooredGaussianHMM:
        if not hasattr(self, "model_"):
            raise BehaviourError("fit the model first (GaussianHMM.fit)")
        return self.model_

    @property
    def means_(self) -> np.ndarray:
        """State means (K, features)."""
        return self._fitted().means_

    @property
    def covs_(self) -> np.ndarray:
        """State covariances (K, features, features), diagonal for ``"diag"``."""
        return self._fitted().covars_

    @property
    def vars_(self) -> np.ndarray:
        """Per-state feature variances (K, features)."""
        return np.diagonal(self.covs_, axis1=1, axis2=2).copy()

    @property
    def trans_(self) -> np.ndarray:
        """Transition probabilities (K, K), from row state to column state."""
        return self._fitted().transmat_

    @property
    def start_(self) -> np.ndarray:
        """Start probabilities (K,)."""
        return self._fitted().startprob_

    # --- fitting -------------------------------------------------------------------------------
    def _init_from_labels(self, m: _FlooredGaussianHMM, x: np.ndarray, labels: np.ndarray,
                          lengths: np.ndarray) -> None:
        """Parameters of the given per-frame states: their means, covariances (plus
        ``min_var``), transitions (counts within sessions + 1, so every one stays possible,
        + ``sticky``) and start states (+ 1e-10)."""
        codes = np.unique(labels)
        if codes.size != self.k:
            raise BehaviourError(f"init_labels must use exactly n_states={self.k} codes")
        gamma = (labels[:, None] == codes[None]).astype(float)
        w = gamma.sum(0) + _POST_FLOOR
        means = gamma.T @ x / w[:, None]
        if self.covariance == "diag":
            covars = np.maximum(gamma.T @ x**2 / w[:, None] - means**2, 0) + self.min_var
        else:
            covars = np.stack([(gamma[:, j, None] * (x - means[j])).T @ (x - means[j]) / w[j]
                               + self.min_var * np.eye(x.shape[1]) for j in range(self.k)])
        ends = np.cumsum(lengths)
        inner = np.ones(len(x) - 1, bool)
        inner[ends[:-1] - 1] = False  # no transition from a session's last frame to the next
        counts = gamma[:-1][inner].T @ gamma[1:][inner] + 1.0 + self.sticky * np.eye(self.k)
        start = gamma[ends - lengths].sum(0) + _START_FLOOR
        m.n_features = x.shape[1]
        m.means_, m.covars_ = means, covars
        m.transmat_ = counts / counts.sum(1, keepdims=True)
        m.startprob_ = start / start.sum()

    def _init_random(self, m: _FlooredGaussianHMM) -> None:
        """Uniform start, self-transitions 0.95 (means and covariances: hmmlearn's k-means)."""
        trans = np.full((self.k, self.k), 0.05 / max(self.k - 1, 1))
        np.fill_diagonal(trans, 0.95 if self.k > 1 else 1.0)
        m.transmat_ = trans
        m.startprob_ = np.full(self.k, 1.0 / self.k)

    def fit(self, x: np.ndarray, init_labels: np.ndarray | None = None,
            lengths: Sequence[int] | None = None) -> GaussianHMM:
        """Fit to features ``x``; NaN rows are not allowed.

        Parameters
        ----------
        x : numpy.ndarray
            ``(frames, features)``, several sessions end to end.
        init_labels : numpy.ndarray, optional
            ``(frames,)`` with ``n_states`` distinct codes: EM also starts from those states
            (e.g. :func:`~poselab.analysis.behaviour.changepoints.changepoint_states`), before
            the ``n_init`` random starts; the best log-likelihood wins.
        lengths : sequence of int, optional
            Frames of each session in ``x`` (default one session): one model for all, with no
            transition from one session's end to the next one's start.

        Returns
        -------
        GaussianHMM
            ``self``, fitted.
        """
        x = np.asarray(x, dtype=float)
        if x.ndim != 2 or not np.isfinite(x).all():
            raise BehaviourError("x must be a finite (frames, features) array; fill NaNs first")
        if len(x) < self.k:
            raise BehaviourError(f"need at least n_states={self.k} frames, got {len(x)}")
        lengths = _check_lengths(lengths, len(x))
        if init_labels is None and self.n_init == 0:
            raise BehaviourError("n_init=0 needs init_labels")
        models = []
        if init_labels is not None:
            if np.shape(init_labels) != (len(x),):
                raise BehaviourError("init_labels must be (frames,)")
            m = self._new_model(self.seed, "")
            self._init_from_labels(m, x, np.asarray(init_labels), lengths)
            models.append(m)
        for r in range(self.n_init):
            m = self._new_model(self.seed + r, "mc")
            self._init_random(m)
            models.append(m)
        best = None
        for m in models:
            with _quiet_hmmlearn():
                m.fit(x, lengths)
            total = m.monitor_.history[-1] if m.monitor_.history else m.score(x, lengths)
            if best is None or total > best[0]:
                best = (float(total), m)
        self.loglik_, self.model_ = best
        return self

    # --- inference -----------------------------------------------------------------------------
    def score(self, x: np.ndarray, lengths: Sequence[int] | None = None) -> float:
        """Log-likelihood (nats) of ``x`` (frames, features) under the model."""
        x = np.asarray(x, dtype=float)
        return float(self._fitted().score(x, _check_lengths(lengths, len(x))))

    def predict_proba(self, x: np.ndarray, lengths: Sequence[int] | None = None) -> np.ndarray:
        """Posterior state probabilities per frame (frames, K), by forward-backward."""
        x = np.asarray(x, dtype=float)
        return self._fitted().predict_proba(x, _check_lengths(lengths, len(x)))

    def predict(self, x: np.ndarray, lengths: Sequence[int] | None = None) -> np.ndarray:
        """Most likely state per frame (Viterbi, per session), ints in [0, K)."""
        x = np.asarray(x, dtype=float)
        return self._fitted().predict(x, _check_lengths(lengths, len(x))).astype(int)


def viterbi(loglik: np.ndarray, trans: np.ndarray, start: np.ndarray | None = None) -> np.ndarray:
    """Most likely state path (hmmlearn's Viterbi).

    Parameters
    ----------
    loglik : numpy.ndarray
        ``(frames, K)`` log-likelihood of each frame in each state (nats; a constant per frame
        does not matter).
    trans : numpy.ndarray
        ``(K, K)`` transition probabilities, rows summing to 1.
    start : numpy.ndarray, optional
        ``(K,)`` start probabilities (uniform by default).

    Returns
    -------
    numpy.ndarray
        ``(frames,)`` ints in [0, K).
    """
    ll = np.asarray(loglik, dtype=float)
    if ll.ndim != 2 or len(ll) == 0:
        raise BehaviourError(f"loglik must be (frames, K) with frames >= 1; got {ll.shape}")
    k = ll.shape[1]
    trans = np.asarray(trans, dtype=float)
    start = np.full(k, 1.0 / k) if start is None else np.asarray(start, dtype=float)
    if trans.shape != (k, k) or start.shape != (k,):
        raise BehaviourError(f"need trans ({k}, {k}) and start ({k},); got {trans.shape}, "
                             f"{start.shape}")
    if not (np.allclose(trans.sum(1), 1) and np.isclose(start.sum(), 1)):
        raise BehaviourError("trans rows and start must each sum to 1 (probabilities)")
    m = _GivenEmissions(n_components=k)
    m.startprob_, m.transmat_ = start, trans
    with np.errstate(divide="ignore"):  # log(0) = -inf: a forbidden transition
        return m.predict(ll).astype(int)
