"""The live record: poses appended to a Zarr pose Dataset as a session runs, with a journal so that
a crash loses nothing already seen.

Appending to Zarr costs tens of milliseconds a call, too much for every frame of a live loop, so
the poses go to the Zarr store in blocks (``flush_frames``, about a second) from a writer thread,
and each pose is first appended to a small journal file beside the store
(``<record>.journal``, one fixed-size row per frame, written before the next frame is taken). The
journal holds the whole session; a session killed between two blocks (or in the middle of one)
leaves it beside the store, and :func:`load_record` (and the next session on the same path)
rebuilds the store from it first. The journal is removed when the store holds everything.

The store is a pose Dataset (:mod:`poselab.core.poses`) with three more variables along ``frame``:
``capture_time`` and ``ready_time`` (seconds since the session started: when the frame was
captured and when its pose was ready) and ``latency`` (s, ready - capture).
"""

from __future__ import annotations

import json
import os
import queue
import threading
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from poselab.core import poses

__all__ = ["LiveRecorder", "load_record"]

CHUNK_FRAMES = 1800  # Zarr chunk length along frame (a minute at 30 frames/s)
_MAGIC = b"poselab-live-journal 1\n"
TIMES = ("capture_time", "ready_time", "latency")


class LiveRecorder:
    """Appends live poses to a Zarr pose store (blocks, from a thread) and to its journal (each frame).

    Parameters
    ----------
    path
        The ``.zarr`` store. An existing one from an earlier session of the same parts is appended
        to (its frames keep their numbers; new frames must come after them).
    parts
        Body part names.
    attrs
        Attributes of the pose Dataset (``fps``, ``width``, ``height``, ``video``...).
    flush_frames
        Poses per block written to the store.
    """

    def __init__(self, path: str | os.PathLike, parts: list[str], attrs: dict[str, Any], flush_frames: int = 30) -> None:
        self.path = Path(path)
        if self.path.suffix.lower() != ".zarr":
            raise poses.PoseDataError(f"a live record is a .zarr store; got {self.path.name}")
        self.parts = list(parts)
        self.attrs = dict(attrs)
        self.flush_frames = max(1, int(flush_frames))
        self.journal_path = journal_path(self.path)
        recover(self.path)
        self.last_frame = -1
        if self.path.exists():
            stored = xr.open_zarr(self.path, consolidated=False)
            if stored["part"].values.tolist() != self.parts:
                raise poses.PoseDataError(f"{self.path} holds the parts {stored['part'].values.tolist()}, "
                                          f"not this model's {self.parts}: record to another path")
            if stored.sizes["frame"]:
                self.last_frame = int(stored["frame"].values[-1])
        warm_up(self.parts, self.attrs)
        self._frame_offset = self.last_frame + 1  # a continued record numbers on after the stored frames
        self._row = 1 + len(TIMES) + 3 * len(self.parts)
        self._journal = open(self.journal_path, "wb", buffering=0)
        header = json.dumps({"parts": self.parts, "attrs": self.attrs, "row": self._row}).encode()
        self._journal.write(_MAGIC + len(header).to_bytes(4, "little") + header)
        self._pending: list[np.ndarray] = []
        self._blocks: queue.Queue = queue.Queue()
        self._error: BaseException | None = None
        self._writer = threading.Thread(target=self._write_blocks, name="poselab-live-record", daemon=True)
        self._writer.start()
        self.frames_recorded = 0

    def append(self, frame: int, times: tuple[float, float], xy: np.ndarray, likelihood: np.ndarray) -> None:
        """One pose: source ``frame`` index, ``(capture, ready)`` seconds since the start, ``xy``
        (P, 2) pixels, ``likelihood`` (P,)."""
        if self._error is not None:
            raise self._error
        capture, ready = times
        row = np.concatenate([[frame + self._frame_offset, capture, ready, ready - capture],
                              np.asarray(xy, float).ravel(), np.asarray(likelihood, float)])
        self._journal.write(row.astype("<f8").tobytes())  # unbuffered: in the OS as soon as written
        self._pending.append(row)
        self.frames_recorded += 1
        if len(self._pending) >= self.flush_frames:
            self.flush()

    def flush(self) -> None:
        """Hand the poses not yet in the store to the writer thread."""
        if self._pending:
            self._blocks.put(np.stack(self._pending))
            self._pending = []

    def close(self) -> Path:
        """Write everything, wait for the writer, remove the journal; returns the store's path."""
        self.flush()
        self._blocks.put(None)
        self._writer.join()
        self._journal.close()
        if self._error is not None:
            raise self._error
        self.journal_path.unlink(missing_ok=True)
        return self.path

    def _write_blocks(self) -> None:
        _lowest_priority()
        while True:
            block = self._blocks.get()
            if block is None:
                return
            try:
                _append_rows(self.path, block, self.parts, self.attrs)
            except BaseException as error:  # raised in the session's thread at the next append
                self._error = error
                return


def _lowest_priority() -> None:
    """Run this thread only on cores the live loop leaves idle (Linux SCHED_IDLE; elsewhere as is).

    A block write takes tens of milliseconds of CPU; at normal priority it delays the next frames
    by as much on a 2-core machine. The writer has a whole second (a block) to finish.
    """
    try:
        os.sched_setscheduler(threading.get_native_id(), os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):  # not Linux, or not allowed
        pass


def journal_path(path: str | os.PathLike) -> Path:
    path = Path(path)
    return path.with_name(path.name + ".journal")


def recover(path: str | os.PathLike) -> bool:
    """Rebuild the store of ``path`` from its journal, after a session that did not close (a crash, a kill).

    The journal holds every pose of the session that wrote it; the store, its earlier frames and
    whatever blocks were written (the last one possibly cut in the middle of a write). The store
    is rewritten (atomically) as its frames from before that session followed by the journal's.
    Returns True when there was a journal. A row cut short by the crash is dropped.
    """
    path = Path(path)
    journal = journal_path(path)
    if not journal.exists():
        return False
    raw = journal.read_bytes()
    head = len(_MAGIC) + 4
    size = int.from_bytes(raw[len(_MAGIC):head], "little") if len(raw) >= head else 0
    if not raw.startswith(_MAGIC) or len(raw) < head + size:  # killed while writing the header
        journal.unlink()
        return True
    header = json.loads(raw[head:head + size])
    row = int(header["row"])
    body = raw[head + size:]
    rows = np.frombuffer(body[: len(body) // (8 * row) * 8 * row], dtype="<f8").reshape(-1, row)
    if len(rows):
        ds = _rows_dataset(rows, header["parts"], header["attrs"])
        if path.exists():
            try:
                stored = poses.load(path, lazy=False)
            except Exception as error:  # cut in the middle of a block: its arrays disagree
                if int(rows[0, 0]) > 0:
                    raise poses.PoseDataError(
                        f"{path} was damaged by a crash and holds frames from before the session whose journal "
                        f"{journal.name} is beside it: copy both elsewhere and ask for help ({error})") from error
                stored = None
            if stored is not None:
                earlier = stored.isel(frame=np.flatnonzero(stored["frame"].values < rows[0, 0]))
                if earlier.sizes["frame"]:
                    ds = xr.concat([earlier, ds], dim="frame", data_vars="all")
                    ds.attrs = dict(stored.attrs)
        poses.save(ds, path, chunk_frames=CHUNK_FRAMES)
    journal.unlink()
    return True


def load_record(path: str | os.PathLike, *, lazy: bool = False) -> xr.Dataset:
    """The pose Dataset of a live record, with what a killed session left in its journal.

    Parameters
    ----------
    path
        The ``.zarr`` store a :class:`~poselab.live.LiveSession` recorded to.
    lazy
        Keep the data on disk (dask arrays).
    """
    recover(path)
    return poses.load(path, lazy=lazy)


def _append_rows(path: Path, rows: np.ndarray, parts: list[str], attrs: dict[str, Any]) -> None:
    """Append rows to the store (create it first): plain numpy to Zarr, no dask, about 50 ms a block."""
    ds = _rows_dataset(rows, parts, attrs)
    for name, coord in ds.coords.items():
        if coord.dtype.kind == "U":  # Zarr v3 specifies variable-length strings only
            ds[name] = coord.astype(object)
    if path.exists():
        ds.to_zarr(path, append_dim="frame", consolidated=False)
    else:
        encoding = {name: {"chunks": tuple(CHUNK_FRAMES if dim == "frame" else ds.sizes[dim] for dim in var.dims)}
                    for name, var in ds.variables.items() if "frame" in var.dims}
        ds.to_zarr(path, mode="w", consolidated=False, encoding=encoding)


def warm_up(parts: list[str], attrs: dict[str, Any]) -> None:
    """Write and read a tiny store once, so that the first block of a session does not pay for
    loading Zarr's codecs (a few hundred milliseconds that would hold up the live loop)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="poselab-live-") as folder:
        rows = np.zeros((2, 1 + len(TIMES) + 3 * len(parts)))
        rows[:, 0] = (0, 1)
        _append_rows(Path(folder) / "warm.zarr", rows, parts, attrs)
        _append_rows(Path(folder) / "warm.zarr", rows + [[2] + [0] * (rows.shape[1] - 1)], parts, attrs)
        xr.open_zarr(Path(folder) / "warm.zarr", consolidated=False).load()


def _rows_dataset(rows: np.ndarray, parts: list[str], attrs: dict[str, Any]) -> xr.Dataset:
    n_parts = len(parts)
    frames = rows[:, 0].astype(np.int64)
    xy = rows[:, 4:4 + 2 * n_parts].reshape(-1, n_parts, 2)
    likelihood = rows[:, 4 + 2 * n_parts:]
    ds = poses.from_arrays(xy.transpose(1, 0, 2)[None], likelihood.T[None], animals=["animal0"], parts=parts,
                           frames=frames, **attrs)
    for column, name in enumerate(TIMES, start=1):
        ds[name] = ("frame", rows[:, column], {"units": "seconds"})
    return ds
