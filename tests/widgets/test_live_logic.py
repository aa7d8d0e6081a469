"""The live view's pure logic: readout text, brush to region, what is drawn."""

from __future__ import annotations

import math

import numpy as np

from poselab.live import LivePose, LiveStats, Region, RegionTrigger
from poselab.widgets.live_logic import points_to_draw, readout, region_from_brush, region_outline


def _stats(**changes) -> LiveStats:
    values = dict(frames_read=310, frames_processed=300, frames_dropped=10, elapsed_s=10.0, fps=30.0,
                  latency_median_ms=18.24, latency_p99_ms=27.91, effective_latency_median_ms=math.nan)
    values.update(changes)
    return LiveStats(**values)


def test_readout_gives_rate_latency_drops_and_the_trigger():
    text = readout(_stats(), running=True)
    assert "running: 30.0 frames/s" in text and "latency 18.2 ms (99th percentile 27.9 ms)" in text
    assert "10 of 310 frames dropped" in text and "forward prediction" not in text
    assert "0.0 ms with forward prediction" in readout(_stats(effective_latency_median_ms=0.0))
    trigger = RegionTrigger("snout", (0, 0, 10, 10))
    assert "snout out region (0 entries)" in readout(_stats(), trigger)
    assert "press Start" in readout(None) and "waiting" in readout(_stats(frames_processed=0), running=True)


def test_region_from_brush_is_sorted_and_clipped():
    assert region_from_brush([300.0, 100.0], [50.0, 20.0], 640, 480) == (100.0, 20.0, 300.0, 50.0)
    assert region_from_brush([-50.0, 100.0], [400.0, 900.0], 640, 480) == (-0.5, 400.0, 100.0, 479.5)
    assert region_from_brush([], [], 640, 480) is None
    assert region_from_brush([10.0, 10.0], [0.0, 5.0], 640, 480) is None  # no area
    assert region_from_brush([700.0, 800.0], [0.0, 5.0], 640, 480) is None  # outside the frame


def test_region_outline_is_closed():
    xs, ys = region_outline(Region.from_value((1, 2, 3, 4)))
    assert xs == [1, 3, 3, 1, 1] and ys == [2, 2, 4, 4, 2]
    assert region_outline(None) == ([], [])


def test_only_parts_seen_are_drawn():
    pose = LivePose(frame=0, parts=("a", "b", "c"), xy=np.array([[1.0, 2.0], [np.nan, np.nan], [5.0, 6.0]]),
                    likelihood=np.array([0.9, 0.9, 0.2]), capture_time=0.0, ready_time=0.01)
    assert points_to_draw(pose) == ([(1.0, 2.0)], ["a"])
    assert points_to_draw(pose, min_likelihood=0.1) == ([(1.0, 2.0), (5.0, 6.0)], ["a", "c"])
    assert points_to_draw(None) == ([], [])


def test_readout_shows_the_error_that_stopped_the_session():
    text = readout(_stats(), error=OSError("camera <0> unplugged"))
    assert "stopped by an error: camera &lt;0&gt; unplugged" in text
