"""Complete the Look's data: FashionWorld or STL-Fashion triplets as cached frozen-backbone features.

Kang et al. (CVPR 2019) train on (scene with the product's box masked, the product, a negative of
the same category). This module turns scenes and products into what the head in
``fashionrec.models.ctl`` reads: one forward pass of the frozen backbone per image (``backbone_maps``:
a region map and a pooled global vector, cached on disk), the positive, the triplet's negative, extra
same-category negatives for training and the hit rate. FashionWorld also gives an oracle
(``fashionworld_oracle``) and a diagnostic twin with the generator's attributes instead of pixels
(``attribute_data``). The STL-Fashion records come from ``fashionrec.datasets.stl``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
from scipy.special import logsumexp
from tqdm.auto import tqdm

from fashionrec.backbones import Backbone, digest_array, digest_weights, to_batch
from fashionrec.config import select_device
from fashionrec.models.ctl import CTLConfig, evaluate
from fashionrec.records import CTLTriplet, Scene


# ----- frozen features: regions and global vector in one pass, cached ------------------------------
def backbone_maps(backbone: Backbone, images: np.ndarray | Sequence, batch_size: int = 64,
                  device: str | torch.device = "cpu", cache_dir: Path | str | None = None,
                  cache_key: str | None = None, progress: bool = True, with_regions: bool = True,
                  global_levels: Sequence[str] = ("last",),
                  region_level: str = "mid") -> tuple[np.ndarray | None, np.ndarray]:
    """Region maps and global vectors of every image, in one forward pass per batch.

    The regions are the ``region_level`` map; the global vector concatenates the average-pooled maps of
    ``global_levels`` (``"last"`` = ``backbone.features``, the paper's block-4 pool), all from
    ``backbone.feature_maps``. With ``cache_dir``, both are saved as ``.npy`` files and later opened
    memory-mapped, so a real dataset's maps need not fit in memory.

    Args:
        backbone: frozen encoder, run in eval mode.
        images: uint8 (N, H, W, 3), or any object with ``len`` whose slices ``images[a:b]`` give such
            arrays (to stream images from disk); then ``cache_key`` must name the data.
        cache_key: the caller's name for the images; None = hash the array's bytes.
        with_regions: False = global features only (product images); regions is then None.
        global_levels: levels pooled into the global vector, in order (``"early"``, ``"mid"``, ``"last"``).
        region_level: the level whose cells are the regions.

    Returns:
        regions float16 (N, C, h, w) and global features float32 (N, sum of the levels' channels).
    """
    global_levels = tuple(global_levels)
    paths = None
    if cache_dir is not None:
        if cache_key is None:
            if not isinstance(images, np.ndarray):
                raise ValueError("backbone_maps: streamed images need a cache_key")
            cache_key = "bytes:" + digest_array(images)
        level_tag = f"g={','.join(global_levels)}|r={region_level}"
        tag = hashlib.blake2b(f"v3|{backbone.name}|{cache_key}|n={len(images)}|{digest_weights(backbone)}|{level_tag}"
                              .encode(), digest_size=10).hexdigest()
        paths = [Path(cache_dir) / f"ctl-{backbone.name}-{tag}-{part}.npy" for part in ("regions", "global")]
        if not with_regions:
            paths[0] = None
        if all(p is None or p.exists() for p in paths):
            return _load(paths[0]), _load(paths[1])
    dev = select_device(device) if isinstance(device, str) else torch.device(device)
    backbone = backbone.to(dev).eval()
    levels = set(global_levels) | ({region_level} if with_regions else set())
    regions = glob = None
    with torch.inference_mode():
        for start in tqdm(range(0, len(images), batch_size), desc=f"scene maps ({backbone.name})",
                          disable=not progress):
            x = to_batch(np.asarray(images[start:start + batch_size]), dev)  # (B, 3, H, W) in [0, 1]
            maps = backbone.feature_maps(x, levels)  # level -> (B, C, h, w)
            g = torch.cat([backbone.pool(maps[lv]) if lv == "last" else maps[lv].mean((2, 3))
                           for lv in global_levels], dim=1)  # (B, D)
            r = maps[region_level] if with_regions else None  # (B, C, h, w)
            if glob is None:  # first batch: allocate (on disk when caching)
                regions, glob, tmp = _allocate(len(images), None if r is None else r.shape[1:], g.shape[1], paths)
            if r is not None:
                regions[start:start + len(x)] = r.half().cpu().numpy()
            glob[start:start + len(x)] = g.float().cpu().numpy()
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

    root = Path(world.cache_dir) / "ctl" if world.cache_dir else None
    stem = f"{split}-n{n}-size{size}-seed{seed}"
    if root is not None and (root / f"{stem}.json").exists() and (not keep_images or (root / f"{stem}.npy").exists()):
        blob = json.loads((root / f"{stem}.json").read_text())
        scenes = [Scene(s["scene_id"], tuple(s["item_ids"]), tuple(tuple(b) for b in s["boxes"]))
                  for s in blob["scenes"]]
        triplets = [CTLTriplet(**{**t, "box": tuple(t["box"])}) for t in blob["triplets"]]
        return scenes, triplets, (np.load(root / f"{stem}.npy") if keep_images else None), None
    scenes, triplets, masked = _masked_scenes(world, split, n, size, seed)
    if root is not None:
        root.mkdir(parents=True, exist_ok=True)
        if keep_images:
            np.save(root / f"{stem}.npy", masked)
        blob = {"scenes": [asdict(s) for s in scenes], "triplets": [asdict(t) for t in triplets]}
        (root / f"{stem}.json").write_text(json.dumps(blob))
    return scenes, triplets, (masked if keep_images else None), masked


def _masked_scenes(world, split: str, n: int, size: int, seed: int
                   ) -> tuple[list[Scene], list[CTLTriplet], np.ndarray]:
    """tasks.make_scenes (scenes whose items all have a negative) + tasks.ctl_triplets, and each scene with
    its triplet's product box masked: uint8 (N, size, size, 3)."""
    from fashionrec.world import tasks
    from fashionrec.world.scene import mask_box

    scenes, images = tasks.make_scenes(world, split, n, size=size, seed=seed)
    keep = _has_negatives(world, split, scenes)
    scenes, images = [s for s, k in zip(scenes, keep) if k], images[keep]
    triplets = tasks.ctl_triplets(world, split, scenes, seed=seed)
    return scenes, triplets, np.stack([mask_box(im, t.box) for im, t in zip(images, triplets)])


def _has_negatives(world, split: str, scenes: list[Scene]) -> np.ndarray:
    """(N,) bool: every item of the scene has another item of its kind in the split's pool.

    ``tasks.ctl_triplets`` needs one for whichever item it removes; tiny worlds (smoke) can lack it.
    """
    count: dict[int, int] = {}
    for i in world.pools[split]:
        count[negative_key(world.items[i])] = count.get(negative_key(world.items[i]), 0) + 1
    return np.array([all(count[negative_key(world.items[i])] > 1 for i in s.item_ids) for s in scenes], dtype=bool)


def product_features(world, cfg: CTLConfig, backbone: Backbone, device: str | torch.device = "cpu",
                     progress: bool = True) -> tuple[list[str], np.ndarray]:
    """Every FashionWorld item (all splits, sorted ids) and its pooled ``cfg.global_levels`` vector from
    the product image, cached beside the world."""
    cache = Path(world.cache_dir) / "features" if world.cache_dir else None
    product_ids = sorted(i for pool in world.pools.values() for i in pool)
    _, products = backbone_maps(backbone, world.images(product_ids, size=cfg.product_size), device=device,
                                cache_dir=cache, progress=progress, with_regions=False,
                                cache_key=f"fashionworld-{world.cfg.key()}-products-{cfg.product_size}",
                                global_levels=cfg.global_levels, region_level=cfg.region_level)
    return product_ids, products


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
    product_ids, products = product_features(world, cfg, backbone, device, progress)
    index = {i: k for k, i in enumerate(product_ids)}
    levels = dict(global_levels=cfg.global_levels, region_level=cfg.region_level)
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
                                      progress=progress, **levels)
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
            self._images = _masked_scenes(self.world, self.split, self.n, self.cfg.scene_size, self.cfg.seed)[2]
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
    levels = dict(global_levels=cfg.global_levels, region_level=cfg.region_level)
    _, products = backbone_maps(backbone, images, device=device, cache_dir=cache, cache_key=f"stl-products-{tag}",
                                progress=progress, with_regions=False, **levels)
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
                                      cache_key=f"stl-{split}-{len(triplets)}-{tag}", **levels)
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


# ----- FashionWorld's oracle and the attribute diagnostic -------------------------------------------
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
