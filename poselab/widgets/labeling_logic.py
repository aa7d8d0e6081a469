"""Pure labeling logic behind :mod:`poselab.widgets.labeling` (no ipywidgets here).

:class:`LabelingSession` is a small state machine over a :class:`~poselab.project.labels.LabelStore`:
the current image, the active part (and animal), navigation, place / move / delete / occlude
edits (each one saved at once: the store commits one transaction per edit), the progress text,
keyboard handling (with the duplicate-keydown dedupe seen in Voila), the zoom mode and the
skeleton's line segments (the project's ``skeleton``, pairs of part names). What the view
draws is decided here too: each part's state and legend mark (:func:`part_states`,
:func:`legend_html`), the pan/zoom banner and click message, and where point names go so
they do not overlap (:func:`label_positions`). The helpers below it (:func:`keydown_key`,
:func:`skeleton_segments`, :func:`encode_jpeg`, :func:`figure_layout`) serve the review
widget too.

Coordinates are image pixels: origin at the top-left corner, x to the right, y down, pixel
centres at integer coordinates (the image spans ``[-0.5, size - 0.5]``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from poselab.core.errors import PoselabError
from poselab.core.validate import part_index_pairs

# The widgets sit above the project layer and only use what a project hands them: a label store
# (poselab.project.labels.LabelStore) and its image records, typed here by what they are called.
LabelStore = Any
ImageRecord = Any

#: Default keyboard map: key (``KeyboardEvent.key``) -> action name.
DEFAULT_KEYMAP: dict[str, str] = {
    "n": "next",
    "ArrowRight": "next",
    "p": "previous",
    "b": "previous",
    "ArrowLeft": "previous",
    "j": "next_part",
    "ArrowDown": "next_part",
    "k": "previous_part",
    "ArrowUp": "previous_part",
    "x": "delete",
    "Delete": "delete",
    "Backspace": "delete",
    "o": "occluded",
    "z": "zoom",
}

#: One colour per part (cycled), readable on grey-level frames.
PART_COLORS = (
    "#e6194b", "#3cb44b", "#ffe119", "#4363d8", "#f58231", "#911eb4", "#46f0f0", "#f032e6",
    "#bcf60c", "#fabebe", "#008080", "#e6beff", "#9a6324", "#fffac8", "#800000", "#aaffc3",
)


#: What the keys do, shown under the labeling widget.
KEY_HELP = ("Keys work while the mouse is over the image: n/→ next, p/← previous, j/↓ next part, "
            "k/↑ previous part, x delete, o occluded, z pan/zoom.")


#: Legend mark of a part per state (see :func:`part_states`).
PART_SYMBOLS: dict[str, str] = {"placed": "■", "unplaced": "□", "occluded": "⊘"}

#: The key to the legend marks, shown with the legend.
LEGEND_KEY = "■ placed · □ not placed · ⊘ occluded (a ring on the image where its position is known)"

#: The mode line above the image while pan/zoom mode is on.
PANZOOM_BANNER = "pan/zoom mode: drag to pan, wheel to zoom — press z or the button to label again"

#: Shown beside the mode line after a click on the image in pan/zoom mode (clicks pan there).
PANZOOM_CLICK_MESSAGE = "click not placed: pan/zoom mode is on"


class LabelingError(PoselabError, ValueError):
    """A labeling action that cannot be done (no images, unknown part, bad key map...)."""


def part_colors(parts: Sequence[str]) -> dict[str, str]:
    """A colour (hex string) per part, cycling :data:`PART_COLORS`."""
    return {p: PART_COLORS[i % len(PART_COLORS)] for i, p in enumerate(parts)}


@dataclass
class LabelingSession:
    """State of one labeling session over a label store.

    Parameters
    ----------
    store
        The label store; every edit goes straight to it (autosave).
    images
        The images to label, in order (default: all registered images).
    animal
        The animal being labeled (default: the store's first animal).
    keymap
        Key -> action map (default :data:`DEFAULT_KEYMAP`); actions: next, previous, next_part,
        previous_part, delete, occluded, zoom.
    auto_advance
        After a click places a part, make the next unplaced part active.
    skeleton
        Pairs of part names joined by lines (e.g. the project's ``skeleton``); limbs with a
        part the store does not have are refused.
    """

    store: LabelStore
    images: list[ImageRecord] = field(default_factory=list)
    animal: str | None = None
    keymap: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_KEYMAP))
    auto_advance: bool = True
    skeleton: Sequence[Sequence[str]] = ()
    limbs: np.ndarray = field(init=False, repr=False, compare=False, default=None)
    """``(L, 2)`` part indices of the skeleton's limbs (from ``skeleton``)."""
    index: int = 0
    part: str = ""
    zoom: bool = False
    sizes: dict[str, tuple[int, int]] = field(default_factory=dict)
    _last_key: tuple | None = None
    _last_edited: str | None = None

    ACTIONS = ("next", "previous", "next_part", "previous_part", "delete", "occluded", "zoom")

    def __post_init__(self) -> None:
        if not self.images:
            self.images = self.store.images()
        if not self.images:
            raise LabelingError("no images to label: register some first (project.select_frames(...))")
        self.animal = self.animal or self.store.animals[0]
        if self.animal not in self.store.animals:
            raise LabelingError(f"unknown animal {self.animal!r}: use one of {self.store.animals}")
        bad = {a for a in self.keymap.values() if a not in self.ACTIONS}
        if bad:
            raise LabelingError(f"unknown key actions {sorted(bad)}: use {list(self.ACTIONS)}")
        self.part = self.part or self.parts[0]
        self.limbs = part_index_pairs(self.skeleton, self.parts, what="limb", error=LabelingError)
        self.goto(self.index)

    # --- state ----------------------------------------------------------------------------------

    @property
    def parts(self) -> list[str]:
        """Part names, in store order."""
        return list(self.store.parts)

    @property
    def image(self) -> ImageRecord:
        """The current image."""
        return self.images[self.index]

    def points(self) -> dict[str, tuple[float | None, float | None, bool]]:
        """Placed parts of the current image and animal: ``{part: (x, y, occluded)}`` (pixels)."""
        return {p: v for (a, p), v in self.store.points(self.image.image).items() if a == self.animal}

    def unplaced(self) -> list[str]:
        """Parts not yet placed (nor marked occluded) on the current image, in part order."""
        done = self.points()
        return [p for p in self.parts if p not in done]

    def states(self) -> dict[str, str]:
        """``{part: "placed" | "occluded" | "unplaced"}`` on the current image, in part order
        (see :func:`part_states`)."""
        return part_states(self.parts, self.points())

    def banner(self) -> str:
        """The mode line shown above the image: :data:`PANZOOM_BANNER` in pan/zoom mode, else
        what a click does (always there, so switching modes does not move the image)."""
        if self.zoom:
            return PANZOOM_BANNER
        return f"label mode: click the image to place {self.part}, drag a point to move it"

    def progress(self) -> str:
        """E.g. ``"frame 12/40, 3/4 parts"`` (1-based frame number)."""
        n_done = len(self.parts) - len(self.unplaced())
        return f"frame {self.index + 1}/{len(self.images)}, {n_done}/{len(self.parts)} parts"

    def segments(self) -> np.ndarray:
        """Skeleton lines between the placed parts of the current image and animal.

        Returns
        -------
        numpy.ndarray
            ``(n, 2, 2)`` segments ``((x0, y0), (x1, y1))`` in pixels, one per limb whose two
            parts have a position (an occluded part's guessed position counts).
        """
        done = self.points()
        xy = np.array([[np.nan, np.nan] if done.get(p, (None,))[0] is None else done[p][:2] for p in self.parts],
                      dtype=float)
        return skeleton_segments(xy, self.limbs)

    def size(self) -> tuple[int, int]:
        """(width, height) of the current image in pixels (0, 0 when unknown)."""
        rec = self.image
        return self.sizes.get(rec.image, (rec.width, rec.height))

    # --- navigation -----------------------------------------------------------------------------

    def goto(self, index: int) -> int:
        """Jump to image ``index`` (0-based, clipped to the range); the first unplaced part
        becomes active (or the first part when all are placed). Returns the new index."""
        if not isinstance(index, (int, np.integer)):
            raise LabelingError(f"image index must be an integer, got {index!r}")
        self.index = int(np.clip(index, 0, len(self.images) - 1))
        todo = self.unplaced()
        self.part = todo[0] if todo else self.parts[0]
        self._last_edited = None
        return self.index

    def next(self) -> int:
        """Go to the next image (stays on the last one)."""
        return self.goto(self.index + 1)

    def previous(self) -> int:
        """Go to the previous image (stays on the first one)."""
        return self.goto(self.index - 1)

    def select_part(self, part: str) -> None:
        """Make ``part`` the active part (the one a click places)."""
        if part not in self.parts:
            raise LabelingError(f"unknown part {part!r}: use one of {self.parts}")
        self.part = part

    def select_animal(self, animal: str) -> None:
        """Label ``animal`` from now on (multi-animal projects); its first unplaced part
        becomes active."""
        if animal not in self.store.animals:
            raise LabelingError(f"unknown animal {animal!r}: use one of {self.store.animals}")
        self.animal = animal
        self.goto(self.index)

    def next_part(self, step: int = 1) -> str:
        """Make the next (``step=-1``: previous) part active, cycling; returns it."""
        i = (self.parts.index(self.part) + step) % len(self.parts)
        self.part = self.parts[i]
        return self.part

    # --- edits (each saved at once) -------------------------------------------------------------

    def _clamp(self, x: float, y: float) -> tuple[float, float]:
        # Clicks on the image border can map a hair outside [-0.5, size-0.5]; snap them in.
        w, h = self.size()
        x, y = float(x), float(y)
        if w and h:
            x = float(np.clip(x, -0.5, w - 0.5))
            y = float(np.clip(y, -0.5, h - 0.5))
        return x, y

    def place(self, x: float, y: float) -> str:
        """Place the active part at (x, y) pixels (a click); returns the part placed.

        With ``auto_advance`` the next unplaced part (after this one, cycling) becomes active.
        """
        placed = self.part
        x, y = self._clamp(x, y)
        self.store.set_point(self.image.image, placed, x, y, animal=self.animal)
        self._last_edited = placed
        if self.auto_advance:
            todo = self.unplaced()
            if todo:
                i = self.parts.index(placed)
                after = [p for p in self.parts[i + 1:] + self.parts[: i + 1] if p in todo]
                self.part = after[0]
        return placed

    def click(self, x: float, y: float) -> str | None:
        """A click on the image at (x, y) pixels: places the active part (see :meth:`place`) and
        returns it, or places nothing and returns None in pan/zoom mode (the view then says
        :data:`PANZOOM_CLICK_MESSAGE`, so the click is not lost silently)."""
        return None if self.zoom else self.place(x, y)

    def move(self, part: str, x: float, y: float) -> None:
        """Move an already placed ``part`` to (x, y) pixels (a drag end); keeps the active part."""
        if part not in self.parts:
            raise LabelingError(f"unknown part {part!r}: use one of {self.parts}")
        occluded = self.points().get(part, (None, None, False))[2]
        x, y = self._clamp(x, y)
        self.store.set_point(self.image.image, part, x, y, animal=self.animal, occluded=occluded)
        self._last_edited = part

    def _target(self, part: str | None) -> str:
        # Explicit part, else the active part if placed, else the part edited last on this image
        # (after a click the active part has moved on; "delete" should undo that click).
        if part is not None:
            return part
        done = self.points()
        if self.part in done or self._last_edited is None:
            return self.part
        return self._last_edited

    def delete(self, part: str | None = None) -> str | None:
        """Delete a placed part (default: see :meth:`_target`); it becomes active.

        Returns the deleted part, or None when nothing was placed.
        """
        target = self._target(part)
        removed = self.store.delete_point(self.image.image, target, animal=self.animal)
        self.part = target
        self._last_edited = None
        return target if removed else None

    def mark_occluded(self, part: str | None = None) -> str:
        """Toggle "occluded" on a part (default: the active part), keeping its position if
        placed; then moves on like :meth:`place`. Returns the part."""
        target = part if part is not None else self.part
        x, y, occ = self.points().get(target, (None, None, False))
        self.store.set_point(self.image.image, target, x, y, animal=self.animal, occluded=not occ)
        self._last_edited = target
        if self.auto_advance and target == self.part:
            todo = self.unplaced()
            if todo:
                i = self.parts.index(target)
                self.part = [p for p in self.parts[i + 1:] + self.parts[: i + 1] if p in todo][0]
        return target

    def toggle_zoom(self) -> bool:
        """Switch pan/zoom mode (while on, clicks and drags pan instead of labeling)."""
        self.zoom = not self.zoom
        return self.zoom

    # --- keyboard -------------------------------------------------------------------------------

    def key_action(self, event: dict) -> str | None:
        """The action for an ipyevents keydown dict, or None (other keys, repeats, duplicates).

        See :func:`keydown_key` (Voila's duplicate keydowns and modified keys are ignored).
        """
        key, self._last_key = keydown_key(event, self._last_key)
        return None if key is None else self.keymap.get(key)

    def handle_key(self, event: dict) -> str | None:
        """Apply the action of a keydown dict (see :meth:`key_action`); returns its name."""
        action = self.key_action(event)
        if action == "next":
            self.next()
        elif action == "previous":
            self.previous()
        elif action == "next_part":
            self.next_part(1)
        elif action == "previous_part":
            self.next_part(-1)
        elif action == "delete":
            self.delete()
        elif action == "occluded":
            self.mark_occluded()
        elif action == "zoom":
            self.toggle_zoom()
        return action


# --- what the view draws -----------------------------------------------------------------------------


def part_states(parts: Sequence[str],
                points: dict[str, tuple[float | None, float | None, bool]]) -> dict[str, str]:
    """The state of each part: ``"placed"``, ``"occluded"`` or ``"unplaced"``.

    Parameters
    ----------
    parts
        Part names, in order.
    points
        ``{part: (x, y, occluded)}`` as :meth:`LabelingSession.points` gives (x, y None when an
        occluded part has no position).

    Returns
    -------
    dict
        ``{part: state}`` in ``parts`` order; an occluded part is ``"occluded"`` whether or not
        it has a position, and its legend mark is :data:`PART_SYMBOLS` ``["occluded"]``.
    """
    out = {}
    for p in parts:
        if p not in points:
            out[p] = "unplaced"
        else:
            out[p] = "occluded" if points[p][2] else "placed"
    return out


def legend_html(states: dict[str, str], active: str, colors: dict[str, str]) -> str:
    """The legend: one coloured mark and name per part (the active one underlined), then the key.

    Parameters
    ----------
    states
        ``{part: state}`` from :func:`part_states`.
    active
        The active part (the one a click places).
    colors
        ``{part: css colour}``.

    Returns
    -------
    str
        HTML: a ``<span class='poselab-legend-part' data-state=...>`` per part, then a
        ``<span class='poselab-legend-key'>`` with :data:`LEGEND_KEY`.
    """
    items = []
    for p, state in states.items():
        name = f"<u>{p}</u>" if p == active else p
        items.append(f"<span class='poselab-legend-part' data-state='{state}' style='color:{colors[p]}'>"
                     f"{PART_SYMBOLS[state]} {name}</span>")
    return " ".join(items) + f" &nbsp; <span class='poselab-legend-key'>{LEGEND_KEY}</span>"


def label_positions(xy: np.ndarray, widths: Sequence[float] | np.ndarray, height: float, *,
                    offset: tuple[float, float] = (0.0, 0.0),
                    bounds: tuple[float, float] | None = None) -> np.ndarray:
    """Positions of point labels such that no two labels overlap (screen pixels).

    Each label is a box ``widths[i]`` wide and ``height`` high whose left edge is at
    ``x + offset[0]`` and whose centre would ideally be at ``y + offset[1]``. Labels whose
    horizontal extents overlap (directly or through others) form a column; in a column the labels
    keep their top-to-bottom order and are moved vertically, as little as possible in the least
    squares sense, until they are at least ``height`` apart: a run of ``k`` crowded labels is
    stacked ``height`` apart and centred on the mean of their ideal centres (pool adjacent
    violators). Labels that crowd nobody stay where they are; x never changes.

    Parameters
    ----------
    xy
        ``(n, 2)`` point positions (x right, y down), screen pixels.
    widths
        ``(n,)`` label widths in pixels.
    height
        Label height in pixels (the least distance between the centres of labels in a column).
    offset
        ``(dx, dy)`` from a point to its label's left edge and ideal centre.
    bounds
        ``(top, bottom)``: keep the labels inside this range of y where there is room.

    Returns
    -------
    numpy.ndarray
        ``(n, 2)`` float: each label's left edge x and centre y, in input order.
    """
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    widths = np.broadcast_to(np.asarray(widths, dtype=float), (len(xy),))
    if height <= 0:
        raise LabelingError(f"label height must be positive, got {height}")
    if not np.isfinite(xy).all():
        raise LabelingError("label positions need finite points (leave out the unplaced ones)")
    left = xy[:, 0] + offset[0]
    ideal = xy[:, 1] + offset[1]
    out = np.column_stack([left, ideal])
    # columns: chains of overlapping [left, left + width] intervals (touching does not overlap)
    order = np.lexsort((np.arange(len(xy)), left))
    columns: list[list[int]] = []
    reach = -np.inf
    for i in order:
        if columns and left[i] < reach:
            columns[-1].append(int(i))
            reach = max(reach, left[i] + widths[i])
        else:
            columns.append([int(i)])
            reach = left[i] + widths[i]
    for col in columns:
        col.sort(key=lambda i: (ideal[i], left[i], i))
        # clusters: [first index in col, count, sum of (ideal - rank * height)]; a cluster's
        # labels sit at top, top + height, ... with top the mean of (ideal - rank * height)
        clusters: list[list[float]] = []

        def top(c: list[float]) -> float:
            t = c[2] / c[1]
            if bounds is not None:
                lo, hi = bounds[0] + height / 2, bounds[1] - height / 2 - (c[1] - 1) * height
                t = max(lo, min(t, hi)) if hi >= lo else lo
            return t

        for rank, i in enumerate(col):
            clusters.append([rank, 1, ideal[i]])
            while len(clusters) > 1:
                a, b = clusters[-2], clusters[-1]
                if top(a) + a[1] * height <= top(b) + 1e-9:
                    break
                # merge: b's labels now come after a's, so their ranks grow by a's count
                clusters[-2:] = [[a[0], a[1] + b[1], a[2] + b[2] - a[1] * height * b[1]]]
        for c in clusters:
            t = top(c)
            for k in range(int(c[1])):
                out[col[int(c[0]) + k], 1] = t + k * height
    return out


def is_click(down: dict[str, Any] | None, click: dict[str, Any], tolerance: float = 4.0) -> bool:
    """Whether an ipyevents ``click`` was a click, not the end of a drag (a pan).

    The browser sends ``click`` after a drag too; a click is one whose ``clientX``/``clientY``
    are within ``tolerance`` screen px of the last ``mousedown`` (``down``; None: unknown, so
    taken as a click).
    """
    if down is None:
        return True
    try:
        dx = float(click["clientX"]) - float(down["clientX"])
        dy = float(click["clientY"]) - float(down["clientY"])
    except (KeyError, TypeError, ValueError):
        return True
    return bool(np.hypot(dx, dy) <= tolerance)


# --- shared by the labeling and review widgets -----------------------------------------------------


def keydown_key(event: dict[str, Any], last: tuple | None) -> tuple[str | None, tuple | None]:
    """The key of an ipyevents keydown dict, or None for events to ignore.

    Voila was seen delivering each keydown twice with the same ``timeStamp``; the second copy,
    same (type, key, timeStamp) as ``last``, is ignored, and so are keys with Ctrl/Alt/Meta
    (left to the browser) and other event types.

    Parameters
    ----------
    event
        The ipyevents message (``type``, ``key``, ``timeStamp`` in ms, modifier flags).
    last
        What the previous call returned as the second value (None at first).

    Returns
    -------
    key : str or None
        ``KeyboardEvent.key``, or None when the event is to be ignored.
    last : tuple or None
        To pass to the next call.
    """
    if event.get("type", "keydown") != "keydown":
        return None, last
    ident = (event.get("type", "keydown"), event.get("key"), event.get("timeStamp"))
    if ident[2] is not None and ident == last:
        return None, last
    if event.get("ctrlKey") or event.get("altKey") or event.get("metaKey"):
        return None, ident
    return str(event.get("key", "")), ident


def skeleton_segments(xy: np.ndarray, limbs: np.ndarray) -> np.ndarray:
    """Line segments of a skeleton over points, leaving out limbs with an unknown end.

    Parameters
    ----------
    xy
        ``(n_parts, 2)`` or ``(n_animals, n_parts, 2)`` positions in pixels, NaN where unknown.
    limbs
        ``(L, 2)`` part indices (see :func:`poselab.core.validate.part_index_pairs`).

    Returns
    -------
    numpy.ndarray
        ``(n, 2, 2)`` float segments ``((x0, y0), (x1, y1))`` in pixels, animal by animal.
    """
    xy = np.asarray(xy, dtype=float)
    xy = xy.reshape(-1, xy.shape[-2], 2)
    limbs = np.asarray(limbs, dtype=np.int64).reshape(-1, 2)
    segments = xy[:, limbs].reshape(-1, 2, 2)
    return segments[np.isfinite(segments).all(axis=(1, 2))]


# --- frames ---------------------------------------------------------------------------------------


def load_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as an RGB uint8 array (height, width, 3)."""
    import cv2

    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise LabelingError(f"cannot read image {path}: is the file there and an image?")
    return bgr[:, :, ::-1]


def encode_jpeg(rgb: np.ndarray, quality: int = 85) -> bytes:
    """JPEG bytes of an RGB (or grey) uint8 image; JPEG q85 is ~20x smaller and 3x faster to
    show in the browser than PNG (see shared notes)."""
    import cv2

    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8 or rgb.ndim not in (2, 3):
        raise LabelingError(f"need a uint8 (H, W) or (H, W, 3) image, got {rgb.dtype} {rgb.shape}")
    bgr = rgb if rgb.ndim == 2 else np.ascontiguousarray(rgb[:, :, ::-1])
    ok, buf = cv2.imencode(".jpg", bgr, [int(cv2.IMWRITE_JPEG_QUALITY), int(quality)])
    if not ok:
        raise LabelingError("JPEG encoding failed")
    return buf.tobytes()


def figure_layout(width: int, height: int, display_width: int = 640, marker_size: float = 64,
                  margin: int = 4, *, allow_padding: bool = True) -> dict:
    """Figure size and margins (pixels) so the image is drawn undistorted.

    bqplot shrinks the scale ranges by ``sqrt(marker_size)/2 + 1`` px per side when a Scatter
    is drawn (view padding), so a plot area of the image's aspect ratio draws the image
    stretched (~2 %). Here the plot area is the displayed image plus that padding on each side,
    so the image itself is exactly ``display_width x display_width*height/width`` px.
    With ``allow_padding=False`` (scales made with ``allow_padding=False``, which turns the view
    padding off, as the widget does) there is no padding to add.

    Returns
    -------
    dict
        ``fig_width``, ``fig_height`` (px), ``fig_margin`` (dict top/bottom/left/right, px),
        ``padding`` (px per side), ``image_width``, ``image_height`` (displayed size, px).
    """
    if width <= 0 or height <= 0:
        raise LabelingError(f"image size must be positive, got {width}x{height}")
    if display_width <= 0:
        raise LabelingError(f"display_width must be positive, got {display_width}")
    pad = float(np.sqrt(marker_size) / 2 + 1) if allow_padding else 0.0
    img_w = float(display_width)
    img_h = img_w * height / width
    m = int(margin)
    return {
        "fig_width": img_w + 2 * pad + 2 * m, "fig_height": img_h + 2 * pad + 2 * m,
        "fig_margin": {"top": m, "bottom": m, "left": m, "right": m},
        "padding": pad, "image_width": img_w, "image_height": img_h,
    }


def image_records(store: LabelStore, root: str | os.PathLike) -> list[ImageRecord]:
    """Registered images whose files exist under ``root`` (so a session never shows a hole)."""
    root = Path(root)
    return [r for r in store.images() if (root / r.image).exists()]


__all__ = [
    "DEFAULT_KEYMAP", "KEY_HELP", "LEGEND_KEY", "PANZOOM_BANNER", "PANZOOM_CLICK_MESSAGE",
    "PART_COLORS", "PART_SYMBOLS", "LabelingError", "LabelingSession", "is_click", "label_positions",
    "legend_html", "part_colors", "part_states", "load_image", "encode_jpeg", "figure_layout",
    "image_records", "keydown_key", "skeleton_segments",
]
