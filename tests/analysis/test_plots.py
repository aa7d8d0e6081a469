from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import numpy as np
import xarray as xr

from poselab.analysis import plots
from poselab.core import poses


def _ds():
    t = np.arange(50, dtype=float)
    pos = np.stack([np.stack([t * 2, t + 5], -1)])[None]  # 1 animal, 1 part
    return poses.from_arrays(pos, parts=["body_centre"], fps=10.0, width=100, height=60)


def test_trajectory_draws_the_path():
    ax = plots.trajectory(_ds())
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), np.arange(50) * 2.0)


def test_occupancy_counts_every_frame():
    ax = plots.occupancy(_ds(), bins=10)
    assert ax.images[0].get_array().sum() == 50


def test_speed_and_ethogram_and_gait():
    ax = plots.speed_over_time(_ds())
    np.testing.assert_allclose(ax.lines[0].get_ydata(), np.hypot(2, 1) * 10)
    assert ax.get_ylabel() == "speed (pixels/s)"
    ax = plots.ethogram(np.array([0, 0, 1, 1]), names=["a", "b"], truth=np.array([0, 1, 1, 1]))
    np.testing.assert_array_equal(ax.images[0].get_array(), [[0, 0, 1, 1], [0, 1, 1, 1]])
    st = xr.DataArray(np.array([[[1, 0, 1], [0, 1, 0]]], bool), dims=("animal", "paw", "frame"),
                      coords={"animal": ["a"], "paw": ["l", "r"]})
    ax = plots.gait_diagram(st)
    np.testing.assert_array_equal(ax.images[0].get_array(), [[1, 0, 1], [0, 1, 0]])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["stance", "swing"]
    ax = plots.phase_polar({"r": (0.5, 1.0)})
    assert "r" in [t.get_text() for t in ax.texts]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "0.25", "0.5", "0.75"]
    assert "cycles" in ax.get_title()


def test_stride_vs_speed_and_bout_durations():
    import pandas as pd

    tab = pd.DataFrame({"animal": ["a", "a", "b"], "body_speed": [1.0, 2.0, 3.0],
                        "cadence_hz": [4.0, 5.0, 6.0]})
    ax = plots.stride_vs_speed(tab)
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), [1.0, 2.0])
    np.testing.assert_array_equal(ax.lines[1].get_ydata(), [6.0])
    assert ax.get_xlabel() == "body speed (pixels/s)"
    ax = plots.bout_durations(np.array([0, 0, 1, 1, 1, 1, 0, 0, 0, 0]), fps=2.0, names=["x", "y"])
    # boxes per state: x bouts 1.0 s and 2.0 s (median 1.5), y one bout of 2.0 s
    assert [t.get_text() for t in ax.get_xticklabels()] == ["x", "y"]
    flat = {tuple(np.round(np.asarray(line.get_ydata(), float), 6)) for line in ax.lines}
    assert (1.5, 1.5) in flat and (2.0, 2.0) in flat  # the two median lines
