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


def _manifest(folder: str) -> dict[str, str]:
    prefix = folder + "/"
    return {
        path[len(prefix):]: digest
        for digest, path in (line.split(" ", 1) for line in _MANIFEST.strip().splitlines())
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


# SHA-256 and path of every file (computed from the copies used by poselab's tests).
_MANIFEST = """
b42fb89ff4ff3bf4eb310201b864bee81b53119d77102090bf438481d3435227 openfield-Pranav-2018-10-30/config.yaml
4772b40c61d368ac29f283483719e4ea3be5d38a52dabcc414aae0c8699fd9c7 openfield-Pranav-2018-10-30/labeled-data/m4s1/CollectedData_Pranav.csv
fed8d94b4aeb2aab7b692adeb3e279354043442d2241dbefb958b604b31c550a openfield-Pranav-2018-10-30/labeled-data/m4s1/CollectedData_Pranav.h5
67d0d49b54ae51bee8dd9e3ad82261d77673e4fe9b80262e1a38bd667e9f26a2 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0000.png
19300247d92637c0c778c1cca10568bda1c7157b0e03a758b67c5b78f5423aa3 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0001.png
048de3906a73a7d5da7e290eeace713195502a69f39b2baa726b5aa299c10bcc openfield-Pranav-2018-10-30/labeled-data/m4s1/img0002.png
363f6ae4863b071a88315e56f224d8e1517a8aa898af0a9866832b6db0f9a3c7 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0003.png
ca50e0715d56b7a761c025a3a342ff71e974f7986da07223486ae4e591dc823e openfield-Pranav-2018-10-30/labeled-data/m4s1/img0004.png
72b9ec53dfc2ca8763373a989ffe5ab468fc7d7d75fb0575811c481fee6b9edd openfield-Pranav-2018-10-30/labeled-data/m4s1/img0005.png
a99b8ea404a0fc6d8e64fd5a99052618f9f3e722adc273ac136963921387aa52 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0006.png
52d9228609ee4d1247a2d6762921c6f5c4b87c84b5e9b093ae377034df98d21b openfield-Pranav-2018-10-30/labeled-data/m4s1/img0007.png
6510c79d6f31b8c48f918af33bbc5328cf5ad4ecf8b14096697aa05f7b762153 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0008.png
5ac4612d1517301a2b2e71018268eeee8def05c405eac67f17892a276528e21a openfield-Pranav-2018-10-30/labeled-data/m4s1/img0009.png
9655be012156dae65f1053fa1b2ca775e80efea2a63ae0b124907d36914c6438 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0010.png
31a6e849da7bbda5af9260ef6d8f924f5349ad7a9dd5bcabe9d3ac73495af35f openfield-Pranav-2018-10-30/labeled-data/m4s1/img0011.png
5da93da2d0c13b745ba423a1810c8f85f4d72958ce96aea8af93e6273a455f1a openfield-Pranav-2018-10-30/labeled-data/m4s1/img0012.png
f9ec31bb32e469b9d6393ead07b54e6a7d67269ceedd45628cd15b7f1959b11f openfield-Pranav-2018-10-30/labeled-data/m4s1/img0013.png
7f68baa841195bf24a82120b4a4bdac341ce843656fde593fbb0c961f33dfb7a openfield-Pranav-2018-10-30/labeled-data/m4s1/img0014.png
f4b0c0922862b5c529c5b0e66aff49a4df3bc755ffb56bf15575cb3afdf56e87 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0015.png
cfc2e44097d5fc3ff1051907063e1ae12fdb10b6429e6135ce51a7c159ca8cfe openfield-Pranav-2018-10-30/labeled-data/m4s1/img0016.png
de28d7330c8b03ca103941b5aff779b770a34bb030172858ccc9ea111ea8ed28 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0017.png
0e86627353184513ed3dc9908eade77e834be4d5ccb0a06d9da718e6b0d8ede9 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0018.png
f47f7c463bd086b2068b064a49cb4eca73ea55577cd843152648466ff8b3da09 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0019.png
ece39f0df4461a8ff9feae5daf714a5c252f8b771e1ce63dac38c03b27e776f5 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0020.png
3779c48250b051040ee3cd2ac613302dabf9f9dedf6ed8aed900677119202992 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0021.png
9b58e777d37b70e6b2f659ef2aa7a3cfe250b2d0eea5f714f546ced883ef5f98 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0022.png
189d6265e8023ae6ec2fbf9c133b05b600f6072a889c13ca0f9ae5630659c304 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0023.png
80bd6f51c80d4983d375ba839a8b0d67992ec74076db2cd2da96c79c9c779f35 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0024.png
16fcb7ae7c251dd4495b3d670050146b62c7ee49b91b02ecfb1fce944e69694f openfield-Pranav-2018-10-30/labeled-data/m4s1/img0025.png
ec62684623f3cf31ece29a25b3f049848e042379c1f08edfc8b627e0b8085fc0 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0026.png
582e307ee941633bc8a6cb4f712def5b093290030b398c0eca87a57416a7212b openfield-Pranav-2018-10-30/labeled-data/m4s1/img0027.png
1168233d71d3cfdc553c5e38801575c4b05a903c9e1cad07420adb846c7f8ef6 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0028.png
1bd7f4a831701b9169f98ead9aff61d0b945039d017bbe7df2379e06df79493e openfield-Pranav-2018-10-30/labeled-data/m4s1/img0029.png
bdf90c992cd31f5c4a7f2ffa1639258f606cee62171772849d1dcf74f579e6ab openfield-Pranav-2018-10-30/labeled-data/m4s1/img0030.png
3f28cfcd3571a54b03c11e9fc6e1d9d113e80fe5ce161a65df25e2602a147df6 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0031.png
4f9ad3a9e1f6698100dd8d3316b602ee050838c3239d919e9d388cfe543950cb openfield-Pranav-2018-10-30/labeled-data/m4s1/img0032.png
2f81cde4be440eab760bf407ff0b60b4965009843ee5bba42626c7e5afca219a openfield-Pranav-2018-10-30/labeled-data/m4s1/img0033.png
aff55461a453f2e3dd2a57da149e963821d0102ead932cdea86f939db833a621 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0034.png
feb141b347ac2cb9d5266defee27fc259c7e912bfc7a1f99e16aa835b9c85ced openfield-Pranav-2018-10-30/labeled-data/m4s1/img0035.png
3210eb59753be698515399333bbb15bac34b412e674cb32bbe32ead6db61aa42 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0036.png
897826bf03d9f74212c52ddf260e494ba8906fa9cde84a8aab0a561d38cacf06 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0037.png
f0092e56dc43e3909f7f5f277d42b97db2a5960f4de04b3849f8438beb13c45d openfield-Pranav-2018-10-30/labeled-data/m4s1/img0038.png
396cb7351697adb2eb61944a9aedb15955693b79f0a87a18f61b08aaac24b280 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0039.png
2765fb3a4453be8016de677f3a2c543a4aa8c0130a7c4285eb39c23a721a5eb2 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0040.png
c8f3db287b03756e1dd6eb81280f23790fe14e01ae77c723e63057798da4a917 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0041.png
4590593028c79d3877a9b175768d4c84112b379be07bae846c2d071c9bbb72ad openfield-Pranav-2018-10-30/labeled-data/m4s1/img0042.png
a0382ab378db93d2f32099a61d4b7474d7100e5f917fe91702f23eba82a2ad79 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0043.png
1bea5c3bcd7569392415848ff12ec0e4ee1ec0e23191f8f5267251aee08d9174 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0044.png
befa041516a5ae4627b5e6dc850cf84459a557f047f3c61ccf62cfc92a7d4241 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0045.png
978e82e94cc9516dfaf5425e1295bf7cebfe392a56e752ac64be5a7d5315c6be openfield-Pranav-2018-10-30/labeled-data/m4s1/img0046.png
37b8c30caadb95d60e8bf0ad0fbb6fce53d6be2ca2c06135df31a4b574acda26 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0047.png
a7051d1ad96d48cecb018b9a1813db98ecc76c8b62bd8730af3a6698e471b8f6 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0048.png
3368a0a8a53d78e52f6f8a66a204f236c17035c5738704fbfb196ed34402997f openfield-Pranav-2018-10-30/labeled-data/m4s1/img0049.png
d8350444f1d2f50d6c5e87eaac80f4f83fb7013474b9357d93397990cd29a28f openfield-Pranav-2018-10-30/labeled-data/m4s1/img0050.png
5cca9020dbab79ff6f6a9305f73315d13c143970bb0c41526c66db3e18069d70 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0051.png
4b754e17c47eb5540e2d65f9acab2af2a97d919949fa773eae6a37fba5306b74 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0052.png
c0b11b8eed6c3b59edff96b884a79de5051bc92df2547ce1dab51e952865f00c openfield-Pranav-2018-10-30/labeled-data/m4s1/img0053.png
ed6662145b8138aeb7bc77bfbd79e010ce3b03186ddaa03d5841215dedebb73f openfield-Pranav-2018-10-30/labeled-data/m4s1/img0054.png
2ab7390282e28abda7bb6f0c531718c616e6faa136aba8633e354c4ceaa2fd57 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0055.png
a61deee8f7991b7e15bb86b6f88681fc5af2750e9c87bc754c2cbb9ed2303f4f openfield-Pranav-2018-10-30/labeled-data/m4s1/img0056.png
7066e7c43fb881ec2b6e0b972ef533a619814d994fe315bf4b160e6cbfd012c2 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0057.png
4660ee8cfe481afa8f8d34c6ad65fa5651bae7624c197451e6c7018abdacdc1a openfield-Pranav-2018-10-30/labeled-data/m4s1/img0058.png
b8cef4ceecf3f9051cac261e77b32b1c15ff2b2095734b1c0f9ade088bd61b56 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0059.png
52b9b643e7a52c2f72a0fd207dd48493ce4a56ab9a71d30a9d22d6d40d0c5260 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0060.png
6d97093222c3e85e0d068988838034e761b80c8254a85fa256774ea15df87dbb openfield-Pranav-2018-10-30/labeled-data/m4s1/img0061.png
3677c07c8768a66c016d9106aa8d78d0b1d0eb2abcff4d0cb06193beb892d7f4 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0062.png
1d174037a767b9a738368792656ec56d9fd6e85a132852b8158d376ccb235bd0 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0063.png
a633e7ece7b825d184bd1828e36e4da14ab3848a66e789951f64f45151ce82a5 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0064.png
14958c024590f2e4a5c0f7fa025f134f1263e81a79ea554dfab5b53666f1b461 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0065.png
92052dc03c98d693fc39439eb1c23fc7e34ff25c4a71cbe75ae02eeb53710599 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0066.png
d062222b618cae4d60c9ade8fdf7ff0f54317f810437eae50d19ced890592fac openfield-Pranav-2018-10-30/labeled-data/m4s1/img0067.png
fb5df6de814196950b3be2ef10278071710933146bc5699ef691d6be71bc01f5 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0068.png
1c82755d85c77a26f0d69e1afcc2c68aec5ce7fd5d4de4de04012b6c708cfa84 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0069.png
d00195a6ab607ccdec2fff8d5184634c8367b901d2c65ebeb3633ba1cda6ced7 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0070.png
746f659c1e1044e79085e9264f08b7ccfa854ab2b276cd37d3d297864dfc1860 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0071.png
e914df772e55bebf191c30e6fdd9291d2425340531d436c4d2385fe5152d6e62 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0072.png
b47ea707a07f1b9399aa097a72236fdf81a3c8e7b2a38a8f47bce7e25d31f610 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0073.png
e2049aa8e253f9c5b32d516e92763cac694e71cb52c20f961e1a9b2183a075d0 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0074.png
c951bcb82a412af13e44fbf63a8cf8c42ea1c2c1428f3ddc21c7d7e6e2c96ac7 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0075.png
744249f3e251779b14ab315f37ad0cb5c3ad520df24ad7b2c92105de606c351e openfield-Pranav-2018-10-30/labeled-data/m4s1/img0076.png
dab94988e02e935d03529d761c9efcc73fa35e2bfe91507de6a05ce17c267998 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0077.png
48612adf8cc723d4910413c90f228f7eb2420a2e149538a31885c39061d0d362 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0078.png
83135a89bf6d9f2ddc5d511dc5c948d4fda8133275416e5aebe4cfe6385c3c9b openfield-Pranav-2018-10-30/labeled-data/m4s1/img0079.png
bd0b75b7bef10384bbcfa94de985b0e5a0426ffaf4484fe4cf224a943973f8c0 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0080.png
940c30138b1d7a42a048788efa3698de640c23119a797004889384db405c7066 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0081.png
0e54b53d205abfbab51e819ca8aa82b115e460d28489f942762eee1cdd87885d openfield-Pranav-2018-10-30/labeled-data/m4s1/img0082.png
e02a01d0ee9a2d9bb5333fb5a458a631af67ff24b63778292420ee53a604fb3b openfield-Pranav-2018-10-30/labeled-data/m4s1/img0083.png
b4e345b10e9316bedfd38a8ea7fd5c1f0725b53dc59f9e82e092a17170657eb6 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0084.png
fd7933a2d00180112a27038c321bfefdf6cfe68e8c6d495d8d05aaddfff304e7 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0085.png
c84d65eae54ec74d19ce1ace2e07632a3c26db6a05c75135470e376fdf7efcd2 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0086.png
6feb8c170fb9066f8a635678de6c70e5dbf9c0dd9fccbb0e1c269f2e863e0e36 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0087.png
46f95cc45eb443dc0e5d7f7284839a6e13b49c4480117ddc92d467b826bebf6d openfield-Pranav-2018-10-30/labeled-data/m4s1/img0088.png
566c16f006bed92aab4cd2eefdb01c1ca61875581bb4b941d9671e1c68485814 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0089.png
ca43dd73bb1c033ae58122f1084f2ff60c552b11ba25e14b8451252cdbe7f811 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0090.png
65eddfa96c240b372ba40ea7e5c53af2d0e02d60155cb484ff096d8520f3e33f openfield-Pranav-2018-10-30/labeled-data/m4s1/img0091.png
58d21ff33e6afd57ca7dbb644ecd8787ca125e0d427e8c0cb9609a45e12c94c2 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0092.png
9cb467866a2a00531f071280589d445a764f2dc5a688546f957a033f5b36e443 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0093.png
e6fc1dd803cb0dc6a3d4f3f2ad2560c3230311ba5d3e1a611390e50adf2959c3 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0094.png
248bf05bacc79cd2259d7ecdbf0731b789e355484ff0c3e65397c291b8bfcf0a openfield-Pranav-2018-10-30/labeled-data/m4s1/img0095.png
0b404e7c9ff4fd45d1d3247892f6dbc3e81f5fa1e45183a9405f044d6502cd18 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0096.png
daa71f99038097f724a78df177c85b7b68b2fb50d22b528a1fab846b01b0f099 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0097.png
ab0481d45183b04d6e592568c78fb4f1d725cd42bb3a92ddad3e42c6c2317083 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0098.png
3eb385bf5d5824dfb0b81af5d43f6c3d4d2dc6ba54a0cdbded2ba58a4bd071be openfield-Pranav-2018-10-30/labeled-data/m4s1/img0099.png
961aad9d09eba600f6afc6a711c9204a3798438c7d4682c50064437254a9bf97 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0100.png
09620dc63100b44e4f8c9b75d42425b8236ff0a545724ef159fc6a3ef1ef3eec openfield-Pranav-2018-10-30/labeled-data/m4s1/img0101.png
45e27b12da614b61958e74f6b2ed82c3c7d33d2a6238224238ab1e5da96af1c9 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0102.png
af090791cb9950036d25acc7dc6775762eeda8744ffbbd1b9be601af3ab414b4 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0103.png
db8536143c72508c7c2924f6a707b3b566b3aa936e1a1e16fd462e13f41de923 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0104.png
74c1dac39b1805821aa66acd4f93f1bb9331f55992a896636a6e06d7a44d5c4b openfield-Pranav-2018-10-30/labeled-data/m4s1/img0105.png
491abc2ca593536a8b48cae67199add467c79c430c168642dd7b0a45643346b8 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0106.png
2e7cda4b6867c4407e35bdee3f7f1b943812223b2229f519e1c05da98c79a181 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0107.png
ebc58e6be8acbbd31057fcbecc29b3f2ea458fea39cdfcd424bfb2edfb5d142c openfield-Pranav-2018-10-30/labeled-data/m4s1/img0108.png
ff5b55bc085859a94fad7acf62b8fbf03c2921c8e59c742f57a313631fcb7f8c openfield-Pranav-2018-10-30/labeled-data/m4s1/img0109.png
dc2ae9359f363f808ed32b666ccb839dd20e9709869947cb10fcfda00c690466 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0110.png
fcca0c746505bdc832086e39b00c1f490af3f2f2d821bfbbb823c26b2db0e437 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0111.png
c2a4a0b053b5ad01e1255e968fb88a7fa5d9815bd606c9a07c03b4f2c68305d4 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0112.png
e3daf83ed5ad563e697f57993fda13ff6d48b47b97ba1a726f129bd454c0348c openfield-Pranav-2018-10-30/labeled-data/m4s1/img0113.png
96a3cae67dd9457cecba2b9c471f2d2d297f4e45e32916259bbdfd711d3014c8 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0114.png
1bc53b2c3509ea3d0447a393dbe7a508919ec56195eb7df2d887a2d067c3fd43 openfield-Pranav-2018-10-30/labeled-data/m4s1/img0115.png
e2394b4221821cdb7206910a6efcec9db338cb497d1f880bd5a0ef2fd087ce59 openfield-Pranav-2018-10-30/videos/m3v1mp4.mp4
c01d73d4157893c61c782c7c5a1c2dc2e632104707998e2666fe5d11e911dc4f multi_mouse-dlc_team-2022-04-12/config.yaml
d2afb29a9d21e90ebe429c50c03ae58b88e27c0ab96fb1966bbd4a6027665d8a multi_mouse-dlc_team-2022-04-12/dlc-models/iteration-0/multi_mouseApr12-trainset80shuffle1/test/inference_cfg.yaml
d8b9a75d9aeac753a0e1de77b4c54319dcbe01c6595042e2815f992d2e92c539 multi_mouse-dlc_team-2022-04-12/dlc-models/iteration-0/multi_mouseApr12-trainset80shuffle1/test/pose_cfg.yaml
66af247010d08e22b0267af941fa2c872d376ce68d83963f0e5f56d4a08ec976 multi_mouse-dlc_team-2022-04-12/dlc-models/iteration-0/multi_mouseApr12-trainset80shuffle1/train/learning_stats.csv
ef4a8cb5caf9c365c3c3734c4323491fc400e458d29e6e1f8f3399e145357bc9 multi_mouse-dlc_team-2022-04-12/dlc-models/iteration-0/multi_mouseApr12-trainset80shuffle1/train/log.txt
20881df94284efdc6913948eb24646ab1d7db962c39823e7e494515944c28778 multi_mouse-dlc_team-2022-04-12/dlc-models/iteration-0/multi_mouseApr12-trainset80shuffle1/train/pose_cfg.yaml
d2afb29a9d21e90ebe429c50c03ae58b88e27c0ab96fb1966bbd4a6027665d8a multi_mouse-dlc_team-2022-04-12/dlc-models/iteration-1/multi_mouseApr12-trainset80shuffle1/test/inference_cfg.yaml
9a4935778b72300092392d5011d6e2053b9addff3f57256f4b770fd6013864c2 multi_mouse-dlc_team-2022-04-12/dlc-models/iteration-1/multi_mouseApr12-trainset80shuffle1/test/pose_cfg.yaml
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 multi_mouse-dlc_team-2022-04-12/dlc-models/iteration-1/multi_mouseApr12-trainset80shuffle1/train/learning_stats.csv
ae4fb6dddfc3e637d3981d21ebb4cf5dcdf605cb50f9cfef75899ca64b6b2176 multi_mouse-dlc_team-2022-04-12/dlc-models/iteration-1/multi_mouseApr12-trainset80shuffle1/train/log.txt
4492e02334b4d01158d462bb2120bb0b75d5f7bfaafcebd08aeadfae89a05493 multi_mouse-dlc_team-2022-04-12/dlc-models/iteration-1/multi_mouseApr12-trainset80shuffle1/train/pose_cfg.yaml
d2afb29a9d21e90ebe429c50c03ae58b88e27c0ab96fb1966bbd4a6027665d8a multi_mouse-dlc_team-2022-04-12/dlc-models/iteration-1/multi_mouseApr12-trainset80shuffle4/test/inference_cfg.yaml
01a659152bf4f99f6f4796087290e1f1072ca1853e7372c2b6f89f40c9b1929f multi_mouse-dlc_team-2022-04-12/dlc-models/iteration-1/multi_mouseApr12-trainset80shuffle4/test/pose_cfg.yaml
60fcf12130f9d24d123eccce11e4275350bcc33d5e481c4ea47405f3ef160757 multi_mouse-dlc_team-2022-04-12/dlc-models/iteration-1/multi_mouseApr12-trainset80shuffle4/train/pose_cfg.yaml
d2afb29a9d21e90ebe429c50c03ae58b88e27c0ab96fb1966bbd4a6027665d8a multi_mouse-dlc_team-2022-04-12/dlc-models/iteration-1/multi_mouseApr12-trainset80shuffle5/test/inference_cfg.yaml
1355735236c7f3ed7a0c8a7bff24d1406d1733d526383bbbadbb07b145cb7ba1 multi_mouse-dlc_team-2022-04-12/dlc-models/iteration-1/multi_mouseApr12-trainset80shuffle5/test/pose_cfg.yaml
4b9759f494f906ec1b5634a9c8ee3e68f4aed7733188c9294aaf78fb3e5b00f5 multi_mouse-dlc_team-2022-04-12/dlc-models/iteration-1/multi_mouseApr12-trainset80shuffle5/train/pose_cfg.yaml
5a4a8cf65522eca6ec205d3d44e1441821ae87fb989e065080a7272843cbd50a multi_mouse-dlc_team-2022-04-12/evaluation-results/iteration-0/CombinedEvaluation-results.csv
5a4a8cf65522eca6ec205d3d44e1441821ae87fb989e065080a7272843cbd50a multi_mouse-dlc_team-2022-04-12/evaluation-results/iteration-0/multi_mouseApr12-trainset80shuffle1/DLC_effnet_b0_multi_mouseApr12shuffle1_5-results.csv
2cb27387d6c70795b6829f78faf95a92464c5f0c17552a4dc5c5faeebfd68444 multi_mouse-dlc_team-2022-04-12/evaluation-results/iteration-0/multi_mouseApr12-trainset80shuffle1/DLC_effnet_b0_multi_mouseApr12shuffle1_5-snapshot-5_full.pickle
4bff5bd048f57c260a760020ac3338f49d452ca543428b4403024018e48ab6bc multi_mouse-dlc_team-2022-04-12/evaluation-results/iteration-0/multi_mouseApr12-trainset80shuffle1/DLC_effnet_b0_multi_mouseApr12shuffle1_5-snapshot-5_map.pickle
89ee4cbcf58b49688a1829af24d537f85529eb14bde614ff091f7b3a94e2e36e multi_mouse-dlc_team-2022-04-12/evaluation-results/iteration-0/multi_mouseApr12-trainset80shuffle1/DLC_effnet_b0_multi_mouseApr12shuffle1_5-snapshot-5_meta.pickle
28fb858ba721bc9f4fd0f638d8b9b933fee6a662ae9f5f9e87608a34ca6b514a multi_mouse-dlc_team-2022-04-12/evaluation-results/iteration-0/multi_mouseApr12-trainset80shuffle1/LabeledImages_DLC_effnet_b0_multi_mouseApr12shuffle1_5_snapshot-5/Test-m3v1mp4-img0893.png
53974326a24c46172cdf0f0a611df35962be818341d1e3e3d4ddebc4b546ec2b multi_mouse-dlc_team-2022-04-12/evaluation-results/iteration-0/multi_mouseApr12-trainset80shuffle1/LabeledImages_DLC_effnet_b0_multi_mouseApr12shuffle1_5_snapshot-5/Training-m3v1mp4-img0122.png
7a134780f912b5b150d81169873efea075fe3dac5651211bd73d5774790d995d multi_mouse-dlc_team-2022-04-12/evaluation-results/iteration-0/multi_mouseApr12-trainset80shuffle1/LabeledImages_DLC_effnet_b0_multi_mouseApr12shuffle1_5_snapshot-5/Training-m3v1mp4-img1004.png
bd35ef98f55447ca8a23a35a52ba238e34c6421bb73f1959998601f0c1634a7b multi_mouse-dlc_team-2022-04-12/evaluation-results/iteration-0/multi_mouseApr12-trainset80shuffle1/LabeledImages_DLC_effnet_b0_multi_mouseApr12shuffle1_5_snapshot-5/Training-m3v1mp4-img1029.png
4f82ef8d1e55090064b0448a122c2adc49dddd77f3af8337b5bb4800250436df multi_mouse-dlc_team-2022-04-12/evaluation-results/iteration-0/multi_mouseApr12-trainset80shuffle1/LabeledImages_DLC_effnet_b0_multi_mouseApr12shuffle1_5_snapshot-5/Training-m3v1mp4-img1991.png
e4831c0626ca352f58be284b0fe8e106657a1818c5174479c9b3b6e7af512260 multi_mouse-dlc_team-2022-04-12/evaluation-results/iteration-0/multi_mouseApr12-trainset80shuffle1/dist_5.csv
bced7b4c2329ebd97a2e60361edb3fe6c97da436f2b286a2d0b0e751c906cb5a multi_mouse-dlc_team-2022-04-12/evaluation-results/iteration-1/CombinedEvaluation-results.csv
bced7b4c2329ebd97a2e60361edb3fe6c97da436f2b286a2d0b0e751c906cb5a multi_mouse-dlc_team-2022-04-12/evaluation-results/iteration-1/multi_mouseApr12-trainset80shuffle1/DLC_effnet_b0_multi_mouseApr12shuffle1_5-results.csv
98e8c5a13107deeeb2180e28d189c3f96258033ace76e231ac56911b7c3893de multi_mouse-dlc_team-2022-04-12/evaluation-results/iteration-1/multi_mouseApr12-trainset80shuffle1/DLC_effnet_b0_multi_mouseApr12shuffle1_5-snapshot-5_full.pickle
19ac009ae0971a62563c2aba8398b359e2bd595877fcad281fe9a8a97bc930a8 multi_mouse-dlc_team-2022-04-12/evaluation-results/iteration-1/multi_mouseApr12-trainset80shuffle1/DLC_effnet_b0_multi_mouseApr12shuffle1_5-snapshot-5_map.pickle
a17ae5b4af19152acbb7df38278f04f690570c8bd0020bedab6d5aca6184175e multi_mouse-dlc_team-2022-04-12/evaluation-results/iteration-1/multi_mouseApr12-trainset80shuffle1/DLC_effnet_b0_multi_mouseApr12shuffle1_5-snapshot-5_meta.pickle
871ec978448180f903f6778bc4e64529a2f900f5a2dcb3611bb10c0aeaac23b3 multi_mouse-dlc_team-2022-04-12/evaluation-results/iteration-1/multi_mouseApr12-trainset80shuffle1/LabeledImages_DLC_effnet_b0_multi_mouseApr12shuffle1_5_snapshot-5/Test-m3v1mp4-img1991.png
8f8fd5287e0d135e92cfa9863d75a2745befcf4200147fe02101cba5d878e70f multi_mouse-dlc_team-2022-04-12/evaluation-results/iteration-1/multi_mouseApr12-trainset80shuffle1/LabeledImages_DLC_effnet_b0_multi_mouseApr12shuffle1_5_snapshot-5/Test-m3v1mp4short-img05.png
bfd821877f8842ea0377fbf7805d071304ba5baab898f85c7c0fc8f4c0decbab multi_mouse-dlc_team-2022-04-12/evaluation-results/iteration-1/multi_mouseApr12-trainset80shuffle1/LabeledImages_DLC_effnet_b0_multi_mouseApr12shuffle1_5_snapshot-5/Training-m3v1mp4-img0122.png
3e1b93c42454d726341e26bf864da5ae9c1b0ab9d27ffc318260bc729e5db3af multi_mouse-dlc_team-2022-04-12/evaluation-results/iteration-1/multi_mouseApr12-trainset80shuffle1/LabeledImages_DLC_effnet_b0_multi_mouseApr12shuffle1_5_snapshot-5/Training-m3v1mp4-img0893.png
2ad7be61a56be783d7efad49a77e76991ca5f0c8ab23d8ebfb97b2f743dabe25 multi_mouse-dlc_team-2022-04-12/evaluation-results/iteration-1/multi_mouseApr12-trainset80shuffle1/LabeledImages_DLC_effnet_b0_multi_mouseApr12shuffle1_5_snapshot-5/Training-m3v1mp4-img1004.png
cb4e08e4e702c8c2b56b17510028e004bd9d105bddaddaeb3ecdf3adaa3d0471 multi_mouse-dlc_team-2022-04-12/evaluation-results/iteration-1/multi_mouseApr12-trainset80shuffle1/LabeledImages_DLC_effnet_b0_multi_mouseApr12shuffle1_5_snapshot-5/Training-m3v1mp4-img1029.png
a2dc11cc89fdd41ac0ef77e46bc21734ec515358e35c633230cf8bf99a4ec04f multi_mouse-dlc_team-2022-04-12/evaluation-results/iteration-1/multi_mouseApr12-trainset80shuffle1/LabeledImages_DLC_effnet_b0_multi_mouseApr12shuffle1_5_snapshot-5/Training-m3v1mp4short-img11.png
4d3b760b808a281483ee9963daf58209c4f90ef1a7a9882e8932330f66db345b multi_mouse-dlc_team-2022-04-12/evaluation-results/iteration-1/multi_mouseApr12-trainset80shuffle1/LabeledImages_DLC_effnet_b0_multi_mouseApr12shuffle1_5_snapshot-5/Training-m3v1mp4short-img12.png
2725380d738621a97894451776ebe7de222746966bd5acb44eeb505d1b179e6f multi_mouse-dlc_team-2022-04-12/evaluation-results/iteration-1/multi_mouseApr12-trainset80shuffle1/LabeledImages_DLC_effnet_b0_multi_mouseApr12shuffle1_5_snapshot-5/Training-m3v1mp4short-img17.png
7258aa3c44a87b706b266ea74bd68de394fc6b47621b1b73fe685d17f57ad0e2 multi_mouse-dlc_team-2022-04-12/evaluation-results/iteration-1/multi_mouseApr12-trainset80shuffle1/LabeledImages_DLC_effnet_b0_multi_mouseApr12shuffle1_5_snapshot-5/Training-m3v1mp4short-img26.png
89fcbbd85c46b8a8dabdea3c0854342fbeb3757c4114ee061926e4076f3eba74 multi_mouse-dlc_team-2022-04-12/evaluation-results/iteration-1/multi_mouseApr12-trainset80shuffle1/dist_5.csv
080d88e4d88a9682fe7c51e635912d679eb5954730bafae6b3940a5662b12ce9 multi_mouse-dlc_team-2022-04-12/exported-models/DLC_multi_mouse_efficientnet-b0_iteration-1_shuffle-1/pose_cfg.yaml
f7f43c8ef36cb5af9bbd55800ab1f57677258d77028ed41f0b2551dd244ce29d multi_mouse-dlc_team-2022-04-12/labeled-data/m3v1mp4/CollectedData_dlc_team.csv
4d3aafd2f5a5cb7892b191fb98dd43ce23997494eee0835d46f979e49f3706c1 multi_mouse-dlc_team-2022-04-12/labeled-data/m3v1mp4/CollectedData_dlc_team.h5
631cbfff852c3948ffca4e637caa5fb56acccefcc86a44d0243b4047d0e78dfd multi_mouse-dlc_team-2022-04-12/labeled-data/m3v1mp4/img0122.png
9283aa22b516d75e86887c5f1a1bf2f6399f74c296df91b2b098ebdc8bac98bc multi_mouse-dlc_team-2022-04-12/labeled-data/m3v1mp4/img0893.png
5f5a1f5250ea54c7797c4c55be719e68634f4654a9548adec355ac7a67f52287 multi_mouse-dlc_team-2022-04-12/labeled-data/m3v1mp4/img1004.png
0acc0642e4c86df904971e6063618753c176ae4b46f9100b6aba894577409d38 multi_mouse-dlc_team-2022-04-12/labeled-data/m3v1mp4/img1029.png
2f73dbd3e1da9039a68416b76ea88b0aa319a143892f728d85536f96e94c5a8d multi_mouse-dlc_team-2022-04-12/labeled-data/m3v1mp4/img1991.png
74448a31a2b7192eb2d9ccb8184db388b81682e454407bec980350f40e54fcbd multi_mouse-dlc_team-2022-04-12/labeled-data/m3v1mp4_labeled/img0122_individual.png
f8a00ae8ac0510dca64f3f885ad88ad67b9b2a3427e499987c08367719aeaa2e multi_mouse-dlc_team-2022-04-12/labeled-data/m3v1mp4_labeled/img0893_individual.png
6f3fed2df241478a6a309465f527833e51486928ef8c76a79263b1aec2565237 multi_mouse-dlc_team-2022-04-12/labeled-data/m3v1mp4_labeled/img1004_individual.png
ffffd80f768890ebbc86bad9b5e3d9eefcd9a05ac6cf486878c17c24074e0a94 multi_mouse-dlc_team-2022-04-12/labeled-data/m3v1mp4_labeled/img1029_individual.png
85ac2d450bee42f8794f22c9dedfd2c54dd5b9fa92a465790878dd5585215694 multi_mouse-dlc_team-2022-04-12/labeled-data/m3v1mp4_labeled/img1991_individual.png
46b87259a4dc8313a51189a2654b5a3b8f8ae0ad848c50b0f4e37f1733d25893 multi_mouse-dlc_team-2022-04-12/labeled-data/m3v1mp4short/CollectedData_dlc_team.csv
bfa487b252453e7a49c2ce8083d78b54fdafb4fea6d130ca9c77ae770ba12a8d multi_mouse-dlc_team-2022-04-12/labeled-data/m3v1mp4short/CollectedData_dlc_team.h5
fed175d70dc5f29cfbd7ca54ae4bdd79c3a08ee0cab9a7e375988a9cfe62896c multi_mouse-dlc_team-2022-04-12/labeled-data/m3v1mp4short/img04.png
70aa011fbea1dc17f779f5e6f90e6aba84ef330b941ee7223ae610986150a7de multi_mouse-dlc_team-2022-04-12/labeled-data/m3v1mp4short/img05.png
17aaddcd7d34a681b2e65a82091b42eaa4ded934f0e393d3404944f5333e2111 multi_mouse-dlc_team-2022-04-12/labeled-data/m3v1mp4short/img09.png
822017bdb8ccc395dbda0d4ac0979e1f5e96db027058925061dc04153f98f00f multi_mouse-dlc_team-2022-04-12/labeled-data/m3v1mp4short/img11.png
10bfb9bf247b594ef30f4a1e98e352bb60953c7bd2be4921d3e4ec70d74c64bb multi_mouse-dlc_team-2022-04-12/labeled-data/m3v1mp4short/img12.png
627c63022ca233cdd506e27744d9d584c022b13812b78088ebad636ef0d94de6 multi_mouse-dlc_team-2022-04-12/labeled-data/m3v1mp4short/img17.png
9a55e6644c91a8d9bae3eceec9f700f95e1dbb82d1f128887a843f2d8e1ef4bd multi_mouse-dlc_team-2022-04-12/labeled-data/m3v1mp4short/img26.png
a237cdff5562adf7ce31b17831e0e151c3bbda43299144b1cc998c7f7704e548 multi_mouse-dlc_team-2022-04-12/labeled-data/m3v1mp4short/machinelabels-iter0.h5
63512dc2e5f104c308bf336207142a47c28407c77d3e598b8b0d9cb435ec92cf multi_mouse-dlc_team-2022-04-12/labeled-data/m3v1mp4short/machinelabels.csv
98db2c30593568bc7dfb65ddd7c5e2d54d834c884feb6bbf8c52d09201c53b9d multi_mouse-dlc_team-2022-04-12/labeled-data/m3v1mp4short_labeled/img05_individual.png
087973b022246cd43e54568f03e03c15f298a89cfd1eefdf9cae7e66ef2d87e1 multi_mouse-dlc_team-2022-04-12/labeled-data/m3v1mp4short_labeled/img11_individual.png
837027bfec6f44c352788a4087530a67adcb252e629830635cdcd89f4ef1cb72 multi_mouse-dlc_team-2022-04-12/labeled-data/m3v1mp4short_labeled/img12_individual.png
7116d63061f27a585f59933e701d72c63229bf71a027352150d2dc6f28e70407 multi_mouse-dlc_team-2022-04-12/labeled-data/m3v1mp4short_labeled/img17_individual.png
9a53fc32155b9aa1dfaecb5072b184ab9f40c847c64d475940e913873fc7a309 multi_mouse-dlc_team-2022-04-12/labeled-data/m3v1mp4short_labeled/img26_individual.png
906ef95c130f94fc48c25c4c833e6264896427bedd9aa2eadaaed57d1dcb85a1 multi_mouse-dlc_team-2022-04-12/training-datasets/iteration-0/UnaugmentedDataSet_multi_mouseApr12/CollectedData_dlc_team.csv
8d89ef2b3b3d0f855e22abf8ba23189461c1be8b492ba54a95d874ee929015a4 multi_mouse-dlc_team-2022-04-12/training-datasets/iteration-0/UnaugmentedDataSet_multi_mouseApr12/CollectedData_dlc_team.h5
0ac16dba063bd0971cb5ed4f408d13dd74042134474b471f06b8cb457d4c3119 multi_mouse-dlc_team-2022-04-12/training-datasets/iteration-0/UnaugmentedDataSet_multi_mouseApr12/Documentation_data-multi_mouse_80shuffle1.pickle
4af0a4719b746ed61a9561abf79e3692f572442d1be51586fd0b01da908090ee multi_mouse-dlc_team-2022-04-12/training-datasets/iteration-0/UnaugmentedDataSet_multi_mouseApr12/multi_mouse_dlc_team80shuffle1.pickle
dbebfd745e7a3036660bb6af5aeb1fb110b7bbc7541d78fe10fc1de4ce6f91b7 multi_mouse-dlc_team-2022-04-12/training-datasets/iteration-1/UnaugmentedDataSet_multi_mouseApr12/CollectedData_dlc_team.csv
b250c6d30bc7a564c2507b3a40f0e493d8303a346dad168f56b5ee64af5b1fa5 multi_mouse-dlc_team-2022-04-12/training-datasets/iteration-1/UnaugmentedDataSet_multi_mouseApr12/CollectedData_dlc_team.h5
a0eb1c235965bf54caaa524691623b61242e2952bff8706231a55d26d8b00451 multi_mouse-dlc_team-2022-04-12/training-datasets/iteration-1/UnaugmentedDataSet_multi_mouseApr12/Documentation_data-multi_mouse_80shuffle1.pickle
a0bf6013769916c8668ed4c412fe5fa61f40cf0b2b9ad64706810ea52d242cba multi_mouse-dlc_team-2022-04-12/training-datasets/iteration-1/UnaugmentedDataSet_multi_mouseApr12/Documentation_data-multi_mouse_80shuffle4.pickle
a0bf6013769916c8668ed4c412fe5fa61f40cf0b2b9ad64706810ea52d242cba multi_mouse-dlc_team-2022-04-12/training-datasets/iteration-1/UnaugmentedDataSet_multi_mouseApr12/Documentation_data-multi_mouse_80shuffle5.pickle
8170cff458c78a510b6fc9de6e4e76a8b299da5e2669fea74b42a73990a51ef8 multi_mouse-dlc_team-2022-04-12/training-datasets/iteration-1/UnaugmentedDataSet_multi_mouseApr12/multi_mouse_dlc_team80shuffle1.pickle
ad7e265f67f1df474d8ddb60cc99fbac9117288ce1758ac6bb9b4033cbeec66e multi_mouse-dlc_team-2022-04-12/training-datasets/iteration-1/UnaugmentedDataSet_multi_mouseApr12/multi_mouse_dlc_team80shuffle4.pickle
ad7e265f67f1df474d8ddb60cc99fbac9117288ce1758ac6bb9b4033cbeec66e multi_mouse-dlc_team-2022-04-12/training-datasets/iteration-1/UnaugmentedDataSet_multi_mouseApr12/multi_mouse_dlc_team80shuffle5.pickle
e2394b4221821cdb7206910a6efcec9db338cb497d1f880bd5a0ef2fd087ce59 multi_mouse-dlc_team-2022-04-12/videos/m3v1mp4.mp4
275ce2c535ecdbdc20ce59ede6f3bd40c38d5cd2f73808af88b8e2adcb61a011 multi_mouse-dlc_team-2022-04-12/videos/m3v1mp4short.mp4
6c706ca7fd96820fa9c69956b611d71ad4ea0b60ef337af0798f27ee80c03df6 multi_mouse-dlc_team-2022-04-12/videos/m3v1mp4shortDLC_effnet_b0_multi_mouseApr12shuffle1_5_assemblies.pickle
4849931b9666a706252672413ee0e6f2fcab1cbbe7fd8530e0abe02c0d2374e8 multi_mouse-dlc_team-2022-04-12/videos/m3v1mp4shortDLC_effnet_b0_multi_mouseApr12shuffle1_5_el.h5
2372d08a68f328289e5353493773485f4a586a44ed48cf77d0a1148a75accfbf multi_mouse-dlc_team-2022-04-12/videos/m3v1mp4shortDLC_effnet_b0_multi_mouseApr12shuffle1_5_el.pickle
ee5541bab8c609b086caa82b6f60c7e2f4f99ca341ff6a11f1cb5150b56521fb multi_mouse-dlc_team-2022-04-12/videos/m3v1mp4shortDLC_effnet_b0_multi_mouseApr12shuffle1_5_el_filtered.csv
dc410bd605c61675444a8c3dae190e868bfa5043efdb10f8e897fbafddebc17e multi_mouse-dlc_team-2022-04-12/videos/m3v1mp4shortDLC_effnet_b0_multi_mouseApr12shuffle1_5_el_filtered.h5
890cb138219050217a32116d7cee313d500b419524b88c974f688a9bc1e0f6d2 multi_mouse-dlc_team-2022-04-12/videos/m3v1mp4shortDLC_effnet_b0_multi_mouseApr12shuffle1_5_el_id_labeled.mp4
ca8f81824de82c840bf93cfc79532dbe8bf01690935860cc18d565059edc1edf multi_mouse-dlc_team-2022-04-12/videos/m3v1mp4shortDLC_effnet_b0_multi_mouseApr12shuffle1_5_full.mp4
f2d4d3dfe03a63332bae03ca2f31e23f9fb224a0170943f3953420f7cdc1c03f multi_mouse-dlc_team-2022-04-12/videos/m3v1mp4shortDLC_effnet_b0_multi_mouseApr12shuffle1_5_full.pickle
9bc6e0793e292f58ad03c28290e8f9dc32e693a090b5db734dd7fb9bbd99e8de multi_mouse-dlc_team-2022-04-12/videos/m3v1mp4shortDLC_effnet_b0_multi_mouseApr12shuffle1_5_meta.pickle
f33bceaea4eb75db29fabfedc313dc482f9fa874085bd004e69ef17ae792342d multi_mouse-dlc_team-2022-04-12/videos/plot-poses/m3v1mp4short/histindividual1.png
10c4d88eaaea80efdbba57bb8f6718c8255893909306e74d83cdde0a8599c448 multi_mouse-dlc_team-2022-04-12/videos/plot-poses/m3v1mp4short/histindividual2.png
fa248e4549e2b9dabcb6f0dfc56ba077f74292d74a67273a12746d95a7706fa8 multi_mouse-dlc_team-2022-04-12/videos/plot-poses/m3v1mp4short/histindividual3.png
186501cb04c355c12dad0e32610b5a09ecbf917b903bf10a2284f484b575113d multi_mouse-dlc_team-2022-04-12/videos/plot-poses/m3v1mp4short/histsingle.png
b6d3503aa0f7723b8a005c80a558b5188b960d7310227ba06ea375c2d8e33629 multi_mouse-dlc_team-2022-04-12/videos/plot-poses/m3v1mp4short/plot-likelihoodindividual1.png
5a6778c59b7e837012568afa84d45469f625e943aba005fceb0c13d5ad2dee9c multi_mouse-dlc_team-2022-04-12/videos/plot-poses/m3v1mp4short/plot-likelihoodindividual2.png
ba5ec75a76edc87d74a52e2886200995580eff34559204311a45374e1022f94f multi_mouse-dlc_team-2022-04-12/videos/plot-poses/m3v1mp4short/plot-likelihoodindividual3.png
d7572808d0e6cb7857a087ed5f41b8a830431936532bec9dacd705d6bf159e1e multi_mouse-dlc_team-2022-04-12/videos/plot-poses/m3v1mp4short/plot-likelihoodsingle.png
dfee8c3c30c41547aee003c326dbdbeb0d73972f58eea5449ecb37ac222c0ee1 multi_mouse-dlc_team-2022-04-12/videos/plot-poses/m3v1mp4short/plotindividual1.png
6a9eb2e0857d221b90984aac26142cf5acd2ae32906688eb94156791a43e1a75 multi_mouse-dlc_team-2022-04-12/videos/plot-poses/m3v1mp4short/plotindividual2.png
465d35eafe33c5447674c5c083b6b9bd062ee7c0b420ca30d674455fee894cd9 multi_mouse-dlc_team-2022-04-12/videos/plot-poses/m3v1mp4short/plotindividual3.png
3129adfb43383a2ca69b0ee50b7eaf26cbedf5195d0a59c8496acbbe90018ec4 multi_mouse-dlc_team-2022-04-12/videos/plot-poses/m3v1mp4short/plotsingle.png
4eb5d2e4f5d9f712ec77d3343f9cfed66f3429b3a6cdc52d6831918c4a065b9f multi_mouse-dlc_team-2022-04-12/videos/plot-poses/m3v1mp4short/trajectoryindividual1.png
299134045d978ee6a7d70a78df4b460f90adb7af142a4f0494851119cfc3fc69 multi_mouse-dlc_team-2022-04-12/videos/plot-poses/m3v1mp4short/trajectoryindividual2.png
15d52fc665f201126ea2552b4faae6ded0d165310fef57465101a7e62a622413 multi_mouse-dlc_team-2022-04-12/videos/plot-poses/m3v1mp4short/trajectoryindividual3.png
00b7d5e69cdca476fc89f8ad20eea1d857eb0d22206155fd64a245fd7159513b multi_mouse-dlc_team-2022-04-12/videos/plot-poses/m3v1mp4short/trajectorysingle.png
d9f9c860599e6482a87e08166f5ac4d89e6537221987d8bb72173279de65e610 dlc-tests-data-2021/dets.pickle
aac4da5321e7c13c79f76b6c9bbff3d65748b2f624e8a119a8688f9b7cdf2b71 dlc-tests-data-2021/image.png
21cb7314b7454628bb327e50239d9dd41282aabf2c4fb6fe09653045e15f80eb dlc-tests-data-2021/montblanc_assemblies.pickle
a3f0f064207915c9070892b720de9b410dcadb2b87cefbf50c5eb8cfcf1582ab dlc-tests-data-2021/montblanc_eval.pickle
c7612ed38412e5630176544f3e26cfa4c23e7471efe0a5d176d51577b4e1c46f dlc-tests-data-2021/montblanc_full.pickle
e53b211a6f81ab858c20686023f69ad6269307fe509feadbd7d47d92bcf32f74 dlc-tests-data-2021/montblanc_map.pickle
30ec378c3b5bca9e1989631279fe03ca8d1f66fe2a413df72bc565f342455dff dlc-tests-data-2021/montblanc_meta.pickle
075e45e02746ff4c5143a4c7ad6350ef71ed024c52417fed164f4c788eba3795 dlc-tests-data-2021/montblanc_tracklets.pickle
e283df9fb6be8bdc6cdcf9cecea847b3feb5d15f5f6df260a0eebc4e8a16d765 dlc-tests-data-2021/montblanc_tracks.h5
4c3b71a1f609c3d7e4bbc249b7508ea75e7b8281767ed88b545bac23c7e739fa dlc-tests-data-2021/outputs.pickle
d2cd9a0e5b1fd4bdfa0a91ca2ede47b997ffac1c61f1d03c4747781f79a76392 dlc-tests-data-2021/pose_cfg.yaml
40eff70a3efbb9362466dc3f607c6689832b7c7ffeac23081b1cccb112c8a9ad dlc-tests-data-2021/trimouse_assemblies.pickle
97ef78a00beeabe38731691e3ec4897740fc8e7556b8e228a705932d5e03c890 dlc-tests-data-2021/trimouse_calib.h5
74d0123609c3a6c6ae490580b91abb71cfd358161b977677a7d119d6a0d92e8c dlc-tests-data-2021/trimouse_eval.pickle
51a5a5952b19ba778c4cb825b1d93e96c8c8ae49a554a510684e263c178e6cfd dlc-tests-data-2021/trimouse_full.pickle
994761684b27261d1de405bbedb3eb0b2c92171f5cefd77ab1ea49312859805e dlc-tests-data-2021/trimouse_meta.pickle
ee98dbcf109bc52715f97ea68678cbb2ed93e56ffde220a3bd8b956f231f9b0a dlc-tests-data-2021/trimouse_tracklets.pickle
1f356057293d9ea413e0b92febbbcc00704a2bbb4182919009ddeef74d8b7134 dlc-tests-data-2021/trimouse_train_data.pickle
49e2dcedfd12f425ca6cda6e91cfb46a89b67b3906ca1d2d8a3974cb0e7e4c62 dlc-tests-data-2021/vid.avi
13dcd0073cbfe839489447c34bfc2101b52508090ffa25a4e552e73b7f96a1ef stereo_example/Calib_Results_left.mat
7e9c0ed31e53272461c6d2a694d9fe6d49fa44224bbad6b019f3b477c56d1bca stereo_example/Calib_Results_right.mat
9621899098adffa1440c8264606bb7be535ccfd9ad126ae8e0bd9b0c5a5b8676 stereo_example/left01.jpg
052e700bbcc865c112958ec2ea105cb1bce4deca50ac8d6efae13adca9df7a2c stereo_example/left02.jpg
c85b9426c3d8fcf161e1e727356105091009c3fd0b1b1a65bc2da91fea2724d2 stereo_example/left03.jpg
b490599dccfbfe5eb56d33363415b02227a9548ab8c9b8e7b05d3580e97266d9 stereo_example/left04.jpg
40bab8934fa76f82ec614a7fd0e6ebb4d9f74391d5e8b0c6f2f0ed6080c6c4de stereo_example/left05.jpg
1cb164db61b3bd52f58a7e9340bb27c5e0278895bc80b6f292fba5cf9bccc4a1 stereo_example/left06.jpg
d2211fe9f971646b6ff88ed93a4f0d3f443741eb2894095cba15caade7c8c6e4 stereo_example/left07.jpg
f7a0737894812a28243af5b409c5689f4fadfe7610958b8ca5fc79aec2f2cd1b stereo_example/left08.jpg
753939bc62d093c001d9118e989bef2b887f1b2f9ac03603df915a8b85aa81d3 stereo_example/left09.jpg
264738ec3e092177e09fb9fc8772749eff106e0a76cb5e5f253f51579d1be3a2 stereo_example/left10.jpg
e736ace3d515c94c547009c3c10d818c81506ed7059cb31123749b9cc3f94ee8 stereo_example/left11.jpg
04bdd78b3b507fe0551aa7062a3ffd94846a147ee2bea7fb38082c720bdbe231 stereo_example/left12.jpg
2637fb6dd5e557f4fadb06b353a453eb0b9223f4671f6f572f815302bc4a70b3 stereo_example/left13.jpg
d4c032971dd7b859f9d6aed5090c9888bd8039b82e0604bee5bfe05444fce834 stereo_example/left14.jpg
94a160342fade4d0c4d2e94b8cb6c1e144a6e7682389d2991257e3a28625cb2d stereo_example/right01.jpg
f7819b2fcc45fdeff0cefd666a1f8bd2a5828c4d34367d7b6b6691f442bf1c42 stereo_example/right02.jpg
43a3cea1907be641268ea18478362ab6c459424a9d8b7265eb5fb2264fcfb894 stereo_example/right03.jpg
d5874ff3d948dbb673beb035dd70aef5e517119ff626ecdfd612fdd6a1eec32e stereo_example/right04.jpg
9382a24af5a21a9e3ec477bd4f74011e4bb10b0cdbc7e0de3ae60b75e95d650b stereo_example/right05.jpg
874b60edc8a53da477c6ee393184a1aafdc83ceaedcb4d0535f7c482d1c80e76 stereo_example/right06.jpg
446093eead30c8cb1e51c8d01d322907760a3a57876596a81af6bf0795e9be67 stereo_example/right07.jpg
5f1be870c8709fd5fc4dd578103b320018aabb4e18b8e8edaba9afbdd4d0b8f4 stereo_example/right08.jpg
de28e9f146f4b7de78b0e39be6682997a7428f8ec5ef4efc753415d4ff8d9d76 stereo_example/right09.jpg
73e32bbddcd60c729fbab6c4df7629b59e7cd1a57098685d514e9b4e96a69441 stereo_example/right10.jpg
2695e8f8e94eaef0bcfe56818090dada6dc76f53e30b77b97bea3a91080949db stereo_example/right11.jpg
07489b6a334fae390954bbbddedf03a0556163e5e364820838e881ebd3f33e0d stereo_example/right12.jpg
a576cc5e69668d65dd926366d103c4c77377e0cd71403e4e0fc278e335ed953c stereo_example/right13.jpg
e98bbe907610e9499d704bd0fe68d4adc158b19346cbc32f4cfe8a0014b1bd62 stereo_example/right14.jpg
"""  # noqa: E501

REGISTRY: dict[str, DatasetInfo] = _registry()
