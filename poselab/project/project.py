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

The project is also where predictions meet labels: :meth:`Project.add_frames` extracts and
registers frames of a video (what :meth:`Project.select_frames` does with the frames it
chooses), and :meth:`Project.write_predictions` merges a model's predictions of given frames
into the label store, never replacing a point a person placed unless asked. Both
:meth:`Project.extract_outliers` (active learning) and the review widget's "send" use them.

Example
-------
>>> project = Project.create("my-study", parts=["snout", "tail_base"], videos=["mouse.mp4"])
>>> images = project.select_frames(n=20)          # k-means on downsampled frames
>>> project.labels.set_point(images[0], "snout", 120.5, 80.0)
>>> labels = project.labels_dataset()              # the labels Dataset, one row per image
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import xarray as xr
import yaml

from poselab.analysis.outliers import outlier_scores, pick_outlier_frames
from poselab.core.errors import PoselabError
from poselab.core.files import copy_atomic
from poselab.core.validate import position_array
from poselab.io import read_deeplabcut, write_deeplabcut
from poselab.io.render import labeled_video
from poselab.io.video import open_video
from poselab.project import frames as frame_selection
from poselab.project.config import CONFIG_NAME, ConfigError, ProjectConfig, VideoEntry
from poselab.project.labels import ImageRecord, LabelStore
from poselab.project.predictions import points_to_write, predicted_points

if TYPE_CHECKING:  # the widgets import ipywidgets: only when a widget is made
    from poselab.widgets.labeling import LabelingWidget
    from poselab.widgets.review import ReviewWidget
    from poselab.widgets.training import TrainingWidget

LABELS_NAME = "labels.sqlite"
FRAMES_DIR = "frames"
VIDEOS_DIR = "videos"
MODELS_DIR = "models"
POSES_DIR = "poses"

__all__ = ["Project", "ProjectError"]


class ProjectError(PoselabError, ValueError):
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
            Pairs of part names: joined by lines in the widgets and labeled videos; left/right
            pairs swapped on horizontal flips in training.
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
        """Open an existing project folder (its config is validated).

        Parameters
        ----------
        root
            The project folder (holding ``poselab.yaml``).
        """
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

        Parameters
        ----------
        dlc_project
            The DeepLabCut project folder (holding ``config.yaml``).
        root
            The new poselab project folder.
        copy_videos
            Copy the videos into ``videos/`` instead of referring to them by relative path.
        """
        dlc = Path(dlc_project)
        config_path = dlc / "config.yaml"
        if not config_path.exists():
            label_files = sorted(dlc.glob("CollectedData*.csv")) or sorted(dlc.glob("CollectedData*.h5"))
            if label_files:  # Lightning Pose: the label file at the top, no config.yaml
                return cls._from_label_file(label_files[0], root, copy_videos=copy_videos)
            raise FileNotFoundError(
                f"{dlc} is not a DeepLabCut project: no config.yaml in it (nor, as Lightning Pose "
                "keeps it, a CollectedData.csv)")
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

    @classmethod
    def _from_label_file(cls, label_file: Path, root: str | os.PathLike, *, copy_videos: bool) -> Project:
        """A project from a label file at the top of a folder (Lightning Pose's layout: image
        paths relative to that folder, videos in its ``videos/``); parts and animals from the file."""
        folder = label_file.parent
        ds = read_deeplabcut(label_file)
        if "image" not in ds.dims:
            raise ProjectError(f"{label_file}: its rows are video frames, not labeled images")
        project = cls.create(root, [str(p) for p in ds["part"].values],
                             animals=[str(a) for a in ds["animal"].values], name=folder.name)
        videos = sorted(p for p in (folder / "videos").glob("*") if p.suffix.lower() in _VIDEO_SUFFIXES)
        if videos:
            project.add_videos(videos, copy=copy_videos)
        project._import_label_dataset(ds, source_root=folder, video_stem="labeled-data")
        return project

    # --- configuration --------------------------------------------------------------------------

    @property
    def parts(self) -> list[str]:
        """Names of the body parts to label."""
        return list(self.config.parts)

    @property
    def animals(self) -> list[str]:
        """Names of the animals."""
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
        added = []
        for video in videos:
            source = Path(video)
            with open_video(source):
                pass  # raises VideoError with the reason if the file is missing or unreadable
            if copy:
                target = self.root / VIDEOS_DIR / source.name
                target.parent.mkdir(exist_ok=True)
                if not target.exists():
                    copy_atomic(source, target)
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
            ``"kmeans"`` (distinct-looking frames, from k-means on downsampled frames),
            ``"uniform"`` (evenly spaced in time), or ``"kmeans+uniform"`` (half of each: k-means
            alone favours locomotion, since a walking animal looks different in each place,
            and gives few frames of postures held in one place such as grooming).
        seed
            Seed of the k-means initialisation.

        Returns
        -------
        list of str
            The new images' project-relative paths (``frames/<video>/img<frame>.png``).
        """
        video = self.video_name(video)
        exclude = sorted(self.labels.labeled_frames(video))
        with open_video(self.path(video)) as reader:
            if method == "kmeans":
                chosen = frame_selection.select_kmeans(reader, n, exclude=exclude, seed=seed)
            elif method == "uniform":
                chosen = frame_selection.select_uniform(len(reader), n, exclude=exclude)
            elif method == "kmeans+uniform":
                chosen = frame_selection.select_kmeans_uniform(reader, n, exclude=exclude, seed=seed)
            else:
                raise ProjectError(f"unknown frame selection method {method!r}: use 'kmeans', 'uniform' or "
                                   "'kmeans+uniform'")
        return self.add_frames(chosen, video=video)

    def add_frames(self, frames: Iterable[int], *, video: str | None = None) -> list[str]:
        """Extract frames of a project video as PNG and register them for labeling.

        The one way frames enter the label store from a video: :meth:`select_frames`,
        :meth:`extract_outliers` and :meth:`write_predictions` all come here.

        Parameters
        ----------
        frames
            Video frame indices (0-based).
        video
            Project-relative video path (default: the only video of the project).

        Returns
        -------
        list of str
            The images' project-relative paths (``frames/<video stem>/img<frame>.png``), one
            per entry of ``frames``, in that order. Frames already registered keep their image
            (the file is not written again).
        """
        video = self.video_name(video)
        frames = [int(f) for f in frames]
        registered = {r.frame: r.image for r in self.labels.images(video=video)}
        new = [f for f in dict.fromkeys(frames) if f not in registered]
        if new:
            with open_video(self.path(video)) as reader:
                paths = frame_selection.extract_frames(reader, new, self.root / FRAMES_DIR / Path(video).stem)
                width, height = reader.info.width, reader.info.height
            records = [ImageRecord(self.relative(p), video=video, frame=f, width=width, height=height)
                       for p, f in zip(paths, new)]
            self.labels.add_images(records)
            registered.update((r.frame, r.image) for r in records)
        return [registered[f] for f in frames]

    def video_name(self, video: str | os.PathLike | None = None) -> str:
        """The project-relative path of one of the project's videos.

        Parameters
        ----------
        video
            A project-relative video path as listed in :attr:`videos`, or the path of such a
            video file; None: the project's only video.

        Raises
        ------
        ProjectError
            The video is not one of the project's (or, with None, the project has not exactly
            one video).
        """
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
        """The labels as a labels Dataset: one row along ``image`` per labeled image.

        See :meth:`LabelStore.to_dataset` (``image`` index: project-relative paths; ``video``
        and ``video_frame`` along it; positions in pixels).
        """
        ds = self.labels.to_dataset(include_occluded=include_occluded)
        ds.attrs["dlc_unique_parts"] = json.dumps(list(self.config.unique_parts))
        return ds

    def export_deeplabcut(self, path: str | os.PathLike, *, scorer: str = "poselab") -> Path:
        """Write the labels as a DeepLabCut ``CollectedData`` file (.h5 or .csv).

        Image paths are written as DeepLabCut expects them, ``labeled-data/<video>/<image>``.

        Parameters
        ----------
        path
            The ``.h5`` or ``.csv`` file to write (atomically).
        scorer
            DeepLabCut's scorer name (the file is usually ``CollectedData_<scorer>``).
        """
        ds = self.labels_dataset()
        names = [f"labeled-data/{PurePosixPath(p).parent.name}/{PurePosixPath(p).name}" for p in ds["image"].values]
        ds = ds.assign_coords(image=names)
        return write_deeplabcut(ds, path, scorer=scorer, kind="labels")

    def import_deeplabcut_labels(self, path: str | os.PathLike, *, video_stem: str | None = None) -> int:
        """Merge a DeepLabCut ``CollectedData`` file (its images next to it) into the labels.

        Parameters
        ----------
        path
            The ``CollectedData_<scorer>.h5`` (or ``.csv``) in ``labeled-data/<video>/``.
        video_stem
            The video the images come from (default: the file's folder name).

        Returns
        -------
        int
            The number of points written.
        """
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
                copy_atomic(source, target)
            image = cv2.imread(str(target), cv2.IMREAD_UNCHANGED)
            if image is None:
                raise ProjectError(f"{source} is not a readable image")
            records.append(ImageRecord(self.relative(target), video=video, frame=_frame_number(name),
                                       width=int(image.shape[1]), height=int(image.shape[0])))
        ds = ds.assign_coords(image=[r.image for r in records])
        return self.labels.import_dataset(ds, images=records)

    # --- results --------------------------------------------------------------------------------

    @property
    def models_dir(self) -> Path:
        """Where trained models go (``models/``)."""
        return self.root / MODELS_DIR

    @property
    def poses_dir(self) -> Path:
        """Where analysis results go (``poses/``)."""
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

    # --- predictions into the label store (active learning) --------------------------------------

    def write_predictions(
        self,
        poses: xr.Dataset,
        frames: Iterable[int],
        *,
        video: str | None = None,
        min_likelihood: float = 0.0,
        corrected: Mapping[int, Collection[tuple[str, str]]] | None = None,
        overwrite_labels: bool = False,
    ) -> list[str]:
        """Write the predicted points of frames of a video into the label store.

        Frames not registered yet are extracted and registered first (:meth:`add_frames`).
        On each image, predictions only fill parts not labeled yet; corrected points (placed by
        a person, e.g. dragged in the review widget) are stored as a person's labels and
        replace a stored prediction. A point a person placed is never replaced unless
        ``overwrite_labels`` (see :func:`poselab.project.predictions.points_to_write`).

        Parameters
        ----------
        poses
            Predictions of ``video`` (a pose Dataset, ``frame`` = video frame index; positions
            in pixels). Animals and parts the project does not have are ignored.
        frames
            Video frame numbers to write.
        video
            Project-relative video path (default: the only video of the project).
        min_likelihood
            Uncorrected predictions with a likelihood (0-1) below this are not written (left for
            the user to place).
        corrected
            ``{frame: {(animal, part), ...}}``: points a person corrected.
        overwrite_labels
            Let corrected points replace points a person placed before.

        Returns
        -------
        list of str
            The images' project-relative paths, one per frame, in the order of ``frames``.
        """
        position_array(poses, func="Project.write_predictions", dims=("animal", "part", "frame", "coord"),
                       error=ProjectError)
        video = self.video_name(video)
        frames = [int(f) for f in dict.fromkeys(int(f) for f in frames)]
        missing = sorted(set(frames) - {int(f) for f in poses["frame"].values})
        if missing:
            raise ProjectError(f"frames {missing[:5]} are not in the predictions")
        images = self.add_frames(frames, video=video)
        store = self.labels
        records = {r.image: r for r in store.images(video=video)}
        animals = [a for a in poses["animal"].values.tolist() if a in store.animals]
        parts = [p for p in poses["part"].values.tolist() if p in store.parts]
        for frame, image in zip(frames, images):
            record = records[image]
            fixed = set((corrected or {}).get(frame, ()))
            size = dict(animals=animals, parts=parts, width=record.width, height=record.height)
            sure = predicted_points(poses, frame, min_likelihood=min_likelihood, **size)
            every = predicted_points(poses, frame, **size) if fixed else {}
            sure.update((k, v) for k, v in every.items() if k in fixed)  # corrections: any likelihood
            human, predicted = points_to_write(sure, store.point_sources(image), corrected=fixed,
                                               overwrite_labels=overwrite_labels)
            if human:
                store.set_points(image, human, source="human")
            if predicted:
                store.set_points(image, predicted, source="predicted")
        return images

    def extract_outliers(
        self,
        poses: xr.Dataset,
        n: int = 20,
        *,
        frames: Sequence[int] | None = None,
        video: str | None = None,
        min_gap: int = 10,
        threshold: float | None = 1.0,
        min_likelihood: float = 0.0,
        scores: xr.Dataset | None = None,
        **score_kwargs: Any,
    ) -> list[str]:
        """Add the ``n`` worst-predicted frames of a video to the label store, predictions as
        initial points (the loop: extract, refine, merge, retrain).

        The frames are scored and picked by :func:`poselab.analysis.outliers.outlier_scores`
        and :func:`~poselab.analysis.outliers.pick_outlier_frames`, then extracted and written
        with :meth:`write_predictions` (the user then only moves the wrong points, in the
        labeling or review widget). Frames already registered for labeling are never picked,
        and no stored label is replaced.

        Parameters
        ----------
        poses
            The predictions for ``video`` (``frame`` = video frame index; pixels).
        n
            Number of frames to add (fewer when fewer frames are flagged).
        frames
            Take these frame numbers instead of scoring (registered ones are skipped).
        video
            The project video that ``poses`` analyzed (default: the project's only video).
        min_gap
            Minimum distance between picked frames, in frames.
        threshold
            Only frames whose dimensionless score is at least this (None: the ``n`` worst).
        min_likelihood
            Predicted points below this likelihood (0-1) are not written.
        scores
            Precomputed :func:`~poselab.analysis.outliers.outlier_scores` (default: computed
            here with ``score_kwargs``, e.g. ``fitting=False``, ``epsilon`` in pixels).

        Returns
        -------
        list of str
            The new images' project-relative paths, in frame order (or the order of ``frames``).
        """
        video = self.video_name(video)
        taken = self.labels.labeled_frames(video)
        if frames is None:
            if scores is None:
                scores = outlier_scores(poses, **score_kwargs)
            frames = pick_outlier_frames(scores["score"], n, min_gap=min_gap, threshold=threshold, exclude=taken)
        frames = [int(f) for f in frames if int(f) not in taken]
        if not frames:
            return []
        return self.write_predictions(poses, frames, video=video, min_likelihood=min_likelihood)

    # --- notebook widgets and labeled videos ----------------------------------------------------

    def label(self, **kwargs: Any) -> LabelingWidget:
        """The labeling widget over this project's images, drawing the project's skeleton
        (see ``poselab.widgets.labeling.LabelingWidget`` for the settings)."""
        from poselab.widgets import label

        return label(self, **kwargs)

    def train_widget(self, **kwargs: Any) -> TrainingWidget:
        """The training widget (see ``poselab.widgets.training.TrainingWidget``)."""
        from poselab.widgets import train_widget

        return train_widget(self, **kwargs)

    def review(self, poses: xr.Dataset, video: str | None = None, **kwargs: Any) -> ReviewWidget:
        """The review widget for predictions of a project video (default: the only video).

        It draws the project's skeleton and takes the project's ``likelihood_threshold`` as its
        cut-off unless told otherwise (``skeleton=``, ``p_cutoff=``); see
        ``poselab.widgets.review.ReviewWidget`` for the other settings.
        """
        from poselab.widgets import review_widget

        name = self.video_name(video)
        return review_widget(poses, self.path(name), self, video_name=name, **kwargs)

    def labeled_video(
        self,
        poses: xr.Dataset,
        video: str | None = None,
        out: str | os.PathLike | None = None,
        *,
        skeleton: Sequence[Sequence[str]] | None = None,
        likelihood_threshold: float | None = None,
        **kwargs: Any,
    ) -> Path:
        """Draw predictions over a project video, with the project's skeleton.

        Parameters
        ----------
        poses
            Predictions of ``video`` (a pose Dataset, ``frame`` = video frame index; pixels).
        video
            Project-relative video path (default: the project's only video).
        out
            The mp4 to write (default: ``poses/<video stem>_labeled.mp4`` in the project).
        skeleton
            Pairs of part names joined by lines (default: the project's skeleton, limbs whose
            parts ``poses`` has).
        likelihood_threshold
            Points below this likelihood (0-1) are not drawn (default: the project's).
        **kwargs
            Passed to :func:`poselab.io.render.labeled_video` (``trail_frames``, ``radius``
            in pixels, ``progress``).

        Returns
        -------
        pathlib.Path
            The written video.
        """
        name = self.video_name(video)
        out = self.poses_dir / f"{Path(name).stem}_labeled.mp4" if out is None else Path(out)
        if skeleton is None:
            skeleton = self.config.skeleton_of(poses["part"].values.tolist())
        if likelihood_threshold is None:
            likelihood_threshold = float(self.config.likelihood_threshold)
        return labeled_video(poses, self.path(name), out, skeleton=skeleton,
                             likelihood_threshold=likelihood_threshold, **kwargs)


_VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".mpg", ".mpeg", ".m4v", ".wmv"}


def _frame_number(image_name: str) -> int:
    """The frame index in a DeepLabCut image name such as ``img0042.png`` (-1 if none)."""
    digits = "".join(ch for ch in PurePosixPath(image_name).stem if ch.isdigit())
    return int(digits) if digits else -1

