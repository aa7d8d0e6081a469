"""Matplotlib plots of pose analyses; each returns the Axes it drew on."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import xarray as xr

from poselab.analysis import kinematics
from poselab.analysis.behaviour import bouts

__all__ = ["trajectory", "speed_over_time", "occupancy", "ethogram", "gait_diagram",
           "phase_polar", "stride_vs_speed", "bout_durations"]


def _ax(ax=None, polar: bool = False):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(subplot_kw={"projection": "polar"} if polar else None)
    return ax


def trajectory(ds: xr.Dataset, part: str = "body_centre", ax=None):
    """Path of ``part`` per animal in image pixels (y down)."""
    ax = _ax(ax)
    for animal in ds["animal"].values:
        p = ds["position"].sel(animal=animal, part=part)
        ax.plot(p.sel(coord="x"), p.sel(coord="y"), label=str(animal), lw=1)
    ax.set(xlabel="x (px)", ylabel="y (px)", aspect="equal")
    if not ax.yaxis_inverted():
        ax.invert_yaxis()
    ax.legend(fontsize="small")
    return ax


def speed_over_time(ds: xr.Dataset, part: str = "body_centre", ax=None):
    """Speed of ``part`` (the poses' units per second, pixels/s by default) against time (s) per animal."""
    ax = _ax(ax)
    sp = kinematics.speed(ds["position"].sel(part=part))
    for animal in ds["animal"].values:
        ax.plot(ds["time"].values, sp.sel(animal=animal).values, label=str(animal), lw=1)
    units = ds["position"].attrs.get("units") or ds.attrs.get("units") or "pixels"
    ax.set(xlabel="time (s)", ylabel=f"speed ({units}/s)")
    return ax


def occupancy(ds: xr.Dataset, part: str = "body_centre", bins: int = 32, ax=None):
    """2-D histogram of frames spent per place (all animals), image pixels."""
    ax = _ax(ax)
    p = ds["position"].sel(part=part)
    x, y = p.sel(coord="x").values.ravel(), p.sel(coord="y").values.ravel()
    ok = np.isfinite(x) & np.isfinite(y)
    w, h = ds.attrs.get("width") or np.nanmax(x) + 1, ds.attrs.get("height") or np.nanmax(y) + 1
    hist, _, _ = np.histogram2d(y[ok], x[ok], bins=bins, range=[[0, h], [0, w]])
    im = ax.imshow(hist, extent=(0, w, h, 0), cmap="viridis")
    ax.figure.colorbar(im, ax=ax, label="frames")
    ax.set(xlabel="x (px)", ylabel="y (px)")
    return ax


def ethogram(states: np.ndarray, names: Sequence[str] | None = None, time=None,
             truth: np.ndarray | None = None, ax=None):
    """State codes (frames,) as coloured bars; ``truth`` adds a second row below."""
    ax = _ax(ax)
    rows = [np.asarray(states)] + ([np.asarray(truth)] if truth is not None else [])
    t = np.arange(rows[0].size) if time is None else np.asarray(time)
    k = int(max(r.max() for r in rows)) + 1
    ax.imshow(np.stack(rows), aspect="auto", interpolation="nearest", cmap="tab10",
              vmin=0, vmax=9, extent=(t[0], t[-1], len(rows) - 0.5, -0.5))
    ax.set_yticks(range(len(rows)), ["predicted", "truth"][: len(rows)])
    ax.set_xlabel("time (s)" if time is not None else "frame")
    if names is not None:
        import matplotlib.patches as mpatches
        import matplotlib.pyplot as plt

        cmap = plt.get_cmap("tab10")
        ax.legend(handles=[mpatches.Patch(color=cmap(i), label=names[i]) for i in range(k)],
                  fontsize="small", ncol=min(k, 5), loc="upper center",
                  bbox_to_anchor=(0.5, -0.25))
    return ax


def gait_diagram(stance: xr.DataArray, animal=None, ax=None):
    """Stance bars per paw over frames (black = stance, white = swing, as the legend says) from
    a (animal, paw, frame) array."""
    import matplotlib.patches as mpatches

    ax = _ax(ax)
    st = stance.sel(animal=animal if animal is not None else stance["animal"].values[0])
    ax.imshow(st.transpose("paw", "frame").values.astype(float), aspect="auto", cmap="Greys",
              interpolation="nearest", vmin=0, vmax=1)
    ax.set_yticks(range(st.sizes["paw"]), [str(p) for p in st["paw"].values])
    ax.set_xlabel("frame")
    ax.legend(handles=[mpatches.Patch(facecolor="black", label="stance"),
                       mpatches.Patch(facecolor="white", edgecolor="0.5", label="swing")],
              loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small", frameon=False)
    return ax


def phase_polar(phases: dict, ax=None):
    """Inter-limb phases {paw: (mean cycles, resultant length)} as arrows on a polar plot, the
    angle in cycles (0.5 = half a stride later than the reference paw), the radius the
    resultant length (1 = the same phase every stride)."""
    ax = _ax(ax, polar=True)
    for paw, (m, r) in phases.items():
        ax.annotate("", xy=(2 * np.pi * m, r), xytext=(0, 0),
                    arrowprops={"arrowstyle": "->"})
        ax.text(2 * np.pi * m, r, str(paw), fontsize="small")
    ax.set_ylim(0, 1)
    ax.set_xticks(2 * np.pi * np.arange(4) / 4, ["0", "0.25", "0.5", "0.75"])
    ax.set_title("inter-limb phase (cycles)", fontsize="medium")
    return ax


def stride_vs_speed(table, column: str = "cadence_hz", ax=None, units: str = "pixels"):
    """One point per stride of a :func:`poselab.analysis.gait.stride_table`: ``column`` against the
    stride's mean body speed (``units``/s, the poses' units), so gait can be compared at equal
    speeds."""
    ax = _ax(ax)
    for animal, g in table.groupby("animal", sort=False):
        ax.plot(g["body_speed"], g[column], "o", ms=3, label=str(animal))
    ax.set(xlabel=f"body speed ({units}/s)", ylabel=column)
    ax.legend(fontsize="small")
    return ax


def bout_durations(states: np.ndarray, fps: float, names: Sequence[str] | None = None,
                   ax=None):
    """Box plot of bout durations (s) per state code (runs of equal codes)."""
    ax = _ax(ax)
    b = bouts(np.asarray(states))
    codes = np.unique(b[:, 2]) if len(b) else np.array([], int)
    data = [(b[b[:, 2] == c, 1] - b[b[:, 2] == c, 0]) / fps for c in codes]
    ax.boxplot(data)
    ax.set_xticks(range(1, len(codes) + 1),
                  [names[c] if names is not None else str(c) for c in codes])
    ax.set_ylabel("bout duration (s)")
    return ax
