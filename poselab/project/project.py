"""Projects: one portable folder per study.

A project folder holds everything about one study, with relative paths only, so it moves
between a laptop, a cluster and a JupyterHub home unchanged::

    my-study/
        poselab.yaml          the configuration: parts, animals, skeleton, videos (YAML)
        labels.sqlite         every placed keypoint (one transaction per edit)
        videos/               videos copied into the project (optional; else relative links)
        frames/<video>/       frames chosen for labeling (PNG, named img<frame>.png)
        models/               trained models (weights + model card)
        poses/                analysis results (pose Datasets, NetCDF or Zarr)

Example
-------
>>> project = Project.create("my-study", parts=["snout", "tail_base"], videos=["mouse.mp4"])
>>> images = project.select_frames(n=20)          # k-means on downsampled frames
>>> project.labels.set_point(images[0], "snout", 120.5, 80.0)
>>> labels = project.labels_dataset()              # the pose data model, one frame per image
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath

import xarray as xr
import yaml

from poselab.project.config import CONFIG_NAME, ConfigError, ProjectConfig, VideoEntry
from poselab.project.labels import ImageRecord, LabelStore

LABELS_NAME = "labels.sqlite"
FRAMES_DIR = "frames"
VIDEOS_DIR = "videos"
MODELS_DIR = "models"
POSES_DIR = "poses"

__all__ = ["Project", "ProjectError"]


class ProjectError(ValueError):
    """A project operation cannot be done as asked (the message says what to change)."""


class Project:
    """A poselab project folder: configuration, videos, frames to label, labels, results.

    Use :meth:`create`, :meth:`open` or :meth:`from_deeplabcut` rather than the constructor.
    """

    def __init__(self, root: str | os.PathLike, config: ProjectConfig):
        self.root = Path(root).resolve()
        self.config = config
        self._labels: LabelStore | None = None

    # --- creation -------------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        root: str | os.PathLike,
        parts: Sequence[str],
        *,
        animals: Sequence[str] = ("animal0",),
        videos: Iterable[str | os.PathLike] = (),
        name: str | None = None,
        skeleton: Sequence[Sequence[str]] = (),
        flip_pairs: Sequence[Sequence[str]] = (),
        unique_parts: Sequence[str] = (),
        copy_videos: bool = False,
    ) -> Project:
        """Create a new project folder.

        Parameters
        ----------
        root
            The project folder; created if absent, and must not already hold a project.
        parts
            Names of the body parts to label, e.g. ``["snout", "left_ear", "tail_base"]``.
        animals
            Names of the animals (one for a single-animal study).
        videos
            Videos to add (see :meth:`add_videos`).
        skeleton, flip_pairs
            Pairs of parts joined in plots; left/right pairs swapped on horizontal flips.
        unique_parts
            Parts that belong to no animal (e.g. arena corners).
        copy_videos
            Copy the videos into ``videos/`` instead of referring to them by relative path.
        """
        root = Path(root)
        if (root / CONFIG_NAME).exists():
            raise ProjectError(f"{root} already holds a project: open it with Project.open({str(root)!r})")
        config = ProjectConfig(
            name=name or root.resolve().name,
            parts=list(parts),
            animals=list(animals),
            unique_parts=list(unique_parts),
            skeleton=[list(p) for p in skeleton],
            flip_pairs=[list(p) for p in flip_pairs],
        ).validate(source="Project.create")
        root.mkdir(parents=True, exist_ok=True)
        project = cls(root, config)
        project._save_config()
        if videos:
            project.add_videos(videos, copy=copy_videos)
        return project

    @classmethod
    def open(cls, root: str | os.PathLike) -> Project:
        """Open an existing project folder (its config is validated)."""
        root = Path(root)
        if not (root / CONFIG_NAME).exists():
            hint = " (a DeepLabCut project: use Project.from_deeplabcut)" if (root / "config.yaml").exists() else ""
            raise FileNotFoundError(f"{root} is not a poselab project: no {CONFIG_NAME}{hint}")
        return cls(root, ProjectConfig.load(root / CONFIG_NAME))

    @classmethod
    def from_deeplabcut(
        cls, dlc_project: str | os.PathLike, root: str | os.PathLike, *, copy_videos: bool = False
    ) -> Project:
        """Import a DeepLabCut project: parts, animals, skeleton, labeled frames and labels.

        The labeled frames (``labeled-data/<video>/*.png``) are copied to ``frames/<video>/``
        and every ``CollectedData_*.h5`` (or ``.csv``) label is written to the label store,
        unchanged. Videos found in the DeepLabCut project's ``videos/`` folder are added.
        The DeepLabCut project is only read, never modified.
        """
        from poselab.io import read_deeplabcut

        dlc = Path(dlc_project)
        config_path = dlc / "config.yaml"
        if not config_path.exists():
            raise FileNotFoundError(f"{dlc} is not a DeepLabCut project: no config.yaml in it")
        try:
            dlc_config = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as error:
            raise ConfigError(f"{config_path} is not valid YAML: {error}") from error
        multi = bool(dlc_config.get("multianimalproject"))
        if multi:
            parts = list(dlc_config.get("multianimalbodyparts") or [])
            animals = list(dlc_config.get("individuals") or [])
            unique = list(dlc_config.get("uniquebodyparts") or [])
        else:
            parts = list(dlc_config.get("bodyparts") or [])
            animals, unique = ["animal0"], []
        if not parts:
            raise ConfigError(f"{config_path}: no body parts listed ('bodyparts' or 'multianimalbodyparts')")
        skeleton = [list(p) for p in (dlc_config.get("skeleton") or []) if len(p) == 2]
        project = cls.create(
            root,
            parts + unique,
            animals=animals + (["single"] if unique else []),
            name=str(dlc_config.get("Task") or dlc.name),
            skeleton=skeleton,
        )
        videos = sorted(p for p in (dlc / "videos").glob("*") if p.suffix.lower() in _VIDEO_SUFFIXES)
        # DeepLabCut writes predictions next to the videos (e.g. *_labeled.mp4); keep raw videos only.
        videos = [v for v in videos if not v.stem.endswith(("_labeled", "_full", "_id_labeled"))]
        if videos:
            project.add_videos(videos, copy=copy_videos)
        for folder in sorted(p for p in (dlc / "labeled-data").glob("*") if p.is_dir()):
            label_files = sorted(folder.glob("CollectedData_*.h5")) or sorted(folder.glob("CollectedData_*.csv"))
            if not label_files:
                continue  # e.g. the *_labeled folders of plotted frames
            ds = read_deeplabcut(label_files[0])
            project._import_label_dataset(ds, source_root=dlc, video_stem=folder.name)
        return project

    # --- configuration --------------------------------------------------------------------------

    @property
    def parts(self) -> list[str]:
        return list(self.config.parts)

    @property
    def animals(self) -> list[str]:
        return list(self.config.animals)

    @property
    def videos(self) -> list[str]:
        """Video paths relative to the project folder."""
        return [v.path for v in self.config.videos]

    def path(self, relative: str | os.PathLike) -> Path:
        """The absolute path of a project-relative path."""
        return (self.root / Path(relative)).resolve()

    def relative(self, path: str | os.PathLike) -> str:
        """A path relative to the project folder, with forward slashes (portable)."""
        return PurePosixPath(Path(os.path.relpath(Path(path).resolve(), self.root))).as_posix()

    def _save_config(self) -> None:
        self.config.save(self.root / CONFIG_NAME)

    # --- videos ---------------------------------------------------------------------------------

    def add_videos(self, videos: Iterable[str | os.PathLike], *, copy: bool = False) -> list[str]:
        """Add videos to the project; returns their project-relative paths.

        Each video is opened first (a missing or unreadable file is refused with the reason).
        With ``copy=True`` the file is copied into ``videos/``; otherwise the project refers to
        it by a relative path, which stays valid when the project and the videos move together.
        """
        from poselab.io.video import open_video

        added = []
        for video in videos:
            source = Path(video)
            with open_video(source):
                pass  # raises VideoError with the reason if the file is missing or unreadable
            if copy:
                target = self.root / VIDEOS_DIR / source.name
                target.parent.mkdir(exist_ok=True)
                if not target.exists():
                    _copy_atomic(source, target)
                source = target
            relative = self.relative(source)
            if relative not in self.videos:
                self.config.videos.append(VideoEntry(path=relative))
            added.append(relative)
        self._save_config()
        return added

    # --- frames to label ------------------------------------------------------------------------

    def select_frames(
        self,
        video: str | None = None,
        n: int = 20,
        *,
        method: str = "kmeans",
        seed: int = 0,
    ) -> list[str]:
        """Choose frames of a video to label, extract them as PNG and register them.

        Frames already chosen for that video are excluded, so calling this again adds new,
        different frames.

        Parameters
        ----------
        video
            Project-relative video path (default: the only video of the project).
        n
            Number of frames to add.
        method
            ``"kmeans"`` (distinct-looking frames, from k-means on downsampled frames) or
            ``"uniform"`` (evenly spaced in time).
        seed
            Seed of the k-means initialisation.

        Returns
        -------
        list of str
            The new images' project-relative paths (``frames/<video>/img<frame>.png``).
        """
        from poselab.io.video import open_video
        from poselab.project import frames as frame_selection

        video = self._one_video(video)
        exclude = sorted(self.labels.labeled_frames(video))
        with open_video(self.path(video)) as reader:
            if method == "kmeans":
                chosen = frame_selection.select_kmeans(reader, n, exclude=exclude, seed=seed)
            elif method == "uniform":
                chosen = frame_selection.select_uniform(len(reader), n, exclude=exclude)
            else:
                raise ProjectError(f"unknown frame selection method {method!r}: use 'kmeans' or 'uniform'")
            out_dir = self.root / FRAMES_DIR / Path(video).stem
            paths = frame_selection.extract_frames(reader, chosen, out_dir)
            width, height = reader.info.width, reader.info.height
        records = [
            ImageRecord(self.relative(p), video=video, frame=int(f), width=width, height=height)
            for p, f in zip(paths, chosen)
        ]
        self.labels.add_images(records)
        return [r.image for r in records]

    def _one_video(self, video: str | None) -> str:
        if video is None:
            if len(self.videos) != 1:
                raise ProjectError(f"say which video: one of {self.videos}" if self.videos else
                                   "the project has no videos: add one with project.add_videos([...])")
            return self.videos[0]
        video = str(video)
        if video not in self.videos:
            relative = self.relative(video) if Path(video).exists() else video
            if relative not in self.videos:
                raise ProjectError(f"{video!r} is not a video of this project: {self.videos}")
            video = relative
        return video

    # --- labels ---------------------------------------------------------------------------------

    @property
    def labels(self) -> LabelStore:
        """The project's label store (SQLite; every edit is saved at once)."""
        if self._labels is None:
            self._labels = LabelStore(
                self.root / LABELS_NAME, self.parts + list(self.config.unique_parts), self.animals
            )
        return self._labels

    def labels_dataset(self, *, include_occluded: bool = False) -> xr.Dataset:
        """The labels as a pose Dataset, one ``frame`` per labeled image (coord ``image``)."""
        ds = self.labels.to_dataset(include_occluded=include_occluded)
        ds.attrs["dlc_unique_parts"] = json.dumps(list(self.config.unique_parts))
        return ds

    def export_deeplabcut(self, path: str | os.PathLike, *, scorer: str = "poselab") -> Path:
        """Write the labels as a DeepLabCut ``CollectedData`` file (.h5 or .csv).

        Image paths are written as DeepLabCut expects them, ``labeled-data/<video>/<image>``.
        """
        from poselab.io import write_deeplabcut

        ds = self.labels_dataset()
        names = [f"labeled-data/{PurePosixPath(p).parent.name}/{PurePosixPath(p).name}" for p in ds["image"].values]
        ds = ds.assign_coords(image=("frame", names))
        return write_deeplabcut(ds, path, scorer=scorer, kind="labels")

    def import_deeplabcut_labels(self, path: str | os.PathLike, *, video_stem: str | None = None) -> int:
        """Merge a DeepLabCut ``CollectedData`` file (its images next to it) into the labels.

        Returns the number of points written.
        """
        from poselab.io import read_deeplabcut

        path = Path(path)
        ds = read_deeplabcut(path)
        # A CollectedData file sits in labeled-data/<video>/, two levels below its project root.
        return self._import_label_dataset(ds, source_root=path.parent.parent.parent,
                                          video_stem=video_stem or path.parent.name)

    def _import_label_dataset(self, ds: xr.Dataset, *, source_root: Path, video_stem: str) -> int:
        import cv2

        records = []
        video = next((v for v in self.videos if Path(v).stem == video_stem), "")
        for name in ds["image"].values.tolist():
            source = source_root / name
            if not source.exists():
                raise FileNotFoundError(f"labeled image {name!r} not found at {source}")
            target = self.root / FRAMES_DIR / video_stem / Path(name).name
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists():
                _copy_atomic(source, target)
            image = cv2.imread(str(target), cv2.IMREAD_UNCHANGED)
            if image is None:
                raise ProjectError(f"{source} is not a readable image")
            records.append(ImageRecord(self.relative(target), video=video, frame=_frame_number(name),
                                       width=int(image.shape[1]), height=int(image.shape[0])))
        ds = ds.assign_coords(image=("frame", [r.image for r in records]))
        return self.labels.import_dataset(ds, images=records)

    # --- results --------------------------------------------------------------------------------

    @property
    def models_dir(self) -> Path:
        return self.root / MODELS_DIR

    @property
    def poses_dir(self) -> Path:
        return self.root / POSES_DIR

    def close(self) -> None:
        """Close the label store (everything is already on disk)."""
        if self._labels is not None:
            self._labels.close()
            self._labels = None

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        n_images = len(self.labels.images())
        return (
            f"<poselab.Project {self.config.name!r} at {self.root}: {len(self.parts)} parts, "
            f"{len(self.animals)} animal(s), {len(self.videos)} video(s), {n_images} frames to label>"
        )

    # --- notebook widgets and active learning (thin wrappers) -----------------------------------

    def label(self, **kwargs):
        """The labeling widget over this project's images (see ``poselab.widgets.label``)."""
        from poselab.widgets import label

        return label(self, **kwargs)

    def train_widget(self, **kwargs):
        """The training widget (see ``poselab.widgets.training.TrainingWidget``)."""
        from poselab.widgets import train_widget

        return train_widget(self, **kwargs)

    def review(self, poses: xr.Dataset, video: str | None = None, **kwargs):
        """The review widget for predictions of a project video (default: the only video); see
        ``poselab.widgets.review.ReviewWidget``."""
        from poselab.widgets import review_widget

        name = self._one_video(video)
        return review_widget(poses, self.path(name), self, video_name=name, **kwargs)

    def extract_outliers(self, poses: xr.Dataset, n: int = 20, *, video: str | None = None, **kwargs) -> list[str]:
        """Add the ``n`` worst-predicted frames of a video to the label store, predictions as
        initial points (see ``poselab.analysis.outliers.extract_outliers``); returns the new images."""
        from poselab.analysis.outliers import extract_outliers

        return extract_outliers(self, poses, n, video=video, **kwargs)


_VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".mpg", ".mpeg", ".m4v", ".wmv"}


def _copy_atomic(source: Path, target: Path) -> None:
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    shutil.copyfile(source, tmp)
    os.replace(tmp, target)


def _frame_number(image_name: str) -> int:
    """The frame index in a DeepLabCut image name such as ``img0042.png`` (-1 if none)."""
    digits = "".join(ch for ch in PurePosixPath(image_name).stem if ch.isdigit())
    return int(digits) if digits else -1

