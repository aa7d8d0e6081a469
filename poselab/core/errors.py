"""The root of poselab's errors.

Every error poselab raises on purpose derives from :class:`PoselabError`, so a notebook or a
batch script can catch all of them in one ``except`` (and tell them from bugs). Each layer has
its own subclass (``PoseDataError``, ``VideoError``, ``TrainingError``, ...), which also derives
from the built-in exception it stands for (``ValueError`` for bad input, ``FileNotFoundError``
for a missing dataset): code written against the built-in keeps working.
"""

from __future__ import annotations

__all__ = ["PoselabError", "ResourceError"]


class PoselabError(Exception):
    """Base class of every error poselab raises on purpose; the message says what to fix."""


class ResourceError(PoselabError, MemoryError):
    """A step cannot fit in the memory (or other resources) this process may use.

    Raised before the step starts, instead of the kernel's OOM killer stopping the whole notebook
    kernel mid-step; the message says what the step needs, what is allowed and in use, and what
    to do.
    """
