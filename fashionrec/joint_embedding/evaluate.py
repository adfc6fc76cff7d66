"""Scoring a result list for looks and for words (Sadeh et al. 2019, Sec. 5): scores -> metrics rows.

V-nDCG takes as relevance the visual-only judge's cosine between the query image and a result;
T-nDCG the share of the request's requirements that the result's metadata meets (the attributes its
catalog row states, ``datasets.catalog.stated_attributes``, the paper's "metadata"); MM-nDCG is
sqrt(V * T). Every nDCG is ``metrics.ndcg_at_m``: linear gains, the standard discount
1 / log2(i + 1), ties in score averaged, the ideal being the pool's k most relevant items.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from fashionrec import claims, metrics
from fashionrec.joint_embedding.model import JointEmbedding, embed
from fashionrec.joint_embedding.search import METHODS, MultimodalSearch, Request, normalize

DISCOUNT = "standard"  # 1 / log2(i + 1), named in the chapter's table header
SCORES = ("V-nDCG", "T-nDCG", "MM-nDCG")


def retrieval_recall(f_queries: np.ndarray, f_gallery: np.ndarray, k: int = 10) -> float:
    """Share of queries i whose own gallery item i is among the k most cosine-similar
    (image -> text or text -> image retrieval; ties pessimistic)."""
    q, g = normalize(f_queries), normalize(f_gallery)
    return metrics.topk_accuracy(q @ g.T, np.arange(len(q)), k, higher_is_better=True)  # (N, N) cosines


def text_relevance(item_values: Sequence[set[str]], wanted: Sequence[str], unwanted: Sequence[str]) -> np.ndarray:
    """T-nDCG's relevance: the share of the request's requirements (wanted present, unwanted
    absent) that each item's metadata satisfies; (N,) in [0, 1]."""
    n = len(wanted) + len(unwanted)
    if n == 0:
        raise ValueError("a request needs at least one wanted or unwanted value")
    return np.array([(sum(w in v for w in wanted) + sum(u not in v for u in unwanted)) / n for v in item_values])


def visual_relevance(judge_query: np.ndarray, judge_gallery: np.ndarray) -> np.ndarray:
    """V-nDCG's relevance: cosine under the visual-only judge, clipped at 0 (gains are >= 0); (N,)."""
    return np.maximum(normalize(judge_gallery) @ normalize(judge_query), 0.0)


def ndcg_at_k(scores: np.ndarray, relevance: np.ndarray, k: int) -> float:
    """nDCG@k of ranking the pool by ``scores`` (``metrics.ndcg_at_m``: ties averaged, standard
    discount); the ideal DCG is that of the pool's k most relevant items."""
    return metrics.ndcg_at_m(scores, relevance, k, discount=DISCOUNT)


def chance_ndcg(relevance: np.ndarray, k: int) -> float:
    """Expected nDCG@k of a uniformly random ranking: the nDCG of a ranking in which every item
    ties (tie-averaged, every rank's gain is mean(rel))."""
    return ndcg_at_k(np.zeros(len(relevance)), relevance, k)


def oracle_scores(v_rel: np.ndarray, t_rel: np.ndarray, relevant: np.ndarray) -> np.ndarray:
    """The FashionWorld oracle's ranking: the task's relevant items (same sub-category, every
    requirement met by the stated metadata) first, then by T relevance, then by the judge's own
    visual relevance (lexicographic)."""
    return 2.0 * relevant + t_rel + 0.25 * v_rel


def evaluate(search: MultimodalSearch, queries: Sequence, item_ids: Sequence[str], judge: np.ndarray,
             values: Sequence[set[str]], methods: Sequence[str] = METHODS, k: int = 10,
             weights: dict[str, float] | None = None, oracle: bool = True) -> pd.DataFrame:
    """V- and T-nDCG@k of every method on every query, plus the oracle and chance (Sec. 5).

    The catalog is ``search``'s items (ids ``item_ids``); each query's image is a catalog item,
    which is left out of its own results. ``judge`` (N, Dj) are the catalog's embeddings under the
    visual-only judge; ``values`` each item's attribute values as its catalog row states them;
    ``weights`` the arithmetic weight per method (default ``search.weight``); ``oracle=False`` leaves
    the oracle out (the chapter reports it on FashionWorld only).

    Returns:
        One row per (query, method): query_id, kind, method, V, T.
    """
    where = {i: k for k, i in enumerate(item_ids)}
    rows = []
    for q in queries:
        r = where[q.item_id]
        keep = np.arange(len(item_ids)) != r  # the query item is not a result
        v_rel = visual_relevance(judge[r], judge)[keep]
        t_rel = text_relevance(values, q.wanted, q.unwanted)[keep]
        request = Request(search.image_embeddings[r], tuple(q.wanted), tuple(q.unwanted))
        ranked = {m: search.scores(request, m, (weights or {}).get(m))[keep] for m in methods}
        if oracle:
            ranked["oracle"] = oracle_scores(v_rel, t_rel, np.isin(np.asarray(item_ids), q.relevant)[keep])
        for m, s in ranked.items():
            rows.append((q.query_id, q.kind, m, ndcg_at_k(s, v_rel, k), ndcg_at_k(s, t_rel, k)))
        rows.append((q.query_id, q.kind, "chance", chance_ndcg(v_rel, k), chance_ndcg(t_rel, k)))
    return pd.DataFrame(rows, columns=["query_id", "kind", "method", "V", "T"])


def table(results: pd.DataFrame, by: Sequence[str] = ("method",)) -> pd.DataFrame:
    """Mean V-nDCG, T-nDCG and MM-nDCG = sqrt(V * T) of the means, grouped by ``by``."""
    g = results.groupby(list(by), sort=False)[["V", "T"]].mean()
    return g.rename(columns={"V": "V-nDCG", "T": "T-nDCG"}).assign(
        **{"MM-nDCG": lambda d: metrics.mm_ndcg(d["V-nDCG"].to_numpy(), d["T-nDCG"].to_numpy())})


def tune_weight(search: MultimodalSearch, method: str, queries: Sequence, item_ids: Sequence[str],
                judge: np.ndarray, values: Sequence[set[str]], grid: Sequence[float] = (0.25, 0.5, 0.75, 1.0),
                k: int = 10) -> float:
    """The arithmetic weight in ``grid`` with the best MM-nDCG of ``method`` on (validation) queries."""
    best, best_mm = grid[0], -1.0
    for w in grid:
        result = evaluate(search, queries, item_ids, judge, values, [method], k, weights={method: w})
        mm = float(table(result).loc[method, "MM-nDCG"])
        if mm > best_mm:
            best, best_mm = w, mm
    return best


# ----- the chapter's evaluation: every trained model on the test catalog ------------------------
def search_engine(model: JointEmbedding, data, split: str, device: str | torch.device = "cpu") -> MultimodalSearch:
    """Exact multimodal search over ``split``'s items with ``model``'s embeddings and attribute head."""
    f_images = embed(model.image_embedding, data.inputs[split], device=device)  # (N, D)
    logits = embed(model.attribute_logits, f_images, device=device)  # (N, V)
    probs = torch.sigmoid(torch.as_tensor(logits)).numpy()
    return MultimodalSearch(f_images, probs, model.word_embedding.detach().cpu().numpy(), data.lexicon,
                            data.vocab.index, [set(w) for w in data.words[split]], data.values(split))


def evaluate_models(models: Mapping[tuple[str, int], JointEmbedding], data, judge_embeddings: Mapping[str, np.ndarray],
                    k: int = 10, grid: Sequence[float] = (0.25, 0.5, 0.75, 1.0),
                    device: str | torch.device = "cpu",
                    oracle: bool = True) -> tuple[pd.DataFrame, dict[tuple[str, int, str], float]]:
    """Per query and method, the V- and T-nDCG@k of every (variant, seed) model on the test queries.

    The text weight of "arithmetic" and "combined" is chosen per model on the valid queries
    (``tune_weight``). ``judge_embeddings``: "valid" / "test" -> the judge's embeddings of the items.
    ``oracle``: add the oracle's rows (``cfg.on_world``: FashionWorld only).

    Returns:
        (rows of ``evaluate`` with columns variant and seed added, (variant, seed, method) -> weight).
    """
    results, weights = [], {}
    for (name, s), model in models.items():
        engines = {split: search_engine(model, data, split, device) for split in ("valid", "test")}
        for method in ("arithmetic", "combined"):
            weights[name, s, method] = tune_weight(engines["valid"], method, data.queries["valid"], data.ids("valid"),
                                                   judge_embeddings["valid"], data.values("valid"), grid, k)
        tuned = {m: weights[name, s, m] for m in ("arithmetic", "combined")}
        r = evaluate(engines["test"], data.queries["test"], data.ids("test"), judge_embeddings["test"],
                     data.values("test"), k=k, weights=tuned, oracle=oracle)
        results.append(r.assign(variant=name, seed=s))
    return pd.concat(results, ignore_index=True), weights


def per_seed(results: pd.DataFrame) -> pd.DataFrame:
    """One row per (variant, seed, method): V-, T- and MM-nDCG (the long frame ``claims`` reads)."""
    return table(results, by=("variant", "seed", "method")).reset_index()


BEST_SINGLE = "best of arithmetic and soft filter"


def claims_frame(scores: pd.DataFrame) -> pd.DataFrame:
    """``per_seed`` rows with one ``method`` label per (variant, method), e.g. "MBMR: combined", plus
    "MBMR: best of arithmetic and soft filter" (per seed, the higher MM-nDCG of the two)."""
    out = scores.assign(method=scores["variant"] + ": " + scores["method"])
    single = out[out.method.isin(["MBMR: arithmetic", "MBMR: soft filter"])]
    best = single.loc[single.groupby("seed")["MM-nDCG"].idxmax()].assign(method=f"MBMR: {BEST_SINGLE}")
    return pd.concat([out, best], ignore_index=True)


CLAIMS = (  # (text, a, b, metric): "a beats b on metric", each tested with claims.claim
    ("arithmetic V-nDCG > soft filter V-nDCG", "MBMR: arithmetic", "MBMR: soft filter", "V-nDCG"),
    ("soft filter T-nDCG > arithmetic T-nDCG", "MBMR: soft filter", "MBMR: arithmetic", "T-nDCG"),
    ("combined MM-nDCG > arithmetic and soft filter", "MBMR: combined", f"MBMR: {BEST_SINGLE}", "MM-nDCG"),
    ("MBMR combined MM-nDCG > triplet", "MBMR: combined", "triplet: combined", "MM-nDCG"),
    ("word2vec init combined MM-nDCG > random init", "MBMR: combined", "MBMR, random init: combined", "MM-nDCG"),
)


def method_key(method: str) -> str:
    """The glue-key form of a method name: "hard filter (text)" -> "hard_filter_text"."""
    return method.replace(" (", "_").replace(")", "").replace(" ", "_")


def retrieval_recalls(models: Mapping[tuple[str, int], JointEmbedding], data, split: str = "test", k: int = 10,
                      device: str | torch.device = "cpu") -> pd.DataFrame:
    """Image -> text and text -> image recall@k of each (variant, seed) model on ``split``'s items."""
    rows = []
    for (name, s), model in models.items():
        f_i = embed(model.image_embedding, data.inputs[split], device=device)
        f_t = embed(model.text_embedding, data.bags[split], device=device)
        rows.append({"variant": name, "seed": s, f"image→text R@{k}": retrieval_recall(f_i, f_t, k),
                     f"text→image R@{k}": retrieval_recall(f_t, f_i, k)})
    return pd.DataFrame(rows)


ROWS = ("chance", "oracle", *METHODS)  # the order of the chapter's results table


def kind_table(results: pd.DataFrame, variant: str = "MBMR") -> pd.DataFrame:
    """MM-nDCG of ``variant``'s methods (rows, in ``ROWS`` order) by kind of request (columns), mean
    over queries and seeds, 3 decimals; the kinds and rows the results hold."""
    by_kind = table(results[results.variant == variant], by=("kind", "method")).round(3)
    mm = by_kind["MM-nDCG"].unstack("kind")
    return mm.loc[[m for m in ROWS if m in mm.index]]


def method_summary(scores: pd.DataFrame, variant: str = "MBMR") -> pd.DataFrame:
    """Mean and sd over seeds (``claims.summarize``: sd with ddof 1) of V-, T- and MM-nDCG for each
    method of ``variant``, chance and oracle first; columns (metric, "mean" | "sd")."""
    rows = scores[scores.variant == variant]
    return claims.summarize(rows, list(SCORES)).loc[[m for m in ROWS if m in set(rows.method)]]


def results_table(scores: pd.DataFrame, k: int, variant: str = "MBMR") -> pd.DataFrame:
    """The chapter's results table (``claims.results_table`` per metric): chance, each method, the
    oracle, mean ± sd over seeds, and the MM-nDCG progress ratio; the header names k and the discount.
    Without oracle rows (real data) the table has no oracle row and no progress ratio."""
    rows = scores[scores.variant == variant]
    learned = rows[~rows.method.isin(["chance", "oracle"])]
    ends = rows.groupby("method")[list(SCORES)].mean()
    has_oracle = "oracle" in ends.index
    parts = [claims.results_table(learned, m, chance=float(ends.loc["chance", m]),
                                  oracle=float(ends.loc["oracle", m]) if has_oracle else None) for m in SCORES]
    last = ["MM-nDCG", "of the way", "seeds"] if has_oracle else ["MM-nDCG", "seeds"]
    out = pd.concat([parts[0][["V-nDCG"]], parts[1][["T-nDCG"]], parts[2][last]], axis=1)
    out.columns.name = f"nDCG@{k}, discount 1/log2(i+1), ties averaged"
    return out


def headline(summary: pd.DataFrame) -> dict[str, float]:
    """The glue keys of ``method_summary``: ``ch4_{v,t,mm}_<method>`` (means) and ``ch4_mm_std_<method>``."""
    out = {}
    for method in summary.index:
        key = method_key(method)
        for metric, short in zip(SCORES, ("v", "t", "mm")):
            out[f"ch4_{short}_{key}"] = float(summary.loc[method, (metric, "mean")])
        out[f"ch4_mm_std_{key}"] = float(summary.loc[method, ("MM-nDCG", "sd")])
    return out


VARIANT_KEYS = {"MBMR": "mbmr", "triplet": "triplet", "MBMR, random init": "random"}
COMPARED = {"MM arithmetic": "mm_arithmetic", "MM combined": "mm_combined", "MM soft filter": "mm_soft",
            "text→image R@10": "t2i_r10"}


def variant_comparison(scores: pd.DataFrame, recalls: pd.DataFrame) -> pd.DataFrame:
    """Per (variant, seed): MM-nDCG of the methods that use the learned space, and the recalls."""
    mm = scores[scores.method.isin(["arithmetic", "soft filter", "combined"])].pivot_table(
        index=["variant", "seed"], columns="method", values="MM-nDCG").add_prefix("MM ").reset_index()
    return mm.merge(recalls, on=["variant", "seed"])


def variant_headline(summary: pd.DataFrame) -> dict[str, float]:
    """Glue keys ``ch4_<variant>_<what>`` of a ``claims.summarize`` of ``variant_comparison``."""
    return {f"ch4_{VARIANT_KEYS[v]}_{short}": float(summary.loc[v, (col, "mean")])
            for v in summary.index for col, short in COMPARED.items()}


# ----- the notebook's receipts and glue -----------------------------------------------------------
def receipt_judge(judge_test: np.ndarray, data) -> str:
    """The judge's receipt: the share of test items whose nearest other item under the judge has
    their sub-category."""
    unit = normalize(judge_test)
    nearest = np.argsort(-(unit @ unit.T), axis=1)[:, 1]
    subs = np.array([it.subcategory for it in data.items["test"]])
    return (f"judge: the nearest catalog item has the query's sub-category for "
            f"{np.mean(subs == subs[nearest]):.3f} of the catalog")


def receipt_results(cfg, data, judge_test: np.ndarray, scores: pd.DataFrame, variants: pd.DataFrame,
                    tested: Sequence) -> str:
    """The results receipt: ``receipt_judge``, the MBMR model's mean V-, T- and MM-nDCG per method
    (``method_summary``), the variants' means (a ``claims.summarize`` of ``variant_comparison``) and
    one line per claim; 3 decimals."""
    head = (f"MBMR model, {len(cfg.seeds)} seed(s), {len(data.queries['test'])} test "
            f"queries, nDCG@{cfg.k}, mean over seeds")
    means = [method_summary(scores), variants]
    return "\n".join([receipt_judge(judge_test, data), head, *(t.xs("mean", axis=1, level=1).round(3).to_string() for t in means),
                      *(str(c) for c in tested)])


def results_glue(cfg, data, scores: pd.DataFrame, weights: Mapping[tuple[str, int, str], float],
                 variants: pd.DataFrame, tested: Sequence) -> dict[str, float | int | str]:
    """Every glue key of the results and claims sections: ``headline`` of the MBMR model's
    ``method_summary``, the run's sizes (``ch4_vocab_size``, ``ch4_n_seeds``, ``ch4_k``,
    ``ch4_n_test_items``, ``ch4_n_test_queries``), the mean tuned text weight
    ``ch4_alpha_{arithmetic,combined}`` over seeds, ``variant_headline(variants)`` and, per claim k,
    ``ch4_claim<k>_share`` (share of seeds with a positive difference) and ``ch4_claim<k>_verdict``."""
    out = {**headline(method_summary(scores)), "ch4_vocab_size": len(data.vocab), "ch4_n_seeds": len(cfg.seeds),
           "ch4_k": cfg.k, "ch4_n_test_items": len(data.items["test"]),
           "ch4_n_test_queries": len(data.queries["test"])}
    for method in ("arithmetic", "combined"):
        out[f"ch4_alpha_{method}"] = float(np.mean([weights["MBMR", s, method] for s in cfg.seeds]))
    out.update(variant_headline(variants))
    for k, c in enumerate(tested, 1):
        out[f"ch4_claim{k}_share"] = float(np.mean(np.array(c.diffs) > 0))
        out[f"ch4_claim{k}_verdict"] = c.verdict
    return out
