"""DeepLabCut multi-animal tracks (the real multi_mouse ``*_el.h5``) as identity Datasets."""

from __future__ import annotations

import numpy as np
import pytest

from poselab.core import poses
from poselab.io.deeplabcut import read_deeplabcut_table
from poselab.io.deeplabcut_tracks import find_dlc_video
from poselab.multianimal import read_deeplabcut_tracks

NAME = "m3v1mp4shortDLC_effnet_b0_multi_mouseApr12shuffle1_5"


@pytest.fixture(scope="module")
def el_file(shared_data):
    path = shared_data / "multi_mouse-dlc_team-2022-04-12" / "videos" / f"{NAME}_el.h5"
    if not path.exists():
        pytest.skip(f"{path} is not in the shared datasets")
    return path


def test_identities_parts_and_frames(el_file):
    tracks, unique = read_deeplabcut_tracks(el_file)
    poses.validate(tracks)
    assert tracks["animal"].values.tolist() == ["individual1", "individual2", "individual3"]
    assert tracks["part"].values.tolist() == ["bodypart1", "bodypart2", "bodypart3"]
    assert tracks.sizes["frame"] == 31
    assert tracks["frame"].values.tolist() == list(range(31))
    assert unique is not None
    assert unique["animal"].values.tolist() == ["single"]
    assert unique["part"].values.tolist() == ["corner1", "corner2"]
    # the video beside the file gives the frame rate and size
    assert find_dlc_video(el_file).name == "m3v1mp4short.mp4"
    assert tracks.attrs["width"] == 640 and tracks.attrs["height"] == 480
    assert tracks.attrs["fps"] == pytest.approx(30.0, abs=0.01)
    assert tracks["time"].values[30] == pytest.approx(30 / tracks.attrs["fps"])


def test_values_equal_the_raw_table(el_file):
    tracks, unique = read_deeplabcut_tracks(el_file, fps=25.0)
    assert tracks.attrs["fps"] == 25.0
    table = read_deeplabcut_table(el_file)
    scorer = table.columns.get_level_values(0)[0]
    n_checked = 0
    for animal in tracks["animal"].values:
        for part in tracks["part"].values:
            for c, coord in enumerate(("x", "y")):
                raw = table[(scorer, animal, part, coord)].to_numpy()
                got = tracks["position"].sel(animal=animal, part=part).values[:, c]
                np.testing.assert_array_equal(got, raw)  # NaN where DeepLabCut has none
                n_checked += np.isfinite(raw).sum()
            raw_l = table[(scorer, animal, part, "likelihood")].to_numpy()
            np.testing.assert_array_equal(tracks["likelihood"].sel(animal=animal, part=part), raw_l)
    assert n_checked > 300  # the tracks are mostly filled
    for part in ("corner1", "corner2"):
        raw = table[(scorer, "single", part, "x")].to_numpy()
        np.testing.assert_array_equal(unique["position"].sel(animal="single", part=part)[:, 0], raw)


def test_single_animal_table_is_refused(tmp_path):
    from poselab.io.deeplabcut import write_deeplabcut

    ds = poses.from_arrays(np.ones((1, 2, 3, 2)), np.ones((1, 2, 3)), parts=["a", "b"])
    path = write_deeplabcut(ds, tmp_path / "single.h5")
    with pytest.raises(poses.PoseDataError, match="single-animal"):
        read_deeplabcut_tracks(path)
