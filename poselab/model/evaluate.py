"""Accuracy of a pose model on labeled images: RMSE and PCK in pixels, and a picture."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from poselab.model.data import LabeledImages

__all__ = ["evaluate", "errors", "plot_predictions", "predict_images"]


def predict_images(model, data: LabeledImages, batch_size: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Predictions ``(N, P, 2)`` pixels and likelihoods ``(N, P)`` on every image of ``data``."""
    images = [data.image(i) for i in range(len(data))]
    return model.predict(images, batch_size=batch_size)


def errors(predicted: np.ndarray, labeled: np.ndarray) -> np.ndarray:
    """Euclidean distance ``(N, P)`` in pixels between predicted and labeled points (NaN missing)."""
    return np.linalg.norm(np.asarray(predicted, float) - np.asarray(labeled, float), axis=-1)


def _rmse(err: np.ndarray) -> float:
    err = err[np.isfinite(err)]
    return float(np.sqrt(np.mean(err**2))) if err.size else float("nan")


def evaluate(
    model,
    data: LabeledImages,
    *,
    cutoff: float = 0.6,
    thresholds: Sequence[float] = (2.0, 5.0, 10.0),
    batch_size: int = 8,
    predictions: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, Any]:
    """RMSE and PCK of ``model`` on ``data`` (all in image pixels).

    Parameters
    ----------
    model
        A :class:`~poselab.model.network.PoseModel` (anything with ``predict``).
    data
        Labeled images; parts must match the model's, in order.
    cutoff
        Likelihood threshold for ``rmse_px_cutoff`` (points below it are left out, as in
        DeepLabCut's "p-cutoff" RMSE).
    thresholds
        PCK distances in pixels: the share of labeled points predicted within each.
    predictions
        Precomputed ``(xy, likelihood)``, to skip running the model.

    Returns
    -------
    dict
        ``rmse_px`` (all labeled points), ``rmse_px_cutoff``, ``kept_fraction`` (share of
        labeled points above the cutoff), ``per_part`` ({part: rmse px}), ``pck``
        ({threshold px: fraction}), ``mean_error_px``, ``median_error_px``, ``n_images``,
        ``n_points``, ``xy`` and ``likelihood`` (the predictions), ``errors_px`` ``(N, P)``;
        ``absent_false_rate``: of the parts absent from an image (not labeled there, labeled
        in some other image), the share reported at or above ``cutoff`` (a false detection),
        over ``n_absent`` such cases (NaN when there are none).
    """
    if list(model.parts) != list(data.parts):
        raise ValueError(f"model parts {model.parts} differ from the data's {data.parts}")
    xy, lik = predictions if predictions is not None else predict_images(model, data, batch_size)
    err = errors(xy, data.keypoints)
    labeled = np.isfinite(err)
    kept = labeled & (lik >= cutoff)
    absent = ~np.isfinite(data.keypoints).all(-1) & labeled.any(0)[None, :]
    absent &= labeled.any(1)[:, None]  # an image with no label at all says nothing
    return {
        "rmse_px": _rmse(err),
        "rmse_px_cutoff": _rmse(np.where(kept, err, np.nan)),
        "cutoff": float(cutoff),
        "kept_fraction": float(kept.sum() / max(labeled.sum(), 1)),
        "per_part": {p: _rmse(err[:, i]) for i, p in enumerate(data.parts)},
        "pck": {float(t): float((err[labeled] <= t).mean()) if labeled.any() else float("nan")
                for t in thresholds},
        "mean_error_px": float(np.mean(err[labeled])) if labeled.any() else float("nan"),
        "median_error_px": float(np.median(err[labeled])) if labeled.any() else float("nan"),
        "n_images": len(data),
        "n_points": int(labeled.sum()),
        "absent_false_rate": float((lik[absent] >= cutoff).mean()) if absent.any() else float("nan"),
        "n_absent": int(absent.sum()),
        "xy": xy,
        "likelihood": lik,
        "errors_px": err,
    }


def plot_predictions(
    model,
    data: LabeledImages,
    *,
    indices: Sequence[int] | None = None,
    max_images: int = 6,
    ncols: int = 3,
    crop: float | None = 30.0,
    predictions: tuple[np.ndarray, np.ndarray] | None = None,
):
    """Figure of labeled (circles) vs predicted (crosses) points on some images.

    Parameters
    ----------
    indices
        Which images (default: the first ``max_images``).
    crop
        Margin in pixels around the labeled points' bounding box (None: whole image).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    indices = list(range(min(max_images, len(data)))) if indices is None else list(indices)
    sub = data.subset(indices)
    xy, lik = predictions if predictions is not None else predict_images(model, sub)
    nrows = max(1, int(np.ceil(len(indices) / ncols)))
    fig, axes = plt.subplots(nrows, ncols, figsize=(4 * ncols, 3.4 * nrows), squeeze=False)
    colors = plt.get_cmap("tab10")(np.arange(len(data.parts)) % 10)
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k >= len(indices):
            continue
        ax.imshow(sub.image(k))
        truth = sub.keypoints[k]
        ax.scatter(truth[:, 0], truth[:, 1], s=60, facecolors="none", edgecolors=colors, lw=1.5)
        ax.scatter(xy[k, :, 0], xy[k, :, 1], s=50, marker="x", c=colors, lw=1.5)
        err = errors(xy[k], truth)
        ax.set_title(f"{sub.names[k][-28:]}\nRMSE {_rmse(err):.2f} px", fontsize=8)
        if crop is not None and np.isfinite(truth).any():
            (x0, y0), (x1, y1) = np.nanmin(truth, axis=0), np.nanmax(truth, axis=0)
            half = max(x1 - x0, y1 - y0) / 2 + crop  # square window keeps the aspect
            cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
            ax.set_xlim(cx - half, cx + half)
            ax.set_ylim(cy + half, cy - half)
    handles = [plt.Line2D([], [], color=c, marker="o", ls="", mfc="none") for c in colors]
    fig.legend(handles, data.parts, loc="lower center", ncol=len(data.parts), fontsize=8)
    fig.suptitle("labeled (o) vs predicted (x)", fontsize=9)
    fig.tight_layout(rect=(0, 0.05, 1, 0.97))
    return fig
