"""LabelingWidget: the thin ipywidgets + bqplot view over :class:`LabelingSession`.

Click the image to place the active part, drag a point to move it; every edit is saved at once
to the project's label store. Facts this relies on (checked in a real browser, see the shared
widget notes): a bqplot Image redraws only when its ``image`` widget is swapped, not when the
inner ``value`` changes; PanZoom swallows clicks and drags, so it is a toggled mode (shown by
a banner and an orange border; a click then says so); bqplot's own hover toolbar (a second,
unannounced pan/zoom) is off; ipyevents keys arrive only while the mouse is over the widget
(and twice in Voila: deduped in the logic).

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
    PANZOOM_CLICK_MESSAGE,
    LabelingSession,
    encode_jpeg,
    figure_layout,
    image_records,
    is_click,
    label_positions,
    legend_html,
    load_image,
    part_colors,
)

__all__ = ["FrameView", "KEY_HELP", "LabelingWidget", "NAME_HALO_CSS"]

#: CSS of the labeling widget, scoped to its ``poselab-labeling`` class. Names: white with a
#: black halo (``paint-order: stroke`` draws the outline under the fill), readable on dark and
#: light fur, and click-through so a click on a name still reaches the image. Pan/zoom mode
#: (class ``poselab-labeling-panzoom`` on the widget): an orange mode line and an orange outline
#: round the image (an outline, so it also replaces the focus ring ipyevents' focus draws there).
#: bqplot's hover toolbar is off (``display_toolbar``); the rule on ``.toolbar_div`` keeps it
#: hidden should a front end show it anyway.
NAME_HALO_CSS = ("paint-order: stroke; stroke: black; stroke-width: 3px; stroke-linejoin: round; "
                 "fill: white !important; pointer-events: none;")
LABELING_CSS = """<style>
.poselab-labeling .poselab-labeling-figure text.label { """ + NAME_HALO_CSS + """ }
.poselab-labeling .poselab-labeling-frame { width: fit-content; margin: 4px; }
.poselab-labeling.poselab-labeling-panzoom .poselab-labeling-frame,
.poselab-labeling.poselab-labeling-panzoom .poselab-labeling-frame:focus {
  outline: 4px solid #ff8c00 !important; cursor: move; }
.poselab-labeling .poselab-labeling-modeline { flex-wrap: nowrap; }
.poselab-labeling .poselab-labeling-banner { padding: 0 8px; border-radius: 4px; border: 1px solid #bbb;
  flex: none; white-space: nowrap; }
.poselab-labeling.poselab-labeling-panzoom .poselab-labeling-banner {
  background: #ff8c00; border-color: #ff8c00; color: black; font-weight: bold; }
.poselab-labeling .poselab-labeling-notice { color: #b35900; font-weight: bold; margin-left: 8px;
  flex: 1 1 auto; min-width: 0; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.poselab-labeling .poselab-labeling-figure .toolbar_div { display: none !important; }
</style>"""


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
    name_labels
        Write the names with a separate :class:`bqplot.Label` mark (:attr:`name_labels`), placed
        by :func:`~poselab.widgets.labeling_logic.label_positions` so they do not overlap, instead
        of the scatter's own names (see :meth:`draw_names`; style its ``text.label`` with CSS).
    occluded_marks
        Add :attr:`occluded_scatter`, draggable hollow rings for occluded points with a position.
    toolbar
        Show bqplot's own toolbar on hover (its pan/zoom button is a second pan tool that the
        widgets do not know about, so it is off by default).
    font_size
        Font size of the name labels, px.
    """

    def __init__(self, rgb: np.ndarray, *, css_class: str, display_width: int = 640, quality: int = 85,
                 marker_size: int = 64, display_names: bool = True, name_labels: bool = False,
                 occluded_marks: bool = False, toolbar: bool = False, font_size: int = 13):
        self.quality = int(quality)
        self.display_width = int(display_width)
        self.marker_size = float(marker_size)
        self.font_size = int(font_size)
        h, w = rgb.shape[:2]
        self.frame_size = (w, h)
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
            names=[], display_names=display_names and not name_labels, colors=["red"],
            tooltip=bq.Tooltip(fields=["name", "x", "y"], formats=["", ".1f", ".1f"]),
        )
        marks: list[bq.Mark] = [self.image_mark, self.skeleton_lines, self.scatter]
        self.occluded_scatter: bq.Scatter | None = None
        if occluded_marks:
            # fill=False and no stroke colour: bqplot strokes each ring in the point's colour
            self.occluded_scatter = bq.Scatter(
                x=[], y=[], scales=scales, enable_move=True, default_size=marker_size, fill=False,
                stroke_width=3, names=[], display_names=False, colors=["red"],
                tooltip=bq.Tooltip(fields=["name", "x", "y"], formats=["", ".1f", ".1f"]),
            )
            marks.append(self.occluded_scatter)
        self.name_labels: bq.Label | None = None
        if name_labels:
            # dominant-baseline is central in bqplot's Label: y is the text's centre
            self.name_labels = bq.Label(x=[], y=[], text=[], scales=scales, colors=["white"],
                                        default_size=self.font_size, font_weight="bold", align="start")
            marks.append(self.name_labels)
        self.figure = bq.Figure(
            marks=marks, fig_margin=lay["fig_margin"], display_toolbar=toolbar,
            padding_x=0, padding_y=0, min_aspect_ratio=0.01, max_aspect_ratio=100,
            layout=W.Layout(width=f"{lay['fig_width']}px", height=f"{lay['fig_height']}px"),
        )
        self.figure.add_class(css_class)

    def show(self, rgb: np.ndarray) -> None:
        """Show another frame (its size may differ: the scales follow)."""
        h, w = rgb.shape[:2]
        self.frame_size = (w, h)
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

    def draw_occluded(self, xy: Sequence[tuple[float, float]], names: Sequence[str],
                      colors: Sequence[str]) -> None:
        """Draw occluded points (pixels) as hollow rings (needs ``occluded_marks=True``)."""
        if self.occluded_scatter is None:
            raise ValueError("this FrameView was made without occluded_marks")
        with self.occluded_scatter.hold_sync():
            self.occluded_scatter.x = [float(x) for x, _ in xy]
            self.occluded_scatter.y = [float(y) for _, y in xy]
            self.occluded_scatter.names = list(names)
            self.occluded_scatter.colors = list(colors) or ["red"]

    def draw_names(self, xy: Sequence[tuple[float, float]], names: Sequence[str]) -> None:
        """Write ``names`` beside the points ``xy`` (pixels), moved apart so that none overlap
        at the unzoomed scale (needs ``name_labels=True``).

        The layout is done in screen pixels (:func:`~poselab.widgets.labeling_logic.label_positions`,
        text widths estimated from the font size) and stored in image pixels, so zooming in
        only spreads the labels further.
        """
        if self.name_labels is None:
            raise ValueError("this FrameView was made without name_labels")
        w, h = self.frame_size
        px = self.display_width / w  # screen px per image px, unzoomed
        names = list(names)
        if names:
            screen = (np.asarray(xy, dtype=float).reshape(-1, 2) + 0.5) * px
            # bold sans-serif is ~0.62 em per character; a little more keeps labels apart
            widths = [0.65 * self.font_size * len(n) + 4 for n in names]
            pos = label_positions(screen, widths, self.font_size + 2,
                                  offset=(np.sqrt(self.marker_size) / 2 + 4, 0.0), bounds=(0.0, h * px))
            data = pos / px - 0.5
        else:
            data = np.zeros((0, 2))
        with self.name_labels.hold_sync():
            self.name_labels.x = data[:, 0]
            self.name_labels.y = data[:, 1]
            self.name_labels.text = names

    def draw_skeleton(self, segments: np.ndarray) -> None:
        """Draw ``(n, 2, 2)`` line segments ``((x0, y0), (x1, y1))`` in pixels (none: no lines)."""
        segments = np.asarray(segments, dtype=float).reshape(-1, 2, 2)
        with self.skeleton_lines.hold_sync():
            self.skeleton_lines.x = segments[:, :, 0] if len(segments) else []
            self.skeleton_lines.y = segments[:, :, 1] if len(segments) else []


class LabelingWidget(W.VBox):
    """Keypoint labeling in the notebook, saved at once to ``project.labels``.

    Placed parts are filled dots, occluded parts with a position hollow rings (the legend marks
    ■ placed, □ not placed, ⊘ occluded); names are white with a black halo, moved apart where
    they would overlap. The mode line above the image says what a click does; in pan/zoom mode
    it and the image's outline turn orange, and a click on the image says it placed nothing.

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

        self._occluded_parts: list[str] = []
        self._mousedown: dict | None = None

        self.view = FrameView(self._frame_rgb(), css_class="poselab-labeling-figure", display_width=display_width,
                              quality=quality, marker_size=marker_size, name_labels=True, occluded_marks=True)
        self.xs, self.ys, self.figure = self.view.xs, self.view.ys, self.view.figure
        self.image_mark, self.scatter = self.view.image_mark, self.view.scatter
        self.occluded_scatter, self.name_labels = self.view.occluded_scatter, self.view.name_labels
        self.image_mark.on_element_click(self._on_image_click)
        self.scatter.on_drag_end(lambda m, e: self._on_drag_end(self._scatter_parts, e))
        self.occluded_scatter.on_drag_end(lambda m, e: self._on_drag_end(self._occluded_parts, e))
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
        self.css = W.HTML(LABELING_CSS, layout=W.Layout(display="none"))
        self.banner = W.HTML()
        self.banner.add_class("poselab-labeling-banner")
        self.notice = W.HTML()
        self.notice.add_class("poselab-labeling-notice")
        # one line whatever it says (no wrapping), so the image never moves when the mode changes
        self.mode_line = W.HBox([self.banner, self.notice])
        self.mode_line.add_class("poselab-labeling-modeline")

        self.frame_box = W.Box([self.figure])
        self.frame_box.add_class("poselab-labeling-frame")
        self.events = Event(source=self.frame_box, watched_events=["keydown"],
                            prevent_default_action=True)
        self.events.on_dom_event(self._on_key)
        # PanZoom takes the clicks on the figure (the image mark never hears them), so in pan/zoom
        # mode clicks are heard here, on the box, to say why nothing was placed.
        self.mouse_events = Event(source=self.frame_box, watched_events=["mousedown", "click"])
        self.mouse_events.on_dom_event(self._on_mouse)

        super().__init__([
            self.css,
            W.HBox([self.prev_button, self.next_button, self.jump, self.status]),
            self.animal_select, self.part_buttons, self.legend, self.mode_line, self.frame_box,
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
        # placed parts: filled dots; occluded ones with a position: hollow rings; both named
        pts = {p: v for p, v in self.session.points().items() if v[0] is not None}
        states = self.session.states()
        self._scatter_parts = [p for p in self.session.parts if p in pts and states[p] == "placed"]
        self._occluded_parts = [p for p in self.session.parts if p in pts and states[p] == "occluded"]
        self.view.draw_points([pts[p][:2] for p in self._scatter_parts], self._scatter_parts,
                              [self.colors[p] for p in self._scatter_parts])
        occluded_names = [p + " (occluded)" for p in self._occluded_parts]
        self.view.draw_occluded([pts[p][:2] for p in self._occluded_parts], occluded_names,
                                [self.colors[p] for p in self._occluded_parts])
        named = self._scatter_parts + self._occluded_parts
        self.view.draw_names([pts[p][:2] for p in named], self._scatter_parts + occluded_names)
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
        self.legend.value = legend_html(s.states(), s.part, self.colors)
        self.figure.interaction = self.panzoom if s.zoom else None
        if self.zoom_button.value != s.zoom:
            self.zoom_button.value = s.zoom
        self.banner.value = s.banner()
        if s.zoom:
            self.add_class("poselab-labeling-panzoom")
        else:
            self.remove_class("poselab-labeling-panzoom")

    def refresh(self) -> None:
        """Redraw the frame, points and status from the session (after edits made in code)."""
        self._refresh(new_frame=True)

    def _act(self, fn: Callable[[], Any]) -> None:
        index = self.session.index
        self.notice.value = ""
        try:
            fn()
            self.error.value = ""
        except ValueError as exc:  # show errors (e.g. LabelError) instead of losing them in a log
            self.error.value = f"<span style='color:red'>{exc}</span>"
        self._refresh(new_frame=self.session.index != index)

    # --- front-end callbacks --------------------------------------------------------------------

    def _on_image_click(self, _mark: Any, event: dict) -> None:
        data = event["data"]
        placed: list[str | None] = []
        self._act(lambda: placed.append(self.session.click(float(data["click_x"]), float(data["click_y"]))))
        if placed == [None]:
            self.notice.value = PANZOOM_CLICK_MESSAGE

    def _on_mouse(self, event: dict) -> None:
        if event.get("type") == "mousedown":
            self._mousedown = event
        elif event.get("type") == "click" and self.session.zoom and is_click(self._mousedown, event):
            self.notice.value = PANZOOM_CLICK_MESSAGE

    def _on_drag_end(self, parts: list[str], event: dict) -> None:
        # parts: the part of each point of the dragged scatter, as last drawn
        i = int(event["index"])
        point = event["point"]
        if 0 <= i < len(parts):
            part = parts[i]
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
