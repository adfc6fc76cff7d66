"""Chapter 3's model: a Siamese network over (consumer, shop) CNN feature pairs and its loss.

Menezes & Kanitkar (CS231n 2018), method 3: two identical towers and one score per pair, trained
with binary cross-entropy (1 = the same item). The score is a learned, weighted L1 distance
(Koch et al. 2015), so an exact L1 index (``fashionrec.index``) serves it.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from fashionrec import store


class SiameseNet(nn.Module):
    """Shared tower f over CNN features and a learned, weighted L1 score (Koch et al. 2015 style).

    p(same item | x1, x2) = sigma(b - sum_j w_j |f(x1)_j - f(x2)_j|),  w_j = softplus(theta_j) >= 0.

    Because w >= 0, ranking a gallery by p is exactly ranking by the L1 distance between the
    vectors ``embed(x) = w * f(x)``, so an exact L1 faiss index serves the learned score.
    """

    def __init__(self, in_dim: int, hidden: int = 512, embed_dim: int = 128, dropout: float = 0.2):
        super().__init__()
        self.in_dim, self.hidden, self.embed_dim, self.dropout = in_dim, hidden, embed_dim, dropout
        self.register_buffer("in_mean", torch.zeros(in_dim))
        self.register_buffer("in_std", torch.ones(in_dim))
        self.tower = nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Dropout(dropout),
                                   nn.Linear(hidden, embed_dim))
        self.raw_weight = nn.Parameter(torch.full((embed_dim,), -3.0))  # softplus(-3) ~ 0.05
        self.bias = nn.Parameter(torch.tensor(3.0))

    def set_input_stats(self, features: np.ndarray | Tensor) -> None:
        """Standardise inputs with the per-dimension mean and std of (N, in_dim) training features
        (``store.Standardiser``), stored in the model so that a checkpoint serves on its own."""
        stats = store.Standardiser.fit(np.asarray(features))
        self.in_mean.copy_(torch.as_tensor(stats.mean, dtype=torch.float32))
        self.in_std.copy_(torch.as_tensor(stats.std + stats.eps, dtype=torch.float32))

    def embed(self, x: Tensor) -> Tensor:
        """(..., in_dim) CNN features -> (..., embed_dim) weighted tower output w * f(x)."""
        return self.tower((x - self.in_mean) / self.in_std) * F.softplus(self.raw_weight)

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        """Logit of p(same item): (..., in_dim) x2 -> (...,)."""
        return self.bias - (self.embed(x1) - self.embed(x2)).abs().sum(-1)


def siamese_loss(model: SiameseNet, batch: tuple[Tensor, Tensor, Tensor]) -> Tensor:
    """Binary cross-entropy on (consumer, shop) pairs (the paper's loss):
    L = -[t log p + (1 - t) log(1 - p)], t = 1 for the same item, 0 otherwise."""
    queries, candidates, targets = batch  # (B, D), (B, K, D), (B, K)
    logits = model(queries[:, None, :].expand_as(candidates), candidates)  # (B, K)
    return F.binary_cross_entropy_with_logits(logits, targets)


@torch.no_grad()
def siamese_vectors(model: SiameseNet, features: np.ndarray, device: torch.device | str = "cpu",
                    batch_size: int = 4096) -> np.ndarray:
    """(N, embed_dim) vectors ``w * f(x)``; their L1 distance ranks exactly as the learned score."""
    was_training = model.training
    model.eval()
    x = torch.as_tensor(features, dtype=torch.float32)
    out = torch.cat([model.embed(x[i:i + batch_size].to(device)).cpu() for i in range(0, len(x), batch_size)])
    model.train(was_training)
    return out.numpy()


def save_siamese(path, model: SiameseNet, backbone_state: dict | None = None, **meta) -> None:
    """A self-describing checkpoint: the state dict, the sizes to rebuild the net, and ``meta``
    (backbone, pretrained, image_size, cnn_size); a backbone without shipped weights adds its
    ``backbone_state``. Plain types and tensors only, so ``weights_only=True`` loads it."""
    sizes = dict(in_dim=model.in_dim, hidden=model.hidden, embed_dim=model.embed_dim, dropout=model.dropout)
    ckpt = {"model": {k: v.cpu() for k, v in model.state_dict().items()}, "config": {**sizes, **meta}}
    if backbone_state is not None:
        ckpt["backbone"] = {k: v.cpu() for k, v in backbone_state.items()}
    store.save_torch(path, ckpt)


def load_siamese(path) -> tuple[SiameseNet, dict]:
    """Load a checkpoint of :func:`save_siamese` with ``weights_only=True``; returns (model in eval mode, config)."""
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(ckpt, dict) or not {"model", "config"} <= set(ckpt):
        raise ValueError(f"{path}: not a chapter 3 Siamese checkpoint (expected keys 'model' and 'config')")
    cfg = dict(ckpt["config"])
    if "backbone" in ckpt:
        cfg["backbone_state"] = ckpt["backbone"]
    model = SiameseNet(cfg["in_dim"], cfg["hidden"], cfg["embed_dim"], cfg["dropout"])
    model.load_state_dict(ckpt["model"])
    return model.eval(), cfg
