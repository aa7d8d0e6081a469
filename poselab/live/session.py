"""The live session: pose frame by frame from a live source, with the smallest latency the machine allows.

Two threads: one reads the source and keeps only the **newest** frame (an older frame not yet
taken is dropped and counted: when the model falls behind, it skips ahead instead of queuing,
so memory stays at two frames and the latency does not grow); the other takes the newest frame,
runs the network, forward-predicts, calls the processors and records the pose.

Example
-------
>>> session = LiveSession("models/mouse.onnx", "videos/mouse.mp4",
...                       LiveConfig(crop_size=256, predict_ahead_s=0.0),
...                       processors=[RegionTrigger("snout", (400, 0, 640, 240), on_enter=light_on)],
...                       record="poses/live.zarr")
>>> stats = session.run(duration_s=60)               # or session.start() ... session.stop()
>>> stats.latency_p99_ms, stats.frames_dropped
"""

from __future__ import annotations

import dataclasses
import gc
import math
import os
import threading
import time
from array import array
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from poselab._version import __version__
from poselab.core.resources import cpu_limit
from poselab.inference import follow_window
from poselab.live.predict import ConstantVelocityKalman, KalmanConfig
from poselab.live.record import LiveRecorder
from poselab.live.sources import FrameSource, LiveError, LiveFrame, open_source
from poselab.live.triggers import as_processors

__all__ = ["LiveConfig", "LivePose", "LiveStats", "LiveSession", "FramePredictor"]


@dataclass(frozen=True)
class LiveConfig:
    """How a live session runs.

    Attributes
    ----------
    downscale
        Extra factor (> 1 shrinks) applied before the network: faster, less accurate.
    crop_size
        Side of a square window, image pixels, that follows the animal (centred on the parts
        seen in the previous frame), as DeepLabCut-Live's dynamic cropping does: the network
        sees only that window, at full resolution. None: the whole frame every time. The whole
        frame is also used while no part was seen with ``crop_min_likelihood``.
    crop_min_likelihood
        Parts at or above this likelihood place the window. When none is (the first frame, or
        the animal was lost), a quick pass over the whole frame at half the resolution finds
        the animal first, so that no frame costs a full-resolution pass over the whole frame.
    flip_test
        Also run the mirrored frame and average (about twice the time).
    predict_ahead_s
        Forward prediction: the pose this many seconds after it was ready (the delay of the
        output the processors drive; 0 makes up for the latency alone). None: no prediction.
    kalman
        Noise levels of the forward prediction (:class:`~poselab.live.KalmanConfig`).
    flush_frames
        Poses per block written to the Zarr record (the journal holds the ones in between).
    drop_frames
        True (live): a frame that arrives while the previous one is still waiting replaces it
        (counted as dropped). False: the source waits until each frame is taken, so every frame
        is processed (replays of files or recorded frames, comparisons with offline analysis;
        a camera would fall behind).
    history
        Poses kept in memory (``session.results``, without their frames; ``session.latest``
        keeps its frame for display).
    threads
        CPU threads the network runs on. None: all the cores this process may use but one, which
        is left to the camera, the recorder and the processors. A network split over every core
        waits for its slowest thread whenever another thread takes a core: on 2 cores, the 99th
        percentile latency of a 192-px window fell from 25-30 ms to 20-29 ms with one network
        thread, at the same median (BENCHMARKS.md).
    """

    downscale: float = 1.0
    crop_size: int | None = None
    crop_min_likelihood: float = 0.5
    flip_test: bool = False
    predict_ahead_s: float | None = None
    kalman: KalmanConfig = field(default_factory=KalmanConfig)
    flush_frames: int = 30
    history: int = 300
    drop_frames: bool = True
    threads: int | None = None

    def checked(self) -> LiveConfig:
        if not float(self.downscale) > 0:
            raise LiveError(f"downscale must be positive; got {self.downscale}")
        if self.crop_size is not None and int(self.crop_size) < 32:
            raise LiveError(f"crop_size is the side of the window in pixels (>= 32) or None; got {self.crop_size}")
        if self.predict_ahead_s is not None and not float(self.predict_ahead_s) >= 0:
            raise LiveError(f"predict_ahead_s must be >= 0 seconds (or None); got {self.predict_ahead_s}")
        if self.threads is not None and int(self.threads) < 1:
            raise LiveError(f"threads is a number of CPU threads (>= 1) or None; got {self.threads}")
        return self

    def network_threads(self) -> int:
        """The threads the network runs on: ``threads``, or all usable cores but one (at least 1)."""
        if self.threads is not None:
            return int(self.threads)
        return max(1, int(cpu_limit()) - 1)


@dataclass(frozen=True)
class LivePose:
    """One frame's pose, as the processors receive it.

    Attributes
    ----------
    frame
        The source's frame index.
    parts
        Body part names.
    xy
        ``(P, 2)`` positions, pixels of the full frame (NaN where not found).
    likelihood
        ``(P,)`` in [0, 1].
    capture_time, ready_time
        Seconds since the session started: when the frame was captured, when its pose was ready.
    predicted_xy
        ``(P, 2)`` forward-predicted positions at ``predicted_time`` (None without prediction).
    predicted_time
        Seconds since the start: when the predicted pose holds.
    dropped
        Frames dropped between the previous pose and this one.
    image
        The frame, ``(H, W, 3)`` uint8 RGB (for display; do not modify).
    """

    frame: int
    parts: tuple[str, ...]
    xy: np.ndarray
    likelihood: np.ndarray
    capture_time: float
    ready_time: float
    predicted_xy: np.ndarray | None = None
    predicted_time: float | None = None
    dropped: int = 0
    image: np.ndarray | None = field(default=None, repr=False)

    @property
    def latency_s(self) -> float:
        """From capture to pose, seconds."""
        return self.ready_time - self.capture_time


@dataclass(frozen=True)
class LiveStats:
    """How a live session went so far.

    Attributes
    ----------
    frames_read
        Frames the source delivered.
    frames_processed
        Frames whose pose was computed.
    frames_dropped
        Frames skipped because a newer one had arrived (read - processed, once the session ended).
    elapsed_s
        Seconds since the start.
    fps
        Poses per second over the session.
    latency_median_ms, latency_p99_ms
        Capture-to-pose latency, milliseconds (NaN before the first pose).
    effective_latency_median_ms
        The same minus the forward prediction's lead (``ready - predicted time``; NaN without
        prediction; 0 when the prediction makes up exactly for the latency).
    """

    frames_read: int
    frames_processed: int
    frames_dropped: int
    elapsed_s: float
    fps: float
    latency_median_ms: float
    latency_p99_ms: float
    effective_latency_median_ms: float

    def __str__(self) -> str:
        return (f"{self.frames_processed} poses at {self.fps:.1f} frames/s, {self.frames_dropped} dropped; latency "
                f"median {self.latency_median_ms:.1f} ms, 99th percentile {self.latency_p99_ms:.1f} ms")


class FramePredictor:
    """One frame in, its pose out: the window that follows the animal, resizing, the network.

    Parameters
    ----------
    model
        A :class:`~poselab.model.PoseModel` (an ONNX one for the fast CPU path).
    config
        The session's :class:`LiveConfig` (``downscale``, ``crop_size``, ``flip_test``...).
    """

    def __init__(self, model: Any, config: LiveConfig) -> None:
        self.model = model
        self.config = config
        self.scale = model.scale / float(config.downscale)

    def window(self, shape: tuple[int, ...], xy: np.ndarray | None, likelihood: np.ndarray | None
               ) -> tuple[int, int, int, int] | None:
        """The crop ``(x0, y0, x1, y1)`` pixels for the next frame of ``shape``, or None (whole frame)."""
        if self.config.crop_size is None:
            return None
        return follow_window(shape, xy, likelihood, int(self.config.crop_size), self.config.crop_min_likelihood)

    def __call__(self, image: np.ndarray, window: tuple[int, int, int, int] | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
        """``(xy (P, 2) pixels of the full frame, likelihood (P,))`` for one RGB frame."""
        return self._run(image, window, self.scale)

    def warm_up(self, shape: tuple[int, int]) -> None:
        """Run each pass once on a blank frame of ``(height, width)`` pixels, so that the first real
        frame does not pay for the network's first run at these sizes (memory planning)."""
        blank = np.zeros((int(shape[0]), int(shape[1]), 3), np.uint8)
        if self.config.crop_size is None:
            self(blank)
            return
        self.locate(blank)
        window = self.window(blank.shape, np.array([[shape[1] / 2, shape[0] / 2]]), np.ones(1))
        self(blank, window)

    def locate(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A quick pose over the whole frame at half the resolution (to place the first window)."""
        return self._run(image, None, self.scale / 2)

    def _run(self, image: np.ndarray, window: tuple[int, int, int, int] | None, scale: float
             ) -> tuple[np.ndarray, np.ndarray]:
        import cv2
        import torch

        x0, y0 = 0, 0
        if window is not None:
            x0, y0, x1, y1 = window
            image = image[y0:y1, x0:x1]
        if scale != 1.0:
            h, w = image.shape[:2]
            size = (max(1, round(w * scale)), max(1, round(h * scale)))
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        tensor = torch.from_numpy(np.ascontiguousarray(image)).to(self.model.device)
        tensor = tensor.permute(2, 0, 1)[None].float().div_(255)
        net = self.model.net
        training = net.training
        if training:  # batch statistics of one frame would be wrong: always the running ones
            net.eval()
        try:
            with torch.inference_mode():
                xy, likelihood = self.model.forward_pixels(tensor, flip_test=self.config.flip_test)
        finally:
            net.train(training)
        xy = (xy[0].float().cpu().numpy().astype(np.float64) + 0.5) / scale - 0.5
        xy += (x0, y0)
        return xy, likelihood[0].float().cpu().numpy().astype(np.float64)


class _Newest:
    """A one-frame mailbox: a new frame replaces one not yet taken (counted as dropped)."""

    def __init__(self, drop: bool = True) -> None:
        self.drop = drop
        self._condition = threading.Condition()
        self._frame: LiveFrame | None = None
        self._ended = False
        self.error: BaseException | None = None
        self.read = 0
        self.dropped = 0

    def put(self, frame: LiveFrame, stop: threading.Event) -> None:
        with self._condition:
            while not self.drop and self._frame is not None and not stop.is_set():
                self._condition.wait(0.05)
            if self._frame is not None:
                self.dropped += 1
            self._frame = frame
            self.read += 1
            self._condition.notify()

    def end(self, error: BaseException | None = None) -> None:
        with self._condition:
            self._ended, self.error = True, error
            self._condition.notify()

    def take(self, timeout: float = 0.1) -> tuple[LiveFrame | None, bool]:
        """``(frame or None, ended)``: waits up to ``timeout`` s for a frame."""
        with self._condition:
            if self._frame is None and not self._ended:
                self._condition.wait(timeout)
            frame, self._frame = self._frame, None
            self._condition.notify()
            return frame, self._ended and frame is None


class LiveSession:
    """Pose from a live source, frame by frame (see the module's docstring).

    Parameters
    ----------
    model
        A :class:`~poselab.model.PoseModel`, or the path of a saved model (``.safetensors``, or
        ``.onnx`` for ONNX Runtime, the fastest CPU path: :func:`poselab.model.export_onnx`).
    source
        A camera index or URL, a video file, a frame source, or an iterable of RGB frames
        (:func:`~poselab.live.open_source`).
    config
        :class:`LiveConfig`; its fields may also be given as keywords.
    processors
        Callables run on each :class:`LivePose` (e.g. :class:`~poselab.live.RegionTrigger`).
    record
        A ``.zarr`` path: every pose is recorded there as the session runs (see
        :mod:`poselab.live.record`). None: poses are only kept in ``results`` (the last
        ``config.history``).
    device
        Where the network runs (default: where the model is).
    """

    def __init__(self, model: Any, source: Any, config: LiveConfig | None = None, *,
                 processors: Callable | Sequence[Callable] | None = None,
                 record: str | os.PathLike | None = None, device: str | None = None, **settings: Any) -> None:
        known = {f.name for f in dataclasses.fields(LiveConfig)}
        unknown = sorted(set(settings) - known)
        if unknown:
            raise TypeError(f"LiveSession got unknown setting(s) {unknown}; LiveConfig has {sorted(known)}")
        self.config = dataclasses.replace(config or LiveConfig(), **settings).checked()
        self.model = _load(model, device, self.config.network_threads())
        self.parts = tuple(self.model.parts)
        self.source: FrameSource = open_source(source)
        self.processors = as_processors(processors)
        self.record_path = Path(record) if record is not None else None
        self.predictor = FramePredictor(self.model, self.config)
        self.kalman = ConstantVelocityKalman(len(self.parts), self.config.kalman)
        self.results: deque[LivePose] = deque(maxlen=max(1, int(self.config.history)))
        self.latest: LivePose | None = None
        self._latencies = array("d")
        self._effective = array("d")
        self._mailbox = _Newest(self.config.drop_frames)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started: float | None = None
        self._ended: float | None = None
        self._error: BaseException | None = None
        self._searching = False  # the window lost the animal and the quick pass did not find it

    # --- running -----------------------------------------------------------------------------

    def run(self, *, max_frames: int | None = None, duration_s: float | None = None) -> LiveStats:
        """Run until the source ends, :meth:`stop`, ``max_frames`` poses or ``duration_s`` seconds.

        Blocks; returns the :class:`LiveStats`. The source is closed at the end.
        """
        import torch

        from poselab.model import OnnxPoseModel

        if self._started is not None:
            raise LiveError("a live session runs once (its source is closed at the end): make a new LiveSession")
        model = self.model
        was_training = model.net.training
        threads = torch.get_num_threads()
        recorder = None
        reader = threading.Thread(target=self._read_source, name="poselab-live-source", daemon=True)
        self._started = start = time.perf_counter()
        try:
            model.net.eval()
            # ONNX Runtime has its own threads (set when the model was loaded): the few torch
            # operations around it must not compete with them
            torch.set_num_threads(1 if isinstance(model, OnnxPoseModel) else self.config.network_threads())
            recorder = self._recorder()
            width, height = int(getattr(self.source, "width", 0) or 0), int(getattr(self.source, "height", 0) or 0)
            if width and height:
                self.predictor.warm_up((height, width))
            # The objects alive now (the model, the libraries) are never garbage: freezing them keeps
            # the collector's full passes short (they paused the loop for 100-300 ms, BENCHMARKS.md).
            gc.collect()
            gc.freeze()
            self._started = start = time.perf_counter()
            reader.start()
            previous: LivePose | None = None
            while not self._stop.is_set():
                if max_frames is not None and len(self._latencies) >= max_frames:
                    break
                if duration_s is not None and time.perf_counter() - start >= duration_s:
                    break
                frame, ended = self._mailbox.take()
                if ended:
                    if self._mailbox.error is not None:
                        raise self._mailbox.error
                    break
                if frame is None:
                    continue
                xy, likelihood = self._predict(frame.image, previous)
                ready = time.perf_counter()
                pose = self._pose(frame, xy, likelihood, ready, start, previous)
                for processor in self.processors:
                    processor(pose)
                if recorder is not None:
                    recorder.append(pose.frame, (pose.capture_time, pose.ready_time), pose.xy, pose.likelihood)
                self._latencies.append(pose.latency_s)
                if pose.predicted_time is not None:
                    self._effective.append(pose.ready_time - pose.predicted_time)
                self.results.append(dataclasses.replace(pose, image=None))  # frames stay bounded
                self.latest = previous = pose
        finally:
            self._stop.set()
            loop_ended = time.perf_counter()
            try:
                if reader.is_alive():
                    reader.join(timeout=5)
                self.source.close()
                model.net.train(was_training)
                torch.set_num_threads(threads)
                gc.unfreeze()
                if recorder is not None:
                    recorder.close()
            finally:
                self._ended = loop_ended  # finished only once everything is written and closed
        return self.stats()

    def start(self, **limits: Any) -> LiveSession:
        """Run in a background thread (for notebooks); ``limits`` as for :meth:`run`."""
        if self._thread is not None and self._thread.is_alive():
            raise LiveError("this live session is already running")

        def target() -> None:
            try:
                self.run(**limits)
            except BaseException as error:  # kept for stop() to raise in the user's thread
                self._error = error

        self._thread = threading.Thread(target=target, name="poselab-live", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> LiveStats:
        """Stop a session started with :meth:`start` (or a running :meth:`run`); its stats."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._error is not None:
            raise self._error
        return self.stats()

    @property
    def running(self) -> bool:
        """Whether the session is running now."""
        return self._started is not None and self._ended is None

    @property
    def error(self) -> BaseException | None:
        """The error that ended a session run with :meth:`start` (raised again by :meth:`stop`)."""
        return self._error

    @property
    def finished(self) -> bool:
        """Whether the session ran and ended (its source is closed: a new session is needed)."""
        return self._ended is not None

    def stats(self) -> LiveStats:
        """The :class:`LiveStats` so far."""
        end = self._ended if self._ended is not None else time.perf_counter()
        elapsed = end - self._started if self._started is not None else 0.0
        latencies = np.frombuffer(self._latencies, dtype=np.float64) * 1000
        effective = np.frombuffer(self._effective, dtype=np.float64) * 1000
        processed = len(latencies)
        read = self._mailbox.read
        dropped = read - processed if self._ended is not None else self._mailbox.dropped
        return LiveStats(
            frames_read=read, frames_processed=processed, frames_dropped=int(dropped), elapsed_s=elapsed,
            fps=processed / elapsed if elapsed > 0 else math.nan,
            latency_median_ms=float(np.median(latencies)) if processed else math.nan,
            latency_p99_ms=float(np.percentile(latencies, 99)) if processed else math.nan,
            effective_latency_median_ms=float(np.median(effective)) if len(effective) else math.nan)

    def __enter__(self) -> LiveSession:
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.running or (self._thread is not None and self._thread.is_alive()):
            self.stop()

    # --- parts ------------------------------------------------------------------------------

    def _read_source(self) -> None:
        try:
            while not self._stop.is_set():
                frame = self.source.read()
                if frame is None:
                    break
                self._mailbox.put(frame, self._stop)
            self._mailbox.end()
        except BaseException as error:  # surfaced in the session's thread
            self._mailbox.end(error)

    def _predict(self, image: np.ndarray, previous: LivePose | None) -> tuple[np.ndarray, np.ndarray]:
        predictor = self.predictor
        if predictor.config.crop_size is None:
            return predictor(image)
        window = None if previous is None else predictor.window(image.shape, previous.xy, previous.likelihood)
        if window is None and not self._searching:  # nothing to follow: a quick pass finds the animal
            window = predictor.window(image.shape, *predictor.locate(image))
        # not found at half resolution either: the whole frame, and no quick pass until it is found
        # (a model unsure of every frame would otherwise pay for both passes on each)
        self._searching = window is None
        return predictor(image, window)

    def _pose(self, frame: LiveFrame, xy: np.ndarray, likelihood: np.ndarray, ready: float, start: float,
              previous: LivePose | None) -> LivePose:
        predicted_xy = predicted_time = None
        if self.config.predict_ahead_s is not None:
            self.kalman.update(xy, likelihood, frame.captured - start)
            predicted_time = ready - start + float(self.config.predict_ahead_s)
            predicted_xy = self.kalman.predict(predicted_time)
        dropped = frame.index - previous.frame - 1 if previous is not None else 0
        return LivePose(frame=frame.index, parts=self.parts, xy=xy, likelihood=likelihood,
                        capture_time=frame.captured - start, ready_time=ready - start,
                        predicted_xy=predicted_xy, predicted_time=predicted_time, dropped=max(0, dropped),
                        image=frame.image)

    def _recorder(self) -> LiveRecorder | None:
        if self.record_path is None:
            return None
        source = self.source
        fps = getattr(source, "fps", math.nan)
        path = getattr(source, "path", None)
        attrs = dict(fps=fps if fps and math.isfinite(fps) else None, width=int(getattr(source, "width", 0) or 0),
                     height=int(getattr(source, "height", 0) or 0),
                     video=_relative(path, self.record_path) if path is not None else "",
                     source=f"poselab {__version__} (live)")
        return LiveRecorder(self.record_path, list(self.parts), attrs, self.config.flush_frames)


def _load(model: Any, device: str | None, threads: int) -> Any:
    from poselab.model import OnnxPoseModel, PoseModel, load_model, load_onnx_model

    if isinstance(model, (str, os.PathLike)):
        path = Path(model)
        model = load_onnx_model(path, threads=threads, spinning=False) if path.suffix.lower() == ".onnx" \
            else load_model(path)
    elif isinstance(model, OnnxPoseModel) and (model.net.threads, model.net.spinning) != (threads, False):
        # an ONNX Runtime session's threads are fixed when it is made: the same file, made again
        model = load_onnx_model(model.net.path, threads=threads, spinning=False)
    if not isinstance(model, PoseModel):
        raise LiveError(f"expected a poselab PoseModel or a model file; got {type(model).__name__}")
    return model.to(device) if device is not None else model


def _relative(video: Path, record: Path) -> str:
    try:
        return Path(os.path.relpath(Path(video).resolve(), record.parent.resolve())).as_posix()
    except ValueError:
        return Path(video).name
