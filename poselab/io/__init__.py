"""Reading and writing pose files: DeepLabCut, SLEAP analysis HDF5, the movement schema."""

from __future__ import annotations

from poselab.io.deeplabcut import read_deeplabcut, write_deeplabcut

__all__ = ["read_deeplabcut", "write_deeplabcut"]
