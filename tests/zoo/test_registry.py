"""The zoo's registry: cards, finding files offline first, checksums, and files that hold no code."""

from __future__ import annotations

import dataclasses
import pickle

import numpy as np
import pytest
import torch

from poselab import zoo
from poselab.model import ModelError, create_model
from poselab.zoo import registry

PARTS = ["snout", "leftear", "rightear", "tailbase"]


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    torch.manual_seed(1)
    model = create_model("tf_efficientnet_lite0", PARTS, input_size=64, head_channels=32)
    return model.save(tmp_path_factory.mktemp("zoo") / "lab_mouse.safetensors")


def _card(path, **changes) -> zoo.ZooCard:
    card = zoo.ZooCard(name="lab_mouse", file=path.name, sha256=zoo.sha256_of(path), species="mouse",
                       view="top", keypoints={p: p for p in PARTS}, training_data="test frames",
                       licence="MIT", input_size=(64, 64))
    return dataclasses.replace(card, **changes)


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("POSELAB_ZOO_CACHE", str(tmp_path / "cache"))
    yield
    registry._REGISTERED.clear()


def test_the_shipped_catalogue_describes_the_top_view_mouse():
    card = zoo.card("topview_mouse")
    assert card.species == "mouse" and card.view == "top"
    assert card.parts[:3] == ["snout", "left_ear", "right_ear"] and len(card.parts) == 12
    assert card.aliases["deeplabcut_openfield"]["left_ear"] == "leftear"
    assert "topview_mouse" in [c.name for c in zoo.list()]


def test_an_unknown_name_lists_the_models_there_are():
    with pytest.raises(zoo.ZooError, match="topview_mouse"):
        zoo.card("topview_rat")


def test_a_registered_model_loads_with_its_card_and_the_same_predictions(model_file):
    zoo.register(_card(model_file), model_file)
    model = zoo.load("lab_mouse")
    assert model.card["zoo"]["name"] == "lab_mouse"
    assert model.card["zoo"]["sha256"] == zoo.sha256_of(model_file)
    image = np.random.default_rng(0).integers(0, 255, (1, 64, 96, 3), dtype=np.uint8)
    from poselab.model import load_model
    np.testing.assert_array_equal(model.predict(image)[0], load_model(model_file).predict(image)[0])
    renamed = zoo.load("lab_mouse", parts=["tailbase", "snout"])
    assert renamed.parts == ["tailbase", "snout"]


def test_a_file_that_does_not_match_its_checksum_is_refused(model_file):
    zoo.register(_card(model_file, sha256="0" * 64), model_file)
    with pytest.raises(zoo.ZooError, match="does not match"):
        zoo.load("lab_mouse")


class _Payload:
    """Pickled, this would create a file when unpickled: code run by loading a model file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_a_pickled_file_never_runs_its_code(tmp_path):
    marker = tmp_path / "code_ran"
    bad = tmp_path / "evil.safetensors"
    bad.write_bytes(pickle.dumps({"state_dict": _Payload(marker)}))
    zoo.register(_card(bad), bad)  # its checksum is right: the publisher is the attacker
    with pytest.raises(ModelError, match="not a .safetensors model file"):
        zoo.load("lab_mouse")
    assert not marker.exists()
    torch_file = tmp_path / "evil.pt"
    torch_file.write_bytes(pickle.dumps(_Payload(marker)))
    zoo.register(_card(torch_file), torch_file)
    with pytest.raises(zoo.ZooError, match="refusing"):
        zoo.load("lab_mouse")
    assert not marker.exists()


def test_a_model_with_a_url_is_downloaded_into_the_cache_once_checked(model_file, tmp_path):
    zoo.register(_card(model_file, url=model_file.as_uri()))  # no path: cache, then the URL
    path = zoo.locate("lab_mouse")
    assert path == zoo.cache_dir() / "lab_mouse.safetensors"
    assert zoo.sha256_of(path) == zoo.sha256_of(model_file)
    assert zoo.locate("lab_mouse") == path  # found in the cache the second time


def test_a_download_that_does_not_match_leaves_nothing_in_the_cache(model_file, tmp_path):
    other = tmp_path / "other.safetensors"
    other.write_bytes(model_file.read_bytes()[:-10] + b"0123456789")
    zoo.register(_card(model_file, url=other.as_uri()))
    with pytest.raises(zoo.ZooError, match="does not match"):
        zoo.locate("lab_mouse")
    assert not any(zoo.cache_dir().iterdir())


def test_no_file_and_no_url_says_where_to_put_the_file(model_file):
    zoo.register(_card(model_file, file="elsewhere.safetensors"))
    with pytest.raises(zoo.ZooError, match="put the file in"):
        zoo.locate("lab_mouse")
