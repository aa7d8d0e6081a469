"""A long multi-animal video through the analysis engine: flat memory, kill and resume, Dask.

Usage::

    python benchmarks/multi_animal_long_video.py [--frames 20000] [--animals 3] [--seed 31]
        [--model FILE] [--train-minutes 6] [--workdir DIR] [--split-frames 2048]

Renders a synthetic world (640x480, 30 fps, ``--animals`` animals, seed ``--seed``, never used
for training), trains the bottom-up network on another world (seed ``--train-seed``; frozen
ImageNet backbone, images at half size, as ``benchmarks/multi_animal_tracking.py``) unless
``--model`` is given, then analyzes the long video three ways with
``poselab.analyze_video(model, video, animals=N, out=...)``, each with one torch thread (so that
the three can be compared bit for bit):

1. **whole**: one process from start to end. Its resident memory (``VmRSS``) is sampled twice a
   second together with the frames done (the chunk files in ``<out>.detections/``): memory after
   10 % of the frames against memory at the end of the network pass, and the peak (tracking
   included).
2. **killed and resumed**: a second process, started beside the first, is killed (``SIGKILL``)
   once 40 % of its chunks are written; a third process resumes it to the end.
3. **Dask**: ``poselab.analyze_videos`` on a ``LocalCluster`` of two worker processes (one thread
   each), the video cut into ranges of ``--split-frames`` frames; identities found once, locally.

The three results must be identical (positions and likelihoods, NaN where NaN). The tracks are
also scored against the truth (IDF1, identity switches per 1000 frames). Wall times are given for
orientation only: the first two runs share the 2 cores.

The last line is ``long_video_rss_growth_mib: <MiB>``, the growth of the resident memory between
10 % of the frames and the end of the network pass.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np

from poselab.core import poses
from poselab.datasets import load_synthetic, synthetic
from poselab.datasets.synthetic import SyntheticWorldError


def _world(folder: Path, n_animals: int, n_frames: int, seed: int):
    path = folder / f"world{n_animals}_{seed}_{n_frames}.mp4"
    try:
        return load_synthetic(path)
    except SyntheticWorldError:
        t0 = time.perf_counter()
        world = synthetic(path, n_animals=n_animals, n_frames=n_frames, seed=seed)
        print(f"rendered {n_frames} frames of {n_animals} animals in {time.perf_counter() - t0:.0f} s", flush=True)
        return world


def _train(args, folder: Path) -> Path:
    import torch

    from poselab.multianimal import (
        MultiAnimalImages,
        create_multianimal_model,
        limb_length_limits,
        skeleton_from_labels,
        train_multianimal,
    )

    world = _world(folder, args.animals, args.train_frames, args.train_seed)
    truth = world.poses
    skeleton = skeleton_from_labels(truth, n_limbs=16)
    data = MultiAnimalImages.from_video(world.video, truth, np.arange(0, args.train_frames, 3))
    torch.manual_seed(0)
    model = create_multianimal_model([str(p) for p in truth["part"].values], skeleton, scale=0.5,
                                     input_size=(224, 320), head_channels=64,
                                     max_length=limb_length_limits(truth, skeleton, margin=8.0))
    t0 = time.perf_counter()
    history = train_multianimal(model, data, minutes=args.train_minutes, batch_size=8, freeze_backbone=True,
                                cached_views=3, progress=False, seed=0)
    print(f"trained on {len(data)} frames (seed {args.train_seed}) for {history.records[-1]['epoch']} epochs "
          f"in {time.perf_counter() - t0:.0f} s", flush=True)
    return model.save(folder / "long_video_model.safetensors")


_ANALYZE = """
import sys, torch
torch.set_num_threads(1)
from poselab.inference import analyze_video
from poselab.multianimal import load_multianimal_model
model = load_multianimal_model(sys.argv[1])
analyze_video(model, sys.argv[2], animals=int(sys.argv[3]), out=sys.argv[4], progress=False)
"""


class _Watched:
    """A child process analyzing the video, its memory sampled with the frames it has done."""

    def __init__(self, model: Path, video: Path, n_animals: int, out: Path):
        self.out = out
        self.detections = out.with_name(out.name + ".detections")
        self.process = subprocess.Popen([sys.executable, "-c", textwrap.dedent(_ANALYZE), str(model), str(video),
                                         str(n_animals), str(out)])
        self.samples: list[tuple[float, int, float, float]] = []  # seconds, frames done, RSS, HWM (MiB)
        self.start = time.perf_counter()

    def frames_done(self) -> int:
        done = 0
        for path in self.detections.glob("frames-*.npz"):
            first, stop = (int(v) for v in path.stem.split("-")[1:3])
            done = max(done, stop)
        return done

    def sample(self) -> None:
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return
        fields = {line.split(":")[0]: line.split()[1] for line in status.splitlines() if line.startswith("Vm")}
        if "VmRSS" in fields:
            self.samples.append((time.perf_counter() - self.start, self.frames_done(),
                                 int(fields["VmRSS"]) / 1024, int(fields["VmHWM"]) / 1024))

    def memory_at(self, frames: int) -> float:
        """RSS (MiB) at the first sample with at least ``frames`` done."""
        return next(rss for _, done, rss, _ in self.samples if done >= frames)


def _identical(a, b) -> bool:
    return (np.array_equal(a["position"].values, b["position"].values, equal_nan=True)
            and np.array_equal(a["likelihood"].values, b["likelihood"].values, equal_nan=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=20000)
    parser.add_argument("--animals", type=int, default=3)
    parser.add_argument("--seed", type=int, default=31, help="the long video's world (never trained on)")
    parser.add_argument("--model", help="a trained multi-animal model (else one is trained)")
    parser.add_argument("--train-minutes", type=float, default=6.0)
    parser.add_argument("--train-frames", type=int, default=600)
    parser.add_argument("--train-seed", type=int, default=32)
    parser.add_argument("--split-frames", type=int, default=2048)
    parser.add_argument("--kill-at", type=float, default=0.4, help="fraction of chunks written before the kill")
    parser.add_argument("--workdir", default="/tmp/poselab-long-video")
    args = parser.parse_args()

    folder = Path(args.workdir)
    folder.mkdir(parents=True, exist_ok=True)
    world = _world(folder, args.animals, args.frames, args.seed)
    model_path = Path(args.model) if args.model else _train(args, folder)
    for name in ("whole.nc", "resumed.nc"):
        for stale in folder.glob(name + "*"):
            subprocess.run(["rm", "-rf", str(stale)], check=True)

    # 1 and 2 side by side: the whole run, and the one killed at 40 % of its chunks.
    whole = _Watched(model_path, world.video, args.animals, folder / "whole.nc")
    killed = _Watched(model_path, world.video, args.animals, folder / "resumed.nc")
    kill_frames = int(args.kill_at * args.frames)
    while whole.process.poll() is None or killed.process.poll() is None:
        whole.sample()
        if killed.process.poll() is None and killed.frames_done() >= kill_frames:
            killed.process.send_signal(signal.SIGKILL)
            killed.process.wait()
            print(f"killed the second run with {killed.frames_done()} of {args.frames} frames checkpointed",
                  flush=True)
        time.sleep(0.5)
    whole_seconds = time.perf_counter() - whole.start
    assert whole.process.returncode == 0, f"the whole run failed ({whole.process.returncode})"
    assert killed.process.returncode == -signal.SIGKILL, "the second run ended before it could be killed"
    kept = killed.frames_done()
    t0 = time.perf_counter()
    resumed = _Watched(model_path, world.video, args.animals, folder / "resumed.nc")
    while resumed.process.poll() is None:
        resumed.sample()
        time.sleep(0.5)
    assert resumed.process.returncode == 0, f"the resumed run failed ({resumed.process.returncode})"
    resume_seconds = time.perf_counter() - t0

    # 3: Dask, two worker processes.
    import distributed

    from poselab.inference import analyze_videos
    from poselab.multianimal import load_multianimal_model, tracking_metrics

    t0 = time.perf_counter()
    dask_dir = folder / "dask"
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        (dask_path,) = analyze_videos(load_multianimal_model(model_path), [world.video], out_dir=dask_dir,
                                      client=client, split_frames=args.split_frames, animals=args.animals)
    dask_seconds = time.perf_counter() - t0

    result = poses.load(folder / "whole.nc", lazy=False)
    again = poses.load(folder / "resumed.nc", lazy=False)
    on_dask = poses.load(dask_path, lazy=False)
    scores = tracking_metrics(world.poses, result)
    at_tenth = whole.memory_at(args.frames // 10)
    at_end = whole.memory_at(args.frames)
    peak = max(hwm for *_, hwm in whole.samples)
    report = {
        "frames": args.frames, "animals": args.animals, "seed": args.seed, "model": str(model_path),
        "whole_seconds": round(whole_seconds), "resume_seconds": round(resume_seconds),
        "dask_seconds": round(dask_seconds), "frames_kept_at_kill": kept,
        "rss_mib_at_10_percent": round(at_tenth), "rss_mib_at_end_of_network_pass": round(at_end),
        "peak_mib": round(peak), "resumed_identical": _identical(result, again),
        "dask_identical": _identical(result, on_dask),
        "idf1": round(float(scores["idf1"]), 3), "switches_per_1000": round(float(scores["switches_per_1000_frames"]), 2),
    }
    print(json.dumps(report, indent=1))
    print(f"long_video_rss_growth_mib: {at_end - at_tenth:.1f}")


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
