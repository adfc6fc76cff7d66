"""FashionNet training and evaluation (He & Hu 2018): stage one on every user's outfits, stage two per
user (partial / whole / direct) or user-conditioned, and the ranking metrics of the paper's table."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import BatchSampler, DataLoader, RandomSampler
from tqdm.auto import tqdm

from fashionrec import metrics
from fashionrec.config import seed_everything
from fashionrec.models.fashionnet import (FashionNet, FashionNetConfig, rank_loss, state_bytes, user_conditioned,
                                          user_state)
from fashionrec.models.fashionnet_data import ItemTable, PairDataset, RankingData
from fashionrec.train import fit


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
