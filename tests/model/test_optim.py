"""Optimizer and schedule from timm's factories: no weight decay on biases and norms, the
backbone's learning-rate multiplier, linear warmup then cosine."""

from __future__ import annotations

import math

import pytest
import torch

from poselab.model import create_model
from poselab.model.optim import create_optimizer, create_scheduler


@pytest.fixture(scope="module")
def net():
    return create_model(parts=["a", "b"], pretrained=False, head_channels=16).net


def test_biases_and_norms_get_no_weight_decay_and_the_backbone_its_multiplier(net):
    opt = create_optimizer(net, lr=1e-3, weight_decay=0.05, backbone_lr=0.1)
    assert isinstance(opt, torch.optim.AdamW)
    groups = {(g["lr_scale"], g["weight_decay"]): g["params"] for g in opt.param_groups}
    assert set(groups) == {(0.1, 0.0), (0.1, 0.05), (1.0, 0.0), (1.0, 0.05)}
    backbone = {id(p) for p in net.backbone.parameters()}
    for (scale, decay), params in groups.items():
        assert all((id(p) in backbone) == (scale == 0.1) for p in params)
        # decay exactly on the weights of convolutions (ndim > 1), never on biases or norms
        assert all((p.ndim > 1) == (decay > 0) for p in params)
    n_groups = sum(len(p) for p in groups.values())
    assert n_groups == len(list(net.parameters()))


def test_frozen_parameters_are_left_out(net):
    for p in net.backbone.parameters():
        p.requires_grad_(False)
    try:
        opt = create_optimizer(net, lr=1e-3, weight_decay=1e-4)
        assert all(g["lr_scale"] == 1.0 for g in opt.param_groups)
    finally:
        for p in net.backbone.parameters():
            p.requires_grad_(True)


def test_schedule_is_linear_warmup_then_cosine_to_the_final_fraction(net):
    opt = create_optimizer(net, lr=1e-3, weight_decay=1e-4, backbone_lr=0.5)
    total, warm = 200, 10  # warmup 5 % of 200 steps
    scheduler = create_scheduler(opt, total_steps=total, warmup=0.05, final_lr=0.01)
    head, backbone = opt.param_groups[-1], opt.param_groups[0]

    def lr_at(step):
        scheduler.step_update(step)
        return head["lr"]

    assert lr_at(0) == pytest.approx(1e-3 / warm)
    assert lr_at(warm) == pytest.approx(1e-3)
    for step in (50, 100, 150, 199):
        progress = (step - warm) / (total - warm)
        expected = 1e-3 * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * progress)))
        assert lr_at(step) == pytest.approx(expected)
        assert backbone["lr"] == pytest.approx(0.5 * expected)
    assert lr_at(10 * total) == pytest.approx(1e-5)  # stays at the end value
    # warmup rises monotonically to the peak
    rising = [lr_at(s) for s in range(warm + 1)]
    assert all(b > a for a, b in zip(rising, rising[1:]))
