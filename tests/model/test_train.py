"""Training: a small model learns a synthetic task; resume after an interruption is exact."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from poselab.core.errors import ResourceError
from poselab.core.resources import BatchSizeWarning, Resources
from poselab.model import (
    AugmentConfig,
    LabeledImages,
    TrainingError,
    create_model,
    evaluate,
    load_model,
    read_card,
    train,
    train_in_background,
)
from poselab.model.memory import ANALYSIS_MEMORY, TRAIN_MEMORY

REPO = Path(__file__).resolve().parents[2]
COLOURS = np.array([[230, 40, 40], [40, 210, 40], [50, 60, 230]], dtype=float)


def blobs(n: int, size: int = 96, seed: int = 0) -> LabeledImages:
    """Grey noisy images with a red, a green and a blue disc; keypoints are the disc centres."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(float)
    images, kps = [], []
    for _ in range(n):
        img = np.full((size, size, 3), 120.0) + rng.normal(0, 8, (size, size, 3))
        centre = rng.uniform(28, size - 28, 2)
        kp = centre + rng.uniform(-18, 18, (3, 2))
        for colour, (x, y) in zip(COLOURS, kp):
            # anti-aliased disc of radius 5 px centred at a sub-pixel position
            inside = np.clip(5.5 - np.hypot(xx - x, yy - y), 0, 1)[..., None]
            img = img * (1 - inside) + colour * inside
        images.append(np.clip(img, 0, 255).astype(np.uint8))
        kps.append(kp)
    return LabeledImages(images, np.array(kps), ["red", "green", "blue"])


def test_small_model_learns_synthetic_blobs_to_under_2px(tmp_path):
    torch.manual_seed(0)
    train_set, test_set = blobs(48, seed=1), blobs(12, seed=2)
    model = create_model("tf_efficientnet_lite0", train_set.parts, stride=4, input_size=96,
                         head_channels=64)
    aug = AugmentConfig(rotation=15, scale=(0.9, 1.1), translation=0.05, flip=0.5,
                        brightness=0.1, contrast=0.1, noise=0.02, blur=0.1, random_crop=0)
    history = train(model, train_set, test_data=test_set, epochs=30, batch_size=16, lr=2e-3,
                    out_dir=tmp_path, augment=aug, eval_every=10, progress=False)
    result = evaluate(model, test_set)
    assert result["rmse_px"] < 2.0, history.to_dataframe()[["epoch", "loss", "test_rmse_px"]]
    assert result["pck"][5.0] == 1.0
    assert np.mean(result["likelihood"]) > 0.6  # peaks are confident
    # files: model, best model, state, history
    for name in ("last.safetensors", "best.safetensors", "state.pt", "history.csv", "history.json"):
        assert (tmp_path / name).is_file(), name
    df = history.to_dataframe()
    assert len(df) == 30 and df["loss"].iloc[-1] < df["loss"].iloc[0]
    # the saved model predicts the same points and carries its card
    again = load_model(tmp_path / "last.safetensors")
    xy, lik = again.predict(np.stack(test_set.images))
    np.testing.assert_allclose(xy, result["xy"], atol=1e-4)
    card = read_card(tmp_path / "last.safetensors")
    assert card["parts"] == ["red", "green", "blue"] and card["stride"] == 4
    assert card["data_hash"] == train_set.data_hash() and card["training"]["epochs"] == 30


def _resume_script(out: Path, epochs: int) -> str:
    return textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(REPO)!r})
        import torch
        from tests.model.test_train import blobs, tiny_run
        tiny_run({str(out)!r}, epochs={epochs})
    """)


def tiny_run(out: str, epochs: int, stop_after: int | None = None):
    data = blobs(10, size=64, seed=3)
    torch.manual_seed(0)  # the same random initial weights in every run
    model = create_model("tf_efficientnet_lite0", data.parts, stride=8, input_size=64,
                         pretrained=False, head_channels=32)
    callback = (lambda rec, m: rec["epoch"] < stop_after) if stop_after else None
    # One CPU thread in every run: the order of float sums in the convolutions depends on the
    # thread count, which differs between this process (after other tests) and a fresh one.
    threads = torch.get_num_threads()
    try:
        return train(model, data, test_data=blobs(3, size=64, seed=4), epochs=epochs,
                     batch_size=4, lr=1e-3, out_dir=out, seed=7, callback=callback,
                     progress=False, num_threads=1)
    finally:
        torch.set_num_threads(threads)


def test_resume_after_interruption_gives_identical_weights(tmp_path):
    full = tiny_run(str(tmp_path / "full"), epochs=4)
    part = tiny_run(str(tmp_path / "part"), epochs=4, stop_after=2)
    assert part.stopped and len(part.records) == 2
    # A new process (new objects, fresh RNGs) continues the interrupted run.
    subprocess.run([sys.executable, "-c", _resume_script(tmp_path / "part", 4)], check=True,
                   cwd=tmp_path, timeout=300)
    a = load_model(tmp_path / "full" / "last.safetensors").net.state_dict()
    b = load_model(tmp_path / "part" / "last.safetensors").net.state_dict()
    assert a.keys() == b.keys()
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert not different, different[:5]
    # and the history continues where it stopped
    import json

    records = json.loads((tmp_path / "part" / "history.json").read_text())
    assert [r["epoch"] for r in records] == [1, 2, 3, 4]
    assert records[-1]["loss"] == full.records[-1]["loss"]
    # A run that is not resumed differs (the check above can fail)
    other = load_model(tmp_path / "full" / "best.safetensors").net.state_dict()
    assert any(not torch.equal(a[k], other[k]) for k in a) or full.best_epoch == 4


def test_resume_refuses_other_data_and_background_job_stops(tmp_path):
    tiny_run(str(tmp_path), epochs=1)
    data = blobs(10, size=64, seed=99)
    model = create_model("tf_efficientnet_lite0", data.parts, input_size=64, pretrained=False,
                         head_channels=32)
    with pytest.raises(TrainingError, match="other training data"):
        train(model, data, epochs=2, batch_size=4, out_dir=tmp_path, progress=False)
    with pytest.raises(TrainingError, match="epochs"):
        train(model, data, batch_size=4)
    # In a thread: stop it from outside after the first epoch.
    started = threading.Event()
    job = train_in_background(model, data, epochs=500, batch_size=4, out_dir=tmp_path / "bg",
                              callback=lambda rec, m: started.set())
    assert started.wait(120)
    job.stop()
    history = job.wait(120)
    assert history is not None and history.stopped and 1 <= len(history.records) < 500
    assert not job.running


def test_training_lowers_the_batch_size_to_fit_the_free_memory_or_stops_with_a_message(tmp_path, one_thread):
    gib = 2**30
    data = blobs(4, size=64, seed=3)  # fewer than 5: no test split, no evaluation
    model = create_model("tf_efficientnet_lite0", data.parts, input_size=64, pretrained=False,
                         head_channels=32)
    memory = TRAIN_MEMORY["tf_efficientnet_lite0"]
    stacked = 4 * 3 * 64 * 64  # the training images, stacked before the first step
    per_image = memory.per_item(64 * 64)

    def server(free: float) -> Resources:  # 1 CPU, 2 GiB, ``free`` bytes of it left
        return Resources(cpus=1, threads=1, memory_bytes=2 * gib, memory_used_bytes=2 * gib - int(free),
                         limited=True)

    with pytest.warns(BatchSizeWarning, match="batch_size 8 needs about .*2.00 GiB limit.*: training with "
                                              "batch_size 3") as caught:
        history = train(model, data, epochs=1, batch_size=8, out_dir=tmp_path / "fits", progress=False,
                        resources=server(memory.fixed_bytes + stacked + 3.5 * per_image))
    assert len(caught) == 1 and caught[0].filename == __file__
    assert read_card(tmp_path / "fits" / "last.safetensors")["training"]["batch_size"] == 3
    assert history.records[0]["steps"] == 2  # 4 images in batches of 3
    with pytest.raises(ResourceError, match=r"training needs about 0\.1\d GiB with batch_size 2.*"
                                            r"2\.00 GiB limit.*smaller input_size \(now 64x64\)"):
        train(model, data, epochs=1, batch_size=8, out_dir=tmp_path / "too-small", progress=False,
              resources=server(memory.fixed_bytes + stacked + 1.5 * per_image))
    assert not (tmp_path / "too-small").exists()  # stopped before anything started


def test_whole_test_images_are_evaluated_in_batches_that_fit_the_free_memory(tmp_path, one_thread):
    # training crops are 64 px, but the test images are scored whole (128 px): on a large camera
    # that forward pass, not the training step, is what would not fit
    gib = 2**30
    data, test = blobs(4, size=64, seed=3), blobs(3, size=128, seed=4)
    model = create_model("tf_efficientnet_lite0", data.parts, input_size=64, pretrained=False,
                         head_channels=32)
    memory = ANALYSIS_MEMORY["tf_efficientnet_lite0"]
    stacked = 4 * 3 * 64 * 64
    per_image = memory.per_item(128 * 128)

    def server(free: float) -> Resources:
        return Resources(cpus=1, threads=1, memory_bytes=2 * gib, memory_used_bytes=2 * gib - int(free),
                         limited=True)

    with pytest.warns(BatchSizeWarning, match="batch_size 8 needs about .*: evaluating the test images "
                                              "during training with batch_size 2") as caught:
        history = train(model, data, epochs=1, batch_size=4, test_data=test, progress=False,
                        resources=server(memory.fixed_bytes + stacked + 2.5 * per_image))
    assert len(caught) == 1  # the training step itself fits
    assert history.records[-1]["test_rmse_px"] == pytest.approx(evaluate(model, test)["rmse_px"], rel=1e-5)
    with pytest.raises(ResourceError, match=r"evaluating the test images during training needs about "
                                            r"0\.3\d GiB with batch_size 1.*smaller scale in create_model"):
        train(model, data, epochs=1, batch_size=4, test_data=test, progress=False,
              resources=server(memory.fixed_bytes + stacked + 0.5 * per_image))
