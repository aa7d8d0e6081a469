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
    poselab.filters, poselab.kinematics                                    # analysis
    poselab.datasets.synthetic(...)                                        # data with ground truth

Submodules load on first use, so ``import poselab`` stays fast (PyTorch loads only when a model
is needed).
"""

from __future__ import annotations

import importlib
from typing import Any

from poselab import poses
from poselab._version import __version__
from poselab.poses import load as load_poses
from poselab.poses import save as save_poses

_SUBMODULES = {
    "config", "datasets", "filters", "frames", "io", "kinematics", "labels", "model", "project",
    "video", "render", "gait", "behaviour", "plots", "inference", "multianimal", "widgets", "cli",
    "outliers",
}
_ATTRIBUTES = {
    "Project": ("poselab.project", "Project"),
    "create_model": ("poselab.model", "create_model"),
    "load_model": ("poselab.model", "load_model"),
    "open_video": ("poselab.video", "open_video"),
    "analyze_video": ("poselab.inference", "analyze_video"),
    "analyze_videos": ("poselab.inference", "analyze_videos"),
    "labeled_video": ("poselab.render", "labeled_video"),
}

__all__ = ["__version__", "poses", "load_poses", "save_poses", *sorted(_ATTRIBUTES), *sorted(_SUBMODULES)]


def __getattr__(name: str) -> Any:
    if name in _ATTRIBUTES:
        module, attribute = _ATTRIBUTES[name]
        value = getattr(importlib.import_module(module), attribute)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"poselab.{name}")
    else:
        raise AttributeError(f"module 'poselab' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
