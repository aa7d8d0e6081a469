"""Frame selection for labeling (uniform, k-means, both) and PNG extraction."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from poselab.core.errors import PoselabError
from poselab.io.video import VideoError, open_video, write_video
from poselab.project.frames import (
    FrameSelectionError,
    extract_frames,
    kmeans,
    select_kmeans,
    select_kmeans_uniform,
    select_uniform,
)

W, H = 64, 48
PER_SCENE = 15


def _scene_frame(scene: int, i: int, rng: np.random.Generator) -> np.ndarray:
    """Four scenes that differ in colour and layout; frames within a scene vary a little."""
    frame = np.zeros((H, W, 3), np.uint8)
    if scene == 0:
        frame[:] = (200, 40, 40)
    elif scene == 1:
        frame[:, : W // 2] = (30, 180, 30)
    elif scene == 2:
        frame[:] = (20, 20, 200)
        frame[H // 2:] = 240
    else:
        frame[::8] = 255  # stripes
    x = 4 + (i * 3) % (W - 12)  # a small moving square
    frame[20:28, x:x + 8] = 128
    return np.clip(frame.astype(int) + rng.integers(-6, 7, frame.shape), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    rng = np.random.default_rng(3)
    frames = (_scene_frame(s, i, rng) for s in range(4) for i in range(PER_SCENE))
    return write_video(tmp_path_factory.mktemp("frames") / "scenes.mp4", frames, fps=30.0)


def test_uniform_exact_values():
    np.testing.assert_array_equal(select_uniform(100, 4), [12, 37, 62, 87])
    np.testing.assert_array_equal(select_uniform(7, 3), [1, 3, 5])
    np.testing.assert_array_equal(select_uniform(10, 10), np.arange(10))
    np.testing.assert_array_equal(select_uniform(2330, 1), [1165])
    assert select_uniform(100, 0).shape == (0,) and select_uniform(100, 4).dtype == np.int64


def test_uniform_exclusion():
    # An excluded target takes the nearest free frame (ties: the earlier one).
    np.testing.assert_array_equal(select_uniform(100, 4, exclude=[12, 36, 37, 38]), [11, 35, 62, 87])
    np.testing.assert_array_equal(select_uniform(10, 5, exclude=[1, 3, 5, 7, 9]), [0, 2, 4, 6, 8])
    np.testing.assert_array_equal(select_uniform(10, 3, exclude=range(3, 10)), [0, 1, 2])
    np.testing.assert_array_equal(select_uniform(10, 2, exclude=[-5, 50]), [2, 7])  # outside: ignored
    with pytest.raises(FrameSelectionError, match="only 5 of the video's 10 frames.*at most 5"):
        select_uniform(10, 6, exclude=[0, 1, 2, 3, 4])
    with pytest.raises(FrameSelectionError, match="non-negative integer"):
        select_uniform(10, -1)
    # Any case: n sorted, unique, free frames, and close to the evenly spaced targets.
    rng = np.random.default_rng(0)
    for _ in range(300):
        n_total = int(rng.integers(1, 200))
        exclude = rng.choice(n_total, int(rng.integers(0, n_total)), replace=False)
        free = n_total - len(exclude)
        n = int(rng.integers(0, free + 1))
        chosen = select_uniform(n_total, n, exclude=exclude)
        assert len(chosen) == n and np.all(np.diff(chosen) > 0)
        assert not set(chosen.tolist()) & set(exclude.tolist()) and (n == 0 or 0 <= chosen[0] <= chosen[-1] < n_total)
    chosen = select_uniform(1000, 10, exclude=np.arange(0, 1000, 2))  # every even frame taken
    np.testing.assert_array_equal(chosen, [49, 149, 249, 349, 449, 549, 649, 749, 849, 949])


def test_kmeans_recovers_separated_clusters():
    rng = np.random.default_rng(1)
    centres = rng.normal(0, 50, (5, 8))
    truth = np.repeat(np.arange(5), 40)
    data = centres[truth] + rng.normal(0, 1, (200, 8))
    found, labels = kmeans(data, 5, seed=0)
    # Same partition as the truth (cluster numbers may differ).
    pairs = set(zip(truth.tolist(), labels.tolist()))
    assert len(pairs) == 5 and len({p[1] for p in pairs}) == 5
    assert np.abs(np.sort(found, axis=0) - np.sort(centres, axis=0)).max() < 1.0
    again = kmeans(data, 5, seed=0)
    np.testing.assert_array_equal(again[1], labels)
    with pytest.raises(FrameSelectionError, match="k-means needs"):
        kmeans(data[:3], 4)


def test_kmeans_is_a_lloyd_fixed_point_and_keeps_the_best_start():
    """Overlapping clusters: every point is nearest its own centre, every centre is the mean of
    its points, and more starts never give a larger sum of squared distances."""
    rng = np.random.default_rng(2)
    data = rng.normal(0, 1, (300, 3)) + np.repeat(rng.normal(0, 1.5, (6, 3)), 50, axis=0)
    centres, labels = kmeans(data, 6, seed=1)
    assert centres.shape == (6, 3) and centres.dtype == np.float64 and labels.dtype == np.int64
    d = ((data[:, None] - centres[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(labels, d.argmin(1))
    for j in range(6):
        np.testing.assert_allclose(centres[j], data[labels == j].mean(0), atol=1e-9)
    inertia = d[np.arange(300), labels].sum()
    # the first 4 of 8 starts are the 4 above (one random stream per seed)
    many = kmeans(data, 6, seed=1, n_init=8)
    assert ((data - many[0][many[1]]) ** 2).sum() <= inertia * (1 + 1e-6)
    inertias = [((data - c[lab]) ** 2).sum() for c, lab in (kmeans(data, 6, seed=s) for s in range(4))]
    assert max(inertias) > min(inertias)  # overlapping clusters: starts do matter here
    assert issubclass(FrameSelectionError, PoselabError) and issubclass(FrameSelectionError, ValueError)


def test_kmeans_one_frame_per_scene(scenes):
    chosen = select_kmeans(scenes, 4)
    assert chosen.dtype == np.int64 and np.all(np.diff(chosen) > 0)
    assert sorted((chosen // PER_SCENE).tolist()) == [0, 1, 2, 3]
    # Deterministic, whether given a path or an open reader, and with the same seed.
    with open_video(scenes) as reader:
        np.testing.assert_array_equal(select_kmeans(reader, 4), chosen)
        np.testing.assert_array_equal(select_kmeans(reader, 4, seed=0), chosen)
        # Excluded frames are never chosen; still one per scene.
        exclude = np.concatenate([chosen, np.arange(PER_SCENE, PER_SCENE + 10)])
        again = select_kmeans(reader, 4, exclude=exclude)
        assert not set(again.tolist()) & set(exclude.tolist())
        assert sorted((again // PER_SCENE).tolist()) == [0, 1, 2, 3]
        # Sampling every 2nd free frame, at most 20 samples.
        sparse = select_kmeans(reader, 4, step=2, max_samples=20)
        assert sorted((sparse // PER_SCENE).tolist()) == [0, 1, 2, 3]
        # More frames than scenes: all distinct, every scene represented.
        many = select_kmeans(reader, 12, seed=5)
        assert len(np.unique(many)) == 12 and set((many // PER_SCENE).tolist()) == {0, 1, 2, 3}
        with pytest.raises(FrameSelectionError, match="at most 58"):
            select_kmeans(reader, 59, exclude=[0, 1])


def test_kmeans_on_the_openfield_video(shared_data):
    """DeepLabCut's openfield video (m3v1mp4, 2330 frames, 640x480): 20 distinct frames from
    1000 decoded samples; the time is printed (BENCHMARKS: frame selection)."""
    import time

    video = shared_data / "openfield-Pranav-2018-10-30" / "videos" / "m3v1mp4.mp4"
    start = time.perf_counter()
    chosen = select_kmeans(video, 20)
    print(f"select_kmeans n=20 on m3v1mp4: {time.perf_counter() - start:.2f} s")
    assert len(chosen) == 20 and np.all(np.diff(chosen) > 0)
    assert chosen.min() >= 0 and chosen.max() < 2330
    # the frames come from the whole video, not one stretch of it
    assert np.histogram(chosen, bins=4, range=(0, 2330))[0].min() >= 2


def test_kmeans_static_video_still_gives_n_frames(tmp_path):
    still = write_video(tmp_path / "still.avi", [np.full((H, W, 3), 90, np.uint8)] * 20, 10, codec="MJPG")
    chosen = select_kmeans(still, 5)
    assert len(chosen) == 5 and len(np.unique(chosen)) == 5 and chosen.max() < 20


@pytest.fixture(scope="module")
def walk_then_hold(tmp_path_factory):
    """30 frames of a square crossing the frame (each frame different), then 30 of it held still."""
    rng = np.random.default_rng(4)
    frames = []
    for i in range(60):
        frame = np.full((H, W, 3), 60, np.uint8)
        x = 2 + (i * 2) % (W - 10) if i < 30 else 30
        frame[20:28, x:x + 8] = 230
        frames.append(np.clip(frame.astype(int) + rng.integers(-3, 4, frame.shape), 0, 255).astype(np.uint8))
    return write_video(tmp_path_factory.mktemp("frames") / "walk_then_hold.mp4", frames, fps=30.0)


def test_kmeans_uniform_covers_a_held_posture(walk_then_hold):
    """k-means spends its clusters on the moving half; half evenly spaced frames cover the held half."""
    distinct = select_kmeans(walk_then_hold, 8)
    mixed = select_kmeans_uniform(walk_then_hold, 8)
    assert np.sum(distinct >= 30) <= 2
    assert np.sum(mixed >= 30) >= 3
    assert len(mixed) == 8 and mixed.dtype == np.int64 and np.all(np.diff(mixed) > 0)
    # The two ends of the mix are the two methods.
    np.testing.assert_array_equal(select_kmeans_uniform(walk_then_hold, 8, uniform_share=0.0), distinct)
    np.testing.assert_array_equal(select_kmeans_uniform(walk_then_hold, 8, uniform_share=1.0),
                                  select_uniform(60, 8))
    # Half of them k-means frames (same seed), the other half evenly spaced among the rest, none
    # within 60 / (4 * 8) = 1 frame of a k-means frame.
    distinct_half = select_kmeans(walk_then_hold, 4)
    assert set(distinct_half.tolist()) <= set(mixed.tolist())
    spaced = np.setdiff1d(mixed, distinct_half)
    assert np.abs(spaced[:, None] - distinct_half[None]).min() >= 2
    # Where no room is left for that, only the k-means frames themselves are avoided.
    crowded = select_kmeans_uniform(walk_then_hold, 12, exclude=np.arange(20, 60))
    assert len(np.unique(crowded)) == 12 and crowded.max() < 20
    exclude = np.arange(0, 60, 3)
    again = select_kmeans_uniform(walk_then_hold, 8, exclude=exclude, seed=2)
    assert len(np.unique(again)) == 8 and not set(again.tolist()) & set(exclude.tolist())
    with pytest.raises(FrameSelectionError, match="uniform_share must be between 0 and 1"):
        select_kmeans_uniform(walk_then_hold, 8, uniform_share=1.5)
    with pytest.raises(FrameSelectionError, match="at most 40"):
        select_kmeans_uniform(walk_then_hold, 41, exclude=exclude)


def test_extract_frames_are_exact_pngs(scenes, tmp_path):
    wanted = [42, 3, 59, 17]
    paths = extract_frames(scenes, wanted, tmp_path / "out")
    assert [p.name for p in paths] == ["img00042.png", "img00003.png", "img00059.png", "img00017.png"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(p.name for p in paths)  # no temp files
    with open_video(scenes) as reader:
        for frame, path in zip(wanted, paths):
            image = cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
            np.testing.assert_array_equal(image, reader.read(frame))
        named = extract_frames(reader, [7], tmp_path / "other", prefix="f", digits=3)
        assert named[0].name == "f007.png"
        with pytest.raises(VideoError, match="out of range"):
            extract_frames(reader, [60], tmp_path / "other")
