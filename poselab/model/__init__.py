"""Pose models: a timm backbone with a scoremap + offset head, trained on a few labeled frames.

Short API::

    from poselab.model import create_model, load_model, LabeledImages, TrainConfig, train, evaluate
    model = create_model("tf_efficientnet_lite0", parts=["snout", "tailbase"])  # offline weights
    data = LabeledImages.from_label_dataset(store.to_dataset(), root=project_folder)
    train_set, test_set = data.split(0.2, seed=0)
    history = train(model, train_set, TrainConfig(minutes=10), test_data=test_set, out_dir="models/run1")
    evaluate(model, test_set)["rmse_px"]
    xy, likelihood = model.predict(frames)            # (B, H, W, 3) uint8 RGB -> pixels
    model.save("models/mouse.safetensors"); load_model("models/mouse.safetensors")
    export_onnx(model, "models/mouse.onnx"); load_onnx_model("models/mouse.onnx")  # ONNX Runtime, CPU

    from poselab.model import Recipe, fit             # the recipe the CLI, demo and widget use
    result = fit(data, Recipe(train=TrainConfig(minutes=10)), out_dir="models/run2")

Modules: :mod:`~poselab.model.network` (the network and model files), ``backbones`` (timm
feature extractors and offline ImageNet weights), ``targets``/``decode`` (scoremaps <->
pixels), ``views`` (several views of one body point, decoded to agree), ``augment``, ``data``,
``config`` (:class:`TrainConfig`), ``optim`` (timm optimizer and schedule factories),
``checkpoint``, ``train`` (the loop), ``recipe``, ``evaluate``, ``export`` (ONNX, the fast CPU
path), ``unlabeled`` (learning from unlabeled video frames).
"""

from __future__ import annotations

from poselab.model.augment import AugmentConfig, augment_batch
from poselab.model.backbones import BackboneError, create_backbone, create_classifier
from poselab.model.config import TrainConfig, TrainingError
from poselab.model.data import DataError, LabeledImages
from poselab.model.decode import decode
from poselab.model.evaluate import evaluate, plot_predictions
from poselab.model.export import OnnxPoseModel, export_onnx, load_onnx_model
from poselab.model.network import (
    ModelError,
    PoseModel,
    PoseNet,
    create_model,
    load_model,
    read_card,
)
from poselab.model.recipe import Fit, Recipe, fit
from poselab.model.targets import make_targets
from poselab.model.train import PoseTask, TrainingHistory, TrainingJob, train, train_in_background
from poselab.model.unlabeled import UnlabeledConfig

__all__ = [
    "AugmentConfig",
    "BackboneError",
    "DataError",
    "Fit",
    "LabeledImages",
    "ModelError",
    "PoseModel",
    "PoseNet",
    "PoseTask",
    "Recipe",
    "TrainConfig",
    "TrainingError",
    "TrainingHistory",
    "TrainingJob",
    "UnlabeledConfig",
    "augment_batch",
    "OnnxPoseModel",
    "export_onnx",
    "load_onnx_model",
    "create_backbone",
    "create_classifier",
    "create_model",
    "decode",
    "evaluate",
    "fit",
    "load_model",
    "make_targets",
    "plot_predictions",
    "read_card",
    "train",
    "train_in_background",
]
