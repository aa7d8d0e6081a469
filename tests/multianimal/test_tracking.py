"""Tracking: real DeepLabCut assemblies (3 birds, 3 mice), synthetic crossings, swap_identities."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from poselab.core import poses
from poselab.datasets import synthetic
from poselab.io import read_deeplabcut
from poselab.multianimal import (
    TrackingError,
    Tracklet,
    encounters,
    identity_checkpoints,
    link_tracklets,
    stitch,
    swap_identities,
    track,
    tracking_metrics,
)


def _shuffled(position: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """(animal, part, frame, 2) -> per-frame (animal, part, 3) in a random animal order."""
    n = position.shape[0]
    out = []
    for f in range(position.shape[2]):
        a = np.concatenate([position[:, :, f], np.ones(position.shape[:2] + (1,))], -1)
        out.append(a[rng.permutation(n)])
    return out


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    path = tmp_path_factory.mktemp("ma") / "three.mp4"
    return synthetic(path, n_animals=3, n_frames=450, size=(320, 240), seed=3, nuisances=False)


def test_synthetic_shuffled_with_gaps(world):
    """Shuffled order, noisy parts, dropped parts and whole-animal gaps: identities recovered."""
    truth = world.poses
    pos = truth["position"].values.copy()
    rng = np.random.default_rng(0)
    noisy = pos + rng.normal(0, 1.0, pos.shape)
    noisy[rng.random(pos.shape[:3]) < 0.15] = np.nan  # parts missed by the detector
    for a, start in ((0, 100), (1, 220), (2, 330)):
        noisy[a, :, start : start + 8] = np.nan  # an animal lost for 8 frames
    noisy[:, :, 400:404] = np.nan  # nobody detected for 4 frames
    ds = track(_shuffled(noisy, rng), 3, parts=list(truth["part"].values), fps=30)
    poses.validate(ds)
    assert ds.sizes["animal"] == 3 and ds.sizes["frame"] == 450
    m = tracking_metrics(truth, ds)
    # how close the animals come: they touch (centroids within a body length) in this world
    c = np.nanmean(pos, axis=1)
    gap = min(np.nanmin(np.linalg.norm(c[i] - c[j], axis=-1)) for i, j in ((0, 1), (0, 2), (1, 2)))
    assert gap < world.gait.attrs["body_length"]
    # every detection is on its true identity; frames with no detection are exactly the misses
    assert m["id_switches"] == 0 and m["idp"] == 1.0 and m["false_positives"] == 0
    assert m["false_negatives"] == 3 * 8 + 3 * 4
    assert m["idf1"] == pytest.approx(2 * (1350 - 36) / (1350 + 1350 - 36))


def test_synthetic_shuffled_without_gaps_is_perfect(world):
    truth = world.poses
    pos = truth["position"].values.copy()
    rng = np.random.default_rng(5)
    noisy = pos + rng.normal(0, 2.0, pos.shape)
    noisy[rng.random(pos.shape[:3]) < 0.3] = np.nan
    m = tracking_metrics(truth, track(_shuffled(noisy, rng), 3, parts=list(truth["part"].values)))
    assert m["idf1"] == 1.0 and m["mota"] == 1.0 and m["id_switches"] == 0


@pytest.mark.parametrize("offset, gap", [(0, 0), (20, 0), (20, 4), (40, 4)])
def test_crossing_kept_by_motion(offset, gap):
    """Two animals on crossing diagonals pass through each other (at t = 60 + offset / 4);
    detections vanish for ``gap`` frames around t = 60. Constant velocity keeps both."""
    t = np.arange(120)[:, None]
    body = np.array([[0.0, 0.0], [-20.0, 0.0], [-40.0, 0.0]])
    a = np.array([40.0, 40.0]) + t * 2.0
    b = np.array([40.0, 280.0 + offset]) + t * np.array([2.0, -2.0])
    pos = np.stack([a[None] + body[:, None], b[None] + body[:, None]])  # (2, 3, 120, 2)
    truth = poses.from_arrays(pos)
    rng = np.random.default_rng(1)
    noisy = pos + rng.normal(0, 0.5, pos.shape)
    noisy[:, :, 60 - gap // 2 : 60 + gap // 2] = np.nan
    m = tracking_metrics(truth, track(_shuffled(noisy, rng), 2))
    assert m["id_switches"] == 0 and m["idp"] == 1.0
    assert m["false_negatives"] == 2 * gap


def test_hidden_animals_that_stop_are_rejoined_where_they_stopped():
    """Two animals (60 px long) walk towards each other at 4 px/frame, vanish for 40 frames
    and reappear standing where they stopped, 100 px apart. Extrapolating the walk over the
    whole gap would put each onto the other's spot; hidden animals coast to a stop instead."""
    t = np.arange(120)
    walk = np.minimum(t, 29) * 4.0 + np.clip(t - 29, 0, 40) * (34 / 40)  # 116 px, then 34
    xa, xb = walk, 400 - walk  # A stops at x = 150, B at x = 250
    body = np.array([0.0, 60.0])
    pos = np.zeros((2, 2, 120, 2))
    pos[0, :, :, 0] = xa[None] + body[:, None]
    pos[1, :, :, 0] = xb[None] - body[:, None]
    truth = poses.from_arrays(pos)
    seen = pos.copy()
    seen[:, :, 30:70] = np.nan
    m = tracking_metrics(truth, track(_shuffled(seen, np.random.default_rng(3)), 2))
    assert m["id_switches"] == 0 and m["idp"] == 1.0
    assert m["false_negatives"] == 2 * 40


@pytest.mark.filterwarnings("ignore:numpy.core:DeprecationWarning")  # a 2021 pickle
def test_real_birds_match_deeplabcut_tracks(shared_data):
    """DeepLabCut's own assemblies of 3 birds (180 frames) tracked like DeepLabCut's tracks."""
    folder = shared_data / "dlc-tests-data-2021"
    with open(folder / "montblanc_assemblies.pickle", "rb") as f:  # trusted test fixture
        found = pickle.load(f)
    reference = read_deeplabcut(folder / "montblanc_tracks.h5").sel(
        animal=["bird1", "bird2", "bird3"], part=["head", "tail", "leftwing", "rightwing"]
    )
    frames = [
        np.stack(found[k])[:, :, :3] if found.get(k) else np.zeros((0, 4, 3)) for k in range(180)
    ]
    ds = track(frames, 3, parts=list(reference["part"].values))
    m = tracking_metrics(reference, ds)
    assert m["id_switches"] == 0
    assert m["idf1"] > 0.995 and m["mota"] > 0.995
    assert m["false_negatives"] == 0 and m["false_positives"] <= 1


def test_real_mice_match_deeplabcut_tracklets(shared_data):
    """DeepLabCut's 3-mouse assemblies (50 frames, order shuffled per frame) vs its tracklets."""
    folder = shared_data / "dlc-tests-data-2021"
    with open(folder / "trimouse_assemblies.pickle", "rb") as f:
        found = pickle.load(f)
    with open(folder / "trimouse_tracklets.pickle", "rb") as f:
        tracklets = pickle.load(f)
    ref = np.full((3, 12, 50, 2), np.nan)
    for i, tid in enumerate(k for k in tracklets if k != "header"):
        for frame, pose in tracklets[tid].items():
            ref[i, :, int(frame)] = pose[:, :2]
    reference = poses.from_arrays(ref)
    rng = np.random.default_rng(2)
    frames = [np.stack(found[k])[rng.permutation(3), :, :3] for k in range(50)]
    m = tracking_metrics(reference, track(frames, 3))
    assert m["idf1"] == 1.0 and m["id_switches"] == 0 and m["mota"] == 1.0


def test_link_tracklets_breaks_ambiguous_matches():
    """Two tracks meet at one point: the match is ambiguous, so both tracklets end there."""
    t = np.arange(20, dtype=float)
    a = np.stack([t * 4, np.zeros(20)], -1)
    b = np.stack([t * 4, 76 - t * 4], -1)  # same x, y closes in: both at (76, 0) at t = 19
    frames = [np.stack([a[f][None], b[f][None]]) for f in range(19)]
    frames.append(np.stack([a[19][None], (a[19] + [0, 0.5])[None]]))
    tl = link_tracklets(frames)
    assert sum(len(x) for x in tl) == 40
    assert max(x.end for x in tl if x.start == 0) == 18


def _static(x: float, first: int, last: int) -> Tracklet:
    """A two-part animal (20 px long) standing at x from frame ``first`` to ``last``."""
    pose = np.array([[x, 0.0, 1.0], [x + 20.0, 0.0, 1.0]])
    frames = list(range(first, last + 1))
    return Tracklet(frames=frames, poses=[pose] * len(frames))


def test_stitch_places_the_parts_of_a_chain_that_fits_nowhere_whole():
    """Two identities; a third chain (R1 -> R2) overlaps both during R1. R1 cannot be placed,
    but R2 starts after B's last tracklet: it goes there instead of being dropped with R1."""
    a, b1, b2 = _static(0, 0, 99), _static(200, 0, 49), _static(200, 51, 59)
    r1, r2 = _static(400, 52, 57), _static(400, 61, 99)
    identities = stitch([a, b1, b2, r1, r2], 2)
    assert sorted(identities) == [[0], [1, 2, 4]]


def test_identity_checkpoints_where_animals_part():
    """B (20 px long) lies on A (frames 110-119), is hidden for 5 of them and leaves at 120;
    the default contact distance is 0.3 x 20 px."""
    xb = np.full(30, 200.0)
    xb[10:20] = 2.0
    pos = np.zeros((2, 2, 30, 2))
    pos[0, 1, :, 0] = 20.0
    pos[1, 0, :, 0], pos[1, 1, :, 0] = xb, xb + 20
    pos[1, :, 12:17] = np.nan
    ds = poses.from_arrays(pos, frames=np.arange(100, 130))
    assert identity_checkpoints(ds).tolist() == [120]
    assert identity_checkpoints(ds, distance=1.0).tolist() == []  # never closer than 2 px
    with pytest.raises(TrackingError):
        identity_checkpoints(ds, distance=0.0)


def test_identity_checkpoints_hold_hidden_animals_where_last_seen():
    """B is last seen 8 px from A (contact distance 6 px) and hidden for 10 frames while A
    walks over where B was; B reappears 30 px away. Held there, B was in contact."""
    pos = np.zeros((2, 2, 30, 2))
    pos[0, :, :, 0] = np.minimum(np.arange(30), 16.0)[None] + np.array([0.0, 20.0])[:, None]
    pos[1, :, :, 0] = np.array([16.0, 36.0])[:, None]  # centroid 26; A walks from 10 to 26
    pos[1, :, 9:19] = np.nan
    pos[1, :, 19:, 0] += 30.0
    ds = poses.from_arrays(pos)
    assert identity_checkpoints(ds).tolist() == [19]
    assert identity_checkpoints(ds, hold=0).tolist() == []


def test_identity_checkpoints_are_the_ends_of_encounters(world):
    """On complete poses, the frame after each encounter (simulate.encounters) that ends
    before the video does."""
    truth = world.poses
    body = float(world.gait.attrs["body_length"])
    ends = {e + 1 for *_, e, _ in encounters(truth, body) if e + 1 < truth.sizes["frame"]}
    assert len(ends) >= 2
    assert identity_checkpoints(truth, distance=body).tolist() == sorted(ends)


def test_swap_identities_exact():
    pos = np.arange(3 * 2 * 6 * 2, dtype=float).reshape(3, 2, 6, 2)
    lk = np.linspace(0, 1, 36).reshape(3, 2, 6)
    ds = poses.from_arrays(pos, lk, animals=["a", "b", "c"], frames=[10, 11, 12, 13, 14, 15])
    out = swap_identities(ds, "a", "c", from_frame=13)
    p = out["position"].values
    assert np.array_equal(p[0, :, :3], pos[0, :, :3])
    assert np.array_equal(p[0, :, 3:], pos[2, :, 3:])
    assert np.array_equal(p[2, :, 3:], pos[0, :, 3:]) and np.array_equal(p[1], pos[1])
    assert np.array_equal(out["likelihood"].values[2, :, 3:], lk[0, :, 3:])
    assert np.array_equal(ds["position"].values, pos)  # the input is untouched
    assert np.array_equal(swap_identities(out, "c", "a", 13)["position"].values, pos)
    assert poses.provenance(out)[-1]["operation"] == "swap_identities"
    with pytest.raises(TrackingError):
        swap_identities(ds, "a", "z", 0)


def test_errors():
    with pytest.raises(TrackingError):
        track([np.zeros((2, 3))], 1)
    with pytest.raises(TrackingError):
        track([np.zeros((1, 3, 3))], 0)
