"""Projects: one portable folder per study, its configuration, labels and frames to label.

- :class:`Project` (:mod:`~poselab.project.project`): create, open or import a DeepLabCut
  project; choose frames, label, extract outlier frames, write predictions into the labels,
  review, labeled videos;
- :class:`ProjectConfig` (:mod:`~poselab.project.config`): the ``poselab.yaml`` settings (parts,
  animals, videos; the skeleton, left/right pairs and likelihood threshold that the widgets,
  training and labeled videos use);
- :class:`LabelStore` (:mod:`~poselab.project.labels`): every keypoint placed, in SQLite, and
  who placed it (a person or a model);
- :mod:`~poselab.project.predictions`: which predicted points may be written into the labels;
- :mod:`~poselab.project.frames`: choosing distinct frames (k-means) and extracting them.
"""

from __future__ import annotations

from poselab.project.config import ConfigError, ProjectConfig, VideoEntry
from poselab.project.labels import ImageRecord, LabelError, LabelStore
from poselab.project.project import Project, ProjectError

__all__ = [
    "ConfigError",
    "ImageRecord",
    "LabelError",
    "LabelStore",
    "Project",
    "ProjectConfig",
    "ProjectError",
    "VideoEntry",
]
