from __future__ import annotations

import numpy as np
import pytest

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


def test_match_states_is_a_permutation():
    truth = np.array([0, 0, 1, 1, 2, 2])
    pred = np.array([5, 5, 3, 3, 4, 4])
    np.testing.assert_array_equal(bh.match_states(pred, truth), truth)


def test_frame_scores_exact():
    truth = np.array([0, 0, 0, 1, 1, 1])
    pred = np.array([0, 0, 1, 1, 1, 0])
    s = bh.frame_scores(pred, truth)
    assert s["accuracy"] == pytest.approx(4 / 6)
    assert s[0] == pytest.approx((2 / 3, 2 / 3, 2 / 3))
    assert s[1] == pytest.approx((2 / 3, 2 / 3, 2 / 3))


def test_boundary_f1_tolerance():
    truth = np.array([0] * 10 + [1] * 10 + [0] * 10)  # boundaries at 9, 19
    pred = np.array([0] * 12 + [1] * 10 + [0] * 8)  # boundaries at 11, 21
    assert bh.boundary_f1(pred, truth, tolerance=2) == 1.0
    assert bh.boundary_f1(pred, truth, tolerance=1) == 0.0
    pred2 = np.array([0] * 10 + [1] * 20)  # one boundary at 9
    assert bh.boundary_f1(pred2, truth, tolerance=0) == pytest.approx(2 * 1 * 0.5 / 1.5)


def test_keypoint_moseq_export_shapes_and_values():
    from poselab.core import poses

    pos = np.arange(2 * 3 * 5 * 2, dtype=float).reshape(2, 3, 5, 2)
    ds = poses.from_arrays(pos, animals=["a", "b"], parts=["p", "q", "r"], fps=10.0)
    coords, confs, parts = bh.to_keypoint_moseq(ds)
    assert parts == ["p", "q", "r"]
    assert sorted(coords) == ["session_a", "session_b"]
    assert coords["session_b"].shape == (5, 3, 2)
    np.testing.assert_array_equal(coords["session_b"][2, 1], pos[1, 1, 2])
    assert confs["session_a"].shape == (5, 3)


# --- HMM internals against brute force ---------------------------------------------------------


def _tiny_hmm():
    m = bh.GaussianHMM(2)
    m.means_ = np.array([[0.0], [2.0]])
    m._vars = np.array([[1.0], [0.5]])
    m.trans_ = np.array([[0.8, 0.2], [0.3, 0.7]])
    m.start_ = np.array([0.6, 0.4])
    return m


def test_forward_backward_matches_enumeration_of_all_paths():
    import itertools

    from scipy.stats import norm

    m = _tiny_hmm()
    x = np.array([[0.1], [1.9], [2.5], [-0.3]])
    sd = np.sqrt(m._vars[:, 0])
    probs = {}
    for path in itertools.product([0, 1], repeat=4):
        p = m.start_[path[0]] * norm.pdf(x[0, 0], m.means_[path[0], 0], sd[path[0]])
        for t in range(1, 4):
            p *= m.trans_[path[t - 1], path[t]] * norm.pdf(x[t, 0], m.means_[path[t], 0],
                                                          sd[path[t]])
        probs[path] = p
    total = sum(probs.values())
    loglik, gamma, xi = m._forward_backward(m._loglik(x))
    assert loglik == pytest.approx(np.log(total), rel=1e-12)
    marg = np.array([[sum(p for k, p in probs.items() if k[t] == s) for s in (0, 1)]
                     for t in range(4)]) / total
    np.testing.assert_allclose(gamma, marg, rtol=1e-10)
    pair = sum(p for k, p in probs.items() if k[0] == 0 and k[1] == 1) / total
    assert xi[0, 1] >= pair  # xi sums the pair over all steps
    best = max(probs, key=probs.get)
    np.testing.assert_array_equal(m.predict(x), best)


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


# --- change points and segmentation ------------------------------------------------------------


def test_change_points_exact_on_steps():
    x = np.r_[np.zeros(20), np.full(20, 3.0), np.ones(20)]
    np.testing.assert_array_equal(bh.change_points(x), [20, 40])
    np.testing.assert_array_equal(bh.change_points(np.zeros(30)), [])
    cps = bh.change_points(x, min_size=25)
    assert np.all(np.diff(np.r_[0, cps, 60]) >= 25)


def test_changepoint_states_reuse_levels():
    x = np.r_[np.zeros(20), np.full(20, 5.0), np.zeros(20)]
    s = bh.changepoint_states(x, 2)
    np.testing.assert_array_equal(s, np.repeat([s[0], 1 - s[0], s[0]], 20))


def test_segment_sessions_share_states():
    rng = np.random.default_rng(0)
    t1, t2 = np.repeat([0, 1, 2, 0], 40), np.repeat([2, 1, 0], 50)
    means = np.array([[0, 0], [6, 0], [0, 6]], float)
    xs = [means[t] + rng.normal(0, 0.5, (t.size, 2)) for t in (t1, t2)]
    for method in ("hmm", "changepoint"):
        p1, p2 = bh.segment(xs, 3, method=method)
        assert p1.shape == t1.shape and p2.shape == t2.shape
        both = bh.match_states(np.r_[p1, p2], np.r_[t1, t2])
        # The HMM's default variance floor (0.1, standardised) is above these tight states'
        # variance (~0.03): 1 of 310 noise frames flips; exact without the floor.
        assert np.mean(both == np.r_[t1, t2]) >= (1.0 if method == "changepoint" else 0.99)
    p1, p2 = bh.segment(xs, 3, min_var=1e-3)
    assert np.mean(bh.match_states(np.r_[p1, p2], np.r_[t1, t2]) == np.r_[t1, t2]) == 1.0


def test_standardise_pools_sessions():
    a, b = np.array([[0.0], [2.0]]), np.array([[4.0], [6.0]])
    za, zb = bh.standardise([a, b])
    sd = np.std([0, 2, 4, 6])
    np.testing.assert_allclose(np.r_[za, zb][:, 0], (np.array([0, 2, 4, 6]) - 3) / sd)


# --- supervised ----------------------------------------------------------------------------------


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


# --- bouts ---------------------------------------------------------------------------------------


def test_bouts_exact():
    np.testing.assert_array_equal(bh.bouts(np.array([2, 2, 0, 0, 0, 2])),
                                  [[0, 2, 2], [2, 5, 0], [5, 6, 2]])


def test_bout_scores_iou_threshold():
    truth = np.r_[np.zeros(10), np.ones(10), np.zeros(10)].astype(int)
    pred = np.r_[np.zeros(10), np.ones(4), np.zeros(16)].astype(int)
    s = bh.bout_scores(pred, truth)
    assert s[0] == pytest.approx((1.0, 1.0, 1.0))  # IoUs 1 and 10/16
    assert s[1] == pytest.approx((0.0, 0.0, 0.0))  # IoU 4/10 < 0.5
    assert s["macro"] == pytest.approx((0.5, 0.5, 0.5))
    assert bh.bout_scores(pred, truth, min_iou=0.4)[1] == pytest.approx((1.0, 1.0, 1.0))


# --- features ------------------------------------------------------------------------------------


def _body(n: int = 40, fps: float = 10.0, v: float = 0.0, omega: float = 0.0):
    """A rigid animal (body length 100 px, snout to tail base) moving along +x at ``v`` px/s
    or rotating in place at ``omega`` rad/s."""
    from poselab.core import poses

    t = np.arange(n) / fps
    th = omega * t
    u = np.stack([np.cos(th), np.sin(th)], -1)
    w = np.stack([-np.sin(th), np.cos(th)], -1)
    c = np.stack([200 + v * t, np.full(n, 200.0)], -1)
    local = {"snout": (60, 0), "neck": (30, 0), "body_centre": (0, 0), "tail_base": (-40, 0),
             "left_fore_paw": (20, 17), "right_fore_paw": (20, -17),
             "left_hind_paw": (-26, 18), "right_hind_paw": (-26, -18)}
    pos = np.stack([c + a * u + b * w for a, b in local.values()])[None]
    return poses.from_arrays(pos, parts=list(local), fps=fps)


def test_pose_features_translation_exact():
    f = bh.pose_features(_body(v=50.0), window_s=0)
    assert f.attrs["body_length"] == pytest.approx(100.0)
    np.testing.assert_allclose(f.sel(feature="speed"), np.log(0.5 + 0.05))
    np.testing.assert_allclose(f.sel(feature="forward"), 0.5)
    np.testing.assert_allclose(f.sel(feature="turning"), np.log(0.05), atol=1e-12)
    np.testing.assert_allclose(f.sel(feature="length"), 1.0)
    np.testing.assert_allclose(f.sel(feature="fore_nose"), np.hypot(40, 17) / 100)
    np.testing.assert_allclose(f.sel(feature="fore_ahead"), 0.2)
    np.testing.assert_allclose(f.sel(feature="fore_motion"), np.log(0.05), atol=1e-9)
    np.testing.assert_allclose(f.sel(feature="hind_speed"), np.log(0.5 + 0.05))


def test_pose_features_rotation_in_place():
    f = bh.pose_features(_body(omega=2.0), window_s=0)
    np.testing.assert_allclose(f.sel(feature="turning")[1:-1], np.log(2.0 + 0.05), rtol=1e-9)
    np.testing.assert_allclose(f.sel(feature="forward"), 0.0, atol=1e-12)
    with pytest.raises(bh.BehaviourError):
        bh.pose_features(_body(), nose="nose")


def test_pose_features_speed_is_norm_of_mean_velocity():
    """Keypoint noise on a still body: averaging per-frame speeds would report ~0.5 L/s
    (noise 1 px per frame at 10 fps over 100 px), the mean velocity over the window ~0."""
    ds = _body(n=400)
    rng = np.random.default_rng(0)
    pos = ds["position"].values.copy()
    pos += rng.normal(0, 1.0, pos.shape[:3] + (1,)) * np.ones(2)  # one shift per part per frame
    ds["position"] = (ds["position"].dims, pos)
    speed = np.exp(bh.pose_features(ds, window_s=2.0).sel(feature="speed").values) - 0.05
    assert np.median(speed) < 0.08  # measured 0.03 L/s
    still = bh.pose_features(_body(n=40, v=50.0), window_s=1.0).sel(feature="speed")
    np.testing.assert_allclose(still, np.log(0.5 + 0.05))  # a constant velocity is kept


def test_moving_mean_ignores_nan_rows():
    v = np.array([[1.0], [np.nan], [3.0], [5.0]])
    np.testing.assert_allclose(bh._moving_mean(v, 3)[:, 0], [1.0, 2.0, 4.0, 13 / 3])


# --- export --------------------------------------------------------------------------------------


def test_bsoid_and_simba_exports_read_back(tmp_path):
    from poselab.core import poses
    from poselab.io import read_deeplabcut

    pos = np.arange(2 * 3 * 4 * 2, dtype=float).reshape(2, 3, 4, 2)
    pos[1, 2, 3] = np.nan
    lik = np.full((2, 3, 4), 0.9)
    ds = poses.from_arrays(pos, likelihood=lik, animals=["m1", "m2"], parts=["a", "b", "c"],
                           fps=30.0, video="trial.mp4")
    paths = bh.to_bsoid(ds, tmp_path / "bsoid")
    assert [p.name for p in paths] == ["trial_m1DLC_poselab.csv", "trial_m2DLC_poselab.csv"]
    head = paths[1].read_text().splitlines()[:3]
    assert [h.split(",")[0] for h in head] == ["scorer", "bodyparts", "coords"]
    back = read_deeplabcut(paths[1])
    np.testing.assert_array_equal(back["position"].values[0, :2], pos[1, :2])
    np.testing.assert_array_equal(back["position"].values[0, 2, 3], [0.0, 0.0])
    assert back["likelihood"].values[0, 2, 3] == 0.0
    path = bh.to_simba(ds, tmp_path / "simba")
    assert path.name == "trial.csv"
    assert path.read_text().splitlines()[1].split(",")[0] == "individuals"
    back = read_deeplabcut(path)
    np.testing.assert_array_equal(back["position"].values[0], pos[0])
