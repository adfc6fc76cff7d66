"""Multimodal style search (Sadeh et al. 2019, Sec. 4), its evaluation (Sec. 5), and search at scale.

A query is an image plus wanted words w+ and unwanted words w-. Three ways to answer it:

1. query arithmetic: q = f_I + f_T(w+) - f_T(w-), rank the catalog by cos(q, f_I_r);
2. attribute filtering: rank by cos(f_I, f_I_r) * p_w(I_r), where p_w is the probability, from
   the attribute head, that the wanted words describe I_r and the unwanted do not (soft), or the
   indicator that the item's metadata has them (hard, the paper's "ideal" case);
3. combined: the arithmetic query scored with the soft filter.

Attribute values ("stripes", "light-blue") reach the vocabulary through a lexicon
(``fashionrec.text.attribute_lexicon``): a value's words are its synonyms in the vocabulary.
At scale (1.5 M items) the catalog sits in an approximate faiss index (``fashionrec.index``):
the soft filter re-ranks the ANN's top-N (:class:`ScalableSearch`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fashionrec import metrics
from fashionrec.index import VectorIndex

METHODS = ("visual", "arithmetic", "soft filter", "combined", "hard filter (text)", "hard filter (attributes)")


def normalize(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (zero rows stay zero)."""
    x = np.asarray(x, np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


# ----- the query side --------------------------------------------------------------------------
def value_word_ids(values: Sequence[str], lexicon: dict[str, tuple[str, ...]],
                   index: dict[str, int]) -> list[list[int]]:
    """For each attribute value, the vocabulary ids of the words that name it."""
    out = []
    for v in values:
        if v not in lexicon:
            raise KeyError(f"attribute value {v!r} is not in the lexicon; known: {sorted(lexicon)}")
        out.append([index[w] for w in lexicon[v] if w in index])
    return out


def text_vector(word_ids: list[list[int]], word_embeddings: np.ndarray) -> np.ndarray:
    """f_T of a request: sum over its values of the mean embedding of the value's synonyms; (D,)."""
    out = np.zeros(word_embeddings.shape[1], np.float32)
    for ids in word_ids:
        if ids:
            out += word_embeddings[ids].mean(axis=0)
    return out


def arithmetic_query(f_image: np.ndarray, f_wanted: np.ndarray, f_unwanted: np.ndarray,
                     weight: float = 1.0) -> np.ndarray:
    """q = f_I + w (f_T(w+) - f_T(w-)) with every term L2-normalised first (Sec. 4.1).

    Training only constrains cosines, so the norms of f_I and f_T are arbitrary; normalising
    each term makes "+ red" weigh the same for every query. Works on (D,) or (Q, D).
    """
    return normalize(f_image) + weight * (normalize(f_wanted) - normalize(f_unwanted))


def value_probability(word_probs: np.ndarray, ids: list[int]) -> np.ndarray:
    """P(value describes the item) = sum of its synonyms' p_w, clipped to 1 (a catalog text uses
    one synonym, so the events are disjoint); (..., V) -> (...)."""
    if not ids:
        return np.zeros(word_probs.shape[:-1], np.float32)
    return np.minimum(word_probs[..., ids].sum(axis=-1), 1.0)


def soft_filter(word_probs: np.ndarray, wanted: list[list[int]], unwanted: list[list[int]]) -> np.ndarray:
    """p_w(I_r) = prod_{v in w+} P(v | I_r) * prod_{v in w-} (1 - P(v | I_r)) (Sec. 4.2); (..., V) -> (...)."""
    p = np.ones(word_probs.shape[:-1], np.float32)
    for ids in wanted:
        p = p * value_probability(word_probs, ids)
    for ids in unwanted:
        p = p * (1.0 - value_probability(word_probs, ids))
    return p


def hard_filter(item_words: Sequence[set[str]], wanted: Sequence[set[str]], unwanted: Sequence[set[str]]) -> np.ndarray:
    """(N,) bool: the item's words name every wanted value and no unwanted one (Sec. 4.2, ideal case).

    Each value is given as the set of words that name it; ``item_words`` are the item's words
    (its catalog text, or its true attribute values).
    """
    return np.array([all(w & words for w in wanted) and not any(u & words for u in unwanted)
                     for words in item_words], dtype=bool)


def filtered_scores(cosines: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """S = cos * p (Eq. 4), with the cosine clipped at 0 so a larger p never lowers a score."""
    return np.maximum(cosines, 0.0) * weights


def hard_scores(cosines: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Items that pass the hard filter first (by cosine), then the others (by cosine)."""
    return np.where(keep, cosines, cosines - 2.0)


@dataclass
class Request:
    """One query: an image embedding, the wanted and unwanted attribute values."""

    f_image: np.ndarray  # (D,)
    wanted: tuple[str, ...]
    unwanted: tuple[str, ...]


@dataclass
class MultimodalSearch:
    """Exact search over a catalog with every method of Sec. 4.

    Attributes:
        image_embeddings: (N, D) f_I of the catalog items.
        word_probs: (N, V) attribute head output p_w(I) of the catalog items.
        word_embeddings: (V, D) the text encoder's word vectors.
        lexicon: attribute value -> vocabulary words naming it.
        index: vocabulary word -> id.
        text_words: per item, the vocabulary words of its catalog text (for the hard text filter).
        true_values: per item, its true attribute values (for the hard "ideal" filter), if known.
        weight: weight of the text terms in the arithmetic query (``arithmetic_query``).
    """

    image_embeddings: np.ndarray
    word_probs: np.ndarray
    word_embeddings: np.ndarray
    lexicon: dict[str, tuple[str, ...]]
    index: dict[str, int]
    text_words: Sequence[set[str]] | None = None
    true_values: Sequence[set[str]] | None = None
    weight: float = 1.0  # of the text terms in the arithmetic query

    def __post_init__(self) -> None:
        self._gallery = normalize(self.image_embeddings)  # (N, D)

    def scores(self, request: Request, method: str, weight: float | None = None) -> np.ndarray:
        """(N,) score of every catalog item for ``request`` under ``method`` (one of METHODS);
        ``weight`` overrides ``self.weight`` for the arithmetic query."""
        wanted = value_word_ids(request.wanted, self.lexicon, self.index)
        unwanted = value_word_ids(request.unwanted, self.lexicon, self.index)
        if method in ("arithmetic", "combined"):
            q = arithmetic_query(request.f_image, text_vector(wanted, self.word_embeddings),
                                 text_vector(unwanted, self.word_embeddings),
                                 self.weight if weight is None else weight)
        elif method in METHODS:
            q = request.f_image
        else:
            raise ValueError(f"method must be one of {METHODS}, not {method!r}")
        cos = self._gallery @ normalize(q)  # (N,)
        if method in ("visual", "arithmetic"):
            return cos
        if method in ("soft filter", "combined"):
            return filtered_scores(cos, soft_filter(self.word_probs, wanted, unwanted))
        if method == "hard filter (text)":
            if self.text_words is None:
                raise ValueError("hard filter (text) needs text_words")
            names = [set(self.lexicon[v]) for v in request.wanted], [set(self.lexicon[v]) for v in request.unwanted]
            return hard_scores(cos, hard_filter(self.text_words, *names))
        if self.true_values is None:
            raise ValueError("hard filter (attributes) needs true_values")
        return hard_scores(cos, hard_filter(self.true_values, [{v} for v in request.wanted],
                                            [{v} for v in request.unwanted]))


# ----- evaluation (Sec. 5) -----------------------------------------------------------------------
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
    """nDCG@k of ranking the pool by ``scores``; the ideal DCG is that of the pool's k most
    relevant items (``metrics.graded_ndcg``). Ties in score are broken by position (stable)."""
    order = np.argsort(-np.asarray(scores), kind="stable")[:k]
    return metrics.graded_ndcg(relevance[order], ideal_relevance=relevance, k=k)


def chance_ndcg(relevance: np.ndarray, k: int) -> float:
    """Expected nDCG@k of a uniformly random ranking: every rank's expected gain is mean(rel)."""
    k = min(k, len(relevance))
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = np.sort(relevance)[::-1][:k] @ discounts
    return float(relevance.mean() * discounts.sum() / ideal) if ideal > 0 else 0.0


def oracle_scores(v_rel: np.ndarray, t_rel: np.ndarray, relevant: np.ndarray) -> np.ndarray:
    """The FashionWorld oracle's ranking: the task's relevant items (same sub-category, every
    requirement met by the true metadata) first, then by T relevance, then by the judge's own
    visual relevance (lexicographic)."""
    return 2.0 * relevant + t_rel + 0.25 * v_rel


def evaluate(search: MultimodalSearch, queries: Sequence, item_ids: Sequence[str], judge: np.ndarray,
             values: Sequence[set[str]], methods: Sequence[str] = METHODS, k: int = 10,
             weights: dict[str, float] | None = None) -> pd.DataFrame:
    """V- and T-nDCG@k of every method on every query, plus the oracle and chance (Sec. 5).

    The catalog is ``search``'s items (ids ``item_ids``); each query's image is a catalog item,
    which is left out of its own results. ``judge`` (N, Dj) are the catalog's embeddings under the
    visual-only judge; ``values`` each item's true attribute values; ``weights`` the arithmetic
    weight per method (default ``search.weight``).

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


# ----- search at catalog scale --------------------------------------------------------------------
@dataclass
class ScalableSearch:
    """Soft-filtered search over a large catalog: ANN top-``candidates`` by cosine, then re-rank by
    cos * p_w (Eq. 4) and keep the top k. ``word_probs`` may be float16 to halve its memory."""

    index: VectorIndex
    word_probs: np.ndarray  # (N, V)
    candidates: int = 200

    def search(self, queries: np.ndarray, wanted: Sequence[list[list[int]]], unwanted: Sequence[list[list[int]]],
               k: int = 20) -> tuple[np.ndarray, np.ndarray]:
        """(Q, D) queries and per query its wanted / unwanted word ids -> (Q, k) scores and item ids."""
        cos, ids = self.index.search(queries, self.candidates)  # (Q, C)
        out_s, out_i = np.empty((len(ids), k), np.float32), np.empty((len(ids), k), np.int64)
        for q in range(len(ids)):
            p = soft_filter(self.word_probs[ids[q]].astype(np.float32), wanted[q], unwanted[q])  # (C,)
            s = filtered_scores(cos[q], p)
            top = np.argsort(-s, kind="stable")[:k]
            out_s[q], out_i[q] = s[top], ids[q][top]
        return out_s, out_i


def exact_soft_search(gallery: np.ndarray, word_probs: np.ndarray, queries: np.ndarray,
                      wanted: Sequence[list[list[int]]], unwanted: Sequence[list[list[int]]], k: int = 20,
                      chunk: int = 200_000) -> np.ndarray:
    """(Q, k) ids of the exact soft-filtered top k over the whole catalog (the ANN's reference)."""
    q = normalize(queries)
    best_s = np.full((len(q), k), -np.inf, np.float32)
    best_i = np.zeros((len(q), k), np.int64)
    for start in range(0, len(gallery), chunk):
        g = normalize(gallery[start:start + chunk])
        cos = q @ g.T  # (Q, c)
        for r in range(len(q)):
            p = soft_filter(word_probs[start:start + chunk], wanted[r], unwanted[r])
            s = np.concatenate([best_s[r], filtered_scores(cos[r], p)])
            i = np.concatenate([best_i[r], np.arange(start, start + len(g))])
            top = np.argsort(-s, kind="stable")[:k]
            best_s[r], best_i[r] = s[top], i[top]
    return best_i


def recall_at_k(approx_ids: np.ndarray, exact_ids: np.ndarray, k: int = 20) -> float:
    """Mean share of the exact top k that the approximate top k found."""
    return float(np.mean([len(set(a[:k]) & set(e[:k])) / k for a, e in zip(approx_ids, exact_ids)]))


def latencies(fn: Callable[[np.ndarray], object], queries: np.ndarray, warmup: int = 5) -> np.ndarray:
    """Seconds per call of ``fn`` on one query at a time (after ``warmup`` calls)."""
    for q in queries[:warmup]:
        fn(q[None])
    out = []
    for q in queries:
        start = time.perf_counter()
        fn(q[None])
        out.append(time.perf_counter() - start)
    return np.array(out)


@dataclass
class EmbeddingSampler:
    """A generative model of trained embeddings for scale tests: a Gaussian mixture (full
    covariances) in the top principal subspace, plus isotropic noise for the remaining variance."""

    mean: np.ndarray  # (D,)
    basis: np.ndarray  # (P, D) principal directions
    weights: np.ndarray  # (K,)
    means: np.ndarray  # (K, P)
    cholesky: np.ndarray  # (K, P, P)
    residual_std: float

    @staticmethod
    def fit(x: np.ndarray, n_components: int = 16, pca_dim: int = 64, seed: int = 0) -> "EmbeddingSampler":
        from sklearn.decomposition import PCA
        from sklearn.mixture import GaussianMixture

        x = np.asarray(x, np.float64)
        pca_dim = min(pca_dim, x.shape[1], len(x) - 1)
        pca = PCA(pca_dim, random_state=seed).fit(x)
        z = pca.transform(x)  # (M, P)
        gmm = GaussianMixture(n_components, covariance_type="full", reg_covar=1e-5, random_state=seed).fit(z)
        residual = x - pca.inverse_transform(z)
        return EmbeddingSampler(pca.mean_, pca.components_, gmm.weights_, gmm.means_,
                                np.linalg.cholesky(gmm.covariances_), float(residual.std()))

    def sample(self, n: int, seed: int = 0, chunk: int = 100_000) -> np.ndarray:
        """(n, D) float32 samples, generated in chunks (1.5 M x 512 is 3 GB)."""
        rng = np.random.default_rng(seed)
        out = np.empty((n, len(self.mean)), np.float32)
        for start in range(0, n, chunk):
            m = min(chunk, n - start)
            comp = rng.choice(len(self.weights), size=m, p=self.weights / self.weights.sum())
            eps = rng.standard_normal((m, self.basis.shape[0]))
            z = self.means[comp] + np.einsum("mpq,mq->mp", self.cholesky[comp], eps)  # (m, P)
            x = z @ self.basis + self.mean + self.residual_std * rng.standard_normal((m, len(self.mean)))
            out[start:start + m] = x
        return out
