"""A supervised identity head (marked animals, DeepLabCut's ``identity=True``): its targets, its
loss, a trained head that names marked animals on frames it never saw, and tracking that gives
tracklets to the animals it names, undoing a swap that positions alone make."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from poselab.model.config import TrainingError
from poselab.multianimal import (
    Tracklet,
    assign_identities,
    identity_labels,
    identity_loss,
    identity_targets,
    multi_animal_targets,
    track,
)
from poselab.multianimal.data import MultiAnimalImages
from poselab.multianimal.model import create_multianimal_model, load_multianimal_model
from poselab.multianimal.train import train_multianimal
from tests.multianimal.crossing import identity_that_started_on_a_ends_on, lanes_swapped

cv2 = pytest.importorskip("cv2")

SKELETON = [[0, 1], [1, 2]]
PARTS = ["head", "middle", "tail"]


def test_identity_targets_name_the_animal_near_each_cell():
    # stride 4, sigma 4: animal 0's head at (10, 10), animal 1's at (50, 30); cell (row, col)
    # centres at 4 j + 1.5
    kp = np.full((1, 2, 3, 2), np.nan)
    kp[0, 0, 0] = [10.0, 10.0]
    kp[0, 1, 0] = [50.0, 30.0]
    labels, weights = identity_targets(kp, (12, 16), 4, sigma=4.0)
    assert labels.shape == (1, 12, 16) and labels.dtype == torch.int64
    assert int(labels[0, 2, 2]) == 0 and float(weights[0, 2, 2]) == 1.0  # centre (9.5, 9.5)
    assert int(labels[0, 7, 12]) == 1 and float(weights[0, 7, 12]) == 1.0  # centre (49.5, 29.5)
    # Gaussian at cell centre (25.5, 9.5): exp(-(15.5^2 + 0.5^2) / 32) = 5.4e-4 < 0.1: not taught
    assert float(weights[0, 2, 6]) == 0.0
    # taught cells lie within sqrt(-2 sigma^2 ln 0.1) = 8.58 px of a keypoint
    centres = np.arange(16) * 4 + 1.5, np.arange(12) * 4 + 1.5
    near0 = np.hypot(centres[0][None] - 10, centres[1][:, None] - 10) <= 8.58
    near1 = np.hypot(centres[0][None] - 50, centres[1][:, None] - 30) <= 8.58
    np.testing.assert_array_equal(weights[0].numpy(), (near0 | near1).astype(np.float32))
    # training builds the Gaussians once, for the maps and this head: the same labels and weights
    shared = multi_animal_targets(kp, SKELETON, (12, 16), 4, sigma=4.0)
    for mine, theirs in zip(identity_labels(shared.animal_scores), (labels, weights)):
        torch.testing.assert_close(mine, theirs, rtol=0, atol=0)


def test_identity_loss_is_the_cross_entropy_over_taught_cells():
    kp = torch.tensor([[[[10.0, 10.0]] * 3, [[50.0, 30.0]] * 3]])  # (1, 2, 3, 2)
    labels, weights = identity_targets(kp, (12, 16), 4)
    logits = torch.zeros(1, 2, 12, 16)
    assert float(identity_loss(logits, kp, 4)) == pytest.approx(np.log(2.0), rel=1e-6)  # 50/50 everywhere
    sure = torch.stack([(labels == 0).float(), (labels == 1).float()], 1) * 20.0
    assert float(identity_loss(sure, kp, 4)) < 1e-6  # confident and right
    assert float(identity_loss(sure.flip(1), kp, 4)) == pytest.approx(20.0, rel=1e-6)  # confident, wrong
    with pytest.raises(TrainingError, match="one identity per animal"):
        identity_loss(torch.zeros(1, 1, 12, 16), kp, 4)


def _marked_frames(n: int, seed: int) -> tuple[MultiAnimalImages, np.ndarray]:
    """Two alike three-part animals per image; 'spot' carries a yellow spot beside its middle,
    'plain' none; which of them is on the left is random. Returns the data (animal 0 = spot)
    and the x of each animal's middle."""
    rng = np.random.default_rng(seed)
    images, kps = [], []
    for _ in range(n):
        im = np.full((96, 128, 3), 90, np.uint8)
        kp = np.zeros((2, 3, 2))
        lanes = rng.permutation(2)
        for a in range(2):
            start = rng.uniform([15, 25], [45, 70]) + [lanes[a] * 60, 0]
            angle = rng.uniform(-0.4, 0.4)
            step = 12 * np.array([np.cos(angle), np.sin(angle)])
            kp[a] = start + np.arange(3)[:, None] * step
            cv2.polylines(im, [kp[a].round().astype(np.int32)], False, (200, 200, 200), 5)
            for p in range(3):
                cv2.circle(im, tuple(int(v) for v in kp[a, p].round()), 3, (230, 230, 230), -1)
            if a == 0:
                side = kp[a, 1] + 6 * np.array([-step[1], step[0]]) / 12
                cv2.circle(im, tuple(int(v) for v in side.round()), 3, (240, 220, 40), -1)
        images.append(im)
        kps.append(kp)
    return MultiAnimalImages(images, np.array(kps), PARTS), np.array(kps)[:, :, 1, 0]


def test_a_trained_identity_head_names_marked_animals_on_new_frames(tmp_path, one_thread):
    torch.manual_seed(0)
    model = create_multianimal_model(PARTS, SKELETON, scale=1.0, input_size=(96, 128), head_channels=32,
                                     max_length=[30.0, 30.0], identities=["spot", "plain"])
    data, _ = _marked_frames(24, seed=0)
    history = train_multianimal(model, data, epochs=40, batch_size=8, lr=3e-3, augment=False,
                                freeze_backbone=True, cached_views=1, out_dir=tmp_path, progress=False)
    first, last = history.records[0]["identity_loss"], history.records[-1]["identity_loss"]
    assert last < 0.5 * first
    test, middles = _marked_frames(12, seed=1)
    batch = torch.from_numpy(np.stack(test.images)).permute(0, 3, 1, 2).float() / 255
    found, probs = model.detect_pixels(batch, threshold=0.3, min_affinity=0.05)
    named = total = 0
    for animals, p, x in zip(found, probs, middles):
        assert p.shape == (len(animals), 2)
        np.testing.assert_allclose(p.sum(1), 1.0, atol=1e-5)  # probabilities, not unit vectors
        for pose, who in zip(animals, p):
            if not np.isfinite(pose[1, 0]):
                continue
            truth = int(np.argmin(np.abs(x - pose[1, 0])))  # the animal whose middle is nearest
            named += int(np.argmax(who) == truth)
            total += 1
    assert total >= 18 and named / total >= 0.9
    loaded = load_multianimal_model(tmp_path / "last.safetensors")
    assert loaded.identity_names == ["spot", "plain"]
    again = loaded.detect_pixels(batch, threshold=0.3, min_affinity=0.05)[1]
    for a, b in zip(again, probs):
        np.testing.assert_allclose(a, b, atol=1e-5)


def _crossing(named: bool) -> str:
    """The lanes swap (:mod:`tests.multianimal.crossing`); an identity head that is right 80 % of
    the frames says who is who. Which animal does the identity that starts on A end on?"""
    rng = np.random.default_rng(2)

    def head(t: int) -> np.ndarray:
        p = 0.9 if rng.random() < 0.8 else 0.1
        return np.array([[p, 1 - p], [1 - p, p]])  # rows: A, B

    frames, probs = lanes_swapped(head, 2)
    return identity_that_started_on_a_ends_on(track(frames, 2, identity=probs if named else None))


def test_named_tracklets_undo_a_swap_that_positions_alone_make():
    assert _crossing(named=False) == "B"
    assert _crossing(named=True) == "A"


def test_assign_identities_longest_first_to_a_free_animal():
    def tracklet(frames, p):
        return Tracklet(frames=list(frames), poses=[np.zeros((3, 3))] * len(frames),
                        appearance=[np.asarray(p, float)] * len(frames))

    ts = [tracklet(range(0, 50), [0.7, 0.2, 0.1]),  # animal 0
          tracklet(range(10, 30), [0.6, 0.3, 0.1]),  # looks like 0 too, but 0 is busy: goes to 1
          tracklet(range(60, 70), [0.1, 0.1, 0.8]),  # animal 2
          tracklet(range(0, 2), [0.0, 0.0, 1.0])]  # shorter than min_length: left out
    assert assign_identities(ts, 3, min_length=3) == [[0], [1], [2]]
    # two animals in the video: the two known animals with the most frames are kept
    assert assign_identities(ts, 2, min_length=3) == [[0], [1]]
    assert assign_identities([], 2) == [[], []]
