"""The ``poselab`` command line, for batch jobs (notebooks use the Python API).

Examples
--------
    poselab synthetic demo-data/mouse.mp4 --frames 600 --animals 1
    poselab import-dlc path/to/dlc-project my-study
    poselab select-frames my-study --n 20 --method kmeans
    poselab convert results.h5 results.nc          # DeepLabCut/SLEAP/poselab -> any of them
    poselab info results.nc
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        return int(args.run(args) or 0)
    except (ValueError, FileNotFoundError) as error:  # user errors: say what to fix, no traceback
        print(f"poselab: error: {error}", file=sys.stderr)
        return 1


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
    p.add_argument("--method", choices=["kmeans", "uniform"], default="kmeans")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(run=_select_frames)

    p = commands.add_parser("synthetic", help="render a synthetic video with ground truth")
    p.add_argument("path", help="the .mp4 to write (truth files are written next to it)")
    p.add_argument("--frames", type=int, default=300)
    p.add_argument("--animals", type=int, default=1)
    p.add_argument("--fps", type=float, default=30.0)
    p.add_argument("--size", type=int, nargs=2, default=(640, 480), metavar=("WIDTH", "HEIGHT"))
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(run=_synthetic)

    p = commands.add_parser("convert", help="convert pose files (DeepLabCut .h5/.csv, SLEAP .h5, .nc, .zarr)")
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


def _synthetic(args: argparse.Namespace) -> int:
    from poselab.datasets import synthetic

    world = synthetic(args.path, n_animals=args.animals, n_frames=args.frames, fps=args.fps,
                      size=tuple(args.size), seed=args.seed)
    print(world.video)
    return 0


def _convert(args: argparse.Namespace) -> int:
    from poselab import io, poses

    ds = io.read(args.source)
    target = Path(args.target)
    name = target.name.lower()
    if name.endswith((".slp.h5", ".analysis.h5")):
        io.write_sleap_analysis(ds, target)
    elif target.suffix.lower() in (".h5", ".csv"):
        io.write_deeplabcut(ds, target)
    else:
        poses.save(ds, target)
    print(target)
    return 0


def _info(args: argparse.Namespace) -> int:
    from poselab import io

    print(io.read(args.path))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
