"""Keypoints from network outputs: argmax of each scoremap refined by its location offset."""

from __future__ import annotations

import torch

from poselab.model.targets import LOCREF_STD, cell_centres

__all__ = ["decode", "decode_candidates"]


def decode(
    scoremaps: torch.Tensor,
    locref: torch.Tensor | None,
    stride: int,
    *,
    locref_std: float = LOCREF_STD,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Batched argmax + offset decoding.

    Parameters
    ----------
    scoremaps
        ``(B, P, H, W)`` logits (any monotonic score works for the position).
    locref
        ``(B, P, 2, H, W)`` offsets in units of ``locref_std`` pixels, or None (cell centres).
    stride
        Input pixels per output cell.

    Returns
    -------
    xy : torch.Tensor
        ``(B, P, 2)`` positions in input pixels.
    likelihood : torch.Tensor
        ``(B, P)`` sigmoid of the peak logit, in [0, 1].
    """
    if scoremaps.ndim != 4:
        raise ValueError(f"scoremaps must be (batch, parts, H, W), got {tuple(scoremaps.shape)}")
    b, p, h, w = scoremaps.shape
    flat = scoremaps.reshape(b, p, h * w).float()
    peak, index = flat.max(dim=-1)  # (B, P)
    row = torch.div(index, w, rounding_mode="floor")
    col = index - row * w
    x = cell_centres(w, stride, device=scoremaps.device)[col]
    y = cell_centres(h, stride, device=scoremaps.device)[row]
    xy = torch.stack([x, y], dim=-1)
    if locref is not None:
        if locref.shape != (b, p, 2, h, w):
            raise ValueError(f"locref must be {(b, p, 2, h, w)}, got {tuple(locref.shape)}")
        offsets = locref.reshape(b, p, 2, h * w).float()
        picked = offsets.gather(-1, index[:, :, None, None].expand(b, p, 2, 1))[..., 0]
        xy = xy + picked * locref_std
    return xy, torch.sigmoid(peak)


def decode_candidates(
    scoremaps: torch.Tensor,
    locref: torch.Tensor | None,
    stride: int,
    k: int = 3,
    *,
    locref_std: float = LOCREF_STD,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` highest local maxima of each scoremap, refined by their offsets.

    A local maximum is a cell not lower than its 8 neighbours; where a map has fewer than ``k``,
    the rest repeat lower cells. Used where the best peak alone can be wrong, e.g. to choose
    between a left and a right paw with another view (:mod:`poselab.model.views`).

    Returns
    -------
    xy : torch.Tensor
        ``(B, P, k, 2)`` positions in input pixels, best first.
    logits : torch.Tensor
        ``(B, P, k)`` the peak logits.
    """
    if scoremaps.ndim != 4:
        raise ValueError(f"scoremaps must be (batch, parts, H, W), got {tuple(scoremaps.shape)}")
    b, p, h, w = scoremaps.shape
    maps = scoremaps.float()
    pooled = torch.nn.functional.max_pool2d(maps, 3, stride=1, padding=1)
    lowest = torch.finfo(maps.dtype).min
    peaks = maps.masked_fill(maps < pooled, lowest).reshape(b, p, h * w)
    k = min(k, h * w)
    _, index = peaks.topk(k, dim=-1)  # (B, P, k)
    logits = maps.reshape(b, p, h * w).gather(-1, index)
    row = torch.div(index, w, rounding_mode="floor")
    col = index - row * w
    xy = torch.stack([cell_centres(w, stride, device=maps.device)[col],
                      cell_centres(h, stride, device=maps.device)[row]], dim=-1)
    if locref is not None:
        offsets = locref.reshape(b, p, 2, h * w).float()
        picked = offsets.gather(-1, index[:, :, None, :].expand(b, p, 2, k))  # (B, P, 2, k)
        xy = xy + picked.permute(0, 1, 3, 2) * locref_std
    return xy, logits
