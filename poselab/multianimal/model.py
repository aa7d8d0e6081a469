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
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
import xarray as xr

from poselab.model.backbones import create_backbone
from poselab.model.network import ALIGN, ModelError, PoseModel, model_card, read_card
from poselab.multianimal.appearance import describe
from poselab.multianimal.assembly import AssemblyError, assemble, limb_indices
from poselab.multianimal.network import PafPoseNet
from poselab.multianimal.peaks import find_peaks
from poselab.multianimal.tracking import TrackingConfig, track

__all__ = ["DECODING", "MultiAnimalModel", "create_multianimal_model", "load_multianimal_model"]

FORMAT = "poselab-multianimal-model/1"

#: Peak finding and assembly settings of a multi-animal analysis, and their defaults:
#: ``threshold`` (lowest peak probability), ``nms_radius`` (output cells), ``top_k`` (peaks per
#: part and frame), ``min_affinity`` (lowest mean field along a limb), ``min_parts`` (parts an
#: animal needs), ``max_individuals`` (None: as many as found).
DECODING: dict[str, Any] = {"threshold": 0.25, "nms_radius": 1, "top_k": 16, "min_affinity": 0.1,
                            "min_parts": 3, "max_individuals": None}


class MultiAnimalModel(PoseModel):
    """A PAF pose network and its card (``skeleton``, ``paf_width``, ``max_length``, ...).

    ``net(x)`` returns scoremap logits ``(B, P, h, w)``, offsets ``(B, P, 2, h, w)`` and fields
    ``(B, L, 2, h, w)``; :func:`poselab.multianimal.analyze_multianimal` turns videos into
    tracked poses.
    """

    net: PafPoseNet

    #: :func:`poselab.analyze_video` asks a model with this flag for every animal's parts in
    #: each frame (:meth:`detect_pixels`), then for identities across frames (:meth:`identities`).
    finds_many_animals = True

    @classmethod
    def load(cls, path: str | os.PathLike, *, device: str | torch.device | None = None) -> MultiAnimalModel:
        """Load a model written by :meth:`save` (see :func:`load_multianimal_model`)."""
        return load_multianimal_model(path, device=device)

    @property
    def skeleton(self) -> np.ndarray:
        """``(L, 2)`` part index pairs, one field per limb."""
        return np.asarray(self.card["skeleton"], dtype=np.int64).reshape(-1, 2)

    @property
    def identity_names(self) -> list[str]:
        """The known animals an identity head tells apart (empty without one)."""
        return list(self.card.get("identities") or [])

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

    @staticmethod
    def decoding_settings(decoding: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """:data:`DECODING` with ``decoding``'s values (raises for a name it does not have)."""
        decoding = dict(decoding or {})
        unknown = sorted(set(decoding) - set(DECODING))
        if unknown:
            raise AssemblyError(f"unknown decoding setting(s) {unknown}; the settings are {sorted(DECODING)}")
        return {**DECODING, **decoding}

    def assemble_maps(self, scores, locref, pafs, *, scale: float | None = None,
                      **decoding: Any) -> list[np.ndarray]:
        """Animals from the network's maps, in network pixels: peaks, then assembly.

        Parameters
        ----------
        scores, locref, pafs
            Probabilities ``(B, P, h, w)``, offsets ``(B, P, 2, h, w)`` and fields
            ``(B, L, 2, h, w)``, torch or numpy.
        scale
            Network pixels per image pixel of these maps' input (default the model's ``scale``;
            smaller when the frames were shrunk further), to convert the limbs' ``max_length``.
        **decoding
            :data:`DECODING` settings.

        Returns
        -------
        list of numpy.ndarray
            Per frame ``(n_found, P, 3)``: x, y in network pixels and the peak score.
        """
        settings = self.decoding_settings(decoding)
        cands = find_peaks(scores, locref, self.stride, threshold=settings["threshold"],
                           nms_radius=settings["nms_radius"], top_k=settings["top_k"],
                           locref_std=self.card["locref_std"])
        pafs = pafs.cpu().numpy() if hasattr(pafs, "cpu") else np.asarray(pafs)
        limit = self.max_length
        limit = None if limit is None else limit * (self.scale if scale is None else scale)
        return [assemble(cands.frame(b), pafs[b], self.stride, paf_graph=self.skeleton,
                         min_affinity=settings["min_affinity"], min_parts=settings["min_parts"],
                         max_individuals=settings["max_individuals"], max_length=limit)
                for b in range(cands.n_frames)]

    @torch.inference_mode()
    def detect_pixels(self, batch: torch.Tensor, *, scale: float | None = None,
                      **decoding: Any) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Every animal in network-sized float images ``(B, 3, H, W)`` in [0, 1], and how each looks.

        The step of :func:`poselab.analyze_video` for this model (the frames already resized).

        Returns
        -------
        animals : list of numpy.ndarray
            Per image ``(n_found, P, 3)``: x, y in network pixels and the peak score.
        appearance : list of numpy.ndarray
            Per image ``(n_found, D)``: :func:`~poselab.multianimal.describe` of the shallowest
            backbone level the head uses (colour and texture) and of the head's features; with
            an identity head, ``D`` is the number of identities and each row holds the
            probabilities of who the animal is (averaged over its parts, weighted by score).
        """
        h, w = batch.shape[-2:]
        x = F.pad(self.normalize(batch), (0, -w % ALIGN, 0, -h % ALIGN))
        levels = self.net.backbone_levels(x)
        features = self.net.head_features(levels)
        s, loc, paf = self.net.heads(features)
        found = self.assemble_maps(torch.sigmoid(s.float()), loc.float(), paf.float(), scale=scale, **decoding)
        if self.identity_names:  # a trained identity head says who each animal is
            probs = torch.softmax(self.net.identity_logits(features).float(), dim=1)
            return found, describe([probs], found, [self.stride], unit=False)
        looks = describe([levels[0], features], found, [self.stride, self.stride])
        return found, looks

    def identities(self, detections: Sequence[np.ndarray], n_animals: int, config: TrackingConfig | None = None,
                   *, animals: Sequence[str] | None = None, frames: Sequence[int] | None = None,
                   appearance: Sequence[np.ndarray] | None = None, **attrs: Any) -> xr.Dataset:
        """Identities across frames for per-frame detections (image pixels): :func:`track`.

        ``appearance``: per-frame descriptors, used when ``config.appearance_weight > 0``; from a
        model with an identity head they are its probabilities, and tracklets are given to the
        animals it names (``track(..., identity=)``).
        """
        attrs.setdefault("source", f"poselab multi-animal ({self.card['backbone']})")
        descriptors = "identity" if self.identity_names else "appearance"
        return track(detections, n_animals, config, parts=self.parts, animals=animals, frames=frames,
                     **{descriptors: appearance}, **attrs)


def create_multianimal_model(
    parts: Sequence[str],
    skeleton: np.ndarray | Sequence[Sequence[str | int]],
    backbone: str = "tf_efficientnet_lite0",
    *,
    paf_width: float | None = None,
    max_length: Sequence[float] | np.ndarray | None = None,
    identities: Sequence[str] | None = None,
    device: str | torch.device | None = None,
    **options: Any,
) -> MultiAnimalModel:
    """A bottom-up multi-animal model in one call.

    Parameters
    ----------
    parts
        Part names of one animal.
    skeleton
        Limbs with a field each: pairs of part names (or part indices), e.g. from
        :func:`poselab.multianimal.skeleton_from_labels`.
    backbone
        timm architecture name, as :func:`poselab.model.create_model`.
    paf_width
        Full width of each limb's band in network pixels (default ``2.5 * stride``).
    max_length
        Longest plausible length of each limb in image pixels (e.g. from
        :func:`poselab.multianimal.limb_length_limits`), used by the assembler.
    identities
        Names of the known animals (marked, or of other coats; DeepLabCut's ``identity=True``):
        adds a supervised identity head. Training then takes animal ``a`` of every frame to be
        ``identities[a]``, and tracking gives each tracklet to the animal the head names.
    device
        Where the network lives (default CPU).
    **options
        ``stride``, ``pretrained``, ``input_size`` (the training crop, network pixels),
        ``scale`` (network pixels per image pixel), ``head_channels``, ``flip_pairs``: as
        :func:`poselab.model.create_model`.
    """
    options.setdefault("fuse", True)
    if options["fuse"] is not True:
        raise ModelError("the multi-animal network always fuses backbone levels (fuse=True)")
    card = model_card(backbone, parts, **options)
    sk = limb_indices(skeleton, card["parts"])
    if len(sk) == 0:
        raise AssemblyError("the skeleton needs at least one limb")
    features = create_backbone(backbone, options.get("pretrained", "offline"), out_indices=(1, 2, 3, 4))
    identities = [str(name) for name in identities or []]
    if len(set(identities)) != len(identities):
        raise AssemblyError(f"identity names must differ; got {identities}")
    net = PafPoseNet(features, len(card["parts"]), sk, stride=card["stride"],
                     head_channels=card["head_channels"], identities=len(identities))
    card.update(
        format=FORMAT,
        identities=identities or None,
        skeleton=sk.tolist(),
        paf_width=float(2.5 * card["stride"] if paf_width is None else paf_width),
        max_length=None if max_length is None else [float(v) for v in max_length],
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

    card = read_card(path)
    if card.get("format") != FORMAT:
        raise ModelError(f"{path} is not a multi-animal model (format {card.get('format')!r})")
    model = create_multianimal_model(
        card["parts"], card["skeleton"], card["backbone"], stride=card["stride"],
        pretrained=False, input_size=card["input_size"], scale=card["scale"],
        head_channels=card["head_channels"], paf_width=card["paf_width"],
        max_length=card.get("max_length"), flip_pairs=card["flip_pairs"],
        identities=card.get("identities"),
    )
    model.card = card
    model.net.load_state_dict(load_file(str(path)), strict=True)
    model.net.eval()  # loaded to analyse: batch statistics frozen (training switches back)
    if device is not None:
        model.to(device)
    return model
