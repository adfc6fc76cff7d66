"""Training the Complete the Look head with ``fashionrec.train.fit``: triplet batches, the loss, a fresh model.

Each training scene brings its ``train_negatives`` same-category negatives, i.e. that many triplets
(scene, positive, negative) sharing the scene's embedding; the loss averages the hinge over all of them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, TensorDataset

from fashionrec.ctl.config import Config
from fashionrec.ctl.data import CTLData, CTLSplit
from fashionrec.ctl.model import CTL, triplet_loss
from fashionrec.config import TrainConfig
from fashionrec.store import Standardiser
from fashionrec.train import loader_options

STATS_ROWS = 2000  # training scenes whose features fit the standardisers


class TripletBatch:
    """collate_fn: scene rows -> features of the scenes, their positives and their training negatives."""

    def __init__(self, split: CTLSplit, products: np.ndarray, in_memory_bytes: float = 2e9):
        self.split, self.products = split, products
        self.regions = split.regions  # float16, maybe memory-mapped
        if split.regions.size * 4 <= in_memory_bytes:  # small enough: convert once, not every batch
            self.regions = np.asarray(split.regions, np.float32)

    def __call__(self, rows: list[tuple[Tensor]]) -> dict[str, Tensor]:
        scene = np.sort(np.array([int(r[0]) for r in rows]))  # memory-mapped maps read faster in order
        s = self.split
        return dict(scene_global=torch.from_numpy(np.array(s.scene_global[scene], np.float32)),
                    regions=torch.from_numpy(np.array(self.regions[scene], np.float32)),
                    category=torch.from_numpy(s.category[scene]),
                    positive=torch.from_numpy(self.products[s.positive[scene]]),  # (B, D)
                    negatives=torch.from_numpy(self.products[s.train_negatives[scene]]))  # (B, m, D)


def train_loader(data: CTLData, batch_size: int, generator: torch.Generator,
                 cfg: TrainConfig | None = None) -> DataLoader:
    """Training scenes in batches, shuffled with ``generator``; each brings its m ``train_negatives``,
    i.e. m triplets (scene, positive, negative) that share the scene's embedding. ``cfg``: the
    workers and pinned memory of ``train.loader_options`` (default: none)."""
    split = data.splits["train"]
    return DataLoader(TensorDataset(torch.arange(len(split.positive))), batch_size=batch_size, shuffle=True,
                      generator=generator, collate_fn=TripletBatch(split, data.products),
                      **loader_options(cfg or TrainConfig()))


def make_loss(margin: float) -> Callable[[CTL, dict], Tensor]:
    """(model, batch) -> the hinge triplet loss averaged over every (scene, positive, negative), for ``train.fit``."""
    def loss_fn(model: CTL, batch: dict) -> Tensor:
        products = torch.cat([batch["positive"][:, None], batch["negatives"]], dim=1)  # (B, 1 + m, D)
        d = model(batch["scene_global"], batch["regions"], batch["category"], products)  # (B, 1 + m)
        return triplet_loss(d[:, :1], d[:, 1:], margin)
    return loss_fn


def training_standardisers(data: CTLData) -> tuple[Standardiser, Standardiser, Standardiser]:
    """``store.Standardiser`` of the scene, product and region features, fitted on training rows only:
    (at most ``STATS_ROWS``) training scenes, the training pool's products, and the region cells of
    those scenes (one mean and std per channel)."""
    split = data.splits["train"]
    rows = np.linspace(0, len(split.positive) - 1, min(len(split.positive), STATS_ROWS)).astype(int)
    pool = np.unique(np.concatenate([split.positive, split.train_negatives.ravel()]))
    regions = np.asarray(split.regions[rows], np.float64)  # (N, C, h, w)
    cells = regions.transpose(0, 2, 3, 1).reshape(-1, regions.shape[1])  # (N * h * w, C)
    return (Standardiser.fit(split.scene_global[rows], eps=1e-3),
            Standardiser.fit(data.products[pool], eps=1e-3), Standardiser.fit(cells, eps=1e-3))


def build_model(data: CTLData, cfg: Config, mode: str = "full") -> CTL:
    """A fresh CTL head sized for ``data``'s features (call after ``config.seed_everything``), its inputs
    standardised with training statistics when ``cfg.standardize``."""
    split = data.splits["train"]
    model = CTL(split.scene_global.shape[1], split.regions.shape[1], data.products.shape[1], len(data.categories),
                cfg.embed_dim, cfg.hidden, cfg.dropout, mode)
    if cfg.standardize:
        model.set_standardization(*training_standardisers(data))
    return model
