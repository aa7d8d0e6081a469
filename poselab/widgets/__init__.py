"""Notebook widgets (ipywidgets + bqplot) over pure, tested logic.

* :func:`label` / :class:`~poselab.widgets.labeling.LabelingWidget`: click/drag keypoint labeling
  saved at once to the project's label store (logic in :mod:`poselab.widgets.labeling_logic`).
* :func:`train_widget` / :class:`~poselab.widgets.training.TrainingWidget`: background training
  with live loss and test-RMSE curves, best checkpoint and ETA (logic:
  :mod:`poselab.widgets.training_logic`).
* :func:`review_widget` / :class:`~poselab.widgets.review.ReviewWidget`: scrub predictions over the video,
  jump to outlier frames, drag to correct, send corrected frames to the label store, swap
  identities (logic: :mod:`poselab.widgets.review_logic`).
* :func:`live_widget` / :class:`~poselab.widgets.live.LiveWidget`: the live view of
  :mod:`poselab.live` (frame and parts, frames/s and latency, start/stop, a trigger region drawn
  over the frame; logic: :mod:`poselab.widgets.live_logic`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported lazily: ipywidgets/bqplot are only needed when a widget is made
    from poselab.widgets.labeling import LabelingWidget
    from poselab.widgets.live import LiveWidget
    from poselab.widgets.review import ReviewWidget
    from poselab.widgets.training import TrainingWidget


def label(project: Any, **kwargs: Any) -> "LabelingWidget":
    """The labeling widget for a :class:`~poselab.project.Project` (see ``LabelingWidget``)."""
    from poselab.widgets.labeling import LabelingWidget

    return LabelingWidget(project, **kwargs)


def train_widget(project: Any, **kwargs: Any) -> "TrainingWidget":
    """The training widget for a project (see ``TrainingWidget``; ``TrainingSession`` settings)."""
    from poselab.widgets.training import TrainingWidget

    return TrainingWidget(project, **kwargs)


def review_widget(poses: Any, video: Any, project: Any = None, **kwargs: Any) -> "ReviewWidget":
    """The review widget for predictions of ``video`` (see ``ReviewWidget``).

    (Not named ``review``: that is the submodule :mod:`poselab.widgets.review`.)
    """
    from poselab.widgets.review import ReviewWidget

    return ReviewWidget(poses, video, project, **kwargs)


def live_widget(model: Any, source: Any, **kwargs: Any) -> "LiveWidget":
    """The live view: pose from a camera or a replayed video (see ``LiveWidget``; ``LiveConfig`` settings)."""
    from poselab.widgets.live import LiveWidget

    return LiveWidget(model, source, **kwargs)


__all__ = ["label", "live_widget", "review_widget", "train_widget"]
