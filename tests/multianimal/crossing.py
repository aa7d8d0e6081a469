"""The scene both identity cues are tested on: two animals walk side by side to the right, are
lost for 10 frames (one climbs over the other) and come back in each other's lane, so positions
and motion alone say each went straight on (a swap)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

BODY = np.array([0.0, -6.0, -12.0])  # three parts along x behind the snout (pixels)
LANES = (40.0, 64.0)  # y of A and B before the crossing (pixels)


def lanes_swapped(cue: Callable[[int], np.ndarray], width: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """70 frames of detections ``(2, 3, 3)`` (A first; none in frames 30-39) and, per frame, the
    cue's rows for A and B (``cue(t)``, ``(2, width)``, A first; ``(0, width)`` where
    nothing is detected)."""
    frames, cues = [], []
    for t in range(70):
        if 30 <= t < 40:
            frames.append(np.zeros((0, 3, 3)))
            cues.append(np.zeros((0, width)))
            continue
        ya, yb = LANES if t < 30 else LANES[::-1]
        x = 20 + t * 1.0 + BODY
        frames.append(np.stack([np.c_[x, np.full(3, ya), np.ones(3)], np.c_[x, np.full(3, yb), np.ones(3)]]))
        cues.append(cue(t))
    return frames, cues


def identity_that_started_on_a_ends_on(ds) -> str:
    """``"A"`` when the identity that starts on A is on A at frame 60, ``"B"`` when on B."""
    y = ds["position"].sel(part="part0", coord="y").values  # (animal, frame)
    first = 0 if abs(y[0, 0] - LANES[0]) < 1 else 1
    return "A" if abs(y[first, 60] - LANES[1]) < 1 else "B" if abs(y[first, 60] - LANES[0]) < 1 else "?"
