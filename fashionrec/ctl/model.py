"""Complete the Look (Kang et al., CVPR 2019): scene-based complementary product recommendation.

A scene (a person wearing an outfit, with one product's region masked out) and a product image of
that product's category: is the product the missing piece of the look? The model is a small head
on a **frozen** pretrained backbone whose features are computed once and cached:

- global distance  d_g(s, p) = || e(s) - e(p) ||^2 on L2-normalised embeddings of the scene's and
  the product's pooled features (ResNet-50 block 4 in the paper);
- local distance   d_l(s, p) = sum_i a_i || f_i - e(p) ||^2 over the scene's regions f_i (an
  intermediate map, ResNet-50 block 3 in the paper), weighted by a category-conditioned attention
  a_i = softmax_i(-|| f_i - e_c ||^2), e_c a learned, L2-normalised embedding of the category;
- d = (d_g + d_l) / 2, trained with the hinge triplet loss max(0, d(s, p+) - d(s, p-) + m) on
  (scene, positive, negative of the same category).

This module holds the model and the loss; the data (cached features of FashionWorld or STL-Fashion
triplets) are in ``fashionrec.ctl.data``, training in ``fashionrec.ctl.train``, scoring in
``fashionrec.ctl.evaluate``.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from fashionrec.store import Standardiser

MODES = ("full", "global", "local")


# ----- the model ---------------------------------------------------------------------------------
def _mlp(d_in: int, hidden: int, d_out: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d_in, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, d_out))


class CTL(nn.Module):
    """The CTL head on frozen features: global + category-attended local distance (Kang et al. 2019).

    ``mode``: ``"full"`` = (d_g + d_l) / 2, ``"global"`` = d_g only, ``"local"`` = d_l only.
    """

    def __init__(self, scene_dim: int, region_dim: int, product_dim: int, n_categories: int,
                 embed_dim: int = 128, hidden: int = 256, dropout: float = 0.1, mode: str = "full"):
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}; got {mode!r}")
        self.mode = mode
        self.scene = _mlp(scene_dim, hidden, embed_dim, dropout)  # e(s) from the last-level features
        self.product = _mlp(product_dim, hidden, embed_dim, dropout)  # e(p)
        self.region = nn.Linear(region_dim, embed_dim)  # f_i: a 1 x 1 convolution of the mid-level map
        self.category = nn.Embedding(n_categories, embed_dim)  # e_c
        for name, dim in (("scene", scene_dim), ("product", product_dim), ("region", region_dim)):
            self.register_buffer(f"{name}_mean", torch.zeros(dim))  # fixed input standardisation, see
            self.register_buffer(f"{name}_std", torch.ones(dim))  # ``set_standardization``

    @torch.no_grad()
    def set_standardization(self, scene: Standardiser, product: Standardiser, region: Standardiser) -> None:
        """Standardise each input dimension with statistics fitted on training rows (``store.Standardiser``):
        scene and product feature rows, and region cells (one mean and std per channel). The statistics
        are buffers, so they are saved with the checkpoint."""
        for name, fitted in (("scene", scene), ("product", product), ("region", region)):
            getattr(self, f"{name}_mean").copy_(torch.from_numpy(np.asarray(fitted.mean)))
            getattr(self, f"{name}_std").copy_(torch.from_numpy(np.asarray(fitted.std) + fitted.eps))

    def embed_product(self, products: Tensor) -> Tensor:
        """(..., D) product features -> (..., d) unit vectors e(p)."""
        return F.normalize(self.product((products - self.product_mean) / self.product_std), dim=-1)

    def embed_scene(self, scene_global: Tensor, regions: Tensor) -> tuple[Tensor, Tensor]:
        """e(s) (B, d) and region embeddings f_i (B, R, d), all unit vectors; regions is (B, C, h, w)."""
        cells = (regions.flatten(2).transpose(1, 2) - self.region_mean) / self.region_std  # (B, R, C)
        e_s = self.scene((scene_global - self.scene_mean) / self.scene_std)  # (B, d)
        return F.normalize(e_s, dim=-1), F.normalize(self.region(cells), dim=-1)

    def attention(self, f: Tensor, category: Tensor) -> Tensor:
        """a_i = softmax_i(-|| f_i - e_c ||^2): (B, R, d), (B,) -> (B, R)."""
        e_c = F.normalize(self.category(category), dim=-1)  # (B, d)
        return torch.softmax(-((f - e_c[:, None]) ** 2).sum(-1), dim=1)

    @staticmethod
    def global_distance(e_s: Tensor, e_p: Tensor) -> Tensor:
        """d_g = || e(s) - e(p) ||^2: (B, d), (B, K, d) -> (B, K)."""
        return ((e_s[:, None] - e_p) ** 2).sum(-1)

    @staticmethod
    def local_distance(f: Tensor, a: Tensor, e_p: Tensor) -> Tensor:
        """d_l = sum_i a_i || f_i - e(p) ||^2: (B, R, d), (B, R), (B, K, d) -> (B, K).

        Expanded as sum_i a_i ||f_i||^2 - 2 (sum_i a_i f_i) . e(p) + ||e(p)||^2 (the weights sum to
        1), which scores K candidates without a (B, R, K, d) tensor.
        """
        pooled = torch.einsum("br,brd->bd", a, f)  # (B, d)
        return ((a * (f ** 2).sum(-1)).sum(1, keepdim=True) - 2 * torch.einsum("bd,bkd->bk", pooled, e_p)
                + (e_p ** 2).sum(-1))

    def forward(self, scene_global: Tensor, regions: Tensor, category: Tensor, products: Tensor) -> Tensor:
        """Distances d(s, p) of each scene to K candidate products: products (B, K, D) -> (B, K).

        d = (d_g + d_l) / 2 (``mode="full"``), or one of the two.
        """
        e_s, f = self.embed_scene(scene_global, regions)
        e_p = self.embed_product(products)
        if self.mode == "global":
            return self.global_distance(e_s, e_p)
        d_l = self.local_distance(f, self.attention(f, category), e_p)
        return d_l if self.mode == "local" else (self.global_distance(e_s, e_p) + d_l) / 2


def triplet_loss(d_pos: Tensor, d_neg: Tensor, margin: float) -> Tensor:
    """Hinge triplet loss, mean over the batch: max(0, d(s, p+) - d(s, p-) + m)."""
    return F.relu(d_pos - d_neg + margin).mean()


def raw_distance(scene_global: np.ndarray, products: np.ndarray) -> np.ndarray:
    """The untrained baseline: || s/|s| - p/|p| ||^2 between raw backbone features; (N, D), (N, K, D) -> (N, K)."""
    s = scene_global / np.linalg.norm(scene_global, axis=-1, keepdims=True)
    p = products / np.linalg.norm(products, axis=-1, keepdims=True)
    return ((s[:, None] - p) ** 2).sum(-1)
