"""FashionWorld: build (or load from the cache) a whole fashion universe from a seed.

>>> world = World.build(WorldConfig.for_profile("smoke"))
>>> world.outfits["train"][0], world.images(world.outfits["train"][0].item_ids).shape
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property
from pathlib import Path

import numpy as np
from scipy.special import logsumexp

from .catalog import catalog_text, make_items
from .model import BOTTOM, SHOES, TOP, ModelParams, OutfitModel
from fashionrec.records import ConsumerPhoto, Item, Outfit, User
from .styles import STYLES
from .vocab import COLORS

GENERATOR_VERSION = 1  # bump when a change alters what a seed generates
SPLITS = ("train", "valid", "test")


@dataclass(frozen=True)
class WorldConfig:
    """Sizes and knobs of one FashionWorld. The cache key is a hash of all of it."""

    seed: int = 0
    n_items: int = 4000
    n_outfits: int = 6000
    split_fractions: tuple[float, float, float] = (0.7, 0.1, 0.2)
    n_users: int = 40
    user_positives: int = 60  # liked (top, bottom, shoes) outfits per user
    user_negatives_per_positive: int = 6  # He & Hu 2018
    user_taste: float = 1.5  # strength of a user's personal colour likes / dislikes
    user_noise: float = 0.1  # share of a user's liked outfits that ignore their taste
    params: ModelParams = field(default_factory=ModelParams)

    @staticmethod
    def for_profile(profile: str, seed: int = 0) -> "WorldConfig":
        """Sizes per profile (``config.world_profile``): smoke = seconds (CI), standard and paper = the book's."""
        from fashionrec.config import world_profile

        sizes = {"smoke": dict(n_items=800, n_outfits=600, n_users=6, user_positives=30),
                 "standard": dict(n_items=4000, n_outfits=6000, n_users=40, user_positives=60)}
        return WorldConfig(seed=seed, **sizes[world_profile(profile)])

    def key(self) -> str:
        """The cache key: this config and the generator's code (``store.code_digest``), so a change to
        the generator never reuses a world it no longer generates."""
        from fashionrec.store import code_digest, key

        return key("fashionworld", GENERATOR_VERSION, asdict(self), code_digest("fashionrec.world.world", within="fashionrec.world"),
                   size=6)


def default_cache_dir() -> Path:
    """The store's cache root (``store.cache_root``)."""
    from fashionrec.store import cache_root

    return cache_root()


@dataclass
class World:
    """Items, outfits per split, users and their outfits; images rendered on request and cached."""

    cfg: WorldConfig
    items: dict[str, Item]  # every item, outfit pools and look-alikes
    pools: dict[str, list[str]]  # split -> item ids of that split's pool (no item in two splits)
    outfits: dict[str, list[Outfit]]
    users: list[User]
    user_outfits: dict[str, dict[str, list[tuple[str, ...]]]]  # user -> split -> liked outfits
    render_seeds: dict[str, int]
    cache_dir: Path | None = None

    # ----- building -------------------------------------------------------------------------
    @staticmethod
    def build(cfg: WorldConfig, cache_dir: Path | None = None, use_cache: bool = True) -> "World":
        """Load the world for ``cfg`` from the cache, or generate it (and cache it).

        A damaged ``world.json`` (truncated, not JSON, missing fields) is generated again, with a
        ``store.RebuiltCache`` warning naming it.
        """
        from fashionrec.store import read_or_explain

        root = (cache_dir or default_cache_dir()) / "fashionworld" / cfg.key()
        path = root / "world.json"
        if use_cache and path.exists():
            loaded = read_or_explain(path, lambda p: World._checked(World.from_json(
                json.loads(p.read_text(encoding="utf-8")), cfg, root)), what="FashionWorld cache", cache=True)
            if loaded is not None:
                return loaded
        world = World.generate(cfg)
        world.cache_dir = root if use_cache else None
        if use_cache:
            from fashionrec.store import atomic_write

            text = json.dumps(world.to_json(), sort_keys=True)
            atomic_write(path, lambda f: f.write(text), mode="w")
        return world

    def _checked(self) -> "World":
        """``self`` when its counts are those ``cfg`` generates (items, users, outfits per split), else a ValueError."""
        cfg = self.cfg
        found = (len(self.items), len(self.render_seeds), sum(map(len, self.pools.values())), len(self.users),
                 tuple(len(self.outfits.get(s, ())) for s in SPLITS))
        expected = (cfg.n_items, cfg.n_items, cfg.n_items, cfg.n_users,
                    tuple(int(round(f * cfg.n_outfits)) for f in cfg.split_fractions))
        if found != expected:
            raise ValueError(f"holds (items, render seeds, pooled items, users, outfits per split) {found}, "
                             f"expected {expected}")
        return self

    @staticmethod
    def generate(cfg: WorldConfig) -> "World":
        """Generate everything from ``cfg.seed`` (deterministic)."""
        rng = np.random.default_rng(cfg.seed)
        item_list, _ = make_items(cfg.n_items, rng, cfg.params.favour)
        items = {it.item_id: it for it in item_list}
        render_seeds = {it.item_id: int(s) for it, s in zip(item_list, rng.integers(2**31, size=len(item_list)))}
        # Split the pool first, then draw each split's outfits from its own items only.
        order = rng.permutation(len(item_list))
        cuts = np.cumsum([int(f * len(item_list)) for f in cfg.split_fractions[:2]])
        pools = {s: sorted(item_list[k].item_id for k in part)
                 for s, part in zip(SPLITS, np.split(order, cuts))}
        outfits = {}
        for split, frac in zip(SPLITS, cfg.split_fractions):
            model = OutfitModel([items[i] for i in pools[split]], cfg.params)
            outfits[split] = []
            for k in range(int(round(frac * cfg.n_outfits))):
                noisy = rng.random() < cfg.params.noise
                style = None if noisy else int(rng.integers(len(STYLES)))
                seq = model.sample(rng, style)
                ids = tuple(model.items[j].item_id for j in seq)
                outfits[split].append(Outfit(f"{split}-{k:05d}", ids, _outfit_text(style, rng),
                                             None if noisy else STYLES[style].name))
        users, user_outfits = _make_users(cfg, item_list, rng)
        return World(cfg, items, pools, outfits, users, user_outfits, render_seeds)

    # ----- the generator's likelihoods (oracles) --------------------------------------------
    @cached_property
    def models(self) -> dict[str, OutfitModel]:
        """One outfit model per split pool."""
        return {s: OutfitModel([self.items[i] for i in self.pools[s]], self.cfg.params) for s in SPLITS}

    def log_prob(self, item_ids: tuple[str, ...], split: str) -> float:
        """Exact log P(outfit) under the generator of ``split`` (-inf: not a valid outfit there)."""
        m = self.models[split]
        if any(i not in m.index for i in item_ids):
            return -np.inf
        return m.log_prob([m.index[i] for i in item_ids])

    def log_prob_random(self, item_ids: tuple[str, ...], split: str) -> float:
        """Exact log P_rand(outfit): a random combination of the split's items."""
        m = self.models[split]
        return m.log_prob_random([m.index[i] for i in item_ids])

    @cached_property
    def user_model(self) -> OutfitModel:
        """The (top, bottom, shoes) model over the whole pool that users' outfits come from."""
        return OutfitModel(_user_pool(list(self.items.values()), self.pools), self.cfg.params)

    def user_log_prob(self, user: User, outfit: tuple[str, str, str]) -> float:
        """Exact log P_user(outfit): the user's style mixture and colour taste, plus their noise."""
        m = self.user_model
        seq = [m.index[i] for i in outfit]
        lp = m.log_prob_styles(seq, extra=_taste(m, user, self.cfg.user_taste), slot_odds=False)
        styled = logsumexp(np.log(np.asarray(user.style_weights)) + lp) + np.log1p(-self.cfg.user_noise)
        rand = m.log_prob_random(seq, slot_odds=False) + np.log(self.cfg.user_noise)
        return float(np.logaddexp(styled, rand))

    # ----- images -----------------------------------------------------------------------------
    def images(self, item_ids: list[str] | tuple[str, ...], size: int = 64, progress: bool = False) -> np.ndarray:
        """(N, size, size, 3) uint8 product images, rendered once per size and cached on disk."""
        from .render import render_items

        table = self._image_table(size, progress)
        missing = [i for i in item_ids if i not in table[0]]
        if missing:
            extra = render_items([self.items[i] for i in missing], [self.render_seeds[i] for i in missing], size)
            return np.stack([table[1][table[0][i]] if i in table[0] else extra[missing.index(i)] for i in item_ids])
        return table[1][[table[0][i] for i in item_ids]]

    def _image_table(self, size: int, progress: bool) -> tuple[dict[str, int], np.ndarray]:
        from .render import render_items

        memo = self.__dict__.setdefault("_images", {})
        if size not in memo:
            ids = sorted(i for pool in self.pools.values() for i in pool)  # look-alikes render on demand
            path = self.cache_dir / f"images_{size}_{_renderer_key()}.npy" if self.cache_dir else None
            from fashionrec.store import load_array, save_array

            arr = load_array(path, (len(ids), size, size, 3)) if path is not None else None
            if arr is None:
                arr = render_items([self.items[i] for i in ids], [self.render_seeds[i] for i in ids], size, progress)
                if path is not None:
                    save_array(path, arr)
            memo[size] = ({i: k for k, i in enumerate(ids)}, arr)
        return memo[size]

    def consumer_images(self, photos: list[ConsumerPhoto], size: int = 64) -> np.ndarray:
        """(N, size, size, 3) street photos of shop items (chapter 3)."""
        from .render import render_consumer_photo

        return np.stack([render_consumer_photo(self.items[p.item_id], self.render_seeds[p.item_id],
                                               _photo_seed(p.photo_id), size) for p in photos])

    # ----- (de)serialisation -------------------------------------------------------------------
    def to_json(self) -> dict:
        return {"items": [asdict(it) for it in self.items.values()], "pools": self.pools,
                "outfits": {s: [asdict(o) for o in v] for s, v in self.outfits.items()},
                "users": [asdict(u) for u in self.users], "user_outfits": self.user_outfits,
                "render_seeds": self.render_seeds}

    @staticmethod
    def from_json(d: dict, cfg: WorldConfig, cache_dir: Path | None = None) -> "World":
        def item(x: dict) -> Item:
            return Item(**{**x, "colors": tuple(x["colors"])})
        return World(
            cfg, {x["item_id"]: item(x) for x in d["items"]}, d["pools"],
            {s: [Outfit(**{**o, "item_ids": tuple(o["item_ids"])}) for o in v] for s, v in d["outfits"].items()},
            [User(**{k: tuple(v) if isinstance(v, list) else v for k, v in u.items()}) for u in d["users"]],
            {u: {s: [tuple(o) for o in v] for s, v in per.items()} for u, per in d["user_outfits"].items()},
            d["render_seeds"], cache_dir)

    def with_lookalikes(self, item_ids: list[str], rng: np.random.Generator) -> dict[str, Item]:
        """Look-alike distractors for a gallery: per item, the same shape and pattern in another colour,
        and the same colours in another pattern (chapter 3). Returns new items keyed by id; they share
        their original's render seed, so only colour or pattern tells them apart."""
        from .vocab import PATTERNS

        new = {}
        for i in item_ids:
            it = self.items[i]
            other = [c for c in COLORS if c not in it.colors]
            recolour = (other[rng.integers(len(other))],) + it.colors[1:]
            patterns = [p for p in PATTERNS if p != it.pattern]
            for k, change in enumerate((dict(colors=recolour), dict(pattern=patterns[rng.integers(len(patterns))]))):
                la = replace(it, item_id=f"{i}-la{k}", **change)
                la = replace(la, text=catalog_text(asdict(la), "casual", rng))
                new[la.item_id] = la
                self.items[la.item_id] = la
                self.render_seeds[la.item_id] = self.render_seeds[i]
        return new


def _renderer_key() -> str:
    """A digest of the renderer's code and palette (``store.code_digest``): cached images are redrawn
    when the renderer, its shapes or its colours change."""
    from fashionrec.store import code_digest

    return code_digest("fashionrec.world.render", within="fashionrec.world")[:8]


def _outfit_text(style: int | None, rng: np.random.Generator) -> str:
    from .catalog import STYLE_PHRASES

    if style is None:
        return "my look"
    phrases = STYLE_PHRASES[STYLES[style].name]
    return f"{phrases[rng.integers(len(phrases))]} look"


def _photo_seed(photo_id: str) -> int:
    return int(hashlib.sha1(photo_id.encode()).hexdigest()[:8], 16)


def _user_pool(items: list[Item], pools: dict[str, list[str]]) -> list[Item]:
    outfit_items = {i for ids in pools.values() for i in ids}
    return [it for it in items if it.item_id in outfit_items and it.category in ("top", "bottom", "shoes")]


def _taste(model: OutfitModel, user: User, strength: float) -> np.ndarray:
    """Per-item bonus of a user's colour likes (+) and dislikes (-) (the personal part of taste)."""
    like = np.array([c in user.liked_colors for c in COLORS], dtype=float)
    dislike = np.array([c in user.disliked_colors for c in COLORS], dtype=float)
    return strength * model.col @ (like - dislike)


def _make_users(cfg: WorldConfig, items: list[Item], rng: np.random.Generator):
    pools_all = {"all": [it.item_id for it in items]}
    model = OutfitModel(_user_pool(items, pools_all), cfg.params)
    users, outfits = [], {}
    for u in range(cfg.n_users):
        weights = rng.dirichlet(np.full(len(STYLES), 0.4))
        colors = rng.permutation(len(COLORS))
        user = User(f"u{u:03d}", tuple(float(w) for w in weights),
                    tuple(COLORS[c] for c in colors[:2]), tuple(COLORS[c] for c in colors[2:4]))
        extra = _taste(model, user, cfg.user_taste)
        liked = []
        for _ in range(cfg.user_positives):
            style = None if rng.random() < cfg.user_noise else int(rng.choice(len(STYLES), p=weights))
            seq = model.sample(rng, style, slots=[TOP, BOTTOM, SHOES], extra=extra)
            liked.append(tuple(model.items[j].item_id for j in seq))
        n_train, n_valid = int(0.6 * len(liked)), int(0.15 * len(liked))
        outfits[user.user_id] = {"train": liked[:n_train], "valid": liked[n_train:n_train + n_valid],
                                 "test": liked[n_train + n_valid:]}
        users.append(user)
    return users, outfits
