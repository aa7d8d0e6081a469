"""Multi-animal accuracy: OKS mean average precision of poses, MOTA / IDF1 / switches of tracks.

Both take a ground-truth and a predicted pose Dataset over the same frames (matched by the
``frame`` coordinate) and parts. An animal is present in a frame when any of its parts is
known (not NaN).
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy.optimize import linear_sum_assignment

from poselab.core.errors import PoselabError

__all__ = [
    "MetricsError",
    "oks",
    "average_precision",
    "tracking_metrics",
    "COCO_THRESHOLDS",
]

COCO_THRESHOLDS = np.round(np.arange(0.5, 0.96, 0.05), 2)


class MetricsError(PoselabError, ValueError):
    """Ground truth and prediction do not describe the same frames, parts or coordinates."""


def _aligned(
    gt: xr.Dataset, pred: xr.Dataset
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(frame, animal, part, 2) positions of both and the predicted likelihoods, shared frames."""
    gparts = [str(p) for p in gt["part"].values]
    pparts = [str(p) for p in pred["part"].values]
    if gparts != pparts:
        raise MetricsError(
            f"parts differ: truth {gparts}, prediction {pparts}; select the same parts first"
        )
    frames = np.intersect1d(gt["frame"].values, pred["frame"].values)
    if frames.size == 0:
        raise MetricsError("truth and prediction share no frame index")
    order = ("frame", "animal", "part", "coord")
    g = gt["position"].sel(frame=frames).transpose(*order).values[..., :2]
    p = pred["position"].sel(frame=frames).transpose(*order).values[..., :2]
    lk = pred["likelihood"].sel(frame=frames).transpose("frame", "animal", "part").values
    return np.asarray(g, float), np.asarray(p, float), np.asarray(lk, float), frames


def oks(
    gt: np.ndarray, pred: np.ndarray, sigmas: float | np.ndarray = 0.1, *, margin: float = 0.0
) -> np.ndarray:
    """Object keypoint similarity of every ground-truth pose with every predicted pose.

    COCO's definition: ``mean over the truth's known parts of exp(-d^2 / (2 s^2 k^2))`` with
    ``d`` the distance (pixels), ``s^2`` the area (pixels^2) of the truth's bounding box grown by
    ``margin`` pixels on each side, and ``k = 2 sigma`` per part. A part the prediction misses
    counts 0.

    Parameters
    ----------
    gt, pred
        ``(N, P, 2)`` and ``(M, P, 2)`` positions (pixels, NaN = missing).
    sigmas
        Per-part (``(P,)``) or shared sigma (fraction of object scale).
    margin
        Pixels added around the truth's bounding box before taking its area.

    Returns
    -------
    numpy.ndarray
        ``(N, M)`` in [0, 1]; 0 for a truth without known parts.
    """
    gt = np.asarray(gt, float)[..., :2]
    pred = np.asarray(pred, float)[..., :2]
    if gt.ndim != 3 or pred.ndim != 3 or gt.shape[1] != pred.shape[1]:
        raise MetricsError(
            f"need (N, P, 2) and (M, P, 2) with the same P; got {gt.shape}, {pred.shape}"
        )
    k2 = (2 * np.broadcast_to(np.asarray(sigmas, float), (gt.shape[1],))) ** 2
    known = np.isfinite(gt[..., 0])  # (N, P)
    with np.errstate(invalid="ignore"):
        masked = np.where(known[..., None], gt, np.nan)
        lo, hi = np.nanmin(masked, 1), np.nanmax(masked, 1)
    wh = np.nan_to_num(hi - lo) + 2 * margin
    area = np.maximum(wh[:, 0] * wh[:, 1], np.finfo(float).eps)  # (N,)
    d2 = ((gt[:, None] - pred[None]) ** 2).sum(-1)  # (N, M, P)
    e = np.exp(-d2 / (2 * area[:, None, None] * k2))
    e = np.where(np.isfinite(e) & known[:, None], e, 0.0)
    n = known.sum(-1)
    return np.where(n[:, None] > 0, e.sum(-1) / np.maximum(n, 1)[:, None], 0.0)


def average_precision(
    gt: xr.Dataset,
    pred: xr.Dataset,
    *,
    sigmas: float | np.ndarray = 0.1,
    thresholds: np.ndarray = COCO_THRESHOLDS,
    margin: float = 0.0,
) -> dict[str, float]:
    """COCO-style OKS mean average precision and recall of pose sets, per frame.

    Predictions are ranked over all frames by their mean likelihood; in each frame each
    prediction, best first, takes the unmatched truth with the highest OKS if that is at least
    the threshold. AP is the 101-point interpolated area under precision-recall; mAP and mAR
    average over ``thresholds``. Animal identities play no role. This is pycocotools'
    ``COCOeval`` keypoint evaluation with each truth's ``area`` its bounding box (a truth part
    that is NaN is unlabeled, visibility 0; a missed predicted part counts 0): the same OKS,
    mAP, AP50, AP75 and mAR to 1e-12 (``tests/multianimal/test_metrics.py``).

    Returns
    -------
    dict
        ``mAP``, ``mAR``, ``AP50``, ``AP75`` (fractions in [0, 1]; AP50/AP75 NaN if those
        thresholds are not evaluated) and ``n_truth``, ``n_pred``.
    """
    g, p, lk, _ = _aligned(gt, pred)
    thresholds = np.atleast_1d(np.asarray(thresholds, float))
    scores, hits = [], []  # per prediction: score, matched per threshold
    n_truth = 0
    for f in range(g.shape[0]):
        gf = g[f][np.isfinite(g[f, :, :, 0]).any(-1)]
        keep = np.isfinite(p[f, :, :, 0]).any(-1)
        part_scores = np.where(np.isfinite(p[f, :, :, 0]), lk[f], np.nan)[keep]
        pf, sf = p[f][keep], np.nanmean(part_scores, -1)
        n_truth += len(gf)
        if not len(pf):
            continue
        order = np.argsort(-np.nan_to_num(sf, nan=0.0), kind="stable")
        sim = oks(gf, pf[order], sigmas, margin=margin) if len(gf) else np.zeros((0, len(pf)))
        matched = np.zeros((len(thresholds), len(pf)), bool)
        for t, thr in enumerate(thresholds):
            taken = np.zeros(len(gf), bool)
            for m in range(len(pf)):
                cand = np.where(taken, -1.0, sim[:, m])
                if len(gf) and cand.max() >= thr:
                    j = int(cand.argmax())
                    taken[j] = True
                    matched[t, m] = True
        scores.append(np.nan_to_num(sf[order], nan=0.0))
        hits.append(matched)
    if not scores or n_truth == 0:
        nan = float("nan")
        return {"mAP": nan if n_truth == 0 else 0.0, "mAR": nan if n_truth == 0 else 0.0,
                "AP50": nan, "AP75": nan, "n_truth": n_truth, "n_pred": 0}
    s = np.concatenate(scores)
    h = np.concatenate(hits, axis=1)[:, np.argsort(-s, kind="stable")]
    tp = np.cumsum(h, axis=1)
    precision = tp / np.arange(1, h.shape[1] + 1)
    recall = tp / n_truth
    # precision envelope, then precision at 101 recall levels (COCO)
    envelope = np.maximum.accumulate(precision[:, ::-1], axis=1)[:, ::-1]
    levels = np.linspace(0, 1, 101)
    ap = np.zeros(len(thresholds))
    for t in range(len(thresholds)):
        idx = np.searchsorted(recall[t], levels, side="left")
        ok = idx < h.shape[1]
        ap[t] = np.where(ok, envelope[t, np.minimum(idx, h.shape[1] - 1)], 0.0).mean()
    ar = recall[:, -1]

    def at(v):
        hit = np.isclose(thresholds, v)
        return float(ap[hit][0]) if hit.any() else float("nan")

    return {"mAP": float(ap.mean()), "mAR": float(ar.mean()), "AP50": at(0.5), "AP75": at(0.75),
            "n_truth": int(n_truth), "n_pred": int(h.shape[1])}


def tracking_metrics(
    gt: xr.Dataset, pred: xr.Dataset, *, max_distance: float | None = None
) -> dict[str, float]:
    """CLEAR-MOT accuracy, identity F1 and identity switches of tracked animals.

    A truth and a prediction match in a frame when their mean part distance (over parts both
    know) is at most ``max_distance`` pixels. Per frame, CLEAR-MOT's mappings are kept when
    still valid and the rest are made by optimal assignment: a truth animal's mapping is the
    predicted identity it was last matched to, also after frames in which it was not matched,
    until it is matched to another identity or that identity to another animal. A switch is a
    truth animal matched to a different predicted identity than at its previous match (so two
    animals trading identities count 2). IDF1 matches whole tracks: the truth-to-prediction
    identity pairing that maximises the frames in which they match (optimal assignment) gives
    IDTP, and ``IDF1 = 2 IDTP / (truth detections + predicted detections)``.

    Checked against py-motmetrics (``tests/multianimal/test_metrics.py``): the same MOTA, IDF1,
    IDP, IDR, switches, misses and false positives (motmetrics' ``num_matches`` excludes the
    switches, which ``matches`` here includes). One definitional difference: when an identity
    was last matched to one animal and has since been matched to another, and both are within
    reach of it, motmetrics gives it to whichever animal comes first in its input (its figures
    then depend on the order of the animals); here the animal it was matched to last keeps it.
    Before that comparison the mapping lasted only one frame (a mapping from before a missed
    frame was not kept), which counted a switch where an identity came back after a dropout
    beside a nearer one.

    Parameters
    ----------
    max_distance
        Match radius in pixels; default a fifth of the median animal length in the truth
        (largest part-to-part distance).

    Returns
    -------
    dict
        ``mota``, ``idf1``, ``idp``, ``idr``, ``id_switches``, ``switches_per_1000_frames``,
        ``false_negatives``, ``false_positives``, ``matches``, ``n_truth``, ``n_pred``,
        ``n_frames``, ``max_distance`` (pixels), ``switch_events``: ``(frame, truth animal)``
        for each switch, and ``switch_partners``: for each switch the truth animal that the
        newly matched predicted identity followed before (the animal traded with), or None.
    """
    g, p, _, frames = _aligned(gt, pred)
    n_frames, n_gt, _, _ = g.shape
    n_pr = p.shape[1]
    g_on = np.isfinite(g[..., 0]).any(-1)  # (F, A)
    p_on = np.isfinite(p[..., 0]).any(-1)
    if max_distance is None:
        d = np.linalg.norm(g[:, :, :, None] - g[:, :, None, :], axis=-1)
        spans = np.nanmax(np.where(np.isfinite(d), d, -np.inf), axis=(-1, -2))
        spans = spans[np.isfinite(spans) & (spans > 0)]
        max_distance = 0.2 * float(np.median(spans)) if spans.size else 10.0
    # pairwise mean part distance (F, A_gt, A_pred)
    dist = np.linalg.norm(g[:, :, None] - p[:, None], axis=-1)
    common = np.isfinite(dist)
    mean = np.where(common, dist, 0).sum(-1) / np.maximum(common.sum(-1), 1)
    ok = common.any(-1) & (mean <= max_distance) & g_on[:, :, None] & p_on[:, None, :]
    big = 1e9
    last = np.full(n_gt, -1)  # predicted identity each truth animal was last matched to
    followed = np.full(n_pr, -1)  # truth animal each predicted identity was last matched to
    rows_all = np.arange(n_gt)
    partners: list[int] = []
    switches = fn = fp = matches = 0
    events: list[tuple[int, int]] = []
    together = np.zeros((n_gt, n_pr))
    for f in range(n_frames):
        cost = np.where(ok[f], mean[f], big)
        # CLEAR-MOT continuity: keep each truth animal's mapping when still valid, also after
        # frames in which it was not matched (a mapping lasts until replaced: the identity it
        # was last matched to, unless that identity has been matched to another animal since)
        held = (last >= 0) & (followed[np.maximum(last, 0)] == rows_all)
        keep = held & ok[f, rows_all, np.maximum(last, 0)]
        cost[keep] = big
        cost[:, last[keep]] = big
        cost[keep, last[keep]] = -big
        rows, cols = linear_sum_assignment(cost)
        good = cost[rows, cols] < big
        rows, cols = rows[good], cols[good]
        switched = (last[rows] >= 0) & (last[rows] != cols)
        switches += int(switched.sum())
        events += [(int(frames[f]), int(r)) for r in rows[switched]]
        partners += [int(followed[c]) if followed[c] not in (-1, r) else -1
                     for r, c in zip(rows[switched], cols[switched])]
        followed[cols] = rows
        last[rows] = cols
        matches += len(rows)
        fn += int(g_on[f].sum()) - len(rows)
        fp += int(p_on[f].sum()) - len(rows)
        together += ok[f]
    n_truth, n_pred = int(g_on.sum()), int(p_on.sum())
    r, c = linear_sum_assignment(together, maximize=True)
    idtp = float(together[r, c].sum())
    return {
        "mota": 1.0 - (fn + fp + switches) / n_truth if n_truth else float("nan"),
        "idf1": 2 * idtp / (n_truth + n_pred) if n_truth + n_pred else float("nan"),
        "idp": idtp / n_pred if n_pred else float("nan"),
        "idr": idtp / n_truth if n_truth else float("nan"),
        "id_switches": int(switches),
        "switches_per_1000_frames": 1000.0 * switches / n_frames,
        "false_negatives": int(fn),
        "false_positives": int(fp),
        "matches": int(matches),
        "n_truth": n_truth,
        "n_pred": n_pred,
        "n_frames": int(n_frames),
        "max_distance": float(max_distance),
        "switch_events": [(f, str(gt["animal"].values[a])) for f, a in events],
        "switch_partners": [None if b < 0 else str(gt["animal"].values[b]) for b in partners],
    }
