"""Multimodal style search (Sadeh et al. 2019, Sec. 4) and search at scale (its evaluation: ``evaluate``).

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

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

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


def attribute_probabilities(embeddings: np.ndarray, head_weight: np.ndarray, head_bias: np.ndarray) -> np.ndarray:
    """p_w of embeddings under a trained attribute head, sigmoid(f W^T + b); float16 (N, V)."""
    return (1 / (1 + np.exp(-(embeddings @ head_weight.T + head_bias)))).astype(np.float16)


def random_requests(lexicon: dict[str, tuple[str, ...]], index: dict[str, int], n: int,
                    rng: np.random.Generator) -> tuple[list[list[list[int]]], list[list[list[int]]]]:
    """``n`` requests of one wanted and one unwanted attribute value each (as word ids), drawn
    uniformly from the lexicon's values that the vocabulary names."""
    value_ids = [ids for ids in (value_word_ids([v], lexicon, index)[0] for v in lexicon) if ids]
    wanted = [[value_ids[rng.integers(len(value_ids))]] for _ in range(n)]
    unwanted = [[value_ids[rng.integers(len(value_ids))]] for _ in range(n)]
    return wanted, unwanted


SCALE_SETTINGS = (("ivf", "nprobe", (1, 4, 16, 64)), ("hnsw", "efSearch", (16, 32, 64, 128)))


def scale_study(reference: np.ndarray, head_weight: np.ndarray, head_bias: np.ndarray, word_embeddings: np.ndarray,
                lexicon: dict[str, tuple[str, ...]], index: dict[str, int], n: int, n_queries: int = 200,
                candidates: int = 1000, weight: float = 0.5, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """ANN search on ``n`` generated items that match ``reference`` (trained embeddings).

    The catalog is ``EmbeddingSampler.fit(reference).sample(n)``, its word probabilities from the
    attribute head; each query is a generated image with a random request (arithmetic query,
    ``weight``). For IVF and HNSW at several settings: recall@20 against exact cosine search, the
    recall@20 of the soft-filtered top 20 after re-ranking ``candidates`` ANN results against
    exact soft filtering, and per-query latency (ms, this machine).

    Returns:
        (one row per index setting, (100,) seconds per exact search of one query).
    """
    sampler = EmbeddingSampler.fit(reference, seed=seed)
    big = sampler.sample(n + n_queries, seed=seed)
    big, query_images = big[:n], big[n:]
    probs = attribute_probabilities(big, head_weight, head_bias)  # (n, V)
    wanted, unwanted = random_requests(lexicon, index, len(query_images), np.random.default_rng(seed))
    queries = np.stack([arithmetic_query(f, text_vector(w, word_embeddings), text_vector(u, word_embeddings), weight)
                        for f, w, u in zip(query_images, wanted, unwanted)])
    exact = VectorIndex.build(big, "cosine")
    _, exact_ids = exact.search(queries, 20)
    exact_soft = exact_soft_search(big, probs, queries, wanted, unwanted, k=20)
    rows = []
    for kind, knob, settings in SCALE_SETTINGS:
        start = time.perf_counter()
        ann = VectorIndex.build(big, "cosine", kind=kind, seed=seed)
        build_s = time.perf_counter() - start
        for value in settings:
            if kind == "ivf":
                ann.index.nprobe = value
            else:
                ann.index.hnsw.efSearch = value
            _, ids = ann.search(queries, 20)
            _, soft_ids = ScalableSearch(ann, probs, candidates=candidates).search(queries, wanted, unwanted, k=20)
            lat = latencies(lambda q, ix=ann: ix.search(q, 20), queries[:100])
            rows.append(dict(index=kind, knob=f"{knob}={value}", build_s=build_s,
                             recall20=recall_at_k(ids, exact_ids), soft_recall20=recall_at_k(soft_ids, exact_soft),
                             p50_ms=1e3 * np.median(lat), p99_ms=1e3 * np.quantile(lat, 0.99)))
    return pd.DataFrame(rows), latencies(lambda q: exact.search(q, 20), queries[:100])


def save_embeddings(path, image_embeddings: np.ndarray, word_embeddings: np.ndarray, head_weight: np.ndarray,
                    head_bias: np.ndarray, words: Sequence[str], lexicon: dict[str, tuple[str, ...]]):
    """The trained embeddings the 1.5 M-item benchmark samples from, one ``.npz`` written atomically."""
    from fashionrec import store

    arrays = dict(image_embeddings=image_embeddings, word_embeddings=word_embeddings, head_weight=head_weight,
                  head_bias=head_bias, words=np.array(words), lexicon=json.dumps(lexicon))
    return store.atomic_write(path, lambda f: np.savez(f, **arrays))


def benchmark_results(runs_root=None) -> pd.DataFrame | None:
    """The rows of every ``benchmarks/bench_ch4_search.py`` result under ``runs_root`` (default: the
    book's runs folder, ``report.runs_root()``; one table, with the file's catalog size, dimension,
    threads and queries), or None when it has not been run."""
    from pathlib import Path

    from fashionrec import report

    runs_root = report.runs_root() if runs_root is None else runs_root

    paths = sorted((Path(runs_root) / "joint_embedding" / "benchmark").glob("search_*.json"))
    if not paths:
        return None
    tables = []
    for path in paths:
        result = json.loads(path.read_text())
        info = {k: result.get(k) for k in ("n", "dim", "threads", "queries", "cpus")}
        tables.append(pd.DataFrame(result["rows"]).assign(file=path.name, **info))
    return pd.concat(tables, ignore_index=True).round(3)


def scale_glue(scale: pd.DataFrame, n_real_items: int, scale_n: int) -> dict[str, float | int]:
    """The scale section's glue keys: ``ch4_n_real_items``, ``ch4_scale_n`` and the recall@20 and
    soft recall@20 of IVF at its widest setting (the last IVF row of ``scale_study``)."""
    best_ivf = scale[scale["index"] == "ivf"].iloc[-1]
    return {"ch4_n_real_items": n_real_items, "ch4_scale_n": scale_n,
            "ch4_scale_ivf_recall20": float(best_ivf["recall20"]),
            "ch4_scale_ivf_soft_recall20": float(best_ivf["soft_recall20"])}
