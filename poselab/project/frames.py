"""Choosing the frames of a video to label, and extracting them as PNG images.

>>> chosen = select_kmeans("videos/mouse.mp4", 20, exclude=already_labeled)   # distinct-looking frames
>>> chosen = select_uniform(2330, 20)                                        # evenly spaced in time
>>> chosen = select_kmeans_uniform("videos/mouse.mp4", 20)                   # half of each
>>> paths = extract_frames("videos/mouse.mp4", chosen, "frames/mouse")      # frames/mouse/img00042.png ...

Frame indices are 0-based video frame numbers (see :mod:`poselab.io.video`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from poselab.core.errors import PoselabError
from poselab.core.files import write_bytes_atomic
from poselab.io.video import VideoError, VideoReader, open_video

__all__ = ["FrameSelectionError", "select_uniform", "select_kmeans", "select_kmeans_uniform", "extract_frames", "kmeans"]


class FrameSelectionError(PoselabError, ValueError):
    """Frames cannot be chosen as asked (the message says what to change)."""


def _as_count(value, name: str) -> int:
    if isinstance(value, (bool, np.bool_)) or int(value) != value or value < 0:
        raise FrameSelectionError(f"{name} must be a non-negative integer; got {value!r}")
    return int(value)


def _available(n_total: int, exclude: Iterable[int]) -> np.ndarray:
    """Sorted frame indices in ``[0, n_total)`` not in ``exclude`` (excluded frames outside are ignored)."""
    excluded = np.asarray(list(exclude), dtype=np.int64).ravel()
    keep = np.ones(n_total, bool)
    excluded = excluded[(excluded >= 0) & (excluded < n_total)]
    keep[excluded] = False
    return np.flatnonzero(keep)


def _free_frames(n_total: int, n: int, exclude: Iterable[int]) -> np.ndarray:
    """The frames not excluded, after checking that ``n`` of them can be chosen."""
    available = _available(n_total, exclude)
    if n > len(available):
        raise FrameSelectionError(
            f"cannot choose {n} frames: only {len(available)} of the video's {n_total} frames are not excluded; "
            f"ask for at most {len(available)}"
        )
    return available


def _spread(available: np.ndarray, n: int, span: int) -> np.ndarray:
    """``n`` distinct elements of sorted ``available``, each as near as possible to evenly spaced targets.

    The targets are the centres of ``n`` equal bins of ``[0, span)``. Each target takes its nearest
    available value; collisions move later targets forward (order is kept, so all are distinct).
    """
    m = len(available)
    if n == 0:
        return np.zeros(0, np.int64)
    targets = ((2 * np.arange(n, dtype=np.int64) + 1) * span) // (2 * n)
    right = np.clip(np.searchsorted(available, targets), 0, m - 1)
    left = np.clip(right - 1, 0, m - 1)
    nearest = np.where(np.abs(available[left] - targets) <= np.abs(available[right] - targets), left, right)
    k = np.arange(n)
    # Room for the others: target k takes a position in [k, m - n + k]; then strictly increasing.
    position = np.clip(nearest, k, m - n + k)
    position = np.maximum.accumulate(position - k) + k
    return available[position].astype(np.int64)


def select_uniform(n_total: int, n: int, *, exclude: Iterable[int] = ()) -> np.ndarray:
    """``n`` frames evenly spaced in time, skipping excluded frames.

    The frames are the centres of ``n`` equal parts of the video, ``floor((2k + 1) n_total / 2n)``
    for ``k = 0..n-1``; an excluded (or already taken) frame is replaced by the nearest free one.

    Parameters
    ----------
    n_total
        Number of frames in the video.
    n
        Number of frames to choose.
    exclude
        Frames never to choose (e.g. those already labeled).

    Returns
    -------
    numpy.ndarray
        ``int64 (n,)`` sorted, unique frame indices.

    Raises
    ------
    FrameSelectionError
        ``n`` exceeds the frames that are not excluded.
    """
    n_total, n = _as_count(n_total, "n_total"), _as_count(n, "n")
    return _spread(_free_frames(n_total, n, exclude), n, n_total)


def kmeans(
    data: np.ndarray, k: int, *, seed: int = 0, n_init: int = 4, n_iter: int = 100
) -> tuple[np.ndarray, np.ndarray]:
    """k-means (scikit-learn's ``KMeans``), deterministic given ``seed``.

    Greedy k-means++ starts (each centre the best of ``2 + log k`` candidates drawn in proportion
    to squared distance), Lloyd iterations until no point changes cluster, and the best of
    ``n_init`` runs (lowest sum of squared distances), which avoids the local minima a single
    start can fall into.

    Parameters
    ----------
    data
        ``(N, D)`` points (any unit; distances are Euclidean in that unit).
    k
        Number of clusters (``1 <= k <= N``).
    seed
        Seed of the random starts.
    n_init
        Number of starts.
    n_iter
        Most Lloyd iterations per start.

    Returns
    -------
    centres : ``(k, D)`` float64
    labels : ``(N,)`` int64, the cluster of each point

    Raises
    ------
    FrameSelectionError
        ``data`` is not ``(N, D)`` or ``k`` is out of range.
    """
    import warnings

    from sklearn.cluster import KMeans
    from sklearn.exceptions import ConvergenceWarning

    data = np.asarray(data, dtype=np.float64)
    if data.ndim != 2:
        raise FrameSelectionError(f"k-means needs (N, D) points; got shape {data.shape}")
    n = len(data)
    if not 1 <= k <= n:
        raise FrameSelectionError(f"k-means needs 1 <= k <= number of points; got k={k} for {n} points")
    model = KMeans(n_clusters=int(k), init="k-means++", n_init=max(1, int(n_init)),
                   max_iter=max(1, int(n_iter)), tol=0.0, random_state=seed, algorithm="lloyd")
    with warnings.catch_warnings():
        # Fewer distinct points than k (e.g. a static video): the caller fills the rest.
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(data)
    return model.cluster_centers_.astype(np.float64), model.labels_.astype(np.int64)


@contextmanager
def _reader(video: str | os.PathLike | VideoReader):
    if isinstance(video, VideoReader):
        yield video
    else:
        with open_video(video) as reader:
            yield reader


def select_kmeans(
    video: str | os.PathLike | VideoReader,
    n: int,
    *,
    exclude: Iterable[int] = (),
    step: int | None = None,
    max_samples: int = 1000,
    size: tuple[int, int] = (32, 24),
    seed: int = 0,
    progress: bool = False,
) -> np.ndarray:
    """``n`` visually distinct frames: k-means on small grayscale copies of sampled frames.

    Frames are sampled (every ``step``-th of the frames not excluded, at most ``max_samples``,
    spread over the whole video), shrunk to ``size`` pixels in grayscale, clustered into ``n``
    clusters, and from each cluster the sampled frame nearest to its centre is chosen.

    Parameters
    ----------
    video
        A video path or an open :class:`~poselab.io.video.VideoReader`.
    n
        Number of frames to choose.
    exclude
        Frames never to choose (e.g. those already labeled).
    step
        Sample every ``step``-th available frame (default: spread ``max_samples`` over the video).
    max_samples
        At most this many frames are decoded and clustered.
    size
        ``(width, height)`` in pixels of the downsampled frames.
    seed
        Seed of the k-means initialisation (same seed, same frames).
    progress
        Show a progress bar while frames are read.

    Returns
    -------
    numpy.ndarray
        ``int64 (n,)`` sorted, unique frame indices.
    """
    import cv2

    n = _as_count(n, "n")
    max_samples = _as_count(max_samples, "max_samples")
    if step is not None and _as_count(step, "step") < 1:
        raise FrameSelectionError(f"step must be a positive integer; got {step!r}")
    width, height = (int(v) for v in size)
    if width < 1 or height < 1:
        raise FrameSelectionError(f"size must be (width, height) in pixels, both >= 1; got {size!r}")
    with _reader(video) as reader:
        available = _free_frames(len(reader), n, exclude)
        if n == 0:
            return np.zeros(0, np.int64)
        pool = available if step is None else available[::int(step)]
        n_samples = min(len(pool), max(max_samples, n))
        sample = pool[_spread(np.arange(len(pool)), n_samples, len(pool))]
        indices, features = [], []
        for index, image in tqdm(reader.iter_frames_at(sample), total=len(sample), disable=not progress,
                                 desc=f"sample {reader.path.name}", unit="frame"):
            gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
            features.append(cv2.resize(gray, (width, height), interpolation=cv2.INTER_AREA).ravel())
            indices.append(index)
    indices = np.asarray(indices, np.int64)
    if len(indices) < n:
        raise FrameSelectionError(f"only {len(indices)} of the sampled frames could be decoded, fewer than the "
                                  f"{n} asked for: lower n, or pass a smaller step")
    data = np.asarray(features, np.float64)
    centres, labels = kmeans(data, n, seed=seed)
    # For each cluster, its member nearest to the centre (clusters are disjoint, so picks are distinct).
    d = np.sum((data - centres[labels]) ** 2, axis=1)
    order = np.lexsort((d, labels))
    first = np.flatnonzero(np.r_[True, labels[order][1:] != labels[order][:-1]])
    chosen = indices[order[first]]
    if len(chosen) < n:  # fewer distinct-looking groups than n (e.g. a static video): fill evenly
        rest = np.setdiff1d(indices, chosen)
        chosen = np.concatenate([chosen, rest[_spread(np.arange(len(rest)), n - len(chosen), len(rest))]])
    return np.sort(chosen)


def select_kmeans_uniform(
    video: str | os.PathLike | VideoReader,
    n: int,
    *,
    uniform_share: float = 0.5,
    exclude: Iterable[int] = (),
    seed: int = 0,
    progress: bool = False,
) -> np.ndarray:
    """``n`` frames: some visually distinct (k-means), the rest evenly spaced in time.

    k-means on whole frames spends its clusters where the picture changes most: while the
    animal walks, each place in the arena looks different, so locomotion takes most of the
    frames and postures held in one place (grooming, rearing, rest) get few; a network
    trained on them then misses those postures. Frames evenly spaced in time cover each
    behaviour in proportion to its time. No evenly spaced frame is taken within
    ``n_frames / (4 n)`` frames of a k-means frame (the same pose labeled twice) while enough
    frames are left. On six synthetic worlds
    (seeds 100-105; ``benchmarks/frame_selection_coverage.py``), 50 k-means frames held 23
    grooming and 130 walking frames in all, 50 evenly spaced ones 55 and 76.

    Parameters
    ----------
    video
        A video path or an open :class:`~poselab.io.video.VideoReader`.
    n
        Number of frames to choose.
    uniform_share
        Share of the ``n`` frames spaced evenly in time (0 to 1; 0 is :func:`select_kmeans`,
        1 is :func:`select_uniform`).
    exclude
        Frames never to choose (e.g. those already labeled).
    seed
        Seed of the k-means initialisation (same seed, same frames).
    progress
        Show a progress bar while frames are read.

    Returns
    -------
    numpy.ndarray
        ``int64 (n,)`` sorted, unique frame indices.
    """
    n = _as_count(n, "n")
    share = float(uniform_share)
    if not 0.0 <= share <= 1.0:
        raise FrameSelectionError(f"uniform_share must be between 0 and 1; got {uniform_share!r}")
    n_uniform = round(n * share)
    excluded = np.asarray(list(exclude), np.int64).ravel()
    with _reader(video) as reader:
        n_total = len(reader)
        _free_frames(n_total, n, excluded)
        distinct = select_kmeans(reader, n - n_uniform, exclude=excluded, seed=seed, progress=progress)
    # An evenly spaced frame next to a k-means frame would show the same pose twice: keep them
    # apart by a quarter of the even spacing where enough frames are left for that.
    radius = n_total // (4 * max(n, 1))
    near = (distinct[:, None] + np.arange(-radius, radius + 1)[None]).ravel()
    if len(_available(n_total, np.concatenate([excluded, near]))) < n_uniform:
        near = distinct
    spaced = select_uniform(n_total, n_uniform, exclude=np.concatenate([excluded, near]))
    return np.sort(np.concatenate([distinct, spaced]))


def extract_frames(
    video: str | os.PathLike | VideoReader,
    frames: Iterable[int],
    out_dir: str | os.PathLike,
    *,
    prefix: str = "img",
    digits: int = 5,
    progress: bool = False,
) -> list[Path]:
    """Write frames of a video as lossless PNG images, e.g. ``out_dir/img00042.png``.

    Each image is written under a temporary name and renamed, so a partial PNG never exists.

    Parameters
    ----------
    video
        A video path or an open :class:`~poselab.io.video.VideoReader`.
    frames
        Frame indices to extract.
    out_dir
        Folder for the images (created if missing).
    prefix, digits
        File names are ``f"{prefix}{frame:0{digits}d}.png"``.
    progress
        Show a progress bar.

    Returns
    -------
    list of Path
        The images, in the order of ``frames``.

    Raises
    ------
    VideoError
        A frame is out of range or cannot be decoded.
    """
    import cv2

    wanted = [int(f) for f in frames]
    digits = _as_count(digits, "digits")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {f: out / f"{prefix}{f:0{digits}d}.png" for f in wanted}
    with _reader(video) as reader:
        written = set()
        for index, image in tqdm(reader.iter_frames_at(wanted), total=len(paths), disable=not progress,
                                 desc=f"extract {reader.path.name}", unit="frame"):
            ok, png = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
            if not ok:
                raise VideoError(f"could not encode frame {index} as PNG")
            write_bytes_atomic(paths[index], png.tobytes())
            written.add(index)
        missing = sorted(set(paths) - written)
        if missing:
            raise VideoError(f"frames {missing} of {reader.path} cannot be decoded (damaged file) and were not "
                             "extracted; choose other frames")
    return [paths[f] for f in wanted]
