"""FashionNet evaluation (He & Hu 2018): scores of every user's test list -> the paper's ranking metrics.

All NDCG here uses ``cfg.discount``, the paper's 1 / log2(max(2, i)) (``discount="fashionnet"`` of
``fashionrec.metrics``, ties averaged). Per user, then averaged over users (``metrics.per_list_mean``).
The paper's claims are tested with ``claims.claim`` over seeds, on the rows of ``result_row``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import torch

from fashionrec import claims, metrics
from fashionrec.fashionnet.config import ARCHS, Config
from fashionrec.fashionnet.data import FashionNetData, ItemTable, RankingData
from fashionrec.fashionnet.model import FashionNet, build_model, rank_loss
from fashionrec.world import tasks

NDCG_HEADER = "mean NDCG (paper's discount 1/log2(max(2, i)))"  # the discount, named in every table


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


def valid_ndcg(items: ItemTable, data: RankingData, discount: str = "fashionnet",
               conditioned: bool = False) -> Callable[[FashionNet], float]:
    """The ``fit`` validation metric: mean NDCG of the valid lists, averaged over users."""
    def valid(model: FashionNet) -> float:
        scores = [score_list(model, items, o, data.users.index(u) if conditioned else None)
                  for u, o, _ in data.valid]
        return metrics.per_list_mean(metrics.mean_ndcg, scores, [y for *_, y in data.valid], discount=discount)
    return valid


def test_scores(model: FashionNet, items: ItemTable, data: RankingData, per_user: Any = None,
                conditioned: bool = False) -> list[np.ndarray]:
    """Scores of every user's test list: the shared model, with the user's own parameters
    (``per_user.state(user)``, a ``train.PerUser``, read from disk one user at a time) loaded on top
    when ``per_user`` is given, or the user's embedding when ``conditioned``."""
    if per_user is None:
        return [score_list(model, items, o, data.users.index(u) if conditioned else None)
                for u, o, _ in data.test]
    work = copy.deepcopy(model)
    out = []
    for u, o, _ in data.test:
        state = per_user.state(u)
        work.load_state_dict(state, strict=False)
        del state  # one user's tensors in memory at a time
        out.append(score_list(work, items, o))
    del work
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


def oracle_scores(data: FashionNetData, seed: int) -> list[np.ndarray] | None:
    """FashionWorld only (else None): each test outfit's log P_user (``tasks.ranking_oracle``)."""
    if data.world is None:
        return None
    keep = set(data.users)
    lists = [r for r in tasks.ranking_lists(data.world, "test", seed=seed) if r.user_id in keep]
    return tasks.ranking_oracle(data.world, lists)


def method(arch: str, regime: str) -> str:
    """The results' method name of an (architecture, regime) cell: ``"C partial"``."""
    return f"{arch} {regime}"


def result_row(cfg: Config, data: RankingData, items: ItemTable, arch: str, regime: str, seed: int,
               model: FashionNet, per_user: Any = None, conditioned: bool = False) -> dict:
    """One row of the long results table (``claims``): method, arch, regime, seed and the metrics of
    ``model`` on every user's test list (``test_scores``)."""
    scores = test_scores(model, items, data, per_user, conditioned)
    return dict(method=method(arch, regime), arch=arch, regime=regime, seed=seed,
                **ranking_metrics(scores, [y for *_, y in data.test], cfg.top_k, cfg.discount))


def references(cfg: Config, data: FashionNetData) -> tuple[dict, dict | None]:
    """The metrics of chance (all scores equal) and, on FashionWorld, of the oracle (else None)."""
    labels = data.labels
    chance = ranking_metrics(chance_scores(labels), labels, cfg.top_k, cfg.discount)
    oracle = oracle_scores(data, cfg.seed)
    return chance, None if oracle is None else ranking_metrics(oracle, labels, cfg.top_k, cfg.discount)


def results_table(results: pd.DataFrame, chance: dict, oracle: dict | None, top_k: int = 10) -> pd.DataFrame:
    """The chapter's table: ``claims.results_table`` of mean NDCG (the paper's discount, named in the
    header) beside the paper's number, plus liked outfits in the top k and AUC (mean ± sd over seeds)."""
    table = claims.results_table(results, "mean_ndcg", chance=chance["mean_ndcg"],
                                 oracle=None if oracle is None else oracle["mean_ndcg"], paper=PAPER_NDCG)
    for metric, name in (("top_k", f"liked in top {top_k}"), ("auc", "AUC")):
        summary = claims.summarize(results, [metric])[metric]
        values = {"chance": f"{chance[metric]:.3f}", "oracle": "" if oracle is None else f"{oracle[metric]:.3f}",
                  **{k: claims.fmt_pm(r["mean"], r["sd"]) for k, r in summary.iterrows()}}
        table[name] = [values.get(k, "") for k in table.index]
    return table.rename(columns={"mean_ndcg": NDCG_HEADER, "paper": "paper: mean NDCG (Table 2)"})


def glue_values(results: pd.DataFrame, chance: dict, oracle: dict | None) -> dict[str, float]:
    """The chapter's glued numbers per (arch, regime) cell: ``<glue_key>_{ndcg, ndcg_std, top10, auc,
    ratio}`` (sd over seeds with ``claims.DDOF``), chance and oracle, and ``ch2_c_stage_two_ratio``
    (the better of C partial and C whole)."""
    summary = claims.summarize(results, ["mean_ndcg", "top_k", "auc"])
    lo, hi = chance["mean_ndcg"], np.nan if oracle is None else oracle["mean_ndcg"]
    out = {"ch2_chance_ndcg": lo, "ch2_oracle_ndcg": hi, "ch2_chance_top10": chance["top_k"],
           "ch2_oracle_top10": np.nan if oracle is None else oracle["top_k"]}
    ratio = {}
    for name, r in summary.iterrows():
        key = glue_key(*name.split(" ", 1))
        ratio[name] = (r["mean_ndcg", "mean"] - lo) / (hi - lo)
        out.update({f"{key}_ndcg": r["mean_ndcg", "mean"], f"{key}_ndcg_std": r["mean_ndcg", "sd"],
                    f"{key}_top10": r["top_k", "mean"], f"{key}_auc": r["auc", "mean"], f"{key}_ratio": ratio[name]})
    if {"C partial", "C whole"} <= set(ratio):
        out["ch2_c_stage_two_ratio"] = max(ratio["C partial"], ratio["C whole"])
    return {k: float(v) for k, v in out.items()}


def most_improved_user(before: list[np.ndarray], after: list[np.ndarray], labels: list[np.ndarray],
                       discount: str = "fashionnet", shown: tuple[int, int] = (4, 2)) -> dict:
    """The user whose mean NDCG rose most from ``before`` to ``after`` scores, with the ranks under both
    and the outfits to show: the liked ones moved up most and the random ones moved down most."""
    gains = [(metrics.mean_ndcg(b, y, discount), metrics.mean_ndcg(a, y, discount))
             for b, a, y in zip(before, after, labels)]
    k = int(np.argmax([a - b for b, a in gains]))
    rank_b, rank_a, y = ranks(before[k]), ranks(after[k]), labels[k]
    liked, other = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    up = liked[np.argsort(rank_a[liked] - rank_b[liked], kind="stable")[: shown[0]]]
    down = other[np.argsort(rank_b[other] - rank_a[other], kind="stable")[: shown[1]]]
    return dict(index=k, ndcg=gains[k], before=rank_b, after=rank_a, shown=[*up, *down],
                top10=(int((rank_b[liked] <= 10).sum()), int((rank_a[liked] <= 10).sum())))


def glue_key(arch: str, regime: str) -> str:
    """``ch2_<arch>_<regime>`` with underscores: the prefix of the cell's glue keys."""
    return f"ch2_{arch.lower()}_{regime.replace(' ', '_').replace('-', '_')}"


def ranks(scores: np.ndarray) -> np.ndarray:
    """1-based rank of each outfit, highest score first (ties in list order)."""
    out = np.empty(len(scores), dtype=int)
    out[np.argsort(-scores, kind="stable")] = np.arange(1, len(scores) + 1)
    return out


# He & Hu 2018, Table 2 (800 Polyvore users, VGG-16), as printed: method -> mean NDCG / liked in top 10.
PAPER_NDCG = {"A initial": 0.35356, "A stage one": 0.59291, "A direct": 0.61545, "A whole": 0.70696,
              "B initial": 0.35552, "B stage one": 0.65694, "B partial": 0.75818, "B whole": 0.79644,
              "C initial": 0.32152, "C stage one": 0.66534, "C partial": 0.78378, "C whole": 0.81208}
PAPER_TOP10 = {"A initial": 1.51375, "A stage one": 4.68125, "A direct": 5.30125, "A whole": 6.60375,
               "B initial": 1.5625, "B stage one": 5.31625, "B partial": 7.1225, "B whole": 7.83,
               "C initial": 1.2225, "C stage one": 5.60625, "C partial": 7.605, "C whole": 8.1825}


def _claims() -> list[tuple[str, str, str, str]]:
    out = [(f"{a.lower()}_beats_{b.lower()}_{r.replace(' ', '_')}", f"{a} beats {b} ({r})",
            method(a, r), method(b, r))
           for a, b, regs in (("B", "A", ("stage one", "whole")), ("C", "A", ("stage one", "whole")),
                              ("C", "B", ("stage one", "partial", "whole"))) for r in regs]
    out += [(f"{a.lower()}_{r}_beats_stage_one", f"{a}: stage two ({r}) beats stage one", method(a, r),
             method(a, "stage one")) for a in ARCHS for r in ("partial", "whole") if (a, r) != ("A", "partial")]
    out += [(f"{a.lower()}_whole_beats_partial", f"{a}: whole beats partial", method(a, "whole"),
             method(a, "partial")) for a in ("B", "C")]
    out += [(f"{a.lower()}_whole_beats_direct", f"{a}: two-stage (whole) beats direct", method(a, "whole"),
             method(a, "direct")) for a in ARCHS]
    return out


CLAIMS: tuple[tuple[str, str, str, str], ...] = tuple(_claims())
"""The paper's findings tested in the chapter: (glue key suffix, claim, better method, worse method)."""


def paper_says(better: str, worse: str) -> str:
    """What He & Hu's Table 2 shows for "``better`` beats ``worse``" (mean NDCG), or that it has no row."""
    if better not in PAPER_NDCG or worse not in PAPER_NDCG:
        return "not in the paper's table"
    a, b = PAPER_NDCG[better], PAPER_NDCG[worse]
    return f"{'holds' if a > b else 'reversed'} ({a:.3f} vs {b:.3f})"


def paper_claims(results: pd.DataFrame, metric: str = "mean_ndcg") -> list[claims.Claim]:
    """``claims.claim`` for every entry of ``CLAIMS`` on the long results table (paired over seeds)."""
    return [claims.claim(results, better, worse, metric, text=text) for _, text, better, worse in CLAIMS]


# ----- the notebook's receipts, figures and glued numbers ------------------------------------------
def receipt_model(cfg: Config, data: FashionNetData, device: torch.device | str = "cpu") -> str:
    """The data's counts (``data.describe()``), the rank loss on toy scores beside Eq. 1 by hand, and
    each architecture's trainable parameters and input -> output shapes on five of the first user's
    liked outfits (models seeded with ``cfg.seed``)."""
    torch.manual_seed(cfg.seed)
    pos_scores, neg_scores = torch.tensor([0.9, 0.2]), torch.tensor([0.1, 0.6])
    by_hand = np.mean([np.log1p(np.exp(-0.8)), np.log1p(np.exp(0.4))])
    loss = rank_loss(pos_scores, neg_scores).item()
    lines = [(f"rank loss of s+ = (0.9, 0.2) vs s- = (0.1, 0.6): {loss:.3f}"
              f" = mean(log(1 + e^-0.8), log(1 + e^0.4)) = {by_hand:.3f}")]
    batch = data.items(torch.from_numpy(data.train[data.users[0]][:5]).to(device))
    for arch in ARCHS:
        model = build_model(arch, cfg, data.items.dim).to(device)
        n_params = sum(p.numel() for p in model.parameters())
        lines.append(f"FashionNet {arch}: {n_params:,} trainable parameters, "
                     f"input {tuple(batch.shape)} -> scores {tuple(model(batch).shape)}")
    return data.describe() + "\n\n" + "\n".join(lines)


def receipt_results(cfg: Config, table: pd.DataFrame, findings: pd.DataFrame) -> str:
    """The results table without the paper's column (under the discount and the seeds), and the
    claims table's difference, seeds and verdict columns."""
    return (f"NDCG discount: {cfg.discount}; seeds: {list(cfg.seeds)}\n"
            + table.drop(columns=["paper: mean NDCG (Table 2)"]).to_string() + "\n\n"
            + findings[["difference", "seeds", "verdict"]].to_string())


def receipt_personal(cost: pd.DataFrame, versus: pd.DataFrame, scaling: pd.DataFrame) -> str:
    """Per-user models against one user-conditioned model, no timings: KB stored per user and the
    shared network's KB per (arch, regime) (``cost_table``, 1 decimal); the C rows of the results
    beside the conditioned model, without the paper's and the seeds' columns; quality and storage
    per number of users (``scaling_with_users``, 3 decimals)."""
    columns = ["partial_ndcg", "conditioned_ndcg", "partial_kb", "conditioned_kb"]
    return "\n\n".join([cost[["kb_per_user", "shared network (KB)"]].round(1).to_string(),
                        versus.drop(columns=["paper: mean NDCG (Table 2)", "seeds"]).to_string(),
                        scaling[columns].round(3).to_string()])


def receipt_user(data: RankingData, user: dict) -> str:
    """The most improved user (``most_improved_user``): mean NDCG and liked outfits in the top 10,
    general model -> own model."""
    return (f"user {data.test[user['index']][0]}: mean NDCG {user['ndcg'][0]:.3f} with the general "
            f"model, {user['ndcg'][1]:.3f} with their own; liked outfits in the top 10: "
            f"{user['top10'][0]} -> {user['top10'][1]}")


def liked_and_random_figure(data: FashionNetData, seed: int, n: int = 4) -> Any:
    """FashionWorld only (else None): the first user's first ``n`` liked training outfits beside ``n``
    random ones (``data.random_outfits``, ``seed``), titled with the user's colour likes and dislikes."""
    if data.world is None:
        return None
    from fashionrec import plots

    user = data.world.users[0]
    row = {i: k for k, i in enumerate(data.item_ids)}
    liked = [np.array([row[i] for i in o]) for o in data.world.user_outfits[user.user_id]["train"][:n]]
    randoms = list(data.random_outfits(n, np.random.default_rng(seed)))
    title = (f"User {user.user_id} likes {', '.join(user.liked_colors)}, "
             f"dislikes {', '.join(user.disliked_colors)}")
    return plots.outfit_rows([data.images[o] for o in liked + randoms], ["liked"] * n + ["random"] * n, title=title)


def improved_user_figure(data: FashionNetData, user: dict) -> Any:
    """FashionWorld only (else None): the outfits ``most_improved_user`` picked, each labelled with its
    rank under the general model -> the user's own model."""
    if data.world is None:
        return None
    from fashionrec import plots

    u, outfits, labels = data.test[user["index"]]
    return plots.outfit_rows(
        [data.images[outfits[j]] for j in user["shown"]],
        [f"{'liked' if labels[j] else 'random'}: rank {user['before'][j]} -> {user['after'][j]}"
         for j in user["shown"]],
        title=f"User {u}: general model rank -> own model rank")


def chapter_values(cfg: Config, data: FashionNetData, results: pd.DataFrame, chance: dict,
                   oracle: dict | None, cost: pd.DataFrame) -> dict[str, Any]:
    """Every number the chapter glues: the data's counts (``ch2_n_users``, test liked and random
    outfits per user), the config's (``ch2_n_seeds``, ``ch2_seed``, ``ch2_user_dim``), each cell's
    numbers (``glue_values``), each claim's verdict (``ch2_claim_<key>``), C's storage and seconds per
    user (``ch2_c_{partial, whole}_{kb, s}_per_user``) and the user-conditioned model's mean paired
    difference to C partial (``ch2_conditioned_minus_partial``, when both are in ``results``)."""
    labels = data.labels
    out: dict[str, Any] = {"ch2_n_users": len(data.users),
                           "ch2_test_liked_per_user": float(np.mean([y.sum() for y in labels])),
                           "ch2_test_random_per_user": float(np.mean([len(y) - y.sum() for y in labels])),
                           "ch2_n_seeds": len(cfg.seeds), "ch2_seed": cfg.seed, "ch2_user_dim": cfg.user_dim}
    out.update(glue_values(results, chance, oracle))
    out.update({f"ch2_claim_{key}": c.verdict for (key, *_), c in zip(CLAIMS, paper_claims(results))})
    for regime, stores in (("partial", "matching"), ("whole", "features + matching")):
        if ("C", regime, stores) in cost.index:
            row = cost.loc[("C", regime, stores)]
            out[f"ch2_c_{regime}_kb_per_user"] = float(row["kb_per_user"])
            out[f"ch2_c_{regime}_s_per_user"] = float(row["s_per_user"])
    if {"C user-conditioned", "C partial"} <= set(results["method"]):
        diff = claims.claim(results, "C user-conditioned", "C partial", "mean_ndcg")
        out["ch2_conditioned_minus_partial"] = float(diff.mean)
    return out
