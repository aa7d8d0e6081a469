"""DeepLabCut import/export: real label and prediction files, exact round trips, errors."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from poselab import io
from poselab.core import poses
from poselab.core.poses import PoseDataError
from poselab.io.deeplabcut import from_deeplabcut_table, read_deeplabcut_table

OPENFIELD = "openfield-Pranav-2018-10-30/labeled-data/m4s1/CollectedData_Pranav"
MULTI = "multi_mouse-dlc_team-2022-04-12"
EL = f"{MULTI}/videos/m3v1mp4shortDLC_effnet_b0_multi_mouseApr12shuffle1_5_el"
REAL_FILES = [
    f"{OPENFIELD}.h5",
    f"{OPENFIELD}.csv",
    f"{EL}.h5",  # key 'tracks', predictions, multi-animal with unique parts
    f"{EL}_filtered.h5",
    f"{EL}_filtered.csv",
    "dlc-tests-data-2021/trimouse_calib.h5",  # key 'calib', float32 multi-animal labels
    "dlc-tests-data-2021/montblanc_tracks.h5",  # key 'df', fixed format
    f"{MULTI}/labeled-data/m3v1mp4short/CollectedData_dlc_team.h5",  # MultiIndex index
    f"{MULTI}/labeled-data/m3v1mp4short/CollectedData_dlc_team.csv",
    f"{MULTI}/labeled-data/m3v1mp4short/machinelabels-iter0.h5",  # predictions on images
    f"{MULTI}/labeled-data/m3v1mp4/CollectedData_dlc_team.h5",  # int64 values
]


# --- real files -------------------------------------------------------------------------------


def test_openfield_labels_equal_the_source_table(shared_data: Path) -> None:
    source = pd.read_hdf(shared_data / f"{OPENFIELD}.h5")
    ds = io.read_deeplabcut(shared_data / f"{OPENFIELD}.h5")
    assert dict(ds.sizes) == {"animal": 1, "part": 4, "image": 116, "coord": 2}
    assert ds["part"].values.tolist() == ["snout", "leftear", "rightear", "tailbase"]
    assert "frame" not in ds.dims and "time" not in ds.coords  # images, not video frames
    assert ds["image"].dims == ("image",)
    assert ds["image"].values[0] == "labeled-data/m4s1/img0000.png"
    assert ds["image"].values.tolist() == source.index.tolist()
    for part in ds["part"].values:
        for coord in ("x", "y"):
            expected = source[("Pranav", str(part), coord)].to_numpy()
            got = ds["position"].sel(animal="animal0", part=part, coord=coord).values
            assert np.array_equal(got.view(np.int64), expected.view(np.int64))  # same bits
    # every part is labelled in every frame: likelihood 1 everywhere
    assert np.all(ds["likelihood"].values == 1.0)
    assert ds.attrs["dlc_scorer"] == "Pranav"
    assert ds.attrs["dlc_kind"] == "labels"
    assert ds.attrs["dlc_index"] == "string"
    poses.validate_labels(ds)


def test_openfield_h5_and_csv_read_identically(shared_data: Path) -> None:
    a = io.read_deeplabcut(shared_data / f"{OPENFIELD}.h5")
    b = io.read_deeplabcut(shared_data / f"{OPENFIELD}.csv")
    for name in ("position", "likelihood"):
        assert np.array_equal(a[name].values, b[name].values, equal_nan=True)
    assert a["image"].values.tolist() == b["image"].values.tolist()
    skip = ("provenance", "fps")  # provenance names the file read; fps is NaN (NaN != NaN)
    assert {k: v for k, v in a.attrs.items() if k not in skip} == {
        k: v for k, v in b.attrs.items() if k not in skip
    }


@pytest.mark.parametrize("name", REAL_FILES)
@pytest.mark.parametrize("suffix", [".h5", ".csv"])
def test_real_file_round_trip_is_exact(
    shared_data: Path, tmp_path: Path, name: str, suffix: str
) -> None:
    source = read_deeplabcut_table(shared_data / name)
    ds = io.read_deeplabcut(shared_data / name)
    written = io.write_deeplabcut(ds, tmp_path / f"out{suffix}")
    back = read_deeplabcut_table(written)
    # CSV keeps no dtype: a float32 source comes back as float64 with the same values.
    exact_dtype = suffix == ".h5" or source.dtypes.iloc[0] != np.float32
    pd.testing.assert_frame_equal(back, source, check_exact=True, check_dtype=exact_dtype)
    # ... and through poselab's own NetCDF file
    poses.save(ds, tmp_path / "poses.nc")
    loaded = poses.load(tmp_path / "poses.nc")
    xr.testing.assert_identical(loaded, ds)
    again = read_deeplabcut_table(io.write_deeplabcut(loaded, tmp_path / f"again{suffix}"))
    pd.testing.assert_frame_equal(again, source, check_exact=True, check_dtype=exact_dtype)


@pytest.mark.parametrize(
    "name", [f"{OPENFIELD}.csv", f"{MULTI}/labeled-data/m3v1mp4short/CollectedData_dlc_team.csv"]
)
def test_csv_written_byte_for_byte_like_deeplabcut(
    shared_data: Path, tmp_path: Path, name: str
) -> None:
    ds = io.read_deeplabcut(shared_data / name)
    out = io.write_deeplabcut(ds, tmp_path / "CollectedData.csv")
    assert out.read_bytes() == (shared_data / name).read_bytes()


def test_multi_animal_unique_parts_kept_as_single(shared_data: Path) -> None:
    source = read_deeplabcut_table(shared_data / f"{EL}.h5")
    ds = io.read_deeplabcut(shared_data / f"{EL}.h5")
    assert ds["animal"].values.tolist() == ["individual1", "individual2", "individual3", "single"]
    bodyparts = ["bodypart1", "bodypart2", "bodypart3"]
    assert ds["part"].values.tolist() == [*bodyparts, "corner1", "corner2"]
    assert json.loads(ds.attrs["dlc_unique_parts"]) == ["corner1", "corner2"]
    position = ds["position"]
    # the animals have no unique parts, and 'single' has nothing but them
    assert position.sel(animal="single", part=bodyparts).isnull().all()
    assert position.sel(animal="individual1", part=["corner1", "corner2"]).isnull().all()
    assert position.sel(animal="single", part="corner1").notnull().any()
    scorer = ds.attrs["dlc_scorer"]
    for animal, part in [("individual2", "bodypart3"), ("single", "corner2")]:
        for coord in ("x", "y", "likelihood"):
            expected = source[(scorer, animal, part, coord)].to_numpy()
            if coord == "likelihood":
                got = ds["likelihood"].sel(animal=animal, part=part).values
            else:
                got = position.sel(animal=animal, part=part, coord=coord).values
            assert np.array_equal(got, expected, equal_nan=True)
    assert ds["frame"].values.tolist() == source.index.tolist()
    assert "image" not in ds.coords


def test_multi_animal_labels_likelihood_marks_labelled_points(shared_data: Path) -> None:
    source = read_deeplabcut_table(shared_data / "dlc-tests-data-2021/trimouse_calib.h5")
    ds = io.read_deeplabcut(shared_data / "dlc-tests-data-2021/trimouse_calib.h5")
    assert dict(ds.sizes) == {"animal": 3, "part": 12, "image": 500, "coord": 2}
    assert ds.attrs["dlc_dtype"] == "float32"
    labelled = int(np.isfinite(source.xs("x", axis=1, level="coords").to_numpy()).sum())
    assert int((ds["likelihood"] == 1).sum()) == labelled
    assert int(ds["likelihood"].isnull().sum()) == 3 * 12 * 500 - labelled
    assert ds["position"].dtype == np.float64
    # float32 -> float64 is exact
    x = source[("Daniel", "mus2", "spine1", "x")].to_numpy()
    assert np.array_equal(ds["position"].sel(animal="mus2", part="spine1", coord="x").values,
                          x.astype(np.float64), equal_nan=True)


def test_multiindex_label_file_keeps_file_order(shared_data: Path) -> None:
    path = shared_data / f"{MULTI}/labeled-data/m3v1mp4short/CollectedData_dlc_team.h5"
    source = read_deeplabcut_table(path)
    ds = io.read_deeplabcut(path)
    assert ds.attrs["dlc_index"] == "multiindex"
    assert ds.sizes["image"] == 5 and "frame" not in ds.dims
    assert ds["image"].values.tolist() == ["/".join(t) for t in source.index.tolist()]
    assert ds["image"].values[0] == "labeled-data/m3v1mp4short/img26.png"


def test_predictions_on_labeled_images_keep_likelihood(shared_data: Path) -> None:
    path = shared_data / f"{MULTI}/labeled-data/m3v1mp4short/machinelabels-iter0.h5"
    source = read_deeplabcut_table(path)
    ds = io.read_deeplabcut(path)
    assert ds.attrs["dlc_kind"] == "predictions"
    assert ds["image"].values.tolist() == ["/".join(t) for t in source.index.tolist()]  # rows: images
    scorer = ds.attrs["dlc_scorer"]
    expected = source[(scorer, "individual1", "bodypart1", "likelihood")].to_numpy()
    assert np.array_equal(ds["likelihood"].sel(animal="individual1", part="bodypart1").values,
                          expected, equal_nan=True)


def test_read_dispatches_on_content(shared_data: Path, tmp_path: Path) -> None:
    for name in (f"{OPENFIELD}.h5", f"{OPENFIELD}.csv", f"{EL}.h5"):
        direct = io.read_deeplabcut(shared_data / name)
        via = io.read(shared_data / name)
        assert np.array_equal(via["position"].values, direct["position"].values, equal_nan=True)
    ds = io.read_deeplabcut(shared_data / f"{OPENFIELD}.h5", fps=30.0)
    poses.save(ds, tmp_path / "poses.nc")
    xr.testing.assert_identical(io.read(tmp_path / "poses.nc"), ds)
    assert ds.attrs["fps"] == 30.0 and "time" not in ds.coords  # labeled images have no time
    video = io.read_deeplabcut(shared_data / f"{EL}.h5", fps=30.0)  # predictions: video frames
    assert float(video["time"].values[3]) == int(video["frame"].values[3]) / 30.0


# --- generated data (no shared files needed) -------------------------------------------------


def _synthetic(
    n_animals: int, rng: np.random.Generator, frames: np.ndarray | None = None
) -> xr.Dataset:
    n_frames = 12 if frames is None else len(frames)
    position = rng.uniform(0, 640, size=(n_animals, 3, n_frames, 2))
    position[0, 1, 2] = np.nan
    likelihood = rng.uniform(0, 1, size=position.shape[:3])
    return poses.from_arrays(position, likelihood, animals=[f"m{i}" for i in range(n_animals)],
                             parts=["nose", "ear", "tail"], frames=frames, fps=30.0)


@pytest.mark.parametrize("n_animals", [1, 3])
@pytest.mark.parametrize("suffix", [".h5", ".csv"])
def test_generated_predictions_round_trip(
    tmp_path: Path, rng: np.random.Generator, n_animals: int, suffix: str
) -> None:
    ds = _synthetic(n_animals, rng, frames=np.arange(100, 112) * 3)
    out = io.write_deeplabcut(ds, tmp_path / f"video{suffix}", scorer="DLC_test")
    table = read_deeplabcut_table(out)
    assert table.columns.names == (["scorer", "bodyparts", "coords"] if n_animals == 1
                                   else ["scorer", "individuals", "bodyparts", "coords"])
    assert table.index.tolist() == ds["frame"].values.tolist()
    back = io.read_deeplabcut(out, fps=30.0)
    assert back["frame"].values.tolist() == ds["frame"].values.tolist()
    assert np.array_equal(back["position"].values, ds["position"].values, equal_nan=True)
    assert np.array_equal(back["likelihood"].values, ds["likelihood"].values, equal_nan=True)
    if n_animals > 1:
        assert back["animal"].values.tolist() == ds["animal"].values.tolist()
    # read without a copy of the table (views of it), yet editable in place as every Dataset
    back["position"].values[0, 0, 0] = -1.0
    assert back["position"].values[0, 0, 0, 0] == -1.0
    reversed_columns = table[table.columns[::-1]]  # an unusual column order: the general path
    again = from_deeplabcut_table(reversed_columns, fps=30.0).sel(animal=back["animal"].values,
                                                                  part=back["part"].values)
    assert np.array_equal(again["position"].values, ds["position"].values, equal_nan=True)
    assert np.array_equal(again["likelihood"].values, ds["likelihood"].values, equal_nan=True)


@pytest.mark.parametrize("form", ["string", "multiindex"])
def test_generated_labels_round_trip_in_both_index_forms(
    tmp_path: Path, rng: np.random.Generator, form: str
) -> None:
    ds = _synthetic(2, rng, frames=np.arange(4))
    images = [f"labeled-data/vid/img{i:03d}.png" for i in range(4)]
    ds = poses.labels_from_arrays(ds["position"].values, images=images,
                                  animals=ds["animal"].values, parts=ds["part"].values)
    ds.attrs["dlc_index"] = form
    out = io.write_deeplabcut(ds, tmp_path / "CollectedData_me.h5", kind="labels", scorer="me")
    table = read_deeplabcut_table(out)
    assert set(table.columns.get_level_values("coords")) == {"x", "y"}
    if form == "multiindex":
        assert table.index.tolist()[0] == ("labeled-data", "vid", "img000.png")
    else:
        assert table.index.tolist()[0] == "labeled-data/vid/img000.png"
    back = io.read_deeplabcut(out)
    assert back["image"].values.tolist() == images
    assert back.attrs["dlc_index"] == form
    assert np.array_equal(back["position"].values, ds["position"].values, equal_nan=True)
    expected = np.where(np.isnan(ds["position"].values).any(-1), np.nan, 1.0)
    assert np.array_equal(back["likelihood"].values, expected, equal_nan=True)


def test_unique_parts_inferred_without_record(tmp_path: Path, rng: np.random.Generator) -> None:
    # A 'single' animal whose data is only on parts no other animal has (as the label store gives).
    position = np.full((3, 4, 5, 2), np.nan)
    position[:2, :3] = rng.uniform(0, 100, size=(2, 3, 5, 2))
    position[2, 3] = rng.uniform(0, 100, size=(5, 2))
    ds = poses.from_arrays(position, animals=["a", "b", "single"], parts=["p", "q", "r", "corner"])
    table = io.deeplabcut.to_deeplabcut_table(ds, kind="predictions")
    levels = table.columns
    pairs = list(dict.fromkeys(zip(levels.get_level_values(1), levels.get_level_values(2))))
    expected = [(a, p) for a in ("a", "b") for p in ("p", "q", "r")] + [("single", "corner")]
    assert pairs == expected


def test_not_a_deeplabcut_file_is_refused_with_the_expected_levels(tmp_path: Path) -> None:
    csv_path = tmp_path / "table.csv"
    csv_path.write_text("frame,x,y\n0,1.0,2.0\n")
    with pytest.raises(PoseDataError, match="scorer"):
        io.read_deeplabcut(csv_path)
    h5_path = tmp_path / "flat.h5"
    pd.DataFrame({"x": [1.0], "y": [2.0]}).to_hdf(h5_path, key="df_with_missing")
    with pytest.raises(PoseDataError, match="expected DeepLabCut column levels"):
        io.read_deeplabcut(h5_path)
    plain = tmp_path / "plain.h5"
    with h5py.File(plain, "w") as f:
        f["something"] = np.zeros(3)
    with pytest.raises(PoseDataError, match="not a DeepLabCut file|no pandas table"):
        io.read_deeplabcut(plain)
    with pytest.raises(PoseDataError, match="neither a DeepLabCut"):
        io.read(plain)
    not_hdf5 = tmp_path / "text.h5"
    not_hdf5.write_text("hello")
    with pytest.raises(PoseDataError, match="not a pandas HDF5 table"):
        io.read_deeplabcut(not_hdf5)
    with pytest.raises(PoseDataError, match="not a readable HDF5 file"):
        io.read(not_hdf5)
    words = tmp_path / "words.csv"
    words.write_text("scorer,me,me\nbodyparts,nose,nose\ncoords,x,y\n0,abc,1.0\n")
    with pytest.raises(PoseDataError, match="not numbers"):
        io.read_deeplabcut(words)
    text = tmp_path / "notes.txt"
    text.write_text("x")
    with pytest.raises(PoseDataError, match="unknown pose file type"):
        io.read(text)


def test_write_refuses_unknown_kind_and_suffix(tmp_path: Path, rng: np.random.Generator) -> None:
    ds = _synthetic(1, rng)
    with pytest.raises(PoseDataError, match=r"\.h5 or \.csv"):
        io.write_deeplabcut(ds, tmp_path / "x.txt")
    with pytest.raises(ValueError, match="kind"):
        io.write_deeplabcut(ds, tmp_path / "x.h5", kind="nonsense")  # type: ignore[arg-type]


def test_csv_read_by_arrow_equals_pandas_read_exactly(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    from poselab.io.deeplabcut import _read_csv_with_arrow

    values = np.array([[0.1, 1e-300, 123456.789012345, np.nan, 2 / 3, 5e-324],
                       [np.nan, -0.0, 1.7976931348623157e308, 0.30000000000000004, 1.0, 7.0]])
    columns = pd.MultiIndex.from_product([["DLC_x"], ["a1", "a2"], ["nose"], ["x", "y", "likelihood"]],
                                         names=["scorer", "individuals", "bodyparts", "coords"])
    expected = pd.DataFrame(values, index=pd.Index([3, 9]), columns=columns)
    path = tmp_path / "predictions.csv"
    expected.to_csv(path)
    header = [line.split(",") for line in path.read_text().splitlines()[:4]]
    table = _read_csv_with_arrow(path, header)
    assert table is not None  # the fast path was taken
    pd.testing.assert_frame_equal(table, pd.read_csv(path, header=[0, 1, 2, 3], index_col=0), check_exact=True)
    assert np.array_equal(table.to_numpy(), values, equal_nan=True)  # every bit, NaN gaps included
    assert np.signbit(table.to_numpy()[1, 1])  # -0.0 stays negative

    # image paths as the index, or text among the numbers: pandas reads the file instead
    by_image = expected.set_axis(pd.Index(["labeled-data/v/img3.png", "labeled-data/v/img9.png"]), axis=0)
    by_image.to_csv(path)
    assert _read_csv_with_arrow(path, header) is None
    assert read_deeplabcut_table(path).index.tolist() == ["labeled-data/v/img3.png", "labeled-data/v/img9.png"]
    path.write_text(path.read_text().replace("labeled-data/v/img3.png", "3").replace("labeled-data/v/img9.png", "9")
                    .replace("0.1,", "zero point one,"))
    assert _read_csv_with_arrow(path, header) is None
    with pytest.raises(PoseDataError, match="not numbers"):
        io.read_deeplabcut(path)
