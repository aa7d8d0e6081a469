"""SLEAP analysis HDF5: SLEAP's layout, exact round trips, and agreement with movement/sleap-io."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
import xarray as xr

from poselab import io
from poselab.core import poses
from poselab.core.poses import PoseDataError

EL = (
    "multi_mouse-dlc_team-2022-04-12/videos/"
    "m3v1mp4shortDLC_effnet_b0_multi_mouseApr12shuffle1_5_el.h5"
)


def _dataset(rng: np.random.Generator, dtype=np.float64, fps: float | None = 25.0) -> xr.Dataset:
    position = rng.uniform(0, 640, size=(2, 3, 10, 2)).astype(dtype)
    position[0, 1, 3] = np.nan
    position[1, :, 6] = np.nan  # animal 1 absent in one frame: occupancy 0 there
    likelihood = rng.uniform(0, 1, size=(2, 3, 10)).astype(dtype)
    likelihood[0, 1, 3] = np.nan
    ds = poses.from_arrays(
        position, likelihood, animals=["mouse_a", "mouse_b"], parts=["nose", "ear", "tail"],
        frames=np.arange(5, 25, 2), fps=fps, video="videos/session1.mp4", width=640, height=480,
    )
    ds = ds.assign_coords(image=("frame", [f"img{i:02d}.png" for i in range(10)]))
    ds.attrs["skeleton"] = json.dumps([["nose", "ear"], ["ear", "tail"]])
    return poses.with_provenance(ds, "smooth", window=5)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("fps", [25.0, None])
def test_round_trip_is_exact(tmp_path: Path, rng: np.random.Generator, dtype, fps) -> None:
    ds = _dataset(rng, dtype, fps)
    path = io.write_sleap_analysis(ds, tmp_path / "session.analysis.h5")
    xr.testing.assert_identical(io.read_sleap_analysis(path), ds)
    xr.testing.assert_identical(io.read(path), ds)


def test_file_follows_sleaps_transposed_layout(tmp_path: Path, rng: np.random.Generator) -> None:
    ds = _dataset(rng)
    path = io.write_sleap_analysis(ds, tmp_path / "session.analysis.h5")
    n_frames = 24  # frames 0 .. 23: column i is video frame i
    with h5py.File(path, "r") as f:
        assert f["tracks"].shape == (2, 2, 3, n_frames)  # (tracks, xy, nodes, frames)
        assert f["point_scores"].shape == (2, 3, n_frames)
        assert f["instance_scores"].shape == (2, n_frames)
        assert f["tracking_scores"].shape == (2, n_frames)
        assert f["track_occupancy"].shape == (n_frames, 2)
        assert f["track_occupancy"].dtype == np.uint8
        assert f["track_names"][()].tolist() == [b"mouse_a", b"mouse_b"]
        assert f["node_names"][()].tolist() == [b"nose", b"ear", b"tail"]
        assert f["edge_names"][()].tolist() == [[b"nose", b"ear"], [b"ear", b"tail"]]
        assert f["edge_inds"][()].tolist() == [[0, 1], [1, 2]]
        assert f["video_path"][()].decode() == "videos/session1.mp4"
        assert int(f["video_ind"][()]) == 0
        json.loads(f["provenance"][()])
        tracks = f["tracks"][()]
        occupancy = f["track_occupancy"][()]
        scores = f["point_scores"][()]
    # mouse_b, tail, y at the dataset's 3rd frame (video frame 9)
    tail_y = ds["position"].sel(animal="mouse_b", part="tail", coord="y").values
    assert tracks[1, 1, 2, 9] == tail_y[2]
    assert scores[0, 0, 5] == ds["likelihood"].sel(animal="mouse_a", part="nose").values[0]
    assert np.isnan(tracks[:, :, :, :5]).all()  # frames before the first are empty
    assert occupancy[:5].sum() == 0
    assert occupancy[17].tolist() == [1, 0]  # dataset frame 6 = video frame 17: mouse_b absent
    assert occupancy[5].tolist() == [1, 1]


def test_movement_reads_our_file_to_the_same_numbers(
    tmp_path: Path, rng: np.random.Generator
) -> None:
    load_poses = pytest.importorskip("movement.io.load_poses")
    ds = _dataset(rng)
    path = io.write_sleap_analysis(ds, tmp_path / "session.analysis.h5")
    mds = load_poses.from_sleap_file(path, fps=25.0)
    _, _, keypoints, individuals = mds["position"].dims  # plural before movement 0.17
    assert mds[individuals].values.tolist() == ["mouse_a", "mouse_b"]
    assert mds[keypoints].values.tolist() == ["nose", "ear", "tail"]
    frames = ds["frame"].values
    # movement: position (time, space, keypoints, individuals), float32
    got = mds["position"].values[frames]
    expected = ds["position"].transpose("frame", "coord", "part", "animal").values
    expected = expected.astype(np.float32)
    assert np.array_equal(got, expected, equal_nan=True)
    got_conf = mds["confidence"].values[frames]
    expected_conf = ds["likelihood"].transpose("frame", "part", "animal").values.astype(np.float32)
    assert np.array_equal(got_conf, expected_conf, equal_nan=True)
    assert np.allclose(mds["time"].values[frames], ds["time"].values)


def test_sleap_io_reads_our_file(tmp_path: Path, rng: np.random.Generator) -> None:
    sio = pytest.importorskip("sleap_io")
    ds = _dataset(rng)
    path = io.write_sleap_analysis(ds, tmp_path / "session.analysis.h5")
    labels = sio.load_analysis_h5(str(path))
    assert [t.name for t in labels.tracks] == ["mouse_a", "mouse_b"]
    assert [n.name for n in labels.skeletons[0].nodes] == ["nose", "ear", "tail"]
    array = labels.numpy()  # (frames, tracks, nodes, xy), float32 in sleap-io
    expected = ds["position"].transpose("frame", "animal", "part", "coord").values
    expected = expected.astype(array.dtype)
    assert np.array_equal(array[ds["frame"].values], expected, equal_nan=True)


@pytest.mark.parametrize("preset", ["matlab", "standard"])
def test_reads_files_written_by_sleap_io(
    tmp_path: Path, rng: np.random.Generator, preset: str
) -> None:
    sio = pytest.importorskip("sleap_io")
    skeleton = sio.Skeleton(
        nodes=["head", "thorax", "tail"], edges=[("head", "thorax"), ("thorax", "tail")]
    )
    tracks = [sio.Track(name="fly0"), sio.Track(name="fly1")]
    video = sio.Video(filename="vid.mp4", open_backend=False)
    truth = np.full((8, 2, 3, 2), np.nan)  # (frame, track, node, xy)
    truth_scores = np.full((8, 2, 3), np.nan)
    frames = []
    for frame in (1, 2, 3, 5, 7):
        instances = []
        for t, track in enumerate(tracks):
            if (frame, t) == (5, 1):
                continue
            points, scores = rng.uniform(0, 100, (3, 2)), rng.uniform(0, 1, 3)
            instance = sio.PredictedInstance.from_numpy(
                points, skeleton=skeleton, point_scores=scores, score=0.9, track=track,
                tracking_score=0.5,
            )
            instances.append(instance)
            truth[frame, t], truth_scores[frame, t] = points, scores
        frames.append(sio.LabeledFrame(video=video, frame_idx=frame, instances=instances))
    labels = sio.Labels(labeled_frames=frames, videos=[video], skeletons=[skeleton], tracks=tracks)
    path = tmp_path / f"{preset}.analysis.h5"
    sio.save_analysis_h5(labels, str(path), preset=preset)
    ds = io.read_sleap_analysis(path, fps=30.0)
    assert ds["animal"].values.tolist() == ["fly0", "fly1"]
    assert ds["part"].values.tolist() == ["head", "thorax", "tail"]
    assert ds["frame"].values.tolist() == list(range(8))
    assert np.array_equal(ds["position"].values, truth.transpose(1, 2, 0, 3), equal_nan=True)
    assert np.array_equal(ds["likelihood"].values, truth_scores.transpose(1, 2, 0), equal_nan=True)
    assert json.loads(ds.attrs["skeleton"]) == [["head", "thorax"], ["thorax", "tail"]]
    instance = ds["instance_score"].values
    assert instance[0, 1] == pytest.approx(0.9)
    assert np.isnan(instance[1, 5]) and np.isnan(instance[0, 0])  # absent / unlabelled frame
    assert ds.attrs["fps"] == 30.0


def test_deeplabcut_predictions_through_sleap_are_exact(shared_data: Path, tmp_path: Path) -> None:
    ds = io.read_deeplabcut(shared_data / EL, fps=30.0)
    path = io.write_sleap_analysis(ds, tmp_path / "el.analysis.h5")
    back = io.read_sleap_analysis(path)
    xr.testing.assert_identical(back, ds)
    # and the DeepLabCut table written from it is still the source table
    import pandas as pd

    from poselab.io.deeplabcut import read_deeplabcut_table

    table = read_deeplabcut_table(io.write_deeplabcut(back, tmp_path / "el.h5"))
    pd.testing.assert_frame_equal(table, read_deeplabcut_table(shared_data / EL), check_exact=True)


def test_refuses_files_that_are_not_sleap_analysis(tmp_path: Path) -> None:
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as f:
        f["data"] = np.zeros(3)
    with pytest.raises(PoseDataError, match="expected datasets 'tracks'"):
        io.read_sleap_analysis(path)
    with h5py.File(path, "w") as f:
        f["tracks"] = np.zeros((1, 3, 2, 4))  # xy axis of size 3
        f["node_names"] = np.array([b"a", b"b"])
    with pytest.raises(PoseDataError, match="tracks"):
        io.read_sleap_analysis(path)
    three_d = poses.from_arrays(np.zeros((1, 2, 3, 3)))
    with pytest.raises(PoseDataError, match="2-D"):
        io.write_sleap_analysis(three_d, tmp_path / "x.h5")
