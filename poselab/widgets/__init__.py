"""Notebook widgets (ipywidgets + bqplot) over pure, tested logic.

* :func:`label` / :class:`~poselab.widgets.labeling.LabelingWidget`: click/drag keypoint labeling
  saved at once to the project's label store (logic in :mod:`poselab.widgets.labeling_logic`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported lazily: ipywidgets/bqplot are only needed when a widget is made
    from poselab.widgets.labeling import LabelingWidget


def label(project: Any, **kwargs: Any) -> "LabelingWidget":
    """The labeling widget for a :class:`~poselab.project.Project` (see ``LabelingWidget``)."""
    from poselab.widgets.labeling import LabelingWidget

    return LabelingWidget(project, **kwargs)


__all__ = ["label"]
