"""The behaviour package keeps the names of the former module."""

from __future__ import annotations

import pytest

from poselab.analysis import behaviour as bh
from poselab.core.errors import PoselabError


def test_every_public_name_is_reachable():
    names = ["BehaviourError", "pose_features", "standardise", "GaussianHMM", "viterbi",
             "change_points", "changepoint_states", "segment", "BoutClassifier", "bouts",
             "match_states", "frame_scores", "boundary_f1", "bout_scores",
             "to_keypoint_moseq", "to_bsoid", "to_simba"]
    assert sorted(bh.__all__) == sorted(names)
    for name in names:
        assert callable(getattr(bh, name)), name
    from poselab.analysis.behaviour import BoutClassifier, segment
    from poselab.analysis.behaviour.classifier import BoutClassifier as direct
    from poselab.io import behaviour_tools

    assert BoutClassifier is direct and segment is bh.segment
    assert bh.to_bsoid is behaviour_tools.to_bsoid
    with pytest.raises(AttributeError):
        bh.no_such_name  # noqa: B018


def test_behaviour_error_is_a_poselab_value_error():
    assert issubclass(bh.BehaviourError, PoselabError)
    assert issubclass(bh.BehaviourError, ValueError)
    with pytest.raises(PoselabError):
        bh.GaussianHMM(0)
