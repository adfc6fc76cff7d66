"""Chapter 1 (Han et al. 2017): the Bi-LSTM + VSE model, its equations, scoring, generation and the
Polyvore loaders (on the real samples in shared/realdata and on fixtures in the official formats)."""

from __future__ import annotations

import json
import math
import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from fashionrec import bilstm, metrics, report, store
from fashionrec.config import TrainConfig
from fashionrec.datasets import polyvore as pv
from fashionrec.datasets.files import read_categories
from fashionrec.datasets.polyvore_outfits import load_polyvore_outfits
from fashionrec.world import tasks
from fashionrec.records import CompatibilityExample, FITBQuestion
from fashionrec.world.vocab import COLORS

ROOT = Path(__file__).resolve().parents[1]
REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"


def tiny_cfg(**kw) -> bilstm.Config:
    return bilstm.Config.for_profile("smoke", embed_dim=8, lstm_dim=8, trunk_dim=16, input_dropout=0.0, dropout=0.0,
                                     **kw)


# ----- the config -----------------------------------------------------------------------------------
def test_paper_preset_keeps_its_dataset_and_root_when_the_notebook_passes_none():
    cfg = bilstm.Config.for_profile("paper", dataset=None, data_root=None, device=None, seed=None)
    assert (cfg.dataset, cfg.data_root, cfg.seeds) == ("polyvore", "data/polyvore", (0,))
    assert cfg.backbone == "inception_v3" and cfg.finetune and not cfg.on_world
    standard = bilstm.Config.for_profile("standard", dataset=None, data_root=None, seed=2)
    assert (standard.dataset, standard.seeds) == ("fashionworld", (2, 3, 4)) and standard.on_world
    with pytest.raises(ValueError, match="dataset must be one of"):
        bilstm.Config.for_profile("standard", dataset="deepfashion")


# ----- the paper's equations on hand-checked examples ---------------------------------------------
def test_sequence_nll_matches_hand_computation():
    # candidates X: two items and the stop vector (last row)
    candidates = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    predictions = torch.tensor([[[2.0, 0.0], [0.0, 0.0]]])  # h_1, h_2 of one outfit of 2 items
    targets = torch.tensor([[1, 2]])  # x_2 is candidate 1, then stop
    nll = bilstm.sequence_nll(predictions, targets, candidates, torch.tensor([2]))
    # step 1: logits (2, 0, 0) -> -log(e^0 / (e^2 + 2)); step 2: all logits 0 -> -log(1/3)
    expected = (-math.log(1 / (math.e ** 2 + 2)) - math.log(1 / 3)) / 2
    assert nll.item() == pytest.approx(expected, rel=1e-6)


def test_vse_loss_matches_hand_computation():
    f = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    v = torch.tensor([[1.0, 0.0], [0.6, 0.8]])  # d(v_1, f_1) = 1, d(v_2, f_2) = 0.8, d(v_2, f_1) = 0.6
    # text anchors: v_2 vs f_1: max(0, 0.2 - 0.8 + 0.6) = 0; v_1 vs f_2: max(0, 0.2 - 1 + 0) = 0
    # image anchors: f_1 vs v_2: max(0, 0.2 - 1 + 0.6) = 0; f_2 vs v_1: max(0, 0.2 - 0.8 + 0) = 0
    assert bilstm.vse_loss(f, v, margin=0.2).item() == pytest.approx(0.0, abs=1e-7)
    # margin 0.5: text v_2 / f_1: 0.5 - 0.8 + 0.6 = 0.3; image f_1 / v_2: 0.5 - 1 + 0.6 = 0.1; others < 0
    assert bilstm.vse_loss(f, v, margin=0.5).item() == pytest.approx((0.3 + 0.1) / 4, rel=1e-5)


def test_reverse_and_next_targets():
    rows = torch.tensor([[0, 1, 2], [3, 4, 4]])
    lengths = torch.tensor([3, 2])
    assert bilstm.reverse_padded(rows, lengths).tolist() == [[2, 1, 0], [4, 3, 4]]
    assert bilstm.next_targets(rows, lengths, stop=9).tolist() == [[1, 2, 9], [4, 9, 9]]
    x = torch.arange(12.0).view(2, 3, 2)
    assert bilstm.reverse_padded(x, lengths)[1, 0].tolist() == [8.0, 9.0]


def test_siamese_loss_prefers_outfits_that_cluster():
    outfit_of = torch.tensor([0, 0, 1, 1])
    clustered = torch.tensor([[1.0, 0.0], [1.0, 0.1], [0.0, 1.0], [0.1, 1.0]])
    mixed = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.1], [0.1, 1.0]])
    assert bilstm.siamese_loss(clustered, outfit_of) < bilstm.siamese_loss(mixed, outfit_of)


# ----- models on a tiny synthetic table -----------------------------------------------------------
def synthetic(n_items: int = 40, n_outfits: int = 60, dim: int = 12, seed: int = 0) -> bilstm.OutfitTasks:
    rng = np.random.default_rng(seed)
    ids = [f"i{k:03d}" for k in range(n_items)]
    ranks = np.arange(n_items) % 4  # four categories
    feats = torch.from_numpy(rng.normal(size=(n_items, dim)).astype(np.float32))
    vocab = {"red": 1, "blue": 2, "shirt": 3}
    tokens = bilstm.encode_texts(["red shirt" if k % 2 else "blue" for k in range(n_items)], vocab, 4)
    table = bilstm.ItemTable(ids, feats, tokens, ranks, [f"c{r}" for r in ranks])
    by_rank = [[i for i, r in zip(ids, ranks) if r == c] for c in range(4)]
    outfits = [tuple(by_rank[c][rng.integers(len(by_rank[c]))] for c in range(int(rng.integers(2, 5))))
               for _ in range(n_outfits)]
    return bilstm.OutfitTasks(table, vocab, outfits, outfits[:10], ids, {}, [])


@pytest.mark.parametrize("method", bilstm.METHODS)
def test_model_shapes_and_loss_decreases(method):
    data = synthetic()
    cfg = tiny_cfg()
    torch.manual_seed(0)
    model = bilstm.build_model(cfg, method, 12, len(data.vocab))
    batch = bilstm.collate_outfits(data.table, cfg.max_items)(data.train[:16])
    ids = [i for o in data.train[:16] for i in o]
    assert batch["inputs"].shape == (len(set(ids)), 12) and batch["index"].shape == (len(ids),)
    if method not in ("siamese", "setrnn"):
        assert isinstance(model.lstm_f, bilstm.model.RNN_CELLS[bilstm.CELLS.get(method, "lstm")])
        x, f = model.encode(batch["inputs"])
        assert x.shape == f.shape == (len(batch["inputs"]), 8)
        pf, pb = model.predict(x[:3][None], torch.tensor([3]))
        assert (pf is not None) == model.use_f and (pb is not None) == model.use_b
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = model.loss(batch).item()
    for _ in range(30):
        loss = model.loss(batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert model.loss(batch).item() < first


def test_shuffled_outfits_keep_lengths_and_draw_each_position_from_the_batch():
    rows = torch.arange(20).view(4, 5)
    lengths = torch.tensor([5, 4, 2, 1])
    torch.manual_seed(0)
    out = bilstm.shuffled_outfits(rows, lengths)
    for t in range(5):
        holders = (lengths > t).nonzero().squeeze(1)
        assert sorted(out[holders, t].tolist()) == sorted(rows[holders, t].tolist())  # a permutation
        assert torch.equal(out[lengths <= t, t], rows[lengths <= t, t])  # padding untouched
    assert not torch.equal(out, rows)


def test_setrnn_learns_to_tell_outfits_from_random_combinations():
    """SetRNN (Table 1's baseline): trained on the batch's outfits against shuffled ones, it scores an
    outfit whose items share a latent style above a random combination of the same positions."""
    rng = np.random.default_rng(0)
    n_items, dim = 80, 12
    style = np.arange(n_items) % 2  # two styles; an outfit takes its four items from one
    centres = rng.normal(size=(2, dim)) * 2
    feats = torch.from_numpy((centres[style] + rng.normal(size=(n_items, dim))).astype(np.float32))
    ids = [f"i{k:03d}" for k in range(n_items)]
    ranks = (np.arange(n_items) // 2) % 4
    table = bilstm.ItemTable(ids, feats, bilstm.encode_texts(["x"] * n_items, {"x": 1}, 2), ranks,
                             [f"c{r}" for r in ranks])
    slot = {(r, s): [i for i, rr, ss in zip(ids, ranks, style) if rr == r and ss == s] for r in range(4) for s in (0, 1)}
    outfits = [tuple(slot[r, s][rng.integers(10)] for r in range(4)) for s in rng.integers(0, 2, 300)]
    data = bilstm.OutfitTasks(table, {"x": 1}, outfits[:250], outfits[250:], ids, {}, [])
    cfg = replace(tiny_cfg(), train=TrainConfig(epochs=15, batch_size=32, lr=1e-2))
    model, history = bilstm.train_method(cfg, "setrnn", data, seed=0)
    frame = history.to_frame()
    assert frame["train_loss"].iloc[-1] < frame["train_loss"].iloc[0]
    mixed = [tuple(slot[r, (r + k) % 2][k % 10] for r in range(4)) for k in range(50)]  # styles alternate
    good = bilstm.score_outfits(model, table, data.test, data.gallery)
    bad = bilstm.score_outfits(model, table, mixed, data.gallery)
    assert metrics.auc(np.concatenate([good, bad]), np.r_[np.ones(len(good)), np.zeros(len(bad))]) > 0.8


def test_batch_softmax_set_holds_each_image_once():
    """X of Sec. 3.1 is a set: an item in two outfits of a batch is one candidate, not its own negative."""
    data = synthetic()
    table = data.table
    outfits = [("i000", "i001"), ("i000", "i005")]  # i000 twice
    batch = bilstm.collate_outfits(table, 8)(outfits)
    assert batch["inputs"].shape[0] == 3 and batch["index"].tolist() == [0, 1, 0, 2]
    torch.testing.assert_close(batch["inputs"][batch["index"]], table.inputs[table.rows([i for o in outfits for i in o])])
    pool = bilstm.collate_outfits(table, 8, pool=table.item_ids)(outfits)  # softmax="pool": X = all items
    assert pool["inputs"].shape[0] == len(table.item_ids) and pool["index"].tolist() == [0, 1, 0, 5]
    # the loss with X = the batch equals sequence_nll computed by hand on the distinct items
    cfg = tiny_cfg()
    torch.manual_seed(0)
    model = bilstm.build_model(cfg, "bilstm", 12, len(data.vocab)).eval()
    x, _ = model.encode(batch["inputs"])
    candidates = torch.cat([x, x.new_zeros(1, x.shape[1])])
    rows, lengths = torch.tensor([[0, 1], [0, 2]]), torch.tensor([2, 2])
    e_f, e_b = model.outfit_nll(candidates[rows], rows, lengths, candidates)
    torch.testing.assert_close(model.loss(batch), e_f.mean() + e_b.mean())


@pytest.mark.parametrize("softmax", ["batch", "pool"])
def test_training_with_either_softmax_set(softmax):
    data = synthetic(n_outfits=64)
    cfg = replace(tiny_cfg(softmax=softmax), train=TrainConfig(epochs=3, batch_size=16, lr=1e-2))
    _, history = bilstm.train_method(cfg, "bilstm_vse", data, seed=0)
    frame = history.to_frame()
    assert frame["train_loss"].iloc[-1] < frame["train_loss"].iloc[0]


def test_lstm_learns_category_order_and_scores_fitb():
    data = synthetic(n_outfits=200)
    cfg = replace(tiny_cfg(), train=TrainConfig(epochs=15, batch_size=32, lr=1e-2))
    model, history = bilstm.train_method(cfg, "bilstm", data, seed=0)
    assert history.to_frame()["train_loss"].iloc[-1] < history.to_frame()["train_loss"].iloc[0]
    # an outfit in category order scores higher than the same items reversed
    ordered = [o for o in data.test if len(o) >= 3]
    good = bilstm.score_outfits(model, data.table, ordered, data.gallery)
    bad = bilstm.score_outfits(model, data.table, [o[::-1] for o in ordered], data.gallery)
    assert (good > bad).mean() > 0.8
    q = [tasks.fill(o[:1] + (None,) + o[2:], o[1]) for o in ordered]  # sanity of fill
    assert q == ordered
    # FITB: the blank's own item against items of the three other categories, answer at position k % 4
    others = {r: next(i for i in data.table.item_ids if data.table.ranks[data.table.row[i]] == r) for r in range(4)}
    questions = []
    for k, o in enumerate(ordered):
        wrong = [others[r] for r in range(4) if r != 1]
        candidates = wrong[:k % 4] + [o[1]] + wrong[k % 4:]
        questions.append(FITBQuestion(o[:1] + (None,) + o[2:], tuple(candidates), k % 4))
    scores = bilstm.fitb_scores(model, data.table, questions, data.gallery)
    assert scores.shape == (len(questions), 4)
    assert metrics.fitb_accuracy(scores, np.array([q.answer for q in questions])) > 0.8  # chance 0.25


def test_generated_outfits_keep_category_order():
    data = synthetic(n_outfits=200)
    cfg = replace(tiny_cfg(), train=TrainConfig(epochs=10, batch_size=32, lr=1e-2))
    model, _ = bilstm.train_method(cfg, "bilstm_vse", data, seed=0)
    emb = bilstm.embed_items(model, data.table, data.gallery)
    for seeds in (["i001"], ["i000", "i003"]):
        outfit = bilstm.generate_outfit(model, data.table, data.gallery, seeds, emb)
        ranks = data.table.ranks[data.table.rows(outfit)]
        assert set(seeds) <= set(outfit) and list(ranks) == sorted(set(ranks))  # order, no repeats
    # every training outfit starts with category 0: the backward LSTM, having read "i002" then "i001",
    # must ask for a category-0 item before them
    before = bilstm.generate_outfit(model, data.table, data.gallery, ["i001", "i002"], emb)
    assert data.table.ranks[data.table.row[before[0]]] == 0
    v = bilstm.text_vector(model, "red shirt", data.vocab)
    edited = bilstm.edit_with_text(data.table, data.gallery, outfit, ["i000"], v, emb)
    assert edited[0] == "i000" and list(data.table.ranks[data.table.rows(edited)]) == list(ranks)
    with pytest.raises(ValueError, match="vocabulary"):
        bilstm.text_vector(model, "unknownword", data.vocab)


def test_generation_check_on_true_outfits():
    from fashionrec.world.world import World, WorldConfig

    world = World.build(WorldConfig.for_profile("smoke"))
    real = [o.item_ids for o in world.outfits["test"][:40]]
    check = bilstm.generation_check(world, real, "test")
    doubled = bilstm.generation_check(world, real + [(real[0][0], real[0][0])], "test")
    assert doubled["repeated_category"] == check["repeated_category"] + 1  # a category twice is counted
    assert check["valid"] == 1.0 and check["beats_random"] > 0.7
    broken = [o[:-1] + o[:1] for o in real]  # a repeated first category, out of order
    assert bilstm.generation_check(world, broken, "test")["valid"] < 0.5


def test_world_negatives_are_outfit_items_and_the_oracle_is_their_likelihood_ratio():
    """As on both Polyvore datasets, FITB candidates and compatibility negatives are items of the test
    outfits; the oracle subtracts log P_rand of the model they are drawn from (``tasks.negative_model``)."""
    from fashionrec.world.world import World, WorldConfig

    world = World.build(WorldConfig.for_profile("smoke"))
    used = set(tasks.outfit_items(world, "test"))
    assert used < set(world.pools["test"])  # the pool also holds items that no outfit drew
    for negatives in ("random", "type"):
        assert all(set(q.candidates) <= used for q in tasks.fitb_questions(world, "test", 200, negatives, seed=0))
    examples = tasks.compatibility_examples(world, "test", seed=0)
    assert all(set(e.item_ids) <= used for e in examples)
    model = tasks.negative_model(world, "test")
    k = next(k for k, e in enumerate(examples) if e.label == 0)
    negative = examples[k].item_ids
    rand = model.log_prob_random([model.index[i] for i in negative])
    assert rand > world.log_prob_random(negative, "test")  # each item is one of fewer: not the pool's P_rand
    oracle = tasks.compatibility_oracle(world, examples, "test")
    assert oracle[k] == pytest.approx(world.log_prob(negative, "test") - rand)


def test_attribute_features_are_standardised_with_the_training_pool():
    from fashionrec.world.world import World, WorldConfig

    world = World.build(WorldConfig.for_profile("smoke"))
    ids = sorted(i for pool in world.pools.values() for i in pool)
    table = bilstm.ItemTable(ids, None, torch.zeros(len(ids), 1, dtype=torch.long), np.zeros(len(ids), int),
                             [world.items[i].category for i in ids])
    data = bilstm.OutfitTasks(table, {}, [], [], [], {}, [], world=world, train_items=list(world.pools["train"]))
    attrs = bilstm.with_attributes(data).table
    train = attrs.inputs[attrs.rows(data.train_items)].numpy().astype(np.float64)
    np.testing.assert_allclose(train.mean(0), 0.0, atol=1e-4)  # the training pool's own statistics
    varying = train.std(0) > 0
    np.testing.assert_allclose(train.std(0)[varying], 1.0, atol=1e-3)
    test = attrs.inputs[attrs.rows(world.pools["test"])].numpy()
    assert np.abs(test.mean(0)).max() > 1e-3  # test items are not re-centred on their own statistics
    fitted = store.Standardiser.fit(np.asarray(
        [[c in world.items[i].colors for c in COLORS] for i in data.train_items], dtype=np.float32))
    np.testing.assert_allclose(attrs.inputs[:, :len(COLORS)].numpy(), fitted(np.asarray(
        [[c in world.items[i].colors for c in COLORS] for i in ids], dtype=np.float32)), atol=1e-5)
    with pytest.raises(ValueError, match="FashionWorld"):
        bilstm.with_attributes(replace(data, world=None))


def test_chance_and_oracle_rows():
    assert bilstm.chance() == {"fitb_random": 0.25, "fitb_type": 0.25, "auc": 0.5}
    data = synthetic()
    assert bilstm.oracle(data) == {}  # real data: no oracle
    q = [FITBQuestion(("i000", None), ("i001", "i002", "i003", "i004"), 1),
         FITBQuestion(("i000", None), ("i001", "i002", "i003", "i004"), 2)]
    scores = np.array([[0.0, 1.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]])  # right once
    compat = [CompatibilityExample(("i000", "i001"), 1), CompatibilityExample(("i000", "i002"), 0)]
    data = replace(data, fitb={"random": q, "type": q}, compatibility=compat,
                   oracle={"fitb_random": scores, "fitb_type": scores, "compatibility": np.array([0.9, 0.1])})
    assert bilstm.oracle(data) == {"fitb_random": 0.5, "fitb_type": 0.5, "auc": 1.0}


def test_headline_numbers_keep_the_glue_keys():
    import pandas as pd

    from fashionrec import claims

    data = synthetic()
    q = [FITBQuestion(("i000", None), ("i001", "i002", "i003", "i004"), 1)] * 2
    compat = [CompatibilityExample(("i000", "i001"), 1), CompatibilityExample(("i000", "i002"), 0)]
    scores = np.array([[0.0, 1.0, 0.0, 0.0]] * 2)  # the oracle is right on both
    data = replace(data, fitb={"random": q, "type": q}, compatibility=compat,
                   oracle={"fitb_random": scores, "fitb_type": scores, "compatibility": np.array([0.9, 0.1])})
    results = pd.DataFrame([{"method": m, "seed": s, "fitb_random": 0.25 + 0.75 * v, "fitb_type": 0.25 + 0.5 * v,
                             "auc": 0.5 + 0.5 * v} for m, v in (("bilstm_vse", 0.9), ("vse", 0.1)) for s in (0, 1)])
    numbers = bilstm.headline_numbers(claims.summarize(results, bilstm.METRICS), data, ("bilstm_vse", "vse"), 2)
    assert numbers["ch1_n_seeds"] == 2 and numbers["ch1_n_fitb"] == 2 and numbers["ch1_n_compatibility"] == 2
    assert numbers["ch1_fitb_random"] == numbers["ch1_bilstm_vse_fitb_random"] == pytest.approx(0.925)
    assert numbers["ch1_vse_auc"] == pytest.approx(0.55) and numbers["ch1_oracle_auc"] == 1.0
    assert numbers["ch1_fitb_random_ratio"] == pytest.approx(0.9) and numbers["ch1_fitb_random_target"] == "met"
    assert numbers["ch1_fitb_type_ratio"] == pytest.approx(0.6) and numbers["ch1_fitb_type_target"] == "missed"
    assert "ch1_oracle_auc" not in bilstm.headline_numbers(claims.summarize(results, bilstm.METRICS),
                                                          replace(data, oracle={}), ("bilstm_vse",), 2)


def test_receipts_print_the_numbers_they_are_given():
    import pandas as pd

    from fashionrec import claims

    data = synthetic()
    q = [FITBQuestion(("i000", None), ("i001", "i002", "i003", "i004"), 1)] * 3
    data = replace(data, fitb={"random": q, "type": q[:2]}, compatibility=[CompatibilityExample(("i000",), 1)])
    assert bilstm.receipt_data(data, 7).splitlines() == [
        "items: 40, outfits train/test: 60/10, test gallery: 40",
        "vocabulary (words seen >= 7 times in training texts): 3 words",
        "FITB questions random/type: 3/2, compatibility outfits: 1", "model inputs: (40, 12)"]
    assert bilstm.receipt_data(replace(data, table=replace(data.table, inputs=None)), 7).endswith(
        "model inputs: images from disk")
    results = pd.DataFrame([{"method": m, "seed": s, "fitb_random": v + 0.01 * s, "fitb_type": 0.4, "auc": 0.6}
                            for m, v in (("bilstm_vse", 0.81234), ("bilstm", 0.7)) for s in (0, 1)])
    summary = claims.summarize(results, bilstm.METRICS)
    diagnostic = bilstm.attribute_diagnostic(tiny_cfg(), data, summary)  # real data: the images row only
    found = claims.claim(results, "bilstm_vse", "bilstm", "fitb_random", text="vse")
    findings = claims.claims_table([found], paper=["0.686 vs 0.667"])
    precision = pd.Series({"red": 0.45678}, name="precision@20")
    check = {"outfits": 3, "repeated_category": 0, "valid": 2 / 3, "beats_random": 0.5}
    text = bilstm.receipt_results(tiny_cfg(seeds=(0, 1)), summary, diagnostic, precision, check, findings)
    assert text.startswith("seeds per method: 2\n") and "0.817" in text and "0.812" not in text
    assert "images (frozen EfficientNet-Lite0 + layer)" in text and "red    0.457" in text
    assert "{'outfits': 3, 'repeated_category': 0, 'valid': 0.667, 'beats_random': 0.5}" in text
    assert findings.to_string() in text and "0.686 vs 0.667" in text
    empty = bilstm.receipt_results(tiny_cfg(), summary, diagnostic, precision.iloc[:0], {}, findings)
    assert "no item texts to check\n{}" in empty


def test_glue_values_of_the_diagnostic_generation_and_claims():
    import pandas as pd

    from fashionrec import claims

    rows = {"images (frozen EfficientNet-Lite0 + layer)": (0.8, 0.4, 0.6),
            "true attributes drawn on the images": (0.85, 0.55, 0.8),
            "true attributes + formality": (0.9, 0.6, 0.85), "FashionWorld oracle": (0.95, 0.85, 0.9)}
    diagnostic = pd.DataFrame([{bilstm.ENCODER: k, **dict(zip(bilstm.METRICS, v))} for k, v in rows.items()])
    numbers = bilstm.attribute_numbers(diagnostic.set_index(bilstm.ENCODER))
    assert numbers == pytest.approx({"ch1_attr_drawn_fitb_type": 0.55, "ch1_attr_drawn_auc": 0.8,
                                     "ch1_attr_fitb_type": 0.6, "ch1_attr_auc": 0.85,
                                     "ch1_attr_drawn_fitb_type_ratio": 0.5})  # (0.55-0.25)/(0.85-0.25)
    assert bilstm.attribute_numbers(diagnostic.set_index(bilstm.ENCODER).iloc[:1]) == {}
    precision = pd.Series({"red": 0.5, "black": 0.25})
    values = bilstm.generation_numbers(precision, {"beats_random": 0.6, "valid": 0.9, "repeated_category": 0})
    assert values == {"ch1_vse_precision20": 0.375, "ch1_vse_precision20_red": 0.5,
                      "ch1_vse_precision20_black": 0.25, "ch1_gen_beats_random": 0.6, "ch1_gen_valid": 0.9}
    assert bilstm.generation_numbers(precision.iloc[:0], {}) == {}
    results = pd.DataFrame([{"method": m, "seed": s, "auc": v + 0.01 * s} for m, v in (("a", 0.9), ("b", 0.5))
                            for s in range(3)])
    tested = {("x", "auc"): claims.claim(results, "a", "b", "auc"), ("y", "auc"): claims.claim(results, "b", "a", "auc")}
    assert bilstm.claim_verdicts(tested) == {"ch1_claim_x_auc": "holds", "ch1_claim_y_auc": "reversed"}


def test_world_only_parts_are_empty_on_real_data():
    data = synthetic()
    model = bilstm.build_model(tiny_cfg(), "bilstm_vse", 12, len(data.vocab))
    emb = bilstm.embed_items(model, data.table, data.gallery)
    rng = np.random.default_rng(0)
    assert bilstm.check_generation(model, data, [], emb, rng) == {}
    assert rng.integers(1000) == np.random.default_rng(0).integers(1000)  # the generator was not drawn from
    assert bilstm.text_precision(model, data, ["red"], emb) == {}
    fig, example = bilstm.training_outfits(replace(data, note="real data"), 32)
    assert fig is None and example["note"].tolist() == ["real data"]
    assert bilstm.fitb_questions(model, data, 32) is None
    assert bilstm.generated_outfits(data, [("(a) one image", ("i000",), ("i000", "i001"))], 32) is None


def test_vocabulary_rule_and_tokenizer():
    assert pv.tokenize("Navy T-shirt, H&M's SALE 2017!") == ["navy", "t-shirt", "h&m's", "sale", "2017"]
    vocab = pv.build_vocab(["red shirt"] * 30 + ["blue shirt"] * 29, min_count=30)
    assert vocab == {"red": 1, "shirt": 2}  # "blue" seen 29 times: dropped (paper: < 30)


# ----- Maryland Polyvore --------------------------------------------------------------------------
MARYLAND = REALDATA / "maryland-polyvore"


@pytest.mark.skipif(not MARYLAND.exists(), reason="shared/realdata not available")
def test_maryland_real_sample_and_its_quirks():
    data = pv.load_polyvore(MARYLAND)
    assert [len(data.outfits[s]) for s in pv.SPLITS] == [9, 5, 5]
    assert sum(len(o.item_ids) for s in pv.SPLITS for o in data.outfits[s]) == 133
    assert data.missing_images == ["100164421_6", "100164421_7", "100164421_8"]  # counted, not dropped
    assert "100188964" not in {o.outfit_id for s in pv.SPLITS for o in data.outfits[s]}  # folder in no split
    assert not any(" " in Path(it.image).name for it in data.items.values())  # "0 (1).jpg" is no item
    first = data.outfits["train"][0]
    assert first.item_ids[0] == "100050716_1" and data.items["100050716_1"].category == "dress"  # a playsuit
    assert data.items["100050716_2"].category == "shoes" and "sandals" in data.items["100050716_2"].text
    dropped = pv.load_polyvore(MARYLAND, drop_missing=True)
    assert dropped.dropped == {"item entries": 3} and "missing" not in dropped.summary()
    words = dict(line.split() for line in (MARYLAND / "final_word_dict.txt").read_text().splitlines())
    assert min(int(c) for c in words.values()) >= 30  # the released vocabulary follows the same rule


def write_maryland_fixture(root: Path, size: int = 8) -> None:
    from PIL import Image

    (root / "category_id.txt").write_text("11 Tops\n27 Jeans\n41 Sandals\n53 Necklaces\n")
    rng = np.random.default_rng(0)
    for split, sets in (("train", 4), ("valid", 1), ("test", 3)):
        outfits = []
        for s in range(sets):
            set_id = f"{split}{s}"
            items = [{"index": k + 1, "name": name, "categoryid": cat, "price": 1.0, "likes": 1, "image": ""}
                     for k, (name, cat) in enumerate((("red top", 11), ("blue jeans", 27), ("sandals", 41)))]
            outfits.append({"set_id": set_id, "name": "look", "items": items, "views": 1, "likes": 1})
            for it in items:
                folder = root / "images" / set_id
                folder.mkdir(parents=True, exist_ok=True)
                pixels = rng.integers(0, 255, (size, size, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(folder / f"{it['index']}.jpg")
        (root / f"{split}_no_dup.json").write_text(json.dumps(outfits))
    (root / "fill_in_blank_test.json").write_text(json.dumps([
        {"question": ["test0_1", "test0_3"], "answers": ["test0_2", "test1_2", "test2_2", "test1_1"],
         "blank_position": 2}]))
    (root / "fashion_compatibility_prediction.txt").write_text(
        "1 test0_1 test0_2 test0_3\n0 test1_1 test2_2 test0_3\n")


def test_maryland_fixture_tasks(tmp_path):
    write_maryland_fixture(tmp_path)
    data = pv.load_polyvore(tmp_path)
    q = data.fitb[0]
    assert q.context == ("test0_1", None, "test0_3") and q.answer == 0  # Maryland lists the answer first
    assert [e.label for e in data.compatibility] == [1, 0]
    typed = pv.fitb_from_outfits(data, "test", negatives="type", seed=0)
    for q in typed:
        cats = {data.items[c].subcategory for c in q.candidates}
        assert len(cats) == 1 and q.candidates[q.answer] in data.pool("test")
    compat = pv.compatibility_from_outfits(data, "test")
    assert sorted(e.label for e in compat) == [0, 0, 0, 1, 1, 1]


def test_maryland_task_files_under_label(tmp_path):
    """Some copies keep the two task files in ``label/``: both are found there."""
    write_maryland_fixture(tmp_path)
    (tmp_path / "label").mkdir()
    for name in ("fill_in_blank_test.json", "fashion_compatibility_prediction.txt"):
        (tmp_path / name).rename(tmp_path / "label" / name)
    data = pv.load_polyvore(tmp_path)
    assert len(data.fitb) == 1 and [e.label for e in data.compatibility] == [1, 0]


def test_maryland_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="category_id.txt"):
        pv.load_polyvore(tmp_path)
    write_maryland_fixture(tmp_path)
    (tmp_path / "valid_no_dup.json").write_text("[{")
    with pytest.raises(ValueError, match="valid_no_dup.json"):
        pv.load_polyvore(tmp_path)
    (tmp_path / "valid_no_dup.json").write_text(json.dumps([{"set_id": "x", "items": [{"index": 1}]}]))
    with pytest.raises(ValueError, match="valid_no_dup.json: outfit 0 lacks"):
        pv.load_polyvore(tmp_path)


def test_category_slots():
    assert pv.slot_of("Ankle Booties") == "shoes" and pv.slot_of("Men's Dress Shoes") == "shoes"
    assert pv.slot_of("Day Dresses") == "dress" and pv.slot_of("Skinny Jeans") == "bottom"
    assert pv.slot_of("Men's Dress Shirts") == "top" and pv.slot_of("Flatware") == "accessory"


# ----- Polyvore Outfits ---------------------------------------------------------------------------
OUTFITS = REALDATA / "polyvore-outfits"


@pytest.mark.skipif(not OUTFITS.exists(), reason="shared/realdata not available")
def test_polyvore_outfits_real_sample():
    data = load_polyvore_outfits(OUTFITS, splits=("valid",), metadata=False, task_split="valid")
    assert len(data.outfits["valid"]) == 5000 and len(data.items) == 25132
    assert len(data.compatibility) == 10000 and sum(e.label for e in data.compatibility) == 5000
    assert all(i in data.items for e in data.compatibility[:200] for i in e.item_ids)  # keys resolved
    assert len(data.missing_images) == 25132  # the sample ships no outfit images: all counted
    cats = read_categories(OUTFITS / "categories.csv")  # CRLF, repeated ids, trailing spaces
    assert len(cats) == 159 and cats["3"] == ("dress", "all-body") and cats["11"] == ("sweater", "tops")
    assert cats["51"][1] == "accessories"  # "accessories " in the file
    with pytest.raises(FileNotFoundError, match="polyvore_item_metadata.json"):
        load_polyvore_outfits(OUTFITS, splits=("valid",))


def test_polyvore_outfits_fixture_with_metadata_and_fitb(tmp_path):
    folder = tmp_path / "nondisjoint"
    folder.mkdir()
    outfits = [{"set_id": "s1", "items": [{"item_id": "11", "index": 1}, {"item_id": "12", "index": 2}]},
               {"set_id": "s2", "items": [{"item_id": "22", "index": 2}, {"item_id": "21", "index": 1}]}]
    (folder / "test.json").write_text(json.dumps(outfits))
    (folder / "fill_in_blank_test.json").write_text(json.dumps([
        {"question": ["s1_1"], "answers": ["s2_2", "s1_2", "s2_1", "s2_2"], "blank_position": 2}]))
    (folder / "compatibility_test.txt").write_text("1 s1_1 s1_2\n0 s1_1 s2_2\n")
    meta = {i: {"title": f"item {i}", "category_id": "11", "semantic_category": "tops"} for i in ("11", "21")}
    meta |= {i: {"title": "", "url_name": f"jeans {i}", "category_id": "27", "semantic_category": "bottoms"}
             for i in ("12", "22")}
    (tmp_path / "polyvore_item_metadata.json").write_text(json.dumps(meta))
    (tmp_path / "categories.csv").write_bytes(b"11,top,tops\r\n27,jeans,bottoms\r\n")
    data = load_polyvore_outfits(tmp_path, splits=("test",))
    assert data.outfits["test"][1].item_ids == ("21", "22")  # sorted by index
    q = data.fitb[0]
    assert q.context == ("11", None) and q.candidates[q.answer] == "12" and q.answer == 1
    assert data.compatibility[1].item_ids == ("11", "22")
    assert data.items["22"].category == "bottom" and data.items["22"].text == "jeans 22"


# ----- the paper profile: one training step on CPU --------------------------------------------------
def test_paper_profile_runs_one_step_on_cpu(tmp_path):
    write_maryland_fixture(tmp_path, size=96)
    cfg = bilstm.Config.for_profile("paper", data_root=str(tmp_path), pretrained=False, image_size=80,
                                    min_word_count=1, train=TrainConfig(epochs=1, batch_size=2, lr=0.2,
                                                                        optimizer="sgd", momentum=0.0,
                                                                        schedule="step", grad_clip=5.0))
    assert cfg.backbone == "inception_v3" and cfg.finetune and cfg.embed_dim == cfg.lstm_dim == 512
    data = bilstm.load_data(cfg)
    assert data.table.inputs is None and len(data.fitb["random"]) == 1  # images read from disk
    assert data.in_dim == 0 and data.digest == bilstm.load_data(cfg).digest  # the same files, the same digest
    (tmp_path / "fashion_compatibility_prediction.txt").write_text("1 test0_1 test0_2 test0_3\n")
    assert bilstm.load_data(cfg).digest != data.digest  # another task file, another run folder
    data.train = data.train[:2]
    model, history = bilstm.train_method(cfg, "bilstm_vse", data, seed=0)
    assert len(history.rows) == 1 and math.isfinite(history.rows[0]["train_loss"])
    assert model.encoder.backbone.name == "inception_v3"


# ----- the paper path: the paper profile's data call on exports and on the real Maryland sample -------------
def paper_on_cpu(**kw) -> bilstm.Config:
    return bilstm.Config.for_profile("paper", device="cpu", **(bilstm.Config.PAPER_ON_CPU | kw))


@pytest.mark.parametrize("fmt", ["polyvore", "polyvore_outfits"])
def test_paper_path_data_on_an_export_has_the_right_sizes(tmp_path, fmt):
    from fashionrec.export import export

    exported = export(fmt, tmp_path, "smoke", 0, image_size=32)
    cfg = paper_on_cpu(dataset=fmt, data_root=str(tmp_path))
    assert {"pretrained", "image_size", "max_train_outfits", "train"} <= set(cfg.overridden)
    assert (cfg.backbone, cfg.embed_dim, cfg.train.batch_size, cfg.train.lr) == ("inception_v3", 512, 10, 0.2)
    data = bilstm.load_data(cfg)
    assert len(data.train) == cfg.max_train_outfits and len(data.test) == 120  # the smoke world's test outfits
    assert data.table.inputs is None and data.table.image_size == 75  # images from disk, fine-tuned
    n = exported.counts["FITB questions" if fmt == "polyvore" else "test FITB questions"]
    from_file, built = ("random", "type") if fmt == "polyvore" else ("type", "random")
    assert n - 2 <= len(data.fitb[from_file]) <= n  # minus the questions using a missing image (at most 2)
    assert 0 < len(data.fitb[built]) <= 120
    assert "read from fill_in_blank_test.json" in data.note and "built from the test outfits" in data.note
    assert "items without an image file" in data.note  # the missing images are counted, not silent


@pytest.mark.skipif(not MARYLAND.exists(), reason="shared/realdata not available")
def test_paper_path_trains_and_evaluates_on_the_real_maryland_sample(capsys):
    cfg = paper_on_cpu(data_root=str(MARYLAND))
    data = bilstm.load_data(cfg)
    assert (len(data.train), len(data.test), len(data.table.item_ids)) == (9, 5, 97)
    assert "3 items without an image file" in data.note and "fill_in_blank_test.json not found" in data.note
    assert (len(data.fitb["random"]), len(data.compatibility)) == (5, 10)  # built from the 5 test outfits
    assert len(data.vocab) == 0  # 9 training outfits: no word is seen 30 times (the paper's rule)
    model, history = bilstm.train_method(cfg, "bilstm_vse", data, seed=0)
    assert len(history.rows) == 1 and math.isfinite(history.rows[0]["train_loss"])
    result = bilstm.evaluate(model, data)
    assert 0.0 <= result["fitb_random"] <= 1.0 and 0.0 <= result["auc"] <= 1.0
    fig = bilstm.fitb_questions(model, data, 32)  # real images from the files
    assert fig is not None and bilstm.check_generation(model, data, [], {}, np.random.default_rng(0)) == {}
    assert "needs FashionWorld's oracle; skipped" in capsys.readouterr().out  # said, not silently empty


# ----- the smoke notebook's results -------------------------------------------------------------------
@pytest.mark.smoke_outputs
def test_smoke_notebook_results_in_range():
    runs = Path(os.environ.get("FASHIONREC_RUNS", ROOT / "build" / "runs"))
    metrics = report.load_metrics("bilstm", "smoke", root=runs)
    assert 0.5 <= metrics["ch1_fitb_random"] <= 1.0  # chance 0.25
    assert 0.3 <= metrics["ch1_fitb_type"] <= 1.0
    assert 0.55 <= metrics["ch1_auc"] <= 1.0
    assert metrics["ch1_fitb_random"] > metrics["ch1_vse_fitb_random"]  # sequence model > VSE only
    assert metrics["ch1_oracle_fitb_type"] > metrics["ch1_fitb_type"]
