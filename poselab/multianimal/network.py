"""A bottom-up multi-animal network: PoseNet plus a part-affinity-field head, and its targets.

``PafPoseNet`` is :class:`poselab.model.network.PoseNet` with a third 1x1 head that predicts one
2-channel field per skeleton limb, ``(B, L, 2, H/s, W/s)``, DeepLabCut style. The targets
(:func:`multi_animal_targets`) put every animal's Gaussian peak in its part's scoremap (the
maximum where animals overlap), the offset to the nearest animal's keypoint in the location
refinement maps, and the ideal fields of :func:`poselab.multianimal.render_pafs`. The outputs
decode with :func:`poselab.multianimal.find_peaks` and :func:`poselab.multianimal.assemble`.
Training (not here) adds an L1 or MSE loss on the fields, weighted by ``paf_weights``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from poselab.model.network import PoseNet
from poselab.model.targets import LOCREF_STD, make_targets
from poselab.multianimal.assembly import AssemblyError, limb_indices

__all__ = ["PafPoseNet", "MultiAnimalTargets", "identity_labels", "identity_targets", "multi_animal_targets",
           "paf_targets"]


class PafPoseNet(PoseNet):
    """PoseNet with a part-affinity-field head for ``skeleton`` (L limbs).

    Parameters
    ----------
    backbone, num_parts, stride, head_channels, fuse
        As :class:`poselab.model.network.PoseNet`.
    skeleton
        ``(L, 2)`` part index pairs, one field per limb.
    identities
        Number of known animals (marked, or of other coats) for a supervised identity head:
        per cell, logits of which animal it belongs to (:meth:`identity_logits`). 0: none.
    """

    def __init__(
        self,
        backbone: nn.Module,
        num_parts: int,
        skeleton: np.ndarray | Sequence[Sequence[int]],
        *,
        stride: int = 8,
        head_channels: int = 128,
        fuse: bool = True,
        identities: int = 0,
    ):
        super().__init__(
            backbone, num_parts, stride=stride, head_channels=head_channels, fuse=fuse
        )
        sk = limb_indices(skeleton, num_parts)
        if len(sk) == 0:
            raise AssemblyError("the skeleton needs at least one limb")
        self.register_buffer("skeleton", torch.as_tensor(sk), persistent=True)
        self.paf = nn.Conv2d(head_channels, 2 * len(sk), 1)
        nn.init.normal_(self.paf.weight, std=1e-3)
        nn.init.zeros_(self.paf.bias)
        self.identity = nn.Conv2d(head_channels, identities, 1) if identities else None

    def identity_logits(self, y: torch.Tensor) -> torch.Tensor:
        """Which known animal each cell belongs to: logits ``(B, identities, h, w)`` on the
        shared features ``y``."""
        if self.identity is None:
            raise AssemblyError("this network has no identity head (create it with identities=)")
        return self.identity(y)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``x`` (B, 3, H, W) -> scoremap logits, offsets ``(B, P, 2, h, w)``, fields
        ``(B, L, 2, h, w)``."""
        return self.heads(self.features(x))

    def heads(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The three 1x1 heads on the shared features ``y`` (see :meth:`forward`)."""
        b, _, h, w = y.shape
        n_limbs = self.skeleton.shape[0]
        return (
            self.scoremap(y),
            self.locref(y).view(b, self.num_parts, 2, h, w),
            self.paf(y).view(b, n_limbs, 2, h, w),
        )


@dataclass
class MultiAnimalTargets:
    """Targets for a batch of multi-animal frames (tensors, float32).

    Attributes
    ----------
    scoremaps
        ``(B, P, H, W)`` maximum over animals of each keypoint's Gaussian, in [0, 1].
    locref
        ``(B, P, 2, H, W)`` offset to the nearest animal's keypoint (units of ``locref_std`` px).
    locref_weights
        ``(B, P, 1, H, W)`` 1 within the offset radius of a keypoint.
    pafs
        ``(B, L, 2, H, W)`` unit limb directions within the limb's band, 0 elsewhere.
    paf_weights
        ``(B, L, 1, H, W)`` 1 everywhere a limb's two parts are both labelled for every animal
        (unlabelled limbs are not penalised: the field there is unknown).
    animal_scores
        ``(B, A, H, W)`` each animal's largest keypoint Gaussian per cell, in [0, 1]: what an
        identity head learns from (:func:`identity_labels`).
    """

    scoremaps: torch.Tensor
    locref: torch.Tensor
    locref_weights: torch.Tensor
    pafs: torch.Tensor
    paf_weights: torch.Tensor
    animal_scores: torch.Tensor


def multi_animal_targets(
    keypoints: np.ndarray | torch.Tensor,
    skeleton: np.ndarray | Sequence[Sequence[int]],
    map_size: tuple[int, int],
    stride: int,
    *,
    sigma: float | None = None,
    locref_radius: float | None = None,
    paf_width: float = 20.0,
    locref_std: float = LOCREF_STD,
) -> MultiAnimalTargets:
    """Scoremaps, offsets and fields for keypoints ``(B, A, P, 2)`` (pixels, NaN = missing).

    Parameters
    ----------
    keypoints
        ``(B, A, P, 2)`` every animal's parts in input pixels; NaN rows for absent animals.
    skeleton
        ``(L, 2)`` limbs (part index pairs).
    map_size
        ``(H, W)`` output cells.
    stride
        Input pixels per cell.
    sigma, locref_radius
        As :func:`poselab.model.targets.make_targets` (pixels).
    paf_width
        Full width of each limb's band (pixels).
    """
    kp = torch.as_tensor(np.asarray(keypoints, np.float32))
    if kp.ndim != 4 or kp.shape[-1] != 2:
        raise AssemblyError(f"keypoints must be (batch, animals, parts, 2); got {tuple(kp.shape)}")
    b, a, p, _ = kp.shape
    per = make_targets(kp.reshape(b * a, p, 2), map_size, stride, sigma=sigma,
                       locref_radius=locref_radius, locref_std=locref_std)
    h, w = map_size
    score = per.scoremaps.reshape(b, a, p, h, w)
    best = score.argmax(dim=1, keepdim=True)  # nearest animal per cell (largest Gaussian)
    locref = per.locref.reshape(b, a, p, 2, h, w)
    pick = best[:, :, :, None].expand(b, 1, p, 2, h, w)
    near = per.locref_weights.reshape(b, a, p, 1, h, w).amax(dim=1)
    sk = np.asarray(skeleton, dtype=np.int64).reshape(-1, 2)
    kp_np = kp.numpy()
    pafs = paf_targets(kp, sk, map_size, stride, width=paf_width)
    present = np.isfinite(kp_np[..., 0]).any(-1)  # (B, A): animals in the frame
    labelled = np.isfinite(kp_np[:, :, sk[:, 0], 0]) & np.isfinite(kp_np[:, :, sk[:, 1], 0])
    known = np.all(labelled | ~present[:, :, None], axis=1).astype(np.float32)  # (B, L)
    return MultiAnimalTargets(
        scoremaps=score.amax(dim=1),
        locref=locref.gather(1, pick)[:, 0] * near,
        locref_weights=near,
        pafs=pafs,
        paf_weights=torch.as_tensor(known)[:, :, None, None, None].expand(b, len(sk), 1, h, w),
        animal_scores=score.amax(dim=2),
    )


def identity_targets(
    keypoints: np.ndarray | torch.Tensor,
    map_size: tuple[int, int],
    stride: int,
    *,
    sigma: float | None = None,
    min_score: float = 0.1,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Which animal each cell near a keypoint belongs to, for an identity head.

    Parameters
    ----------
    keypoints
        ``(B, A, P, 2)`` in input pixels, NaN = missing; animal ``a`` is identity ``a`` in every
        frame (the same marked animal, or the same individual of a DeepLabCut project).
    map_size
        ``(H, W)`` output cells.
    stride
        Input pixels per cell.
    sigma
        Gaussian width (pixels) as :func:`poselab.model.targets.make_targets`.
    min_score
        Cells whose largest keypoint Gaussian is below this are not taught (weight 0).

    Returns
    -------
    labels, weights
        ``(B, H, W)`` int64 animal index of the largest Gaussian there, and ``(B, H, W)`` float32
        1 where that Gaussian reaches ``min_score``, else 0.
    """
    kp = torch.as_tensor(np.asarray(keypoints, np.float32))
    if kp.ndim != 4 or kp.shape[-1] != 2:
        raise AssemblyError(f"keypoints must be (batch, animals, parts, 2); got {tuple(kp.shape)}")
    b, a, p, _ = kp.shape
    per = make_targets(kp.reshape(b * a, p, 2), map_size, stride, sigma=sigma)
    return identity_labels(per.scoremaps.reshape(b, a, p, *map_size).amax(dim=2), min_score)


def identity_labels(animal_scores: torch.Tensor, min_score: float = 0.1) -> tuple[torch.Tensor, torch.Tensor]:
    """Identity labels and weights from each animal's Gaussians (``MultiAnimalTargets.animal_scores``).

    Returns ``(B, H, W)`` the animal index of the largest Gaussian per cell (int64), and
    ``(B, H, W)`` float32 weights, 1 where that Gaussian reaches ``min_score``, else 0.
    """
    best, labels = animal_scores.max(dim=1)
    return labels, (best >= min_score).float()


def paf_targets(
    keypoints: torch.Tensor | np.ndarray,
    skeleton: np.ndarray | Sequence[Sequence[int]],
    map_size: tuple[int, int],
    stride: int,
    *,
    width: float = 20.0,
) -> torch.Tensor:
    """Ideal part affinity fields of a batch, vectorised over frames, animals and limbs.

    The same fields as :func:`poselab.multianimal.render_pafs` frame by frame: in every cell
    whose centre lies on limb ``(a, b)`` of an animal (between the two parts along the limb,
    within ``width / 2`` pixels across it) the unit vector from ``a`` to ``b``; the mean of
    those vectors where several animals' bands overlap; 0 elsewhere and for limbs with a
    missing part.

    Parameters
    ----------
    keypoints
        ``(B, A, P, 2)`` x, y in input pixels, NaN = missing.
    skeleton
        ``(L, 2)`` part index pairs.
    map_size
        ``(H, W)`` cells.
    stride
        Input pixels per cell.
    width
        Full width of each limb's band (pixels).

    Returns
    -------
    torch.Tensor
        ``(B, L, 2, H, W)`` float32 fields, on the keypoints' device.
    """
    kp = torch.as_tensor(np.asarray(keypoints, np.float32)) if not isinstance(
        keypoints, torch.Tensor) else keypoints.float()
    if kp.ndim != 4 or kp.shape[-1] != 2:
        raise AssemblyError(f"keypoints must be (batch, animals, parts, 2); got {tuple(kp.shape)}")
    sk = torch.as_tensor(np.asarray(skeleton, np.int64).reshape(-1, 2), device=kp.device)
    h, w = map_size
    centre = (stride - 1) / 2
    ys = torch.arange(h, device=kp.device, dtype=torch.float32) * stride + centre
    xs = torch.arange(w, device=kp.device, dtype=torch.float32) * stride + centre
    a, b = kp[:, :, sk[:, 0]], kp[:, :, sk[:, 1]]  # (B, A, L, 2)
    vec = b - a
    length = vec.norm(dim=-1)  # NaN for a missing part
    ok = torch.isfinite(length) & (length > 0)
    unit = torch.where(ok[..., None], vec / length.clamp(min=1e-6)[..., None], 0.0)
    a = torch.where(ok[..., None], a, 0.0)
    length = torch.where(ok, length, -1.0)  # a missing limb covers no cell
    rx = xs[None, None, None, None, :] - a[..., 0, None, None]  # (B, A, L, 1, W)
    ry = ys[None, None, None, :, None] - a[..., 1, None, None]  # (B, A, L, H, 1)
    ux, uy = unit[..., 0, None, None], unit[..., 1, None, None]
    along = rx * ux + ry * uy  # (B, A, L, H, W)
    across = (rx * uy - ry * ux).abs()
    inside = (along >= 0) & (along <= length[..., None, None]) & (across <= width / 2)
    inside = inside.float()
    total = torch.einsum("balhw,balc->blchw", inside, unit)
    n = inside.sum(1)[:, :, None]  # (B, L, 1, H, W)
    return torch.where(n > 0, total / n.clamp(min=1), 0.0)
