"""Task builders on a FashionWorld, each with its oracle (Bayes-optimal score) and chance.

Evaluation records hold item ids, but FashionWorld ids are assigned in a random order and
candidates are shuffled, so ids reveal nothing about the answer. Oracles use the generator's
exact likelihoods (``World.log_prob``) unless documented otherwise.
"""

from __future__ import annotations

import warnings

import numpy as np

from fashionrec.records import (CompatibilityExample, ConsumerPhoto, CTLTriplet, FITBQuestion, MultimodalQuery,
                      RankingList, Scene)
from .vocab import COLORS, MATERIALS, PATTERNS
from .world import World

C2S_CATEGORIES = ("dresses", "skirts", "tops", "bottoms")


# ----- fill in the blank (Han et al. 2017) -------------------------------------------------------
def fitb_questions(world: World, split: str, n: int, negatives: str = "type",
                   n_candidates: int = 4, seed: int = 0) -> list[FITBQuestion]:
    """FITB from the split's outfits: blank one item; negatives are random items of the split's pool
    (``"random"``, Han et al.'s original protocol) or of the blank's category (``"type"``)."""
    if negatives not in ("random", "type"):
        raise ValueError(f"negatives must be 'random' or 'type', not {negatives!r}")
    rng = np.random.default_rng(seed)
    pool = world.pools[split]
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
def compatibility_examples(world: World, split: str, n: int | None = None, seed: int = 0) -> list[CompatibilityExample]:
    """The split's outfits (label 1) and as many random combinations of the split's items (label 0)."""
    rng = np.random.default_rng(seed)
    model = world.models[split]
    positives = _pick(world.outfits[split], n or len(world.outfits[split]), rng)
    examples = [CompatibilityExample(o.item_ids, 1) for o in positives]
    for _ in positives:
        seq = model.sample(rng, None)
        examples.append(CompatibilityExample(tuple(model.items[j].item_id for j in seq), 0))
    order = rng.permutation(len(examples))
    return [examples[k] for k in order]


def compatibility_oracle(world: World, examples: list[CompatibilityExample], split: str) -> np.ndarray:
    """Likelihood ratio log P(outfit) - log P_rand(outfit): the Bayes-optimal compatibility score."""
    return np.array([world.log_prob(e.item_ids, split) - world.log_prob_random(e.item_ids, split)
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
                     seed: int = 0) -> tuple[list[ConsumerPhoto], list[str]]:
    """Street photos of the split's shop items (the queries) and the shop gallery's item ids,
    with look-alike distractors added to the gallery when ``lookalikes``."""
    rng = np.random.default_rng(seed)
    shop = [i for i in world.pools[split] if c2s_category(world, i)]
    photos = [ConsumerPhoto(f"{split}-{i}-p{k}", i, c2s_category(world, i))
              for i in shop for k in range(photos_per_item)]
    gallery = list(shop)
    if lookalikes:
        gallery += sorted(world.with_lookalikes(shop, rng))
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
def make_scenes(world: World, split: str, n: int, size: int = 128, seed: int = 0) -> tuple[list[Scene], np.ndarray]:
    """Scenes of ``n`` of the split's outfits worn by a figure, with their boxes, and the images."""
    from .scene import render_scene

    rng = np.random.default_rng(seed)
    scenes, images = [], []
    for k, outfit in enumerate(_pick(world.outfits[split], n, rng)):
        image, boxes = render_scene([world.items[i] for i in outfit.item_ids],
                                    [world.render_seeds[i] for i in outfit.item_ids], int(rng.integers(2**31)), size)
        scenes.append(Scene(f"{split}-s{k:05d}", outfit.item_ids, tuple(tuple(b) for b in boxes)))
        images.append(image)
    return scenes, np.stack(images)


def ctl_triplets(world: World, split: str, scenes: list[Scene], seed: int = 0) -> list[CTLTriplet]:
    """One (scene, removed product, negative) triplet per scene. Negatives share the product's category
    (its sub-category for bags and accessories, whose body place tells the kind); a scene whose product
    has no such item left in the pool gets no triplet."""
    rng = np.random.default_rng(seed)
    pool = world.pools[split]
    triplets = []
    for scene in scenes:
        t = int(rng.integers(len(scene.item_ids)))
        pos = world.items[scene.item_ids[t]]
        key = "subcategory" if pos.category in ("bag", "accessory") else "category"
        options = [i for i in pool if getattr(world.items[i], key) == getattr(pos, key) and i not in scene.item_ids]
        if not options:  # a tiny pool may hold no other item of that kind: no triplet for this scene
            continue
        neg = options[rng.integers(len(options))]
        triplets.append(CTLTriplet(scene.scene_id, pos.item_id, neg, pos.category, scene.boxes[t]))
    return triplets


def ctl_oracle(world: World, triplets: list[CTLTriplet], scenes: list[Scene], split: str,
               candidates: str = "negative") -> np.ndarray:
    """log P(the scene's other items + candidate) for each triplet's positive or negative product.

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
    """Image + request: add a pattern or material, remove one, or replace a colour. ``relevant`` =
    items of the same sub-category whose metadata satisfies the request."""
    rng = np.random.default_rng(seed)
    pool = [world.items[i] for i in world.pools[split]]
    queries: list[MultimodalQuery] = []
    for attempt in range(1000 * n + 1000):  # bounded: a pool with no answerable request must not hang
        if len(queries) == n:
            break
        q = pool[rng.integers(len(pool))]
        kind = ("add", "remove", "replace")[len(queries) % 3]
        if kind == "replace":
            wanted = (COLORS[rng.integers(len(COLORS))],)
            unwanted = (q.colors[0],)
        elif kind == "add":
            attr = PATTERNS[1:] if rng.random() < 0.5 else MATERIALS
            wanted, unwanted = (attr[rng.integers(len(attr))],), ()
        else:
            wanted, unwanted = (), ((q.pattern,) if q.pattern != "solid" else (q.colors[-1],))
        if set(wanted) & set(_words(q)) or set(unwanted) - set(_words(q)):
            continue  # a request must change something
        relevant = tuple(it.item_id for it in pool if it.subcategory == q.subcategory and it.item_id != q.item_id
                         and set(wanted) <= set(_words(it)) and not set(unwanted) & set(_words(it)))
        if relevant:
            queries.append(MultimodalQuery(f"{split}-q{len(queries):04d}", q.item_id, kind, wanted, unwanted, relevant))
    if len(queries) < n:
        raise ValueError(f"multimodal_queries({split!r}): only {len(queries)} of {n} answerable requests in "
                         f"{attempt + 1} draws from a pool of {len(pool)} items; use a larger world or fewer queries")
    return queries


def _words(item) -> tuple[str, ...]:
    """An item's metadata words: colours, pattern, material (what T-nDCG checks)."""
    return (*item.colors, item.pattern, item.material)


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
