"""The ``poselab`` command line, for batch jobs (notebooks use the Python API).

Examples
--------
    poselab synthetic demo-data/mouse.mp4 --frames 600 --animals 1
    poselab import-dlc path/to/dlc-project my-study
    poselab select-frames my-study --n 20 --method kmeans
    poselab train my-study --out my-study/models/run1 --minutes 20
    poselab analyze my-study/models/run1/model.safetensors videos/*.mp4 --out results/
    poselab analyze model.safetensors videos/*.mp4 --out results/ --scheduler tcp://host:8786
    poselab analyze three-mice.safetensors videos/*.mp4 --animals 3 --out results/   # multi-animal
    poselab export model.safetensors model.onnx    # the fast CPU path (ONNX Runtime)
    poselab convert results.h5 results.nc          # DeepLabCut/SLEAP/NWB/poselab -> any of them
    poselab info results.nc
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from poselab.core.errors import PoselabError


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        return int(args.run(args) or 0)
    except (PoselabError, ValueError, FileNotFoundError) as error:  # user errors: say what to fix
        print(f"poselab: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # a long job stopped from the terminal: its checkpoints stay
        print("poselab: interrupted", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    from poselab import __version__

    parser = argparse.ArgumentParser(prog="poselab", description="Markerless animal pose estimation.")
    parser.add_argument("--version", action="version", version=f"poselab {__version__}")
    commands = parser.add_subparsers(title="commands")

    p = commands.add_parser("create", help="create a project folder")
    p.add_argument("root")
    p.add_argument("--parts", required=True, help="comma-separated part names")
    p.add_argument("--animals", default="animal0", help="comma-separated animal names")
    p.add_argument("--videos", nargs="*", default=[])
    p.add_argument("--copy-videos", action="store_true")
    p.set_defaults(run=_create)

    p = commands.add_parser("import-dlc", help="import a DeepLabCut project (config, frames, labels)")
    p.add_argument("dlc_project")
    p.add_argument("root")
    p.set_defaults(run=_import_dlc)

    p = commands.add_parser("select-frames", help="choose and extract frames to label")
    p.add_argument("root")
    p.add_argument("--video", default=None)
    p.add_argument("--n", type=int, default=20)
    p.add_argument("--method", choices=["kmeans", "uniform", "kmeans+uniform"], default="kmeans")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(run=_select_frames)

    p = commands.add_parser(
        "train", help="train a pose model on a project's labels or a DeepLabCut label file",
        description="Train with poselab's recipe (poselab.model.Recipe, the one the demo and the "
                    "training widget use); a run interrupted in the same --out folder resumes.")
    p.add_argument("source", help="a poselab project folder, or a DeepLabCut CollectedData_*.h5/.csv")
    p.add_argument("--out", required=True, help="output folder (checkpoints, history, model.safetensors)")
    p.add_argument("--root", default=None,
                   help="with a label file: the folder its image paths are relative to "
                        "(default: two levels up, the DeepLabCut project)")
    length = p.add_mutually_exclusive_group(required=True)
    length.add_argument("--epochs", type=int)
    length.add_argument("--minutes", type=float, help="wall-clock budget")
    # Settings left out keep the recipe's values (poselab.model.Recipe / TrainConfig defaults).
    p.add_argument("--backbone", help="any timm architecture name (recipe: tf_efficientnet_lite0)")
    p.add_argument("--input-size", type=int, help="training crop, network pixels (recipe: 256)")
    p.add_argument("--scale", type=float, help="image resize factor before the network (recipe: 1)")
    p.add_argument("--stride", type=int, choices=(4, 8), help="output stride (recipe: 8)")
    p.add_argument("--batch-size", type=int, help="images per step (recipe: 8)")
    p.add_argument("--lr", type=float, help="peak learning rate (recipe: 0.001)")
    p.add_argument("--rotation", type=float,
                   help="largest random rotation, degrees (recipe: 25; top views: 180)")
    p.add_argument("--test-fraction", type=float, help="held-out share of the images (recipe: 0.2)")
    p.add_argument("--seed", type=int, default=0, help="seeds the split and the training")
    p.add_argument("--no-resume", dest="resume", action="store_false",
                   help="start afresh even if --out holds an interrupted run")
    p.add_argument("--device", default=None, help="cuda, cpu... (default: CUDA when available)")
    p.add_argument("--init-from", default=None,
                   help="fine-tune from a zoo model (e.g. topview_mouse) or a model file, not ImageNet")
    p.set_defaults(run=_train)

    p = commands.add_parser("analyze", help="predict poses in videos (locally or on a Dask cluster)")
    p.add_argument("model", help="a saved model (.safetensors, or .onnx from `poselab export`), "
                                 "or zoo:NAME for a zoo model (no labels needed)")
    p.add_argument("videos", nargs="+")
    p.add_argument("--out", default=".", help="folder for the results, one per video")
    p.add_argument("--zarr", action="store_true", help="write Zarr (long videos) instead of NetCDF")
    p.add_argument("--scheduler", default=None, help="Dask scheduler address, e.g. tcp://host:8786")
    p.add_argument("--split-frames", type=int, default=None,
                   help="with --scheduler: frames per task, to spread one long video over workers")
    p.add_argument("--batch-size", type=int, default=None, help="frames per pass (default: 4 on a CPU, 16 on a GPU)")
    p.add_argument("--downscale", type=float, default=1.0, help="> 1 shrinks frames before the network")
    p.add_argument("--follow-crop", type=int, default=None,
                   help="side (pixels) of a window that follows the animal: the fastest path for one small animal")
    p.add_argument("--animals", type=int, default=None,
                   help="a multi-animal model: the number of animals to track (identities)")
    p.add_argument("--device", default=None)
    p.set_defaults(run=_analyze)

    p = commands.add_parser("live", help="pose from a camera or a replayed video, frame by frame, recorded to Zarr")
    p.add_argument("model", help="a saved model (.onnx from `poselab export` is the fastest on a CPU)")
    p.add_argument("source", help="a camera index (0), a stream URL, or a video file (replayed at its frame rate)")
    p.add_argument("--record", default=None, help="the .zarr store the poses go to (default: none)")
    p.add_argument("--crop-size", type=int, default=None, help="side (pixels) of a window that follows the animal")
    p.add_argument("--predict-ahead", type=float, default=None,
                   help="forward prediction: the pose this many seconds after it is ready")
    p.add_argument("--duration", type=float, default=None, help="seconds to run (default: until the source ends)")
    p.add_argument("--threads", type=int, default=None,
                   help="CPU threads for the network (default: all cores but one, left to the camera)")
    p.set_defaults(run=_live)

    p = commands.add_parser("export", help="export a model to ONNX, for ONNX Runtime on the CPU")
    p.add_argument("model", help="a saved model (.safetensors)")
    p.add_argument("target", help="the .onnx file to write")
    p.set_defaults(run=_export)

    p = commands.add_parser("zoo", help="the model zoo: list its models, adapt one to a video")
    zoo_commands = p.add_subparsers(dest="zoo_command", required=True)
    z = zoo_commands.add_parser("list", help="the zoo's models and their cards")
    z.set_defaults(run=_zoo_list)
    z = zoo_commands.add_parser("adapt", help="self-train a zoo model on a video (no labels)")
    z.add_argument("name", help="a zoo model, e.g. topview_mouse")
    z.add_argument("video")
    z.add_argument("--out", required=True, help="the adapted model file (.safetensors)")
    z.add_argument("--frames", type=int, default=None, help="frames taken over the video (default 200)")
    z.add_argument("--epochs", type=int, default=None, help="fine-tuning epochs (default 10)")
    z.set_defaults(run=_zoo_adapt)

    p = commands.add_parser("synthetic", help="render a synthetic video with ground truth")
    p.add_argument("path", help="the .mp4 to write (truth files are written next to it)")
    p.add_argument("--frames", type=int, default=300)
    p.add_argument("--animals", type=int, default=1)
    p.add_argument("--fps", type=float, default=30.0)
    p.add_argument("--size", type=int, nargs=2, default=(640, 480), metavar=("WIDTH", "HEIGHT"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--appearance", choices=["fur", "coloured"], default="fur",
                   help="fur: as real mice look (default); coloured: each part in a colour of its own")
    p.set_defaults(run=_synthetic)

    p = commands.add_parser("convert", help="convert pose files (DeepLabCut .h5/.csv, SLEAP .h5, NWB .nwb, .nc, .zarr)")
    p.add_argument("source")
    p.add_argument("target", help="suffix picks the format: .nc, .zarr, .csv or .h5 (DeepLabCut), .slp.h5 (SLEAP)")
    p.set_defaults(run=_convert)

    p = commands.add_parser("info", help="summarise a pose file")
    p.add_argument("path")
    p.set_defaults(run=_info)
    return parser


def _split(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _create(args: argparse.Namespace) -> int:
    from poselab.project import Project

    project = Project.create(args.root, _split(args.parts), animals=_split(args.animals),
                             videos=args.videos, copy_videos=args.copy_videos)
    print(project)
    return 0


def _import_dlc(args: argparse.Namespace) -> int:
    from poselab.project import Project

    project = Project.from_deeplabcut(args.dlc_project, args.root)
    print(project)
    return 0


def _select_frames(args: argparse.Namespace) -> int:
    from poselab.project import Project

    project = Project.open(args.root)
    images = project.select_frames(args.video, args.n, method=args.method, seed=args.seed)
    print("\n".join(images))
    return 0


def _train(args: argparse.Namespace) -> int:
    import dataclasses
    import json

    import numpy as np

    from poselab.model import LabeledImages
    from poselab.model.config import TrainConfig
    from poselab.model.recipe import Recipe, fit, project_images

    source = Path(args.source)
    flip_pairs = None
    if source.is_dir():
        from poselab.project import Project

        with Project.open(source) as project:
            data = project_images(project)
            flip_pairs = project.config.flip_pairs
    elif source.is_file():
        data = LabeledImages.from_deeplabcut(source, args.root).load()
    else:
        raise FileNotFoundError(f"{source}: no such project folder or label file")
    labeled = int(np.isfinite(np.asarray(data.keypoints, float)).all(-1).any(-1).sum()) if len(data) else 0
    if labeled < 2:
        raise ValueError(
            f"{source} has {labeled} labeled image(s); training needs at least 2 (and a few dozen "
            "to learn well). Label the frames that select-frames extracted first: in a notebook, "
            "poselab.widgets.label(poselab.Project.open(...)) (notebooks/02_label_and_train), "
            "or label them in DeepLabCut and bring the labels in with 'poselab import-dlc', or "
            "pass a DeepLabCut CollectedData .csv/.h5 to 'poselab train'")
    config = TrainConfig(**_given(
        epochs=args.epochs, minutes=args.minutes, batch_size=args.batch_size, lr=args.lr,
        test_fraction=args.test_fraction, device=args.device), split_seed=args.seed,
        seed=args.seed, resume=args.resume, progress=sys.stderr.isatty())
    # the recipe poselab chooses for these images and labels, with what the command line sets
    train_set, _ = data.split(config.test_fraction, config.split_seed)
    recipe = Recipe.for_data(train_set, **_given(backbone=args.backbone, stride=args.stride,
                                                 input_size=args.input_size, scale=args.scale),
                             train=config)
    if args.rotation is not None:
        recipe.train.augment = dataclasses.replace(recipe.train.augment, rotation=args.rotation)
    if args.init_from:
        recipe.init_from = _model_source(args.init_from)
    result = fit(data, recipe, flip_pairs=flip_pairs, out_dir=args.out)
    path = result.model.save(Path(args.out) / "model.safetensors")
    summary = {key: result.result[key] for key in ("rmse_px", "rmse_px_cutoff", "pck", "n_images")}
    summary.update(epochs=len(result.history.records), model=str(path))
    print(json.dumps(summary, indent=1, default=float))
    return 0


def _given(**values: object) -> dict[str, object]:
    """The options given on the command line (the others keep the recipe's values)."""
    return {key: value for key, value in values.items() if value is not None}


def _model_source(text: str):
    """A model file, or the loaded zoo model of that name (``zoo:NAME`` or a plain zoo name)."""
    from poselab import zoo

    name = text.removeprefix("zoo:")
    if Path(text).is_file() and not text.startswith("zoo:"):
        return Path(text)
    if name in {c.name for c in zoo.list_models()}:
        return zoo.load(name)
    raise FileNotFoundError(f"{text}: no such model file or zoo model (poselab zoo list)")


def _zoo_list(args: argparse.Namespace) -> int:
    from poselab import zoo

    for card in zoo.list_models():
        accuracy = "; ".join(f"{k}: {v}" for k, v in card.accuracy.items()) or "not measured"
        print(f"{card.name}: {card.species}, {card.view} view, {len(card.parts)} keypoints "
              f"({', '.join(card.parts)})\n  trained on: {card.training_data}\n  licence: {card.licence}"
              f"\n  accuracy: {accuracy}")
    return 0


def _zoo_adapt(args: argparse.Namespace) -> int:
    from poselab import zoo

    config = zoo.AdaptConfig(**_given(frames=args.frames, epochs=args.epochs))
    model = zoo.adapt_to_video(zoo.load(args.name), args.video, config)
    path = model.save(args.out)
    report = model.card["adapted_to"]
    print(f"{path}: adapted on {report['frames_kept']} of {report['frames_read']} frames "
          f"({report['keypoints_kept']:.0%} of keypoints confident and consistent)")
    return 0


def _analyze(args: argparse.Namespace) -> int:
    from poselab.inference import analyze_videos

    if args.model.startswith("zoo:"):
        from poselab import zoo

        args.model = str(zoo.locate(args.model[4:]))

    for video in args.videos:
        if not Path(video).is_file():
            raise FileNotFoundError(f"{video}: no such video")
    options = dict(batch_size=args.batch_size, downscale=args.downscale, device=args.device,
                   follow_crop=args.follow_crop)
    model = args.model
    if args.animals is not None:  # a multi-animal model: found animals linked into identities
        from poselab.multianimal import load_multianimal_model

        model = load_multianimal_model(args.model)
        options["animals"] = args.animals
    suffix = ".zarr" if args.zarr else ".nc"
    if args.scheduler:
        from distributed import Client

        with Client(args.scheduler) as client:
            paths = analyze_videos(model, args.videos, out_dir=args.out, suffix=suffix,
                                   client=client, split_frames=args.split_frames, **options)
    else:
        paths = analyze_videos(model, args.videos, out_dir=args.out, suffix=suffix,
                               progress=sys.stderr.isatty(), **options)
    print("\n".join(str(p) for p in paths))
    return 0


def _live(args: argparse.Namespace) -> int:
    from poselab.live import LiveSession

    source = int(args.source) if args.source.isdigit() else args.source
    session = LiveSession(args.model, source, crop_size=args.crop_size, predict_ahead_s=args.predict_ahead,
                          threads=args.threads, record=args.record)
    try:
        stats = session.run(duration_s=args.duration)
    except KeyboardInterrupt:  # Ctrl-C ends a session the normal way: the record is complete
        stats = session.stats()
    print(stats)
    if args.record:
        print(args.record)
    return 0


def _synthetic(args: argparse.Namespace) -> int:
    from poselab.datasets import synthetic

    world = synthetic(args.path, n_animals=args.animals, n_frames=args.frames, fps=args.fps,
                      size=tuple(args.size), seed=args.seed, appearance=args.appearance)
    print(world.video)
    return 0


def _convert(args: argparse.Namespace) -> int:
    from poselab import io
    from poselab.core import poses

    ds = io.read(args.source)
    target = Path(args.target)
    name = target.name.lower()
    if name.endswith((".slp.h5", ".analysis.h5")):
        io.write_sleap_analysis(ds, target)
    elif target.suffix.lower() == ".nwb":
        io.write_nwb(ds, target)
    elif target.suffix.lower() in (".h5", ".csv"):
        io.write_deeplabcut(ds.drop_vars("position_variance", errors="ignore"), target)
    else:
        poses.save(ds, target)
    print(target)
    return 0


def _export(args: argparse.Namespace) -> int:
    from poselab.model import export_onnx, load_model

    print(export_onnx(load_model(args.model, device="cpu"), args.target))
    return 0


def _info(args: argparse.Namespace) -> int:
    from poselab import io

    print(io.read(args.path))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
