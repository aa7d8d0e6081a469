"""What glibc's "lean" setting (mmap threshold fixed at 128 KiB) would cost and save; not used.

    python benchmarks/allocator_cost.py [--epochs 3] [--frames 240] [--repeats 2]

glibc serves a large block (a batch's activations) from its heap once it has seen blocks of that
size freed, and keeps freed heap memory until ``malloc_trim``; fixing its mmap threshold at
128 KiB (``MALLOC_MMAP_THRESHOLD_=131072``, or ``mallopt(M_MMAP_THRESHOLD)``) gives every large
block back to the kernel the moment it is freed, which lowered the course notebook's training
peak in a trial. This measures its price. Each setting runs in fresh processes pinned to one core
with one torch thread, as on a student's server: training throughput
(``benchmarks/training_throughput.py`` at 192-pixel crops, batch 8; images/s) and
``analyze_video`` on a synthetic 320x240 video (frames/s), each with its peak private memory
(RssAnon + RssShmem, sampled every 20 ms). Run it on an idle machine. Last line
``lean_allocator_speed_ratio: <lean / default, the smaller of training and analysis>``.
(Measured 0.43: every step's fresh mappings are faulted in and zeroed again, so poselab keeps
glibc's default and gives freed memory back with ``release_freed_memory`` after each job.)
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
ONE_THREAD = {k: "1" for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
LEAN = {"MALLOC_MMAP_THRESHOLD_": str(128 * 1024)}  # glibc reads it at start-up


def private_gib(pid: int) -> float:
    total = 0
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(("RssAnon", "RssShmem")):
                total += int(line.split()[1]) * 1024
    return total / 2**30


def run(command: list[str], env: dict) -> tuple[str, float]:
    """Output and peak private memory (GiB) of ``command`` on core 0."""
    proc = subprocess.Popen(["taskset", "-c", "0", *command], env={**os.environ, **ONE_THREAD, **env},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO)
    peak = 0.0
    while proc.poll() is None:
        try:
            peak = max(peak, private_gib(proc.pid), *(private_gib(c.pid) for c in psutil.Process(proc.pid).children()))
        except (FileNotFoundError, ProcessLookupError, psutil.NoSuchProcess):
            pass
        time.sleep(0.02)
    out = proc.stdout.read()
    if proc.returncode:
        raise RuntimeError(out[-2000:])
    return out, peak


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--frames", type=int, default=240)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="allocator-"))
    prepare = textwrap.dedent(f"""
        from poselab.datasets import SYNTHETIC_PARTS, synthetic
        from poselab.model import create_model
        synthetic({str(tmp / 'mouse.mp4')!r}, n_frames={args.frames}, size=(320, 240), seed=1)
        create_model("tf_efficientnet_lite0", list(SYNTHETIC_PARTS), head_channels=64).save({str(tmp / 'm.safetensors')!r})
    """)
    subprocess.run([sys.executable, "-c", prepare], check=True, cwd=REPO)
    analyze = textwrap.dedent(f"""
        import time, poselab
        started = time.perf_counter()
        poselab.analyze_video({str(tmp / 'm.safetensors')!r}, {str(tmp / 'mouse.mp4')!r}, batch_size=8, progress=False)
        print("frames_per_s:", {args.frames} / (time.perf_counter() - started))
    """)
    train = [sys.executable, "benchmarks/training_throughput.py", "--epochs", str(args.epochs),
             "--input-size", "192", "--batch-size", "8", "--device", "cpu"]
    results: dict[str, dict[str, list[float]]] = {}
    for _ in range(args.repeats):  # alternate the settings so a drift in the machine hits both
        for name, env in (("default", {}), ("lean", LEAN)):
            row = results.setdefault(name, {"train": [], "train_peak": [], "analyze": [], "analyze_peak": []})
            out, peak = run(train, env)
            row["train"].append(float(re.findall(r"train_images_per_s: ([0-9.]+)", out)[-1]))
            row["train_peak"].append(peak)
            out, peak = run([sys.executable, "-c", analyze], env)
            row["analyze"].append(float(re.findall(r"frames_per_s: ([0-9.]+)", out)[-1]))
            row["analyze_peak"].append(peak)
            print(name, {k: round(v[-1], 3) for k, v in row.items()}, flush=True)
    print("\n| glibc setting | training (images/s) | training peak (GiB) | analysis (frames/s) | analysis peak (GiB) |")
    print("|---|---:|---:|---:|---:|")
    for name, row in results.items():
        print(f"| {name} | {max(row['train']):.2f} | {max(row['train_peak']):.2f} | "
              f"{max(row['analyze']):.1f} | {max(row['analyze_peak']):.2f} |")
    ratio = min(max(results["lean"][k]) / max(results["default"][k]) for k in ("train", "analyze"))
    print(f"lean_allocator_speed_ratio: {ratio:.3f}")
    return ratio


if __name__ == "__main__":
    main()
