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


def _images(n_images: int, n_animals: int, first: float, parts=("p", "q")) -> MultiAnimalImages:
    keypoints = first + np.arange(n_images * n_animals * len(parts) * 2, dtype=float)
    return MultiAnimalImages(
        [np.full((4, 6, 3), first, np.uint8) for _ in range(n_images)],
        keypoints.reshape(n_images, n_animals, len(parts), 2), list(parts),
        [f"{first:g}:{i}" for i in range(n_images)],
    )


def test_concat_pads_fewer_animals_with_unlabelled_ones():
    two, three = _images(2, 2, 0.0), _images(1, 3, 100.0)
    both = MultiAnimalImages.concat([two, three])
    assert len(both) == 3 and both.names == ["0:0", "0:1", "100:0"]
    assert both.keypoints.shape == (3, 3, 2, 2)
    np.testing.assert_array_equal(both.keypoints[:2, :2], two.keypoints)
    assert np.isnan(both.keypoints[:2, 2]).all()  # the padded animal: not labelled
    np.testing.assert_array_equal(both.keypoints[2], three.keypoints[0])
    assert int(both.images[2][0, 0, 0]) == 100


def test_concat_refuses_other_parts_and_repeated_names():
    with pytest.raises(AssemblyError, match="parts"):
        MultiAnimalImages.concat([_images(1, 2, 0.0), _images(1, 2, 5.0, parts=("q", "p"))])
    with pytest.raises(AssemblyError, match="unique name"):
        MultiAnimalImages.concat([_images(1, 2, 0.0), _images(1, 2, 0.0)])
    with pytest.raises(AssemblyError, match="at least one"):
        MultiAnimalImages.concat([])
