"""Catalog text -> visually meaningful words -> vocabulary -> bag of words; and a small word2vec.

Sadeh et al. 2019, Sec. 3.3 pre-process each item's text in four steps: (1) tokenise, (2) bring
every word to its base form, (3) keep the nouns and adjectives, which are the words likely to be
visual, and (4) drop words seen fewer than a threshold number of times (500 on their 0.5 M items).
They used an NLP toolkit; we download nothing, so steps 2 and 3 are rules, written out below:

- base form (:func:`lemmatize`): an exception table, plural rules (``dresses -> dress``,
  ``boots -> boot``; pluralia tantum like ``jeans`` stay) and participle rules
  (``striped -> stripe``, ``dotted -> dot``, ``checked -> check``), Porter-style;
- nouns and adjectives (:func:`is_content_word`): we cannot tag parts of speech, so we drop what
  is certainly *not* a noun or adjective: function words (a stop list of determiners, pronouns,
  prepositions, conjunctions, auxiliaries), shop boilerplate (``sale``, ``free``, ``size``),
  adverbs in ``-ly`` and tokens with digits or of one letter;
- multi-word names (``light blue``, ``polka dot``) are joined into one token when the first word
  is (almost) never used without the second (:func:`find_phrases`).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from fashionrec.optim import Adam

TOKEN = re.compile(r"[a-z0-9]+(?:[&'-][a-z0-9]+)*")

STOP_WORDS = frozenset("""
a an the this that these those some any each every all both no not nor and or but if so than then as
of in on at by for with without from to into onto over under about above below up down out off
through between among per via is are was were be been being am has have had do does did will would
can could may might must shall should i you he she it we they me him her us them my your his its our
their mine yours who whom whose which what when where why how very too also just only more most
less least much many few one two three four five six seven eight nine ten s m l xl xs
sale new free shipping size price offer deal item items product products buy shop now off pc pcs
""".split())
ADJECTIVES_IN_LY = frozenset({"curly", "frilly", "woolly", "lovely", "silly", "jolly", "holly", "belly"})
PLURALIA_TANTUM = frozenset({"jeans", "shorts", "trousers", "pants", "sunglasses", "glasses", "leggings",
                             "tights", "pyjamas", "pajamas", "overalls", "chinos", "joggers", "dungarees",
                             "clothes", "briefs", "boxers"})
IRREGULAR = {"woolen": "wool", "woollen": "wool", "golden": "gold", "wooden": "wood", "knitted": "knit",
             "knitwear": "knit", "children": "child", "women": "woman",
             "men": "man", "feet": "foot", "teeth": "tooth", "leaves": "leaf", "scarves": "scarf",
             "knives": "knife", "wolves": "wolf", "halves": "half", "shelves": "shelf"}
_VOWELS = set("aeiou")


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens; ``t-shirt``, ``h&m`` and ``men's`` stay one token (Sec. 3.3, step 1)."""
    return TOKEN.findall(text.lower())


def _measure(stem: str) -> int:
    """Porter's m: the number of vowel-consonant sequences in ``stem`` (``y`` after a consonant is a vowel)."""
    pattern = "".join("v" if c in _VOWELS or (c == "y" and k > 0 and stem[k - 1] not in _VOWELS) else "c"
                      for k, c in enumerate(stem))
    return len(re.findall(r"v+c+", pattern))


def _ends_cvc(stem: str) -> bool:
    """consonant-vowel-consonant ending, the last not w, x or y (Porter's *o condition)."""
    return (len(stem) >= 3 and stem[-1] not in _VOWELS | set("wxy") and stem[-2] in _VOWELS
            and stem[-3] not in _VOWELS)


def lemmatize(word: str) -> str:
    """The base form of a word by rule (Sec. 3.3, step 2).

    ``dresses -> dress``, ``boots -> boot``, ``accessories -> accessory``, ``striped -> stripe``,
    ``dotted -> dot``, ``checked -> check``, ``sleeved -> sleeve``, ``woolen -> wool``;
    ``jeans``, ``shorts``, ``glass``, ``canvas`` stay as they are.
    """
    if word in IRREGULAR:
        return IRREGULAR[word]
    if word in PLURALIA_TANTUM or len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "shes", "ches", "xes", "zzes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is", "as", "os")):
        return word[:-1]
    if word.endswith("ed") and len(word) > 4:
        stem = word[:-2]
        if stem[-1] == stem[-2] and stem[-1] not in "lsz":  # dotted -> dot, knitted -> knit
            return stem[:-1]
        if (stem.endswith("v") or (_measure(stem) == 1 and _ends_cvc(stem))  # sleeved, striped
                or (stem[-1] == "l" and stem[-2] not in _VOWELS | {"l", "r"})):  # ruffled -> ruffle
            return stem + "e"
        if stem.endswith("i"):  # dyed is handled by length; tied/dried -> tie/dry are rare here
            return stem[:-1] + "y"
        return stem
    return word


def is_content_word(word: str) -> bool:
    """Could ``word`` be a noun or an adjective? (Sec. 3.3, step 3, by elimination; see the module doc.)"""
    if len(word) < 2 or any(c.isdigit() for c in word) or word in STOP_WORDS:
        return False
    return not (word.endswith("ly") and word not in ADJECTIVES_IN_LY)


def find_phrases(docs: Iterable[Sequence[str]], min_count: int = 5, min_share: float = 0.8) -> tuple[str, ...]:
    """Two-word names whose first word is (almost) never used without the second.

    A pair "a b" becomes one token when it occurs at least ``min_count`` times and at least
    ``min_share`` of the occurrences of ``a`` are followed by ``b``: ``light blue``, ``polka dot``,
    ``faux leather``, ``tank top``, but not ``denim jeans`` (denim is often said on its own). It is
    the conditional-probability cousin of Mikolov et al. 2013's phrase score, and stable on small
    catalogs where the raw score joins any frequent pair.
    """
    unigrams, bigrams = Counter(), Counter()
    for doc in docs:
        unigrams.update(doc)
        bigrams.update(zip(doc, doc[1:]))
    return tuple(sorted(f"{a} {b}" for (a, b), c in bigrams.items()
                        if a != b and c >= min_count and c >= min_share * unigrams[a]))


SEGMENT = re.compile(r"[,.;:!?()/|\u2013\u2014]+| - ")


@dataclass(frozen=True)
class TextPipeline:
    """tokenise -> base form -> keep content words -> join known phrases (Sec. 3.3, steps 1-3).

    ``phrases`` are "word word" pairs (of base forms) joined as "word_word" inside a segment of
    the text (punctuation ends a segment, so "skirt, festival" never joins); fit them on a catalog
    with :meth:`fit`.
    """

    phrases: tuple[str, ...] = ()

    @staticmethod
    def segments(text: str) -> list[list[str]]:
        """The content words of each punctuation-delimited segment of ``text``, in base form."""
        segs = ([w for w in (lemmatize(t) for t in tokenize(part)) if is_content_word(w)]
                for part in SEGMENT.split(text))
        return [seg for seg in segs if seg]

    def __call__(self, text: str) -> list[str]:
        pairs, out = set(self.phrases), []
        for words in self.segments(text):
            k = 0
            while k < len(words):
                if k + 1 < len(words) and f"{words[k]} {words[k + 1]}" in pairs:
                    out.append(f"{words[k]}_{words[k + 1]}")
                    k += 2
                else:
                    out.append(words[k])
                    k += 1
        return out

    @staticmethod
    def fit(texts: Iterable[str], min_count: int = 5, min_share: float = 0.8) -> "TextPipeline":
        """A pipeline with the phrases found in ``texts`` (see :func:`find_phrases`)."""
        segments = [seg for t in texts for seg in TextPipeline.segments(t)]
        return TextPipeline(find_phrases(segments, min_count, min_share))


@dataclass
class Vocabulary:
    """Words kept after the frequency cut (Sec. 3.3, step 4), most frequent first."""

    words: list[str]
    counts: list[int]
    min_count: int
    phrases: tuple[str, ...] = ()
    index: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.index = {w: k for k, w in enumerate(self.words)}

    @staticmethod
    def build(docs: Iterable[Sequence[str]], min_count: int, phrases: tuple[str, ...] = ()) -> "Vocabulary":
        """Keep the words seen at least ``min_count`` times; ties in count are ordered alphabetically."""
        counts = Counter(w for doc in docs for w in doc)
        kept = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
        if not kept:
            raise ValueError(f"no word occurs {min_count} times or more; lower min_count")
        return Vocabulary(kept, [counts[w] for w in kept], min_count, tuple(phrases))

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: str) -> bool:
        return word in self.index

    def encode(self, words: Iterable[str]) -> list[int]:
        """Ids of the words that are in the vocabulary (the others are dropped)."""
        return [self.index[w] for w in words if w in self.index]

    def bag(self, docs: Sequence[Sequence[str]]) -> np.ndarray:
        """(N, V) float32 word counts: the bag of words of each document."""
        out = np.zeros((len(docs), len(self)), np.float32)
        for r, doc in enumerate(docs):
            for k in self.encode(doc):
                out[r, k] += 1
        return out

    @property
    def pipeline(self) -> TextPipeline:
        return TextPipeline(self.phrases)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps({"words": self.words, "counts": self.counts, "min_count": self.min_count,
                                          "phrases": list(self.phrases)}, indent=1))

    @staticmethod
    def load(path: str | Path) -> "Vocabulary":
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"{path}: vocabulary file not found (write one with Vocabulary.save)")
        d = json.loads(path.read_text())
        missing = {"words", "counts", "min_count"} - set(d)
        if missing:
            raise ValueError(f"{path}: not a vocabulary file, missing keys {sorted(missing)}")
        return Vocabulary(list(d["words"]), list(d["counts"]), int(d["min_count"]), tuple(d.get("phrases", ())))


def attribute_lexicon(synonyms: dict[str, Sequence[str]], vocab: Vocabulary) -> dict[str, tuple[str, ...]]:
    """Map attribute values (``"stripes"``, ``"light-blue"``) to the vocabulary words that name them.

    ``synonyms`` holds each value's phrases as a catalog writes them (FashionWorld's
    ``COLOR_WORDS``/``PATTERN_WORDS``/... tables, e.g. ``"stripes": ("striped", "stripe")``); each
    phrase goes through the vocabulary's pipeline, and the words it yields that are in the
    vocabulary name the value. A value with no table entry is looked up under its own name.
    """
    pipe, out = vocab.pipeline, {}
    for value, phrases in synonyms.items():
        words = []
        for phrase in (*phrases, value.replace("-", " ")):
            toks = [w for w in pipe(phrase) if w in vocab]
            if len(toks) == 1 and toks[0] not in words:  # a phrase that became one known word
                words.append(toks[0])
        out[value] = tuple(words)
    return out


# ----- word2vec: skip-gram with negative sampling (Mikolov et al. 2013) ---------------------------
def cooccurrences(docs: Sequence[Sequence[int]], vocab_size: int, window: int = 5) -> np.ndarray:
    """(V, V) counts of (centre, context) word pairs within ``window`` positions of each other."""
    out = np.zeros((vocab_size, vocab_size), np.float64)
    for doc in docs:
        for i, c in enumerate(doc):
            for j in range(max(0, i - window), min(len(doc), i + window + 1)):
                if j != i:
                    out[c, doc[j]] += 1
    return out


def sgns_loss(centre: torch.Tensor, context: torch.Tensor, pairs: torch.Tensor, noise: torch.Tensor,
              negatives: int = 5) -> torch.Tensor:
    """Skip-gram negative-sampling loss summed over all pairs, with the negatives in expectation.

    -sum_{c,o} N_co log s(v_c . u_o) - k sum_c N_c sum_w P_n(w) log s(-v_c . u_w), divided by
    sum N: the objective SGD on sampled pairs and sampled negatives follows (Levy & Goldberg 2014),
    computed exactly over the (V, V) co-occurrence counts ``pairs``; ``noise`` = P_n, (V,).
    """
    dots = centre @ context.T  # (V, V): v_c . u_w
    positive = (pairs * F.logsigmoid(dots)).sum()
    negative = negatives * (pairs.sum(1) * (F.logsigmoid(-dots) @ noise)).sum()
    return -(positive + negative) / pairs.sum()


def train_word2vec(docs: Sequence[Sequence[int]], vocab_size: int, dim: int, steps: int = 300,
                   negatives: int = 5, window: int = 5, lr: float = 0.02, seed: int = 0) -> np.ndarray:
    """(V, dim) word vectors (the centre vectors v) of skip-gram with negative sampling.

    Noise words come from the unigram distribution to the power 3/4 (Mikolov et al. 2013). A
    catalog vocabulary is small (hundreds to a few thousand words), so each step takes the whole
    (V, V) co-occurrence matrix at once (:func:`sgns_loss`): full-batch Adam, deterministic.
    """
    pairs = torch.from_numpy(cooccurrences(docs, vocab_size, window)).float()  # (V, V)
    if pairs.sum() == 0:
        raise ValueError("no word pairs to train on: every document has fewer than two vocabulary words")
    freq = torch.bincount(torch.tensor([w for d in docs for w in d], dtype=torch.long), minlength=vocab_size)
    noise = freq.double().pow(0.75)
    noise = (noise / noise.sum()).float()
    gen = torch.Generator().manual_seed(seed)
    centre = nn.Parameter((torch.rand(vocab_size, dim, generator=gen) - 0.5) / dim)
    context = nn.Parameter(torch.zeros(vocab_size, dim))
    opt = Adam([centre, context], lr=lr)  # fashionrec.optim: the same steps on every CPU
    for _ in range(steps):
        loss = sgns_loss(centre, context, pairs, noise, negatives)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return centre.detach().numpy().copy()


def nearest_words(vectors: np.ndarray, vocab: Vocabulary, word: str, k: int = 5) -> list[tuple[str, float]]:
    """The ``k`` words whose vectors have the highest cosine with ``word``'s."""
    x = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    sims = x @ x[vocab.index[word]]
    order = [i for i in np.argsort(-sims, kind="stable") if i != vocab.index[word]][:k]
    return [(vocab.words[i], float(sims[i])) for i in order]
