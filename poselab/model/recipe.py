"""The training recipe: how poselab trains a pose model on labeled images.

One :class:`Recipe` (model settings + :class:`~poselab.model.TrainConfig`) is behind every way a
user trains a single-animal model: ``poselab train`` on the command line, the demo
(``python -m poselab.demo``) and the training widget. :func:`fit` runs it end to end: split the
labeled images into training and test images, build the model with the project's left/right
pairs, train, evaluate. Change a setting by changing the recipe, e.g.
``Recipe(scale=0.5, train=TrainConfig(minutes=10))``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from poselab.model.config import TrainConfig
from poselab.model.data import LabeledImages
from poselab.model.evaluate import evaluate
from poselab.model.network import PoseModel, create_model, load_model
from poselab.model.train import Callback, StopSignal, TrainingHistory, train

__all__ = ["Fit", "Recipe", "fit", "project_images"]

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
    train : TrainConfig
        How to train (length, optimizer, augmentation...).
    """

    backbone: str = DEFAULT_BACKBONE
    stride: int = 8
    input_size: int = 256
    scale: float = 1.0
    head_channels: int = 128
    train: TrainConfig = field(default_factory=TrainConfig)

    def model(self, parts: list[str], *, flip_pairs: Any = None, init_from: Any = None,
              device: str | None = None) -> PoseModel:
        """A new model for ``parts`` (or the model in the file ``init_from``, to fine-tune).

        ``flip_pairs``: left/right pairs of part names (a project's ``flip_pairs``); None or
        empty guesses them from the names.
        """
        if init_from is not None:
            return load_model(init_from, device=device)
        return create_model(self.backbone, list(parts), stride=self.stride,
                            input_size=self.input_size, scale=self.scale,
                            head_channels=self.head_channels, flip_pairs=flip_pairs or None,
                            device=device)

    def split(self, data: LabeledImages) -> tuple[LabeledImages, LabeledImages]:
        """Training and test images (``train.test_fraction``, ``train.split_seed``)."""
        return data.split(self.train.test_fraction, self.train.split_seed)


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
        The settings (default: :class:`Recipe` ``()``, which needs ``train.epochs`` or
        ``train.minutes``).
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
    recipe = recipe if recipe is not None else Recipe()
    train_set, test_set = recipe.split(data)
    model = recipe.model(data.parts, flip_pairs=flip_pairs, device=recipe.train.device)
    history = train(model, train_set, recipe.train, test_data=test_set, out_dir=out_dir,
                    callback=callback, stop=stop)
    return Fit(model, history, train_set, test_set, evaluate(model, test_set))
