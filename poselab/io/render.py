"""Labeled videos: predictions drawn over the frames (parts, skeleton, trails, likelihood).

Drawing is vectorised: every marker of a frame is stamped with one numpy fancy-indexing blend
(no Python loop over points), and all skeleton segments of a frame are drawn with one OpenCV
``polylines`` call.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import xarray as xr
from tqdm.auto import tqdm

from poselab.core import poses
from poselab.core.validate import part_index_pairs
from poselab.io.video import open_video, write_video

__all__ = ["part_colours", "draw_poses", "labeled_video"]


def part_colours(n: int) -> np.ndarray:
    """``n`` distinct, saturated RGB colours (uint8, shape ``(n, 3)``), evenly spaced in hue."""
    import cv2

    hues = (np.arange(n) * 180 / max(n, 1)).astype(np.uint8)
    hsv = np.stack([hues, np.full(n, 230, np.uint8), np.full(n, 255, np.uint8)], axis=-1)
    return cv2.cvtColor(hsv[None], cv2.COLOR_HSV2RGB)[0]


def _disc(radius: int) -> np.ndarray:
    r = int(radius)
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
    inside = xx**2 + yy**2 <= r * r + r  # a round-looking disc at small radii
    return np.stack([yy[inside], xx[inside]], axis=-1)


def draw_poses(
    frame: np.ndarray,
    points: np.ndarray,
    colours: np.ndarray,
    *,
    alpha: np.ndarray | None = None,
    radius: int = 4,
    segments: np.ndarray | None = None,
    segment_colour: tuple[int, int, int] = (255, 255, 255),
) -> np.ndarray:
    """Draw markers (and skeleton segments) on one RGB frame, in place; returns the frame.

    Parameters
    ----------
    frame
        RGB uint8 image, shape ``(height, width, 3)``.
    points
        Marker centres in pixels, shape ``(n, 2)`` as (x, y); NaN rows are skipped.
    colours
        RGB uint8 colour per marker, shape ``(n, 3)``.
    alpha
        Opacity per marker in [0, 1] (e.g. the likelihood); default opaque.
    radius
        Marker radius in pixels.
    segments
        Line segments in pixels, shape ``(m, 2, 2)`` as ((x0, y0), (x1, y1)); NaN rows skipped.
    """
    import cv2

    height, width = frame.shape[:2]
    if segments is not None and len(segments):
        valid = np.isfinite(segments).all(axis=(1, 2))
        if valid.any():
            lines = np.round(segments[valid]).astype(np.int32)
            cv2.polylines(frame, list(lines), False, segment_colour, 1, cv2.LINE_AA)
    points = np.asarray(points, dtype=float)
    valid = np.isfinite(points).all(axis=1)
    if alpha is not None:
        alpha = np.clip(np.nan_to_num(np.asarray(alpha, dtype=float)), 0.0, 1.0)
        valid &= alpha > 0
    if not valid.any():
        return frame
    centres = np.round(points[valid][:, ::-1]).astype(np.int64)  # (row, col)
    stamp = _disc(radius)
    pixels = centres[:, None, :] + stamp[None, :, :]  # (n, k, 2)
    inside = (pixels[..., 0] >= 0) & (pixels[..., 0] < height) & (pixels[..., 1] >= 0) & (pixels[..., 1] < width)
    rows, cols = pixels[..., 0][inside], pixels[..., 1][inside]
    colour = np.broadcast_to(np.asarray(colours)[valid][:, None, :], pixels.shape[:2] + (3,))[inside]
    opacity = np.ones(len(centres)) if alpha is None else alpha[valid]
    a = np.broadcast_to(opacity[:, None], pixels.shape[:2])[inside][:, None]
    frame[rows, cols] = (frame[rows, cols] * (1 - a) + colour * a).round().astype(np.uint8)
    return frame


def labeled_video(
    ds: xr.Dataset,
    video: str | os.PathLike,
    out: str | os.PathLike,
    *,
    skeleton: Sequence[Sequence[str]] = (),
    likelihood_threshold: float = 0.0,
    trail_frames: int = 0,
    radius: int = 4,
    progress: bool = True,
) -> Path:
    """Render the poses of ``ds`` over ``video`` into a new mp4.

    Markers are drawn with the likelihood as opacity; parts below ``likelihood_threshold`` are
    not drawn. Frames of the video that ``ds`` does not cover are written unchanged.

    Parameters
    ----------
    ds
        A pose Dataset whose ``frame`` coordinate indexes the video's frames.
    video, out
        The source video and the mp4 to write (atomically).
    skeleton
        Pairs of part names joined by lines (a project's ``skeleton``; see also
        :meth:`poselab.project.Project.labeled_video`, which passes it).
    likelihood_threshold
        Minimum likelihood for a part to be drawn.
    trail_frames
        Length, in frames, of the fading trail drawn behind each part (0: none).
    radius
        Marker radius in pixels.

    Returns
    -------
    Path
        The written video (same frame count, size and frame rate as ``video``).
    """
    poses.validate(ds)
    pairs = part_index_pairs(skeleton, ds["part"].values.tolist(), what="skeleton limb")
    position = ds["position"].transpose("frame", "animal", "part", "coord").values[..., :2].astype(float)
    likelihood = ds["likelihood"].transpose("frame", "animal", "part").values.astype(float)
    alpha = np.nan_to_num(likelihood, nan=1.0)  # no likelihood (e.g. labels): fully trusted
    position = np.where((alpha < likelihood_threshold)[..., None], np.nan, position)
    n_animals, n_parts = position.shape[1:3]
    colours = np.tile(part_colours(n_parts), (n_animals, 1))
    row_of_frame = {int(f): i for i, f in enumerate(ds["frame"].values)}

    def frames() -> Iterator[np.ndarray]:
        # Batches keep every index: a frame that cannot be decoded stays in the output (black),
        # so the labeled video keeps the original's frame count and timing.
        with open_video(video) as reader, tqdm(total=len(reader), disable=not progress,
                                               desc="labeled video", unit="frame") as bar:
            for batch in reader.iter_batches(32):
                for frame_index, image in zip(batch.indices, batch.frames):
                    row = row_of_frame.get(int(frame_index))
                    if row is None:
                        yield image
                        continue
                    if trail_frames > 0:
                        _draw_trails(image, position, row, trail_frames, colours)
                    pts = position[row]  # (animal, part, 2)
                    segments = pts[:, pairs].reshape(-1, 2, 2) if len(pairs) else None
                    yield draw_poses(image, pts.reshape(-1, 2), colours, alpha=alpha[row].ravel(),
                                     radius=radius, segments=segments)
                bar.update(len(batch.indices))

    with open_video(video) as reader:
        fps = reader.info.fps
    return write_video(out, frames(), fps)


def _draw_trails(image: np.ndarray, position: np.ndarray, row: int, length: int, colours: np.ndarray) -> None:
    import cv2

    start = max(0, row - length)
    if row - start < 1:
        return
    track = position[start : row + 1]  # (t, animal, part, 2)
    flat = track.reshape(track.shape[0], -1, 2).transpose(1, 0, 2)  # (point, t, 2)
    for colour, line in zip(colours, flat):
        line = line[np.isfinite(line).all(axis=1)]
        if len(line) > 1:
            cv2.polylines(image, [np.round(line).astype(np.int32)], False, tuple(int(c) for c in colour), 1)
