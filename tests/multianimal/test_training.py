"""Multi-animal training: exact PAF targets, a few steps lower the loss, save/load, analysis."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from poselab.multianimal import render_pafs
from poselab.multianimal.analyze import analyze_multianimal, detect_animals
from poselab.multianimal.data import MultiAnimalImages
from poselab.multianimal.model import create_multianimal_model, load_multianimal_model
from poselab.multianimal.train import multi_animal_loss, train_multianimal
from poselab.multianimal.network import paf_targets

SKELETON = [[0, 1], [1, 2]]


def test_paf_targets_exact_on_a_horizontal_limb():
    # one animal, limb 0 -> 1 along y = 30 from x = 20 to x = 100, band 16 px wide, stride 4:
    # cell centres are at 4 j + 1.5
    kp = np.array([[[[20.0, 30.0], [100.0, 30.0], [np.nan, np.nan]]]])
    f = paf_targets(kp, SKELETON, (20, 30), 4, width=16.0).numpy()
    assert f.shape == (1, 2, 2, 20, 30)
    c = np.arange(30) * 4 + 1.5
    r = np.arange(20) * 4 + 1.5
    inside = (np.abs(r - 30)[:, None] <= 8) & ((c >= 20) & (c <= 100))[None, :]
    np.testing.assert_array_equal(f[0, 0, 0], inside.astype(np.float32))
    np.testing.assert_array_equal(f[0, 0, 1], np.zeros((20, 30), np.float32))
    assert inside.sum() == 4 * 20  # rows 25.5..37.5 x columns 21.5..97.5
    # limb 1 -> 2 has a missing part: no field
    assert not f[0, 1].any()


def test_paf_targets_average_where_animals_overlap():
    # two animals whose limbs cross at right angles: mean of (1, 0) and (0, 1) at the crossing
    kp = np.array([[[[10.0, 41.5], [90.0, 41.5], [0, 0]],
                    [[49.5, 0.0], [49.5, 80.0], [0, 0]]]])
    f = paf_targets(kp, SKELETON[:1], (20, 25), 4, width=4.0).numpy()[0, 0]
    row, col = 10, 12  # cell centre (49.5, 41.5) lies on both limbs
    np.testing.assert_allclose(f[:, row, col], [0.5, 0.5])
    np.testing.assert_allclose(f[:, row, 5], [1.0, 0.0])
    np.testing.assert_allclose(f[:, 3, col], [0.0, 1.0])


def test_paf_targets_equal_render_pafs_frame_by_frame():
    rng = np.random.default_rng(3)
    kp = rng.uniform(0, 200, (4, 3, 5, 2))
    kp[0, 1, 2] = np.nan
    kp[2, 0] = np.nan
    sk = [[0, 1], [1, 2], [2, 3], [0, 4], [1, 3]]
    got = paf_targets(kp, sk, (25, 30), 8, width=15.0).numpy()
    want = np.stack([render_pafs(k, sk, (25, 30), 8, width=15.0) for k in kp])
    np.testing.assert_allclose(got, want, atol=1e-6)


def _toy_data(n: int = 8, seed: int = 0) -> MultiAnimalImages:
    """Two three-part 'animals' per image: red, green, blue discs on grey, limbs drawn."""
    import cv2

    rng = np.random.default_rng(seed)
    images, kps = [], []
    for _ in range(n):
        im = np.full((96, 128, 3), 90, np.uint8)
        kp = np.zeros((2, 3, 2))
        for a in range(2):
            start = rng.uniform([15, 15], [50, 80]) + [a * 55, 0]
            angle = rng.uniform(-0.5, 0.5)
            step = 12 * np.array([np.cos(angle), np.sin(angle)])
            kp[a] = start + np.arange(3)[:, None] * step
            cv2.polylines(im, [kp[a].round().astype(np.int32)], False, (200, 200, 200), 3)
            for p, colour in enumerate([(255, 0, 0), (0, 255, 0), (0, 0, 255)]):
                cv2.circle(im, tuple(int(v) for v in kp[a, p].round()), 3, colour, -1)
        images.append(im)
        kps.append(kp)
    return MultiAnimalImages(images, np.array(kps), ["head", "middle", "tail"])


@pytest.fixture(scope="module")
def toy_model():
    torch.manual_seed(0)
    return create_multianimal_model(["head", "middle", "tail"], SKELETON, scale=1.0,
                                    input_size=(96, 128), head_channels=32,
                                    max_length=[30.0, 30.0])


def test_a_few_steps_lower_the_loss(toy_model, tmp_path, one_thread):
    data = _toy_data()
    history = train_multianimal(toy_model, data, epochs=12, batch_size=4, lr=3e-3,
                                augment=False, freeze_backbone=True, cached_views=1,
                                out_dir=tmp_path, progress=False)
    losses = [r["loss"] for r in history.records]
    assert len(losses) == 12 and history.records[-1]["step"] == 24
    assert losses[-1] < 0.6 * losses[0]
    assert history.records[-1]["paf_loss"] < history.records[0]["paf_loss"]
    assert (tmp_path / "last.safetensors").exists() and (tmp_path / "history.json").exists()
    loaded = load_multianimal_model(tmp_path / "last.safetensors")
    assert loaded.skeleton.tolist() == SKELETON and loaded.parts == ["head", "middle", "tail"]
    frames = np.stack(data.images[:2])
    for a, b in zip(toy_model.maps(frames), loaded.maps(frames)):
        torch.testing.assert_close(a, b)
    # training the whole network (unfrozen, augmented) also runs and records its losses
    history = train_multianimal(toy_model, data, epochs=1, batch_size=4, progress=False)
    assert np.isfinite(history.records[0]["loss"])


def test_an_interrupted_run_resumes_to_the_same_weights(tmp_path, one_thread):
    # the multi-animal task runs in the shared loop: stop after 2 of 4 epochs, resume, compare
    data = _toy_data()
    settings = dict(epochs=4, batch_size=4, lr=3e-3, augment=False, freeze_backbone=True,
                    cached_views=1, progress=False, seed=5)

    def fresh():
        torch.manual_seed(0)
        return create_multianimal_model(["head", "middle", "tail"], SKELETON, input_size=(96, 128),
                                        head_channels=32, pretrained=False)

    full = fresh()
    train_multianimal(full, data, out_dir=tmp_path / "full", **settings)
    part = fresh()
    stopped = train_multianimal(part, data, out_dir=tmp_path / "part",
                                callback=lambda record, _: record["epoch"] < 2, **settings)
    assert stopped.stopped and len(stopped.records) == 2
    again = fresh()
    resumed = train_multianimal(again, data, out_dir=tmp_path / "part", **settings)
    assert [r["epoch"] for r in resumed.records] == [1, 2, 3, 4]
    for a, b in zip(full.net.state_dict().values(), again.net.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_loss_is_the_target_entropy_when_outputs_equal_targets():
    # outputs equal to the targets (logits far out for the scoremaps' 0/1 cells): tiny loss
    from poselab.multianimal.network import multi_animal_targets

    kp = torch.tensor([[[[20.0, 30.0], [60.0, 30.0], [100.0, 30.0]]]])
    t = multi_animal_targets(kp, SKELETON, (16, 32), 4, paf_width=8.0)
    s = torch.logit(t.scoremaps.clamp(1e-6, 1 - 1e-6))
    heat, loc, paf = multi_animal_loss((s, t.locref, t.pafs), kp, np.array(SKELETON), 4,
                                       paf_width=8.0)
    assert float(loc) == 0.0 and float(paf) == 0.0
    entropy = -(t.scoremaps * torch.log(t.scoremaps.clamp(1e-6))
                + (1 - t.scoremaps) * torch.log((1 - t.scoremaps).clamp(1e-6))).sum() / 3
    assert float(heat) == pytest.approx(float(entropy), rel=1e-3, abs=1e-3)


def test_analyze_multianimal_returns_the_pose_dataset(toy_model, tmp_path):
    from poselab.io.video import write_video

    data = _toy_data(6, seed=1)
    video = write_video(tmp_path / "toy.mp4", np.stack(data.images), fps=10)
    found = detect_animals(toy_model, np.stack(data.images[:2]))
    assert len(found) == 2 and all(f.ndim == 3 and f.shape[1:] == (3, 3) for f in found)
    ds = analyze_multianimal(toy_model, video, 2, progress=False, batch_size=4)
    assert ds.sizes == {"animal": 2, "part": 3, "frame": 6, "coord": 2}
    assert ds.attrs["fps"] == pytest.approx(10) and ds.attrs["width"] == 128
    assert ds["part"].values.tolist() == ["head", "middle", "tail"]


def test_decode_maps_recovers_animals_from_ideal_maps():
    # maps equal to the training targets of two animals (network pixels at scale 0.5) decode
    # back to both animals in image pixels: peaks + offsets + fields + pixel conversion
    from poselab.multianimal.analyze import decode_maps
    from poselab.multianimal.network import multi_animal_targets

    model = create_multianimal_model(["head", "middle", "tail"], SKELETON, stride=4, scale=0.5,
                                     input_size=(64, 96), head_channels=8,
                                     max_length=[40.0, 40.0], pretrained=False)
    image_kp = np.array([[[30.0, 40.0], [54.0, 44.0], [78.0, 40.0]],
                         [[40.0, 90.0], [60.0, 104.0], [80.0, 118.0]]])
    net_kp = model.to_network_pixels(image_kp)
    t = multi_animal_targets(net_kp[None], SKELETON, (18, 14), 4, paf_width=10.0,
                             locref_std=model.card["locref_std"])
    found = decode_maps(model, t.scoremaps, t.locref, t.pafs, threshold=0.5, min_parts=3)
    assert len(found) == 1 and found[0].shape == (2, 3, 3)
    got = found[0][np.argsort(found[0][:, 0, 1])]  # order by the head's y
    np.testing.assert_allclose(got[..., :2], image_kp, atol=1e-3)
    # the score is the Gaussian (sigma = stride) at the cell centre nearest to each part
    nearest = np.round((net_kp - 1.5) / 4) * 4 + 1.5
    d2 = ((net_kp - nearest) ** 2).sum(-1)
    np.testing.assert_allclose(got[..., 2], np.exp(-d2 / (2 * 4.0**2)), rtol=1e-5)
