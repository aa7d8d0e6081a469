"""NWB files with ndx-pose (poselab.io.nwb): exact round trips, files of other tools, bad files."""

from __future__ import annotations

import datetime
import json
import sys

import numpy as np
import pytest
import xarray as xr

from poselab import io
from poselab.core import poses
from poselab.core.poses import PoseDataError

pynwb = pytest.importorskip("pynwb", reason="NWB files need pynwb (pip install 'poselab[nwb]')")
pytest.importorskip("ndx_pose", reason="NWB files need ndx-pose (pip install 'poselab[nwb]')")

PARTS = ["snout", "leftear", "rightear", "tailbase"]
START = datetime.datetime(2026, 12, 4, 9, 30, tzinfo=datetime.timezone.utc)


def _poses(n_animals: int, *, fps: float | None, seed: int = 0) -> xr.Dataset:
    rng = np.random.default_rng(seed)
    position = rng.uniform(0, 640, (n_animals, len(PARTS), 50, 2))
    likelihood = rng.uniform(0, 1, (n_animals, len(PARTS), 50))
    position[0, 1, 10:14] = np.nan  # a gap
    likelihood[0, 1, 10:14] = np.nan
    ds = poses.from_arrays(position, likelihood, animals=[f"mouse{i}" for i in range(n_animals)],
                           parts=PARTS, frames=np.arange(100, 150), fps=fps, video="videos/m3v1.mp4",
                           width=640, height=480, source="poselab 0.9")
    return poses.with_provenance(ds, "median_filter", window=5)


@pytest.mark.parametrize(("n_animals", "fps"), [(1, 30.0), (2, None), (3, 29.97)])
def test_round_trip_is_exact(tmp_path, n_animals, fps):
    ds = _poses(n_animals, fps=fps)
    path = io.write_nwb(ds, tmp_path / "poses.nwb", skeleton=[("snout", "leftear"), ("snout", "rightear")],
                        model_card={"backbone": "tf_efficientnet_lite0", "parts": PARTS},
                        session_start_time=START)
    back = io.read_nwb(path)
    xr.testing.assert_identical(back, ds)
    assert json.dumps(back.attrs) == json.dumps(ds.attrs)  # NaN fps included
    assert io.read(path).equals(ds)  # read() tells NWB from the suffix
    assert io.read_nwb_skeleton(path) == [("snout", "leftear"), ("snout", "rightear")]


def test_nwb_fields_carry_the_video_software_and_model(tmp_path):
    path = io.write_nwb(_poses(1, fps=30.0), tmp_path / "one.nwb",
                        model_card={"backbone": "tf_efficientnet_lite0"}, session_start_time=START)
    with pynwb.NWBHDF5IO(str(path), "r", load_namespaces=True) as nwb:
        f = nwb.read()
        pe = f.processing["behavior"]["mouse0"]
        assert f.subject.subject_id == "mouse0"
        assert list(pe.source_video.external_file[:]) == ["videos/m3v1.mp4"]
        assert np.asarray(pe.source_video.dimension[:]).tolist() == [640, 480]
        assert pe.source_software == "poselab" and pe.scorer == "tf_efficientnet_lite0"
        series = pe.pose_estimation_series["snout"]
        np.testing.assert_allclose(series.timestamps[:3], [100 / 30, 101 / 30, 102 / 30])
        assert series.unit == "pixels"
        raw = np.asarray(f.get_scratch("poselab")).item()
        note = json.loads(raw.decode() if isinstance(raw, bytes) else raw)
        assert note["model_card"]["backbone"] == "tf_efficientnet_lite0"


def test_a_file_from_another_tool_is_read(tmp_path):
    """A minimal ndx-pose file as other tools write it: the default name, rate instead of
    timestamps, no confidence, no poselab note."""
    import ndx_pose

    f = pynwb.NWBFile(session_description="x", identifier="session-7", session_start_time=START)
    module = f.create_processing_module(name="behavior", description="b")
    xy = np.arange(20, dtype=float).reshape(10, 2)
    series = [ndx_pose.PoseEstimationSeries(name=p, data=xy + k, rate=50.0, unit="pixels",
                                            reference_frame="top left") for k, p in enumerate(["nose", "tail"])]
    module.add(ndx_pose.PoseEstimation(pose_estimation_series=series, source_software="DeepLabCut",
                                       source_software_version="3.0.0"))
    path = tmp_path / "other.nwb"
    with pynwb.NWBHDF5IO(str(path), "w") as nwb:
        nwb.write(f)
    ds = io.read_nwb(path)
    assert list(ds["animal"].values) == ["session-7"] and list(ds["part"].values) == ["nose", "tail"]
    assert ds.attrs["fps"] == 50.0 and ds.attrs["source"] == "DeepLabCut 3.0.0"
    np.testing.assert_array_equal(ds["frame"].values, np.arange(10))
    np.testing.assert_array_equal(ds["position"].sel(part="tail").values[0], xy + 1)
    assert (ds["likelihood"].values == 1.0).all()  # no confidence stored: known points count as sure


@pytest.mark.skipif(sys.version_info < (3, 11), reason="movement needs Python 3.11")
def test_movement_nwb_export_is_read_back_equal(tmp_path):
    movement_save = pytest.importorskip("movement.io.save_poses")
    ds = _poses(2, fps=25.0)
    ds = ds.assign_coords(frame=np.arange(50))  # movement's NWB export times frames from 0
    ds = poses.from_arrays(ds["position"].values, ds["likelihood"].values, animals=["mouse0", "mouse1"],
                           parts=PARTS, fps=25.0, source="poselab 0.9")
    files = movement_save.to_nwb_file(io.to_movement(ds))
    for animal, nwbfile in zip(["mouse0", "mouse1"], files, strict=True):
        path = tmp_path / f"{animal}.nwb"
        with pynwb.NWBHDF5IO(str(path), "w") as nwb:
            nwb.write(nwbfile)
        back = io.read_nwb(path)
        assert list(back["animal"].values) == [animal] and list(back["part"].values) == PARTS
        assert back.attrs["fps"] == 25.0
        np.testing.assert_array_equal(back["frame"].values, np.arange(50))
        expected = ds.sel(animal=[animal])
        np.testing.assert_array_equal(back["position"].values, expected["position"].values)
        np.testing.assert_array_equal(back["likelihood"].values, expected["likelihood"].values)


@pytest.mark.skipif(sys.version_info < (3, 11), reason="movement needs Python 3.11")
def test_movement_reads_what_poselab_writes(tmp_path):
    movement_load = pytest.importorskip("movement.io.load_poses")
    ds = _poses(1, fps=30.0)
    path = io.write_nwb(ds, tmp_path / "one.nwb", session_start_time=START)
    theirs = movement_load.from_nwb_file(path, pose_estimation_key="mouse0")
    back = io.from_movement(theirs).sel(part=PARTS)  # movement sorts the keypoints by name
    np.testing.assert_allclose(back["position"].values, ds["position"].values)
    np.testing.assert_allclose(back["likelihood"].values, ds["likelihood"].values)


def test_bad_files_get_a_clear_error(tmp_path):
    empty = pynwb.NWBFile(session_description="no poses", identifier="e", session_start_time=START)
    empty.create_processing_module(name="behavior", description="b")
    path = tmp_path / "empty.nwb"
    with pynwb.NWBHDF5IO(str(path), "w") as nwb:
        nwb.write(empty)
    with pytest.raises(PoseDataError, match="holds no ndx-pose PoseEstimation"):
        io.read_nwb(path)
    not_nwb = tmp_path / "labels.nwb"
    not_nwb.write_text("scorer,Pranav\nbodyparts,snout\n")
    with pytest.raises(PoseDataError, match="not a readable NWB file"):
        io.read(not_nwb)
    with pytest.raises(PoseDataError, match="names a part not in the data"):
        io.write_nwb(_poses(1, fps=30.0), tmp_path / "x.nwb", skeleton=[("snout", "paw")])
    assert not (tmp_path / "x.nwb").exists()


def test_command_line_converts_to_nwb(tmp_path):
    from poselab.cli import main

    ds = _poses(2, fps=30.0)
    poses.save(ds, tmp_path / "mice.nc")
    assert main(["convert", str(tmp_path / "mice.nc"), str(tmp_path / "mice.nwb")]) == 0
    back = io.read(tmp_path / "mice.nwb")
    np.testing.assert_array_equal(back["position"].values, ds["position"].values)
    np.testing.assert_array_equal(back["frame"].values, ds["frame"].values)
