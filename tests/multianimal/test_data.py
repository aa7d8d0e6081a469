"""MultiAnimalImages from the labels Dataset (rows along ``image``)."""

from __future__ import annotations

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")

from poselab.core import poses  # noqa: E402
from poselab.multianimal.assembly import AssemblyError  # noqa: E402
from poselab.multianimal.data import MultiAnimalImages  # noqa: E402


def test_from_label_dataset_drops_the_single_animal_and_unlabelled_images(tmp_path):
    for i in range(3):
        cv2.imwrite(str(tmp_path / f"img{i}.png"), np.full((8, 10, 3), 10 * i, np.uint8))
    position = np.full((3, 2, 3, 2), np.nan)
    position[0, 0, 0] = [1.0, 2.0]
    position[1, 1, 2] = [3.0, 4.0]
    position[2, 1, 1] = [5.0, 6.0]  # only the DeepLabCut 'single' animal: left out
    ds = poses.labels_from_arrays(position, images=["img0.png", "img1.png", "img2.png"],
                                  animals=["a", "b", "single"], parts=["p", "q"])
    data = MultiAnimalImages.from_label_dataset(ds, tmp_path)
    assert data.names == ["img0.png", "img2.png"]
    np.testing.assert_array_equal(data.keypoints, position[:2, :, [0, 2]].transpose(2, 0, 1, 3))
    assert int(data.images[1][0, 0, 0]) == 20 and data.images[1].shape == (8, 10, 3)
    with pytest.raises(AssemblyError, match="rows along 'image'"):
        MultiAnimalImages.from_label_dataset(poses.from_arrays(position), tmp_path)
