from __future__ import annotations

import numpy as np
import pytest

from poselab import gait


def _square(n: int, period: int, stance: int, shift: int = 0) -> np.ndarray:
    return ((np.arange(n) - shift) % period) < stance


def test_hysteresis_recovers_square_wave_and_duty_factor():
    truth = _square(200, 20, 12)
    speed = np.where(truth, 0.0, 300.0)
    st = gait.stance_from_speed(speed, 100.0)
    np.testing.assert_array_equal(st, truth)
    assert gait.duty_factor(st) == pytest.approx(0.6)


def test_hysteresis_holds_state_between_thresholds():
    speed = np.array([300, 10, 70, 70, 300, 70, 10])
    st = gait.stance_from_speed(speed, 100.0, enter=0.5, leave=1.0)
    np.testing.assert_array_equal(st, [0, 1, 1, 1, 0, 0, 1])


def test_antiphase_is_half_cycle():
    a = _square(200, 20, 10)
    b = _square(200, 20, 10, shift=10)
    mean, r = gait.interlimb_phase(a, b)
    assert mean == pytest.approx(0.5)
    assert r == pytest.approx(1.0)


def test_errors():
    with pytest.raises(gait.GaitError):
        gait.duty_factor(np.zeros(10, bool))
    with pytest.raises(gait.GaitError):
        gait.stance_from_speed(np.zeros(5), 1.0, enter=2.0, leave=1.0)
