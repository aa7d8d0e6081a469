"""The zoo's registry: pose models with their cards, found offline first, checksummed always.

A :class:`ZooCard` says what a model is for (species, camera view, keypoints with what each
marks, training data, licence, measured accuracy, input size). The cards of the models poselab
ships are in ``poselab/zoo/models.json``, their files in ``poselab/zoo/weights/``. A model is
looked for, in order, in the package, in the zoo cache (``$POSELAB_ZOO_CACHE`` or
``~/.cache/poselab/zoo``) and, when its card has a ``url`` and the machine is online, downloaded
into the cache. Every file is checked against its card's SHA-256 before it is loaded, and only
``.safetensors`` files are loaded: a model file holds numbers, never code to run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import tempfile
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from poselab.core.errors import PoselabError
from poselab.model import PoseModel, load_model

__all__ = ["ZooCard", "ZooError", "cache_dir", "card", "list_models", "load", "locate", "register",
           "sha256_of"]

_PACKAGE = Path(__file__).resolve().parent
_CATALOGUE = _PACKAGE / "models.json"
_SHIPPED = _PACKAGE / "weights"


class ZooError(PoselabError, ValueError):
    """A zoo model that is unknown, missing, damaged or not a poselab model file."""


@dataclass(frozen=True)
class ZooCard:
    """What a zoo model is, what it was trained on and how well it does.

    Attributes
    ----------
    name : str
        The name :func:`load` takes.
    file : str
        The model file's name (a ``.safetensors`` file written by poselab).
    sha256 : str
        The file's SHA-256 (hex); a file that differs is refused.
    species, view : str
        The animal and the camera view (``"top"``, ``"side"``...).
    keypoints : dict
        Keypoint name -> what it marks on the animal, in the model's output order.
    training_data, licence : str
        What the model learned from; the licence of the weights.
    input_size : tuple of int
        ``(height, width)`` of the training crops, pixels; whole frames of any size work.
    accuracy : dict
        Measured figures (pixels, fractions), each with where it was measured.
    aliases : dict
        Other keypoint vocabularies: table name -> {model keypoint: name there}
        (DeepLabCut's openfield names, SuperAnimal-TopViewMouse's...).
    url : str
        Where to download the file when it is not on this machine ("" for none).
    """

    name: str
    file: str
    sha256: str
    species: str
    view: str
    keypoints: dict[str, str]
    training_data: str
    licence: str
    input_size: tuple[int, int]
    accuracy: dict[str, Any] = field(default_factory=dict)
    aliases: dict[str, dict[str, str]] = field(default_factory=dict)
    url: str = ""

    @classmethod
    def from_dict(cls, entry: dict[str, Any]) -> ZooCard:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(entry) - names)
        missing = sorted(f.name for f in dataclasses.fields(cls)
                         if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
                         and f.name not in entry)
        if unknown or missing:
            raise ZooError(f"zoo card {entry.get('name', '?')!r}: unknown fields {unknown}, "
                           f"missing fields {missing}")
        entry = dict(entry)
        entry["input_size"] = tuple(int(v) for v in entry["input_size"])
        return cls(**entry)

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["input_size"] = list(self.input_size)
        return out

    @property
    def parts(self) -> list[str]:
        """The keypoint names, in the model's output order."""
        return list(self.keypoints)


_REGISTERED: dict[str, tuple[ZooCard, Path | None]] = {}


def _catalogue() -> dict[str, ZooCard]:
    entries = json.loads(_CATALOGUE.read_text()) if _CATALOGUE.is_file() else []
    return {e["name"]: ZooCard.from_dict(e) for e in entries}


def list_models() -> list[ZooCard]:
    """The cards of every model poselab knows: those it ships, then those :func:`register` added."""
    shipped = _catalogue()
    shipped.update({name: c for name, (c, _) in _REGISTERED.items()})
    return list(shipped.values())


def card(name: str) -> ZooCard:
    """The card of the model called ``name``.

    Raises
    ------
    ZooError
        When no model has that name (the message lists those that exist).
    """
    cards = {c.name: c for c in list_models()}
    if name not in cards:
        raise ZooError(f"no zoo model called {name!r}; the zoo has {sorted(cards)} "
                       "(poselab.zoo.list_models())")
    return cards[name]


def register(zoo_card: ZooCard, path: str | os.PathLike | None = None) -> ZooCard:
    """Add a model to this session's zoo (a lab's own model, shared as a file or a URL).

    ``path``: the model file on this machine (else it is looked for in the cache, then
    downloaded from ``zoo_card.url``). The file must match ``zoo_card.sha256``.
    """
    if not isinstance(zoo_card, ZooCard):
        zoo_card = ZooCard.from_dict(dict(zoo_card))
    _REGISTERED[zoo_card.name] = (zoo_card, Path(path) if path is not None else None)
    return zoo_card


def cache_dir() -> Path:
    """Where downloaded zoo models are kept (``$POSELAB_ZOO_CACHE``, else ``~/.cache/poselab/zoo``)."""
    return Path(os.environ.get("POSELAB_ZOO_CACHE") or Path.home() / ".cache" / "poselab" / "zoo")


def sha256_of(path: str | os.PathLike) -> str:
    """SHA-256 (hex) of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _verified(path: Path, zoo_card: ZooCard) -> Path:
    found = sha256_of(path)
    if found != zoo_card.sha256:
        raise ZooError(
            f"{path} does not match the zoo card of {zoo_card.name!r} (SHA-256 {found[:12]}..., "
            f"expected {zoo_card.sha256[:12]}...): the file is damaged or not the published "
            f"model. Delete it and load {zoo_card.name!r} again."
        )
    return path


def _download(url: str, target: Path, zoo_card: ZooCard) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=target.parent, delete=False, suffix=".part") as tmp:
        partial = Path(tmp.name)
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                shutil.copyfileobj(response, tmp)
        except (OSError, ValueError) as error:
            partial.unlink(missing_ok=True)
            raise ZooError(f"could not download {zoo_card.name!r} from {url}: {error}. Put the "
                           f"file {zoo_card.file} in {target.parent} to use it offline.") from error
    try:
        _verified(partial, zoo_card)
    except ZooError:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(target)  # only a checked file ever gets the model's name
    return target


def locate(name: str) -> Path:
    """The checked file of the zoo model ``name``: shipped, cached, or downloaded into the cache.

    Raises
    ------
    ZooError
        When the file is nowhere on this machine and cannot be downloaded, or does not match
        its card's checksum.
    """
    zoo_card = card(name)
    registered = _REGISTERED.get(name, (None, None))[1]
    for candidate in (registered, _SHIPPED / zoo_card.file, cache_dir() / zoo_card.file):
        if candidate is not None and candidate.is_file():
            return _verified(candidate, zoo_card)
    if zoo_card.url:
        return _download(zoo_card.url, cache_dir() / zoo_card.file, zoo_card)
    raise ZooError(f"the file of zoo model {name!r} ({zoo_card.file}) is not on this machine "
                   f"and its card has no URL: put the file in {cache_dir()}")


def load(name: str, *, device: str | None = None) -> PoseModel:
    """Load the zoo model ``name``, checked against its card.

    The returned model's card carries ``card["zoo"]`` (name, SHA-256 and the zoo card), which a
    model fine-tuned from it keeps as ``init_from``. Use it as any model:
    ``poselab.analyze_video(zoo.load("topview_mouse"), "video.mp4")``; map its keypoints onto a
    project's with :func:`poselab.zoo.with_parts`.
    """
    zoo_card = card(name)
    path = locate(name)
    if path.suffix.lower() != ".safetensors":
        raise ZooError(f"{path}: zoo models are .safetensors files (numbers only); refusing to "
                       "load another format, which could run code")
    model = load_model(path, device=device)
    model.card["zoo"] = {**model.card.get("zoo", {}), "name": name, "sha256": zoo_card.sha256,
                         "card": zoo_card.to_dict()}
    return model
