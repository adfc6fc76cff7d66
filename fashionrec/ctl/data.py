"""Complete the Look's data: FashionWorld or STL-Fashion triplets as cached frozen-backbone features.

Kang et al. (CVPR 2019) train on (scene with the product's box masked, the product, a negative of
the same category). This module turns scenes and products into what the head in
``fashionrec.ctl.model`` reads: one forward pass of the frozen backbone per image (``backbone_maps``:
a region map and a pooled global vector, cached with ``store.cached_array``), the positive, the
triplet's negative, extra same-category negatives for training and the hit rate. ``load_data(cfg)``
is the one call for FashionWorld and STL-Fashion alike; on FashionWorld the container keeps the world
(for the oracle, ``fashionrec.ctl.evaluate.fashionworld_oracle``) and ``attribute_data`` builds a
diagnostic twin with the generator's attributes instead of pixels. The STL-Fashion records come from
``fashionrec.datasets.stl``.

Every cache key holds a data digest (the image bytes, or the world's key and the scene code, or the
STL-Fashion files read), the backbone's weights digest, the levels read and the sizes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from fashionrec import store
from fashionrec.backbones import Backbone, build_backbone, digest_weights, to_batch
from fashionrec.config import select_device, world_profile
from fashionrec.ctl.config import Config
from fashionrec.records import CTLTriplet, Scene

SCENES_VERSION = 2  # bump when the choice or masking of FashionWorld scenes changes


# ----- frozen features: regions and global vector in one pass, cached ------------------------------
def make_backbone(cfg: Config) -> Backbone:
    """The frozen backbone of ``cfg`` (EfficientNet-Lite0 with shipped weights, or ResNet-50 in the paper)."""
    backbone = build_backbone(cfg.backbone, pretrained=cfg.pretrained).eval()
    for p in backbone.parameters():
        p.requires_grad_(False)
    return backbone


def backbone_maps(backbone: Backbone, images: np.ndarray | Sequence, batch_size: int = 64,
                  device: str | torch.device = "cpu", cache_dir: Path | str | None = None,
                  data_key: str | None = None, progress: bool = True, with_regions: bool = True,
                  global_levels: Sequence[str] = ("last",),
                  region_level: str = "mid") -> tuple[np.ndarray | None, np.ndarray]:
    """Region maps and global vectors of every image, in one forward pass per batch.

    The regions are the ``region_level`` map; the global vector concatenates the average-pooled maps of
    ``global_levels`` (``"last"`` = ``backbone.features``, the paper's block-4 pool), all from
    ``backbone.feature_maps``. With ``cache_dir``, both go through ``store.cached_array`` under
    ``<cache_dir>/ctl/features``, keyed by the backbone's weights digest, the data digest, the levels
    and the image count.

    Args:
        backbone: frozen encoder, run in eval mode.
        images: uint8 (N, H, W, 3), or any object with ``len`` whose slices ``images[a:b]`` give such
            arrays (to stream images from disk); then ``data_key`` must name the data.
        data_key: the caller's digest of the images; None = the digest of the array's bytes.
        with_regions: False = global features only (product images); regions is then None.
        global_levels: levels pooled into the global vector, in order (``"early"``, ``"mid"``, ``"last"``).
        region_level: the level whose cells are the regions.

    Returns:
        regions float16 (N, C, h, w) and global features float32 (N, sum of the levels' channels).
    """
    global_levels = tuple(global_levels)
    done: dict[str, np.ndarray | None] = {}

    def compute() -> None:
        if done:
            return
        dev = select_device(device) if isinstance(device, str) else torch.device(device)
        model = backbone.to(dev).eval()
        levels = set(global_levels) | ({region_level} if with_regions else set())
        regions, glob = [], []
        with torch.inference_mode():
            for start in tqdm(range(0, len(images), batch_size), desc=f"scene maps ({model.name})",
                              disable=not progress):
                x = to_batch(np.asarray(images[start:start + batch_size]), dev)  # (B, 3, H, W) in [0, 1]
                maps = model.feature_maps(x, levels)  # level -> (B, C, h, w)
                g = torch.cat([model.pool(maps[lv]) if lv == "last" else maps[lv].mean((2, 3))
                               for lv in global_levels], dim=1)  # (B, D)
                glob.append(g.float().cpu().numpy())
                if with_regions:
                    regions.append(maps[region_level].half().cpu().numpy())  # (B, C, h, w)
        done["global"] = np.concatenate(glob)
        done["regions"] = np.concatenate(regions) if with_regions else None

    if cache_dir is None:
        compute()
        return done["regions"], done["global"]
    if data_key is None:
        if not isinstance(images, np.ndarray):
            raise ValueError("backbone_maps: streamed images need a data_key (a digest of the data)")
        data_key = store.digest_array(images)
    parts = dict(backbone=backbone.name, weights=digest_weights(backbone), data=data_key, n=len(images),
                 global_levels=global_levels, region_level=region_level)

    def part(name: str) -> Callable[[], np.ndarray]:
        return lambda: (compute(), done[name])[1]

    n = len(images)
    glob = store.cached_array("ctl/features", parts, part("global"), shape=(n, None), name="global",
                              root=cache_dir)
    if not with_regions:
        return None, glob
    regions = store.cached_array("ctl/features", parts, part("regions"), shape=(n, None, None, None),
                                 name="regions", root=cache_dir)
    return regions, glob


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
    """Product features plus the three splits; ``scenes`` keeps the records (FashionWorld oracle, figures).

    ``digest`` names the data (for the run folder); ``world`` is the FashionWorld (None on real data).
    """

    product_ids: list[str]
    products: np.ndarray  # (P, D) float32 global features of the product images
    product_category: np.ndarray  # (P,)
    categories: tuple[str, ...]
    splits: dict[str, CTLSplit]
    scenes: dict[str, list[Scene]]
    scene_image: Callable[[str, int], np.ndarray]  # (split, row) -> the masked scene, uint8 (H, W, 3)
    product_image: Callable[[list[str]], np.ndarray]  # ids -> uint8 (N, H, W, 3)
    digest: str = ""
    world: Any = None

    @property
    def test(self) -> CTLSplit:
        return self.splits["test"]


def receipt_data(data: CTLData) -> str:
    """The data receipt: triplets, region-map and global shapes per split, products, categories and
    the hit-rate negatives per test scene (what the notebook prints and nbval compares)."""
    lines = [f"{name}: {len(split.positive)} triplets, "
             f"regions {tuple(split.regions.shape[1:])}, "
             f"global {split.scene_global.shape[1]}, "
             f"training negatives per scene {split.train_negatives.shape[1]}"
             for name, split in data.splits.items()]
    lines.append(f"products: {data.products.shape}, categories: {', '.join(data.categories)}")
    lines.append(f"hit-rate negatives per test scene: {data.test.candidates.shape[1]}")
    return "\n".join(lines)


def load_data(cfg: Config, world: Any = None, backbone: Backbone | None = None, progress: bool = True,
              cache_dir: Path | str | None = None) -> CTLData:
    """The chapter's one data call: FashionWorld (``cfg.dataset == "fashionworld"``) or STL-Fashion
    from ``cfg.data_root``, as cached frozen features of ``cfg.backbone`` on ``cfg.device``.

    ``world`` (default: the FashionWorld of ``cfg.profile`` and ``cfg.seed``) and ``backbone``
    (default: ``make_backbone(cfg)``) are for tests and benchmarks; ``cache_dir`` (STL-Fashion only)
    defaults to the store's cache root.
    """
    backbone = backbone or make_backbone(cfg)
    device = select_device(cfg.device)
    if cfg.dataset == "fashionworld":
        if world is None:
            from fashionrec.world.world import World, WorldConfig

            world = World.build(WorldConfig.for_profile(world_profile(cfg.profile), seed=cfg.seed))
        return fashionworld_data(world, cfg, backbone, device, progress)
    if cfg.dataset == "stl_fashion":
        return stl_data(cfg, backbone, device, progress, cache_dir)
    raise ValueError(f"dataset must be one of {', '.join(Config.DATASETS)}; got {cfg.dataset!r}")


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


# ----- the task's rows, the same on both paths --------------------------------------------------------
def split_rows(triplets: list[CTLTriplet], scenes: list[Scene], pool: Collection[str], index: dict[str, int],
               cats: np.ndarray, cfg: Config, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The product rows of one split's triplets: positive, negative, category, and the negatives of the
    hit rate (``cfg.n_negatives``) and of training (``cfg.train_negatives``), both drawn with ``rng`` in
    that order from the split's pool (``pool``: the products of its scenes) of the positive's category,
    never one of the scene's own products. ``index`` gives product rows in signature order, so that
    FashionWorld and its STL-Fashion export draw the same negatives."""
    pool_idx = np.sort([index[p] for p in pool])
    by_id = {s.scene_id: s for s in scenes}
    pos = np.array([index[t.positive] for t in triplets])
    exclude = [{index[p] for p in by_id[t.scene_id].item_ids} for t in triplets]
    by_cat = {c: pool_idx[cats[pool_idx] == c] for c in np.unique(cats[pool_idx])}
    return dict(positive=pos, negative=np.array([index[t.negative] for t in triplets]),
                candidates=sample_negatives(pos, exclude, by_cat, cats[pos], cfg.n_negatives, rng),
                train_negatives=sample_negatives(pos, exclude, by_cat, cats[pos], cfg.train_negatives, rng),
                category=cats[pos])


# ----- FashionWorld ----------------------------------------------------------------------------------
def scenes_key(world, split: str, n: int, size: int, seed: int) -> str:
    """The data digest of a split's masked scenes: the world's key (its config and generator code), the
    scene and triplet code (``tasks``, ``scene`` and ``datasets.stl``), the count, the size and the seed."""
    return store.key("ctl-scenes", SCENES_VERSION, world.cfg.key(),
                     store.code_digest("fashionrec.world.tasks", within="fashionrec.world"),
                     store.code_digest("fashionrec.datasets.stl"), split, n, size, seed)


def _scenes_cached(world, split: str, n: int, size: int, seed: int, keep_images: bool):
    """tasks.make_scenes + stl.world_triplets, cached beside the world: the records (JSON, atomically)
    and, when ``keep_images``, the masked images (``store.cached_array``).

    Returns the scenes, the triplets, the kept images (or None), a function that renders the masked
    images (once, on demand: only a cold feature cache needs them) and the data digest.
    """
    data_key = scenes_key(world, split, n, size, seed)
    path = Path(world.cache_dir) / "ctl" / f"scenes-{data_key}.json" if world.cache_dir else None
    made: list = []

    def render() -> np.ndarray:
        if not made:
            made.extend(_masked_scenes(world, split, n, size, seed))
        return made[2]

    read = None
    if path is not None and path.exists():
        read = store.read_or_explain(path, lambda p: _read_scenes(p, n), what="CTL scene cache", cache=True)
    if read is not None:
        scenes, triplets = read
    else:
        render()
        scenes, triplets = made[0], made[1]
        if path is not None:
            store.save_json(path, {"scenes": [asdict(s) for s in scenes], "triplets": [asdict(t) for t in triplets]})
    kept = None
    if keep_images:
        kept = store.cached_array("ctl", [data_key], render, shape=(len(triplets), size, size, 3),
                                  name="masked", root=world.cache_dir, enabled=world.cache_dir is not None)
    return scenes, triplets, kept, render, data_key


def _read_scenes(path: Path, n: int) -> tuple[list[Scene], list[CTLTriplet]]:
    """The scenes and triplets of a scene cache file, checked: at most ``n`` scenes, at most one triplet per
    (scene, product) pair of a scene in the file, one box per item, boxes of 4 numbers; a ValueError says
    what does not fit."""
    blob = json.loads(path.read_text(encoding="utf-8"))
    scenes = [Scene(s["scene_id"], tuple(s["item_ids"]), tuple(tuple(b) for b in s["boxes"]))
              for s in blob["scenes"]]
    triplets = [CTLTriplet(**{**t, "box": tuple(t["box"])}) for t in blob["triplets"]]
    pairs = {(t.scene_id, t.positive) for t in triplets}
    if len(scenes) > n or len(pairs) < len(triplets):
        raise ValueError(f"holds {len(scenes)} scenes and {len(triplets)} triplets ({len(pairs)} pairs), expected "
                         f"at most {n} scenes and at most one triplet per (scene, product) pair")
    items = {s.scene_id: set(s.item_ids) for s in scenes}
    if bad := [s.scene_id for s in scenes if len(s.boxes) != len(s.item_ids) or any(len(b) != 4 for b in s.boxes)]:
        raise ValueError(f"scene {bad[0]!r}: expected one box of 4 numbers per item")
    if bad := [t.scene_id for t in triplets if t.positive not in items.get(t.scene_id, ()) or len(t.box) != 4]:
        raise ValueError(f"triplet of scene {bad[0]!r}: not a product of a scene of the file, or its box is not "
                         f"4 numbers")
    return scenes, triplets


class _Lazy:
    """Masked scenes of a split rendered on demand (only when the feature cache is cold)."""

    def __init__(self, render: Callable[[], np.ndarray], length: int):
        self.render, self.length = render, length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, sl: slice) -> np.ndarray:
        return self.render()[sl]


def scene_products(world) -> list[str]:
    """The items of the world's outfits (every split), in the order of their STL-Fashion signatures: the
    products the export writes, in the order the loader gives them."""
    from fashionrec.datasets import stl

    return sorted({i for outfits in world.outfits.values() for o in outfits for i in o.item_ids},
                  key=lambda i: stl.signature("product", i))


def product_features(world, cfg: Config, backbone: Backbone, device: str | torch.device = "cpu",
                     progress: bool = True, product_ids: list[str] | None = None) -> tuple[list[str], np.ndarray]:
    """FashionWorld items (default: every pool item, sorted ids) and their pooled ``cfg.global_levels``
    vectors from the product images, cached beside the world (keyed by the images' bytes)."""
    if product_ids is None:
        product_ids = sorted(i for pool in world.pools.values() for i in pool)
    images = world.images(product_ids, size=cfg.product_size)
    _, products = backbone_maps(backbone, images, device=device, cache_dir=world.cache_dir, progress=progress,
                                with_regions=False, global_levels=cfg.global_levels, region_level=cfg.region_level)
    return product_ids, products


def fashionworld_data(world, cfg: Config, backbone: Backbone, device: str | torch.device = "cpu",
                      progress: bool = True) -> CTLData:
    """FashionWorld scenes -> masked scenes -> cached features, with negatives for training and the hit rate.

    The task is Kang et al.'s as ``stl_data`` builds it from the world's STL-Fashion export: the world's
    splits (the export's scene signatures hash to them), the first ``cfg.n_scenes`` scenes of each in
    signature order, one triplet per (scene, product) pair (``stl.world_triplets``), the STL-Fashion
    categories the export writes (``stl.world_category``), products in signature order, and negatives
    from the products of the split's scenes (``split_rows``). The oracle rules out another kind of bag
    or accessory among the hit-rate negatives (``fashionrec.ctl.evaluate.fashionworld_oracle``).
    """
    from fashionrec.datasets import stl

    product_ids = scene_products(world)
    product_ids, products = product_features(world, cfg, backbone, device, progress, product_ids)
    index = {i: k for k, i in enumerate(product_ids)}
    levels = dict(global_levels=cfg.global_levels, region_level=cfg.region_level)
    categories = tuple(sorted({stl.world_category(world.items[i]) for i in product_ids}))
    cats = np.array([categories.index(stl.world_category(world.items[i])) for i in product_ids])
    rng = np.random.default_rng(cfg.seed)
    splits, scenes_by, test_images, keys = {}, {}, None, []
    for split, n in zip(stl.SPLITS, cfg.n_scenes):
        n = len(world.outfits[split]) if n is None else n
        scenes, triplets, kept, render, data_key = _scenes_cached(world, split, n, cfg.scene_size, cfg.seed,
                                                                  split == "test")
        regions, glob = backbone_maps(backbone, _Lazy(render, len(triplets)), device=device,
                                      cache_dir=world.cache_dir, data_key=data_key, progress=progress, **levels)
        pool = {i for s in scenes for i in s.item_ids}
        splits[split] = CTLSplit(triplets, regions, glob, **split_rows(triplets, scenes, pool, index, cats, cfg, rng))
        scenes_by[split] = scenes
        keys.append(data_key)
        if split == "test":
            test_images = kept
    return CTLData(product_ids, np.asarray(products), cats, categories, splits, scenes_by,
                   scene_image=lambda split, row: _test_only(test_images, split)[row],
                   product_image=lambda ids: world.images(list(ids), size=cfg.product_size),
                   digest=store.key("fashionworld", world.cfg.key(), keys), world=world)


def _test_only(images: np.ndarray, split: str) -> np.ndarray:
    if split != "test":
        raise KeyError(f"FashionWorld keeps the masked scene images of the test split only, not {split!r}")
    return images


def _masked_scenes(world, split: str, n: int, size: int, seed: int
                   ) -> tuple[list[Scene], list[CTLTriplet], np.ndarray]:
    """The split's first ``n`` scenes in the order of their STL-Fashion signatures (only those rendered,
    ``tasks.make_scenes``), stl.world_triplets, and each triplet's scene with its product's box masked:
    uint8 (N, size, size, 3)."""
    from fashionrec.datasets import stl
    from fashionrec.world import tasks
    from fashionrec.world.scene import mask_box

    order = sorted(range(len(world.outfits[split])), key=lambda k: stl.scene_signature(tasks.scene_id(split, k), split))
    scenes, images = tasks.make_scenes(world, split, n, size=size, seed=seed, outfits=order[:n])
    triplets = stl.world_triplets(world, split, scenes, seed=seed)
    row = {s.scene_id: k for k, s in enumerate(scenes)}
    masked = [mask_box(images[row[t.scene_id]], t.box) for t in triplets]
    return scenes, triplets, np.stack(masked) if masked else np.zeros((0, size, size, 3), np.uint8)


def negative_key(item) -> int:
    """The kind of a FashionWorld item that the box's place on the body tells: its sub-category for bags
    and accessories, else its category (the oracle rules out hit-rate negatives of another kind)."""
    from fashionrec.world.vocab import CATEGORIES, SUBCATEGORY_LIST

    if item.category in ("bag", "accessory"):
        return 100 + SUBCATEGORY_LIST.index(item.subcategory)
    return CATEGORIES.index(item.category)


# ----- STL-Fashion -----------------------------------------------------------------------------------
def stl_files_digest(source, signatures: Sequence[str]) -> str:
    """The data digest of STL-Fashion as read: the bytes of fashion.json and fashion-cat.json, and the
    name, size and modification time of every image file of ``signatures`` (so two roots with the same
    counts never share a cache entry, and a replaced image is read again)."""
    from fashionrec.datasets import stl

    root = Path(source.root)
    files = [(name, (root / name).read_bytes()) for name in (stl.PAIRS_FILE, stl.CATEGORY_FILE)]
    images = []
    for sig in sorted(set(signatures)):
        record = source.items.get(sig) or source.scenes.get(sig)
        stat = Path(record.image).stat()
        images.append((sig, stat.st_size, stat.st_mtime_ns))
    return store.key("stl-fashion", [(name, store.digest_array(np.frombuffer(b, np.uint8))) for name, b in files],
                     images)


def stl_data(cfg: Config, backbone: Backbone, device: str | torch.device = "cpu", progress: bool = True,
             cache_dir: Path | str | None = None) -> CTLData:
    """STL-Fashion from ``cfg.data_root``: split by scene signature (``stl.split_scenes``), the first
    ``cfg.n_scenes`` scenes of each split, one triplet per (scene, product) pair, masked scenes, cached
    features, and negatives of the same category for training and the hit rate (``split_rows``)."""
    from fashionrec.datasets import stl

    source = stl.load_stl_fashion(cfg.data_root)
    cache = Path(cache_dir) if cache_dir is not None else store.cache_root()
    categories = source.categories
    by_split = {split: scenes[:n] for (split, scenes), n in zip(stl.split_scenes(source, cfg.stl_split).items(),
                                                                  cfg.n_scenes)}
    made = {split: stl.stl_triplets(source, scenes, seed=cfg.seed) for split, scenes in by_split.items()}
    product_ids = sorted(source.items)  # every product, in signature order
    index = {p: k for k, p in enumerate(product_ids)}
    digest = stl_files_digest(source, [*product_ids, *source.scenes])
    images = stl.ImageList(lambda p: stl.product_image(source, p, cfg.product_size), product_ids, cfg.product_size)
    levels = dict(global_levels=cfg.global_levels, region_level=cfg.region_level)
    _, products = backbone_maps(backbone, images, device=device, cache_dir=cache, progress=progress,
                                data_key=store.key(digest, "products", product_ids, cfg.product_size),
                                with_regions=False, **levels)
    cats = np.array([categories.index(source.items[p].category) for p in product_ids])
    rng = np.random.default_rng(cfg.seed)
    splits = {}
    for split, (triplets, pool) in made.items():
        if not triplets:
            raise ValueError(f"STL-Fashion under {cfg.data_root}: the {split} split has no triplet "
                             f"({len(by_split[split])} scenes); use more data or another stl_split")
        scenes = stl.ImageList(lambda t: stl.masked_scene(source, t, cfg.scene_size), triplets, cfg.scene_size)
        data_key = store.key(digest, split, [asdict(t) for t in triplets], cfg.scene_size)
        regions, glob = backbone_maps(backbone, scenes, device=device, cache_dir=cache, progress=progress,
                                      data_key=data_key, **levels)
        splits[split] = CTLSplit(triplets, regions, np.asarray(glob),
                                 **split_rows(triplets, by_split[split], pool, index, cats, cfg, rng))
    return CTLData(product_ids, np.asarray(products), cats, categories, splits, by_split,
                   scene_image=lambda split, row: stl.masked_scene(source, splits[split].triplets[row], cfg.scene_size),
                   product_image=lambda ids: np.stack([stl.product_image(source, p, cfg.product_size) for p in ids]),
                   digest=digest)


# ----- the attribute diagnostic ----------------------------------------------------------------------
def attribute_data(data: CTLData) -> CTLData:
    """A diagnostic twin of FashionWorld ``data`` with the generator's attributes instead of pixels.

    Scene = sum of the other items' attribute vectors (colour shares, pattern, material, sub-category
    one-hots, formality), product = its own vector; the regions are a dummy 1 x 1 map. Training the
    same head on it measures how much of the gap to the oracle is learning from few scenes, and how much
    is what frozen ImageNet features do not see.
    """
    from fashionrec.world.vocab import COLORS, MATERIALS, PATTERNS, SUBCATEGORY_LIST

    world = data.world
    if world is None:
        raise ValueError("attribute_data needs FashionWorld data (data.world is None on real data)")

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
