"""Learning from the unlabeled frames of the user's own videos: a temporal-difference loss.

A body part moves little from one video frame to the next, so a prediction that jumps between
two consecutive frames (a paw taken for its neighbour, a part found on the background for one
frame) is wrong in one of them, without any label saying which. Lightning Pose (Biderman et al.,
Nature Methods 2024) trains on such pairs of unlabeled frames with a loss that is zero while a
part moves less than a tolerance and grows with the excess; this module is that loss for
poselab's scoremap models:

- :class:`UnlabeledConfig`: which videos, how many frame pairs, the weight and tolerance
  (``TrainConfig(unlabeled=UnlabeledConfig(videos=[...]))``);
- :class:`UnlabeledPairs`: consecutive frames sampled evenly from the videos, with where the
  animal is in each (background subtraction: the camera is fixed), so that training crops of a
  pair show the animal;
- :func:`soft_argmax` (differentiable positions from scoremaps) and :func:`temporal_loss`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from poselab.core.errors import PoselabError

__all__ = ["UnlabeledConfig", "UnlabeledPairs", "animal_centres", "soft_argmax", "temporal_loss"]


class UnlabeledError(PoselabError, ValueError):
    """Unlabeled videos that cannot be used as asked (the message says what to change)."""


@dataclass
class UnlabeledConfig:
    """How training learns from unlabeled video frames.

    Attributes
    ----------
    videos : list of str
        Videos of the same setup as the labeled frames (their frames need no labels).
    pairs : int
        Pairs of consecutive frames sampled, evenly spread over the videos (held in memory at
        the network's scale: 128 pairs of 640x480 frames take 236 MB).
    batch : int
        Pairs per training step (each pair costs two more crops through the network).
    weight : float
        Weight of the temporal loss (network pixels of excess motion) against the scoremap loss.
    max_step : float or None
        Motion of a part between consecutive frames that costs nothing, image pixels. None: a
        tenth of the animal's extent in the labeled images (the 90th percentile of the box
        around the labeled points).
    """

    videos: Sequence[str | os.PathLike] = field(default_factory=list)
    pairs: int = 128
    batch: int = 4
    weight: float = 0.1
    max_step: float | None = None

    def check(self) -> UnlabeledConfig:
        """Raise :class:`UnlabeledError` naming what cannot work; returns self."""
        problems = []
        if not self.videos:
            problems.append("give at least one video (videos=[...])")
        for video in self.videos:
            if not os.path.isfile(video):
                problems.append(f"{video}: no such video")
        if int(self.pairs) < 1 or int(self.batch) < 1:
            problems.append(f"pairs and batch must be >= 1; got {self.pairs} and {self.batch}")
        if not float(self.weight) >= 0:
            problems.append(f"weight must be >= 0; got {self.weight}")
        if self.max_step is not None and not float(self.max_step) > 0:
            problems.append(f"max_step must be positive (image pixels); got {self.max_step}")
        if problems:
            raise UnlabeledError("unlabeled frames: " + "; ".join(problems))
        return self

    def to_dict(self) -> dict:
        d = asdict(self)
        d["videos"] = [str(v) for v in self.videos]
        return d


def animal_centres(frames: np.ndarray) -> np.ndarray:
    """Where the animal is in each frame of a fixed camera: the centroid of the largest region
    that differs from the background (the per-pixel median of the frames).

    Parameters
    ----------
    frames
        ``(N, H, W, 3)`` uint8 frames of one video (N >= 3 for a useful median).

    Returns
    -------
    np.ndarray
        ``(N, 2)`` centres ``(x, y)`` in pixels; the image centre where nothing differs.
    """
    import cv2

    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise UnlabeledError(f"frames must be (N, H, W, 3); got {frames.shape}")
    background = np.median(frames, axis=0).astype(np.int16)
    h, w = frames.shape[1:3]
    centres = np.tile([(w - 1) / 2, (h - 1) / 2], (len(frames), 1)).astype(np.float64)
    kernel = np.ones((5, 5), np.uint8)
    for i, frame in enumerate(frames):
        difference = np.abs(frame.astype(np.int16) - background).sum(-1)
        threshold = max(30.0, float(np.percentile(difference, 99)) / 2)
        mask = cv2.morphologyEx((difference > threshold).astype(np.uint8), cv2.MORPH_OPEN, kernel)
        n, _, stats, centroids = cv2.connectedComponentsWithStats(mask)
        if n > 1:  # label 0 is the background
            largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
            centres[i] = centroids[largest]
    return centres


class UnlabeledPairs:
    """Pairs of consecutive frames from unlabeled videos, at the network's scale.

    Attributes
    ----------
    images : torch.Tensor
        ``(N, 2, 3, H, W)`` uint8 (frames of different sizes zero-padded).
    centres : torch.Tensor
        ``(N, 2)`` where the animal is (the mean of the pair's two centres), network pixels.
    """

    def __init__(self, images: torch.Tensor, centres: torch.Tensor) -> None:
        self.images, self.centres = images, centres

    def __len__(self) -> int:
        return len(self.images)

    @classmethod
    def from_videos(cls, videos: Sequence[str | os.PathLike], n_pairs: int, resize,
                    scale: float) -> UnlabeledPairs:
        """``n_pairs`` pairs ``(t, t + 1)`` spread evenly over the videos (in proportion to their
        lengths); ``resize`` brings a frame to the network's scale (``PoseModel.resize``)."""
        from poselab.io.video import open_video

        lengths = []
        for video in videos:
            with open_video(video) as reader:
                lengths.append(len(reader))
        if sum(max(n - 1, 0) for n in lengths) < 1:
            raise UnlabeledError("the unlabeled videos have no pair of consecutive frames")
        starts = np.linspace(0, sum(max(n - 1, 0) for n in lengths) - 1, int(n_pairs)).round().astype(int)
        edges = np.cumsum([0] + [max(n - 1, 0) for n in lengths])
        pairs, centres = [], []
        for v, video in enumerate(videos):
            mine = starts[(starts >= edges[v]) & (starts < edges[v + 1])] - edges[v]
            if not len(mine):
                continue
            wanted = sorted({int(t) for t in mine} | {int(t) + 1 for t in mine})
            with open_video(video) as reader:  # one forward pass over the video, not a seek per frame
                decoded = dict(reader.iter_frames_at(wanted))
            mine = [int(t) for t in mine if int(t) in decoded and int(t) + 1 in decoded]  # damaged frames left out
            if not mine:
                continue
            frames = [(decoded[t], decoded[t + 1]) for t in mine]
            both = np.stack([f for pair in frames for f in pair])
            found = animal_centres(both).reshape(len(mine), 2, 2).mean(1)
            pairs += [(resize(a), resize(b)) for a, b in frames]
            centres.append((found + 0.5) * scale - 0.5)
        if not pairs:
            raise UnlabeledError("no pair of consecutive frames could be read from the unlabeled videos")
        h = max(p[0].shape[0] for p in pairs)
        w = max(p[0].shape[1] for p in pairs)
        images = torch.zeros(len(pairs), 2, 3, h, w, dtype=torch.uint8)
        for i, (a, b) in enumerate(pairs):
            images[i, 0, :, : a.shape[0], : a.shape[1]] = torch.from_numpy(a).permute(2, 0, 1)
            images[i, 1, :, : b.shape[0], : b.shape[1]] = torch.from_numpy(b).permute(2, 0, 1)
        return cls(images, torch.from_numpy(np.concatenate(centres)).float())

    def to(self, device: torch.device | str) -> UnlabeledPairs:
        return UnlabeledPairs(self.images.to(device), self.centres)


def soft_argmax(scoremaps: torch.Tensor, stride: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Differentiable positions: the mean cell centre under each map's spatial softmax.

    Parameters
    ----------
    scoremaps
        ``(B, P, H, W)`` logits.
    stride
        Input pixels per output cell.

    Returns
    -------
    xy : torch.Tensor
        ``(B, P, 2)`` positions, input pixels.
    confidence : torch.Tensor
        ``(B, P)`` sigmoid of each map's peak logit (no gradient): near 0 where a part is
        absent, so its position can be left out.
    """
    b, p, h, w = scoremaps.shape
    weights = torch.softmax(scoremaps.reshape(b, p, h * w).float(), dim=-1).reshape(b, p, h, w)
    xs = torch.arange(w, device=scoremaps.device, dtype=torch.float32) * stride + (stride - 1) / 2
    ys = torch.arange(h, device=scoremaps.device, dtype=torch.float32) * stride + (stride - 1) / 2
    x = (weights.sum(-2) * xs).sum(-1)
    y = (weights.sum(-1) * ys).sum(-1)
    confidence = torch.sigmoid(scoremaps.detach().reshape(b, p, h * w).amax(-1).float())
    return torch.stack([x, y], dim=-1), confidence


def temporal_loss(xy_a: torch.Tensor, xy_b: torch.Tensor, weight: torch.Tensor, max_step: float) -> torch.Tensor:
    """Mean excess motion between two frames: ``sum(weight * relu(|a - b| - max_step)) / sum(weight)``.

    Parameters
    ----------
    xy_a, xy_b
        ``(B, P, 2)`` positions of the same parts in consecutive frames (pixels).
    weight
        ``(B, P)`` how much each part counts (e.g. the lower confidence of the two frames).
    max_step
        Motion that costs nothing, pixels.

    Returns
    -------
    torch.Tensor
        A scalar, pixels; 0 for a part that moves less than ``max_step``.
    """
    step = torch.linalg.vector_norm(xy_a - xy_b, dim=-1)
    excess = torch.relu(step - float(max_step))
    return (weight * excess).sum() / weight.sum().clamp(min=1e-6)
