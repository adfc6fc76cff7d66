"""The one training loop every chapter uses: ``fit(model, train_loader, loss_fn, cfg)``.

A chapter supplies a loss function ``(model, batch) -> scalar loss`` and, optionally, a
validation function ``model -> metric`` (higher is better). ``fit`` does the rest: optimiser and
learning-rate schedule from ``TrainConfig``, gradient clipping, mixed precision (CUDA only),
early stopping, keeping the best weights, and checkpoints that resume bit-identically.

With ``run_dir`` set, ``fit`` writes (all loadable with ``torch.load(path, weights_only=True)``)::

    run_dir/last.pt       everything needed to resume; rewritten after every finished epoch
    run_dir/best.pt       the best model state dict
    run_dir/history.csv   epoch, train_loss, valid_metric, lr, seconds

Each is written atomically, best.pt before last.pt, so a kill between the two leaves best.pt ahead (the
resumed epoch rewrites it), never behind; ``last.pt`` also holds the best state, and a resume rewrites a
best.pt that is missing, damaged or out of step with it. A damaged ``last.pt`` raises
``store.DamagedFile`` naming it (delete it, or ``resume=False``).

Resuming is exact because ``last.pt`` also holds the random-number states (torch, CUDA, NumPy,
Python, and the DataLoader's own ``generator``), saved after the epoch's validation. Dropout
masks and the shuffling order of the next epoch are therefore the same whether or not training
was stopped in between. Build shuffling DataLoaders with
``generator=config.seed_everything(seed)`` so their order depends on the seed alone.
"""

from __future__ import annotations

import math
import os
import random
import time
from collections.abc import Callable, Iterable, Sized
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from fashionrec import report, store
from fashionrec.config import TrainConfig
from fashionrec.optim import Adam

LossFn = Callable[[nn.Module, Any], Tensor]  # (model, batch) -> scalar loss; batch on device
ValidFn = Callable[[nn.Module], float]  # model -> validation metric, higher is better
COLUMNS = ["epoch", "train_loss", "valid_metric", "lr", "seconds"]
CHECKPOINT_KEYS = ("model", "optimizer", "scheduler", "scaler", "rng", "epoch", "history", "best_metric",
                   "best_state", "bad_epochs", "stopped")  # what last.pt holds (fit resumes from all of it)
RESUME_FIX = "to train from scratch, or call fit(..., resume=False)"


@dataclass
class History:
    """One row per finished epoch: epoch, train_loss, valid_metric (NaN if none), lr, seconds."""

    rows: list[dict] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=COLUMNS)

    @property
    def best_epoch(self) -> int | None:
        """Epoch with the highest validation metric (first one on ties), else the last epoch."""
        frame = self.to_frame()
        if frame.empty:
            return None
        if frame["valid_metric"].isna().all():
            return int(frame["epoch"].iloc[-1])
        return int(frame.loc[frame["valid_metric"].idxmax(), "epoch"])


def make_optimizer(params: Iterable, cfg: TrainConfig) -> torch.optim.Optimizer:
    """``cfg.optimizer`` ("adam" | "adamw" | "sgd") over ``params`` with lr and weight decay.

    Adam and AdamW are ``fashionrec.optim.Adam``: torch's update with a correctly rounded square root.
    """
    if cfg.optimizer in ("adam", "adamw"):  # with a correctly rounded sqrt: the same on every CPU
        return Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay, decoupled=cfg.optimizer == "adamw")
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum,
                               weight_decay=cfg.weight_decay)
    raise ValueError(f"cfg.optimizer must be 'adam', 'adamw' or 'sgd'; got {cfg.optimizer!r}")


def make_scheduler(optimizer: torch.optim.Optimizer, cfg: TrainConfig,
                   steps_per_epoch: int) -> torch.optim.lr_scheduler.LambdaLR:
    """Learning-rate schedule, stepped after every batch.

    "none": constant. "step": multiplied by ``cfg.step_gamma`` every ``cfg.step_epochs`` epochs
    (Han et al. 2017, Sec. 4.1: halved every 2 epochs). "cosine": from ``cfg.lr`` down to 0 over
    ``cfg.epochs`` epochs.
    """
    if cfg.schedule not in ("none", "step", "cosine"):
        raise ValueError(f"cfg.schedule must be 'none', 'step' or 'cosine'; got {cfg.schedule!r}")
    if cfg.schedule != "none" and steps_per_epoch <= 0:
        raise ValueError(f"schedule {cfg.schedule!r} needs steps_per_epoch > 0 "
                         f"(a train_loader with a len()); got {steps_per_epoch}")
    total = cfg.epochs * steps_per_epoch

    def factor(step: int) -> float:
        if cfg.schedule == "step":
            return cfg.step_gamma ** (step // (cfg.step_epochs * steps_per_epoch))
        if cfg.schedule == "cosine":
            return 0.5 * (1 + math.cos(math.pi * min(step, total) / total))
        return 1.0

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def _batch_size(batch: Any) -> int:
    """The number of samples in a batch: the first dimension of its first tensor (0 if none)."""
    if isinstance(batch, Tensor):
        return int(batch.shape[0]) if batch.ndim else 1
    if isinstance(batch, dict):
        batch = list(batch.values())
    if isinstance(batch, (list, tuple)):
        return next((n for n in map(_batch_size, batch) if n), 0)
    return 0


def move_to(batch: Any, device: str | torch.device) -> Any:
    """Move the tensors in ``batch`` (nested tuples, lists, dicts) to ``device``."""
    if isinstance(batch, Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, dict):
        return {key: move_to(value, device) for key, value in batch.items()}
    if isinstance(batch, (list, tuple)):
        moved = [move_to(value, device) for value in batch]
        return type(batch)(*moved) if hasattr(batch, "_fields") else type(batch)(moved)
    return batch


def loader_options(cfg: TrainConfig) -> dict[str, Any]:
    """The DataLoader keywords every chapter's training loader takes from ``cfg``: ``num_workers``
    worker processes (each seeds NumPy and ``random`` from its torch seed, which the loader's
    ``generator`` decides; started anew each epoch, since persistent workers would skip the epoch's
    draw from the generator: so the batches are those of ``num_workers=0``, and a resume stays exact)
    and pinned host memory when CUDA is there (so ``move_to``'s ``non_blocking`` copies overlap)."""
    workers = max(0, int(cfg.num_workers))
    options: dict[str, Any] = dict(num_workers=workers, pin_memory=torch.cuda.is_available())
    if workers:
        options |= dict(worker_init_fn=_seed_worker)
    return options


def _seed_worker(worker_id: int) -> None:
    seed = torch.initial_seed() % 2**32  # the loader's generator gives each worker its own
    np.random.seed(seed)
    random.seed(seed)


def fit(model: nn.Module, train_loader: Iterable, loss_fn: LossFn, cfg: TrainConfig, *,
        valid_fn: ValidFn | None = None, device: str | torch.device = "cpu",
        run_dir: str | Path | None = None, resume: bool = True, params: Iterable | None = None,
        progress: bool = True, desc: str = "train") -> History:
    """Train ``model`` for ``cfg.epochs`` epochs and leave it holding its best weights.

    Each batch: ``loss_fn(model, batch)`` (under autocast when ``cfg.amp`` and on CUDA), backward,
    gradient clipping to ``cfg.grad_clip``, optimiser step, schedule step. After each epoch:
    ``valid_fn(model)`` in eval mode under ``torch.no_grad()``; training stops early after
    ``cfg.patience`` epochs without improvement. At the end the best weights (highest valid
    metric; the last ones without ``valid_fn``) are loaded into ``model``, left in eval mode.

    Args:
        model: moved to ``device``.
        train_loader: yields batches; a DataLoader with a ``generator`` for exact resumes.
        loss_fn: ``(model, batch) -> scalar``; the batch is already on ``device``.
        cfg: optimiser, schedule, clipping, AMP and early-stopping settings.
        valid_fn: ``model -> float``, higher is better.
        device: where to train.
        run_dir: folder for ``last.pt``, ``best.pt`` and ``history.csv``; None = no files (also
            when ``$FASHIONREC_CHECKPOINTS`` is "0", as in ``fashionrec paper-path``).
        resume: continue from ``run_dir/last.pt`` when it exists. A finished run trains no
            further: its best weights are loaded and its history returned.
        params: parameters to optimise (default: all with ``requires_grad``).
        progress: show a tqdm bar per epoch with the running loss.
        desc: label of the progress bar.

    Returns:
        The History of all epochs, including those of earlier runs that were resumed.
    """
    began = time.perf_counter()
    if os.environ.get("FASHIONREC_CHECKPOINTS") == "0":  # paper-path and the GPU check: no files
        run_dir = None
    device = torch.device(device)
    model.to(device)
    params = [p for p in model.parameters() if p.requires_grad] if params is None else list(params)
    optimizer = make_optimizer(params, cfg)
    clipped = [p for group in optimizer.param_groups for p in group["params"]]
    steps_per_epoch = len(train_loader) if isinstance(train_loader, Sized) else 0
    scheduler = make_scheduler(optimizer, cfg, steps_per_epoch)
    use_amp = cfg.amp and device.type == "cuda"
    # bf16 autocast where the GPU has it (no loss scaling needed), else fp16 with a GradScaler
    amp_dtype = torch.bfloat16 if use_amp and torch.cuda.is_bf16_supported() else torch.float16
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp and amp_dtype == torch.float16)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        if os.environ.get("FASHIONREC_CHANNELS_LAST") == "1":  # the GPU check: faster convolutions
            model.to(memory_format=torch.channels_last)

    run = dict(history=[], best_metric=-math.inf, best_state=None, bad_epochs=0, stopped=False)
    last = Path(run_dir) / "last.pt" if run_dir is not None else None
    if resume and last is not None and last.exists():
        run.update(_resume(last, model, optimizer, scheduler, scaler, train_loader))
        _sync_best(last.parent, run["best_state"])
    history = History(run["history"])
    n_samples = 0

    for epoch in range(len(history.rows) + 1, cfg.epochs + 1):
        if run["stopped"]:
            break
        start, lr = time.perf_counter(), optimizer.param_groups[0]["lr"]
        model.train()
        total, n_batches = torch.zeros((), device=device), 0
        bar = tqdm(train_loader, desc=f"{desc} {epoch}/{cfg.epochs}", disable=not progress)
        for batch in bar:
            with torch.autocast(device.type, dtype=amp_dtype, enabled=use_amp):
                loss = loss_fn(model, move_to(batch, device))
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if cfg.grad_clip:
                scaler.unscale_(optimizer)  # clip the true gradients, not the scaled ones
                nn.utils.clip_grad_norm_(clipped, cfg.grad_clip)
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            total += loss.detach().float()
            n_batches += 1
            n_samples += _batch_size(batch)
            if progress and n_batches % 10 == 0:
                bar.set_postfix(loss=f"{total.item() / n_batches:.4f}", refresh=False)
        if n_batches == 0:
            raise ValueError("train_loader yielded no batches")
        train_loss = total.item() / n_batches

        metric = math.nan
        if valid_fn is not None:
            model.eval()
            with torch.no_grad():
                metric = float(valid_fn(model))
        if valid_fn is None or metric > run["best_metric"]:
            run.update(best_metric=metric if valid_fn else -math.inf, bad_epochs=0,
                       best_state={k: v.detach().to("cpu", copy=True)
                                   for k, v in model.state_dict().items()})
        else:
            run["bad_epochs"] += 1
        run["stopped"] = cfg.patience is not None and run["bad_epochs"] >= cfg.patience
        history.rows.append(dict(epoch=epoch, train_loss=train_loss, valid_metric=metric, lr=lr,
                                 seconds=time.perf_counter() - start))
        bar.set_postfix(loss=f"{train_loss:.4f}", valid=f"{metric:.4f}")
        bar.close()
        if run_dir is not None:
            _save_run(Path(run_dir), run, epoch, model, optimizer, scheduler, scaler, train_loader)

    if run["best_state"] is not None:
        model.load_state_dict(run["best_state"])
    model.eval()
    peak = torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None
    report.add_time(desc, time.perf_counter() - began, samples=n_samples, peak_bytes=peak)  # stage times
    return history


def _save_run(run_dir: Path, run: dict, epoch: int, model: nn.Module, optimizer, scheduler,
              scaler, train_loader: Iterable) -> None:
    """Write best.pt, then last.pt, then history.csv, each atomically (an interrupt never leaves half a
    file, and a kill between the two checkpoints leaves best.pt ahead of last.pt, never behind)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    ckpt = dict(run, epoch=epoch, model=model.state_dict(), optimizer=optimizer.state_dict(),
                scheduler=scheduler.state_dict(), scaler=scaler.state_dict(),
                rng=_rng_states(train_loader))
    if run["bad_epochs"] == 0:  # this epoch is the best so far
        store.save_torch(run_dir / "best.pt", run["best_state"])
    store.save_torch(run_dir / "last.pt", ckpt)
    csv = History(run["history"]).to_frame().to_csv(index=False)
    store.atomic_write(run_dir / "history.csv", lambda f: f.write(csv), mode="w")


def _resume(last: Path, model: nn.Module, optimizer, scheduler, scaler, train_loader: Iterable) -> dict:
    """Restore model, optimiser, schedule, scaler and random states from ``last``; return the rest of the
    run (history, best state, early-stopping counters). A damaged or foreign file raises DamagedFile."""
    ckpt = store.load_torch(last, keys=CHECKPOINT_KEYS, what="checkpoint", fix=RESUME_FIX)
    try:
        model.load_state_dict(ckpt.pop("model"))
        optimizer.load_state_dict(ckpt.pop("optimizer"))
        scheduler.load_state_dict(ckpt.pop("scheduler"))
        if scaler_state := ckpt.pop("scaler"):
            scaler.load_state_dict(scaler_state)
        _set_rng_states(ckpt.pop("rng"), train_loader)
    except (RuntimeError, ValueError, KeyError, TypeError, IndexError) as err:
        text = (str(err).strip().splitlines() or [""])[0][:200]
        raise store.DamagedFile(f"{last}: checkpoint does not fit this model, optimiser or loader "
                                f"({type(err).__name__}: {text}). Delete it {RESUME_FIX}.") from None
    return ckpt


def _sync_best(run_dir: Path, best_state: dict | None) -> None:
    """Rewrite ``run_dir/best.pt`` from last.pt's best state when it is missing, damaged or out of step
    (a kill between the two writes of an older version of ``fit``), with a one-line warning."""
    if best_state is None:
        return
    path = run_dir / "best.pt"
    found = store.load_torch(path, what="best checkpoint", cache=True) if path.exists() else None
    if (isinstance(found, dict) and found.keys() == best_state.keys()
            and all(isinstance(found[k], Tensor) and torch.equal(found[k], best_state[k]) for k in best_state)):
        return
    if path.exists() and found is not None:
        import warnings

        warnings.warn(f"{path}: out of step with last.pt's best state; rewritten from last.pt",
                      store.RebuiltCache, stacklevel=3)
    store.save_torch(path, best_state)


def _loader_generators(loader: Iterable) -> list[torch.Generator]:
    """The torch.Generators a DataLoader shuffles with: its own and its sampler's."""
    found: list[torch.Generator] = []
    sampler = getattr(loader, "sampler", None)
    batch_sampler = getattr(loader, "batch_sampler", None)
    for owner in (loader, sampler, getattr(batch_sampler, "sampler", None)):
        gen = getattr(owner, "generator", None)
        if isinstance(gen, torch.Generator) and all(gen is not other for other in found):
            found.append(gen)
    return found


def _rng_states(loader: Iterable) -> dict:
    """All random states as tensors and plain lists, so ``weights_only=True`` can load them."""
    name, keys, *numpy_rest = np.random.get_state()
    version, internal, gauss = random.getstate()
    return dict(torch=torch.get_rng_state(),
                cuda=torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
                numpy=[name, torch.from_numpy(keys.astype(np.int64)), *numpy_rest],
                python=[version, list(internal), gauss],
                loader=[gen.get_state() for gen in _loader_generators(loader)])


def _set_rng_states(states: dict, loader: Iterable) -> None:
    torch.set_rng_state(states["torch"])
    for index, state in enumerate(states["cuda"][: torch.cuda.device_count()]):
        torch.cuda.set_rng_state(state, index)
    name, keys, *numpy_rest = states["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), *numpy_rest))
    version, internal, gauss = states["python"]
    random.setstate((version, tuple(internal), gauss))
    for gen, state in zip(_loader_generators(loader), states["loader"]):
        gen.set_state(state)
