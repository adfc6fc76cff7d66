"""Nearest-neighbour search over embeddings with faiss (chapters 3 and 4).

``VectorIndex`` wraps an exact (flat) or approximate (IVF, HNSW) faiss index behind one call,
``search(queries, k) -> (scores, ids)``, where a higher score is always better (distances are
negated), so retrieval metrics need not know the metric.
"""

from __future__ import annotations

from dataclasses import dataclass

import faiss
import numpy as np

METRICS = ("l2", "l1", "cosine", "ip")
KINDS = ("flat", "ivf", "hnsw")


@dataclass
class VectorIndex:
    """A faiss index plus how to prepare queries for it."""

    index: faiss.Index
    metric: str
    kind: str

    @staticmethod
    def build(vectors: np.ndarray, metric: str = "l2", kind: str = "flat", nlist: int | None = None,
              nprobe: int = 8, hnsw_m: int = 32, ef_search: int = 64, seed: int = 0,
              train_size: int | None = None) -> "VectorIndex":
        """Index (N, D) vectors. ``cosine`` L2-normalises and uses inner product. IVF's k-means trains on
        the vectors (faiss itself subsamples to 256 per list) or on a random ``train_size`` sample of them,
        which is faster (faiss warns below 39 per list); ``nlist`` defaults to about 4 sqrt(N). L1 is
        supported by ``flat`` only."""
        if metric not in METRICS:
            raise ValueError(f"metric must be one of {METRICS}, not {metric!r}")
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
        x = _prepare(vectors, metric)
        n, d = x.shape
        faiss_metric = {"l2": faiss.METRIC_L2, "l1": faiss.METRIC_L1,
                        "cosine": faiss.METRIC_INNER_PRODUCT, "ip": faiss.METRIC_INNER_PRODUCT}[metric]
        if kind != "flat" and metric == "l1":
            raise ValueError("L1 search is exact only: use kind='flat'")
        if kind == "flat":
            index = faiss.IndexFlat(d, faiss_metric)
        elif kind == "ivf":
            nlist = nlist or max(1, min(n // 39, int(4 * np.sqrt(n))))
            index = faiss.IndexIVFFlat(faiss.IndexFlat(d, faiss_metric), d, nlist, faiss_metric)
            index.cp.seed = seed
            if train_size is not None and train_size < n:
                rng = np.random.default_rng(seed)
                index.train(x[np.sort(rng.choice(n, size=train_size, replace=False))])
            else:
                index.train(x)
            index.nprobe = nprobe
        else:
            index = faiss.IndexHNSWFlat(d, hnsw_m, faiss_metric)
            index.hnsw.efSearch = ef_search
        index.add(x)
        return VectorIndex(index, metric, kind)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(Q, k) scores (higher = closer) and (Q, k) row ids of the indexed vectors."""
        k = min(k, self.index.ntotal)
        dist, ids = self.index.search(_prepare(queries, self.metric), k)
        scores = dist if self.metric in ("cosine", "ip") else -dist
        return scores, ids

    def __len__(self) -> int:
        return self.index.ntotal


def _prepare(x: np.ndarray, metric: str) -> np.ndarray:
    x = np.ascontiguousarray(x, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"expected (N, D) vectors, got shape {x.shape}")
    if metric == "cosine":
        x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    return x


def pairwise_scores(queries: np.ndarray, gallery: np.ndarray, metric: str = "l2") -> np.ndarray:
    """(Q, G) scores of every query against every gallery vector (exact; higher = closer)."""
    index = VectorIndex.build(gallery, metric=metric)
    scores, ids = index.search(queries, len(index))
    out = np.empty_like(scores)
    np.put_along_axis(out, ids, scores, axis=1)
    return out
