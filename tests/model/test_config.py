"""TrainConfig: one object for every training setting, checked before a run starts."""

from __future__ import annotations

import pytest

from poselab.core.errors import PoselabError
from poselab.model import AugmentConfig, TrainConfig, TrainingError


def test_settings_are_checked_all_at_once():
    with pytest.raises(TrainingError) as info:
        TrainConfig(epochs=0, batch_size=1, warmup=1.5).check()
    message = str(info.value)
    assert "epochs must be >= 1" in message and "batch_size must be >= 2" in message
    assert "warmup" in message
    assert isinstance(info.value, PoselabError) and isinstance(info.value, ValueError)
    with pytest.raises(TrainingError, match="give epochs"):
        TrainConfig().check()
    with pytest.raises(TrainingError, match="cached_views needs freeze_backbone"):
        TrainConfig(epochs=1, cached_views=2).check()


def test_replace_refuses_unknown_names_and_keeps_the_rest():
    base = TrainConfig(epochs=5, lr=2e-3)
    changed = base.replace(minutes=3.0, epochs=None)
    assert (changed.minutes, changed.epochs, changed.lr) == (3.0, None, 2e-3)
    assert base.epochs == 5  # a copy
    with pytest.raises(TypeError, match="unknown training setting.*'learning_rate'"):
        base.replace(learning_rate=1.0)


def test_augment_flags_become_configs_and_the_dict_is_json_ready():
    import json

    assert TrainConfig(augment=True).augment == AugmentConfig()
    assert TrainConfig(augment=False).augment == AugmentConfig.none()
    d = TrainConfig(epochs=2, augment=AugmentConfig(rotation=90)).to_dict()
    assert d["augment"]["rotation"] == 90 and d["augment"]["scale"] == [0.8, 1.25]
    assert json.loads(json.dumps(d))["epochs"] == 2
    with pytest.raises(TrainingError, match="augment must be"):
        TrainConfig(augment="yes")


def test_channels_last_none_means_the_default_on():
    # benchmarks pass their --channels-last flag through, None when it is not given
    assert TrainConfig(epochs=1, channels_last=None).channels_last is True
    assert TrainConfig(epochs=1, channels_last=False).channels_last is False
