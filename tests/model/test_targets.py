"""Targets and decoding invert each other; masks follow missing parts."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from poselab.model.decode import decode
from poselab.model.targets import TargetError, make_targets


@pytest.mark.parametrize("stride", [4, 8])
def test_target_decodes_to_its_keypoint(stride):
    gen = torch.Generator().manual_seed(stride)
    h, w = 12, 16
    kp = torch.rand(64, 5, 2, generator=gen) * torch.tensor([w * stride - 1, h * stride - 1])
    targets = make_targets(kp, (h, w), stride)
    # The Gaussian peaks at the nearest cell; use its logit as the network output.
    logits = torch.logit(targets.scoremaps.clamp(1e-6, 1 - 1e-6))
    xy, likelihood = decode(logits, targets.locref, stride)
    err = (xy - kp).abs().max().item()
    assert err < 0.1, err
    assert err < 1e-4  # exact up to float rounding
    # Without offsets the error is bounded by half a cell diagonal, and is clearly non-zero.
    xy0, _ = decode(logits, None, stride)
    err0 = (xy0 - kp).norm(dim=-1)
    assert err0.max() <= stride / np.sqrt(2) + 1e-4 and err0.mean() > stride / 5
    assert torch.all(likelihood > 0.5)


def test_missing_parts_have_no_target():
    kp = torch.tensor([[[10.0, 20.0], [float("nan"), float("nan")], [30.5, 5.25]]])
    t = make_targets(kp, (8, 8), 8, sigma=8, locref_radius=16)
    assert t.scoremaps.shape == (1, 3, 8, 8) and t.locref.shape == (1, 3, 2, 8, 8)
    assert t.scoremap_weights[0, :, 0, 0].tolist() == [1.0, 0.0, 1.0]
    assert t.scoremaps[0, 1].abs().sum() == 0 and t.locref_weights[0, 1].sum() == 0
    assert torch.isfinite(t.locref).all()
    # Cells within the 16 px radius of (10, 20): centres 3.5 + 8k; count them directly.
    c = np.arange(8) * 8 + 3.5
    near = ((c[None, :] - 10) ** 2 + (c[:, None] - 20) ** 2) <= 16**2
    assert t.locref_weights[0, 0, 0].numpy().astype(bool).tolist() == near.tolist()
    assert float(t.scoremaps[0, 0].max()) == pytest.approx(
        np.exp(-((11.5 - 10) ** 2 + (19.5 - 20) ** 2) / 128), rel=1e-5
    )


def test_bad_shapes_are_rejected():
    with pytest.raises(TargetError, match=r"\(batch, parts, 2\)"):
        make_targets(torch.zeros(3, 2), (4, 4), 8)
    with pytest.raises(ValueError, match="locref must be"):
        decode(torch.zeros(1, 2, 4, 4), torch.zeros(1, 2, 2, 4, 5), 8)


def test_absent_parts_are_taught_empty_maps_unknown_ones_nothing():
    nan = float("nan")
    kp = torch.tensor([[[10.0, 20.0], [nan, nan], [nan, nan]]])
    known = torch.tensor([True, True, False])  # part 1 absent here; part 2 never labeled
    t = make_targets(kp, (8, 8), 8, known=known)
    assert t.scoremap_weights[0, :, 0, 0].tolist() == [1.0, 1.0, 0.0]
    assert t.scoremaps[0, 1:].abs().sum() == 0  # the absent part's target: nothing anywhere
    assert t.locref_weights[0, 1:].sum() == 0  # and no offsets to learn
    same = make_targets(kp, (8, 8), 8)
    assert torch.equal(same.scoremaps, t.scoremaps) and torch.equal(same.locref, t.locref)
    assert same.scoremap_weights[0, :, 0, 0].tolist() == [1.0, 0.0, 0.0]
