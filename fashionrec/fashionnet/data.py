"""FashionNet data (He & Hu 2018): outfits as rows of one item table, (liked, random) training pairs,
the item features the networks read (cached mid-level CNN maps on `standard`), and the chapter's one
data call ``load_data(cfg)`` for FashionWorld and Polyvore-U alike."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor, nn
from torch.utils.data import Dataset
from tqdm.auto import tqdm

from fashionrec import backbones, store
from fashionrec.config import select_device, world_profile
from fashionrec.datasets.polyvore_u import PolyvoreU
from fashionrec.fashionnet.config import SLOTS, Config
from fashionrec.records import RankingList
from fashionrec.world import tasks
from fashionrec.world.world import World, WorldConfig


@dataclass
class RankingData:
    """Outfits as (N, 3) integer rows into one item table (top, bottom, shoes), per user.

    ``valid`` and ``test`` hold one (user, outfits, labels) list per user: the user's liked
    outfits of that split plus their negatives (He & Hu: 6x as many, random combinations).
    """

    item_ids: list[str]
    categories: np.ndarray  # (n_items,) 0 = top, 1 = bottom, 2 = shoes
    users: list[str]
    train: dict[str, np.ndarray]  # user -> (n, 3) liked outfits
    valid: list[tuple[str, np.ndarray, np.ndarray]]
    test: list[tuple[str, np.ndarray, np.ndarray]]

    @staticmethod
    def from_records(item_ids: list[str], categories: list[str], user_outfits: dict[str, dict[str, list]],
                     valid: list[RankingList], test: list[RankingList]) -> RankingData:
        row = {i: k for k, i in enumerate(item_ids)}
        cats = np.array([SLOTS.index(c) for c in categories])

        def rows(outfits) -> np.ndarray:
            return np.array([[row[i] for i in o] for o in outfits], dtype=np.int64).reshape(-1, 3)

        def lists(ls: list[RankingList]) -> list:
            return [(r.user_id, rows(r.outfits), np.array(r.labels)) for r in ls]
        users = [u for u in user_outfits if user_outfits[u]["train"]]
        valid, test = [r for r in valid if r.user_id in users], [r for r in test if r.user_id in users]
        return RankingData(list(item_ids), cats, users, {u: rows(user_outfits[u]["train"]) for u in users},
                           lists(valid), lists(test))

    def subset(self, users: list[str]) -> RankingData:
        keep = set(users)
        return replace(self, users=list(users), train={u: self.train[u] for u in users},
                       valid=[x for x in self.valid if x[0] in keep], test=[x for x in self.test if x[0] in keep])

    def random_outfits(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """(n, 3) random (top, bottom, shoes) combinations: the negatives for training. The draws
        depend on each slot's items in table order only (the same on the world and its export)."""
        return np.stack([rng.choice(np.flatnonzero(self.categories == c), n) for c in range(3)], axis=1)


def world_ranking_data(world: World, seed: int | None = None) -> RankingData:
    """FashionWorld's users: the (top, bottom, shoes) pool their outfits come from, their liked
    outfits, and per user a test list (``tasks.ranking_lists``, ``seed``) and a valid list (``seed + 1``).

    ``seed``: default the world's own (``world.cfg.seed``), as the Polyvore-U export seeds the lists
    it writes. The item table is the pool by slot (top, bottom, shoes), in pool order within a slot:
    the order of the export's image lists, so both paths have the same rows and draw the same random
    training negatives (``random_outfits``).
    """
    seed = world.cfg.seed if seed is None else seed
    pool = sorted(world.user_model.items, key=lambda it: SLOTS.index(it.category))  # stable: pool order per slot
    return RankingData.from_records([it.item_id for it in pool], [it.category for it in pool], world.user_outfits,
                                    tasks.ranking_lists(world, "valid", seed=seed + 1),
                                    tasks.ranking_lists(world, "test", seed=seed))


def item_images(paths: list[str], size: int, chunk: int = 256) -> np.ndarray:
    """Each item's image file decoded once, as ``ItemTable`` decodes it: uint8 (N, size, size, 3)
    (a missing image, path "", is white; the loader has counted and reported it)."""
    table = ItemTable(paths=paths, image_size=size)
    out = np.empty((len(paths), size, size, 3), dtype=np.uint8)
    for start in tqdm(range(0, len(paths), chunk), desc="decoding item images", unit="chunk", leave=False):
        rows = torch.arange(start, min(start + chunk, len(paths)))
        out[start:start + len(rows)] = table(rows).mul(255).round().byte().permute(0, 2, 3, 1).numpy()
    return out


def polyvore_u_ranking_data(dataset: PolyvoreU, negatives: str = "random") -> tuple[RankingData, list[str]]:
    """Polyvore-U as RankingData, and each item's image path ("" where missing).

    The item table is every line of the image lists (top, bottom, shoe, in file order): the variant's
    item set, which the random training negatives are drawn from (``random_outfits``), as FashionWorld's
    whole user item pool is (``world_ranking_data``), not only the items some tuple uses.
    """
    items = dataset.items(listed=True)
    ids = list(items)
    data = RankingData.from_records(ids, [items[i].category for i in ids], dataset.user_outfits(),
                                    dataset.ranking_lists("valid", negatives), dataset.ranking_lists("test", negatives))
    return data, [items[i].image for i in ids]


class PairDataset(Dataset):
    """(liked outfit, random outfit, user index) triples: ``negatives`` fixed random negatives per positive.

    Indexed by a list of pair indices (a whole batch at once: no per-pair Python work).
    """

    def __init__(self, data: RankingData, users: list[str], negatives: int, seed: int):
        rng = np.random.default_rng(seed)
        self.pos = torch.from_numpy(np.concatenate([data.train[u] for u in users]))  # (N, 3)
        self.user = torch.from_numpy(np.concatenate([np.full(len(data.train[u]), data.users.index(u)) for u in users]))
        self.neg = torch.from_numpy(data.random_outfits(len(self.pos) * negatives, rng))  # (N * negatives, 3)
        self.negatives = negatives

    def __len__(self) -> int:
        return len(self.neg)

    def __getitem__(self, ks: list[int]) -> tuple[Tensor, Tensor, Tensor]:
        ks = torch.as_tensor(ks)
        p = ks // self.negatives
        return self.pos[p], self.neg[ks], self.user[p]  # (B, 3), (B, 3), (B,)


class ItemTable(nn.Module):
    """Item rows -> model inputs: cached feature maps, in-memory images, or image files (missing = white).

    Args:
        features: (n_items, C, h, w) float cached maps (any trailing shape works).
        images: (n_items, H, W, 3) uint8 images, kept as uint8 and converted per batch.
        paths: one image file per item, "" for a missing one (counted in ``missing``).
        image_size: side of the images read from ``paths``.
    """

    def __init__(self, features: np.ndarray | None = None, images: np.ndarray | None = None,
                 paths: list[str] | None = None, image_size: int = 224):
        super().__init__()
        if sum(x is not None for x in (features, images, paths)) != 1:
            raise ValueError("give exactly one of features, images or paths")
        table = (torch.as_tensor(features, dtype=torch.float32) if features is not None
                 else torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2) if images is not None
                 else torch.zeros(0))
        self.register_buffer("table", table, persistent=False)
        self.paths, self.image_size, self.missing = paths, image_size, 0

    def __len__(self) -> int:
        return len(self.paths) if self.paths is not None else len(self.table)

    @property
    def dim(self) -> int:
        """Channels of one item's input (3 for images)."""
        return 3 if self.paths is not None else int(self.table.shape[1])

    def forward(self, rows: Tensor) -> Tensor:
        """(...,) long -> (..., C, h, w) cached maps, or (..., 3, H, W) images in [0, 1]."""
        if self.paths is None:
            x = self.table[rows]
            return x.float().div_(255) if x.dtype == torch.uint8 else x
        images = [self._image(self.paths[int(r)]) for r in rows.flatten().tolist()]
        return torch.stack(images).to(rows.device).view(*rows.shape, 3, self.image_size, self.image_size)

    def _image(self, path: str) -> Tensor:
        if not path:
            self.missing += 1
            return torch.ones(3, self.image_size, self.image_size)
        from fashionrec.images import read_rgb  # a bad file is an ImageError naming it

        im = Image.fromarray(read_rgb(path)).resize((self.image_size, self.image_size), Image.BILINEAR)
        return torch.from_numpy(np.asarray(im).copy()).permute(2, 0, 1).float() / 255


class MidLevelFeatures(backbones.Backbone):
    """A backbone's stride-16 ("mid") feature map, pooled to ``grid`` x ``grid`` and flattened: the
    frozen lower CNN layers. (B, 3, H, W) -> (B, C_mid * grid * grid).

    Mid-level maps keep colour, pattern and material (what outfits are matched on) better than
    the last, most ImageNet-specific layer (``benchmarks/bench_ch5_probe.py`` probes it level by level).
    """

    def __init__(self, backbone: backbones.Backbone, grid: int = 4):
        c = backbone.map_channels["mid"]
        super().__init__(f"{backbone.name}-mid{grid}", c * grid * grid, backbone.pretrained, backbone.map_channels,
                         tuple(backbone.mean.flatten().tolist()), tuple(backbone.std.flatten().tolist()),
                         backbone.min_size)
        self.inner, self.grid = backbone, grid

    def features(self, images: Tensor) -> Tensor:
        x = self.inner.feature_map(images, "mid")  # (B, C_mid, h, w)
        return F.adaptive_avg_pool2d(x, self.grid).flatten(1)


def standardise_maps(maps: np.ndarray, train_rows: np.ndarray) -> np.ndarray:
    """(N, C, h, w) maps -> the same, each channel standardised with the mean and standard deviation
    of the rows ``train_rows`` only (``store.Standardiser``, pooled over their positions)."""
    x = np.asarray(maps).transpose(0, 2, 3, 1)  # (N, h, w, C)
    scaler = store.Standardiser.fit(x[np.asarray(train_rows)].reshape(-1, x.shape[-1]))
    return np.ascontiguousarray(scaler(x).transpose(0, 3, 1, 2))  # (N, C, h, w)


def cached_item_maps(images: np.ndarray, train_rows: np.ndarray, backbone: str = "efficientnet_lite0",
                     grid: int = 4, device: str | torch.device = "cpu",
                     cache_dir: Path | None = None) -> np.ndarray:
    """(N, H, W, 3) uint8 -> (N, C, grid, grid) mid-level maps, standardised per channel.

    The frozen maps are cached on disk (``backbones.extract_features``); the per-channel statistics
    come from the items in ``train_rows`` only (``standardise_maps``), the items of the training
    outfits, so nothing about the test lists leaks into the features.
    """
    net = MidLevelFeatures(backbones.build_backbone(backbone), grid)
    x = backbones.extract_features(net, images, device=device, cache_dir=cache_dir, progress=False)
    return standardise_maps(x.reshape(len(x), -1, grid, grid), train_rows)


def training_items(data: RankingData) -> np.ndarray:
    """Sorted rows of the items in some user's liked training outfits."""
    return np.unique(np.concatenate([rows.ravel() for rows in data.train.values()]))


def ranking_digest(data: RankingData) -> str:
    """A digest of everything ``data`` holds: item ids, categories, users, outfits and labels."""
    lists = [(u, o, y) for split in (data.valid, data.test) for u, o, y in split]
    return store.key(data.item_ids, data.categories, data.users, [data.train[u] for u in data.users],
                     [u for u, *_ in lists], [o for _, o, _ in lists], [y for *_, y in lists])


@dataclass
class FashionNetData(RankingData):
    """What ``load_data`` returns: the ranking data (users, splits, item table rows) plus

    ``items``, the model input of every item (an ``ItemTable`` on the config's device), ``digest``
    (the data's digest, for the run folder), and for FashionWorld the ``world`` and each item's
    ``images`` (for figures and the oracle; None on real data). ``summary`` describes what was read.
    """

    items: ItemTable = None  # type: ignore[assignment]
    digest: str = ""
    world: World | None = None
    images: np.ndarray | None = None  # (n_items, H, W, 3) uint8 when decoded up front (cached features)
    summary: str = ""

    @property
    def labels(self) -> list[np.ndarray]:
        """Per user, the labels of the test list (1 = liked)."""
        return [y for *_, y in self.test]

    def describe(self) -> str:
        """Counts for a receipt: users, items per slot, liked outfits, test lists, item input."""
        per_slot = np.bincount(self.categories, minlength=3)
        labels = self.labels
        shape = tuple(self.items.table.shape[1:]) if len(self.items.table) else ("image", self.items.image_size)
        return "\n".join([
            *([self.summary] if self.summary else []),
            f"users: {len(self.users)}, items top/bottom/shoes: {'/'.join(map(str, per_slot))}",
            f"liked outfits per user, train: {np.mean([len(v) for v in self.train.values()]):.1f}",
            (f"test list per user: {np.mean([len(y) for y in labels]):.1f} outfits, "
             f"{np.mean([y.sum() for y in labels]):.1f} liked"),
            f"item input: {shape}"])


def load_data(cfg: Config, device: str | torch.device | None = None) -> FashionNetData:
    """The chapter's one data call: FashionWorld (``cfg.dataset == "fashionworld"``) or Polyvore-U.

    FashionWorld (size ``world_profile(cfg.profile)``, seed ``cfg.seed``): the users' item pool,
    their liked outfits, valid and test lists (``world_ranking_data``), and each item's input, cached
    mid-level maps standardised on the training items (``cfg.cached_features``) or the images.
    Polyvore-U (``cfg.data_root``): the same from the official files; with cached features each
    image file is decoded once (``item_images``), else read per batch. ``cfg.max_users`` keeps
    the first users. ``device``: default ``cfg.device``.
    """
    device = select_device(cfg.device) if device is None else torch.device(device)
    world, images, summary = None, None, ""
    if cfg.dataset == "fashionworld":
        world = World.build(WorldConfig.for_profile(world_profile(cfg.profile), seed=cfg.seed))
        data = world_ranking_data(world)  # the world's seed, cfg.seed
    elif cfg.dataset == "polyvore_u":
        polyvore = PolyvoreU.load(cfg.data_root)
        summary = polyvore.summary()
        data, paths = polyvore_u_ranking_data(polyvore)
    else:
        raise ValueError(f"dataset must be one of {', '.join(Config.DATASETS)}; got {cfg.dataset!r}")
    if cfg.max_users:
        data = data.subset(data.users[: cfg.max_users])
    if world is not None:
        images = world.images(data.item_ids, cfg.image_size)
        items = (ItemTable(cached_item_maps(images, training_items(data), cfg.backbone, cfg.grid, device,
                                            world.cache_dir / "features" if world.cache_dir else None))
                 if cfg.cached_features else ItemTable(images=images))
        digest = store.key(world.cfg.key(), ranking_digest(data))
    elif cfg.cached_features:  # decoded once, then the same frozen maps as on FashionWorld
        images = item_images(paths, cfg.image_size)
        items = ItemTable(cached_item_maps(images, training_items(data), cfg.backbone, cfg.grid, device,
                                           store.cache_root() / "fashionnet_features"))
        digest = store.key("polyvore_u", ranking_digest(data), paths)
    else:
        items = ItemTable(paths=paths, image_size=cfg.image_size)
        digest = store.key("polyvore_u", ranking_digest(data), paths)
    return FashionNetData(**vars(data), items=items.to(device), digest=digest, world=world, images=images,
                          summary=summary)
