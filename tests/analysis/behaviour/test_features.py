"""Pose features on rigid synthetic bodies with exact expected values; pooled z-scores."""

from __future__ import annotations

import numpy as np
import pytest

from poselab.analysis import behaviour as bh
from poselab.analysis.behaviour.features import moving_mean, wrapped_rate


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
    np.testing.assert_allclose(moving_mean(v, 3)[:, 0], [1.0, 2.0, 4.0, 13 / 3])
    assert moving_mean(v, 1) is v


def test_wrapped_rate_across_the_wrap():
    # +0.1 rad per frame through +-pi: 1 rad/s at 10 fps, no jump of 2 pi at the wrap
    theta = np.angle(np.exp(1j * (3.0 + 0.1 * np.arange(6))))
    np.testing.assert_allclose(wrapped_rate(theta, 10.0), 1.0, rtol=1e-12)


def test_standardise_pools_sessions():
    a, b = np.array([[0.0], [2.0]]), np.array([[4.0], [6.0]])
    za, zb = bh.standardise([a, b])
    sd = np.std([0, 2, 4, 6])
    np.testing.assert_allclose(np.r_[za, zb][:, 0], (np.array([0, 2, 4, 6]) - 3) / sd)
