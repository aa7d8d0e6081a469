"""The fast CPU path: a pose model exported to ONNX and run by ONNX Runtime.

ONNX Runtime fuses the network's layers and plans its memory once, which a CPU without a GPU
feels most (BENCHMARKS.md gives the speed against the PyTorch forward of the same model). The
exported file keeps the model card in its metadata, so it decodes, flips and reports exactly as
the ``.safetensors`` model it came from; the poses agree within a hundredth of a pixel.

Example
-------
>>> path = export_onnx(model, "models/mouse.onnx")
>>> fast = load_onnx_model(path)              # a PoseModel whose network runs in ONNX Runtime
>>> poses = analyze_video(fast, "videos/mouse.mp4")   # or analyze_video("models/mouse.onnx", ...)

Needs the extra ``onnx`` (``pip install "poselab[onnx]"``: onnxruntime, and onnx to export).
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from poselab.core.files import atomic_path
from poselab.model.network import ModelError, PoseModel

__all__ = ["OnnxNet", "OnnxPoseModel", "export_onnx", "load_onnx_model"]

CARD_KEY = "poselab_card"
INPUT, OUTPUTS = "images", ("scoremaps", "locref")
OPSET = 17


def _require(module: str):
    try:
        return __import__(module)
    except ImportError as error:
        raise ModelError(f"the ONNX path needs the package {module!r}: pip install 'poselab[onnx]'") from error


def export_onnx(model: PoseModel, path: str | os.PathLike) -> Path:
    """Write ``model``'s network as an ONNX file with the model card in its metadata.

    Parameters
    ----------
    model
        A trained :class:`~poselab.model.PoseModel`.
    path
        Target file (``.onnx`` is added when missing); written atomically.

    Returns
    -------
    Path
        The file written. Batch size, height and width stay free: any frame size runs.
    """
    onnx = _require("onnx")
    path = Path(path)
    if path.suffix != ".onnx":
        path = path.with_suffix(path.suffix + ".onnx") if path.suffix else path.with_suffix(".onnx")
    net = model.net
    was_training, device = net.training, model.device
    net.eval().to("cpu")
    h, w = (int(s) for s in model.input_size)
    example = torch.zeros(1, 3, h, w)
    try:
        with atomic_path(path) as tmp, warnings.catch_warnings():
            # the tracer's notes on shape checks (frames are padded to whole cells, so the traced
            # branch is the one every frame takes) and on its own deprecation are not the user's
            warnings.simplefilter("ignore", category=torch.jit.TracerWarning)
            warnings.simplefilter("ignore", category=DeprecationWarning)
            torch.onnx.export(
                net, (example,), str(tmp), dynamo=False, opset_version=OPSET, input_names=[INPUT],
                output_names=list(OUTPUTS), do_constant_folding=True,
                dynamic_axes={INPUT: {0: "batch", 2: "height", 3: "width"},
                              OUTPUTS[0]: {0: "batch", 2: "rows", 3: "cols"},
                              OUTPUTS[1]: {0: "batch", 3: "rows", 4: "cols"}})
            graph = onnx.load(str(tmp))
            entry = graph.metadata_props.add()
            entry.key, entry.value = CARD_KEY, json.dumps(model.card)
            onnx.save(graph, str(tmp))
    finally:
        net.to(device).train(was_training)
    return path


class OnnxNet(nn.Module):
    """An ONNX Runtime session in the place of a :class:`~poselab.model.PoseNet`.

    Called like the network: normalised images ``(B, 3, H, W)`` -> ``(scoremaps (B, P, h, w),
    locref (B, P, 2, h, w))``, on the device of the input. It has no trainable weights; its one
    buffer is a digest of the file, so that a resumed analysis knows which model ran.
    """

    def __init__(self, path: str | os.PathLike, threads: int | None = None, spinning: bool = True) -> None:
        super().__init__()
        ort = _require("onnxruntime")
        options = ort.SessionOptions()
        self.threads = int(threads or torch.get_num_threads())
        self.spinning = bool(spinning)
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if not spinning:  # idle threads sleep at once instead of spinning for more work
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.path = Path(path)
        try:
            self.session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime raises its own types for unreadable files
            raise ModelError(f"{self.path} is not a readable ONNX model ({error})") from error
        digest = hashlib.sha256(self.path.read_bytes()).digest()
        self.register_buffer("file_digest", torch.tensor(list(digest), dtype=torch.float32))
        # a parameter of size 0, so that code asking the network for its device gets the CPU
        self.anchor = nn.Parameter(torch.empty(0), requires_grad=False)

    def card(self) -> dict[str, Any]:
        metadata = self.session.get_modelmeta().custom_metadata_map
        if CARD_KEY not in metadata:
            raise ModelError(f"{self.path} has no poselab model card: export it with poselab.model.export_onnx")
        return json.loads(metadata[CARD_KEY])

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        images = np.ascontiguousarray(x.detach().float().cpu().numpy())
        scoremaps, locref = self.session.run(list(OUTPUTS), {INPUT: images})
        return torch.from_numpy(scoremaps).to(x.device), torch.from_numpy(locref).to(x.device)


class OnnxPoseModel(PoseModel):
    """A :class:`~poselab.model.PoseModel` whose network is an :class:`OnnxNet` (CPU only; the
    file is the model: there are no weights to save or train)."""

    def to(self, device: str | torch.device) -> OnnxPoseModel:
        """ONNX Runtime runs on the CPU here: the model stays there whatever is asked."""
        return self

    def save(self, path: str | os.PathLike) -> Path:
        raise ModelError(f"this model runs from {self.net.path}: keep that file (export_onnx writes new ones)")


def load_onnx_model(path: str | os.PathLike, *, threads: int | None = None, spinning: bool = True) -> OnnxPoseModel:
    """A :class:`~poselab.model.PoseModel` whose network runs in ONNX Runtime on the CPU.

    Parameters
    ----------
    path
        A file written by :func:`export_onnx`.
    threads
        Threads ONNX Runtime uses (default: ``torch.get_num_threads()``).
    spinning
        Let ONNX Runtime's threads spin while they wait for work (slightly faster batches).
        False for live use: between two frames the cores are left to the camera and the
        recorder (``poselab.live`` loads models from files so).
    """
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"model file {path} does not exist")
    net = OnnxNet(path, threads, spinning)
    return OnnxPoseModel(net, net.card())  # type: ignore[arg-type]
