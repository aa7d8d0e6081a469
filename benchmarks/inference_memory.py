"""Peak memory of video analysis against video length: a 1000- and a 20000-frame video.

    python benchmarks/inference_memory.py [--short 1000] [--long 20000] [--size 320 240] [--downscale 4]

Renders two synthetic videos (``poselab.datasets.synthetic``, same size, different lengths),
then analyzes each in a fresh process (``analyze_video`` writing NetCDF through its chunked
Zarr checkpoints) and reads that process's peak resident memory (``ru_maxrss``). Analysis keeps
a fixed number of batches in flight, so the peak should not depend on the number of frames.
Frame size and backbone do not change the argument; small frames keep the CPU run short. The
last line is ``peak_memory_ratio: <long / short>`` (goal: within 1.1).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import json, resource, sys, time
from poselab.inference import analyze_video
from poselab.model import create_model
from poselab.datasets import SYNTHETIC_PARTS
video, out, downscale, backbone = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
model = create_model(backbone, list(SYNTHETIC_PARTS), pretrained=False, head_channels=32)
start = time.perf_counter()
ds = analyze_video(model, video, out=out, downscale=downscale, batch_size=16, progress=False)
seconds = time.perf_counter() - start
peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
print(json.dumps({"frames": int(ds.sizes["frame"]), "seconds": seconds, "peak_mib": peak_mib}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--short", type=int, default=1000, help="frames of the short video")
    parser.add_argument("--long", type=int, default=20000, help="frames of the long video")
    parser.add_argument("--size", type=int, nargs=2, default=(320, 240), metavar=("W", "H"))
    parser.add_argument("--downscale", type=float, default=4.0)
    parser.add_argument("--backbone", default="tf_efficientnet_lite0")
    parser.add_argument("--folder", default=None, help="keep the videos here (default: temporary)")
    args = parser.parse_args()

    from poselab.datasets import synthetic

    folder = Path(args.folder or tempfile.mkdtemp(prefix="poselab-memory-"))
    results = {}
    for n in (args.short, args.long):
        video = folder / f"synthetic_{n}.mp4"
        if not video.is_file():
            start = time.perf_counter()
            synthetic(video, n_frames=n, size=tuple(args.size), seed=0)
            print(f"rendered {n} frames in {time.perf_counter() - start:.0f} s", flush=True)
        out = folder / f"synthetic_{n}.nc"
        out.unlink(missing_ok=True)
        run = subprocess.run([sys.executable, "-c", CHILD, str(video), str(out), str(args.downscale),
                              args.backbone],
                             check=True, capture_output=True, text=True)
        results[n] = json.loads(run.stdout.strip().splitlines()[-1])
        r = results[n]
        print(f"{n:6d} frames: {r['frames'] / r['seconds']:7.1f} frames/s, peak memory {r['peak_mib']:7.1f} MiB",
              flush=True)
    ratio = results[args.long]["peak_mib"] / results[args.short]["peak_mib"]
    print(f"peak_memory_ratio: {ratio:.3f}")


if __name__ == "__main__":
    main()
