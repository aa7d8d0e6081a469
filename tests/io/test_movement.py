"""The movement adapter: lossless both ways, accepted by movement, agrees with its loaders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from poselab import io
from poselab.core import poses
from poselab.core.poses import PoseDataError
from poselab.io.movement import to_movement

movement = pytest.importorskip("movement")
from movement import kinematics  # noqa: E402
from movement.io import load_poses  # noqa: E402
from movement.validators.datasets import ValidPosesInputs  # noqa: E402

OPENFIELD = "openfield-Pranav-2018-10-30/labeled-data/m4s1/CollectedData_Pranav.h5"
TRIMOUSE = "dlc-tests-data-2021/trimouse_calib.h5"
EL = (
    "multi_mouse-dlc_team-2022-04-12/videos/"
    "m3v1mp4shortDLC_effnet_b0_multi_mouseApr12shuffle1_5_el.h5"
)
KEYPOINTS, INDIVIDUALS = ValidPosesInputs.DIM_NAMES[2:]


def _dataset(rng: np.random.Generator, fps: float | None) -> xr.Dataset:
    position = rng.uniform(0, 640, size=(2, 3, 9, 2))
    position[1, 2, 4] = np.nan
    likelihood = rng.uniform(0, 1, size=(2, 3, 9))
    ds = poses.from_arrays(position, likelihood, animals=["a", "b"], parts=["nose", "ear", "tail"],
                           frames=[3, 4, 5, 8, 9, 10, 20, 21, 22], fps=fps, video="v.mp4",
                           width=640, height=480)
    ds = ds.assign_coords(image=("frame", [f"img{i}.png" for i in range(9)]))
    ds.attrs["dlc_scorer"] = "someone"
    return poses.with_provenance(ds, "filter", window=3)


@pytest.mark.parametrize("fps", [30.0, None])
@pytest.mark.parametrize("dims", ["auto", "singular", "plural"])
def test_round_trip_is_lossless(rng: np.random.Generator, fps: float | None, dims: str) -> None:
    ds = _dataset(rng, fps)
    mds = to_movement(ds, dims=dims)
    xr.testing.assert_identical(io.from_movement(mds), ds)


def test_schema_is_movements(rng: np.random.Generator) -> None:
    ds = _dataset(rng, 30.0)
    mds = io.to_movement(ds)
    ValidPosesInputs.validate(mds)  # movement's own check
    assert mds["position"].dims == ValidPosesInputs.DIM_NAMES
    assert mds["confidence"].dims == ("time", KEYPOINTS, INDIVIDUALS)
    assert mds.attrs["ds_type"] == "poses"
    assert mds.attrs["fps"] == 30.0
    assert mds.attrs["time_unit"] == "seconds"
    assert mds.attrs["source_software"] == ds.attrs["source"]
    assert np.array_equal(mds["time"].values, ds["frame"].values / 30.0)
    assert mds["frame"].values.tolist() == ds["frame"].values.tolist()
    no_fps = io.to_movement(_dataset(rng, None))
    assert no_fps.attrs["time_unit"] == "frames" and "fps" not in no_fps.attrs
    assert no_fps["time"].values.tolist() == ds["frame"].values.tolist()
    # movement's recommended storage is NetCDF: every attribute must be serialisable
    assert all(v is not None for v in mds.attrs.values())


@pytest.mark.parametrize("fps", [30.0, None])
def test_movement_kinematics_accept_it(rng: np.random.Generator, fps: float | None) -> None:
    ds = _dataset(rng, fps)
    mds = io.to_movement(ds)
    velocity = kinematics.compute_velocity(mds["position"])
    time = mds["time"].values.astype(np.float64)
    expected = np.gradient(mds["position"].values, time, axis=0)
    assert np.allclose(velocity.values, expected, rtol=1e-12, atol=1e-9, equal_nan=True)
    assert np.array_equal(np.isnan(velocity.values), np.isnan(expected))
    # units: px/s with a frame rate, px/frame without (time in frames)
    if fps is not None:
        step = (ds["position"].values[0, 0, 1] - ds["position"].values[0, 0, 0]) * fps
        assert np.allclose(velocity.values[0, :, 0, 0], step)


def test_movement_loader_agrees_with_read_deeplabcut_single(shared_data: Path) -> None:
    mds = load_poses.from_dlc_file(shared_data / OPENFIELD)
    ours = io.read_deeplabcut(shared_data / OPENFIELD)
    converted = io.from_movement(mds)
    assert converted["part"].values.tolist() == ours["part"].values.tolist()
    assert converted["frame"].values.tolist() == _row_numbers(ours)
    assert np.array_equal(converted["position"].values, ours["position"].values, equal_nan=True)


@pytest.mark.parametrize("name", [TRIMOUSE, EL])
def test_movement_loader_agrees_with_read_deeplabcut_multi(
    shared_data: Path, tmp_path: Path, name: str
) -> None:
    ours = io.read_deeplabcut(shared_data / name)
    if "single" in ours["animal"].values:
        # movement 0.15 cannot load DeepLabCut's unique body parts: drop them for this check
        unique = ["corner1", "corner2"]
        ours = ours.drop_sel(animal="single", part=unique)
        for key in ("dlc_unique_parts",):
            ours.attrs.pop(key)
    # movement only reads the key 'df_with_missing', which our writer uses
    path = io.write_deeplabcut(ours, tmp_path / "poses.h5")
    mds = load_poses.from_dlc_file(path)
    converted = io.from_movement(mds)
    assert converted["animal"].values.tolist() == ours["animal"].values.tolist()
    assert converted["part"].values.tolist() == ours["part"].values.tolist()
    assert converted["frame"].values.tolist() == _row_numbers(ours)
    assert np.array_equal(converted["position"].values, ours["position"].values, equal_nan=True)
    if ours.attrs["dlc_kind"] == "predictions":
        assert np.array_equal(
            converted["likelihood"].values, ours["likelihood"].values, equal_nan=True
        )


def test_from_movement_on_a_movement_dataset_with_fps(rng: np.random.Generator) -> None:
    position = rng.uniform(0, 100, size=(6, 2, 3, 1))
    confidence = rng.uniform(0, 1, size=(6, 3, 1))
    mds = load_poses.from_numpy(position, confidence, individual_names=["m"],
                                keypoint_names=["a", "b", "c"], fps=50.0, source_software="test")
    ds = io.from_movement(mds)
    assert ds["frame"].values.tolist() == list(range(6))
    assert ds.attrs["fps"] == 50.0
    assert ds.attrs["source"] == "test"
    assert np.array_equal(ds["position"].values, position.transpose(3, 2, 0, 1))
    assert np.array_equal(ds["likelihood"].values, confidence.transpose(2, 1, 0))
    assert poses.provenance(ds)[-1]["operation"] == "from_movement"


def test_from_movement_refuses_other_datasets() -> None:
    with pytest.raises(PoseDataError, match="position"):
        io.from_movement(xr.Dataset({"x": ("time", np.zeros(3))}))
    with pytest.raises(PoseDataError, match="xarray.Dataset"):
        io.from_movement(np.zeros(3))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="dims"):
        to_movement(poses.from_arrays(np.zeros((1, 1, 2, 2))), dims="x")  # type: ignore[arg-type]


def _row_numbers(ds) -> list[int]:
    """movement numbers the rows of any DeepLabCut table 0, 1, ...: a labels Dataset has them
    along ``image`` (the file's image paths), a prediction along ``frame``."""
    return list(range(ds.sizes["image"])) if "image" in ds.dims else ds["frame"].values.tolist()
