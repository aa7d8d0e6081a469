"""A trained model's keypoints carried over to another set of keypoints (zoo models, fine-tuning).

:func:`match_parts` pairs each wanted keypoint with one of the model's, by name (case, spaces,
``_``/``-`` and a few common synonyms ignored: ``nose``/``snout``, ``centre``/``center``) or by a
table the user gives. :func:`with_parts` returns a model whose outputs are the wanted keypoints:
a matched keypoint keeps its trained output channels, an unmatched one (for fine-tuning) starts
as a new model's does.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence

import torch

from poselab.model.network import ModelError, PoseModel, flip_pairs_from_names

__all__ = ["match_parts", "with_parts"]

#: Words that name the same place on an animal in the vocabularies poselab meets.
_SYNONYMS = {"nose": "snout", "center": "centre", "middle": "mid", "end": "tip"}


def _normalised(name: str) -> str:
    words = [w for w in re.split(r"[^a-z0-9]+|(?<=[a-z])(?=[0-9])", name.lower()) if w]
    return "".join(_SYNONYMS.get(w, w) for w in words)


def match_parts(model_parts: Sequence[str], wanted: Sequence[str],
                table: Mapping[str, str] | None = None) -> dict[str, str]:
    """Which of ``model_parts`` gives each of ``wanted``.

    Parameters
    ----------
    model_parts
        The model's keypoint names.
    wanted
        The keypoint names to produce (a project's parts).
    table
        ``{model keypoint: wanted keypoint}`` pairs that override matching by name (as
        DeepLabCut's conversion tables are written); a model keypoint the table uses is not
        also matched by name.

    Returns
    -------
    dict
        ``{wanted keypoint: model keypoint}`` for every wanted keypoint that has one.

    Raises
    ------
    ModelError
        When the table names a keypoint the model or the wanted list does not have.
    """
    model_parts, wanted = list(model_parts), list(wanted)
    table = dict(table or {})
    bad = sorted(k for k in table if k not in model_parts)
    bad += sorted(v for v in table.values() if v not in wanted)
    if bad:
        raise ModelError(f"the keypoint table names {bad}, which are not among the model's "
                         f"keypoints {model_parts} or the wanted ones {wanted}")
    matched = {w: m for m, w in table.items()}
    by_name = {_normalised(m): m for m in model_parts if m not in table}  # the table's are taken
    for w in wanted:
        if w not in matched and _normalised(w) in by_name:
            matched[w] = by_name[_normalised(w)]
    return {w: matched[w] for w in wanted if w in matched}


def with_parts(model: PoseModel, parts: Sequence[str], table: Mapping[str, str] | None = None, *,
               allow_new: bool = False) -> PoseModel:
    """A copy of ``model`` that outputs ``parts``, in that order.

    Parameters
    ----------
    model
        A trained model (a zoo model, or one from another project).
    parts
        The keypoints wanted (e.g. a project's parts).
    table
        ``{model keypoint: wanted keypoint}``, over matching by name (:func:`match_parts`).
    allow_new
        Let keypoints the model does not know start untrained (to fine-tune on labels); else an
        unmatched keypoint is an error, since its predictions would mean nothing.

    Raises
    ------
    ModelError
        When a wanted keypoint has no match and ``allow_new`` is False, or none matches at all.
    """
    parts = list(parts)
    mapping = match_parts(model.parts, parts, table)
    unmatched = [p for p in parts if p not in mapping]
    if not mapping or (unmatched and not allow_new):
        raise ModelError(
            f"the model's keypoints {model.parts} give no output for {unmatched}: pass a table "
            "{model keypoint: your keypoint}, or allow_new=True to train them from your labels"
        )
    source = [model.parts.index(mapping[p]) if p in mapping else -1 for p in parts]
    net = copy.deepcopy(model.net)
    old_score, old_locref = net.scoremap, net.locref
    channels = old_score.in_channels
    score = torch.nn.Conv2d(channels, len(parts), 1).to(old_score.weight.device)
    locref = torch.nn.Conv2d(channels, 2 * len(parts), 1).to(old_score.weight.device)
    with torch.no_grad():
        torch.nn.init.constant_(score.bias, -4.0)  # as a new model: "no keypoint here"
        torch.nn.init.normal_(locref.weight, std=1e-3)
        torch.nn.init.zeros_(locref.bias)
        for new, old in enumerate(source):
            if old < 0:
                continue
            score.weight[new] = old_score.weight[old]
            score.bias[new] = old_score.bias[old]
            for c in range(2):  # locref channels are (part, x/y) in that order
                locref.weight[2 * new + c] = old_locref.weight[2 * old + c]
                locref.bias[2 * new + c] = old_locref.bias[2 * old + c]
    net.scoremap, net.locref, net.num_parts = score, locref, len(parts)
    card = copy.deepcopy(model.card)
    card["parts"] = parts
    card["flip_pairs"] = [list(p) for p in flip_pairs_from_names(parts)]
    card["keypoint_source"] = {p: mapping.get(p) for p in parts}
    return PoseModel(net, card)
