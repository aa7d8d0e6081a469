"""Training settings in one object: :class:`TrainConfig` (beside :class:`AugmentConfig`).

``train(model, data, TrainConfig(minutes=10))`` or, equally, ``train(model, data, minutes=10)``:
every keyword that :func:`~poselab.model.train` accepts besides the data is a field here, so a
run is described by one value that can be printed, saved with the model (``card["training"]``)
and compared.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from poselab.core.errors import PoselabError
from poselab.model.augment import AugmentConfig
from poselab.model.unlabeled import UnlabeledConfig

__all__ = ["AugmentConfig", "TrainConfig", "TrainingError"]


class TrainingError(PoselabError, ValueError):
    """Training cannot start or resume as asked."""


@dataclass
class TrainConfig:
    """How to train a pose model: length, optimizer, schedule, augmentation, losses, files.

    Attributes
    ----------
    epochs : int or None
        Length in epochs (exactly reproducible, and resumable to the same weights).
    minutes : float or None
        Or a wall-clock budget in minutes: epochs are re-planned from the measured pace and the
        learning-rate schedule follows. Give one of ``epochs`` and ``minutes``.
    batch_size : int
        Images per step (at least 2: batch normalisation). On the CPU, lowered (with a warning)
        where a step would not fit the memory this process may use (a cgroup's limit).
    lr : float
        Peak learning rate of AdamW (timm's ``create_optimizer_v2``; biases and normalisation
        weights get no weight decay).
    backbone_lr : float
        Multiplier of ``lr`` for the pretrained backbone.
    weight_decay : float
        AdamW's decoupled weight decay.
    warmup : float
        Linear warmup over this fraction of the steps, then cosine decay (timm's
        ``CosineLRScheduler``, stepped every update).
    final_lr : float or None
        The cosine ends at ``final_lr * lr`` (default: 0.01, multi-animal models 0.02).
    augment : AugmentConfig or bool
        Random changes of the training crops; ``True`` the defaults, ``False`` plain crops.
    sigma : float or None
        Scoremap Gaussian width in network pixels (default: the stride).
    locref_weight : float or None
        Weight of the location-refinement (offset) loss (default: 8, multi-animal models 4).
    paf_weight : float
        Weight of the part-affinity-field loss (multi-animal models only).
    missing_is_absent : bool
        A part left unlabeled in a labeled image is absent from it (hidden, out of view): the
        network is taught an empty scoremap there, so it reports a low likelihood instead of a
        guess (DeepLabCut's convention for its label files). A part labeled in no training image
        at all is never taught either way. False: unlabeled parts are of unknown state (left out
        of the loss), for label sets where parts were skipped rather than absent.
    multiview : bool
        Where the part names show several views of the same body points (``paw_top`` and
        ``paw_bot``: a mirror, or cameras tiled in one frame), learn from the training labels
        how the views agree and decode each body point so that they do
        (:mod:`poselab.model.views`); a left paw the side view confuses with the right one is
        then told apart by the other view.
    unlabeled : UnlabeledConfig or None
        Also learn from pairs of consecutive, unlabeled frames of these videos: a part's
        prediction must not jump between them (:mod:`poselab.model.unlabeled`; each step then
        runs ``unlabeled.batch`` pairs more through the network). None: labeled images only.
    freeze_backbone : bool
        Keep the pretrained backbone as it is (batch-norm statistics too) and train the head
        only: several times faster on a CPU, where the backward pass dominates.
    cached_views : int
        With ``freeze_backbone`` on a multi-animal model: compute this many augmented views of
        each image once, keep their backbone features and train the head on those (the caching
        time is ``cache_seconds`` in the records, not part of ``minutes``).
    eval_every : int
        Evaluate the test images every this many epochs (and after the last).
    eval_batch_size : int
        Test images per forward pass when they are evaluated; on a CPU lowered (with a
        :class:`~poselab.core.resources.BatchSizeWarning`) to fit the free memory, as whole
        images of a large camera take far more than training crops.
    test_fraction, split_seed : float, int
        Without test images, hold out this share of the labeled images (split by this seed)
        when there are at least 5 of them.
    seed : int
        Seeds batch order, augmentation and the global random number generators.
    resume : bool
        Continue from ``out_dir/state.pt`` when it exists.
    device : str or None
        Where to train (default: where the model is). CUDA runs use mixed precision.
    channels_last : bool
        Channels-last memory format (faster for these depthwise-conv backbones on CPU and GPU,
        about 1.5-2x); None means the default, on.
    num_threads : int or None
        ``torch.set_num_threads`` for CPU training (default: torch's own count, lowered to
        the CPUs a cgroup allows, :func:`poselab.core.resources.fit_torch_threads`).
    progress : bool
        Show a tqdm progress bar.
    """

    epochs: int | None = None
    minutes: float | None = None
    batch_size: int = 8
    lr: float = 1e-3
    backbone_lr: float = 1.0
    weight_decay: float = 1e-4
    warmup: float = 0.05
    final_lr: float | None = None
    augment: AugmentConfig | bool = True
    sigma: float | None = None
    locref_weight: float | None = None
    paf_weight: float = 1.0
    missing_is_absent: bool = True
    multiview: bool = True
    unlabeled: UnlabeledConfig | None = None
    freeze_backbone: bool = False
    cached_views: int = 0
    eval_every: int = 1
    eval_batch_size: int = 8
    test_fraction: float = 0.2
    split_seed: int = 0
    seed: int = 0
    resume: bool = True
    device: str | None = None
    channels_last: bool | None = True
    num_threads: int | None = None
    progress: bool = True

    def __post_init__(self) -> None:
        if self.channels_last is None:
            self.channels_last = True
        if self.augment is True:
            self.augment = AugmentConfig()
        elif self.augment is False or self.augment is None:
            self.augment = AugmentConfig.none()
        elif not isinstance(self.augment, AugmentConfig):
            raise TrainingError(f"augment must be True, False or an AugmentConfig; got {self.augment!r}")

    def check(self) -> TrainConfig:
        """Raise :class:`TrainingError` naming every setting that cannot work; returns self."""
        problems = []
        if self.epochs is None and self.minutes is None:
            problems.append("give epochs (an int) or minutes (a wall-clock budget)")
        if self.epochs is not None and (isinstance(self.epochs, bool) or int(self.epochs) < 1):
            problems.append(f"epochs must be >= 1, got {self.epochs}")
        if self.minutes is not None and not float(self.minutes) > 0:
            problems.append(f"minutes must be positive, got {self.minutes}")
        if int(self.batch_size) < 2:
            problems.append("batch_size must be >= 2 (batch normalisation)")
        if not float(self.lr) > 0:
            problems.append(f"lr must be positive, got {self.lr}")
        if not 0 <= float(self.warmup) < 1:
            problems.append(f"warmup is a fraction of the steps in [0, 1), got {self.warmup}")
        if int(self.eval_every) < 1:
            problems.append(f"eval_every must be >= 1, got {self.eval_every}")
        if int(self.eval_batch_size) < 1:
            problems.append(f"eval_batch_size must be >= 1, got {self.eval_batch_size}")
        if int(self.cached_views) and not self.freeze_backbone:
            problems.append("cached_views needs freeze_backbone=True (cached features must not change)")
        if self.unlabeled is not None and not isinstance(self.unlabeled, UnlabeledConfig):
            problems.append(f"unlabeled must be an UnlabeledConfig or None; got {self.unlabeled!r}")
        if problems:
            raise TrainingError("; ".join(problems))
        if self.unlabeled is not None:
            self.unlabeled.check()
        return self

    def replace(self, **settings: Any) -> TrainConfig:
        """A copy with some settings changed; unknown names are refused with the list of fields."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(settings) - known)
        if unknown:
            raise TypeError(f"unknown training setting(s) {unknown}; TrainConfig has {sorted(known)}")
        return dataclasses.replace(self, **settings)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable settings (stored in the model card as ``training``)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["augment"] = self.augment.to_dict()
        out["unlabeled"] = self.unlabeled.to_dict() if self.unlabeled is not None else None
        return out
