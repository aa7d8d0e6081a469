"""The bottom-up multi-animal model: multi-peak scoremaps + part affinity fields.

A :class:`MultiAnimalModel` is a :class:`poselab.model.PoseModel` whose network is a
:class:`~poselab.multianimal.network.PafPoseNet` and whose card also holds the ``skeleton`` (the
limbs that have a field), the field width and the plausible limb lengths. It saves to one
``.safetensors`` file like every poselab model (:meth:`~poselab.model.PoseModel.save`) and
loads with :func:`load_multianimal_model` (no code unpickled). Training:
:mod:`poselab.multianimal.train`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from poselab.model.backbones import Pretrained, create_backbone
from poselab.model.network import PoseModel, _card, flip_pairs_from_names, read_card
from poselab.multianimal.assembly import AssemblyError, limb_indices
from poselab.multianimal.network import PafPoseNet

__all__ = ["MultiAnimalModel", "create_multianimal_model", "load_multianimal_model"]

FORMAT = "poselab-multianimal-model/1"


class MultiAnimalModel(PoseModel):
    """A PAF pose network and its card (``skeleton``, ``paf_width``, ``max_length``, ...).

    ``net(x)`` returns scoremap logits ``(B, P, h, w)``, offsets ``(B, P, 2, h, w)`` and fields
    ``(B, L, 2, h, w)``; :func:`poselab.multianimal.analyze_multianimal` turns videos into
    tracked poses.
    """

    net: PafPoseNet

    @property
    def skeleton(self) -> np.ndarray:
        """``(L, 2)`` part index pairs, one field per limb."""
        return np.asarray(self.card["skeleton"], dtype=np.int64).reshape(-1, 2)

    @property
    def max_length(self) -> np.ndarray | None:
        """Longest plausible length of each limb in image pixels, or None when unknown."""
        value = self.card.get("max_length")
        return None if value is None else np.asarray(value, float)

    def __repr__(self) -> str:
        c = self.card
        return (
            f"MultiAnimalModel({c['backbone']}, parts={c['parts']}, limbs={len(c['skeleton'])}, "
            f"stride={c['stride']}, scale={c['scale']}, input_size={c['input_size']})"
        )

    @torch.inference_mode()
    def maps(self, frames: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Score probabilities, offsets and fields of ``(B, H, W, 3)`` uint8 RGB frames.

        Frames are resized by the model's ``scale`` and zero-padded to a multiple of 32; the
        maps are in network pixels (see :meth:`to_image_pixels`).
        """
        from poselab.model.network import ALIGN

        was_training = self.net.training
        self.net.eval()
        try:
            stack = np.stack([self.resize(np.asarray(f)) for f in frames])
            x = torch.from_numpy(stack).to(self.device).permute(0, 3, 1, 2).float() / 255
            h, w = x.shape[-2:]
            x = self.normalize(x)
            x = F.pad(x, (0, -w % ALIGN, 0, -h % ALIGN))
            s, loc, paf = self.net(x)
        finally:
            self.net.train(was_training)
        return torch.sigmoid(s.float()), loc.float(), paf.float()


def create_multianimal_model(
    parts: Sequence[str],
    skeleton: np.ndarray | Sequence[Sequence[str | int]],
    backbone: str = "tf_efficientnet_lite0",
    *,
    stride: int = 8,
    pretrained: Pretrained = "offline",
    input_size: int | Sequence[int] | None = None,
    scale: float = 1.0,
    head_channels: int = 128,
    paf_width: float | None = None,
    max_length: Sequence[float] | np.ndarray | None = None,
    flip_pairs: Sequence[Sequence[int]] | None = None,
    device: str | torch.device | None = None,
) -> MultiAnimalModel:
    """A bottom-up multi-animal model in one call.

    Parameters
    ----------
    parts
        Part names of one animal.
    skeleton
        ``(L, 2)`` limbs (part index pairs) with a field each, e.g. from
        :func:`poselab.multianimal.skeleton_from_labels`.
    backbone, stride, pretrained, input_size, scale, head_channels, flip_pairs, device
        As :func:`poselab.model.create_model` (``input_size`` is the training crop in network
        pixels, ``scale`` network pixels per image pixel).
    paf_width
        Full width of each limb's band in network pixels (default ``2.5 * stride``).
    max_length
        Longest plausible length of each limb in image pixels (e.g. from
        :func:`poselab.multianimal.limb_length_limits`), used by the assembler.
    """
    from poselab.model.network import ALIGN, ModelError

    parts = [str(p) for p in parts]
    if not parts or len(set(parts)) != len(parts):
        raise ModelError(f"parts must be a non-empty list of distinct names, got {parts}")
    sk = limb_indices(skeleton, parts)
    if len(sk) == 0:
        raise AssemblyError("the skeleton needs at least one limb")
    if stride not in (4, 8):
        raise ModelError(f"stride must be 4 or 8 pixels, got {stride}")
    input_size = (256, 256) if input_size is None else input_size
    input_size = (input_size, input_size) if isinstance(input_size, int) else tuple(input_size)
    if len(input_size) != 2 or any(int(v) <= 0 or int(v) % ALIGN for v in input_size):
        raise ModelError(f"input_size must be (H, W) multiples of {ALIGN}, got {input_size}")
    flip_pairs = flip_pairs_from_names(parts) if flip_pairs is None else flip_pairs
    features = create_backbone(backbone, pretrained, out_indices=(1, 2, 3, 4))
    net = PafPoseNet(features, len(parts), sk, stride=stride, head_channels=head_channels)
    card = _card(backbone, parts, stride, input_size, scale, head_channels, True, flip_pairs)
    card.update(
        format=FORMAT,
        skeleton=sk.tolist(),
        paf_width=float(2.5 * stride if paf_width is None else paf_width),
        max_length=None if max_length is None else [float(v) for v in max_length],
        pretrained=pretrained if isinstance(pretrained, (str, bool)) else str(pretrained),
    )
    model = MultiAnimalModel(net, card)
    if device is not None:
        model.to(device)
    return model


def load_multianimal_model(
    path: str | os.PathLike, *, device: str | torch.device | None = None
) -> MultiAnimalModel:
    """Load a model written by :meth:`MultiAnimalModel.save` (no code is unpickled)."""
    from safetensors.torch import load_file

    from poselab.model.network import ModelError

    card = read_card(path)
    if card.get("format") != FORMAT:
        raise ModelError(f"{path} is not a multi-animal model (format {card.get('format')!r})")
    model = create_multianimal_model(
        card["parts"], card["skeleton"], card["backbone"], stride=card["stride"],
        pretrained=False, input_size=card["input_size"], scale=card["scale"],
        head_channels=card["head_channels"], paf_width=card["paf_width"],
        max_length=card.get("max_length"), flip_pairs=card["flip_pairs"],
    )
    model.card = card
    model.net.load_state_dict(load_file(str(path)), strict=True)
    if device is not None:
        model.to(device)
    return model
