"""The real public datasets poselab tests and benchmarks on, and where to find them.

All four come from the public DeepLabCut repository (LGPL-3.0-or-later; example data recorded by
the Mathis labs). :func:`locate` finds a dataset on this machine, :func:`fetch` downloads it
with pooch (file by file, each checked against its SHA-256) when it is nowhere local.

Search order of :func:`locate`:

1. ``$POSELAB_DATA/<folder>``;
2. ``../shared/datasets/<folder>`` relative to the current working directory;
3. ``../shared/datasets/<folder>`` relative to the repository that holds this package;
4. the download cache (``$POSELAB_CACHE`` or pooch's per-user cache folder ``poselab``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from poselab.core.errors import PoselabError

__all__ = [
    "REGISTRY",
    "DatasetInfo",
    "DatasetNotFoundError",
    "DatasetFetchError",
    "locate",
    "fetch",
    "list_datasets",
    "cache_dir",
]

_REPO = Path(__file__).resolve().parents[2]  # the checkout that holds this package
_DLC = "https://github.com/DeepLabCut/DeepLabCut"
_RAW = "https://raw.githubusercontent.com/DeepLabCut/DeepLabCut/main"
_CITATION = (
    "Mathis, A., Mamidanna, P., Cury, K. M., Abe, T., Murthy, V. N., Mathis, M. W. & Bethge, M. "
    "(2018). DeepLabCut: markerless pose estimation of user-defined body parts with deep "
    "learning. Nature Neuroscience 21, 1281-1289. https://doi.org/10.1038/s41593-018-0209-y"
)
_CITATION_MA = (
    _CITATION + "; Lauer, J. et al. (2022). Multi-animal pose estimation, identification and "
    "tracking with DeepLabCut. Nature Methods 19, 496-504. "
    "https://doi.org/10.1038/s41592-022-01443-0"
)


class DatasetNotFoundError(PoselabError, FileNotFoundError):
    """A registered dataset is not on this machine (or the name is not registered)."""


class DatasetFetchError(PoselabError, ConnectionError):
    """A dataset could not be downloaded (offline, no download address, or a bad checksum)."""


@dataclass(frozen=True)
class DatasetInfo:
    """One registered dataset.

    Attributes
    ----------
    name
        Short name used by :func:`locate` and :func:`fetch`.
    folder
        Folder name of the dataset (under ``$POSELAB_DATA`` or the shared datasets folder).
    url
        Where the data is published (a browsable address).
    base_url
        Address that the relative file paths are appended to for download; None when no
        download address is registered (copy the folder by hand).
    sha256
        Checksum of a single-archive download; None for datasets fetched file by file (each
        file's checksum is in ``files``).
    files
        Relative path -> SHA-256 of every file of the dataset.
    description
        What the dataset is and what poselab uses it for.
    citation
        How to cite it.
    """

    name: str
    folder: str
    url: str
    base_url: str | None
    sha256: str | None
    description: str
    citation: str
    files: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def size_files(self) -> int:
        """Number of files in the dataset."""
        return len(self.files)


_MANIFEST = Path(__file__).with_name("manifest.txt")  # "<sha256> <folder>/<path>" per line


def _manifest(folder: str) -> dict[str, str]:
    """SHA-256 of every file of a dataset folder, by path inside the folder."""
    prefix = folder + "/"
    lines = [line for line in _MANIFEST.read_text().splitlines() if line and not line.startswith("#")]
    return {
        path[len(prefix):]: digest
        for digest, path in (line.split(" ", 1) for line in lines)
        if path.startswith(prefix)
    }


def _registry() -> dict[str, DatasetInfo]:
    entries = [
        DatasetInfo(
            name="openfield",
            folder="openfield-Pranav-2018-10-30",
            url=f"{_DLC}/tree/main/examples/openfield-Pranav-2018-10-30",
            base_url=f"{_RAW}/examples/openfield-Pranav-2018-10-30/",
            sha256=None,
            description=(
                "DeepLabCut example project: 116 labeled 640x480 top-view mouse frames, 4 parts "
                "(snout, leftear, rightear, tailbase), and a 2330-frame 30 fps video of the "
                "same arena; accuracy and video-analysis benchmarks"
            ),
            citation=_CITATION,
        ),
        DatasetInfo(
            name="multi_mouse",
            folder="multi_mouse-dlc_team-2022-04-12",
            url=f"{_DLC}/tree/main/examples/multi_mouse-dlc_team-2022-04-12",
            base_url=f"{_RAW}/examples/multi_mouse-dlc_team-2022-04-12/",
            sha256=None,
            description=(
                "DeepLabCut multi-animal test project: config, placeholder labels and real "
                "multi-animal output files (_el.h5 tracks) of a 31-frame video; formats only"
            ),
            citation=_CITATION_MA,
        ),
        DatasetInfo(
            name="dlc_tests",
            folder="dlc-tests-data-2021",
            url=f"{_DLC}/tree/main/tests/data",
            base_url=f"{_RAW}/tests/data/",
            sha256=None,
            description=(
                "DeepLabCut test fixtures: 3-mouse ground truth (trimouse_calib.h5), raw network "
                "output of one frame (outputs.pickle: scoremaps, locref, part-affinity fields), "
                "a 256-frame video; decoder, assembly and tracking tests"
            ),
            citation=_CITATION_MA,
        ),
        DatasetInfo(
            name="stereo_example",
            folder="stereo_example",
            url=_DLC,
            base_url=None,  # the path inside the repository is not recorded: copy it by hand
            sha256=None,
            description=(
                "14 left/right 640x480 chessboard stereo pairs and reference calibration results "
                "(Calib_Results_left/right.mat); camera calibration and triangulation tests"
            ),
            citation=_CITATION,
        ),
    ]
    return {
        e.name: DatasetInfo(**{**e.__dict__, "files": _manifest(e.folder)}) for e in entries
    }


def _info(name: str) -> DatasetInfo:
    if name not in REGISTRY:
        known = ", ".join(sorted(REGISTRY))
        raise DatasetNotFoundError(f"unknown dataset {name!r}; known datasets: {known}")
    return REGISTRY[name]


def cache_dir() -> Path:
    """Download cache: ``$POSELAB_CACHE`` or pooch's per-user cache folder for poselab."""
    if os.environ.get("POSELAB_CACHE"):
        return Path(os.environ["POSELAB_CACHE"])
    try:
        import pooch
    except ImportError:
        return Path.home() / ".cache" / "poselab"
    return Path(pooch.os_cache("poselab"))


def _candidates(folder: str) -> list[Path]:
    roots = []
    if os.environ.get("POSELAB_DATA"):
        roots.append(Path(os.environ["POSELAB_DATA"]))
    roots += [Path.cwd().parent / "shared" / "datasets", _REPO.parent / "shared" / "datasets",
              cache_dir()]
    return [root / folder for root in roots]


def locate(name: str) -> Path:
    """The folder of the registered dataset ``name`` on this machine.

    Looks in ``$POSELAB_DATA``, ``../shared/datasets`` (relative to the working directory, then
    to the repository), then the download cache.

    Raises
    ------
    DatasetNotFoundError
        When the name is unknown (the message lists the known ones) or the data is nowhere.
    """
    info = _info(name)
    candidates = _candidates(info.folder)
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    looked = "\n  ".join(str(c) for c in candidates)
    raise DatasetNotFoundError(
        f"dataset {name!r} (folder {info.folder!r}) not found; looked in:\n  {looked}\n"
        f"Set POSELAB_DATA to the folder that holds {info.folder!r}, or download it with "
        f"poselab.datasets.fetch({name!r})."
    )


def fetch(name: str, *, progress: bool = False) -> Path:
    """The dataset's folder, downloaded with pooch into the cache when it is not local.

    Every file is checked against its SHA-256. pooch is imported only here.

    Raises
    ------
    DatasetFetchError
        When pooch is missing, no download address is registered, or a download fails
        (for example offline); the message says what to do instead.
    """
    info = _info(name)
    try:
        return locate(name)
    except DatasetNotFoundError:
        pass
    if info.base_url is None:
        raise DatasetFetchError(
            f"no download address is registered for {name!r}; copy the {info.folder!r} folder "
            f"from {info.url} and set POSELAB_DATA to the folder that holds it"
        )
    try:
        import pooch
    except ImportError as error:
        raise DatasetFetchError("fetching datasets needs pooch: pip install pooch") from error
    target = cache_dir() / info.folder
    # Download beside the target and rename when complete, so that locate() never returns a
    # half-downloaded folder; files already downloaded there are kept for the next attempt.
    partial = target.with_name(f"{info.folder}.partial")
    store = pooch.create(path=partial, base_url=info.base_url, registry=dict(info.files),
                         retry_if_failed=2)
    try:
        for relative in info.files:
            store.fetch(relative, progressbar=progress)
    except Exception as error:  # requests' errors, checksum mismatches, disk errors
        raise DatasetFetchError(
            f"could not download {name!r} from {info.base_url} ({type(error).__name__}: "
            f"{error}). If this machine is offline, copy the {info.folder!r} folder onto it "
            f"and set POSELAB_DATA to the folder that holds it."
        ) from error
    os.replace(partial, target)
    return target


def list_datasets() -> pd.DataFrame:
    """The registered datasets: name, folder, files, where found (or ""), url, description."""
    rows = []
    for info in REGISTRY.values():
        try:
            where = str(locate(info.name))
        except DatasetNotFoundError:
            where = ""
        rows.append({"name": info.name, "folder": info.folder, "files": info.size_files,
                     "location": where, "url": info.url, "description": info.description})
    return pd.DataFrame(rows).set_index("name")



REGISTRY: dict[str, DatasetInfo] = _registry()
