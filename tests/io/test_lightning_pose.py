"""Lightning Pose prediction CSVs (poselab.io.lightning_pose): network, EKS with variances,
several views, exact round trips and files of other tools."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from poselab import io
from poselab.core.poses import PoseDataError

EKS_CSV = """\
scorer,ensemble-kalman_tracker,ensemble-kalman_tracker,ensemble-kalman_tracker,ensemble-kalman_tracker,ensemble-kalman_tracker,ensemble-kalman_tracker,ensemble-kalman_tracker,ensemble-kalman_tracker,ensemble-kalman_tracker,ensemble-kalman_tracker,ensemble-kalman_tracker,ensemble-kalman_tracker,ensemble-kalman_tracker,ensemble-kalman_tracker,ensemble-kalman_tracker,ensemble-kalman_tracker,ensemble-kalman_tracker,ensemble-kalman_tracker
bodyparts,nose,nose,nose,nose,nose,nose,nose,nose,nose,tail,tail,tail,tail,tail,tail,tail,tail,tail
coords,x,y,likelihood,x_ens_median,y_ens_median,x_ens_var,y_ens_var,x_posterior_var,y_posterior_var,x,y,likelihood,x_ens_median,y_ens_median,x_ens_var,y_ens_var,x_posterior_var,y_posterior_var
0,1.5,2.5,0.9,1.4,2.4,0.1,0.2,0.05,0.06,10.5,20.5,0.8,10.4,20.4,0.3,0.4,0.15,0.16
1,1.75,2.625,0.95,1.5,2.5,0.1,0.2,0.07,0.08,10.625,20.75,0.85,10.5,20.5,0.3,0.4,0.17,0.18
"""

NETWORK_CSV = """\
scorer,heatmap_tracker,heatmap_tracker,heatmap_tracker,heatmap_tracker,heatmap_tracker,heatmap_tracker
bodyparts,nose,nose,nose,tail,tail,tail
coords,x,y,likelihood,x,y,likelihood
0,{a},2.0,0.5,3.0,4.0,0.25
1,5.0,6.0,0.75,7.0,8.0,1.0
2,9.0,10.0,0.125,,,
"""


def test_eks_file_keeps_positions_likelihoods_and_the_posterior_variance(tmp_path):
    path = tmp_path / "video_eks.csv"
    path.write_text(EKS_CSV)
    ds = io.read_lightning_pose(path, fps=250.0)
    assert list(ds["part"].values) == ["nose", "tail"] and ds.attrs["fps"] == 250.0
    np.testing.assert_array_equal(ds["position"].values[0, :, 1], [[1.75, 2.625], [10.625, 20.75]])
    np.testing.assert_array_equal(ds["likelihood"].values[0, :, 0], [0.9, 0.8])
    np.testing.assert_array_equal(ds["position_variance"].values[0, :, 1], [[0.07, 0.08], [0.17, 0.18]])
    assert ds["position_variance"].attrs["units"] == "pixels^2"
    assert ds.attrs["source"] == "Lightning Pose (ensemble-kalman_tracker)"
    by_content = io.read(path, fps=250.0)  # read() tells the variance columns apart
    np.testing.assert_array_equal(by_content["position_variance"].values, ds["position_variance"].values)


def test_round_trip_is_exact(tmp_path):
    original = tmp_path / "eks.csv"
    original.write_text(EKS_CSV)
    ds = io.read_lightning_pose(original)
    again = io.read_lightning_pose(io.write_lightning_pose(ds, tmp_path / "out.csv"))
    for name in ("position", "likelihood", "position_variance"):
        np.testing.assert_array_equal(again[name].values, ds[name].values)
    assert again.attrs["source"] == ds.attrs["source"]
    header = (tmp_path / "out.csv").read_text().splitlines()[2]
    assert header == "coords,x,y,likelihood,x_posterior_var,y_posterior_var,x,y,likelihood,x_posterior_var,y_posterior_var"


def test_network_file_without_variance(tmp_path):
    path = tmp_path / "video.csv"
    path.write_text(NETWORK_CSV.format(a=1.0))
    ds = io.read_lightning_pose(path)
    assert "position_variance" not in ds
    np.testing.assert_array_equal(ds["position"].values[0, 0, :, 0], [1.0, 5.0, 9.0])
    assert np.isnan(ds["position"].values[0, 1, 2]).all()  # an empty cell is unknown


def test_views_become_parts_named_by_view(tmp_path):
    top, bot = tmp_path / "top.csv", tmp_path / "bot.csv"
    top.write_text(NETWORK_CSV.format(a=1.0))
    bot.write_text(NETWORK_CSV.format(a=100.0))
    ds = io.read_lightning_pose({"top": top, "bot": bot})
    assert list(ds["part"].values) == ["nose_top", "tail_top", "nose_bot", "tail_bot"]
    assert ds["position"].sel(part="nose_bot").values[0, 0, 0] == 100.0
    assert ds["position"].sel(part="nose_top").values[0, 0, 0] == 1.0
    written = io.write_lightning_pose(ds, tmp_path / "bot_again.csv", view="bot")
    back = io.read_lightning_pose(written)
    assert list(back["part"].values) == ["nose", "tail"]
    np.testing.assert_array_equal(back["position"].values, ds["position"].sel(part=["nose_bot", "tail_bot"]).values)


def test_bad_files_get_a_clear_error(tmp_path):
    top, short = tmp_path / "top.csv", tmp_path / "short.csv"
    top.write_text(NETWORK_CSV.format(a=1.0))
    short.write_text("\n".join(NETWORK_CSV.format(a=1.0).splitlines()[:-1]) + "\n")
    with pytest.raises(PoseDataError, match="must be aligned"):
        io.read_lightning_pose({"top": top, "bot": short})
    sleap = tmp_path / "sleap.csv"
    sleap.write_text("track,frame_idx,instance.score,nose.x,nose.y,nose.score\n,0,0.9,1,2,0.8\n")
    with pytest.raises(PoseDataError):
        io.read_lightning_pose(sleap)
    ds = io.read_lightning_pose(top)
    with pytest.raises(PoseDataError, match="no part is named"):
        io.write_lightning_pose(ds, tmp_path / "x.csv", view="side")


# --- files written by Lightning Pose 2.4.3 and EKS 4.6.2 themselves (tests/io/data/lightning_pose) ---

LP_FILES = Path(__file__).parent / "data" / "lightning_pose"


def _given(name: str) -> tuple[np.ndarray, np.ndarray]:
    """The (part, frame, xy) positions and (part, frame) confidences handed to Lightning Pose."""
    truth = np.load(LP_FILES / "truth.npz")
    xy = truth[f"xy_{name}"] if f"xy_{name}" in truth else truth[name]
    conf = truth[f"conf_{name.split('_')[-1]}"]
    return xy.reshape(len(xy), -1, 2).transpose(1, 0, 2), conf.T


@pytest.mark.parametrize("name, given", [("video_heatmap.csv", "top"), ("member1_bot.csv", "member1_bot")])
def test_files_written_by_lightning_pose_read_as_given(name, given):
    ds = io.read_lightning_pose(LP_FILES / name, fps=30.0)
    xy, conf = _given(given)
    assert list(ds["part"].values) == ["nose", "paw_l", "paw_r"]
    assert ds["frame"].values.tolist() == list(range(40))
    np.testing.assert_array_equal(ds["position"].values[0], xy)  # every bit
    np.testing.assert_array_equal(ds["likelihood"].values[0], conf)
    assert ds.attrs["source"] == "Lightning Pose (heatmap_tracker)"


def test_context_model_file_has_every_frame():
    # Lightning Pose's context model sees frames 2..37 with their neighbours and pads the ends
    ds = io.read_lightning_pose(LP_FILES / "video_mhcrnn.csv")
    xy, conf = _given("top")
    assert ds.sizes["frame"] == 40
    np.testing.assert_array_equal(ds["position"].values[0, :, 2:38], xy[:, 2:38])
    np.testing.assert_array_equal(ds["position"].values[0, :, 0], xy[:, 2])
    np.testing.assert_array_equal(ds["likelihood"].values[0, :, 2:38], conf[:, 2:38])


def test_multiview_video_files_read_as_one_dataset():
    ds = io.read_lightning_pose({view: LP_FILES / f"multiview_video_{view}.csv" for view in ("top", "bot")})
    assert list(ds["part"].values) == ["nose_top", "paw_l_top", "paw_r_top", "nose_bot", "paw_l_bot", "paw_r_bot"]
    for view in ("top", "bot"):
        xy, conf = _given(view)
        parts = [f"{p}_{view}" for p in ("nose", "paw_l", "paw_r")]
        np.testing.assert_array_equal(ds["position"].sel(part=parts).values[0], xy)
        np.testing.assert_array_equal(ds["likelihood"].sel(part=parts).values[0], conf)


def test_predictions_on_labeled_frames_keep_the_split_and_each_views_images():
    ds = io.read_lightning_pose({view: LP_FILES / f"labeled_{view}.csv" for view in ("top", "bot")})
    assert ds.sizes["image"] == 10 and "frame" not in ds.dims
    assert ds["split"].values.tolist() == ["train"] * 6 + ["validation"] * 2 + ["test", "unused"]
    assert ds["image_bot"].values[3] == "labeled-data/session0_bot/img003.png"
    assert ds["image"].values[3] == "labeled-data/session0_top/img003.png"
    xy, _ = _given("bot")
    np.testing.assert_array_equal(ds["position"].sel(part=["nose_bot", "paw_l_bot", "paw_r_bot"]).values[0],
                                  xy[:, :10])
    with pytest.raises(PoseDataError, match="labeled frames"):
        io.read_lightning_pose({"top": LP_FILES / "labeled_top.csv", "bot": LP_FILES / "multiview_video_bot.csv"})


@pytest.mark.parametrize("name", ["video_heatmap.csv", "video_mhcrnn.csv", "member0_top.csv",
                                  "multiview_video_bot.csv", "labeled_top.csv"])
def test_lightning_pose_files_written_back_byte_for_byte(tmp_path, name):
    ds = io.read_lightning_pose(LP_FILES / name)
    out = io.write_lightning_pose(ds, tmp_path / name)
    assert out.read_bytes() == (LP_FILES / name).read_bytes()


def test_labeled_views_written_back_per_view(tmp_path):
    ds = io.read_lightning_pose({view: LP_FILES / f"labeled_{view}.csv" for view in ("top", "bot")})
    for view in ("top", "bot"):  # each view under its own image paths, its split column kept
        out = io.write_lightning_pose(ds, tmp_path / f"{view}.csv", view=view)
        assert out.read_bytes() == (LP_FILES / f"labeled_{view}.csv").read_bytes()


def test_files_written_by_the_ensemble_kalman_smoother():
    single = io.read_lightning_pose(LP_FILES / "eks_singlecam.csv")
    table = pd.read_csv(LP_FILES / "eks_singlecam.csv", header=[0, 1, 2], index_col=0)
    for i, part in enumerate(("nose", "paw_l", "paw_r")):
        for c, coord in enumerate("xy"):
            np.testing.assert_array_equal(single["position"].values[0, i, :, c], table.xs((part, coord), axis=1,
                                          level=(1, 2)).to_numpy()[:, 0])
            np.testing.assert_array_equal(single["position_variance"].values[0, i, :, c],
                                          table.xs((part, f"{coord}_posterior_var"), axis=1,
                                                   level=(1, 2)).to_numpy()[:, 0])
    assert single.attrs["lp_variance"] == "posterior_var"
    cameras = {view: LP_FILES / "eks_multicam" / f"multicam_{view}_results.csv" for view in ("top", "bot")}
    both = io.read_lightning_pose(cameras)
    assert both.sizes["part"] == 6 and both.sizes["frame"] == 40
    assert np.isfinite(both["position_variance"].values).all() and (both["position_variance"].values > 0).all()
    # the smoother's estimate is nearer the truth than one member is (members: truth + 1.5 px noise)
    truth = np.load(LP_FILES / "truth.npz")
    for view in ("top", "bot"):
        exact = truth[f"xy_{view}"].reshape(40, 3, 2).transpose(1, 0, 2)
        member = truth[f"member0_{view}"].reshape(40, 3, 2).transpose(1, 0, 2)
        smoothed = both["position"].sel(part=[f"{p}_{view}" for p in ("nose", "paw_l", "paw_r")]).values[0]
        assert np.median(np.abs(smoothed - exact)) < np.median(np.abs(member - exact)) < 1.5
