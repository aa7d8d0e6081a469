"""LabelingWidget: the thin ipywidgets + bqplot view over :class:`LabelingSession`.

Click the image to place the active part, drag a point to move it; every edit is saved at once
to the project's label store. Facts this relies on (checked in a real browser, see the shared
widget notes): a bqplot Image redraws only when its ``image`` widget is swapped, not when the
inner ``value`` changes; PanZoom swallows clicks and drags, so it is a toggled mode; ipyevents
keys arrive only while the mouse is over the widget (and twice in Voila: deduped in the logic).

:class:`FrameView` (the frame, the skeleton lines and the draggable points in one bqplot
figure) is shared with the review widget.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import bqplot as bq
import ipywidgets as W
import numpy as np
from ipyevents import Event

from poselab.widgets.labeling_logic import (
    KEY_HELP,
    LabelingSession,
    encode_jpeg,
    figure_layout,
    image_records,
    load_image,
    part_colors,
)

__all__ = ["FrameView", "KEY_HELP", "LabelingWidget"]


class FrameView:
    """One frame in a bqplot figure: the image, skeleton lines over it and draggable points.

    Image coordinates: origin at the top-left pixel's centre, x right, y down (the y scale is
    reversed), pixel centres at integers, so the image spans ``[-0.5, size - 0.5]``.

    Parameters
    ----------
    rgb
        The first frame, ``(H, W, 3)`` uint8 RGB.
    css_class
        A class added to the figure (for the browser tests and styling).
    display_width
        Displayed frame width in screen pixels (the height keeps the aspect ratio).
    quality
        JPEG quality of the frames sent to the browser.
    marker_size
        Scatter marker area in screen px².
    display_names
        Write each point's name beside it.
    """

    def __init__(self, rgb: np.ndarray, *, css_class: str, display_width: int = 640, quality: int = 85,
                 marker_size: int = 64, display_names: bool = True):
        self.quality = int(quality)
        h, w = rgb.shape[:2]
        lay = figure_layout(w, h, display_width, marker_size, allow_padding=False)
        self.xs = bq.LinearScale(min=-0.5, max=w - 0.5, allow_padding=False)
        # y down: (0, 0) is the top-left corner, as in image coordinates
        self.ys = bq.LinearScale(min=-0.5, max=h - 0.5, reverse=True, allow_padding=False)
        scales = {"x": self.xs, "y": self.ys}
        self.image_mark = bq.Image(image=W.Image(value=encode_jpeg(rgb, self.quality), format="jpeg"),
                                   scales=scales, x=[-0.5, w - 0.5], y=[h - 0.5, -0.5])
        self.skeleton_lines = bq.Lines(x=[], y=[], scales=scales, colors=["white"], stroke_width=1.5,
                                       opacities=[0.8])
        self.scatter = bq.Scatter(
            x=[], y=[], scales=scales, enable_move=True, default_size=marker_size, stroke="white",
            names=[], display_names=display_names, colors=["red"],
            tooltip=bq.Tooltip(fields=["name", "x", "y"], formats=["", ".1f", ".1f"]),
        )
        self.figure = bq.Figure(
            marks=[self.image_mark, self.skeleton_lines, self.scatter], fig_margin=lay["fig_margin"],
            padding_x=0, padding_y=0, min_aspect_ratio=0.01, max_aspect_ratio=100,
            layout=W.Layout(width=f"{lay['fig_width']}px", height=f"{lay['fig_height']}px"),
        )
        self.figure.add_class(css_class)

    def show(self, rgb: np.ndarray) -> None:
        """Show another frame (its size may differ: the scales follow)."""
        h, w = rgb.shape[:2]
        old = self.image_mark.image
        # Swap the widget: changing the old widget's value would not redraw the mark.
        with self.image_mark.hold_sync(), self.xs.hold_sync(), self.ys.hold_sync():
            self.xs.min, self.xs.max = -0.5, w - 0.5
            self.ys.min, self.ys.max = -0.5, h - 0.5
            self.image_mark.image = W.Image(value=encode_jpeg(rgb, self.quality), format="jpeg")
            self.image_mark.x, self.image_mark.y = [-0.5, w - 0.5], [h - 0.5, -0.5]
        old.close()

    def draw_points(self, xy: Sequence[tuple[float, float]], names: Sequence[str], colors: Sequence[str],
                    opacities: Sequence[float] | None = None) -> None:
        """Draw the points (pixels), one name and colour each (and opacity, default opaque)."""
        with self.scatter.hold_sync():
            self.scatter.x = [float(x) for x, _ in xy]
            self.scatter.y = [float(y) for _, y in xy]
            self.scatter.names = list(names)
            self.scatter.colors = list(colors) or ["red"]
            if opacities is not None:
                self.scatter.opacities = list(opacities) or [1.0]

    def draw_skeleton(self, segments: np.ndarray) -> None:
        """Draw ``(n, 2, 2)`` line segments ``((x0, y0), (x1, y1))`` in pixels (none: no lines)."""
        segments = np.asarray(segments, dtype=float).reshape(-1, 2, 2)
        with self.skeleton_lines.hold_sync():
            self.skeleton_lines.x = segments[:, :, 0] if len(segments) else []
            self.skeleton_lines.y = segments[:, :, 1] if len(segments) else []


class LabelingWidget(W.VBox):
    """Keypoint labeling in the notebook, saved at once to ``project.labels``.

    Parameters
    ----------
    project
        A :class:`~poselab.project.Project` (its registered images are labeled).
    animal
        Animal to label (default: the first).
    display_width
        Width of the displayed image in screen pixels (the height keeps the aspect ratio).
    quality
        JPEG quality of the frames sent to the browser.
    marker_size
        Scatter marker area (px²).
    skeleton
        Pairs of part names joined by lines between the placed parts (default: the project's
        ``skeleton``; ``()`` for none).
    """

    def __init__(self, project: Any, *, animal: str | None = None, display_width: int = 640,
                 quality: int = 85, marker_size: int = 64, skeleton: Sequence[Sequence[str]] | None = None):
        self.project = project
        self.root = Path(project.root)
        self.quality = int(quality)
        if skeleton is None:
            skeleton = project.config.skeleton_of(project.labels.parts)
        self.session = LabelingSession(project.labels, image_records(project.labels, self.root),
                                       animal=animal, skeleton=skeleton)
        self.colors = part_colors(self.session.parts)
        self._scatter_parts: list[str] = []

        self.view = FrameView(self._frame_rgb(), css_class="poselab-labeling-figure", display_width=display_width,
                              quality=quality, marker_size=marker_size)
        self.xs, self.ys, self.figure = self.view.xs, self.view.ys, self.view.figure
        self.image_mark, self.scatter = self.view.image_mark, self.view.scatter
        self.image_mark.on_element_click(self._on_image_click)
        self.scatter.on_drag_end(self._on_drag_end)
        self.panzoom = bq.PanZoom(scales={"x": [self.xs], "y": [self.ys]})

        self.part_buttons = W.ToggleButtons(options=self.session.parts, value=self.session.part,
                                            description="part")
        self.part_buttons.observe(self._on_part, names="value")
        animals = list(project.labels.animals)
        self.animal_select = W.Dropdown(options=animals, value=self.session.animal, description="animal",
                                        layout=W.Layout(width="220px",
                                                        display="flex" if len(animals) > 1 else "none"))
        self.animal_select.observe(self._on_animal, names="value")
        self.legend = W.HTML()
        self.prev_button = W.Button(description="previous", icon="arrow-left")
        self.next_button = W.Button(description="next", icon="arrow-right")
        self.prev_button.on_click(lambda _: self._act(self.session.previous))
        self.next_button.on_click(lambda _: self._act(self.session.next))
        self.jump = W.BoundedIntText(value=1, min=1, max=len(self.session.images), description="frame",
                                     layout=W.Layout(width="150px"))
        self.jump.observe(self._on_jump, names="value")
        self.delete_button = W.Button(description="delete point")
        self.delete_button.on_click(lambda _: self._act(self.session.delete))
        self.occluded_button = W.Button(description="occluded")
        self.occluded_button.on_click(lambda _: self._act(self.session.mark_occluded))
        self.zoom_button = W.ToggleButton(value=False, description="pan/zoom (z)")
        self.zoom_button.observe(self._on_zoom_button, names="value")
        self.status = W.HTML()
        self.help = W.HTML(f"<i>{KEY_HELP}</i>")
        self.error = W.HTML()

        self.frame_box = W.Box([self.figure])
        self.frame_box.add_class("poselab-labeling-frame")
        self.events = Event(source=self.frame_box, watched_events=["keydown"],
                            prevent_default_action=True)
        self.events.on_dom_event(self._on_key)

        super().__init__([
            W.HBox([self.prev_button, self.next_button, self.jump, self.status]),
            self.animal_select, self.part_buttons, self.legend, self.frame_box,
            W.HBox([self.delete_button, self.occluded_button, self.zoom_button]),
            self.help, self.error,
        ])
        self.add_class("poselab-labeling")
        self._refresh(new_frame=False)

    # --- drawing --------------------------------------------------------------------------------

    def _frame_rgb(self) -> np.ndarray:
        rec = self.session.image
        rgb = load_image(self.root / rec.image)
        self.session.sizes[rec.image] = (rgb.shape[1], rgb.shape[0])
        return rgb

    def _show_frame(self) -> None:
        self.view.show(self._frame_rgb())

    def _draw_points(self) -> None:
        pts = {p: v for p, v in self.session.points().items() if v[0] is not None}
        self._scatter_parts = [p for p in self.session.parts if p in pts]
        self.view.draw_points([pts[p][:2] for p in self._scatter_parts],
                              [p + (" (occluded)" if pts[p][2] else "") for p in self._scatter_parts],
                              [self.colors[p] for p in self._scatter_parts])
        self.view.draw_skeleton(self.session.segments())

    def _refresh(self, new_frame: bool = True) -> None:
        s = self.session
        if new_frame:
            self._show_frame()
        self._draw_points()
        self.part_buttons.value = s.part
        if self.animal_select.value != s.animal:
            self.animal_select.value = s.animal
        if self.jump.value != s.index + 1:
            self.jump.value = s.index + 1
        self.status.value = f"<b>{s.progress()}</b> &nbsp; {s.image.image}"
        done = s.points()
        self.legend.value = " ".join(
            f"<span style='color:{self.colors[p]}'>{'■' if p in done else '□'} "
            f"{'<u>' + p + '</u>' if p == s.part else p}</span>" for p in s.parts)
        self.figure.interaction = self.panzoom if s.zoom else None
        if self.zoom_button.value != s.zoom:
            self.zoom_button.value = s.zoom

    def refresh(self) -> None:
        """Redraw the frame, points and status from the session (after edits made in code)."""
        self._refresh(new_frame=True)

    def _act(self, fn: Callable[[], Any]) -> None:
        index = self.session.index
        try:
            fn()
            self.error.value = ""
        except ValueError as exc:  # show errors (e.g. LabelError) instead of losing them in a log
            self.error.value = f"<span style='color:red'>{exc}</span>"
        self._refresh(new_frame=self.session.index != index)

    # --- front-end callbacks --------------------------------------------------------------------

    def _on_image_click(self, _mark: Any, event: dict) -> None:
        data = event["data"]
        if self.session.zoom:
            return
        self._act(lambda: self.session.place(float(data["click_x"]), float(data["click_y"])))

    def _on_drag_end(self, _mark: Any, event: dict) -> None:
        i = int(event["index"])
        point = event["point"]
        if 0 <= i < len(self._scatter_parts):
            part = self._scatter_parts[i]
            self._act(lambda: self.session.move(part, float(point["x"]), float(point["y"])))

    def _on_key(self, event: dict) -> None:
        self._act(lambda: self.session.handle_key(event))

    def _on_part(self, change: dict) -> None:
        if change["new"] != self.session.part:
            self._act(lambda: self.session.select_part(change["new"]))

    def _on_animal(self, change: dict) -> None:
        if change["new"] != self.session.animal:
            self._act(lambda: self.session.select_animal(change["new"]))

    def _on_jump(self, change: dict) -> None:
        if int(change["new"]) - 1 != self.session.index:
            self._act(lambda: self.session.goto(int(change["new"]) - 1))

    def _on_zoom_button(self, change: dict) -> None:
        if change["new"] != self.session.zoom:
            self._act(self.session.toggle_zoom)
