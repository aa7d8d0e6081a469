"""Forward prediction: exact on constant-velocity tracks, robust to gaps and unseen parts."""

from __future__ import annotations

import numpy as np

from poselab.live import ConstantVelocityKalman, KalmanConfig


def _track(t: np.ndarray, start: np.ndarray, velocity: np.ndarray) -> np.ndarray:
    """(T, P, 2) positions of parts moving at constant velocity (px, px/s)."""
    return start[None] + t[:, None, None] * velocity[None]


def test_prediction_is_exact_on_a_constant_velocity_track():
    rng = np.random.default_rng(0)
    start = rng.uniform(0, 600, (3, 2))
    velocity = rng.uniform(-300, 300, (3, 2))  # px/s
    # uneven steps, as when frames are dropped: 1/30 s, sometimes 2/30 or 3/30
    t = np.cumsum(rng.choice([1, 1, 1, 2, 3], 60)) / 30.0
    track = _track(t, start, velocity)
    kalman = ConstantVelocityKalman(3)
    for i, ti in enumerate(t):
        kalman.update(track[i], np.ones(3), ti)
        if i >= 1:  # from the second frame on, the track is followed exactly
            for lead in (0.0, 0.015, 0.1):  # s
                expected = start + (ti + lead) * velocity
                np.testing.assert_allclose(kalman.predict(ti + lead), expected, atol=1e-6)
    np.testing.assert_allclose(kalman.velocity, velocity, atol=1e-6)


def test_low_likelihood_measurements_are_not_used():
    kalman = ConstantVelocityKalman(1, KalmanConfig(min_likelihood=0.5))
    for i in range(5):
        kalman.update([[10.0 * i, 0.0]], [1.0], i * 0.1)  # 100 px/s to the right
    kalman.update([[500.0, 500.0]], [0.1], 0.5)  # a wrong, unsure detection
    kalman.update([[np.nan, np.nan]], [np.nan], 0.6)  # not found at all
    np.testing.assert_allclose(kalman.predict(0.7), [[70.0, 0.0]], atol=1e-9)  # coasts on


def test_noisy_measurements_are_smoothed():
    rng = np.random.default_rng(1)
    t = np.arange(300) / 30.0
    truth = _track(t, np.array([[100.0, 200.0]]), np.array([[60.0, -30.0]]))
    noisy = truth + rng.normal(0, 2.0, truth.shape)  # px
    kalman = ConstantVelocityKalman(1, KalmanConfig(acceleration_px_s2=50.0, measurement_px=2.0))
    errors = []
    for i, ti in enumerate(t):
        kalman.update(noisy[i], [1.0], ti)
        if i > 30:
            errors.append(np.abs(kalman.predict(ti) - truth[i]).max())
    assert np.median(errors) < 1.0  # well under the 2 px measurement noise


def test_parts_never_seen_are_nan_and_a_part_seen_once_stays():
    kalman = ConstantVelocityKalman(2)
    kalman.update([[5.0, 6.0], [np.nan, np.nan]], [0.9, 0.0], 0.0)
    predicted = kalman.predict(1.0)
    np.testing.assert_array_equal(predicted[0], [5.0, 6.0])
    assert np.isnan(predicted[1]).all()
    kalman.reset()
    assert np.isnan(kalman.predict(0.0)).all()


def test_a_repeated_time_stamp_changes_nothing():
    kalman = ConstantVelocityKalman(1)
    kalman.update([[0.0, 0.0]], [1.0], 0.0)
    kalman.update([[1.0, 0.0]], [1.0], 0.1)
    before = kalman.predict(0.2).copy()
    kalman.update([[50.0, 0.0]], [1.0], 0.1)
    np.testing.assert_array_equal(kalman.predict(0.2), before)
