"""Scoring and evaluating Complete the Look: distances -> binary accuracy, ROC AUC, hit rate at k.

Also the baselines (chance, raw backbone features), the FashionWorld oracle, the attention maps and
the recommendations the chapter shows.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import torch
from scipy.special import logsumexp

from fashionrec import claims, metrics, store
from fashionrec.ctl.data import CTLData, CTLSplit, negative_key
from fashionrec.ctl.model import CTL, raw_distance

KS = (1, 5, 10)


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



# ----- the FashionWorld oracle ------------------------------------------------------------------------
def fashionworld_oracle(data: CTLData, split: str = "test") -> dict[str, float]:
    """The FashionWorld oracle on the same triplets and candidates: log P(the scene's other items + p).

    Positive, negative and every hit-rate negative are scored with ``tasks.ctl_oracle`` (extra
    triplets, one per candidate column). A candidate of another kind of bag or accessory than the
    masked one gets -inf: the box's place on the body tells the kind. For the pooled ROC AUC the
    scores are made comparable across scenes by subtracting log mean_{c'} P(rest + c') over the
    scene's same-kind negatives (an estimate of the likelihood ratio against a random negative).
    """
    world = data.world
    if world is None:
        raise ValueError("fashionworld_oracle needs FashionWorld data (data.world is None on real data)")
    s = data.splits[split]
    pos, neg, cands = _oracle_scores(data, split)
    same = np.array([[negative_key(world.items[data.product_ids[c]]) == negative_key(world.items[t.positive])
                      for c in row] for t, row in zip(s.triplets, s.candidates)])
    cands = np.where(same, cands, -np.inf)
    pool = np.concatenate([neg[:, None], cands], axis=1)  # same-kind negatives (and -inf)
    log_z = logsumexp(pool, axis=1) - np.log(np.isfinite(pool).sum(1))
    return evaluate(pos - log_z, neg - log_z, cands - log_z[:, None], higher_is_better=True)


def oracle_results(data: CTLData, split: str = "test") -> dict[str, float]:
    """``fashionworld_oracle`` on FashionWorld, ``{}`` on real data (no generator to ask)."""
    return {} if data.world is None else fashionworld_oracle(data, split)


def _oracle_scores(data: CTLData, split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """tasks.ctl_oracle of the positive, the negative and each candidate column; cached beside the world,
    keyed by the world's key, the oracle's code and the triplets and candidates scored."""
    from fashionrec.world import tasks

    world, s, scenes = data.world, data.splits[split], data.scenes[split]

    def compute() -> np.ndarray:
        scores = np.empty((len(s.triplets), 2 + s.candidates.shape[1]))
        scores[:, 0] = tasks.ctl_oracle(world, s.triplets, scenes, split, candidates="positive")
        scores[:, 1] = tasks.ctl_oracle(world, s.triplets, scenes, split, candidates="negative")
        for j in range(s.candidates.shape[1]):
            extra = [replace(t, negative=data.product_ids[c]) for t, c in zip(s.triplets, s.candidates[:, j])]
            scores[:, 2 + j] = tasks.ctl_oracle(world, extra, scenes, split, candidates="negative")
        return scores

    parts = dict(world=world.cfg.key(), code=store.code_digest("fashionrec.world.tasks", within="fashionrec.world"),
                 split=split, scenes=[t.scene_id for t in s.triplets], positive=[t.positive for t in s.triplets],
                 negative=[t.negative for t in s.triplets],
                 candidates=[[data.product_ids[c] for c in row] for row in s.candidates.tolist()])
    scores = store.cached_array("ctl", parts, compute, shape=(len(s.triplets), 2 + s.candidates.shape[1]),
                                name="oracle", root=world.cache_dir, enabled=world.cache_dir is not None)
    return scores[:, 0], scores[:, 1], scores[:, 2:]


# ----- results and claims --------------------------------------------------------------------------
METRICS = ("accuracy", "auc", "hit@1", "hit@5", "hit@10")
GLUE_NAMES = {"chance": "chance", "raw features": "raw", "FashionWorld oracle": "oracle", "CTL full": "full",
              "CTL global": "global", "CTL local": "local", "global head on true attributes": "attributes"}


def results_frame(results: dict[tuple[str, int], dict[str, float]]) -> pd.DataFrame:
    """{(method, seed): metrics} -> the long table of ``fashionrec.claims``: one row per (method, seed)."""
    return pd.DataFrame([{"method": name, "seed": seed, **r} for (name, seed), r in results.items()])


def per_seed(results: pd.DataFrame, method: str, seeds: tuple[int, ...]) -> pd.DataFrame:
    """The rows of a seed-free ``method`` (chance, raw features: one row) repeated for each of ``seeds``,
    so that claims against it pair with every trained seed."""
    row = results[results.method == method].iloc[0]
    return pd.DataFrame([{**row.to_dict(), "seed": seed} for seed in seeds])


def glue_values(results: pd.DataFrame, oracle_accuracy: float | None = None,
                oracle_auc: float | None = None) -> dict[str, float]:
    """The chapter's glue keys: ``ch5_<method>_<metric>`` (means over seeds), ``ch5_<method>_accuracy_std``
    (sample sd, trained methods with more than one seed) and, with the oracle, the progress ratios
    ``ch5_<method>_progress`` (accuracy) and ``ch5_<method>_auc_progress``, for CTL full and the
    attribute diagnostic."""
    summary = claims.summarize(results, METRICS)
    out = {}
    for name, key in GLUE_NAMES.items():
        if name not in summary.index:
            continue
        for metric in METRICS:
            out[f"ch5_{key}_{metric.replace('@', '')}"] = float(summary.loc[name, (metric, "mean")])
        sd = summary.loc[name, ("accuracy", "sd")]
        if name.startswith("CTL") and not np.isnan(sd):
            out[f"ch5_{key}_accuracy_std"] = float(sd)
        if oracle_accuracy is not None and key in ("full", "attributes"):
            out[f"ch5_{key}_progress"] = claims.progress(out[f"ch5_{key}_accuracy"], 0.5, oracle_accuracy)
            out[f"ch5_{key}_auc_progress"] = claims.progress(out[f"ch5_{key}_auc"], 0.5, oracle_auc)
    return out


def attention_top_rows(mean_maps: np.ndarray, categories: tuple[str, ...]) -> dict[str, int]:
    """The row of each category's (h, w) mean attention map with the most weight (0 = top of the scene)."""
    return {categories[c]: int(np.argmax(amap.sum(axis=1))) for c, amap in enumerate(mean_maps)}


def glue_name(category: str) -> str:
    """'Shirts & Tops' -> 'shirts_and_tops': a category as a glue-key part."""
    return category.lower().replace(" ", "_").replace("&", "and")


def results_glue(results: pd.DataFrame, oracle: dict[str, float], n_seeds: int, scene_size: int,
                 n_negatives: int) -> dict[str, Any]:
    """Everything the results section glues: ``glue_values`` (with the oracle's progress ratios when
    there is an oracle), ``ch5_n_seeds``, ``ch5_scene_size``, ``ch5_n_negatives`` and, with the
    oracle, ``ch5_full_target``: "met" when CTL full goes 0.8 of the way in accuracy and ROC AUC."""
    out: dict[str, Any] = glue_values(results, oracle.get("accuracy"), oracle.get("auc"))
    out.update(ch5_n_seeds=n_seeds, ch5_scene_size=scene_size, ch5_n_negatives=int(n_negatives))
    if oracle:
        met = min(out["ch5_full_progress"], out["ch5_full_auc_progress"]) >= 0.8
        out["ch5_full_target"] = "met" if met else "missed"
    return out


def claims_glue(tested: dict[str, claims.Claim]) -> dict[str, str]:
    """``ch5_claim_<name>`` -> the claim's verdict, for each tested claim."""
    return {f"ch5_claim_{name}": c.verdict for name, c in tested.items()}


def receipt_results(results: pd.DataFrame, tested: dict[str, claims.Claim], n_test: int,
                    n_seeds: int) -> str:
    """The results receipt: test triplets and seeds, each method's mean metrics over seeds (3
    decimals), then each claim's verdict and mean paired difference."""
    mean = results.groupby("method", sort=False)[list(METRICS)].mean()
    return "\n".join([f"test triplets: {n_test}, seeds per model: {n_seeds}",
                      mean.round(3).to_string(),
                      *(f"{c.text}: {c.verdict} (difference {c.mean:+.3f})" for c in tested.values())])


def receipt_attention(mean_maps: np.ndarray, categories: tuple[str, ...]) -> str:
    """The attention receipt: the row with the most weight per query category and the largest
    single-region weight of the (categories, h, w) mean maps against the uniform weight."""
    return (f"row of the region map (0 = top) with the most attention, per query category: "
            f"{attention_top_rows(mean_maps, categories)}\n"
            f"largest single-region weight in the mean maps: {mean_maps.max():.3f} "
            f"(uniform {1 / mean_maps[0].size:.3f})")


def attention_glue(mean_maps: np.ndarray, categories: tuple[str, ...]) -> dict[str, Any]:
    """``ch5_attention_rows`` (rows of the region map), ``ch5_attention_peak_over_uniform`` (largest
    mean weight x regions) and ``ch5_attention_row_<category>`` (the row with the most weight)."""
    out: dict[str, Any] = {"ch5_attention_rows": int(mean_maps.shape[1]),
                           "ch5_attention_peak_over_uniform": float(mean_maps.max() * mean_maps[0].size)}
    for name, row in attention_top_rows(mean_maps, categories).items():
        out[f"ch5_attention_row_{glue_name(name)}"] = row
    return out
