"""Complete the Look (Kang et al., CVPR 2019): scene-based complementary product recommendation.

A scene (a person wearing an outfit, with one product's region masked out) and a product image of
that product's category: is the product the missing piece of the look? The model is a small head
on a **frozen** pretrained backbone whose features are computed once and cached:

- global distance  d_g(s, p) = || e(s) - e(p) ||^2 on L2-normalised embeddings of the scene's and
  the product's last-level features (ResNet-50 block 4 in the paper);
- local distance   d_l(s, p) = sum_i a_i || f_i - e(p) ||^2 over the scene's regions f_i (an
  intermediate map, ResNet-50 block 3 in the paper), weighted by a category-conditioned attention
  a_i = softmax_i(-|| f_i - e_c ||^2), e_c a learned, L2-normalised embedding of the category;
- d = (d_g + d_l) / 2, trained with the hinge triplet loss max(0, d(s, p+) - d(s, p-) + m) on
  (scene, positive, negative of the same category).

Data preparation for FashionWorld lives here too (scenes, triplets, negatives, cached features);
the STL-Fashion records come from ``fashionrec.datasets.stl``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from scipy.special import logsumexp
from torch import Tensor, nn
from torch.utils.data import DataLoader, TensorDataset
from tqdm.auto import tqdm

from fashionrec import metrics
from fashionrec.backbones import Backbone, build_backbone
from fashionrec.config import RunConfig, TrainConfig, check_profile, select_device
from fashionrec.world.records import CTLTriplet, Scene

MODES = ("full", "global", "local")
KS = (1, 5, 10)


# ----- configuration -----------------------------------------------------------------------------
@dataclass(frozen=True)
class CTLConfig(RunConfig):
    """Every knob of the chapter. ``for_profile`` gives the smoke / standard / paper presets."""

    chapter: str = "ctl"
    backbone: str = "efficientnet_lite0"
    pretrained: bool = True  # EfficientNet-Lite0's ImageNet weights ship with its pip package
    scene_size: int = 96  # scenes are rendered / resized to this side (96 px: a 6 x 6 region map)
    product_size: int = 64
    n_scenes: tuple[int | None, int | None, int | None] = (4200, 600, 1200)  # train / valid / test; None = all
    stl_split: tuple[float, float, float] = (0.8, 0.1, 0.1)  # STL-Fashion ships no split: scenes by hash
    train_negatives: int = 8  # same-category negatives per training scene, drawn once
    n_negatives: int = 49  # sampled negatives per test scene for the hit rate (chance k / 50)
    embed_dim: int = 128
    hidden: int = 128
    dropout: float = 0.1
    margin: float = 0.2
    seeds: int = 3  # model seeds seed, seed + 1, ... (the data depend on ``seed`` only)
    train: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=8, batch_size=128, lr=1e-3,
                                                                   weight_decay=1e-4, schedule="cosine"))

    @classmethod
    def for_profile(cls, profile: str = "standard", **run) -> "CTLConfig":
        """smoke = seconds on 2 CPU cores; standard = the book (FashionWorld); paper = ResNet-50, GPU.

        ``paper`` follows the paper where our sources say what it did (frozen ImageNet ResNet-50, block 3
        for regions and block 4 for the global vector, 224 px images, same-category negatives); the
        sizes of the head, the margin and the optimiser settings are our choices. ``run`` overrides any
        field (``dataset``, ``data_root``, ``device``, ``seed``, ...).
        """
        presets = {
            "smoke": dict(scene_size=64, n_scenes=(420, 60, 120), n_negatives=19, seeds=1,
                          train=TrainConfig(epochs=6, batch_size=64, lr=1e-3, weight_decay=1e-4,
                                            schedule="cosine")),
            "standard": {},
            "paper": dict(backbone="resnet50", scene_size=224, product_size=224, n_scenes=(None, None, None),
                          n_negatives=49, seeds=1, hidden=512, dropout=0.0,
                          train=TrainConfig(epochs=20, batch_size=128, lr=1e-4)),
        }
        return cls(profile=check_profile(profile), **{**presets[profile], **run})


# ----- frozen features: regions and global vector in one pass, cached ------------------------------
def _mid_module(backbone: Backbone) -> nn.Module | None:
    """The layer whose output is ``backbone.feature_map(level="mid")`` (None: not known here)."""
    if backbone.name == "efficientnet_lite0":
        return backbone.model._blocks[backbone._mid_after]
    if backbone.name in ("resnet18", "resnet50"):
        return backbone.model.layer3
    if backbone.name == "small_cnn":
        return backbone.blocks[2]
    return None


def backbone_maps(backbone: Backbone, images: np.ndarray | Sequence, batch_size: int = 64,
                  device: str | torch.device = "cpu", cache_dir: Path | str | None = None,
                  cache_key: str | None = None, progress: bool = True,
                  with_regions: bool = True) -> tuple[np.ndarray | None, np.ndarray]:
    """Region maps (``feature_map(level="mid")``) and global features (``features``) of every image.

    One forward pass per batch (a hook catches the mid map on the way to the last one). With
    ``cache_dir``, both are saved as ``.npy`` files and later opened memory-mapped, so a real dataset's
    maps need not fit in memory.

    Args:
        backbone: frozen encoder, run in eval mode.
        images: uint8 (N, H, W, 3), or any object with ``len`` whose slices ``images[a:b]`` give such
            arrays (to stream images from disk); then ``cache_key`` must name the data.
        cache_key: the caller's name for the images; None = hash the array's bytes.
        with_regions: False = global features only (product images); regions is then None.

    Returns:
        regions float16 (N, C, h, w) and global features float32 (N, dim).
    """
    paths = None
    if cache_dir is not None:
        if cache_key is None:
            if not isinstance(images, np.ndarray):
                raise ValueError("backbone_maps: streamed images need a cache_key")
            cache_key = "bytes:" + hashlib.blake2b(np.ascontiguousarray(images).reshape(-1).view(np.uint8),
                                                   digest_size=16).hexdigest()
        weights = hashlib.blake2b(digest_size=8)
        for key, value in backbone.state_dict().items():
            weights.update(key.encode())
            weights.update(value.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy())
        tag = hashlib.blake2b(f"v2|{backbone.name}|{cache_key}|n={len(images)}|{weights.hexdigest()}".encode(),
                              digest_size=10).hexdigest()
        paths = [Path(cache_dir) / f"ctl-{backbone.name}-{tag}-{part}.npy" for part in ("regions", "global")]
        if not with_regions:
            paths[0] = None
        if all(p is None or p.exists() for p in paths):
            return _load(paths[0]), _load(paths[1])
    dev = select_device(device) if isinstance(device, str) else torch.device(device)
    backbone = backbone.to(dev).eval()
    caught: list[Tensor] = []
    module = _mid_module(backbone) if with_regions else None
    hook = module.register_forward_hook(lambda m, i, o: caught.append(o)) if module is not None else None
    regions = glob = None
    try:
        with torch.inference_mode():
            for start in tqdm(range(0, len(images), batch_size), desc=f"scene maps ({backbone.name})",
                              disable=not progress):
                batch = np.asarray(images[start:start + batch_size])
                x = torch.from_numpy(np.ascontiguousarray(batch)).to(dev).permute(0, 3, 1, 2).float() / 255
                caught.clear()
                g = backbone.features(x)  # (B, dim)
                r = None
                if with_regions:
                    r = caught[-1] if caught else backbone.feature_map(x, "mid")  # (B, C, h, w)
                if glob is None:  # first batch: allocate (on disk when caching)
                    regions, glob, tmp = _allocate(len(images), None if r is None else r.shape[1:], g.shape[1], paths)
                if r is not None:
                    regions[start:start + len(x)] = r.half().cpu().numpy()
                glob[start:start + len(x)] = g.float().cpu().numpy()
    finally:
        if hook is not None:
            hook.remove()
    if paths is None:
        return regions, glob
    for array in (regions, glob):
        if array is not None:
            array.flush()
    del regions, glob
    for t, p in zip(tmp, paths):
        if p is not None:
            os.replace(t, p)
    return _load(paths[0]), _load(paths[1])


def _allocate(n: int, region_shape: tuple | None, dim: int, paths: list | None):
    """Output arrays: memory-mapped temporary .npy files beside ``paths`` (renamed when done), or in memory."""
    tmp = [p and p.with_suffix(f".{os.getpid()}.tmp") for p in paths] if paths is not None else [None, None]
    if paths is not None:
        paths[1].parent.mkdir(parents=True, exist_ok=True)
    arrays = []
    for shape, dtype, t in (((n, *region_shape) if region_shape else None, np.float16, tmp[0]),
                            ((n, dim), np.float32, tmp[1])):
        if shape is None:
            arrays.append(None)
        elif t is not None:
            arrays.append(np.lib.format.open_memmap(t, "w+", dtype, shape))
        else:
            arrays.append(np.empty(shape, dtype))
    return arrays[0], arrays[1], tmp


def _load(path: Path | None) -> np.ndarray | None:
    return None if path is None else np.load(path, mmap_mode="r")


# ----- the data the model sees ---------------------------------------------------------------------
@dataclass
class CTLSplit:
    """One split's triplets as feature rows. Product indices point into ``CTLData.product_ids``."""

    triplets: list[CTLTriplet]
    regions: np.ndarray  # (N, C, h, w) float16: the masked scene's region map
    scene_global: np.ndarray  # (N, D) float32
    positive: np.ndarray  # (N,) the removed product
    negative: np.ndarray  # (N,) the triplet's negative (same category)
    candidates: np.ndarray  # (N, n) negatives of the hit rate (same category)
    train_negatives: np.ndarray  # (N, m) negatives for training (same category)
    category: np.ndarray  # (N,) index into CTLData.categories


@dataclass
class CTLData:
    """Product features plus the three splits; ``scenes`` keeps the records (FashionWorld oracle, figures)."""

    product_ids: list[str]
    products: np.ndarray  # (P, D) float32 global features of the product images
    product_category: np.ndarray  # (P,)
    categories: tuple[str, ...]
    splits: dict[str, CTLSplit]
    scenes: dict[str, list[Scene]]
    scene_image: Callable[[str, int], np.ndarray]  # (split, row) -> the masked scene, uint8 (H, W, 3)
    product_image: Callable[[list[str]], np.ndarray]  # ids -> uint8 (N, H, W, 3)


def sample_negatives(positive: np.ndarray, exclude: Sequence[set[int]], pools: dict[int, np.ndarray],
                     keys: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """(N, n) product indices from each row's pool ``pools[keys[r]]``, never the row's ``exclude``.

    Drawn without replacement when the pool is big enough, else with replacement (tiny worlds).
    """
    out = np.empty((len(positive), n), dtype=np.int64)
    for r, key in enumerate(keys):
        options = np.array([p for p in pools[int(key)] if p not in exclude[r] and p != positive[r]])
        if len(options) == 0:
            raise ValueError(f"no negative left for row {r} (pool {key!r} has only the scene's own products)")
        out[r] = rng.choice(options, size=n, replace=len(options) < n)
    return out


def _scenes_cached(world, split: str, n: int, size: int, seed: int, keep_images: bool):
    """tasks.make_scenes + tasks.ctl_triplets, cached beside the world (records, and images if kept)."""
    from fashionrec.world import tasks
    from fashionrec.world.render import mask_box

    root = Path(world.cache_dir) / "ctl" if world.cache_dir else None
    stem = f"{split}-n{n}-size{size}-seed{seed}"
    if root is not None and (root / f"{stem}.json").exists() and (not keep_images or (root / f"{stem}.npy").exists()):
        blob = json.loads((root / f"{stem}.json").read_text())
        scenes = [Scene(s["scene_id"], tuple(s["item_ids"]), tuple(tuple(b) for b in s["boxes"]))
                  for s in blob["scenes"]]
        triplets = [CTLTriplet(**{**t, "box": tuple(t["box"])}) for t in blob["triplets"]]
        return scenes, triplets, (np.load(root / f"{stem}.npy") if keep_images else None), None
    scenes, images = tasks.make_scenes(world, split, n, size=size, seed=seed)
    keep = _has_negatives(world, split, scenes)
    scenes, images = [s for s, k in zip(scenes, keep) if k], images[keep]
    triplets = tasks.ctl_triplets(world, split, scenes, seed=seed)
    masked = np.stack([mask_box(im, t.box) for im, t in zip(images, triplets)])  # (N, S, S, 3)
    if root is not None:
        root.mkdir(parents=True, exist_ok=True)
        if keep_images:
            np.save(root / f"{stem}.npy", masked)
        blob = {"scenes": [asdict(s) for s in scenes], "triplets": [asdict(t) for t in triplets]}
        (root / f"{stem}.json").write_text(json.dumps(blob))
    return scenes, triplets, (masked if keep_images else None), masked


def _has_negatives(world, split: str, scenes: list[Scene]) -> np.ndarray:
    """(N,) bool: every item of the scene has another item of its kind in the split's pool.

    ``tasks.ctl_triplets`` needs one for whichever item it removes; tiny worlds (smoke) can lack it.
    """
    count: dict[int, int] = {}
    for i in world.pools[split]:
        count[negative_key(world.items[i])] = count.get(negative_key(world.items[i]), 0) + 1
    return np.array([all(count[negative_key(world.items[i])] > 1 for i in s.item_ids) for s in scenes], dtype=bool)


def fashionworld_data(world, cfg: CTLConfig, backbone: Backbone, device: str | torch.device = "cpu",
                      progress: bool = True) -> CTLData:
    """FashionWorld scenes -> masked scenes -> cached features, with negatives for training and the hit rate.

    Triplets come from ``tasks.ctl_triplets`` (negatives share the category; bags and accessories share
    the sub-category, whose body place tells the kind). Extra training negatives follow the same rule;
    the hit-rate negatives share the coarse category (the oracle rules out another kind of bag or
    accessory, see ``fashionworld_oracle``).
    """
    from fashionrec.world.vocab import CATEGORIES

    cache = Path(world.cache_dir) / "features" if world.cache_dir else None
    product_ids = sorted(i for pool in world.pools.values() for i in pool)
    index = {i: k for k, i in enumerate(product_ids)}
    images = world.images(product_ids, size=cfg.product_size)
    _, products = backbone_maps(backbone, images, device=device, cache_dir=cache, progress=progress,
                                cache_key=f"fashionworld-{world.cfg.key()}-products-{cfg.product_size}",
                                with_regions=False)
    cats = np.array([CATEGORIES.index(world.items[i].category) for i in product_ids])
    kind = np.array([negative_key(world.items[i]) for i in product_ids])
    rng = np.random.default_rng(cfg.seed)
    splits, scenes_by, test_images = {}, {}, None
    for split, n in zip(("train", "valid", "test"), cfg.n_scenes):
        n = len(world.outfits[split]) if n is None else n
        scenes, triplets, kept, masked = _scenes_cached(world, split, n, cfg.scene_size, cfg.seed, split == "test")
        key = f"fashionworld-{world.cfg.key()}-{split}-n{n}-size{cfg.scene_size}-seed{cfg.seed}-masked"
        images = masked if masked is not None else _Lazy(world, split, n, cfg, len(scenes))  # rendered if needed
        regions, glob = backbone_maps(backbone, images, device=device, cache_dir=cache, cache_key=key,
                                      progress=progress)
        pool = np.array([index[i] for i in world.pools[split]])
        pos = np.array([index[t.positive] for t in triplets])
        exclude = [{index[i] for i in s.item_ids} for s in scenes]
        by_kind = {k: pool[kind[pool] == k] for k in np.unique(kind[pool])}
        by_cat = {c: pool[cats[pool] == c] for c in np.unique(cats[pool])}
        splits[split] = CTLSplit(
            triplets, regions, glob, pos, np.array([index[t.negative] for t in triplets]),
            candidates=sample_negatives(pos, exclude, by_cat, cats[pos], cfg.n_negatives, rng),
            train_negatives=sample_negatives(pos, exclude, by_kind, kind[pos], cfg.train_negatives, rng),
            category=cats[pos])
        scenes_by[split] = scenes
        if split == "test":
            test_images = kept
    return CTLData(product_ids, np.asarray(products), cats, CATEGORIES, splits, scenes_by,
                   scene_image=lambda split, row: _test_only(test_images, split)[row],
                   product_image=lambda ids: world.images(list(ids), size=cfg.product_size))


def _test_only(images: np.ndarray, split: str) -> np.ndarray:
    if split != "test":
        raise KeyError(f"FashionWorld keeps the masked scene images of the test split only, not {split!r}")
    return images


def negative_key(item) -> int:
    """The negative-sampling key of tasks.ctl_triplets: sub-category for bags and accessories, else category."""
    from fashionrec.world.vocab import CATEGORIES, SUBCATEGORY_LIST

    if item.category in ("bag", "accessory"):
        return 100 + SUBCATEGORY_LIST.index(item.subcategory)
    return CATEGORIES.index(item.category)


class _Lazy:
    """Masked scenes of a split rendered on demand (only when the feature cache is cold)."""

    def __init__(self, world, split: str, n: int, cfg: CTLConfig, length: int):
        self.world, self.split, self.n, self.cfg, self.length = world, split, n, cfg, length
        self._images: np.ndarray | None = None

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, sl: slice) -> np.ndarray:
        if self._images is None:
            from fashionrec.world import tasks
            from fashionrec.world.render import mask_box

            scenes, images = tasks.make_scenes(self.world, self.split, self.n, size=self.cfg.scene_size,
                                               seed=self.cfg.seed)
            keep = _has_negatives(self.world, self.split, scenes)
            scenes, images = [s for s, k in zip(scenes, keep) if k], images[keep]
            triplets = tasks.ctl_triplets(self.world, self.split, scenes, seed=self.cfg.seed)
            self._images = np.stack([mask_box(im, t.box) for im, t in zip(images, triplets)])
        return self._images[sl]


def stl_data(cfg: CTLConfig, backbone: Backbone, device: str | torch.device = "cpu", progress: bool = True,
             cache_dir: Path | str | None = None) -> CTLData:
    """STL-Fashion from ``cfg.data_root``: split by scene, one triplet per (scene, product), masked scenes,
    cached features (memory-mapped), and negatives of the same category for training and the hit rate."""
    from fashionrec.datasets import stl

    source = stl.load_stl_fashion(cfg.data_root)
    if cache_dir is None:
        from fashionrec.world.world import default_cache_dir

        cache_dir = default_cache_dir() / "stl-fashion"
    cache = Path(cache_dir)
    categories = source.categories
    by_split = stl.split_scenes(source, cfg.stl_split, seed=cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    made = {split: stl.stl_triplets(source, scenes, seed=cfg.seed) for split, scenes in by_split.items()}
    product_ids = sorted({p for trip, pool in made.values() for p in pool})
    index = {p: k for k, p in enumerate(product_ids)}
    tag = hashlib.blake2b(json.dumps([cfg.seed, len(product_ids), cfg.scene_size, cfg.product_size]).encode(),
                          digest_size=6).hexdigest()
    images = stl.ImageList(lambda p: stl.product_image(source, p, cfg.product_size), product_ids, cfg.product_size)
    _, products = backbone_maps(backbone, images, device=device, cache_dir=cache, cache_key=f"stl-products-{tag}",
                                progress=progress, with_regions=False)
    cats = np.array([categories.index(source.items[p].category) for p in product_ids])
    splits = {}
    for split, n in zip(("train", "valid", "test"), cfg.n_scenes):
        triplets, pool = made[split]
        triplets = triplets[:n]
        if not triplets:
            raise ValueError(f"STL-Fashion under {cfg.data_root}: the {split} split has no triplet "
                             f"({len(by_split[split])} scenes); use more data or another stl_split")
        scenes = stl.ImageList(lambda t: stl.masked_scene(source, t, cfg.scene_size), triplets, cfg.scene_size)
        regions, glob = backbone_maps(backbone, scenes, device=device, cache_dir=cache, progress=progress,
                                      cache_key=f"stl-{split}-{len(triplets)}-{tag}")
        pool_idx = np.array([index[p] for p in pool])
        pos = np.array([index[t.positive] for t in triplets])
        exclude = [{index[p] for p in source.scenes[t.scene_id].item_ids} for t in triplets]
        by_cat = {c: pool_idx[cats[pool_idx] == c] for c in np.unique(cats[pool_idx])}
        splits[split] = CTLSplit(
            triplets, regions, np.asarray(glob), pos, np.array([index[t.negative] for t in triplets]),
            candidates=sample_negatives(pos, exclude, by_cat, cats[pos], cfg.n_negatives, rng),
            train_negatives=sample_negatives(pos, exclude, by_cat, cats[pos], cfg.train_negatives, rng),
            category=cats[pos])
    return CTLData(product_ids, np.asarray(products), cats, categories, splits,
                   {split: [source.scenes[t.scene_id] for t in splits[split].triplets] for split in splits},
                   scene_image=lambda split, row: stl.masked_scene(source, splits[split].triplets[row], cfg.scene_size),
                   product_image=lambda ids: np.stack([stl.product_image(source, p, cfg.product_size) for p in ids]))


def load_data(cfg: CTLConfig, backbone: Backbone, device: str | torch.device = "cpu", world=None,
              progress: bool = True, cache_dir: Path | str | None = None) -> CTLData:
    """``fashionworld_data`` (needs ``world``) or ``stl_data``, by ``cfg.dataset``."""
    if cfg.dataset == "fashionworld":
        return fashionworld_data(world, cfg, backbone, device, progress)
    if cfg.dataset == "stl_fashion":
        return stl_data(cfg, backbone, device, progress, cache_dir)
    raise ValueError(f"dataset must be 'fashionworld' or 'stl_fashion'; got {cfg.dataset!r}")


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

    def embed_product(self, products: Tensor) -> Tensor:
        """(..., D) product features -> (..., d) unit vectors e(p)."""
        return F.normalize(self.product(products), dim=-1)

    def embed_scene(self, scene_global: Tensor, regions: Tensor) -> tuple[Tensor, Tensor]:
        """e(s) (B, d) and region embeddings f_i (B, R, d), all unit vectors; regions is (B, C, h, w)."""
        f = self.region(regions.flatten(2).transpose(1, 2))  # (B, R, d)
        return F.normalize(self.scene(scene_global), dim=-1), F.normalize(f, dim=-1)

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
    """A fresh CTL head sized for ``data``'s features (call after ``config.seed_everything``)."""
    split = data.splits["train"]
    return CTL(split.scene_global.shape[1], split.regions.shape[1], data.products.shape[1], len(data.categories),
               cfg.embed_dim, cfg.hidden, cfg.dropout, mode)


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


def fashionworld_oracle(world, data: CTLData, split: str = "test") -> dict[str, float]:
    """The FashionWorld oracle on the same triplets and candidates: log P(the scene's other items + p).

    Positive, negative and every hit-rate negative are scored with ``tasks.ctl_oracle`` (extra
    triplets, one per candidate column). A candidate of another kind of bag or accessory than the
    masked one gets -inf: the box's place on the body tells the kind. For the pooled ROC AUC the
    scores are made comparable across scenes by subtracting log mean_{c'} P(rest + c') over the
    scene's same-kind negatives (an estimate of the likelihood ratio against a random negative).
    """
    s = data.splits[split]
    pos, neg, cands = _oracle_scores(world, data, split)
    same = np.array([[negative_key(world.items[data.product_ids[c]]) == negative_key(world.items[t.positive])
                      for c in row] for t, row in zip(s.triplets, s.candidates)])
    cands = np.where(same, cands, -np.inf)
    pool = np.concatenate([neg[:, None], cands], axis=1)  # same-kind negatives (and -inf)
    log_z = logsumexp(pool, axis=1) - np.log(np.isfinite(pool).sum(1))
    return evaluate(pos - log_z, neg - log_z, cands - log_z[:, None], higher_is_better=True)


def _oracle_scores(world, data: CTLData, split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """tasks.ctl_oracle of the positive, the negative and each candidate column; cached beside the world."""
    from fashionrec.world import tasks

    s, scenes = data.splits[split], data.scenes[split]
    digest = hashlib.blake2b(json.dumps([world.cfg.key(), split, [t.scene_id for t in s.triplets],
                                         [t.positive for t in s.triplets], [t.negative for t in s.triplets],
                                         [[data.product_ids[c] for c in row] for row in s.candidates.tolist()]]
                                        ).encode(), digest_size=10).hexdigest()
    path = Path(world.cache_dir) / "ctl" / f"oracle-{digest}.npy" if world.cache_dir else None
    if path is not None and path.exists():
        scores = np.load(path)
    else:
        scores = np.empty((len(s.triplets), 2 + s.candidates.shape[1]))
        scores[:, 0] = tasks.ctl_oracle(world, s.triplets, scenes, split, candidates="positive")
        scores[:, 1] = tasks.ctl_oracle(world, s.triplets, scenes, split, candidates="negative")
        for j in range(s.candidates.shape[1]):
            extra = [replace(t, negative=data.product_ids[c]) for t, c in zip(s.triplets, s.candidates[:, j])]
            scores[:, 2 + j] = tasks.ctl_oracle(world, extra, scenes, split, candidates="negative")
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            np.save(path, scores)
    return scores[:, 0], scores[:, 1], scores[:, 2:]


def attribute_data(world, data: CTLData) -> CTLData:
    """A diagnostic twin of FashionWorld ``data`` with the generator's attributes instead of pixels.

    Scene = sum of the other items' attribute vectors (colour shares, pattern, material, sub-category
    one-hots, formality), product = its own vector; the regions are a dummy 1 x 1 map. Training the
    same head on it measures how much of the gap to the oracle is learning from few scenes, and how much
    is what frozen ImageNet features do not see.
    """
    from fashionrec.world.vocab import COLORS, MATERIALS, PATTERNS, SUBCATEGORY_LIST

    def vector(i: str) -> np.ndarray:
        it = world.items[i]
        parts = [np.array([it.colors.count(c) / len(it.colors) for c in COLORS]),
                 np.eye(len(PATTERNS))[PATTERNS.index(it.pattern)],
                 np.eye(len(MATERIALS))[MATERIALS.index(it.material)],
                 np.eye(len(SUBCATEGORY_LIST))[SUBCATEGORY_LIST.index(it.subcategory)], [it.formality]]
        return np.concatenate(parts).astype(np.float32)

    splits = {}
    for name, split in data.splits.items():
        by_id = {sc.scene_id: sc for sc in data.scenes[name]}
        scene = np.stack([sum(vector(i) for i in by_id[t.scene_id].item_ids if i != t.positive)
                          for t in split.triplets])
        splits[name] = replace(split, scene_global=scene, regions=np.zeros((len(scene), 1, 1, 1), np.float32))
    return replace(data, products=np.stack([vector(i) for i in data.product_ids]), splits=splits)


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
