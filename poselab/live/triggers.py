"""Processors: what a live session does with each pose (drive a light, a reward, a stimulus...).

A processor is any callable taking a :class:`~poselab.live.LivePose`; it runs in the session's
thread right after the pose is ready, so it must be quick (a serial or GPIO write, a flag). The
built-in :class:`RegionTrigger` fires when a body part enters (or leaves) a region of the frame.

Example
-------
>>> trigger = RegionTrigger("snout", region=(400, 0, 640, 240), on_enter=lambda pose: laser.on(),
...                         on_exit=lambda pose: laser.off())
>>> LiveSession(model, 0, processors=[trigger]).run(duration_s=600)
>>> trigger.events                                   # [(frame, time s, "enter"), ...]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from poselab.live.sources import LiveError

__all__ = ["Region", "RegionTrigger", "TriggerEvent"]


@dataclass(frozen=True)
class Region:
    """A region of the frame: a rectangle ``(x0, y0, x1, y1)`` or a polygon of ``(x, y)`` vertices, pixels."""

    vertices: np.ndarray  # (V, 2) pixels

    @classmethod
    def from_value(cls, value: Any) -> Region:
        if isinstance(value, Region):
            return value
        try:
            array = np.asarray(value, float)
        except (TypeError, ValueError):
            array = np.empty((0,))
        if array.shape == (4,):
            x0, y0, x1, y1 = array
            if not (x0 < x1 and y0 < y1):
                raise LiveError(f"a rectangle region is (x0, y0, x1, y1) with x0 < x1 and y0 < y1; got {value}")
            array = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
        if array.ndim != 2 or array.shape[1] != 2 or len(array) < 3 or not np.isfinite(array).all():
            raise LiveError("a region is a rectangle (x0, y0, x1, y1) or at least three (x, y) vertices in pixels; "
                            f"got {value!r}")
        return cls(array)

    def contains(self, xy: np.ndarray) -> np.ndarray:
        """Whether each point ``(..., 2)`` lies inside (edges included; NaN: outside)."""
        import cv2

        points = np.asarray(xy, float).reshape(-1, 2)
        contour = self.vertices.astype(np.float32).reshape(-1, 1, 2)
        inside = np.array([np.isfinite(p).all() and cv2.pointPolygonTest(contour, (float(p[0]), float(p[1])), False) >= 0
                           for p in points], dtype=bool)
        return inside.reshape(np.shape(xy)[:-1])


@dataclass(frozen=True)
class TriggerEvent:
    """A part entering or leaving the region: source ``frame``, capture ``time`` (s since the
    session started), ``kind`` ("enter" or "exit")."""

    frame: int
    time: float
    kind: str


@dataclass
class RegionTrigger:
    """Fires when a body part enters or leaves a region of the frame.

    Parameters
    ----------
    part
        The body part's name.
    region
        A rectangle ``(x0, y0, x1, y1)`` or polygon vertices, pixels (a :class:`Region`); None:
        no region yet (nothing fires; set ``trigger.region`` later, e.g. from the live widget).
    on_enter, on_exit
        Called with the pose when the part enters / leaves (e.g. to switch an output).
    use_prediction
        Test the forward-predicted position (where the part will be when the output acts) when the
        session predicts, instead of the measured one.
    min_likelihood
        A position below this likelihood does not change the state (the part is not seen).
    hold_frames
        Poses in a row the part must be on the other side before the state changes (1: at once;
        more ignores a noisy position flickering across the edge, at the cost of that many frames
        of delay).
    """

    part: str
    region: Any
    on_enter: Callable[[Any], None] | None = None
    on_exit: Callable[[Any], None] | None = None
    use_prediction: bool = True
    min_likelihood: float = 0.5
    hold_frames: int = 1
    inside: bool = field(default=False, init=False)
    _pending: int = field(default=0, init=False, repr=False)
    events: list[TriggerEvent] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        self.region = None if self.region is None else Region.from_value(self.region)

    def __call__(self, pose: Any) -> None:
        if self.part not in pose.parts:
            raise LiveError(f"the trigger's part {self.part!r} is not one of the model's parts {list(pose.parts)}")
        index = list(pose.parts).index(self.part)
        if not np.nan_to_num(pose.likelihood[index]) >= self.min_likelihood:
            return
        if self.region is None:
            return
        xy = pose.xy[index]
        if self.use_prediction and pose.predicted_xy is not None and np.isfinite(pose.predicted_xy[index]).all():
            xy = pose.predicted_xy[index]  # (NaN while the prediction has no confident measurement yet)
        now_inside = bool(self.region.contains(xy))
        if now_inside == self.inside:
            self._pending = 0
            return
        self._pending += 1
        if self._pending < max(1, int(self.hold_frames)):
            return
        self._pending = 0
        self.inside = now_inside
        self.events.append(TriggerEvent(pose.frame, pose.capture_time, "enter" if now_inside else "exit"))
        action = self.on_enter if now_inside else self.on_exit
        if action is not None:
            action(pose)

    @property
    def entries(self) -> int:
        """How many times the part entered the region."""
        return sum(event.kind == "enter" for event in self.events)


def as_processors(processors: Callable | Sequence[Callable] | None) -> list[Callable]:
    if processors is None:
        return []
    items = [processors] if callable(processors) else list(processors)
    for item in items:
        if not callable(item):
            raise LiveError(f"a processor is a callable taking a LivePose; got {type(item).__name__}")
    return items
