"""poselab: markerless animal pose estimation and movement analysis, in notebooks.

The short public API::

    import poselab
    project = poselab.Project.create("study", parts=[...], videos=[...])   # or Project.open / from_deeplabcut
    project.select_frames(n=20)                                            # frames to label
    project.label()                                                        # labeling widget
    model = poselab.create_model("tf_efficientnet_lite0", parts=project.parts)
    poses = poselab.analyze_video(model, "videos/mouse.mp4", out="poses/mouse.nc")
    ds = poselab.load_poses("poses/video.nc")                              # the pose Dataset
    poselab.io.read_deeplabcut(...), poselab.io.to_movement(ds)            # formats
    from poselab.analysis import filters, kinematics, gait, behaviour      # analysis
    poselab.datasets.synthetic(...)                                        # data with ground truth
    poselab.zoo.load("topview_mouse")                                      # a model before any label

The package's layers, bottom to top: ``core`` (the pose Dataset, errors, atomic files, the input
validator), ``io`` (pose formats, video), ``datasets``, ``model``, ``analysis``, ``inference``,
``zoo``, ``live``, ``multianimal``, ``widgets``, ``project``; ``cli`` and ``demo`` on top. The analysis modules and a few others
are also reachable one level up (``poselab.filters`` is ``poselab.analysis.filters``).

Submodules load on first use, so ``import poselab`` stays fast (PyTorch loads only when a model
is needed).
"""

from __future__ import annotations

import importlib
from typing import Any

from poselab._version import __version__
from poselab.core import poses
from poselab.core.errors import PoselabError
from poselab.core.poses import load as load_poses
from poselab.core.poses import save as save_poses

# Layers (sub-packages) and top-level modules, imported on first use.
_SUBMODULES = {
    "analysis": "poselab.analysis",
    "cli": "poselab.cli",
    "core": "poselab.core",
    "datasets": "poselab.datasets",
    "demo": "poselab.demo",
    "inference": "poselab.inference",
    "io": "poselab.io",
    "live": "poselab.live",
    "model": "poselab.model",
    "multianimal": "poselab.multianimal",
    "project": "poselab.project",
    "widgets": "poselab.widgets",
    "zoo": "poselab.zoo",
    # Short names for modules that live one level down.
    "behaviour": "poselab.analysis.behaviour",
    "filters": "poselab.analysis.filters",
    "gait": "poselab.analysis.gait",
    "kinematics": "poselab.analysis.kinematics",
    "outliers": "poselab.analysis.outliers",
    "plots": "poselab.analysis.plots",
    "config": "poselab.project.config",
    "frames": "poselab.project.frames",
    "labels": "poselab.project.labels",
    "render": "poselab.io.render",
    "video": "poselab.io.video",
}
_ATTRIBUTES = {
    "Project": ("poselab.project", "Project"),
    "create_model": ("poselab.model", "create_model"),
    "load_model": ("poselab.model", "load_model"),
    "train": ("poselab.model", "train"),
    "TrainConfig": ("poselab.model", "TrainConfig"),
    "open_video": ("poselab.io.video", "open_video"),
    "analyze_video": ("poselab.inference", "analyze_video"),
    "analyze_videos": ("poselab.inference", "analyze_videos"),
    "labeled_video": ("poselab.io.render", "labeled_video"),
}

__all__ = [
    "__version__", "PoselabError", "poses", "load_poses", "save_poses",
    *sorted(_ATTRIBUTES), *sorted(_SUBMODULES),
]


def __getattr__(name: str) -> Any:
    if name in _ATTRIBUTES:
        module, attribute = _ATTRIBUTES[name]
        value = getattr(importlib.import_module(module), attribute)
    elif name in _SUBMODULES:
        value = importlib.import_module(_SUBMODULES[name])
    else:
        raise AttributeError(f"module 'poselab' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
