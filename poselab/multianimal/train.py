"""Training the bottom-up multi-animal model.

:func:`train_multianimal` reuses the single-animal machinery where it fits (image resizing and
normalisation of the model, :func:`poselab.model.augment_batch` on all animals' keypoints at
once, AdamW with warmup and cosine decay) and adds the multi-animal targets of
:func:`~poselab.multianimal.network.multi_animal_targets` (every animal's peak in a part's
scoremap, fields along every limb). Checkpoints (``last.safetensors``, ``best.safetensors`` by
training loss, ``history.json``) are written atomically at the end of every epoch.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from poselab.model.augment import AugmentConfig, augment_batch
from poselab.model.targets import LOCREF_STD
from poselab.multianimal.data import MultiAnimalImages
from poselab.multianimal.model import MultiAnimalModel
from poselab.multianimal.network import multi_animal_targets

__all__ = ["MultiAnimalHistory", "multi_animal_loss", "train_multianimal"]


@dataclass
class MultiAnimalHistory:
    """Per-epoch records (``epoch``, ``step``, ``lr``, ``loss``, ``scoremap_loss``,
    ``locref_loss``, ``paf_loss``, ``seconds``) of :func:`train_multianimal`."""

    records: list[dict[str, Any]] = field(default_factory=list)
    out_dir: str | None = None
    best_epoch: int | None = None

    def to_dataframe(self):
        import pandas as pd

        return pd.DataFrame(self.records)


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
    scores, locref, pafs = outputs
    t = multi_animal_targets(keypoints.detach().cpu(), skeleton, tuple(scores.shape[-2:]), stride,
                             sigma=sigma, paf_width=paf_width, locref_std=locref_std)
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


def _lr_at(step: int, total: int, base: float, warmup: float, final: float) -> float:
    """Linear warmup over ``warmup`` of the steps, then cosine decay to ``final * base``."""
    warm = max(1, int(round(warmup * total)))
    if step < warm:
        return base * (step + 1) / warm
    progress = min(1.0, (step - warm) / max(1, total - warm))
    return base * (final + (1 - final) * 0.5 * (1 + math.cos(math.pi * progress)))


def _atomic_text(text: str, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _stack(model: MultiAnimalModel, data: MultiAnimalImages):
    """Resized images zero-padded into one uint8 tensor, their sizes, keypoints (network px)."""
    images = [model.resize(im) for im in data.images]
    h = max(im.shape[0] for im in images)
    w = max(im.shape[1] for im in images)
    out = torch.zeros(len(images), 3, h, w, dtype=torch.uint8)
    sizes = torch.zeros(len(images), 2)
    for i, im in enumerate(images):
        out[i, :, : im.shape[0], : im.shape[1]] = torch.from_numpy(im).permute(2, 0, 1)
        sizes[i] = torch.tensor([im.shape[1], im.shape[0]])
    kp = torch.from_numpy(model.to_network_pixels(data.keypoints)).float()
    return out, sizes, kp


@torch.no_grad()
def _cache_views(model, images, sizes, flat, views, cfg, gen, pairs, batch_size, progress):
    """Backbone features (float16, CPU) and keypoints of ``views`` augmented crops per image."""
    from tqdm.auto import tqdm

    net, device = model.net, model.device
    net.backbone.eval()
    n = len(images)
    levels: list[list[torch.Tensor]] = []
    kps = []
    chunks = [(v, i) for v in range(views) for i in range(0, n, batch_size)]
    for _, i in tqdm(chunks, disable=not progress, desc="cache features"):
        idx = torch.arange(i, min(i + batch_size, n))
        batch, kp = augment_batch(images[idx].to(device), flat[idx], model.input_size, cfg,
                                  generator=gen, flip_pairs=pairs, sizes=sizes[idx])
        feats = net.backbone_levels(model.normalize(batch))
        levels.append([f.half().cpu() for f in feats])
        kps.append(kp.cpu())
    return [torch.cat(lv) for lv in zip(*levels)], torch.cat(kps)


def train_multianimal(
    model: MultiAnimalModel,
    data: MultiAnimalImages,
    *,
    epochs: int | None = None,
    minutes: float | None = None,
    batch_size: int = 8,
    lr: float = 1e-3,
    weight_decay: float = 1e-4,
    warmup: float = 0.05,
    final_lr: float = 0.02,
    augment: AugmentConfig | bool | None = True,
    sigma: float | None = None,
    locref_weight: float = 4.0,
    paf_weight: float = 1.0,
    freeze_backbone: bool = False,
    cached_views: int = 0,
    out_dir: str | os.PathLike | None = None,
    seed: int = 0,
    callback: Callable[[dict[str, Any], MultiAnimalModel], Any] | None = None,
    progress: bool = True,
    num_threads: int | None = None,
) -> MultiAnimalHistory:
    """Train a multi-animal model in place on frames with every animal's keypoints.

    Parameters
    ----------
    model
        From :func:`create_multianimal_model`; ``input_size`` is the crop (network pixels).
    data
        Training frames.
    epochs, minutes
        Length: epochs, or a wall-clock budget in minutes (epochs re-planned from the pace,
        the cosine schedule follows).
    batch_size, lr, weight_decay, warmup, final_lr
        AdamW, linear warmup over that fraction of the steps, cosine decay to ``final_lr * lr``.
    augment
        ``True`` (default ranges of :class:`poselab.model.AugmentConfig`; crops centre on all
        animals together), a config, or ``False`` (plain crops).
    sigma
        Scoremap Gaussian width in network pixels (default the stride).
    locref_weight, paf_weight
        Weights of the offset and field losses against the scoremap loss.
    freeze_backbone
        Keep the pretrained backbone as it is (batch-norm statistics too) and train the head
        only: several times faster on a CPU, where the backward pass dominates.
    cached_views
        With ``freeze_backbone``: draw this many augmented crops of every image once, keep
        their backbone features, and train the head on those (an epoch is one pass over them).
        On a CPU the backbone's forward pass then runs once per view instead of once per step
        (10x faster steps); augmentation is limited to the cached views. The time spent
        caching is ``cache_seconds`` in the records, not part of ``minutes``.
    out_dir
        Where ``last.safetensors``, ``best.safetensors`` (lowest epoch loss) and
        ``history.json`` go, rewritten atomically after every epoch (None: nothing written).
    seed
        Seeds batch order and augmentation (one ``torch.Generator``).
    callback
        ``callback(record, model)`` after each epoch; returning False stops.
    progress
        Show a tqdm progress bar over epochs.
    num_threads
        ``torch.set_num_threads`` for CPU training (default: leave as is).

    Returns
    -------
    MultiAnimalHistory
    """
    from tqdm.auto import tqdm

    from poselab.model.train import TrainingError

    if (epochs is None) == (minutes is None):
        raise TrainingError("give either epochs or minutes")
    if epochs is not None and epochs < 1 or minutes is not None and not minutes > 0:
        raise TrainingError(f"epochs must be >= 1 and minutes > 0; got {epochs}, {minutes}")
    if data.parts != model.parts:
        raise TrainingError(f"data parts {data.parts} differ from the model's {model.parts}")
    if batch_size < 2:
        raise TrainingError("batch_size must be >= 2 (batch normalisation)")
    if num_threads:
        torch.set_num_threads(int(num_threads))
    cfg = AugmentConfig() if augment is True else (augment or AugmentConfig.none())
    device = model.device
    net = model.net
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    for p in net.backbone.parameters():
        p.requires_grad_(not freeze_backbone)
    trained = [p for p in net.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trained, lr=lr, weight_decay=weight_decay)
    images, sizes, keypoints = _stack(model, data)
    n, n_animals, n_parts = keypoints.shape[:3]
    flat = keypoints.reshape(n, n_animals * n_parts, 2)
    # mirrored crops swap left and right parts of every animal
    pairs = [(a * n_parts + i, a * n_parts + j) for a in range(n_animals)
             for i, j in model.card["flip_pairs"]]
    if cached_views and not freeze_backbone:
        raise TrainingError("cached_views needs freeze_backbone=True (features must not change)")
    cache_seconds = 0.0
    if cached_views:
        tc = time.perf_counter()
        levels, flat_kp = _cache_views(model, images, sizes, flat, int(cached_views), cfg, gen,
                                       pairs, batch_size, progress)
        cache_seconds = time.perf_counter() - tc
        n = len(flat_kp)
    steps_per_epoch = max(1, math.ceil(n / batch_size))
    planned = epochs if epochs is not None else 1000  # minutes: re-planned after 3 steps
    budget = None if minutes is None else 60 * minutes
    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    model.card["data_hash"] = data.data_hash()
    history = MultiAnimalHistory(out_dir=None if out is None else str(out))
    skeleton = model.skeleton
    best, step, elapsed, epoch = math.inf, 0, 0.0, 0
    bar = tqdm(total=epochs, disable=not progress, desc="train", unit="epoch")
    try:
        while epoch < planned and (budget is None or elapsed < budget):
            net.train()
            if freeze_backbone:
                net.backbone.eval()
            t0 = time.perf_counter()
            order = torch.randperm(n, generator=gen)
            fill = torch.randint(0, n, (steps_per_epoch * batch_size - n,), generator=gen)
            order = torch.cat([order, fill]).view(steps_per_epoch, batch_size)
            sums = np.zeros(5)
            for idx in order:
                if budget is not None and epoch > 0 and elapsed + time.perf_counter() - t0 >= budget:
                    break
                for group in optimizer.param_groups:
                    group["lr"] = _lr_at(step, planned * steps_per_epoch, lr, warmup, final_lr)
                if cached_views:
                    feats = [lv[idx].to(device).float() for lv in levels]
                    kp = flat_kp[idx].reshape(len(idx), n_animals, n_parts, 2)
                    outputs = net.heads(net.head_features(feats))
                else:
                    batch, kp = augment_batch(images[idx].to(device), flat[idx], model.input_size,
                                              cfg, generator=gen, flip_pairs=pairs,
                                              sizes=sizes[idx])
                    kp = kp.reshape(len(idx), n_animals, n_parts, 2)
                    outputs = net(model.normalize(batch))
                heat, loc, paf = multi_animal_loss(
                    outputs, kp, skeleton, model.stride, sigma=sigma,
                    paf_width=model.card["paf_width"], locref_std=model.card["locref_std"])
                loss = heat + locref_weight * loc + paf_weight * paf
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                step += 1
                sums += [float(v.detach()) for v in (loss, heat, loc, paf)] + [1]
                if budget is not None and epoch == 0 and step == 1:
                    t_cal = time.perf_counter()
                elif budget is not None and epoch == 0 and step == 3:  # pace from steps 2-3
                    pace = (time.perf_counter() - t_cal) / 2 * steps_per_epoch
                    planned = max(1, int(budget / pace))
            epoch += 1
            elapsed += time.perf_counter() - t0
            if budget is not None:  # re-plan from the measured pace
                planned = max(epoch + (1 if elapsed < budget else 0),
                              epoch + int((budget - elapsed) / (elapsed / epoch)))
            record = {
                "epoch": epoch, "step": step,
                "lr": optimizer.param_groups[0]["lr"],
                "loss": sums[0] / sums[4], "scoremap_loss": sums[1] / sums[4],
                "locref_loss": sums[2] / sums[4], "paf_loss": sums[3] / sums[4],
                "seconds": elapsed, "cache_seconds": cache_seconds,
            }
            history.records.append(record)
            if record["loss"] < best:
                best, history.best_epoch = record["loss"], epoch
                if out is not None:
                    model.save(out / "best.safetensors")
            if out is not None:
                model.card["training"] = {"epochs": epoch, "step": step, "lr": lr, "seed": seed,
                                          "batch_size": batch_size, "minutes": elapsed / 60,
                                          "augment": cfg.to_dict(),
                                          "freeze_backbone": bool(freeze_backbone),
                                          "cached_views": int(cached_views)}
                model.save(out / "last.safetensors")
                _atomic_text(json.dumps(history.records, indent=1), out / "history.json")
            bar.update(1)
            bar.set_postfix(loss=f"{record['loss']:.3f}", paf=f"{record['paf_loss']:.3f}")
            if callback is not None and callback(record, model) is False:
                break
    finally:
        bar.close()
        for p in net.backbone.parameters():
            p.requires_grad_(True)
    net.eval()
    return history
