"""The error of the behaviour modules."""

from __future__ import annotations

from poselab.core.errors import PoselabError

__all__ = ["BehaviourError"]


class BehaviourError(PoselabError, ValueError):
    """Raised when behaviour inputs are invalid (the message says which argument to fix)."""
