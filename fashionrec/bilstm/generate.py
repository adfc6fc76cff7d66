"""Outfit generation with a trained Bi-LSTM + VSE (Han et al. 2017, Sec. 4.4): from one or several images,
image + text, and text only; and an automatic check of generated outfits against the FashionWorld oracle."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from fashionrec.bilstm.data import ItemTable, OutfitTasks, encode_texts
from fashionrec.bilstm.evaluate import embed_items, score_outfits
from fashionrec.bilstm.model import BiLSTMVSE


@torch.no_grad()
def generate_outfit(model: BiLSTMVSE, table: ItemTable, gallery: Sequence[str], seeds: Sequence[str],
                    embeddings: dict[str, Tensor] | None = None, device: torch.device | str = "cpu",
                    max_items: int = 8) -> tuple[str, ...]:
    """An outfit around the ``seeds`` (one or more query items), in category order, no category twice.

    Several seeds: first fill the gaps between them (each gap takes the gallery item of an in-between
    category that gives the lowest Bi-LSTM loss, or stays empty if that is lower). Then extend: the
    forward LSTM goes on while some later category is more likely than the stop vector; it proposes
    the most likely item of each such category, and the proposal that gives the outfit the lowest
    Bi-LSTM loss is appended. The backward LSTM then prepends items of earlier categories the same way.
    """
    model.eval()
    emb = embeddings if embeddings is not None else embed_items(model, table, gallery, device)
    x = emb["x"]
    ranks = torch.tensor(table.ranks[table.rows(gallery)], device=x.device)
    index = {i: k for k, i in enumerate(gallery)}
    seq = sorted((index[i] for i in seeds), key=lambda k: int(ranks[k]))

    def loss(rows_list: list[list[int]]) -> Tensor:  # mean Bi-LSTM loss of candidate outfits
        outfits = [tuple(gallery[k] for k in r) for r in rows_list]
        return -torch.from_numpy(score_outfits(model, table, outfits, gallery, device, embeddings=emb))

    changed = True
    while changed and len(seq) < max_items:  # fill the gaps between the query items
        changed = False
        for g in range(len(seq) - 1):
            between = torch.nonzero((ranks > ranks[seq[g]]) & (ranks < ranks[seq[g + 1]])).flatten().tolist()
            if between:
                options = [seq] + [seq[: g + 1] + [k] + seq[g + 1:] for k in between]
                best = int(loss(options).argmin())
                if best > 0:
                    seq, changed = options[best], True
                    break
    for direction in ("forward", "backward"):
        while len(seq) < max_items:
            # predict() runs the backward LSTM over the reversed outfit itself: its last step has read the
            # outfit from the end back to the first item and predicts the item before it
            pf, pb = model.predict(x[seq][None], torch.tensor([len(seq)], device=x.device))
            logits = x @ (pf if direction == "forward" else pb)[0, -1]  # (G,) next (or previous) item
            later = ranks > ranks[seq[-1]] if direction == "forward" else ranks < ranks[seq[0]]
            cats = ranks[later].unique().tolist()
            if not cats or max(float(torch.logsumexp(logits[ranks == r], 0)) for r in cats) <= 0.0:
                break  # the stop vector (logit h . 0 = 0) is more likely than any category
            best = [int(torch.where(later & (ranks == r), logits, -torch.inf).argmax()) for r in cats]
            options = [seq + [k] if direction == "forward" else [k] + seq for k in best]
            seq = options[int(loss(options).argmin())]
    return tuple(gallery[k] for k in seq)


@torch.no_grad()
def text_vector(model: BiLSTMVSE, text: str, vocab: dict[str, int], max_words: int = 16) -> Tensor:
    """v_q: the L2-normalised mean word embedding of a query text (D,)."""
    tokens = encode_texts([text], vocab, max_words).to(model.words.weight.device)
    if not bool(tokens.ne(0).any()):
        raise ValueError(f"no word of {text!r} is in the vocabulary")
    return F.normalize(model.text(tokens), dim=-1)[0]


@torch.no_grad()
def edit_with_text(table: ItemTable, gallery: Sequence[str], outfit: Sequence[str],
                   keep: Sequence[str], query: Tensor, embeddings: dict[str, Tensor],
                   text_weight: float = 2.0) -> tuple[str, ...]:
    """Image + text: replace each item f_i not in ``keep`` by argmin_f d(f, f_i + w v_q) over gallery
    items of the same category (d = cosine distance in the VSE space). The paper writes w = 1; the
    authors' code uses w = 2 ("balance_factor"), since with w = 1 the nearest item is mostly f_i itself."""
    f = F.normalize(embeddings["f"], dim=-1)
    ranks = table.ranks[table.rows(gallery)]
    index = {i: k for k, i in enumerate(gallery)}
    out = []
    for i in outfit:
        if i in keep:
            out.append(i)
            continue
        target = F.normalize(f[index[i]] + text_weight * query, dim=-1)
        same = torch.from_numpy(ranks == ranks[index[i]]).to(f.device)
        out.append(gallery[int(torch.where(same, f @ target, torch.tensor(-torch.inf, device=f.device)).argmax())])
    return tuple(out)


@torch.no_grad()
def nearest_to_text(gallery: Sequence[str], query: Tensor, embeddings: dict[str, Tensor]) -> str:
    """Text only: the gallery image closest to v_q in the VSE space (it seeds the outfit)."""
    return gallery[int((F.normalize(embeddings["f"], dim=-1) @ query).argmax())]


def generation_check(world, outfits: Sequence[tuple[str, ...]], split: str, seed: int = 0) -> dict[str, float]:
    """Automatic check of generated outfits on FashionWorld: no repeated category, share that are valid
    outfits of the world, and P(a generated outfit beats a random one) under the oracle's likelihood
    ratio log P(o) - log P_rand(o), P_rand the distribution the random outfits are drawn from
    (``tasks.negative_model``; invalid outfits score -inf; ties count half). The outfits are made of
    the gallery's items, the items of the split's outfits."""
    from fashionrec.metrics import auc
    from fashionrec.world import tasks

    negatives = tasks.negative_model(world, split)

    def oracle(o: tuple[str, ...]) -> float:
        lp = world.log_prob(o, split)
        if not np.isfinite(lp):
            return -np.inf
        if outside := [i for i in o if i not in negatives.index]:
            raise ValueError(f"generation_check: item {outside[0]!r} is in no {split} outfit (not in the gallery)")
        return float(lp - negatives.log_prob_random([negatives.index[i] for i in o]))
    repeated = sum(len({world.items[i].category for i in o}) < len(o) for o in outfits)
    randoms = [e.item_ids for e in tasks.compatibility_examples(world, split, 500, seed) if e.label == 0]
    gen = np.array([oracle(o) for o in outfits])
    scores = np.nan_to_num(np.concatenate([gen, [oracle(o) for o in randoms]]), neginf=-1e9)
    labels = np.r_[np.ones(len(gen)), np.zeros(len(randoms))]
    return {"outfits": len(outfits), "repeated_category": int(repeated), "valid": float(np.isfinite(gen).mean()),
            "beats_random": auc(scores, labels)}


@torch.no_grad()
def text_precision(model: BiLSTMVSE, data: OutfitTasks, words: Sequence[str], embeddings: dict[str, Tensor],
                   k: int = 20, max_words: int = 16) -> dict[str, float]:
    """How well the VSE reads text: for each word of ``words`` in the vocabulary, the share of the ``k``
    gallery items nearest to it in the VSE space whose shop text contains the word (FashionWorld; {} on
    real data, whose texts the check does not read)."""
    if data.world is None:
        print("(real data: the check of the VSE's text reading uses FashionWorld's texts; skipped)")
        return {}
    f = F.normalize(embeddings["f"], dim=-1)
    out = {}
    for word in words:
        if word in data.vocab:
            top = (f @ text_vector(model, word, data.vocab, max_words)).topk(k).indices.tolist()
            out[word] = float(np.mean([word in data.world.items[data.gallery[r]].text.split() for r in top]))
    return out


WORDS: tuple[str, ...] = ("floral", "leather", "office", "red", "striped", "black")  # demo text queries


@torch.no_grad()
def demo_outfits(model: BiLSTMVSE, data: OutfitTasks, embeddings: dict[str, Tensor], rng: np.random.Generator,
                 device: torch.device | str = "cpu", max_words: int = 16,
                 words: Sequence[str] = WORDS) -> list[tuple[str, tuple[str, ...], tuple[str, ...]]]:
    """The four generation modes of Sec. 4.4 on random test items: (label, query items, outfit) each.

    (a) from one image (a top, a dress, shoes), (b) from two images (a top and shoes, twice), (c) the
    outfits of (a) edited with a word, (d) from a word only (its nearest image seeds (a), then (c)).
    """
    category = dict(zip(data.table.item_ids, data.table.categories))
    by_cat = {c: [i for i in data.gallery if category[i] == c] for c in sorted(set(category.values()))}
    words = [w for w in words if w in data.vocab]
    one = [by_cat[c][rng.integers(len(by_cat[c]))] for c in ("top", "dress", "shoes") if c in by_cat]
    several = [(by_cat["top"][rng.integers(len(by_cat["top"]))],
                by_cat["shoes"][rng.integers(len(by_cat["shoes"]))])
               for _ in range(2)] if {"top", "shoes"} <= set(by_cat) else []

    def outfit(queries: Sequence[str]) -> tuple[str, ...]:
        return generate_outfit(model, data.table, data.gallery, queries, embeddings, device)

    from_one = {q: outfit([q]) for q in one}
    demos = [("(a) one image", (q,), from_one[q]) for q in one]
    demos += [("(b) two images", qs, outfit(qs)) for qs in several]
    for q, word in zip(one, words):
        v = text_vector(model, word, data.vocab, max_words)
        demos.append((f"(c) image + '{word}'", (q,),
                      edit_with_text(data.table, data.gallery, from_one[q], [q], v, embeddings)))
    for word in words[-2:]:
        v = text_vector(model, word, data.vocab, max_words)
        base = outfit([nearest_to_text(data.gallery, v, embeddings)])
        demos.append((f"(d) text '{word}'", (), edit_with_text(data.table, data.gallery, base, [], v, embeddings)))
    return demos


def check_generation(model: BiLSTMVSE, data: OutfitTasks, demos: Sequence[tuple[str, tuple[str, ...], tuple[str, ...]]],
                     embeddings: dict[str, Tensor], rng: np.random.Generator, device: torch.device | str = "cpu",
                     seed: int = 0, n: int = 100) -> dict[str, float]:
    """``generation_check`` of one outfit generated from each of ``n`` random test items (mode a) and of the
    ``demos``' outfits, against the test split's random outfits drawn with ``seed``; {} on real data."""
    if data.world is None:
        print("(real data: the check of generated outfits needs FashionWorld's oracle; skipped)")
        return {}
    starts = rng.choice(data.gallery, size=min(n, len(data.gallery)), replace=False)
    generated = [generate_outfit(model, data.table, data.gallery, [q], embeddings, device) for q in starts]
    generated += [outfit for _, _, outfit in demos]
    return generation_check(data.world, generated, "test", seed=seed)
