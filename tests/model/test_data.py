"""LabeledImages: from the labels Dataset and from DeepLabCut label files (one reader)."""

from __future__ import annotations

import numpy as np
import pytest

from poselab.core import poses
from poselab.core.errors import PoselabError
from poselab.model.data import DataError, LabeledImages
from poselab.project.labels import ImageRecord, LabelStore


def test_from_deeplabcut_csv_with_the_image_path_over_three_columns(tmp_path):
    """A CSV indexed by (labeled-data, video, image) used to raise a bare IndexError."""
    folder = tmp_path / "dlc" / "labeled-data" / "vid"
    folder.mkdir(parents=True)
    csv = folder / "CollectedData_me.csv"
    csv.write_text(
        "scorer,,,me,me,me,me\n"
        "bodyparts,,,snout,snout,tail,tail\n"
        "coords,,,x,y,x,y\n"
        "labeled-data,vid,img001.png,10.5,20.25,,\n"
        "labeled-data,vid,img002.png,1.125,2.0,3.0,4.5\n"
    )
    data = LabeledImages.from_deeplabcut(csv)
    assert data.names == ["labeled-data/vid/img001.png", "labeled-data/vid/img002.png"]
    assert data.parts == ["snout", "tail"]
    np.testing.assert_array_equal(data.keypoints, [[[10.5, 20.25], [np.nan, np.nan]], [[1.125, 2.0], [3.0, 4.5]]])
    assert data.images == [tmp_path / "dlc" / n for n in data.names]  # root: two levels above the file
    other = LabeledImages.from_deeplabcut(csv, root=tmp_path)
    assert other.images[1] == tmp_path / "labeled-data/vid/img002.png"


def test_from_deeplabcut_refuses_video_predictions(tmp_path):
    csv = tmp_path / "videoDLC.csv"
    csv.write_text("scorer,me,me,me\nbodyparts,a,a,a\ncoords,x,y,likelihood\n0,1.0,2.0,0.9\n1,3.0,4.0,0.8\n")
    with pytest.raises(DataError, match="rows are video frames"):
        LabeledImages.from_deeplabcut(csv)


def test_from_label_dataset_keeps_labeled_images(tmp_path):
    with LabelStore(tmp_path / "labels.sqlite", ["a", "b"], animals=["m0", "m1"]) as store:
        store.add_images([ImageRecord(f"frames/v/img{i}.png", "v.mp4", i, 100, 80) for i in range(3)])
        store.set_point("frames/v/img0.png", "a", 1.5, 2.5, animal="m0")
        store.set_point("frames/v/img2.png", "b", 3.0, 4.0, animal="m1")
        store.set_point("frames/v/img2.png", "a", 5.0, 6.0, animal="m0")
        ds = store.to_dataset(only_labeled=False)
    data = LabeledImages.from_label_dataset(ds, tmp_path)
    assert data.names == ["frames/v/img0.png", "frames/v/img2.png"]  # img1: nothing labeled for m0
    np.testing.assert_array_equal(data.keypoints, [[[1.5, 2.5], [np.nan, np.nan]], [[5.0, 6.0], [np.nan, np.nan]]])
    assert data.images == [tmp_path / "frames/v/img0.png", tmp_path / "frames/v/img2.png"]
    second = LabeledImages.from_label_dataset(ds, tmp_path, animal="m1")
    assert second.names == ["frames/v/img2.png"]
    np.testing.assert_array_equal(second.keypoints, [[[np.nan, np.nan], [3.0, 4.0]]])
    video_poses = poses.from_arrays(np.zeros((1, 2, 3, 2)), parts=["a", "b"])
    with pytest.raises(DataError, match="rows along 'image'") as error:
        LabeledImages.from_label_dataset(video_poses, tmp_path)
    assert isinstance(error.value, PoselabError)


def test_image_size_from_the_file_header_and_from_arrays(tmp_path):
    import cv2

    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((37, 53, 3), np.uint8))
    (tmp_path / "broken.png").write_bytes(b"not an image")
    data = LabeledImages([tmp_path / "a.png", np.zeros((5, 7, 3), np.uint8), tmp_path / "broken.png"],
                         np.zeros((3, 1, 2)), ["p"])
    assert data.image_size(0) == (53, 37) and data.image_size(1) == (7, 5)
    with pytest.raises(DataError, match="cannot read image .*broken.png"):
        data.image_size(2)
