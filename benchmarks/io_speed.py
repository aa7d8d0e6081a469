"""Reading pose files: poselab's readers against movement's on the same files, in one run.

    python benchmarks/io_speed.py [--frames 100000] [--animals 3] [--parts 12]

Writes a random pose Dataset (NaN gaps included) as a multi-animal DeepLabCut .h5 and .csv and a
SLEAP analysis .h5 with poselab, then reads each with ``poselab.io.read_*`` and with
``movement.io.load_dataset`` (when movement is installed), best of 3 reads. Checks that
both give the same numbers (poselab parses a DeepLabCut CSV with pyarrow where the ``arrow``
extra is installed, otherwise with pandas, as movement does). Prints write and read times and
the ratio movement / poselab per format, and for an NWB file (one animal: movement reads one per file); the last line is
``io_speed_ratio: <the smallest ratio movement / poselab>`` (or, without movement,
``dlc_h5_read_s: <seconds>``).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np


def best_of(n: int, func):
    times, result = [], None
    for _ in range(n):
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=100_000)
    parser.add_argument("--animals", type=int, default=3)
    parser.add_argument("--parts", type=int, default=12)
    args = parser.parse_args()

    from poselab import io
    from poselab.core import poses

    rng = np.random.default_rng(0)
    shape = (args.animals, args.parts, args.frames)
    position = rng.uniform(0, 640, (*shape, 2))
    likelihood = rng.uniform(0, 1, shape)
    gaps = rng.random(shape) < 0.02
    position[gaps] = np.nan
    likelihood[gaps] = np.nan
    ds = poses.from_arrays(position, likelihood, animals=[f"mouse{i}" for i in range(args.animals)],
                           parts=[f"part{i}" for i in range(args.parts)], fps=30.0)
    try:
        from movement.io import load_dataset as movement_load
    except ImportError:
        try:  # movement < 0.15
            from movement.io.load_poses import from_file as movement_load
        except ImportError:
            movement_load = None
        print("movement is not installed: poselab's times only")

    folder = Path(tempfile.mkdtemp(prefix="poselab-io-"))
    formats = {
        "dlc_h5": (folder / "videoDLC.h5", io.write_deeplabcut, io.read_deeplabcut, "DeepLabCut"),
        "dlc_csv": (folder / "videoDLC.csv", io.write_deeplabcut, io.read_deeplabcut, "DeepLabCut"),
        "sleap_h5": (folder / "video.analysis.h5", io.write_sleap_analysis, io.read_sleap_analysis, "SLEAP"),
    }
    try:
        from movement.io.load_poses import from_nwb_file as movement_nwb
        import pynwb  # noqa: F401
    except ImportError:
        movement_nwb = None
    if movement_nwb is not None:
        one = ds.isel(animal=[0])
        formats["nwb"] = (folder / "session.nwb", lambda _, p: io.write_nwb(one, p), io.read_nwb, None)
    print(f"{args.frames} frames x {args.animals} animals x {args.parts} parts")
    try:
        import pyarrow
        print(f"pyarrow {pyarrow.__version__}: DeepLabCut prediction CSVs parsed on every core")
    except ImportError:
        print("no pyarrow (the 'arrow' extra): DeepLabCut CSVs parsed by pandas, on one core")
    ratios = {}
    for name, (path, write, read, software) in formats.items():
        start = time.perf_counter()
        write(ds, path)
        written = time.perf_counter() - start
        ours, ds_ours = best_of(3, lambda: read(path))
        line = f"{name:9s} write {written:6.2f} s   poselab read {ours:6.2f} s"
        if movement_load is not None:
            if software is None:  # NWB
                theirs, ds_theirs = best_of(3, lambda: movement_nwb(path, pose_estimation_key="mouse0"))
                ds_theirs = ds_theirs.sel(keypoints=ds_ours["part"].values) if "keypoints" in ds_theirs.dims \
                    else ds_theirs.sel(keypoint=ds_ours["part"].values)
            else:
                theirs, ds_theirs = best_of(3, lambda: movement_load(path, source_software=software, fps=30))
            back = io.from_movement(ds_theirs)
            # movement keeps float32 where the file does not say float64
            np.testing.assert_allclose(back["position"].values, ds_ours["position"].values, rtol=1e-6)
            ratios[name] = theirs / ours
            line += f"   movement read {theirs:6.2f} s   speed-up {ratios[name]:5.2f}x"
        print(line, flush=True)
    if ratios:
        print(f"io_speed_ratio: {min(ratios.values()):.2f}")
    else:
        print(f"dlc_h5_read_s: {ours:.3f}")


if __name__ == "__main__":
    main()
