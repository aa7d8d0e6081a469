"""Training pose models: one loop for every model, in named steps.

``train(model, data, config)`` looks up the model's *task* (what is learned from a batch:
:class:`PoseTask` for single-animal models, ``MultiAnimalTask`` for part-affinity-field models),
then runs the same loop for all of them:

1. set up: optimizer and schedule (timm's factories, :mod:`poselab.model.optim`), mixed
   precision on CUDA, one ``torch.Generator`` for batch order and augmentation;
2. resume from ``out_dir/state.pt`` when a run was interrupted (:mod:`poselab.model.checkpoint`);
3. every epoch: shuffle, a step per batch (the task's loss, an AdamW update), re-plan the number
   of epochs when the budget is in minutes, evaluate on the test images, write a checkpoint,
   report to the callback and the progress bar.

Tasks are registered per model class (:func:`register_task`); a subclass of
:class:`~poselab.model.PoseModel` with other outputs registers its own, as the multi-animal
model does.

Everything random comes from the one generator, whose state is saved with the weights, the
optimizer and the global generators at the end of every epoch, so a run interrupted and resumed
in a new process ends with the same weights as an uninterrupted one (with ``epochs``; a
``minutes`` budget depends on the clock).

Files in ``out_dir``: ``last.safetensors`` and ``best.safetensors`` (model files, loadable with
:func:`poselab.model.load_model`), ``state.pt``, ``history.csv`` and ``history.json``, each
written atomically.
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

from poselab.core.files import write_text_atomic
from poselab.core.resources import (
    BatchRequest,
    Resources,
    allowed_resources,
    fit_batch_to_memory,
    fit_torch_threads,
    release_freed_memory,
    step_memory,
)
from poselab.model.augment import augment_batch, paired_crops
from poselab.model.checkpoint import load_state, restore_rng_states, rng_states, save_state
from poselab.model.config import TrainConfig, TrainingError
from poselab.model.data import LabeledImages, label_geometry
from poselab.model.decode import decode
from poselab.model.evaluate import evaluate
from poselab.model.memory import ANALYSIS_MEMORY, TRAIN_MEMORY
from poselab.model.network import PoseModel
from poselab.model.optim import create_optimizer, create_scheduler
from poselab.model.targets import make_targets
from poselab.model.unlabeled import UnlabeledPairs, soft_argmax, temporal_loss
from poselab.model.views import fit_multiview

__all__ = [
    "PoseTask",
    "TrainingError",
    "TrainingHistory",
    "TrainingJob",
    "loss_terms",
    "register_task",
    "stack_images",
    "task_for",
    "train",
    "train_in_background",
]

Callback = Callable[[dict[str, Any], PoseModel], Any]
StopSignal = threading.Event | Callable[[], bool] | None

@dataclass
class TrainingHistory:
    """Per-epoch records of a training run.

    Each record: ``epoch``, ``step``, ``lr``, ``loss`` and the task's loss terms
    (``scoremap_loss``, ``locref_loss``; ``paf_loss`` for multi-animal models), ``seconds``
    (training wall time so far), ``epoch_seconds``, ``steps``; single-animal models add
    ``train_rmse_px`` (on the augmented training crops, image pixels) and ``data_seconds`` (time
    in data preparation and augmentation), and on evaluated epochs ``test_rmse_px``,
    ``test_rmse_px_cutoff``, ``test_pck5``, ``eval_seconds``; multi-animal models with cached
    features add ``cache_seconds``.
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


# --- what single-animal models learn ----------------------------------------------------------


def loss_terms(
    scoremaps: torch.Tensor,
    locref: torch.Tensor,
    keypoints: torch.Tensor,
    stride: int,
    *,
    sigma: float | None = None,
    locref_std: float,
    known: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Scoremap loss (BCE summed per weighted map: visible parts and, where ``known``, absent
    ones) and locref loss (Huber per masked cell)."""
    t = make_targets(keypoints, scoremaps.shape[-2:], stride, sigma=sigma, locref_std=locref_std,
                     known=known)
    n_maps = t.scoremap_weights.sum().clamp(min=1)
    bce = F.binary_cross_entropy_with_logits(scoremaps.float(), t.scoremaps, reduction="none")
    heat = (bce * t.scoremap_weights).sum() / n_maps
    huber = F.smooth_l1_loss(locref.float(), t.locref, reduction="none", beta=0.1)
    loc = (huber * t.locref_weights).sum() / t.locref_weights.sum().clamp(min=1)
    return heat, loc


def stack_images(
    model: PoseModel, images: list[np.ndarray], keypoints: np.ndarray
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Images resized by the model scale, zero-padded into one uint8 tensor.

    Returns the ``(N, 3, H, W)`` uint8 stack, each image's true ``(width, height)`` in network
    pixels, and the keypoints (any shape ending in 2) in network pixels.
    """
    resized = [model.resize(im) for im in images]
    h = max(im.shape[0] for im in resized)
    w = max(im.shape[1] for im in resized)
    out = torch.zeros(len(resized), 3, h, w, dtype=torch.uint8)
    sizes = torch.zeros(len(resized), 2)
    for i, im in enumerate(resized):  # one copy per image, done once
        out[i, :, : im.shape[0], : im.shape[1]] = torch.from_numpy(im).permute(2, 0, 1)
        sizes[i] = torch.tensor([im.shape[1], im.shape[0]])
    return out, sizes, torch.from_numpy(model.to_network_pixels(keypoints)).float()


class PoseTask:
    """What a single-animal :class:`~poselab.model.PoseModel` learns from labeled images.

    Augmented crops around the animal; scoremap (binary cross-entropy) and offset (Huber) losses;
    the test images evaluated whole with ``model.predict`` (RMSE, PCK). The best checkpoint is
    the lowest test RMSE (the lowest loss without test images).

    Parameters
    ----------
    model
        The model being trained.
    data
        Training images of one animal.
    config
        Training settings.
    test_data
        Held-out images, or None.
    """

    defaults = {"final_lr": 0.01, "locref_weight": 8.0}

    def __init__(self, model: PoseModel, data: LabeledImages, config: TrainConfig,
                 test_data: LabeledImages | None = None):
        if list(data.parts) != model.parts:
            raise TrainingError(f"data parts {data.parts} differ from the model's {model.parts}")
        if config.cached_views:
            raise TrainingError("cached_views is for multi-animal models; leave it at 0")
        self.model, self.data, self.config, self.test_data = model, data, config, test_data
        self.locref_weight = config.locref_weight or self.defaults["locref_weight"]
        self.data_hash = data.data_hash()
        # parts labeled somewhere: missing elsewhere means absent (or, off, unknown)
        labeled_somewhere = torch.from_numpy(np.isfinite(data.keypoints).all(-1).any(0))
        self.known = labeled_somewhere if config.missing_is_absent else None
        # several views of the same body points: decode them so that they agree
        views = fit_multiview(data.keypoints, model.parts) if config.multiview else None
        model.card["multiview"] = views.to_dict() if views is not None else None
        self.unlabeled: UnlabeledPairs | None = None
        if config.unlabeled is not None:
            config.unlabeled.check()
            step = config.unlabeled.max_step
            if step is None:  # a tenth of the animal's extent in the labeled images
                step = 0.1 * label_geometry(data).animal_extent_px
            self.max_step = step * model.scale  # network pixels

    def prepare(self, generator: torch.Generator) -> int:
        """Stack the training images on the training device; returns the samples per epoch."""
        images, self.sizes, self.keypoints = stack_images(
            self.model, [self.data.image(i) for i in range(len(self.data))], self.data.keypoints)
        self.images = images.to(self.model.device)
        if self.known is not None:  # moved once, not every step
            self.known = self.known.to(self.model.device)
        if self.config.unlabeled is not None:
            self.unlabeled = UnlabeledPairs.from_videos(
                self.config.unlabeled.videos, self.config.unlabeled.pairs, self.model.resize,
                self.model.scale).to(self.model.device)
        return len(self.data)

    def start_epoch(self) -> None:
        self._sq_err, self._n_err, self._data_seconds = 0.0, 0, 0.0

    def loss(self, indices: torch.Tensor, generator: torch.Generator
             ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The loss of one batch (forward pass included) and its terms."""
        model, device = self.model, self.model.device
        t0 = time.perf_counter()
        batch, kp = augment_batch(
            self.images[indices.to(device)], self.keypoints[indices], model.input_size,
            self.config.augment, generator=generator, flip_pairs=model.card["flip_pairs"],
            sizes=self.sizes[indices],
        )
        x = model.normalize(batch)
        if self.config.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        if device.type == "cuda":
            torch.cuda.synchronize()
        self._data_seconds += time.perf_counter() - t0
        with _autocast(device):
            scoremaps, locref = model.net(x)
        heat, loc = loss_terms(scoremaps, locref, kp, model.stride, sigma=self.config.sigma,
                               locref_std=model.card["locref_std"],
                               known=self.known)
        with torch.no_grad():  # the error on the training crops, for the record
            xy, _ = decode(scoremaps.detach().float(), locref.detach().float(), model.stride,
                           locref_std=model.card["locref_std"])
            err2 = ((xy - kp) ** 2).sum(-1)
            ok = torch.isfinite(err2)
            self._sq_err += float(err2[ok].sum())
            self._n_err += int(ok.sum())
        total, terms = heat + self.locref_weight * loc, {"scoremap_loss": heat, "locref_loss": loc}
        if self.unlabeled is not None:
            temporal = self._temporal_loss(generator)
            total = total + self.config.unlabeled.weight * temporal
            terms["temporal_loss"] = temporal
        return total, terms

    def _temporal_loss(self, generator: torch.Generator) -> torch.Tensor:
        """Excess motion of the parts between the two frames of a few unlabeled pairs (network
        pixels; parts weighted by the lower of their two confidences)."""
        model, pairs, cfg = self.model, self.unlabeled, self.config.unlabeled
        picked = torch.randint(0, len(pairs), (cfg.batch,), generator=generator)
        crops = paired_crops(pairs.images[picked.to(pairs.images.device)], pairs.centres[picked],
                             model.input_size, self.config.augment, generator=generator)
        b = crops.shape[0]
        x = model.normalize(crops.reshape(2 * b, *crops.shape[2:]))
        if self.config.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with _autocast(model.device):
            scoremaps, _ = model.net(x)
        xy, confidence = soft_argmax(scoremaps.float(), model.stride)
        xy, confidence = xy.view(b, 2, *xy.shape[1:]), confidence.view(b, 2, -1)
        return temporal_loss(xy[:, 0], xy[:, 1], confidence.amin(1), self.max_step)

    def epoch_metrics(self) -> dict[str, float]:
        return {"train_rmse_px": math.sqrt(self._sq_err / max(self._n_err, 1)) / self.model.scale,
                "data_seconds": self._data_seconds}

    def evaluate(self) -> dict[str, float] | None:
        """Test RMSE, RMSE above the likelihood cut-off and PCK@5 px; None without test images."""
        if self.test_data is None:
            return None
        t0 = time.perf_counter()
        result = evaluate(self.model, self.test_data, batch_size=self.config.eval_batch_size)
        return {"test_rmse_px": result["rmse_px"], "test_rmse_px_cutoff": result["rmse_px_cutoff"],
                "test_pck5": result["pck"][5.0], "test_absent_false_rate": result["absent_false_rate"],
                "eval_seconds": time.perf_counter() - t0}

    def finish(self) -> None:
        """Called once when training ends."""


# --- which task trains which model ----------------------------------------------------------

_TASKS: dict[type, type] = {}


def register_task(model_class: type, task_class: type) -> None:
    """Train models of ``model_class`` (and its subclasses without a task of their own) with
    ``task_class``, built as ``task_class(model, data, config, test_data)``."""
    _TASKS[model_class] = task_class


def task_for(model: PoseModel, data: Any, config: TrainConfig, test_data: Any = None) -> Any:
    """The training task of ``model``: the one registered for its class or nearest base class."""
    for cls in type(model).__mro__:
        if cls in _TASKS:
            return _TASKS[cls](model, data, config, test_data)
    raise TrainingError(f"no training task is registered for {type(model).__name__}")


register_task(PoseModel, PoseTask)


# --- the loop ---------------------------------------------------------------------------------


def _autocast(device: torch.device):
    dtype = torch.bfloat16 if device.type == "cuda" and torch.cuda.is_bf16_supported() else torch.float16
    return torch.autocast(device.type, dtype=dtype, enabled=device.type == "cuda")


def _should_stop(stop: StopSignal) -> bool:
    if stop is None:
        return False
    if hasattr(stop, "is_set"):
        return bool(stop.is_set())
    return bool(stop())


@dataclass
class _Run:
    """The state of one training run, advanced by the steps below."""

    task: Any
    config: TrainConfig
    out: Path | None
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    generator: torch.Generator
    n_samples: int
    history: TrainingHistory
    final_lr: float
    epoch: int = 0
    step: int = 0
    elapsed: float = 0.0
    planned: int = 50  # with a budget in minutes: a first guess, measured after 3 steps
    best: float = math.inf
    budget: float | None = None

    @property
    def steps_per_epoch(self) -> int:
        return max(1, math.ceil(self.n_samples / self.config.batch_size))

    def schedule(self) -> Any:
        return create_scheduler(self.optimizer, total_steps=self.planned * self.steps_per_epoch,
                                warmup=self.config.warmup, final_lr=self.final_lr)


def _set_up(task: Any, config: TrainConfig, out: Path | None) -> _Run:
    """Seeds, optimizer, gradient scaler and the run's state (step 1)."""
    model = task.model
    torch.manual_seed(config.seed)
    np.random.seed(config.seed % 2**32)
    random.seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    for p in model.net.backbone.parameters():
        p.requires_grad_(not config.freeze_backbone)
    optimizer = create_optimizer(model.net, lr=config.lr, weight_decay=config.weight_decay,
                                 backbone_lr=config.backbone_lr)
    cuda = model.device.type == "cuda"
    amp_fp16 = cuda and not torch.cuda.is_bf16_supported()
    scaler = torch.amp.GradScaler("cuda", enabled=amp_fp16)
    n_samples = task.prepare(generator)
    run = _Run(task, config, out, optimizer, scaler, generator, n_samples,
               TrainingHistory(out_dir=None if out is None else str(out)),
               final_lr=config.final_lr if config.final_lr is not None else task.defaults["final_lr"],
               budget=None if config.minutes is None else 60 * float(config.minutes))
    if config.epochs is not None:
        run.planned = int(config.epochs)
    return run


def _resume(run: _Run) -> None:
    """Continue an interrupted run from ``state.pt`` and ``last.safetensors`` (step 2)."""
    out = run.out
    if not run.config.resume or out is None:
        return
    if not (out / "state.pt").exists() or not (out / "last.safetensors").exists():
        return
    state = load_state(out / "state.pt")
    if state["data_hash"] != run.task.data_hash:
        raise TrainingError(
            f"{out} holds a run on other training data (hash {state['data_hash']} vs "
            f"{run.task.data_hash}): use another out_dir or resume=False"
        )
    from safetensors.torch import load_file

    run.task.model.net.load_state_dict(load_file(str(out / "last.safetensors")), strict=True)
    run.optimizer.load_state_dict(state["optimizer"])
    if state.get("scaler"):
        run.scaler.load_state_dict(state["scaler"])
    restore_rng_states(state["rng"], run.generator)
    run.epoch, run.step, run.elapsed = int(state["epoch"]), int(state["step"]), float(state["elapsed"])
    run.planned = int(state["planned"]) if run.config.epochs is None else int(run.config.epochs)
    run.best = float(state["best"])
    run.history.records = json.loads(state["history"])
    run.history.best_epoch = state.get("best_epoch")


def _train_epoch(run: _Run, scheduler: Any, stop: StopSignal) -> tuple[dict[str, Any], bool]:
    """One pass over the shuffled training samples (step 3); returns the record and whether
    the stop signal cut it short."""
    task, config, gen = run.task, run.config, run.generator
    run.task.model.net.train()
    if config.freeze_backbone:
        run.task.model.net.backbone.eval()  # frozen: batch-norm statistics stay as trained
    task.start_epoch()
    t0 = time.perf_counter()
    n, batch = run.n_samples, config.batch_size
    order = torch.randperm(n, generator=gen)
    fill = torch.randint(0, n, (run.steps_per_epoch * batch - n,), generator=gen)
    order = torch.cat([order, fill]).view(run.steps_per_epoch, batch)
    sums: dict[str, float] = {}
    steps_done, stopped, calibrating = 0, False, run.budget is not None and run.epoch == 0
    for indices in order:
        if _should_stop(stop):
            stopped = True
            break
        if run.budget is not None and run.elapsed + time.perf_counter() - t0 >= run.budget:
            break  # out of time: this (partial) epoch is the last
        scheduler.step_update(run.step)
        loss, terms = task.loss(indices, gen)
        run.optimizer.zero_grad(set_to_none=True)
        run.scaler.scale(loss).backward()
        run.scaler.step(run.optimizer)
        run.scaler.update()
        run.step += 1
        steps_done += 1
        for name, value in {"loss": loss, **terms}.items():
            sums[name] = sums.get(name, 0.0) + float(value.detach())
        if calibrating and steps_done == 1:
            t_calibrate = time.perf_counter()
        elif calibrating and steps_done == 3:  # pace from steps 2-3 (step 1 warms caches)
            pace = (time.perf_counter() - t_calibrate) / 2 * run.steps_per_epoch
            run.planned = max(1, int(run.budget / pace))
            scheduler = run.schedule()
    record: dict[str, Any] = {
        "epoch": run.epoch + 1, "step": run.step,
        "lr": run.optimizer.param_groups[-1]["lr"] / run.optimizer.param_groups[-1]["lr_scale"],
        **{name: total / max(steps_done, 1) for name, total in sums.items()},
        **task.epoch_metrics(),
        "epoch_seconds": time.perf_counter() - t0, "steps": steps_done,
    }
    return record, stopped


def _end_epoch(run: _Run, record: dict[str, Any]) -> bool:
    """Time, re-plan, evaluate, keep the best; returns whether this epoch was the best."""
    run.epoch += 1
    run.elapsed += record["epoch_seconds"]
    if run.budget is not None:  # re-plan the number of epochs from the measured pace
        pace = run.elapsed / run.epoch
        run.planned = max(run.epoch + (1 if run.elapsed < run.budget else 0),
                          run.epoch + int((run.budget - run.elapsed) / pace))
    last = run.epoch >= run.planned or (run.budget is not None and run.elapsed >= run.budget)
    tested = None
    if run.epoch % run.config.eval_every == 0 or last:
        tested = run.task.evaluate()
        record.update(tested or {})
    # Without test images, the best checkpoint is the one with the lowest training loss.
    score = tested["test_rmse_px"] if tested else (record["loss"] if run.task.test_data is None else None)
    is_best = score is not None and score < run.best
    if is_best:
        run.best, run.history.best_epoch = score, run.epoch
    record["seconds"] = run.elapsed
    run.history.records.append(record)
    return is_best


def _checkpoint(run: _Run, is_best: bool) -> None:
    """Model files, the resumable state and the history, each written atomically (step 4)."""
    if run.out is None:
        return
    model = run.task.model
    model.card["training"] = {**run.config.to_dict(), "epochs": run.epoch, "step": run.step,
                              "minutes": run.elapsed / 60}
    model.save(run.out / "last.safetensors")
    if is_best:
        model.save(run.out / "best.safetensors")
    save_state({
        "optimizer": run.optimizer.state_dict(),
        "scaler": run.scaler.state_dict() if run.scaler.is_enabled() else {},
        "rng": rng_states(run.generator),
        "epoch": run.epoch, "step": run.step, "elapsed": run.elapsed, "planned": int(run.planned),
        "best": run.best, "best_epoch": run.history.best_epoch, "data_hash": run.task.data_hash,
        "history": json.dumps(run.history.records),
    }, run.out / "state.pt")
    write_text_atomic(run.out / "history.json", json.dumps(run.history.records, indent=1))
    write_text_atomic(run.out / "history.csv", run.history.to_dataframe().to_csv(index=False))


def train(
    model: PoseModel,
    data: Any,
    config: TrainConfig | None = None,
    *,
    test_data: Any = None,
    out_dir: str | os.PathLike | None = None,
    callback: Callback | None = None,
    stop: StopSignal = None,
    resources: Resources | None = None,
    **settings: Any,
) -> TrainingHistory:
    """Train ``model`` in place.

    Parameters
    ----------
    model
        From :func:`~poselab.model.create_model` (or a multi-animal model); its ``input_size``
        is the training crop and its ``scale`` the image resize factor.
    data
        Training images (:class:`~poselab.model.LabeledImages`; ``MultiAnimalImages`` for a
        multi-animal model). Without ``test_data``, ``config.test_fraction`` of at least 5
        single-animal images is held out for validation.
    config
        The settings (:class:`~poselab.model.TrainConfig`); any of its fields may also be given
        as a keyword here (``train(model, data, minutes=10)``), overriding ``config``.
    test_data
        Validation images, evaluated whole with ``model.predict``.
    out_dir
        Where checkpoints and the history go (None: nothing written, no resume).
    callback
        Called as ``callback(record, model)`` after each epoch; returning ``False`` stops.
    stop
        A ``threading.Event`` (or a callable returning True) checked at every step: set it to
        stop training, e.g. from a notebook button while ``train`` runs in a thread.
    resources
        The CPUs and memory to fit (default: :func:`~poselab.core.resources.allowed_resources`,
        the cgroup's limits). On the CPU a ``batch_size`` whose step would not fit the free
        memory is lowered (not below 2), with a
        :class:`~poselab.core.resources.BatchSizeWarning`.

    Returns
    -------
    TrainingHistory

    Raises
    ------
    poselab.core.errors.ResourceError
        When a step of even 2 images would not fit the free memory.
    """
    from tqdm.auto import tqdm

    config = (config if config is not None else TrainConfig()).replace(**settings).check()
    if test_data is None and isinstance(data, LabeledImages) and len(data) >= 5:
        data, test_data = data.split(config.test_fraction, config.split_seed)
    resources = resources if resources is not None else allowed_resources()
    if config.num_threads:
        torch.set_num_threads(int(config.num_threads))
    else:  # within the container's / JupyterHub server's CPU limit, not the host's core count
        fit_torch_threads(resources)
    if config.device is not None:
        model.to(config.device)
    if model.device.type == "cpu":  # a GPU's memory is not what the cgroup limits
        config = config.replace(batch_size=_batch_that_fits(model, data, config, resources))
        if isinstance(test_data, LabeledImages) and len(test_data):
            config = config.replace(eval_batch_size=_eval_batch_that_fits(model, data, test_data, config,
                                                                         resources))
    task = task_for(model, data, config, test_data)
    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    model.card["data_hash"] = task.data_hash
    net = model.net
    if config.channels_last:
        net.to(memory_format=torch.channels_last)
    run = _set_up(task, config, out)
    _resume(run)
    scheduler = run.schedule()
    bar = tqdm(total=config.epochs, initial=run.epoch, disable=not config.progress, desc="train",
               unit="epoch")
    try:
        while run.epoch < run.planned and not run.history.stopped:
            if run.budget is not None and run.elapsed >= run.budget:
                break
            record, stopped = _train_epoch(run, scheduler, stop)
            if stopped:  # a partial epoch cut by the stop signal is not kept
                run.history.stopped = True
                break
            if record["steps"] == 0:  # the budget ran out between epochs
                break
            is_best = _end_epoch(run, record)
            _checkpoint(run, is_best)
            scheduler = run.schedule()  # the plan may have changed
            bar.update(1)
            bar.set_postfix(loss=f"{record['loss']:.3f}",
                            test_rmse=f"{record.get('test_rmse_px', float('nan')):.2f}")
            if callback is not None and callback(record, model) is False:
                run.history.stopped = True
    finally:
        bar.close()
        task.finish()
        for p in net.backbone.parameters():
            p.requires_grad_(True)
        if config.channels_last:
            net.to(memory_format=torch.contiguous_format)
        release_freed_memory()  # the steps' freed memory back to the kernel (and the cgroup)
    return run.history


def _batch_that_fits(model: PoseModel, data: Any, config: TrainConfig, resources: Resources) -> int:
    """``config.batch_size``, or the largest batch size (>= 2) whose step fits the free memory."""
    memory = step_memory(TRAIN_MEMORY, model.card.get("backbone"))
    h, w = model.input_size
    pixels = h * w
    extra = _stacked_bytes(model, data)  # task.prepare stacks them later
    if config.unlabeled is not None:  # each step runs unlabeled.batch pairs of frames more
        extra += 2 * config.unlabeled.batch * memory.per_item(pixels)
    request = BatchRequest(
        config.batch_size, minimum=2, extra_bytes=extra, step="training",
        advice=f"a smaller input_size (now {h}x{w}) or scale in create_model, freeze_backbone=True")
    return fit_batch_to_memory(request, memory, pixels, resources=resources, stacklevel=3)


def _stacked_bytes(model: PoseModel, data: Any) -> float:
    """Bytes of ``data``'s images once ``task.prepare`` has stacked them (uint8, padded, scaled):
    :class:`LabeledImages`, or frames of several animals (arrays)."""
    images = list(getattr(data, "images", []))
    if not images:
        return 0.0
    widths, heights = zip(*((im.shape[1], im.shape[0]) if isinstance(im, np.ndarray) else data.image_size(i)
                            for i, im in enumerate(images)))
    return len(images) * 3 * round(max(widths) * model.scale) * round(max(heights) * model.scale)


def _eval_batch_that_fits(model: PoseModel, data: Any, test_data: LabeledImages, config: TrainConfig,
                          resources: Resources) -> int:
    """``config.eval_batch_size``, or the largest batch of whole test images (>= 1) that fits the
    free memory beside the stacked training images; a flip test runs each image twice."""
    memory = step_memory(ANALYSIS_MEMORY, model.card.get("backbone"))
    w, h = (max(size) for size in zip(*(test_data.image_size(i) for i in range(len(test_data)))))
    pixels = round(w * model.scale) * round(h * model.scale) * (2 if model.card.get("flip_test") else 1)
    request = BatchRequest(
        config.eval_batch_size, minimum=1, extra_bytes=_stacked_bytes(model, data),
        step="evaluating the test images during training",
        advice=f"a smaller scale in create_model (now {model.scale:g}; the test images are {w}x{h})")
    return fit_batch_to_memory(request, memory, pixels, resources=resources, stacklevel=3)


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

    def __init__(self, model: PoseModel, data: Any, config: TrainConfig | None = None,
                 **kwargs: Any):
        self._stop = threading.Event()
        self.records: list[dict[str, Any]] = []
        self.history: TrainingHistory | None = None
        self.error: BaseException | None = None
        user_callback = kwargs.pop("callback", None)
        config = (config if config is not None else TrainConfig(progress=False))

        def callback(record: dict[str, Any], m: PoseModel) -> Any:
            self.records.append(record)
            return user_callback(record, m) if user_callback is not None else None

        def run() -> None:
            try:
                self.history = train(model, data, config, stop=self._stop, callback=callback,
                                     **kwargs)
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


def train_in_background(model: PoseModel, data: Any, config: TrainConfig | None = None,
                        **kwargs: Any) -> TrainingJob:
    """Start :func:`train` in a thread; returns a :class:`TrainingJob` (``.stop()``, ``.wait()``)."""
    return TrainingJob(model, data, config, **kwargs)
