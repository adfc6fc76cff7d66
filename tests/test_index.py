"""faiss search: exact metrics agree with numpy, approximate indexes recall the exact neighbours."""

from __future__ import annotations

import numpy as np
import pytest

from fashionrec.index import VectorIndex, pairwise_scores


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(500, 16)).astype(np.float32), rng.normal(size=(20, 16)).astype(np.float32)


@pytest.mark.parametrize("metric", ["l2", "l1", "cosine", "ip"])
def test_flat_matches_numpy(data, metric):
    gallery, queries = data
    if metric == "l2":
        expected = -((queries[:, None] - gallery[None]) ** 2).sum(-1)
    elif metric == "l1":
        expected = -np.abs(queries[:, None] - gallery[None]).sum(-1)
    elif metric == "cosine":
        g = gallery / np.linalg.norm(gallery, axis=1, keepdims=True)
        q = queries / np.linalg.norm(queries, axis=1, keepdims=True)
        expected = q @ g.T
    else:
        expected = queries @ gallery.T
    np.testing.assert_allclose(pairwise_scores(queries, gallery, metric), expected, rtol=1e-4, atol=1e-3)
    scores, ids = VectorIndex.build(gallery, metric).search(queries, 5)
    np.testing.assert_array_equal(ids[:, 0], expected.argmax(1))
    assert (np.diff(scores, axis=1) <= 1e-6).all()  # best first


@pytest.mark.parametrize("kind", ["ivf", "hnsw"])
def test_approximate_recall(data, kind):
    gallery, queries = data
    _, exact = VectorIndex.build(gallery, "cosine").search(queries, 10)
    _, approx = VectorIndex.build(gallery, "cosine", kind=kind, nprobe=16).search(queries, 10)
    recall = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(approx, exact)])
    assert recall > 0.8


def test_ivf_trained_on_a_sample_is_exact_when_every_cell_is_probed(data):
    gallery, queries = data
    index = VectorIndex.build(gallery, "l2", kind="ivf", nlist=8, nprobe=8, train_size=100)
    _, exact = VectorIndex.build(gallery, "l2").search(queries, 10)
    np.testing.assert_array_equal(index.search(queries, 10)[1], exact)
    assert len(index) == len(gallery)
    on_all = VectorIndex.build(gallery, "l2", kind="ivf", nlist=8, nprobe=8)  # k-means on all 500: other cells
    assert not np.allclose(index.index.quantizer.reconstruct_n(0, 8), on_all.index.quantizer.reconstruct_n(0, 8))


def test_bad_arguments():
    x = np.zeros((10, 4), np.float32)
    with pytest.raises(ValueError, match="metric"):
        VectorIndex.build(x, "hamming")
    with pytest.raises(ValueError, match="flat"):
        VectorIndex.build(x, "l1", kind="hnsw")
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        VectorIndex.build(np.zeros(4), "l2")
