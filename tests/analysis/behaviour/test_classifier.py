"""The supervised BoutClassifier from a few labeled bouts."""

from __future__ import annotations

import numpy as np
import pytest

from poselab.analysis import behaviour as bh


def test_bout_classifier_from_labeled_bouts_and_flicker():
    rng = np.random.default_rng(0)
    truth = np.repeat([0, 1, 0, 1, 0], 40)
    x = np.array([[0.0, 0.0], [4.0, 0.0]])[truth] + rng.normal(0, 0.5, (truth.size, 2))
    labels = np.full(truth.size, -1)
    labels[:40], labels[40:80] = 0, 1  # only the first bout of each class
    x[100] = [2.2, 0.0]  # one frame inside a class-0 bout, nearer class 1
    clf = bh.BoutClassifier().fit(x, labels)
    np.testing.assert_array_equal(clf.predict(x), truth)
    assert bh.BoutClassifier(stay=0).fit(x, labels).predict(x)[100] == 1
    np.testing.assert_allclose(clf.predict_proba(x).sum(1), 1.0)
    with pytest.raises(bh.BehaviourError):
        bh.BoutClassifier().fit(x, np.where(labels == 1, -1, labels))


def test_log_likelihood_is_the_gaussian_density():
    from scipy.stats import norm

    x = np.array([[0.0], [1.0], [3.0], [4.0]])
    clf = bh.BoutClassifier(shrinkage=0.0).fit(x, np.array([0, 0, 1, 1]))
    # class 0: mean 0.5, sample variance 0.5 (+ 1e-6 regularisation)
    np.testing.assert_allclose(clf.log_likelihood(np.array([[2.0]]))[0, 0],
                               norm.logpdf(2.0, 0.5, np.sqrt(0.5 + 1e-6)), rtol=1e-9)
    with pytest.raises(bh.BehaviourError, match="fit the classifier first"):
        bh.BoutClassifier().predict(x)
