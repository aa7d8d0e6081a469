"""Kinematics at scale: poselab vs movement on the same data, in memory and chunked (dask).

Usage::

    python benchmarks/kinematics_scale.py [--frames 1000000] [--parts 12] [--animals 4]

For each function (velocity, speed, path length), library and mode (numpy in memory, dask chunked
along frames), a fresh subprocess builds the same random-walk data (float64 pixels, 1% unknown
positions, fps 30), then times the call (best of ``--repeat``) and measures the peak of memory
allocated during it with ``tracemalloc`` (numpy reports its buffers to it), so neither library pays
for the other's garbage. movement gets the array C-contiguous in its own layout
``(time, space, keypoint(s), individual(s))`` (names per its version); poselab gets ``(animal, part, frame, coord)``.

Prints a table and, last, ``kinematics_speed_ratio: <movement_time / poselab_time>`` summed over
the in-memory runs (> 1 means poselab is faster).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import tracemalloc
import warnings

import numpy as np

FUNCTIONS = ("velocity", "speed", "path_length")
LIBRARIES = ("poselab", "movement")
MODES = ("numpy", "dask")


def make_data(frames: int, parts: int, animals: int, library: str, chunk: int | None):
    """The same random walk for both libraries, in each library's own layout."""
    import xarray as xr

    rng = np.random.default_rng(0)
    position = rng.standard_normal((animals, parts, frames, 2))
    np.cumsum(position, axis=2, out=position)
    position[rng.random((animals, parts, frames)) < 0.01] = np.nan
    fps = 30.0
    if library == "poselab":
        from poselab.core import poses

        ds = poses.from_arrays(position, fps=fps)
        data = ds["position"]
        return data.chunk({"frame": chunk}) if chunk else data
    import movement

    version = tuple(int(x) for x in movement.__version__.split(".")[:2])
    keypoint, individual = ("keypoint", "individual") if version >= (0, 17) else (
        "keypoints", "individuals"
    )
    native = np.ascontiguousarray(position.transpose(2, 3, 1, 0))
    del position
    data = xr.DataArray(
        native,
        dims=("time", "space", keypoint, individual),
        coords={
            "time": np.arange(frames) / fps,
            "space": ["x", "y"],
            keypoint: [f"part{i}" for i in range(parts)],
            individual: [f"animal{i}" for i in range(animals)],
        },
    )
    return data.chunk({"time": chunk}) if chunk else data


def get_function(library: str, name: str):
    if library == "poselab":
        from poselab.analysis import kinematics

        return getattr(kinematics, name)
    from movement import kinematics

    return getattr(kinematics, f"compute_{name}")


def worker(args: argparse.Namespace) -> dict:
    """Run one (library, function, mode) measurement in this process; return the numbers."""
    chunk = args.chunk if args.mode == "dask" else None
    data = make_data(args.frames, args.parts, args.animals, args.library, chunk)
    func = get_function(args.library, args.function)
    warnings.simplefilter("ignore")

    def call():
        result = func(data)
        if hasattr(result.data, "dask"):
            result = result.compute()
        return result

    times = []
    try:
        for _ in range(args.repeat):
            start = time.perf_counter()
            result = call()
            times.append(time.perf_counter() - start)
            del result
        tracemalloc.start()
        result = call()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        checksum = float(np.nansum(np.asarray(result.values, dtype=np.float64)))
    except Exception as error:  # noqa: BLE001 - report any failure in the table
        return {"error": f"{type(error).__name__}: {str(error).splitlines()[0][:60]}"}
    return {"seconds": min(times), "peak_mb": peak / 2**20, "checksum": checksum}


def run_one(library: str, function: str, mode: str, args: argparse.Namespace) -> dict:
    command = [
        sys.executable, os.path.abspath(__file__), "--worker",
        "--library", library, "--function", function, "--mode", mode,
        "--frames", str(args.frames), "--parts", str(args.parts), "--animals", str(args.animals),
        "--chunk", str(args.chunk), "--repeat", str(args.repeat),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        return {"error": f"worker failed (rc {done.returncode}): {done.stderr.strip()[-200:]}"}
    return json.loads(lines[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=1_000_000)
    parser.add_argument("--parts", type=int, default=12)
    parser.add_argument("--animals", type=int, default=4)
    parser.add_argument("--chunk", type=int, default=100_000, help="frames per dask chunk")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs; the best is kept")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--library", choices=LIBRARIES, help=argparse.SUPPRESS)
    parser.add_argument("--function", choices=FUNCTIONS, help=argparse.SUPPRESS)
    parser.add_argument("--mode", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args)))
        return

    import movement  # noqa: F401 - fail early if missing

    from poselab import __version__

    size_mb = args.frames * args.parts * args.animals * 2 * 8 / 2**20
    print(
        f"kinematics on {args.frames} frames x {args.parts} parts x {args.animals} animals x 2 "
        f"coords (float64 position {size_mb:.0f} MB), 1% NaN; dask chunks of {args.chunk} frames"
    )
    print(f"poselab {__version__}, movement {sys.modules['movement'].__version__}, "
          f"{os.cpu_count()} CPUs; time = best of {args.repeat}, peak = tracemalloc during call")
    header = (f"{'function':<12} {'mode':<6} {'poselab s':>10} {'movement s':>11} {'ratio':>7} "
              f"{'poselab MB':>11} {'movement MB':>12}  note")
    print(header)
    print("-" * len(header))
    totals = {"poselab": 0.0, "movement": 0.0}
    for mode in MODES:
        for function in FUNCTIONS:
            results = {lib: run_one(lib, function, mode, args) for lib in LIBRARIES}
            ours, theirs = results["poselab"], results["movement"]
            note = ""
            if "error" in ours:
                note = f"poselab failed: {ours['error']}"
            if "error" in theirs:
                note += f"movement fails: {theirs['error']}"
            elif "error" not in ours:
                same = np.isclose(ours["checksum"], theirs["checksum"], rtol=1e-9)
                note = "same result" if same else (
                    f"results differ ({ours['checksum']:.6g} vs {theirs['checksum']:.6g})"
                )
            fmt = lambda r, key, width, digits: (  # noqa: E731
                f"{r[key]:>{width}.{digits}f}" if key in r else f"{'-':>{width}}"
            )
            ratio = (
                f"{theirs['seconds'] / ours['seconds']:>7.2f}"
                if "seconds" in ours and "seconds" in theirs else f"{'-':>7}"
            )
            print(
                f"{function:<12} {mode:<6} {fmt(ours, 'seconds', 10, 3)} "
                f"{fmt(theirs, 'seconds', 11, 3)} {ratio} {fmt(ours, 'peak_mb', 11, 0)} "
                f"{fmt(theirs, 'peak_mb', 12, 0)}  {note}",
                flush=True,
            )
            if mode == "numpy" and "seconds" in ours and "seconds" in theirs:
                totals["poselab"] += ours["seconds"]
                totals["movement"] += theirs["seconds"]
    ratio = totals["movement"] / totals["poselab"] if totals["poselab"] else float("nan")
    print(
        f"in-memory totals: poselab {totals['poselab']:.3f} s, "
        f"movement {totals['movement']:.3f} s"
    )
    print(f"kinematics_speed_ratio: {ratio:.3f}")


if __name__ == "__main__":
    main()
