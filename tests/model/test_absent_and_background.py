"""What the network learns beyond the labeled points: absent parts, and the background.

A part left unlabeled in a labeled image is absent from it: the network is taught an empty map
there and reports a low likelihood where the part is hidden. Crops centred anywhere in the
image (and on random points of the animal's box) show the network the whole frame's background,
so a model trained on crops does not fire on a look-alike far from the animal.
"""

from __future__ import annotations


import numpy as np
import pytest
import torch

from poselab.model import AugmentConfig, LabeledImages, TrainConfig, create_model, evaluate, train

COLOURS = np.array([[230, 40, 40], [40, 210, 40], [50, 60, 230]], dtype=float)
DECOY = np.array([205, 75, 60], dtype=float)  # reddish, a little off the red part's colour
PARTS = ["red", "green", "blue"]


def _disc(img: np.ndarray, colour: np.ndarray, x: float, y: float) -> np.ndarray:
    yy, xx = np.mgrid[0 : img.shape[0], 0 : img.shape[1]].astype(float)
    inside = np.clip(5.5 - np.hypot(xx - x, yy - y), 0, 1)[..., None]  # anti-aliased, radius 5 px
    return img * (1 - inside) + colour * inside


def scenes(n: int, *, seed: int, size: tuple[int, int] = (224, 96)) -> LabeledImages:
    """Noisy grey frames: a red, a green and a blue disc close together on the left (the
    animal; the blue disc hidden, and not labeled, in the first half of the frames) and a lone
    reddish disc, the decoy, on the right, never labeled."""
    rng = np.random.default_rng(seed)
    w, h = size
    images, kps = [], []
    for i in range(n):
        img = np.full((h, w, 3), 120.0) + rng.normal(0, 8, (h, w, 3))
        kp = np.array([rng.uniform(30, 66), rng.uniform(30, h - 30)]) + rng.uniform(-16, 16, (3, 2))
        if i < n // 2:
            kp[2] = np.nan
        for colour, (x, y) in zip(COLOURS, kp):
            if np.isfinite(x):
                img = _disc(img, colour, x, y)
        img = _disc(img, DECOY, rng.uniform(w - 80, w - 16), rng.uniform(16, h - 16))
        images.append(np.clip(img, 0, 255).astype(np.uint8))
        kps.append(kp)
    return LabeledImages(images, np.array(kps), PARTS)


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    """Trained on 96-pixel crops (random points of the animal's box, a quarter anywhere):
    a crop around the animal never reaches the decoy."""
    torch.manual_seed(0)
    model = create_model("tf_efficientnet_lite0", PARTS, stride=4, input_size=96, head_channels=64)
    augment = AugmentConfig(rotation=15, scale=(0.9, 1.1), translation=0.05, flip=0.0, brightness=0.1,
                            contrast=0.1, noise=0.02, blur=0.1, random_crop=0.25)
    train(model, scenes(48, seed=3), TrainConfig(epochs=25, batch_size=16, lr=2e-3, augment=augment,
                                                   progress=False, resume=False))
    return model


@pytest.fixture(scope="module")
def result(model) -> dict:
    return evaluate(model, scenes(12, seed=4))  # whole frames


def test_a_hidden_part_is_reported_absent(result):
    hidden, shown = slice(0, 6), slice(6, 12)
    # where the blue disc is hidden, the model says so (DeepLabCut's cut-off: 0.6)
    assert result["likelihood"][hidden, 2].max() < 0.6, result["likelihood"][:, 2]
    assert result["n_absent"] == 6 and result["absent_false_rate"] == 0.0
    # where it is there, it is found, confidently
    assert result["likelihood"][shown, 2].min() > 0.6, result["likelihood"][:, 2]
    assert np.nanmax(result["errors_px"][shown, 2]) < 3.0, result["errors_px"]


def test_a_model_trained_on_crops_ignores_a_decoy_far_from_the_animal(result):
    # (trained without "missing means absent", the red part was found on the decoy in all 12)
    assert np.nanmax(result["errors_px"][:, 0]) < 3.0, result["errors_px"][:, 0]
    assert result["rmse_px"] < 2.0
