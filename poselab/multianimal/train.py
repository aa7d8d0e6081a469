"""Training the bottom-up multi-animal model: its task in the shared training loop.

:func:`poselab.model.train` trains every poselab model with one loop (optimizer, schedule,
checkpoints, exact resume, budgets in epochs or minutes). A multi-animal model brings its own
:class:`MultiAnimalTask`: augmented crops of all animals at once, multi-peak scoremaps and part
affinity fields as targets (:func:`~poselab.multianimal.network.multi_animal_targets`), and
:func:`multi_animal_loss`. With a frozen backbone it can train on cached backbone features of a
few augmented views of each frame (``cached_views``), about 10x faster per step on a CPU.
:func:`train_multianimal` is ``train`` with the multi-animal defaults.
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from poselab.model.augment import augment_batch
from poselab.model.config import TrainConfig, TrainingError
from poselab.model.targets import LOCREF_STD
from poselab.model.train import TrainingHistory, register_task, stack_images, train
from poselab.multianimal.data import MultiAnimalImages
from poselab.multianimal.model import MultiAnimalModel
from poselab.multianimal.network import (
    MultiAnimalTargets,
    identity_labels,
    identity_targets,
    multi_animal_targets,
)

__all__ = ["MultiAnimalHistory", "MultiAnimalTask", "identity_loss", "multi_animal_loss", "train_multianimal"]

#: Multi-animal training records have the same form as single-animal ones.
MultiAnimalHistory = TrainingHistory


def multi_animal_loss(
    outputs: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    keypoints: torch.Tensor,
    skeleton: np.ndarray,
    stride: int,
    *,
    sigma: float | None = None,
    paf_width: float = 20.0,
    locref_std: float = LOCREF_STD,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Scoremap, offset and field losses of a batch.

    Parameters
    ----------
    outputs
        The network's scoremap logits ``(B, P, h, w)``, offsets ``(B, P, 2, h, w)`` and fields
        ``(B, L, 2, h, w)``.
    keypoints
        ``(B, A, P, 2)`` in network pixels of the batch's crops, NaN = missing.

    Returns
    -------
    heat, loc, paf
        Binary cross-entropy summed over each scoremap's cells (mean over maps); Huber offset
        loss per masked cell; squared field error summed over each field's cells (mean over
        the limbs labelled in the frame).
    """
    t = multi_animal_targets(keypoints.detach().cpu(), skeleton, tuple(outputs[0].shape[-2:]), stride,
                             sigma=sigma, paf_width=paf_width, locref_std=locref_std)
    return _map_losses(outputs, t)


def _map_losses(outputs, t: MultiAnimalTargets) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """:func:`multi_animal_loss` from targets already built."""
    scores, locref, pafs = outputs
    dev = scores.device
    b, p = scores.shape[:2]
    bce = F.binary_cross_entropy_with_logits(scores.float(), t.scoremaps.to(dev), reduction="sum")
    heat = bce / (b * p)
    w = t.locref_weights.to(dev)
    huber = F.smooth_l1_loss(locref.float(), t.locref.to(dev), reduction="none", beta=0.1)
    loc = (huber * w).sum() / w.sum().clamp(min=1)
    pw = t.paf_weights.to(dev)
    sq = (pafs.float() - t.pafs.to(dev)) ** 2 * pw
    paf = sq.sum() / pw[:, :, 0, 0, 0].sum().clamp(min=1)
    return heat, loc, paf


def identity_loss(logits: torch.Tensor, keypoints: torch.Tensor, stride: int, *,
                  sigma: float | None = None) -> torch.Tensor:
    """Cross-entropy of an identity head over the cells near each animal's keypoints.

    Parameters
    ----------
    logits
        ``(B, K, h, w)`` from :meth:`~poselab.multianimal.PafPoseNet.identity_logits`.
    keypoints
        ``(B, A, P, 2)`` in network pixels, NaN = missing; animal ``a`` is identity ``a``.
    stride, sigma
        As :func:`~poselab.multianimal.network.identity_targets` (pixels).

    Returns
    -------
    torch.Tensor
        The mean cross-entropy (nats) over the taught cells (0 where none is).
    """
    _check_identity_head(keypoints.shape[1], logits.shape[1])
    return _identity_ce(logits, *identity_targets(keypoints.detach().cpu(), tuple(logits.shape[-2:]), stride,
                                                  sigma=sigma))


def _check_identity_head(n_animals: int, n_identities: int) -> None:
    if n_animals > n_identities:
        raise TrainingError(f"{n_animals} animals per frame but the identity head knows "
                            f"{n_identities}: give the model one identity per animal")


def _identity_ce(logits: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """:func:`identity_loss` from labels and weights already built."""
    ce = F.cross_entropy(logits.float(), labels.to(logits.device), reduction="none")
    weights = weights.to(logits.device)
    return (ce * weights).sum() / weights.sum().clamp(min=1)


class MultiAnimalTask:
    """What a :class:`~poselab.multianimal.MultiAnimalModel` learns from frames of several animals.

    Crops centre on all animals together; mirrored crops swap left and right parts of every
    animal. Without test images, the best checkpoint is the lowest training loss.

    Parameters
    ----------
    model
        The multi-animal model.
    data
        Frames with every animal's keypoints.
    config
        Training settings (``cached_views`` with ``freeze_backbone``: train the head on cached
        backbone features).
    test_data
        Not used (multi-animal models are scored on videos; see
        :func:`poselab.multianimal.average_precision`).
    """

    #: ``identity_weight``: how much the identity head's loss counts (models with identities);
    #: 10, as the scoremap loss is summed over cells (tens) and the identity loss is a mean (nats).
    defaults = {"final_lr": 0.02, "locref_weight": 4.0, "identity_weight": 10.0}

    def __init__(self, model: Any, data: MultiAnimalImages, config: TrainConfig,
                 test_data: Any = None):
        if data.parts != model.parts:
            raise TrainingError(f"data parts {data.parts} differ from the model's {model.parts}")
        self.model, self.data, self.config = model, data, config
        self.test_data = None
        self.locref_weight = config.locref_weight or self.defaults["locref_weight"]
        self.data_hash = data.data_hash()
        self.cache_seconds = 0.0

    def prepare(self, generator: torch.Generator) -> int:
        """Stack the frames (and cache backbone features of augmented views); returns the
        samples per epoch."""
        model, config = self.model, self.config
        images, self.sizes, keypoints = stack_images(model, self.data.images, self.data.keypoints)
        self.images = images
        n, self.n_animals, self.n_parts = keypoints.shape[:3]
        self.flat = keypoints.reshape(n, self.n_animals * self.n_parts, 2)
        self.pairs = [(a * self.n_parts + i, a * self.n_parts + j) for a in range(self.n_animals)
                      for i, j in model.card["flip_pairs"]]
        if not config.cached_views:
            return n
        t0 = time.perf_counter()
        self.levels, self.flat = self._cache_views(generator)
        self.cache_seconds = time.perf_counter() - t0
        return len(self.flat)

    @torch.no_grad()
    def _cache_views(self, generator: torch.Generator) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Backbone features (float16, CPU) and keypoints of the augmented views of each frame."""
        from tqdm.auto import tqdm

        model, config = self.model, self.config
        net, device, n = model.net, model.device, len(self.images)
        net.backbone.eval()
        levels, kps = [], []
        chunks = [(v, i) for v in range(config.cached_views) for i in range(0, n, config.batch_size)]
        for _, i in tqdm(chunks, disable=not config.progress, desc="cache features"):
            idx = torch.arange(i, min(i + config.batch_size, n))
            batch, kp = augment_batch(self.images[idx].to(device), self.flat[idx], model.input_size,
                                      config.augment, generator=generator, flip_pairs=self.pairs,
                                      sizes=self.sizes[idx])
            feats = net.backbone_levels(model.normalize(batch))
            levels.append([f.half().cpu() for f in feats])
            kps.append(kp.cpu())
        return [torch.cat(level) for level in zip(*levels)], torch.cat(kps)

    def start_epoch(self) -> None:
        """Nothing to reset: the multi-animal records keep only losses."""

    def loss(self, indices: torch.Tensor, generator: torch.Generator
             ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The loss of one batch (forward pass included) and its terms."""
        model, config, net = self.model, self.config, self.model.net
        shape = (len(indices), self.n_animals, self.n_parts, 2)
        if config.cached_views:
            feats = [level[indices].to(model.device).float() for level in self.levels]
            features = net.head_features(feats)
            kp = self.flat[indices].reshape(shape)
        else:
            batch, kp = augment_batch(self.images[indices].to(model.device), self.flat[indices],
                                      model.input_size, config.augment, generator=generator,
                                      flip_pairs=self.pairs, sizes=self.sizes[indices])
            x = model.normalize(batch)
            if config.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            features = net.features(x)
            kp = kp.reshape(shape)
        outputs = net.heads(features)
        # the targets once for every head: the identity head learns from the same Gaussians
        t = multi_animal_targets(kp.detach().cpu(), model.skeleton, tuple(outputs[0].shape[-2:]), model.stride,
                                 sigma=config.sigma, paf_width=model.card["paf_width"],
                                 locref_std=model.card["locref_std"])
        heat, loc, paf = _map_losses(outputs, t)
        loss = heat + self.locref_weight * loc + config.paf_weight * paf
        terms = {"scoremap_loss": heat, "locref_loss": loc, "paf_loss": paf}
        if net.identity is not None:
            logits = net.identity_logits(features)
            _check_identity_head(kp.shape[1], logits.shape[1])
            terms["identity_loss"] = _identity_ce(logits, *identity_labels(t.animal_scores))
            loss = loss + self.defaults["identity_weight"] * terms["identity_loss"]
        return loss, terms

    def epoch_metrics(self) -> dict[str, float]:
        return {"cache_seconds": self.cache_seconds}

    def evaluate(self) -> None:
        return None

    def finish(self) -> None:
        self.model.net.eval()


register_task(MultiAnimalModel, MultiAnimalTask)


def train_multianimal(
    model: Any,
    data: MultiAnimalImages,
    config: TrainConfig | None = None,
    *,
    out_dir: str | os.PathLike | None = None,
    callback: Any = None,
    **settings: Any,
) -> TrainingHistory:
    """Train a multi-animal model in place: :func:`poselab.model.train` with this task.

    Parameters
    ----------
    model
        From :func:`~poselab.multianimal.create_multianimal_model`; ``input_size`` is the crop
        (network pixels).
    data
        Training frames with every animal's keypoints.
    config, **settings
        :class:`~poselab.model.TrainConfig` and overrides of its fields (``epochs`` or
        ``minutes``, ``freeze_backbone``, ``cached_views``, ``paf_weight``...).
    out_dir
        Where ``last.safetensors``, ``best.safetensors`` (lowest epoch loss), ``state.pt`` and
        the history go, rewritten atomically after every epoch (None: nothing written).
    callback
        ``callback(record, model)`` after each epoch; returning False stops.

    Returns
    -------
    TrainingHistory
    """
    return train(model, data, config, out_dir=out_dir, callback=callback, **settings)
