"""Chapter 5, Complete the Look: the model's equations, training, evaluation, FashionWorld data and the STL loader."""

from __future__ import annotations

import json
import math
import os
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from fashionrec import claims, config, report, train
from fashionrec.backbones import build_backbone
from fashionrec.config import TrainConfig
from fashionrec.datasets import stl
from fashionrec import ctl, store
from fashionrec.ctl import data as ctl_data
from fashionrec.world.world import World, WorldConfig

ROOT = Path(__file__).resolve().parents[1]
REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
STL_REAL = REALDATA / "stl-fashion" / "fashion-cat.json"


# ----- the model's equations -----------------------------------------------------------------------
def unit(*v: float) -> torch.Tensor:
    x = torch.tensor(v, dtype=torch.float32)
    return x / x.norm()


def test_global_distance_is_squared_euclidean_of_unit_vectors():
    e_s = unit(1, 0)[None]  # (1, d)
    e_p = torch.stack([unit(0, 1), unit(1, 0), unit(1, 1)])[None]  # (1, 3, d)
    d = ctl.CTL.global_distance(e_s, e_p)
    assert torch.allclose(d, torch.tensor([[2.0, 0.0, 2 - math.sqrt(2)]]), atol=1e-6)


def test_attention_and_local_distance_on_a_hand_checked_scene():
    """Two regions: one equal to the category embedding, one orthogonal to it.

    a = softmax(-[0, 2]) = [1, e^-2] / (1 + e^-2); with e(p) = f_2, d_l = a_1 * 2 + a_2 * 0.
    """
    model = ctl.CTL(4, 3, 4, n_categories=1, embed_dim=2)
    with torch.no_grad():
        model.category.weight.copy_(torch.tensor([[3.0, 0.0]]))  # normalised to (1, 0)
    f = torch.stack([unit(1, 0), unit(0, 1)])[None]  # (1, R=2, d=2)
    a = model.attention(f, torch.tensor([0]))
    expected_a = torch.tensor([[1.0, math.exp(-2)]]) / (1 + math.exp(-2))
    assert torch.allclose(a, expected_a, atol=1e-6)
    e_p = unit(0, 1)[None, None]  # (1, K=1, d)
    d_l = ctl.CTL.local_distance(f, a, e_p)
    assert torch.allclose(d_l, 2 * expected_a[:, :1], atol=1e-6)


def test_local_distance_expansion_equals_the_direct_sum():
    torch.manual_seed(0)
    f, e_p = torch.randn(3, 5, 4), torch.randn(3, 6, 4)  # any vectors, not only unit ones
    a = torch.softmax(torch.randn(3, 5), dim=1)
    direct = (a[:, :, None] * ((f[:, :, None] - e_p[:, None]) ** 2).sum(-1)).sum(1)  # (B, K)
    assert torch.allclose(ctl.CTL.local_distance(f, a, e_p), direct, atol=1e-5)


@pytest.fixture
def batch():
    torch.manual_seed(0)
    return dict(scene_global=torch.randn(6, 16), regions=torch.randn(6, 8, 3, 3),
                category=torch.tensor([0, 1, 2, 0, 1, 2]), products=torch.randn(6, 4, 12))


def test_shapes_modes_and_full_is_the_mean(batch):
    torch.manual_seed(0)
    models = {m: ctl.CTL(16, 8, 12, 3, embed_dim=5, hidden=7, dropout=0.0, mode=m).eval() for m in ctl.MODES}
    for m in ("global", "local"):
        models[m].load_state_dict(models["full"].state_dict())
    d = {m: model(**batch) for m, model in models.items()}
    assert d["full"].shape == (6, 4)
    assert torch.allclose(d["full"], (d["global"] + d["local"]) / 2, atol=1e-6)
    assert (d["global"] >= 0).all() and (d["global"] <= 4 + 1e-6).all()
    e_s, f = models["full"].embed_scene(batch["scene_global"], batch["regions"])
    assert e_s.shape == (6, 5) and f.shape == (6, 9, 5)
    assert torch.allclose(f.norm(dim=-1), torch.ones(6, 9), atol=1e-5)
    assert torch.allclose(models["full"].attention(f, batch["category"]).sum(1), torch.ones(6), atol=1e-6)
    with pytest.raises(ValueError, match="mode"):
        ctl.CTL(16, 8, 12, 3, mode="both")


def test_triplet_loss_by_hand():
    loss = ctl.triplet_loss(torch.tensor([0.5, 0.1]), torch.tensor([0.2, 1.0]), margin=0.2)
    assert loss.item() == pytest.approx((0.5 - 0.2 + 0.2 + 0.0) / 2)


def test_loss_decreases_on_a_tiny_batch(batch):
    torch.manual_seed(0)
    model = ctl.CTL(16, 8, 12, 3, embed_dim=8, hidden=16, dropout=0.0)
    b = dict(scene_global=batch["scene_global"], regions=batch["regions"], category=batch["category"],
             positive=batch["products"][:, 0], negatives=batch["products"][:, 1:])
    loss_fn = ctl.make_loss(margin=0.5)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = loss_fn(model, b).item()
    for _ in range(60):
        opt.zero_grad()
        loss_fn(model, b).backward()
        opt.step()
    assert loss_fn(model, b).item() < 0.2 * first


def test_raw_distance_by_hand():
    s = np.array([[2.0, 0.0]])
    p = np.array([[[0.0, 5.0], [3.0, 0.0]]])
    assert np.allclose(ctl.raw_distance(s, p), [[2.0, 0.0]])


# ----- evaluation --------------------------------------------------------------------------------
def test_evaluate_on_hand_made_distances():
    pos = np.array([0.1, 0.5, 0.3])
    neg = np.array([0.2, 0.4, 0.3])  # right, wrong, tie
    cands = np.array([[0.2, 0.3], [0.1, 0.2], [0.3, 0.9]])  # ranks 1, 3, 2 (tie pessimistic)
    out = ctl.evaluate(pos, neg, cands, higher_is_better=False)
    assert out["accuracy"] == pytest.approx(0.5)  # 1 + 0 + 0.5 over 3
    assert out["hit@1"] == pytest.approx(1 / 3) and out["hit@5"] == 1.0
    assert 0 <= out["auc"] <= 1
    assert ctl.chance(49) == {"accuracy": 0.5, "auc": 0.5, "hit@1": 0.02, "hit@5": 0.1, "hit@10": 0.2}


def test_sample_negatives_respects_pool_and_exclusions():
    rng = np.random.default_rng(0)
    pools = {0: np.arange(10), 1: np.arange(10, 13)}
    pos = np.array([0, 10])
    out = ctl_data.sample_negatives(pos, [{0, 1}, {10}], pools, np.array([0, 1]), n=5, rng=rng)
    assert out.shape == (2, 5)
    assert set(out[0]) <= set(range(2, 10)) and len(set(out[0])) == 5  # without replacement
    assert set(out[1]) <= {11, 12}  # only two options: drawn with replacement
    with pytest.raises(ValueError, match="no negative"):
        ctl_data.sample_negatives(np.array([0]), [{0}], {0: np.array([0])}, np.array([0]), 1, rng)


# ----- cached features ---------------------------------------------------------------------------
def replace_feature_maps(backbone):
    """The same backbone (same weights digest) whose forward pass fails."""
    def fail(*args, **kwargs):
        raise AssertionError("the backbone ran although the features are cached")
    backbone.feature_maps = fail
    return backbone


def test_backbone_maps_match_feature_map_and_cache(tmp_path):
    torch.manual_seed(0)
    backbone = build_backbone("efficientnet_lite0").eval()
    images = np.random.default_rng(0).integers(0, 256, (5, 64, 64, 3), dtype=np.uint8)
    regions, glob = ctl_data.backbone_maps(backbone, images, batch_size=2, cache_dir=tmp_path, progress=False)
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255
    with torch.no_grad():
        mid, last = backbone.feature_map(x, "mid"), backbone.features(x)
    assert regions.shape == (5, 112, 4, 4) and regions.dtype == np.float16 and glob.shape == (5, 1280)
    assert np.allclose(regions, mid.numpy(), atol=2e-2, rtol=1e-2)
    assert np.allclose(glob, last.numpy(), atol=1e-4)
    files = sorted(p.name for p in (tmp_path / "ctl" / "features").iterdir())
    assert len(files) == 2 and files[0].startswith("global-") and files[1].startswith("regions-")
    broken = replace_feature_maps(backbone)  # a cache hit never runs the backbone
    again = ctl_data.backbone_maps(broken, images, cache_dir=tmp_path, progress=False)
    assert np.array_equal(again[0], regions) and np.array_equal(again[1], glob)
    del backbone.feature_maps  # the real forward pass again
    other = images.copy()
    other[0, 0, 0] ^= 1  # one byte of the data: another cache entry
    ctl_data.backbone_maps(backbone, other, cache_dir=tmp_path, progress=False)
    assert len(list((tmp_path / "ctl" / "features").iterdir())) == 4
    none, only = ctl_data.backbone_maps(backbone, images, progress=False, with_regions=False)
    assert none is None and np.allclose(only, glob, atol=1e-5)


def test_backbone_maps_concatenates_pooled_levels(tmp_path):
    """global_levels=("early", "mid", "last"): the pooled stride-8 and stride-16 maps, then the last pool."""
    torch.manual_seed(0)
    backbone = build_backbone("efficientnet_lite0").eval()
    images = np.random.default_rng(1).integers(0, 256, (3, 64, 64, 3), dtype=np.uint8)
    levels = ("early", "mid", "last")
    regions, glob = ctl_data.backbone_maps(backbone, images, progress=False, global_levels=levels)
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255
    with torch.no_grad():
        last, mid, early = backbone.features(x), backbone.feature_map(x, "mid"), backbone.feature_map(x, "early")
    assert early.shape[1:] == (40, 8, 8)  # stride 8
    expected = torch.cat([early.mean((2, 3)), mid.mean((2, 3)), last], dim=1).numpy()
    assert glob.shape == (3, 40 + 112 + 1280) and np.allclose(glob, expected, atol=1e-4)
    assert np.allclose(regions, mid.numpy(), atol=2e-2, rtol=1e-2)
    cached = ctl_data.backbone_maps(backbone, images, cache_dir=tmp_path, progress=False, global_levels=levels)[1]
    plain = ctl_data.backbone_maps(backbone, images, cache_dir=tmp_path, progress=False)[1]
    assert cached.shape[1] == 1432 and plain.shape[1] == 1280  # the levels are part of the cache key
    with pytest.raises(ValueError, match="levels must be"):
        ctl_data.backbone_maps(backbone, images, progress=False, region_level="block4")


def test_standardization_uses_training_statistics():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    scene, product = rng.normal(3, 2, (50, 6)), rng.normal(-1, 5, (40, 4))
    region = rng.normal(1, 3, (50, 2, 3, 3)).astype(np.float16)
    cells = region.astype(np.float64).transpose(0, 2, 3, 1).reshape(-1, 2)
    model = ctl.CTL(6, 2, 4, n_categories=1, embed_dim=3, hidden=5, dropout=0.0)
    model.set_standardization(store.Standardiser.fit(scene, eps=1e-3), store.Standardiser.fit(product, eps=1e-3),
                              store.Standardiser.fit(cells, eps=1e-3))
    assert np.allclose(model.scene_mean.numpy(), scene.mean(0), atol=1e-5)
    assert np.allclose(model.scene_std.numpy(), scene.std(0) + 1e-3, atol=1e-4)
    assert np.allclose(model.region_mean.numpy(), region.astype(np.float64).mean((0, 2, 3)), atol=1e-4)
    assert np.allclose(model.product_std.numpy(), product.std(0) + 1e-3, atol=1e-4)
    plain = ctl.CTL(6, 2, 4, n_categories=1, embed_dim=3, hidden=5, dropout=0.0)
    plain.load_state_dict({k: v for k, v in model.state_dict().items() if not k.endswith(("_mean", "_std"))},
                          strict=False)
    x = torch.from_numpy(product[:3]).float()
    z = (x - model.product_mean) / model.product_std
    assert torch.allclose(model.embed_product(x), plain.embed_product(z), atol=1e-5)
    assert "scene_mean" in model.state_dict()  # saved with the checkpoint


def test_training_standardisers_see_training_rows_only(tiny):
    _, cfg, data = tiny
    scene, product, region = ctl.training_standardisers(data)
    train = data.splits["train"]
    assert np.allclose(scene.mean, np.asarray(train.scene_global, np.float64).mean(0))
    pool = np.unique(np.concatenate([train.positive, train.train_negatives.ravel()]))
    assert np.allclose(product.mean, data.products[pool].astype(np.float64).mean(0))
    assert np.allclose(region.mean, np.asarray(train.regions, np.float64).mean((0, 2, 3)))
    test_only = np.setdiff1d(np.unique(data.splits["test"].positive), pool)
    assert len(test_only) and not np.allclose(product.mean, data.products.astype(np.float64).mean(0))


# ----- FashionWorld data, the oracle and a short training run ------------------------------------
@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    cache = tmp_path_factory.mktemp("world")
    world = World.build(WorldConfig(n_items=500, n_outfits=300, n_users=2, user_positives=5), cache_dir=cache)
    cfg = replace(ctl.Config.for_profile("smoke"), backbone="small_cnn", pretrained=False,
                  n_scenes=(60, 20, 30), n_negatives=5, train=TrainConfig(epochs=1, batch_size=32))
    torch.manual_seed(0)
    data = ctl.load_data(cfg, world=world, progress=False)
    return world, cfg, data


def test_fashionworld_triplets_negatives_and_shapes(tiny):
    world, cfg, data = tiny
    test = data.splits["test"]
    n = len(test.triplets)
    scenes = {s.scene_id: s for s in data.scenes["test"]}
    assert len(scenes) == 30 and 30 < n <= sum(len(s.item_ids) for s in scenes.values())  # one per pair
    assert len({(t.scene_id, t.positive) for t in test.triplets}) == n
    assert test.regions.shape[:2] == (n, 128) and test.candidates.shape == (n, 5)
    assert data.products.shape == (len(data.product_ids), 64 + 128 + 256)  # early + mid + last pooled
    assert data.categories == tuple(sorted({stl.world_category(it) for it in world.items.values()}))
    pool = {i for s in scenes.values() for i in s.item_ids}  # negatives come from the split's scenes
    for t, row, trn in zip(test.triplets, test.candidates, test.train_negatives):
        scene, cat = scenes[t.scene_id], stl.world_category(world.items[t.positive])
        assert t.positive in scene.item_ids and t.negative not in scene.item_ids and t.negative in pool
        assert t.category == cat == stl.world_category(world.items[t.negative])  # STL's category: bags share one
        for negatives in (row, trn):
            ids = {data.product_ids[c] for c in negatives}
            assert ids <= pool and not ids & set(scene.item_ids)
            assert {stl.world_category(world.items[i]) for i in ids} == {cat}
    image = data.scene_image("test", 0)
    assert image.shape == (64, 64, 3) and (image == 127).all(-1).any()  # the masked box is grey


def test_fashionworld_oracle_beats_chance_and_training_runs(tiny, tmp_path):
    world, cfg, data = tiny
    oracle = ctl.fashionworld_oracle(data)
    assert ctl.fashionworld_oracle(data) == oracle  # the cached scores give the same
    assert oracle["accuracy"] > 0.6 and oracle["hit@1"] > ctl.chance(cfg.n_negatives)["hit@1"]
    gen = config.seed_everything(0)
    model = ctl.build_model(data, cfg)
    history = train.fit(model, ctl.train_loader(data, 32, gen), ctl.make_loss(cfg.margin), cfg.train,
                        valid_fn=lambda m: ctl.valid_accuracy(m, data),
                        run_dir=tmp_path / "full-seed0", progress=False)
    assert len(history.rows) == 1 and (tmp_path / "full-seed0" / "best.pt").exists()
    out = ctl.evaluate_model(model, data)
    assert set(out) == {"accuracy", "auc", "hit@1", "hit@5", "hit@10"}
    maps = ctl.attention_maps(model, data, "test", category=4)
    assert maps.shape == (len(data.splits["test"].positive), 8, 8)
    assert np.allclose(maps.sum(axis=(1, 2)), 1, atol=1e-5)
    assert np.allclose(ctl.attention_maps(model, data, "test", 4, rows=[2])[0], maps[2], atol=1e-6)
    pool = np.arange(10)
    ranked = ctl.recommend(model, data, "test", 0, pool)
    assert sorted(ranked) == list(pool)
    assert ctl.oracle_results(data) == oracle  # on FashionWorld: the oracle itself
    assert ctl.oracle_results(replace(data, world=None)) == {}  # real data: no oracle


def test_receipt_data_names_every_split_and_shape(tiny):
    _, _, data = tiny
    text = ctl.receipt_data(data).splitlines()
    assert len(text) == len(data.splits) + 2
    for line, (name, split) in zip(text, data.splits.items()):
        assert line.startswith(f"{name}: {len(split.positive)} triplets, ")
        assert f"regions {tuple(split.regions.shape[1:])}" in line
        assert f"training negatives per scene {split.train_negatives.shape[1]}" in line
    assert text[-2] == f"products: {data.products.shape}, categories: {', '.join(data.categories)}"
    assert text[-1] == f"hit-rate negatives per test scene: {data.test.candidates.shape[1]}"


def test_config_profiles():
    smoke, standard, paper = (ctl.Config.for_profile(p) for p in ("smoke", "standard", "paper"))
    assert smoke.chapter == standard.chapter == "ctl" and smoke.seeds == (0,) and standard.seeds == (0, 1, 2)
    assert standard.backbone == "efficientnet_lite0" and standard.pretrained
    assert standard.global_levels == ("early", "mid", "last") and standard.standardize
    assert paper.global_levels == ("last",) and paper.region_level == "mid" and not paper.standardize
    assert paper.backbone == "resnet50" and paper.scene_size == 224
    assert ctl.Config.for_profile("smoke", seed=3).seed == 3
    assert ctl.Config.for_profile("standard", seed=3).seeds == (3, 4, 5)
    with pytest.raises(ValueError, match="profile"):
        ctl.Config.for_profile("huge")
    with pytest.raises(ValueError, match="dataset"):
        ctl.Config.for_profile("standard", dataset="polyvore")


def test_paper_preset_keeps_its_dataset_and_root_when_the_notebook_passes_none():
    paper = ctl.Config.for_profile("paper", dataset=None, data_root=None, device=None, seed=None)
    assert (paper.dataset, paper.data_root) == ("stl_fashion", "data/stl-fashion")
    assert ctl.Config.for_profile("paper", data_root="/x").data_root == "/x"
    assert ctl.Config.for_profile("standard", dataset=None).dataset == "fashionworld"


def test_results_frame_glue_values_and_claims():
    long, _ = results_and_claims()
    assert list(long.columns[:2]) == ["method", "seed"] and len(long) == 8
    glued = ctl.glue_values(long, oracle_accuracy=0.9, oracle_auc=0.8)
    assert glued["ch5_full_accuracy"] == pytest.approx(0.71) and glued["ch5_chance_hit10"] == pytest.approx(0.2)
    assert glued["ch5_full_accuracy_std"] == pytest.approx(0.01)  # ddof = 1
    assert glued["ch5_full_progress"] == pytest.approx((0.71 - 0.5) / 0.4)
    assert "ch5_raw_accuracy_std" not in glued and "ch5_attributes_progress" not in glued
    paired = pd.concat([long, ctl.per_seed(long, "raw features", (0, 1, 2))])
    assert claims.claim(paired, "CTL full", "CTL global", "accuracy").verdict == "holds"
    assert claims.claim(paired, "CTL full", "raw features", "accuracy").n == 3
    assert ctl.glue_name("Shirts & Tops") == "shirts_and_tops"
    maps = np.zeros((2, 3, 2))
    maps[0, 2], maps[1, 0] = 1, 1
    assert ctl.attention_top_rows(maps, ("shoes", "hat")) == {"shoes": 2, "hat": 0}


def results_and_claims():
    results = {("chance", 0): ctl.chance(49), ("raw features", 0): {m: 0.5 for m in ctl.METRICS}}
    for s, (full, glob) in enumerate([(0.70, 0.65), (0.72, 0.665), (0.71, 0.66)]):
        results["CTL full", s] = {m: full for m in ctl.METRICS}
        results["CTL global", s] = {m: glob for m in ctl.METRICS}
    long = ctl.results_frame(results)
    tested = {"full_beats_global": claims.claim(long, "CTL full", "CTL global", "accuracy",
                                                text="global + local beats global only")}
    return long, tested


def test_results_glue_and_claims_glue():
    long, tested = results_and_claims()
    world = ctl.results_glue(long, {"accuracy": 0.9, "auc": 0.8}, 3, 128, 49)
    assert world["ch5_full_progress"] == pytest.approx((0.71 - 0.5) / 0.4)
    assert (world["ch5_n_seeds"], world["ch5_scene_size"], world["ch5_n_negatives"]) == (3, 128, 49)
    assert world["ch5_full_target"] == "missed"  # 0.525 and 0.525 of the way, short of 0.8
    assert ctl.results_glue(long, {"accuracy": 0.75, "auc": 0.75}, 3, 128, 49)["ch5_full_target"] == "met"
    real = ctl.results_glue(long, {}, 3, 128, 49)
    assert "ch5_full_target" not in real and "ch5_full_progress" not in real
    assert real["ch5_full_accuracy"] == pytest.approx(0.71)
    assert ctl.claims_glue(tested) == {"ch5_claim_full_beats_global": "holds"}


def test_receipt_results_has_means_and_verdicts():
    long, tested = results_and_claims()
    text = ctl.receipt_results(long, tested, n_test=200, n_seeds=3).splitlines()
    assert text[0] == "test triplets: 200, seeds per model: 3"
    full = next(line for line in text if line.startswith("CTL full"))
    glob = next(line for line in text if line.startswith("CTL global"))
    assert full.split()[2:] == ["0.710"] * len(ctl.METRICS)  # means over seeds, 3 decimals
    assert glob.split()[2:] == ["0.658"] * len(ctl.METRICS)
    assert text[-1] == "global + local beats global only: holds (difference +0.052)"  # 0.05, 0.055, 0.05


def test_receipt_and_glue_of_the_attention():
    maps = np.full((2, 4, 2), 0.1, np.float32)
    maps[0, 3, 1], maps[1, 0, 0] = 0.4, 0.2
    text = ctl.receipt_attention(maps, ("Shoes", "Shirts & Tops")).splitlines()
    assert text[0].endswith("category: {'Shoes': 3, 'Shirts & Tops': 0}")
    assert text[1] == "largest single-region weight in the mean maps: 0.400 (uniform 0.125)"
    glued = ctl.attention_glue(maps, ("Shoes", "Shirts & Tops"))
    assert glued["ch5_attention_rows"] == 4
    assert glued["ch5_attention_peak_over_uniform"] == pytest.approx(3.2)
    assert (glued["ch5_attention_row_shoes"], glued["ch5_attention_row_shirts_and_tops"]) == (3, 0)


# ----- STL-Fashion ---------------------------------------------------------------------------------
def write_image(path: Path, color: tuple[int, int, int], size: tuple[int, int] = (40, 60)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path)


def make_stl(root: Path, categories: dict[str, str] | None, n_scenes: int = 8,
             missing: tuple[str, ...] = ()) -> tuple[list[dict], dict[str, str]]:
    """A fixture in the official format: fashion.json (one object per line), images by signature.

    Products are taken from ``categories`` (the real fashion-cat.json when given; then that file is
    linked, not copied); otherwise a fixture category file is written.
    """
    root.mkdir(parents=True, exist_ok=True)
    if categories is None:
        names = ["Apparel & Accessories|Shoes", "Apparel & Accessories|Clothing|Pants",
                 "Apparel & Accessories|Handbags, Wallets & Cases"]
        categories = {f"{k:02d}" + "ab" * 15: names[k % 3] for k in range(12)}
        (root / stl.CATEGORY_FILE).write_text(json.dumps(categories))
    products = list(categories)[:12]
    rng = np.random.default_rng(0)
    records = []
    for s in range(n_scenes):
        scene = f"{s:02d}" + "cd" * 15
        for k in range(2):
            product = products[(2 * s + k) % len(products)]
            records.append({"product": product, "scene": scene, "bbox": [0.1 + 0.3 * k, 0.5, 0.4 + 0.3 * k, 1.0]})
    (root / stl.PAIRS_FILE).write_text("\n".join(json.dumps(r) for r in records) + "\n")
    for sig in {r["scene"] for r in records} | {r["product"] for r in records}:
        if sig not in missing:
            write_image(root / "images" / sig[0:2] / sig[2:4] / sig[4:6] / f"{sig}.jpg",
                        tuple(int(v) for v in rng.integers(0, 256, 3)))
    return records, categories


@pytest.mark.skipif(not STL_REAL.exists(), reason="shared/realdata is absent")
def test_real_stl_category_file():
    cats = stl.read_categories(STL_REAL)
    assert len(cats) == 38_111 and all(len(k) == 32 for k in cats)
    short = sorted({stl.short_category(v) for v in cats.values()})
    assert len(short) == 10 and "Shoes" in short and "Shirts & Tops" in short
    assert stl.short_category("Apparel & Accessories|Clothing|Outerwear|Coats & Jackets") == "Coats & Jackets"


@pytest.mark.skipif(not STL_REAL.exists(), reason="shared/realdata is absent")
def test_loader_on_real_categories_with_fixture_pairs(tmp_path):
    real = stl.read_categories(STL_REAL)
    picked = {}
    for sig, cat in real.items():  # two products of each of three real categories
        if cat in ("Apparel & Accessories|Shoes", "Apparel & Accessories|Clothing|Pants",
                   "Apparel & Accessories|Clothing|Skirts") and sum(c == cat for c in picked.values()) < 4:
            picked[sig] = cat
    (tmp_path / stl.CATEGORY_FILE).symlink_to(STL_REAL)  # linked, never copied
    records, _ = make_stl(tmp_path, picked, missing=(list(picked)[0],))
    with pytest.warns(UserWarning, match="missing images: 0 scenes, 1 products"):
        data = stl.load_stl_fashion(tmp_path)
    dropped = sum(r["product"] == list(picked)[0] for r in records)
    assert data.skipped_pairs == {"image missing": dropped} and data.n_pairs == len(records)
    assert sum(len(s.item_ids) for s in data.scenes.values()) == len(records) - dropped
    assert set(data.categories) <= {"Shoes", "Pants", "Skirts"}
    item = data.items[records[-1]["product"]]
    assert item.subcategory == real[item.item_id] and Path(item.image).exists()


def test_loader_records_split_and_triplets(tmp_path):
    records, cats = make_stl(tmp_path, None, n_scenes=10)
    data = stl.load_stl_fashion(tmp_path)
    assert len(data.scenes) == 10 and len(data.items) == 12 and data.missing_images == {"scenes": 0, "products": 0}
    scene = data.scenes[records[0]["scene"]]
    assert scene.item_ids[0] == records[0]["product"] and scene.boxes[0] == tuple(records[0]["bbox"])
    splits = stl.split_scenes(data, fractions=(0.6, 0.2, 0.2))
    ids = [{s.scene_id for s in v} for v in splits.values()]
    assert sum(map(len, ids)) == 10 and not (ids[0] & ids[1] or ids[0] & ids[2] or ids[1] & ids[2])
    assert all(stl.scene_split(s, (0.6, 0.2, 0.2)) == name for name, v in zip(stl.SPLITS, ids) for s in v)
    assert [s.scene_id for s in splits["train"]] == sorted(ids[0])  # in signature order
    triplets, pool = stl.stl_triplets(data, list(data.scenes.values()), seed=0)
    assert len(triplets) == len(records)
    for t in triplets:
        assert data.items[t.negative].category == data.items[t.positive].category == t.category
        assert t.negative not in data.scenes[t.scene_id].item_ids and t.negative in pool
    masked = stl.masked_scene(data, triplets[0], size=32)
    assert masked.shape == (32, 32, 3) and (masked == 127).all(-1).mean() > 0.1
    assert stl.product_image(data, triplets[0].positive, 24).shape == (24, 24, 3)
    assert stl.image_url("0027e30879ce3d87f82f699f148bff7e").endswith("/00/27/e3/0027e30879ce3d87f82f699f148bff7e.jpg")


def test_stl_digest_follows_the_files_read(tmp_path):
    for name in ("a", "b"):
        make_stl(tmp_path / name, None, n_scenes=6)
    a, b = (stl.load_stl_fashion(tmp_path / name) for name in ("a", "b"))
    digest_a = ctl_data.stl_files_digest(a, list(a.items))
    assert digest_a == ctl_data.stl_files_digest(stl.load_stl_fashion(tmp_path / "a"), list(a.items))
    assert digest_a != ctl_data.stl_files_digest(b, list(b.items))  # same counts, another root
    sig = next(iter(a.items))
    write_image(Path(a.items[sig].image), (1, 2, 3), size=(50, 50))
    assert digest_a != ctl_data.stl_files_digest(a, list(a.items))


def test_loader_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="fashion-cat.json"):
        stl.load_stl_fashion(tmp_path)
    make_stl(tmp_path, None)
    pairs = tmp_path / stl.PAIRS_FILE
    good = pairs.read_text()
    pairs.write_text('{"product": "a", "scene": "b", "bbox": [0.5, 0.1, 0.2, 0.9]}\n')
    with pytest.raises(ValueError, match=r"fashion.json, record 1: bbox"):
        stl.load_stl_fashion(tmp_path)
    pairs.write_text(good + '{"product": "a", "bbox": [0, 0, 1, 1]}\n')
    with pytest.raises(ValueError, match="expected keys product, scene, bbox"):
        stl.load_stl_fashion(tmp_path)
    pairs.write_text(good + "not json\n")
    with pytest.raises(ValueError, match=r"fashion.json, line \d+, column \d+: not a JSON object"):
        stl.load_stl_fashion(tmp_path)
    pairs.unlink()
    with pytest.raises(FileNotFoundError, match="fashion.json"):
        stl.load_stl_fashion(tmp_path)
    (tmp_path / stl.CATEGORY_FILE).write_text("[1, 2]")
    with pytest.raises(ValueError, match="fashion-cat.json: expected one JSON object"):
        stl.read_categories(tmp_path / stl.CATEGORY_FILE)


def test_paper_profile_runs_one_training_step_on_a_fixture(tmp_path):
    """The paper profile (ResNet-50 block 3 / block 4, 224 px) end to end on CPU; random weights (no network)."""
    make_stl(tmp_path / "stl", None, n_scenes=10)
    cfg = replace(ctl.Config.for_profile("paper", data_root=str(tmp_path / "stl")),
                  pretrained=False, n_negatives=2, stl_split=(0.4, 0.3, 0.3),
                  train=TrainConfig(epochs=1, batch_size=8))
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing is missing in this fixture
        data = ctl.load_data(cfg, cache_dir=tmp_path / "cache", progress=False)
    train_split = data.splits["train"]
    assert train_split.regions.shape[1:] == (1024, 14, 14) and data.products.shape[1] == 2048
    model = ctl.build_model(data, cfg)
    history = train.fit(model, ctl.train_loader(data, 8, config.seed_everything(0)), ctl.make_loss(cfg.margin),
                        cfg.train, progress=False)
    assert len(history.rows) == 1 and math.isfinite(history.rows[0]["train_loss"])
    assert data.scene_image("train", 0).shape == (224, 224, 3)
    assert data.world is None and len(data.digest) == 24


def test_paper_path_data_call_on_an_export(tmp_path):
    """What ``fashionrec paper-path 05`` loads: the paper profile with ``PAPER_ON_CPU`` on a smoke export
    (fewer scenes here, to stay cheap): STL's split by scene, one triplet per (scene, product), ResNet-50."""
    from fashionrec.export import Quirks, export

    exported = export("stl_fashion", tmp_path / "stl", "smoke", 0, 64, Quirks(seed=0))
    cfg = ctl.Config.for_profile("paper", data_root=str(tmp_path / "stl"), device="cpu",
                                 **{**ctl.Config.PAPER_ON_CPU, "n_scenes": [16, 8, 8]})
    assert cfg.n_scenes == (16, 8, 8) and {"pretrained", "scene_size", "train"} <= set(cfg.overridden)
    with pytest.warns(UserWarning, match="missing images"):  # the export leaves two images out
        data = ctl.load_data(cfg, cache_dir=tmp_path / "cache", progress=False)
    assert len(data.product_ids) == exported.counts["products"] - 2 == data.products.shape[0]
    assert data.products.shape[1] == 2048 and len(data.categories) == len(set(stl.CATEGORY_PATHS.values()))
    for name, n in zip(("train", "valid", "test"), (16, 8, 8)):
        split, scenes = data.splits[name], data.scenes[name]
        assert len(scenes) == n and all(stl.scene_split(s.scene_id) == name for s in scenes)
        m = len(split.triplets)
        assert n < m == len(split.positive) <= sum(len(s.item_ids) for s in scenes)  # one per (scene, product)
        assert split.regions.shape == (m, 1024, 4, 4) and split.scene_global.shape == (m, 2048)
        assert split.candidates.shape == (m, 49) and split.train_negatives.shape == (m, 8)
        assert (data.product_category[split.negative] == split.category).all()  # same-category negatives
    assert data.scene_image("test", 0).shape == (64, 64, 3) and data.world is None


# ----- the smoke notebook's results (CI runs this after the smoke notebooks) ---------------------
@pytest.mark.smoke_outputs
def test_smoke_notebook_results_in_range():
    runs = Path(os.environ.get("FASHIONREC_RUNS", ROOT / "build" / "runs"))
    m = report.load_metrics("ctl", "smoke", root=runs)
    assert 0.75 <= m["ch5_oracle_accuracy"] <= 1.0
    assert 0.5 < m["ch5_full_accuracy"] <= m["ch5_oracle_accuracy"] + 0.05
    assert 0.5 < m["ch5_full_auc"] <= 1.0
    assert m["ch5_full_hit10"] > m["ch5_chance_hit10"]
    assert 0.3 <= m["ch5_raw_accuracy"] <= 0.7
