"""The pose data model: construction, validation messages, storage round trips."""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr

from poselab.core import poses
from poselab.core.poses import PoseDataError


def make_poses(rng, n_animals=2, n_parts=3, n_frames=50, fps=30.0) -> xr.Dataset:
    position = rng.normal(100, 20, (n_animals, n_parts, n_frames, 2))
    position[0, 1, 5:9] = np.nan
    likelihood = rng.uniform(0, 1, (n_animals, n_parts, n_frames))
    likelihood[0, 1, 5:9] = np.nan
    return poses.from_arrays(
        position,
        likelihood,
        animals=[f"mouse{i}" for i in range(n_animals)],
        parts=["snout", "neck", "tail_base"][:n_parts],
        frames=np.arange(10, 10 + n_frames),
        fps=fps,
        video="videos/a.mp4",
        width=640,
        height=480,
    )


def assert_identical(a: xr.Dataset, b: xr.Dataset) -> None:
    xr.testing.assert_identical(a, b)
    for name in a.variables:  # bit-exact, NaNs at the same places
        np.testing.assert_array_equal(a[name].values, b[name].values)
        assert a[name].dtype == b[name].dtype, name


def test_from_arrays_builds_the_contract(rng):
    ds = make_poses(rng)
    assert ds["position"].dims == ("animal", "part", "frame", "coord")
    assert ds["likelihood"].dims == ("animal", "part", "frame")
    assert ds["coord"].values.tolist() == ["x", "y"]
    assert ds["frame"].dtype == np.int64
    np.testing.assert_allclose(ds["time"].values, np.arange(10, 60) / 30.0)
    assert ds["time"].attrs["units"] == "seconds"
    assert ds.attrs["fps"] == 30.0 and ds.attrs["width"] == 640 and ds.attrs["units"] == "pixels"
    assert poses.provenance(ds) == []
    assert all(value is not None for value in ds.attrs.values())


def test_default_likelihood_marks_known_points():
    position = np.zeros((1, 2, 3, 2))
    position[0, 1, 2] = np.nan
    ds = poses.from_arrays(position)
    np.testing.assert_array_equal(ds["likelihood"].values, [[[1, 1, 1], [1, 1, np.nan]]])
    assert ds["animal"].values.tolist() == ["animal0"]
    assert math.isnan(ds.attrs["fps"]) and np.isnan(ds["time"].values).all()


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda ds: ds.drop_vars("likelihood"), "missing data variable 'likelihood'"),
        (lambda ds: ds.transpose("frame", "animal", "part", "coord"), "expected ('animal', 'part', 'frame', 'coord')"),
        (lambda ds: ds.assign_attrs(fps=None), "attribute 'fps' is None"),
        (lambda ds: ds.assign_attrs(fps=-3.0), "'fps' must be positive"),
        (lambda ds: ds.assign_attrs(video="/abs/path.mp4"), "must be a relative path"),
        (lambda ds: ds.assign(likelihood=ds["likelihood"] * 3), "'likelihood' must lie in [0, 1]"),
        (lambda ds: ds.assign_coords(part=["a", "a", "b"]), "duplicate names"),
        (lambda ds: ds.isel(frame=slice(None, None, -1)), "must increase strictly"),
        (lambda ds: ds.drop_vars("time"), "missing coordinate 'time'"),
        (lambda ds: ds.assign_coords(coord=["u", "v"]), "must be ['x', 'y']"),
    ],
)
def test_validate_rejects_with_a_clear_message(rng, mutate, message):
    ds = make_poses(rng)
    with pytest.raises(PoseDataError) as error:
        poses.validate(mutate(ds))
    assert message in str(error.value)


def test_validate_lists_every_problem_at_once(rng):
    ds = make_poses(rng).drop_vars("likelihood").assign_attrs(fps=None, video="/x.mp4")
    text = str(pytest.raises(PoseDataError, poses.validate, ds).value)
    assert text.count("\n  - ") == 3


def test_from_arrays_rejects_bad_shapes():
    with pytest.raises(PoseDataError, match="4 dims"):
        poses.from_arrays(np.zeros((2, 3, 2)))
    with pytest.raises(PoseDataError, match="must be 2 or 3"):
        poses.from_arrays(np.zeros((1, 2, 3, 4)))
    with pytest.raises(PoseDataError, match="likelihood must have shape"):
        poses.from_arrays(np.zeros((1, 2, 3, 2)), np.zeros((1, 2, 4)))
    with pytest.raises(PoseDataError, match="2 part names given for 3"):
        poses.from_arrays(np.zeros((1, 3, 3, 2)), parts=["a", "b"])


@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_storage_round_trip_is_bit_exact(tmp_path, rng, suffix):
    ds = poses.with_provenance(make_poses(rng), "filter", window=5, method="median")
    path = poses.save(ds, tmp_path / f"poses{suffix}")
    back = poses.load(path, lazy=False)
    assert_identical(ds, back)
    assert poses.provenance(back) == [
        {"operation": "filter", "parameters": {"window": 5, "method": "median"}, "poselab": poses.__version__}
    ]


def test_float32_and_3d_round_trip(tmp_path, rng):
    position = rng.normal(size=(1, 2, 7, 3)).astype(np.float32)
    ds = poses.from_arrays(position, fps=100.0, units="mm")
    assert_identical(ds, poses.load(poses.save(ds, tmp_path / "p.nc")))
    assert_identical(ds, poses.load(poses.save(ds, tmp_path / "p.zarr"), lazy=False))


def test_zarr_append_equals_one_write(tmp_path, rng):
    ds = make_poses(rng, n_frames=100)
    path = tmp_path / "long.zarr"
    for start in range(0, 100, 30):
        poses.append_zarr(ds.isel(frame=slice(start, start + 30)), path, chunk_frames=30)
    back = poses.load(path, lazy=False)
    assert_identical(ds, back)
    stored = xr.open_zarr(path, consolidated=False)
    assert stored["position"].chunks[2][0] == 30  # chunked along frame


def test_zarr_append_refuses_overlap_and_mismatch(tmp_path, rng):
    ds = make_poses(rng, n_frames=20)
    path = poses.append_zarr(ds.isel(frame=slice(0, 10)), tmp_path / "a.zarr")
    with pytest.raises(PoseDataError, match="must follow the last stored frame"):
        poses.append_zarr(ds.isel(frame=slice(5, 15)), path)
    with pytest.raises(PoseDataError, match="'part' differs"):
        poses.append_zarr(ds.isel(frame=slice(10, 20), part=[0, 1]), path)


def test_save_is_atomic_and_keeps_the_old_file_on_failure(tmp_path, rng):
    ds = make_poses(rng)
    path = poses.save(ds, tmp_path / "p.nc")
    before = path.read_bytes()
    with pytest.raises(PoseDataError):
        poses.save(ds.drop_vars("likelihood"), path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.nc"]


def test_load_errors_are_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match="no pose file"):
        poses.load(tmp_path / "missing.nc")
    bad = tmp_path / "bad.nc"
    bad.write_bytes(b"not a netcdf file")
    with pytest.raises(PoseDataError, match="not a readable NetCDF pose file"):
        poses.load(bad)
    with pytest.raises(PoseDataError, match="unknown pose file type"):
        poses.save(poses.from_arrays(np.zeros((1, 1, 1, 2))), tmp_path / "p.csv")


def test_with_fps_and_select_frames(rng):
    ds = poses.with_fps(make_poses(rng, fps=None), 50.0)
    assert ds.attrs["fps"] == 50.0
    np.testing.assert_allclose(ds["time"].values, ds["frame"].values / 50.0)
    sub = poses.select_frames(ds, [12, 20])
    assert sub["frame"].values.tolist() == [12, 20]


def make_labels(rng, n_images=5) -> xr.Dataset:
    position = rng.normal(100, 20, (2, 3, n_images, 2))
    position[1, 2, 1] = np.nan
    return poses.labels_from_arrays(
        position,
        images=[f"frames/v/img{i:05d}.png" for i in range(n_images)],
        animals=["mouse0", "mouse1"],
        parts=["snout", "neck", "tail_base"],
        videos=["videos/v.mp4"] * n_images,
        video_frames=np.arange(n_images) * 7,
        width=640,
        height=480,
        units="pixels",
    )


def test_labels_from_arrays_builds_the_labels_contract(rng):
    ds = make_labels(rng)
    assert ds["position"].dims == ("animal", "part", "image", "coord")
    assert ds["likelihood"].dims == ("animal", "part", "image")
    assert ds["image"].values.tolist()[:2] == ["frames/v/img00000.png", "frames/v/img00001.png"]
    assert ds["video"].dims == ds["video_frame"].dims == ("image",)
    assert ds["video_frame"].dtype == np.int64 and ds["video_frame"].values.tolist() == [0, 7, 14, 21, 28]
    assert "frame" not in ds.dims and "time" not in ds.coords
    assert ds["position"].attrs["units"] == "pixels" and ds.attrs["width"] == 640 and math.isnan(ds.attrs["fps"])
    assert np.isnan(ds["likelihood"].values[1, 2, 1]) and ds["likelihood"].values[0, 0, 0] == 1.0
    assert poses.is_labels(ds) and not poses.is_labels(make_poses(rng))
    assert poses.validate_labels(ds) is ds
    with pytest.raises(PoseDataError, match="this is a labels Dataset"):
        poses.validate(ds)
    with pytest.raises(PoseDataError, match="give both videos and video_frames"):
        poses.labels_from_arrays(np.zeros((1, 1, 2, 2)), images=["a", "b"], videos=["v", "v"])
    with pytest.raises(PoseDataError, match="1 image names for 2 images"):
        poses.labels_from_arrays(np.zeros((1, 1, 2, 2)), images=["a"])


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda ds: ds.assign_coords(image=["a.png", "a.png", "b.png", "c.png", "d.png"]), "duplicate names: ['a.png']"),
        (lambda ds: ds.assign_coords(image=["", "a", "b", "c", "d"]), "'image' must hold non-empty strings"),
        (lambda ds: ds.assign_coords(video_frame=("image", np.zeros(5))), "'video_frame' must be int"),
        (lambda ds: ds.transpose("image", "animal", "part", "coord"), "expected ('animal', 'part', 'image', 'coord')"),
        (lambda ds: ds.assign(likelihood=ds["likelihood"] * 3), "'likelihood' must lie in [0, 1]"),
        (lambda ds: ds.assign_attrs(video="/abs/v.mp4"), "must be a relative path"),
    ],
)
def test_validate_labels_rejects_with_a_clear_message(rng, mutate, message):
    with pytest.raises(PoseDataError) as error:
        poses.validate_labels(mutate(make_labels(rng)))
    assert message in str(error.value)


@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_labels_storage_round_trip_is_bit_exact(tmp_path, rng, suffix):
    ds = poses.with_provenance(make_labels(rng), "labels", store="labels.sqlite")
    ds["occluded"] = (("animal", "part", "image"), np.zeros((2, 3, 5), bool))
    back = poses.load(poses.save(ds, tmp_path / f"labels{suffix}"), lazy=False)
    assert_identical(ds, back)
    assert back["image"].dtype == ds["image"].dtype and back["video"].dtype.kind == "U"
    # saved again over the first file: replaced whole
    again = poses.save(ds.isel(image=[0, 2]), tmp_path / f"labels{suffix}")
    assert_identical(ds.isel(image=[0, 2]), poses.load(again, lazy=False))
