"""poselab: markerless animal pose estimation and movement analysis, in notebooks."""

from poselab import poses
from poselab._version import __version__

__all__ = ["__version__", "poses"]
