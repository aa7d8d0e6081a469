"""LiveWidget without a browser: start, the frame and parts shown, the readout, a drawn region firing."""

from __future__ import annotations

import time

import numpy as np
import pytest

pytest.importorskip("bqplot")

from poselab.io.video import write_video  # noqa: E402
from poselab.widgets.live import LiveWidget  # noqa: E402
from poselab.widgets.live_logic import points_to_draw  # noqa: E402
from tests.live.test_session import frames, tiny_model  # noqa: E402


def _wait(condition, timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.02)


def test_live_widget_shows_poses_and_fires_the_drawn_region(tmp_path, one_thread):
    video = write_video(tmp_path / "clip.mp4", iter(frames(30)), fps=30.0)
    entered = []
    widget = LiveWidget(tiny_model(), video, on_enter=lambda pose: entered.append(pose.frame), refresh_s=0.02,
                        drop_frames=False, record=tmp_path / "live.zarr")
    blank = widget.view.image_mark.image.value
    widget.trigger.min_likelihood = 0.0  # an untrained model: any position counts
    # the user drags a rectangle over the whole frame (the brush reports data coordinates)
    widget.brush.selected_x, widget.brush.selected_y = [-10.0, 200.0], [-10.0, 100.0]
    widget.brush.brushing = True
    widget.brush.brushing = False
    assert widget.trigger.region is not None
    assert widget.region_mark.x.tolist() == [-0.5, 99.5, 99.5, -0.5, -0.5]
    widget.start_button.click()
    assert widget.stop_button.disabled is False and widget.start_button.disabled is True
    _wait(lambda: widget.session.finished)  # the file ends by itself after 1 s
    _wait(lambda: not widget.start_button.disabled)
    widget.refresh()
    assert widget.view.image_mark.image.value != blank  # a frame of the video is shown
    latest = widget.session.latest
    points, names = points_to_draw(latest)
    assert list(widget.view.scatter.names) == names
    np.testing.assert_allclose(widget.view.scatter.x, [p[0] for p in points])
    assert "stopped: " in widget.status.value and "0 of 30 frames dropped" in widget.status.value
    first = latest.parts[0]
    assert entered == [0] and widget.trigger.entries == 1 and f"{first} IN region (1 entries)" in widget.status.value
    # Start again: a new session over the reopened file
    widget.start_button.click()
    _wait(lambda: widget.session.finished)
    _wait(lambda: not widget.start_button.disabled)
    assert widget.session.stats().frames_processed == 30
    widget.clear_button.click()
    assert widget.trigger.region is None and widget.region_mark.x.tolist() == []


def test_live_widget_shows_the_error_that_stopped_it(one_thread):
    widget = LiveWidget(tiny_model(), [np.zeros((10, 10), np.uint8)], refresh_s=0.02)
    widget.start_button.click()
    _wait(lambda: widget.session.finished)
    _wait(lambda: not widget.start_button.disabled)
    widget.stop_button.click()  # does not raise into the button's handler
    assert "stopped by an error" in widget.status.value and "uint8 RGB" in widget.status.value
