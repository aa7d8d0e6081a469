"""Batched data augmentation in torch that moves keypoints with the image.

One 3x3 matrix per sample maps source pixels to output-crop pixels: centre on the animal (a
random point of the box around its visible keypoints, so that a part far from the others, a
tongue or a tail tip, is inside some crops even when the crop is smaller than the animal), rotate, scale, optionally mirror, and place in the crop.
Images are resampled with ``F.affine_grid`` / ``F.grid_sample`` in a single call for the whole
batch (on whatever device the images are), keypoints go through the same matrix, and mirrored
samples swap their left/right parts. Keypoints that leave the crop become NaN (missing).
Photometric changes (brightness, contrast, noise, blur) follow, per sample.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F

__all__ = ["AugmentConfig", "affine_matrices", "augment_batch", "crop_batch", "paired_crops", "warp"]


@dataclass
class AugmentConfig:
    """Ranges of the random changes (all drawn uniformly, independently per sample).

    Attributes
    ----------
    rotation : float
        Maximum rotation, degrees (either direction).
    scale : tuple of float
        Range of zoom factors (output pixels per source pixel, times the model scale).
    translation : float
        Maximum shift of the animal from the crop centre, as a fraction of the crop size.
    flip : float
        Probability of a horizontal mirror (left/right parts swapped).
    brightness, contrast : float
        Maximum additive brightness change (0-1 intensity scale) and relative contrast change.
    noise : float
        Maximum standard deviation of additive Gaussian noise (0-1 intensity scale).
    blur : float
        Probability of a Gaussian blur (sigma 1 pixel).
    random_crop : float
        Probability of centring the crop on a random image point instead of the animal.
    box_jitter : float
        Where on the animal crops are centred: 0 on the mean of its visible keypoints, 1 on a
        uniform random point of the box around them (a part far from the others, a tongue or a
        tail tip, then lies inside some crops even when the crop is smaller than the animal).
    grayscale : float
        Probability of turning a crop grey (its luminance in all three channels): a model
        meant for any camera, colour or monochrome, learns shapes rather than hues.
    """

    rotation: float = 25.0
    scale: tuple[float, float] = (0.8, 1.25)
    translation: float = 0.2
    flip: float = 0.5
    brightness: float = 0.15
    contrast: float = 0.25
    noise: float = 0.03
    blur: float = 0.2
    random_crop: float = 0.1
    box_jitter: float = 1.0
    grayscale: float = 0.0

    @classmethod
    def none(cls) -> AugmentConfig:
        """No randomness: centre crops on the animal."""
        return cls(0.0, (1.0, 1.0), 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["scale"] = list(self.scale)
        return d


def _uniform(n: int, low: float, high: float, gen: torch.Generator, device) -> torch.Tensor:
    return (torch.rand(n, generator=gen) * (high - low) + low).to(device)


def _animal_centres(keypoints: torch.Tensor, sizes: torch.Tensor) -> torch.Tensor:
    """Mean of visible keypoints per sample; the image centre when none is visible."""
    visible = torch.isfinite(keypoints).all(-1, keepdim=True)
    total = torch.where(visible, keypoints, torch.zeros_like(keypoints)).sum(1)
    count = visible.sum(1).clamp(min=1)
    centre = total / count
    fallback = (sizes.to(keypoints.dtype) - 1) / 2  # (B, 2) as (x, y)
    return torch.where(visible.any(1), centre, fallback)


def _random_box_points(keypoints: torch.Tensor, sizes: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """A uniform random point of the box around each sample's visible keypoints ``(B, 2)``;
    the image centre when none is visible."""
    visible = torch.isfinite(keypoints).all(-1, keepdim=True)
    big = torch.finfo(keypoints.dtype).max
    low = torch.where(visible, keypoints, torch.full_like(keypoints, big)).amin(1)
    high = torch.where(visible, keypoints, torch.full_like(keypoints, -big)).amax(1)
    u = torch.rand(keypoints.shape[0], 2, generator=gen)
    fallback = (sizes.to(keypoints.dtype) - 1) / 2
    return torch.where(visible.any(1), low + u * (high - low), fallback)


def affine_matrices(
    centre: torch.Tensor,
    out_size: tuple[int, int],
    *,
    angle: torch.Tensor | None = None,
    zoom: torch.Tensor | None = None,
    shift: torch.Tensor | None = None,
    flip: torch.Tensor | None = None,
) -> torch.Tensor:
    """Source-pixel -> output-pixel matrices ``(B, 3, 3)``.

    ``u = T(crop centre + shift) . Mirror . Zoom . Rotate(angle) . T(-centre) . x``; angle in
    radians, zoom unitless, shift in output pixels ``(B, 2)``, flip boolean ``(B,)``.
    """
    b = centre.shape[0]
    dev, dt = centre.device, centre.dtype
    angle = torch.zeros(b, device=dev, dtype=dt) if angle is None else angle.to(dt)
    zoom = torch.ones(b, device=dev, dtype=dt) if zoom is None else zoom.to(dt)
    shift = torch.zeros(b, 2, device=dev, dtype=dt) if shift is None else shift.to(dt)
    sign = torch.ones(b, device=dev, dtype=dt)
    if flip is not None:
        sign = torch.where(flip.to(dev), -sign, sign)
    cos, sin = torch.cos(angle) * zoom, torch.sin(angle) * zoom
    h, w = out_size
    m = torch.zeros(b, 3, 3, device=dev, dtype=dt)
    m[:, 0, 0], m[:, 0, 1] = sign * cos, -sign * sin
    m[:, 1, 0], m[:, 1, 1] = sin, cos
    lin = m[:, :2, :2]
    origin = torch.tensor([(w - 1) / 2, (h - 1) / 2], device=dev, dtype=dt) + shift
    m[:, :2, 2] = origin - (lin @ centre[..., None])[..., 0]
    m[:, 2, 2] = 1
    return m


def _normaliser(h: int, w: int, device, dtype) -> torch.Tensor:
    """Pixel -> [-1, 1] coordinates of ``grid_sample(align_corners=True)``."""
    return torch.tensor(
        [[2 / max(w - 1, 1), 0, -1], [0, 2 / max(h - 1, 1), -1], [0, 0, 1]], device=device, dtype=dtype
    )


def warp(
    images: torch.Tensor,
    keypoints: torch.Tensor,
    matrices: torch.Tensor,
    out_size: tuple[int, int],
    *,
    flip: torch.Tensor | None = None,
    flip_pairs: Sequence[Sequence[int]] = (),
) -> tuple[torch.Tensor, torch.Tensor]:
    """Resample images ``(B, C, H, W)`` float and move keypoints ``(B, P, 2)`` by ``matrices``.

    Returns images ``(B, C, h, w)`` and keypoints in output pixels, NaN when outside the crop.
    """
    b, c, h_in, w_in = images.shape
    h, w = out_size
    m = matrices.to(images.device, torch.float32)
    n_in = _normaliser(h_in, w_in, m.device, m.dtype)
    n_out = _normaliser(h, w, m.device, m.dtype)
    theta = n_in @ torch.linalg.inv(m) @ torch.linalg.inv(n_out)
    grid = F.affine_grid(theta[:, :2], [b, c, h, w], align_corners=True)
    out = F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=True)
    kp = keypoints.to(m.device, torch.float32)
    moved = (m[:, None, :2, :2] @ kp[..., None])[..., 0] + m[:, None, :2, 2]
    if flip is not None and len(flip_pairs):
        perm = torch.arange(kp.shape[1], device=m.device)
        for a, bb in flip_pairs:  # tiny loop over pairs to build one permutation
            perm[a], perm[bb] = bb, a
        moved = torch.where(flip.to(m.device)[:, None, None], moved[:, perm], moved)
    inside = (moved[..., 0] >= 0) & (moved[..., 0] <= w - 1) & (moved[..., 1] >= 0) & (moved[..., 1] <= h - 1)
    moved = torch.where(inside[..., None], moved, torch.full_like(moved, float("nan")))
    return out, moved


def _blur(x: torch.Tensor) -> torch.Tensor:
    """Separable [1, 4, 6, 4, 1] / 16 blur (sigma ~1 pixel) by shifted sums (fast on CPU)."""
    w = (1 / 16, 4 / 16, 6 / 16, 4 / 16, 1 / 16)
    p = F.pad(x, (2, 2, 2, 2), mode="replicate")
    h, wd = x.shape[-2:]
    rows = sum(c * p[..., :, k : k + wd] for k, c in enumerate(w))
    return sum(c * rows[..., k : k + h, :] for k, c in enumerate(w))


def _photometric(x: torch.Tensor, cfg: AugmentConfig, gen: torch.Generator) -> torch.Tensor:
    b, dev = x.shape[0], x.device
    if cfg.contrast:
        factor = _uniform(b, 1 - cfg.contrast, 1 + cfg.contrast, gen, dev)[:, None, None, None]
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        x = (x - mean) * factor + mean
    if cfg.brightness:
        x = x + _uniform(b, -cfg.brightness, cfg.brightness, gen, dev)[:, None, None, None]
    if cfg.blur:
        pick = torch.rand(b, generator=gen) < cfg.blur
        if pick.any():
            sel = pick.nonzero()[:, 0].to(dev)
            x = x.clone()
            x[sel] = _blur(x[sel])
    if cfg.noise:
        sigma = _uniform(b, 0, cfg.noise, gen, dev)[:, None, None, None]
        noise = torch.randn(x.shape, generator=gen).to(dev)
        x = x + noise * sigma
    x = x.clamp(0, 1)
    if cfg.grayscale:  # drawn last, and only when asked: other settings keep their random streams
        pick = (torch.rand(b, generator=gen) < cfg.grayscale).to(dev)[:, None, None, None]
        weights = torch.tensor([0.299, 0.587, 0.114], device=dev, dtype=x.dtype)[:, None, None]
        x = torch.where(pick, (x * weights).sum(1, keepdim=True).expand_as(x), x)
    return x


def augment_batch(
    images: torch.Tensor,
    keypoints: torch.Tensor,
    out_size: tuple[int, int],
    config: AugmentConfig | None = None,
    *,
    generator: torch.Generator,
    flip_pairs: Sequence[Sequence[int]] = (),
    sizes: torch.Tensor | None = None,
    zoom: float = 1.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Random crops around the animal with geometric and photometric changes.

    Parameters
    ----------
    images
        ``(B, 3, H, W)`` float in [0, 1] (or uint8, converted), on any device.
    keypoints
        ``(B, P, 2)`` source pixels, NaN missing.
    out_size
        ``(h, w)`` of the crops in pixels.
    config
        Ranges; ``AugmentConfig.none()`` gives plain centre crops on the animal.
    generator
        CPU ``torch.Generator``: all randomness comes from it (reproducible, resumable).
    flip_pairs
        Left/right part index pairs swapped on mirrored samples.
    sizes
        ``(B, 2)`` true (width, height) of each image when batches are zero-padded.
    zoom
        Fixed extra scale (the model's ``scale``) applied on top of the random one.

    Returns
    -------
    images : torch.Tensor
        ``(B, 3, h, w)`` float in [0, 1].
    keypoints : torch.Tensor
        ``(B, P, 2)`` crop pixels, NaN when missing or pushed out of the crop.
    """
    cfg = AugmentConfig() if config is None else config
    if images.dtype == torch.uint8:
        images = images.float() / 255
    b, _, h_in, w_in = images.shape
    dev = images.device
    if sizes is None:
        sizes = torch.tensor([[w_in, h_in]] * b)
    sizes = sizes.to(torch.float32)
    kp = keypoints.to(torch.float32).cpu()
    centre = _animal_centres(kp, sizes)
    if cfg.box_jitter:
        centre = centre + cfg.box_jitter * (_random_box_points(kp, sizes, generator) - centre)
    if cfg.random_crop:
        anywhere = torch.rand(b, 2, generator=generator) * (sizes - 1)
        pick = torch.rand(b, generator=generator) < cfg.random_crop
        centre = torch.where(pick[:, None], anywhere, centre)
    angle = torch.rand(b, generator=generator) * 2 - 1
    angle = angle * math.radians(cfg.rotation)
    lo, hi = cfg.scale
    # log-uniform zoom: as likely to shrink by x as to grow by x
    z = torch.exp(torch.rand(b, generator=generator) * (math.log(hi) - math.log(lo)) + math.log(lo))
    h, w = out_size
    shift = (torch.rand(b, 2, generator=generator) * 2 - 1) * cfg.translation * torch.tensor([w, h])
    flip = torch.rand(b, generator=generator) < cfg.flip
    m = affine_matrices(centre, out_size, angle=angle, zoom=z * zoom, shift=shift, flip=flip)
    out, moved = warp(images, kp.to(dev), m.to(dev), out_size, flip=flip, flip_pairs=flip_pairs)
    return _photometric(out, cfg, generator), moved


def paired_crops(
    images: torch.Tensor,
    centres: torch.Tensor,
    out_size: tuple[int, int],
    config: AugmentConfig | None = None,
    *,
    generator: torch.Generator,
    zoom: float = 1.0,
) -> torch.Tensor:
    """Crops of frame pairs: one random rotation, zoom and shift per pair, the same for both
    frames (so a part that does not move between them stays put in the crops), then photometric
    changes per frame. No mirroring (the parts' names would swap).

    Parameters
    ----------
    images
        ``(B, 2, 3, H, W)`` uint8 or float in [0, 1].
    centres
        ``(B, 2)`` the point each pair's crops are centred on, source pixels.
    out_size
        ``(h, w)`` of the crops, pixels.
    config, generator, zoom
        As :func:`augment_batch`.

    Returns
    -------
    torch.Tensor
        ``(B, 2, 3, h, w)`` float in [0, 1].
    """
    cfg = AugmentConfig() if config is None else config
    if images.dtype == torch.uint8:
        images = images.float() / 255
    b, _, c, h_in, w_in = images.shape
    angle = (torch.rand(b, generator=generator) * 2 - 1) * math.radians(cfg.rotation)
    lo, hi = cfg.scale
    z = torch.exp(torch.rand(b, generator=generator) * (math.log(hi) - math.log(lo)) + math.log(lo))
    h, w = out_size
    shift = (torch.rand(b, 2, generator=generator) * 2 - 1) * cfg.translation * torch.tensor([w, h])
    m = affine_matrices(centres.float().cpu(), out_size, angle=angle, zoom=z * zoom, shift=shift)
    no_points = torch.zeros(b, 0, 2, device=images.device)
    out, _ = warp(images.reshape(b, 2 * c, h_in, w_in), no_points, m.to(images.device), out_size)
    out = _photometric(out.reshape(2 * b, c, h, w), cfg, generator)
    return out.reshape(b, 2, c, h, w)


def crop_batch(
    images: torch.Tensor,
    keypoints: torch.Tensor,
    out_size: tuple[int, int],
    *,
    zoom: float = 1.0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Deterministic crops centred on the animal; also returns the matrices ``(B, 3, 3)``."""
    if images.dtype == torch.uint8:
        images = images.float() / 255
    b, _, h_in, w_in = images.shape
    sizes = torch.tensor([[w_in, h_in]] * b, dtype=torch.float32)
    kp = keypoints.to(torch.float32).cpu()
    m = affine_matrices(_animal_centres(kp, sizes), out_size, zoom=torch.full((b,), zoom))
    out, moved = warp(images, kp.to(images.device), m.to(images.device), out_size)
    return out, moved, m
