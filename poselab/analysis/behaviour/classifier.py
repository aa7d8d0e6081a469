"""Supervised behaviour classes from a few labeled bouts."""

from __future__ import annotations

import numpy as np
from scipy.stats import multivariate_normal

from poselab.analysis.behaviour.errors import BehaviourError
from poselab.analysis.behaviour.hmm import viterbi

__all__ = ["BoutClassifier"]


class BoutClassifier:
    """Supervised behaviour classes from a few labeled bouts.

    Each class is a Gaussian over the features (mean and a covariance shrunk towards its
    diagonal, which keeps it well defined from a few hundred frames); frames are decoded with
    a sticky Viterbi (each frame keeps its class with probability ``stay``), which removes
    single-frame flicker.

    Parameters
    ----------
    shrinkage : float
        Weight (0-1) of the diagonal in the covariance.
    stay : float
        Self-transition probability of the decoder (0 <= stay < 1); 0 for per-frame argmax.
    """

    def __init__(self, shrinkage: float = 0.2, stay: float = 0.95):
        if not 0 <= shrinkage <= 1 or not 0 <= stay < 1:
            raise BehaviourError("need 0 <= shrinkage <= 1 and 0 <= stay < 1")
        self.shrinkage, self.stay = shrinkage, stay

    def fit(self, x: np.ndarray, labels: np.ndarray) -> BoutClassifier:
        """Fit the class Gaussians.

        Parameters
        ----------
        x : numpy.ndarray
            ``(frames, features)`` (e.g. :func:`~poselab.analysis.behaviour.pose_features`).
        labels : numpy.ndarray
            ``(frames,)`` int class codes, -1 for unlabeled frames.

        Returns
        -------
        BoutClassifier
            ``self``, with ``classes_`` (codes), ``means_`` (classes, features) and ``covs_``
            (classes, features, features; features' units squared).
        """
        x, labels = np.asarray(x, dtype=float), np.asarray(labels)
        if x.ndim != 2 or labels.shape != (len(x),):
            raise BehaviourError("x must be (frames, features) and labels (frames,)")
        ok = (labels >= 0) & np.isfinite(x).all(1)
        self.classes_ = np.unique(labels[ok])
        if self.classes_.size < 2:
            raise BehaviourError("label frames of at least two classes")
        var_all = x[ok].var(0) + 1e-6
        means, covs = [], []
        for c in self.classes_:
            xc = x[ok & (labels == c)]
            if len(xc) < 2:
                raise BehaviourError(f"class {c} needs at least 2 labeled frames")
            cov = np.cov(xc.T).reshape(x.shape[1], x.shape[1])
            diag = np.diag(np.diag(cov)) + 1e-3 * np.diag(var_all)
            means.append(xc.mean(0))
            covs.append((1 - self.shrinkage) * cov + self.shrinkage * diag
                        + 1e-6 * np.eye(x.shape[1]))
        self.means_, self.covs_ = np.array(means), np.array(covs)
        return self

    def log_likelihood(self, x: np.ndarray) -> np.ndarray:
        """Log-density (nats) of every frame under every class Gaussian, ``(frames, classes)``."""
        if not hasattr(self, "classes_"):
            raise BehaviourError("fit the classifier first (BoutClassifier.fit)")
        x = np.asarray(x, dtype=float)
        return np.stack([np.atleast_1d(multivariate_normal(m, c).logpdf(x))
                         for m, c in zip(self.means_, self.covs_)], axis=-1)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Per-frame class probabilities ``(frames, classes)``, equal priors, no smoothing."""
        ll = self.log_likelihood(x)
        p = np.exp(ll - ll.max(1, keepdims=True))
        return p / p.sum(1, keepdims=True)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Class code per frame ``(frames,)`` (codes as in the labels)."""
        ll = self.log_likelihood(x)
        k = len(self.classes_)
        if self.stay == 0 or k == 1:
            return self.classes_[ll.argmax(1)]
        trans = np.full((k, k), (1 - self.stay) / (k - 1))
        np.fill_diagonal(trans, self.stay)
        return self.classes_[viterbi(ll, trans)]
