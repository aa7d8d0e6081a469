"""Learning from unlabeled frames: each piece on a case with a known answer, then a training run."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from poselab.io.video import write_video
from poselab.model import AugmentConfig, LabeledImages, TrainConfig, UnlabeledConfig, create_model, train
from poselab.model.augment import paired_crops
from poselab.model.unlabeled import UnlabeledError, UnlabeledPairs, animal_centres, soft_argmax, temporal_loss


def test_soft_argmax_finds_a_sharp_peak_at_its_cell_centre():
    maps = torch.full((1, 2, 6, 8), -50.0)
    maps[0, 0, 2, 5] = 50.0  # cell (row 2, col 5), stride 8: centre (5 * 8 + 3.5, 2 * 8 + 3.5)
    maps[0, 1] = 0.0  # flat: the mean of all cell centres
    xy, confidence = soft_argmax(maps, stride=8)
    np.testing.assert_allclose(xy[0, 0].numpy(), [43.5, 19.5], atol=1e-4)
    np.testing.assert_allclose(xy[0, 1].numpy(), [(7 * 8) / 2 + 3.5, (5 * 8) / 2 + 3.5], atol=1e-4)
    np.testing.assert_allclose(confidence[0].numpy(), [1.0, 0.5], atol=1e-6)
    maps.requires_grad_(True)
    soft_argmax(maps, 8)[0].sum().backward()  # differentiable: the loss can teach the maps
    assert maps.grad is not None and torch.isfinite(maps.grad).all()


def test_temporal_loss_is_zero_for_steady_and_slow_parts_and_the_excess_for_jumps():
    a = torch.tensor([[[10.0, 10.0], [50.0, 50.0]]])
    weight = torch.ones(1, 2)
    assert temporal_loss(a, a.clone(), weight, max_step=5.0) == 0  # a steady track
    assert temporal_loss(a, a + torch.tensor([3.0, 4.0]), weight, max_step=5.0) == 0  # a 5 px step: free
    jumped = a.clone()
    jumped[0, 0] += torch.tensor([30.0, 0.0])  # one part jumps 30 px, the other stays
    assert temporal_loss(a, jumped, weight, max_step=10.0).item() == pytest.approx(20.0 / 2)
    # an absent part (weight 0) jumping costs nothing and does not dilute the others
    assert temporal_loss(a, jumped, torch.tensor([[0.0, 1.0]]), max_step=10.0).item() == 0
    assert temporal_loss(a, jumped, torch.tensor([[1.0, 0.0]]), max_step=10.0).item() == pytest.approx(20.0)


def _disc_frames(n: int, h: int = 60, w: int = 90) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    background = rng.integers(150, 200, (h, w, 3)).astype(np.uint8)  # a textured floor
    yy, xx = np.mgrid[0:h, 0:w]
    frames, centres = [], []
    for i in range(n):
        cx, cy = 20 + 5 * i, 15 + 3 * i
        frame = background.copy()
        frame[(xx - cx) ** 2 + (yy - cy) ** 2 <= 36] = (30, 25, 20)  # a dark animal, radius 6 px
        frames.append(frame)
        centres.append((cx, cy))
    return np.stack(frames), np.array(centres, float)


def test_animal_centres_by_background_subtraction():
    frames, truth = _disc_frames(9)
    np.testing.assert_allclose(animal_centres(frames), truth, atol=0.5)
    still = np.repeat(frames[:1], 4, axis=0)  # nothing moves: nothing differs from the median
    np.testing.assert_allclose(animal_centres(still), [[44.5, 29.5]] * 4)


def test_paired_crops_share_their_geometry():
    frames, truth = _disc_frames(2)
    pair = torch.from_numpy(np.stack([frames[0], frames[0]])).permute(0, 3, 1, 2)[None]  # (1, 2, 3, H, W)
    centre = torch.tensor([[20.0, 15.0]])
    still = AugmentConfig(rotation=0.0, scale=(1.0, 1.0), translation=0.0, flip=0.0, brightness=0.0,
                          contrast=0.0, noise=0.0, blur=0.0)
    crops = paired_crops(pair, centre, (21, 21), still, generator=torch.Generator().manual_seed(0))
    assert crops.shape == (1, 2, 3, 21, 21)
    torch.testing.assert_close(crops[0, 0], crops[0, 1])
    np.testing.assert_allclose(crops[0, 0, :, 10, 10].numpy() * 255, frames[0][15, 20], atol=1e-3)  # centred
    turned = paired_crops(pair, centre, (21, 21), AugmentConfig(flip=0.0, brightness=0.0, contrast=0.0,
                          noise=0.0, blur=0.0), generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(turned[0, 0], turned[0, 1])  # random geometry, the same for both


def test_config_errors_name_the_problem(tmp_path):
    with pytest.raises(UnlabeledError, match="no such video"):
        UnlabeledConfig(videos=[tmp_path / "missing.mp4"]).check()
    with pytest.raises(UnlabeledError, match="give at least one video"):
        UnlabeledConfig().check()


def test_training_learns_from_unlabeled_pairs(tmp_path, one_thread):
    frames, truth = _disc_frames(9)
    video = write_video(tmp_path / "clip.mp4", iter(frames), fps=30.0)
    pairs = UnlabeledPairs.from_videos([video], 4, resize=lambda im: im, scale=1.0)
    assert pairs.images.shape == (4, 2, 3, 60, 90) and pairs.images.dtype == torch.uint8
    # 8 pairs in 9 frames; 4 evenly spread start at frames 0, 2, 5, 7; a pair's centre is the mean
    # of its two disc centres (within a pixel: the video is compressed)
    np.testing.assert_allclose(pairs.centres[0].numpy(), truth[:2].mean(0), atol=1.0)
    keypoints = np.stack([truth, truth + [0.0, 4.0]], axis=1)  # two parts on the disc
    data = LabeledImages(list(frames[:6]), keypoints[:6], ["head", "tail"], [f"f{i}" for i in range(6)])
    torch.manual_seed(0)
    model = create_model("tf_efficientnet_lite0", ["head", "tail"], pretrained=False, head_channels=32,
                         input_size=32)
    config = TrainConfig(epochs=2, batch_size=2, progress=False, resume=False,
                         unlabeled=UnlabeledConfig(videos=[str(video)], pairs=4, batch=2))
    history = train(model, data, config, out_dir=tmp_path / "run")
    losses = [r["temporal_loss"] for r in history.records]
    assert len(losses) == 2 and all(np.isfinite(v) and v >= 0 for v in losses)
    assert model.card["training"]["unlabeled"]["videos"] == [str(video)]
