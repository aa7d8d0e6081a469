"""Lightning Pose prediction CSVs (poselab.io.lightning_pose): network, EKS with variances,
several views, exact round trips and files of other tools."""

from __future__ import annotations

import numpy as np
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
