"""TrainingWidget: start/stop training in the background, live loss and test-RMSE curves.

A thin ipywidgets + bqplot view over :class:`~poselab.widgets.training_logic.TrainingSession`.
Training runs in a thread, so the kernel stays free (label more frames while it trains); the
curves and the status line are updated from the training thread after every epoch.
"""

from __future__ import annotations

import threading
from typing import Any

import bqplot as bq
import ipywidgets as W

from poselab.widgets.training_logic import TrainingSession, TrainingSessionError, epoch_ticks, on_change


def _curve_figure(title: str, y_label: str, color: str) -> tuple[bq.Figure, bq.Lines, bq.Scatter]:
    xs, ys = bq.LinearScale(), bq.LinearScale()
    line = bq.Lines(x=[], y=[], scales={"x": xs, "y": ys}, colors=[color], marker="circle",
                    marker_size=16)
    best = bq.Scatter(x=[], y=[], scales={"x": xs, "y": ys}, colors=["black"], marker="diamond",
                      default_size=80)
    fig = bq.Figure(
        marks=[line, best], title=title, axes=[
            bq.Axis(scale=xs, label="epoch", tick_format="d", side="bottom"),
            bq.Axis(scale=ys, side="left", label=y_label)],
        layout=W.Layout(width="420px", height="280px"), fig_margin={"top": 40, "bottom": 45, "left": 60, "right": 15},
    )
    return fig, line, best


class TrainingWidget(W.VBox):
    """Train a pose model on a project's labels from the notebook.

    Parameters
    ----------
    project
        A :class:`~poselab.project.Project` with labeled frames.
    **session_kwargs
        :class:`TrainingSession` settings: ``name``, ``epochs`` or ``minutes``, ``recipe`` (a
        :class:`poselab.model.Recipe`: model and training settings), ``animal``, ``init_from``.

    Attributes
    ----------
    session : TrainingSession
        The logic (records, curves, best checkpoint, ETA); ``session.best_model()`` loads the
        best checkpoint.
    """

    def __init__(self, project: Any, **session_kwargs: Any):
        self.session = TrainingSession(project, **session_kwargs)
        s = self.session
        self.epochs = W.BoundedIntText(value=int(s.epochs or 0), min=0, max=100000,
                                       description="epochs", layout=W.Layout(width="170px"))
        self.minutes = W.BoundedFloatText(value=float(s.minutes or 5.0), min=0.05, max=10000.0, step=0.5,
                                          description="or minutes", layout=W.Layout(width="190px"))
        self.start_button = W.Button(description="start training", icon="play", button_style="success")
        self.stop_button = W.Button(description="stop", icon="stop", button_style="danger", disabled=True)
        self.start_button.on_click(lambda _: self.start())
        self.stop_button.on_click(lambda _: self.stop())
        self.loss_figure, self.loss_line, self.loss_best = _curve_figure("training loss", "loss", "#4363d8")
        self.rmse_figure, self.rmse_line, self.rmse_best = _curve_figure(
            "test RMSE (held-out frames)", "pixels", "#e6194b")
        self.status = W.HTML()
        self.notice = W.HTML()  # guidance that is not an error (e.g. a second start)
        self.checkpoint = W.HTML()
        self.help = W.HTML("<i>Training runs in the background: the notebook stays usable. "
                           "epochs 0 = train for the given minutes.</i>")
        super().__init__([
            W.HBox([self.epochs, self.minutes, self.start_button, self.stop_button]),
            self.status, self.notice, W.HBox([self.loss_figure, self.rmse_figure]), self.checkpoint, self.help,
        ])
        self.add_class("poselab-training")
        # update() runs in the training thread (each epoch) and in the kernel's (clicks): one at a time
        self._update_lock = threading.Lock()
        on_change(self.session, lambda _s: self.update())
        self.update()

    def start(self) -> None:
        """Start training with the epochs / minutes in the fields (the "start training" button).

        When training already runs (the button was clicked, then a cell calling ``start()`` was
        run), this only says so: ``session.wait()`` then waits for that run.
        """
        s = self.session
        if s.running:
            self.notice.value = ("<i>training is already running (started with the button): "
                                 "<code>session.wait()</code> waits for it, the stop button ends it.</i>")
            return
        self.notice.value = ""
        s.epochs = int(self.epochs.value) or None
        s.minutes = float(self.minutes.value)
        try:
            s.start()
        except (TrainingSessionError, ValueError) as exc:
            self.status.value = f"<span style='color:red'>{exc}</span>"
            return
        self.update()

    def stop(self) -> None:
        """Ask training to stop after the current step."""
        self.session.stop()
        self.update()

    def update(self) -> None:
        """Redraw curves, buttons and status from the session (called after every epoch)."""
        with self._update_lock:
            self._draw()

    def _draw(self) -> None:
        s = self.session
        c = s.curves()
        best = s.best()
        with self.loss_line.hold_sync():
            self.loss_line.x, self.loss_line.y = c["epoch"], c["loss"]
        with self.rmse_line.hold_sync():
            self.rmse_line.x, self.rmse_line.y = c["test_epoch"], c["test_rmse_px"]
        with self.rmse_best.hold_sync():
            self.rmse_best.x = [best["epoch"]] if best else []
            self.rmse_best.y = [best["test_rmse_px"]] if best else []
        low, high, ticks = epoch_ticks(c["epoch"], int(self.epochs.value) or None)
        for figure in (self.loss_figure, self.rmse_figure):  # whole epochs, each tick once
            axis = figure.axes[0]
            with axis.scale.hold_sync():
                axis.scale.min, axis.scale.max = float(low), float(high)
            axis.tick_values = ticks
        self.start_button.disabled = s.running
        self.stop_button.disabled = s.state not in ("preparing", "running")
        self.epochs.disabled = self.minutes.disabled = s.running
        colour = {"failed": "red", "running": "green", "preparing": "#b8860b"}.get(s.state, "black")
        self.status.value = f"<b style='color:{colour}'>{s.status()}</b>"
        if best is not None and s.run_dir is not None:
            self.checkpoint.value = (f"best checkpoint: <code>{s.project.relative(best['path'])}</code> "
                                     f"(epoch {best['epoch']}, test RMSE {best['test_rmse_px']:.2f} px)")
        else:
            self.checkpoint.value = ""


def train_widget(project: Any, **kwargs: Any) -> TrainingWidget:
    """The training widget for a project (see :class:`TrainingWidget`)."""
    return TrainingWidget(project, **kwargs)
