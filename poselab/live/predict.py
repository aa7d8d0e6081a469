"""Forward prediction: where each body part will be when the feedback acts.

A pose is ready some milliseconds after its frame was captured, and the light, reward or stimulus
it drives acts later still. A constant-velocity Kalman filter per part and axis carries the pose
forward over that delay, as DeepLabCut-Live's forward prediction does, so the effective latency
is near zero while the animal moves smoothly.

The state of each coordinate is ``(position px, velocity px/s)``; time steps follow the capture
times (dropped frames make them uneven, which the filter handles). The filter starts from the
first two confident measurements (position, and velocity from their difference), so a track that
moves at constant velocity is followed exactly from its second frame on.

Example
-------
>>> kalman = ConstantVelocityKalman(n_parts=4)
>>> kalman.update(xy, likelihood, t=frame.captured)
>>> xy_later = kalman.predict(t=ready + 0.010)      # where the parts will be 10 ms after ready
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["KalmanConfig", "ConstantVelocityKalman"]


@dataclass(frozen=True)
class KalmanConfig:
    """Noise levels of the constant-velocity model.

    Attributes
    ----------
    acceleration_px_s2
        Typical unmodelled acceleration, px/s^2 (a walking mouse at 30 frames/s changes its
        paws' speed by a few hundred px/s within a stride; larger follows turns faster, smaller
        smooths more).
    measurement_px
        Typical error of a measured position, pixels (about a model's test RMSE).
    min_likelihood
        Measurements below this likelihood are not used (the prediction coasts on).
    """

    acceleration_px_s2: float = 2000.0
    measurement_px: float = 2.0
    min_likelihood: float = 0.5


class ConstantVelocityKalman:
    """Constant-velocity Kalman filters for ``n_parts`` parts in 2-D, run together (vectorised).

    Parameters
    ----------
    n_parts
        Number of body parts.
    config
        Noise levels (:class:`KalmanConfig`).
    """

    def __init__(self, n_parts: int, config: KalmanConfig | None = None) -> None:
        self.config = config or KalmanConfig()
        self.n_parts = int(n_parts)
        shape = (self.n_parts, 2)
        self.position = np.full(shape, np.nan)  # px
        self.velocity = np.full(shape, np.nan)  # px/s
        # covariance of (position, velocity) per coordinate: p00, p01, p11
        self._p = np.zeros(shape + (3,))
        self._time = np.full(self.n_parts, np.nan)  # s, the time of each part's state
        self._first = np.full(shape, np.nan)  # the first measurement, while velocity is unknown

    def update(self, xy: np.ndarray, likelihood: np.ndarray, t: float) -> None:
        """Take the measurements ``xy`` (P, 2) pixels with ``likelihood`` (P,) at time ``t`` s."""
        xy = np.asarray(xy, float)
        likelihood = np.asarray(likelihood, float)
        good = np.isfinite(xy).all(axis=1) & (np.nan_to_num(likelihood) >= self.config.min_likelihood)
        r = self.config.measurement_px ** 2
        for part in np.flatnonzero(good):
            z = xy[part]
            if np.isnan(self._time[part]):  # the first sighting: position only
                self.position[part], self._first[part], self._time[part] = z, z, t
                continue
            dt = t - self._time[part]
            if dt <= 0:
                continue
            if np.isnan(self.velocity[part, 0]):  # the second: velocity from the difference
                self.velocity[part] = (z - self._first[part]) / dt
                self.position[part] = z
                self._p[part] = (r, r / dt, 2 * r / dt ** 2)
                self._time[part] = t
                continue
            self._propagate(part, dt)
            p00, p01, p11 = self._p[part].T
            s = p00 + r
            k0, k1 = p00 / s, p01 / s
            innovation = z - self.position[part]
            self.position[part] += k0 * innovation
            self.velocity[part] += k1 * innovation
            self._p[part] = np.stack([(1 - k0) * p00, (1 - k0) * p01, p11 - k1 * p01], axis=1)
            self._time[part] = t

    def _propagate(self, part: int, dt: float) -> None:
        q = self.config.acceleration_px_s2 ** 2
        p00, p01, p11 = self._p[part].T
        # F P F^T + Q for F = [[1, dt], [0, 1]], white-noise acceleration Q
        p00n = p00 + 2 * dt * p01 + dt ** 2 * p11 + q * dt ** 4 / 4
        p01n = p01 + dt * p11 + q * dt ** 3 / 2
        p11n = p11 + q * dt ** 2
        self._p[part] = np.stack([p00n, p01n, p11n], axis=1)
        self.position[part] = self.position[part] + dt * self.velocity[part]

    def predict(self, t: float) -> np.ndarray:
        """Positions (P, 2) pixels at time ``t`` s (NaN for parts not yet seen; a part seen
        once stays where it was)."""
        dt = t - self._time
        velocity = np.where(np.isnan(self.velocity), 0.0, self.velocity)
        return self.position + velocity * dt[:, None]

    def reset(self) -> None:
        """Forget every track (e.g. after the animal left the view)."""
        self.__init__(self.n_parts, self.config)
