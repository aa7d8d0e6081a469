import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # the shared helpers in browser.py


@pytest.fixture
def artifacts(tmp_path) -> Path:
    """Where screenshots and latency figures go: ``$POSELAB_TEST_ARTIFACTS`` or a temporary folder."""
    path = Path(os.environ.get("POSELAB_TEST_ARTIFACTS", tmp_path / "artifacts"))
    path.mkdir(parents=True, exist_ok=True)
    return path
