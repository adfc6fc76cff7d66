"""Evaluation metrics of the five papers: pure functions on scores and labels.

Every function takes scores (or distances) and labels as NumPy arrays and returns a float or
an array, never item ids (ids could leak answers). NaN scores raise a ValueError.

Ties in the scores are handled by one rule per kind of metric, so a model that gives every
item the same score never looks better than it is, and the order the data loader lists the
items in never matters:

- top-k / hit metrics (``fitb_accuracy``, ``topk_accuracy[_curve]``, ``hit_rate_at_k``):
  **pessimistic**, an item tied with the right one is counted as ranked ahead of it.
- pairwise metrics (``auc``, ``binary_accuracy``): a tied pair counts **half**.
- NDCG and ``positives_in_top_k``: **averaged** over the tie group, i.e. the expected value
  under a uniformly random order inside each group of equal scores (McSherry & Najork 2008;
  the same rule as ``sklearn.metrics.ndcg_score`` with ``ignore_ties=False``).

NDCG uses linear gains (gain = relevance, as sklearn does, not ``2**rel - 1``) and one of two
discounts for the item at 1-based rank i: ``"standard"`` = 1 / log2(i + 1), and
``"fashionnet"`` = 1 / log2(max(2, i)), He & Hu 2018's definition, where ranks 1 and 2
count equally. Tables should say which one they use.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

DISCOUNTS: tuple[str, ...] = ("standard", "fashionnet")


# ---------------------------------------------------------------------------------------
# input checks


def _as_1d(name: str, x: Any, *, allow_empty: bool = False) -> np.ndarray:
    arr = np.asarray(x)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D; got shape {arr.shape}")
    if not allow_empty and arr.size == 0:
        raise ValueError(f"{name} is empty; expected at least one value")
    return arr


def _as_2d(name: str, x: Any) -> np.ndarray:
    arr = np.asarray(x)
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} must be 2-D with non-zero sides; got shape {arr.shape}")
    return arr


def _check_scores(name: str, arr: np.ndarray) -> np.ndarray:
    arr = arr.astype(float, copy=False)
    if np.isnan(arr).any():
        raise ValueError(f"{name} contains NaN; scores must be comparable numbers")
    return arr


def _check_same_length(a_name: str, a: np.ndarray, b_name: str, b: np.ndarray) -> None:
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"{a_name} and {b_name} must have the same length; "
                         f"got {a.shape} and {b.shape}")


def _check_relevance(name: str, rel: np.ndarray) -> np.ndarray:
    rel = rel.astype(float, copy=False)
    if not np.isfinite(rel).all() or (rel < 0).any():
        raise ValueError(f"{name} must be finite and >= 0 (NDCG is not bounded otherwise); "
                         f"got min {np.min(rel)}; clip similarities with np.clip(x, 0, None)")
    return rel


def _check_k(name: str, k: Any) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"{name} must be an integer >= 1; got {k!r}")
    return int(k)


def _check_ks(ks: Iterable[int] | int) -> list[int]:
    ks_list = [ks] if isinstance(ks, (int, np.integer)) else list(ks)
    if not ks_list:
        raise ValueError("ks is empty; expected at least one k >= 1")
    return [_check_k("each k in ks", k) for k in ks_list]


def _discounts(n: int, discount: str) -> np.ndarray:
    """Discount of 1-based ranks 1..n."""
    ranks = np.arange(1, n + 1, dtype=float)  # (n,)
    if discount == "standard":
        return 1.0 / np.log2(ranks + 1.0)
    if discount == "fashionnet":
        return 1.0 / np.log2(np.maximum(2.0, ranks))
    raise ValueError(f"unknown discount {discount!r}; expected one of {', '.join(DISCOUNTS)}")


def _tie_averaged_gains(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Gains in ranked order (score descending), each replaced by the mean of its tie group."""
    order = np.argsort(-scores, kind="stable")  # (n,)
    ranked_scores, ranked_gains = scores[order], labels[order]
    _, group, counts = np.unique(-ranked_scores, return_inverse=True, return_counts=True)
    group_sums = np.bincount(group, weights=ranked_gains)
    return (group_sums / counts)[group]  # (n,)


def _ranking_inputs(scores: Any, labels: Any) -> tuple[np.ndarray, np.ndarray]:
    scores = _check_scores("scores", _as_1d("scores", scores))
    labels = _check_relevance("labels", _as_1d("labels", labels))
    _check_same_length("scores", scores, "labels", labels)
    return scores, labels


# ---------------------------------------------------------------------------------------
# Han et al. 2017 (Bi-LSTM): fill in the blank, compatibility AUC


def fitb_accuracy(scores: np.ndarray, answers: np.ndarray) -> float:
    """Fill-in-the-blank accuracy: share of questions whose top-scored candidate is right.

    Han et al. 2017, Sec. 4.2. Takes scores only, never item or set ids (ids leak answers).
    Ties are pessimistic: a question counts as right only if the right candidate scores
    strictly higher than every other candidate.

    Args:
        scores: (Q, C) score of each of C candidates for Q questions; higher is better
            (for the Bi-LSTM, pass minus the loss of each completed outfit).
        answers: (Q,) index of the right candidate.

    Returns:
        Accuracy in [0, 1].
    """
    scores = _check_scores("scores", _as_2d("scores", scores))
    answers = _as_1d("answers", answers)
    _check_same_length("scores", scores, "answers", answers)
    return topk_accuracy(scores, answers, 1, higher_is_better=True)


def chance_fitb(n_candidates: int) -> float:
    """Accuracy of a random guess among ``n_candidates`` (1/4 for Han et al.'s FITB)."""
    return 1.0 / _check_k("n_candidates", n_candidates)


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve, via ``sklearn.metrics.roc_auc_score``; ties count half.

    Han et al. 2017, Sec. 4.2 (compatible vs. incompatible outfits); He & Hu 2018 (per user);
    Kang et al. 2019 (scene with positive vs. negative product).

    Args:
        scores: (N,) score of each example; higher means "more likely positive".
        labels: (N,) 1 for positive, 0 for negative (bools are fine).

    Returns:
        AUC in [0, 1]; 0.5 is chance.
    """
    scores = _check_scores("scores", _as_1d("scores", scores))
    labels = _as_1d("labels", labels)
    _check_same_length("scores", scores, "labels", labels)
    values = set(np.unique(labels).tolist())
    if not values <= {0, 1}:
        raise ValueError(f"labels must be 0/1; got values {sorted(values)}")
    if len(values) < 2:
        raise ValueError(f"AUC needs both positives and negatives; labels are all "
                         f"{values.pop()} ({labels.size} examples)")
    return float(roc_auc_score(labels.astype(int), scores))


compatibility_auc = auc  # the name the style guide's chapter example uses


# ---------------------------------------------------------------------------------------
# He & Hu 2018 (FashionNet): NDCG@m, mean NDCG, positives in the top k


def dcg_at(relevance_sorted: np.ndarray, m: int, discount: str = "standard") -> float:
    """Discounted cumulative gain of the first ``m`` items of a ranked list.

    DCG@m = sum_{i=1..m} rel_i * d(i), with d(i) = 1/log2(i + 1) (``"standard"``) or
    1/log2(max(2, i)) (``"fashionnet"``, He & Hu 2018). A list shorter than m is summed whole.

    Args:
        relevance_sorted: (n,) relevance of the items in ranked order (best first), >= 0.
        m: cut-off, >= 1.
        discount: ``"standard"`` or ``"fashionnet"``.

    Returns:
        DCG@m.
    """
    rel = _check_relevance("relevance_sorted",
                           _as_1d("relevance_sorted", relevance_sorted, allow_empty=True))
    rel = rel[: _check_k("m", m)]  # (min(m, n),)
    return float(np.dot(rel, _discounts(rel.size, discount)))


def ndcg_curve(scores: np.ndarray, labels: np.ndarray, max_m: int | None = None,
               discount: str = "standard") -> np.ndarray:
    """NDCG@m for m = 1..max_m of one ranked list (one user's test outfits).

    He & Hu 2018, Sec. 4 (evaluation). Items are ranked by score, highest first; items with
    equal scores share their tie group's mean gain (see the module docstring). The ideal DCG
    ranks the labels themselves, highest first. A list whose labels are all 0 has NDCG 0 at
    every m (sklearn's convention).

    Args:
        scores: (n,) score of each item; higher is better.
        labels: (n,) relevance, binary (1 = the user's outfit, 0 = negative) or graded, >= 0.
        max_m: last cut-off; defaults to n. For m > n, NDCG@m equals NDCG@n.
        discount: ``"standard"`` (1/log2(i + 1)) or ``"fashionnet"`` (1/log2(max(2, i))).

    Returns:
        (max_m,) array whose entry m - 1 is NDCG@m.
    """
    scores, labels = _ranking_inputs(scores, labels)
    n = scores.size
    max_m = n if max_m is None else _check_k("max_m", max_m)
    disc = _discounts(n, discount)  # (n,)
    dcg = np.cumsum(_tie_averaged_gains(scores, labels) * disc)  # (n,) DCG@1..n
    ideal = np.cumsum(np.sort(labels)[::-1] * disc)  # (n,) ideal DCG@1..n
    with np.errstate(invalid="ignore", divide="ignore"):
        curve = np.where(ideal > 0, dcg / np.where(ideal > 0, ideal, 1.0), 0.0)
    if max_m > n:
        curve = np.concatenate([curve, np.full(max_m - n, curve[-1])])
    return curve[:max_m]


def ndcg_at_m(scores: np.ndarray, labels: np.ndarray, m: int,
              discount: str = "standard") -> float:
    """NDCG@m = DCG@m / ideal DCG@m of one ranked list; see ``ndcg_curve``.

    He & Hu 2018, Sec. 4. With ``discount="standard"`` this equals
    ``sklearn.metrics.ndcg_score(labels[None], scores[None], k=m)``, ties included.

    Args:
        scores: (n,) score of each item; higher is better.
        labels: (n,) relevance >= 0, binary or graded.
        m: cut-off, >= 1.
        discount: ``"standard"`` or ``"fashionnet"``.

    Returns:
        NDCG@m in [0, 1].
    """
    return float(ndcg_curve(scores, labels, max_m=_check_k("m", m), discount=discount)[-1])


def mean_ndcg(scores: np.ndarray, labels: np.ndarray, discount: str = "standard") -> float:
    """Mean NDCG of one list: the mean of NDCG@m over m = 1..n (He & Hu 2018, Sec. 4).

    The paper uses ``discount="fashionnet"``; average over users with ``per_list_mean``.

    Args:
        scores: (n,) score of each item; higher is better.
        labels: (n,) relevance >= 0.
        discount: ``"standard"`` or ``"fashionnet"``.

    Returns:
        Mean NDCG in [0, 1].
    """
    return float(np.mean(ndcg_curve(scores, labels, discount=discount)))


def positives_in_top_k(scores: np.ndarray, labels: np.ndarray, k: int) -> float:
    """Number of positives (label > 0) among the k highest-scored items (He & Hu 2018).

    Ties are averaged like NDCG's: when a group of equal scores straddles the cut-off, it
    contributes its share of positives times the number of its places inside the top k, so
    the result is the expected count under random tie-breaking. Without such a tie it is a
    whole number (returned as a float, like the paper's mean over users).

    Args:
        scores: (n,) score of each item; higher is better.
        labels: (n,) relevance; > 0 counts as positive.
        k: cut-off, >= 1; a list shorter than k is counted whole.

    Returns:
        Count in [0, k].
    """
    scores, labels = _ranking_inputs(scores, labels)
    gains = _tie_averaged_gains(scores, (labels > 0).astype(float))  # (n,)
    return float(gains[: _check_k("k", k)].sum())


def per_list_mean(metric_fn: Callable[..., Any], score_lists: Sequence[np.ndarray],
                  label_lists: Sequence[np.ndarray], **kw: Any) -> float | np.ndarray:
    """Average a per-list metric over lists (users), as He & Hu 2018 average over users.

    Example: ``per_list_mean(mean_ndcg, scores_by_user, labels_by_user, discount="fashionnet")``.
    Lists may have different lengths. If ``metric_fn`` returns arrays (``ndcg_curve``), they
    are averaged element-wise; pass ``max_m`` so they have the same length.

    Args:
        metric_fn: ``f(scores, labels, **kw)`` for one list.
        score_lists: U score arrays.
        label_lists: U label arrays, same lengths as the score arrays.
        **kw: passed to ``metric_fn``.

    Returns:
        Mean over the U lists (a float, or an array for array-valued metrics).
    """
    if len(score_lists) != len(label_lists):
        raise ValueError(f"score_lists and label_lists must hold the same number of lists; "
                         f"got {len(score_lists)} and {len(label_lists)}")
    if len(score_lists) == 0:
        raise ValueError("score_lists is empty; expected at least one list")
    values = [np.asarray(metric_fn(s, l, **kw), dtype=float)
              for s, l in zip(score_lists, label_lists)]
    shapes = {v.shape for v in values}
    if len(shapes) > 1:
        raise ValueError(f"{getattr(metric_fn, '__name__', 'metric_fn')} returned values of "
                         f"different shapes {sorted(shapes)}; for ndcg_curve pass max_m")
    mean = np.mean(np.stack(values), axis=0)
    return float(mean) if mean.ndim == 0 else mean


# ---------------------------------------------------------------------------------------
# Consumer-to-shop retrieval (Menezes & Kanitkar 2018) and Complete the Look (Kang et al.)


def topk_accuracy_curve(distances_or_scores: np.ndarray, true_index: np.ndarray,
                        ks: Iterable[int], higher_is_better: bool) -> np.ndarray:
    """Top-k retrieval accuracy for each k: share of queries whose true item is in the top k.

    Menezes & Kanitkar 2018 (consumer-to-shop, k = 1..50, headline k = 20). Ties are
    pessimistic: every gallery item that scores as well as the true item counts as ranked
    ahead of it, so the true item's rank is 1 + the number of other items at least as good.

    Args:
        distances_or_scores: (Q, G) distance (``higher_is_better=False``) or score
            (``higher_is_better=True``) between each of Q queries and each of G gallery items.
        true_index: (Q,) column of each query's true gallery item.
        ks: cut-offs, each >= 1 (e.g. ``range(1, 51)``).
        higher_is_better: True for similarities/scores, False for distances.

    Returns:
        (len(ks),) accuracy in [0, 1] for each k.
    """
    x = _check_scores("distances_or_scores", _as_2d("distances_or_scores", distances_or_scores))
    true_index = _as_1d("true_index", true_index)
    _check_same_length("distances_or_scores", x, "true_index", true_index)
    if not np.issubdtype(true_index.dtype, np.integer):
        raise ValueError(f"true_index must hold integers; got dtype {true_index.dtype}")
    if true_index.min() < 0 or true_index.max() >= x.shape[1]:
        raise ValueError(f"true_index must lie in [0, {x.shape[1]}) (the gallery size); "
                         f"got min {true_index.min()}, max {true_index.max()}")
    ks_list = _check_ks(ks)
    goodness = x if higher_is_better else -x  # (Q, G), higher is better
    true_goodness = goodness[np.arange(x.shape[0]), true_index]  # (Q,)
    ahead = (goodness >= true_goodness[:, None]).sum(axis=1) - 1  # (Q,) others at least as good
    return np.array([np.mean(ahead < k) for k in ks_list], dtype=float)


def topk_accuracy(distances_or_scores: np.ndarray, true_index: np.ndarray, k: int,
                  higher_is_better: bool) -> float:
    """Top-k retrieval accuracy for one k; see ``topk_accuracy_curve`` (ties pessimistic)."""
    return float(topk_accuracy_curve(distances_or_scores, true_index, [_check_k("k", k)],
                                     higher_is_better)[0])


def _pos_neg(pos_scores: Any, neg_scores: Any, higher_is_better: bool,
             ) -> tuple[np.ndarray, np.ndarray]:
    pos = _check_scores("pos_scores", _as_1d("pos_scores", pos_scores))
    neg = np.asarray(neg_scores)
    if neg.ndim == 1:
        neg = neg[:, None]
    neg = _check_scores("neg_scores", _as_2d("neg_scores", neg))  # (Q, n)
    _check_same_length("pos_scores", pos, "neg_scores", neg)
    return (pos, neg) if higher_is_better else (-pos, -neg)


def hit_rate_at_k(pos_scores: np.ndarray, neg_scores: np.ndarray, ks: Iterable[int] | int,
                  *, higher_is_better: bool = True) -> np.ndarray:
    """Hit rate at k: share of queries whose positive ranks in the top k among it + n negatives.

    Kang et al. 2019 (Complete the Look), top-k accuracy against n sampled negatives of the
    product's category. Ties are pessimistic: a negative scored equal to the positive ranks
    ahead of it. Chance is k / (n + 1).

    Args:
        pos_scores: (Q,) score of each query's true product.
        neg_scores: (Q, n) scores of its n negatives ((Q,) is read as n = 1).
        ks: cut-offs, each >= 1 (an int for one k).
        higher_is_better: pass False for distances (CTL's d = (d_g + d_l) / 2).

    Returns:
        (len(ks),) hit rate in [0, 1] for each k.
    """
    pos, neg = _pos_neg(pos_scores, neg_scores, higher_is_better)
    ks_list = _check_ks(ks)
    ahead = (neg >= pos[:, None]).sum(axis=1)  # (Q,) negatives at least as good
    return np.array([np.mean(ahead < k) for k in ks_list], dtype=float)


def binary_accuracy(pos_scores: np.ndarray, neg_scores: np.ndarray, *,
                    higher_is_better: bool = True) -> float:
    """Share of (positive, negative) pairs where the positive scores higher; ties count half.

    Kang et al. 2019 (Complete the Look): a triplet (scene, positive, negative) is right when
    the scene is closer to the positive. Pairs are formed within each query only (AUC, by
    contrast, compares every positive with every negative).

    Args:
        pos_scores: (Q,) score of each query's positive.
        neg_scores: (Q,) or (Q, n) score of its negative(s).
        higher_is_better: pass False for distances.

    Returns:
        Accuracy in [0, 1]; 0.5 is chance.
    """
    pos, neg = _pos_neg(pos_scores, neg_scores, higher_is_better)
    wins = (pos[:, None] > neg).astype(float) + 0.5 * (pos[:, None] == neg)  # (Q, n)
    return float(wins.mean())


# ---------------------------------------------------------------------------------------
# Sadeh et al. 2019 (multimodal style search): graded nDCG, V-, T- and MM-nDCG


def graded_ndcg(ranked_relevance: np.ndarray, ideal_relevance: np.ndarray | None = None,
                k: int | None = None, discount: str = "standard") -> float:
    """nDCG@k of a ranked result list with graded relevance (Sadeh et al. 2019, Sec. 5).

    V-nDCG: relevance = visual cosine similarity to the query under the visual-only model;
    T-nDCG: relevance = fraction of the query's text requirements the result satisfies.
    The ideal DCG is the DCG of the k largest values of ``ideal_relevance`` (the relevance
    of the whole candidate pool the results were taken from); it defaults to
    ``ranked_relevance`` itself, i.e. the best re-ordering of the returned items.

    Args:
        ranked_relevance: (n,) relevance of the returned items in ranked order, >= 0.
        ideal_relevance: (N,) relevance of every candidate, N >= n, including the returned ones.
        k: cut-off; defaults to n.
        discount: ``"standard"`` (1/log2(i + 1)) or ``"fashionnet"``.

    Returns:
        nDCG in [0, 1]; 0 when no candidate has any relevance.
    """
    ranked = _check_relevance("ranked_relevance", _as_1d("ranked_relevance", ranked_relevance))
    k = ranked.size if k is None else _check_k("k", k)
    if ideal_relevance is None:
        pool = ranked
    else:
        pool = _check_relevance("ideal_relevance", _as_1d("ideal_relevance", ideal_relevance))
    dcg = dcg_at(ranked, k, discount)
    ideal = dcg_at(np.sort(pool)[::-1], k, discount)
    if ideal == 0.0:
        return 0.0
    if dcg > ideal * (1 + 1e-9):
        raise ValueError(f"DCG of the ranked list ({dcg:.6g}) exceeds the ideal DCG "
                         f"({ideal:.6g}); ideal_relevance must include the ranked items")
    return float(dcg / ideal)


def mm_ndcg(v_ndcg: float | np.ndarray, t_ndcg: float | np.ndarray) -> float | np.ndarray:
    """Multimodal nDCG = sqrt(V-nDCG * T-nDCG), the geometric mean (Sadeh et al. 2019)."""
    v, t = np.asarray(v_ndcg, dtype=float), np.asarray(t_ndcg, dtype=float)
    if (v < 0).any() or (t < 0).any():
        raise ValueError(f"V- and T-nDCG must be >= 0; got {v_ndcg!r} and {t_ndcg!r}")
    out = np.sqrt(v * t)
    return float(out) if out.ndim == 0 else out


# ---------------------------------------------------------------------------------------
# reporting helpers


def progress_ratio(value: float, chance: float, oracle: float) -> float:
    """Share of the way from chance to the oracle: (value - chance) / (oracle - chance).

    0 = chance, 1 = as good as the oracle (e.g. FashionWorld's ground-truth scorer);
    negative = worse than chance.
    """
    if oracle == chance:
        raise ValueError(f"oracle and chance are equal ({oracle!r}); the ratio is undefined")
    return float((value - chance) / (oracle - chance))
