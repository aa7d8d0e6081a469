"""Accuracy on DeepLabCut's openfield mouse data (116 frames, 640x480, 4 parts), trained on CPU.

Usage::

    python benchmarks/openfield_accuracy.py [--minutes 20 | --epochs N] [--backbone tf_efficientnet_lite0]
                                            [--out DIR] [--device cpu] [--train-frames N]
                                            [--unlabeled-video ../shared/.../m3v1mp4.mp4]

A fixed 80/20 split (seed 0: 93 training, 23 test frames) and a wall-clock training budget.
Prints test RMSE per part and overall (image pixels), PCK@5px, and the curve of test RMSE
against training minutes. Reference points on these data: human re-labeling variability
2.69 px; DeepLabCut ResNet-50 after 50k GPU iterations 2.65-2.97 px. The last line is
``openfield_test_rmse_px: <value>``.

``--train-frames N`` trains on N of the 93 training frames (the first N of a fixed random order,
seed 0); the test frames stay the same. ``--unlabeled-video`` adds pairs of consecutive frames
of that video (unlabeled) to training, with the temporal loss of ``poselab.model.unlabeled``.
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

import numpy as np  # noqa: E402

from poselab.model import AugmentConfig, LabeledImages, UnlabeledConfig, create_model, evaluate, train  # noqa: E402

LABELS = "openfield-Pranav-2018-10-30/labeled-data/m4s1/CollectedData_Pranav.csv"  # the .h5's labels


def _data_root() -> Path:
    for candidate in (os.environ.get("POSELAB_DATA"), REPO.parent / "shared" / "datasets",
                      "/work/shared/datasets"):
        if candidate and (Path(candidate) / LABELS).is_file():
            return Path(candidate)
    raise SystemExit(f"openfield data not found: set POSELAB_DATA to the folder holding {LABELS}")


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--minutes", type=float, default=None,
                        help="training budget, wall clock (default 20)")
    budget.add_argument("--epochs", type=int, default=None,
                        help="training budget in epochs instead: the result does not depend on "
                             "other jobs sharing the machine")
    parser.add_argument("--backbone", default="tf_efficientnet_lite0")
    parser.add_argument("--out", default=None, help="output folder (default: a temporary one)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--input-size", type=int, default=256, help="training crop, pixels")
    parser.add_argument("--scale", type=float, default=1.0, help="image resize factor")
    parser.add_argument("--stride", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--eval-every", type=int, default=5)
    parser.add_argument("--rotation", type=float, default=180.0, help="max rotation, degrees")
    parser.add_argument("--random-crop", type=float, default=0.3,
                        help="share of crops centred anywhere (background negatives)")
    parser.add_argument("--locref-weight", type=float, default=8.0)
    parser.add_argument("--head-channels", type=int, default=128)
    parser.add_argument("--no-flip-test", dest="flip_test", action="store_false",
                        help="report plain predictions (default: average with mirrored frames)")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--train-frames", type=int, default=None,
                        help="train on this many of the 93 training frames (fixed random order)")
    parser.add_argument("--unlabeled-video", type=Path, default=None,
                        help="also learn from consecutive unlabeled frames of this video")
    parser.add_argument("--unlabeled-weight", type=float, default=UnlabeledConfig.weight)
    args = parser.parse_args(argv)
    if args.epochs is None and args.minutes is None:
        args.minutes = 20.0

    t0 = time.perf_counter()
    data = LabeledImages.from_deeplabcut(_data_root() / LABELS).load()
    train_set, test_set = data.split(0.2, seed=0)
    if args.train_frames is not None:
        order = np.random.default_rng(0).permutation(len(train_set))
        train_set = train_set.subset(np.sort(order[: args.train_frames]))
    unlabeled = (UnlabeledConfig(videos=[str(args.unlabeled_video)], weight=args.unlabeled_weight)
                 if args.unlabeled_video is not None else None)
    print(f"openfield: {len(train_set)} training / {len(test_set)} test frames, "
          f"parts {data.parts}, device {args.device}, {args.threads} threads, unlabeled {unlabeled}")
    model = create_model(args.backbone, data.parts, stride=args.stride, pretrained="offline",
                         input_size=args.input_size, scale=args.scale,
                         head_channels=args.head_channels)
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="openfield-"))
    # Top view: any heading is plausible, so rotate freely; mirrored frames swap the ears.
    augment = AugmentConfig(rotation=args.rotation, random_crop=args.random_crop)
    history = train(
        model, train_set, test_data=test_set, minutes=args.minutes, epochs=args.epochs, batch_size=args.batch_size,
        augment=augment, locref_weight=args.locref_weight,
        lr=args.lr, out_dir=out, seed=args.seed, resume=False, eval_every=args.eval_every,
        device=args.device, num_threads=args.threads if args.device == "cpu" else None,
        progress=sys.stderr.isatty(), unlabeled=unlabeled,
    )
    plain = evaluate(model, test_set)
    model.card["flip_test"] = args.flip_test
    result = evaluate(model, test_set)
    train_result = evaluate(model, train_set)
    df = history.to_dataframe()
    print(f"trained {len(df)} epochs ({int(df['step'].iloc[-1])} steps of {args.batch_size}) in "
          f"{df['seconds'].iloc[-1] / 60:.2f} min; total wall time {(time.perf_counter() - t0) / 60:.2f} min")
    print("test RMSE against training minutes:")
    curve = df.dropna(subset=["test_rmse_px"]) if "test_rmse_px" in df else df.iloc[:0]
    for _, row in curve.iterrows():
        print(f"  {row['seconds'] / 60:6.2f} min  epoch {int(row['epoch']):4d}  "
              f"test RMSE {row['test_rmse_px']:6.2f} px  train(aug) {row['train_rmse_px']:6.2f} px")
    print("per part test RMSE (px): " + ", ".join(f"{p} {v:.2f}" for p, v in result["per_part"].items()))
    print(f"train RMSE {train_result['rmse_px']:.2f} px; test RMSE {result['rmse_px']:.2f} px; "
          f"with likelihood >= {result['cutoff']}: {result['rmse_px_cutoff']:.2f} px "
          f"({100 * result['kept_fraction']:.0f}% of points kept)")
    print(f"test RMSE without flip averaging {plain['rmse_px']:.2f} px; "
          f"with (used below and saved in the model card: {args.flip_test}) {result['rmse_px']:.2f} px")
    model.save(out / "final.safetensors")
    print("test PCK: " + ", ".join(f"@{t:g}px {100 * v:.1f}%" for t, v in result["pck"].items()))
    print(f"model: {out / 'final.safetensors'}")
    print(f"openfield_test_rmse_px: {result['rmse_px']:.3f}")
    return result["rmse_px"]


if __name__ == "__main__":
    main()
