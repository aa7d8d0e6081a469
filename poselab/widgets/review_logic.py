"""Pure logic behind :mod:`poselab.widgets.review` (no ipywidgets here).

:class:`ReviewSession` walks through an analyzed video: the current frame and its predicted
points, the outlier frames (:mod:`poselab.analysis.outliers`) to jump between, corrections made by
dragging a point (kept in a working copy of the pose Dataset, likelihood set to 1), identity
swaps "from this frame on" for multi-animal results, the skeleton's lines, and sending the
corrected frames to the project's label store as new training data (extract, refine, merge,
retrain): the merge itself is the project's (:meth:`poselab.project.Project.write_predictions`),
which never replaces a point a person placed unless asked.

Opened from a project, the session takes the project's ``skeleton`` and ``likelihood_threshold``
(as ``p_cutoff``) unless given, and leaves frames already in the label store out of the
outlier list.

Coordinates are image pixels: origin at the top-left corner, x to the right, y down.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import xarray as xr

from poselab.analysis.outliers import outlier_scores, pick_outlier_frames
from poselab.core.errors import PoselabError
from poselab.core.validate import part_index_pairs, position_array
from poselab.io.video import open_video
from poselab.widgets.labeling_logic import keydown_key, skeleton_segments

__all__ = ["ReviewSession", "ReviewError", "REVIEW_KEYMAP", "KEY_HELP"]

#: Key (``KeyboardEvent.key``) -> action.
REVIEW_KEYMAP: dict[str, str] = {
    "ArrowRight": "next", ".": "next", "ArrowLeft": "previous", ",": "previous",
    "n": "next_outlier", "p": "previous_outlier",
}


#: What the keys do, shown under the review widget.
KEY_HELP = ("Keys work while the mouse is over the frame: →/. next frame, ←/, previous, "
            "n next outlier, p previous outlier. Drag a point to correct it.")


class ReviewError(PoselabError, ValueError):
    """A review action that cannot be done (unknown animal, no project to send to...)."""


@dataclass(eq=False)
class ReviewSession:
    """State of one review of an analyzed video.

    Parameters
    ----------
    poses
        The predictions (pose Dataset; ``frame`` = video frame index). A deep copy is edited.
    video
        The video file the predictions come from.
    project
        Where corrected frames are sent (optional; needed by :meth:`send_to_label_store`).
    video_name
        The video's project-relative path (default: the project's video of the same file).
    outliers
        Frame numbers to jump between (default: from ``scores``, or computed with
        :func:`~poselab.analysis.outliers.outlier_scores` when ``find_outliers``; frames already
        in the project's label store are left out).
    scores
        Precomputed :func:`~poselab.analysis.outliers.outlier_scores`.
    n_outliers, min_gap, threshold, find_outliers, fitting, score_kwargs
        How outliers are picked when not given (see :func:`~poselab.analysis.outliers.pick_outlier_frames`;
        ``threshold=None``: the ``n_outliers`` worst frames even if none is flagged; ``fitting``:
        also the slower SARIMAX misfit).
    p_cutoff
        Likelihood (0-1): predicted points below it are not sent to the label store (unless
        corrected) and are drawn faint. Default: the project's ``likelihood_threshold``, or 0.6
        without a project.
    skeleton
        Pairs of part names joined by lines. Default: the project's ``skeleton`` (limbs whose
        parts ``poses`` has), or none without a project.
    overwrite_labels
        Let corrections sent to the label store replace points a person placed there before
        (off by default: a human label is never replaced without the user asking).
    """

    poses: xr.Dataset = field(repr=False)
    video: str | os.PathLike = ""
    project: Any = field(default=None, repr=False)
    video_name: str | None = None
    outliers: Sequence[int] | None = None
    scores: xr.Dataset | None = field(default=None, repr=False)
    n_outliers: int = 20
    min_gap: int = 10
    threshold: float | None = 1.0
    find_outliers: bool = True
    fitting: bool = False
    score_kwargs: dict = field(default_factory=dict)
    p_cutoff: float | None = None
    skeleton: Sequence[Sequence[str]] | None = None
    overwrite_labels: bool = False
    keymap: dict[str, str] = field(default_factory=lambda: dict(REVIEW_KEYMAP))
    index: int = 0
    corrected: dict[int, set] = field(default_factory=dict)
    sent: list[str] = field(default_factory=list)
    swaps: list[tuple[str, str, int]] = field(default_factory=list)
    kept: list[tuple[int, str, str]] = field(default_factory=list)
    """Corrections the last send did not write, ``(frame, animal, part)``: a person had placed
    that point (see ``overwrite_labels``)."""
    limbs: np.ndarray = field(init=False, repr=False, default=None)
    """``(L, 2)`` part indices of the skeleton's limbs."""
    _reader: Any = field(default=None, repr=False)
    _last_key: tuple | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.poses, xr.Dataset):
            raise ReviewError(f"ReviewSession: needs a pose Dataset (e.g. from analyze_video); "
                              f"got {type(self.poses).__name__}")
        position_array(self.poses, func="ReviewSession", dims=("animal", "part", "frame", "coord"),
                       error=ReviewError)
        self.poses = self.poses.copy(deep=True).load()
        if "likelihood" not in self.poses:
            known = np.isfinite(self.poses["position"]).all("coord")
            self.poses["likelihood"] = xr.where(known, 1.0, np.nan)
        self.video = Path(self.video)
        config = getattr(self.project, "config", None)
        if self.p_cutoff is None:
            self.p_cutoff = float(config.likelihood_threshold) if config is not None else 0.6
        if self.skeleton is None:
            self.skeleton = config.skeleton_of(self.parts) if config is not None else []
        self.limbs = part_index_pairs(self.skeleton, self.parts, what="limb", error=ReviewError)
        taken: set[int] = set()
        if self.project is not None:
            self.video_name = self._video_name()
            taken = self.project.labels.labeled_frames(self.video_name)
        if self.outliers is None:
            if self.scores is None and self.find_outliers:
                self.scores = outlier_scores(self.poses, fitting=self.fitting, **self.score_kwargs)
            self.outliers = ([] if self.scores is None else
                             pick_outlier_frames(self.scores["score"], self.n_outliers, min_gap=self.min_gap,
                                                 threshold=self.threshold, exclude=taken).tolist())
        self.outliers = sorted(int(f) for f in self.outliers)
        self.goto_index(self.index)

    # --- state ----------------------------------------------------------------------------------

    @property
    def frames(self) -> np.ndarray:
        """Video frame numbers of the predictions."""
        return self.poses["frame"].values

    @property
    def frame(self) -> int:
        """The current video frame number."""
        return int(self.frames[self.index])

    @property
    def animals(self) -> list[str]:
        """Animal names of the predictions."""
        return [str(a) for a in self.poses["animal"].values]

    @property
    def parts(self) -> list[str]:
        """Part names of the predictions."""
        return [str(p) for p in self.poses["part"].values]

    def points(self) -> list[tuple[str, str, float, float, float]]:
        """Predicted (or corrected) points of the current frame:
        ``(animal, part, x, y, likelihood)``, pixels; missing points left out."""
        pos = self.poses["position"].sel(coord=["x", "y"]).isel(frame=self.index) \
            .transpose("animal", "part", "coord").values
        lik = self.poses["likelihood"].isel(frame=self.index).transpose("animal", "part").values
        out = []
        for a, animal in enumerate(self.animals):
            for p, part in enumerate(self.parts):
                x, y = pos[a, p]
                if np.isfinite(x) and np.isfinite(y):
                    out.append((animal, part, float(x), float(y), float(np.nan_to_num(lik[a, p], nan=0.0))))
        return out

    def segments(self) -> np.ndarray:
        """Skeleton lines of the current frame, every animal's, between known points.

        Returns
        -------
        numpy.ndarray
            ``(n, 2, 2)`` segments ``((x0, y0), (x1, y1))`` in pixels.
        """
        xy = self.poses["position"].sel(coord=["x", "y"]).isel(frame=self.index) \
            .transpose("animal", "part", "coord").values
        return skeleton_segments(xy, self.limbs)

    def likelihood_traces(self, animal: str | None = None, max_points: int = 4000
                          ) -> tuple[np.ndarray, np.ndarray]:
        """Likelihood of one animal's parts over time, for plotting.

        Returns ``(frames, values)``: frame numbers ``(n,)`` and likelihoods ``(parts, n)``,
        NaN as 0. Longer videos are cut into ``max_points`` bins of whole frames, each shown
        by its first frame and its **lowest** likelihood (dips, the interesting part, survive),
        so a long video does not send megabytes to the browser on every edit.
        """
        animal = animal or self.animals[0]
        lik = self.poses["likelihood"].sel(animal=animal).transpose("part", "frame").values
        lik = np.nan_to_num(lik.astype(float), nan=0.0)
        frames = self.frames
        n = lik.shape[1]
        if n <= max_points:
            return frames, lik
        starts = np.unique(np.linspace(0, n, int(max_points), endpoint=False).astype(int))
        return frames[starts], np.minimum.reduceat(lik, starts, axis=1)

    def status(self) -> str:
        """E.g. ``"frame 120 (4.00 s), 3/20 outliers before, 2 frames corrected"``."""
        t = self.poses["time"].values[self.index] if "time" in self.poses.coords else np.nan
        when = f" ({t:.2f} s)" if np.isfinite(t) else ""
        tag = " [outlier]" if self.frame in self.outliers else ""
        return (f"frame {self.frame}{when}{tag}, {len(self.outliers)} outlier frames, "
                f"{len(self.corrected)} frames corrected, {len(self.sent)} sent{self._why()}")

    def _why(self) -> str:
        # Why the current frame scores as it does (the scores are of the original predictions).
        if self.scores is None or self.frame not in self.scores["frame"].values:
            return ""
        row = self.scores.sel(frame=self.frame)
        text = f"; score {float(row['score']):.2f}: jump {float(row['jump']):.1f} px/frame"
        if np.isfinite(float(row["misfit"])):
            text += f", misfit {float(row['misfit']):.1f} px"
        return text + f", lowest likelihood {1 - float(row['low_likelihood']):.2f}"

    # --- navigation -----------------------------------------------------------------------------

    def goto_index(self, index: int) -> int:
        """Go to position ``index`` along ``frame`` (clipped); returns the frame number."""
        self.index = int(np.clip(int(index), 0, len(self.frames) - 1))
        return self.frame

    def goto(self, frame: int) -> int:
        """Go to video frame ``frame`` (or the nearest analyzed one); returns it."""
        self.index = int(np.argmin(np.abs(self.frames - int(frame))))
        return self.frame

    def next(self, step: int = 1) -> int:
        """Go ``step`` analyzed frames on (clipped); returns the frame number."""
        return self.goto_index(self.index + step)

    def previous(self) -> int:
        """Go to the previous analyzed frame (stays on the first); returns the frame number."""
        return self.goto_index(self.index - 1)

    def next_outlier(self) -> int:
        """Go to the first outlier frame after the current one (stays when none)."""
        later = [f for f in self.outliers if f > self.frame]
        return self.goto(later[0]) if later else self.frame

    def previous_outlier(self) -> int:
        """Go to the last outlier frame before the current one (stays when none)."""
        earlier = [f for f in self.outliers if f < self.frame]
        return self.goto(earlier[-1]) if earlier else self.frame

    # --- edits ----------------------------------------------------------------------------------

    def _check(self, animal: str, part: str) -> None:
        if animal not in self.animals:
            raise ReviewError(f"unknown animal {animal!r}: use one of {self.animals}")
        if part not in self.parts:
            raise ReviewError(f"unknown part {part!r}: use one of {self.parts}")

    def move(self, animal: str, part: str, x: float, y: float) -> None:
        """Correct one point of the current frame to (x, y) pixels (a drag end); its
        likelihood becomes 1 and the frame is marked corrected."""
        self._check(animal, part)
        w, h = int(self.poses.attrs.get("width") or 0), int(self.poses.attrs.get("height") or 0)
        x, y = float(x), float(y)
        if w and h:  # a drop on the border can land a hair outside; keep it in the image
            x, y = float(np.clip(x, -0.5, w - 0.5)), float(np.clip(y, -0.5, h - 0.5))
        sel = dict(animal=animal, part=part, frame=self.frame)
        self.poses["position"].loc[dict(sel, coord="x")] = x
        self.poses["position"].loc[dict(sel, coord="y")] = y
        self.poses["likelihood"].loc[sel] = 1.0
        self.corrected.setdefault(self.frame, set()).add((animal, part))

    def swap(self, animal_a: str, animal_b: str) -> int:
        """Swap two animals' identities from the current frame on (inclusive); returns it."""
        from poselab.multianimal import swap_identities

        for a in (animal_a, animal_b):
            if a not in self.animals:
                raise ReviewError(f"unknown animal {a!r}: use one of {self.animals}")
        frame = self.frame
        self.poses = swap_identities(self.poses, animal_a, animal_b, frame)
        names = {animal_a: animal_b, animal_b: animal_a}
        for f, keys in self.corrected.items():
            if f >= frame:  # corrections follow the points they were made on
                self.corrected[f] = {(names.get(a, a), p) for a, p in keys}
        self.swaps.append((animal_a, animal_b, frame))
        return frame

    # --- keyboard -------------------------------------------------------------------------------

    def handle_key(self, event: dict) -> str | None:
        """Apply an ipyevents keydown dict; duplicates (same key and timeStamp, seen in Voila)
        and modified keys are ignored. Returns the action name or None."""
        key, self._last_key = keydown_key(event, self._last_key)
        action = None if key is None else self.keymap.get(key)
        if action == "next":
            self.next()
        elif action == "previous":
            self.previous()
        elif action == "next_outlier":
            self.next_outlier()
        elif action == "previous_outlier":
            self.previous_outlier()
        return action

    # --- frames and the label store -------------------------------------------------------------

    def image(self) -> np.ndarray:
        """The current video frame, RGB uint8 ``(H, W, 3)``."""
        if self._reader is None:
            self._reader = open_video(self.video)
        return self._reader.read(self.frame)

    def close(self) -> None:
        """Close the video (the session can still be used: it reopens on demand)."""
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def _video_name(self) -> str:
        """The project-relative path of the reviewed video (checked against the project)."""
        if self.video_name is not None:
            if self.video_name not in self.project.videos:
                raise ReviewError(f"video_name {self.video_name!r} is not a video of the project "
                                  f"({self.project.videos})")
            return self.video_name
        videos = self.project.videos
        same = [v for v in videos if self.project.path(v) == self.video.resolve()]
        same = same or [v for v in videos if Path(v).name == self.video.name]
        if not same:
            raise ReviewError(f"{self.video} is not a video of the project ({videos}): pass video_name")
        return same[0]

    def send_to_label_store(self, frames: Sequence[int] | None = None, *,
                            overwrite_labels: bool | None = None) -> list[str]:
        """Write the corrected frames to the project's label store as labeled images.

        The project does the merge (:meth:`poselab.project.Project.write_predictions`): new
        frames are extracted as PNG and registered; each frame gets its corrected points (as a
        person's labels) and the predictions with likelihood >= ``p_cutoff``. Predictions only
        fill parts not labeled yet, corrections replace stored predictions, and a point a
        person placed is kept unless ``overwrite_labels`` (then the corrections that were not
        written are listed in :attr:`kept`).

        Parameters
        ----------
        frames
            Video frame numbers to send (default: every corrected frame).
        overwrite_labels
            Let corrections replace points a person placed (default: the session's setting).

        Returns
        -------
        list of str
            The images written, project-relative, in frame order.
        """
        if self.project is None:
            raise ReviewError("no project: open the review with project=... to send frames")
        frames = sorted(self.corrected) if frames is None else sorted(int(f) for f in frames)
        if not frames:
            return []
        overwrite = self.overwrite_labels if overwrite_labels is None else bool(overwrite_labels)
        out = self.project.write_predictions(
            self.poses, frames, video=self._video_name(), min_likelihood=self.p_cutoff,
            corrected={f: self.corrected.get(f, set()) for f in frames}, overwrite_labels=overwrite,
        )
        self.kept = []
        for f, image in zip(frames, out):
            stored = self.project.labels.points(image)
            for animal, part in sorted(self.corrected.get(f, ())):
                xy = tuple(float(v) for v in self.poses["position"].sel(
                    animal=animal, part=part, frame=f, coord=["x", "y"]).values)
                if stored.get((animal, part), (None, None))[:2] != xy:
                    self.kept.append((f, animal, part))
        self.sent.extend(i for i in out if i not in self.sent)
        return out
