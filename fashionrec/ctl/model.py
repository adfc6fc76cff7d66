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

This module holds the config, the model, the loss, training and scoring; the data (cached features
of FashionWorld or STL-Fashion triplets, the FashionWorld oracle) are in ``fashionrec.models.ctl_data``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import DataLoader, TensorDataset

from fashionrec import metrics
from fashionrec.backbones import Backbone, build_backbone
from fashionrec.config import RunConfig, TrainConfig, check_profile

if TYPE_CHECKING:
    from fashionrec.models.ctl_data import CTLData, CTLSplit

MODES = ("full", "global", "local")
KS = (1, 5, 10)


# ----- configuration -----------------------------------------------------------------------------
@dataclass(frozen=True)
class CTLConfig(RunConfig):
    """Every knob of the chapter. ``for_profile`` gives the smoke / standard / paper presets."""

    chapter: str = "ctl"
    backbone: str = "efficientnet_lite0"
    pretrained: bool = True  # EfficientNet-Lite0's ImageNet weights ship with its pip package
    scene_size: int = 128  # scenes are rendered / resized to this side (128 px: an 8 x 8 region map)
    product_size: int = 64
    global_levels: tuple[str, ...] = ("early", "mid", "last")  # pooled levels concatenated into e(s), e(p)'s input
    region_level: str = "mid"  # the map whose cells are the regions f_i
    standardize: bool = True  # per-dimension standardisation of the cached features (training statistics)
    n_scenes: tuple[int | None, int | None, int | None] = (4200, 600, 1200)  # train / valid / test; None = all
    stl_split: tuple[float, float, float] = (0.8, 0.1, 0.1)  # STL-Fashion ships no split: scenes by hash
    train_negatives: int = 8  # same-category negatives per training scene, drawn once
    n_negatives: int = 49  # sampled negatives per test scene for the hit rate (chance k / 50)
    embed_dim: int = 128
    hidden: int = 128
    dropout: float = 0.5
    margin: float = 0.2
    seeds: int = 3  # model seeds seed, seed + 1, ... (the data depend on ``seed`` only)
    train: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=8, batch_size=128, lr=1e-3,
                                                                   weight_decay=1e-3, schedule="cosine"))

    @classmethod
    def for_profile(cls, profile: str = "standard", **run) -> "CTLConfig":
        """smoke = seconds on 2 CPU cores; standard = the book (FashionWorld); paper = ResNet-50, GPU.

        ``paper`` follows the paper where our sources say what it did (frozen ImageNet ResNet-50, block 3
        for regions and block 4 for the global vector, 224 px images, same-category negatives); the
        sizes of the head, the margin and the optimiser settings are our choices. ``standard`` adds the
        pooled early and mid maps to the global vector (EfficientNet-Lite0's last level hardly keeps the
        colours of garments a few pixels wide) and standardises the cached features. ``run`` overrides any
        field (``dataset``, ``data_root``, ``device``, ``seed``, ...).
        """
        presets = {
            "smoke": dict(scene_size=64, n_scenes=(420, 60, 120), n_negatives=19, seeds=1, dropout=0.1,
                          train=TrainConfig(epochs=6, batch_size=64, lr=1e-3, weight_decay=1e-4,
                                            schedule="cosine")),
            "standard": {},
            "paper": dict(backbone="resnet50", scene_size=224, product_size=224, n_scenes=(None, None, None),
                          global_levels=("last",), standardize=False, n_negatives=49, seeds=1, hidden=512,
                          dropout=0.0,
                          train=TrainConfig(epochs=20, batch_size=128, lr=1e-4)),
        }
        return cls(profile=check_profile(profile), **{**presets[profile], **run})


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
    def set_standardization(self, scene: np.ndarray, product: np.ndarray, region: np.ndarray) -> None:
        """Standardise each input dimension with training statistics: rows (N, D) of scene and product
        features, and region maps (N, C, h, w) with one mean and std per channel (read in chunks, so a
        memory-mapped map is never loaded whole)."""
        for name, x, axes in (("scene", scene, (0,)), ("product", product, (0,)), ("region", region, (0, 2, 3))):
            total = total_sq = 0.0
            for a in range(0, len(x), 256):
                chunk = np.asarray(x[a:a + 256], np.float64)
                total, total_sq = total + chunk.sum(axes), total_sq + (chunk ** 2).sum(axes)
            count = len(x) * int(np.prod([x.shape[k] for k in axes[1:]], dtype=int))
            mean = total / count
            getattr(self, f"{name}_mean").copy_(torch.from_numpy(mean))
            getattr(self, f"{name}_std").copy_(torch.from_numpy(np.sqrt(np.maximum(total_sq / count - mean ** 2, 0)) + 1e-3))

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


# ----- training ----------------------------------------------------------------------------------
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


def train_loader(data: CTLData, batch_size: int, generator: torch.Generator) -> DataLoader:
    """Training scenes in batches, shuffled with ``generator``; each brings its m ``train_negatives``,
    i.e. m triplets (scene, positive, negative) that share the scene's embedding."""
    split = data.splits["train"]
    return DataLoader(TensorDataset(torch.arange(len(split.positive))), batch_size=batch_size, shuffle=True,
                      generator=generator, collate_fn=TripletBatch(split, data.products))


def make_loss(margin: float) -> Callable[[CTL, dict], Tensor]:
    """(model, batch) -> the hinge triplet loss averaged over every (scene, positive, negative), for ``train.fit``."""
    def loss_fn(model: CTL, batch: dict) -> Tensor:
        products = torch.cat([batch["positive"][:, None], batch["negatives"]], dim=1)  # (B, 1 + m, D)
        d = model(batch["scene_global"], batch["regions"], batch["category"], products)  # (B, 1 + m)
        return triplet_loss(d[:, :1], d[:, 1:], margin)
    return loss_fn


def build_model(data: CTLData, cfg: CTLConfig, mode: str = "full") -> CTL:
    """A fresh CTL head sized for ``data``'s features (call after ``config.seed_everything``), its inputs
    standardised with training statistics when ``cfg.standardize``."""
    split = data.splits["train"]
    model = CTL(split.scene_global.shape[1], split.regions.shape[1], data.products.shape[1], len(data.categories),
                cfg.embed_dim, cfg.hidden, cfg.dropout, mode)
    if cfg.standardize:  # statistics of (at most 2,000) training scenes and of the training pool's products
        rows = np.linspace(0, len(split.positive) - 1, min(len(split.positive), 2000)).astype(int)
        pool = np.unique(np.concatenate([split.positive, split.train_negatives.ravel()]))
        model.set_standardization(split.scene_global[rows], data.products[pool], split.regions[rows])
    return model


# ----- scoring and evaluation --------------------------------------------------------------------
@torch.no_grad()
def distances(model: CTL, data: CTLData, split: str, products: np.ndarray, device: str | torch.device = "cpu",
              batch_size: int = 256) -> np.ndarray:
    """d(s, p) of each scene row of ``split`` to its K products: product indices (N, K) -> (N, K)."""
    model.eval().to(device)
    s = data.splits[split]
    out = []
    for a in range(0, len(products), batch_size):
        b = slice(a, a + batch_size)
        feats = torch.from_numpy(data.products[products[b]]).to(device)  # (B, K, D)
        out.append(model(torch.from_numpy(np.array(s.scene_global[b], np.float32)).to(device),
                         torch.from_numpy(np.array(s.regions[b], np.float32)).to(device),
                         torch.from_numpy(s.category[b]).to(device), feats).float().cpu().numpy())
    return np.concatenate(out)


def candidate_table(split: CTLSplit) -> np.ndarray:
    """(N, 2 + n) product indices per scene: positive, the triplet's negative, then the hit-rate negatives."""
    return np.concatenate([split.positive[:, None], split.negative[:, None], split.candidates], axis=1)


def evaluate(pos: np.ndarray, neg: np.ndarray, cands: np.ndarray, higher_is_better: bool) -> dict[str, float]:
    """Binary accuracy and ROC AUC of (scene, positive) vs (scene, negative); hit rate at 1 / 5 / 10.

    Binary accuracy is the share of triplets ordered right (ties half), which is the paper's AUC on
    triplets; ROC AUC pools every (scene, product) pair; the hit rate ranks the positive among it and
    the n sampled negatives of its category (ties pessimistic).
    """
    labels = np.r_[np.ones(len(pos)), np.zeros(len(neg))]
    sign = 1 if higher_is_better else -1
    hits = metrics.hit_rate_at_k(pos, cands, KS, higher_is_better=higher_is_better)
    return {"accuracy": metrics.binary_accuracy(pos, neg, higher_is_better=higher_is_better),
            "auc": metrics.auc(sign * np.r_[pos, neg], labels),
            **{f"hit@{k}": float(h) for k, h in zip(KS, hits)}}


def valid_accuracy(model: CTL, data: CTLData, split: str = "valid", device: str | torch.device = "cpu") -> float:
    """Binary accuracy on the split's triplets only (positive vs. its negative): ``fit``'s validation metric."""
    s = data.splits[split]
    d = distances(model, data, split, np.stack([s.positive, s.negative], axis=1), device)  # (N, 2)
    return metrics.binary_accuracy(d[:, 0], d[:, 1], higher_is_better=False)


def evaluate_model(model: CTL, data: CTLData, split: str = "test", device: str | torch.device = "cpu") -> dict:
    d = distances(model, data, split, candidate_table(data.splits[split]), device)  # (N, 2 + n)
    return evaluate(d[:, 0], d[:, 1], d[:, 2:], higher_is_better=False)


def evaluate_raw(data: CTLData, split: str = "test") -> dict:
    s = data.splits[split]
    d = raw_distance(np.asarray(s.scene_global, np.float32), data.products[candidate_table(s)])
    return evaluate(d[:, 0], d[:, 1], d[:, 2:], higher_is_better=False)


def chance(n_negatives: int) -> dict[str, float]:
    """A random scorer: 0.5 for accuracy and AUC, k / (n + 1) for the hit rate at k."""
    return {"accuracy": 0.5, "auc": 0.5, **{f"hit@{k}": min(1.0, k / (n_negatives + 1)) for k in KS}}


@torch.no_grad()
def attention_maps(model: CTL, data: CTLData, split: str, category: int, rows: np.ndarray | None = None) -> np.ndarray:
    """(N, h, w) attention a_i of the split's scenes ``rows`` (default all) for any ``category``.

    The attention depends on the scene and the category only, so it can be asked for every category,
    not only the removed product's.
    """
    s = data.splits[split]
    rows = np.arange(len(s.positive)) if rows is None else np.asarray(rows)
    model.eval().cpu()
    regions = torch.from_numpy(np.array(s.regions[rows], np.float32))  # (N, C, h, w)
    _, f = model.embed_scene(torch.from_numpy(np.array(s.scene_global[rows], np.float32)), regions)
    a = model.attention(f, torch.full((len(rows),), category))  # (N, R)
    return a.view(len(rows), *regions.shape[2:]).numpy()


def recommend(model: CTL, data: CTLData, split: str, row: int, pool: np.ndarray,
              device: str | torch.device = "cpu") -> np.ndarray:
    """The products of ``pool`` (indices) ranked for scene ``row``: nearest (most compatible) first."""
    d = _row_distances(model, data, split, row, pool, device)
    return pool[np.argsort(d, kind="stable")]


@torch.no_grad()
def _row_distances(model: CTL, data: CTLData, split: str, row: int, pool: np.ndarray,
                   device: str | torch.device) -> np.ndarray:
    s = data.splits[split]
    model.eval().to(device)
    d = model(torch.from_numpy(np.array(s.scene_global[row:row + 1], np.float32)).to(device),
              torch.from_numpy(np.array(s.regions[row:row + 1], np.float32)).to(device),
              torch.from_numpy(s.category[row:row + 1]).to(device),
              torch.from_numpy(data.products[pool][None]).to(device))
    return d[0].float().cpu().numpy()


def make_backbone(cfg: CTLConfig) -> Backbone:
    """The frozen backbone of ``cfg`` (EfficientNet-Lite0 with shipped weights, or ResNet-50 in the paper)."""
    backbone = build_backbone(cfg.backbone, pretrained=cfg.pretrained).eval()
    for p in backbone.parameters():
        p.requires_grad_(False)
    return backbone
