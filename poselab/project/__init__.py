"""Projects: one portable folder per study, its configuration, labels and frames to label.

- :class:`Project` (:mod:`~poselab.project.project`): create, open or import a DeepLabCut
  project; choose frames, label, extract outlier frames, review;
- :class:`ProjectConfig` (:mod:`~poselab.project.config`): the ``poselab.yaml`` settings;
- :class:`LabelStore` (:mod:`~poselab.project.labels`): every keypoint placed, in SQLite;
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
