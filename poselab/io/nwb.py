"""Neurodata Without Borders (NWB) files with the ``ndx-pose`` extension.

NWB is how neuroscience labs archive and share data (DANDI); DeepLabCut, SLEAP (through
NeuroConv) and movement write pose estimates to it with ``ndx-pose``: per animal one
``PoseEstimation`` (in the processing module ``behavior``) holding one ``PoseEstimationSeries``
per part (positions, confidences and timestamps in seconds) and a ``Skeleton`` (part names and
edges).

:func:`write_nwb` writes one file for all animals (one ``PoseEstimation`` each, named after
the animal; a single animal is also the file's subject). The video (an external
``ImageSeries`` with the image size), software and model go into ``PoseEstimation``'s own
fields (``source_video``, ``source_software``, ``scorer``), and what NWB has no field for (the frame rate when unknown,
units, provenance, the model card) into a JSON note in the file's scratch space, so that
:func:`read_nwb` gives the Dataset back exactly. :func:`read_nwb` also reads files that other
tools wrote (movement's ``to_nwb_file``: one animal per file, named by the file's identifier).

Needs ``pynwb`` and ``ndx-pose`` (``pip install poselab[nwb]``).
"""

from __future__ import annotations

import datetime
import json
import math
import os
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from poselab.core import poses
from poselab.core.files import atomic_path
from poselab.core.poses import PoseDataError

__all__ = ["read_nwb", "read_nwb_skeleton", "write_nwb"]

_NOTE = "poselab"  # name of the scratch entry that carries what NWB has no field for
_MODULE = "behavior"
_DEFAULT_NAME = "PoseEstimation"  # ndx-pose's default name: one unnamed animal


def _nwb_modules():
    try:
        import ndx_pose
        import pynwb
    except ImportError as error:
        raise ImportError("NWB files need pynwb and ndx-pose: pip install 'poselab[nwb]'") from error
    return pynwb, ndx_pose


def write_nwb(
    ds: xr.Dataset,
    path: str | os.PathLike,
    *,
    skeleton: Sequence[tuple[str, str]] = (),
    model_card: dict[str, Any] | None = None,
    session_description: str = "pose estimates from poselab",
    session_start_time: datetime.datetime | None = None,
) -> Path:
    """Write a pose Dataset to an NWB file (``ndx-pose``), atomically.

    Parameters
    ----------
    ds
        A valid pose Dataset (one or more animals).
    path
        The ``.nwb`` file to write (replaced if it exists).
    skeleton
        Edges as pairs of part names (a project's ``skeleton``), stored as the NWB skeleton.
    model_card
        The model that made the poses (``model.card``), kept as metadata.
    session_description
        NWB's required description of the session.
    session_start_time
        When the recording started (timezone-aware); default now, in UTC.

    Returns
    -------
    pathlib.Path
        The file written.

    Notes
    -----
    NWB times are seconds: a frame's timestamp is ``frame / fps``; where the frame rate is
    unknown the timestamps are the frame indices (and the note says so).
    """
    poses.validate(ds)
    pynwb, ndx_pose = _nwb_modules()
    parts = [str(p) for p in ds["part"].values]
    edges = _edges(skeleton, parts)
    fps = float(ds.attrs["fps"])
    frames = ds["frame"].values.astype(np.int64)
    timestamps = frames / fps if not math.isnan(fps) else frames.astype(np.float64)
    animals = [str(a) for a in ds["animal"].values]
    single = len(animals) == 1
    start = session_start_time or datetime.datetime.now(datetime.timezone.utc)
    subject = pynwb.file.Subject(subject_id=animals[0]) if single else None
    nwbfile = pynwb.NWBFile(session_description=session_description, identifier=str(uuid.uuid4()),
                            session_start_time=start, subject=subject)
    module = nwbfile.create_processing_module(name=_MODULE, description="processed behavioral data")
    skeletons = []
    video = None
    units = str(ds.attrs["units"])
    for animal in animals:
        series = []
        for part in parts:
            xy = ds["position"].sel(animal=animal, part=part).values  # (frame, coord)
            series.append(ndx_pose.PoseEstimationSeries(
                name=part, data=xy, confidence=ds["likelihood"].sel(animal=animal, part=part).values,
                timestamps=timestamps, unit=units,
                reference_frame="(0, 0) is the centre of the image's top-left pixel; x right, y down"))
        skel = ndx_pose.Skeleton(name=f"{animal}_skeleton", nodes=parts,
                                 edges=np.asarray(edges, dtype=np.uint16).reshape(-1, 2), subject=subject)
        skeletons.append(skel)
        extra: dict[str, Any] = {}
        if ds.attrs["video"]:
            if video is None:  # one video for all animals, referenced, not copied
                size = {"dimension": [int(ds.attrs["width"]), int(ds.attrs["height"])]} \
                    if ds.attrs["width"] and ds.attrs["height"] else {}
                timing = {"rate": fps} if not math.isnan(fps) else {"timestamps": timestamps}
                if not math.isnan(fps) and _accepts(pynwb.image.ImageSeries, "num_samples"):
                    timing["num_samples"] = int(frames.max(initial=-1)) + 1  # at least these frames
                video = pynwb.image.ImageSeries(name="video", external_file=[ds.attrs["video"]],
                                                format="external", starting_frame=[0], **size, **timing)
                nwbfile.add_acquisition(video)
            extra["source_video"] = video
        if model_card:
            extra["scorer"] = str(model_card.get("backbone", "poselab model"))
        module.add(ndx_pose.PoseEstimation(
            name=animal, pose_estimation_series=series, skeleton=skel,
            description=f"Estimated positions of {', '.join(parts)} of {animal} with {ds.attrs['source']}.",
            source_software="poselab", source_software_version=_version(ds.attrs["source"]), **extra))
    module.add(ndx_pose.Skeletons(skeletons=skeletons))
    note = {"attrs": {k: ds.attrs[k] for k in poses.REQUIRED_ATTRS}, "model_card": model_card}
    nwbfile.add_scratch(json.dumps(note, default=str), name=_NOTE,
                        description="poselab: attributes NWB has no field for (JSON)")
    path = Path(path)
    with atomic_path(path) as tmp, pynwb.NWBHDF5IO(str(tmp), mode="w") as io:
        io.write(nwbfile)
    return path


def read_nwb(path: str | os.PathLike, *, module: str | None = None) -> xr.Dataset:
    """Read the pose estimates of an NWB file (``ndx-pose``) into a pose Dataset.

    Parameters
    ----------
    path
        An ``.nwb`` file written by poselab, movement, DeepLabCut, SLEAP/NeuroConv...
    module
        The processing module to read (default: every module; pose data is usually in
        ``behavior``).

    Returns
    -------
    xarray.Dataset
        One animal per ``PoseEstimation`` (named after it, or after the file's subject or
        identifier where it has ndx-pose's default name), the parts of all of them. A file
        written by :func:`write_nwb` comes back exactly as it was written.

    Raises
    ------
    PoseDataError
        If the file holds no ``PoseEstimation`` (the message lists what it holds), or its
        series disagree in length.
    """
    pynwb, ndx_pose = _nwb_modules()
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no NWB file at {path}")
    try:
        io = pynwb.NWBHDF5IO(str(path), mode="r", load_namespaces=True)
        nwbfile = io.read()
    except Exception as error:  # h5py, hdmf: the file is not a readable NWB file
        raise PoseDataError(f"{path} is not a readable NWB file: {error}") from error
    with io:
        estimates = _pose_estimations(nwbfile, ndx_pose, module)
        if not estimates:
            held = {name: sorted(m.data_interfaces) for name, m in nwbfile.processing.items()}
            raise PoseDataError(f"{path} holds no ndx-pose PoseEstimation (processing modules: {held}); "
                                "it has no pose estimates to read")
        note = _note(nwbfile)
        return _dataset(path, nwbfile, estimates, note)


def read_nwb_skeleton(path: str | os.PathLike) -> list[tuple[str, str]]:
    """The skeleton edges (pairs of part names) of the first ``PoseEstimation`` of an NWB file."""
    pynwb, ndx_pose = _nwb_modules()
    with pynwb.NWBHDF5IO(str(path), mode="r", load_namespaces=True) as io:
        estimates = _pose_estimations(io.read(), ndx_pose, None)
        if not estimates or estimates[0].skeleton is None:
            return []
        skel = estimates[0].skeleton
        nodes = [str(n) for n in skel.nodes[:]]
        return [(nodes[int(a)], nodes[int(b)]) for a, b in np.asarray(skel.edges[:]).reshape(-1, 2)]


def _pose_estimations(nwbfile: Any, ndx_pose: Any, module: str | None) -> list[Any]:
    found = []
    for name, mod in nwbfile.processing.items():
        if module is None or name == module:
            found += [obj for obj in mod.data_interfaces.values() if isinstance(obj, ndx_pose.PoseEstimation)]
    return found


def _note(nwbfile: Any) -> dict[str, Any] | None:
    try:
        entry = nwbfile.get_scratch(_NOTE, convert=False)
    except (KeyError, ValueError):
        return None
    data = entry.data
    text = data if isinstance(data, str) else np.asarray(data).item()
    return json.loads(text.decode() if isinstance(text, bytes) else text)


def _dataset(path: Path, nwbfile: Any, estimates: list[Any], note: dict[str, Any] | None) -> xr.Dataset:
    names = [_animal_name(nwbfile, pe, len(estimates)) for pe in estimates]
    parts = list(dict.fromkeys(p for pe in estimates for p in _part_order(pe)))
    first = next(iter(estimates[0].pose_estimation_series.values()))
    times = _timestamps(first)
    n, dims = len(times), np.asarray(first.data).shape[1]
    position = np.full((len(estimates), len(parts), n, dims), np.nan)
    likelihood = np.full((len(estimates), len(parts), n), np.nan)
    for a, pe in enumerate(estimates):
        for name, series in pe.pose_estimation_series.items():
            data = np.asarray(series.data[:], dtype=np.float64)
            if data.shape != (n, dims) or len(_timestamps(series)) != n:
                raise PoseDataError(f"{path}: series {name!r} of {pe.name!r} has {data.shape} positions; "
                                    f"expected {(n, dims)} like the others")
            p = parts.index(name)
            position[a, p] = data
            if series.confidence is not None:
                likelihood[a, p] = np.asarray(series.confidence[:], dtype=np.float64)
            else:
                likelihood[a, p] = np.where(np.isfinite(data).all(-1), 1.0, np.nan)
    if note is not None:  # written by poselab: everything as it was
        attrs = dict(note["attrs"])
        fps = float(attrs.pop("fps"))
        provenance = attrs.pop("provenance")
    else:
        fps = _frame_rate(first, times)
        provenance = "[]"
        attrs = _attrs_of(estimates[0])
    frames = np.round(times * fps) if not math.isnan(fps) else np.round(times)
    ds = poses.from_arrays(position, likelihood, animals=names, parts=parts, frames=frames.astype(np.int64),
                           fps=None if math.isnan(fps) else fps, **attrs)
    ds.attrs["provenance"] = provenance
    return ds


def _part_order(estimate: Any) -> list[str]:
    """Part names in the skeleton's order (NWB keeps the series sorted by name)."""
    series = list(estimate.pose_estimation_series)
    skeleton = getattr(estimate, "skeleton", None)
    nodes = [str(n) for n in skeleton.nodes[:]] if skeleton is not None else []
    return [n for n in nodes if n in series] + [n for n in series if n not in nodes]


def _animal_name(nwbfile: Any, estimate: Any, count: int) -> str:
    if estimate.name != _DEFAULT_NAME or count > 1:
        return str(estimate.name)
    subject = getattr(nwbfile, "subject", None)
    if subject is not None and subject.subject_id:
        return str(subject.subject_id)
    return str(nwbfile.identifier)


def _timestamps(series: Any) -> np.ndarray:
    if series.timestamps is not None:
        return np.asarray(series.timestamps[:], dtype=np.float64)
    n = len(series.data)
    return float(series.starting_time or 0.0) + np.arange(n) / float(series.rate)


def _frame_rate(series: Any, times: np.ndarray) -> float:
    if series.rate:
        return float(series.rate)
    steps = np.diff(times)
    steps = steps[steps > 0]
    return round(float(1 / np.median(steps)), 6) if steps.size else float("nan")


def _attrs_of(estimate: Any) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    software = estimate.source_software or "unknown"
    version = estimate.source_software_version
    attrs["source"] = f"{software} {version}" if version else str(software)
    video = getattr(estimate, "source_video", None)
    if video is not None and video.external_file is not None and len(video.external_file):
        attrs["video"] = str(video.external_file[0])
        if video.dimension is not None and len(video.dimension) >= 2:
            attrs["width"], attrs["height"] = (int(v) for v in np.asarray(video.dimension[:2]))
    else:  # files of ndx-pose < 0.2
        videos = getattr(estimate, "original_videos", None)
        if videos is not None and len(videos):
            attrs["video"] = str(videos[0])
        dims = getattr(estimate, "dimensions", None)
        if dims is not None and len(dims):
            attrs["width"], attrs["height"] = (int(v) for v in np.asarray(dims[0]))
    first = next(iter(estimate.pose_estimation_series.values()))
    attrs["units"] = str(first.unit or "pixels")
    return attrs


def _edges(skeleton: Sequence[tuple[str, str]], parts: list[str]) -> list[tuple[int, int]]:
    edges = []
    for a, b in skeleton:
        if a not in parts or b not in parts:
            raise PoseDataError(f"skeleton edge ({a!r}, {b!r}) names a part not in the data {parts}")
        edges.append((parts.index(a), parts.index(b)))
    return edges


def _accepts(cls: Any, name: str) -> bool:
    """Whether a pynwb class takes an argument (``num_samples`` is new in pynwb 3)."""
    return any(arg["name"] == name for arg in getattr(cls.__init__, "__docval__", {}).get("args", []))


def _version(source: str) -> str:
    words = str(source).split()
    return words[1] if len(words) > 1 else ""
