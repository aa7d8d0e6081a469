"""Every DeepLabCut label layout since 2018, read the same by every way in (exact values).

Constructed files: h5 and CSV; the image path as one index column or split over three; single
and multi-animal (with unique parts); a part nobody labeled (an empty column). Each is read by
``io.read_deeplabcut``, ``LabeledImages.from_deeplabcut`` and ``Project.from_deeplabcut`` (a
DeepLabCut project with ``config.yaml``, or Lightning Pose's layout with the label file at the
top), and bad files are refused with a message that names the file and what was expected.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
import yaml

from poselab import io
from poselab.cli import main as cli_main
from poselab.core.poses import PoseDataError
from poselab.model.data import DataError, LabeledImages
from poselab.project import Project

PARTS = ["snout", "tail", "tongue"]  # tongue: labeled in no image (an empty column)
ANIMALS = ["m1", "m2"]
UNIQUE = ["corner"]
IMAGES = ["img000.png", "img001.png", "img002.png"]


def _values(n_columns: int, seed: int) -> np.ndarray:
    """Label values with quarter-pixel steps (exact in text), some missing."""
    rng = np.random.default_rng(seed)
    values = np.round(rng.uniform(1, 60, (len(IMAGES), n_columns)) * 4) / 4
    values[1, :2] = np.nan  # the first part of the first animal not labeled in image 1
    return values


def _table(multi: bool, index_form: str, video: str) -> pd.DataFrame:
    if multi:
        pairs = [(a, p) for a in ANIMALS for p in PARTS] + [("single", u) for u in UNIQUE]
        tuples = [("me", a, p, c) for a, p in pairs for c in ("x", "y")]
        columns = pd.MultiIndex.from_tuples(tuples, names=["scorer", "individuals", "bodyparts", "coords"])
    else:
        tuples = [("me", p, c) for p in PARTS for c in ("x", "y")]
        columns = pd.MultiIndex.from_tuples(tuples, names=["scorer", "bodyparts", "coords"])
    values = _values(len(tuples), seed=len(tuples))
    for i, t in enumerate(tuples):
        if t[-2] == "tongue":
            values[:, i] = np.nan
    if index_form == "multiindex":
        index = pd.MultiIndex.from_tuples([("labeled-data", video, name) for name in IMAGES])
    else:
        index = pd.Index([f"labeled-data/{video}/{name}" for name in IMAGES])
    return pd.DataFrame(values, index=index, columns=columns)


def _write(table: pd.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".h5":
        table.to_hdf(path, key="df_with_missing", mode="w")
    else:
        table.to_csv(path)
    return path


def _images(folder: Path, size: tuple[int, int] = (64, 64)) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(IMAGES):
        cv2.imwrite(str(folder / name), np.full((size[1], size[0], 3), 40 * i, np.uint8))


LAYOUTS = list(itertools.product([".h5", ".csv"], ["string", "multiindex"], [False, True]))


@pytest.mark.parametrize(("suffix", "index_form", "multi"), LAYOUTS)
def test_every_layout_reads_the_same_values_every_way(tmp_path: Path, suffix: str, index_form: str,
                                                        multi: bool) -> None:
    dlc = tmp_path / "dlc"
    table = _table(multi, index_form, "vid")
    label_file = _write(table, dlc / "labeled-data" / "vid" / f"CollectedData_me{suffix}")
    _images(dlc / "labeled-data" / "vid")
    config = {"Task": "t", "multianimalproject": multi, "bodyparts": PARTS,
              "multianimalbodyparts": PARTS, "individuals": ANIMALS, "uniquebodyparts": UNIQUE}
    (dlc / "config.yaml").write_text(yaml.safe_dump(config))

    ds = io.read_deeplabcut(label_file)
    assert ds["image"].values.tolist() == [f"labeled-data/vid/{n}" for n in IMAGES]
    first = ANIMALS[0] if multi else "animal0"
    for part in PARTS:
        expected = table.xs(part, axis=1, level="bodyparts")
        if multi:
            expected = expected.xs(first, axis=1, level="individuals")
        got = ds["position"].sel(animal=first, part=part).transpose("image", "coord").values
        np.testing.assert_array_equal(got, expected.to_numpy(), strict=False)

    data = LabeledImages.from_deeplabcut(label_file)  # root found: the images exist there
    assert data.parts == PARTS and data.names == ds["image"].values.tolist()
    assert data.images[0] == dlc / "labeled-data" / "vid" / IMAGES[0]
    np.testing.assert_array_equal(
        data.keypoints, ds["position"].sel(animal=first, part=PARTS, coord=["x", "y"])
        .transpose("image", "part", "coord").values)
    assert np.isnan(data.keypoints[:, 2]).all() and np.isnan(data.keypoints[1, 0]).all()

    project = Project.from_deeplabcut(dlc, tmp_path / "project")
    with project:
        labels = project.labels_dataset()
        assert labels.sizes["image"] == len(IMAGES)
        got = labels["position"].sel(animal=first, part=PARTS[:2]).transpose("image", "part", "coord")
        np.testing.assert_array_equal(got.values, data.keypoints[:, :2])
        if multi:
            corner = table[("me", "single", "corner")].to_numpy()
            np.testing.assert_array_equal(
                labels["position"].sel(animal="single", part="corner").transpose("image", "coord").values,
                corner)


@pytest.mark.parametrize("suffix", [".csv", ".h5"])
def test_lightning_pose_layout_label_file_at_the_top(tmp_path: Path, suffix: str) -> None:
    """Lightning Pose keeps CollectedData.csv at the top, images in labeled-data/, no config.yaml."""
    folder = tmp_path / "lp"
    table = _table(False, "string", "x")
    table.index = pd.Index([f"labeled-data/{n}" for n in IMAGES])
    label_file = _write(table, folder / f"CollectedData{suffix}")
    _images(folder / "labeled-data")
    data = LabeledImages.from_deeplabcut(label_file)
    assert data.images[0] == folder / "labeled-data" / IMAGES[0]  # the file's own folder
    assert data.image(2).shape == (64, 64, 3) and data.image(2)[0, 0, 0] == 80
    with Project.from_deeplabcut(folder, tmp_path / "project") as project:
        assert project.parts == PARTS
        got = project.labels_dataset()["position"].isel(animal=0).sel(part=PARTS)
        np.testing.assert_array_equal(got.transpose("image", "part", "coord").values, data.keypoints)


def test_images_elsewhere_need_root(tmp_path: Path) -> None:
    label_file = _write(_table(False, "string", "vid"), tmp_path / "labels" / "CollectedData_me.csv")
    _images(tmp_path / "elsewhere" / "labeled-data" / "vid")
    data = LabeledImages.from_deeplabcut(label_file)
    with pytest.raises(DataError, match="cannot read image .*img000.png"):
        data.image(0)
    data = LabeledImages.from_deeplabcut(label_file, root=tmp_path / "elsewhere")
    assert data.image(1)[0, 0, 0] == 40


def test_bad_label_files_say_what_was_expected(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    sleap_csv = tmp_path / "sleap_export.csv"  # SLEAP's CSV export: one header row
    sleap_csv.write_text("track,frame_idx,instance.score,nose.x,nose.y,nose.score\n,0,0.9,1.0,2.0,0.8\n")
    with pytest.raises(PoseDataError, match=r"sleap_export\.csv is not a DeepLabCut CSV.*track"):
        LabeledImages.from_deeplabcut(sleap_csv)
    missing_level = tmp_path / "CollectedData_me.csv"  # no 'coords' row
    missing_level.write_text("scorer,me,me\nbodyparts,nose,nose\nlabeled-data/v/img0.png,1.0,2.0\n")
    with pytest.raises(PoseDataError, match=r"CollectedData_me\.csv is not a DeepLabCut CSV.*coords"):
        LabeledImages.from_deeplabcut(missing_level)
    # the command line says the same in one line, without a traceback
    assert cli_main(["train", str(missing_level), "--epochs", "1", "--out", str(tmp_path / "m")]) == 1
    err = capsys.readouterr().err
    assert "is not a DeepLabCut CSV" in err and "Traceback" not in err
    with pytest.raises(FileNotFoundError, match="no config.yaml.*CollectedData.csv"):
        Project.from_deeplabcut(tmp_path / "nothing", tmp_path / "p")
