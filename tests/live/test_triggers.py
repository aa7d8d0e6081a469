"""The region trigger: enters and exits counted once each, unsure positions ignored."""

from __future__ import annotations

import numpy as np
import pytest

from poselab.live import LiveError, LivePose, Region, RegionTrigger

PARTS = ("snout", "tail")


def _pose(frame: int, snout: tuple[float, float], likelihood: float = 0.9,
          predicted: tuple[float, float] | None = None) -> LivePose:
    xy = np.array([snout, (0.0, 0.0)], float)
    return LivePose(frame=frame, parts=PARTS, xy=xy, likelihood=np.array([likelihood, 0.9]),
                    capture_time=frame / 30, ready_time=frame / 30 + 0.01,
                    predicted_xy=None if predicted is None else np.array([predicted, (0.0, 0.0)]),
                    predicted_time=None if predicted is None else frame / 30 + 0.02)


def test_enter_and_exit_fire_once_each():
    calls = []
    trigger = RegionTrigger("snout", (100, 100, 200, 200), on_enter=lambda p: calls.append(("on", p.frame)),
                            on_exit=lambda p: calls.append(("off", p.frame)))
    path = [(50, 150), (99, 150), (100, 150), (150, 150), (199, 199), (201, 150), (250, 150), (150, 100)]
    for frame, xy in enumerate(path):
        trigger(_pose(frame, xy))
    assert calls == [("on", 2), ("off", 5), ("on", 7)]  # the edge counts as inside
    assert [(e.frame, e.kind) for e in trigger.events] == [(2, "enter"), (5, "exit"), (7, "enter")]
    assert trigger.entries == 2 and trigger.inside
    assert trigger.events[0].time == pytest.approx(2 / 30)


def test_hold_frames_ignores_a_position_flickering_across_the_edge():
    trigger = RegionTrigger("snout", (100, 0, 200, 100), hold_frames=3)
    xs = [90, 101, 99, 102, 103, 104, 105, 99, 98, 97]  # one-frame flicker in at 1, then in from 3 on
    for frame, x in enumerate(xs):
        trigger(_pose(frame, (x, 50)))
    assert [(e.frame, e.kind) for e in trigger.events] == [(5, "enter"), (9, "exit")]


def test_unsure_or_missing_positions_do_not_change_the_state():
    trigger = RegionTrigger("snout", (0, 0, 10, 10), min_likelihood=0.5)
    trigger(_pose(0, (5, 5)))
    trigger(_pose(1, (50, 50), likelihood=0.2))  # a wrong detection far away, unsure
    trigger(_pose(2, (np.nan, np.nan), likelihood=np.nan))
    assert trigger.inside and trigger.entries == 1 and len(trigger.events) == 1


def test_the_predicted_position_is_used_when_there_is_one():
    trigger = RegionTrigger("snout", (100, 0, 200, 100))
    trigger(_pose(0, (95, 50), predicted=(105, 50)))  # will be inside when the output acts
    assert trigger.inside
    measured = RegionTrigger("snout", (100, 0, 200, 100), use_prediction=False)
    measured(_pose(0, (95, 50), predicted=(105, 50)))
    assert not measured.inside
    unsure = RegionTrigger("snout", (100, 0, 200, 100), min_likelihood=0.1)  # the prediction has nothing yet
    unsure(_pose(0, (105, 50), likelihood=0.2, predicted=(np.nan, np.nan)))
    assert unsure.inside


def test_polygon_region():
    triangle = Region.from_value([(0, 0), (100, 0), (0, 100)])
    inside = triangle.contains(np.array([[10, 10], [60, 60], [49, 49], [np.nan, 1]]))
    assert inside.tolist() == [True, False, True, False]


@pytest.mark.parametrize("bad", [(10, 10, 5, 20), [(0, 0), (1, 1)], "left half"])
def test_bad_regions_say_what_a_region_is(bad):
    with pytest.raises(LiveError, match="region"):
        Region.from_value(bad)


def test_unknown_part_is_named():
    trigger = RegionTrigger("paw", (0, 0, 10, 10))
    with pytest.raises(LiveError, match="'paw' is not one of the model's parts"):
        trigger(_pose(0, (5, 5)))
