"""Chapter 3's evaluation: rankings -> top-k accuracy per category, chance, the attribute oracle,
and the long results frame (one row per method and seed) that ``claims`` reads.

Each query is ranked against the gallery of its own category; top-k accuracy counts ties against
us (``metrics.topk_accuracy_curve``). Search is exact, through ``fashionrec.index`` (faiss).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from fashionrec import claims
from fashionrec.c2s.config import CATEGORIES, DISTANCES
from fashionrec.c2s.data import C2SData, C2SSplit
from fashionrec.index import pairwise_scores
from fashionrec.metrics import topk_accuracy_curve

Curves = dict[str, np.ndarray]  # category -> top-k accuracy for k = 1 .. max_k
Vectors = dict[str, tuple[np.ndarray, np.ndarray]]  # split -> (query vectors, gallery vectors)


def topk_curves(query_vectors: np.ndarray, gallery_vectors: np.ndarray, data: C2SSplit, metric: str,
                ks: np.ndarray) -> Curves:
    """Per category, top-k accuracy for each k of (Q, D) queries against (G, D) gallery vectors,
    each query ranked against the gallery of its own category by ``metric`` (exact faiss search)."""
    curves = {}
    for c in CATEGORIES:
        q, g, true = data.category_rows(c)
        if len(q):
            scores = pairwise_scores(query_vectors[q], gallery_vectors[g], metric)  # (Q_c, G_c), higher = closer
            curves[c] = topk_accuracy_curve(scores, true, ks, higher_is_better=True)
    return curves


def category_rankings(query_vectors: np.ndarray, gallery_vectors: np.ndarray, data: C2SSplit, metric: str,
                      k: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """(Q,) rank of each query's item in its category (1 = first; ties pessimistic, as in
    ``metrics.topk_accuracy_curve``) and (Q, k) gallery rows of its k best items (for figures;
    -1 pads a category with fewer than k items)."""
    ranks, top = np.zeros(len(data.photos), int), np.full((len(data.photos), k), -1)
    for c in CATEGORIES:
        q, g, true = data.category_rows(c)
        if len(q):
            scores = pairwise_scores(query_vectors[q], gallery_vectors[g], metric)  # (Q_c, G_c)
            ranks[q] = (scores >= scores[np.arange(len(q)), true][:, None]).sum(1)
            best = np.argsort(-scores, axis=1, kind="stable")[:, :k]  # (Q_c, min(k, G_c))
            top[q[:, None], np.arange(best.shape[1])] = g[best]
    return ranks, top


def chance_curves(data: C2SSplit, ks: np.ndarray) -> Curves:
    """Per category, the top-k accuracy of a random ranking: min(k / G_c, 1)."""
    return {c: np.minimum(np.asarray(ks) / max(1, int((data.gallery_categories == c).sum())), 1.0)
            for c in CATEGORIES if (data.query_categories == c).any()}


def oracle_curves(data: C2SData, ks: np.ndarray, split: str = "test") -> Curves:
    """Per category, FashionWorld's attribute oracle (``tasks.c2s_attribute_oracle``): the ranking by
    how many true attributes agree. NaN on real data (no ground-truth attributes)."""
    d = data.splits[split]
    cats = chance_curves(d, ks)
    if data.world is None:
        return {c: np.full(len(ks), np.nan) for c in cats}
    from fashionrec.world import tasks

    return {c: tasks.c2s_attribute_oracle(data.world, [d.photos[i] for i in d.category_rows(c)[0]], d.gallery, ks)
            for c in cats}


def category_mean(curves: Curves, k: int) -> float:
    """Top-k accuracy averaged over the categories (each category counts once)."""
    return float(np.mean([curve[k - 1] for curve in curves.values()]))


def oracle_mean(curves: Curves, k: int) -> float | None:
    """The attribute oracle's category-mean top-``k`` for the results table; None where there is no
    oracle (real data: its curves are NaN)."""
    value = category_mean(curves, k)
    return value if np.isfinite(value) else None


def knn_curves(vectors: Mapping[str, Vectors], data: C2SData, ks: np.ndarray,
               k: int) -> tuple[dict[tuple[str, str], Curves], dict[str, str]]:
    """Test curves of each kNN method under each distance, and each method's distance chosen on the
    validation split (best category-mean top-``k``). Methods without a validation split (a
    learned score) are left out."""
    vectors = {m: v for m, v in vectors.items() if "valid" in v}
    curves = {(m, d): topk_curves(*v["test"], data.test, d, ks) for m, v in vectors.items() for d in DISTANCES}
    best = {m: max(DISTANCES, key=lambda d: category_mean(topk_curves(*v["valid"], data.valid, d, ks), k))
            for m, v in vectors.items()}
    return curves, best


def mean_curves(runs: Iterable[Curves]) -> Curves:
    """Per category, the mean curve over runs (e.g. seeds)."""
    runs = list(runs)
    return {c: np.mean([r[c] for r in runs], axis=0) for c in runs[0]}


def result_row(method: str, seed: int, curves: Curves, k: int) -> dict:
    """One row of the results frame: category-mean top-``k`` and top-1, and top-``k`` per category."""
    return {"method": method, "seed": seed, f"top{k}": category_mean(curves, k), "top1": category_mean(curves, 1),
            **{f"top{k}_{c}": float(curve[k - 1]) for c, curve in curves.items()}}


def results_frame(knn: Mapping[tuple[str, str], Curves], siamese: Mapping[int, Curves], k: int) -> pd.DataFrame:
    """The long results frame: one row per (method, seed). A fixed distance does not depend on the
    seed, so each kNN method gets the same row for every Siamese seed (the claims pair by seed)."""
    rows = [result_row(f"{m} ({d})", s, curves, k) for (m, d), curves in knn.items() for s in siamese]
    rows += [result_row("Siamese (learned)", s, curves, k) for s, curves in siamese.items()]
    return pd.DataFrame(rows)


def chain_verdict(found: Sequence[claims.Claim]) -> str:
    """The verdict of an ordering A > B > C from its links: ``holds`` when every link holds, else
    the verdict of the first link that does not."""
    return next((c.verdict for c in found if not c.holds), claims.HOLDS)


def method_names(best: Mapping[str, str], backbone: str) -> dict[str, str]:
    """The results frame's names of the headline methods: each kNN method at its validation-best
    distance ("whitebox", "pretrained"), the CNN features under the paper's L1, and the Siamese net."""
    pretrained = f"pretrained {backbone}"
    return {"whitebox": f"white-box ({best['white-box']})", "pretrained": f"{pretrained} ({best[pretrained]})",
            "pretrained_l1": f"{pretrained} (l1)", "siamese": "Siamese (learned)"}


def headline(results: pd.DataFrame, best: Mapping[str, str], backbone: str, chance: Curves, oracle: Curves,
             k: int) -> dict[str, float | str | int]:
    """The chapter's ``ch3_*`` glue values from the results frame (names: :func:`method_names`)."""
    names = method_names(best, backbone)
    chance_mean, oracle_mean = category_mean(chance, k), category_mean(oracle, k)
    out: dict[str, float | str | int] = {"ch3_chance_top20": chance_mean, "ch3_oracle_top20": oracle_mean}
    mean = results.groupby("method", sort=False).mean(numeric_only=True)
    for short in ("whitebox", "pretrained", "siamese"):
        row = mean.loc[names[short]]
        out[f"ch3_{short}_top20"] = float(row[f"top{k}"])
        if np.isfinite(oracle_mean):
            out[f"ch3_{short}_ratio"] = claims.progress(row[f"top{k}"], chance_mean, oracle_mean)
        out.update({f"ch3_{short}_top20_{c}": float(row[f"top{k}_{c}"]) for c in chance})
    siamese = results[results.method == names["siamese"]]
    out["ch3_siamese_top20_std"] = claims.mean_sd(siamese[f"top{k}"])[1]
    out["ch3_n_seeds"] = len(siamese)
    out["ch3_siamese_top1"] = float(mean.loc[names["siamese"], "top1"])
    out["ch3_pretrained_l1_top20"] = float(mean.loc[names["pretrained_l1"], f"top{k}"])
    gains = {c: out[f"ch3_siamese_top20_{c}"] - out[f"ch3_pretrained_top20_{c}"] for c in chance}
    out["ch3_smallest_gain_category"] = min(gains, key=gains.get)
    out["ch3_dresses_gain"] = gains.get("dresses", float("nan"))
    out["ch3_whitebox_distance"] = best["white-box"]
    out["ch3_pretrained_distance"] = best[f"pretrained {backbone}"]
    return out


def verdict_glue(tested: Mapping[str, claims.Claim], order: str) -> dict[str, str]:
    """The claims' ``ch3_*`` glue: the ordering's verdict and each claim's, keyed ``ch3_claim_<name>``."""
    return {"ch3_order": order, **{f"ch3_claim_{name}": c.verdict for name, c in tested.items()}}


def receipt_results(histories: Mapping[int, Any], results: pd.DataFrame, table: pd.DataFrame,
                    best: Mapping[str, str], findings: pd.DataFrame, order: str, k: int) -> str:
    """The chapter's results receipt: per seed the Siamese training (epochs, first and last train
    loss, best validation top-``k`` and its epoch), the results table, top-``k`` per category (mean
    over seeds, 3 decimals), the distances chosen on valid, and the claims with the ordering's verdict."""
    lines = []
    for s, h in histories.items():
        frame = h.to_frame()
        loss = frame.train_loss
        lines.append(f"seed {s}: {len(frame)} epochs, train loss {loss.iloc[0]:.3f} -> {loss.iloc[-1]:.3f}, "
                     f"best valid top-{k} {frame.valid_metric.max():.3f} (epoch {h.best_epoch})")
    per_category = claims.summarize(results, [c for c in results.columns if c.startswith(f"top{k}_")])
    lines += ["", f"top-{k} accuracy on the test split, mean over categories", table.to_string(),
              "", f"top-{k} per category (mean over seeds)",
              per_category.xs("mean", axis=1, level=1).round(3).to_string(),
              f"distance chosen on valid: {dict(best)}",
              "", findings.drop(columns="paper", errors="ignore").to_string(),
              f"Siamese > pretrained > white-box (the paper's ordering): {order}"]
    return "\n".join(lines)
