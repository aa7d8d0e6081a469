"""Video analysis: streaming, batched inference into the pose Dataset; resumable; on Dask.

The pipeline overlaps its stages: a background thread decodes frames (OpenCV releases the GIL),
crops and resizes them to the network's input, while the main thread runs the network and the
decoder on the previous batch. Memory is bounded by a few batches, whatever the video's length.
Results are written in chunks of ``chunk_frames`` frames to a Zarr checkpoint beside the output,
so a killed job resumes from its last written chunk.

Example
-------
>>> ds = analyze_video(model, "videos/mouse.mp4", out="poses/mouse.nc")
>>> paths = analyze_videos(model, videos, out_dir="poses", client=Client("tcp://scheduler:8786"))
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import itertools
import json
import math
import os
import queue
import shutil
import threading
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from tqdm.auto import tqdm

from poselab._version import __version__
from poselab.core import poses
from poselab.core.errors import PoselabError
from poselab.core.files import atomic_path, write_text_atomic
from poselab.core.resources import (
    BatchRequest,
    Resources,
    allowed_resources,
    fit_batch_to_memory,
    fit_torch_threads,
    release_freed_memory,
    step_memory,
)
from poselab.io.video import open_video

__all__ = ["AnalysisError", "AnalysisOptions", "DetectionStore", "MultiAnimalOptions",
           "analyze_video", "analyze_videos", "follow_window", "join_detections", "split_detections"]


SEGMENT_BATCHES = 8  # batches per stretch a parallel decode thread takes (a seek each)
FOLLOW_LIKELIHOOD = 0.5  # parts at or above it place the window of follow_crop
FOLLOW_EDGE = 8  # pixels: a part this close to the window's inner edge may be cut off

class AnalysisError(PoselabError, ValueError):
    """A video analysis cannot run as asked (the message says what to change)."""


#: Frames per forward pass when ``AnalysisOptions.batch_size`` is None, on a CPU and on a GPU.
CPU_BATCH_SIZE, GPU_BATCH_SIZE = 4, 16


@dataclass(frozen=True)
class AnalysisOptions:
    """How frames go through the network (the settings a resumed run must share, apart from
    ``device`` and ``decode_workers``, which change how fast, not what).

    Attributes
    ----------
    batch_size : int or None
        Frames per forward pass. None: 4 on a CPU, 16 on a GPU. On a CPU small batches are
        as fast or faster and take far less memory (640x480 frames, lite0: 3.0-3.2 frames/s on
        one core and 1.3 GiB with 4, 2.6-2.9 frames/s and 2.3 GiB with 16; BENCHMARKS.md).
    crop : tuple of int or None
        ``(x0, y0, x1, y1)`` in pixels: analyze only this region (positions stay in full-frame
        pixels).
    downscale : float
        Extra factor (> 1 shrinks) applied before the network, for speed on large frames.
    chunk_frames : int
        Frames per checkpoint chunk (rounded down to a multiple of ``batch_size``).
    follow_crop : int or None
        Side of a square window, image pixels, that follows the animal: each batch is cropped
        around the parts seen (likelihood >= 0.5) in the last frame of the batch before, so the
        network sees a fraction of each frame at full resolution (3x the frames/s at 640x480 with
        a 256 px window, BENCHMARKS.md). Frames where the window lost the animal (no part seen,
        or a part at the window's inner edge) are analyzed again whole. Make it about twice the
        animal's length; one animal only. None: whole frames.
    decode_workers : int or None
        Threads decoding the video side by side, each its own stretch of frames (the results do
        not depend on it, so a resumed run may change it). None: one. On the 2-core CPU the
        network is the limit and more threads take its cores; on an H200 with 16 cores, four
        threads decode 1.5x as fast as one, but the whole analysis ran slower with them
        (722 against 1072 frames/s, BENCHMARKS.md), so more is for machines where it measures
        faster.
    device : str or None
        Where the network runs: ``"cuda"``, ``"cpu"``...; None: CUDA when available. A resumed
        run may change it.
    """

    batch_size: int | None = None
    crop: tuple[int, int, int, int] | None = None
    downscale: float = 1.0
    chunk_frames: int = 1024
    decode_workers: int | None = None
    follow_crop: int | None = None
    device: str | None = None

    def on(self, device: Any) -> AnalysisOptions:
        """These options with the batch size settled for ``device`` (a ``torch.device``)."""
        if self.batch_size is not None:
            return self
        batch = CPU_BATCH_SIZE if getattr(device, "type", str(device)) == "cpu" else GPU_BATCH_SIZE
        return dataclasses.replace(self, batch_size=batch).checked()

    def checked(self) -> AnalysisOptions:
        """These options validated and normalised (raises :class:`AnalysisError`)."""
        batch = None if self.batch_size is None else int(self.batch_size)  # None: settled by on()
        if batch is not None and batch < 1:
            raise AnalysisError(f"batch_size must be >= 1; got {self.batch_size}")
        if not float(self.downscale) > 0:
            raise AnalysisError(f"downscale must be positive; got {self.downscale}")
        if self.decode_workers is not None and int(self.decode_workers) < 1:
            raise AnalysisError(f"decode_workers must be >= 1 (or None for the default); got {self.decode_workers}")
        if self.follow_crop is not None and int(self.follow_crop) < 32:
            raise AnalysisError(f"follow_crop is the side of the window in pixels (>= 32) or None; got {self.follow_crop}")
        if self.follow_crop is not None and self.crop is not None:
            raise AnalysisError("crop and follow_crop exclude each other: give one")
        return AnalysisOptions(batch_size=batch, crop=_check_crop(self.crop),
                               downscale=float(self.downscale),
                               chunk_frames=(int(self.chunk_frames) if batch is None
                                             else max(batch, int(self.chunk_frames) // batch * batch)),
                               decode_workers=None if self.decode_workers is None else int(self.decode_workers),
                               follow_crop=None if self.follow_crop is None else int(self.follow_crop),
                               device=None if self.device is None else str(self.device))


@dataclass(frozen=True)
class MultiAnimalOptions:
    """What a multi-animal analysis needs beyond the frames: how many animals, and how found
    parts become animals and animals identities.

    Attributes
    ----------
    n_animals : int
        Number of animals (identities) in the video.
    names : tuple of str or None
        Identity names (default ``animal0``, ``animal1``...).
    decoding : dict or None
        Peak finding and assembly settings (:data:`poselab.multianimal.DECODING`: ``threshold``,
        ``min_affinity``, ``min_parts``...); part of what a resumed run must share.
    tracking : poselab.multianimal.TrackingConfig or None
        How detections link into tracklets and tracklets into identities (default its
        defaults). Not part of the checkpoint: a rerun with other tracking settings reuses the
        stored detections and skips the network.
    """

    n_animals: int
    names: tuple[str, ...] | None = None
    decoding: dict[str, Any] | None = None
    tracking: Any = None

    def checked(self) -> MultiAnimalOptions:
        """These options validated (raises :class:`AnalysisError`)."""
        n = int(self.n_animals)
        if n < 1:
            raise AnalysisError(f"n_animals must be >= 1; got {self.n_animals}")
        names = None if self.names is None else tuple(str(a) for a in self.names)
        if names is not None and len(names) != n:
            raise AnalysisError(f"{len(names)} names for {n} animals: give one name per animal")
        return MultiAnimalOptions(n, names, dict(self.decoding or {}), self.tracking)


def analyze_video(
    model: Any,
    video: str | os.PathLike,
    options: AnalysisOptions | None = None,
    *,
    out: str | os.PathLike | None = None,
    frames: tuple[int, int] | None = None,
    resume: bool = True,
    progress: bool = True,
    resources: Resources | None = None,
    animals: int | MultiAnimalOptions | None = None,
    **settings: Any,
) -> xr.Dataset:
    """Predict the poses in every frame of a video, of one animal or of several.

    Parameters
    ----------
    model
        A :class:`poselab.model.PoseModel` (or a path to a saved one), or a
        :class:`poselab.multianimal.MultiAnimalModel`: then every frame's animals are found,
        checkpointed and resumed the same way, and linked into ``animals`` identities at the end.
    video
        The video file.
    options
        :class:`AnalysisOptions` (``batch_size``, ``crop``, ``downscale``, ``chunk_frames``,
        ``device``...); each may also be given as a keyword
        (``analyze_video(model, video, downscale=2, device="cuda")``).
    out
        Where to save the result: ``.nc`` (NetCDF, default choice) or ``.zarr`` (for long
        videos). ``None``: only return it. While running, chunks go to ``<out>.partial.zarr``;
        with ``resume=True`` a job that was killed continues from its last written chunk.
    frames
        ``(start, stop)`` frame range to analyze (default: the whole video).
    resume
        Continue a killed job from ``<out>.partial.zarr`` (False: start again).
    progress
        Show a progress bar.
    resources
        The CPUs and memory to fit (default: :func:`~poselab.core.resources.allowed_resources`,
        the cgroup's limits). On the CPU a ``batch_size`` that would not fit the free memory is
        lowered, with a :class:`~poselab.core.resources.BatchSizeWarning`.
    animals
        For a multi-animal model: the number of animals, or :class:`MultiAnimalOptions`. The
        frames' detections are kept beside ``out`` in ``<out>.detections/`` (a few kB per frame):
        a killed job resumes from them, and a rerun with other ``tracking`` settings re-links
        them without the network.

    Returns
    -------
    xarray.Dataset
        The pose Dataset (the model's parts; one animal, or one per identity), with attrs
        ``bad_frames`` (number of unreadable frames, which are NaN) and the model's card in the
        provenance.

    Raises
    ------
    poselab.core.errors.ResourceError
        When not even one frame at a time fits the free memory.
    """
    job = _job(model, video, options, settings, animals, frames, resources)
    out_path = Path(out) if out is not None else None
    if out_path is not None and out_path.suffix.lower() not in (".nc", ".zarr"):
        raise AnalysisError(f"save results as .nc or .zarr; got {out_path.name}")
    signature = _signature(job.model, video, job.options, job.start, job.stop, job.animals)
    attrs = _attrs(job, out_path)
    bar = {"desc": f"analyze {Path(video).name}", "disable": not progress, "unit": "frame", "smoothing": 0.1}
    partial = None
    if job.animals is not None:
        store = (DetectionStore(out_path.with_name(out_path.name + ".detections"), signature)
                 if out_path is not None else None)
        found = _detections(job, store, resume, bar)
        ds, bad_total = _identities(job, found, attrs), int((~found["valid"]).sum())
    else:
        partial = out_path.with_name(out_path.name + ".partial.zarr") if out_path is not None else None
        ds, bad_total = _poses(job, partial, signature, resume, bar, attrs)
    ds = _finish(job, ds, bad_total, out_path)
    if partial is not None:
        shutil.rmtree(partial, ignore_errors=True)
    return ds


@dataclass
class _Job:
    """One analysis, settled: the model on its device, options fitted to it, the frame range."""

    model: Any
    video: str | os.PathLike
    options: AnalysisOptions
    animals: MultiAnimalOptions | None
    info: Any
    start: int
    stop: int
    whole: bool  # the whole video was asked for: padded to the frame count the file claims


def _job(model: Any, video, options: AnalysisOptions | None, settings: dict, animals, frames,
         resources: Resources | None) -> _Job:
    options = _options(options, settings)
    model = _as_model(model, options.device)
    animals = _animal_options(model, animals, options)
    resources = resources if resources is not None else allowed_resources()
    fit_torch_threads(resources)  # a JupyterHub server's 1 CPU, not the host's 32 cores
    with open_video(video) as reader:
        info = reader.info
        n_total = len(reader)
    options = options.on(model.device)
    if model.device.type == "cpu":  # a GPU's memory is not what the cgroup limits
        options = _batch_that_fits(model, info, options, resources)
    start, stop = (0, n_total) if frames is None else (int(frames[0]), min(int(frames[1]), n_total))
    if not 0 <= start < stop:
        raise AnalysisError(f"frame range {frames} is empty or outside the video's {n_total} frames")
    return _Job(model, video, options, animals, info, start, stop, frames is None)


def _attrs(job: _Job, out_path: Path | None) -> dict:
    info = job.info
    return {"fps": info.fps if info.fps and math.isfinite(info.fps) else None,
            "video": _relative_video(job.video, out_path), "width": info.width, "height": info.height,
            "source": f"poselab {__version__}"}


def _identities(job: _Job, found: dict[str, np.ndarray], attrs: dict) -> xr.Dataset:
    n_parts = len(job.model.parts)
    return job.model.identities(split_detections(found, n_parts), job.animals.n_animals,
                                job.animals.tracking, animals=job.animals.names, frames=found["frames"],
                                appearance=split_detections(found, n_parts, "appearance"), **attrs)


def _finish(job: _Job, ds: xr.Dataset, bad_total: int, out_path: Path | None) -> xr.Dataset:
    """Pad, record provenance, warn of bad frames, save: the end of every analysis."""
    if job.whole:
        ds, missing = _pad_to_claimed_length(ds, job.info)
        bad_total += missing
    ds.attrs["bad_frames"] = bad_total
    options, animals = job.options, job.animals
    many = {}
    if animals is not None:
        tracking = dataclasses.asdict(animals.tracking) if dataclasses.is_dataclass(animals.tracking) else None
        many = {"n_animals": animals.n_animals, "decoding": animals.decoding, "tracking": tracking}
    ds = poses.with_provenance(ds, "analyze_video", model=_card_summary(job.model), video=str(Path(job.video).name),
                               batch_size=options.batch_size, crop=options.crop, downscale=options.downscale,
                               follow_crop=options.follow_crop, frames=[job.start, job.stop], **many)
    if bad_total:
        warnings.warn(f"{job.video}: {bad_total} unreadable frames were left as NaN (see attrs['bad_frames'];"
                      " the file may be truncated or damaged)", stacklevel=3)
    if out_path is not None:
        if out_path.suffix.lower() == ".zarr":
            ds = ds.chunk({"frame": options.chunk_frames})
        poses.save(ds, out_path)
        ds = poses.load(out_path, lazy=False)
    release_freed_memory()  # the batches' freed memory back to the kernel (and the cgroup)
    return ds


def _poses(job: _Job, partial: Path | None, signature: str, resume: bool, bar: dict,
           attrs: dict) -> tuple[xr.Dataset, int]:
    """One animal's poses, checkpointed to ``partial`` (Zarr); and the unreadable frames."""
    model, video, options, start, stop = job.model, job.video, job.options, job.start, job.stop
    done_until = start
    if partial is not None and partial.exists():
        done_until = _resume_point(partial, signature, start) if resume else start
        if done_until == start:
            shutil.rmtree(partial)
    in_memory: list[xr.Dataset] = []
    bad_total = 0
    progress = tqdm(total=stop - start, initial=done_until - start, **bar)
    try:
        for chunk in _run(model, video, options, done_until, stop):
            chunk_ds = _to_dataset(model, chunk, attrs)
            bad_total += int((~chunk["valid"]).sum())
            if partial is not None:
                chunk_ds.attrs["analysis_signature"] = signature
                poses.append_zarr(chunk_ds, partial, chunk_frames=options.chunk_frames)
            else:
                in_memory.append(chunk_ds)
            progress.update(len(chunk["frames"]))
    finally:
        progress.close()
    if partial is not None:
        ds = poses.load(partial, lazy=False)
        bad_total = int((~np.isfinite(ds["likelihood"]).any(["animal", "part"])).sum())
    else:
        ds = xr.concat(in_memory, dim="frame") if len(in_memory) > 1 else in_memory[0]
    ds.attrs.pop("analysis_signature", None)
    return ds, bad_total


def _detections(job: _Job, store: DetectionStore | None, resume: bool, bar: dict) -> dict[str, np.ndarray]:
    """Every frame's animals (:func:`split_detections` layout), checkpointed to ``store``."""
    start, stop = job.start, job.stop
    done_until = start
    if store is not None:
        done_until = store.resume_point(start) if resume else start
        if done_until == start:
            store.clear()
    in_memory: list[dict] = []
    progress = tqdm(total=stop - start, initial=done_until - start, **bar)
    try:
        for chunk in _run_detections(job.model, job.video, job.options, job.animals.decoding, done_until, stop):
            if store is not None:
                store.write(chunk)
            else:
                in_memory.append(chunk)
            progress.update(len(chunk["frames"]))
    finally:
        progress.close()
    return store.read(start, stop) if store is not None else join_detections(in_memory)


def analyze_videos(
    model: Any,
    videos: Sequence[str | os.PathLike],
    *,
    out_dir: str | os.PathLike | None = None,
    suffix: str = ".nc",
    client: Any = None,
    split_frames: int | None = None,
    **options: Any,
) -> list[xr.Dataset] | list[Path]:
    """Analyze several videos, locally or on a Dask cluster.

    Parameters
    ----------
    model
        A :class:`poselab.model.PoseModel` or the path of a saved model. With a ``client`` the
        workers load it once each from a file (a saved model's path is used as it is; an
        in-memory model is saved to ``out_dir`` first, which the workers must be able to read).
    videos
        Video files.
    out_dir
        Folder for the results, named ``<video stem><suffix>``; ``None`` returns Datasets.
    client
        A ``distributed.Client``: videos (or frame ranges of them, see ``split_frames``) run on
        its workers. Results are identical to a local run.
    split_frames
        With a client, cut each video into ranges of this many frames (rounded to whole
        batches) so that one long video is spread over many workers.
    **options
        Passed to :func:`analyze_video` (``batch_size``, ``crop``, ``downscale``, ``device``...).

    Returns
    -------
    list
        The Datasets (``out_dir=None``) or the written paths, in the order of ``videos``.
    """
    videos = [Path(v) for v in videos]
    out_paths = [None if out_dir is None else Path(out_dir) / f"{v.stem}{suffix}" for v in videos]
    if client is None:
        results = []
        for video, out in zip(videos, out_paths):
            ds = analyze_video(model, video, out=out, **options)
            results.append(ds if out is None else out)
        return results
    model_path = _model_file(model, out_dir)
    model = _as_model(model, "cpu") if isinstance(model, (str, os.PathLike)) else model
    batch = int(options.get("batch_size") or GPU_BATCH_SIZE)  # frame ranges are whole batches either way
    tasks = []
    for video in videos:
        with open_video(video) as reader:
            n = len(reader)
        step = n if not split_frames else max(batch, int(split_frames) // batch * batch)
        ranges = [(s, min(s + step, n)) for s in range(0, n, step)]
        tasks.append([client.submit(_remote_range, type(model), str(model_path), str(video.resolve()), r, options,
                                    pure=False) for r in ranges])
    results = []
    for video, out, futures in zip(videos, out_paths, tasks):
        if getattr(model, "finds_many_animals", False):  # the workers found the animals: identities here
            settings = {k: v for k, v in options.items() if k not in _NOT_ANALYSIS_OPTIONS + ("animals",)}
            job = _job(model, video, None, {**settings, "device": "cpu"}, options.get("animals"), None, None)
            found = join_detections(client.gather(futures))
            ds = _identities(job, found, _attrs(job, out))
            ds = _finish(job, ds, int((~found["valid"]).sum()), out)
            results.append(ds if out is None else out)
            continue
        parts = client.gather(futures)
        ds = xr.concat(parts, dim="frame") if len(parts) > 1 else parts[0]
        ds.attrs = dict(parts[0].attrs)
        ds.attrs["bad_frames"] = int(sum(p.attrs.get("bad_frames", 0) for p in parts))
        with open_video(video) as reader:
            ds, missing = _pad_to_claimed_length(ds, reader.info)
        ds.attrs["bad_frames"] += missing
        # Record the run as the local one would: one analysis of the whole range.
        history = poses.provenance(parts[0])
        history[-1]["parameters"]["frames"] = [int(parts[0]["frame"][0]), int(parts[-1]["frame"][-1]) + 1]
        ds.attrs["provenance"] = json.dumps(history, default=str)
        if out is not None:
            ds.attrs["video"] = _relative_video(video, out)
            poses.save(ds, out)
            results.append(out)
        else:
            results.append(ds)
    return results


# --- the pipeline -------------------------------------------------------------------------------


def _run(model: Any, video: str | os.PathLike, options: AnalysisOptions, start: int, stop: int) -> Iterator[dict]:
    """Yield result chunks ``{frames, xy (F, P, 2) image px, likelihood (F, P), valid (F,)}``."""
    import torch

    if options.follow_crop is not None:
        yield from _run_following(model, video, options, start, stop)
        return

    device = model.device
    scale = model.scale / options.downscale
    x0, y0 = (options.crop[0], options.crop[1]) if options.crop else (0, 0)
    buffers: dict[str, list] = {"frames": [], "xy": [], "likelihood": [], "valid": []}
    buffered = 0

    def collect(indices: np.ndarray, valid: np.ndarray, xy: Any, likelihood: Any, ready: Any) -> None:
        nonlocal buffered
        if ready is not None:
            ready.synchronize()
        xy = (xy.numpy().astype(np.float64) + 0.5) / scale - 0.5
        xy[..., 0] += x0
        xy[..., 1] += y0
        likelihood = likelihood.numpy().astype(np.float64)
        xy[~valid] = np.nan
        likelihood[~valid] = np.nan
        for key, value in (("frames", indices), ("xy", xy), ("likelihood", likelihood), ("valid", valid)):
            buffers[key].append(value)
        buffered += len(indices)

    was_training = model.net.training
    model.net.eval()
    try:
        with _decoded_batches(video, options, start, stop, scale, device.type) as batches, torch.inference_mode():
            # On a GPU the batches are launched one ahead of their collection: the device works
            # on batch i while this thread hands in batch i + 1 and converts batch i - 1.
            in_flight = None
            for item in itertools.chain(batches, [None]):  # None: flush the last batch
                if item is not None:
                    indices, images, valid = item
                    tensor = torch.as_tensor(images)  # pinned already when the device is a GPU
                    tensor = tensor.to(device, non_blocking=True).permute(0, 3, 1, 2).float().div_(255)
                    xy, likelihood = model.forward_pixels(tensor)
                    ready = None
                    if device.type == "cuda":
                        xy = xy.float().to("cpu", non_blocking=True)
                        likelihood = likelihood.float().to("cpu", non_blocking=True)
                        ready = torch.cuda.Event()
                        ready.record()
                    else:
                        xy, likelihood = xy.float(), likelihood.float()
                    launched = (indices, valid, xy, likelihood, ready)
                if in_flight is not None:
                    collect(*in_flight)
                in_flight = launched if item is not None else None
                if buffered >= options.chunk_frames or (item is None and buffered):
                    yield {k: np.concatenate(v) for k, v in buffers.items()}
                    buffers = {k: [] for k in buffers}
                    buffered = 0
    finally:
        model.net.train(was_training)


@contextlib.contextmanager
def _decoded_batches(video, options: AnalysisOptions, start: int, stop: int, scale: float,
                     device_type: str) -> Iterator[Iterator[tuple]]:
    """The frames ``start:stop`` as ``(indices, network-sized uint8 images, valid)`` batches,
    decoded by a background thread a few batches ahead (memory bounded by its queue)."""
    batches: queue.Queue = queue.Queue(maxsize=3)
    stop_event = threading.Event()
    thread = threading.Thread(target=_decode_batches, name="poselab-decode", daemon=True,
                              args=(video, options, start, stop, scale, batches, stop_event, device_type))
    thread.start()

    def items() -> Iterator[tuple]:
        while True:
            item = batches.get()
            if isinstance(item, BaseException):
                raise item
            if item is None:
                return
            yield item

    try:
        yield items()
    finally:
        stop_event.set()
        while thread.is_alive():  # unblock the decoder if it waits on a full queue
            try:
                batches.get_nowait()
            except queue.Empty:
                thread.join(timeout=0.05)


def _run_detections(model: Any, video, options: AnalysisOptions, decoding: dict, start: int,
                    stop: int) -> Iterator[dict[str, np.ndarray]]:
    """Yield chunks of every frame's animals (:func:`split_detections` layout, image pixels)."""
    import torch

    device = model.device
    scale = model.scale / options.downscale
    x0, y0 = (options.crop[0], options.crop[1]) if options.crop else (0, 0)
    n_parts = len(model.parts)
    chunk: dict[str, list] = {"frames": [], "valid": [], "points": [], "appearance": []}
    was_training = model.net.training
    model.net.eval()
    try:
        with _decoded_batches(video, options, start, stop, scale, device.type) as batches, torch.inference_mode():
            for indices, images, valid in batches:
                tensor = torch.as_tensor(images).to(device, non_blocking=True).permute(0, 3, 1, 2).float().div_(255)
                found, looks = model.detect_pixels(tensor, scale=scale, **decoding)
                for ok, animals, look in zip(valid, found, looks):
                    animals = np.asarray(animals, np.float64).reshape(-1, n_parts, 3)
                    animals = animals if ok else animals[:0]  # an unreadable frame finds nothing
                    animals[..., :2] = (animals[..., :2] + 0.5) / scale - 0.5 + np.array([x0, y0])
                    chunk["points"].append(animals)
                    chunk["appearance"].append(np.asarray(look, np.float32)[: len(animals)])
                chunk["frames"].append(np.asarray(indices))
                chunk["valid"].append(np.asarray(valid, bool))
                if sum(len(f) for f in chunk["frames"]) >= options.chunk_frames:
                    yield _as_detections(chunk, n_parts)
                    chunk = {key: [] for key in chunk}
            if chunk["frames"]:
                yield _as_detections(chunk, n_parts)
    finally:
        model.net.train(was_training)


def _as_detections(chunk: dict[str, list], n_parts: int) -> dict[str, np.ndarray]:
    return {"frames": np.concatenate(chunk["frames"]).astype(np.int64),
            "valid": np.concatenate(chunk["valid"]),
            "counts": np.array([len(a) for a in chunk["points"]], np.int64),
            "points": np.concatenate(chunk["points"]) if chunk["points"] else np.zeros((0, n_parts, 3)),
            "appearance": np.concatenate(chunk["appearance"])}


def split_detections(detections: dict[str, np.ndarray], n_parts: int,
                     key: str = "points") -> list[np.ndarray]:
    """Per-frame arrays from the flat layout of a multi-animal analysis.

    Parameters
    ----------
    detections
        ``frames (F,)``, ``valid (F,)`` (False: the frame could not be read), ``counts (F,)``
        (animals found in each frame), ``points (sum(counts), P, 3)`` (x, y in image pixels,
        peak score) and ``appearance (sum(counts), D)`` (how each looks), frames in order:
        what ``<out>.detections/`` stores (:meth:`DetectionStore.read`).
    n_parts
        Parts per animal.
    key
        ``"points"``: per frame ``(n_found, P, 3)``; ``"appearance"``: per frame ``(n_found, D)``.
    """
    ends = np.cumsum(detections["counts"])
    values = np.asarray(detections[key])
    if key == "points":
        values = values.reshape(-1, n_parts, 3)
    return list(np.split(values, ends[:-1])) if len(ends) else []


def join_detections(chunks: Sequence[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Consecutive chunks of detections (:func:`split_detections` layout) as one."""
    chunks = list(chunks)
    if not chunks:
        raise AnalysisError("no frames were analyzed")
    return {key: np.concatenate([c[key] for c in chunks]) for key in chunks[0]}


class DetectionStore:
    """A multi-animal analysis' detections, chunk by chunk, in a folder beside its result.

    Each chunk is one ``.npz`` file (:func:`split_detections` layout) written atomically, so a
    killed job leaves only whole chunks; ``analysis.json`` holds the signature of what was
    analyzed (model, video, frames, settings): chunks of another analysis are never mixed in.

    Parameters
    ----------
    folder
        The folder (``<out>.detections`` for :func:`analyze_video`).
    signature
        What the stored chunks must have been computed with.
    """

    def __init__(self, folder: str | os.PathLike, signature: str):
        self.folder = Path(folder)
        self.signature = signature

    def _chunks(self) -> list[tuple[int, int, Path]]:
        found = []
        for path in self.folder.glob("frames-*.npz"):
            try:
                first, stop = (int(v) for v in path.stem.split("-")[1:3])
            except ValueError:
                continue
            found.append((first, stop, path))
        return sorted(found)

    def resume_point(self, start: int) -> int:
        """The first frame from ``start`` on that no stored chunk holds (``start``: none)."""
        try:
            stored = json.loads((self.folder / "analysis.json").read_text())
        except (OSError, ValueError):
            return start
        if stored.get("signature") != self.signature:
            return start
        done = start
        for first, stop, _ in self._chunks():
            if first == done:
                done = stop
        return done

    def clear(self) -> None:
        """Remove every stored chunk and start the folder afresh for this signature."""
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        write_text_atomic(self.folder / "analysis.json", json.dumps({"signature": self.signature}))

    def write(self, chunk: dict[str, np.ndarray]) -> Path:
        """Store one chunk (atomic)."""
        first, last = int(chunk["frames"][0]), int(chunk["frames"][-1])
        path = self.folder / f"frames-{first:09d}-{last + 1:09d}.npz"
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, **chunk)
        return path

    def read(self, start: int, stop: int) -> dict[str, np.ndarray]:
        """The stored detections of frames ``start:stop``, whole chunks in order."""
        chunks, done = [], start
        for first, end, path in self._chunks():
            if first != done or done >= stop:
                continue
            with np.load(path) as data:
                chunks.append({key: data[key] for key in ("frames", "valid", "counts", "points", "appearance")})
            done = end
        if done < stop:
            raise AnalysisError(f"{self.folder} holds frames {start} to {done}, not to {stop}: "
                                "analyze again with resume=True to finish it")
        return join_detections(chunks)


def follow_window(shape: tuple[int, ...], xy: np.ndarray | None, likelihood: np.ndarray | None, side: int,
                  min_likelihood: float = FOLLOW_LIKELIHOOD) -> tuple[int, int, int, int] | None:
    """The square window ``(x0, y0, x1, y1)`` pixels, ``side`` wide, centred on the parts seen.

    Parameters
    ----------
    shape
        The frame's ``(height, width, ...)`` in pixels.
    xy, likelihood
        A pose: ``(P, 2)`` pixels and ``(P,)``; the parts at or above ``min_likelihood`` place
        the window (their mean is its centre).
    side
        The window's side, pixels; the window is shifted (not shrunk) to stay inside the frame.

    Returns
    -------
    tuple or None
        None when no part is seen, or when the window would cover the whole frame.
    """
    height, width = shape[:2]
    if xy is None or likelihood is None or (side >= width and side >= height):
        return None
    seen = np.isfinite(xy).all(axis=1) & (np.nan_to_num(likelihood) >= min_likelihood)
    if not seen.any():
        return None
    cx, cy = xy[seen].mean(axis=0)
    w, h = min(int(side), width), min(int(side), height)
    x0 = int(np.clip(round(cx - w / 2), 0, width - w))
    y0 = int(np.clip(round(cy - h / 2), 0, height - h))
    return (x0, y0, x0 + w, y0 + h)


def _run_following(model: Any, video, options: AnalysisOptions, start: int, stop: int) -> Iterator[dict]:
    """The ``follow_crop`` pipeline: whole frames decoded in a thread, windows cut here (each batch
    placed by the batch before), frames whose window lost the animal analyzed again whole."""
    import torch

    scale = model.scale / options.downscale
    whole = AnalysisOptions(batch_size=options.batch_size, chunk_frames=options.chunk_frames)
    batches: queue.Queue = queue.Queue(maxsize=3)
    stop_event = threading.Event()
    thread = threading.Thread(target=_decode_batches, name="poselab-decode", daemon=True,
                              args=(video, whole, start, stop, 1.0, batches, stop_event, "cpu"))
    thread.start()
    device = model.device
    side = int(options.follow_crop)
    last_xy = last_likelihood = None

    def network(images: np.ndarray, windows: list) -> tuple[np.ndarray, np.ndarray]:
        if scale != 1.0:
            import cv2

            h, w = images.shape[1:3]
            size = (max(1, round(w * scale)), max(1, round(h * scale)))
            interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
            images = np.stack([cv2.resize(im, size, interpolation=interp) for im in images])
        tensor = torch.from_numpy(np.ascontiguousarray(images)).to(device).permute(0, 3, 1, 2).float().div_(255)
        xy, likelihood = model.forward_pixels(tensor)
        xy = (xy.float().cpu().numpy().astype(np.float64) + 0.5) / scale - 0.5
        for k, window in enumerate(windows):
            if window is not None:
                xy[k] += window[:2]
        return xy, likelihood.float().cpu().numpy().astype(np.float64)

    buffers: dict[str, list] = {"frames": [], "xy": [], "likelihood": [], "valid": []}
    buffered = 0
    was_training = model.net.training
    model.net.eval()
    try:
        with torch.inference_mode():
            while True:
                item = batches.get()
                if isinstance(item, BaseException):
                    raise item
                if item is not None:
                    indices, frames, valid = item
                    window = follow_window(frames.shape[1:], last_xy, last_likelihood, side)
                    if window is None:  # nothing to follow yet: whole frames
                        xy, likelihood = network(frames, [None] * len(frames))
                    else:
                        x0, y0, x1, y1 = window
                        xy, likelihood = network(frames[:, y0:y1, x0:x1], [window] * len(frames))
                        lost = _lost(xy, likelihood, window, frames.shape[1:3]) & valid
                        if lost.any():
                            xy[lost], likelihood[lost] = network(frames[lost], [None] * int(lost.sum()))
                    xy[~valid] = np.nan
                    likelihood[~valid] = np.nan
                    if valid.any():
                        last = np.flatnonzero(valid)[-1]
                        last_xy, last_likelihood = xy[last], likelihood[last]
                    for key, value in (("frames", indices), ("xy", xy), ("likelihood", likelihood), ("valid", valid)):
                        buffers[key].append(value)
                    buffered += len(indices)
                if buffered >= options.chunk_frames or (item is None and buffered):
                    yield {k: np.concatenate(v) for k, v in buffers.items()}
                    buffers = {k: [] for k in buffers}
                    buffered = 0
                if item is None:
                    break
    finally:
        stop_event.set()
        while thread.is_alive():
            try:
                batches.get_nowait()
            except queue.Empty:
                thread.join(timeout=0.05)
        model.net.train(was_training)


def _lost(xy: np.ndarray, likelihood: np.ndarray, window: tuple[int, int, int, int], size: tuple[int, int]) -> np.ndarray:
    """Frames ``(B,)`` whose window lost the animal: no part seen, or a seen part at an inner edge."""
    x0, y0, x1, y1 = window
    height, width = size
    seen = np.isfinite(xy).all(axis=-1) & (np.nan_to_num(likelihood) >= FOLLOW_LIKELIHOOD)
    x, y = xy[..., 0], xy[..., 1]
    at_edge = ((x0 > 0) & (x < x0 + FOLLOW_EDGE)) | ((x1 < width) & (x > x1 - 1 - FOLLOW_EDGE)) | \
              ((y0 > 0) & (y < y0 + FOLLOW_EDGE)) | ((y1 < height) & (y > y1 - 1 - FOLLOW_EDGE))
    return ~seen.any(axis=1) | (seen & at_edge).any(axis=1)


def _decode_batches(video, options: AnalysisOptions, start: int, stop: int, scale: float, out: queue.Queue,
                    stop_event: threading.Event, device_type: str = "cpu") -> None:
    """Put ``(indices, network-sized images, valid)`` batches on ``out`` in frame order, then None."""
    workers = options.decode_workers or 1
    try:
        if workers == 1:
            with open_video(video) as reader:
                for batch in reader.iter_batches(options.batch_size, start=start, stop=stop):
                    if stop_event.is_set():
                        return
                    out.put(_network_batch(batch, options, scale, pin=device_type == "cuda"))
        else:
            _decode_in_parallel(video, options, start, stop, scale, out, stop_event, workers,
                                pin=device_type == "cuda")
        out.put(None)
    except BaseException as error:  # surfaced in the main thread
        out.put(error)


def _decode_in_parallel(video, options: AnalysisOptions, start: int, stop: int, scale: float, out: queue.Queue,
                        stop_event: threading.Event, workers: int, pin: bool) -> None:
    """Stretches of ``SEGMENT_BATCHES`` batches decoded by ``workers`` threads, handed on in order.

    Each thread keeps its own reader; at most ``workers + 1`` stretches are held at once, so
    memory stays bounded whatever the video's length.
    """
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    span = options.batch_size * SEGMENT_BATCHES
    stretches = iter(range(start, stop, span))
    local = threading.local()
    readers: list = []
    lock = threading.Lock()

    def decode(first: int) -> list:
        if stop_event.is_set():
            return []
        if not hasattr(local, "reader"):
            local.reader = open_video(video)
            with lock:
                readers.append(local.reader)
        batches = local.reader.iter_batches(options.batch_size, start=first, stop=min(first + span, stop))
        return [_network_batch(batch, options, scale, pin) for batch in batches]

    pool = ThreadPoolExecutor(workers, thread_name_prefix="poselab-decode")
    try:
        pending = deque(pool.submit(decode, first) for first in itertools.islice(stretches, workers + 1))
        while pending:
            batches = pending.popleft().result()
            following = next(stretches, None)
            if following is not None:
                pending.append(pool.submit(decode, following))
            for item in batches:
                if stop_event.is_set():
                    return
                out.put(item)
    finally:
        for future in pending:
            future.cancel()
        pool.shutdown(wait=True)
        for reader in readers:
            reader.close()


def _network_batch(batch: Any, options: AnalysisOptions, scale: float, pin: bool = False) -> tuple:
    """A decoded batch cropped and resized to the network's input (``pin``: in page-locked memory,
    as a tensor, so that the copy to the GPU runs asynchronously; done here, off the main thread)."""
    import cv2

    images = batch.frames
    if options.crop:
        x0, y0, x1, y1 = options.crop
        images = images[:, y0:y1, x0:x1]
    if scale != 1.0:
        h, w = images.shape[1:3]
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        images = np.stack([cv2.resize(im, size, interpolation=interp) for im in images])
    images = np.ascontiguousarray(images)
    if pin:
        import torch

        images = torch.from_numpy(images).pin_memory()
    return np.asarray(batch.indices), images, np.asarray(batch.valid, bool)


def _to_dataset(model: Any, chunk: dict, attrs: dict) -> xr.Dataset:
    position = chunk["xy"].transpose(1, 0, 2)[None]  # (1, P, F, 2)
    likelihood = chunk["likelihood"].T[None]
    return poses.from_arrays(position, likelihood, animals=["animal0"], parts=model.parts,
                             frames=chunk["frames"], **attrs)


# --- helpers ------------------------------------------------------------------------------------


def _pad_to_claimed_length(ds: xr.Dataset, info: Any) -> tuple[xr.Dataset, int]:
    """NaN frames up to the count the container claims, when fewer frames can be decoded.

    A truncated file (a recording that crashed) keeps its header's frame count: padding keeps
    the result aligned with what the experiment expects (e.g. one frame per camera trigger),
    and the missing frames are counted as bad rather than silently dropped.
    """
    n_decoded = int(ds["frame"].values[-1]) + 1 if ds.sizes["frame"] else 0
    missing = int(info.reported_frames) - n_decoded
    if missing <= 0 or n_decoded != info.n_frames:
        return ds, 0
    frames = np.arange(n_decoded, int(info.reported_frames))
    tail = ds.isel(frame=[0] * len(frames)).assign_coords(frame=frames)
    tail = tail.assign_coords(time=("frame", frames / ds.attrs["fps"] if ds.attrs.get("fps") else
                                    np.full(len(frames), np.nan)))
    tail["position"] = tail["position"].where(False)
    tail["likelihood"] = tail["likelihood"].where(False)
    padded = xr.concat([ds, tail], dim="frame")
    padded.attrs = ds.attrs
    return padded, missing


def _batch_that_fits(model: Any, info: Any, options: AnalysisOptions, resources: Resources) -> AnalysisOptions:
    """``options``, with a lower ``batch_size`` where a batch of frames would not fit the free memory."""
    from poselab.model.memory import ANALYSIS_MEMORY  # torch only when a model runs

    memory = step_memory(ANALYSIS_MEMORY, model.card.get("backbone"))
    # whole frames also under follow_crop: frames whose window lost the animal go through whole
    width, height = ((options.crop[2] - options.crop[0], options.crop[3] - options.crop[1]) if options.crop
                     else (info.width, info.height))
    scale = model.scale / options.downscale
    pixels = max(1, round(width * scale)) * max(1, round(height * scale))
    request = BatchRequest(
        options.batch_size, minimum=1, step="video analysis",
        advice=f"downscale (now {options.downscale:g}) or a crop to make the {width}x{height} frames smaller")
    batch = fit_batch_to_memory(request, memory, pixels, resources=resources, stacklevel=4)
    return options if batch == options.batch_size else dataclasses.replace(options, batch_size=batch).checked()


def _options(options: AnalysisOptions | None, settings: dict[str, Any]) -> AnalysisOptions:
    options = AnalysisOptions() if options is None else options
    known = {f.name for f in dataclasses.fields(AnalysisOptions)}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise TypeError(f"analyze_video got unknown setting(s) {unknown}; AnalysisOptions has {sorted(known)}")
    return dataclasses.replace(options, **settings).checked()


def _as_model(model: Any, device: str | None) -> Any:
    from poselab.model import PoseModel, load_model, load_onnx_model

    if isinstance(model, (str, os.PathLike)):  # .onnx: the network runs in ONNX Runtime (CPU)
        model = load_onnx_model(model) if Path(model).suffix.lower() == ".onnx" else load_model(model)
    if not isinstance(model, PoseModel):
        raise AnalysisError(f"expected a poselab PoseModel or a model file; got {type(model).__name__}")
    if device is None:
        import torch

        device = "cuda" if torch.cuda.is_available() else str(model.device)
    return model.to(device)


def _check_crop(crop: Sequence[int] | None) -> tuple[int, int, int, int] | None:
    if crop is None:
        return None
    if len(crop) != 4:
        raise AnalysisError(f"crop is (x0, y0, x1, y1) in pixels; got {crop}")
    x0, y0, x1, y1 = (int(v) for v in crop)
    if not (0 <= x0 < x1 and 0 <= y0 < y1):
        raise AnalysisError(f"crop (x0, y0, x1, y1) must have x0 < x1 and y0 < y1, all >= 0; got {crop}")
    return (x0, y0, x1, y1)


def _card_summary(model: Any) -> dict:
    card = model.card
    return {k: card.get(k) for k in ("backbone", "parts", "stride", "scale", "input_size", "data_hash")}


def _animal_options(model: Any, animals: int | MultiAnimalOptions | None,
                    options: AnalysisOptions) -> MultiAnimalOptions | None:
    """The multi-animal options for a multi-animal model (None for a one-animal model)."""
    if not getattr(model, "finds_many_animals", False):
        if animals not in (None, 1):
            raise AnalysisError(f"this model finds one animal; animals={animals!r} needs a multi-animal model "
                                "(poselab.multianimal.create_multianimal_model)")
        return None
    if animals is None:
        raise AnalysisError("a multi-animal model needs the number of animals: analyze_video(model, video, "
                            "animals=3) or animals=MultiAnimalOptions(3, tracking=...)")
    if options.follow_crop is not None:
        raise AnalysisError("follow_crop follows one animal; a multi-animal analysis takes whole frames "
                            "(or a fixed crop)")
    animals = (animals if isinstance(animals, MultiAnimalOptions) else MultiAnimalOptions(int(animals))).checked()
    try:
        decoding = model.decoding_settings(animals.decoding)
    except ValueError as error:
        raise AnalysisError(str(error)) from None
    return dataclasses.replace(animals, decoding=decoding)


def _signature(model: Any, video, options: AnalysisOptions, start: int, stop: int,
               animals: MultiAnimalOptions | None = None) -> str:
    """What a checkpoint must match to be resumed: model weights, video, options, range (and
    the decoding settings of a multi-animal analysis; not its tracking, which runs after)."""
    import torch

    digest = hashlib.sha256()
    for tensor in model.net.state_dict().values():
        if torch.is_floating_point(tensor):
            digest.update(tensor.detach().float().cpu().numpy().tobytes()[:4096])
    path = Path(video)
    stat = path.stat()
    settings = asdict(options)
    for how_fast in ("decode_workers", "device"):  # how fast, not what: a resumed run may change them
        settings.pop(how_fast)
    what = [_card_summary(model), path.name, stat.st_size, settings, start, stop]
    if animals is not None:
        what.append(animals.decoding)
    payload = json.dumps(what, default=str)
    digest.update(payload.encode())
    return digest.hexdigest()[:32]


def _resume_point(partial: Path, signature: str, start: int) -> int:
    try:
        stored = xr.open_zarr(partial, consolidated=False)
    except Exception:  # a checkpoint cut mid-write: start again rather than trust it
        return start
    if stored.attrs.get("analysis_signature") != signature or stored.sizes.get("frame", 0) == 0:
        return start
    return int(stored["frame"].values[-1]) + 1


def _relative_video(video, out: Path | None) -> str:
    base = out.parent if out is not None else Path.cwd()
    try:
        return Path(os.path.relpath(Path(video).resolve(), base.resolve())).as_posix()
    except ValueError:  # another drive on Windows
        return Path(video).name


def _model_file(model: Any, out_dir) -> Path:
    if isinstance(model, (str, os.PathLike)):
        return Path(model).resolve()
    folder = Path(out_dir) if out_dir is not None else Path.cwd()
    folder.mkdir(parents=True, exist_ok=True)
    return model.save(folder / "analysis-model.safetensors").resolve()


_WORKER_MODELS: dict[tuple, Any] = {}
# analyze_video's arguments that are not analysis settings: a worker sets them itself
_NOT_ANALYSIS_OPTIONS = ("out", "frames", "progress", "resources", "resume")


def _remote_range(model_class: type, model_path: str, video: str, frames: tuple[int, int],
                  options: dict) -> xr.Dataset | dict[str, np.ndarray]:
    """Runs on a Dask worker: the model is loaded once per worker process and kept. Returns the
    poses of one animal, or a multi-animal model's detections (identities are found over the
    whole video, by the caller)."""
    key = (model_class.__module__, model_class.__qualname__, model_path)
    model = _WORKER_MODELS.get(key)
    if model is None:
        model = _WORKER_MODELS[key] = model_class.load(model_path)
    # a worker fits its own CPUs and memory, not those of the machine that submitted the task
    options = {k: v for k, v in options.items() if k not in _NOT_ANALYSIS_OPTIONS}
    if getattr(model, "finds_many_animals", False):
        animals = options.pop("animals", None)
        job = _job(model, video, None, options, animals, frames, None)
        return _detections(job, None, False, {"disable": True})
    return analyze_video(model, video, frames=frames, progress=False, **options)

