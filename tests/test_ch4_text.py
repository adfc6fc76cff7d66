"""Chapter 4 text pipeline: tokenise, base forms, content words, phrases, vocabulary, lexicon, word2vec."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fashionrec.text import (TextPipeline, Vocabulary, attribute_lexicon, cooccurrences, find_phrases,
                             is_content_word, lemmatize, nearest_words, sgns_loss, tokenize, train_word2vec)
from fashionrec.world.catalog import COLOR_WORDS, MATERIAL_WORDS, PATTERN_WORDS


def test_tokenize_keeps_compound_tokens():
    assert tokenize("Navy striped T-shirt, H&M (size S) 2017") == ["navy", "striped", "t-shirt", "h&m", "size",
                                                                    "s", "2017"]


@pytest.mark.parametrize("word, base", [
    ("dresses", "dress"), ("boots", "boot"), ("accessories", "accessory"), ("striped", "stripe"),
    ("dotted", "dot"), ("checked", "check"), ("knitted", "knit"), ("sleeved", "sleeve"), ("ruffled", "ruffle"),
    ("pleated", "pleat"), ("woolen", "wool"), ("scarves", "scarf"), ("jeans", "jeans"), ("shorts", "shorts"),
    ("sunglasses", "sunglasses"), ("glass", "glass"), ("canvas", "canvas"), ("red", "red"), ("tee", "tee"),
])
def test_lemmatize(word, base):
    assert lemmatize(word) == base


@pytest.mark.parametrize("word, kept", [("red", True), ("skirt", True), ("curly", True), ("the", False),
                                        ("sale", False), ("quickly", False), ("2017", False), ("x", False)])
def test_content_words(word, kept):
    assert is_content_word(word) is kept


def test_find_phrases_joins_dependent_modifiers_only():
    docs = ([["light", "blue", "skirt"]] * 6 + [["blue", "dress"]] * 6 + [["denim", "jeans"]] * 6
            + [["denim", "jacket"]] * 6)
    # light is always followed by blue; blue by skirt only half the time, denim by jeans half the time
    assert find_phrases(docs, min_count=5) == ("light blue",)


def test_pipeline_joins_phrases_inside_a_segment_only():
    pipe = TextPipeline(phrases=("light blue", "skirt festival"))
    assert pipe("Light blue pleated skirts — festival, SALE") == ["light_blue", "pleat", "skirt", "festival"]


def test_pipeline_fit_on_catalog_texts():
    texts = [f"{c} polka dot dress — party" for c in ("red", "blue", "black")] * 3 + ["dotted dress"] * 3
    pipe = TextPipeline.fit(texts, min_count=5)
    assert "polka dot" in pipe.phrases
    assert pipe("red polka dot dress") == ["red", "polka_dot", "dress"]


def test_vocabulary_min_count_order_bag_and_roundtrip(tmp_path):
    docs = [["red", "skirt"], ["red", "dress"], ["blue", "skirt"], ["red", "skirt", "skirt"]]
    vocab = Vocabulary.build(docs, min_count=2, phrases=("light blue",))
    assert vocab.words == ["skirt", "red"] and vocab.counts == [4, 3]  # blue and dress are too rare
    assert vocab.encode(["red", "blue", "skirt"]) == [1, 0]
    np.testing.assert_array_equal(vocab.bag([["skirt", "skirt", "red"], ["blue"]]), [[2, 1], [0, 0]])
    vocab.save(tmp_path / "v.json")
    loaded = Vocabulary.load(tmp_path / "v.json")
    assert (loaded.words, loaded.counts, loaded.min_count, loaded.phrases) == (vocab.words, vocab.counts, 2,
                                                                               ("light blue",))
    with pytest.raises(FileNotFoundError, match="nope.json"):
        Vocabulary.load(tmp_path / "nope.json")
    (tmp_path / "bad.json").write_text('{"words": []}')
    with pytest.raises(ValueError, match="counts"):
        Vocabulary.load(tmp_path / "bad.json")
    with pytest.raises(ValueError, match="min_count"):
        Vocabulary.build(docs, min_count=99)


def test_lexicon_maps_attribute_values_to_vocabulary_words():
    colours = ("light blue", "sky blue", "navy", "dark blue", "red")
    patterns = ("striped", "plaid", "dotted", "polka dot", "tartan", "checked", "stripe")
    garments = ("tee", "skirt", "belt", "dress", "coat", "shirt")
    materials = ("faux leather", "leather", "wool", "cotton")
    texts = [f"{colours[k % 5]} {patterns[k % 7]} {materials[k % 4]} {garments[k % 6]}" for k in range(420)]
    pipe = TextPipeline.fit(texts)
    vocab = Vocabulary.build([pipe(t) for t in texts], 5, pipe.phrases)
    lex = attribute_lexicon({"light-blue": COLOR_WORDS["light-blue"], "stripes": PATTERN_WORDS["stripes"],
                             "checks": PATTERN_WORDS["checks"], "dots": PATTERN_WORDS["dots"],
                             "leather": MATERIAL_WORDS["leather"], "navy": COLOR_WORDS["navy"]}, vocab)
    assert lex["light-blue"] == ("light_blue", "sky_blue")
    assert lex["stripes"] == ("stripe",)
    assert set(lex["checks"]) == {"check", "plaid", "tartan"}
    assert set(lex["dots"]) == {"polka_dot", "dot"}
    assert set(lex["leather"]) == {"leather", "faux_leather"}
    assert set(lex["navy"]) == {"navy", "dark_blue"}


def test_sgns_loss_matches_sampled_definition():
    """The exact objective equals the per-pair formula with the negatives' expectation written out."""
    gen = torch.Generator().manual_seed(0)
    v, u = torch.randn(3, 4, generator=gen), torch.randn(3, 4, generator=gen)
    pairs = torch.tensor([[0.0, 2, 1], [1, 0, 0], [0, 3, 0]])
    noise = torch.tensor([0.5, 0.3, 0.2])
    total = 0.0
    for c in range(3):
        for o in range(3):
            if pairs[c, o]:
                neg = sum(noise[w] * torch.log(torch.sigmoid(-v[c] @ u[w])) for w in range(3))
                total += pairs[c, o] * (torch.log(torch.sigmoid(v[c] @ u[o])) + 2 * neg)
    expected = -total / pairs.sum()
    assert torch.allclose(sgns_loss(v, u, pairs, noise, negatives=2), expected, atol=1e-6)


def test_cooccurrences_window():
    counts = cooccurrences([[0, 1, 2]], 3, window=1)
    np.testing.assert_array_equal(counts, [[0, 1, 0], [1, 0, 1], [0, 1, 0]])


def test_word2vec_groups_interchangeable_words_and_is_deterministic():
    rng = np.random.default_rng(0)
    vocab = Vocabulary(["red", "crimson", "skirt", "dress", "boot", "sneaker"], [1] * 6, 1)
    docs = []
    for _ in range(300):  # red/crimson say the same thing next to garments; boot/sneaker appear alone together
        docs.append([int(rng.choice([0, 1])), int(rng.choice([2, 3]))])
        docs.append([4, 5] if rng.random() < 0.5 else [5, 4])
    vectors = train_word2vec(docs, len(vocab), 16, steps=200, seed=0)
    assert vectors.shape == (6, 16)
    assert nearest_words(vectors, vocab, "red", 1)[0][0] == "crimson"
    np.testing.assert_array_equal(vectors, train_word2vec(docs, len(vocab), 16, steps=200, seed=0))
    with pytest.raises(ValueError, match="fewer than two"):
        train_word2vec([[0], [1]], 6, 8)
