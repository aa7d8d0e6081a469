"""The registry of real datasets: lookup order, clear errors, and the listing."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from poselab.datasets import (
    REGISTRY,
    DatasetFetchError,
    DatasetNotFoundError,
    fetch,
    list_datasets,
    locate,
)

FOLDERS = {
    "openfield": "openfield-Pranav-2018-10-30",
    "multi_mouse": "multi_mouse-dlc_team-2022-04-12",
    "dlc_tests": "dlc-tests-data-2021",
    "stereo_example": "stereo_example",
}


@pytest.fixture
def no_data(monkeypatch, tmp_path):
    """A machine without the datasets: empty POSELAB_DATA and cache, cwd away from the repo."""
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    monkeypatch.setenv("POSELAB_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("POSELAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr("poselab.datasets.registry._REPO", tmp_path / "x" / "repo")
    return tmp_path


def test_registry_names_folders_and_sources() -> None:
    assert {name: info.folder for name, info in REGISTRY.items()} == FOLDERS
    for info in REGISTRY.values():
        assert info.url.startswith("https://github.com/DeepLabCut/DeepLabCut")
        assert "Nature Neuroscience" in info.citation
        assert info.files and all(len(h) == 64 for h in info.files.values())
    assert "labeled-data/m4s1/CollectedData_Pranav.h5" in REGISTRY["openfield"].files
    assert "outputs.pickle" in REGISTRY["dlc_tests"].files


def test_locate_finds_the_shared_data(shared_data: Path, monkeypatch) -> None:
    # The fixture may have found the data where locate does not look (a clone elsewhere).
    monkeypatch.setenv("POSELAB_DATA", str(shared_data))
    for name, folder in FOLDERS.items():
        path = locate(name)
        assert path.is_dir() and path.name == folder
    assert (locate("openfield") / "labeled-data" / "m4s1" / "CollectedData_Pranav.h5").is_file()


def test_manifest_checksums_match_the_shared_files(shared_data: Path) -> None:
    info = REGISTRY["dlc_tests"]
    root = shared_data / info.folder
    for relative, digest in info.files.items():
        assert hashlib.sha256((root / relative).read_bytes()).hexdigest() == digest, relative


def test_locate_honours_poselab_data_first(monkeypatch, tmp_path) -> None:
    fake = tmp_path / "mine" / "openfield-Pranav-2018-10-30"
    fake.mkdir(parents=True)
    monkeypatch.setenv("POSELAB_DATA", str(tmp_path / "mine"))
    assert locate("openfield") == fake


def test_locate_looks_in_shared_datasets_beside_the_working_directory(no_data) -> None:
    shared = no_data / "a" / "shared" / "datasets" / "stereo_example"
    shared.mkdir(parents=True)
    assert locate("stereo_example") == shared
    with pytest.raises(DatasetNotFoundError):
        locate("openfield")


def test_locate_falls_back_to_the_cache(no_data) -> None:
    cached = no_data / "cache" / "dlc-tests-data-2021"
    cached.mkdir(parents=True)
    assert locate("dlc_tests") == cached


def test_missing_dataset_error_says_what_to_do(no_data) -> None:
    with pytest.raises(DatasetNotFoundError, match="POSELAB_DATA") as info:
        locate("openfield")
    assert "fetch('openfield')" in str(info.value)
    assert isinstance(info.value, FileNotFoundError)


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(DatasetNotFoundError) as info:
        locate("openfeld")
    for name in FOLDERS:
        assert name in str(info.value)
    with pytest.raises(DatasetNotFoundError, match="known datasets"):
        fetch("openfeld")


def test_fetch_returns_local_data_without_downloading(monkeypatch, tmp_path) -> None:
    fake = tmp_path / "dlc-tests-data-2021"
    fake.mkdir()
    monkeypatch.setenv("POSELAB_DATA", str(tmp_path))
    assert fetch("dlc_tests") == fake


def test_fetch_without_download_address_raises_clearly(no_data) -> None:
    with pytest.raises(DatasetFetchError, match="POSELAB_DATA"):
        fetch("stereo_example")


def test_list_datasets_table(shared_data: Path, monkeypatch) -> None:
    monkeypatch.setenv("POSELAB_DATA", str(shared_data))
    table = list_datasets()
    assert list(table.index) == list(FOLDERS)
    assert table.loc["openfield", "folder"] == FOLDERS["openfield"]
    assert table.loc["dlc_tests", "files"] == 19
    assert Path(table.loc["openfield", "location"]).name == FOLDERS["openfield"]
