"""Chapter 1's training: the model and its outfit loader for ``train.fit`` (the loss is ``model.loss``).

The paper trains the Bi-LSTM and the VSE jointly (Sec. 3.3) on batches of whole outfits; the
softmax set X of each batch is its distinct images (``softmax="batch"``) or all training images
(``softmax="pool"``).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader

from fashionrec.bilstm.config import Config
from fashionrec.bilstm.data import OutfitTasks, collate_outfits
from fashionrec.bilstm.model import build_model, loss_fn
from fashionrec.config import seed_everything
from fashionrec.train import History, fit, loader_options


def make_loader(cfg: Config, method: str, data: OutfitTasks, generator: torch.Generator) -> DataLoader:
    """Shuffled batches of ``cfg.train.batch_size`` training outfits, collated into X (Sec. 3.1)."""
    pool = None
    if cfg.softmax == "pool" and method != "siamese":
        if data.table.inputs is None or data.table.inputs.dim() != 2:
            raise ValueError("softmax='pool' needs cached features (finetune=False): it encodes every "
                             "training image at each step")
        pool = sorted({i for o in data.train for i in o[:cfg.max_items]})
    elif cfg.softmax not in ("batch", "pool"):
        raise ValueError(f"softmax must be 'batch' or 'pool'; got {cfg.softmax!r}")
    return DataLoader(data.train, batch_size=cfg.train.batch_size, shuffle=True, generator=generator,
                      collate_fn=collate_outfits(data.table, cfg.max_items, pool),
                      drop_last=len(data.train) > cfg.train.batch_size, **loader_options(cfg.train))


def model_and_loader(cfg: Config, method: str, data: OutfitTasks, seed: int) -> tuple[nn.Module, DataLoader]:
    """Seed everything with ``seed``, then build the model of ``method`` and its training loader."""
    generator = seed_everything(seed)
    model = build_model(cfg, method, data.in_dim, len(data.vocab))
    return model, make_loader(cfg, method, data, generator)


def train_method(cfg: Config, method: str, data: OutfitTasks, seed: int, device: torch.device | str = "cpu",
                 run_dir: Path | str | None = None, progress: bool = False) -> tuple[nn.Module, History]:
    """Train one method with the shared fit loop (a finished run in ``run_dir`` is loaded, not retrained)."""
    model, loader = model_and_loader(cfg, method, data, seed)
    history = fit(model, loader, loss_fn, cfg.train, device=device, run_dir=run_dir, progress=progress,
                  desc=method)
    return model, history
