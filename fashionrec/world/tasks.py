"""Task builders on a FashionWorld, each with its oracle (Bayes-optimal score) and chance.

Evaluation records hold item ids, but FashionWorld ids are assigned in a random order and
candidates are shuffled, so ids reveal nothing about the answer. Oracles use the generator's
exact likelihoods (``World.log_prob``) unless documented otherwise.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Sequence

import numpy as np

from fashionrec.records import (CompatibilityExample, ConsumerPhoto, CTLTriplet, FITBQuestion, MultimodalQuery,
                      RankingList, Scene)
from .model import OutfitModel
from .world import World

C2S_CATEGORIES = ("dresses", "skirts", "tops", "bottoms")


# ----- fill in the blank (Han et al. 2017) -------------------------------------------------------
def outfit_items(world: World, split: str) -> list[str]:
    """The items of the split's outfits, in pool order: what negatives are drawn from.

    Both Polyvore datasets draw their task negatives from the items of the split's outfits (Han et al.
    2017: random items from other outfits; Vasileva et al. 2018 likewise): their task files name items
    ``<set_id>_<index>``, so an item in no outfit cannot be one. A split's pool also holds items that
    no outfit drew; they are left out.
    """
    used = {i for o in world.outfits[split] for i in o.item_ids}
    return [i for i in world.pools[split] if i in used]


def fitb_questions(world: World, split: str, n: int, negatives: str = "type",
                   n_candidates: int = 4, seed: int = 0) -> list[FITBQuestion]:
    """FITB from the split's outfits: blank one item; negatives are random items of the split's outfits
    (``"random"``, Han et al.'s original protocol) or of the blank's category (``"type"``), drawn from
    ``outfit_items`` as on both Polyvore datasets."""
    if negatives not in ("random", "type"):
        raise ValueError(f"negatives must be 'random' or 'type', not {negatives!r}")
    rng = np.random.default_rng(seed)
    pool = outfit_items(world, split)
    questions, skipped = [], 0
    for outfit in _pick(world.outfits[split], n, rng):
        t = int(rng.integers(len(outfit.item_ids)))
        answer = outfit.item_ids[t]
        if negatives == "type":
            same = [i for i in pool if world.items[i].category == world.items[answer].category]
            options = same
        else:
            options = pool
        if len(set(options) - set(outfit.item_ids)) < n_candidates - 1:  # too few to draw from (a small world)
            skipped += 1
            continue
        negs: list[str] = []
        while len(negs) < n_candidates - 1:
            i = options[rng.integers(len(options))]
            if i not in outfit.item_ids and i not in negs:
                negs.append(i)
        pos = int(rng.integers(n_candidates))
        candidates = negs[:pos] + [answer] + negs[pos:]
        context = tuple(None if k == t else i for k, i in enumerate(outfit.item_ids))
        questions.append(FITBQuestion(context, tuple(candidates), pos))
    if skipped:
        warnings.warn(f"fitb_questions({split!r}, negatives={negatives!r}): {skipped} of {skipped + len(questions)} "
                      f"blanks left out: their category has fewer than {n_candidates - 1} other items in the "
                      f"{split} pool", stacklevel=2)
    return questions


def fill(context: tuple[str | None, ...], candidate: str) -> tuple[str, ...]:
    """The outfit with ``candidate`` at the blank."""
    return tuple(candidate if i is None else i for i in context)


def fitb_oracle(world: World, questions: list[FITBQuestion], split: str) -> np.ndarray:
    """(Q, C) oracle scores: log P(context + candidate) under the generator; argmax = Bayes choice."""
    return np.array([[world.log_prob(fill(q.context, c), split) for c in q.candidates] for q in questions])


# ----- compatibility ---------------------------------------------------------------------------
def negative_model(world: World, split: str) -> OutfitModel:
    """The generator restricted to ``outfit_items``: its noisy-outfit model draws compatibility negatives."""
    return OutfitModel([world.items[i] for i in outfit_items(world, split)], world.cfg.params)


def compatibility_examples(world: World, split: str, n: int | None = None, seed: int = 0) -> list[CompatibilityExample]:
    """The split's outfits (label 1) and as many random combinations (label 0) of the items of the split's
    outfits (``negative_model``'s noisy-outfit model: random slots, uniform items), as both Polyvore
    datasets draw their negatives from the items of the split's outfits."""
    rng = np.random.default_rng(seed)
    model = negative_model(world, split)
    positives = _pick(world.outfits[split], n or len(world.outfits[split]), rng)
    examples = [CompatibilityExample(o.item_ids, 1) for o in positives]
    for _ in positives:
        seq = model.sample(rng, None)
        examples.append(CompatibilityExample(tuple(model.items[j].item_id for j in seq), 0))
    order = rng.permutation(len(examples))
    return [examples[k] for k in order]


def compatibility_oracle(world: World, examples: list[CompatibilityExample], split: str) -> np.ndarray:
    """Likelihood ratio log P(outfit) - log P_rand(outfit): the Bayes-optimal compatibility score, with
    P the split's generator (the positives') and P_rand the distribution the negatives are drawn from
    (``negative_model``'s noisy-outfit model, exact: ``OutfitModel.log_prob_random``)."""
    model = negative_model(world, split)
    return np.array([world.log_prob(e.item_ids, split) - model.log_prob_random([model.index[i] for i in e.item_ids])
                     for e in examples])


# ----- personal ranking (He & Hu 2018) ---------------------------------------------------------
def ranking_lists(world: World, split: str = "test", seed: int = 0) -> list[RankingList]:
    """Per user: their liked outfits of ``split`` plus 6x random (top, bottom, shoes) negatives."""
    rng = np.random.default_rng(seed)
    model = world.user_model
    lists = []
    for user in world.users:
        pos = world.user_outfits[user.user_id][split]
        neg = [tuple(model.items[j].item_id for j in model.sample(rng, None, slots=[0, 2, 4]))
               for _ in range(world.cfg.user_negatives_per_positive * len(pos))]
        outfits, labels = pos + neg, [1] * len(pos) + [0] * len(neg)
        order = rng.permutation(len(outfits))
        lists.append(RankingList(user.user_id, tuple(outfits[k] for k in order), tuple(labels[k] for k in order)))
    return lists


def ranking_oracle(world: World, lists: list[RankingList]) -> list[np.ndarray]:
    """Per list, log P_user(outfit): negatives are uniform, so this ranks as the likelihood ratio."""
    users = {u.user_id: u for u in world.users}
    return [np.array([world.user_log_prob(users[r.user_id], o) for o in r.outfits]) for r in lists]


# ----- consumer-to-shop (chapter 3) ------------------------------------------------------------
def c2s_category(world: World, item_id: str) -> str | None:
    """The paper's four retrieval categories: dresses, skirts, tops, bottoms (None for other items)."""
    it = world.items[item_id]
    if it.category == "dress":
        return "dresses"
    if it.subcategory == "skirt":
        return "skirts"
    return {"top": "tops", "bottom": "bottoms"}.get(it.category)


def consumer_to_shop(world: World, split: str, photos_per_item: int = 2, lookalikes: bool = True,
                     seed: int | None = None) -> tuple[list[ConsumerPhoto], list[str]]:
    """Street photos (the queries) and the shop gallery's item ids of ``split``, as in DeepFashion's
    consumer-to-shop benchmark (Liu et al., CVPR 2016): every gallery item is a product with its own
    consumer photos in the split, so every item is queried, and the hard distractors are other products.

    With ``lookalikes``, each shop item's two look-alikes (``World.with_lookalikes``, drawn with ``seed``;
    None: the world's seed, as the DeepFashion export draws them) are such products: each has a shop
    image in the gallery and ``photos_per_item`` street photos. The gallery lists the split's shop items,
    then the look-alikes in id order; the photos follow the gallery, item by item.
    """
    rng = np.random.default_rng(world.cfg.seed if seed is None else seed)
    gallery = [i for i in world.pools[split] if c2s_category(world, i)]
    if lookalikes:
        gallery += sorted(world.with_lookalikes(gallery, rng))
    photos = [ConsumerPhoto(f"{split}-{i}-p{k}", i, c2s_category(world, i))
              for i in gallery for k in range(photos_per_item)]
    return photos, gallery


def c2s_attribute_oracle(world: World, photos: list[ConsumerPhoto], gallery: list[str], ks: np.ndarray) -> np.ndarray:
    """Top-k accuracy of a recogniser that reads each photo's true attributes exactly (sub-category,
    colours, pattern, material) and ranks the gallery by how many agree, ties in random order
    (expected value). Not Bayes-optimal: it ignores shape, which look-alikes share anyway."""
    def attrs(i: str) -> tuple:
        it = world.items[i]
        return it.subcategory, frozenset(it.colors), it.pattern, it.material
    gal = {i: attrs(i) for i in gallery}
    by_cat = {c: [i for i in gallery if c2s_category(world, i) == c] for c in C2S_CATEGORIES}
    hits = np.zeros((len(photos), len(ks)))
    for q, p in enumerate(photos):
        true = gal[p.item_id]
        agree = np.array([sum(a == b for a, b in zip(true, gal[i])) for i in by_cat[p.category]])
        ties = int((agree == len(true)).sum())  # nothing beats a full match: the true item ties with these
        hits[q] = np.clip(np.asarray(ks) / ties, 0, 1)
    return hits.mean(axis=0)


# ----- Complete the Look (Kang et al. 2019) ----------------------------------------------------
def scene_id(split: str, k: int) -> str:
    """The id of the scene of the split's outfit ``k``."""
    return f"{split}-s{k:05d}"


def make_scenes(world: World, split: str, n: int, size: int = 128, seed: int = 0,
                outfits: Sequence[int] | None = None) -> tuple[list[Scene], np.ndarray]:
    """Scenes of ``n`` of the split's outfits (picked with ``seed``; or the outfits of index ``outfits``,
    in that order) worn by a figure, with their boxes (6 decimals, as STL-Fashion's fashion.json), and
    the images.

    Scene ``<split>-s<k>`` is the split's outfit k, rendered with a seed of the world and the outfit
    alone, so a scene is the same whichever scenes are made with it (the chapter and the STL export).
    """
    from .scene import render_scene

    rng = np.random.default_rng(seed)
    scenes, images = [], []
    picked = list(outfits) if outfits is not None else _pick(list(range(len(world.outfits[split]))), n, rng)
    for k in picked:
        outfit = world.outfits[split][k]
        scene_seed = int(hashlib.sha1(f"{world.cfg.seed}:{outfit.outfit_id}".encode()).hexdigest()[:8], 16)
        image, boxes = render_scene([world.items[i] for i in outfit.item_ids],
                                    [world.render_seeds[i] for i in outfit.item_ids], scene_seed, size)
        scenes.append(Scene(scene_id(split, k), outfit.item_ids, tuple(tuple(round(float(v), 6) for v in b)
                                                                         for b in boxes)))
        images.append(image)
    return scenes, np.stack(images)


def ctl_oracle(world: World, triplets: list[CTLTriplet], scenes: list[Scene], split: str,
               candidates: str = "negative") -> np.ndarray:
    """log P(the scene's other items + candidate) for each triplet's positive or negative product, under
    the generator of ``split``, the one each scene's outfit was drawn from.

    The Bayes-optimal score given the scene's remaining items (it ignores box geometry).
    """
    by_id = {s.scene_id: s for s in scenes}
    out = []
    for t in triplets:
        ids = by_id[t.scene_id].item_ids
        cand = t.positive if candidates == "positive" else t.negative
        out.append(world.log_prob(tuple(cand if i == t.positive else i for i in ids), split))
    return np.array(out)


# ----- multimodal queries (Sadeh et al. 2019) ---------------------------------------------------
def multimodal_queries(world: World, split: str, n: int, seed: int = 0) -> list[MultimodalQuery]:
    """Image + request on the split's pool, judged on the generator's attributes: add a pattern or
    material, remove one, or replace a colour, drawn by ``datasets.catalog.attribute_queries`` (the one
    rule set; ``relevant`` = items of the same sub-category that meet the request). Chapter 4 poses
    them on the attributes the items' ``styles.csv`` rows state instead (``joint_embedding.from_world``)."""
    from fashionrec.datasets.catalog import QUERY_DRAWS, attribute_queries

    pool = [world.items[i] for i in world.pools[split]]
    queries = attribute_queries(pool, n, seed)
    if len(queries) < n:
        raise ValueError(f"multimodal_queries({split!r}): only {len(queries)} of {n} answerable requests in "
                         f"{QUERY_DRAWS * n} draws from a pool of {len(pool)} items; use a larger world or fewer queries")
    return queries


def _pick(seq: list, n: int, rng: np.random.Generator) -> list:
    return [seq[k] for k in sorted(rng.choice(len(seq), size=min(n, len(seq)), replace=False))]


# ----- single-attribute baselines (is the world trivially solvable?) -----------------------------
def attribute_pmi(world: World, attr: str, split: str = "train", smoothing: float = 1.0) -> dict[tuple, float]:
    """PMI of attribute values co-occurring in the split's outfits (e.g. attr="colors").

    A baseline that sees one attribute only: how much more often two values share an outfit than
    two random items of the pool would.
    """
    def values(i: str) -> tuple:
        v = getattr(world.items[i], attr)
        return tuple(v) if isinstance(v, tuple) else (v,)
    pair, single = {}, {}
    for o in world.outfits[split]:
        for a in range(len(o.item_ids)):
            for b in range(len(o.item_ids)):
                if a != b:
                    for x in values(o.item_ids[a]):
                        for y in values(o.item_ids[b]):
                            pair[x, y] = pair.get((x, y), 0) + 1
    for i in world.pools[split]:
        for x in values(i):
            single[x] = single.get(x, 0) + 1
    n_pair, n_single = sum(pair.values()), sum(single.values())
    keys = set(single)
    return {(x, y): float(np.log((pair.get((x, y), 0) + smoothing) / (n_pair + smoothing * len(keys) ** 2))
                          - np.log(single[x] / n_single) - np.log(single[y] / n_single))
            for x in keys for y in keys}


def attribute_outfit_score(world: World, pmi: dict[tuple, float], attr: str, item_ids: tuple[str, ...]) -> float:
    """Mean pairwise PMI of an outfit's items under one attribute."""
    def values(i: str) -> tuple:
        v = getattr(world.items[i], attr)
        return tuple(v) if isinstance(v, tuple) else (v,)
    scores = [pmi.get((x, y), 0.0) for a in item_ids for b in item_ids if a != b
              for x in values(a) for y in values(b)]
    return float(np.mean(scores)) if scores else 0.0
