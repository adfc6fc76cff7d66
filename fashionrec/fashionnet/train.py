"""FashionNet training (He & Hu 2018): stage one on every user's outfits, stage two per user
(partial / whole / direct), and the user-conditioned model (beyond the paper).

Stage one is a plain ``fashionrec.train.fit`` with ``pair_loader``, ``pair_loss`` and ``valid_ndcg``
(``train_general`` bundles them); the per-user regimes loop over users with one working copy and
write each user's trained parameters to disk (``PerUser``).
"""

from __future__ import annotations

import copy
import itertools
import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn
from torch.utils.data import BatchSampler, DataLoader, RandomSampler, Sampler
from tqdm.auto import tqdm

from fashionrec import store
from fashionrec.config import TrainConfig, seed_everything
from fashionrec.fashionnet.config import Config
from fashionrec.fashionnet.data import ItemTable, PairDataset, RankingData
from fashionrec.fashionnet.evaluate import ranking_metrics, test_scores, valid_ndcg
from fashionrec.fashionnet.model import TRAINED, FashionNet, rank_loss, state_bytes, user_conditioned, user_state
from fashionrec.train import History, fit, loader_options


def pair_loss(items: ItemTable) -> Callable[[FashionNet, tuple], Tensor]:
    """The ``fit`` loss of a batch of (liked, random, user) rows: Eq. (1) on the two outfits' scores."""
    def loss(model: FashionNet, batch) -> Tensor:
        pos, neg, users = batch  # (B, 3), (B, 3), (B,)
        return rank_loss(model(items(pos), users), model(items(neg), users))
    return loss


class FirstBatches(Sampler):
    """The first ``n`` batches of ``batches`` in every epoch (a CPU size override: ``Config.max_steps``)."""

    def __init__(self, batches: BatchSampler, n: int):
        self.batches, self.n = batches, n

    def __iter__(self):
        return itertools.islice(iter(self.batches), self.n)

    def __len__(self) -> int:
        return min(self.n, len(self.batches))


def pair_loader(data: RankingData, users: list[str], negatives: int, batch_size: int, seed: int,
                max_steps: int | None = None, train: TrainConfig | None = None) -> DataLoader:
    """Shuffled batches of (positive, negative, user) pairs; the order depends on ``seed`` alone.
    ``max_steps``: at most that many batches per epoch (None = every pair); ``train``: the workers and
    pinned memory of ``train.loader_options`` (the batches are row indices: the images of a path-based
    ``ItemTable`` are decoded in the model's forward pass, in the main process)."""
    dataset = PairDataset(data, users, negatives, seed)
    generator = seed_everything(seed)
    batches = BatchSampler(RandomSampler(dataset, generator=generator), batch_size, drop_last=False)
    sampler = batches if max_steps is None else FirstBatches(batches, max_steps)
    return DataLoader(dataset, sampler=sampler, batch_size=None, generator=generator,
                      **loader_options(train or TrainConfig()))


def train_general(model: FashionNet, data: RankingData, items: ItemTable, cfg: Config, seed: int,
                  device: torch.device, run_dir: Path | None, params=None, progress: bool = False) -> History:
    """Stage one (all users pooled, identity dropped) or the user-conditioned model (with identity)."""
    conditioned = model.users is not None
    train_cfg = cfg.conditioned if conditioned else cfg.stage_one
    loader = pair_loader(data, data.users, cfg.train_negatives, train_cfg.batch_size, seed, cfg.max_steps, train_cfg)
    return fit(model, loader, pair_loss(items), train_cfg, device=device, run_dir=run_dir, params=params,
               valid_fn=valid_ndcg(items, data, cfg.discount, conditioned),
               progress=progress, desc=run_dir.name if run_dir else "train")


@dataclass
class PerUser:
    """Per-user stage two, on disk: one file per user with the parameters that user's fine-tuning
    trained, beside the shared network (``base``) that stays in memory once.

    A user's model is ``base`` with ``state(user)`` loaded on top (``load_state_dict(..., strict=False)``).
    What a file holds is the user's *difference from the shared model* in the only form that restores
    the trained network bit for bit: the trained tensors of the parameters the regime trains
    (``TRAINED[regime]``: "partial" the matching network; "whole" and "direct" everything), not
    ``trained - base`` in float32, which does not round-trip exactly (``base + (trained - base)``
    differs from ``trained`` in the last bit for some elements; ``benchmarks/bench_ch2_users.py``
    counts them). Only one user's tensors are in memory at a time, so memory does not grow with the
    number of users (He & Hu's 800 users with VGG-16 "whole" would be 430 GB as in-memory copies).

    Layout of ``folder``: ``index.json`` (regime, users, seconds, epochs, bytes per user; written after
    every user, ``complete`` once all are done) and ``user-<k>.pt`` for the k-th user.
    """

    regime: str
    folder: Path
    seconds: dict[str, float] = field(default_factory=dict)
    epochs: dict[str, int] = field(default_factory=dict)
    bytes: dict[str, int] = field(default_factory=dict)  # stored tensor bytes per user
    files: dict[str, str] = field(default_factory=dict)  # user -> file name in ``folder``
    complete: bool = False
    _tmp: Any = field(default=None, repr=False, compare=False)  # a TemporaryDirectory when folder was not given

    INDEX = "index.json"

    @property
    def users(self) -> list[str]:
        return list(self.files)

    @property
    def bytes_per_user(self) -> float:
        return float(np.mean(list(self.bytes.values())))

    def disk_bytes(self, user: str) -> int:
        """Size of the user's file on disk."""
        return (self.folder / self.files[user]).stat().st_size

    def state(self, user: str, device: torch.device | str = "cpu") -> dict[str, Tensor]:
        """The user's stored tensors (read from disk; load them on top of the shared network)."""
        if user not in self.files:
            raise KeyError(f"no stage-two model for user {user!r} in {self.folder}")
        return torch.load(self.folder / self.files[user], map_location=device, weights_only=True)

    def add(self, user: str, state: dict[str, Tensor], seconds: float, epochs: int) -> None:
        """Write one user's tensors (atomically), then the index."""
        name = f"user-{len(self.files):05d}.pt"
        store.save_torch(self.folder / name, state)
        self.files[user], self.seconds[user], self.epochs[user] = name, seconds, epochs
        self.bytes[user] = state_bytes(state)
        self.save_index()

    def save_index(self) -> None:
        store.save_json(self.folder / self.INDEX, dict(regime=self.regime, files=self.files, seconds=self.seconds,
                                                       epochs=self.epochs, bytes=self.bytes, complete=self.complete))

    @staticmethod
    def open(folder: Path | None, regime: str) -> PerUser:
        """The per-user models in ``folder`` (what earlier runs finished), or an empty set there
        (``folder=None``: a temporary folder, removed with the object)."""
        tmp = None
        if folder is None:
            tmp = tempfile.TemporaryDirectory(prefix="fashionnet-users-")
            folder = Path(tmp.name)
        folder = Path(folder)
        index = folder / PerUser.INDEX
        if not index.exists():
            folder.mkdir(parents=True, exist_ok=True)
            return PerUser(regime, folder, _tmp=tmp)
        blob = json.loads(index.read_text())
        if blob["regime"] != regime:
            raise ValueError(f"{index}: holds regime {blob['regime']!r}, asked for {regime!r}")
        done = {u: f for u, f in blob["files"].items() if (folder / f).exists()}
        return PerUser(regime, folder, {u: blob["seconds"][u] for u in done}, {u: blob["epochs"][u] for u in done},
                       {u: blob["bytes"][u] for u in done}, done, blob["complete"] and len(done) == len(blob["files"]),
                       _tmp=tmp)


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


def train_per_user(base: FashionNet, data: RankingData, items: ItemTable, cfg: Config, regime: str,
                   seed: int, device: torch.device, path: Path | None = None) -> PerUser:
    """Stage two: fine-tune ``base`` for every user, keeping on disk only what each user trains.

    "partial": the matching network on features computed once by ``base``'s frozen feature network;
    "whole": everything, from ``base`` (stage one); "direct": everything, from ``base`` untrained.
    One working copy of the network is reset to ``base`` before each user, fine-tuned, and the
    trained parameters are written to ``path / user-<k>.pt`` (``PerUser``) before the next user: one
    user's model in memory at a time. ``path``: a folder; users already there are not trained again
    (a run that stopped resumes where it stopped: each user's training depends on its index alone).
    """
    if regime not in ("partial", "whole", "direct"):
        raise ValueError(f"regime must be 'partial', 'whole' or 'direct'; got {regime!r}")
    result = PerUser.open(path, regime)
    if result.complete and set(result.users) >= set(data.users):
        return result
    work = copy.deepcopy(base).to(device)
    if regime == "partial":
        work, items = with_cached_features(work, items)
        start = {k: v.clone() for k, v in work.state_dict().items()}  # the matching network only: small
    else:
        start = base.state_dict()  # base is not trained here: no second copy of the network
    parts = TRAINED[regime]
    for k, user in enumerate(tqdm(data.users, desc=f"{base.arch} {regime}", leave=False)):
        if user in result.files:
            continue
        work.load_state_dict(start)
        one = data.subset([user])
        loader = pair_loader(data, [user], cfg.train_negatives, cfg.stage_two.batch_size, seed * 100_003 + k,
                             cfg.max_steps, cfg.stage_two)
        t0 = time.perf_counter()
        history = fit(work, loader, pair_loss(items), cfg.stage_two, device=device, progress=False,
                      valid_fn=valid_ndcg(items, one, cfg.discount))
        seconds = time.perf_counter() - t0
        trained = {n: v.detach() for n, v in work.state_dict().items() if n.split(".")[0] in parts}
        result.add(user, trained, seconds, len(history.rows))
        del trained, loader, history
    result.complete = True
    result.save_index()
    del work, start
    return result


def train_user_conditioned(general: FashionNet, data: RankingData, items: ItemTable, cfg: Config,
                           seed: int, device: torch.device, run_dir: Path | None = None
                           ) -> tuple[FashionNet, float]:
    """Beyond the paper: one C for all users, with a learned user embedding in every matching network.

    Starts from the general (stage one) C; trains the matching networks and the embeddings on all
    users' pairs at once, the feature network frozen (as "partial"), so its cost compares with
    per-user partial fine-tuning. Returns the model and its training seconds: the sum of the epochs'
    times that ``fit`` recorded in the run's history, so a finished run reloaded from ``run_dir``
    reports the time its training took, not the time of the reload.
    """
    model = user_conditioned(general, len(data.users), cfg.user_dim).to(device)
    fast, fast_items = with_cached_features(model, items)
    history = train_general(fast, data, fast_items, cfg, seed, device, run_dir)
    return model, float(history.to_frame()["seconds"].sum())  # ``fast`` shares its matching network


def cost_table(per_users: dict[tuple[str, str, int], PerUser],
               general: dict[tuple[str, int], FashionNet], seed: int) -> pd.DataFrame:
    """What a personal model costs, per (arch, regime): what it stores, KB and seconds per user
    (mean over seeds), epochs, and the size of the shared (stage one) network of seed ``seed``."""
    rows = [dict(arch=arch, regime=regime, stores=" + ".join(TRAINED[regime]), kb_per_user=pu.bytes_per_user / 1024,
                 s_per_user=np.mean(list(pu.seconds.values())), epochs=np.mean(list(pu.epochs.values())))
            for (arch, regime, _), pu in per_users.items()]
    columns = ["kb_per_user", "s_per_user", "epochs"]
    cost = pd.DataFrame(rows).groupby(["arch", "regime", "stores"], sort=False)[columns].mean()
    cost["shared network (KB)"] = [state_bytes(general[a, seed].state_dict()) / 1024 for a, *_ in cost.index]
    return cost


def scaling_with_users(general: FashionNet, partial: PerUser, conditioned: FashionNet, conditioned_seconds: float,
                       data: RankingData, items: ItemTable, cfg: Config, seed: int, device: torch.device,
                       run_dir: Path | None = None) -> pd.DataFrame:
    """Per-user partial fine-tuning against one user-conditioned C, for the first U users
    (``cfg.scaling_users`` and all): mean NDCG on those users, training seconds, storage beyond the
    stage-one network. The conditioned model for all users (``conditioned``) is reused, the others
    trained here (``run_dir / f"C-conditioned-{U}users"``)."""
    rows = []
    for n in [u for u in cfg.scaling_users if u < len(data.users)] + [len(data.users)]:
        sub = data.subset(data.users[:n])
        labels = [y for *_, y in sub.test]
        if n == len(data.users):
            model, seconds = conditioned, conditioned_seconds
        else:
            torch.manual_seed(seed)
            model, seconds = train_user_conditioned(general, sub, items, cfg, seed, device,
                                                    run_dir / f"C-conditioned-{n}users" if run_dir else None)
        ndcg = [ranking_metrics(scores, labels, discount=cfg.discount)["mean_ndcg"]
                for scores in (test_scores(general, items, sub, partial),
                               test_scores(model, items, sub, conditioned=True))]
        rows.append(dict(users=n, partial_ndcg=ndcg[0], conditioned_ndcg=ndcg[1],
                         partial_seconds=sum(partial.seconds[u] for u in sub.users), conditioned_seconds=seconds,
                         partial_kb=sum(partial.bytes[u] for u in sub.users) / 1024,
                         conditioned_kb=state_bytes(user_state(model, "partial")) / 1024 + n * cfg.user_dim * 4 / 1024))
    return pd.DataFrame(rows).set_index("users")
