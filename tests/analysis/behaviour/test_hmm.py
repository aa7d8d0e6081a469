"""The Gaussian HMM (hmmlearn underneath) against brute force and on separable data."""

from __future__ import annotations

import copy
import itertools

import numpy as np
import pytest
from scipy.stats import norm

from poselab.analysis import behaviour as bh


def test_hmm_recovers_separated_states():
    rng = np.random.default_rng(0)
    truth = np.repeat([0, 1, 2, 0, 2, 1], 50)
    means = np.array([[0, 0], [10, 0], [0, 10]], float)
    x = means[truth] + rng.normal(0, 1, (truth.size, 2))
    pred = bh.GaussianHMM(3, seed=0).fit(x).predict(x)
    matched = bh.match_states(pred, truth)
    assert np.mean(matched == truth) >= 0.99
    assert bh.boundary_f1(matched, truth, tolerance=1) == pytest.approx(1.0)


# --- inference against brute force --------------------------------------------------------------


def _tiny_hmm():
    return bh.GaussianHMM.from_parameters(
        means=np.array([[0.0], [2.0]]), covars=np.array([[1.0], [0.5]]),
        trans=np.array([[0.8, 0.2], [0.3, 0.7]]), start=np.array([0.6, 0.4]))


def test_forward_backward_matches_enumeration_of_all_paths():
    m = _tiny_hmm()
    x = np.array([[0.1], [1.9], [2.5], [-0.3]])
    sd = np.sqrt(m.vars_[:, 0])
    np.testing.assert_allclose(sd**2, [1.0, 0.5])
    probs = {}
    for path in itertools.product([0, 1], repeat=4):
        p = m.start_[path[0]] * norm.pdf(x[0, 0], m.means_[path[0], 0], sd[path[0]])
        for t in range(1, 4):
            p *= m.trans_[path[t - 1], path[t]] * norm.pdf(x[t, 0], m.means_[path[t], 0],
                                                          sd[path[t]])
        probs[path] = p
    total = sum(probs.values())
    assert m.score(x) == pytest.approx(np.log(total), rel=1e-12)
    gamma = m.predict_proba(x)
    marg = np.array([[sum(p for k, p in probs.items() if k[t] == s) for s in (0, 1)]
                     for t in range(4)]) / total
    np.testing.assert_allclose(gamma, marg, rtol=1e-10)
    # xi: expected transition counts. One EM step on the transitions alone re-estimates
    # trans[0, 1] = xi[0, 1] / sum_t<T-1 gamma[t, 0].
    one = copy.deepcopy(m.model_).set_params(n_iter=1, params="t", init_params="")
    one.fit(x)
    xi01 = one.transmat_[0, 1] * gamma[:-1, 0].sum()
    pair = sum(p for k, p in probs.items() if k[0] == 0 and k[1] == 1) / total
    assert xi01 >= pair  # xi sums the pair over all steps
    expected = sum(p * sum(k[t] == 0 and k[t + 1] == 1 for t in range(3))
                   for k, p in probs.items()) / total
    assert xi01 == pytest.approx(expected, rel=1e-10)
    best = max(probs, key=probs.get)
    np.testing.assert_array_equal(m.predict(x), best)


def test_viterbi_matches_enumeration():
    rng = np.random.default_rng(3)
    ll = rng.normal(0, 2, (5, 3))
    trans = rng.dirichlet(np.ones(3), size=3)
    start = np.array([0.2, 0.5, 0.3])

    def logp(path):
        return (np.log(start[path[0]]) + ll[0, path[0]]
                + sum(np.log(trans[a, b]) + ll[t + 1, b] for t, (a, b) in enumerate(itertools.pairwise(path))))

    best = max(itertools.product(range(3), repeat=5), key=logp)
    np.testing.assert_array_equal(bh.viterbi(ll, trans, start), best)
    uniform = max(itertools.product(range(3), repeat=5),
                  key=lambda p: logp(p) - np.log(start[p[0]]))
    np.testing.assert_array_equal(bh.viterbi(ll, trans), uniform)
    with pytest.raises(bh.BehaviourError, match="sum to 1"):
        bh.viterbi(ll, trans * 2)


# --- fitting -------------------------------------------------------------------------------------


def test_full_covariance_hmm_separates_correlated_states():
    rng = np.random.default_rng(1)
    truth = np.repeat([0, 1, 0, 1], 100)
    # Same marginal means and variances; only the correlation sign differs.
    z = rng.normal(0, 1, (truth.size, 1))
    e = rng.normal(0, 0.2, (truth.size, 1))
    x = np.where(truth[:, None] == 0, np.hstack([z, z + e]), np.hstack([z, -z + e]))
    full = bh.GaussianHMM(2, covariance="full", n_init=3).fit(x).predict(x)
    assert np.mean(bh.match_states(full, truth) == truth) >= 0.95


def test_init_labels_and_argument_errors():
    truth = np.repeat([0, 1, 2], 30)
    x = np.array([[0.0], [5.0], [10.0]])[truth] + np.random.default_rng(0).normal(0, 0.1, (90, 1))
    m = bh.GaussianHMM(3, n_init=0).fit(x, init_labels=truth)
    np.testing.assert_array_equal(bh.match_states(m.predict(x), truth), truth)
    with pytest.raises(bh.BehaviourError):
        bh.GaussianHMM(3, n_init=0).fit(x)
    with pytest.raises(bh.BehaviourError):
        bh.GaussianHMM(2, covariance="spherical")
    with pytest.raises(bh.BehaviourError, match="lengths"):
        bh.GaussianHMM(3, n_init=0).fit(x, init_labels=truth, lengths=[50, 50])
    with pytest.raises(bh.BehaviourError, match="fit the model first"):
        bh.GaussianHMM(3).predict(x)


@pytest.mark.parametrize("covariance", ["diag", "full"])
def test_variance_floor_is_added_in_every_m_step(covariance):
    """Separated states: posteriors are one-hot, so each state's variance is the variance of
    its frames plus min_var (hmmlearn's own M-step would add nothing)."""
    rng = np.random.default_rng(2)
    truth = np.repeat([0, 1, 0, 1], 50)
    x = np.array([[0.0, 0.0], [20.0, 20.0]])[truth] + rng.normal(0, 0.05, (200, 2))
    m = bh.GaussianHMM(2, n_init=0, covariance=covariance, min_var=0.1).fit(x, init_labels=truth)
    for s in (0, 1):
        ml = np.cov(x[truth == s].T, bias=True)
        want = np.diag(ml) + 0.1 if covariance == "diag" else ml + 0.1 * np.eye(2)
        got = m.vars_[s] if covariance == "diag" else m.covs_[s]
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9)


def test_sessions_are_separate_sequences():
    """Session A starts in state 0, session B in state 1: the start probabilities are learned
    from both starts, and decoding with lengths equals decoding each session alone."""
    rng = np.random.default_rng(4)
    ta, tb = np.repeat([0, 1, 0], 30), np.repeat([1, 0, 1], 30)
    means = np.array([[0.0], [8.0]])
    xa, xb = (means[t] + rng.normal(0, 0.5, (t.size, 1)) for t in (ta, tb))
    x, truth = np.r_[xa, xb], np.r_[ta, tb]
    m = bh.GaussianHMM(2, n_init=0).fit(x, init_labels=truth, lengths=[90, 90])
    np.testing.assert_allclose(m.start_, [0.5, 0.5], atol=1e-6)
    one = bh.GaussianHMM(2, n_init=0).fit(x, init_labels=truth)  # one sequence: A's start only
    assert one.start_[0] > 0.999
    pred = m.predict(x, lengths=[90, 90])
    np.testing.assert_array_equal(pred, np.r_[m.predict(xa), m.predict(xb)])
    np.testing.assert_array_equal(bh.match_states(pred, truth), truth)
    # Two changes in each state's 89 frames that have a next frame in their session; the
    # single sequence also counts A's last frame (state 0) -> B's first (state 1).
    np.testing.assert_allclose(m.trans_, [[87 / 89, 2 / 89], [2 / 89, 87 / 89]], rtol=1e-6)
    assert one.trans_[0, 1] == pytest.approx(3 / 90, rel=1e-6)
