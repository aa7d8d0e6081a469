"""Training targets for scoremap + location-refinement heads, for a whole batch at once.

Convention: output cell ``(row i, column j)`` of a map at stride ``s`` is centred on input pixel
``(x, y) = (j * s + (s - 1) / 2, i * s + (s - 1) / 2)`` (pixel centres at integer coordinates).
:func:`poselab.model.decode.decode` inverts exactly what is built here.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from poselab.core.errors import PoselabError

__all__ = ["Targets", "TargetError", "cell_centres", "make_targets"]

LOCREF_STD = 7.2801  # pixels per locref unit (DeepLabCut's value), keeps offsets near unit scale


class TargetError(PoselabError, ValueError):
    """Keypoints or map sizes given to the target builder are malformed."""


@dataclass
class Targets:
    """Targets for a batch.

    Attributes
    ----------
    scoremaps : torch.Tensor
        ``(B, P, H, W)`` Gaussian peaks in [0, 1], 0 everywhere for missing parts.
    scoremap_weights : torch.Tensor
        ``(B, P, 1, 1)`` 1 for visible parts and for parts known to be absent (their target is
        0 everywhere: the network learns to say "not here"), 0 for parts of unknown state.
    locref : torch.Tensor
        ``(B, P, 2, H, W)`` offsets ``(keypoint - cell centre) / locref_std`` (x then y).
    locref_weights : torch.Tensor
        ``(B, P, 1, H, W)`` 1 on cells within ``locref_radius`` pixels of a visible keypoint.
    """

    scoremaps: torch.Tensor
    scoremap_weights: torch.Tensor
    locref: torch.Tensor
    locref_weights: torch.Tensor


def cell_centres(size: int, stride: int, *, device=None, dtype=torch.float32) -> torch.Tensor:
    """Input-pixel coordinates of the centres of ``size`` cells along one axis (pixels)."""
    return torch.arange(size, device=device, dtype=dtype) * stride + (stride - 1) / 2


def make_targets(
    keypoints: torch.Tensor,
    map_size: tuple[int, int],
    stride: int,
    *,
    sigma: float | None = None,
    locref_radius: float | None = None,
    locref_std: float = LOCREF_STD,
    known: torch.Tensor | None = None,
) -> Targets:
    """Scoremaps, offsets and masks for keypoints ``(B, P, 2)`` (pixels, NaN = missing).

    Parameters
    ----------
    keypoints
        ``(B, P, 2)`` x, y in input-image pixels; NaN marks a missing part.
    map_size
        ``(H, W)`` of the output maps (cells).
    stride
        Input pixels per output cell.
    sigma
        Gaussian standard deviation in pixels (default ``stride``).
    locref_radius
        Cells whose centre lies within this many pixels of the keypoint get an offset target
        (default ``2 * stride``).
    locref_std
        Pixels per offset unit.
    known
        ``(B, P)`` or ``(P,)`` boolean: where a missing (NaN) keypoint means "absent from the
        image" (trained towards an empty scoremap, weight 1) rather than "not labeled"
        (weight 0). Default: every missing keypoint is of unknown state.
    """
    if keypoints.ndim != 3 or keypoints.shape[-1] != 2:
        raise TargetError(f"keypoints must be (batch, parts, 2), got {tuple(keypoints.shape)}")
    if stride < 1 or len(map_size) != 2 or min(map_size) < 1:
        raise TargetError(f"need stride >= 1 and a positive (H, W) map size, got {stride}, {map_size}")
    sigma = float(stride if sigma is None else sigma)
    radius = float(2 * stride if locref_radius is None else locref_radius)
    kp = keypoints.to(torch.float32)
    visible = torch.isfinite(kp).all(-1)  # (B, P)
    kp = torch.where(visible[..., None], kp, torch.zeros_like(kp))
    h, w = map_size
    xs = cell_centres(w, stride, device=kp.device)
    ys = cell_centres(h, stride, device=kp.device)
    dx = kp[..., 0, None, None] - xs[None, None, None, :]  # (B, P, 1, W)
    dy = kp[..., 1, None, None] - ys[None, None, :, None]  # (B, P, H, 1)
    dist2 = dx**2 + dy**2  # (B, P, H, W)
    vis = visible[..., None, None].to(torch.float32)
    scoremaps = torch.exp(-dist2 / (2 * sigma**2)) * vis
    near = (dist2 <= radius**2).to(torch.float32) * vis
    weights = vis
    if known is not None:
        absent = torch.as_tensor(known, device=kp.device).to(torch.bool).expand_as(visible) & ~visible
        weights = (visible | absent)[..., None, None].to(torch.float32)
    locref = torch.stack(torch.broadcast_tensors(dx, dy), dim=2) / locref_std
    return Targets(
        scoremaps=scoremaps,
        scoremap_weights=weights,
        locref=locref * near[:, :, None],
        locref_weights=near[:, :, None],
    )
