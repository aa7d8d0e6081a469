"""Training a PoseModel: augmented crops, AdamW with warmup + cosine, checkpoints, exact resume.

Everything random (batch order, augmentation) comes from one ``torch.Generator`` whose state is
saved with the weights, the optimizer and the global RNG states at the end of every epoch, so a
run interrupted and resumed in a new process ends with the same weights as an uninterrupted
one (with ``epochs``; a ``minutes`` budget depends on the clock).

Files in ``out_dir``: ``last.safetensors`` and ``best.safetensors`` (model files, loadable with
:func:`poselab.model.load_model`), ``state.pt`` (optimizer and RNG states; tensors and plain
values only, read with ``weights_only=True``), ``history.csv`` and ``history.json``. All are
written to a temporary name and renamed, so a crash never leaves half a file.
"""

from __future__ import annotations

import json
import math
import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from poselab.core.errors import PoselabError
from poselab.model.augment import AugmentConfig, augment_batch
from poselab.model.data import LabeledImages
from poselab.model.decode import decode
from poselab.model.evaluate import evaluate
from poselab.model.network import PoseModel, load_model
from poselab.model.targets import make_targets

__all__ = ["TrainingError", "TrainingHistory", "TrainingJob", "train", "train_in_background", "loss_terms"]


class TrainingError(PoselabError, ValueError):
    """Training cannot start or resume as asked."""


@dataclass
class TrainingHistory:
    """Per-epoch records of a training run.

    Each record: ``epoch``, ``step``, ``lr``, ``loss``, ``scoremap_loss``, ``locref_loss``,
    ``train_rmse_px`` (on the augmented training crops, image pixels), ``test_rmse_px``,
    ``test_rmse_px_cutoff``, ``test_pck5``, ``seconds`` (training wall time so far),
    ``epoch_seconds``, ``data_seconds`` (time in data preparation and augmentation).
    """

    records: list[dict[str, Any]] = field(default_factory=list)
    out_dir: str | None = None
    stopped: bool = False
    best_epoch: int | None = None

    def to_dataframe(self):
        import pandas as pd

        return pd.DataFrame(self.records)

    @property
    def last(self) -> dict[str, Any]:
        return self.records[-1] if self.records else {}

    def __repr__(self) -> str:
        last = self.last
        return (f"TrainingHistory({len(self.records)} epochs, stopped={self.stopped}, "
                f"last test RMSE {last.get('test_rmse_px', float('nan')):.2f} px)")


def loss_terms(
    scoremaps: torch.Tensor,
    locref: torch.Tensor,
    keypoints: torch.Tensor,
    stride: int,
    *,
    sigma: float | None = None,
    locref_std: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Scoremap loss (BCE summed per visible map) and locref loss (Huber per masked cell)."""
    t = make_targets(keypoints, scoremaps.shape[-2:], stride, sigma=sigma, locref_std=locref_std)
    n_maps = t.scoremap_weights.sum().clamp(min=1)
    bce = F.binary_cross_entropy_with_logits(scoremaps.float(), t.scoremaps, reduction="none")
    heat = (bce * t.scoremap_weights).sum() / n_maps
    huber = F.smooth_l1_loss(locref.float(), t.locref, reduction="none", beta=0.1)
    loc = (huber * t.locref_weights).sum() / t.locref_weights.sum().clamp(min=1)
    return heat, loc


def _stack_images(model: PoseModel, data: LabeledImages) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Training images resized by the model scale, zero-padded into one uint8 tensor."""
    images = [model.resize(data.image(i)) for i in range(len(data))]
    h = max(im.shape[0] for im in images)
    w = max(im.shape[1] for im in images)
    out = torch.zeros(len(images), 3, h, w, dtype=torch.uint8)
    sizes = torch.zeros(len(images), 2)
    for i, im in enumerate(images):  # one copy per image, done once
        out[i, :, : im.shape[0], : im.shape[1]] = torch.from_numpy(im).permute(2, 0, 1)
        sizes[i] = torch.tensor([im.shape[1], im.shape[0]])
    kp = torch.from_numpy(model.to_network_pixels(data.keypoints)).float()
    return out, sizes, kp


def _lr_at(step: int, total: int, base: float, warmup: float, final: float) -> float:
    warm = max(1, int(round(warmup * total)))
    if step < warm:
        return base * (step + 1) / warm
    progress = min(1.0, (step - warm) / max(1, total - warm))
    return base * (final + (1 - final) * 0.5 * (1 + math.cos(math.pi * progress)))


def _atomic_torch_save(obj: Any, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _atomic_text(text: str, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _rng_states(gen: torch.Generator) -> dict[str, Any]:
    np_state = np.random.get_state()
    py_state = random.getstate()
    return {
        "generator": gen.get_state(),
        "torch": torch.get_rng_state(),
        "cuda": [s for s in torch.cuda.get_rng_state_all()] if torch.cuda.is_available() else [],
        "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), *np_state[2:]],
        "python": [py_state[0], list(py_state[1]), py_state[2]],
    }


def _set_rng_states(states: dict[str, Any], gen: torch.Generator) -> None:
    gen.set_state(states["generator"])
    torch.set_rng_state(states["torch"])
    if states["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])
    n = states["numpy"]
    np.random.set_state((n[0], n[1].numpy().astype(np.uint32), *n[2:]))
    p = states["python"]
    random.setstate((p[0], tuple(p[1]), p[2]))


def _should_stop(stop: Any) -> bool:
    if stop is None:
        return False
    if hasattr(stop, "is_set"):
        return bool(stop.is_set())
    return bool(stop())


def train(
    model: PoseModel,
    data: LabeledImages,
    *,
    test_data: LabeledImages | None = None,
    test_fraction: float = 0.2,
    split_seed: int = 0,
    epochs: int | None = None,
    minutes: float | None = None,
    batch_size: int = 8,
    lr: float = 1e-3,
    backbone_lr: float = 1.0,
    weight_decay: float = 1e-4,
    warmup: float = 0.05,
    final_lr: float = 0.01,
    out_dir: str | os.PathLike | None = None,
    seed: int = 0,
    augment: AugmentConfig | bool | None = True,
    sigma: float | None = None,
    locref_weight: float = 8.0,
    resume: bool = True,
    eval_every: int = 1,
    callback: Callable[[dict[str, Any], PoseModel], Any] | None = None,
    stop: threading.Event | Callable[[], bool] | None = None,
    progress: bool = True,
    device: str | torch.device | None = None,
    channels_last: bool | None = None,
    num_threads: int | None = None,
) -> TrainingHistory:
    """Train ``model`` in place on labeled images.

    Parameters
    ----------
    model
        From :func:`~poselab.model.create_model`; its ``input_size`` is the crop size and its
        ``scale`` the image resize factor used in training.
    data
        Training images. Without ``test_data`` a ``test_fraction`` of them (split by
        ``split_seed``) is held out for validation.
    test_data
        Validation images (evaluated on whole images with ``model.predict``).
    epochs, minutes
        Length: a number of epochs (exactly reproducible), or a wall-clock budget in minutes
        (epochs are re-planned from the measured epoch time; the cosine schedule follows).
    batch_size, lr, backbone_lr, weight_decay
        AdamW settings; ``backbone_lr`` multiplies ``lr`` for the pretrained backbone.
    warmup, final_lr
        Linear warmup over this fraction of steps, then cosine decay to ``final_lr * lr``.
    out_dir
        Where checkpoints and the history go (None: nothing written, no resume).
    seed
        Seeds batch order, augmentation and the global RNGs.
    augment
        ``True`` (default ranges), an :class:`AugmentConfig`, or ``False``/None (centre crops).
    sigma, locref_weight
        Scoremap Gaussian width (pixels, default the stride) and weight of the offset loss.
    resume
        Continue from ``out_dir/state.pt`` when it exists.
    eval_every
        Evaluate the validation images every this many epochs (and at the end).
    callback
        Called as ``callback(record, model)`` after each epoch; returning ``False`` stops.
    stop
        A ``threading.Event`` (or a callable returning True) checked at every step: set it to
        stop training, e.g. from a notebook button while ``train`` runs in a thread.
    progress
        Show a tqdm progress bar.
    device
        Where to train (default: the model's device). CUDA runs use mixed precision and
        channels-last memory.
    channels_last
        Channels-last memory format (default on: faster on GPU and on CPU for EfficientNets).
    num_threads
        ``torch.set_num_threads`` for CPU training (default: leave as is).

    Returns
    -------
    TrainingHistory
    """
    from tqdm.auto import tqdm

    if epochs is None and minutes is None:
        raise TrainingError("give epochs (an int) or minutes (a wall-clock budget)")
    if epochs is not None and epochs < 1:
        raise TrainingError(f"epochs must be >= 1, got {epochs}")
    if minutes is not None and not minutes > 0:
        raise TrainingError(f"minutes must be positive, got {minutes}")
    if list(data.parts) != model.parts:
        raise TrainingError(f"data parts {data.parts} differ from the model's {model.parts}")
    if batch_size < 2:
        raise TrainingError("batch_size must be >= 2 (batch normalisation)")
    if test_data is None and len(data) >= 5:
        data, test_data = data.split(test_fraction, split_seed)
    if num_threads:
        torch.set_num_threads(int(num_threads))
    if augment is True:
        augment = AugmentConfig()
    elif not augment:
        augment = AugmentConfig.none()
    device = torch.device(device) if device is not None else model.device
    model.to(device)
    cuda = device.type == "cuda"
    # channels-last speeds up these depthwise-conv backbones on CPU too (about 1.5-2x here)
    channels_last = True if channels_last is None else channels_last
    net = model.net
    if channels_last:
        net.to(memory_format=torch.channels_last)
    amp_dtype = torch.bfloat16 if cuda and torch.cuda.is_bf16_supported() else torch.float16
    scaler = torch.amp.GradScaler("cuda", enabled=cuda and amp_dtype == torch.float16)

    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    data_hash = data.data_hash()
    model.card["data_hash"] = data_hash

    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)
    gen = torch.Generator().manual_seed(seed)
    backbone_params = list(net.backbone.parameters())
    ids = {id(p) for p in backbone_params}
    head_params = [p for p in net.parameters() if id(p) not in ids]
    optimizer = torch.optim.AdamW(
        [{"params": backbone_params, "lr_scale": backbone_lr}, {"params": head_params, "lr_scale": 1.0}],
        lr=lr, weight_decay=weight_decay,
    )

    images, sizes, keypoints = _stack_images(model, data)
    images, sizes_dev = images.to(device), sizes
    n = len(data)
    steps_per_epoch = max(1, math.ceil(n / batch_size))
    history = TrainingHistory(out_dir=str(out) if out is not None else None)
    epoch, step, elapsed = 0, 0, 0.0
    planned = epochs if epochs is not None else None
    best = float("inf")

    state_path = out / "state.pt" if out is not None else None
    if resume and state_path is not None and state_path.exists() and (out / "last.safetensors").exists():
        state = torch.load(state_path, map_location="cpu", weights_only=True)
        if state["data_hash"] != data_hash:
            raise TrainingError(
                f"{out} holds a run on other training data (hash {state['data_hash']} vs "
                f"{data_hash}): use another out_dir or resume=False"
            )
        saved = load_model(out / "last.safetensors")
        net.load_state_dict(saved.net.state_dict())
        optimizer.load_state_dict(state["optimizer"])
        if state.get("scaler"):
            scaler.load_state_dict(state["scaler"])
        _set_rng_states(state["rng"], gen)
        epoch, step, elapsed = int(state["epoch"]), int(state["step"]), float(state["elapsed"])
        planned = int(state["planned"]) if epochs is None else epochs
        best = float(state["best"])
        history.records = json.loads(state["history"])
        history.best_epoch = state.get("best_epoch")

    def lr_now(s: int, total_epochs: int) -> float:
        return _lr_at(s, total_epochs * steps_per_epoch, lr, warmup, final_lr)

    def save(is_best: bool) -> None:
        if out is None:
            return
        model.card["training"] = {
            "epochs": epoch, "step": step, "lr": lr, "batch_size": batch_size, "seed": seed,
            "augment": augment.to_dict(), "minutes": elapsed / 60,
        }
        model.save(out / "last.safetensors")
        if is_best:
            model.save(out / "best.safetensors")
        _atomic_torch_save({
            "optimizer": optimizer.state_dict(),
            "scaler": scaler.state_dict() if scaler.is_enabled() else {},
            "rng": _rng_states(gen),
            "epoch": epoch, "step": step, "elapsed": elapsed, "planned": int(planned or 0),
            "best": best, "best_epoch": history.best_epoch, "data_hash": data_hash,
            "history": json.dumps(history.records),
        }, state_path)
        _atomic_text(json.dumps(history.records, indent=1), out / "history.json")
        _atomic_text(history.to_dataframe().to_csv(index=False), out / "history.csv")

    budget = minutes * 60 if minutes is not None else None
    if planned is None:  # minutes: a first guess, measured after 3 steps, refined every epoch
        planned = 50
    calibrate = budget is not None and epoch == 0
    bar = tqdm(total=epochs if epochs is not None else None, initial=epoch, disable=not progress,
               desc="train", unit="epoch")
    stopped = False
    try:
        while epoch < planned and not stopped:
            if budget is not None and elapsed >= budget:
                break
            net.train()
            t0 = time.perf_counter()
            data_time = 0.0
            order = torch.randperm(n, generator=gen)
            fill = torch.randint(0, n, (steps_per_epoch * batch_size - n,), generator=gen)
            order = torch.cat([order, fill]).view(steps_per_epoch, batch_size)
            sums = np.zeros(4)  # loss, heat, loc, count
            sq_err, n_err = 0.0, 0
            steps_done = 0
            for idx in order:
                if _should_stop(stop):
                    stopped = True
                    break
                if budget is not None and elapsed + time.perf_counter() - t0 >= budget:
                    break  # out of time: this (partial) epoch is the last
                for group in optimizer.param_groups:
                    group["lr"] = lr_now(step, planned) * group["lr_scale"]
                td = time.perf_counter()
                batch, kp = augment_batch(
                    images[idx.to(device)], keypoints[idx], model.input_size, augment,
                    generator=gen, flip_pairs=model.card["flip_pairs"], sizes=sizes_dev[idx],
                )
                x = model.normalize(batch)
                if channels_last:
                    x = x.contiguous(memory_format=torch.channels_last)
                if cuda:
                    torch.cuda.synchronize()
                data_time += time.perf_counter() - td
                with torch.autocast(device.type, dtype=amp_dtype, enabled=cuda):
                    scoremaps, locref = net(x)
                heat, loc = loss_terms(scoremaps, locref, kp, model.stride, sigma=sigma,
                                       locref_std=model.card["locref_std"])
                loss = heat + locref_weight * loc
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
                step += 1
                steps_done += 1
                if calibrate and step == 1:
                    t_cal = time.perf_counter()
                elif calibrate and step == 3:  # pace from steps 2-3 (step 1 warms caches)
                    pace = (time.perf_counter() - t_cal) / 2 * steps_per_epoch
                    planned = max(1, int(budget / pace))
                    calibrate = False
                with torch.no_grad():
                    xy, _ = decode(scoremaps.detach().float(), locref.detach().float(),
                                   model.stride, locref_std=model.card["locref_std"])
                    err2 = ((xy - kp) ** 2).sum(-1)
                    ok = torch.isfinite(err2)
                    sq_err += float(err2[ok].sum())
                    n_err += int(ok.sum())
                sums += [float(loss.detach()), float(heat.detach()), float(loc.detach()), 1]
            if stopped or steps_done == 0:
                break
            epoch += 1
            elapsed += time.perf_counter() - t0
            record: dict[str, Any] = {
                "epoch": epoch,
                "step": step,
                "lr": lr_now(step - 1, planned),
                "loss": sums[0] / sums[3],
                "scoremap_loss": sums[1] / sums[3],
                "locref_loss": sums[2] / sums[3],
                "train_rmse_px": math.sqrt(sq_err / max(n_err, 1)) / model.scale,
                "epoch_seconds": time.perf_counter() - t0,
                "steps": steps_done,
                "data_seconds": data_time,
            }
            if budget is not None:  # re-plan the number of epochs from the measured pace
                pace = elapsed / epoch
                planned = max(epoch + (1 if elapsed < budget else 0),
                              epoch + int((budget - elapsed) / pace))
            last_epoch = epoch >= planned or (budget is not None and elapsed >= budget)
            is_best = False
            if test_data is not None and (epoch % eval_every == 0 or last_epoch):
                te = time.perf_counter()
                result = evaluate(model, test_data)
                record.update(test_rmse_px=result["rmse_px"],
                              test_rmse_px_cutoff=result["rmse_px_cutoff"],
                              test_pck5=result["pck"][5.0],
                              eval_seconds=time.perf_counter() - te)
                if result["rmse_px"] < best:
                    best, is_best = result["rmse_px"], True
            elif test_data is None and record["loss"] < best:
                best, is_best = record["loss"], True
            if is_best:
                history.best_epoch = epoch
            record["seconds"] = elapsed
            history.records.append(record)
            save(is_best)
            bar.update(1)
            bar.set_postfix(loss=f"{record['loss']:.3f}",
                            test_rmse=f"{record.get('test_rmse_px', float('nan')):.2f}")
            if callback is not None and callback(record, model) is False:
                stopped = True
    finally:
        bar.close()
        if channels_last:
            net.to(memory_format=torch.contiguous_format)
    history.stopped = stopped
    return history


class TrainingJob:
    """``train`` running in a background thread (keeps a notebook kernel responsive).

    Attributes
    ----------
    thread : threading.Thread
    history : TrainingHistory or None
        Set when training ends.
    error : BaseException or None
        The exception that ended training, if any.
    records : list of dict
        Epoch records as they arrive.
    """

    def __init__(self, model: PoseModel, data: LabeledImages, **kwargs: Any):
        self._stop = threading.Event()
        self.records: list[dict[str, Any]] = []
        self.history: TrainingHistory | None = None
        self.error: BaseException | None = None
        user_callback = kwargs.pop("callback", None)
        kwargs.setdefault("progress", False)

        def callback(record: dict[str, Any], m: PoseModel) -> Any:
            self.records.append(record)
            return user_callback(record, m) if user_callback is not None else None

        def run() -> None:
            try:
                self.history = train(model, data, stop=self._stop, callback=callback, **kwargs)
            except BaseException as err:  # reported through .error
                self.error = err

        self.thread = threading.Thread(target=run, name="poselab-train", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """Ask training to stop at the next step."""
        self._stop.set()

    @property
    def running(self) -> bool:
        return self.thread.is_alive()

    def wait(self, timeout: float | None = None) -> TrainingHistory | None:
        """Block until training ends (or ``timeout`` seconds); re-raise its error."""
        self.thread.join(timeout)
        if self.error is not None:
            raise self.error
        return self.history


def train_in_background(model: PoseModel, data: LabeledImages, **kwargs: Any) -> TrainingJob:
    """Start :func:`train` in a thread; returns a :class:`TrainingJob` (``.stop()``, ``.wait()``)."""
    return TrainingJob(model, data, **kwargs)
