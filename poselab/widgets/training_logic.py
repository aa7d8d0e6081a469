"""Pure logic behind :mod:`poselab.widgets.training` (no ipywidgets here).

:class:`TrainingSession` trains a model on a project's labels with poselab's training recipe
(:class:`poselab.model.Recipe`, the one ``poselab train`` and the demo use; the project's
left/right ``flip_pairs`` from ``poselab.yaml``) in a background thread
(:func:`poselab.model.train_in_background`, so the notebook kernel stays responsive), keeps
the per-epoch records as they arrive, and derives what the widget shows: the loss and
test-RMSE curves, the best checkpoint, the ETA and a status line. Each start writes a new run
folder ``models/<name>/run-NNN/`` (never overwriting an earlier run).
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from poselab.core.errors import PoselabError

__all__ = ["TrainingSession", "TrainingSessionError", "epoch_ticks"]

log = logging.getLogger(__name__)


class TrainingSessionError(PoselabError, ValueError):
    """Training cannot start as asked (no labels, already running...)."""


@dataclass(eq=False)
class TrainingSession:
    """One model being trained on a project's labels, in the background.

    Parameters
    ----------
    project
        A :class:`~poselab.project.Project` with labeled images.
    name
        Run folders go to ``project.models_dir / name / "run-NNN"``.
    epochs, minutes
        Training length: a number of epochs, or else a wall-clock budget (minutes).
    recipe
        Model and training settings (:class:`poselab.model.Recipe`; default: the recipe
        poselab chooses for the project's training images, ``Recipe.for_data``). Its test
        share and split seed choose the held-out images; ``epochs`` and
        ``minutes`` here override its length.
    animal
        The animal whose labels train the model (index or name).
    init_from
        A model file to start from (fine-tuning, e.g. the previous run's best model after
        adding corrected frames); ``"previous"``: the best model of this name's latest run;
        a zoo model's name (``"topview_mouse"``): its keypoints carried over to the project's
        by name, the others learned from the labels.
    adapt
        Before training on the labels, adapt the starting model to the project's videos
        (:func:`poselab.zoo.adapt_to_video`: self-training on its own confident, consistent
        predictions, no labels), e.g. a zoo model meeting this lab's arena and camera. True for
        the default settings, or a :class:`poselab.zoo.AdaptConfig`.
    """

    project: Any = field(repr=False)
    name: str = "model"
    epochs: int | None = None
    minutes: float | None = 5.0
    recipe: Any = None
    animal: str | int = 0
    init_from: str | Path | None = None
    adapt: Any = False
    state: str = "idle"
    records: list = field(default_factory=list, repr=False)
    run_dir: Path | None = None
    error: BaseException | None = None
    model: Any = field(default=None, repr=False)
    job: Any = field(default=None, repr=False)
    listeners: list = field(default_factory=list, repr=False)
    listener_error: BaseException | None = field(default=None, repr=False)
    _watcher: threading.Thread | None = field(default=None, repr=False)
    _adaptive: bool = field(default=False, repr=False)
    _stop_asked: bool = field(default=False, repr=False)

    # "preparing": the model is being built and the data read, before the first epoch starts
    STATES = ("idle", "preparing", "running", "stopping", "finished", "stopped", "failed")

    def __post_init__(self) -> None:
        from poselab.model.recipe import Recipe

        if self.recipe is None:  # chosen from the training images when training starts
            self.recipe, self._adaptive = Recipe(), True

    # --- data and setup -------------------------------------------------------------------------

    def data(self):
        """``(train_set, test_set)`` :class:`~poselab.model.LabeledImages` from the label store."""
        from poselab.model.recipe import project_images

        data = project_images(self.project, animal=self.animal)
        if len(data) < 3:
            raise TrainingSessionError(
                f"only {len(data)} labeled images: label at least 3 frames (project.label()) first")
        return self.recipe.split(data)

    def _next_run_dir(self) -> Path:
        base = Path(self.project.models_dir) / self.name
        taken = [int(p.name[4:]) for p in base.glob("run-*") if p.name[4:].isdigit()] if base.exists() else []
        return base / f"run-{max(taken, default=0) + 1:03d}"

    def previous_best(self) -> Path | None:
        """The best model file of this name's latest finished run, if any."""
        base = Path(self.project.models_dir) / self.name
        runs = sorted(p for p in base.glob("run-*") if (p / "best.safetensors").is_file()) if base.exists() else []
        return runs[-1] / "best.safetensors" if runs else None

    def make_model(self):
        """The model to train: the recipe's new model with the project's parts and left/right
        pairs, or the model file of ``init_from`` to fine-tune."""
        init = self.init_from
        if init == "previous":
            init = self.previous_best()
        elif isinstance(init, str) and not Path(init).is_file():
            from poselab import zoo

            init = zoo.load(init)  # a zoo model's name; an unknown name says which exist
        model = self.recipe.model(list(self.project.parts), init_from=init,
                                  flip_pairs=self.project.config.flip_pairs)
        if model.parts != list(self.project.parts):
            raise TrainingSessionError(f"{init} predicts {model.parts}, not the project's parts")
        return model

    # --- running --------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """True from the moment training is asked to start until it has ended."""
        return self.state in ("preparing", "running", "stopping")

    def start(self) -> Path:
        """Start training in a background thread; returns the new run folder.

        Only the labels are read here (so that a project without enough labels is refused at
        once); the model is built and training runs in the background, the session in state
        ``"preparing"`` until the first epoch starts.
        """
        if self.running:
            raise TrainingSessionError(
                "training is already running: wait for it (session.wait()) or stop it first")
        if self.epochs is None and self.minutes is None:
            raise TrainingSessionError("give epochs or minutes")
        train_set, test_set = self.data()
        self.run_dir = self._next_run_dir()
        self.run_dir.mkdir(parents=True)  # taken now: a second session picks the next number
        self.records, self.error, self.job, self._stop_asked = [], None, None, False
        self.state = "preparing"
        self._notify()
        self._watcher = threading.Thread(target=self._run, args=(train_set, test_set),
                                         name="poselab-train-session", daemon=True)
        self._watcher.start()
        return self.run_dir

    def _run(self, train_set: Any, test_set: Any) -> None:
        # The session's thread: build the model, start the training thread, wait for its end.
        from poselab.model import train_in_background

        try:
            if self._adaptive:
                from poselab.model.recipe import Recipe

                self.recipe = Recipe.for_data(train_set, train=self.recipe.train)
            self.model = self.make_model()
            if self.adapt:
                from poselab.zoo import adapt_to_video

                settings = None if self.adapt is True else self.adapt
                for video in self.project.videos:
                    self.model = adapt_to_video(self.model, self.project.path(video), settings)
            length = ({"epochs": int(self.epochs), "minutes": None} if self.epochs is not None
                      else {"epochs": None, "minutes": float(self.minutes)})
            config = self.recipe.train.replace(resume=False, progress=False, **length)
            if self._stop_asked:  # stopped while preparing: nothing trained
                self.state = "stopped"
                return
            self.job = train_in_background(self.model, train_set, config, test_data=test_set,
                                           out_dir=self.run_dir, callback=self._on_record)
            if self._stop_asked:
                self.job.stop()
            else:
                self.state = "running"
            self._notify()
            self.job.thread.join()
            self.error = self.job.error
            if self.job.error is not None:
                self.state = "failed"
            elif self.job.history is not None and self.job.history.stopped:
                self.state = "stopped"
            else:
                self.state = "finished"
        except Exception as exc:  # shown in the status line, never lost in a thread
            self.error, self.state = exc, "failed"
        finally:
            self._notify()

    def _on_record(self, record: dict, _model: Any) -> None:
        # Runs in the training thread after each epoch.
        self.records.append(dict(record))
        self._notify()

    def _notify(self) -> None:
        # Listeners draw the widget: a drawing error must not end the training run it shows.
        for listener in list(self.listeners):
            try:
                listener(self)
            except Exception as exc:
                self.listener_error = exc
                log.warning("poselab training display failed (training goes on): %r", exc)

    def stop(self, wait: bool = False, timeout: float | None = 60.0) -> None:
        """Ask training to stop at its next step (the current epoch's checkpoint stays)."""
        if not self.running:
            return
        self._stop_asked = True
        self.state = "stopping"
        self._notify()
        if self.job is not None:
            self.job.stop()
        if wait:
            self.wait(timeout)

    def wait(self, timeout: float | None = None) -> str:
        """Block until training (and its bookkeeping) ends; returns the final state."""
        if self._watcher is not None:
            self._watcher.join(timeout)
        return self.state

    # --- what the widget shows ------------------------------------------------------------------

    def curves(self) -> dict[str, list[float]]:
        """Per-epoch curves: ``epoch``/``loss`` (every epoch) and ``test_epoch``/``test_rmse_px``
        (epochs with a test evaluation; pixels)."""
        recs = list(self.records)
        tested = [r for r in recs if r.get("test_rmse_px") is not None and math.isfinite(r["test_rmse_px"])]
        return {
            "epoch": [int(r["epoch"]) for r in recs],
            "loss": [float(r["loss"]) for r in recs],
            "test_epoch": [int(r["epoch"]) for r in tested],
            "test_rmse_px": [float(r["test_rmse_px"]) for r in tested],
        }

    def best(self) -> dict | None:
        """The best epoch so far (lowest test RMSE, as :func:`~poselab.model.train` keeps it):
        ``epoch``, ``test_rmse_px``, ``path`` (its checkpoint); None before any test."""
        c = self.curves()
        if not c["test_epoch"]:
            return None
        i = min(range(len(c["test_rmse_px"])), key=lambda k: (c["test_rmse_px"][k], c["test_epoch"][k]))
        path = self.run_dir / "best.safetensors" if self.run_dir is not None else None
        return {"epoch": c["test_epoch"][i], "test_rmse_px": c["test_rmse_px"][i], "path": path}

    @property
    def best_path(self) -> Path | None:
        """The best checkpoint of the current run (``run-NNN/best.safetensors``), once written."""
        if self.run_dir is None or not (self.run_dir / "best.safetensors").is_file():
            return None
        return self.run_dir / "best.safetensors"

    def best_model(self):
        """Load the best checkpoint of the current run."""
        from poselab.model import load_model

        if self.best_path is None:
            raise TrainingSessionError("no checkpoint yet: start training and wait for an epoch")
        return load_model(self.best_path)

    def eta_seconds(self) -> float | None:
        """Seconds left: the rest of the time budget, or the remaining epochs at the mean
        epoch time so far (training + evaluation); 0 when done, None before the first epoch."""
        if not self.running:
            return 0.0 if self.state in ("finished", "stopped") else None
        recs = list(self.records)
        if not recs:
            return None
        elapsed = float(recs[-1].get("seconds", 0.0))
        if self.epochs is None:
            return max(0.0, float(self.minutes) * 60 - elapsed)
        per_epoch = sum(r.get("epoch_seconds", 0.0) + r.get("eval_seconds", 0.0) for r in recs) / len(recs)
        return max(0, int(self.epochs) - int(recs[-1]["epoch"])) * per_epoch

    def status(self) -> str:
        """A one-line summary, e.g. ``running: epoch 3/10, loss 0.120, test RMSE 4.2 px, best
        4.2 px at epoch 3, ETA 12 s``."""
        recs = list(self.records)
        parts = [self.state]
        if self.state == "failed" and self.error is not None:
            return f"failed: {type(self.error).__name__}: {self.error}"
        if self.state == "preparing":
            return "preparing: reading the labeled frames and building the model..."
        if self.state == "running" and not recs:
            total = f"/{self.epochs}" if self.epochs is not None else ""
            return f"running: epoch 1{total} in progress (the first update comes when it ends)"
        if recs:
            last = recs[-1]
            total = f"/{self.epochs}" if self.epochs is not None else ""
            parts.append(f"epoch {last['epoch']}{total}, loss {last['loss']:.3f}")
            if last.get("test_rmse_px") is not None:
                parts.append(f"test RMSE {last['test_rmse_px']:.2f} px")
        best = self.best()
        if best is not None:
            parts.append(f"best {best['test_rmse_px']:.2f} px at epoch {best['epoch']}")
        eta = self.eta_seconds()
        if self.running and eta is not None:
            parts.append(f"ETA {_duration(eta)}")
        return parts[0] + (": " + ", ".join(parts[1:]) if len(parts) > 1 else "")


def epoch_ticks(epochs: Sequence[int], planned: int | None = None,
                max_ticks: int = 6) -> tuple[int, int, list[int]]:
    """Axis range and ticks for curves over epochs: whole epochs only, each tick once.

    d3's automatic ticks on a short range are fractional (0, 0.2, ...), which an integer
    format prints as "0 0 0 1 1": the widget sets these instead.

    Parameters
    ----------
    epochs
        The epochs that have a point (empty before training).
    planned
        The number of epochs asked for (the axis spans 1..planned from the start), or None.
    max_ticks
        The most ticks wanted (>= 2).

    Returns
    -------
    tuple
        ``(low, high, ticks)``: the axis range (epochs) and the tick epochs, whole numbers in
        increasing order, the first epoch always among them.
    """
    epochs = [int(e) for e in epochs]
    low = min(epochs) if epochs else 1
    high = max([low + 1, *epochs, int(planned or 0)])
    step = next(k * 10**e for e in range(12) for k in (1, 2, 5) if (high - low) / (k * 10**e) <= max_ticks - 1)
    ticks = [low] + [t for t in range((low // step + 1) * step, high + 1, step) if t > low]
    return low, high, ticks


def _duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def on_change(session: TrainingSession, fn: Callable[[TrainingSession], None]) -> None:
    """Call ``fn(session)`` after every epoch and state change (from the training thread)."""
    session.listeners.append(fn)
