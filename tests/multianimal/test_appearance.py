"""Appearance for identities: the contrastive loss, an embedding learned from tracklets alone,
descriptors sampled where the parts are, and stitching that uses looks to undo a swap that
positions alone make."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from poselab.multianimal import TrackingConfig, Tracklet, track
from poselab.multianimal.appearance import describe, embedding_loss, learn_appearance
from tests.multianimal.crossing import identity_that_started_on_a_ends_on, lanes_swapped


def test_embedding_loss_is_small_for_the_same_animal_and_large_for_another():
    k, m = 8, 5
    a = torch.zeros(3, k)
    a[:, 0] = 1
    others = torch.zeros(3, m, k)
    others[..., 1] = 1  # orthogonal to the anchor
    same = embedding_loss(a, a.clone(), others, temperature=0.1)
    # cos(a, p) = 1 and cos(a, n) = 0: loss = log(1 + m exp(-10))
    assert float(same) == pytest.approx(np.log1p(m * np.exp(-10.0)), rel=2e-3)  # float32
    swapped = embedding_loss(a, others[:, 0], a[:, None].expand(3, m, k), temperature=0.1)
    # the positive is unlike the anchor, every negative identical: log(1 + m exp(10))
    assert float(swapped) == pytest.approx(np.log1p(m * np.exp(10.0)), rel=1e-4)


def _tracklets(looks: np.ndarray, rng, n_frames: int = 60, pieces: int = 3, noise: float = 1.0):
    """Tracklets of ``len(looks)`` animals seen together, each cut into ``pieces``: descriptors
    = the animal's look in 8 of 40 dimensions + noise everywhere (pose and light)."""
    out = []
    for look in looks:
        cuts = np.linspace(0, n_frames, pieces + 1).astype(int)
        for a, b in zip(cuts[:-1], cuts[1:]):
            frames = list(range(a, b))
            shared = rng.normal(0, noise, (len(frames), 40))  # what changes with pose, for everyone
            descriptors = shared + np.concatenate([look, np.zeros(32)])
            out.append(Tracklet(frames=frames, poses=[np.zeros((3, 3))] * len(frames),
                                appearance=list(descriptors)))
    return out


def test_an_embedding_learned_from_tracklets_tells_marked_animals_apart_and_not_twins():
    rng = np.random.default_rng(0)
    marked = _tracklets(np.eye(3, 8) * 2.0, rng)  # three animals, each its own look
    embedding = learn_appearance(marked, dims=4, steps=200, seed=0)
    assert embedding is not None and embedding.separation > 0.95  # on frames it did not learn from
    z = [embedding(np.stack(t.appearance)).mean(0) for t in marked]
    cos = lambda u, v: float(u @ v / np.linalg.norm(u) / np.linalg.norm(v))
    assert cos(z[0], z[1]) > 0.8  # two pieces of animal 0
    assert cos(z[0], z[3]) < 0.5 and cos(z[0], z[6]) < 0.5  # animals 0 and 1, 0 and 2
    twins = _tracklets(np.zeros((3, 8)), rng)  # three animals that look the same
    assert learn_appearance(twins, dims=4, steps=200, seed=0) is None  # only noise to learn: dropped
    kept = learn_appearance(twins, dims=4, steps=200, seed=0, min_separation=0.0)
    assert 0.2 < kept.separation < 0.8  # held out, the twins are told apart at chance
    alone = [t for t in marked if t.frames[0] == 0][:1]
    assert learn_appearance(alone) is None  # no two tracklets seen together


def test_describe_samples_the_maps_where_the_parts_are():
    # a map whose channel 0 is x and channel 1 is y of each cell's centre (stride 4): sampled at a
    # part, it gives the part's own position; the mean over parts is weighted by their scores
    stride, h, w = 4, 10, 12
    centres_x = np.arange(w) * stride + (stride - 1) / 2
    centres_y = np.arange(h) * stride + (stride - 1) / 2
    maps = torch.zeros(1, 2, h, w)
    maps[0, 0] = torch.as_tensor(np.broadcast_to(centres_x, (h, w)).copy())
    maps[0, 1] = torch.as_tensor(np.broadcast_to(centres_y[:, None], (h, w)).copy())
    animal = np.array([[[10.0, 6.0, 1.0], [22.0, 18.0, 3.0], [np.nan, np.nan, np.nan]]])
    (got,) = describe([maps], [animal], [stride])
    mean = (np.array([10.0, 6.0]) * 1 + np.array([22.0, 18.0]) * 3) / 4
    np.testing.assert_allclose(got[0], mean / np.linalg.norm(mean), rtol=1e-5)
    (empty,) = describe([maps], [np.zeros((0, 3, 3))], [stride])
    assert empty.shape == (0, 2)


def _lanes_swapped(appearance: bool) -> str:
    """The lanes swap (:mod:`tests.multianimal.crossing`) and A and B look different. Which
    animal does the identity that starts on A end on?"""
    rng = np.random.default_rng(1)

    def looks(t: int) -> np.ndarray:
        return np.stack([np.r_[2.0, 0, rng.normal(0, 1, 38)], np.r_[0, 2.0, rng.normal(0, 1, 38)]])

    frames, cues = lanes_swapped(looks, 40)
    config = TrackingConfig(appearance_weight=4.0 if appearance else 0.0)
    return identity_that_started_on_a_ends_on(track(frames, 2, config, appearance=cues if appearance else None))


def test_looks_undo_a_swap_that_positions_alone_make():
    assert _lanes_swapped(appearance=False) == "B"  # geometry: the identity goes on to the other animal
    assert _lanes_swapped(appearance=True) == "A"  # with appearance it stays on its animal
