"""Several views of the same body points in one image (a mirror, or cameras tiled in one frame).

Where parts are named ``<point>_<view>`` (``paw1LH_top`` and ``paw1LH_bot``: the same paw seen
from the side and, through a mirror, from below), a body point's positions in the views are not
independent: for cameras that are close to affine, the stacked coordinates ``(x1, y1, x2, y2,
...)`` of any body point lie near one 3-dimensional subspace (the 3-D point seen through each
view), the same subspace for every body point. :func:`fit_multiview` finds it from the training
labels (principal components, as Lightning Pose's multi-view PCA); :meth:`MultiView.choose`
then decodes each body point by picking, among the best few peaks of each view's scoremap, the
combination that agrees across the views. A left and a right paw look alike from the side, and
the network's best peak is often the other paw there; the view from below tells them apart.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["MultiView", "find_views", "fit_multiview"]

_SUFFIX = re.compile(r"^(?P<point>.+)[_\-](?P<view>[^_\-]+)$")
#: A view must hold at least this many named body points to count as a view.
MIN_POINTS_PER_VIEW = 3
#: A peak below this likelihood is not a candidate (the part is likely hidden in that view).
MIN_LIKELIHOOD = 0.05
#: Views are real only where the labels lie this close to a 3-D subspace: the spread left
#: outside it at most this share of the smallest spread inside (0.12 on a mirrored mouse; a
#: paw and a knee named ``leg_paw``/``leg_knee`` are near 1).
MAX_RESIDUAL_RATIO = 0.3
#: Views agree when a point is within this many typical distances of the subspace.
CONSISTENT_SIGMAS = 3.0


def find_views(parts: list[str]) -> tuple[list[str], list[list[int]]]:
    """Views and the body points seen in all of them, from the part names.

    Parts named ``<point>_<view>`` (or ``<point>-<view>``); a suffix counts as a view when at
    least 3 points carry it. Parts of one view only (an obstacle seen from the side) are left
    out.

    Returns
    -------
    views : list of str
        The view suffixes, in order of first appearance (empty when there are fewer than two).
    groups : list of list of int
        Per body point seen in every view, the index of its part in each view.
    """
    named = [_SUFFIX.match(p) for p in parts]
    counts = Counter(m["view"] for m in named if m)
    views = [v for v in dict.fromkeys(m["view"] for m in named if m) if counts[v] >= MIN_POINTS_PER_VIEW]
    if len(views) < 2:
        return [], []
    index = {(m["point"], m["view"]): i for i, m in enumerate(named) if m}
    points = dict.fromkeys(m["point"] for m in named if m)
    groups = [[index[(pt, v)] for v in views] for pt in points if all((pt, v) in index for v in views)]
    if len(groups) < MIN_POINTS_PER_VIEW:
        return [], []
    return views, groups


@dataclass
class MultiView:
    """The subspace that a body point's coordinates in all views share (see module docs).

    Attributes
    ----------
    views : list of str
        View suffixes.
    groups : list of list of int
        Per body point, its part index in each view.
    mean : np.ndarray
        ``(2V,)`` mean stacked coordinates, image pixels.
    basis : np.ndarray
        ``(2V, 3)`` orthonormal basis of the subspace.
    group_sigma_px : list of float
        Per body point, the typical distance from the subspace per residual dimension on the
        training labels, pixels (robust: from the median; at least that of all points, as a
        flexible tail agrees less than a paw).
    """

    views: list[str]
    groups: list[list[int]]
    mean: np.ndarray
    basis: np.ndarray
    group_sigma_px: list[float]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (kept in the model card)."""
        return {"views": list(self.views), "groups": [list(map(int, g)) for g in self.groups],
                "mean": np.asarray(self.mean).tolist(), "basis": np.asarray(self.basis).tolist(),
                "group_sigma_px": [float(v) for v in self.group_sigma_px]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MultiView:
        return cls(list(d["views"]), [list(g) for g in d["groups"]], np.asarray(d["mean"], float),
                   np.asarray(d["basis"], float), [float(v) for v in d["group_sigma_px"]])

    def residual_px2(self, stacked: np.ndarray) -> np.ndarray:
        """Squared distance of stacked coordinates ``(..., 2V)`` from the subspace, pixels²."""
        centred = np.asarray(stacked, float) - self.mean
        off = centred - centred @ self.basis @ self.basis.T
        return (off**2).sum(-1)

    def choose(self, xy: torch.Tensor, logits: torch.Tensor, scale: float = 1.0
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """Per body point, the candidate peaks that agree across the views.

        Where the best peaks of a body point's views agree (within ``CONSISTENT_SIGMAS``
        typical distances of the subspace), they are kept. Where they do not, the most likely
        combination of candidates (each at least ``MIN_LIKELIHOOD``) that does agree is taken
        (one confident view thus keeps its peak, and the doubtful view gives way); where none
        agrees, the best peaks stay.

        Parameters
        ----------
        xy
            ``(B, P, K, 2)`` candidate positions (best first), network pixels.
        logits
            ``(B, P, K)`` their scoremap logits.
        scale
            Network pixels per image pixel (the subspace is in image pixels).

        Returns
        -------
        xy, logits
            ``(B, P, 2)`` and ``(B, P)``: the chosen candidate of every part (the best peak for
            parts in no group).
        """
        b, p, k, _ = xy.shape
        chosen = torch.zeros(b, p, dtype=torch.long, device=xy.device)
        n_views = len(self.views)
        combos = torch.tensor(list(itertools.product(range(k), repeat=n_views)), device=xy.device)
        mean = torch.as_tensor(self.mean, dtype=xy.dtype, device=xy.device) * scale
        basis = torch.as_tensor(self.basis, dtype=xy.dtype, device=xy.device)
        view = torch.arange(n_views, device=xy.device)[None, :]
        residual_dims = 2 * n_views - basis.shape[1]
        for group, sigma in zip(self.groups, self.group_sigma_px, strict=True):
            idx = torch.as_tensor(group, device=xy.device)
            z = xy[:, idx][:, view, combos].reshape(b, len(combos), 2 * n_views) - mean  # (B, C, 2V)
            off = z - z @ basis @ basis.T
            limit = residual_dims * (CONSISTENT_SIGMAS * sigma * scale) ** 2
            log_lik = F.logsigmoid(logits[:, idx][:, view, combos])  # (B, C, V)
            usable = (log_lik >= np.log(MIN_LIKELIHOOD)).all(-1) | (combos == 0).all(-1)
            agree = ((off**2).sum(-1) <= limit) & usable
            score = log_lik.sum(-1).masked_fill(~agree, -torch.inf)
            best = combos[score.argmax(-1)]  # (B, V)
            keep_top = agree[:, 0:1] | ~agree.any(-1, keepdim=True)  # combo 0: every best peak
            chosen[:, idx] = torch.where(keep_top, torch.zeros_like(best), best)
        picked_xy = xy.gather(2, chosen[:, :, None, None].expand(b, p, 1, 2))[:, :, 0]
        picked_logits = logits.gather(2, chosen[:, :, None])[:, :, 0]
        return picked_xy, picked_logits


def fit_multiview(keypoints: np.ndarray, parts: list[str], *, min_samples: int = 10) -> MultiView | None:
    """The multi-view subspace of labeled keypoints, or None where the parts show no views.

    Parameters
    ----------
    keypoints
        ``(N, P, 2)`` labeled positions, image pixels (NaN where not labeled).
    parts
        Part names (views from :func:`find_views`).
    min_samples
        Fewest body points labeled in every view (over all images and points) to fit from.

    Returns
    -------
    MultiView or None
        None where the names show no views, too few points are labeled in all views, or the
        labels do not lie near a 3-D subspace (``MAX_RESIDUAL_RATIO``).
    """
    views, groups = find_views(list(parts))
    if not views:
        return None
    kp = np.asarray(keypoints, float)
    per_group = [kp[:, g].reshape(len(kp), -1) for g in groups]  # each (N, 2V)
    per_group = [z[np.isfinite(z).all(-1)] for z in per_group]
    stacked = np.concatenate(per_group)
    dims = min(3, stacked.shape[1] - 1)
    if len(stacked) < max(min_samples, dims + 2):
        return None
    mean = stacked.mean(0)
    _, singular, vt = np.linalg.svd(stacked - mean, full_matrices=False)
    if singular[dims] > MAX_RESIDUAL_RATIO * singular[dims - 1]:
        return None  # the points do not share a 3-D subspace: names alike, but not views
    model = MultiView(views, groups, mean, vt[:dims].T, [])
    residual_dims = stacked.shape[1] - dims
    # robust per-dimension scale: the median of a chi-square with d dof is about d (1 - 2/(9d))^3
    median_chi2 = residual_dims * (1 - 2 / (9 * residual_dims)) ** 3

    def sigma(z: np.ndarray) -> float:
        return float(np.sqrt(np.median(model.residual_px2(z)) / median_chi2)) if len(z) else 0.0

    overall = max(sigma(stacked), 1.0)
    model.group_sigma_px = [max(overall, sigma(z) if len(z) >= 5 else overall) for z in per_group]
    return model
