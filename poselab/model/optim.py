"""Optimizer and learning-rate schedule of a training run, built with timm's factories.

- :func:`create_optimizer`: AdamW (``timm.optim.create_optimizer_v2``) over parameter groups
  from ``timm.optim.param_groups_weight_decay`` (biases and normalisation weights, every tensor
  of one dimension, get no weight decay), with the backbone's learning rate scaled by
  ``backbone_lr`` through timm's ``lr_scale`` group key.
- :func:`create_scheduler`: ``timm.scheduler.CosineLRScheduler`` stepped on every update: a
  linear warmup over a fraction of the steps, then a cosine to ``final_lr * lr``.
"""

from __future__ import annotations

import torch
from timm.optim import create_optimizer_v2, param_groups_weight_decay
from timm.scheduler import CosineLRScheduler
from torch import nn

__all__ = ["create_optimizer", "create_scheduler", "head_modules"]


def head_modules(net: nn.Module) -> nn.ModuleList:
    """Every child module of a pose network except its ``backbone``."""
    return nn.ModuleList(module for name, module in net.named_children() if name != "backbone")


def create_optimizer(
    net: nn.Module, *, lr: float, weight_decay: float, backbone_lr: float = 1.0
) -> torch.optim.Optimizer:
    """AdamW over the trainable parameters of a pose network.

    Parameters
    ----------
    net
        A network with a ``backbone`` attribute (the pretrained feature extractor); the other
        children form the head. Parameters with ``requires_grad=False`` are left out.
    lr
        Base learning rate.
    weight_decay
        Decoupled weight decay of weights; biases and normalisation parameters get none.
    backbone_lr
        Multiplier of ``lr`` for the backbone (``lr_scale`` of its groups).

    Returns
    -------
    torch.optim.Optimizer
        ``torch.optim.AdamW`` (from timm's factory), one decay and one no-decay group each for
        backbone and head.
    """
    groups = []
    for module, scale in ((net.backbone, backbone_lr), (head_modules(net), 1.0)):
        for group in param_groups_weight_decay(module, weight_decay):
            if group["params"]:
                groups.append({**group, "lr_scale": float(scale)})
    return create_optimizer_v2(groups, opt="adamw", lr=lr, weight_decay=weight_decay)


def create_scheduler(
    optimizer: torch.optim.Optimizer, *, total_steps: int, warmup: float, final_lr: float
) -> CosineLRScheduler:
    """Linear warmup then cosine decay, per update step.

    Parameters
    ----------
    optimizer
        From :func:`create_optimizer`; its groups' ``lr`` is the peak learning rate.
    total_steps
        Planned number of updates (a budget in minutes re-plans it: build a new scheduler,
        which keeps the peak learning rate stored in the groups as ``initial_lr``).
    warmup
        Fraction of the steps spent warming up linearly from ``lr / warmup_steps``.
    final_lr
        The cosine ends at ``final_lr`` times the peak learning rate.

    Returns
    -------
    timm.scheduler.CosineLRScheduler
        Call ``scheduler.step_update(step)`` before each update ``step`` (0-based).
    """
    total_steps = max(1, int(total_steps))
    warm = max(1, int(round(warmup * total_steps)))
    base = max(group.get("initial_lr", group["lr"]) for group in optimizer.param_groups)
    return CosineLRScheduler(
        optimizer,
        t_initial=max(1, total_steps - warm),
        lr_min=base * final_lr,
        warmup_t=warm,
        warmup_lr_init=base / warm,
        warmup_prefix=True,
        t_in_epochs=False,
    )
