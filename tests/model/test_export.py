"""The ONNX export: the same poses as the PyTorch model, the card kept, clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("onnxruntime", reason="the ONNX path needs the extra 'onnx'")
pytest.importorskip("onnx", reason="the ONNX export needs the extra 'onnx'")

from poselab.inference import analyze_video  # noqa: E402
from poselab.io.video import write_video  # noqa: E402
from poselab.model import ModelError, create_model, export_onnx, load_model, load_onnx_model  # noqa: E402

PARTS = ["nose", "left_ear", "right_ear", "tail"]


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    model = create_model("tf_efficientnet_lite0", PARTS, pretrained=False, head_channels=32, input_size=64)
    model.card["flip_test"] = True  # the exported model must flip and swap as the original does
    return model


def _frames(n: int, height: int = 72, width: int = 100) -> np.ndarray:
    rng = np.random.default_rng(1)
    frames = rng.integers(0, 60, (n, height, width, 3)).astype(np.uint8)
    for i, frame in enumerate(frames):  # a bright blob that moves, so the peaks differ by frame
        frame[10 + i : 20 + i, 20 + 2 * i : 30 + 2 * i] = (230, 200, 180)
    return frames


def test_exported_model_gives_the_same_poses(tmp_path, model, one_thread):
    path = export_onnx(model, tmp_path / "mouse")
    assert path.name == "mouse.onnx" and path.is_file()
    fast = load_onnx_model(path)
    assert fast.card == model.card  # parts, flip pairs, scale, locref...
    frames = _frames(6)  # 72x100: not a multiple of 32, so padding is exercised too
    xy, likelihood = model.predict(frames, batch_size=3)
    xy_fast, likelihood_fast = fast.predict(frames, batch_size=3)
    np.testing.assert_allclose(xy_fast, xy, atol=0.01)
    np.testing.assert_allclose(likelihood_fast, likelihood, atol=1e-4)
    assert np.ptp(xy[:, 0, 0]) > 0  # the poses differ between frames: the comparison means something


def test_analyze_video_runs_an_onnx_file(tmp_path, model, one_thread):
    video = write_video(tmp_path / "clip.mp4", iter(_frames(20)), fps=25.0)
    path = export_onnx(model, tmp_path / "mouse.onnx")
    torch_poses = analyze_video(model, video, batch_size=8, progress=False)
    onnx_poses = analyze_video(path, video, batch_size=8, progress=False)  # a path, as from the CLI
    # an untrained model's flat maps may tie: a rounding difference can pick the other peak for a
    # rare point, so most points, not all, must agree to a hundredth of a pixel
    close = np.abs(onnx_poses["position"].values - torch_poses["position"].values).max(-1) < 0.01
    assert close.mean() > 0.95, close.mean()
    with pytest.raises(ModelError, match="load it with poselab.model.load_onnx_model"):
        load_model(path)


def test_onnx_model_is_not_saved_as_weights_and_bad_files_say_so(tmp_path, model):
    fast = load_onnx_model(export_onnx(model, tmp_path / "m.onnx"))
    with pytest.raises(ModelError, match="keep that file"):
        fast.save(tmp_path / "copy.safetensors")
    assert fast.to("cuda") is fast and fast.device.type == "cpu"  # ONNX Runtime runs on the CPU
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(ModelError, match="not a readable ONNX model"):
        load_onnx_model(tmp_path / "junk.onnx")
    with pytest.raises(ModelError, match="does not exist"):
        load_onnx_model(tmp_path / "missing.onnx")
