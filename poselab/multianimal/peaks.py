"""Every part's candidate locations in multi-animal scoremaps: max-pool NMS, top-k, offsets.

Maps follow poselab's layout (channels first): scoremaps ``(B, P, H, W)``, location offsets
``(B, P, 2, H, W)`` (x then y, in units of ``locref_std`` pixels) and part affinity fields
``(B, L, 2, H, W)`` (x then y). :func:`from_deeplabcut_outputs` converts DeepLabCut's
channels-last arrays. Output cell ``(i, j)`` at stride ``s`` is centred on input pixel
``(j * s + (s - 1) / 2, i * s + (s - 1) / 2)``, as in :mod:`poselab.model.targets`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from poselab.core.errors import PoselabError
from poselab.model.targets import LOCREF_STD

__all__ = ["PeakError", "Candidates", "find_peaks", "from_deeplabcut_outputs"]


class PeakError(PoselabError, ValueError):
    """Maps given to the peak finder have the wrong shape or parameters are out of range."""


@dataclass(frozen=True)
class Candidates:
    """Candidate detections of every part in a batch of frames, padded to ``k`` per part.

    Attributes
    ----------
    xy : numpy.ndarray
        ``(B, P, K, 2)`` positions in input-image pixels, NaN in padding slots.
    score : numpy.ndarray
        ``(B, P, K)`` scoremap value at the peak (NaN in padding), sorted descending per part.
    """

    xy: np.ndarray
    score: np.ndarray

    @property
    def n_frames(self) -> int:
        return self.xy.shape[0]

    def count(self) -> np.ndarray:
        """``(B, P)`` number of candidates of each part in each frame."""
        return np.isfinite(self.score).sum(axis=-1)

    def frame(self, b: int) -> list[np.ndarray]:
        """Frame ``b`` as a list over parts of ``(n, 3)`` arrays of x, y (pixels), score."""
        out = []
        for p in range(self.xy.shape[1]):
            keep = np.isfinite(self.score[b, p])
            out.append(np.column_stack([self.xy[b, p, keep], self.score[b, p, keep]]))
        return out


def _as_tensor(x) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x.detach().float()
    return torch.as_tensor(np.asarray(x, np.float32))


def find_peaks(
    scoremaps,
    locref=None,
    stride: int = 8,
    *,
    threshold: float = 0.1,
    nms_radius: int = 2,
    top_k: int = 16,
    locref_std: float = LOCREF_STD,
    logits: bool = False,
) -> Candidates:
    """Local maxima of each part's scoremap, refined by the location offsets, for a batch.

    A cell is a peak when it equals the maximum of its ``(2 r + 1)^2`` neighbourhood (max-pool
    non-maximum suppression) and its score is at least ``threshold``; the ``top_k`` best peaks
    per part are kept.

    Parameters
    ----------
    scoremaps
        ``(B, P, H, W)`` scores (probabilities, or logits with ``logits=True``), numpy or torch.
    locref
        ``(B, P, 2, H, W)`` offsets in units of ``locref_std`` pixels, or None (cell centres).
    stride
        Input pixels per output cell.
    threshold
        Minimum score (probability) of a peak.
    nms_radius
        Suppression radius in cells: two peaks of one part are at least ``r + 1`` cells apart.
    top_k
        Most candidates kept per part and frame.
    locref_std
        Pixels per offset unit.
    logits
        Apply a sigmoid to ``scoremaps`` first (poselab's network outputs logits).

    Returns
    -------
    Candidates
        Padded arrays of positions (pixels) and scores.
    """
    s = _as_tensor(scoremaps)
    if s.ndim != 4:
        raise PeakError(f"scoremaps must be (batch, parts, H, W); got shape {tuple(s.shape)}")
    if stride < 1 or nms_radius < 0 or top_k < 1:
        raise PeakError(
            f"need stride >= 1, nms_radius >= 0, top_k >= 1; got {stride}, {nms_radius}, {top_k}"
        )
    if logits:
        s = torch.sigmoid(s)
    b, p, h, w = s.shape
    pooled = F.max_pool2d(s, 2 * nms_radius + 1, stride=1, padding=nms_radius)
    is_peak = (s == pooled) & (s >= threshold)
    masked = torch.where(is_peak, s, torch.full_like(s, -1.0)).reshape(b, p, h * w)
    k = min(top_k, h * w)
    score, index = masked.topk(k, dim=-1)  # (B, P, K), descending
    valid = score >= 0
    row = torch.div(index, w, rounding_mode="floor")
    col = index - row * w
    centre = (stride - 1) / 2
    xy = torch.stack([col * stride + centre, row * stride + centre], dim=-1).float()
    if locref is not None:
        lr = _as_tensor(locref)
        if tuple(lr.shape) != (b, p, 2, h, w):
            raise PeakError(f"locref must have shape {(b, p, 2, h, w)}; got {tuple(lr.shape)}")
        picked = lr.reshape(b, p, 2, h * w).gather(-1, index[:, :, None, :].expand(b, p, 2, k))
        xy = xy + picked.permute(0, 1, 3, 2) * locref_std
    xy = torch.where(valid[..., None], xy, torch.full_like(xy, float("nan")))
    score = torch.where(valid, score, torch.full_like(score, float("nan")))
    return Candidates(
        xy=xy.cpu().numpy().astype(np.float64), score=score.cpu().numpy().astype(np.float64)
    )


def from_deeplabcut_outputs(
    scoremap: np.ndarray, locref: np.ndarray | None = None, paf: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Convert DeepLabCut's channels-last network outputs to poselab's channels-first layout.

    DeepLabCut stores ``scoremap`` as ``(B, H, W, P)``, ``locref`` as ``(B, H, W, 2P)`` with the
    x and y offsets of part ``p`` in channels ``2p`` and ``2p + 1``, and part affinity fields as
    ``(B, H, W, 2L)`` with limb ``l``'s x and y components in channels ``2l`` and ``2l + 1``
    (verified on DeepLabCut's test output, see ``tests/test_multianimal_assembly.py``).

    Returns
    -------
    scoremaps, locref, pafs
        ``(B, P, H, W)``, ``(B, P, 2, H, W)`` and ``(B, L, 2, H, W)`` float32 (None stays None).
    """
    scoremap = np.asarray(scoremap, np.float32)
    if scoremap.ndim != 4:
        raise PeakError(f"DeepLabCut scoremap must be (batch, H, W, parts); got {scoremap.shape}")
    b, h, w, p = scoremap.shape
    out_s = np.ascontiguousarray(scoremap.transpose(0, 3, 1, 2))
    out_l = out_p = None
    if locref is not None:
        locref = np.asarray(locref, np.float32)
        if locref.shape != (b, h, w, 2 * p):
            raise PeakError(f"DeepLabCut locref must be {(b, h, w, 2 * p)}; got {locref.shape}")
        out_l = np.ascontiguousarray(locref.reshape(b, h, w, p, 2).transpose(0, 3, 4, 1, 2))
    if paf is not None:
        paf = np.asarray(paf, np.float32)
        if paf.ndim != 4 or paf.shape[:3] != (b, h, w) or paf.shape[3] % 2:
            raise PeakError(
                f"DeepLabCut paf must be (batch, {h}, {w}, 2 * limbs); got {paf.shape}"
            )
        n_limbs = paf.shape[3] // 2
        out_p = np.ascontiguousarray(paf.reshape(b, h, w, n_limbs, 2).transpose(0, 3, 4, 1, 2))
    return out_s, out_l, out_p
