"""Pure logic of the live view (no widgets): the readout, the region from a brush, what to draw.

Tested without a browser; :mod:`poselab.widgets.live` is the thin view over it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["readout", "region_from_brush", "points_to_draw", "region_outline"]


def readout(stats: Any, trigger: Any = None, running: bool = False, error: BaseException | None = None) -> str:
    """One line of HTML: frames/s, latency (median and 99th percentile, ms), dropped frames,
    the trigger's state, and the error that stopped the session if one did."""
    import html

    if error is not None:
        return f"<span class='poselab-live-readout poselab-live-error'>stopped by an error: {html.escape(str(error))}</span>"
    if stats is None or stats.frames_processed == 0:
        text = "running: waiting for the first frame" if running else "stopped: press Start"
    else:
        text = (f"{'running' if running else 'stopped'}: {stats.fps:.1f} frames/s, latency "
                f"{stats.latency_median_ms:.1f} ms (99th percentile {stats.latency_p99_ms:.1f} ms), "
                f"{stats.frames_dropped} of {stats.frames_read} frames dropped")
        if math.isfinite(stats.effective_latency_median_ms):
            text += f", {stats.effective_latency_median_ms:.1f} ms with forward prediction"
    if trigger is not None:
        state = "IN" if trigger.inside else "out"
        text += f"; {trigger.part} {state} region ({trigger.entries} entries)"
    return f"<span class='poselab-live-readout'>{text}</span>"


def region_from_brush(selected_x: Sequence[float] | None, selected_y: Sequence[float] | None,
                      width: int, height: int) -> tuple[float, float, float, float] | None:
    """The rectangle ``(x0, y0, x1, y1)`` pixels a brush selected, clipped to the frame (None: no
    selection, or one of zero area)."""
    if selected_x is None or selected_y is None or len(selected_x) != 2 or len(selected_y) != 2:
        return None
    x0, x1 = sorted(float(v) for v in selected_x)
    y0, y1 = sorted(float(v) for v in selected_y)
    x0, x1 = max(x0, -0.5), min(x1, width - 0.5)
    y0, y1 = max(y0, -0.5), min(y1, height - 0.5)
    if not (x1 > x0 and y1 > y0):
        return None
    return (x0, y0, x1, y1)


def region_outline(region: Any) -> tuple[list[float], list[float]]:
    """The closed outline (xs, ys) pixels of a :class:`~poselab.live.Region` (empty for None)."""
    if region is None:
        return [], []
    vertices = np.vstack([region.vertices, region.vertices[:1]])
    return vertices[:, 0].tolist(), vertices[:, 1].tolist()


def points_to_draw(pose: Any, min_likelihood: float = 0.5) -> tuple[list[tuple[float, float]], list[str]]:
    """The parts to draw: ``(x, y)`` pixels and names of those seen with ``min_likelihood``."""
    if pose is None:
        return [], []
    points, names = [], []
    for name, xy, likelihood in zip(pose.parts, pose.xy, pose.likelihood):
        if np.isfinite(xy).all() and np.nan_to_num(likelihood) >= min_likelihood:
            points.append((float(xy[0]), float(xy[1])))
            names.append(str(name))
    return points, names
