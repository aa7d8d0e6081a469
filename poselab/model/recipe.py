"""The training recipe: how poselab trains a pose model on labeled images.

One :class:`Recipe` (model settings + :class:`~poselab.model.TrainConfig`) is behind every way a
user trains a single-animal model: ``poselab train`` on the command line, the demo
(``python -m poselab.demo``) and the training widget. :func:`fit` runs it end to end: split the
labeled images into training and test images, build the model with the project's left/right
pairs, train, evaluate. Change a setting by changing the recipe, e.g.
``Recipe(scale=0.5, train=TrainConfig(minutes=10))``.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from poselab.core.validate import part_index_pairs
from poselab.model.config import TrainConfig
from poselab.model.data import LabeledImages, LabelGeometry, label_geometry
from poselab.model.evaluate import evaluate
from poselab.model.network import ModelError, PoseModel, create_model, load_model
from poselab.model.train import Callback, StopSignal, TrainingHistory, train
from poselab.model.transfer import with_parts

__all__ = ["Fit", "LabelGeometry", "Recipe", "fit", "label_geometry", "project_images"]

DEFAULT_BACKBONE = "tf_efficientnet_lite0"


@dataclass
class Recipe:
    """Model settings and training settings, with the defaults poselab uses.

    Attributes
    ----------
    backbone : str
        timm architecture (``tf_efficientnet_lite0``: ImageNet weights installed offline).
    stride : int
        Output stride, network pixels (4 or 8).
    input_size : int
        Training crop, network pixels (multiple of 32).
    scale : float
        Network pixels per image pixel (0.5 halves the images: 4x less compute).
    head_channels : int
        Width of the deconvolution head.
    flip_test : bool
        Average each prediction with that of the mirrored image (about 2x slower to predict;
        worth it where mirrored training images were used).
    train : TrainConfig
        How to train (length, optimizer, augmentation...).
    init_from : PoseModel, path or None
        Start from this trained model instead of ImageNet weights (a zoo model,
        ``poselab.zoo.load("topview_mouse")``, or a model file): see :meth:`model`.
    """

    backbone: str = DEFAULT_BACKBONE
    stride: int = 8
    input_size: int = 256
    scale: float = 1.0
    head_channels: int = 128
    flip_test: bool = False
    train: TrainConfig = field(default_factory=TrainConfig)
    init_from: Any = None

    @classmethod
    def for_data(cls, data: LabeledImages, **settings: Any) -> Recipe:
        """The recipe poselab chooses for a labeled image set, from its images and labels only.

        No per-project setting is needed; every choice follows from :func:`label_geometry`:

        - *scale*: images are brought to at most 800 pixels on their long side (compute and
          memory on a CPU); smaller images keep their pixels.
        - *input_size* (the training crop): 1.25 x the animal's extent (90th percentile of the
          labeled points' box), at least 256 and at most 384 network pixels, never more than
          the image. Crops are centred on random points of the animal's box, so parts far
          from the others are seen even when the crop is smaller than the animal.
        - *camera view*: rotations up to 3 x the spread of the labeled poses' heading (circular
          standard deviation of each part's direction from the points' centroid; at least 15,
          at most 180 degrees): a camera above an open field sees every heading and takes large
          rotations, a side view of a head-fixed animal does not. Mirrored images (left/right
          parts swapped, and predictions averaged with the mirrored image's) only where the
          heading spreads more than 30 degrees: a side view mirrored shows an animal running the
          wrong way.
        - a share of crops (25 %) centred anywhere in the image, so the network sees the
          background of the whole frame, and missing labels taught as absent
          (:class:`~poselab.model.TrainConfig` ``missing_is_absent``).

        Parameters
        ----------
        data
            The labeled images (all of them, or the training images).
        **settings
            Recipe fields to set instead (``train=TrainConfig(minutes=10)``, ``scale=0.5``...).
        """
        geometry = label_geometry(data)
        scale = min(1.0, math.floor(800 / geometry.image_long_side_px * 20) / 20)
        crop = _multiple_of_32(1.25 * geometry.animal_extent_px * scale)
        image = _multiple_of_32(geometry.image_long_side_px * scale)
        input_size = int(min(max(crop, 256), 384, max(image, 64)))
        spread = geometry.heading_spread_deg
        free = spread > 30
        train = settings.pop("train", None) or TrainConfig()
        augment = dataclasses.replace(train.augment, rotation=float(round(np.clip(3 * spread, 15, 180))),
                                      flip=0.5 if free else 0.0, random_crop=0.25)
        chosen = {"scale": scale, "input_size": input_size, "flip_test": free,
                  "train": dataclasses.replace(train, augment=augment)}
        chosen.update(settings)
        return cls(**chosen)

    def model(self, parts: list[str], *, flip_pairs: Any = None, init_from: Any = None,
              device: str | None = None) -> PoseModel:
        """A new model for ``parts``, or one that starts from a trained model, to fine-tune.

        ``flip_pairs``: left/right pairs of part names (a project's ``flip_pairs``); None or
        empty guesses them from the names. ``init_from`` (or the recipe's ``init_from``): a
        :class:`~poselab.model.PoseModel` (``poselab.zoo.load("topview_mouse")``) or a model
        file. Its keypoints are carried over to ``parts`` by name
        (:func:`~poselab.model.transfer.with_parts`; parts it does not know start untrained),
        its network kept, and the card records where it started (``card["init_from"]``). A zoo
        model takes the recipe's crop, scale and flip test (chosen for this data); a project's
        own model file (the previous run's best) keeps its own.
        """
        source = init_from if init_from is not None else self.init_from
        if source is not None:
            return self._fine_tune(source, list(parts), flip_pairs, device)
        model = create_model(self.backbone, list(parts), stride=self.stride,
                             input_size=self.input_size, scale=self.scale,
                             head_channels=self.head_channels, flip_pairs=flip_pairs or None,
                             device=device)
        model.card["flip_test"] = bool(self.flip_test)
        return model

    def _fine_tune(self, source: Any, parts: list[str], flip_pairs: Any, device: str | None) -> PoseModel:
        base = source if isinstance(source, PoseModel) else load_model(source)
        model = with_parts(base, parts, allow_new=True)
        zoo = model.card.pop("zoo", None) or {}
        sources = model.card.pop("keypoint_source")
        # a model fine-tuned again (adapted, then trained on labels) keeps its first origin
        origin = base.card.get("init_from") or {}
        if origin and not zoo:
            sources = {p: origin.get("parts", {}).get(q) if q else None for p, q in sources.items()}
        model.card["init_from"] = {
            "zoo": zoo.get("name", origin.get("zoo")),
            "sha256": zoo.get("sha256", origin.get("sha256")),
            "file": str(source) if not isinstance(source, PoseModel) else origin.get("file"),
            "parts": sources,
        }
        if zoo:  # a general model: crop, scale and flip test as the recipe chose them for the data
            model.card["input_size"] = [int(self.input_size)] * 2
            model.card["scale"] = float(self.scale)
            model.card["flip_test"] = bool(self.flip_test)
        # else a project's own model (the previous run's best): its settings stay as trained
        if flip_pairs:
            model.card["flip_pairs"] = part_index_pairs(flip_pairs, parts, what="flip pair",
                                                        error=ModelError).tolist()
        if device is not None:
            model.to(device)
        return model

    def split(self, data: LabeledImages) -> tuple[LabeledImages, LabeledImages]:
        """Training and test images (``train.test_fraction``, ``train.split_seed``)."""
        return data.split(self.train.test_fraction, self.train.split_seed)


def _multiple_of_32(pixels: float) -> int:
    return int(math.ceil(pixels / 32) * 32)


@dataclass
class Fit:
    """What :func:`fit` returns: the trained model, its history, the split and the test result."""

    model: PoseModel
    history: TrainingHistory
    train_set: LabeledImages
    test_set: LabeledImages
    result: dict[str, Any]


def project_images(project: Any, *, animal: str | int = 0) -> LabeledImages:
    """The labeled images of one animal of a :class:`~poselab.project.Project`."""
    return LabeledImages.from_label_dataset(project.labels_dataset(), root=project.root, animal=animal)


def fit(
    data: LabeledImages,
    recipe: Recipe | None = None,
    *,
    flip_pairs: Any = None,
    out_dir: str | os.PathLike | None = None,
    callback: Callback | None = None,
    stop: StopSignal = None,
) -> Fit:
    """Split, build, train and evaluate a pose model with a recipe.

    Parameters
    ----------
    data
        All labeled images (the recipe holds out its test images).
    recipe
        The settings (default: :meth:`Recipe.for_data` of the training images, which needs
        ``train.epochs`` or ``train.minutes``: pass
        ``Recipe.for_data(data, train=TrainConfig(minutes=20))`` to set the length).
    flip_pairs
        Left/right part-name pairs (a project's configured ``flip_pairs``); default: guessed
        from the part names.
    out_dir, callback, stop
        As :func:`~poselab.model.train`.

    Returns
    -------
    Fit
        ``result`` is :func:`~poselab.model.evaluate` on the test images (``rmse_px``, ``pck``...).
    """
    train_set, test_set = (recipe or Recipe()).split(data)
    recipe = recipe if recipe is not None else Recipe.for_data(train_set)
    model = recipe.model(data.parts, flip_pairs=flip_pairs, device=recipe.train.device)
    history = train(model, train_set, recipe.train, test_data=test_set, out_dir=out_dir,
                    callback=callback, stop=stop)
    return Fit(model, history, train_set, test_set, evaluate(model, test_set))
