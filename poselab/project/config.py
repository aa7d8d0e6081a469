"""The project configuration: a small, human-readable YAML file, validated with clear errors.

Every path in it is relative to the project folder, so a project moves between machines (a
laptop, a cluster, a JupyterHub home) unchanged.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from poselab._version import __version__
from poselab.core.errors import PoselabError
from poselab.core.files import write_text_atomic

CONFIG_NAME = "poselab.yaml"

__all__ = ["CONFIG_NAME", "ConfigError", "ProjectConfig", "VideoEntry"]


class ConfigError(PoselabError, ValueError):
    """The project configuration is invalid; the message lists every problem and its fix."""


@dataclass
class VideoEntry:
    """A video of the project."""

    path: str
    """Path relative to the project folder (POSIX separators)."""


@dataclass
class ProjectConfig:
    """What a project is about: its parts, animals, skeleton and videos.

    Attributes are plain Python values so that the YAML file stays readable and editable.
    """

    name: str
    parts: list[str]
    animals: list[str] = field(default_factory=lambda: ["animal0"])
    unique_parts: list[str] = field(default_factory=list)
    """Parts that belong to no animal (e.g. arena corners); labeled once per frame."""
    skeleton: list[list[str]] = field(default_factory=list)
    """Pairs of part names joined by lines in the labeling and review widgets and in the
    project's labeled videos (:meth:`~poselab.project.Project.labeled_video`)."""
    flip_pairs: list[list[str]] = field(default_factory=list)
    """Left/right pairs of part names, swapped when an image is flipped horizontally in training."""
    videos: list[VideoEntry] = field(default_factory=list)
    likelihood_threshold: float = 0.6
    """Likelihood (0-1) below which a prediction is not trusted: the review widget's default
    cut-off (fainter points, not sent to the label store) and the project's labeled videos'
    drawing threshold."""
    poselab_version: str = __version__

    # --- (de)serialisation ----------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The settings as plain Python values (what the YAML file holds)."""
        data = asdict(self)
        data["videos"] = [{"path": v.path} for v in self.videos]
        return data

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "config") -> ProjectConfig:
        """Build and validate a config from parsed YAML; every problem is reported at once."""
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: expected a mapping of settings, got {type(data).__name__}")
        known = {f for f in cls.__dataclass_fields__}
        problems = [
            f"unknown setting {key!r} (known settings: {', '.join(sorted(known))})"
            for key in data
            if key not in known
        ]
        for key in ("name", "parts"):
            if key not in data:
                problems.append(f"missing required setting {key!r}")
        if problems:
            raise ConfigError(f"{source}:\n  - " + "\n  - ".join(problems))
        videos = data.get("videos") or []
        if not isinstance(videos, list):
            raise ConfigError(f"{source}: 'videos' must be a list of {{path: ...}} entries")
        entries = []
        for item in videos:
            if isinstance(item, str):
                item = {"path": item}
            if not isinstance(item, dict) or "path" not in item:
                raise ConfigError(f"{source}: each video needs a 'path'; got {item!r}")
            entries.append(VideoEntry(path=str(item["path"])))
        kwargs = {k: v for k, v in data.items() if k != "videos"}
        for key in ("animals", "unique_parts", "skeleton", "flip_pairs"):
            if kwargs.get(key) is None:
                kwargs.pop(key, None)
        config = cls(videos=entries, **kwargs)
        config.validate(source=source)
        return config

    def validate(self, *, source: str = "config") -> ProjectConfig:
        """Check names, references and paths; raise :class:`ConfigError` listing every problem."""
        problems: list[str] = []
        if not isinstance(self.name, str) or not self.name.strip():
            problems.append("'name' must be a non-empty string")
        for key in ("parts", "animals", "unique_parts"):
            values = getattr(self, key)
            if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() for v in values):
                problems.append(f"{key!r} must be a list of non-empty names; got {values!r}")
                continue
            duplicates = sorted({v for v in values if values.count(v) > 1})
            if duplicates:
                problems.append(f"{key!r} has duplicates: {duplicates}")
        if isinstance(self.parts, list) and not self.parts:
            problems.append("'parts' must name at least one part, e.g. [snout, tailbase]")
        if isinstance(self.animals, list) and not self.animals:
            problems.append("'animals' must name at least one animal, e.g. [animal0]")
        all_parts = set(self.parts if isinstance(self.parts, list) else []) | set(
            self.unique_parts if isinstance(self.unique_parts, list) else []
        )
        overlap = set(self.parts or []) & set(self.unique_parts or [])
        if overlap:
            problems.append(f"parts {sorted(overlap)} are listed both in 'parts' and 'unique_parts'")
        for key in ("skeleton", "flip_pairs"):
            pairs = getattr(self, key)
            if not isinstance(pairs, list):
                problems.append(f"{key!r} must be a list of [part, part] pairs")
                continue
            for pair in pairs:
                if not (isinstance(pair, (list, tuple)) and len(pair) == 2):
                    problems.append(f"{key!r}: {pair!r} is not a pair [part, part]")
                    continue
                missing = [p for p in pair if p not in all_parts]
                if missing:
                    problems.append(f"{key!r}: {missing} in {list(pair)} are not parts of the project")
        try:
            threshold = float(self.likelihood_threshold)
            if not 0 <= threshold <= 1:
                raise ValueError
        except (TypeError, ValueError):
            problems.append(f"'likelihood_threshold' must be a number in [0, 1]; got {self.likelihood_threshold!r}")
        for video in self.videos:
            if os.path.isabs(video.path) or PurePosixPath(video.path).is_absolute():
                problems.append(
                    f"video path {video.path!r} is absolute: use a path relative to the project folder"
                )
        if problems:
            raise ConfigError(f"{source}:\n  - " + "\n  - ".join(problems))
        # plain str: names taken from a Dataset (numpy.str_) would not write to YAML
        self.name = str(self.name)
        self.parts, self.animals, self.unique_parts = (
            [str(v) for v in values] for values in (self.parts, self.animals, self.unique_parts))
        self.skeleton = [[str(a) for a in p] for p in self.skeleton]
        self.flip_pairs = [[str(a) for a in p] for p in self.flip_pairs]
        return self

    def skeleton_of(self, parts: Sequence[str]) -> list[list[str]]:
        """The skeleton's limbs whose two parts are both in ``parts`` (part names).

        Parameters
        ----------
        parts
            The parts at hand, e.g. those a model predicts or a label store holds.

        Returns
        -------
        list of [str, str]
            The limbs, in the order of :attr:`skeleton`.
        """
        have = {str(p) for p in parts}
        return [list(pair) for pair in self.skeleton if all(str(p) in have for p in pair)]

    def save(self, path: str | os.PathLike) -> None:
        """Write the YAML file atomically (a crash never leaves half a config)."""
        self.validate(source=str(path))
        text = "# poselab project: paths are relative to this folder\n" + yaml.safe_dump(
            self.to_dict(), sort_keys=False, default_flow_style=None
        )
        write_text_atomic(path, text)

    @classmethod
    def load(cls, path: str | os.PathLike) -> ProjectConfig:
        """Read and validate a YAML config (safe loader: no code runs)."""
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(
                f"no project config at {path}: create a project with poselab.Project.create(...)"
            )
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as error:
            raise ConfigError(f"{path} is not valid YAML: {error}") from error
        return cls.from_dict(data, source=str(path))
