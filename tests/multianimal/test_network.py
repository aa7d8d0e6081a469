"""PAF head and multi-animal targets: targets decode back to the animals; the net runs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from poselab.multianimal import AssemblyError, assemble_batch, find_peaks
from poselab.multianimal.network import PafPoseNet, multi_animal_targets

STRIDE = 8
SKELETON = [[0, 1], [1, 2]]


def _keypoints() -> np.ndarray:
    """(B=2, A=3, P=3, 2): two frames; in the second, animal 2 is absent and one part unseen."""
    kp = np.array(
        [
            [[[40.3, 50.1], [70.7, 52.2], [101.1, 55.9]],
             [[200.2, 60.4], [205.9, 90.3], [212.5, 121.7]],
             [[120.6, 180.2], [150.1, 170.8], [180.4, 165.5]]],
            [[[60.3, 40.1], [90.7, 45.2], [121.1, 52.9]],
             [[180.2, 160.4], [185.9, 190.3], [np.nan, np.nan]],
             [[np.nan, np.nan]] * 3],
        ]
    )
    return kp


def test_targets_decode_to_the_animals():
    kp = _keypoints()
    t = multi_animal_targets(kp, SKELETON, (30, 40), STRIDE, paf_width=12)
    assert t.scoremaps.shape == (2, 3, 30, 40) and t.pafs.shape == (2, 2, 2, 30, 40)
    cands = find_peaks(t.scoremaps, t.locref, STRIDE, threshold=0.5)
    assert cands.count().tolist() == [[3, 3, 3], [2, 2, 1]]
    found = assemble_batch(cands, t.pafs.numpy(), STRIDE, paf_graph=SKELETON, min_parts=2)
    for f, animals in enumerate(found):
        truth = [a for a in kp[f] if np.isfinite(a[:, 0]).any()]
        assert len(animals) == len(truth)
        for a in truth:
            d = np.nanmax(np.abs(animals[:, :, :2] - a[None]), axis=(1, 2))
            assert d.min() < 1e-3  # exact up to float32 rounding
    # the limb 1-2 of the second frame is unlabelled for animal 1: not penalised there
    assert t.paf_weights[1, :, 0, 0, 0].tolist() == [1.0, 0.0]
    assert t.paf_weights[0].min() == 1.0


def test_paf_net_shapes():
    timm = pytest.importorskip("timm")
    backbone = timm.create_model(
        "resnet18", features_only=True, pretrained=False, out_indices=(1, 2, 3, 4)
    )
    net = PafPoseNet(backbone, 3, SKELETON, stride=STRIDE, head_channels=32).eval()
    with torch.no_grad():
        s, l, p = net(torch.zeros(1, 3, 64, 96))
    assert s.shape == (1, 3, 8, 12) and l.shape == (1, 3, 2, 8, 12) and p.shape == (1, 2, 2, 8, 12)
    assert net.skeleton.tolist() == SKELETON
    with pytest.raises(AssemblyError):
        PafPoseNet(backbone, 3, [[0, 3]], stride=STRIDE)
