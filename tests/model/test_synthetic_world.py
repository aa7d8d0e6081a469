"""The pose model on the synthetic world: a small model learns to < 2 px in a CI-sized run.

Issue 3 asks that "on the synthetic world a small model learns to < 2 px error in a CI-sized
run". A rendered video is cut into 0.8 s stretches that alternate between training and test (for
world seed 5 both hold rest, walk, turn and rear frames); the test frames are at least 8 video
frames (0.27 s) from any training frame, and the model is scored on them against the world's
exact truth.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from poselab.datasets import synthetic
from poselab.io.video import VideoReader
from poselab.model import AugmentConfig, LabeledImages, create_model, evaluate, train

# Parts the network places to about a pixel in every world tried (seeds 5 to 8): the snout and
# ears are discs of their own colour; neck, body centre and tail base lie on the trunk's midline,
# fixed by its outline. Left out: the paws, same-coloured 2.6 px discs in pairs. The hind ones
# slip under the trunk (hidden in 10 to 53 % of the frames); in this run they reach 1 px in one
# world but 8 to 15 px RMSE in three others (left and right swapped); the fore paws reach 0.8 to
# 2.2 px. Also left out: the tail tip, 64 px from the body centre, outside the 96 px training
# crops, and the tail's middle, a point on a thin line.
PARTS = ["snout", "left_ear", "right_ear", "neck", "body_centre", "tail_base"]
WORLD_SEED = 5
N_FRAMES = 200  # 6.7 s at 30 frames/s
FRAME_STEP = 4  # every 4th video frame is labeled
CHUNK_FRAMES = 24  # video frames per stretch (0.8 s); even stretches train, odd ones test
MIN_GAP_FRAMES = 8  # test frames at least this far (video frames) from any training frame
EPOCHS = 40  # 4 steps of 8 crops each


def labeled_world(folder: Path, seed: int) -> tuple[LabeledImages, np.ndarray]:
    """Every ``FRAME_STEP``-th frame of a rendered world with its true ``PARTS``.

    Returns
    -------
    LabeledImages
        Frames with keypoints in pixels; a part hidden in a frame (``visible`` False) is NaN,
        as a labeler would leave it.
    np.ndarray
        The video frame index of each image.
    """
    world = synthetic(folder / "world.mp4", n_frames=N_FRAMES, size=(320, 240), seed=seed)
    frames = np.arange(0, N_FRAMES, FRAME_STEP)
    truth = world.poses["position"].isel(animal=0).sel(part=PARTS, coord=["x", "y"])
    xy = truth.transpose("frame", "part", "coord").to_numpy()[frames]
    visible = world.poses["visible"].isel(animal=0).sel(part=PARTS)
    visible = visible.transpose("frame", "part").to_numpy()[frames]
    with VideoReader(world.video) as reader:
        images = [reader.read(int(f)) for f in frames]
    keypoints = np.where(visible[..., None], xy, np.nan)
    return LabeledImages(images, keypoints, PARTS, [f"frame{f}" for f in frames]), frames


def split_in_time(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices of training and test images, from their video frame indices ``frames``.

    Stretches of ``CHUNK_FRAMES`` alternate between training and test; test frames closer than
    ``MIN_GAP_FRAMES`` to a training frame are dropped.
    """
    in_train = (frames // CHUNK_FRAMES) % 2 == 0
    train_idx, other = np.flatnonzero(in_train), np.flatnonzero(~in_train)
    gap = np.abs(frames[other, None] - frames[None, train_idx]).min(axis=1)
    return train_idx, other[gap >= MIN_GAP_FRAMES]


def test_split_alternates_stretches_and_keeps_a_gap():
    frames = np.arange(0, N_FRAMES, FRAME_STEP)
    train_idx, test_idx = split_in_time(frames)
    assert frames[train_idx][:7].tolist() == [0, 4, 8, 12, 16, 20, 48]
    # 24 and 44 are 4 frames from the training frames 20 and 48
    assert frames[test_idx][:5].tolist() == [28, 32, 36, 40, 76]
    assert not set(train_idx) & set(test_idx)
    assert np.abs(frames[test_idx, None] - frames[None, train_idx]).min() == MIN_GAP_FRAMES


def test_small_model_learns_the_synthetic_world_to_under_2px(tmp_path, one_thread):
    data, frames = labeled_world(tmp_path, WORLD_SEED)
    train_idx, test_idx = split_in_time(frames)
    train_set, test_set = data.subset(train_idx), data.subset(test_idx)
    assert len(train_set) == 26 and len(test_set) == 16
    # The test frames are new poses: copying the keypoints of the closest training frame (in
    # time) is off by 15 px RMS (6 to 15 px for world seeds 5 to 8), so the accuracy below is
    # not recall of near copies.
    closest = train_idx[np.abs(frames[test_idx, None] - frames[None, train_idx]).argmin(axis=1)]
    copy_error = np.linalg.norm(test_set.keypoints - data.keypoints[closest], axis=-1)
    assert np.sqrt(np.nanmean(copy_error**2)) > 5

    torch.manual_seed(0)  # the head's initial weights
    model = create_model("tf_efficientnet_lite0", PARTS, pretrained="offline", stride=4,
                         input_size=96, head_channels=64)
    # Top view: every heading is plausible, so rotations cover the whole circle (a stretch of
    # test frames can show a heading no training frame has); mirrors swap the ears' names.
    augment = AugmentConfig(rotation=180, scale=(0.9, 1.1), translation=0.05, flip=0.5,
                            brightness=0, contrast=0, noise=0, blur=0, random_crop=0)
    history = train(model, train_set, test_data=test_set, epochs=EPOCHS, batch_size=8, lr=2e-3,
                    augment=augment, eval_every=EPOCHS, progress=False, seed=0)
    result = evaluate(model, test_set)
    per_part = {part: round(rmse, 2) for part, rmse in result["per_part"].items()}
    assert result["rmse_px"] < 2.0, (result["rmse_px"], per_part)
    assert max(per_part.values()) < 2.5, per_part
    assert result["pck"][5.0] == 1.0, per_part  # no part is taken for another
    assert history.records[-1]["loss"] < history.records[0]["loss"] / 2
