"""Chapter 1's data: what the Bi-LSTM reads, from FashionWorld or Polyvore (Han et al., ACM MM 2017).

Items become rows of an :class:`ItemTable` (frozen backbone features, cached, or images to fine-tune on,
plus word ids of the catalog text); ``collate_outfits`` turns a batch of outfits into the softmax set X
of Sec. 3.1; :class:`OutfitTasks` holds a run's training outfits and test tasks (FITB with random and
type-matched negatives, compatibility), with FashionWorld's oracle scores. ``attribute_table`` is the
diagnostic twin that feeds the model the generator's attributes instead of images. The model is in
``fashionrec.bilstm.model``. ``load_data(cfg)`` is the chapter's one data call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from fashionrec import store
from fashionrec.backbones import Backbone, build_backbone, extract_features
from fashionrec.bilstm.config import Config
from fashionrec.config import select_device
from fashionrec.text import tokenize


# ----- items: what the model reads ------------------------------------------------------------
class PooledMap(Backbone):
    """A backbone's ``level`` map, mean- and max-pooled: (B, 3, H, W) -> (B, 2 C) (frozen features)."""

    def __init__(self, backbone: Backbone, level: str = "mid"):
        channels = backbone.map_channels[level] if level != "last" else backbone.dim
        super().__init__(f"{backbone.name}-{level}-meanmax", 2 * channels, backbone.pretrained,
                         backbone.map_channels, (0.0,) * 3, (1.0,) * 3, backbone.min_size)
        self.inner, self.level = backbone, level

    def features(self, images: Tensor) -> Tensor:
        maps = self.inner.feature_map(images, self.level)  # (B, C, h, w)
        return torch.cat([maps.mean(dim=(2, 3)), maps.amax(dim=(2, 3))], dim=1)


@dataclass
class ItemTable:
    """Items by row: model inputs and word ids. Inputs are cached backbone features (N, F), uint8
    images (N, H, W, 3), or None: then images are read from ``image_paths`` when needed (real data)."""

    item_ids: list[str]
    inputs: Tensor | None
    tokens: Tensor  # (N, L) word ids, 0 = padding
    ranks: np.ndarray  # (N,) position of the item's category in outfit order
    categories: list[str]
    image_paths: list[str] | None = None
    image_size: int = 64
    row: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.row = {i: k for k, i in enumerate(self.item_ids)}

    def rows(self, ids: Sequence[str]) -> list[int]:
        return [self.row[i] for i in ids]

    def model_inputs(self, rows: Tensor) -> Tensor:
        """(n, F) features or (n, 3, H, W) images in [0, 1] of the given rows."""
        if self.inputs is None:
            from fashionrec.datasets.files import load_image
            x = torch.from_numpy(np.stack([load_image(self.image_paths[r], self.image_size) for r in rows.tolist()]))
        else:
            x = self.inputs[rows]
        return x.permute(0, 3, 1, 2).float().div(255) if x.dtype == torch.uint8 else x


def encode_texts(texts: Sequence[str], vocab: dict[str, int], max_words: int) -> Tensor:
    """(N, max_words) word ids of each text (unknown words skipped, 0 = padding)."""
    out = torch.zeros(len(texts), max_words, dtype=torch.long)
    for k, t in enumerate(texts):
        ids = [vocab[w] for w in tokenize(t) if w in vocab][:max_words]
        out[k, : len(ids)] = torch.tensor(ids, dtype=torch.long)
    return out


def collate_outfits(table: ItemTable, max_items: int, pool: Sequence[str] | None = None
                    ) -> Callable[[list[tuple[str, ...]]], dict[str, Tensor]]:
    """DataLoader collate: outfits -> {inputs (U, ...), tokens (U, L), index (N,), lengths (B,)}.

    ``inputs``/``tokens`` hold each distinct item of the batch once (an item may be in several of
    its outfits), ``index`` the position in them of every outfit item, outfits flattened in order.
    These U items are the softmax set X of Sec. 3.1. With ``pool`` (item ids), the inputs are those
    items instead, every batch (``softmax="pool"``: X = all training images)."""
    fixed = torch.tensor(table.rows(pool)) if pool is not None else None
    fixed_inputs = table.model_inputs(fixed) if fixed is not None else None

    def collate(outfits: list[tuple[str, ...]]) -> dict[str, Tensor]:
        outfits = [o[:max_items] for o in outfits]
        ids = [i for o in outfits for i in o]
        if fixed is None:
            distinct = list(dict.fromkeys(ids))  # first-seen order
            rows = torch.tensor(table.rows(distinct))
            inputs = table.model_inputs(rows)
        else:
            distinct, rows, inputs = pool, fixed, fixed_inputs
        position = {i: k for k, i in enumerate(distinct)}
        return {"inputs": inputs, "tokens": table.tokens[rows], "index": torch.tensor([position[i] for i in ids]),
                "lengths": torch.tensor([len(o) for o in outfits])}
    return collate


# ----- a chapter run's data ----------------------------------------------------------------------
@dataclass
class OutfitTasks:
    """A chapter run's data: the item table, the vocabulary, training outfits and the test tasks."""

    table: ItemTable
    vocab: dict[str, int]
    train: list[tuple[str, ...]]
    test: list[tuple[str, ...]]
    gallery: list[str]  # the items of the test outfits: the softmax set X when scoring
    fitb: dict[str, list]  # "random" | "type" -> FITBQuestion list
    compatibility: list
    oracle: dict[str, np.ndarray] = field(default_factory=dict)  # FashionWorld only
    world: object | None = None
    note: str = ""
    train_items: list[str] = field(default_factory=list)  # the training outfits' items: standardisers fit on them
    digest: str = ""  # the data's digest (part of the run folder's key)

    @property
    def in_dim(self) -> int:
        """Width of the cached features (0 when the model reads images)."""
        inputs = self.table.inputs
        return inputs.shape[1] if inputs is not None and inputs.dim() == 2 else 0


def _table(cfg: Config, items: list, images: Callable[[], np.ndarray] | None, vocab: dict[str, int],
           ranks: np.ndarray, train_items: Sequence[str], device: torch.device | str, cache_dir) -> ItemTable:
    """Tokens, and features (frozen backbone, cached) or images (fine-tuning) for ``items``.

    Frozen features are standardised (inputs to a linear layer) with the training pool's statistics.
    """
    tokens = encode_texts([it.text for it in items], vocab, cfg.max_words)
    ids, cats = [it.item_id for it in items], [it.category for it in items]
    if cfg.finetune:
        if images is None:  # real data: read from disk when needed
            return ItemTable(ids, None, tokens, ranks, cats, [it.image for it in items], cfg.image_size)
        return ItemTable(ids, torch.from_numpy(images()), tokens, ranks, cats, image_size=cfg.image_size)
    pooled = PooledMap(build_backbone(cfg.backbone, pretrained=cfg.pretrained), cfg.feature_level)
    feats = extract_features(pooled, images(), device=device, progress=False, cache_dir=cache_dir)
    row = {i: k for k, i in enumerate(ids)}
    feats = store.Standardiser.fit(feats[[row[i] for i in train_items]])(feats)
    paths = [it.image for it in items] if items and all(it.image for it in items) else None  # real data: for figures
    return ItemTable(ids, torch.from_numpy(feats).float(), tokens, ranks, cats, paths, cfg.image_size)


def _fashionworld(cfg: Config, device: torch.device | str) -> OutfitTasks:
    """FashionWorld of the profile's size: train outfits, test FITB (both protocols) and compatibility,
    each with the oracle's scores.

    The items, training pool and gallery are those of the train and test outfits, in the order the
    Polyvore path gives them (a pool in first-seen order, the rest sorted by id): what a Polyvore
    export of this world holds, so both paths build one task. Type-matched FITB and compatibility are
    the world's (the export writes them); random-negative FITB is built from the test outfits as on
    Polyvore Outfits, which ships none (``polyvore.fitb_from_outfits``).
    """
    from fashionrec.datasets import polyvore as pv
    from fashionrec.world import tasks
    from fashionrec.world.vocab import CATEGORIES
    from fashionrec.world.world import World, WorldConfig

    world_cfg = WorldConfig.for_profile(cfg.profile, seed=cfg.seed)
    world = World.build(world_cfg)
    outfits = pv.PolyvoreData(Path("fashionworld"), world.items, world.outfits)  # the world as Polyvore data
    train_items = outfits.pool("train")
    ids = sorted(set(train_items) | set(outfits.pool("test")))
    items = [world.items[i] for i in ids]
    vocab = pv.build_vocab([world.items[i].text for i in train_items], cfg.min_word_count)
    ranks = np.array([CATEGORIES.index(it.category) for it in items])
    table = _table(cfg, items, lambda: world.images(ids, cfg.image_size), vocab, ranks, train_items, device,
                   world.cache_dir / "features" if world.cache_dir else None)
    fitb = {"random": pv.fitb_from_outfits(outfits, "test", cfg.n_fitb, negatives="random", seed=cfg.seed),
            "type": tasks.fitb_questions(world, "test", cfg.n_fitb, negatives="type", seed=cfg.seed)}
    compat = tasks.compatibility_examples(world, "test", seed=cfg.seed)
    oracle = {f"fitb_{neg}": tasks.fitb_oracle(world, q, "test") for neg, q in fitb.items()}
    oracle["compatibility"] = tasks.compatibility_oracle(world, compat, "test")
    return OutfitTasks(table, vocab, [o.item_ids for o in world.outfits["train"]][: cfg.max_train_outfits],
                       [o.item_ids for o in world.outfits["test"]], sorted(outfits.pool("test")), fitb, compat,
                       oracle, world, train_items=train_items, digest=store.key("fashionworld", world_cfg.key()))


def _polyvore(cfg: Config, device: torch.device | str) -> OutfitTasks:
    """Maryland Polyvore (``dataset="polyvore"``) or Polyvore Outfits (``"polyvore_outfits"``) from
    ``cfg.data_root``; items without images are dropped and counted (``note``)."""
    from fashionrec.datasets import polyvore as pv
    from fashionrec.datasets.polyvore_outfits import load_polyvore_outfits

    if cfg.dataset == "polyvore":
        data = pv.load_polyvore(cfg.data_root, drop_missing=True)
        files = {"random": "fill_in_blank_test.json", "compatibility": "fashion_compatibility_prediction.txt"}
        fitb = {"random": data.fitb or pv.fitb_from_outfits(data, "test", cfg.n_fitb, "random", seed=cfg.seed),
                "type": pv.fitb_from_outfits(data, "test", cfg.n_fitb, "type", seed=cfg.seed)}
    elif cfg.dataset == "polyvore_outfits":
        data = load_polyvore_outfits(cfg.data_root, drop_missing=True)
        files = {"type": "fill_in_blank_test.json", "compatibility": "compatibility_test.txt"}
        fitb = {"random": pv.fitb_from_outfits(data, "test", cfg.n_fitb, negatives="random", seed=cfg.seed),
                "type": data.fitb or pv.fitb_from_outfits(data, "test", cfg.n_fitb, negatives="type", seed=cfg.seed)}
    else:
        raise ValueError(f"dataset must be 'fashionworld', 'polyvore' or 'polyvore_outfits'; got {cfg.dataset!r}")
    compat = data.compatibility or pv.compatibility_from_outfits(data, "test", seed=cfg.seed)
    notes = [data.summary()]
    for kind, what in (("random", "FITB with random negatives"), ("type", "FITB with type-matched negatives"),
                       ("compatibility", "compatibility outfits")):
        read = kind in files and bool(data.compatibility if kind == "compatibility" else data.fitb)
        if kind not in files or not read:
            found = kind in files and any((data.root / d / files[kind]).exists() for d in ("", "label", "nondisjoint"))
            why = "" if kind not in files else f" ({files[kind]} {'has none left' if found else 'not found'})"
        notes.append(f"{what}: read from {files[kind]}" if read else f"{what}: built from the test outfits{why}")
    notes += [f"no FITB question with {kind} negatives could be built (too few test items of a kind): "
              f"its accuracy is NaN" for kind, questions in fitb.items() if not questions]
    train_items = list(data.pool("train"))
    used = set(train_items) | set(data.pool("test"))
    used |= {i for q in fitb["random"] + fitb["type"] for i in q.context + q.candidates if i}
    used |= {i for e in compat for i in e.item_ids}
    items = [data.items[i] for i in sorted(used)]
    vocab = pv.build_vocab([data.items[i].text for i in train_items], cfg.min_word_count)
    ranks = np.array([pv.SLOTS.index(it.category) if it.category in pv.SLOTS else len(pv.SLOTS) for it in items])
    images = None if cfg.finetune else (lambda: pv.load_item_images(items, cfg.image_size))
    table = _table(cfg, items, images, vocab, ranks, train_items, device, None)
    gallery = sorted({i for q in fitb["random"] + fitb["type"] for i in q.context + q.candidates if i}
                     | {i for e in compat for i in e.item_ids} | set(data.pool("test")))
    train = [o.item_ids for o in data.outfits["train"]][: cfg.max_train_outfits]
    if len(train) < len(data.outfits["train"]):
        notes.append(f"training on the first {len(train)} of {len(data.outfits['train'])} training outfits "
                     f"(max_train_outfits)")
    digest = store.key(cfg.dataset, [(it.item_id, it.image, it.text, it.category) for it in items], train,
                       {k: [(q.context, q.candidates, q.answer) for q in v] for k, v in fitb.items()},
                       [(e.item_ids, e.label) for e in compat])
    return OutfitTasks(table, vocab, train, [o.item_ids for o in data.outfits["test"]], gallery, fitb, compat,
                       note="\n".join(notes), train_items=train_items, digest=digest)


def load_data(cfg: Config, device: torch.device | str | None = None) -> OutfitTasks:
    """The chapter's one data call: FashionWorld (``cfg.dataset == "fashionworld"``) or Polyvore.

    ``device`` runs the frozen backbone (default: ``cfg.device``); the result's ``digest`` keys the run.
    """
    device = select_device(cfg.device) if device is None else device
    return _fashionworld(cfg, device) if cfg.on_world else _polyvore(cfg, device)


def with_attributes(data: OutfitTasks, formality: bool = True) -> OutfitTasks:
    """The same data, but the items' "features" are FashionWorld's true attributes (one-hot colours,
    pattern, material, sub-category, and the formality unless ``formality=False``) instead of images:
    what the same model could reach if the encoder recognised every attribute exactly (a diagnostic).
    Standardised with the training pool's statistics."""
    from fashionrec.world.vocab import COLORS, MATERIALS, PATTERNS, SUBCATEGORY_LIST

    if data.world is None:
        raise ValueError("with_attributes needs FashionWorld data (real items have no true attributes)")
    rows = []
    for i in data.table.item_ids:
        it = data.world.items[i]
        rows.append([c in it.colors for c in COLORS] + [it.pattern == p for p in PATTERNS]
                    + [it.material == m for m in MATERIALS] + [it.subcategory == s for s in SUBCATEGORY_LIST]
                    + ([it.formality] if formality else []))
    feats = np.asarray(rows, dtype=np.float32)
    feats = store.Standardiser.fit(feats[data.table.rows(data.train_items)])(feats)
    return replace(data, table=replace(data.table, inputs=torch.from_numpy(feats)))
