"""Train the zoo's models: the script behind every file poselab ships, rerunnable by anyone.

    python -m poselab.zoo.build topview_mouse [--out FILE] [--worlds 24] [--epochs 25]

``topview_mouse`` is trained on synthetic worlds only (:func:`poselab.datasets.synthetic`, seeds
:data:`TRAINING_SEEDS`, which no test or benchmark uses), made as varied as real arenas are
where the renderer allows: black, agouti and albino coats, three image sizes (so the animal is
82 to 136 pixels long, and the zoom augmentation widens that to about 50-230 pixels), a build
of its own for each world's mouse (``body="varied"``: ears 0.05-0.25 body lengths behind the
snout, trunks 0.26-0.50 body lengths across), the renderer's sensor noise, lighting drift and
motion blur, then colour and grey crops, any rotation and mirroring, and wide brightness and contrast changes at training time. No real
labeled frame is used: the only real top-view mouse labels poselab may use (DeepLabCut's
openfield) are what the zoo benchmark scores it on.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from poselab.datasets import SYNTHETIC_FLIP_PAIRS, SYNTHETIC_PARTS, synthetic
from poselab.model import AugmentConfig, LabeledImages, Recipe, TrainConfig, evaluate, train

__all__ = ["TRAINING_SEEDS", "VALIDATION_SEEDS", "WORLD_SIZES", "build_topview_mouse",
           "save_small", "synthetic_images"]

#: Seeds of the worlds the shipped top-view model learns from (5000-5899; no test or benchmark
#: uses them) and of the worlds it is checked on while building (5900-5999).
TRAINING_SEEDS = range(5000, 5900)
VALIDATION_SEEDS = range(5900, 6000)
#: Image sizes (width, height) of the training worlds: the animal's length scales with them.
WORLD_SIZES: tuple[tuple[int, int], ...] = ((480, 360), (640, 480), (800, 600))

#: The augmentation of the zoo's top-view model: any heading, a wide range of animal sizes,
#: colour and monochrome cameras, dim and bright arenas.
ZOO_AUGMENT = AugmentConfig(rotation=180.0, scale=(0.6, 1.7), translation=0.2, flip=0.5,
                            brightness=0.3, contrast=0.5, noise=0.05, blur=0.4, random_crop=0.25,
                            box_jitter=1.0, grayscale=0.5)


def synthetic_images(folder: str | Path, seeds: Sequence[int], *, frames: int = 40,
                     every: int = 3, sizes: Sequence[tuple[int, int]] = WORLD_SIZES,
                     body: str = "standard") -> LabeledImages:
    """Frames of one-animal synthetic worlds with their visible keypoints (hidden parts NaN).

    Parameters
    ----------
    folder
        Where the worlds' videos are rendered.
    seeds
        One world per seed; its image size is ``sizes[seed % len(sizes)]``.
    frames
        Frames taken from each world, ``every`` frames apart (the video is ``frames * every``
        frames long at 30 frames/s).
    body
        The animals' build (:class:`~poselab.datasets.WorldConfig`'s ``body``): ``"varied"``
        draws each world's mouse from the range of real builds.
    """
    import cv2

    folder = Path(folder)
    images, keypoints, names = [], [], []
    for seed in seeds:
        size = tuple(sizes[seed % len(sizes)])
        world = synthetic(folder / f"world{seed}.mp4", n_frames=frames * every, seed=seed, size=size, body=body)
        position = world.poses["position"].isel(animal=0).transpose("frame", "part", "coord").values
        visible = world.poses["visible"].isel(animal=0).transpose("frame", "part").values
        capture = cv2.VideoCapture(str(world.video))
        for t in range(frames * every):
            ok, bgr = capture.read()
            if not ok:
                break
            if t % every:
                continue
            images.append(np.ascontiguousarray(bgr[..., ::-1]))
            keypoints.append(np.where(visible[t][:, None], position[t], np.nan))
            names.append(f"world{seed}/frame{t:04d}")
        capture.release()
        world.video.unlink()
    return LabeledImages(images, np.stack(keypoints), list(SYNTHETIC_PARTS), names)


def save_small(model, path: str | Path) -> str:
    """Save ``model`` with float16 weights (half the file; loading casts them back to float32)
    and return the file's SHA-256."""
    from safetensors.torch import save_file

    from poselab.core.files import atomic_path
    from poselab.model.network import CARD_KEY

    path = Path(path)
    state = {k: (v.half() if v.is_floating_point() else v).detach().cpu().contiguous()
             for k, v in model.net.state_dict().items()}
    with atomic_path(path) as tmp:
        save_file(state, str(tmp), metadata={CARD_KEY: json.dumps(model.card)})
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_topview_mouse(out: str | Path, *, worlds: int = 24, frames: int = 40, epochs: int = 25,
                        seed: int = 0) -> dict:
    """Train the zoo's top-view mouse model and write it to ``out``; returns a summary.

    The validation worlds (2, from :data:`VALIDATION_SEEDS`) are scored at the end, on whole
    frames, so the summary carries the model's error on synthetic frames it never saw.
    """
    torch.manual_seed(seed)
    with tempfile.TemporaryDirectory() as tmp:
        train_set = synthetic_images(tmp, list(TRAINING_SEEDS)[:worlds], frames=frames, body="varied")
        check_set = synthetic_images(tmp, list(VALIDATION_SEEDS)[:2], frames=20, every=7,
                                     sizes=((640, 480),))
    recipe = Recipe(input_size=256, scale=1.0, flip_test=True, train=TrainConfig(
        epochs=epochs, batch_size=8, lr=1e-3, augment=ZOO_AUGMENT, missing_is_absent=True,
        eval_every=max(epochs // 5, 1), seed=seed))
    model = recipe.model(list(SYNTHETIC_PARTS), flip_pairs=[list(p) for p in SYNTHETIC_FLIP_PAIRS])
    started = time.perf_counter()
    history = train(model, train_set, recipe.train, test_data=check_set)
    minutes = (time.perf_counter() - started) / 60
    result = evaluate(model, check_set)
    model.card["zoo"] = {
        "name": "topview_mouse",
        "training_data": (f"{len(train_set)} frames of {worlds} synthetic worlds (seeds "
                          f"{TRAINING_SEEDS.start}-{TRAINING_SEEDS.start + worlds - 1}, body='varied'), "
                          f"no real frame"),
        "epochs": epochs,
        "training_minutes": round(minutes, 1),
        "synthetic_validation_rmse_px": round(float(result["rmse_px"]), 2),
    }
    sha256 = save_small(model, out)
    return {"file": str(out), "sha256": sha256, "rmse_px": float(result["rmse_px"]),
            "pck": result.get("pck"), "minutes": minutes,
            "curve": [r.get("test_rmse_px") for r in history.records if r.get("test_rmse_px") is not None]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m poselab.zoo.build", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", choices=["topview_mouse"])
    parser.add_argument("--out", type=Path, default=None, help="model file (default: the zoo's)")
    parser.add_argument("--worlds", type=int, default=24)
    parser.add_argument("--frames", type=int, default=40, help="frames per world")
    parser.add_argument("--epochs", type=int, default=25)
    args = parser.parse_args(argv)
    out = args.out or Path(__file__).with_name("weights") / "topview_mouse.safetensors"
    out.parent.mkdir(parents=True, exist_ok=True)
    summary = build_topview_mouse(out, worlds=args.worlds, frames=args.frames, epochs=args.epochs)
    print(json.dumps(summary, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
