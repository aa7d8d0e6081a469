"""Who is who by sight: descriptors of each found animal, and an embedding that tells animals
apart, learned from the video's own tracklets without labels.

1. :func:`describe` samples the network's feature maps at an animal's found parts (bilinear, at
   each part's sub-pixel position) and averages them, weighted by the parts' scores: one vector
   per animal and frame, which :func:`poselab.analyze_video` stores with the detections.
2. :func:`learn_appearance` learns a linear embedding from tracklets
   (:func:`~poselab.multianimal.link_tracklets`): two moments of one tracklet are one animal,
   two tracklets seen in the same frame are two animals. It minimises the contrastive
   :func:`embedding_loss` (InfoNCE with cosine similarity), so that what stays the same on one
   animal and differs between animals (a mark, a coat) is kept, and pose and lighting are not.
3. :func:`~poselab.multianimal.stitch` adds the embedding's distance to the cost of joining
   tracklets into identities (``TrackingConfig.appearance_weight``).

Where animals look alike (one strain, no marks) nothing can be learned: the embedding is checked
on frames it did not learn from (:attr:`AppearanceEmbedding.separation`) and dropped when it
cannot tell animals apart there, and positions and motion decide, as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from poselab.core.errors import PoselabError

__all__ = ["AppearanceEmbedding", "AppearanceError", "describe", "embedding_loss", "learn_appearance"]


class AppearanceError(PoselabError, ValueError):
    """Appearance descriptors or tracklets cannot be used as given."""


def describe(feature_maps: Sequence[torch.Tensor], animals: Sequence[np.ndarray],
             strides: Sequence[int], *, unit: bool = True) -> list[np.ndarray]:
    """One appearance descriptor per found animal.

    Parameters
    ----------
    feature_maps
        Feature maps ``(B, C_i, h_i, w_i)`` of one batch of images, map ``i`` at ``strides[i]``
        input pixels per cell (e.g. a shallow backbone level, with colour and texture, and the
        head's features).
    animals
        Per image ``(n, P, 3)``: x, y in the maps' input pixels and each part's score (NaN where
        a part was not found).
    strides
        Input pixels per cell of each map.
    unit
        Scale each map's mean to unit length (False: keep the means as they are, e.g. the
        probabilities of an identity head).

    Returns
    -------
    list of numpy.ndarray
        Per image ``(n, sum(C_i))`` float32: each map sampled at the found parts, averaged with
        the parts' scores as weights, scaled to unit length (``unit``), the maps side by side
        (each weighted alike). An animal with no found part gets zeros.
    """
    if len(feature_maps) != len(strides):
        raise AppearanceError(f"{len(feature_maps)} feature maps for {len(strides)} strides")
    out = []
    for b, found in enumerate(animals):
        found = np.asarray(found, np.float64)
        n = len(found)
        blocks = []
        for maps, stride in zip(feature_maps, strides):
            channels, h, w = maps.shape[1:]
            if n == 0:
                blocks.append(np.zeros((0, channels), np.float32))
                continue
            xy = found[..., :2].reshape(-1, 2)
            known = np.isfinite(xy).all(-1)
            # cell j covers input pixels around j * stride + (stride - 1) / 2 (the decoder's centres)
            cells = (np.nan_to_num(xy) - (stride - 1) / 2) / stride
            grid = np.stack([(2 * cells[:, 0] + 1) / w - 1, (2 * cells[:, 1] + 1) / h - 1], -1)
            grid_t = torch.as_tensor(grid, dtype=maps.dtype, device=maps.device)[None, None]
            sampled = F.grid_sample(maps[b : b + 1].float(), grid_t.float(), mode="bilinear",
                                    padding_mode="border", align_corners=False)[0, :, 0].T  # (n * P, C)
            sampled = sampled.cpu().numpy().reshape(n, -1, channels)
            weight = np.where(known, np.nan_to_num(found[..., 2].reshape(-1)), 0).reshape(n, -1)
            total = weight.sum(1, keepdims=True)
            mean = (sampled * weight[..., None]).sum(1) / np.where(total > 0, total, 1)
            if unit:
                norm = np.linalg.norm(mean, axis=1, keepdims=True)
                mean = mean / np.where(norm > 0, norm, 1) / np.sqrt(len(feature_maps))
            blocks.append(mean.astype(np.float32))
        out.append(np.concatenate(blocks, axis=1))
    return out


def embedding_loss(anchor: torch.Tensor, positive: torch.Tensor, negatives: torch.Tensor,
                   temperature: float = 0.1) -> torch.Tensor:
    """Contrastive loss (InfoNCE) of embedded animals, mean over the batch.

    Parameters
    ----------
    anchor, positive
        ``(B, k)``: the same animal at two moments.
    negatives
        ``(B, M, k)``: other animals seen with the anchor's.
    temperature
        Scale of the cosine similarities.

    Returns
    -------
    torch.Tensor
        ``-log(exp(s(a, p) / T) / (exp(s(a, p) / T) + sum_m exp(s(a, n_m) / T)))``: near 0 when
        each anchor is far more like its positive than like every negative.
    """
    a, p, n = F.normalize(anchor, dim=-1), F.normalize(positive, dim=-1), F.normalize(negatives, dim=-1)
    logits = torch.cat([(a * p).sum(-1, keepdim=True), torch.einsum("bk,bmk->bm", a, n)], dim=1) / temperature
    return F.cross_entropy(logits, torch.zeros(len(a), dtype=torch.long, device=a.device))


@dataclass(frozen=True)
class AppearanceEmbedding:
    """A learned linear embedding of appearance descriptors.

    Attributes
    ----------
    centre : numpy.ndarray
        ``(D,)`` subtracted first (the descriptors' mean).
    weights : numpy.ndarray
        ``(D, k)`` projection.
    separation : float
        On frames it was not learned from: the fraction of pairs of tracklets seen together
        that it tells apart (a tracklet's held-out frames are more like its own learning frames
        than like the other's held-out frames): 1 always, about 0.5 by chance.
    """

    centre: np.ndarray
    weights: np.ndarray
    separation: float = float("nan")

    def __call__(self, descriptors: np.ndarray) -> np.ndarray:
        """``(n, D)`` descriptors -> ``(n, k)`` unit vectors."""
        z = (np.asarray(descriptors, np.float64) - self.centre) @ self.weights
        norm = np.linalg.norm(z, axis=-1, keepdims=True)
        return z / np.where(norm > 0, norm, 1)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-12)


def _seen_together(tracklets: Sequence) -> list[list[int]]:
    """For each tracklet, the others that share a frame with it."""
    if not tracklets:
        return []
    starts = np.array([t.start for t in tracklets])
    ends = np.array([t.end for t in tracklets])
    overlap = (starts[:, None] <= ends[None, :]) & (starts[None, :] <= ends[:, None])
    np.fill_diagonal(overlap, False)
    frames = [None] * len(tracklets)
    together = []
    for i, row in enumerate(overlap):
        found = []
        for j in np.flatnonzero(row):  # spans overlap; a gap inside one may still keep them apart
            frames[i] = frames[i] if frames[i] is not None else set(tracklets[i].frames)
            if not frames[i].isdisjoint(tracklets[j].frames):
                found.append(int(j))
        together.append(found)
    return together


def learn_appearance(tracklets: Sequence, *, dims: int = 16, steps: int = 300, batch: int = 64,
                     negatives: int = 8, min_length: int = 5, temperature: float = 0.1,
                     min_separation: float = 0.8, seed: int = 0) -> AppearanceEmbedding | None:
    """An embedding that tells apart tracklets seen at the same time and holds within one.

    Each tracklet's first half is learned from, its second half held out: the embedding is kept
    only if it tells co-visible tracklets apart on the held-out halves (``min_separation``), so
    that animals that look alike (where a flexible embedding could only learn noise) leave the
    decision to positions and motion.

    Parameters
    ----------
    tracklets
        :class:`~poselab.multianimal.Tracklet` with ``appearance`` (one descriptor per frame).
    dims
        Size of the embedding.
    steps, batch, negatives
        Adam steps; anchors per step; other-animal samples per anchor.
    min_length
        Tracklets with fewer frames in each half are left out.
    temperature
        Of :func:`embedding_loss`.
    min_separation
        Held-out separation (:attr:`AppearanceEmbedding.separation`) below which no embedding
        is returned.
    seed
        Random seed (the result is deterministic).

    Returns
    -------
    AppearanceEmbedding or None
        None when no two tracklets are seen together or the held-out separation is too low.
    """
    keep = [t for t in tracklets if len(t.appearance) >= 2 * min_length]
    together = _seen_together(keep)
    anchors = [i for i, others in enumerate(together) if others]
    if not anchors:
        return None
    halves = [len(t.appearance) // 2 for t in keep]
    learn = [np.stack(t.appearance[:h]) for t, h in zip(keep, halves)]
    held = [np.stack(t.appearance[h:]) for t, h in zip(keep, halves)]
    centre = np.concatenate(learn).mean(0)
    data = [torch.as_tensor(d - centre, dtype=torch.float32) for d in learn]
    generator = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    dims = min(dims, centre.shape[0])
    weights = torch.nn.Parameter(torch.randn(centre.shape[0], dims, generator=generator) / np.sqrt(dims))
    optimiser = torch.optim.Adam([weights], lr=0.01)
    with torch.enable_grad():
        for _ in range(steps):
            picked = rng.choice(anchors, size=batch)
            a, p, n = [], [], []
            for i in picked:
                rows = rng.integers(0, len(data[i]), 2)
                a.append(data[i][rows[0]])
                p.append(data[i][rows[1]])
                others = rng.choice(together[i], size=negatives)
                n.append(torch.stack([data[j][rng.integers(0, len(data[j]))] for j in others]))
            loss = embedding_loss(torch.stack(a) @ weights, torch.stack(p) @ weights,
                                  torch.stack(n) @ weights, temperature)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    embedding = AppearanceEmbedding(centre=centre, weights=weights.detach().numpy().astype(np.float64))
    learnt = [_unit(embedding(d).mean(0)) for d in learn]
    unseen = [_unit(embedding(d).mean(0)) for d in held]
    wins = [learnt[i] @ unseen[i] > learnt[i] @ unseen[j] for i in anchors for j in together[i]]
    separation = float(np.mean(wins))
    if separation < min_separation:
        return None
    return AppearanceEmbedding(centre=embedding.centre, weights=embedding.weights, separation=separation)
