"""The fastest CPU path: ONNX Runtime against the PyTorch forward of the same model, end to end.

    python benchmarks/cpu_fast_path.py [--frames 256] [--batch-size 8] [--downscales 1 2]
                                       [--model models/openfield.safetensors]

Reads ../shared/datasets/openfield-Pranav-2018-10-30/videos/m3v1mp4.mp4 (640x480, 30 fps) and
runs ``analyze_video`` over its first ``--frames`` frames with the model as PyTorch runs it and
as exported by ``poselab.model.export_onnx`` and run by ONNX Runtime, at each ``--downscale``
(the network sees the frames shrunk by that factor: fewer pixels, less accuracy), after one
warm-up pass each. Without ``--model``, a lite0 model with untrained weights (speed does not
depend on their values). Each path is timed alone, in one process, with the torch threads of
the machine (2 here). The last line is ``onnx_speedup: <ONNX Runtime frames/s / PyTorch
frames/s at the first downscale>``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from poselab.inference import analyze_video  # noqa: E402
from poselab.model import create_model, export_onnx, load_model, load_onnx_model  # noqa: E402

DEFAULT_VIDEO = REPO.parent / "shared/datasets/openfield-Pranav-2018-10-30/videos/m3v1mp4.mp4"


def frames_per_second(model, video: Path, n: int, batch_size: int, downscale: float) -> float:
    analyze_video(model, video, frames=(0, 2 * batch_size), batch_size=batch_size, downscale=downscale,
                  progress=False)  # warm-up
    start = time.perf_counter()
    analyze_video(model, video, frames=(0, n), batch_size=batch_size, downscale=downscale, progress=False)
    return n / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--video", type=Path, default=Path(os.environ.get("POSELAB_VIDEO", DEFAULT_VIDEO)))
    parser.add_argument("--frames", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--downscales", type=float, nargs="+", default=[1.0, 2.0])
    parser.add_argument("--model", type=Path, default=None, help="a trained .safetensors model")
    args = parser.parse_args(argv)
    if args.model is not None:
        model = load_model(args.model, device="cpu")
    else:
        model = create_model("tf_efficientnet_lite0", ["snout", "leftear", "rightear", "tailbase"],
                             pretrained=False)
    onnx_path = export_onnx(model, Path(tempfile.mkdtemp()) / "model.onnx")
    fast = load_onnx_model(onnx_path)
    print(f"video {args.video.name}, first {args.frames} frames, batch {args.batch_size}, "
          f"torch threads {torch.get_num_threads()}, model {model}, flip test {model.card.get('flip_test', False)}")
    speedups = []
    for downscale in args.downscales:
        plain = frames_per_second(model, args.video, args.frames, args.batch_size, downscale)
        onnx = frames_per_second(fast, args.video, args.frames, args.batch_size, downscale)
        speedups.append(onnx / plain)
        print(f"downscale {downscale:g}: PyTorch {plain:6.1f} frames/s, ONNX Runtime {onnx:6.1f} frames/s, "
              f"ratio {onnx / plain:.2f}", flush=True)
    print(f"onnx_speedup: {speedups[0]:.2f}")
    return speedups[0]


if __name__ == "__main__":
    main()
