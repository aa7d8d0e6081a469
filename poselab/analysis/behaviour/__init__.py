"""Behaviour segmentation and its evaluation.

* :mod:`~.features`: :func:`pose_features`, egocentric, body-length-normalised features per
  frame (speeds, turning, body length, fore-paw places), averaged over a sliding window;
  :func:`standardise` pools sessions.
* :mod:`~.hmm`: :class:`GaussianHMM` (hmmlearn: EM with a variance floor, restarts, sticky
  transitions, diagonal or full covariances, several sessions; Viterbi decoding) and
  :func:`viterbi`.
* :mod:`~.changepoints`: :func:`change_points` (PELT with an L2 cost, ruptures) and
  :func:`changepoint_states` (weighted k-means on the segments, scikit-learn).
* :mod:`~.segmentation`: :func:`segment`, unsupervised states of several sessions with one
  model.
* :mod:`~.classifier`: :class:`BoutClassifier`, supervised from a few labeled bouts
  (Gaussian class models with shrinkage, decoded with a sticky Viterbi).
* :mod:`~.scores`: :func:`bouts`, Hungarian :func:`match_states`, per-frame
  :func:`frame_scores`, :func:`boundary_f1`, bout-level :func:`bout_scores`.
* Export to keypoint-MoSeq, B-SOiD and SimBA lives in :mod:`poselab.io.behaviour_tools`
  (:func:`to_keypoint_moseq`, :func:`to_bsoid`, :func:`to_simba`, also reachable here).

Usage: ``from poselab.analysis import behaviour as bh; bh.segment([bh.pose_features(ds).values], 5)``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from poselab.analysis.behaviour.errors import BehaviourError
from poselab.analysis.behaviour.features import pose_features, standardise
from poselab.analysis.behaviour.scores import (
    boundary_f1,
    bout_scores,
    bouts,
    frame_scores,
    match_states,
)
from poselab.io.behaviour_tools import to_bsoid, to_keypoint_moseq, to_simba

if TYPE_CHECKING:
    from poselab.analysis.behaviour.changepoints import change_points, changepoint_states
    from poselab.analysis.behaviour.classifier import BoutClassifier
    from poselab.analysis.behaviour.hmm import GaussianHMM, viterbi
    from poselab.analysis.behaviour.segmentation import segment

__all__ = [
    "BehaviourError",
    "BoutClassifier",
    "GaussianHMM",
    "boundary_f1",
    "bout_scores",
    "bouts",
    "change_points",
    "changepoint_states",
    "frame_scores",
    "match_states",
    "pose_features",
    "segment",
    "standardise",
    "to_bsoid",
    "to_keypoint_moseq",
    "to_simba",
    "viterbi",
]

# Names from the modules that import hmmlearn, ruptures, scikit-learn or scipy.stats (about
# 2 s together), loaded on first use so that ``import poselab.analysis`` stays quick.
_LAZY = {"GaussianHMM": "hmm", "viterbi": "hmm", "change_points": "changepoints",
         "changepoint_states": "changepoints", "segment": "segmentation",
         "BoutClassifier": "classifier"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
