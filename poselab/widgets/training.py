"""TrainingWidget: start/stop training in the background, live loss and test-RMSE curves.

A thin ipywidgets + bqplot view over :class:`~poselab.widgets.training_logic.TrainingSession`.
Training runs in a thread, so the kernel stays free (label more frames while it trains); the
curves and the status line are updated from the training thread after every epoch.
"""

from __future__ import annotations

from typing import Any

import bqplot as bq
import ipywidgets as W

from poselab.widgets.training_logic import TrainingSession, TrainingSessionError, on_change


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
        self.checkpoint = W.HTML()
        self.help = W.HTML("<i>Training runs in the background: the notebook stays usable. "
                           "epochs 0 = train for the given minutes.</i>")
        super().__init__([
            W.HBox([self.epochs, self.minutes, self.start_button, self.stop_button]),
            self.status, W.HBox([self.loss_figure, self.rmse_figure]), self.checkpoint, self.help,
        ])
        self.add_class("poselab-training")
        on_change(self.session, lambda _s: self.update())
        self.update()

    def start(self) -> None:
        """Start training with the epochs / minutes in the fields."""
        s = self.session
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
        self.start_button.disabled = s.running
        self.stop_button.disabled = s.state != "running"
        self.epochs.disabled = self.minutes.disabled = s.running
        colour = {"failed": "red", "running": "green"}.get(s.state, "black")
        self.status.value = f"<b style='color:{colour}'>{s.status()}</b>"
        if best is not None and s.run_dir is not None:
            self.checkpoint.value = (f"best checkpoint: <code>{s.project.relative(best['path'])}</code> "
                                     f"(epoch {best['epoch']}, test RMSE {best['test_rmse_px']:.2f} px)")
        else:
            self.checkpoint.value = ""


def train_widget(project: Any, **kwargs: Any) -> TrainingWidget:
    """The training widget for a project (see :class:`TrainingWidget`)."""
    return TrainingWidget(project, **kwargs)
