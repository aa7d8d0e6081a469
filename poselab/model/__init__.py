"""Pose models: a timm backbone with a scoremap + offset head, trained on a few labeled frames.

Short API::

    from poselab.model import create_model, load_model, LabeledImages, train, evaluate
    model = create_model("tf_efficientnet_lite0", parts=["snout", "tailbase"])  # offline weights
    data = LabeledImages.from_label_dataset(store.to_dataset(), root=project_folder)
    train_set, test_set = data.split(0.2, seed=0)
    history = train(model, train_set, test_data=test_set, minutes=10, out_dir="models/run1")
    evaluate(model, test_set)["rmse_px"]
    xy, likelihood = model.predict(frames)            # (B, H, W, 3) uint8 RGB -> pixels
    model.save("models/mouse.safetensors"); load_model("models/mouse.safetensors")
"""

from __future__ import annotations

from poselab.model.augment import AugmentConfig, augment_batch
from poselab.model.backbones import BackboneError, create_backbone, create_classifier
from poselab.model.data import DataError, LabeledImages
from poselab.model.decode import decode
from poselab.model.evaluate import evaluate, plot_predictions
from poselab.model.network import (
    ModelError,
    PoseModel,
    PoseNet,
    create_model,
    load_model,
    read_card,
)
from poselab.model.targets import make_targets
from poselab.model.train import (
    TrainingError,
    TrainingHistory,
    TrainingJob,
    train,
    train_in_background,
)

__all__ = [
    "AugmentConfig",
    "BackboneError",
    "DataError",
    "LabeledImages",
    "ModelError",
    "PoseModel",
    "PoseNet",
    "TrainingError",
    "TrainingHistory",
    "TrainingJob",
    "augment_batch",
    "create_backbone",
    "create_classifier",
    "create_model",
    "decode",
    "evaluate",
    "load_model",
    "make_targets",
    "plot_predictions",
    "read_card",
    "train",
    "train_in_background",
]
