"""Data with ground truth and the real public datasets.

* :func:`synthetic` renders a deterministic top-view video of articulated animals with the truth
  behind every pixel (poses, visibility, gait, behaviour); :func:`load_synthetic` reopens it.
* :data:`REGISTRY`, :func:`locate`, :func:`fetch` and :func:`list_datasets` find the public
  DeepLabCut example datasets on this machine (``$POSELAB_DATA`` or ``../shared/datasets``) or
  download them with pooch.
"""

from __future__ import annotations

from poselab.datasets.registry import (
    REGISTRY,
    DatasetFetchError,
    DatasetInfo,
    DatasetNotFoundError,
    cache_dir,
    fetch,
    list_datasets,
    locate,
)
from poselab.datasets.synthetic import (
    BEHAVIOURS,
    DUTY_FACTOR,
    PART_COLOURS,
    PHASE_OFFSETS,
    SYNTHETIC_FLIP_PAIRS,
    SYNTHETIC_PARTS,
    SYNTHETIC_PAWS,
    SYNTHETIC_SKELETON,
    SyntheticWorld,
    SyntheticWorldError,
    WorldConfig,
    load_synthetic,
    synthetic,
)

__all__ = [
    "synthetic",
    "load_synthetic",
    "SyntheticWorld",
    "WorldConfig",
    "SyntheticWorldError",
    "SYNTHETIC_PARTS",
    "SYNTHETIC_SKELETON",
    "SYNTHETIC_FLIP_PAIRS",
    "SYNTHETIC_PAWS",
    "BEHAVIOURS",
    "PHASE_OFFSETS",
    "DUTY_FACTOR",
    "PART_COLOURS",
    "REGISTRY",
    "DatasetInfo",
    "locate",
    "fetch",
    "list_datasets",
    "DatasetNotFoundError",
    "DatasetFetchError",
    "cache_dir",
]
