"""Chapter 3's data: queries (consumer photos) and galleries (shop images) as arrays, and CNN features.

``load_data(cfg)`` is the chapter's one data call: FashionWorld (each shop item and its two
look-alikes, each in the gallery and photographed in the street) or DeepFashion consumer-to-shop
(photos cropped by their boxes), in one container. On both, the hard negatives are other items of
the same sub-category, drawn alike (:func:`hard_negatives`), so a FashionWorld and its DeepFashion
export (``datasets.deepfashion_c2s.export``) give the same task.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from fashionrec import store
from fashionrec.backbones import Backbone, build_backbone, extract_features, images_to_tensor
from fashionrec.c2s.config import CATEGORIES, Config
from fashionrec.records import ConsumerPhoto

SPLITS = ("train", "valid", "test")


@dataclass
class C2SSplit:
    """Queries (consumer photos) and gallery (shop images, one per item) of one split."""

    photos: list[ConsumerPhoto]  # Q queries
    query_images: np.ndarray  # (Q, S, S, 3) uint8
    gallery: list[str]  # G item ids
    gallery_categories: np.ndarray  # (G,) the paper's category of each gallery item
    gallery_images: np.ndarray  # (G, S, S, 3) uint8
    lookalikes: list[list[int]] = field(default_factory=list)  # per query: gallery rows of hard negatives
    negatives: str = "same sub-category"  # what the hard negatives are

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

    def summary(self) -> str:
        """Photos and gallery items, in all and per category (queries/gallery)."""
        per_cat = ", ".join(f"{c} {int((self.query_categories == c).sum())}/"
                            f"{int((self.gallery_categories == c).sum())}" for c in CATEGORIES)
        return (f"{len(self.photos)} consumer photos, {len(self.gallery)} gallery items "
                f"(queries/gallery: {per_cat})")


@dataclass
class C2SData:
    """What ``load_data`` returns: the three splits, the data's digest, and the world (None on real data)."""

    train: C2SSplit
    valid: C2SSplit
    test: C2SSplit
    digest: str  # part of the run folder's key
    world: Any = None  # the FashionWorld (its attribute oracle); None on real data
    note: str = ""  # the real loader's summary (skipped rows, missing images)

    @property
    def splits(self) -> dict[str, C2SSplit]:
        return {"train": self.train, "valid": self.valid, "test": self.test}


def hard_negatives(subcategories: np.ndarray, true_index: np.ndarray, n: int,
                   rng: np.random.Generator) -> list[list[int]]:
    """Per query, ``n`` random gallery rows of its item's sub-category, not its item: the hard negatives
    of the Siamese pairs. A sub-category is the finest grouping DeepFashion names (its
    ``img/<GROUP>/<Sub_Category>/`` folders), so FashionWorld draws them the same way, from the gallery
    in the same order; a FashionWorld item's look-alikes are among them.

    Args:
        subcategories: (G,) sub-category of each gallery item.
        true_index: (Q,) gallery row of each query's item.
    """
    out = []
    for t in true_index:
        same = [k for k in np.flatnonzero(subcategories == subcategories[t]) if k != t]
        out.append([int(k) for k in rng.permutation(same)[:n]])
    return out


def fashionworld_split(world, split: str, photos_per_item: int, size: int, n_lookalike: int = 4,
                       seed: int = 0) -> C2SSplit:
    """Street photos of the split's gallery items (``tasks.consumer_to_shop``: each shop item and its
    two look-alikes, the same garment in another colour and the same colours in another pattern),
    against their shop images; the hard negatives as on DeepFashion (:func:`hard_negatives`)."""
    from fashionrec.world import tasks

    photos, gallery = tasks.consumer_to_shop(world, split, photos_per_item)
    row = {g: k for k, g in enumerate(gallery)}
    negatives = hard_negatives(np.array([world.items[g].subcategory for g in gallery]),
                               np.array([row[p.item_id] for p in photos]), n_lookalike, np.random.default_rng(seed))
    return C2SSplit(photos, world.consumer_images(photos, size), gallery,
                    np.array([tasks.c2s_category(world, g) for g in gallery]), world.images(gallery, size),
                    negatives)


def deepfashion_split(data, split: str, size: int, n_lookalike: int = 4, seed: int = 0,
                      max_photos: int | None = None) -> C2SSplit:
    """A split of ``datasets.deepfashion_c2s.load_deepfashion_c2s``: consumer photos against one shop
    photo per item (its first), cropped by their boxes. DeepFashion names no look-alikes, so the hard
    negatives are other items of the same sub-category (e.g. two T_Shirts; :func:`hard_negatives`).
    ``max_photos`` keeps a random subset of the consumer photos (the gallery keeps every item) to bound
    memory."""
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
    row = {g: k for k, g in enumerate(gallery)}
    negatives = hard_negatives(np.array([data.items[g].subcategory for g in gallery]),
                               np.array([row[p.item_id] for p in photos]), n_lookalike, rng)
    return C2SSplit(photos, load_crops(photos, size), gallery, np.array([s.category for s in shops]),
                    load_crops(shops, size), negatives)


def load_data(cfg: Config) -> C2SData:
    """The chapter's one data call: FashionWorld (``cfg.dataset == "fashionworld"``, sized by
    ``cfg.profile``, seeded by ``cfg.seed``) or DeepFashion consumer-to-shop under ``cfg.data_root``
    (data/README.md; its validation split is called "val")."""
    if cfg.on_world:
        from fashionrec.world.world import World, WorldConfig

        world_cfg = WorldConfig.for_profile(cfg.profile, seed=cfg.seed)
        world = World.build(world_cfg)
        per_item = {"train": cfg.train_photos_per_item, "valid": cfg.test_photos_per_item,
                    "test": cfg.test_photos_per_item}
        splits = {s: fashionworld_split(world, s, per_item[s], cfg.image_size, seed=cfg.seed) for s in SPLITS}
        digest = store.key("fashionworld", world_cfg.key(), per_item, cfg.image_size)
        return C2SData(**splits, digest=digest, world=world)
    from fashionrec.datasets.deepfashion_c2s import load_deepfashion_c2s

    deepfashion = load_deepfashion_c2s(cfg.data_root)
    splits = {s: deepfashion_split(deepfashion, "val" if s == "valid" else s, cfg.image_size, seed=cfg.seed,
                                   max_photos=cfg.max_photos) for s in SPLITS}
    digest = store.key(cfg.dataset, cfg.image_size, {s: ([(p.image, p.box) for p in d.photos], d.gallery)
                                                     for s, d in splits.items()})
    return C2SData(**splits, digest=digest, note=deepfashion.summary())


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


def split_features(data: C2SData, backbone: Backbone | str, size: int, device: torch.device | str = "cpu",
                   pretrained: bool = True, splits: tuple[str, ...] = SPLITS) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """split -> (query features, gallery features) of ``backbone`` (a name is built with ``pretrained``),
    cached in the store's cache root (``c2s_features``)."""
    if isinstance(backbone, str):
        backbone = build_backbone(backbone, pretrained=pretrained)
    cache_dir = store.cache_root() / "c2s_features"
    return {s: tuple(cnn_features(backbone, x, size, device, cache_dir=cache_dir)
                     for x in (data.splits[s].query_images, data.splits[s].gallery_images)) for s in splits}


def receipt_data(data: C2SData) -> str:
    """The data receipt: each split's photos and gallery items (in all and per category) and the test
    street photos' array shape and dtype."""
    lines = [f"{name}: {split.summary()}" for name, split in data.splits.items()]
    images = data.test.query_images
    return "\n".join([*lines, f"images: {images.shape} {images.dtype}"])
