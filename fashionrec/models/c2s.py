"""Consumer-to-shop retrieval (Menezes & Kanitkar, CS231n 2018): data, kNN baselines, a Siamese network.

For each consumer (street) photo, rank the shop images of its category; top-k accuracy is the share
of photos whose item is among the k best. Three ways to rank:

1. white-box features (``fashionrec.features``) and a fixed distance (L1, L2, cosine);
2. pretrained CNN features (the last hidden layer) and a fixed distance, L1 in the paper;
3. a Siamese network over (consumer, shop) CNN feature pairs that learns the score.

Search is exact, through ``fashionrec.index`` (faiss); metrics come from ``fashionrec.metrics``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset

from fashionrec.backbones import Backbone, extract_features, images_to_tensor
from fashionrec.config import RunConfig, TrainConfig, seed_everything
from fashionrec.index import pairwise_scores
from fashionrec.metrics import topk_accuracy_curve
from fashionrec.train import History, fit
from fashionrec.records import ConsumerPhoto

CATEGORIES = ("dresses", "skirts", "tops", "bottoms")
PAPER_BACKBONES = ("vgg16", "vgg19", "inception_v3", "resnet50")
DISTANCES = ("l1", "l2", "cosine")


@dataclass(frozen=True)
class C2SConfig(RunConfig):
    """Every knob of chapter 3; ``c2s_config(profile)`` gives the presets."""

    chapter: str = "c2s"
    image_size: int = 64  # side of the rendered (FashionWorld) or cropped (DeepFashion) images
    cnn_size: int = 96  # images are resized to this before the CNN
    backbone: str = "efficientnet_lite0"  # the features the Siamese network learns on
    pretrained: bool = True
    compare_backbones: tuple[str, ...] = ()  # more pretrained CNNs for the kNN table (paper profile)
    train_photos_per_item: int = 2
    test_photos_per_item: int = 2
    max_photos: int | None = None  # DeepFashion: at most this many consumer photos per split (memory)
    hidden: int = 512  # Siamese tower: in_dim -> hidden -> embed_dim
    embed_dim: int = 128
    dropout: float = 0.2
    n_lookalike: int = 2  # hard negatives (look-alikes) per consumer photo and step
    n_random: int = 2  # random negatives of the same category per consumer photo and step
    seeds: tuple[int, ...] = (0, 1, 2)
    train: TrainConfig = TrainConfig(epochs=8, batch_size=64, lr=1e-3, weight_decay=1e-4, patience=3)
    max_k: int = 50
    headline_k: int = 20
    tsne_points: int = 300


PRESETS = {
    "smoke": dict(cnn_size=64, seeds=(0,), tsne_points=80,
                  train=TrainConfig(epochs=2, batch_size=64, lr=1e-3, weight_decay=1e-4)),
    "standard": dict(),
    "paper": dict(dataset="deepfashion_c2s", image_size=224, cnn_size=224, backbone="resnet50",
                  compare_backbones=PAPER_BACKBONES, max_photos=20_000, hidden=1024, embed_dim=256, n_random=4,
                  train=TrainConfig(epochs=30, batch_size=256, lr=3e-4, weight_decay=1e-4)),
}


def c2s_config(profile: str = "standard", **overrides) -> C2SConfig:
    """The chapter's config for ``profile`` (smoke | standard | paper), with ``overrides`` on top."""
    if profile not in PRESETS:
        raise ValueError(f"profile must be one of {sorted(PRESETS)}; got {profile!r}")
    return C2SConfig(profile=profile, **{**PRESETS[profile], **overrides})


# ----- data: one split as arrays ---------------------------------------------------------------
@dataclass
class C2SSplit:
    """Queries (consumer photos) and gallery (shop images, one per item) of one split."""

    photos: list[ConsumerPhoto]  # Q queries
    query_images: np.ndarray  # (Q, S, S, 3) uint8
    gallery: list[str]  # G item ids
    gallery_categories: np.ndarray  # (G,) the paper's category of each gallery item
    gallery_images: np.ndarray  # (G, S, S, 3) uint8
    lookalikes: list[list[int]] = field(default_factory=list)  # per query: gallery rows of hard negatives

    @cached_property
    def query_categories(self) -> np.ndarray:
        return np.array([p.category for p in self.photos])

    @cached_property
    def true_index(self) -> np.ndarray:
        """(Q,) gallery row of each query's item."""
        row = {g: k for k, g in enumerate(self.gallery)}
        missing = [p.item_id for p in self.photos if p.item_id not in row]
        if missing:
            raise ValueError(f"{len(missing)} queries have no shop image in the gallery, e.g. {missing[0]!r}")
        return np.array([row[p.item_id] for p in self.photos])

    def category_rows(self, category: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Query rows, gallery rows, and each query's true item as an index into those gallery rows."""
        q = np.flatnonzero(self.query_categories == category)
        g = np.flatnonzero(self.gallery_categories == category)
        position = np.full(len(self.gallery), -1)
        position[g] = np.arange(len(g))
        return q, g, position[self.true_index[q]]


def fashionworld_split(world, split: str, photos_per_item: int, size: int, seed: int = 0) -> C2SSplit:
    """Street photos of the split's shop items; the gallery holds the items and two look-alikes
    of each (same garment in another colour; same colours in another pattern): the hard negatives."""
    from fashionrec.world import tasks

    photos, gallery = tasks.consumer_to_shop(world, split, photos_per_item, lookalikes=True, seed=seed)
    row = {g: k for k, g in enumerate(gallery)}
    lookalikes = [[row[g] for g in (f"{p.item_id}-la0", f"{p.item_id}-la1") if g in row] for p in photos]
    return C2SSplit(photos, world.consumer_images(photos, size), gallery,
                    np.array([tasks.c2s_category(world, g) for g in gallery]), world.images(gallery, size),
                    lookalikes)


def deepfashion_split(data, split: str, size: int, n_lookalike: int = 4, seed: int = 0,
                      max_photos: int | None = None) -> C2SSplit:
    """A split of ``datasets.deepfashion_c2s.load_deepfashion_c2s``: consumer photos against one shop
    photo per item (its first), cropped by their boxes. DeepFashion has no look-alikes, so the hard
    negatives are other items of the same sub-category (e.g. two T_Shirts). ``max_photos`` keeps a
    random subset of the consumer photos (the gallery keeps every item) to bound memory."""
    from fashionrec.datasets.deepfashion_c2s import load_crops

    first = {}
    for s in data.shop[split]:
        first.setdefault(s.item_id, s)
    shops = list(first.values())
    gallery = [s.item_id for s in shops]
    photos = [p for p in data.consumer[split] if p.item_id in first]
    rng = np.random.default_rng(seed)
    if max_photos is not None and len(photos) > max_photos:
        photos = [photos[k] for k in np.sort(rng.choice(len(photos), max_photos, replace=False))]
    sub = np.array([data.items[g].subcategory for g in gallery])
    lookalikes = []
    for p in photos:
        same = [k for k in np.flatnonzero(sub == data.items[p.item_id].subcategory) if gallery[k] != p.item_id]
        lookalikes.append([int(k) for k in rng.permutation(same)[:n_lookalike]])
    return C2SSplit(photos, load_crops(photos, size), gallery, np.array([s.category for s in shops]),
                    load_crops(shops, size), lookalikes)


def cnn_features(backbone: Backbone, images: np.ndarray, size: int, device: torch.device | str = "cpu",
                 cache_dir=None, chunk: int = 1024) -> np.ndarray:
    """(N, dim) last-hidden-layer features of uint8 (N, H, W, 3) images resized to ``size`` px
    (bilinear), in chunks; each chunk is cached by its bytes under ``cache_dir``."""
    out = []
    for start in range(0, len(images), chunk):
        x = images_to_tensor(images[start:start + chunk])  # (B, 3, H, W) in [0, 1]
        if x.shape[-1] != size or x.shape[-2] != size:
            x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
        out.append(extract_features(backbone, x.clamp_(0, 1), device=device, progress=False, cache_dir=cache_dir))
    return np.concatenate(out)


# ----- evaluation ------------------------------------------------------------------------------
def topk_curves(query_vectors: np.ndarray, gallery_vectors: np.ndarray, data: C2SSplit, metric: str,
                ks: np.ndarray) -> dict[str, np.ndarray]:
    """Per category, top-k accuracy for each k of (Q, D) queries against (G, D) gallery vectors,
    each query ranked against the gallery of its own category by ``metric`` (exact faiss search)."""
    curves = {}
    for c in CATEGORIES:
        q, g, true = data.category_rows(c)
        if len(q):
            scores = pairwise_scores(query_vectors[q], gallery_vectors[g], metric)  # (Q_c, G_c), higher = closer
            curves[c] = topk_accuracy_curve(scores, true, ks, higher_is_better=True)
    return curves


def category_rankings(query_vectors: np.ndarray, gallery_vectors: np.ndarray, data: C2SSplit, metric: str,
                      k: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """(Q,) rank of each query's item in its category (1 = first; ties pessimistic, as in
    ``metrics.topk_accuracy_curve``) and (Q, k) gallery rows of its k best items (for figures;
    -1 pads a category with fewer than k items)."""
    ranks, top = np.zeros(len(data.photos), int), np.full((len(data.photos), k), -1)
    for c in CATEGORIES:
        q, g, true = data.category_rows(c)
        if len(q):
            scores = pairwise_scores(query_vectors[q], gallery_vectors[g], metric)  # (Q_c, G_c)
            ranks[q] = (scores >= scores[np.arange(len(q)), true][:, None]).sum(1)
            best = np.argsort(-scores, axis=1, kind="stable")[:, :k]  # (Q_c, min(k, G_c))
            top[q[:, None], np.arange(best.shape[1])] = g[best]
    return ranks, top


def chance_curves(data: C2SSplit, ks: np.ndarray) -> dict[str, np.ndarray]:
    """Per category, the top-k accuracy of a random ranking: min(k / G_c, 1)."""
    return {c: np.minimum(np.asarray(ks) / max(1, int((data.gallery_categories == c).sum())), 1.0)
            for c in CATEGORIES if (data.query_categories == c).any()}


def category_mean(curves: dict[str, np.ndarray], k: int) -> float:
    """Top-k accuracy averaged over the categories (each category counts once)."""
    return float(np.mean([curve[k - 1] for curve in curves.values()]))


# ----- the Siamese network ---------------------------------------------------------------------
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
        """Standardise inputs with the training features' per-dimension mean and std."""
        x = torch.as_tensor(features, dtype=torch.float32)
        self.in_mean.copy_(x.mean(0))
        self.in_std.copy_(x.std(0).clamp_min(1e-6))

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


class PairDataset(Dataset):
    """One item per consumer photo: its shop image (t = 1), ``n_lookalike`` of its look-alikes and
    ``n_random`` other items of its category (t = 0), drawn anew at every visit (torch's RNG,
    which ``train.fit`` saves with its checkpoints)."""

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
    torch.save(ckpt, path)


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


def train_siamese(cfg: C2SConfig, train: C2SSplit, train_features: tuple[np.ndarray, np.ndarray],
                  valid: C2SSplit | None = None, valid_features: tuple[np.ndarray, np.ndarray] | None = None,
                  seed: int = 0, device: torch.device | str = "cpu", run_dir=None,
                  progress: bool = False) -> tuple[SiameseNet, History]:
    """Train a Siamese net on the train split's (query, gallery) CNN features with ``train.fit``;
    keep the epoch with the best validation top-``cfg.headline_k`` accuracy (category mean)."""
    generator = seed_everything(seed)
    model = SiameseNet(train_features[0].shape[1], cfg.hidden, cfg.embed_dim, cfg.dropout)
    model.set_input_stats(np.concatenate(train_features))
    pairs = PairDataset(*train_features, train, cfg.n_lookalike, cfg.n_random)
    loader = DataLoader(pairs, batch_size=cfg.train.batch_size, shuffle=True, generator=generator)
    valid_fn = None
    if valid is not None and valid_features is not None:
        ks = np.arange(1, cfg.headline_k + 1)

        def valid_fn(m: SiameseNet) -> float:
            q, g = (siamese_vectors(m, f, device) for f in valid_features)
            return category_mean(topk_curves(q, g, valid, "l1", ks), cfg.headline_k)
    history = fit(model, loader, siamese_loss, cfg.train, valid_fn=valid_fn, device=device, run_dir=run_dir,
                  progress=progress, desc=f"siamese seed {seed}")
    return model, history
