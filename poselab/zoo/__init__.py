"""The model zoo: pose models that work on a new video before any frame is labeled.

Short API::

    from poselab import zoo
    zoo.list_models()                              # cards: species, view, keypoints, accuracy...
    model = zoo.load("topview_mouse")              # offline, checked against its SHA-256
    poses = poselab.analyze_video(model, "mouse.mp4")          # zero-shot: no labels
    model = zoo.load("topview_mouse", parts=project.parts)     # the project's keypoint names
    adapted = zoo.adapt_to_video(model, "mouse.mp4")           # self-training on the video
    recipe = Recipe.for_data(data, init_from=zoo.load("topview_mouse"))   # fine-tune

Modules: :mod:`~poselab.zoo.registry` (cards, finding, checking and loading files),
:mod:`~poselab.zoo.adapt` (video adaptation), :mod:`~poselab.zoo.build` (the script that
trains the models poselab ships). Keypoints are carried over to other names by
:func:`poselab.model.transfer.with_parts`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from poselab.model import PoseModel
from poselab.model.transfer import match_parts, with_parts
from poselab.zoo.adapt import AdaptationError, AdaptConfig, adapt_to_video, pseudo_labels
from poselab.zoo.registry import (
    ZooCard,
    ZooError,
    cache_dir,
    card,
    list_models,
    locate,
    register,
    sha256_of,
)
from poselab.zoo.registry import load as _load

__all__ = [
    "AdaptConfig",
    "AdaptationError",
    "ZooCard",
    "ZooError",
    "adapt_to_video",
    "cache_dir",
    "card",
    "list_models",
    "load",
    "locate",
    "match_parts",
    "pseudo_labels",
    "register",
    "sha256_of",
    "with_parts",
]


def load(name: str, *, parts: Sequence[str] | None = None,
         table: str | Mapping[str, str] | None = None, device: str | None = None) -> PoseModel:
    """Load the zoo model ``name`` (checked against its card), optionally for other keypoints.

    Parameters
    ----------
    name
        A name from :func:`list_models`.
    parts
        The keypoints to output, in order (e.g. ``project.parts``): each is matched to one of the
        model's by name (``leftear`` = ``left_ear``, ``nose`` = ``snout``) or by ``table``. Every
        one must have a match. None: the model's own keypoints.
    table
        ``{model keypoint: your keypoint}``, or the name of one of the card's ``aliases``
        tables (``"deeplabcut_openfield"``, ``"superanimal_topviewmouse"``).
    device
        Where the network lives (default CPU).
    """
    model = _load(name, device=device)
    if parts is None:
        return model
    if isinstance(table, str):
        tables = card(name).aliases
        if table not in tables:
            raise ZooError(f"zoo model {name!r} has no keypoint table {table!r}; it has {sorted(tables)}")
        table = {k: v for k, v in tables[table].items() if v in parts}
    return with_parts(model, parts, table)


#: ``zoo.list()``, the name the registry's users expect (kept out of ``__all__`` so that
#: ``from poselab.zoo import *`` never hides the built-in ``list``).
list = list_models
