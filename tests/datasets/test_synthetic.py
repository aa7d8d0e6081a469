"""The synthetic world: deterministic, and its truth agrees with its pixels and its physics."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import xarray as xr

from poselab.core import poses
from poselab.datasets import (
    BEHAVIOURS,
    DUTY_FACTOR,
    PART_COLOURS,
    PHASE_OFFSETS,
    SYNTHETIC_FLIP_PAIRS,
    SYNTHETIC_PARTS,
    SYNTHETIC_PAWS,
    SYNTHETIC_SKELETON,
    SyntheticWorldError,
    WorldConfig,
    load_synthetic,
    synthetic,
)
from poselab.datasets.synthetic import ARENA_COLOUR, _arena_box

SMALL = (320, 240)


def _frames(video: Path) -> np.ndarray:
    capture = cv2.VideoCapture(str(video))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return np.stack(frames)


def _paws(world) -> np.ndarray:
    """Paw positions (animal, paw, frame, xy) in the order of the gait truth."""
    return world.poses["position"].sel(part=list(world.gait["paw"].values)).values


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Two animals at full size: the pixel test's subject."""
    # the coloured look: its colours let the tests find each part in the pixels
    return synthetic(tmp_path_factory.mktemp("w") / "mice.mp4", n_animals=2, n_frames=120, seed=1,
                     appearance="coloured")


@pytest.fixture(scope="module")
def long_world(tmp_path_factory):
    """One animal for a minute (small frames, no nuisances): every behaviour, many strides."""
    return synthetic(tmp_path_factory.mktemp("l") / "long.mp4", n_frames=1800, size=SMALL, seed=2,
                     nuisances=False)


def test_part_names_skeleton_and_flip_pairs() -> None:
    assert SYNTHETIC_PARTS == (
        "snout", "left_ear", "right_ear", "neck", "body_centre", "tail_base", "tail_mid",
        "tail_tip", "left_fore_paw", "right_fore_paw", "left_hind_paw", "right_hind_paw",
    )
    assert {p for pair in SYNTHETIC_SKELETON for p in pair} == set(SYNTHETIC_PARTS)
    for left, right in SYNTHETIC_FLIP_PAIRS:
        assert left.startswith("left_") and right == "right_" + left[5:]
    assert set(PART_COLOURS) == set(SYNTHETIC_PARTS)


def test_world_contents(world) -> None:
    ds = world.poses
    poses.validate(ds)
    assert ds["position"].shape == (2, 12, 120, 2)
    assert ds.attrs["fps"] == 30.0 and (ds.attrs["width"], ds.attrs["height"]) == (640, 480)
    assert ds.attrs["video"] == "mice.mp4"
    assert np.isfinite(ds["position"]).all() and (ds["likelihood"] == 1).all()
    assert ds["visible"].dtype == bool and ds["visible"].dims == ("animal", "part", "frame")
    assert poses.provenance(ds)[-1]["parameters"]["seed"] == 1
    assert world.gait["stance"].dims == ("animal", "paw", "frame")
    assert list(world.gait["paw"].values) == list(SYNTHETIC_PAWS)
    assert world.gait.attrs["duty_factor"] == DUTY_FACTOR
    assert dict(zip(SYNTHETIC_PAWS, world.gait["phase_offset"].values)) == PHASE_OFFSETS
    assert world.behaviour.dims == ("animal", "frame") and world.states == list(BEHAVIOURS)
    assert _frames(world.video).shape == (120, 480, 640, 3)
    assert repr(world) == (f"SyntheticWorld(video={str(world.video)!r}, animals=2, parts=12, "
                           "frames=120, fps=30.0, size=(640, 480))")


def test_same_seed_same_world_and_other_seed_differs(tmp_path) -> None:
    kwargs = dict(n_animals=2, n_frames=40, size=SMALL)
    a = synthetic(tmp_path / "a" / "v.mp4", seed=7, **kwargs)
    b = synthetic(tmp_path / "b" / "v.mp4", WorldConfig(seed=7, **kwargs))  # a config: the same world
    c = synthetic(tmp_path / "c" / "v.mp4", seed=8, **kwargs)
    xr.testing.assert_identical(a.poses, b.poses)
    xr.testing.assert_identical(a.gait, b.gait)
    xr.testing.assert_identical(a.behaviour, b.behaviour)
    assert a.video.read_bytes() == b.video.read_bytes()
    frames_a = _frames(a.video)
    np.testing.assert_array_equal(frames_a, _frames(b.video))
    assert not np.allclose(a.poses["position"].values, c.poses["position"].values)
    assert np.abs(frames_a.astype(int) - _frames(c.video)).mean() > 1


def test_ground_truth_matches_rendered_pixels(world) -> None:
    frames = _frames(world.video).astype(np.float32)
    position = world.poses["position"].values
    visible = world.poses["visible"].values
    colours = np.array([PART_COLOURS[p] for p in SYNTHETIC_PARTS], np.float32)
    a, k, t = np.nonzero(visible)
    assert a.size > 0.8 * visible.size  # most parts are visible most of the time
    x, y = np.round(position[a, k, t].T).astype(int)
    offsets = np.arange(-1, 2)
    rows = np.clip(y[:, None, None] + offsets[:, None], 0, 479)
    cols = np.clip(x[:, None, None] + offsets[None, :], 0, 639)
    patch = frames[t[:, None, None], rows, cols].reshape(len(t), 9, 3).mean(axis=1)
    to_part = np.linalg.norm(patch - colours[k], axis=1)
    to_arena = np.linalg.norm(patch - np.array(ARENA_COLOUR, np.float32), axis=1)
    assert np.mean(to_part < 45) > 0.95, np.median(to_part)
    for part in range(len(SYNTHETIC_PARTS)):  # every part, not only the easy ones
        assert np.mean(to_part[k == part] < 45) > 0.85, SYNTHETIC_PARTS[part]
    assert np.mean(to_arena > 60) > 0.99
    # Hidden parts inside the image mostly show something else.
    a, k, t = np.nonzero(~visible)
    x, y = np.round(position[a, k, t].T).astype(int)
    inside = (x >= 1) & (x < 639) & (y >= 1) & (y < 479)
    hidden = frames[t[inside], y[inside], x[inside]]
    assert inside.sum() > 20
    assert np.mean(np.linalg.norm(hidden - colours[k[inside]], axis=1) < 45) < 0.5


def test_stance_paws_do_not_move_and_swing_paws_do(long_world) -> None:
    stance = long_world.gait["stance"].values
    paws = _paws(long_world)
    step = np.linalg.norm(np.diff(paws, axis=2), axis=-1)  # px/frame between t-1 and t
    held = stance[..., 1:] & stance[..., :-1]
    assert held.sum() > 1000
    assert step[held].max() < 0.5
    walking = (long_world.behaviour.values == BEHAVIOURS.index("walk"))[:, None, 1:]
    swinging = ~stance[..., 1:] & ~stance[..., :-1] & walking
    assert swinging.sum() > 200
    assert np.median(step[swinging]) > 2.0


def test_gait_truth_is_a_lateral_sequence_walk(long_world) -> None:
    gait, fps = long_world.gait, 30.0
    walk = long_world.behaviour.values[0] == BEHAVIOURS.index("walk")
    rest = long_world.behaviour.values[0] == BEHAVIOURS.index("rest")
    f = gait["stride_frequency"].values[0]
    assert np.all((f[walk] >= 2) & (f[walk] <= 5)) and np.all(f[rest] == 0)
    assert np.all(gait["stance"].values[0][:, rest])  # at rest every paw is down
    duty = gait["stance"].values[0][:, walk].mean()
    assert abs(duty - DUTY_FACTOR) < 0.03
    # Touchdown times: each paw lands its phase offset (cycles) after the left hind paw.
    touchdowns = {
        paw: np.flatnonzero(np.diff(gait["stance"].values[0, i].astype(int)) == 1) + 1
        for i, paw in enumerate(SYNTHETIC_PAWS)
    }
    lh = touchdowns["left_hind_paw"]
    for paw in SYNTHETIC_PAWS:
        lags = []
        for start, end in zip(lh[:-1], lh[1:]):
            if not walk[start:end].all():
                continue
            later = touchdowns[paw][(touchdowns[paw] >= start) & (touchdowns[paw] < end)]
            if later.size:
                lags.append((later[0] - start) / (end - start))
                # One stride lasts one period of the stride frequency.
                assert abs((end - start) / fps * f[start:end].mean() - 1) < 0.15
        assert len(lags) > 10
        assert abs(np.median(lags) - PHASE_OFFSETS[paw]) < 0.05, paw
    # Stride length (foothold to foothold) = body speed / stride frequency.
    paws, speed = _paws(long_world)[0], gait["speed"].values[0]
    ratios = []
    for i, paw in enumerate(SYNTHETIC_PAWS):
        for start, end in zip(touchdowns[paw][:-1], touchdowns[paw][1:]):
            if walk[start:end].all():
                stride = np.linalg.norm(paws[i, end] - paws[i, start])
                ratios.append(stride / (speed[start:end].mean() / f[start:end].mean()))
    assert len(ratios) > 100
    assert abs(np.median(ratios) - 1) < 0.1


def test_paws_hide_under_the_body(long_world) -> None:
    states = long_world.behaviour.values[0]
    visible = long_world.poses["visible"].sel(part=list(SYNTHETIC_PAWS)).values[0]
    walking, rearing = states == BEHAVIOURS.index("walk"), states == BEHAVIOURS.index("rear")
    assert visible[:, walking].mean() > 0.85
    assert visible[2:, rearing].mean() < 0.3  # hind paws under the rearing body
    assert visible[:2, rearing].mean() > 0.85  # fore paws raised above it


def test_behaviour_truth_has_every_state_in_bouts(long_world) -> None:
    states = long_world.behaviour.values[0]
    assert set(np.unique(states)) == set(range(len(BEHAVIOURS)))
    change = np.flatnonzero(np.diff(states)) + 1
    lengths = np.diff(change) / 30.0  # complete bouts, seconds
    assert lengths.min() >= 0.5 - 1e-9 and lengths.max() <= 3.0 + 1e-9


def test_three_animals_stay_in_the_arena_and_cross(tmp_path) -> None:
    w = synthetic(tmp_path / "three.mp4", n_animals=3, n_frames=300, size=SMALL, seed=5,
                  nuisances=False)
    x0, y0, x1, y1 = _arena_box(SMALL)
    centre = w.poses["position"].sel(part="body_centre").values
    assert np.all((centre[..., 0] > x0) & (centre[..., 0] < x1))
    assert np.all((centre[..., 1] > y0) & (centre[..., 1] < y1))
    xy = w.poses["position"].values
    inside = ((xy[..., 0] >= 0) & (xy[..., 0] <= SMALL[0] - 1)
              & (xy[..., 1] >= 0) & (xy[..., 1] <= SMALL[1] - 1))
    assert inside.mean() > 0.99
    # Axial parts are hidden only when another animal lies on top.
    axial = w.poses["visible"].sel(part=["neck", "body_centre", "tail_base"]).values
    assert (~axial).sum() > 0
    assert (~axial[-1]).sum() == 0  # the last animal drawn is never covered by another


def test_saved_files_round_trip(world) -> None:
    stem = world.video.with_suffix("")
    assert sorted(p.name for p in world.video.parent.iterdir()) == sorted(
        [world.video.name, f"{stem.name}_poses.nc", f"{stem.name}_truth.nc"]
    )  # and no temporary files left behind
    again = load_synthetic(world.video)
    xr.testing.assert_identical(again.poses, world.poses)
    xr.testing.assert_identical(again.gait, world.gait)
    xr.testing.assert_identical(again.behaviour, world.behaviour)
    assert again.behaviour.attrs["states"] == list(BEHAVIOURS)


def test_nuisances_change_pixels_not_truth(tmp_path) -> None:
    clean = synthetic(tmp_path / "clean.mp4", n_frames=20, size=SMALL, seed=3, nuisances=False)
    noisy = synthetic(tmp_path / "noisy.mp4", n_frames=20, size=SMALL, seed=3)
    xr.testing.assert_equal(clean.poses, noisy.poses)
    difference = np.abs(_frames(clean.video).astype(int) - _frames(noisy.video)).mean()
    assert difference > 1.5


def _colour_at_parts(world) -> tuple[np.ndarray, np.ndarray]:
    """Mean colour of the 3x3 pixels at every visible keypoint, and the part of each."""
    frames = _frames(world.video).astype(np.float32)
    height, width = frames.shape[1:3]
    a, k, t = np.nonzero(world.poses["visible"].values)
    x, y = np.round(world.poses["position"].values[a, k, t].T).astype(int)
    offsets = np.arange(-1, 2)
    rows = np.clip(y[:, None, None] + offsets[:, None], 0, height - 1)
    cols = np.clip(x[:, None, None] + offsets[None, :], 0, width - 1)
    return frames[t[:, None, None], rows, cols].reshape(len(t), 9, 3).mean(axis=1), k


def test_fur_look_has_no_colour_coded_parts(tmp_path) -> None:
    """Animals as real mice look: the same truth as the coloured world, but no part can be told
    by its colour (ears, paws and tail share the skin tone; snout and body the coat)."""
    fur = synthetic(tmp_path / "fur.mp4", n_frames=40, seed=5, appearance="fur")
    coloured = synthetic(tmp_path / "coloured.mp4", n_frames=40, seed=5, appearance="coloured")
    xr.testing.assert_equal(fur.poses.drop_attrs(), coloured.poses.drop_attrs())  # same geometry
    spreads = {}
    for name, w in (("fur", fur), ("coloured", coloured)):
        colour, part = _colour_at_parts(w)
        means = {p: colour[part == SYNTHETIC_PARTS.index(p)].mean(0) for p in
                 ("left_fore_paw", "left_hind_paw", "tail_tip", "left_ear")}
        spreads[name] = max(np.linalg.norm(means[p] - means[q]) for p in means for q in means)
    assert spreads["coloured"] > 80  # paws, ears and tail tip each in a colour of their own
    assert spreads["fur"] < 25, spreads  # one skin tone: only shading and grain differ
    assert fur.poses.attrs["provenance"] != coloured.poses.attrs["provenance"]  # the look is recorded
    default = synthetic(tmp_path / "default.mp4", n_frames=2, seed=5)  # the realistic look by default
    assert poses.provenance(default.poses)[-1]["parameters"]["appearance"] == "fur"


def test_restricted_behaviours(tmp_path) -> None:
    w = synthetic(tmp_path / "rest.mp4", n_frames=60, size=SMALL, behaviours=["rest", "groom"])
    assert set(np.unique(w.behaviour.values)) <= {0, 3}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"path": "video.avi"}, "must end in .mp4"),
        ({"n_animals": 0}, "n_animals"),
        ({"n_frames": 0}, "n_frames"),
        ({"fps": -1}, "fps"),
        ({"size": (64, 48)}, "size"),
        ({"size": (641, 480)}, "even"),
        ({"behaviours": ["walk", "fly"]}, "unknown behaviours"),
        ({"appearance": "cartoon"}, "appearance must be one of"),
        ({"body": "giant"}, "body must be one of"),
        ({"n_animal": 2}, r"unknown settings \['n_animal'\]"),
        ({"config": 2}, "config must be a WorldConfig"),
    ],
)
def test_invalid_arguments(tmp_path, kwargs, message) -> None:
    arguments = {"path": tmp_path / "v.mp4", **kwargs}
    with pytest.raises(SyntheticWorldError, match=message):
        synthetic(**arguments)
    assert not list(tmp_path.iterdir())


def test_load_synthetic_missing_files(tmp_path) -> None:
    with pytest.raises(SyntheticWorldError, match="not a synthetic world"):
        load_synthetic(tmp_path / "nothing.mp4")


def test_marks_tell_animals_apart_and_change_nothing_else(tmp_path) -> None:
    from poselab.datasets.synthetic import MARKS

    plain = synthetic(tmp_path / "plain.mp4", n_animals=3, n_frames=12, seed=4, nuisances=False)
    marked = synthetic(tmp_path / "marked.mp4", n_animals=3, n_frames=12, seed=4, nuisances=False, marks=True)
    xr.testing.assert_equal(plain.poses.drop_attrs(), marked.poses.drop_attrs().drop_vars("mark"))
    assert marked.poses["mark"].values.tolist() == list(MARKS[:3])
    assert "mark" not in plain.poses  # unmarked worlds keep their truth files as they were
    assert load_synthetic(marked.video).poses["mark"].values.tolist() == list(MARKS[:3])
    a_frames, b_frames = _frames(plain.video).astype(int), _frames(marked.video).astype(int)
    position = marked.poses["position"]

    def spot(animal: int, first: str, second: str, fraction: float) -> np.ndarray:
        p, q = position.sel(part=first).values[animal], position.sel(part=second).values[animal]
        return np.round(p + fraction * (q - p)).astype(int)  # (frame, xy)

    def change_at(centres: np.ndarray) -> float:
        return float(np.mean([np.abs(b_frames[t, y, x] - a_frames[t, y, x]).mean()
                              for t, (x, y) in enumerate(centres)]))

    back = [spot(a, "body_centre", "neck", 0.15) for a in range(3)]
    rump = [spot(a, "body_centre", "tail_base", 0.6) for a in range(3)]
    assert change_at(back[0]) < 3 and change_at(rump[0]) < 3  # animal 0: unmarked
    assert change_at(back[1]) > 60 and change_at(rump[1]) < 3  # animal 1: a spot on the back
    assert change_at(rump[2]) > 60 and change_at(back[2]) < 3  # animal 2: a spot on the rump
    changed = np.abs(b_frames - a_frames).max(axis=-1) > 8
    assert changed.mean() < 0.01  # only the spots: well under 1 % of the pixels


def test_varied_builds_move_the_ears_and_nothing_else(tmp_path) -> None:
    from poselab.datasets.synthetic import BUILD_RANGES, body_length

    kwargs = dict(n_animals=2, n_frames=40, seed=6, nuisances=False, behaviours=["rest", "walk"])
    standard = synthetic(tmp_path / "standard.mp4", **kwargs)
    varied = synthetic(tmp_path / "varied.mp4", body="varied", **kwargs)
    assert "build_ear_back" not in standard.poses  # standard worlds keep their truth files as they were
    ears = ["left_ear", "right_ear"]
    xr.testing.assert_equal(standard.poses["position"].drop_sel(part=ears),
                            varied.poses["position"].drop_sel(part=ears))  # the same motion and parts
    L = body_length((640, 480))
    builds = {key: varied.poses[f"build_{key}"].values for key in BUILD_RANGES}
    for key, (low, high) in BUILD_RANGES.items():
        assert np.all((builds[key] >= low) & (builds[key] <= high)), key
    assert builds["ear_back"][0] != builds["ear_back"][1]  # one build per animal
    position = varied.poses["position"]
    snout = position.sel(part="snout").values  # (animal, frame, xy)
    for ear in ("left_ear", "right_ear"):
        distance = np.linalg.norm(position.sel(part=ear).values - snout, axis=-1)  # px
        expected = np.hypot(builds["ear_back"], builds["ear_side"]) * L
        # measured along a gently bent spine, so within 3 % of the straight-body distance
        np.testing.assert_allclose(np.median(distance, axis=1), expected, rtol=0.03)
    apart = np.linalg.norm(position.sel(part="left_ear").values - position.sel(part="right_ear").values, axis=-1)
    np.testing.assert_allclose(np.median(apart, axis=1), 2 * builds["ear_side"] * L, rtol=0.03)
    assert load_synthetic(varied.video).poses["build_ear_side"].values.tolist() == builds["ear_side"].tolist()
