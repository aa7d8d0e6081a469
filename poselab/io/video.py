"""Reading and writing videos (OpenCV, headless build).

Every frame poselab hands out is an **RGB** ``uint8`` array of shape ``(height, width, 3)``
(OpenCV itself decodes BGR; the conversion happens here, once). Frame indices count decoded
frames from 0; sizes are in pixels, frame rates in frames per second, durations in seconds.

>>> with open_video("videos/mouse.mp4") as reader:
...     reader.info                      # VideoInfo(width=640, height=480, fps=30.0, n_frames=2330, ...)
...     image = reader.read(120)         # exact random access
...     for batch in reader.iter_batches(64):
...         batch.indices, batch.frames, batch.valid

The reader is robust to the usual faults of real recordings:

- ``n_frames`` is the true number of decodable frames. The container's claim is checked cheaply
  (one seek to its last frame, and one grab past it); only when the claim is wrong are the frames
  counted by grabbing them all (no pixels are kept).
- Random access is exact: a seek is verified with the decoder's own position (taken from the
  frame's time stamp) and, when that disagrees, the frame is reached by seeking earlier and
  decoding forward, or by decoding from the start.
- Frames that cannot be decoded do not stop an iteration: their indices are collected in
  ``reader.bad_frames``, one warning is emitted per iteration, ``iter_frames`` skips them and
  ``iter_batches`` fills them with zeros and marks them ``valid=False``.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import NamedTuple

import numpy as np

from poselab.core.errors import PoselabError
from poselab.core.files import atomic_path

__all__ = ["VideoError", "VideoInfo", "Batch", "VideoReader", "open_video", "write_video"]

# A gap up to this many frames is crossed by grabbing (decoding without colour conversion);
# longer gaps seek. Grabbing is exact; a seek has to decode from the previous keyframe anyway.
FORWARD_LIMIT = 64
# When a seek lands on the wrong frame, seek this many frames earlier (then decode forward).
_SEEK_BACKOFF = (16, 64, 256, 1024)
# Failed grabs in a row that mean "end of the stream" (a damaged frame fails one grab, which
# consumes its packet; the next grab returns the next frame).
_END_TRIES = 8


class VideoError(PoselabError, ValueError):
    """A video cannot be read or written as asked (the message says what to fix)."""


@dataclass(frozen=True)
class VideoInfo:
    """What a video holds.

    Attributes
    ----------
    path
        The video file.
    width, height
        Frame size in pixels.
    fps
        Frame rate in frames per second as the container states it (NaN when it states none).
    n_frames
        The true number of decodable frames (frames).
    reported_frames
        The number of frames the container claims (may be wrong, 0 or negative when unknown).
    codec
        The FourCC code of the video stream, e.g. ``"h264"``, ``"mp4v"``, ``"MJPG"``.
    duration_s
        ``n_frames / fps`` in seconds (NaN when the frame rate is unknown).
    """

    path: Path
    width: int
    height: int
    fps: float
    n_frames: int
    reported_frames: int
    codec: str
    duration_s: float


class Batch(NamedTuple):
    """Consecutive frames from :meth:`VideoReader.iter_batches`.

    Attributes
    ----------
    indices
        ``int64 (B,)`` frame indices.
    frames
        ``uint8 (B, H, W, 3)`` RGB images; all zeros where ``valid`` is False.
    valid
        ``bool (B,)``: False for frames that could not be decoded.
    """

    indices: np.ndarray
    frames: np.ndarray
    valid: np.ndarray


def _cv2():
    import cv2

    return cv2


def _fourcc_str(value: float) -> str:
    code = int(value) & 0xFFFFFFFF
    text = code.to_bytes(4, "little").decode("ascii", errors="replace")
    return text if code and text.isprintable() else ""


class VideoReader:
    """Random and sequential access to the frames of a video file.

    Use it as a context manager (or call :meth:`close`). Not thread-safe: use one reader per
    thread. Frames are RGB ``uint8`` arrays ``(height, width, 3)``.

    Parameters
    ----------
    path
        The video file.

    Raises
    ------
    VideoError
        The file is missing, empty, not a video OpenCV can decode, or holds no frames.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.bad_frames: list[int] = []
        self._cap = None
        self._pos: int | None = None  # index of the frame the next grab() returns; None: unknown
        _check_file(self.path)
        self._open()
        cv2 = _cv2()
        width = int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        fps = float(self._cap.get(cv2.CAP_PROP_FPS))
        fps = fps if math.isfinite(fps) and fps > 0 else math.nan
        reported = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT))
        codec = _fourcc_str(self._cap.get(cv2.CAP_PROP_FOURCC))
        n_frames = self._true_count(reported)
        if n_frames == 0 or width <= 0 or height <= 0:
            self.close()
            raise VideoError(
                f"{self.path} holds no decodable frames (the container claims {reported}): the file is "
                "damaged or incomplete; re-export or re-encode it (e.g. ffmpeg -i in -c:v libx264 out.mp4)"
            )
        self.info = VideoInfo(path=self.path, width=width, height=height, fps=fps, n_frames=n_frames,
                              reported_frames=reported, codec=codec,
                              duration_s=n_frames / fps if math.isfinite(fps) else math.nan)

    # --- opening and counting ---------------------------------------------------------------

    def _open(self) -> None:
        cv2 = _cv2()
        if self._cap is not None:
            self._cap.release()
        # FFmpeg first: it reads every common container; other back-ends as a fallback.
        cap = cv2.VideoCapture(str(self.path), cv2.CAP_FFMPEG)
        if not cap.isOpened():
            cap.release()
            cap = cv2.VideoCapture(str(self.path))
        if not cap.isOpened():
            cap.release()
            raise VideoError(
                f"cannot open {self.path} as a video: it is not a video file, it uses a codec this OpenCV "
                "build cannot decode, or it is damaged (check it plays; re-encode with "
                "ffmpeg -i in -c:v libx264 out.mp4)"
            )
        self._cap = cap
        self._pos = 0

    def _true_count(self, reported: int) -> int:
        """The number of decodable frames; cheap when the container's claim is right."""
        cv2 = _cv2()
        if reported > 0:
            last = reported - 1
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, last)
            landed = round(self._cap.get(cv2.CAP_PROP_POS_FRAMES)) == last
            # The claimed last frame exists and nothing follows (a few tries: a damaged frame
            # fails one grab, the end of the file fails them all, at once).
            if landed and self._cap.grab() and not any(self._cap.grab() for _ in range(_END_TRIES)):
                self._open()  # back to the start
                return reported
            self._open()
        # The claim is missing or wrong: count by grabbing (decodes, keeps no pixels). A failed
        # grab followed by good ones was a damaged frame (it still counts); _END_TRIES failures
        # in a row are the end.
        count = failures = 0
        while failures < _END_TRIES:
            if self._cap.grab():
                count += failures + 1
                failures = 0
            else:
                failures += 1
        self._open()
        return count

    # --- public API -------------------------------------------------------------------------

    def __len__(self) -> int:
        return self.info.n_frames

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def __repr__(self) -> str:
        info = getattr(self, "info", None)
        if info is None:
            return f"VideoReader({str(self.path)!r})"
        return (f"VideoReader({str(self.path)!r}, {info.width}x{info.height} px, {info.fps:.6g} fps, "
                f"{info.n_frames} frames, {info.codec!r})")

    def close(self) -> None:
        """Release the decoder (idempotent)."""
        if self._cap is not None:
            self._cap.release()
            self._cap = None
            self._pos = None

    def read(self, frame: int) -> np.ndarray:
        """The frame at index ``frame``, exactly, as RGB ``uint8 (H, W, 3)``.

        Raises
        ------
        VideoError
            The index is out of range, or that frame cannot be decoded (damaged file).
        """
        index = self._check_index(frame)
        image = self._read_at(index)
        if image is None:
            raise VideoError(f"frame {index} of {self.path} cannot be decoded: the file is damaged there")
        return image

    def iter_frames(self, start: int = 0, stop: int | None = None, step: int = 1) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(index, frame)`` for ``range(start, stop, step)`` in one forward pass.

        ``stop`` defaults to (and is clipped at) the number of frames. Frames between the wanted
        ones are only grabbed (no colour conversion); steps over ``FORWARD_LIMIT`` frames use a
        verified seek. Frames that cannot be decoded are skipped, listed in :attr:`bad_frames`
        and reported by one warning per call (use :meth:`iter_batches` to keep every index).
        """
        yield from self.iter_frames_at(self._range(start, stop, step))

    def iter_frames_at(self, indices: Iterable[int]) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(index, frame)`` for the given frame indices, in increasing order.

        Short gaps between indices are crossed by decoding forward, long ones by a verified seek.
        Duplicates are read once; unreadable frames are skipped as in :meth:`iter_frames`.
        """
        wanted = np.unique(np.asarray(list(indices) if not isinstance(indices, (range, np.ndarray)) else indices,
                                      dtype=np.int64))
        if len(wanted):
            self._check_index(wanted[0])
            self._check_index(wanted[-1])
        warned = False
        for index in wanted:
            image = self._read_at(int(index))
            if image is None:
                warned = self._bad(int(index), warned, "skipped")
                continue
            yield int(index), image

    def iter_batches(self, batch_size: int, start: int = 0, stop: int | None = None) -> Iterator[Batch]:
        """Yield :class:`Batch` es of up to ``batch_size`` consecutive frames from one sequential decode.

        Memory is one batch at a time (each batch is a new array the caller may keep). Frames
        that cannot be decoded are zeros with ``valid=False`` and are listed in :attr:`bad_frames`.
        """
        if int(batch_size) != batch_size or batch_size < 1:
            raise VideoError(f"batch_size must be a positive integer; got {batch_size!r}")
        batch_size = int(batch_size)
        indices = self._range(start, stop, 1)
        h, w = self.info.height, self.info.width
        warned = False
        for first in range(indices.start, indices.stop, batch_size):
            batch_indices = np.arange(first, min(first + batch_size, indices.stop), dtype=np.int64)
            frames = np.zeros((len(batch_indices), h, w, 3), np.uint8)
            valid = np.zeros(len(batch_indices), bool)
            for j, index in enumerate(batch_indices):
                valid[j] = self._read_at(int(index), out=frames[j]) is not None
                if not valid[j]:
                    warned = self._bad(int(index), warned, "filled with zeros (valid=False)")
            yield Batch(batch_indices, frames, valid)

    # --- decoding ---------------------------------------------------------------------------

    def _check_index(self, frame) -> int:
        if isinstance(frame, (bool, np.bool_)) or not isinstance(frame, (int, np.integer)):
            raise VideoError(f"frame index must be an integer; got {frame!r}")
        n = self.info.n_frames
        if not 0 <= frame < n:
            raise VideoError(f"frame index {int(frame)} is out of range: {self.path.name} has {n} frames "
                             f"(0 to {n - 1})")
        return int(frame)

    def _range(self, start: int, stop: int | None, step: int) -> range:
        n = self.info.n_frames
        stop = n if stop is None else min(int(stop), n)
        if int(step) != step or step < 1:
            raise VideoError(f"step must be a positive integer; got {step!r}")
        if not 0 <= start <= n:
            raise VideoError(f"start frame {start} is out of range: {self.path.name} has {n} frames")
        return range(int(start), max(int(start), stop), int(step))

    def _bad(self, index: int, warned: bool, what: str) -> bool:
        if index not in self.bad_frames:
            self.bad_frames.append(index)
            self.bad_frames.sort()
        if not warned:
            warnings.warn(f"frame {index} of {self.path} cannot be decoded (damaged file); unreadable frames are "
                          f"{what} and listed in reader.bad_frames", RuntimeWarning, stacklevel=3)
        return True

    def _read_at(self, index: int, out: np.ndarray | None = None) -> np.ndarray | None:
        """Decode frame ``index`` as RGB (into ``out`` when given); None if it cannot be decoded."""
        if self._cap is None:
            raise VideoError(f"the reader of {self.path} is closed: open the video again")
        if not self._position(index):
            self._pos = None
            return None
        ok = self._cap.grab()
        # A failed grab still consumed the damaged frame's packet: the next grab is frame index + 1.
        self._pos = index + 1
        if not ok:
            return None
        ok, bgr = self._cap.retrieve()
        if not ok or bgr is None or bgr.shape != (self.info.height, self.info.width, 3):
            return None
        cv2 = _cv2()
        if out is None:
            return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB, dst=out)
        return out

    def _position(self, index: int) -> bool:
        """Make the next grab() return frame ``index``; False if that cannot be done."""
        if self._pos is not None and self._pos <= index <= self._pos + FORWARD_LIMIT:
            return self._grab_forward(index)
        cv2 = _cv2()
        for back in (0, *_SEEK_BACKOFF):
            target = index - back
            if target < 0:
                break
            if target == 0:
                self._open()
                return self._grab_forward(index)
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, target)
            # The decoder derives its position from the landed frame's time stamp: trust the
            # seek only when it says it landed where asked.
            if round(self._cap.get(cv2.CAP_PROP_POS_FRAMES)) == target:
                self._pos = target
                return self._grab_forward(index)
        self._open()  # seeking cannot be trusted here: decode from the start
        return self._grab_forward(index)

    def _grab_forward(self, index: int) -> bool:
        # Frames skipped on the way may be damaged (a failed grab consumes its frame), but
        # _END_TRIES failures in a row mean the stream ended early: give up.
        failures = 0
        while self._pos is not None and self._pos < index:
            failures = 0 if self._cap.grab() else failures + 1
            if failures >= _END_TRIES:
                self._pos = None
                return False
            self._pos += 1
        return self._pos == index


def _check_file(path: Path) -> None:
    if not path.exists():
        raise VideoError(f"video file not found: {path} (check the path; relative paths start from "
                         f"{Path.cwd()})")
    if path.is_dir():
        raise VideoError(f"{path} is a folder, not a video file: give the path of the video itself")
    if path.stat().st_size == 0:
        raise VideoError(f"video file {path} is empty (0 bytes): the recording or copy did not finish; "
                         "copy or export it again")


def open_video(path: str | os.PathLike) -> VideoReader:
    """Open a video for reading (see :class:`VideoReader`); use ``with open_video(p) as reader:``."""
    return VideoReader(path)


def write_video(
    path: str | os.PathLike,
    frames: Iterable[np.ndarray],
    fps: float,
    *,
    codec: str = "mp4v",
) -> Path:
    """Write RGB frames to a video file, atomically.

    The file is written under a temporary name in the same folder and renamed when complete, so
    a reader never sees a half-written video and an interrupted write leaves the old file intact.

    Parameters
    ----------
    path
        The video to write; the container follows the suffix (``.mp4``, ``.avi``...). Missing
        folders are created.
    frames
        RGB ``uint8`` arrays ``(H, W, 3)`` (or grayscale ``(H, W)``), all the same size; any
        iterable, consumed once (a generator keeps memory constant).
    fps
        Frame rate in frames per second.
    codec
        FourCC of the encoder: ``"mp4v"`` for .mp4, ``"MJPG"`` for .avi (near lossless at
        quality 100 is not guaranteed; every codec here is lossy).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    VideoError
        Bad frames (dtype, shape, differing sizes), no frames, a bad frame rate or codec, or
        OpenCV's writer cannot open the file.
    """
    cv2 = _cv2()
    path = Path(path)
    fps = float(fps)
    if not math.isfinite(fps) or fps <= 0:
        raise VideoError(f"fps must be a positive number of frames per second; got {fps}")
    if not isinstance(codec, str) or len(codec) != 4:
        raise VideoError(f"codec must be a 4-character FourCC such as 'mp4v' or 'MJPG'; got {codec!r}")
    with atomic_path(path) as tmp:  # the suffix stays last: it selects the container
        _write_frames(cv2, tmp, path, frames, fps, codec)
    return path


def _write_frames(cv2: ModuleType, tmp: Path, path: Path, frames: Iterable[np.ndarray], fps: float,
                  codec: str) -> None:
    """Encode ``frames`` into ``tmp`` (``path`` is named in messages)."""
    writer = None
    try:
        shape = None
        count = 0
        for i, frame in enumerate(frames):
            frame = np.asarray(frame)
            if frame.dtype != np.uint8:
                raise VideoError(f"frame {i} has dtype {frame.dtype}: give uint8 RGB images (0-255), e.g. "
                                 "np.clip(x * 255, 0, 255).astype(np.uint8)")
            if frame.ndim == 2:
                frame = np.repeat(frame[..., None], 3, axis=2)
            if frame.ndim != 3 or frame.shape[2] != 3:
                raise VideoError(f"frame {i} has shape {frame.shape}: give RGB images (H, W, 3)")
            if shape is None:
                shape = frame.shape
                writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*codec), fps,
                                         (shape[1], shape[0]))
                if not writer.isOpened():
                    raise VideoError(f"cannot write {path} with codec {codec!r}: OpenCV's writer did not open "
                                     "(use codec 'mp4v' for .mp4 or 'MJPG' for .avi, and check the folder is "
                                     "writable)")
            elif frame.shape != shape:
                raise VideoError(f"frame {i} has shape {frame.shape} but the first frame has {shape}: every "
                                 "frame of a video must have the same size")
            writer.write(cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2BGR))
            count += 1
        if count == 0:
            raise VideoError(f"no frames to write to {path}: give at least one frame")
        writer.release()
        writer = None
        if tmp.stat().st_size == 0:
            raise VideoError(f"OpenCV wrote nothing for {path} with codec {codec!r}: try another codec")
    finally:
        if writer is not None:
            writer.release()
