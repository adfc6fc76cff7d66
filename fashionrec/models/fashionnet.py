"""FashionNet (He & Hu 2018): personalised outfit ranking with architectures A, B, C and two-stage training.

An outfit is a (top, bottom, shoes) triple. A FashionNet scores it with a *feature network* (a CNN)
and a *matching network* (fully connected layers ending in a 2-way softmax, like / dislike):

- **A**: the three images stacked on the channel axis (w x h x 9) -> one CNN -> FC -> softmax;
- **B**: one shared CNN per item -> the three features concatenated -> 3 FC -> softmax;
- **C**: one shared CNN per item -> per category pair (top-bottom, top-shoes, bottom-shoes) the two
  features concatenated -> that pair's matching network (3 FC + softmax) -> s = sum of the pairs.

All are trained on (liked outfit, random outfit) pairs with the rank loss of Eq. (1),
L = log(1 + exp(-(s+ - s-))). Stage one trains one general model on every user's outfits; stage
two fine-tunes it per user, either the matching network only ("partial") or everything ("whole").
A per-user model is stored as the *difference from the shared model*: only the parameters that
user's fine-tuning changed (``user_state``), never a full copy of the network.

On the ``standard`` profile the lower layers of the CNN are frozen and cached (EfficientNet-Lite0
up to its stride-16 block, global-average-pooled): "the CNN" is then the trainable layers on top
(``feature_head``), and A stacks the three items' cached vectors, which are 1 x 1 maps, on the
channel axis. The ``paper`` profile trains VGG-16 end to end on the images.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor, nn
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler
from tqdm.auto import tqdm

from fashionrec import backbones, metrics
from fashionrec.config import TrainConfig, seed_everything
from fashionrec.datasets.polyvore_u import PolyvoreU
from fashionrec.train import fit
from fashionrec.world import tasks
from fashionrec.world.records import RankingList
from fashionrec.world.world import World

ARCHS = ("A", "B", "C")
SLOTS = ("top", "bottom", "shoes")
PAIRS = ((0, 1), (0, 2), (1, 2))  # C's category pairs: top-bottom, top-shoes, bottom-shoes
TRAINED = {"partial": ("matching",), "whole": ("features", "matching"), "direct": ("features", "matching"),
           "user-conditioned": ("matching", "film", "users")}  # what each regime changes (and stores)


@dataclass(frozen=True)
class FashionNetConfig:
    """Every knob of the chapter; ``for_profile`` gives the smoke / standard / paper presets."""

    chapter: str = "fashionnet"
    profile: str = "standard"
    dataset: str = "fashionworld"  # or "polyvore_u"
    data_root: str = "data"
    device: str = "auto"
    seed: int = 0
    n_seeds: int = 3  # models are trained with seeds seed, seed + 1, ...
    backbone: str = "efficientnet_lite0"
    pretrained: bool = True
    cached_features: bool = True  # frozen, cached lower CNN layers (+ a trainable head); False = train the CNN
    image_size: int = 64
    grid: int = 1  # cached mid-level maps pooled to grid x grid (1 = one vector per item)
    feature_dim: int = 64  # D: one item's feature (B, C); A's outfit feature
    head_hidden: int = 128  # hidden units of the trainable feature head on cached features
    hidden: tuple[int, int] = (64, 32)  # the matching network's two hidden FC layers
    dropout: float = 0.0
    train_negatives: int = 6  # random negatives per liked outfit (He & Hu: 6x)
    user_dim: int = 8  # user embedding of the user-conditioned model (beyond the paper)
    max_users: int | None = None  # first n users only (None = all)
    scaling_users: tuple[int, ...] = (10, 20, 40)
    top_k: int = 10
    discount: str = "fashionnet"  # NDCG discount 1 / log2(max(2, i)), as the paper
    stage_one: TrainConfig = TrainConfig(epochs=10, batch_size=128, lr=3e-3, patience=4, amp=False)
    stage_two: TrainConfig = TrainConfig(epochs=8, batch_size=64, lr=1e-3, patience=3, amp=False)
    conditioned: TrainConfig = TrainConfig(epochs=10, batch_size=128, lr=1e-3, patience=4, amp=False)

    @staticmethod
    def for_profile(profile: str, **overrides) -> "FashionNetConfig":
        """smoke = seconds (CI); standard = the book (FashionWorld, CPU minutes); paper = Polyvore-U on a GPU."""
        presets = {
            "smoke": dict(n_seeds=1, scaling_users=(3, 6),
                          stage_one=TrainConfig(epochs=2, batch_size=128, amp=False),
                          stage_two=TrainConfig(epochs=2, batch_size=64, amp=False),
                          conditioned=TrainConfig(epochs=2, batch_size=128, amp=False)),
            "standard": {},
            "paper": dict(n_seeds=1, backbone="vgg16",
                          cached_features=False, image_size=224, feature_dim=4096, hidden=(1024, 512),
                          dropout=0.5, scaling_users=(100, 200, 400, 800), max_users=800,
                          stage_one=TrainConfig(epochs=18, batch_size=30, optimizer="sgd", lr=1e-3,
                                                schedule="step", step_epochs=6, step_gamma=0.1),
                          stage_two=TrainConfig(epochs=18, batch_size=30, optimizer="sgd", lr=1e-4),
                          conditioned=TrainConfig(epochs=18, batch_size=30, optimizer="sgd", lr=1e-3)),
        }
        if profile not in presets:
            raise ValueError(f"profile must be one of {sorted(presets)}; got {profile!r}")
        return replace(FashionNetConfig(profile=profile, **presets[profile]), **overrides)

    @property
    def seeds(self) -> tuple[int, ...]:
        return tuple(range(self.seed, self.seed + self.n_seeds))


# ----- the model ------------------------------------------------------------------------------
def mlp(sizes: list[int], dropout: float = 0.0, last_relu: bool = False) -> nn.Sequential:
    """Linear layers with ReLU (and dropout) between them: sizes = [in, hidden..., out]."""
    layers: list[nn.Module] = []
    for k, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if k < len(sizes) - 2 or last_relu:
            layers += [nn.ReLU(), nn.Dropout(dropout)] if dropout else [nn.ReLU()]
    return nn.Sequential(*layers)


def like_probability(logits: Tensor) -> Tensor:
    """(..., 2) logits (dislike, like) -> (...,) softmax probability of "like", in float64.

    float32 rounds every probability above 1 - 6e-8 to exactly 1, which would tie the outfits a
    confident model likes most; float64 keeps them apart (and ranks them as the logits do).
    """
    return torch.softmax(logits.double(), dim=-1)[..., 1]


class FashionNet(nn.Module):
    """He & Hu 2018, Fig. 2: a feature network and a matching network; ``forward`` gives the score s.

    Args:
        arch: "A", "B" or "C".
        features: item inputs -> features. A: (B, 3 * C_in, ...) stacked outfit -> (B, D);
            B and C: (N, C_in, ...) one item -> (N, D).
        feature_dim: D.
        hidden: sizes of the matching network's hidden FC layers (B: 3 FC, C: 3 FC per pair).
        n_users, user_dim: C only; > 0 adds a learned user embedding e_u that scales and shifts the
            first hidden layer of every matching network (FiLM, Perez et al. 2018): the
            user-conditioned model, beyond the paper.
    """

    def __init__(self, arch: str, features: nn.Module, feature_dim: int, hidden: tuple[int, ...] = (64, 32),
                 dropout: float = 0.0, n_users: int = 0, user_dim: int = 0):
        super().__init__()
        if arch not in ARCHS:
            raise ValueError(f"arch must be one of {ARCHS}; got {arch!r}")
        if n_users and arch != "C":
            raise ValueError("the user embedding feeds C's matching networks; use arch='C'")
        self.arch, self.features = arch, features
        self.feature_dim, self.hidden, self.dropout = feature_dim, tuple(hidden), dropout
        d = feature_dim
        if arch == "A":
            self.matching = nn.Linear(d, 2)  # "FC + softmax" after the CNN
        elif arch == "B":
            self.matching = mlp([3 * d, *hidden, 2], dropout)
        else:
            self.matching = nn.ModuleList([mlp([2 * d, *hidden, 2], dropout) for _ in PAIRS])
        self.users = nn.Embedding(n_users, user_dim) if n_users else None
        self.film = nn.ModuleList([nn.Linear(user_dim, 2 * hidden[0]) for _ in PAIRS]) if n_users else None
        if n_users:  # the user terms start at zero: the model starts as the general one
            nn.init.normal_(self.users.weight)
            for layer in self.film:
                nn.init.zeros_(layer.weight)
                nn.init.zeros_(layer.bias)

    def forward(self, items: Tensor, users: Tensor | None = None) -> Tensor:
        """(B, 3, *item_shape) items in (top, bottom, shoes) order -> (B,) score s."""
        n = items.shape[0]
        if self.arch == "A":
            return like_probability(self.matching(self.features(items.flatten(1, 2))))  # stack channels
        x = self.features(items.flatten(0, 1)).view(n, 3, -1)  # (B, 3, D), one shared CNN
        if self.arch == "B":
            return like_probability(self.matching(x.flatten(1)))  # (B, 3D) -> 3 FC -> softmax
        scores = []
        for k, (m, (p, q)) in enumerate(zip(self.matching, PAIRS)):
            h = m[0](torch.cat([x[:, p], x[:, q]], dim=1))  # (B, hidden[0]), first FC of the pair's network
            if self.users is not None:
                scale, shift = self.film[k](self.users(users)).chunk(2, dim=1)  # (B, hidden[0]) each
                h = h * (1 + scale) + shift
            scores.append(like_probability(m[1:](h)))
        return sum(scores)  # s = sum of the pairs' like probabilities


def rank_loss(pos_scores: Tensor, neg_scores: Tensor) -> Tensor:
    """Eq. (1): L = log(1 + exp(-(s+ - s-))), averaged over (positive, negative) pairs."""
    return F.softplus(-(pos_scores - neg_scores)).mean()


class StackedChannels(nn.Module):
    """A's CNN on raw images: the backbone with its first conv widened to 3x the channels.

    (B, 9, H, W) -> (B, dim). Each item is normalised as the backbone expects before stacking; with
    pretrained weights the first conv's weights are tiled and divided by 3 (our choice: the paper
    does not say how it initialised the 9-channel layer).
    """

    def __init__(self, backbone: backbones.Backbone):
        super().__init__()
        self.backbone = backbone
        name, conv = next((n, m) for n, m in backbone.named_modules() if isinstance(m, nn.Conv2d))
        wide = nn.Conv2d(3 * conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
                         bias=conv.bias is not None)
        with torch.no_grad():
            wide.weight.copy_(conv.weight.repeat(1, 3, 1, 1) / 3)
            if conv.bias is not None:
                wide.bias.copy_(conv.bias)
        parent = backbone.get_submodule(name.rsplit(".", 1)[0]) if "." in name else backbone
        setattr(parent, name.rsplit(".", 1)[-1], wide)

    def forward(self, stacked: Tensor) -> Tensor:
        x = torch.cat([self.backbone.normalize(stacked[:, 3 * k:3 * k + 3]) for k in range(3)], 1)  # (B, 9, H, W)
        x = self.backbone._maps(x, "last")
        if isinstance(self.backbone, backbones.VGGBackbone):
            return self.backbone.model.classifier(torch.flatten(self.backbone.model.avgpool(x), 1))  # (B, 4096)
        return x.mean(dim=(2, 3))


def build_model(arch: str, cfg: FashionNetConfig, in_dim: int = 0, n_users: int = 0) -> FashionNet:
    """A FashionNet for ``cfg``: a head on cached features of size ``in_dim``, or a CNN on images."""
    if cfg.cached_features:
        c_in = 3 * in_dim if arch == "A" else in_dim
        features: nn.Module = MapHead(c_in, cfg.head_hidden, cfg.feature_dim, cfg.dropout)
    else:
        backbone = backbones.build_backbone(cfg.backbone, pretrained=cfg.pretrained)
        features = StackedChannels(backbone) if arch == "A" else backbone
        if backbone.dim != cfg.feature_dim:
            raise ValueError(f"{cfg.backbone} gives {backbone.dim}-d features; set feature_dim={backbone.dim}")
    return FashionNet(arch, features, cfg.feature_dim, cfg.hidden, cfg.dropout, n_users, cfg.user_dim)


def user_conditioned(general: FashionNet, n_users: int, user_dim: int) -> FashionNet:
    """A user-conditioned C initialised from a general (stage one) C: the FiLM layers start at zero,
    so before training it scores exactly as ``general`` does."""
    if general.arch != "C":
        raise ValueError("the user-conditioned model extends FashionNet C")
    model = FashionNet("C", copy.deepcopy(general.features), general.feature_dim, general.hidden,
                       general.dropout, n_users=n_users, user_dim=user_dim)
    model.load_state_dict(general.state_dict(), strict=False)  # all but the new user terms
    return model


def user_state(model: nn.Module, regime: str) -> dict[str, Tensor]:
    """The parameters a regime changes, copied to the CPU: what is stored per user."""
    parts = TRAINED[regime]
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items() if k.split(".")[0] in parts}


def state_bytes(state: dict[str, Tensor]) -> int:
    return sum(v.numel() * v.element_size() for v in state.values())


# ----- data: outfits as rows of one item table ------------------------------------------------
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
                     valid: list[RankingList], test: list[RankingList]) -> "RankingData":
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

    def subset(self, users: list[str]) -> "RankingData":
        keep = set(users)
        return replace(self, users=list(users), train={u: self.train[u] for u in users},
                       valid=[x for x in self.valid if x[0] in keep], test=[x for x in self.test if x[0] in keep])

    def random_outfits(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """(n, 3) random (top, bottom, shoes) combinations: the negatives for training."""
        return np.stack([rng.choice(np.flatnonzero(self.categories == c), n) for c in range(3)], axis=1)


def world_ranking_data(world: World, seed: int = 0) -> RankingData:
    """FashionWorld's users: the (top, bottom, shoes) pool their outfits come from, their liked
    outfits, and per user a test list (``tasks.ranking_lists``, ``seed``) and a valid list (``seed + 1``)."""
    pool = world.user_model.items
    return RankingData.from_records([it.item_id for it in pool], [it.category for it in pool], world.user_outfits,
                                    tasks.ranking_lists(world, "valid", seed=seed + 1),
                                    tasks.ranking_lists(world, "test", seed=seed))


def polyvore_u_ranking_data(dataset: PolyvoreU, negatives: str = "random") -> tuple[RankingData, list[str]]:
    """Polyvore-U as RankingData, and each item's image path ("" where missing)."""
    items = dataset.items()
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
        with Image.open(path) as im:
            im = im.convert("RGB").resize((self.image_size, self.image_size), Image.BILINEAR)
        return torch.from_numpy(np.asarray(im).copy()).permute(2, 0, 1).float() / 255


class MidLevelFeatures(backbones.Backbone):
    """A backbone's stride-16 ("mid") feature map, pooled to ``grid`` x ``grid`` and flattened: the
    frozen lower CNN layers. (B, 3, H, W) -> (B, C_mid * grid * grid).

    Mid-level maps keep colour, pattern and material (what outfits are matched on) better than
    the last, most ImageNet-specific layer; a linear probe shows it in the notebook.
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


def cached_item_maps(images: np.ndarray, backbone: str = "efficientnet_lite0", grid: int = 4, device: str = "cpu",
                     cache_dir: Path | None = None) -> np.ndarray:
    """(N, H, W, 3) uint8 -> (N, C, grid, grid) mid-level maps, standardised per channel (cached on disk)."""
    net = MidLevelFeatures(backbones.build_backbone(backbone), grid)
    x = backbones.extract_features(net, images, device=device, cache_dir=cache_dir, progress=False)
    x = x.reshape(len(x), -1, grid, grid)
    return (x - x.mean(axis=(0, 2, 3), keepdims=True)) / (x.std(axis=(0, 2, 3), keepdims=True) + 1e-6)


class MapHead(nn.Module):
    """The trainable top of the CNN on cached maps: 1x1 conv -> ReLU -> global average pool -> FC -> ReLU.

    (N, C_in, h, w) -> (N, D). For A, C_in = 3 x C_mid: the items' maps stacked on the channel axis,
    so every position mixes the three items, as a CNN on 9-channel images does. The 1x1 convolution
    is a Linear layer over the channel axis (the same map, faster on a CPU).
    """

    def __init__(self, in_channels: int, hidden: int, out: int, dropout: float = 0.0):
        super().__init__()
        self.conv = nn.Linear(in_channels, hidden)  # 1x1 convolution
        self.fc = mlp([hidden, out], dropout, last_relu=True)

    def forward(self, maps: Tensor) -> Tensor:
        x = F.relu(self.conv(maps.movedim(1, -1)))  # (N, h, w, hidden)
        return self.fc(x.mean(dim=(1, 2)))  # (N, D)


# ----- training -----------------------------------------------------------------------------
def _loss_fn(items: ItemTable) -> Callable:
    def loss(model: FashionNet, batch) -> Tensor:
        pos, neg, users = batch  # (B, 3), (B, 3), (B,)
        return rank_loss(model(items(pos), users), model(items(neg), users))
    return loss


def pair_loader(data: RankingData, users: list[str], negatives: int, batch_size: int, seed: int) -> DataLoader:
    """Shuffled batches of (positive, negative, user) pairs; the order depends on ``seed`` alone."""
    dataset = PairDataset(data, users, negatives, seed)
    generator = seed_everything(seed)
    batches = BatchSampler(RandomSampler(dataset, generator=generator), batch_size, drop_last=False)
    return DataLoader(dataset, sampler=batches, batch_size=None, generator=generator)


@torch.no_grad()
def score_list(model: FashionNet, items: ItemTable, outfits: np.ndarray, user: int | None = None,
               batch_size: int = 512) -> np.ndarray:
    """(n, 3) outfit rows -> (n,) scores, in eval mode."""
    model.eval()
    device = items.table.device
    out = []
    for k in range(0, len(outfits), batch_size):
        rows = torch.from_numpy(outfits[k:k + batch_size]).to(device)
        users = None if user is None else torch.full((len(rows),), user, device=device)
        out.append(model(items(rows), users).double().cpu().numpy())
    return np.concatenate(out)


def mean_ndcg_of(model: FashionNet, items: ItemTable, lists: list, data: RankingData, discount: str,
                 conditioned: bool = False) -> float:
    """Validation metric: mean NDCG averaged over the lists (users)."""
    scores = [score_list(model, items, o, data.users.index(u) if conditioned else None) for u, o, _ in lists]
    return metrics.per_list_mean(metrics.mean_ndcg, scores, [y for *_, y in lists], discount=discount)


def train_general(model: FashionNet, data: RankingData, items: ItemTable, cfg: FashionNetConfig, seed: int,
                  device: torch.device, run_dir: Path | None, params=None, progress: bool = False):
    """Stage one (all users pooled, identity dropped) or the user-conditioned model (with identity)."""
    conditioned = model.users is not None
    train_cfg = cfg.conditioned if conditioned else cfg.stage_one
    loader = pair_loader(data, data.users, cfg.train_negatives, train_cfg.batch_size, seed)
    return fit(model, loader, _loss_fn(items), train_cfg, device=device, run_dir=run_dir, params=params,
               valid_fn=lambda m: mean_ndcg_of(m, items, data.valid, data, cfg.discount, conditioned),
               progress=progress, desc=run_dir.name if run_dir else "train")


@dataclass
class PerUser:
    """Per-user stage two: each user's changed parameters, with the seconds and bytes it took."""

    regime: str
    states: dict[str, dict[str, Tensor]]
    seconds: dict[str, float]
    epochs: dict[str, int] = field(default_factory=dict)

    @property
    def bytes_per_user(self) -> float:
        return float(np.mean([state_bytes(s) for s in self.states.values()]))

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(dict(regime=self.regime, states=self.states, seconds=self.seconds, epochs=self.epochs),
                   path.with_suffix(".tmp"))
        path.with_suffix(".tmp").replace(path)

    @staticmethod
    def load(path: Path) -> "PerUser":
        blob = torch.load(path, map_location="cpu", weights_only=True)
        return PerUser(blob["regime"], blob["states"], blob["seconds"], blob["epochs"])


@torch.no_grad()
def with_cached_features(model: FashionNet, items: ItemTable, batch_size: int = 256) -> tuple[FashionNet, ItemTable]:
    """The same B or C network with its (frozen) feature network run once over every item.

    Returns a FashionNet whose feature network is the identity, sharing ``model``'s matching network
    (and user embedding), and an ItemTable of the (n_items, D) item features. Training it trains
    ``model``'s matching network: what makes "partial" fine-tuning cheap (He & Hu, Sec. 3.3).
    """
    if model.arch == "A":
        raise ValueError("A has no per-item features to cache: its CNN sees the whole outfit")
    model.eval()
    device = items.table.device
    n = len(items)
    rows = torch.arange(n, device=device)
    feats = torch.cat([model.features(items(rows[k:k + batch_size])) for k in range(0, n, batch_size)])
    fast = FashionNet(model.arch, nn.Identity(), model.feature_dim, model.hidden, model.dropout)
    fast.matching, fast.users, fast.film = model.matching, model.users, model.film  # shared modules, not copies
    return fast, ItemTable(feats.cpu().numpy()).to(device)  # (n_items, D)


def train_per_user(base: FashionNet, data: RankingData, items: ItemTable, cfg: FashionNetConfig, regime: str,
                   seed: int, device: torch.device, path: Path | None = None) -> PerUser:
    """Stage two: fine-tune ``base`` for every user, keeping only what each user changes.

    "partial": the matching network on features computed once by ``base``'s frozen feature network;
    "whole": everything, from ``base`` (stage one); "direct": everything, from ``base`` untrained.
    One working copy of the network is reset to ``base`` before each user, so memory does not grow
    with the number of users. ``path``: load the result when it exists, else save it there.
    """
    if path is not None and path.exists():
        return PerUser.load(path)
    if regime not in ("partial", "whole", "direct"):
        raise ValueError(f"regime must be 'partial', 'whole' or 'direct'; got {regime!r}")
    work = copy.deepcopy(base).to(device)
    if regime == "partial":
        work, items = with_cached_features(work, items)
    start = {k: v.clone() for k, v in work.state_dict().items()}
    result = PerUser(regime, {}, {})
    for k, user in enumerate(tqdm(data.users, desc=f"{base.arch} {regime}", leave=False)):
        work.load_state_dict(start)
        one = data.subset([user])
        loader = pair_loader(data, [user], cfg.train_negatives, cfg.stage_two.batch_size, seed * 100_003 + k)
        t0 = time.perf_counter()
        history = fit(work, loader, _loss_fn(items), cfg.stage_two, device=device, progress=False,
                      valid_fn=lambda m: mean_ndcg_of(m, items, one.valid, one, cfg.discount))
        result.seconds[user] = time.perf_counter() - t0
        result.epochs[user] = len(history.rows)
        result.states[user] = user_state(work, regime)
    if path is not None:
        result.save(path)
    return result


def train_user_conditioned(general: FashionNet, data: RankingData, items: ItemTable, cfg: FashionNetConfig,
                           seed: int, device: torch.device, run_dir: Path | None = None) -> FashionNet:
    """Beyond the paper: one C for all users, with a learned user embedding in every matching network.

    Starts from the general (stage one) C; trains the matching networks and the embeddings on all
    users' pairs at once, the feature network frozen (as "partial"), so its cost compares with
    per-user partial fine-tuning.
    """
    model = user_conditioned(general, len(data.users), cfg.user_dim).to(device)
    fast, fast_items = with_cached_features(model, items)
    train_general(fast, data, fast_items, cfg, seed, device, run_dir)
    return model  # ``fast`` shares its matching network and embedding


# ----- evaluation ---------------------------------------------------------------------------
def test_scores(model: FashionNet, items: ItemTable, data: RankingData, per_user: PerUser | None = None,
                conditioned: bool = False) -> list[np.ndarray]:
    """Scores of every user's test list: the shared model, with the user's own parameters loaded
    on top when ``per_user`` is given, or the user's embedding when ``conditioned``."""
    if per_user is None:
        return [score_list(model, items, o, data.users.index(u) if conditioned else None) for u, o, _ in data.test]
    work = copy.deepcopy(model)
    out = []
    for u, o, _ in data.test:
        work.load_state_dict(per_user.states[u], strict=False)
        out.append(score_list(work, items, o))
    return out


def ranking_metrics(scores: list[np.ndarray], labels: list[np.ndarray], k: int = 10,
                    discount: str = "fashionnet") -> dict:
    """He & Hu's metrics per user, averaged over users: mean NDCG, NDCG@m (m = 1..M), positives in the
    top k, and AUC. M is the shortest list's length."""
    m = min(len(y) for y in labels)
    return dict(mean_ndcg=metrics.per_list_mean(metrics.mean_ndcg, scores, labels, discount=discount),
                ndcg_curve=metrics.per_list_mean(metrics.ndcg_curve, scores, labels, max_m=m, discount=discount),
                top_k=metrics.per_list_mean(metrics.positives_in_top_k, scores, labels, k=k),
                auc=metrics.per_list_mean(metrics.auc, scores, labels))


def chance_scores(labels: list[np.ndarray]) -> list[np.ndarray]:
    """All-equal scores: with tie-averaged metrics this is exactly the expected random ranking."""
    return [np.zeros(len(y)) for y in labels]
