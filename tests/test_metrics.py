"""Tests for fashionrec.metrics: hand-computed cases, sklearn cross-checks, ties, bad inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import ndcg_score, roc_auc_score

from fashionrec.metrics import (
    auc,
    binary_accuracy,
    chance_fitb,
    compatibility_auc,
    dcg_at,
    fitb_accuracy,
    graded_ndcg,
    hit_rate_at_k,
    mean_ndcg,
    mm_ndcg,
    ndcg_at_m,
    ndcg_curve,
    per_list_mean,
    positives_in_top_k,
    progress_ratio,
    topk_accuracy,
    topk_accuracy_curve,
)

L3, L5, L6, L7 = math.log2(3), math.log2(5), math.log2(6), math.log2(7)


# ---------------------------------------------------------------------------------------
# FITB, chance, progress ratio


def test_fitb_matches_hand_computed_case():
    scores = np.array([[0.1, 0.9, 0.0, 0.0], [0.5, 0.2, 0.2, 0.1]])
    # question 0: best is index 1 == answer -> right; question 1: best is 0 != 3 -> wrong
    assert fitb_accuracy(scores, np.array([1, 3])) == 0.5


def test_fitb_ties_are_pessimistic():
    # the answer ties with another candidate at the top: counted wrong, whatever its index
    # (argmax would call index 0 right, rewarding loaders that put the answer first)
    scores = np.array([[1.0, 1.0, 0.0, 0.0]])
    assert fitb_accuracy(scores, np.array([0])) == 0.0
    assert fitb_accuracy(scores, np.array([1])) == 0.0
    assert fitb_accuracy(np.zeros((5, 4)), np.zeros(5, dtype=int)) == 0.0


def test_chance_and_progress_ratio():
    assert chance_fitb(4) == 0.25
    # (0.625 - 0.25) / (1.0 - 0.25) = 0.375 / 0.75 = 0.5
    assert progress_ratio(0.625, 0.25, 1.0) == pytest.approx(0.5)
    # below chance is negative: (0.1 - 0.25) / 0.75 = -0.2
    assert progress_ratio(0.1, 0.25, 1.0) == pytest.approx(-0.2)
    with pytest.raises(ValueError, match="oracle and chance are equal"):
        progress_ratio(0.5, 0.25, 0.25)
    with pytest.raises(ValueError, match="n_candidates"):
        chance_fitb(0)


# ---------------------------------------------------------------------------------------
# AUC


def test_auc_hand_computed():
    scores = np.array([0.1, 0.4, 0.35, 0.8])
    labels = np.array([0, 0, 1, 1])
    # 4 (pos, neg) pairs: 0.35>0.1 yes, 0.35>0.4 no, 0.8>0.1 yes, 0.8>0.4 yes -> 3/4
    assert auc(scores, labels) == pytest.approx(0.75)
    # a tied pair counts half
    assert auc(np.array([0.5, 0.5]), np.array([0, 1])) == pytest.approx(0.5)
    assert compatibility_auc is auc


def test_auc_matches_sklearn_on_random_data():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=200).round(1)  # rounding makes ties
    labels = rng.integers(0, 2, size=200)
    assert auc(scores, labels) == pytest.approx(roc_auc_score(labels, scores))
    assert auc(scores, labels.astype(bool)) == pytest.approx(roc_auc_score(labels, scores))


def test_auc_rejects_one_class_and_non_binary_labels():
    with pytest.raises(ValueError, match="both positives and negatives"):
        auc(np.array([0.1, 0.2]), np.array([1, 1]))
    with pytest.raises(ValueError, match="0/1"):
        auc(np.array([0.1, 0.2, 0.3]), np.array([0, 1, 2]))


# ---------------------------------------------------------------------------------------
# DCG and NDCG (He & Hu 2018)


def test_dcg_at_wikipedia_example():
    rel = np.array([3, 2, 3, 0, 1, 2])
    # 3/1 + 2/log2(3) + 3/log2(4) + 0 + 1/log2(6) + 2/log2(7) = 6.861 (Wikipedia "DCG")
    expected = 3 + 2 / L3 + 3 / 2 + 0 + 1 / L6 + 2 / L7
    assert dcg_at(rel, 6) == pytest.approx(expected)
    assert dcg_at(rel, 6) == pytest.approx(6.861, abs=1e-3)
    assert dcg_at(rel, 2) == pytest.approx(3 + 2 / L3)
    assert dcg_at(rel, 100) == pytest.approx(expected)  # a short list is summed whole
    assert dcg_at(np.array([]), 3) == 0.0


def test_fashionnet_discount_counts_ranks_one_and_two_equally():
    # fashionnet: d(1) = 1/log2(2) = 1, d(2) = 1/log2(2) = 1, d(3) = 1/log2(3)
    assert dcg_at(np.array([1, 0]), 2, "fashionnet") == 1.0
    assert dcg_at(np.array([0, 1]), 2, "fashionnet") == 1.0
    assert dcg_at(np.array([0, 0, 1]), 3, "fashionnet") == pytest.approx(1 / L3)
    # standard: d(2) = 1/log2(3) < 1
    assert dcg_at(np.array([0, 1]), 2, "standard") == pytest.approx(1 / L3)
    # one positive ranked second: perfect under fashionnet, 1/log2(3) = 0.631 under standard
    scores, labels = np.array([2.0, 1.0, 0.0]), np.array([0, 1, 0])
    assert ndcg_at_m(scores, labels, 2, discount="fashionnet") == pytest.approx(1.0)
    assert ndcg_at_m(scores, labels, 2, discount="standard") == pytest.approx(1 / L3)
    with pytest.raises(ValueError, match="unknown discount"):
        dcg_at(np.array([1.0]), 1, "log10")


@pytest.mark.parametrize("discount", ["standard", "fashionnet"])
def test_perfect_ranking_gives_one(discount):
    labels = np.array([1, 0, 1, 0, 0, 1, 0])
    scores = labels + 0.01 * np.arange(7)  # positives above negatives
    np.testing.assert_allclose(ndcg_curve(scores, labels, discount=discount), 1.0)
    assert mean_ndcg(scores, labels, discount=discount) == pytest.approx(1.0)
    graded = np.array([3.0, 2.0, 0.0, 1.0])
    assert ndcg_at_m(graded, graded, 4, discount=discount) == pytest.approx(1.0)


def test_reversed_ranking_known_values():
    labels = np.array([1, 1, 0, 0])
    scores = np.array([1.0, 2.0, 3.0, 4.0])  # ranked order of labels: 0, 0, 1, 1
    # standard: DCG@4 = 1/log2(4) + 1/log2(5); ideal = 1 + 1/log2(3)
    ideal = 1 + 1 / L3
    curve = ndcg_curve(scores, labels)
    np.testing.assert_allclose(curve, [0.0, 0.0, 0.5 / ideal, (0.5 + 1 / L5) / ideal])
    assert curve[-1] == pytest.approx(0.5707, abs=1e-4)
    assert mean_ndcg(scores, labels) == pytest.approx(curve.mean())
    assert mean_ndcg(scores, labels) == pytest.approx((0.5 + 0.5 + 1 / L5) / ideal / 4)
    # fashionnet: DCG@4 = 1/log2(3) + 1/log2(4); ideal = 1 + 1 = 2
    f_curve = ndcg_curve(scores, labels, discount="fashionnet")
    np.testing.assert_allclose(f_curve, [0.0, 0.0, (1 / L3) / 2, (1 / L3 + 0.5) / 2])


def test_ndcg_graded_relevance_hand_computed():
    scores = np.array([0.9, 0.8, 0.7])
    labels = np.array([1.0, 3.0, 2.0])
    # DCG@3 = 1 + 3/log2(3) + 2/2; ideal = 3 + 2/log2(3) + 1/2
    expected = (1 + 3 / L3 + 1) / (3 + 2 / L3 + 0.5)
    assert ndcg_at_m(scores, labels, 3) == pytest.approx(expected)
    assert ndcg_at_m(scores, labels, 1) == pytest.approx(1 / 3)  # 1 / 3


@pytest.mark.parametrize("seed", range(5))
def test_standard_ndcg_matches_sklearn_on_random_data(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 40))
    labels = rng.integers(0, 4, size=n).astype(float)  # graded, with ties
    labels[0] = 3.0  # at least one relevant item
    for scores in (rng.normal(size=n), rng.integers(0, 3, size=n).astype(float)):  # no ties / many
        curve = ndcg_curve(scores, labels)
        for m in (1, 2, 3, n // 2, n):
            want = ndcg_score(labels[None], scores[None], k=m)
            assert ndcg_at_m(scores, labels, m) == pytest.approx(want)
            assert curve[m - 1] == pytest.approx(want)
        binary = (labels > 1).astype(float)
        assert ndcg_at_m(scores, binary, n) == pytest.approx(ndcg_score(binary[None], scores[None]))


def test_ndcg_ties_are_averaged_and_order_independent():
    # the positive ties with a negative at the top: each of ranks 1 and 2 gets gain 1/2
    scores = np.array([1.0, 1.0, 0.0])
    # standard: NDCG@1 = 0.5 / 1; NDCG@2 = (0.5 + 0.5/log2(3)) / 1
    for labels in (np.array([1, 0, 0]), np.array([0, 1, 0])):
        assert ndcg_at_m(scores, labels, 1) == pytest.approx(0.5)
        assert ndcg_at_m(scores, labels, 2) == pytest.approx(0.5 + 0.5 / L3)
        # fashionnet: (0.5 + 0.5) / 1
        assert ndcg_at_m(scores, labels, 2, discount="fashionnet") == pytest.approx(1.0)
    # all-equal scores: the input order never matters
    labels = np.array([1, 0, 0, 1, 0, 0])
    flat = np.zeros(6)
    np.testing.assert_allclose(ndcg_curve(flat, labels), ndcg_curve(flat, labels[::-1]))


def test_ndcg_curve_max_m_and_all_zero_labels():
    scores, labels = np.array([0.3, 0.2, 0.1]), np.array([0, 1, 0])
    curve = ndcg_curve(scores, labels, max_m=5)
    assert curve.shape == (5,)
    assert curve[3] == curve[4] == curve[2]  # beyond n, NDCG@m = NDCG@n
    np.testing.assert_allclose(ndcg_curve(scores, labels, max_m=2), curve[:2])
    np.testing.assert_array_equal(ndcg_curve(scores, np.zeros(3)), 0.0)  # sklearn's convention


def test_positives_in_top_k_hand_computed_and_ties():
    scores = np.array([0.9, 0.8, 0.7, 0.6])
    labels = np.array([1, 0, 1, 0])
    assert positives_in_top_k(scores, labels, 1) == 1.0
    assert positives_in_top_k(scores, labels, 2) == 1.0
    assert positives_in_top_k(scores, labels, 3) == 2.0
    assert positives_in_top_k(scores, labels, 10) == 2.0
    # a group of 3 equal scores holding 1 positive straddles k = 2: 2 places * 1/3 = 2/3
    tied = np.array([1.0, 1.0, 1.0, 0.0])
    assert positives_in_top_k(tied, np.array([1, 0, 0, 1]), 2) == pytest.approx(2 / 3)
    assert positives_in_top_k(tied, np.array([0, 0, 1, 1]), 2) == pytest.approx(2 / 3)
    assert positives_in_top_k(tied, np.array([0, 0, 1, 1]), 3) == pytest.approx(1.0)
    # graded labels: any label > 0 counts once, not by its grade
    assert positives_in_top_k(np.array([0.9, 0.8, 0.7]), np.array([2, 0, 3]), 3) == 2.0


def test_per_list_mean_handles_lists_of_different_lengths():
    perfect = (np.array([3.0, 2.0, 1.0]), np.array([1, 0, 0]))  # mean NDCG = 1
    reverse = (np.array([1.0, 2.0, 3.0, 4.0]), np.array([1, 1, 0, 0]))
    want = (1.0 + mean_ndcg(*reverse)) / 2
    got = per_list_mean(mean_ndcg, [perfect[0], reverse[0]], [perfect[1], reverse[1]])
    assert got == pytest.approx(want)
    assert isinstance(got, float)
    got_k = per_list_mean(positives_in_top_k, [perfect[0], reverse[0]],
                          [perfect[1], reverse[1]], k=2)
    assert got_k == pytest.approx((1 + 0) / 2)  # top 2: one positive, then none
    curve = per_list_mean(ndcg_curve, [perfect[0], reverse[0]], [perfect[1], reverse[1]],
                          max_m=4)
    assert curve.shape == (4,)
    np.testing.assert_allclose(curve, (1.0 + ndcg_curve(*reverse)) / 2)
    with pytest.raises(ValueError, match="different shapes"):
        per_list_mean(ndcg_curve, [perfect[0], reverse[0]], [perfect[1], reverse[1]])
    with pytest.raises(ValueError, match="same number of lists"):
        per_list_mean(mean_ndcg, [perfect[0]], [perfect[1], reverse[1]])
    with pytest.raises(ValueError, match="empty"):
        per_list_mean(mean_ndcg, [], [])


# ---------------------------------------------------------------------------------------
# retrieval top-k, hit rate, binary accuracy


def test_topk_accuracy_curve_hand_computed():
    distances = np.array([[0.1, 0.5, 0.3],
                          [0.2, 0.1, 0.9]])
    true_index = np.array([2, 2])
    # query 0: true distance 0.3, one item nearer -> rank 2; query 1: 0.9 is last -> rank 3
    np.testing.assert_allclose(
        topk_accuracy_curve(distances, true_index, [1, 2, 3], higher_is_better=False),
        [0.0, 0.5, 1.0])
    # the same as similarities
    np.testing.assert_allclose(
        topk_accuracy_curve(-distances, true_index, range(1, 4), higher_is_better=True),
        [0.0, 0.5, 1.0])
    assert topk_accuracy(distances, true_index, 2, higher_is_better=False) == 0.5
    assert topk_accuracy(distances, np.array([0, 1]), 1, higher_is_better=False) == 1.0


def test_topk_accuracy_ties_are_pessimistic():
    distances = np.array([[0.5, 0.5, 0.9]])
    # the true item (0) ties with item 1: item 1 counts as ahead -> rank 2
    assert topk_accuracy(distances, np.array([0]), 1, higher_is_better=False) == 0.0
    assert topk_accuracy(distances, np.array([0]), 2, higher_is_better=False) == 1.0
    assert topk_accuracy(distances, np.array([1]), 1, higher_is_better=False) == 0.0


def test_topk_accuracy_rejects_bad_index():
    d = np.zeros((2, 3))
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        topk_accuracy(d, np.array([0, 3]), 1, higher_is_better=False)
    with pytest.raises(ValueError, match="integers"):
        topk_accuracy(d, np.array([0.0, 1.0]), 1, higher_is_better=False)
    with pytest.raises(ValueError, match="k must be an integer >= 1"):
        topk_accuracy(d, np.array([0, 1]), 0, higher_is_better=False)
    with pytest.raises(ValueError, match="ks is empty"):
        topk_accuracy_curve(d, np.array([0, 1]), [], higher_is_better=False)


def test_hit_rate_hand_computed_and_ties():
    pos = np.array([0.9, 0.5, 0.2])
    neg = np.array([[0.1, 0.2], [0.6, 0.4], [0.3, 0.8]])
    # negatives ahead of the positive: 0, 1, 2 -> ranks 1, 2, 3
    np.testing.assert_allclose(hit_rate_at_k(pos, neg, [1, 2, 3]), [1 / 3, 2 / 3, 1.0])
    np.testing.assert_allclose(hit_rate_at_k(-pos, -neg, [1, 2, 3], higher_is_better=False),
                               [1 / 3, 2 / 3, 1.0])
    # distances: query 0's positive (0.1) is nearest -> rank 1; query 1's (0.5) is last -> rank 3
    d_pos, d_neg = np.array([0.1, 0.5]), np.array([[0.2, 0.3], [0.1, 0.2]])
    np.testing.assert_allclose(hit_rate_at_k(d_pos, d_neg, [1, 2, 3], higher_is_better=False),
                               [0.5, 0.5, 1.0])
    assert hit_rate_at_k(pos, neg, 1).shape == (1,)
    # a negative tied with the positive ranks ahead of it
    np.testing.assert_allclose(hit_rate_at_k(np.array([0.5]), np.array([[0.5, 0.1]]), [1, 2]),
                               [0.0, 1.0])


def test_hit_rate_of_random_scores_is_near_chance():
    rng = np.random.default_rng(0)
    pos, neg = rng.normal(size=20_000), rng.normal(size=(20_000, 9))
    # chance = k / (n + 1) = k / 10
    np.testing.assert_allclose(hit_rate_at_k(pos, neg, [1, 5]), [0.1, 0.5], atol=0.015)


def test_binary_accuracy_hand_computed():
    pos = np.array([0.9, 0.2, 0.5])
    neg = np.array([0.1, 0.3, 0.5])
    # win, loss, tie (half) -> 1.5 / 3
    assert binary_accuracy(pos, neg) == pytest.approx(0.5)
    # as distances the wins and losses swap, the tie stays half: 1.5 / 3
    assert binary_accuracy(pos, neg, higher_is_better=False) == pytest.approx(0.5)
    assert binary_accuracy(np.array([1.0]), np.array([0.0])) == 1.0
    # distances: the positive is nearer (0.1 < 0.9) -> right
    assert binary_accuracy(np.array([0.1]), np.array([0.9]), higher_is_better=False) == 1.0
    # several negatives per query: (1 + 0.5) / 2 and (0 + 1) / 2 -> mean 0.625
    assert binary_accuracy(np.array([0.5, 0.5]),
                           np.array([[0.1, 0.5], [0.9, 0.1]])) == pytest.approx(0.625)


# ---------------------------------------------------------------------------------------
# graded nDCG (Sadeh et al. 2019)


def test_graded_ndcg_wikipedia_example_with_pool():
    ranked = np.array([3, 2, 3, 0, 1, 2])
    pool = np.array([3, 2, 3, 0, 1, 2, 3, 2])  # two more candidates not returned
    # DCG@6 = 6.861; ideal from the pool's top 6 (3, 3, 3, 2, 2, 2): 8.740 -> 0.785
    dcg = 3 + 2 / L3 + 3 / 2 + 0 + 1 / L6 + 2 / L7
    ideal = 3 + 3 / L3 + 3 / 2 + 2 / L5 + 2 / L6 + 2 / L7
    assert graded_ndcg(ranked, pool) == pytest.approx(dcg / ideal)
    assert graded_ndcg(ranked, pool) == pytest.approx(0.785, abs=1e-3)
    # without a pool, the ideal is the best order of the returned items (3, 3, 2, 2, 1, 0)
    own = 3 + 3 / L3 + 2 / 2 + 2 / L5 + 1 / L6 + 0
    assert graded_ndcg(ranked) == pytest.approx(dcg / own)
    # k = 2: (3 + 2/log2 3) / (3 + 3/log2 3)
    assert graded_ndcg(ranked, pool, k=2) == pytest.approx((3 + 2 / L3) / (3 + 3 / L3))


def test_graded_ndcg_edge_cases():
    assert graded_ndcg(np.array([0.9, 0.5, 0.1])) == pytest.approx(1.0)  # sorted -> perfect
    assert graded_ndcg(np.zeros(3)) == 0.0
    with pytest.raises(ValueError, match="must include the ranked items"):
        graded_ndcg(np.array([1.0, 1.0]), ideal_relevance=np.array([0.2, 0.1, 0.0]))
    with pytest.raises(ValueError, match=">= 0"):
        graded_ndcg(np.array([0.5, -0.1]))


def test_mm_ndcg_is_geometric_mean():
    assert mm_ndcg(0.64, 0.25) == pytest.approx(0.4)  # sqrt(0.16)
    np.testing.assert_allclose(mm_ndcg(np.array([1.0, 0.81]), np.array([0.0, 1.0])), [0.0, 0.9])
    with pytest.raises(ValueError):
        mm_ndcg(-0.1, 0.5)


# ---------------------------------------------------------------------------------------
# bad shapes and values


@pytest.mark.parametrize("call, match", [
    (lambda: fitb_accuracy(np.zeros(4), np.array([0])), "2-D"),
    (lambda: fitb_accuracy(np.zeros((3, 4)), np.array([0, 1])), "same length"),
    (lambda: auc(np.zeros((2, 2)), np.array([0, 1])), "1-D"),
    (lambda: auc(np.zeros(3), np.array([0, 1])), "same length"),
    (lambda: ndcg_at_m(np.zeros(3), np.array([0, 1]), 1), "same length"),
    (lambda: ndcg_at_m(np.zeros(2), np.array([0, 1]), 0), "m must be an integer >= 1"),
    (lambda: ndcg_at_m(np.zeros(2), np.array([-1, 1]), 1), ">= 0"),
    (lambda: ndcg_curve(np.array([]), np.array([])), "empty"),
    (lambda: mean_ndcg(np.array([np.nan, 1.0]), np.array([0, 1])), "NaN"),
    (lambda: positives_in_top_k(np.zeros((2, 2)), np.zeros((2, 2)), 1), "1-D"),
    (lambda: topk_accuracy_curve(np.zeros(3), np.array([0]), [1], True), "2-D"),
    (lambda: topk_accuracy_curve(np.zeros((2, 3)), np.array([0]), [1], True), "same length"),
    (lambda: hit_rate_at_k(np.zeros(2), np.zeros((3, 4)), [1]), "same length"),
    (lambda: hit_rate_at_k(np.zeros((2, 1)), np.zeros((2, 4)), [1]), "1-D"),
    (lambda: binary_accuracy(np.zeros(2), np.zeros((2, 2, 2))), "2-D"),
    (lambda: graded_ndcg(np.zeros((2, 2))), "1-D"),
    (lambda: dcg_at(np.zeros((2, 2)), 1), "1-D"),
])
def test_bad_inputs_raise_value_error_naming_the_problem(call, match):
    with pytest.raises(ValueError, match=match):
        call()
