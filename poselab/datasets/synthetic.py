"""A synthetic world with ground truth: top-view videos of articulated animals.

:func:`synthetic` renders a deterministic (by seed) mp4 of one or more animals on a textured
arena and returns the truth that produced every pixel:

* ``poses``: the 12 parts in the pose data model (pixels, likelihood 1) plus ``visible``
  (animal, part, frame), False where the part is covered (paws under the body, another animal
  on top) or outside the image;
* ``gait``: per-paw ``stance`` (animal, paw, frame), ``stride_frequency`` (Hz), the oscillator
  ``gait_phase`` (cycles), body ``speed`` (px/s) and ``heading`` (rad), the phase offsets per paw
  (cycles) and the duty factor;
* ``behaviour``: a state code per animal per frame, names in ``attrs["states"]``.

The world is the test oracle of accuracy, tracking, kinematics, gait and behaviour modules.

Model
-----
Each animal follows a state machine of bouts (0.5-3 s): rest, walk (forward with smooth heading
changes, turning away from walls), turn (tight arc or rotation in place), groom (fore paws rub
near the snout, body still) and rear (the body shortens towards the hind paws, fore paws rise to
the head). Speeds ramp up and down with a raised cosine inside every bout, so the body is still
at bout boundaries.

Gait: while stepping (walk and turn bouts) the paws follow one phase oscillator at the stride
frequency ``f`` (2-5 Hz, rising with speed; 3 Hz in turns) with the lateral-sequence offsets
:data:`PHASE_OFFSETS` (LH 0, LF 0.25, RH 0.5, RF 0.75 cycles: each paw touches down that
fraction of a cycle after the left hind paw, footfall order LH, LF, RH, RF) and the duty factor
:data:`DUTY_FACTOR`: a paw is in swing while ``frac(phase - offset) >= duty``. In stance a paw
is fixed in the world (no slip). A swing moves it smoothly (raised cosine) from its foothold to
the next one, the paw's place in the body frame at the middle of the coming stance, so stride
length is ``speed / f``. No swing starts in the last 0.2 s of a stepping bout (the longest
swing), so all paws are down when it ends, while the body comes to rest; ``stride_frequency``
is 0 outside stepping bouts. At rest all paws are in stance. In groom and rear bouts the fore paws
are off the ground for the whole bout (``stance`` False, drawn above the head), hind paws in
stance.

Rendering order (so occlusion is well defined): animals in index order, each drawn as tail,
paws on the ground, trunk, head, ears, snout tip, lifted paws. ``visible`` is read from an
identity map drawn with the same shapes: a part is visible when the pixel under its keypoint,
and at least 8 of the 9 pixels of its 3x3 neighbourhood, show that part of that animal (a
keypoint at the edge of an occluder counts as hidden).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from poselab.core import poses as poses_mod
from poselab.core.errors import PoselabError
from poselab.core.files import atomic_path

__all__ = [
    "SYNTHETIC_PARTS",
    "SYNTHETIC_SKELETON",
    "SYNTHETIC_FLIP_PAIRS",
    "SYNTHETIC_PAWS",
    "BEHAVIOURS",
    "PHASE_OFFSETS",
    "DUTY_FACTOR",
    "PART_COLOURS",
    "COAT_COLOURS",
    "APPEARANCES",
    "MARKS",
    "ARENA_COLOUR",
    "SyntheticWorld",
    "SyntheticWorldError",
    "WorldConfig",
    "synthetic",
    "load_synthetic",
    "body_length",
]

SYNTHETIC_PARTS: tuple[str, ...] = (
    "snout", "left_ear", "right_ear", "neck", "body_centre", "tail_base", "tail_mid", "tail_tip",
    "left_fore_paw", "right_fore_paw", "left_hind_paw", "right_hind_paw",
)
SYNTHETIC_SKELETON: tuple[tuple[str, str], ...] = (
    ("snout", "left_ear"), ("snout", "right_ear"), ("left_ear", "neck"), ("right_ear", "neck"),
    ("neck", "body_centre"), ("body_centre", "tail_base"), ("tail_base", "tail_mid"),
    ("tail_mid", "tail_tip"), ("neck", "left_fore_paw"), ("neck", "right_fore_paw"),
    ("tail_base", "left_hind_paw"), ("tail_base", "right_hind_paw"),
)
SYNTHETIC_FLIP_PAIRS: tuple[tuple[str, str], ...] = (
    ("left_ear", "right_ear"), ("left_fore_paw", "right_fore_paw"),
    ("left_hind_paw", "right_hind_paw"),
)
SYNTHETIC_PAWS: tuple[str, ...] = (
    "left_fore_paw", "right_fore_paw", "left_hind_paw", "right_hind_paw",
)
BEHAVIOURS: tuple[str, ...] = ("rest", "walk", "turn", "groom", "rear")
#: Lateral-sequence walk: delay of each paw's cycle after the left hind paw's (cycles).
PHASE_OFFSETS: dict[str, float] = {
    "left_hind_paw": 0.0, "left_fore_paw": 0.25, "right_hind_paw": 0.5, "right_fore_paw": 0.75,
}
#: Fraction of a stride cycle spent in stance.
DUTY_FACTOR = 0.6

#: Colour drawn under each keypoint (BGR, before lighting and noise). Left and right parts
#: share a colour: the body geometry (which way the head points) tells them apart.
PART_COLOURS: dict[str, tuple[int, int, int]] = {
    "snout": (180, 100, 255),
    "left_ear": (125, 135, 230), "right_ear": (125, 135, 230),
    "neck": (55, 60, 72), "body_centre": (55, 60, 72), "tail_base": (55, 60, 72),
    "tail_mid": (110, 125, 170), "tail_tip": (215, 205, 90),
    "left_fore_paw": (70, 215, 255), "right_fore_paw": (70, 215, 255),
    "left_hind_paw": (40, 130, 235), "right_hind_paw": (40, 130, 235),
}
#: Coat colours of real laboratory mice (BGR): black (C57BL/6), agouti brown, albino white.
#: With ``appearance="fur"`` every animal has one coat; its ears, paws and tail show skin of a
#: tone between the coat and pink, the same for every such part (no part has a colour of its own).
COAT_COLOURS: dict[str, tuple[int, int, int]] = {
    "black": (42, 42, 46), "agouti": (62, 92, 122), "albino": (208, 214, 218),
}
_SKIN = (150, 150, 205)  # pinkish skin (BGR)
APPEARANCES = ("fur", "coloured")
#: Marks of ``synthetic(marks=True)``, animal ``k`` the ``k % 5``-th: where a spot of dye sits.
MARKS: tuple[str, ...] = ("none", "back spot", "rump spot", "neck spot", "back and rump spots")
# Where each mark's spots sit: pairs (part, part, fraction of the way from the first to the second).
_MARK_SPOTS = {"none": (), "back spot": (("body_centre", "neck", 0.15),),
               "rump spot": (("body_centre", "tail_base", 0.6),), "neck spot": (("neck", "body_centre", 0.1),),
               "back and rump spots": (("body_centre", "neck", 0.15), ("body_centre", "tail_base", 0.6))}
_R_MARK = 0.075  # body lengths: the radius of a spot
#: Mean colour of the arena floor (BGR); the texture varies around it.
ARENA_COLOUR: tuple[int, int, int] = (176, 180, 184)
_WALL_COLOUR = (105, 108, 112)

# Body geometry in body lengths L (snout to tail base ~ L). u: arc length along the spine from
# the body centre (forward positive); w: lateral offset (left positive).
_U = {"snout": 0.60, "left_ear": 0.37, "right_ear": 0.37, "neck": 0.30, "body_centre": 0.0,
      "tail_base": -0.42}
_W = {"left_ear": 0.10, "right_ear": -0.10}
_PAW_UW = {"left_fore_paw": (0.20, 0.17), "right_fore_paw": (0.20, -0.17),
           "left_hind_paw": (-0.26, 0.185), "right_hind_paw": (-0.26, -0.185)}
_U_HIP = -0.20  # rearing compresses the spine in front of this point
_REAR_SHORTEN = 0.4  # fraction of the front spine lost at full rear
_TRUNK = (-0.46, 0.36, 0.15)  # spine start, end, half-width at the middle
_HEAD = (0.45, 0.17, 0.095)  # centre u, semi-axis along, semi-axis across
_TAIL_LENGTH = 0.75
_TAIL_MID = 0.45  # tail_mid at this fraction of the tail
_R_PAW, _R_EAR, _R_SNOUT, _R_TIP = 0.042, 0.046, 0.034, 0.034
BODIES = ("standard", "varied")
#: A build: where the ears sit (behind the snout along the spine, and to each side) and how wide
#: the trunk and the head are (half-widths), in body lengths. ``body="varied"`` draws each
#: animal's from :data:`BUILD_RANGES`: real mice differ by strain, age and camera, and a model
#: that meets only the standard build learns its ears' place by heart (DeepLabCut's openfield
#: training labels put the ears 0.06 body lengths behind the snout and 0.09 to its sides, where
#: the standard build has 0.23 and 0.10: BENCHMARKS.md, issue 16).
STANDARD_BUILD = {"ear_back": _U["snout"] - _U["left_ear"], "ear_side": _W["left_ear"],
                   "trunk_half_width": _TRUNK[2], "head_half_width": _HEAD[2]}
BUILD_RANGES = {"ear_back": (0.05, 0.25), "ear_side": (0.07, 0.11),
                 "trunk_half_width": (0.13, 0.25), "head_half_width": (0.085, 0.12)}
_TAIL_WIDTH = (0.07, 0.034)  # full thickness at base and tip
_MIN_RADIUS = 2.6  # pixels: a part's 3x3 neighbourhood fits inside its disc at any size
# Region codes of the identity map (per animal: 1 + 8 * animal + region).
_REGION = {"body": 0, "ear": 1, "snout": 2, "fore_paw": 3, "hind_paw": 4, "tail": 5, "tip": 6}
_PART_REGION = {
    "snout": 2, "left_ear": 1, "right_ear": 1, "neck": 0, "body_centre": 0, "tail_base": 0,
    "tail_mid": 5, "tail_tip": 6, "left_fore_paw": 3, "right_fore_paw": 3, "left_hind_paw": 4,
    "right_hind_paw": 4,
}
_MAX_ANIMALS = 30
_SHIFT = 4  # cv2 sub-pixel bits
_ONE = 1 << _SHIFT

REST, WALK, TURN, GROOM, REAR = range(5)
# Bout durations (s) and how often each state is chosen next.
_DURATION = {
    REST: (0.5, 3.0), WALK: (1.0, 3.0), TURN: (0.5, 1.5), GROOM: (1.0, 3.0), REAR: (0.6, 2.0),
}
_WEIGHT = {REST: 1.2, WALK: 2.0, TURN: 1.0, GROOM: 1.0, REAR: 1.0}
_RAMP = {REST: 0.3, WALK: 0.3, TURN: 0.15, GROOM: 0.3, REAR: 0.3}


class SyntheticWorldError(PoselabError, ValueError):
    """Invalid arguments to :func:`synthetic` or files that :func:`load_synthetic` cannot read."""


@dataclass(frozen=True, repr=False)
class SyntheticWorld:
    """A rendered synthetic video and the truth behind it.

    Attributes
    ----------
    video
        The mp4 file.
    poses
        Ground-truth pose Dataset (pixels, likelihood 1) with a boolean ``visible``
        (animal, part, frame) variable.
    gait
        ``stance`` (animal, paw, frame) bool, ``stride_frequency`` (animal, frame) Hz,
        ``gait_phase`` (animal, frame) cycles (NaN when not stepping), ``speed`` (animal, frame)
        px/s, ``heading`` (animal, frame) rad, ``phase_offset`` (paw) cycles; attrs
        ``duty_factor``, ``body_length`` (px).
    behaviour
        int state codes (animal, frame); ``attrs["states"]`` lists the state names.
    """

    video: Path
    poses: xr.Dataset
    gait: xr.Dataset
    behaviour: xr.DataArray

    @property
    def states(self) -> list[str]:
        """Behaviour state names, indexed by code."""
        return list(self.behaviour.attrs["states"])

    def __repr__(self) -> str:
        ds = self.poses
        return (
            f"SyntheticWorld(video={str(self.video)!r}, animals={ds.sizes['animal']}, "
            f"parts={ds.sizes['part']}, frames={ds.sizes['frame']}, fps={ds.attrs['fps']}, "
            f"size=({ds.attrs['width']}, {ds.attrs['height']}))"
        )


def body_length(size: tuple[int, int]) -> float:
    """Body length (snout to tail base, pixels) of the animals in a video of ``size`` (w, h)."""
    width, height = size
    return 0.17 * min(width, height * 4 / 3)


# --- public entry points -----------------------------------------------------------------------


@dataclass(frozen=True)
class WorldConfig:
    """What a synthetic world holds and how it looks (:func:`synthetic`).

    Attributes
    ----------
    n_animals : int
        Number of animals (1 to 30).
    n_frames : int
        Number of frames.
    fps : float
        Frame rate (frames per second).
    size : tuple of int
        Image (width, height) in pixels, even and at least (320, 240); the animals' size scales
        with it (:func:`body_length`).
    seed : int
        Random seed: the same seed gives the same arrays and frames.
    nuisances : bool
        Add sensor noise, slow lighting drift and motion blur of fast animals. Occlusions
        (paws under the body, animals crossing) happen either way and are marked in ``visible``.
    behaviours : sequence of str or None
        States the animals may use (subset of :data:`BEHAVIOURS`); default all.
    appearance : str
        ``"fur"`` (default): animals as real mice look (one coat per animal from
        :data:`COAT_COLOURS`, skin-toned ears, paws and tail alike, rounded shading, a soft
        shadow, fur grain, lens blur): no part has a colour of its own, so a model must find
        paws by shape and context. ``"coloured"``: the old look, each kind of part in a colour
        of its own (:data:`PART_COLOURS`), easier than any real video: figures measured on it
        flatter a model (BENCHMARKS.md). The geometry, the truth and ``visible`` are the same
        either way.
    body : str
        ``"standard"`` (default): every animal has the same build. ``"varied"``: each animal's
        build (where the ears sit behind the snout and to its sides, how wide the trunk and the
        head are) is drawn from ranges that cover real mice, for models that must find the parts
        by their look rather than by their usual place (the zoo's); the truth's ``build``
        variables hold each animal's. The motion and the rest of the look are the same either way.
    marks : bool
        Mark the animals as a lab marks them to tell them apart (a spot of hair dye or marker
        pen on the back, the rump or the neck; :data:`MARKS`, in a shade that stands out from
        the coat): animal ``k`` gets ``MARKS[k % 5]``, so up to five animals differ by their
        mark (the first is unmarked); the truth's ``mark`` variable names each animal's.
        Default False: animals of one coat look alike, as in most experiments.
    """

    n_animals: int = 1
    n_frames: int = 300
    fps: float = 30.0
    size: tuple[int, int] = (640, 480)
    seed: int = 0
    nuisances: bool = True
    behaviours: Sequence[str] | None = None
    appearance: str = "fur"
    marks: bool = False
    body: str = "standard"


def synthetic(
    path: str | os.PathLike,
    config: WorldConfig | None = None,
    *,
    progress: bool = False,
    **settings: Any,
) -> SyntheticWorld:
    """Render a synthetic top-view video with ground truth; deterministic by ``seed``.

    Parameters
    ----------
    path
        Target ``.mp4`` file (written atomically). The truth is saved beside it as
        ``<stem>_poses.nc`` and ``<stem>_truth.nc``.
    config
        :class:`WorldConfig`: the number of animals and frames, frame rate, image size, seed,
        behaviours and look; default its defaults (one animal, 300 frames of 640x480 at 30
        frames/s, seed 0, fur).
    progress
        Show a progress bar while rendering.
    **settings
        Fields of :class:`WorldConfig` that override ``config``, e.g.
        ``synthetic("w.mp4", n_animals=3, n_frames=900, seed=4, marks=True)``.

    Returns
    -------
    SyntheticWorld

    Raises
    ------
    SyntheticWorldError
        For a setting that is not a field of :class:`WorldConfig`, or a value out of range.
    """
    config = _world_config(config, settings)
    n_animals, n_frames, fps, size, seed = (config.n_animals, config.n_frames, config.fps,
                                            config.size, config.seed)
    nuisances, behaviours, appearance, marks = (config.nuisances, config.behaviours,
                                                config.appearance, config.marks)
    if appearance not in APPEARANCES:
        raise SyntheticWorldError(f"appearance must be one of {APPEARANCES}; got {appearance!r}")
    if config.body not in BODIES:
        raise SyntheticWorldError(f"body must be one of {BODIES}; got {config.body!r}")
    path, n_animals, n_frames, fps, size, allowed = _check_arguments(
        path, n_animals, n_frames, fps, size, seed, behaviours
    )
    width, height = size
    L = body_length(size)
    seeds = np.random.SeedSequence(int(seed)).spawn(n_animals + 5)  # children fixed by index
    arena = _arena_box(size)
    starts = _start_positions(np.random.default_rng(seeds[n_animals + 1]), n_animals, L, arena)
    motion = [
        _simulate(np.random.default_rng(seeds[a]), n_frames, fps, L, arena, allowed, starts[a])
        for a in range(n_animals)
    ]
    builds = _builds(np.random.default_rng(seeds[n_animals + 4]), n_animals, config.body)
    geometry = _geometry(motion, L, fps, builds)
    background = _background(np.random.default_rng(seeds[n_animals]), size, arena)
    visible = _render(
        path, geometry, background, fps, size, np.random.default_rng(seeds[n_animals + 2]),
        nuisances=nuisances, progress=progress, L=L, appearance=appearance,
        coat_rng=np.random.default_rng(seeds[n_animals + 3]), marks=marks,
    )
    animals = [f"mouse{a}" for a in range(n_animals)]
    ds = poses_mod.from_arrays(
        geometry["parts"], animals=animals, parts=SYNTHETIC_PARTS, fps=fps, video=path.name,
        width=width, height=height, source=f"{poses_mod.SOURCE} synthetic",
    )
    ds["visible"] = (("animal", "part", "frame"), visible)
    ds["visible"].attrs["description"] = "False where the part is covered or outside the image"
    ds = poses_mod.with_provenance(
        ds, "synthetic", n_animals=n_animals, n_frames=n_frames, fps=fps, size=list(size),
        seed=int(seed), nuisances=bool(nuisances), behaviours=[BEHAVIOURS[s] for s in allowed],
        appearance=appearance, marks=bool(marks), body=config.body,
    )
    if config.body != "standard":
        for key in STANDARD_BUILD:
            ds[f"build_{key}"] = ("animal", [build[key] for build in builds])
            ds[f"build_{key}"].attrs["units"] = "body lengths"
    if marks:
        ds["mark"] = ("animal", [MARKS[a % len(MARKS)] for a in range(n_animals)])
        ds["mark"].attrs["description"] = "what tells the animal apart by sight"
    gait = _gait_dataset(motion, geometry, animals, ds, L)
    behaviour = xr.DataArray(
        np.stack([m["state"] for m in motion]).astype(np.int64),
        dims=("animal", "frame"),
        coords={"animal": animals, "frame": ds["frame"].values,
                "time": ("frame", ds["time"].values)},
        name="behaviour",
        attrs={"states": list(BEHAVIOURS)},
    )
    world = SyntheticWorld(video=path, poses=ds, gait=gait, behaviour=behaviour)
    _save_truth(world)
    return world


def load_synthetic(path: str | os.PathLike) -> SyntheticWorld:
    """Reopen a world rendered by :func:`synthetic` (from its ``.mp4`` path) without rendering.

    Raises
    ------
    SyntheticWorldError
        When the video or its truth files are missing.
    """
    path = Path(path)
    poses_path, truth_path = _truth_paths(path)
    missing = [str(p) for p in (path, poses_path, truth_path) if not p.exists()]
    if missing:
        raise SyntheticWorldError(
            f"not a synthetic world: missing {', '.join(missing)} (render it with "
            f"poselab.datasets.synthetic({str(path)!r}, ...))"
        )
    ds = poses_mod.load(poses_path)
    if "visible" in ds:
        ds["visible"] = ds["visible"].astype(bool)
    truth = xr.load_dataset(truth_path, engine="h5netcdf")
    behaviour = truth["behaviour"].astype(np.int64)
    behaviour.attrs = {"states": json.loads(truth.attrs["states"])}
    gait = truth.drop_vars("behaviour")
    gait["stance"] = gait["stance"].astype(bool)
    gait.attrs = {k: v for k, v in truth.attrs.items() if k != "states"}
    for key in ("duty_factor", "body_length"):
        gait.attrs[key] = float(gait.attrs[key])
    for dim in ("animal", "paw"):
        gait = gait.assign_coords({dim: np.asarray(gait[dim].values.tolist(), dtype=str)})
    animal_names = np.asarray(behaviour["animal"].values.tolist(), dtype=str)
    behaviour = behaviour.assign_coords(animal=animal_names)
    return SyntheticWorld(video=path, poses=ds, gait=gait, behaviour=behaviour)


# --- arguments and files -----------------------------------------------------------------------


def _world_config(config: WorldConfig | None, settings: dict[str, Any]) -> WorldConfig:
    """``config`` (default :class:`WorldConfig`) with the keyword ``settings`` applied."""
    if config is not None and not isinstance(config, WorldConfig):
        raise SyntheticWorldError(
            f"config must be a WorldConfig; got {config!r} (give the number of animals, frames... "
            f"as keywords: synthetic(path, n_animals=2, n_frames=300))"
        )
    fields = [f.name for f in dataclasses.fields(WorldConfig)]
    unknown = sorted(set(settings) - set(fields))
    if unknown:
        raise SyntheticWorldError(f"unknown settings {unknown}; synthetic takes {fields} and progress")
    return dataclasses.replace(config or WorldConfig(), **settings)


def _check_arguments(path, n_animals, n_frames, fps, size, seed, behaviours):
    path = Path(path)
    if path.suffix.lower() != ".mp4":
        raise SyntheticWorldError(f"the video path must end in .mp4; got {str(path)!r}")
    if not isinstance(n_animals, (int, np.integer)) or not 1 <= n_animals <= _MAX_ANIMALS:
        raise SyntheticWorldError(
            f"n_animals must be an integer from 1 to {_MAX_ANIMALS}; got {n_animals!r}"
        )
    if not isinstance(n_frames, (int, np.integer)) or n_frames < 1:
        raise SyntheticWorldError(f"n_frames must be a positive integer; got {n_frames!r}")
    fps = float(fps)
    if not (math.isfinite(fps) and fps > 0):
        raise SyntheticWorldError(f"fps must be a positive number of frames per second; got {fps}")
    try:
        width, height = (int(v) for v in size)
    except (TypeError, ValueError):
        raise SyntheticWorldError(
            f"size must be (width, height) in pixels; got {size!r}"
        ) from None
    if width < 320 or height < 240 or width % 2 or height % 2:
        raise SyntheticWorldError(
            f"size must be even numbers of pixels (the mp4 encoder needs them) and at least "
            f"(320, 240) (smaller parts would be a pixel wide); got {(width, height)}"
        )
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise SyntheticWorldError(f"seed must be a non-negative integer; got {seed!r}")
    if behaviours is None:
        allowed = list(range(len(BEHAVIOURS)))
    else:
        names = [behaviours] if isinstance(behaviours, str) else list(behaviours)
        unknown = [b for b in names if b not in BEHAVIOURS]
        if unknown or not names:
            raise SyntheticWorldError(
                f"unknown behaviours {unknown}; choose a non-empty subset of {list(BEHAVIOURS)}"
            )
        allowed = sorted({BEHAVIOURS.index(b) for b in names})
    return path, int(n_animals), int(n_frames), fps, (width, height), allowed


def _truth_paths(video: Path) -> tuple[Path, Path]:
    return video.with_name(f"{video.stem}_poses.nc"), video.with_name(f"{video.stem}_truth.nc")


def _save_truth(world: SyntheticWorld) -> None:
    poses_path, truth_path = _truth_paths(world.video)
    poses_mod.save(world.poses, poses_path)
    truth = world.gait.copy()
    truth["behaviour"] = world.behaviour.drop_vars("time", errors="ignore")
    truth["behaviour"].attrs = {}
    truth.attrs = dict(world.gait.attrs)
    truth.attrs["states"] = json.dumps(list(world.behaviour.attrs["states"]))
    with atomic_path(truth_path) as tmp:
        truth.to_netcdf(tmp, engine="h5netcdf")


# --- motion: one state machine per animal -------------------------------------------------------


def _arena_box(size: tuple[int, int]) -> tuple[float, float, float, float]:
    """Inner floor of the arena (x0, y0, x1, y1) in pixels, inside the walls."""
    width, height = size
    wall = max(3, round(0.02 * min(width, height)))
    return (wall, wall, width - 1 - wall, height - 1 - wall)


def _angle_diff(a: float, b: float) -> float:
    return (a - b + math.pi) % (2 * math.pi) - math.pi


def _envelope(k: int, n: int, ramp: int) -> float:
    """Raised-cosine ramp up and down over a bout of n frames (0 at both ends)."""
    if n <= 2:
        return 0.0
    ramp = max(1, min(ramp, (n - 1) // 2))
    x = min(k / ramp, (n - 1 - k) / ramp, 1.0)
    return 0.5 - 0.5 * math.cos(math.pi * x)


def _soft_box(arena, L: float) -> tuple[float, float, float, float]:
    """Where the body centre should stay: a body length and a bit from the walls."""
    x0, y0, x1, y1 = arena
    return (x0 + 1.1 * L, y0 + 1.1 * L, x1 - 1.1 * L, y1 - 1.1 * L)


def _start_positions(rng: np.random.Generator, n_animals: int, L: float, arena) -> np.ndarray:
    """Start positions (x, y) in the soft box, at least 1.3 body lengths apart when they fit."""
    x0, y0, x1, y1 = _soft_box(arena, L)
    x1, y1 = max(x0, x1), max(y0, y1)
    out = np.zeros((n_animals, 2))
    for a in range(n_animals):
        for _ in range(200):
            out[a] = rng.uniform(x0, x1), rng.uniform(y0, y1)
            if a == 0 or np.min(np.hypot(*(out[:a] - out[a]).T)) > 1.3 * L:
                break
    return out


def _simulate(rng: np.random.Generator, n: int, fps: float, L: float, arena, allowed: list[int],
              start: np.ndarray) -> dict:
    """Body trajectory of one animal: a scalar loop over frames (sequential feedback from the
    walls makes it inherently serial; it costs microseconds per frame)."""
    dt = 1.0 / fps
    x0, y0, x1, y1 = arena
    soft = _soft_box(arena, L)
    hard = (x0 + 0.7 * L, y0 + 0.7 * L, x1 - 0.7 * L, y1 - 0.7 * L)
    centre = ((x0 + x1) / 2, (y0 + y1) / 2)
    keys = ("x", "y", "theta", "v", "omega", "rear", "groom", "groom_phase")
    out = {key: np.zeros(n) for key in keys}
    out["state"] = np.zeros(n, np.int64)
    out["phi0"] = rng.uniform()  # gait oscillator phase at the start (cycles)
    x, y = float(start[0]), float(start[1])
    theta = rng.uniform(-math.pi, math.pi)
    wander = 0.0
    groom_phase = 0.0
    state = -1
    t = 0
    while t < n:
        ahead = (x + 0.6 * L * math.cos(theta), y + 0.6 * L * math.sin(theta))
        facing_wall = not (soft[0] <= ahead[0] <= soft[2] and soft[1] <= ahead[1] <= soft[3])
        if facing_wall and TURN in allowed and state != TURN and rng.uniform() < 0.7:
            new = TURN
        else:
            choice = [s for s in allowed if s != state] or allowed
            w = np.array([_WEIGHT[s] for s in choice])
            new = int(rng.choice(choice, p=w / w.sum()))
        state = new
        lo, hi = _DURATION[state]
        dur = max(1, int(round(rng.uniform(lo, hi) * fps)))
        ramp = max(1, int(round(_RAMP[state] * fps)))
        to_centre = math.atan2(centre[1] - y, centre[0] - x)
        v_target = rng.uniform(0.8, 2.0) * L if state == WALK else rng.uniform(0.0, 0.35) * L
        if state == TURN:
            if facing_wall:  # turn towards the middle of the arena
                sign = math.copysign(1.0, _angle_diff(to_centre, theta))
            else:
                sign = float(rng.choice([-1.0, 1.0]))
            omega_target = sign * rng.uniform(1.8, 3.2)
        groom_freq = rng.uniform(4.0, 6.0)
        for k in range(min(dur, n - t)):
            env = _envelope(k, dur, ramp)
            v = omega = rear = groom = 0.0
            if state == WALK:
                wander += -wander * dt / 0.5 + 1.5 * math.sqrt(dt) * rng.standard_normal()
                ax, ay = x + L * math.cos(theta), y + L * math.sin(theta)
                excess = max(soft[0] - ax, ax - soft[2], soft[1] - ay, ay - soft[3], 0.0)
                push = min(excess / (0.3 * L), 1.0)  # continuous in position: smooth steering
                away = _angle_diff(math.atan2(centre[1] - y, centre[0] - x), theta)
                omega = (wander + push * max(-3.5, min(3.5, 6.0 * away))) * env
                v = v_target * env * (1.0 - 0.6 * push)
            elif state == TURN:
                omega, v = omega_target * env, v_target * env
            elif state == GROOM:
                groom = env
                groom_phase += groom_freq * dt
            elif state == REAR:
                rear = env
            theta = (theta + omega * dt + math.pi) % (2 * math.pi) - math.pi
            x = min(max(x + v * math.cos(theta) * dt, hard[0]), hard[2])
            y = min(max(y + v * math.sin(theta) * dt, hard[1]), hard[3])
            i = t + k
            out["x"][i], out["y"][i], out["theta"][i] = x, y, theta
            out["v"][i], out["omega"][i], out["rear"][i], out["groom"][i] = v, omega, rear, groom
            out["groom_phase"][i] = groom_phase
            out["state"][i] = state
        t += dur
    # Actual speed of the body centre (px/s), after the wall clamp.
    xy = np.stack([out["x"], out["y"]], -1)
    step = np.zeros(n)
    step[1:] = np.linalg.norm(np.diff(xy, axis=0), axis=-1) * fps
    out["speed"] = step
    # The spine bends with the path (curvature = turn rate / speed), limited, and smoothly.
    bend = out["omega"] / np.maximum(np.abs(out["v"]), 0.6 * L)
    out["kappa"] = _lowpass(np.clip(bend, -1.4 / L, 1.4 / L), fps, 0.12)
    out["tail_kappa"] = _lowpass(out["kappa"], fps, 0.4)
    return out


def _lowpass(x: np.ndarray, fps: float, tau: float) -> np.ndarray:
    """First-order low-pass filter with time constant ``tau`` (s), starting at steady state.

    A scalar recursion (importing scipy.signal would cost more than it saves here)."""
    a = math.exp(-1.0 / (fps * tau))
    out = np.empty_like(x)
    y = float(x[0]) if x.size else 0.0
    for i, value in enumerate(x.tolist()):
        y = a * y + (1 - a) * value
        out[i] = y
    return out


# --- geometry: vectorised over frames -----------------------------------------------------------


def _spine(cx, cy, theta, kappa, u):
    """Points at arc length u (..., K) along circular arcs of curvature kappa through (cx, cy)
    with heading theta at u=0; returns x, y, tangent angle, each (..., K)."""
    half = kappa[..., None] * u / 2
    sinc = np.sinc(half / np.pi)
    ang = theta[..., None] + half
    return (cx[..., None] + u * np.cos(ang) * sinc, cy[..., None] + u * np.sin(ang) * sinc,
            theta[..., None] + 2 * half)


def _body_points(m: dict, L: float, u: np.ndarray, w: np.ndarray, widen: bool = False):
    """World (x, y) of body-frame points (u along the spine, w lateral, in L) per frame;
    rearing compresses the spine in front of the hip. u, w: (K,) -> (n, K, 2)."""
    r = m["rear"][:, None]
    u = np.broadcast_to(np.asarray(u, float) * L, (r.shape[0], len(u)))
    hip = _U_HIP * L
    u_eff = np.where(u > hip, hip + (u - hip) * (1 - _REAR_SHORTEN * r), u)
    px, py, tangent = _spine(m["x"], m["y"], m["theta"], m["kappa"], u_eff)
    scale = (1 + 0.8 * r) if widen else 1.0  # rearing hides the hind paws
    lat = np.asarray(w, float) * L * scale
    return np.stack([px + lat * np.sin(tangent), py - lat * np.cos(tangent)], -1), tangent


def _builds(rng: np.random.Generator, n_animals: int, body: str) -> list[dict[str, float]]:
    """Each animal's build (:data:`STANDARD_BUILD` keys, body lengths)."""
    if body == "standard":
        return [dict(STANDARD_BUILD) for _ in range(n_animals)]
    return [{key: float(rng.uniform(*span)) for key, span in BUILD_RANGES.items()} for _ in range(n_animals)]


def _geometry(motion: list[dict], L: float, fps: float, builds: list[dict[str, float]]) -> dict:
    """Keypoints (animal, part, frame, 2) and the shapes to draw, for every frame, for each
    animal's build (:func:`_builds`)."""
    n_animals, n = len(motion), motion[0]["x"].shape[0]
    parts = np.zeros((n_animals, len(SYNTHETIC_PARTS), n, 2))
    trunk_k = 20
    shapes = {
        "trunk": np.zeros((n_animals, n, 2 * trunk_k, 2)),
        "head": np.zeros((n_animals, n, 5)),  # cx, cy, semi-along, semi-across, angle (rad)
        "tail": np.zeros((n_animals, n, 12, 2)),
        "lifted": np.zeros((n_animals, len(SYNTHETIC_PAWS), n), bool),
    }
    stance = np.zeros((n_animals, len(SYNTHETIC_PAWS), n), bool)
    freq = np.zeros((n_animals, n))
    phase = np.full((n_animals, n), np.nan)
    index = {p: i for i, p in enumerate(SYNTHETIC_PARTS)}
    for a, m in enumerate(motion):
        # Axial parts and ears.
        build = builds[a]
        names = ["snout", "left_ear", "right_ear", "neck", "body_centre", "tail_base"]
        ear_u = _U["snout"] - build["ear_back"]  # the standard build gives _U's ears exactly
        along = dict(_U, left_ear=ear_u, right_ear=ear_u)
        side = {"left_ear": build["ear_side"], "right_ear": -build["ear_side"]}
        pts, tangent = _body_points(m, L, [along[p] for p in names], [side.get(p, 0.0) for p in names])
        for k, p in enumerate(names):
            parts[a, index[p]] = pts[:, k]
        # Trunk outline: an ellipse profile along the bent spine.
        s0, s1, half_w = _TRUNK[0], _TRUNK[1], build["trunk_half_width"]
        u = np.linspace(s0, s1, trunk_k)
        mid, semi = (s0 + s1) / 2, (s1 - s0) / 2
        prof = half_w * np.sqrt(np.clip(1 - ((u - mid) / semi) ** 2, 0, 1))
        left, _ = _body_points(m, L, u, prof, widen=True)
        right, _ = _body_points(m, L, u, -prof, widen=True)
        shapes["trunk"][a] = np.concatenate([left, right[:, ::-1]], axis=1)
        hc, htan = _body_points(m, L, [_HEAD[0]], [0.0])
        shrink = 1 - 0.15 * m["rear"]
        shapes["head"][a] = np.stack(
            [hc[:, 0, 0], hc[:, 0, 1], _HEAD[1] * L * shrink, np.full(n, build["head_half_width"] * L),
             htan[:, 0]], -1
        )
        # Tail: an arc from the tail base, trailing the body's bend.
        tb = parts[a, index["tail_base"]]
        v = np.linspace(0, _TAIL_LENGTH * L, 12)
        tx, ty, _ = _spine(tb[:, 0], tb[:, 1], tangent[:, 5] + np.pi, -m["tail_kappa"], v)
        shapes["tail"][a] = np.stack([tx, ty], -1)
        mx, my, _ = _spine(tb[:, 0], tb[:, 1], tangent[:, 5] + np.pi, -m["tail_kappa"],
                           np.array([_TAIL_MID * _TAIL_LENGTH * L]))
        parts[a, index["tail_mid"]] = np.stack([mx[:, 0], my[:, 0]], -1)
        parts[a, index["tail_tip"]] = shapes["tail"][a, :, -1]
        # Paws.
        paws, st, f, ph, lifted = _paws(m, L, fps)
        for k, p in enumerate(SYNTHETIC_PAWS):
            parts[a, index[p]] = paws[k]
        stance[a], freq[a], phase[a], shapes["lifted"][a] = st, f, ph, lifted
    return {"parts": parts, "shapes": shapes, "stance": stance, "freq": freq, "phase": phase}


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive) frames of the runs of True in a 1-D bool array."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def _paws(m: dict, L: float, fps: float):
    """Paw trajectories from the gait oscillator (see the module docstring)."""
    n = m["x"].shape[0]
    state = m["state"]
    stepping = (state == WALK) | (state == TURN)
    freq = np.where(state == WALK, np.clip(2.0 + 1.5 * np.abs(m["v"]) / L, 2.0, 5.0), 0.0)
    freq = np.where(state == TURN, 3.0, freq)
    # No swing may start in the last `settle` frames of a stepping bout: the longest swing
    # (f >= 2 Hz) fits in them, so every paw is down when the bout ends.
    clock = freq
    settle = int(math.ceil((1 - DUTY_FACTOR) / 2.0 * fps)) + 1
    may_lift = stepping.copy()
    for s, e in zip(*_runs(stepping)):
        may_lift[max(s, e - settle):e] = False
    phi = m["phi0"] + np.cumsum(clock) / fps
    phase = np.where(stepping, phi % 1.0, np.nan)
    # Nominal place of each paw in the world at every frame.
    uw = np.array([_PAW_UW[p] for p in SYNTHETIC_PAWS])
    nominal, _ = _body_points(m, L, uw[:, 0], uw[:, 1])  # (n, 4, 2)
    head_groom, _ = _body_points(m, L, [0.52, 0.52], [0.06, -0.06])
    head_rear, _ = _body_points(m, L, [0.20, 0.20], [0.15, -0.15])
    out = np.zeros((len(SYNTHETIC_PAWS), n, 2))
    stance = np.ones((len(SYNTHETIC_PAWS), n), bool)
    lifted = np.zeros((len(SYNTHETIC_PAWS), n), bool)
    up = (state == GROOM) | (state == REAR)
    for k, paw in enumerate(SYNTHETIC_PAWS):
        fore = "fore" in paw
        swing = (clock > 0) & (((phi - PHASE_OFFSETS[paw]) % 1.0) >= DUTY_FACTOR)
        s, e = _runs(swing)
        keep = may_lift[s]
        swing = np.zeros(n, bool)
        for a, b in zip(s[keep], e[keep]):
            swing[a:b] = True
        if fore:
            swing |= up
        s, e = _runs(swing)
        # Landing target: the nominal place at the middle of the coming stance.
        f_land = np.where(e < n, clock[np.minimum(e, n - 1)], 0.0)
        mid = np.where(f_land > 0, np.round(0.5 * DUTY_FACTOR * fps / np.maximum(f_land, 1e-9)), 0)
        land = nominal[np.minimum(e + mid.astype(int), n - 1), k]
        footholds = np.concatenate([nominal[:1, k], land])  # foothold j holds after run j-1
        count = np.cumsum(np.isin(np.arange(n), e))  # runs finished by each frame
        pos = footholds[count]
        for j, (a, b) in enumerate(zip(s, e)):
            tau = (np.arange(a, b) - (a - 1)) / (b - (a - 1))
            wgt = (0.5 - 0.5 * np.cos(np.pi * tau))[:, None]
            pos[a:b] = footholds[j] * (1 - wgt) + footholds[j + 1] * wgt
        if fore:
            side = 0 if paw.startswith("left") else 1
            g, r = m["groom"][:, None], m["rear"][:, None]
            rub = 0.05 * L * np.sin(2 * np.pi * m["groom_phase"] + side * np.pi)
            heading = np.stack([np.cos(m["theta"]), np.sin(m["theta"])], -1)
            groom_target = head_groom[:, side] + rub[:, None] * heading
            pos = pos * (1 - g - r) + groom_target * g + head_rear[:, side] * r
            lifted[k] = up & ((g[:, 0] + r[:, 0]) > 0.25)
        out[k] = pos
        stance[k] = ~swing
    return out, stance, np.where(stepping, freq, 0.0), phase, lifted


# --- rendering ---------------------------------------------------------------------------------


def _background(rng: np.random.Generator, size: tuple[int, int], arena) -> np.ndarray:
    """Textured arena floor (BGR uint8) with walls around it."""
    import cv2

    width, height = size
    base = np.array(ARENA_COLOUR, np.float32)
    coarse = cv2.GaussianBlur(rng.standard_normal((height, width)).astype(np.float32), (0, 0), 12)
    coarse *= 9.0 / max(float(coarse.std()), 1e-6)
    fine = cv2.GaussianBlur(rng.standard_normal((height, width)).astype(np.float32), (0, 0), 1.2)
    fine *= 5.0 / max(float(fine.std()), 1e-6)
    img = base + (coarse + fine)[..., None] * np.array([1.0, 0.97, 0.94], np.float32)
    img = np.clip(img, 0, 255).astype(np.uint8)
    x0, y0, x1, y1 = (int(v) for v in arena)
    wall = np.full_like(img, _WALL_COLOUR)
    inside = np.zeros((height, width), bool)
    inside[y0 : y1 + 1, x0 : x1 + 1] = True
    img[~inside] = wall[~inside]
    return img


def _fx(points: np.ndarray) -> np.ndarray:
    """Float pixel coordinates to cv2 fixed point."""
    return np.round(np.asarray(points) * _ONE).astype(np.int32)


def _draw_animal(img, ids, shapes, a: int, t: int, parts: np.ndarray, L: float, line_type,
                 colours: dict[str, tuple[int, int, int]] = PART_COLOURS, mark: str = "none") -> None:
    """Draw animal ``a`` at frame ``t`` into the colour image and the identity map, each part
    in ``colours`` (:data:`PART_COLOURS`, or one coat from :func:`_fur_colours`), with its
    ``mark`` (:data:`MARKS`) on the back."""
    import cv2

    idx = {p: i for i, p in enumerate(SYNTHETIC_PARTS)}
    base = 1 + 8 * a

    def disc(centre, radius, colour, region):
        c, r = tuple(_fx(centre).tolist()), int(round(max(radius, _MIN_RADIUS) * _ONE))
        cv2.circle(img, c, r, colour, -1, line_type, _SHIFT)
        cv2.circle(ids, c, r, base + region, -1, cv2.LINE_8, _SHIFT)

    # Tail: tapering segments, then the tip.
    tail = shapes["tail"][a, t]
    widths = np.linspace(_TAIL_WIDTH[0], _TAIL_WIDTH[1], len(tail) - 1) * L
    for k in range(len(tail) - 1):
        p, q = tuple(_fx(tail[k]).tolist()), tuple(_fx(tail[k + 1]).tolist())
        th = max(1, int(round(widths[k])))
        cv2.line(img, p, q, colours["tail_mid"], th, line_type, _SHIFT)
        cv2.line(ids, p, q, base + _REGION["tail"], th, cv2.LINE_8, _SHIFT)
    disc(tail[-1], _R_TIP * L, colours["tail_tip"], _REGION["tip"])
    lifted = shapes["lifted"][a, :, t]
    for k, paw in enumerate(SYNTHETIC_PAWS):
        if not lifted[k]:
            disc(parts[a, idx[paw], t], _R_PAW * L, colours[paw],
                 _REGION["fore_paw" if "fore" in paw else "hind_paw"])
    body = colours["body_centre"]
    poly = [_fx(shapes["trunk"][a, t])]
    cv2.fillPoly(img, poly, body, line_type, _SHIFT)
    cv2.fillPoly(ids, poly, base + _REGION["body"], cv2.LINE_8, _SHIFT)
    cx, cy, along, across, ang = shapes["head"][a, t]
    centre = tuple(_fx([cx, cy]).tolist())
    axes = (int(round(along * _ONE)), int(round(across * _ONE)))
    deg = math.degrees(ang)
    cv2.ellipse(img, centre, axes, deg, 0, 360, body, -1, line_type, _SHIFT)
    cv2.ellipse(ids, centre, axes, deg, 0, 360, base + _REGION["body"], -1, cv2.LINE_8, _SHIFT)
    if _MARK_SPOTS[mark]:  # dye stands out from the coat: dark on a light coat, light on a dark one
        dye = (40, 38, 36) if sum(body) / 3 > 110 else (228, 230, 226)
        for first, second, fraction in _MARK_SPOTS[mark]:
            centre = parts[a, idx[first], t] + fraction * (parts[a, idx[second], t] - parts[a, idx[first], t])
            cv2.circle(img, tuple(_fx(centre).tolist()), int(round(max(_R_MARK * L, _MIN_RADIUS) * _ONE)),
                       dye, -1, line_type, _SHIFT)
    for ear in ("left_ear", "right_ear"):
        disc(parts[a, idx[ear], t], _R_EAR * L, colours[ear], _REGION["ear"])
    disc(parts[a, idx["snout"], t], _R_SNOUT * L, colours["snout"], _REGION["snout"])
    for k, paw in enumerate(SYNTHETIC_PAWS):
        if lifted[k]:
            disc(parts[a, idx[paw], t], _R_PAW * L, colours[paw], _REGION["fore_paw"])


def _fur_colours(coat: tuple[int, int, int]) -> dict[str, tuple[int, int, int]]:
    """Every part in one coat: body, head and neck in the coat, ears, paws and tail in skin."""
    skin = tuple(int(round(0.6 * c + 0.4 * k)) for c, k in zip(coat, _SKIN))
    bare = ("left_ear", "right_ear", "tail_mid", "tail_tip", *SYNTHETIC_PAWS)
    return {p: (skin if p in bare else tuple(coat)) for p in SYNTHETIC_PARTS}


def _coat_of(seed_rng: np.random.Generator, n_animals: int) -> list[tuple[int, int, int]]:
    """One coat per animal (a group is mostly one strain: the first coat drawn, 80 % of them)."""
    names = list(COAT_COLOURS)
    main = names[int(seed_rng.integers(len(names)))]
    return [COAT_COLOURS[main if seed_rng.random() < 0.8 or a == 0 else names[int(seed_rng.integers(len(names)))]]
            for a in range(n_animals)]


def _fur(img: np.ndarray, ids: np.ndarray, grain: np.ndarray, L: float) -> None:
    """Fur and lighting on every animal, in place: a soft shadow on the floor beside it, its
    body shaded darker towards its outline (a rounded back under a ceiling light), a fine
    streaky fur texture, and the lens's blur over the whole animal."""
    import cv2

    mask = (ids > 0).astype(np.uint8)
    if not mask.any():
        return
    shift = max(1.0, 0.04 * L)
    moved = cv2.warpAffine(mask.astype(np.float32), np.float32([[1, 0, shift], [0, 1, 1.3 * shift]]),
                           mask.shape[::-1])
    shadow = cv2.GaussianBlur(moved, (0, 0), max(1.0, 0.05 * L)) * (1 - mask)
    depth = cv2.distanceTransform(mask, cv2.DIST_L2, 3)
    shade = 0.72 + 0.28 * np.clip(depth / max(0.08 * L, 1.0), 0, 1)
    out = img.astype(np.float32)
    out *= (1 - 0.35 * shadow)[..., None]
    animal = mask.astype(bool)
    out[animal] *= (shade[animal] * grain[animal])[:, None]
    out = np.clip(out, 0, 255)
    soft = cv2.GaussianBlur(out, (0, 0), 0.8)
    near = cv2.dilate(mask, np.ones((5, 5), np.uint8)).astype(bool)
    out[near] = soft[near]
    img[...] = out.astype(np.uint8)


def _motion_blur(img, ids, a: int, velocity: np.ndarray, fps: float) -> None:
    """Blur animal ``a`` along its motion (exposure: half the frame interval), in place."""
    import cv2

    length = float(np.hypot(*velocity)) / fps * 0.5
    if length < 2.0:
        return
    mine = (ids >= 1 + 8 * a) & (ids < 9 + 8 * a)
    ys, xs = np.nonzero(mine)
    if ys.size == 0:
        return
    pad = int(math.ceil(length)) + 2
    h, w = ids.shape
    y0, y1 = max(ys.min() - pad, 0), min(ys.max() + pad + 1, h)
    x0, x1 = max(xs.min() - pad, 0), min(xs.max() + pad + 1, w)
    k = int(math.ceil(length)) | 1
    kernel = np.zeros((k, k), np.float32)
    d = velocity / max(np.hypot(*velocity), 1e-9) * (length / 2)
    c = (k - 1) / 2
    cv2.line(kernel, (round((c - d[0]) * _ONE), round((c - d[1]) * _ONE)),
             (round((c + d[0]) * _ONE), round((c + d[1]) * _ONE)), 1.0, 1, cv2.LINE_AA, _SHIFT)
    kernel /= kernel.sum()
    crop = img[y0:y1, x0:x1]
    blurred = cv2.filter2D(crop, -1, kernel, borderType=cv2.BORDER_REPLICATE)
    near = cv2.dilate(mine[y0:y1, x0:x1].astype(np.uint8), np.ones((k, k), np.uint8)).astype(bool)
    crop[near] = blurred[near]


def _render(path: Path, geometry: dict, background: np.ndarray, fps: float, size, rng,
            *, nuisances: bool, progress: bool, L: float, appearance: str = "coloured",
            coat_rng: np.random.Generator | None = None, marks: bool = False) -> np.ndarray:
    """Write the video; return ``visible`` (animal, part, frame)."""
    import cv2
    from tqdm.auto import tqdm

    width, height = size
    parts, shapes = geometry["parts"], geometry["shapes"]
    n_animals, n_parts, n = parts.shape[:3]
    visible = np.zeros((n_animals, n_parts, n), bool)
    expected = (1 + 8 * np.arange(n_animals)[:, None]
                + np.array([_PART_REGION[p] for p in SYNTHETIC_PARTS])[None, :])
    velocity = np.zeros((n_animals, n, 2))
    body = SYNTHETIC_PARTS.index("body_centre")
    velocity[:, 1:] = np.diff(parts[:, body], axis=1) * fps
    # Nuisances: a bank of noise images (cropped at random offsets per frame) and lighting drift.
    pad = 16
    if nuisances:
        noise = rng.normal(0, 3.5, (4, height + pad, width + pad, 3))  # grey levels
        noise_bank = np.round(noise).astype(np.int16)
        yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
        xn, yn = (2 * xx / max(width - 1, 1) - 1), (2 * yy / max(height - 1, 1) - 1)
        t = np.arange(n) / fps
        p1, p2, p3 = rng.uniform(0, 2 * np.pi, 3)
        gain = (1 + 0.05 * np.sin(2 * np.pi * t / 23.0 + p1)
                + 0.02 * np.sin(2 * np.pi * t / 7.0 + p2))
        grad_angle = p3 + 2 * np.pi * t / 40.0
        choice = rng.integers(0, 4, n)
        offsets = rng.integers(0, pad + 1, (n, 2))
    line_type = cv2.LINE_AA
    fur = appearance == "fur"
    if fur:
        palettes = [_fur_colours(c) for c in _coat_of(coat_rng or np.random.default_rng(0), n_animals)]
        # fur grain: fine noise drawn out into short streaks, a few images reused at random offsets
        streaks = [cv2.GaussianBlur(rng.normal(0, 1, (height + pad, width + pad)).astype(np.float32),
                                    (0, 0), sigmaX=1.6, sigmaY=0.6) for _ in range(3)]
        grains = [1 + 0.12 * g / max(float(g.std()), 1e-6) for g in streaks]
    else:
        palettes = [PART_COLOURS] * n_animals
    inside = ((parts[..., 0] >= 0) & (parts[..., 0] <= width - 1)
              & (parts[..., 1] >= 0) & (parts[..., 1] <= height - 1))
    pix = np.round(parts).astype(np.int64)
    # The 3x3 neighbourhood of each keypoint's pixel (clipped at the image border).
    near = np.arange(-1, 2)
    rows = np.clip(pix[..., 1, None, None] + near[:, None], 0, height - 1)  # (A, P, n, 3, 1)
    cols = np.clip(pix[..., 0, None, None] + near[None, :], 0, width - 1)  # (A, P, n, 1, 3)
    centre_r, centre_c = np.clip(pix[..., 1], 0, height - 1), np.clip(pix[..., 0], 0, width - 1)
    with atomic_path(path) as tmp:  # never leave a half-written video behind
        writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
        if not writer.isOpened():
            raise SyntheticWorldError(f"OpenCV cannot write an mp4v video at {tmp}")
        try:
            for t_i in tqdm(range(n), disable=not progress, desc="rendering", unit="frame"):
                img = background.copy()
                ids = np.zeros((height, width), np.uint8)
                for a in range(n_animals):
                    _draw_animal(img, ids, shapes, a, t_i, parts, L, line_type, palettes[a],
                                 MARKS[a % len(MARKS)] if marks else "none")
                    if nuisances and not fur:
                        _motion_blur(img, ids, a, velocity[a, t_i], fps)
                if fur:  # light and fur on the whole scene, then the motion of each animal
                    gy, gx = (t_i * 7) % (pad + 1), (t_i * 3) % (pad + 1)
                    _fur(img, ids, grains[t_i % len(grains)][gy : gy + height, gx : gx + width], L)
                    for a in range(n_animals if nuisances else 0):
                        _motion_blur(img, ids, a, velocity[a, t_i], fps)
                # Visible: the keypoint's pixel and 8 of the 9 pixels around it show the part.
                shows = ids[rows[:, :, t_i], cols[:, :, t_i]] == expected[..., None, None]
                visible[:, :, t_i] = ((ids[centre_r[:, :, t_i], centre_c[:, :, t_i]] == expected)
                                      & (shows.sum(axis=(-2, -1)) >= 8))
                if nuisances:
                    cg, sg = 0.03 * math.cos(grad_angle[t_i]), 0.03 * math.sin(grad_angle[t_i])
                    light = np.float32(gain[t_i]) + np.float32(cg) * xn + np.float32(sg) * yn
                    oy, ox = offsets[t_i]
                    grain = noise_bank[choice[t_i], oy : oy + height, ox : ox + width]
                    noisy = img * light[..., None] + grain
                    img = np.clip(noisy, 0, 255).astype(np.uint8)
                writer.write(img)
        finally:
            writer.release()
    return visible & inside


# --- truth datasets ----------------------------------------------------------------------------


def _gait_dataset(motion, geometry, animals, ds, L: float) -> xr.Dataset:
    frames = ds["frame"].values
    coords = {"animal": animals, "paw": list(SYNTHETIC_PAWS), "frame": frames,
              "time": ("frame", ds["time"].values)}
    gait = xr.Dataset(
        {
            "stance": (("animal", "paw", "frame"), geometry["stance"],
                       {"description": "paw on the ground and fixed in the world; fore paws are "
                                       "off the ground for whole groom and rear bouts"}),
            "stride_frequency": (("animal", "frame"), geometry["freq"],
                                 {"units": "Hz", "description": "0 outside walk and turn bouts"}),
            "gait_phase": (("animal", "frame"), geometry["phase"],
                           {"units": "cycles", "description": "oscillator phase; paw p swings "
                            "when (gait_phase - phase_offset[p]) % 1 >= duty_factor, "
                            "except that no swing starts in the last 0.2 s of a bout"}),
            "speed": (("animal", "frame"), np.stack([m["speed"] for m in motion]),
                      {"units": "px/s", "description": "speed of the body's reference point "
                                                 "(body_centre except when rearing)"}),
            "heading": (("animal", "frame"), np.stack([m["theta"] for m in motion]),
                        {"units": "rad",
                         "description": "image angle of the body axis (x right, y down)"}),
            "phase_offset": (("paw",), np.array([PHASE_OFFSETS[p] for p in SYNTHETIC_PAWS]),
                             {"units": "cycles",
                              "description": "delay of the paw's cycle after left_hind_paw's"}),
        },
        coords=coords,
        attrs={"duty_factor": DUTY_FACTOR, "body_length": float(L),
               "description": "gait truth of poselab.datasets.synthetic"},
    )
    return gait
