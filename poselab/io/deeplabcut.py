"""DeepLabCut pose tables (``.h5`` and ``.csv``): predictions and label files.

DeepLabCut stores poses as a pandas DataFrame whose columns are a MultiIndex with levels
``scorer / bodyparts / coords`` (single animal) or ``scorer / individuals / bodyparts / coords``
(multi-animal), coords ``x, y`` (label files) or ``x, y, likelihood`` (predictions). The rows
are video frames (an integer index, predictions on a video) or labeled images (label files,
and predictions on labeled images), indexed by the image path relative to the DeepLabCut
project, either as one string ``labeled-data/<video>/img0042.png`` or as a 3-level MultiIndex
``("labeled-data", "<video>", "img0042.png")``.

:func:`read_deeplabcut` turns such a file into a pose Dataset (:mod:`poselab.core.poses`) and
remembers what is needed to write the same table back (:func:`write_deeplabcut`) in
JSON-serialisable attributes:

``dlc_scorer``
    the scorer level.
``dlc_layout``
    ``"single"`` or ``"multi"`` (column levels).
``dlc_kind``
    ``"predictions"`` (a likelihood column) or ``"labels"``.
``dlc_index``
    ``"frame"`` (integer index), ``"string"`` or ``"multiindex"`` (image paths).
``dlc_unique_parts``
    JSON list of the multi-animal "unique" body parts, stored under DeepLabCut's individual
    ``"single"`` (kept as an animal named ``"single"`` whose other parts are NaN).
``dlc_dtype``
    the values' dtype when it is not float64 (``"float32"``, ``"int64"``).
``dlc_columns``
    JSON list of ``[animal, part]`` pairs, only when the column order cannot be rebuilt from
    the animal and part order.

A table whose rows are images (label files, and predictions on labeled images) becomes a
labels Dataset (:func:`poselab.core.poses.validate_labels`): its rows run along the dim
``image``, indexed by each image path with forward slashes, in file order. A table whose rows
are video frames (predictions on a video) becomes a pose Dataset along ``frame``.
"""

from __future__ import annotations

import csv
import json
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import xarray as xr

from poselab.core import poses
from poselab.core.files import atomic_path
from poselab.core.poses import PoseDataError

__all__ = [
    "column_pairs",
    "from_deeplabcut_table",
    "read_deeplabcut",
    "read_deeplabcut_table",
    "to_deeplabcut_table",
    "write_deeplabcut",
]

SINGLE_LEVELS = ("scorer", "bodyparts", "coords")
MULTI_LEVELS = ("scorer", "individuals", "bodyparts", "coords")
WRITE_KEY = "df_with_missing"
UNIQUE_ANIMAL = "single"
SINGLE_ANIMAL_NAME = "animal0"
_COORD_NAMES = ("x", "y", "z")
_EXPECTED = (
    f"expected DeepLabCut column levels {SINGLE_LEVELS} (single animal) or {MULTI_LEVELS} "
    "(multi-animal), with coords x, y and optionally likelihood"
)


# --- reading ----------------------------------------------------------------------------------


def read_deeplabcut(
    path: str | os.PathLike, *, fps: float | None = None, video: str = ""
) -> xr.Dataset:
    """Read a DeepLabCut predictions or label file (``.h5`` or ``.csv``) as a pose Dataset.

    Parameters
    ----------
    path
        A DeepLabCut ``.h5`` (pandas HDF; any key, ``df_with_missing`` preferred) or ``.csv``
        (3 header rows, or 4 for multi-animal files).
    fps
        Frame rate of the video in frames per second; ``None`` when unknown (``time`` is NaN).
    video
        Path of the video relative to the project, or "".

    Returns
    -------
    xarray.Dataset
        Positions in pixels. Predictions keep their likelihood; label files get likelihood 1
        where a part is labelled and NaN where not. Tables indexed by image paths (label files)
        give a labels Dataset with rows along ``image`` (the paths, in file order); video
        predictions give a pose Dataset whose ``frame`` is the video's frame index.

    Raises
    ------
    PoseDataError
        If the file is not a DeepLabCut table (the message says which column levels were
        expected).
    """
    path = Path(path)
    table = read_deeplabcut_table(path)
    return _dataset_from_table(table, fps=fps, video=video, origin=str(path), owned=True)


def from_deeplabcut_table(
    table: pd.DataFrame, *, fps: float | None = None, video: str = "", origin: str = "table"
) -> xr.Dataset:
    """The pose (or labels) Dataset of a DeepLabCut DataFrame (as :func:`read_deeplabcut`);
    ``origin`` names the table in error messages."""
    return _dataset_from_table(table, fps=fps, video=video, origin=origin)


def read_deeplabcut_table(path: str | os.PathLike) -> pd.DataFrame:
    """The raw DeepLabCut DataFrame of a ``.h5`` or ``.csv`` file, exactly as stored."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no DeepLabCut file at {path}")
    suffix = path.suffix.lower()
    if suffix in (".h5", ".hdf5", ".hdf"):
        return _read_h5(path)
    if suffix == ".csv":
        return _read_csv(path)
    raise PoseDataError(f"{path}: a DeepLabCut file must end in .h5 or .csv; got {suffix!r}")


def _read_h5(path: Path) -> pd.DataFrame:
    try:
        with pd.HDFStore(path, mode="r") as store:
            keys = store.keys()
            if not keys:
                raise PoseDataError(
                    f"{path} holds no pandas table: not a DeepLabCut file ({_EXPECTED})"
                )
            key = f"/{WRITE_KEY}" if f"/{WRITE_KEY}" in keys else keys[0]
            if len(keys) > 1 and key != f"/{WRITE_KEY}":
                raise PoseDataError(
                    f"{path} holds several pandas tables {keys} and none is named "
                    f"{WRITE_KEY!r}: not a DeepLabCut file"
                )
            table = store[key]
    except PoseDataError:
        raise
    except Exception as error:  # PyTables raises its own HDF5ExtError (a RuntimeError) too
        reason = (str(error).strip().splitlines() or [type(error).__name__])[-1].strip()
        raise PoseDataError(
            f"{path} is not a pandas HDF5 table written by DeepLabCut ({reason})"
        ) from error
    if not isinstance(table, pd.DataFrame):
        raise PoseDataError(f"{path}: the stored object is a {type(table).__name__}, not a table")
    return table


def _read_csv(path: Path) -> pd.DataFrame:
    with open(path, newline="", encoding="utf-8") as handle:
        rows = [row for _, row in zip(range(5), csv.reader(handle))]
    levels = []
    for row in rows:
        if row and row[0] in MULTI_LEVELS and row[0] not in levels:
            levels.append(row[0])
        else:
            break
    if tuple(levels) not in (SINGLE_LEVELS, MULTI_LEVELS):
        first = [row[0] if row else "" for row in rows[: len(MULTI_LEVELS)]]
        raise PoseDataError(
            f"{path} is not a DeepLabCut CSV: the header rows start with {first}; {_EXPECTED} "
            "(one header row per level, its name in the first cell)"
        )
    # Files indexed by a MultiIndex leave the cells after 'scorer' empty, one per extra level.
    first_row = rows[0]
    n_index = 1
    while n_index < len(first_row) and first_row[n_index] == "":
        n_index += 1
    if n_index == 1:
        table = _read_csv_with_arrow(path, rows[: len(levels)])
        if table is not None:
            return table
    kwargs: dict = {}
    if int(pd.__version__.split(".")[0]) < 3:
        kwargs["float_precision"] = "round_trip"  # pandas 3 parses floats exactly by default
    table = pd.read_csv(
        path,
        header=list(range(len(levels))),
        index_col=list(range(n_index)) if n_index > 1 else 0,
        **kwargs,
    )
    if n_index > 1:
        table.index = table.index.set_names([None] * n_index)
    return table


def _read_csv_with_arrow(path: Path, header: list[list[str]]) -> pd.DataFrame | None:
    """A predictions CSV (integer frame index, numbers) read by pyarrow's multi-threaded parser.

    About 1.6x pandas' parser on two cores, with the same numbers (both parse floats exactly).
    None where pyarrow is not installed, or the file is not of that simple form (image paths
    as the index, text among the values, a ragged row): pandas then reads it, and says what
    is wrong where something is.
    """
    try:
        import pyarrow as pa
        import pyarrow.csv as pa_csv
    except ImportError:
        return None
    n_columns = len(header[0]) - 1
    if any(len(row) != n_columns + 1 for row in header):
        return None
    names = ["index", *(f"c{i}" for i in range(n_columns))]
    types = {"index": pa.int64(), **{name: pa.float64() for name in names[1:]}}
    try:
        data = pa_csv.read_csv(
            path,
            read_options=pa_csv.ReadOptions(skip_rows=len(header), column_names=names),
            convert_options=pa_csv.ConvertOptions(column_types=types),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    index = pd.Index(data.column(0).to_numpy(), dtype=np.int64)
    table = data.drop_columns(["index"]).to_pandas()  # one float block, copied in threads
    table.index = index
    table.columns = pd.MultiIndex.from_arrays([row[1:] for row in header], names=[row[0] for row in header])
    return table


def _dataset_from_table(
    table: pd.DataFrame, *, fps: float | None, video: str, origin: str, owned: bool = False
) -> xr.Dataset:
    columns = table.columns
    if not isinstance(columns, pd.MultiIndex) or columns.nlevels not in (3, 4):
        got = list(columns.names) if isinstance(columns, pd.MultiIndex) else "one level"
        raise PoseDataError(f"{origin}: columns have levels {got}; {_EXPECTED}")
    multi = columns.nlevels == 4
    names = [str(v) for v in columns.names]
    expected = MULTI_LEVELS if multi else SINGLE_LEVELS
    if any(n not in ("None", e) for n, e in zip(names, expected)):
        raise PoseDataError(f"{origin}: columns have levels {names}; {_EXPECTED}")
    scorers = columns.get_level_values(0).unique().tolist()
    if len(scorers) != 1:
        raise PoseDataError(f"{origin}: one scorer expected in the columns; found {scorers}")
    coords = [str(c) for c in columns.get_level_values(-1)]
    unknown = sorted(set(coords) - {*_COORD_NAMES, "likelihood"})
    if unknown or not {"x", "y"} <= set(coords):
        raise PoseDataError(
            f"{origin}: coords level holds {sorted(set(coords))}; {_EXPECTED}"
        )
    if columns.duplicated().any():
        duplicates = columns[columns.duplicated()].tolist()
        raise PoseDataError(f"{origin}: duplicate columns {duplicates}")
    if multi:
        animal_of = [str(a) for a in columns.get_level_values(1)]
    else:
        animal_of = [SINGLE_ANIMAL_NAME] * len(coords)
    part_of = [str(p) for p in columns.get_level_values(-2)]
    animals = list(dict.fromkeys(animal_of))
    parts = list(dict.fromkeys(part_of))
    space = [c for c in _COORD_NAMES if c in coords]
    if space not in (["x", "y"], ["x", "y", "z"]):
        raise PoseDataError(f"{origin}: coords {space} must be x, y or x, y, z")
    has_likelihood = "likelihood" in coords

    table, frames, image, index_form = _frames_of(table, origin)
    values = table.to_numpy()
    source_dtype = values.dtype
    try:
        values = values.astype(np.float64, copy=False)
    except (TypeError, ValueError) as error:
        raise PoseDataError(
            f"{origin}: the table holds values that are not numbers ({error})"
        ) from error
    n_frames = values.shape[0]
    slot_names = [*space, "likelihood"] if has_likelihood else list(space)
    every_pair = [(a, p) for a in animals for p in parts]
    in_order = list(zip(animal_of, part_of)) == [pair for pair in every_pair for _ in slot_names]
    if in_order and coords == slot_names * len(every_pair):
        # DeepLabCut's usual order: the table is already an (frame, animal, part, slot) block,
        # so the arrays are views of it (pandas' copy-on-write hands out read-only arrays and
        # poses are edited in place downstream: a table read here is ours to write, another is
        # copied once)
        if not values.flags.writeable:
            values = _writeable(values, owned)
        grid = values.reshape(n_frames, len(animals), len(parts), len(slot_names)).transpose(1, 2, 0, 3)
    else:
        # One slot per coord plus one for the likelihood; scattered in one vectorised assignment.
        slot = {name: i for i, name in enumerate(slot_names)}
        a_idx = np.array([animals.index(a) for a in animal_of], dtype=np.intp)
        p_idx = np.array([parts.index(p) for p in part_of], dtype=np.intp)
        c_idx = np.array([slot[c] for c in coords], dtype=np.intp)
        grid = np.full((len(animals), len(parts), n_frames, len(slot_names)), np.nan)
        grid[a_idx, p_idx, :, c_idx] = values.T
    position = grid[..., : len(space)]
    if has_likelihood:
        likelihood = grid[..., -1]
    else:
        likelihood = np.where(np.isnan(position).any(axis=-1), np.nan, 1.0)

    common = dict(animals=animals, parts=parts, fps=fps, source=f"DeepLabCut ({scorers[0]})", video=video)
    if image is None:
        ds = poses.from_arrays(position, likelihood, frames=frames, **common)
    else:
        ds = poses.labels_from_arrays(position, likelihood, images=image, **common)
    attrs = {
        "dlc_scorer": str(scorers[0]),
        "dlc_layout": "multi" if multi else "single",
        "dlc_kind": "predictions" if has_likelihood else "labels",
        "dlc_index": index_form,
    }
    pairs = list(dict.fromkeys(zip(animal_of, part_of)))
    unique: list[str] = []
    if multi and UNIQUE_ANIMAL in animals:
        unique = [p for a, p in pairs if a == UNIQUE_ANIMAL]
        attrs["dlc_unique_parts"] = json.dumps(unique)
    expected_coords = [*space, "likelihood"] if has_likelihood else list(space)
    default = _default_pairs(animals, parts, unique if multi else [])
    same_coords = coords == [c for _ in pairs for c in expected_coords]
    if pairs != default or not same_coords:
        attrs["dlc_columns"] = json.dumps([list(p) for p in pairs])
        if not same_coords:
            attrs["dlc_coords"] = json.dumps(coords)
    if source_dtype != np.float64:
        attrs["dlc_dtype"] = str(source_dtype)
    ds.attrs.update(attrs)
    return poses.with_provenance(ds, "read_deeplabcut", path=Path(origin).name)


def _writeable(values: np.ndarray, owned: bool) -> np.ndarray:
    """``values`` made writeable: in place where the table is ours alone, else a copy."""
    if owned:
        try:
            values.flags.writeable = True
            return values
        except ValueError:  # the memory itself is read-only
            pass
    return values.copy()


def _frames_of(
    table: pd.DataFrame, origin: str
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray | None, str]:
    """Frame indices, image paths (or None) and the index form of a DeepLabCut table."""
    index = table.index
    n = len(index)
    if isinstance(index, pd.MultiIndex):
        parts = [index.get_level_values(i).astype(str) for i in range(index.nlevels)]
        image = np.array(["/".join(p) for p in zip(*parts)], dtype=str) if n else np.array([], str)
        return table, np.arange(n, dtype=np.int64), _forward_slashes(image), "multiindex"
    if n == 0 or pd.api.types.is_integer_dtype(index.dtype):
        frames = np.asarray(index, dtype=np.int64)
        if n > 1 and not np.all(np.diff(frames) > 0):
            if len(np.unique(frames)) != n:
                raise PoseDataError(f"{origin}: the frame index has duplicate frames")
            warnings.warn(f"{origin}: frames are not in increasing order; sorted", stacklevel=3)
            table = table.sort_index()
            frames = np.asarray(table.index, dtype=np.int64)
        return table, frames, None, "frame"
    image = np.array([str(v) for v in index], dtype=str)
    return table, np.arange(n, dtype=np.int64), _forward_slashes(image), "string"


def _forward_slashes(paths: np.ndarray) -> np.ndarray:
    return np.char.replace(paths, "\\", "/") if paths.size else paths


def _default_pairs(animals: Sequence[str], parts: Sequence[str], unique: Sequence[str]) -> list:
    """DeepLabCut's column order: each individual's parts; 'single' holds the unique parts."""
    pairs = []
    for animal in animals:
        for part in parts:
            if unique and (animal == UNIQUE_ANIMAL) != (part in unique):
                continue
            pairs.append((animal, part))
    return pairs


# --- writing ----------------------------------------------------------------------------------


def write_deeplabcut(
    ds: xr.Dataset,
    path: str | os.PathLike,
    *,
    scorer: str | None = None,
    kind: Literal["auto", "predictions", "labels"] = "auto",
) -> Path:
    """Write a pose Dataset as a DeepLabCut ``.h5`` (key ``df_with_missing``) or ``.csv`` file.

    A Dataset read with :func:`read_deeplabcut` is written back with the same columns, index
    and values (``write_deeplabcut(read_deeplabcut(f), g)`` reproduces ``f``'s table).

    Parameters
    ----------
    ds
        A valid pose Dataset, or a labels Dataset (rows along ``image``), positions in pixels.
    path
        Target ``.h5`` or ``.csv`` path. The write is atomic (temporary file, then rename).
    scorer
        The scorer level; defaults to ``ds.attrs["dlc_scorer"]`` or ``"poselab"``.
    kind
        ``"predictions"`` writes x, y, likelihood; ``"labels"`` writes x, y indexed by image
        path. ``"auto"`` uses ``ds.attrs["dlc_kind"]`` when set, else ``"labels"`` for a labels
        Dataset and ``"predictions"`` for a pose Dataset.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".h5", ".hdf5", ".csv"):
        raise PoseDataError(f"write a DeepLabCut file to a .h5 or .csv path; got {path.name!r}")
    table = to_deeplabcut_table(ds, scorer=scorer, kind=kind)
    with atomic_path(path) as tmp:
        if suffix == ".csv":
            # Text keeps no dtype: float32 written in its own short form would read back as a
            # different float64, so write the (exactly widened) float64 values.
            if any(dtype == np.float32 for dtype in table.dtypes):
                table = table.astype(np.float64)
            table.to_csv(tmp)
        else:
            # pandas' "table" format (DeepLabCut's choice for predictions) cannot index rows
            # with a MultiIndex; DeepLabCut writes those label files "fixed", and so do we.
            fmt = "fixed" if isinstance(table.index, pd.MultiIndex) else "table"
            table.to_hdf(tmp, key=WRITE_KEY, mode="w", format=fmt)
    return path


def to_deeplabcut_table(
    ds: xr.Dataset,
    *,
    scorer: str | None = None,
    kind: Literal["auto", "predictions", "labels"] = "auto",
) -> pd.DataFrame:
    """The DeepLabCut DataFrame of a pose or labels Dataset (see :func:`write_deeplabcut`)."""
    labels = poses.is_labels(ds)
    poses.validate_labels(ds) if labels else poses.validate(ds)
    if kind not in ("auto", "predictions", "labels"):
        raise PoseDataError(f"kind must be 'auto', 'predictions' or 'labels'; got {kind!r}")
    attrs = ds.attrs
    if kind == "auto":
        kind = attrs.get("dlc_kind") or ("labels" if labels else "predictions")
    scorer = scorer if scorer is not None else str(attrs.get("dlc_scorer", "poselab"))
    animals = [str(a) for a in ds["animal"].values]
    parts = [str(p) for p in ds["part"].values]
    space = [str(c) for c in ds["coord"].values]
    layout = _layout(ds)
    position = ds["position"].values
    likelihood = ds["likelihood"].values
    pairs = column_pairs(ds)
    coords = [*space, "likelihood"] if kind == "predictions" else list(space)
    stored_coords = json.loads(attrs["dlc_coords"]) if "dlc_coords" in attrs else None
    if stored_coords is not None and len(stored_coords) == len(pairs) * len(coords):
        column_coords = stored_coords  # an unusual coord order kept from the source file
    else:
        column_coords = [c for _ in pairs for c in coords]

    # Gather every column in one fancy-indexing step from a (animal, part, frame, slot) grid.
    grid = np.concatenate([position, likelihood[..., None]], axis=-1)
    slot = {name: i for i, name in enumerate([*space, "likelihood"])}
    n_coords = len(column_coords) // max(len(pairs), 1)
    a_idx = np.repeat([animals.index(a) for a, _ in pairs], n_coords).astype(np.intp)
    p_idx = np.repeat([parts.index(p) for _, p in pairs], n_coords).astype(np.intp)
    c_idx = np.array([slot[c] for c in column_coords], dtype=np.intp)
    n_rows = ds.sizes["image" if labels else "frame"]
    values = grid[a_idx, p_idx, :, c_idx].T if len(c_idx) else np.empty((n_rows, 0))
    values = _cast(values, attrs.get("dlc_dtype"))

    per_column = [pair for pair in pairs for _ in range(n_coords)]
    if layout == "single":
        tuples = [(scorer, p, c) for (_, p), c in zip(per_column, column_coords)]
        names = list(SINGLE_LEVELS)
    else:
        tuples = [(scorer, a, p, c) for (a, p), c in zip(per_column, column_coords)]
        names = list(MULTI_LEVELS)
    columns = pd.MultiIndex.from_tuples(tuples, names=names)
    return pd.DataFrame(values, index=_index_to_write(ds, kind), columns=columns)


def _layout(ds: xr.Dataset) -> str:
    layout = ds.attrs.get("dlc_layout") or ("single" if ds.sizes["animal"] == 1 else "multi")
    return "multi" if layout == "single" and ds.sizes["animal"] != 1 else layout


def column_pairs(ds: xr.Dataset) -> list[tuple[str, str]]:
    """The ``(animal, part)`` pairs of the DeepLabCut table of ``ds``, in column order.

    A Dataset read with :func:`read_deeplabcut` gives the file's own columns (DeepLabCut's
    unique parts only under the individual ``"single"``); others get DeepLabCut's order, each
    animal's parts in turn.
    """
    animals = [str(a) for a in ds["animal"].values]
    parts = [str(p) for p in ds["part"].values]
    layout = _layout(ds)
    if layout == "single":
        return [(animals[0], p) for p in parts]
    known = ~np.isnan(ds["position"].values).all(axis=(2, 3))  # (animal, part) with any data
    if "dlc_columns" in ds.attrs:
        stored = [tuple(p) for p in json.loads(ds.attrs["dlc_columns"])]
        pairs = [(a, p) for a, p in stored if a in animals and p in parts]
        # Data added since reading (new animals or parts) is written too, never dropped.
        extra = [
            (a, p)
            for a, p in _default_pairs(animals, parts, [])
            if (a, p) not in pairs and known[animals.index(a), parts.index(p)]
        ]
        return pairs + extra
    if "dlc_unique_parts" in ds.attrs:
        unique = [p for p in json.loads(ds.attrs["dlc_unique_parts"]) if p in parts]
    elif UNIQUE_ANIMAL in animals:
        # No record: unique parts are those only 'single' has data for.
        others = [i for i, a in enumerate(animals) if a != UNIQUE_ANIMAL]
        single = animals.index(UNIQUE_ANIMAL)
        unique = [
            p
            for j, p in enumerate(parts)
            if known[single, j] and not known[others, j].any()
        ]
    else:
        unique = []
    if UNIQUE_ANIMAL not in animals:
        unique = []
    return _default_pairs(animals, parts, unique)


def _cast(values: np.ndarray, dtype: str | None) -> np.ndarray:
    """Back to the source file's dtype when that loses nothing (else stay float64)."""
    if not dtype or dtype == str(values.dtype):
        return values
    target = np.dtype(dtype)
    if np.issubdtype(target, np.integer) and (np.isnan(values).any() or np.any(values % 1)):
        return values
    cast = values.astype(target)
    if np.array_equal(cast.astype(values.dtype), values, equal_nan=True):
        return cast
    return values


def _index_to_write(ds: xr.Dataset, kind: str) -> pd.Index:
    form = ds.attrs.get("dlc_index")
    if poses.is_labels(ds):
        images = [str(v) for v in ds["image"].values]
    elif kind == "labels":
        frames = ds["frame"].values
        # DeepLabCut's own naming: labeled-data/<video>/img<frame, zero-padded>.png
        stem = Path(str(ds.attrs.get("video") or "video")).stem
        width = len(str(int(frames.max()))) if frames.size else 1
        images = [f"labeled-data/{stem}/img{int(f):0{width}d}.png" for f in frames]
    else:
        return pd.Index(ds["frame"].values.astype(np.int64))
    split = [tuple(i.split("/")) for i in images]
    if form is None or form == "frame":
        form = "multiindex" if split and all(len(s) == 3 for s in split) else "string"
    if form == "multiindex":
        lengths = {len(s) for s in split}
        if len(lengths) > 1:
            raise PoseDataError(
                f"cannot write a MultiIndex of image paths with {sorted(lengths)} levels; "
                "set ds.attrs['dlc_index'] = 'string'"
            )
        if not split:
            return pd.MultiIndex.from_arrays([[], [], []])
        return pd.MultiIndex.from_tuples(split)
    return pd.Index(images, dtype=object if not images else None)
