"""Which behaviours the frames chosen for labeling show, per frame selection method.

    python benchmarks/frame_selection_coverage.py [--seeds 100 101 102 103 104 105] [--n 50]

For each synthetic world (600 frames, ``appearance="fur"``; seeds 100-105 are tuning seeds,
never scored by ``video_to_gait.py``) ``Project.select_frames``'s methods choose ``--n`` frames,
and the truth says which behaviour each chosen frame shows. Printed per world and summed: the
frames of each behaviour, beside the frames that behaviour would get in proportion to its time.
A network learns the postures it is shown: a behaviour with few labeled frames is where its
poses, and so the behaviour segmentation, go wrong. The last line is
``kmeans_uniform_groom_frames: <grooming frames chosen by "kmeans+uniform", summed over worlds>``.
Also counted: chosen frames within 3 frames of the one before (nearly the same pose, labeled twice).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from poselab.datasets import BEHAVIOURS, synthetic  # noqa: E402
from poselab.project.frames import select_kmeans, select_kmeans_uniform, select_uniform  # noqa: E402

METHODS = {
    "kmeans": lambda video, n_total, n, seed: select_kmeans(video, n, seed=seed),
    "uniform": lambda video, n_total, n, seed: select_uniform(n_total, n),
    "kmeans+uniform": lambda video, n_total, n, seed: select_kmeans_uniform(video, n, seed=seed),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[100, 101, 102, 103, 104, 105])
    parser.add_argument("--frames", type=int, default=600)
    parser.add_argument("--n", type=int, default=50)
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="frame-coverage-"))
    totals = {name: np.zeros(len(BEHAVIOURS), int) for name in ["time share", *METHODS]}
    for seed in args.seeds:
        world = synthetic(folder / f"world{seed}.mp4", n_frames=args.frames, seed=seed, appearance="fur")
        codes = world.behaviour.values[0]
        share = np.bincount(codes, minlength=len(BEHAVIOURS)) * args.n / len(codes)
        totals["time share"] = totals["time share"] + share
        print(f"world {seed}: in proportion to time " + ", ".join(
            f"{b} {s:.1f}" for b, s in zip(BEHAVIOURS, share)))
        for name, method in METHODS.items():
            chosen = method(world.video, len(codes), args.n, seed)
            counts = np.bincount(codes[chosen], minlength=len(BEHAVIOURS))
            totals[name] = totals[name] + counts
            close = int(np.sum(np.diff(np.sort(chosen)) <= 3))
            totals[name + " close"] = totals.get(name + " close", 0) + close
            print(f"  {name:15s} " + ", ".join(f"{b} {c}" for b, c in zip(BEHAVIOURS, counts))
                  + f"; {close} frames within 3 frames of the one before")
    print(f"summed over {len(args.seeds)} worlds, {args.n} frames each:")
    for name, counts in totals.items():
        if name.endswith(" close"):
            continue
        close = f"; {totals[name + ' close']} within 3 frames of the one before" if name + " close" in totals else ""
        print(f"  {name:15s} " + ", ".join(f"{b} {c:.0f}" for b, c in zip(BEHAVIOURS, counts)) + close)
    groom = int(totals["kmeans+uniform"][BEHAVIOURS.index("groom")])
    print(f"kmeans_uniform_groom_frames: {groom}")
    return groom


if __name__ == "__main__":
    main()
