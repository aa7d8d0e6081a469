"""What a training run saves at the end of every epoch, so that it resumes exactly.

``state.pt`` holds the optimizer, the gradient scaler, every random number generator's state
(the run's ``torch.Generator``, torch, CUDA, NumPy, Python), the epoch, step, elapsed seconds,
planned epochs, best score and the history. It contains tensors and plain values only and is
read with ``torch.load(..., weights_only=True)``: no code is unpickled. The weights themselves
are in ``last.safetensors`` (a model file). Writes are atomic.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from poselab.core.files import atomic_path

__all__ = ["load_state", "restore_rng_states", "rng_states", "save_state"]


def rng_states(generator: torch.Generator) -> dict[str, Any]:
    """The states of ``generator`` and of the global generators (torch, CUDA, NumPy, Python)."""
    np_state = np.random.get_state()
    py_state = random.getstate()
    return {
        "generator": generator.get_state(),
        "torch": torch.get_rng_state(),
        "cuda": list(torch.cuda.get_rng_state_all()) if torch.cuda.is_available() else [],
        "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), *np_state[2:]],
        "python": [py_state[0], list(py_state[1]), py_state[2]],
    }


def restore_rng_states(states: dict[str, Any], generator: torch.Generator) -> None:
    """Put back the states saved by :func:`rng_states`."""
    generator.set_state(states["generator"])
    torch.set_rng_state(states["torch"])
    if states["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])
    n = states["numpy"]
    np.random.set_state((n[0], n[1].numpy().astype(np.uint32), *n[2:]))
    p = states["python"]
    random.setstate((p[0], tuple(p[1]), p[2]))


def save_state(state: dict[str, Any], path: str | os.PathLike) -> Path:
    """Write a training state (tensors and plain values) atomically."""
    with atomic_path(path) as tmp:
        torch.save(state, tmp)
    return Path(path)


def load_state(path: str | os.PathLike) -> dict[str, Any]:
    """Read a training state written by :func:`save_state` (``weights_only``: no code runs)."""
    return torch.load(path, map_location="cpu", weights_only=True)
