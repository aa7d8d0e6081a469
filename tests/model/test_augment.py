"""Augmentation moves keypoints exactly with the image, swaps left/right parts on mirrors."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from poselab.model.augment import AugmentConfig, augment_batch, crop_batch


def _dots(kp: torch.Tensor, h: int, w: int, sigma: float = 2.0) -> torch.Tensor:
    """One Gaussian dot per part, part k in channel k (3 parts -> RGB)."""
    ys = torch.arange(h, dtype=torch.float32)[:, None]
    xs = torch.arange(w, dtype=torch.float32)[None, :]
    d2 = (xs - kp[..., 0, None, None]) ** 2 + (ys - kp[..., 1, None, None]) ** 2
    return torch.exp(-d2 / (2 * sigma**2))  # (B, P=3, H, W)


def _mass(channel: torch.Tensor, near: torch.Tensor, radius: int = 3) -> float:
    x, y = int(near[0].round()), int(near[1].round())
    return float(channel[max(y - radius, 0) : y + radius + 1, max(x - radius, 0) : x + radius + 1].sum())


def _centroid(channel: torch.Tensor, near: torch.Tensor, radius: int = 6) -> torch.Tensor:
    """Intensity centroid of a dot within ``radius`` px of ``near`` (x, y)."""
    h, w = channel.shape
    ys = torch.arange(h, dtype=torch.float32)[:, None]
    xs = torch.arange(w, dtype=torch.float32)[None, :]
    window = ((xs - near[0]).abs() <= radius) & ((ys - near[1]).abs() <= radius)
    wgt = channel * window
    return torch.stack([(wgt * xs).sum() / wgt.sum(), (wgt * ys).sum() / wgt.sum()])


def test_dots_stay_under_their_keypoints():
    gen = torch.Generator().manual_seed(0)
    b, h, w = 24, 120, 160
    kp = torch.stack([torch.rand(b, 3) * 60 + 50, torch.rand(b, 3) * 40 + 40], dim=-1)
    images = _dots(kp, h, w)
    cfg = AugmentConfig(rotation=40, scale=(0.7, 1.4), translation=0.15, flip=0.5, brightness=0,
                        contrast=0, noise=0, blur=0, random_crop=0)
    out, moved = augment_batch(images, kp, (96, 96), cfg, generator=gen, flip_pairs=[(0, 1)])
    assert out.shape == (b, 3, 96, 96) and moved.shape == (b, 3, 2)
    perm = torch.tensor([1, 0, 2])
    checked = swapped = 0
    for i in range(b):
        # Which source channel ends up as part k: the swap shows in where the dots went.
        if not torch.isfinite(moved[i, 0]).all():
            continue
        # Mirrored samples carry the other channel's dot under part 0's keypoint.
        flipped = _mass(out[i, 1], moved[i, 0]) > _mass(out[i, 0], moved[i, 0])
        for k in range(3):
            if not torch.isfinite(moved[i, k]).all():
                continue
            xy = moved[i, k]
            if min(xy[0], xy[1]) < 6 or xy[0] > 89 or xy[1] > 89:
                continue  # dot partly cut by the crop border: centroid biased
            source = int(perm[k]) if flipped else k
            err = (_centroid(out[i, source], xy) - xy).norm().item()
            assert err < 1.0, (i, k, err)
            checked += 1
        swapped += flipped
    assert checked > 40 and 3 <= swapped <= 21  # both mirrored and plain samples were checked


def test_points_pushed_out_become_missing_and_photometric_stays_in_range():
    gen = torch.Generator().manual_seed(1)
    kp = torch.tensor([[[100.0, 100.0], [5.0, 5.0], [float("nan"), 3.0]]] * 4)
    images = torch.rand(4, 3, 200, 200)
    out, moved = augment_batch(images, kp, (64, 64), AugmentConfig.none(), generator=gen)
    # Centre crop on the mean of the visible points (52.5, 52.5): (100,100) is 47.5 px away.
    assert torch.isnan(moved[:, 0]).all() and torch.isnan(moved[:, 2]).all()
    assert torch.isnan(moved[:, 1]).all()
    kp2 = torch.tensor([[[100.0, 100.0], [110.0, 90.0]]] * 4)
    out, moved = augment_batch(images, kp2, (64, 64), AugmentConfig(), generator=gen)
    assert out.min() >= 0 and out.max() <= 1
    # A plain crop centred on (105.5, 95.5) is a pure shift by (-74, -64) pixels.
    crops, moved, m = crop_batch(images, kp2 + 0.5, (64, 64))
    np.testing.assert_allclose(moved[0].numpy(), [[26.5, 36.5], [36.5, 26.5]], atol=1e-4)
    np.testing.assert_allclose(crops[0].numpy(), images[0, :, 64:128, 74:138].numpy(), atol=1e-4)


def test_same_generator_state_gives_same_batch():
    images = torch.rand(3, 3, 80, 80)
    kp = torch.rand(3, 2, 2) * 40 + 20
    a = augment_batch(images, kp, (32, 32), generator=torch.Generator().manual_seed(5))
    b = augment_batch(images, kp, (32, 32), generator=torch.Generator().manual_seed(5))
    assert torch.equal(a[0], b[0]) and torch.equal(torch.nan_to_num(a[1]), torch.nan_to_num(b[1]))


def test_crops_are_centred_on_random_points_of_the_animals_box():
    # A far part (x = 400) and three close ones (x near 60): without translation, rotation or
    # zoom, the crop centre is where the mean of the points lands in the crop (its middle).
    nan = float("nan")
    kp = torch.tensor([[[50.0, 40.0], [60.0, 50.0], [70.0, 40.0], [400.0, 60.0]]]).repeat(400, 1, 1)
    kp[::2, 3] = nan  # half of the samples without the far part
    images = torch.zeros(400, 3, 100, 500)
    fixed = AugmentConfig(rotation=0, scale=(1.0, 1.0), translation=0.0, flip=0.0, brightness=0,
                          contrast=0, noise=0, blur=0, random_crop=0.0)
    gen = torch.Generator().manual_seed(0)
    _, moved = augment_batch(images, kp, (64, 64), fixed, generator=gen)  # box_jitter 1
    # the crop centre in the image, from any part inside the crop (NaN when none is)
    centre = torch.nanmean(kp - moved, dim=1) + 31.5
    inside = torch.isfinite(centre).all(-1)
    high = torch.where(torch.isnan(kp[:, 3]), kp[:, :3].amax(1), kp.amax(1))
    assert inside.sum() > 200
    assert torch.all(centre[inside] >= torch.tensor([50.0, 40.0]) - 1e-3)
    assert torch.all(centre[inside] <= high[inside] + 1e-3)
    # the far part is inside the crop when the centre falls within 31.5 px of it: 9 % of the
    # 350 px wide box; a crop on the animal's mean never holds it
    seen = torch.isfinite(moved[1::2, 3]).all(-1).float().mean()
    assert 0.05 < float(seen) < 0.14
    _, on_mean = augment_batch(images, kp, (64, 64), dataclasses.replace(fixed, box_jitter=0.0),
                               generator=torch.Generator().manual_seed(0))
    assert not torch.isfinite(on_mean[:, 3]).any()


def test_grey_crops_are_the_luminance_of_the_same_colour_crops():
    torch.manual_seed(0)
    images = torch.rand(4, 3, 64, 80)
    kp = torch.tensor([[[30.0, 20.0], [50.0, 40.0]]]).repeat(4, 1, 1)
    colour = AugmentConfig(noise=0.0)
    grey = dataclasses.replace(colour, grayscale=1.0)
    a, ka = augment_batch(images, kp, (32, 32), colour, generator=torch.Generator().manual_seed(5))
    b, kb = augment_batch(images, kp, (32, 32), grey, generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(kb, ka, equal_nan=True)  # the same geometry: drawn before
    luma = (a * torch.tensor([0.299, 0.587, 0.114])[:, None, None]).sum(1, keepdim=True)
    torch.testing.assert_close(b, luma.expand_as(b))
    assert not torch.equal(a[:, 0], a[:, 1])
