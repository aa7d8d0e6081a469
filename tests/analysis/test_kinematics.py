"""Tests for poselab.analysis.kinematics on analytic tracks, NaN propagation, dask and movement parity."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import xarray as xr

from poselab.analysis import kinematics as K
from poselab.core import poses

# --- fixtures ------------------------------------------------------------------------------------


def uniform_motion(fps: float | None = 25.0, n: int = 50) -> tuple[xr.Dataset, np.ndarray]:
    """2 animals x 2 parts moving at constant velocity (pixels/s, or pixels/frame without fps)."""
    vel = np.array([[[3.0, -4.0], [1.5, 2.0]], [[-6.0, 0.5], [0.0, 0.0]]])  # (animal, part, xy)
    start = np.array([[[10.0, 20.0], [30.0, 40.0]], [[100.0, 50.0], [7.0, 8.0]]])
    t = np.arange(n) / fps if fps else np.arange(n, dtype=float)
    position = start[:, :, None, :] + vel[:, :, None, :] * t[None, None, :, None]
    return poses.from_arrays(position, fps=fps, parts=["nose", "tail"]), vel


def circle(radius: float = 50.0, omega: float = 2.0, fps: float = 100.0, n: int = 400):
    """One animal on a circle (image coords) with a nose ahead and a tail behind on the tangent."""
    t = np.arange(n) / fps
    phase = omega * t
    centre = np.stack([200 + radius * np.cos(phase), 150 + radius * np.sin(phase)], -1)
    tangent = np.stack([-np.sin(phase), np.cos(phase)], -1)
    nose, tail = centre + 5 * tangent, centre - 5 * tangent
    position = np.stack([centre, nose, tail])[None]
    return poses.from_arrays(position, fps=fps, parts=["centre", "nose", "tail"])


def random_walk(seed: int = 0, fps: float | None = 30.0, n: int = 300, nan_fraction: float = 0.05):
    rng = np.random.default_rng(seed)
    position = 100 + rng.normal(scale=2.0, size=(3, 4, n, 2)).cumsum(axis=2)
    hole = rng.random(position.shape[:3]) < nan_fraction
    position[hole] = np.nan
    position[1, 2, 40:47] = np.nan  # one longer gap
    return poses.from_arrays(position, fps=fps, animals=["a", "b", "c"], parts=list("pqrs"))


# --- analytic values -----------------------------------------------------------------------------


@pytest.mark.parametrize("fps", [25.0, None])
def test_uniform_motion_exact(fps):
    ds, vel = uniform_motion(fps)
    v = K.velocity(ds)
    np.testing.assert_allclose(v.values, np.broadcast_to(vel[:, :, None, :], v.shape), atol=1e-9)
    a = K.acceleration(ds)
    np.testing.assert_allclose(a.values, 0.0, atol=1e-8)
    s = K.speed(ds)
    expected_speed = np.linalg.norm(vel, axis=-1)
    expected = np.broadcast_to(expected_speed[..., None], s.shape)
    np.testing.assert_allclose(s.values, expected, atol=1e-9)
    duration = (ds.sizes["frame"] - 1) / (fps or 1.0)
    np.testing.assert_allclose(K.path_length(ds).values, expected_speed * duration, rtol=1e-12)
    per = "s" if fps else "frame"
    assert v.attrs["units"] == f"pixels/{per}"
    assert a.attrs["units"] == f"pixels/{per}^2"
    assert s.attrs["units"] == f"pixels/{per}"
    assert K.path_length(ds).attrs["units"] == "pixels"
    assert (v.name, a.name, s.name) == ("velocity", "acceleration", "speed")
    assert s.dims == ("animal", "part", "frame")


def test_displacement_backward_forward():
    ds, vel = uniform_motion(fps=10.0)
    back = K.displacement(ds)
    fwd = K.displacement(ds, direction="forward")
    step = vel / 10.0
    assert np.isnan(back.isel(frame=0)).all() and np.isnan(fwd.isel(frame=-1)).all()
    np.testing.assert_allclose(back.isel(frame=slice(1, None)).values,
                               np.broadcast_to(step[:, :, None], back.shape).copy()[:, :, 1:],
                               atol=1e-12)
    np.testing.assert_allclose(
        fwd.isel(frame=slice(0, -1)).values, back.isel(frame=slice(1, None)).values
    )
    assert back.attrs["units"] == "pixels"
    with pytest.raises(K.KinematicsError, match="direction"):
        K.displacement(ds, direction="sideways")


def test_circle_speed_and_heading():
    radius, omega, fps = 50.0, 2.0, 100.0
    ds = circle(radius, omega, fps)
    h = 1 / fps
    s = K.speed(ds).sel(animal="animal0", part="centre").values
    # Central differences of r*cos/sin(w t) give exactly r*sin(w h)/h in the interior.
    np.testing.assert_allclose(s[1:-1], radius * np.sin(omega * h) / h, rtol=1e-9)
    np.testing.assert_allclose(s[1:-1], radius * omega, rtol=1e-4)
    head = K.heading(ds, "tail", "nose").sel(animal="animal0").values
    np.testing.assert_allclose(np.diff(np.unwrap(head)), omega * h, rtol=1e-9)
    # Moving along +y (down the image) at t=0: heading +pi/2.
    np.testing.assert_allclose(head[0], np.pi / 2, atol=1e-12)
    np.testing.assert_allclose(K.path_length(ds).sel(part="centre").item(),
                               (ds.sizes["frame"] - 1) * 2 * radius * np.sin(omega * h / 2),
                               rtol=1e-12)


def test_heading_sign_convention():
    position = np.zeros((1, 2, 4, 2))
    position[0, 1] = [[1, 0], [0, 1], [-1, 0], [0, -1]]  # right, down, left, up
    ds = poses.from_arrays(position, parts=["tail", "nose"])
    head = K.heading(ds, "tail", "nose").values[0]
    np.testing.assert_allclose(head, [0, np.pi / 2, np.pi, -np.pi / 2], atol=1e-15)
    degrees = K.heading(ds, "tail", "nose", degrees=True).values[0]
    np.testing.assert_allclose(degrees, [0, 90, 180, -90])
    assert K.heading(ds, "tail", "nose").attrs["units"] == "radians"


@pytest.mark.parametrize(
    ("c", "expected"), [((0, 5), 90.0), ((-3, 0), 180.0), ((2, 2), 45.0), ((4, 0), 0.0)]
)
def test_joint_angle_known(c, expected):
    position = np.array([[[[3.0, 0.0]], [[0.0, 0.0]], [[float(c[0]), float(c[1])]]]])
    ds = poses.from_arrays(position, parts=["hip", "knee", "ankle"])
    angle = K.joint_angle(ds, "hip", "knee", "ankle")
    assert angle.item() == pytest.approx(expected, abs=1e-12)
    assert angle.attrs["units"] == "degrees"
    rad = K.joint_angle(ds, "hip", "knee", "ankle", degrees=False)
    assert rad.item() == pytest.approx(np.radians(expected), abs=1e-14)
    assert rad.attrs["units"] == "radians"


def test_joint_angle_3d_and_degenerate():
    position = np.array(
        [[[[1.0, 0, 0], [0, 0, 0]], [[0, 0, 0], [0, 0, 0]], [[0, 0, 2.0], [1, 1, 1]]]]
    )
    ds = poses.from_arrays(position, parts=list("abc"))
    angle = K.joint_angle(ds, "a", "b", "c").values[0]
    assert angle[0] == pytest.approx(90.0, abs=1e-12)
    assert np.isnan(angle[1])  # segment b->a has zero length in frame 1


def test_distances():
    position = np.zeros((2, 2, 3, 2))
    position[0, 1] = [3, 4]  # part1 of animal0 at (3, 4)
    position[1, 0] = [6, 8]
    position[1, 1] = [6, 8]
    ds = poses.from_arrays(position, animals=["m1", "m2"], parts=["nose", "tail"])
    d = K.distance(ds, "nose", "tail")
    np.testing.assert_allclose(d.sel(animal="m1").values, 5.0)
    np.testing.assert_allclose(d.sel(animal="m2").values, 0.0)
    ia = K.inter_animal_distance(ds, "m1", "m2")
    assert ia.dims == ("part", "frame")
    np.testing.assert_allclose(ia.sel(part="nose").values, 10.0)
    np.testing.assert_allclose(ia.sel(part="tail").values, 5.0)
    cross = K.inter_animal_distance(ds, "m1", "m2", part="nose", part_b="tail")
    np.testing.assert_allclose(cross.values, 10.0)
    assert d.attrs["units"] == "pixels" and d.name == "distance"


def test_egocentric_rotation():
    # Animal at (10, 10) heading down the image (+y); a marker 2 px to its right on screen is at
    # x = 8 (looking down the image, the animal's right is -x in image coordinates).
    position = np.array([[[[10.0, 10.0]], [[10.0, 13.0]], [[8.0, 10.0]], [[10.0, 7.0]]]])
    ds = poses.from_arrays(position, parts=["centre", "nose", "right", "tail"])
    ego = K.egocentric(ds, "centre", "tail", "nose")
    np.testing.assert_allclose(ego.sel(part="centre").values[0, 0], [0, 0], atol=1e-12)
    np.testing.assert_allclose(ego.sel(part="nose").values[0, 0], [3, 0], atol=1e-12)
    np.testing.assert_allclose(ego.sel(part="tail").values[0, 0], [-3, 0], atol=1e-12)
    np.testing.assert_allclose(ego.sel(part="right").values[0, 0], [0, 2], atol=1e-12)
    assert ego.dims == ds["position"].dims and ego.attrs["units"] == "pixels"


def test_egocentric_circle_is_stationary():
    ego = K.egocentric(circle(), "centre", "tail", "nose")
    nose = ego.sel(part="nose").values[0]
    np.testing.assert_allclose(nose, np.tile([5.0, 0.0], (400, 1)), atol=1e-9)


def test_to_units_calibration():
    ds, vel = uniform_motion(fps=25.0)
    mm = K.to_units(ds, px_per_unit=4.0, unit="mm")
    assert mm.attrs["units"] == "mm" and mm["position"].attrs["units"] == "mm"
    np.testing.assert_allclose(mm["position"].values, ds["position"].values / 4.0)
    v = K.velocity(mm)
    assert v.attrs["units"] == "mm/s"
    expected = np.broadcast_to(vel[:, :, None] / 4.0, v.shape)
    np.testing.assert_allclose(v.values, expected, atol=1e-9)
    assert poses.provenance(mm)[-1]["operation"] == "to_units"
    poses.validate(mm)
    with pytest.raises(K.KinematicsError, match="already in 'mm'"):
        K.to_units(mm, 2.0)
    with pytest.raises(K.KinematicsError, match="positive"):
        K.to_units(ds, 0)


# --- NaN propagation -----------------------------------------------------------------------------


@pytest.mark.parametrize("fps", [30.0, None])
@pytest.mark.parametrize("k", [1, 2, 5])
def test_nan_counts_for_a_gap(k, fps):
    ds, _ = uniform_motion(fps=fps, n=40)
    position = ds["position"].values.copy()
    position[0, 0, 10 : 10 + k] = np.nan
    ds = ds.copy()
    ds["position"] = ds["position"].copy(data=position)
    track = dict(animal="animal0", part="nose", coord="x")
    assert int(K.velocity(ds).sel(track).isnull().sum()) == k + 2
    assert int(K.acceleration(ds).sel(track).isnull().sum()) == k + 4
    assert int(K.speed(ds).sel(animal="animal0", part="nose").isnull().sum()) == k + 2
    assert int(K.displacement(ds).sel(track).isnull().sum()) == k + 2  # +1 after, +1 frame 0
    # Other tracks untouched.
    assert int(K.velocity(ds).sel(animal="animal1").isnull().sum()) == 0


def test_path_length_nan_policies():
    # Straight line at 1 px/frame over 20 frames with a 4-frame gap.
    x = np.arange(20.0)
    position = np.stack([x, np.zeros(20)], -1)[None, None].copy()
    position[0, 0, 8:12] = np.nan
    ds = poses.from_arrays(position)
    with pytest.warns(UserWarning, match="unknown frames"):
        ffill = K.path_length(ds, nan_policy="ffill", nan_warn_threshold=0.1)
    # ffill: the track jumps from 7 to 12 in one chord, nothing lost on a straight line.
    assert ffill.item() == pytest.approx(19.0)
    scaled = K.path_length(ds, nan_policy="scale", nan_warn_threshold=None)
    # 14 valid unit chords of 19 -> 14 / (14 / 19) = 19
    assert scaled.item() == pytest.approx(19.0)
    part = K.path_length(ds, start=0, stop=5, nan_warn_threshold=None)
    assert part.item() == pytest.approx(5.0)
    with pytest.raises(K.KinematicsError, match="at least 2 frames"):
        K.path_length(ds, start=3, stop=3)
    with pytest.raises(K.KinematicsError, match="nan_policy"):
        K.path_length(ds, nan_policy="drop")
    empty = ds.copy()
    empty["position"] = ds["position"] * np.nan
    assert np.isnan(K.path_length(empty, nan_warn_threshold=None).item())


# --- validation ----------------------------------------------------------------------------------


def test_validation_errors():
    ds, _ = uniform_motion()
    with pytest.raises(K.KinematicsError, match=r"lacks the dim\(s\) \['coord'\]"):
        K.velocity(ds["position"].isel(coord=0))
    with pytest.raises(K.KinematicsError, match="lacks the dim"):
        K.speed(ds["position"].drop_vars("time").rename(frame="step"))
    with pytest.raises(K.KinematicsError, match="part 'paw' not found"):
        K.distance(ds, "nose", "paw")
    with pytest.raises(K.KinematicsError, match="pose Dataset or an xarray.DataArray"):
        K.velocity(np.zeros((3, 2)))
    with pytest.raises(K.KinematicsError, match="no 'position'"):
        K.velocity(ds.drop_vars("position"))
    broken = ds.assign_coords(time=ds["time"].where(ds["frame"] < 10))
    with pytest.raises(K.KinematicsError, match="NaN for some frames"):
        K.velocity(broken)
    with pytest.raises(K.KinematicsError, match="2-D"):
        K.egocentric(poses.from_arrays(np.zeros((1, 3, 2, 3)), parts=list("abc")), "a", "b", "c")


# --- dask ----------------------------------------------------------------------------------------


def test_dask_lazy_and_equal():
    ds = random_walk(n=200)
    chunked = ds.chunk({"frame": 37})
    for func, args in [
        (K.velocity, ()),
        (K.acceleration, ()),
        (K.speed, ()),
        (K.displacement, ()),
        (K.distance, ("p", "q")),
        (K.joint_angle, ("p", "q", "r")),
        (K.heading, ("p", "q")),
        (K.egocentric, ("p", "q", "r")),
    ]:
        lazy = func(chunked, *args)
        assert hasattr(lazy.data, "dask"), func.__name__
        np.testing.assert_array_equal(lazy.values, func(ds, *args).values, err_msg=func.__name__)
        assert lazy.attrs == func(ds, *args).attrs
    for policy in ("ffill", "scale"):
        lazy = K.path_length(chunked, nan_policy=policy)
        assert hasattr(lazy.data, "dask")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            eager = K.path_length(ds, nan_policy=policy)
        np.testing.assert_allclose(lazy.values, eager.values, rtol=1e-12)


# --- movement parity -----------------------------------------------------------------------------


def movement_dims() -> tuple[str, str]:
    """movement's keypoint and individual dim names: plural up to 0.16, singular from 0.17."""
    import movement

    major, minor = (int(x) for x in movement.__version__.split(".")[:2])
    return ("keypoint", "individual") if (major, minor) >= (0, 17) else ("keypoints", "individuals")


def to_movement(ds: xr.Dataset) -> xr.DataArray:
    """poselab position -> movement position (time, space, keypoint(s), individual(s))."""
    keypoint, individual = movement_dims()
    da = ds["position"].transpose("frame", "coord", "part", "animal")
    da = da.rename(coord="space", part=keypoint, animal=individual)
    time = ds["time"].values if np.isfinite(ds["time"].values).all() else ds["frame"].values
    return da.drop_vars(["time", "frame"]).rename(frame="time").assign_coords(time=time)


def from_movement(da: xr.DataArray, dims: tuple[str, ...]) -> np.ndarray:
    keypoint, individual = movement_dims()
    rename = {"space": "coord", keypoint: "part", individual: "animal", "time": "frame"}
    return da.rename({k: v for k, v in rename.items() if k in da.dims}).transpose(*dims).values


@pytest.fixture(scope="module")
def mkin():
    pytest.importorskip("movement")
    from movement import kinematics

    return kinematics


def test_movement_velocity_acceleration_speed_equal(mkin):
    ds = random_walk(seed=1, fps=30.0)
    mv = to_movement(ds)
    dims4 = ("animal", "part", "frame", "coord")
    dims3 = ("animal", "part", "frame")
    np.testing.assert_array_equal(
        K.velocity(ds).values, from_movement(mkin.compute_velocity(mv), dims4)
    )
    np.testing.assert_array_equal(
        K.acceleration(ds).values, from_movement(mkin.compute_acceleration(mv), dims4)
    )
    np.testing.assert_array_equal(K.speed(ds).values, from_movement(mkin.compute_speed(mv), dims3))


def test_movement_parity_without_fps(mkin):
    """Evenly spaced time: movement gives a velocity at an isolated unknown frame; poselab NaN."""
    ds = random_walk(seed=2, fps=None)
    ours = K.velocity(ds).values
    theirs = from_movement(
        mkin.compute_velocity(to_movement(ds)), ("animal", "part", "frame", "coord")
    )
    unknown = np.isnan(ds["position"].values)
    np.testing.assert_array_equal(ours[~unknown], theirs[~unknown])
    assert np.isnan(ours[unknown]).all()
    assert np.isfinite(theirs[unknown]).any()  # movement's central difference skips the frame


@pytest.mark.parametrize("policy", ["ffill", "scale"])
def test_movement_path_length_equal(mkin, policy):
    ds = random_walk(seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        theirs = mkin.compute_path_length(to_movement(ds), nan_policy=policy)
        ours = K.path_length(ds, nan_policy=policy)
    np.testing.assert_allclose(ours.values, from_movement(theirs, ("animal", "part")), rtol=1e-12)


def test_movement_distances_equal(mkin):
    ds = random_walk(seed=4)
    mv = to_movement(ds)
    keypoint, individual = movement_dims()
    theirs = mkin.compute_pairwise_distances(mv, keypoint, {"p": "r"})
    # movement returns the (individual x individual) matrix; same-animal distances on its diagonal
    diag = np.stack([theirs.sel(p=a, r=a).values for a in ds["animal"].values])
    np.testing.assert_allclose(K.distance(ds, "p", "r").values, diag, rtol=1e-12)
    theirs = mkin.compute_pairwise_distances(mv, individual, {"a": "c"})
    diag = np.stack([theirs.sel(a=p, c=p).values for p in ds["part"].values])
    np.testing.assert_allclose(K.inter_animal_distance(ds, "a", "c").values, diag, rtol=1e-12)


def test_movement_joint_angle_equal(mkin):
    pytest.importorskip("movement")
    from movement.utils.vector import compute_signed_angle_2d

    ds = random_walk(seed=5)
    mv = to_movement(ds)
    keypoint, individual = movement_dims()
    u = mv.sel({keypoint: "p"}) - mv.sel({keypoint: "q"})
    v = mv.sel({keypoint: "r"}) - mv.sel({keypoint: "q"})
    theirs = np.abs(compute_signed_angle_2d(u, v)).transpose(individual, "time").values
    ours = K.joint_angle(ds, "p", "q", "r", degrees=False).values
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


def test_movement_fails_on_chunked_data_where_poselab_works(mkin):
    """On data chunked along time, movement 0.15 speed raises ValueError (its norm is an
    apply_ufunc without dask support) and path length raises KeyError (its NaN report indexes with
    a lazy boolean mask); poselab's stay lazy and equal the in-memory values."""
    import movement

    ds = random_walk(seed=6)
    chunked = ds.chunk({"frame": 50})
    if tuple(int(x) for x in movement.__version__.split(".")[:2]) < (0, 18):
        with pytest.raises(ValueError):
            mkin.compute_speed(to_movement(chunked)).compute()
        with pytest.raises((ValueError, KeyError)), warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            mkin.compute_path_length(to_movement(chunked)).compute()
    lazy = K.speed(chunked)
    assert hasattr(lazy.data, "dask")
    np.testing.assert_array_equal(lazy.values, K.speed(ds).values)
    lazy = K.path_length(chunked)
    assert hasattr(lazy.data, "dask")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        np.testing.assert_allclose(lazy.values, K.path_length(ds).values, rtol=1e-12)


# --- blocked in-memory kernels -------------------------------------------------------------------


@pytest.mark.parametrize("block", [64, 7, 1])
@pytest.mark.parametrize("coordwise", [False, True])
def test_blocked_kernels_match_reference(monkeypatch, block, coordwise):
    """Gaps crossing block edges, leading/trailing gaps, coordinates unknown separately."""
    monkeypatch.setattr(K, "_block_frames", lambda lead, trail: block)
    rng = np.random.default_rng(block)
    position = 50 + rng.normal(size=(2, 3, 90, 2)).cumsum(axis=2)
    unknown = rng.random(position.shape[:3]) < 0.2
    position[unknown] = np.nan
    position[0, 0, :9] = np.nan  # leading gap
    position[0, 1, 70:] = np.nan  # trailing gap
    position[1, 2, :] = np.nan  # never seen
    position[1, 1, 5:60] = np.nan  # long gap
    if coordwise:
        position[1, 0, rng.random(90) < 0.2, 0] = np.nan  # x unknown, y known
    ds = poses.from_arrays(position, fps=30.0)
    ref = ds["position"]
    reference = {
        "ffill": K._norm(ref.ffill("frame").diff("frame")).sum("frame", min_count=1),
        "scale": K._norm(ref.diff("frame")).sum("frame")
        / (K._norm(ref.diff("frame")).notnull().sum("frame") / 89),
    }
    for policy, expected in reference.items():
        got = K.path_length(ds, nan_policy=policy, nan_warn_threshold=None)
        np.testing.assert_allclose(got.values, expected.values, rtol=1e-12, err_msg=policy)
    assert np.isnan(K.path_length(ds, nan_warn_threshold=None).values[1, 2])
    grad = np.gradient(position, ds["time"].values, axis=2)
    np.testing.assert_array_equal(K.velocity(ds).values, grad)
    np.testing.assert_array_equal(K.speed(ds).values, np.sqrt((grad**2).sum(-1)))


def test_other_layouts_and_chunking():
    """Dim order is free (movement's time-first layout works) and chunks may split any dim."""
    ds = random_walk(n=120)
    moved = ds["position"].transpose("frame", "coord", "part", "animal")
    np.testing.assert_array_equal(
        K.velocity(moved).transpose(*ds["position"].dims).values, K.velocity(ds).values
    )
    np.testing.assert_array_equal(
        K.speed(moved).transpose("animal", "part", "frame").values, K.speed(ds).values
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        np.testing.assert_allclose(
            K.path_length(moved).transpose("animal", "part").values,
            K.path_length(ds).values,
            rtol=1e-12,
        )
        chunked = ds.chunk({"frame": 23, "animal": 1, "part": 3})
        for func in (K.velocity, K.acceleration, K.speed):
            np.testing.assert_array_equal(func(chunked).values, func(ds).values)
        np.testing.assert_allclose(
            K.path_length(chunked).values, K.path_length(ds).values, rtol=1e-12
        )
