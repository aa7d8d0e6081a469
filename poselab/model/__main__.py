"""Batch training from the command line: ``python -m poselab.model LABELS [options]``.

``LABELS`` is a DeepLabCut label file (``CollectedData_<scorer>.h5`` or ``.csv``; images
relative to the project folder two levels up, or ``--root``). Trains with a fixed train/test
split, resumes an interrupted run in the same ``--out`` folder, prints test RMSE and PCK, and
writes ``model.safetensors`` there.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from poselab.model.augment import AugmentConfig
from poselab.model.data import LabeledImages
from poselab.model.evaluate import evaluate
from poselab.model.network import create_model
from poselab.model.train import train


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m poselab.model", description=__doc__.splitlines()[0])
    parser.add_argument("labels", help="DeepLabCut CollectedData_*.h5 / .csv label file")
    parser.add_argument("--root", default=None, help="project folder the image paths are relative to")
    parser.add_argument("--out", required=True, help="output folder (checkpoints, history, model)")
    parser.add_argument("--backbone", default="tf_efficientnet_lite0")
    length = parser.add_mutually_exclusive_group(required=True)
    length.add_argument("--epochs", type=int)
    length.add_argument("--minutes", type=float)
    parser.add_argument("--test-fraction", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--input-size", type=int, default=256)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--stride", type=int, default=8, choices=(4, 8))
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--rotation", type=float, default=25.0, help="max rotation (degrees)")
    parser.add_argument("--device", default=None)
    parser.add_argument("--no-resume", dest="resume", action="store_false")
    args = parser.parse_args(argv)

    data = LabeledImages.from_deeplabcut(args.labels, args.root).load()
    train_set, test_set = data.split(args.test_fraction, args.seed)
    model = create_model(args.backbone, data.parts, stride=args.stride,
                         input_size=args.input_size, scale=args.scale)
    history = train(model, train_set, test_data=test_set, epochs=args.epochs, minutes=args.minutes,
                    batch_size=args.batch_size, lr=args.lr, out_dir=args.out, seed=args.seed,
                    augment=AugmentConfig(rotation=args.rotation), resume=args.resume,
                    device=args.device, progress=sys.stderr.isatty())
    result = evaluate(model, test_set)
    path = model.save(Path(args.out) / "model.safetensors")
    summary = {k: result[k] for k in ("rmse_px", "rmse_px_cutoff", "per_part", "pck", "n_images")}
    summary.update(epochs=len(history.records), model=str(path))
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
