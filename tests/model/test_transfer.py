"""Keypoints carried over from one model to another set of names (zoo models, fine-tuning)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from poselab.model import ModelError, Recipe, create_model
from poselab.model.transfer import match_parts, with_parts

PARTS = ["snout", "left_ear", "right_ear", "tail_base"]


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    m = create_model("tf_efficientnet_lite0", PARTS, input_size=64, head_channels=32)
    with torch.no_grad():  # distinct, non-trivial head outputs for every part
        m.net.scoremap.weight.normal_(0, 0.5)
        m.net.scoremap.bias.copy_(torch.tensor([0.5, -0.5, 1.0, -1.0]))
        m.net.locref.weight.normal_(0, 0.5)
    return m


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    return rng.integers(0, 255, (2, 96, 128, 3), dtype=np.uint8)


def test_parts_match_by_name_ignoring_case_separators_and_synonyms():
    wanted = ["nose", "LeftEar", "right-ear", "tailbase", "paw"]
    assert match_parts(PARTS, wanted) == {"nose": "snout", "LeftEar": "left_ear",
                                          "right-ear": "right_ear", "tailbase": "tail_base"}


def test_a_table_overrides_names_and_a_bad_table_is_refused():
    assert match_parts(PARTS, ["head", "snout"], {"snout": "head"}) == {"head": "snout"}
    with pytest.raises(ModelError, match="wing"):
        match_parts(PARTS, ["head"], {"wing": "head"})


def test_mapped_parts_predict_exactly_what_the_source_model_did(model, images):
    xy, lik = model.predict(images)
    mapped = with_parts(model, ["tailbase", "nose"])
    assert mapped.parts == ["tailbase", "nose"]
    xy2, lik2 = mapped.predict(images)
    # equal up to float rounding: a head with fewer output channels may sum in another order
    np.testing.assert_allclose(xy2, xy[:, [3, 0]], rtol=0, atol=1e-4)
    np.testing.assert_allclose(lik2, lik[:, [3, 0]], rtol=1e-5)
    assert mapped.card["keypoint_source"] == {"tailbase": "tail_base", "nose": "snout"}
    assert model.parts == PARTS  # the source is untouched


def test_an_unknown_part_is_refused_unless_new_parts_are_allowed(model, images):
    with pytest.raises(ModelError, match="tongue"):
        with_parts(model, ["snout", "tongue"])
    grown = with_parts(model, ["snout", "tongue"], allow_new=True)
    _, lik = model.predict(images)
    _, lik2 = grown.predict(images)
    np.testing.assert_allclose(lik2[:, 0], lik[:, 0], rtol=1e-5)
    assert (lik2[:, 1] < 0.05).all()  # a new part starts as "not here", as a new model does


def test_a_recipe_fine_tunes_from_a_model_and_the_card_records_it(model, images):
    import copy

    zoo_model = copy.copy(model)
    zoo_model.card = {**model.card, "zoo": {"name": "topview_mouse", "sha256": "abc"}}
    recipe = Recipe(input_size=96, scale=0.5, init_from=zoo_model)
    tuned = recipe.model(["leftear", "rightear", "tongue"], flip_pairs=[["leftear", "rightear"]])
    assert tuned.card["init_from"]["parts"] == {"leftear": "left_ear", "rightear": "right_ear",
                                                 "tongue": None}
    # a zoo model takes the recipe's crop and scale; a project's own model keeps its own
    assert tuned.card["input_size"] == [96, 96] and tuned.card["scale"] == 0.5
    own = Recipe(input_size=96, scale=0.5).model(PARTS, init_from=model)
    assert own.card["input_size"] == model.card["input_size"] and own.card["scale"] == model.card["scale"]
    assert tuned.card["flip_pairs"] == [[0, 1]]
    torch.testing.assert_close(tuned.net.scoremap.weight[:2], model.net.scoremap.weight[1:3])
    assert tuned.net.backbone is not model.net.backbone  # a copy: training it leaves the source


def test_a_model_fine_tuned_twice_keeps_its_first_origin(model):
    import copy

    zoo_model = copy.copy(model)
    zoo_model.card = {**model.card, "zoo": {"name": "topview_mouse", "sha256": "abc"}}
    first = Recipe(init_from=zoo_model).model(["leftear", "tongue"])
    again = Recipe(init_from=first).model(["leftear", "tongue"])
    assert again.card["init_from"] == {"zoo": "topview_mouse", "sha256": "abc", "file": None,
                                       "parts": {"leftear": "left_ear", "tongue": None}}
    assert "zoo" not in again.card
