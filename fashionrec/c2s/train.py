"""Chapter 3's training: the (consumer, shop) pairs, the model and loader for ``train.fit``, and
the validation metric that picks the best epoch."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from fashionrec.c2s.config import CATEGORIES, Config
from fashionrec.c2s.data import C2SSplit
from fashionrec.c2s.evaluate import category_mean, topk_curves
from fashionrec.c2s.model import SiameseNet, siamese_loss, siamese_vectors
from fashionrec.config import seed_everything
from fashionrec.train import History, fit, loader_options


class PairDataset(Dataset):
    """One item per consumer photo: its shop image (t = 1), ``n_lookalike`` of its hard negatives
    (``C2SSplit.lookalikes``: items of its sub-category) and ``n_random`` other items of its category
    (t = 0), drawn anew at every visit (torch's RNG, which ``train.fit`` saves with its checkpoints)."""

    def __init__(self, query_features: np.ndarray, gallery_features: np.ndarray, data: C2SSplit,
                 n_lookalike: int = 2, n_random: int = 2):
        self.queries = torch.as_tensor(query_features, dtype=torch.float32)  # (Q, D)
        self.gallery = torch.as_tensor(gallery_features, dtype=torch.float32)  # (G, D)
        self.true = torch.as_tensor(data.true_index)
        self.lookalikes = data.lookalikes or [[] for _ in data.photos]
        self.members = {c: torch.as_tensor(np.flatnonzero(data.gallery_categories == c)) for c in CATEGORIES}
        self.categories = data.query_categories
        self.n_lookalike, self.n_random = n_lookalike, n_random

    def __len__(self) -> int:
        return len(self.queries)

    def _random(self, q: int, n: int) -> list[int]:
        members, out = self.members[self.categories[q]], []
        while len(out) < n:
            k = int(members[torch.randint(len(members), ())])
            if k != int(self.true[q]) or len(members) == 1:
                out.append(k)
        return out

    def __getitem__(self, q: int) -> tuple[Tensor, Tensor, Tensor]:
        la = self.lookalikes[q]
        if la:
            hard = [la[int(i)] for i in torch.randint(len(la), (self.n_lookalike,))]
        else:
            hard = self._random(q, self.n_lookalike)
        rows = [int(self.true[q])] + hard + self._random(q, self.n_random)
        targets = torch.zeros(len(rows))
        targets[0] = 1.0
        return self.queries[q], self.gallery[rows], targets  # (D,), (K, D), (K,)


def siamese_setup(cfg: Config, train: C2SSplit, train_features: tuple[np.ndarray, np.ndarray],
                  seed: int = 0) -> tuple[SiameseNet, DataLoader]:
    """A fresh Siamese net for ``seed`` (inputs standardised with the train split's features) and
    the loader of its (query, candidates, targets) batches: what ``train.fit`` needs."""
    generator = seed_everything(seed)
    model = SiameseNet(train_features[0].shape[1], cfg.hidden, cfg.embed_dim, cfg.dropout)
    model.set_input_stats(np.concatenate(train_features))
    pairs = PairDataset(*train_features, train, cfg.n_lookalike, cfg.n_random)
    return model, DataLoader(pairs, batch_size=cfg.train.batch_size, shuffle=True, generator=generator,
                             **loader_options(cfg.train))


def valid_top_k(valid: C2SSplit, valid_features: tuple[np.ndarray, np.ndarray], k: int = 20,
                device: torch.device | str = "cpu") -> Callable[[SiameseNet], float]:
    """``model -> float``: top-``k`` accuracy on the validation split (mean over categories)."""
    ks = np.arange(1, k + 1)

    def valid_fn(model: SiameseNet) -> float:
        q, g = (siamese_vectors(model, f, device) for f in valid_features)
        return category_mean(topk_curves(q, g, valid, "l1", ks), k)
    return valid_fn


def train_siamese(cfg: Config, train: C2SSplit, train_features: tuple[np.ndarray, np.ndarray],
                  valid: C2SSplit | None = None, valid_features: tuple[np.ndarray, np.ndarray] | None = None,
                  seed: int = 0, device: torch.device | str = "cpu", run_dir=None,
                  progress: bool = False) -> tuple[SiameseNet, History]:
    """``siamese_setup`` then ``train.fit``, keeping the epoch with the best validation
    top-``cfg.headline_k`` accuracy (category mean); the notebook spells the same steps out."""
    model, loader = siamese_setup(cfg, train, train_features, seed)
    valid_fn = None
    if valid is not None and valid_features is not None:
        valid_fn = valid_top_k(valid, valid_features, cfg.headline_k, device)
    history = fit(model, loader, siamese_loss, cfg.train, valid_fn=valid_fn, device=device, run_dir=run_dir,
                  progress=progress, desc=f"siamese seed {seed}")
    return model, history
