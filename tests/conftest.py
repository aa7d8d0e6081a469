"""Shared test fixtures.

Real datasets live outside the repository (``../shared/datasets`` next to the checkout, or the
folder named by ``POSELAB_DATA``). Tests that need them ask for the ``shared_data`` fixture and
are skipped, with the reason, when the folder is absent (for example on a user's fresh clone).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


def _find_shared_data() -> Path | None:
    candidates = []
    if os.environ.get("POSELAB_DATA"):
        candidates.append(Path(os.environ["POSELAB_DATA"]))
    candidates += [REPO.parent / "shared" / "datasets", Path("/work/shared/datasets")]
    for candidate in candidates:
        if (candidate / "openfield-Pranav-2018-10-30").is_dir():
            return candidate
    return None


SHARED_DATA = _find_shared_data()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real datasets; skips the test when it is not on this machine."""
    if SHARED_DATA is None:
        pytest.skip("real datasets not found: set POSELAB_DATA to the shared datasets folder")
    return SHARED_DATA


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture
def one_thread():
    """One torch CPU thread for the test, the previous count restored afterwards.

    The order of float sums in a convolution depends on the thread count: runs that must be
    bit-identical (resume, Dask workers, another process) use one thread on both sides. It
    also keeps a test polite on a shared CPU.
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
