"""Video adaptation: a model teaches itself the look of the user's own video, with no labels.

:func:`pseudo_labels` predicts on frames spread over the video and keeps, as labels, the
keypoints the model is sure of *and* consistent about: likely (``min_likelihood``), the same on
the mirrored frame (mirrored back, left and right swapped) within ``agreement_px``, and near its
place in the next frame (``max_step_px``). Keypoints that fail are left unlabeled (unknown, not
taught as absent). :func:`adapt_to_video` fine-tunes the model on those frames, as DeepLabCut's
SuperAnimal "video adaptation" does, but with the two consistency checks as the filter rather
than the likelihood alone.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from poselab.core.errors import PoselabError
from poselab.io.video import open_video
from poselab.model import LabeledImages, PoseModel, Recipe, TrainConfig, train

__all__ = ["AdaptConfig", "AdaptationError", "adapt_to_video", "pseudo_labels"]


class AdaptationError(PoselabError, ValueError):
    """The video gave too few confident frames to adapt a model on."""


@dataclass
class AdaptConfig:
    """Settings of video adaptation.

    Attributes
    ----------
    frames : int
        Frames taken evenly over the video (each with the frame after it, for the step check).
    min_likelihood : float
        A keypoint is a pseudo-label only at or above this likelihood (0-1), in the frame, the
        mirrored frame and the next frame.
    agreement_px : float
        Largest distance between the prediction and the mirrored frame's (pixels).
    max_step_px : float
        Largest move of a keypoint to the next frame (pixels).
    epochs : int
        Fine-tuning epochs over the pseudo-labeled frames.
    lr : float
        Peak learning rate (lower than training from ImageNet: the model is already close).
    batch_size : int
        Frames per step, for prediction and training.
    seed : int
        Random seed of the fine-tuning.
    """

    frames: int = 200
    min_likelihood: float = 0.5
    agreement_px: float = 4.0
    max_step_px: float = 12.0
    epochs: int = 10
    lr: float = 5e-4
    batch_size: int = 8
    seed: int = 0


def _unmirror(xy: np.ndarray, width: int, flip_pairs: list[list[int]]) -> np.ndarray:
    """Predictions on mirrored frames ``(B, P, 2)`` back in the frame's pixels, parts swapped."""
    out = xy.copy()
    out[..., 0] = width - 1 - out[..., 0]
    for a, b in flip_pairs:
        out[:, [a, b]] = out[:, [b, a]]
    return out


def pseudo_labels(model: PoseModel, video: str | os.PathLike,
                  config: AdaptConfig | None = None) -> tuple[LabeledImages, dict]:
    """Frames of ``video`` labeled by ``model`` where it is confident and consistent.

    Returns
    -------
    LabeledImages
        The kept frames (at least one pseudo-labeled keypoint each), NaN where unsure.
    dict
        ``frames_read``, ``frames_kept``, ``keypoints_kept`` (fraction of the read frames'
        keypoints kept), and the fraction that passes each check on its own: ``likely``,
        ``mirror_agrees``, ``step_small``.
    """
    config = config or AdaptConfig()
    images, labels, names = [], [], []
    passed = {"likely": 0, "mirror": 0, "step": 0}
    total = read = 0
    with open_video(video) as reader:
        n = len(reader)
        starts = np.unique(np.linspace(0, max(n - 2, 0), min(config.frames, max(n - 1, 1))).round().astype(int))
        pairs = _frame_pairs(reader, starts)
        while chunk := list(itertools.islice(pairs, config.batch_size)):
            read += len(chunk)
            mean, checks = _judge(model, chunk, config)
            for name, ok in checks.items():
                passed[name] += int(ok.sum())
            total += mean.shape[0] * mean.shape[1]
            keep = checks["likely"] & checks["mirror"] & checks["step"]
            for j, (start, frame, _) in enumerate(chunk):
                if keep[j].any():
                    images.append(frame)
                    labels.append(np.where(keep[j][:, None], mean[j], np.nan))
                    names.append(f"{Path(video).name}#{start}")
    kept = np.stack(labels) if labels else np.zeros((0, len(model.parts), 2))
    report = {
        "frames_read": read,
        "frames_kept": len(images),
        "keypoints_kept": float(np.isfinite(kept[..., 0]).sum() / max(total, 1)),
        "likely": passed["likely"] / max(total, 1),
        "mirror_agrees": passed["mirror"] / max(total, 1),
        "step_small": passed["step"] / max(total, 1),
    }
    return LabeledImages(images, kept, model.parts, names), report


def _frame_pairs(reader, starts: np.ndarray):
    """``(start, frame, next frame)`` for each start, decoded in one forward pass (frames are
    never all held at once: long or large videos stay within memory)."""
    wanted = np.unique(np.concatenate([starts, starts + 1]))
    is_start = {int(s) for s in starts}
    previous = None
    for index, frame in reader.iter_frames_at(wanted):
        if previous is not None and previous[0] == index - 1 and previous[0] in is_start:
            yield previous[0], previous[1], frame
        previous = (index, frame)


def _judge(model: PoseModel, chunk: list, config: AdaptConfig) -> tuple[np.ndarray, dict]:
    """Mean of the frame's and the mirrored frame's predictions ``(B, P, 2)`` and, per check,
    which keypoints pass it ``(B, P)``."""
    pairs = model.card["flip_pairs"]
    now = np.stack([c[1] for c in chunk])
    nxt = np.stack([c[2] for c in chunk])
    xy, lik = model.predict(now, config.batch_size, flip_test=False)
    mxy, mlik = model.predict(np.ascontiguousarray(now[:, :, ::-1]), config.batch_size, flip_test=False)
    mxy = _unmirror(mxy, now.shape[2], pairs)
    mlik = mlik[:, [_partner(p, pairs) for p in range(mlik.shape[1])]]
    nxy, nlik = model.predict(nxt, config.batch_size, flip_test=False)
    sure = config.min_likelihood
    return (xy + mxy) / 2, {
        "likely": (lik >= sure) & (mlik >= sure) & (nlik >= sure),
        "mirror": np.linalg.norm(xy - mxy, axis=-1) <= config.agreement_px,
        "step": np.linalg.norm(xy - nxy, axis=-1) <= config.max_step_px,
    }


def _partner(part: int, pairs: list[list[int]]) -> int:
    for a, b in pairs:
        if part == a:
            return b
        if part == b:
            return a
    return part


def adapt_to_video(model: PoseModel, video: str | os.PathLike, config: AdaptConfig | None = None, *,
                   out_dir: str | os.PathLike | None = None) -> PoseModel:
    """A copy of ``model`` fine-tuned on its own confident, consistent predictions on ``video``.

    No label is needed. The card records the adaptation (``card["adapted_to"]``: video, frames
    and keypoints used, what each check kept) and, for a zoo model, where it started
    (``card["init_from"]``).

    Parameters
    ----------
    model
        A trained model (``poselab.zoo.load("topview_mouse")``).
    video
        The user's video.
    config
        :class:`AdaptConfig` (frames, confidence and consistency thresholds, epochs...).
    out_dir
        Where training writes its checkpoints (resumable), as :func:`poselab.model.train`.

    Raises
    ------
    AdaptationError
        When fewer than 8 frames have a confident, consistent keypoint (the model does not see
        this video's animal well enough to teach itself; label a few frames instead).
    """
    config = config or AdaptConfig()
    data, report = pseudo_labels(model, video, config)
    if len(data) < 8:
        raise AdaptationError(
            f"only {len(data)} of {report['frames_read']} frames of {video} have a keypoint the model "
            f"is sure of (likely {report['likely']:.0%}, mirror agrees {report['mirror_agrees']:.0%}, "
            f"small step {report['step_small']:.0%}): label a few frames and fine-tune instead"
        )
    recipe = Recipe.for_data(data, init_from=model, train=TrainConfig(
        epochs=config.epochs, lr=config.lr, batch_size=config.batch_size, seed=config.seed,
        missing_is_absent=False))
    recipe = dataclasses.replace(recipe, input_size=max(recipe.input_size, int(model.card["input_size"][0])))
    adapted = recipe.model(model.parts, flip_pairs=[[model.parts[a], model.parts[b]] for a, b in model.card["flip_pairs"]])
    train(adapted, data, recipe.train, out_dir=out_dir)
    adapted.card["adapted_to"] = {"video": Path(video).name, **report}
    return adapted
