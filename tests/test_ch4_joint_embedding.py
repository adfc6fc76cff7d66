"""Chapter 4: the joint embedding model and its losses, the search methods and their evaluation, search at
scale, the catalog loaders (real samples and fixtures), the paper profile's training step, the smoke run."""

from __future__ import annotations

import itertools
import json
import math
import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader, TensorDataset

from fashionrec import claims, metrics, report, train
from fashionrec import joint_embedding as je
from fashionrec.backbones import build_backbone
from fashionrec.config import TrainConfig
from fashionrec.datasets.catalog import (attribute_queries, augment_views, colors_in_text, load_catalog,
                                         load_fashion_product_images, load_images, load_polyvore_outfits_catalog,
                                         read_styles_csv, split_items)
from fashionrec.index import VectorIndex
from fashionrec.joint_embedding import (CNNEncoder, JointEmbedding, JointLoss, SameItemTripletLoss, VisualModel,
                                        attribute_loss, embed, mbmr_loss, retrieval_recall, triplet_loss)
from fashionrec.records import Item, MultimodalQuery

ROOT = Path(__file__).resolve().parents[1]
REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"


# ----- model and losses ------------------------------------------------------------------------
def test_model_shapes_on_features_and_on_images():
    model = JointEmbedding(image_dim=12, vocab_size=7, dim=5)
    f_i, f_t, logits = model(torch.randn(3, 12), torch.ones(3, 7))
    assert f_i.shape == (3, 5) and f_t.shape == (3, 5) and logits.shape == (3, 7)
    cnn = JointEmbedding(32, 7, 5, encoder=CNNEncoder(build_backbone("small_cnn", width=4)))
    images = torch.randint(0, 256, (2, 32, 32, 3), dtype=torch.uint8)
    assert cnn.image_embedding(images).shape == (2, 5)
    with pytest.raises(ValueError, match=r"\(V, dim\)"):
        JointEmbedding(12, 7, 5, word_vectors=np.zeros((7, 4)))


def test_text_embedding_is_the_sum_of_word_embeddings():
    vectors = np.arange(12, dtype=np.float32).reshape(4, 3)
    model = JointEmbedding(2, 4, 3, word_vectors=vectors)
    bag = torch.tensor([[1.0, 0, 2, 0]])  # words 0, 2, 2
    np.testing.assert_allclose(model.text_embedding(bag).detach().numpy(), [vectors[0] + 2 * vectors[2]])


S_EXAMPLE = (torch.tensor([[1.0, 0.0], [1.0, 1.0]]), torch.tensor([[1.0, 0.0], [0.0, 1.0]]))  # S = [[1, 0], [r, r]]


def test_mbmr_loss_hand_checked():
    r = 1 / math.sqrt(2)
    # image -> text rows of S / tau (tau = 1): [1, 0] with target 0, [r, r] with target 1
    image_side = (math.log(1 + math.exp(-1)) + math.log(2)) / 2
    # text -> image rows of S^T: [1, r] with target 0, [0, r] with target 1
    text_side = (math.log(1 + math.exp(r - 1)) + math.log(1 + math.exp(-r))) / 2
    assert mbmr_loss(*S_EXAMPLE, tau=1.0).item() == pytest.approx(image_side + text_side, abs=1e-6)
    # a lower temperature sharpens: the matched pairs' loss falls when they are already the best
    f = torch.eye(3)
    assert mbmr_loss(f, f, tau=0.05) < mbmr_loss(f, f, tau=1.0)


def test_triplet_loss_hand_checked():
    # S = [[1, 0], [r, r]], margin 0.2: only (anchor 1, negative text 0) violates: 0.2 - r + r = 0.2
    assert triplet_loss(*S_EXAMPLE, margin=0.2).item() == pytest.approx(0.2 / 2, abs=1e-6)
    f = torch.eye(4)
    assert triplet_loss(f, f, margin=0.2).item() == 0.0


def test_attribute_loss_is_bce_on_word_presence():
    logits, bags = torch.tensor([[0.0, 2.0]]), torch.tensor([[3.0, 0.0]])  # word 0 present (3 times), word 1 not
    expected = -(math.log(0.5) + math.log(1 - 1 / (1 + math.exp(-2)))) / 2
    assert attribute_loss(logits, bags).item() == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("match", ["mbmr", "triplet"])
def test_training_lowers_the_loss_and_learns_the_match(match):
    gen = torch.Generator().manual_seed(0)
    bags = (torch.rand(64, 20, generator=gen) < 0.2).float()
    features = bags @ torch.randn(20, 16, generator=gen) + 0.1 * torch.randn(64, 16, generator=gen)
    torch.manual_seed(0)
    model = JointEmbedding(16, 20, 8)
    loss_fn = JointLoss(match)
    before = loss_fn(model, (features, bags)).item()
    loader = DataLoader(TensorDataset(features, bags), batch_size=32, shuffle=True, generator=gen)
    history = train.fit(model, loader, loss_fn, TrainConfig(epochs=30, lr=1e-2), progress=False)
    assert history.rows[-1]["train_loss"] < 0.5 * before
    f_i, f_t = embed(model.image_embedding, features), embed(model.text_embedding, bags)
    assert retrieval_recall(f_i, f_t, k=5) > 0.5  # chance: 5 / 64
    with pytest.raises(ValueError, match="match"):
        JointLoss("hinge")


def test_visual_judge_trains_on_same_item_pairs():
    gen = torch.Generator().manual_seed(0)
    shop = torch.randn(32, 10, generator=gen)
    other = shop + 0.3 * torch.randn(32, 10, generator=gen)
    torch.manual_seed(0)
    judge = VisualModel(10, 6)
    train.fit(judge, DataLoader(TensorDataset(shop, other), batch_size=16), SameItemTripletLoss(),
              TrainConfig(epochs=20), progress=False)
    assert retrieval_recall(embed(judge, other), embed(judge, shop), k=1) > 0.8


def test_config_presets():
    smoke, standard, paper = (je.Config.for_profile(p) for p in ("smoke", "standard", "paper"))
    assert smoke.train.epochs < standard.train.epochs and len(standard.seeds) >= 3
    assert (paper.backbone, paper.finetune, paper.dataset) == ("resnet18", True, "catalog")
    assert je.Config.for_profile("smoke", seed=3).seed == 3
    assert je.Config.for_profile("standard", seed=3).seeds == (3, 4, 5)
    with pytest.raises(ValueError, match="profile"):
        je.Config.for_profile("huge")
    with pytest.raises(ValueError, match="dataset"):
        je.Config.for_profile("standard", dataset="polyvore")


def test_paper_preset_keeps_its_dataset_and_root_when_the_notebook_passes_none():
    cfg = je.Config.for_profile("paper", dataset=None, data_root=None, device=None, seed=0)
    assert (cfg.dataset, cfg.data_root) == ("catalog", "data/fashion-product-images")
    assert not cfg.on_world
    given = je.Config.for_profile("paper", data_root="/elsewhere")
    assert (given.dataset, given.data_root) == ("catalog", "/elsewhere")
    assert je.Config.for_profile("standard", dataset=None).on_world


# ----- search methods -----------------------------------------------------------------------------
def test_arithmetic_query_normalises_each_term():
    q = je.arithmetic_query(np.array([2.0, 0.0]), np.array([0.0, 5.0]), np.zeros(2), weight=0.5)
    np.testing.assert_allclose(q, [1.0, 0.5])


def test_soft_filter_hand_checked():
    probs = np.array([[0.5, 0.3, 0.1], [0.7, 0.6, 0.5]])
    # wanted value = words 0 or 1 (synonyms: probabilities add, capped at 1); unwanted value = word 2
    np.testing.assert_allclose(je.soft_filter(probs, [[0, 1]], [[2]]), [0.8 * 0.9, 1.0 * 0.5], rtol=1e-6)
    np.testing.assert_allclose(je.filtered_scores(np.array([0.5, -0.5]), np.array([0.5, 1.0])), [0.25, 0.0])


def test_hard_filter_and_scores():
    words = [{"red", "stripe"}, {"red"}, {"blue", "stripe"}]
    keep = je.hard_filter(words, wanted=[{"stripe"}], unwanted=[{"red", "crimson"}])
    np.testing.assert_array_equal(keep, [False, False, True])
    scores = je.hard_scores(np.array([0.9, 0.1, 0.2]), keep)
    assert list(np.argsort(-scores)) == [2, 0, 1]


def small_engine() -> je.MultimodalSearch:
    images = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.7, 0.7]])  # item 0 is the query
    probs = np.array([[0.9, 0.1], [0.9, 0.1], [0.1, 0.9], [0.2, 0.9]])  # words: red, blue
    words = np.array([[1.0, 0.0], [0.0, 1.0]])  # red points along x, blue along y
    return je.MultimodalSearch(images, probs, words, {"red": ("red",), "blue": ("blue",)}, {"red": 0, "blue": 1},
                                   text_words=[{"red"}, {"red"}, {"blue"}, {"blue"}],
                                   true_values=[{"red"}, {"red"}, {"blue"}, {"blue"}])


def test_every_method_on_a_tiny_catalog():
    engine = small_engine()
    request = je.Request(engine.image_embeddings[0], ("blue",), ("red",))
    top = {m: int(np.argmax(np.where(np.arange(4) == 0, -np.inf, engine.scores(request, m)))) for m in je.METHODS}
    assert top["visual"] == 1  # the look-alike, still red
    assert top["arithmetic"] == 2  # q = x + y - x = y: the blue item
    assert top["soft filter"] == 3  # cos(x, .) * p: the blue item that still looks like the query
    assert top["combined"] == 2  # cos(y, .) * p
    assert top["hard filter (text)"] == 3 and top["hard filter (attributes)"] == 3
    with pytest.raises(ValueError, match="method"):
        engine.scores(request, "magic")
    with pytest.raises(KeyError, match="lexicon"):
        engine.scores(je.Request(engine.image_embeddings[0], ("green",), ()), "combined")


def test_relevance_chance_and_ndcg():
    values = [{"red", "stripes"}, {"blue"}, {"blue", "stripes"}]
    np.testing.assert_allclose(je.text_relevance(values, ["blue"], ["stripes"]), [0.0, 1.0, 0.5])
    rng = np.random.default_rng(0)
    rel = rng.random(5)
    # chance = the mean nDCG@2 over every ordering of the pool
    exact = np.mean([metrics.graded_ndcg(rel[list(p)][:2], rel, k=2) for p in itertools.permutations(range(5))])
    assert je.chance_ndcg(rel, 2) == pytest.approx(exact)
    assert je.chance_ndcg(np.zeros(4), 2) == 0.0  # nothing relevant
    scores, graded = rng.random(30), rng.random(30)
    assert je.ndcg_at_k(scores, graded, 10) == pytest.approx(metrics.ndcg_at_m(scores, graded, 10))
    assert je.ndcg_at_k(graded, graded, 10) == pytest.approx(1.0)
    # ties are averaged, whatever the catalog order: two items tied at the top, one relevant
    assert je.ndcg_at_k(np.array([1.0, 1.0, 0.0]), np.array([1.0, 0.0, 0.0]), 1) == pytest.approx(0.5)
    assert je.ndcg_at_k(np.array([1.0, 1.0, 0.0]), np.array([0.0, 1.0, 0.0]), 1) == pytest.approx(0.5)
    assert float(metrics.mm_ndcg(0.64, 0.25)) == pytest.approx(0.4)


def test_evaluate_table_and_tuning():
    engine = small_engine()
    judge = np.array([[1.0, 0.0], [0.95, 0.05], [0.0, 1.0], [0.6, 0.8]])
    query = MultimodalQuery("q0", "i0", "replace", ("blue",), ("red",), relevant=("i3",))
    ids = ["i0", "i1", "i2", "i3"]
    result = je.evaluate(engine, [query], ids, judge, engine.true_values, k=2)
    assert set(result.method) == {*je.METHODS, "oracle", "chance"}
    t = je.table(result)
    assert t.loc["oracle", "T-nDCG"] == pytest.approx(1.0)
    assert t.loc["visual", "V-nDCG"] == pytest.approx(1.0)  # the judge agrees with the model here
    v, t_ = t.loc["combined", "V-nDCG"], t.loc["combined", "T-nDCG"]
    assert t.loc["combined", "MM-nDCG"] == pytest.approx(math.sqrt(v * t_))
    grid = (0.1, 1.0)
    best = je.tune_weight(engine, "arithmetic", [query], ids, judge, engine.true_values, grid=grid, k=2)
    mm = [je.table(je.evaluate(engine, [query], ids, judge, engine.true_values, ["arithmetic"], 2,
                                       weights={"arithmetic": w})).loc["arithmetic", "MM-nDCG"] for w in grid]
    assert best == grid[int(np.argmax(mm))]  # the grid value with the best MM-nDCG (the first on a tie)
    real = je.evaluate(engine, [query], ids, judge, engine.true_values, k=2, oracle=False)  # real data
    assert set(real.method) == {*je.METHODS, "chance"}
    pd.testing.assert_frame_equal(real, result[result.method != "oracle"].reset_index(drop=True))


# ----- search at scale ---------------------------------------------------------------------------------
def test_scalable_search_equals_exact_when_it_sees_everything():
    rng = np.random.default_rng(0)
    gallery = rng.normal(size=(300, 8)).astype(np.float32)
    probs = rng.random((300, 5)).astype(np.float32)
    queries = rng.normal(size=(4, 8)).astype(np.float32)
    wanted, unwanted = [[[0, 1]]] * 4, [[[3]]] * 4
    exact = je.exact_soft_search(gallery, probs, queries, wanted, unwanted, k=10, chunk=70)
    full = je.ScalableSearch(VectorIndex.build(gallery, "cosine"), probs, candidates=300)
    _, ids = full.search(queries, wanted, unwanted, k=10)
    assert je.recall_at_k(ids, exact, k=10) == 1.0
    ivf = VectorIndex.build(je.normalize(gallery), "ip", kind="ivf", nlist=8, nprobe=8, train_size=300)
    _, ids = ivf.search(je.normalize(queries), 10)
    _, flat = VectorIndex.build(gallery, "cosine").search(queries, 10)
    assert je.recall_at_k(ids, flat, k=10) == 1.0  # every cell probed: exact
    assert len(je.latencies(lambda q: ivf.search(q, 5), queries, warmup=1)) == 4


def test_embedding_sampler_matches_the_reference_distribution():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 20)) * 3
    x = centres[rng.integers(3, size=600)] + rng.normal(size=(600, 20)) * 0.5
    sampler = je.EmbeddingSampler.fit(x, n_components=3, pca_dim=5)
    y = sampler.sample(3000, seed=1, chunk=700)
    assert y.shape == (3000, 20) and y.dtype == np.float32
    np.testing.assert_allclose(y.mean(0), x.mean(0), atol=0.4)
    np.testing.assert_allclose(np.linalg.norm(y, axis=1).mean(), np.linalg.norm(x, axis=1).mean(), rtol=0.1)


# ----- catalog loaders ------------------------------------------------------------------------------------
STYLES_HEADER = "id,gender,masterCategory,subCategory,articleType,baseColour,season,year,usage,productDisplayName"


def write_jpg(path: Path, colour=(200, 30, 30), size=(40, 60)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)


def test_fashion_product_images_real_sample():
    root = REALDATA / "fashion-product-images"
    if not root.exists():
        pytest.skip("shared/realdata is absent")
    catalog = load_catalog(root)
    assert catalog.source == "fashion_product_images" and len(catalog.items) == 295  # Unnamed: 10/11 ignored
    assert len(catalog.missing_images) == 285 and len(catalog.with_images) == 10  # counted, not dropped
    assert "285 without an image" in catalog.summary()
    first = catalog.items[0]
    assert (first.item_id, first.category, first.subcategory, first.colors) == ("1163", "topwear", "tshirts", ("blue",))
    images, failed = load_images(catalog.with_images, 32)
    assert images.shape == (10, 32, 32, 3) and failed == []
    assert (images[:, 0, 0] > 200).all()  # white padding around a tall photo


def test_styles_csv_fixture_quirks_and_errors(tmp_path):
    (tmp_path / "styles.csv").write_text(
        f"{STYLES_HEADER},Unnamed: 10\n"
        "1,Women,Apparel,Topwear,Tops,Red,Summer,2012,Casual,Red Floral Top,\n"
        "2,Men,Apparel,Topwear,Shirts,Navy Blue,Fall,2011,Formal,Shirt, Navy, Slim Fit,\n"  # commas in the name
        "3,Women,Footwear,Shoes,Heels,,Winter,2013,Party,Silver Heels\n")
    write_jpg(tmp_path / "images" / "1.jpg")
    catalog = load_fashion_product_images(tmp_path)
    assert [it.text for it in catalog.items] == ["Red Floral Top", "Shirt, Navy, Slim Fit", "Silver Heels"]
    assert catalog.items[1].colors == ("navy",) and catalog.items[2].colors == ()  # "Navy Blue" is navy
    assert (catalog.items[0].colors, catalog.items[0].pattern) == (("red",), "floral")  # stated in the title
    assert catalog.missing_images == ["2", "3"]
    (tmp_path / "styles.csv").write_text("id,gender,productDisplayName\n1,Men,x\n")
    with pytest.raises(ValueError, match="missing column"):
        read_styles_csv(tmp_path / "styles.csv")
    with pytest.raises(FileNotFoundError, match="styles.csv"):
        load_fashion_product_images(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="no product catalog"):
        load_catalog(tmp_path / "nowhere")


def polyvore_metadata(ids: list[str]) -> dict:
    texts = ["Red striped cotton T-shirt", "", "Black leather ankle boots", "Navy blue denim skirt",
             "Gold hoop earrings"]
    return {i: {"url_name": f"url name {k}", "title": texts[k % len(texts)],
                "description": "Soft, light.\nMachine wash",
                "catgeories": ["Women's Fashion"], "related": [], "category_id": "11", "semantic_category": "tops"}
            for k, i in enumerate(ids)}


def test_polyvore_outfits_real_sample_with_fixture_metadata(tmp_path):
    root = REALDATA / "polyvore-outfits"
    if not root.exists():
        pytest.skip("shared/realdata is absent")
    with_images = sorted(p.stem for p in (root / "images").glob("*.jpg"))  # 5 real item images
    outfits = json.loads((root / "valid.json").read_text())
    in_valid = [it["item_id"] for it in outfits[0]["items"]]  # real ids without image files
    meta = tmp_path / "polyvore_item_metadata.json"
    meta.write_text(json.dumps(polyvore_metadata(with_images + in_valid)))
    catalog = load_polyvore_outfits_catalog(root, metadata=meta)
    assert len(catalog.items) == len(with_images) + len(in_valid)
    assert sorted(catalog.missing_images) == sorted(in_valid)  # counted and reported
    by_id = {it.item_id: it for it in catalog.items}
    first = by_id[with_images[0]]
    assert first.subcategory == "sweater" and first.category == "tops"  # id 11 repeats in categories.csv: first row
    assert first.text == "Red striped cotton T-shirt. Soft, light. Machine wash" and first.colors == ("red",)
    assert by_id[with_images[1]].text.startswith("url name 1")  # empty title -> url_name
    split = load_polyvore_outfits_catalog(root, split="valid", metadata=meta)  # the flat course copy
    assert sorted(it.item_id for it in split.items) == sorted(in_valid)
    images, failed = load_images(catalog.items, 48)
    assert images.shape == (5, 48, 48, 3) and sorted(failed) == sorted(in_valid)


def test_polyvore_fixture_layout_and_errors(tmp_path):
    (tmp_path / "nondisjoint").mkdir()
    outfits = [{"set_id": "1", "items": [{"item_id": "a", "index": 1}]}]
    (tmp_path / "nondisjoint" / "train.json").write_text(json.dumps(outfits))
    (tmp_path / "polyvore_item_metadata.json").write_text(json.dumps(polyvore_metadata(["a", "b"])))
    write_jpg(tmp_path / "images" / "a.jpg")
    catalog = load_catalog(tmp_path, split="train")
    assert [it.item_id for it in catalog.items] == ["a"] and catalog.missing_images == []
    assert catalog.items[0].subcategory == "tops"  # no categories.csv: the semantic category
    with pytest.raises(FileNotFoundError, match="split 'test'"):
        load_catalog(tmp_path, split="test")
    (tmp_path / "polyvore_item_metadata.json").write_text('{"a": {"title": "x"}}')
    with pytest.raises(ValueError, match="semantic_category"):
        load_catalog(tmp_path)
    (tmp_path / "polyvore_item_metadata.json").write_text("[1, 2")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_catalog(tmp_path)


def test_colours_views_queries_and_split():
    assert colors_in_text("Light blue jacket, navy trim") == ("light blue", "navy")
    images = np.random.default_rng(0).integers(0, 256, (3, 16, 16, 3), dtype=np.uint8)
    assert augment_views(images, np.random.default_rng(0)).shape == images.shape
    items = [Item(f"i{k}", "tops", "tee", colors=(c,), pattern=p) for k, (c, p) in
             enumerate(itertools.product(("red", "blue", "black"), ("solid", "stripes")))] * 2
    items = [replace(it, item_id=f"i{k}") for k, it in enumerate(items)]
    queries = attribute_queries(items, 6, seed=0)
    assert len(queries) == 6 and {q.kind for q in queries} == {"add", "remove", "replace"}
    values = {it.item_id: {*it.colors, it.pattern} for it in items}
    for q in queries:
        assert q.relevant and all(set(q.wanted) <= values[r] and not set(q.unwanted) & values[r] for r in q.relevant)
    parts = split_items(items, seed=0)
    assert sum(len(v) for v in parts.values()) == len(items)


def test_queries_on_a_colour_only_catalog_remove_and_replace():
    # rows that state a colour only (a baseColour, a title naming no pattern or material): no "add" request
    # can be checked, and the other kinds take turns (on de11737 an impossible "add" turn gave no query at all)
    items = [Item(f"{k}", "top", "t-shirt", colors=(c,)) for k, c in enumerate(("red", "blue", "black") * 4)]
    queries = attribute_queries(items, 8, seed=0)
    assert len(queries) == 8 and [q.kind for q in queries] == ["remove", "replace"] * 4
    for q in queries:
        assert q.relevant and all(set(q.wanted) <= {items[int(r)].colors[0]} and
                                  not set(q.unwanted) & {items[int(r)].colors[0]} for r in q.relevant)
    assert [q.kind for q in je.first_of_each_kind(queries)] == ["remove", "replace"]
    assert attribute_queries([Item("a", "top", "tee")], 3) == []  # nothing to ask: no query, no endless loop


# ----- the paper profile: one training step on a tiny real-format catalog, on CPU ---------------------------
def test_paper_profile_runs_a_training_step_on_a_fixture_catalog(tmp_path):
    kinds = itertools.product(("Red", "Blue"), ("Striped", "Floral"), ("Tops", "Shirts"))
    rows = [f"{k},Women,Apparel,Topwear,{t},{c},Summer,2012,Casual,{c} {p} {t.lower()}"
            for k, (c, p, t) in enumerate(kinds)]
    (tmp_path / "styles.csv").write_text(f"{STYLES_HEADER}\n" + "\n".join(rows) + "\n")
    for k, colour in enumerate([(200, 30, 30)] * 4 + [(30, 30, 200)] * 4):
        write_jpg(tmp_path / "images" / f"{k}.jpg", colour)
    cfg = je.Config.for_profile("paper", pretrained=False, data_root=str(tmp_path), photos_per_item=1,
                                n_queries=4, min_count=1)
    data = je.load_data(cfg)  # the notebook's one data call, on the real-catalog path
    assert data.images["train"].shape[1:] == (224, 224, 3) and len(data.photos) == len(data.items["train"])
    assert data.inputs["train"] is data.images["train"] and data.standardiser is None  # fine-tuned CNN
    assert data.bags["train"].shape == (len(data.items["train"]), len(data.vocab)) and len(data.vocab) > 0
    assert data.digest == je.load_data(cfg).digest  # deterministic
    assert data.digest != je.load_data(je.Config.for_profile("paper", pretrained=False, data_root=str(tmp_path),
                                                             photos_per_item=1, n_queries=4, min_count=1,
                                                             seed=1)).digest
    torch.manual_seed(0)
    model = je.make_model(cfg, data)
    assert isinstance(model.encoder, CNNEncoder) and model.image_fc.in_features == 512
    batch = TensorDataset(torch.as_tensor(data.images["train"][:4]), torch.as_tensor(data.bags["train"][:4]))
    loader = DataLoader(batch, batch_size=4)
    history = train.fit(model, loader, JointLoss("mbmr", cfg.tau, cfg.margin, cfg.attr_weight),
                        replace(cfg.train, epochs=1), progress=False)
    assert len(history.rows) == 1 and np.isfinite(history.rows[0]["train_loss"])


def test_paper_path_data_call_on_a_catalog_export(tmp_path):
    # what `fashionrec paper-path 04` runs: the paper preset with its CPU sizes on a smoke export
    from fashionrec.datasets.catalog import export
    from fashionrec.export import Quirks
    from fashionrec.world.world import World, WorldConfig

    world = World.build(WorldConfig.for_profile("smoke"))
    out = export(world, tmp_path, Quirks(seed=0), image_size=48)
    cfg = je.Config.for_profile("paper", data_root=str(tmp_path), **je.Config.PAPER_ON_CPU)
    assert (cfg.dataset, cfg.backbone, cfg.finetune, cfg.dim, cfg.tau) == ("catalog", "resnet18", True, 512, 0.1)
    assert set(cfg.overridden) == {"data_root", "pretrained", "image_size", "min_count", "train", "judge_train",
                                   "n_queries", "scale_n"} and cfg.train.lr == 1e-4 and cfg.train.epochs == 1
    data = je.load_data(cfg)
    n = len(world.items) - len(out.missing)  # the missing images are counted and left out
    assert [len(data.items[s]) for s in je.SPLITS] == [int(0.7 * n), int(0.1 * n), n - int(0.7 * n) - int(0.1 * n)]
    assert data.images["train"].shape == (int(0.7 * n), 32, 32, 3) and data.inputs["test"] is data.images["test"]
    assert data.photos.shape == (2 * int(0.7 * n), 32, 32, 3)  # two augmented views per training item
    assert {s: len(q) for s, q in data.queries.items()} == {"valid": 150, "test": 150}
    assert {q.kind for q in data.queries["test"]} == {"add", "remove", "replace"}  # titles state patterns
    assert 20 < len(data.vocab) and data.bags["test"].shape == (len(data.items["test"]), len(data.vocab))
    assert all(it.colors for it in data.items["test"]) and data.lexicon


# ----- results, claims and glue ----------------------------------------------------------------------------
def fake_scores(seeds=(0, 1, 2)) -> pd.DataFrame:
    rows = []
    for s in seeds:
        for variant, shift in (("MBMR", 0.0), ("triplet", -0.05), ("MBMR, random init", 0.01 * (s - 1))):
            for k, method in enumerate(je.ROWS):
                v, t = 0.2 + 0.1 * k + shift + 0.01 * s, 0.9 - 0.1 * k + shift
                rows.append(dict(variant=variant, seed=s, method=method, **{"V-nDCG": v, "T-nDCG": t,
                                                                          "MM-nDCG": math.sqrt(v * t)}))
    return pd.DataFrame(rows)


def test_claims_frame_pairs_the_chapter_claims_by_seed():
    scores = fake_scores()
    frame = je.claims_frame(scores)
    best = frame[frame.method == f"MBMR: {je.BEST_SINGLE}"].sort_values("seed")
    mm = scores[scores.variant == "MBMR"].pivot_table(index="seed", columns="method", values="MM-nDCG")
    np.testing.assert_allclose(best["MM-nDCG"], np.maximum(mm["arithmetic"], mm["soft filter"]))
    tested = {text: claims.claim(frame, a, b, metric, text=text) for text, a, b, metric in je.CLAIMS}
    assert tested["MBMR combined MM-nDCG > triplet"].verdict == claims.HOLDS  # +0.05 on every seed
    assert tested["arithmetic V-nDCG > soft filter V-nDCG"].verdict == claims.REVERSED  # V grows with k
    word2vec = tested["word2vec init combined MM-nDCG > random init"]
    assert word2vec.verdict == claims.not_resolved(3) and np.mean(np.array(word2vec.diffs) > 0) == pytest.approx(1 / 3)


def test_summary_table_and_glue_keys():
    scores = fake_scores()
    summary = je.method_summary(scores)
    assert list(summary.index) == list(je.ROWS)
    mbmr = scores[(scores.variant == "MBMR") & (scores.method == "visual")]["V-nDCG"]
    assert summary.loc["visual", ("V-nDCG", "sd")] == pytest.approx(mbmr.std(ddof=1))
    glue = je.headline(summary)
    assert glue["ch4_v_hard_filter_attributes"] == pytest.approx(summary.loc["hard filter (attributes)",
                                                                             ("V-nDCG", "mean")])
    assert {f"ch4_mm_std_{je.method_key(m)}" for m in je.ROWS} <= set(glue)
    table = je.results_table(scores, k=10)
    assert list(table.index) == ["chance", *je.METHODS, "oracle"] and "10" in table.columns.name
    assert table.loc["oracle", "of the way"] == "1.00" and table.loc["chance", "of the way"] == "0.00"
    real = je.results_table(scores[scores.method != "oracle"], k=10)  # real data: no oracle row, no ratio
    assert list(real.index) == ["chance", *je.METHODS] and list(real.columns) == ["V-nDCG", "T-nDCG", "MM-nDCG",
                                                                                 "seeds"]


def test_kind_table_keeps_the_kinds_and_rows_present():
    rows = [dict(query_id=f"q{k}", kind=kind, method=m, V=0.5, T=0.8, variant="MBMR", seed=0)
            for k, kind in enumerate(("remove", "replace")) for m in ("chance", "combined", "visual")]
    table = je.kind_table(pd.DataFrame(rows))
    assert list(table.index) == ["chance", "visual", "combined"] and list(table.columns) == ["remove", "replace"]
    assert table.loc["visual", "remove"] == pytest.approx(round(math.sqrt(0.4), 3))


def test_benchmark_results_reader(tmp_path):
    assert je.benchmark_results(tmp_path) is None
    folder = tmp_path / "joint_embedding" / "benchmark"
    folder.mkdir(parents=True)
    (folder / "search_1.json").write_text(json.dumps({"n": 10, "dim": 4, "threads": 2, "queries": 3, "cpus": 2,
                                                      "rows": [{"index": "ivf", "recall20": 0.91234}]}))
    table = je.benchmark_results(tmp_path)
    assert table.loc[0, "recall20"] == 0.912 and table.loc[0, "n"] == 10



def test_benchmark_results_defaults_to_the_runs_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("FASHIONREC_RUNS", str(tmp_path))
    assert je.benchmark_results() is None
    folder = tmp_path / "joint_embedding" / "benchmark"
    folder.mkdir(parents=True)
    (folder / "search_1.json").write_text(json.dumps({"n": 7, "rows": [{"index": "hnsw", "recall20": 0.5}]}))
    assert je.benchmark_results().loc[0, "n"] == 7


# ----- receipts and glue (what the notebook prints and records) -------------------------------------------
def fake_data():
    from types import SimpleNamespace

    from fashionrec.text import Vocabulary

    kinds = ["add", "remove", "add", "replace", "add"]
    items = {s: [SimpleNamespace(subcategory=sub) for sub in subs]
             for s, subs in (("train", "ab"), ("valid", "a"), ("test", "aabb"))}
    return SimpleNamespace(
        items=items, images={s: np.zeros((len(v), 8, 8, 3), np.uint8) for s, v in items.items()},
        photos=np.zeros((3, 8, 8, 3), np.uint8), queries={"valid": [SimpleNamespace(kind="add")] * 2,
                                                          "test": [SimpleNamespace(kind=k) for k in kinds]},
        inputs={s: np.zeros((len(v), 6), np.float32) for s, v in items.items()},
        photo_inputs=np.zeros((3, 6), np.float32), pipe=SimpleNamespace(phrases=("light-blue", "polka-dot")),
        vocab=Vocabulary.build([["red", "stripe", "red"], ["dot", "red"]], 1),
        lexicon={"red": ("red",), "blue": (), "green": (), "black": (), "white": (), "stripes": ("stripe",)})


def test_data_and_vocab_receipts_contain_their_numbers():
    data = fake_data()
    text = je.receipt_data(data)
    assert text.splitlines()[0] == "items train/valid/test: 2/1/4"
    assert "(4, 8, 8, 3)" in text and "(3, 8, 8, 3)" in text and "queries valid/test: 2 / 5" in text
    assert "'add': np.int64(3)" in text or "'add': 3" in text
    assert "'test': (4, 6)" in text and "| photos: (3, 6)" in text
    vocab = je.receipt_vocab(data).splitlines()
    assert vocab[0] == "vocabulary: 3 words seen >= 1 times; 2 two-word names"
    assert vocab[1] == "most frequent: ['red', 'dot', 'stripe']"
    assert "'stripes': ('stripe',)" in vocab[2] and "'white'" not in vocab[2]  # first 4 values + patterns


def fake_results():
    scores = fake_scores()
    recalls = pd.DataFrame([{"variant": v, "seed": s, "image→text R@10": 0.1 * s, "text→image R@10": 0.2 + 0.1 * s}
                            for v in je.VARIANT_KEYS for s in (0, 1, 2)])
    compare = je.variant_comparison(scores, recalls)
    variants = claims.summarize(compare, [c for c in compare if c not in ("variant", "seed")], by="variant")
    frame = je.claims_frame(scores)
    tested = [claims.claim(frame, a, b, metric, text=text) for text, a, b, metric in je.CLAIMS]
    return scores, variants, tested


def test_judge_and_results_receipts_contain_their_numbers():
    from types import SimpleNamespace

    data = fake_data()
    judge = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.8, 0.2]])  # nearest 1, 0, 3, 1: 3 of 4 agree
    assert je.receipt_judge(judge, data).endswith("sub-category for 0.750 of the catalog")
    scores, variants, tested = fake_results()
    cfg = SimpleNamespace(seeds=(0, 1, 2), k=10)
    text = je.receipt_results(cfg, data, judge, scores, variants, tested)
    lines = text.splitlines()
    assert lines[0] == je.receipt_judge(judge, data)
    assert lines[1] == "MBMR model, 3 seed(s), 5 test queries, nDCG@10, mean over seeds"
    oracle_mm = scores[(scores.variant == "MBMR") & (scores.method == "oracle")]["MM-nDCG"].mean()
    oracle_row = next(line.split() for line in lines if line.startswith("oracle"))
    assert oracle_row[-1] == f"{oracle_mm:.3f}"  # the oracle row's MM-nDCG, 3 decimals
    assert f"{variants.loc['triplet', ('MM combined', 'mean')]:.3f}" in text
    assert lines[-len(tested):] == [str(c) for c in tested]


def test_results_and_scale_glue_keep_every_key():
    from types import SimpleNamespace

    data = fake_data()
    scores, variants, tested = fake_results()
    cfg = SimpleNamespace(seeds=(0, 1, 2), k=10)
    weights = {(v, s, m): 0.25 * (s + 1) for v in je.VARIANT_KEYS for s in cfg.seeds
               for m in ("arithmetic", "combined")}
    glue = je.results_glue(cfg, data, scores, weights, variants, tested)
    assert glue["ch4_alpha_combined"] == pytest.approx(0.5) and glue["ch4_alpha_arithmetic"] == pytest.approx(0.5)
    assert (glue["ch4_vocab_size"], glue["ch4_n_seeds"], glue["ch4_k"]) == (3, 3, 10)
    assert (glue["ch4_n_test_items"], glue["ch4_n_test_queries"]) == (4, 5)
    assert glue["ch4_mm_oracle"] == pytest.approx(je.headline(je.method_summary(scores))["ch4_mm_oracle"])
    assert glue["ch4_triplet_t2i_r10"] == pytest.approx(variants.loc["triplet", ("text→image R@10", "mean")])
    assert glue["ch4_claim4_verdict"] == claims.HOLDS and glue["ch4_claim4_share"] == 1.0
    assert glue["ch4_claim5_share"] == pytest.approx(1 / 3)
    scale = pd.DataFrame([dict(index="ivf", recall20=0.5, soft_recall20=0.4),
                          dict(index="ivf", recall20=0.95, soft_recall20=0.8),
                          dict(index="hnsw", recall20=0.99, soft_recall20=0.9)])
    assert je.scale_glue(scale, 30, 1000) == {"ch4_n_real_items": 30, "ch4_scale_n": 1000,
                                               "ch4_scale_ivf_recall20": 0.95, "ch4_scale_ivf_soft_recall20": 0.8}

# ----- the smoke notebook's outputs ----------------------------------------------------------------------
@pytest.mark.smoke_outputs
def test_smoke_results_in_range():
    runs = Path(os.environ.get("FASHIONREC_RUNS", ROOT / "build" / "runs"))
    m = report.load_metrics("joint_embedding", "smoke", root=runs)
    assert m["ch4_mm_chance"] < m["ch4_mm_combined"] <= m["ch4_mm_oracle"] <= 1.0
    assert m["ch4_mm_chance"] < m["ch4_mm_arithmetic"] and m["ch4_mm_chance"] < m["ch4_mm_soft_filter"]
    assert m["ch4_v_visual"] > m["ch4_v_chance"] + 0.2  # visual search finds look-alikes
    assert m["ch4_t_soft_filter"] > m["ch4_t_visual"]  # the soft filter reads the request
    assert m["ch4_t_hard_filter_attributes"] > 0.95  # exact metadata meets the request
    assert m["ch4_scale_ivf_recall20"] > 0.9
    assert 50 <= m["ch4_vocab_size"] <= 200
    assert all(m[f"ch4_claim{k}_verdict"] in ("holds", "reversed", "not resolved with 1 seed") for k in range(1, 6))
    assert all(0.0 <= m[f"ch4_claim{k}_share"] <= 1.0 for k in range(1, 6))
