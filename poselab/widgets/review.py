"""ReviewWidget: scrub an analyzed video, jump to outliers, drag wrong predictions, send
corrected frames to the label store; swap identities for multi-animal results.

A thin ipywidgets + bqplot view over :class:`~poselab.widgets.review_logic.ReviewSession`.
The frame, the skeleton and the predictions are a :class:`~poselab.widgets.labeling.FrameView`
(image coordinates: origin top-left, y down; the image widget is swapped on every frame
change, since changing its value would not redraw; the predictions a draggable Scatter,
faint below the cut-off), and the likelihood traces of the parts a Lines figure under it with
a rule at the current frame, the cut-off and ticks at the outlier frames.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import bqplot as bq
import ipywidgets as W
from ipyevents import Event

from poselab.widgets.labeling import NAME_HALO_CSS, FrameView
from poselab.widgets.labeling_logic import part_colors
from poselab.widgets.review_logic import KEY_HELP, ReviewSession

__all__ = ["KEY_HELP", "ReviewWidget", "review"]


class ReviewWidget(W.VBox):
    """Review predictions of a video and feed corrections back as training data.

    Parameters
    ----------
    poses
        The predictions (e.g. from :func:`poselab.inference.analyze_video`).
    video
        The analyzed video file.
    project
        The project whose label store receives corrected frames.
    display_width
        Displayed frame width (screen pixels); the height keeps the aspect ratio.
    quality
        JPEG quality of the frames sent to the browser.
    marker_size
        Scatter marker area (px²).
    **session_kwargs
        :class:`ReviewSession` settings (``outliers``, ``scores``, ``n_outliers``, ``fitting``,
        ``p_cutoff``, ``skeleton``, ``overwrite_labels``, ``video_name``...). Opened from a
        project, the cut-off and skeleton default to the project's.
    """

    def __init__(self, poses: Any, video: Any, project: Any = None, *, display_width: int = 640,
                 quality: int = 85, marker_size: int = 64, **session_kwargs: Any):
        self.session = ReviewSession(poses, video, project, **session_kwargs)
        s = self.session
        self.quality = int(quality)
        self.colors = part_colors(s.parts)
        self._scatter_ids: list[tuple[str, str]] = []

        self.view = FrameView(s.image(), css_class="poselab-review-figure", display_width=display_width,
                              quality=quality, marker_size=marker_size, display_names=len(s.animals) == 1,
                              name_labels=len(s.animals) == 1)  # names apart, with a halo
        self.xs, self.ys, self.figure = self.view.xs, self.view.ys, self.view.figure
        self.image_mark, self.scatter = self.view.image_mark, self.view.scatter
        self.scatter.on_drag_end(self._on_drag_end)
        lay_width = self.figure.layout.width

        # likelihood traces of one animal, a rule at the current frame, ticks at the outliers
        frames = s.frames.astype(float)
        self.tx = bq.LinearScale(min=float(frames[0]), max=float(frames[-1]))
        self.ty = bq.LinearScale(min=0.0, max=1.05, allow_padding=False)
        trace_x, trace_y = s.likelihood_traces()
        self.traces = bq.Lines(x=trace_x.astype(float), y=trace_y, scales={"x": self.tx, "y": self.ty},
                               colors=[self.colors[p] for p in s.parts], labels=s.parts,
                               display_legend=False, stroke_width=1.5)
        self.cutoff_rule = bq.Lines(x=[frames[0], frames[-1]], y=[s.p_cutoff, s.p_cutoff],
                                    scales={"x": self.tx, "y": self.ty}, colors=["#888"], line_style="dashed")
        # the dashed rule says what it is: points below it are drawn faint and score as outliers
        self.cutoff_label = bq.Label(x=[frames[-1]], y=[s.p_cutoff], text=[f"p_cutoff {s.p_cutoff:.2f}"],
                                     scales={"x": self.tx, "y": self.ty}, colors=["#555"], align="end",
                                     y_offset=-9, default_size=11)  # above the rule
        self.frame_rule = bq.Lines(x=[s.frame, s.frame], y=[0, 1.05], scales={"x": self.tx, "y": self.ty},
                                   colors=["black"])
        self.outlier_ticks = bq.Scatter(x=[float(f) for f in s.outliers], y=[1.02] * len(s.outliers),
                                        scales={"x": self.tx, "y": self.ty}, marker="triangle-down",
                                        colors=["red"], default_size=40)
        self.trace_figure = bq.Figure(
            marks=[self.traces, self.cutoff_rule, self.cutoff_label, self.frame_rule, self.outlier_ticks],
            axes=[bq.Axis(scale=self.tx, label="frame", tick_format="d", side="bottom"),
                  # fixed ticks: d3's automatic ones on [0, 1.05] read 0 / 0.53 / 1.1
                  bq.Axis(scale=self.ty, label="likelihood", side="left", tick_values=[0.0, 0.5, 1.0],
                          tick_format=".1f")],
            layout=W.Layout(width=lay_width, height="170px"),
            fig_margin={"top": 10, "bottom": 40, "left": 55, "right": 10},
        )

        self.slider = W.IntSlider(value=s.index, min=0, max=len(s.frames) - 1, description="frame",
                                  readout=False, continuous_update=False, layout=W.Layout(width="420px"))
        self.slider.observe(self._on_slider, names="value")
        self.prev_button = W.Button(description="", icon="step-backward", tooltip="previous frame",
                                    layout=W.Layout(width="40px"))
        self.next_button = W.Button(description="", icon="step-forward", tooltip="next frame",
                                    layout=W.Layout(width="40px"))
        self.prev_outlier_button = W.Button(description="previous outlier", icon="arrow-left")
        self.next_outlier_button = W.Button(description="next outlier", icon="arrow-right")
        self.prev_button.on_click(lambda _: self._act(s.previous))
        self.next_button.on_click(lambda _: self._act(s.next))
        self.prev_outlier_button.on_click(lambda _: self._act(s.previous_outlier))
        self.next_outlier_button.on_click(lambda _: self._act(s.next_outlier))
        self.outlier_list = W.Dropdown(options=[("outliers…", -1)] + [(str(f), f) for f in s.outliers],
                                       value=-1, description="jump to", layout=W.Layout(width="200px"))
        self.outlier_list.observe(self._on_outlier_pick, names="value")

        self.trace_animal = W.Dropdown(options=s.animals, value=s.animals[0], description="traces of",
                                       layout=W.Layout(width="220px"))
        self.trace_animal.observe(lambda _: self._draw_traces(), names="value")
        self.swap_a = W.Dropdown(options=s.animals, value=s.animals[0], description="swap",
                                 layout=W.Layout(width="200px"))
        self.swap_b = W.Dropdown(options=s.animals, value=s.animals[-1], description="with",
                                 layout=W.Layout(width="200px"))
        self.swap_button = W.Button(description="swap identities from this frame on", icon="exchange")
        self.swap_button.on_click(lambda _: self._act(lambda: s.swap(self.swap_a.value, self.swap_b.value),
                                                              traces=True))
        self.swap_box = W.HBox([self.swap_a, self.swap_b, self.swap_button],
                               layout=W.Layout(display="flex" if len(s.animals) > 1 else "none"))

        self.send_button = W.Button(description="send corrected frames to the label store",
                                    icon="upload", button_style="primary", disabled=project is None,
                                    layout=W.Layout(width="330px"))
        self.send_button.on_click(lambda _: self.send())
        self.legend = W.HTML(" ".join(f"<span style='color:{self.colors[p]}'>■ {p}</span>" for p in s.parts))
        self.status = W.HTML()
        self.message = W.HTML()
        self.help = W.HTML(f"<i>{KEY_HELP}</i>")

        self.frame_box = W.Box([self.figure])
        self.frame_box.add_class("poselab-review-frame")
        self.events = Event(source=self.frame_box, watched_events=["keydown"], prevent_default_action=True)
        self.events.on_dom_event(lambda event: self._act(lambda: s.handle_key(event)))

        super().__init__([
            W.HBox([self.prev_button, self.slider, self.next_button, self.status]),
            W.HBox([self.prev_outlier_button, self.next_outlier_button, self.outlier_list]),
            self.legend, self.frame_box, W.HBox([self.trace_animal]), self.trace_figure,
            self.swap_box, self.send_button, self.message, self.help,
        ])
        self.add_class("poselab-review")
        self.css = W.HTML("<style>.poselab-review .poselab-review-figure text.label { "
                          + NAME_HALO_CSS + " }</style>", layout=W.Layout(display="none"))
        self.children = (*self.children, self.css)
        self._shown = s.frame
        self._refresh(new_frame=False)

    # --- drawing --------------------------------------------------------------------------------

    def _show_frame(self) -> None:
        self.view.show(self.session.image())
        self._shown = self.session.frame

    def _draw_points(self) -> None:
        s = self.session
        pts = s.points()
        self._scatter_ids = [(a, p) for a, p, *_ in pts]
        multi = len(s.animals) > 1
        self.view.draw_points([(x, y) for *_, x, y, _l in pts],
                              [f"{a}:{p}" if multi else p for a, p, *_ in pts],
                              [self.colors[p] for _a, p, *_ in pts],
                              # faint where the model is unsure (below p_cutoff)
                              [1.0 if lik >= s.p_cutoff else 0.35 for *_, lik in pts])
        if self.view.name_labels is not None:
            self.view.draw_names([(x, y) for *_, x, y, _l in pts], [p for _a, p, *_ in pts])
        self.view.draw_skeleton(s.segments())

    def _draw_traces(self) -> None:
        x, y = self.session.likelihood_traces(self.trace_animal.value)
        with self.traces.hold_sync():
            self.traces.x, self.traces.y = x.astype(float), y

    def _refresh(self, new_frame: bool = True) -> None:
        s = self.session
        if new_frame and self._shown != s.frame:
            self._show_frame()
        self._draw_points()
        if self.slider.value != s.index:
            self.slider.value = s.index
        self.frame_rule.x = [s.frame, s.frame]
        self.status.value = f"<b>{s.status()}</b>"

    def refresh(self) -> None:
        """Redraw everything from the session (after changes made in code)."""
        self._draw_traces()
        self._refresh()

    def _act(self, fn: Callable[[], Any], traces: bool = False) -> None:
        try:
            fn()
            self.message.value = ""
        except ValueError as exc:  # shown, not lost in a log
            self.message.value = f"<span style='color:red'>{exc}</span>"
        if traces:  # only after edits: the traces are the biggest message
            self._draw_traces()
        self._refresh()

    def send(self) -> list[str]:
        """Send the corrected frames to the label store (the "send" button)."""
        images: list[str] = []

        def run() -> None:
            images.extend(self.session.send_to_label_store())

        self._act(run)
        if images:
            self.message.value = (f"sent {len(images)} frame(s) to the label store: "
                                  + ", ".join(f"<code>{i}</code>" for i in images))
            if self.session.kept:
                self.message.value += (
                    f"<br>{len(self.session.kept)} correction(s) not written where a person had labeled "
                    "the point (open the review with <code>overwrite_labels=True</code> to replace them)")
        elif not self.message.value:
            self.message.value = "no corrected frames to send: drag a wrong point first"
        return images

    # --- front-end callbacks --------------------------------------------------------------------

    def _on_drag_end(self, _mark: Any, event: dict) -> None:
        i = int(event["index"])
        point = event["point"]
        if 0 <= i < len(self._scatter_ids):
            animal, part = self._scatter_ids[i]
            self._act(lambda: self.session.move(animal, part, float(point["x"]), float(point["y"])),
                      traces=True)

    def _on_slider(self, change: dict) -> None:
        if int(change["new"]) != self.session.index:
            self._act(lambda: self.session.goto_index(int(change["new"])))

    def _on_outlier_pick(self, change: dict) -> None:
        if int(change["new"]) >= 0:
            self._act(lambda: self.session.goto(int(change["new"])))


def review(poses: Any, video: Any, project: Any = None, **kwargs: Any) -> ReviewWidget:
    """The review widget (see :class:`ReviewWidget`)."""
    return ReviewWidget(poses, video, project, **kwargs)
