"""FashionWorld's outfit model: a normalised, slot-by-slot distribution over an item pool.

An outfit is drawn from a style s, slot by slot in the fixed order of ``vocab.CATEGORIES``
(top, outerwear, bottom | dress, shoes, bag, up to two accessories). Each item is drawn from a
softmax over the pool's items of that slot:

    P(i_k | s, i_<k) = exp(a_s(i_k) + r(i_k, i_<k)) / sum_j exp(a_s(j) + r(j, i_<k))

with a_s the style's affinity for the item's attributes and r the coherence rules (at most one
loud pattern, formality within a band, palette harmony). So P(outfit | s) = P(slots | s) *
prod_k P(i_k | s, i_<k) is exact, P(outfit) = (1 - eps) sum_s pi_s P(outfit | s) + eps P_rand(outfit)
with P_rand the "noisy outfit" model (uniform items), and every oracle is a likelihood (ratio).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

from fashionrec.records import Item
from .styles import HARMONY, STYLES, preference_table
from .vocab import CATEGORIES, COLORS, LOUD_PATTERNS, MATERIALS, PATTERNS, SUBCATEGORY_LIST

CAT = {c: k for k, c in enumerate(CATEGORIES)}
TOP, OUTER, BOTTOM, DRESS, SHOES, BAG, ACC = range(len(CATEGORIES))


@dataclass(frozen=True)
class ModelParams:
    """Strengths of the terms of the item score; tuned so oracles sit well below 100 %."""

    favour: float = 6.0  # weight of a style's preferred value over the others
    beta: float = 1.0  # scale of the style affinity a_s
    formality_sd: float = 0.15  # style's formality band (affinity term)
    loud_penalty: float = 3.0  # second loud pattern in an outfit
    band_sd: float = 0.15  # formality within a band: sd around the outfit's mean so far
    harmony: float = 1.5  # palette harmony weight
    noise: float = 0.15  # fraction of noisy (random) outfits


class OutfitModel:
    """The generator restricted to one item pool (a split's items), with exact log-probabilities."""

    def __init__(self, items: list[Item], params: ModelParams = ModelParams()):
        self.items = items
        self.params = p = params
        self.index = {it.item_id: k for k, it in enumerate(items)}
        n = len(items)
        self.cat = np.array([CAT[it.category] for it in items])
        self.sub = np.array([SUBCATEGORY_LIST.index(it.subcategory) for it in items])
        self.col = np.zeros((n, len(COLORS)))
        for k, it in enumerate(items):
            for c in it.colors:
                self.col[k, COLORS.index(c)] += 1 / len(it.colors)
        self.loud = np.array([it.pattern in LOUD_PATTERNS for it in items], dtype=float)
        self.form = np.array([it.formality for it in items], dtype=float)
        pat = np.array([PATTERNS.index(it.pattern) for it in items])
        mat = np.array([MATERIALS.index(it.material) for it in items])
        style_form = np.array([s.formality for s in STYLES])[:, None]
        self.affinity = p.beta * (                                      # (S, n): a_s(i)
            preference_table("colors", COLORS, p.favour) @ self.col.T
            + preference_table("patterns", PATTERNS, p.favour)[:, pat]
            + preference_table("materials", MATERIALS, p.favour)[:, mat]
            + preference_table("subcategories", SUBCATEGORY_LIST, p.favour)[:, self.sub]
            - (self.form[None, :] - style_form) ** 2 / (2 * p.formality_sd**2)
        )
        self.by_cat = [np.flatnonzero(self.cat == c) for c in range(len(CATEGORIES))]
        self.log_pi = np.full(len(STYLES), -np.log(len(STYLES)))
        # each style's slot odds, and the noisy-outfit model's: the styles' average (built once: hot loops use them)
        self.style_slots = _SlotOdds.per_style()
        self.rand_slots = _SlotOdds.average()

    # ----- one step -------------------------------------------------------------------------
    def candidates(self, slot: int, prev: list[int]) -> np.ndarray:
        """Pool indices allowed at ``slot`` after ``prev`` (a second accessory differs in kind)."""
        cand = self.by_cat[slot]
        if slot == ACC:
            taken = {self.sub[j] for j in prev if self.cat[j] == ACC}
            if taken:
                cand = cand[~np.isin(self.sub[cand], list(taken))]
        if len(cand) == 0:
            raise ValueError(f"the item pool has no {CATEGORIES[slot]} left to choose from")
        return cand

    def coherence(self, cand: np.ndarray, prev: list[int]) -> np.ndarray:
        """r(i, i_<k): the coherence rules, independent of the style."""
        if not prev:
            return np.zeros(len(cand))
        p = self.params
        prev = np.asarray(prev)
        r = -p.loud_penalty * self.loud[cand] * float(self.loud[prev].max())
        r = r - (self.form[cand] - self.form[prev].mean()) ** 2 / (2 * p.band_sd**2)
        r = r + p.harmony * self.col[cand] @ HARMONY @ self.col[prev].mean(axis=0)
        return r

    def step_log_probs(self, slot: int, prev: list[int], extra: np.ndarray | None = None,
                       style: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(candidates, (S, n_cand) log P(candidate | s, prev)); ``extra`` adds a per-item term.

        With ``style`` given, only that style's row (1, n_cand) is computed.
        """
        cand = self.candidates(slot, prev)
        rows = self.affinity if style is None else self.affinity[style : style + 1]
        logits = rows[:, cand] + self.coherence(cand, prev)[None, :]
        if extra is not None:
            logits = logits + extra[cand][None, :]
        top = logits.max(axis=1, keepdims=True)
        return cand, logits - top - np.log(np.exp(logits - top).sum(axis=1, keepdims=True))

    # ----- whole outfits --------------------------------------------------------------------
    def slots_of(self, seq: list[int]) -> list[int] | None:
        """The sequence's slots if it is a valid outfit in slot order, else None."""
        slots = [int(self.cat[j]) for j in seq]
        if slots != sorted(slots) or SHOES not in slots:
            return None
        counts = np.bincount(slots, minlength=len(CATEGORIES))
        if counts[ACC] > 2 or (np.delete(counts, ACC) > 1).any():
            return None
        if (counts[TOP] != counts[BOTTOM]) or (counts[TOP] + counts[DRESS] != 1):
            return None
        if counts[ACC] == 2 and len({self.sub[j] for j in seq if self.cat[j] == ACC}) < 2:
            return None
        return slots

    def log_prob_styles(self, seq: list[int], extra: np.ndarray | None = None, slot_odds: bool = True) -> np.ndarray:
        """(S,) log P(outfit | s) for each style; -inf everywhere for an invalid outfit."""
        slots = self.slots_of(seq)
        if slots is None:
            return np.full(len(STYLES), -np.inf)
        lp = self.style_slots.log_prob(slots) if slot_odds else np.zeros(len(STYLES))
        for k, j in enumerate(seq):
            cand, logp = self.step_log_probs(slots[k], list(seq[:k]), extra)
            lp = lp + logp[:, np.searchsorted(cand, j)]
        return lp

    def log_prob_random(self, seq: list[int], slot_odds: bool = True) -> float:
        """log P_rand(outfit): the noisy-outfit model (average slot odds, uniform items)."""
        slots = self.slots_of(seq)
        if slots is None:
            return -np.inf
        lp = float(self.rand_slots.log_prob(slots)[0]) if slot_odds else 0.0
        for k in range(len(seq)):
            lp -= np.log(len(self.candidates(slots[k], list(seq[:k]))))
        return lp

    def log_prob(self, seq: list[int]) -> float:
        """log P(outfit) under the full generator: the style mixture plus the noise component."""
        eps = self.params.noise
        styled = logsumexp(self.log_pi + self.log_prob_styles(seq)) + np.log1p(-eps)
        return float(np.logaddexp(styled, self.log_prob_random(seq) + np.log(eps)))

    def sample(self, rng: np.random.Generator, style: int | None,
               slots: list[int] | None = None, extra: np.ndarray | None = None) -> list[int]:
        """Draw one outfit from ``style`` (None = the noisy-outfit model), as pool indices."""
        if slots is None:
            odds = self.rand_slots if style is None else self.style_slots
            slots = odds.sample(rng, 0 if style is None else style)
        seq: list[int] = []
        for slot in slots:
            if style is None:
                cand = self.candidates(slot, seq)
                seq.append(int(cand[rng.integers(len(cand))]))
            else:
                cand, logp = self.step_log_probs(slot, seq, extra, style)
                p = np.exp(logp[0])
                seq.append(int(cand[rng.choice(len(cand), p=p / p.sum())]))
        return seq


@dataclass(frozen=True)
class _SlotOdds:
    """Which slots an outfit has: P(dress), P(outerwear), P(bag), P(0/1/2 accessories) per style."""

    p_dress: np.ndarray  # (S,)
    p_outer: np.ndarray
    p_bag: np.ndarray
    p_acc: np.ndarray  # (S, 3)

    @staticmethod
    def per_style() -> "_SlotOdds":
        return _SlotOdds(np.array([s.p_dress for s in STYLES]), np.array([s.p_outer for s in STYLES]),
                         np.array([s.p_bag for s in STYLES]), np.array([s.p_acc for s in STYLES]))

    @staticmethod
    def average() -> "_SlotOdds":
        o = _SlotOdds.per_style()
        return _SlotOdds(o.p_dress.mean(keepdims=True), o.p_outer.mean(keepdims=True),
                         o.p_bag.mean(keepdims=True), o.p_acc.mean(axis=0, keepdims=True))

    def log_prob(self, slots: list[int]) -> np.ndarray:
        def bern(p: np.ndarray, on: bool) -> np.ndarray:
            return np.log(p if on else 1 - p)
        n_acc = slots.count(ACC)
        return (bern(self.p_dress, DRESS in slots) + bern(self.p_outer, OUTER in slots)
                + bern(self.p_bag, BAG in slots) + np.log(self.p_acc[:, n_acc]))

    def sample(self, rng: np.random.Generator, s: int) -> list[int]:
        dress = rng.random() < self.p_dress[s]
        slots = [DRESS] if dress else [TOP, BOTTOM]
        if rng.random() < self.p_outer[s]:
            slots.append(OUTER)
        slots.append(SHOES)
        if rng.random() < self.p_bag[s]:
            slots.append(BAG)
        slots += [ACC] * int(rng.choice(3, p=self.p_acc[s]))
        return sorted(slots)
