"""Live frame sources: a camera, a video file replayed at its own rate, any iterator of frames.

A source hands out :class:`LiveFrame` objects one at a time, each stamped with the moment it was
captured (``time.perf_counter()`` seconds, the clock of the whole live module). The session reads
a source in its own thread and keeps only the newest frame, so a source never needs a queue.

Example
-------
>>> source = open_source(0)                          # the first camera (OpenCV device index)
>>> source = open_source("rtsp://rig-3/stream")      # a network camera
>>> source = open_source("videos/mouse.mp4")         # a file, played at its frame rate
>>> source = open_source(frames, fps=100)            # any iterable of (H, W, 3) uint8 RGB images
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from poselab.core.errors import PoselabError
from poselab.io.video import open_video

__all__ = ["LiveError", "LiveFrame", "FrameSource", "CameraSource", "VideoFileSource", "IteratorSource",
           "open_source"]


class LiveError(PoselabError, ValueError):
    """A live session cannot run as asked (the message says what to change)."""


@dataclass(frozen=True)
class LiveFrame:
    """One frame from a live source.

    Attributes
    ----------
    index
        The source's frame number (0, 1, 2... in the order the source produced them; frames
        the session dropped leave gaps in the processed ones).
    image
        ``(H, W, 3)`` uint8 RGB.
    captured
        When the frame was captured, ``time.perf_counter()`` seconds.
    """

    index: int
    image: np.ndarray
    captured: float


class FrameSource(Protocol):
    """What a live session reads: ``read()`` blocks until the next frame (None at the end)."""

    fps: float  # frames per second the source delivers (NaN when unknown)

    def read(self) -> LiveFrame | None: ...

    def close(self) -> None: ...


class CameraSource:
    """A camera through OpenCV: a device index (``0``) or a URL (``rtsp://``, ``http://``).

    The capture time is taken when OpenCV hands the frame over (the driver's own buffering, one
    frame or so on most cameras, comes before it and is not seen here).
    """

    def __init__(self, device: int | str, *, fps: float | None = None, size: tuple[int, int] | None = None) -> None:
        import cv2

        self.device = device
        self._capture = cv2.VideoCapture(device)
        if not self._capture.isOpened():
            raise LiveError(f"cannot open the camera {device!r}: check that it is connected and not in use by "
                            "another program (a device index such as 0, or a stream URL)")
        if size is not None:
            self._capture.set(cv2.CAP_PROP_FRAME_WIDTH, int(size[0]))
            self._capture.set(cv2.CAP_PROP_FRAME_HEIGHT, int(size[1]))
        if fps is not None:
            self._capture.set(cv2.CAP_PROP_FPS, float(fps))
        self.width = int(self._capture.get(cv2.CAP_PROP_FRAME_WIDTH) or 0)  # pixels (0: unknown)
        self.height = int(self._capture.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0)
        reported = float(self._capture.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps = reported if reported > 0 else math.nan
        self._next = 0

    def read(self) -> LiveFrame | None:
        import cv2

        ok, bgr = self._capture.read()
        captured = time.perf_counter()
        if not ok or bgr is None:
            return None
        frame = LiveFrame(self._next, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), captured)
        self._next += 1
        return frame

    def close(self) -> None:
        self._capture.release()


class VideoFileSource:
    """A video file played at its own frame rate, as a camera would deliver it (for rehearsals and tests).

    Frame ``i`` is released at ``start + i / fps``; it is decoded beforehand, so the decoding does
    not count as latency (a camera hands out decoded frames too). ``realtime=False`` hands the
    frames out as fast as they decode, each stamped when it is handed out.
    """

    def __init__(self, path: str | os.PathLike, *, fps: float | None = None, realtime: bool = True,
                 frames: tuple[int, int] | None = None) -> None:
        self.path = Path(path)
        self._reader = open_video(self.path)
        info = self._reader.info
        self.fps = float(fps) if fps else float(info.fps)
        if realtime and not (math.isfinite(self.fps) and self.fps > 0):
            raise LiveError(f"{self.path.name} states no frame rate: give fps=... to replay it in real time")
        self.width, self.height = info.width, info.height
        start, stop = frames if frames is not None else (0, len(self._reader))
        self._frames: Iterator[tuple[int, np.ndarray]] = self._reader.iter_frames(int(start), int(stop))
        self.realtime = realtime
        self._first: int | None = None
        self._start = 0.0

    def read(self) -> LiveFrame | None:
        item = next(self._frames, None)
        if item is None:
            return None
        index, image = item
        if self.realtime:
            if self._first is None:
                self._first, self._start = index, time.perf_counter()
            due = self._start + (index - self._first) / self.fps
            _sleep_until(due)
        return LiveFrame(index, image, time.perf_counter())

    def close(self) -> None:
        self._reader.close()


class IteratorSource:
    """Frames from any iterable of ``(H, W, 3)`` uint8 RGB images, stamped when each is produced.

    ``fps``: when given, the frames are released at that rate (as :class:`VideoFileSource` does);
    otherwise as fast as the iterable yields them.
    """

    def __init__(self, frames: Iterable[np.ndarray], *, fps: float | None = None) -> None:
        self._frames = iter(frames)
        self.fps = float(fps) if fps else math.nan
        self._next = 0
        self._start: float | None = None

    def read(self) -> LiveFrame | None:
        image = next(self._frames, None)
        if image is None:
            return None
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise LiveError(f"a live frame must be an (H, W, 3) uint8 RGB image; frame {self._next} has "
                            f"shape {image.shape} and dtype {image.dtype}")
        if math.isfinite(self.fps):
            if self._start is None:
                self._start = time.perf_counter()
            _sleep_until(self._start + self._next / self.fps)
        frame = LiveFrame(self._next, image, time.perf_counter())
        self._next += 1
        return frame

    def close(self) -> None:
        close = getattr(self._frames, "close", None)
        if close is not None:
            close()


def open_source(source: Any, *, fps: float | None = None, realtime: bool = True) -> FrameSource:
    """The frame source for ``source``.

    Parameters
    ----------
    source
        A camera (an ``int`` device index, or a URL such as ``rtsp://...``), a video file path
        (replayed at its frame rate, or ``fps``), an object with ``read()`` (returned as it is),
        or any iterable of ``(H, W, 3)`` uint8 RGB images.
    fps
        Frames per second: the replay rate of a file or iterable, the rate asked of a camera.
    realtime
        For files: release frames at their time (True) or as fast as they decode.
    """
    if hasattr(source, "read") and hasattr(source, "close"):
        return source
    if isinstance(source, (int, np.integer)) and not isinstance(source, bool):
        return CameraSource(int(source), fps=fps)
    if isinstance(source, str) and "://" in source:
        return CameraSource(source, fps=fps)
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists():
            raise LiveError(f"no video file at {path} (a camera is an int index or a URL)")
        return VideoFileSource(path, fps=fps, realtime=realtime)
    if isinstance(source, Iterable):
        return IteratorSource(source, fps=fps)
    raise LiveError(f"cannot read frames from a {type(source).__name__}: give a camera index or URL, a video "
                    "file, or an iterable of (H, W, 3) uint8 images")


def _sleep_until(due: float) -> None:
    """Sleep until ``due`` (perf_counter seconds): coarse sleep, then a short spin for the last
    millisecond (``time.sleep`` alone can overshoot by a millisecond or more)."""
    while True:
        left = due - time.perf_counter()
        if left <= 0:
            return
        time.sleep(left - 0.001 if left > 0.002 else 0)
