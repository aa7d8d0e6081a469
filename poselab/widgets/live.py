"""LiveWidget: the live view in a notebook, thin over :mod:`poselab.live` and :mod:`poselab.widgets.live_logic`.

The frame with the parts drawn, a running frames/s and latency readout, Start and Stop, and a
trigger region drawn by dragging a rectangle over the frame (the chosen part entering it fires
the trigger, shown in the readout). The view refreshes a few times a second from a thread of its
own; the session itself runs in another, so the display never slows the pose loop.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import bqplot as bq
import ipywidgets as W
import numpy as np

from poselab.io.video import open_video
from poselab.live import LiveSession, Region, RegionTrigger, VideoFileSource
from poselab.widgets.labeling import FrameView
from poselab.widgets.labeling_logic import part_colors
from poselab.widgets.live_logic import points_to_draw, readout, region_from_brush, region_outline

__all__ = ["LiveWidget"]


class LiveWidget(W.VBox):
    """Live pose in the notebook.

    Parameters
    ----------
    model
        A :class:`~poselab.model.PoseModel` or a model file (``.onnx`` for the fast CPU path).
    source
        A camera index or URL, or a video file (replayed at its frame rate); opened again at each
        Start.
    processors
        More processors for each session (callables taking a :class:`~poselab.live.LivePose`).
    trigger_part
        The part the drawn region watches (default: the first).
    on_enter, on_exit
        Called when that part enters / leaves the region (e.g. to switch an output).
    refresh_s
        Seconds between refreshes of the view.
    display_width
        Displayed frame width, screen pixels.
    **settings
        :class:`~poselab.live.LiveConfig` fields (``crop_size``, ``predict_ahead_s``...) and
        ``record`` (a ``.zarr`` path).
    """

    def __init__(self, model: Any, source: Any, *, processors: Sequence[Callable] = (), trigger_part: str | None = None,
                 on_enter: Callable | None = None, on_exit: Callable | None = None, refresh_s: float = 0.1,
                 display_width: int = 640, **settings: Any) -> None:
        self.source = source
        self.settings = settings
        self.extra_processors = list(processors)
        self.session = LiveSession(model, source, **settings)  # opens the source once: errors show at once
        self.model = self.session.model
        parts = list(self.session.parts)
        self.trigger = RegionTrigger(trigger_part or parts[0], None, on_enter=on_enter, on_exit=on_exit)
        self.refresh_s = float(refresh_s)
        self.colors = part_colors(parts)
        self._first = _first_frame(self.session.source)
        self.view = FrameView(self._first, css_class="poselab-live-frame", display_width=display_width)
        self.view.scatter.enable_move = False
        self.region_mark = bq.Lines(x=[], y=[], scales={"x": self.view.xs, "y": self.view.ys}, colors=["yellow"],
                                    stroke_width=2)
        self.view.figure.marks = [*self.view.figure.marks, self.region_mark]
        self.brush = self._new_brush()
        self.start_button = W.Button(description="Start", icon="play", button_style="success")
        self.stop_button = W.Button(description="Stop", icon="stop", disabled=True)
        self.part_choice = W.Dropdown(options=parts, value=self.trigger.part, description="trigger part",
                                      layout=W.Layout(width="240px"))
        self.clear_button = W.Button(description="Clear region", icon="times")
        self.status = W.HTML(readout(None, None, running=False))
        self.start_button.on_click(lambda _: self.start())
        self.stop_button.on_click(lambda _: self.stop())
        self.clear_button.on_click(lambda _: self.set_region(None))
        self.part_choice.observe(self._on_part, names="value")
        self._shown: Any = None
        self._refresher: threading.Thread | None = None
        self._refreshing = threading.Event()
        controls = W.HBox([self.start_button, self.stop_button, self.part_choice, self.clear_button])
        help_text = W.HTML("<small>Drag over the frame to draw the trigger region.</small>")
        super().__init__([controls, self.status, self.view.figure, help_text])
        self.add_class("poselab-live")

    # --- actions (also called by the tests) -------------------------------------------------

    def start(self) -> None:
        """Start a session (a new one after a stop) and the refreshing of the view."""
        if self.session.running:
            return
        if self.session.finished:  # its source is closed: open it again
            self.session = LiveSession(self.model, self.source, **self.settings)
        self.session.processors = [*self.extra_processors, self._watch]
        self.session.start()
        self.start_button.disabled, self.stop_button.disabled = True, False
        self._refreshing.set()
        self._refresher = threading.Thread(target=self._refresh_loop, name="poselab-live-view", daemon=True)
        self._refresher.start()

    def stop(self) -> Any:
        """Stop the session; returns its :class:`~poselab.live.LiveStats` (None after an error,
        which the readout shows)."""
        try:
            stats = self.session.stop()
        except Exception:  # shown in the readout (refresh below), not raised into the button's handler
            stats = None
        self._refreshing.clear()
        if self._refresher is not None:
            self._refresher.join()
        self.refresh()
        self.start_button.disabled, self.stop_button.disabled = False, True
        return stats

    def set_region(self, region: Any) -> None:
        """Watch ``region`` (a rectangle ``(x0, y0, x1, y1)`` or vertices, pixels; None: none)."""
        self.trigger.region = Region.from_value(region) if region is not None else None
        self.trigger.inside = False
        xs, ys = region_outline(self.trigger.region)
        with self.region_mark.hold_sync():
            self.region_mark.x, self.region_mark.y = xs, ys

    def refresh(self) -> None:
        """Show the latest pose and the readout."""
        pose = self.session.latest
        if pose is not None and pose is not self._shown and pose.image is not None:
            self._shown = pose
            self.view.show(pose.image)
            points, names = points_to_draw(pose)
            self.view.draw_points(points, names, [self.colors[n] for n in names])
        started = self.session.running or self.session.finished
        self.status.value = readout(self.session.stats() if started else None,
                                    self.trigger if self.trigger.region is not None else None,
                                    running=self.session.running, error=self.session.error)

    # --- internals --------------------------------------------------------------------------

    def _watch(self, pose: Any) -> None:
        self.trigger(pose)

    def _refresh_loop(self) -> None:
        pause = threading.Event()
        while self._refreshing.is_set():
            self.refresh()
            if self.session.finished:  # the source ended by itself
                self.refresh()
                self.start_button.disabled, self.stop_button.disabled = False, True
                return
            pause.wait(self.refresh_s)

    def _on_brush(self, change: dict) -> None:
        if change["new"]:  # still dragging
            return
        pose = self.session.latest
        height, width = pose.image.shape[:2] if pose is not None and pose.image is not None else self._first.shape[:2]
        brush = change["owner"]
        region = region_from_brush(brush.selected_x, brush.selected_y, width, height)
        if region is not None:
            self.set_region(region)
            # a fresh brush for the next region: the outline stays, the old brush's shading would hide the frame
            self.brush = self._new_brush()

    def _new_brush(self) -> bq.interacts.BrushSelector:
        brush = bq.interacts.BrushSelector(x_scale=self.view.xs, y_scale=self.view.ys, color="yellow")
        brush.observe(self._on_brush, names=["brushing"])
        self.view.figure.interaction = brush
        return brush

    def _on_part(self, change: dict) -> None:
        self.trigger.part = change["new"]
        self.trigger.inside = False


def _first_frame(source: Any) -> np.ndarray:
    """What to show before Start: a file's first frame, otherwise a black 640x480 frame."""
    if isinstance(source, VideoFileSource):
        with open_video(source.path) as reader:
            return reader.read(0)
    return np.zeros((480, 640, 3), np.uint8)
