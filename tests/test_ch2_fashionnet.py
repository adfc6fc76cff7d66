"""Chapter 2, FashionNet (He & Hu 2018): models, rank loss, per-user storage, metrics, Polyvore-U loader."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from fashionrec import claims, fashionnet, metrics, report
from fashionrec.config import TrainConfig
from fashionrec.datasets.polyvore_u import PolyvoreU

ROOT = Path(__file__).resolve().parents[1]
SMALL = fashionnet.Config.for_profile("smoke", head_hidden=16, feature_dim=8, hidden=(8, 4), train_negatives=2,
                                        user_dim=4, stage_two=TrainConfig(epochs=2, batch_size=8, amp=False))


# ----- the config ---------------------------------------------------------------------------------
def test_paper_preset_keeps_its_dataset_and_root_when_the_notebook_passes_none():
    cfg = fashionnet.Config.for_profile("paper", dataset=None, data_root=None, device=None, seed=None)
    assert (cfg.dataset, cfg.data_root) == ("polyvore_u", "data/polyvore_u")
    assert cfg.backbone == "vgg16" and not cfg.cached_features and cfg.seeds == (0,)
    assert fashionnet.Config.for_profile("paper", data_root="/x").data_root == "/x"
    assert fashionnet.Config.for_profile("standard", seed=5).seeds == (5, 6, 7)
    # the standard settings (cached frozen features) also run on Polyvore-U: test_export_polyvore_u.py
    assert fashionnet.Config.for_profile("standard", dataset="polyvore_u").cached_features


# ----- the model ------------------------------------------------------------------------------
def test_rank_loss_matches_eq_1_by_hand():
    loss = fashionnet.rank_loss(torch.tensor([0.9, 0.2]), torch.tensor([0.1, 0.6]))
    expected = (np.log(1 + np.exp(-(0.9 - 0.1))) + np.log(1 + np.exp(-(0.2 - 0.6)))) / 2
    assert loss.item() == pytest.approx(expected, abs=1e-6)
    assert fashionnet.rank_loss(torch.tensor([0.5]), torch.tensor([0.5])).item() == pytest.approx(np.log(2))


@pytest.mark.parametrize("arch", fashionnet.ARCHS)
def test_shapes_and_score_ranges_on_cached_maps(arch):
    torch.manual_seed(0)
    model = fashionnet.build_model(arch, SMALL, in_dim=12)
    items = torch.randn(5, 3, 12, 1, 1)  # (B, 3 items, C, h, w)
    scores = model(items)
    assert scores.shape == (5,)
    top = 3.0 if arch == "C" else 1.0  # C sums three pair probabilities
    assert ((scores >= 0) & (scores <= top)).all()


def test_c_score_is_the_sum_of_its_three_matching_networks():
    torch.manual_seed(0)
    model = fashionnet.build_model("C", SMALL, in_dim=12).eval()
    items = torch.randn(4, 3, 12, 1, 1)
    x = model.features(items.flatten(0, 1)).view(4, 3, -1)
    by_hand = sum(torch.softmax(m(torch.cat([x[:, p], x[:, q]], 1)).double(), -1)[:, 1]
                  for m, (p, q) in zip(model.matching, [(0, 1), (0, 2), (1, 2)]))
    assert torch.allclose(model(items), by_hand)


def test_a_stacks_the_items_on_the_channel_axis():
    torch.manual_seed(0)
    model = fashionnet.build_model("A", SMALL, in_dim=12)
    assert model.features.conv.in_features == 36  # 3 items x 12 channels
    items = torch.randn(2, 3, 12, 1, 1)
    swapped = items[:, [1, 0, 2]]
    assert not torch.allclose(model(items), model(swapped))  # the position of an item matters


@pytest.mark.parametrize("arch", fashionnet.ARCHS)
def test_loss_decreases_on_a_tiny_batch(arch):
    torch.manual_seed(0)
    model = fashionnet.build_model(arch, SMALL, in_dim=12)
    pos, neg = torch.randn(16, 3, 12, 1, 1) + 0.5, torch.randn(16, 3, 12, 1, 1) - 0.5
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(40):
        loss = fashionnet.rank_loss(model(pos), model(neg))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] - 0.05


def test_cnn_on_images_a_b_c():
    cfg = replace(SMALL, cached_features=False, backbone="small_cnn", pretrained=False, feature_dim=256)
    images = torch.rand(2, 3, 3, 32, 32)  # (B, items, RGB, H, W) in [0, 1]
    for arch in fashionnet.ARCHS:
        torch.manual_seed(0)
        model = fashionnet.build_model(arch, cfg)
        assert model(images).shape == (2,)
    first = fashionnet.build_model("A", cfg).features.backbone.blocks[0][0]
    assert first.in_channels == 9  # w x h x 9, as in the paper


def test_user_conditioned_starts_as_the_general_model():
    torch.manual_seed(0)
    general = fashionnet.build_model("C", SMALL, in_dim=12).eval()
    model = fashionnet.user_conditioned(general, n_users=3, user_dim=4).eval()
    items = torch.randn(6, 3, 12, 1, 1)
    for u in range(3):
        assert torch.allclose(model(items, torch.full((6,), u)), general(items), atol=1e-6)
    assert fashionnet.user_state(model, "user-conditioned")["users.weight"].shape == (3, 4)  # user_dim numbers per user


# ----- per-user training and storage -----------------------------------------------------------
def tiny_data(n_users: int = 3, n_items: int = 30, seed: int = 0) -> tuple[fashionnet.RankingData, fashionnet.ItemTable]:
    """Users who like outfits whose items have a large first feature; items of 3 categories."""
    rng = np.random.default_rng(seed)
    feats = rng.normal(size=(n_items, 6, 1, 1)).astype(np.float32)
    cats = np.arange(n_items) % 3
    good = [np.flatnonzero((cats == c) & (feats[:, 0, 0, 0] > 0)) for c in range(3)]

    def liked(n):
        return np.stack([rng.choice(g, n) for g in good], 1)
    users = [f"u{k}" for k in range(n_users)]
    lists = []
    for u in users:
        outfits = np.concatenate([liked(3), np.stack([rng.choice(np.flatnonzero(cats == c), 9) for c in range(3)], 1)])
        lists.append((u, outfits, np.array([1] * 3 + [0] * 9)))
    data = fashionnet.RankingData([f"i{k}" for k in range(n_items)], cats, users, {u: liked(8) for u in users}, lists, lists)
    return data, fashionnet.ItemTable(feats)


@pytest.mark.parametrize("regime", ["partial", "whole", "direct"])
def test_per_user_fine_tuning_stores_only_what_it_trains_on_disk(tmp_path, regime):
    data, items = tiny_data()
    torch.manual_seed(0)
    base = fashionnet.build_model("C", SMALL, items.dim)
    before = {k: v.clone() for k, v in base.state_dict().items()}
    folder = tmp_path / "users"
    result = fashionnet.train_per_user(base, data, items, SMALL, regime, seed=0, device=torch.device("cpu"),
                                       path=folder)
    assert set(result.users) == set(data.users) and result.complete
    assert all(torch.equal(v, before[k]) for k, v in base.state_dict().items())  # the shared model is untouched
    assert len(list(folder.glob("user-*.pt"))) == 3 and (folder / "index.json").exists()
    keys = set(result.state("u0"))
    assert all(k.startswith("matching.") for k in keys) == (regime == "partial")
    assert keys == set(fashionnet.user_state(base, regime))
    assert result.bytes["u0"] == fashionnet.state_bytes(result.state("u0")) <= result.disk_bytes("u0")
    if regime == "partial":
        assert result.bytes_per_user < fashionnet.state_bytes(base.state_dict())
    again = fashionnet.train_per_user(base, data, items, SMALL, regime, seed=0, device=torch.device("cpu"),
                                      path=folder)  # loads, does not retrain
    assert again.seconds == result.seconds
    scores = fashionnet.test_scores(base, items, data, again)
    assert len(scores) == 3 and all(s.shape == (12,) for s in scores)
    shared = fashionnet.test_scores(base, items, data)
    assert any(not np.allclose(a, b) for a, b in zip(scores, shared))  # personal models differ from the shared one


def test_per_user_resumes_bit_identically_after_a_stop(tmp_path):
    """A run that stopped after some users resumes with the rest; every user's tensors are the same as
    in one uninterrupted run (each user's training depends on its index alone), and in-memory training
    with no folder gives the same tensors too."""
    data, items = tiny_data()
    torch.manual_seed(0)
    base = fashionnet.build_model("C", SMALL, items.dim)
    full = fashionnet.train_per_user(base, data, items, SMALL, "whole", seed=0, device=torch.device("cpu"),
                                     path=tmp_path / "full")
    fashionnet.train_per_user(base, data.subset(data.users[:1]), items, SMALL, "whole", seed=0,
                              device=torch.device("cpu"), path=tmp_path / "resumed")
    index = tmp_path / "resumed" / "index.json"
    index.write_text(index.read_text().replace('"complete": true', '"complete": false'))
    resumed = fashionnet.train_per_user(base, data, items, SMALL, "whole", seed=0, device=torch.device("cpu"),
                                        path=tmp_path / "resumed")
    temporary = fashionnet.train_per_user(base, data, items, SMALL, "whole", seed=0, device=torch.device("cpu"))
    for user in data.users:
        for other in (resumed, temporary):
            a, b = full.state(user), other.state(user)
            assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_stage_one_then_partial_beats_chance_on_an_easy_world():
    data, items = tiny_data(n_users=4, n_items=60)
    cfg = replace(SMALL, stage_one=TrainConfig(epochs=15, batch_size=16, lr=1e-2, amp=False))
    torch.manual_seed(0)
    model = fashionnet.build_model("C", cfg, items.dim)
    fashionnet.train_general(model, data, items, cfg, seed=0, device=torch.device("cpu"), run_dir=None)
    labels = [y for *_, y in data.test]
    trained = fashionnet.ranking_metrics(fashionnet.test_scores(model, items, data), labels)
    chance = fashionnet.ranking_metrics(fashionnet.chance_scores(labels), labels)
    assert trained["auc"] > 0.75 and trained["mean_ndcg"] > chance["mean_ndcg"] + 0.1
    conditioned, seconds = fashionnet.train_user_conditioned(model, data, items, cfg, seed=0,
                                                             device=torch.device("cpu"))
    assert seconds > 0
    assert fashionnet.ranking_metrics(fashionnet.test_scores(conditioned, items, data, conditioned=True), labels)["auc"] > 0.7



def test_user_conditioned_seconds_are_the_training_time_also_when_reloaded(tmp_path):
    """Issue 16: the scaling figure timed a reload (0.03 s) as if it were training."""
    data, items = tiny_data(n_users=3, n_items=40)
    cfg = replace(SMALL, conditioned=TrainConfig(epochs=2, batch_size=16, lr=1e-2, amp=False))
    model = fashionnet.build_model("C", cfg, items.dim)
    run_dir = tmp_path / "C-conditioned"
    _, trained = fashionnet.train_user_conditioned(model, data, items, cfg, 0, torch.device("cpu"), run_dir)
    _, reloaded = fashionnet.train_user_conditioned(model, data, items, cfg, 0, torch.device("cpu"), run_dir)
    history = pd.read_csv(run_dir / "history.csv")
    assert len(history) == 2 and trained == reloaded == pytest.approx(history["seconds"].sum()) and trained > 0

# ----- evaluation -------------------------------------------------------------------------------
def test_ranking_metrics_on_hand_checked_lists():
    labels = [np.array([1, 0, 0, 1, 0, 0, 0])]
    perfect = [np.array([7.0, 1, 2, 6, 3, 4, 5])]
    m = fashionnet.ranking_metrics(perfect, labels, k=2, discount="fashionnet")
    assert m["mean_ndcg"] == pytest.approx(1.0) and m["auc"] == 1.0 and m["top_k"] == 2.0
    assert m["ndcg_curve"].shape == (7,)
    # one positive at rank 1, the other at rank 3: paper's discount gives DCG = 1 + 1/log2(3)
    scores = [np.array([7.0, 6, 2, 5, 3, 4, 1])]
    m = fashionnet.ranking_metrics(scores, labels, k=2, discount="fashionnet")
    assert m["ndcg_curve"][0] == 1.0
    assert m["ndcg_curve"][2] == pytest.approx((1 + 1 / np.log2(3)) / 2)
    assert m["top_k"] == 1.0 and m["auc"] == pytest.approx(9 / 10)
    chance = fashionnet.ranking_metrics(fashionnet.chance_scores(labels), labels, k=3)
    assert chance["auc"] == 0.5 and chance["top_k"] == pytest.approx(3 * 2 / 7)
    rng = np.random.default_rng(0)
    sampled = np.mean([metrics.mean_ndcg(rng.random(7), labels[0], discount="fashionnet") for _ in range(4000)])
    assert chance["mean_ndcg"] == pytest.approx(sampled, abs=0.01)  # ties = expected random ranking


def test_world_ranking_data_matches_the_task_builder():
    from fashionrec.world import tasks
    from fashionrec.world.world import World, WorldConfig

    world = World.build(WorldConfig.for_profile("smoke"))
    data = fashionnet.world_ranking_data(world, seed=0)
    lists = tasks.ranking_lists(world, "test", seed=0)
    assert data.users == [u.user_id for u in world.users]
    for (user, outfits, labels), r in zip(data.test, lists):
        assert user == r.user_id and list(labels) == list(r.labels)
        assert [tuple(data.item_ids[k] for k in row) for row in outfits] == list(r.outfits)
    assert set(np.unique(data.categories)) == {0, 1, 2}
    neg = data.random_outfits(50, np.random.default_rng(0))
    assert (data.categories[neg] == np.array([0, 1, 2])).all()


def test_standardiser_uses_the_training_items_only():
    rng = np.random.default_rng(0)
    maps = rng.normal(size=(10, 4, 2, 2)).astype(np.float32)
    maps[5:] += 100.0  # items never in a training outfit: far away
    out = fashionnet.standardise_maps(maps, np.arange(5))
    assert out.shape == maps.shape and out.dtype == np.float32
    train = out[:5].transpose(0, 2, 3, 1).reshape(-1, 4)
    assert np.allclose(train.mean(0), 0, atol=1e-5) and np.allclose(train.std(0), 1, atol=1e-4)
    assert out[5:].mean() > 10  # the test statistics did not enter the scaler
    data, _ = tiny_data()
    rows = fashionnet.training_items(data)
    assert set(rows) == set(np.concatenate([v.ravel() for v in data.train.values()]))


def test_load_data_on_fashionworld_is_ranking_data_with_items_and_a_digest():
    cfg = fashionnet.Config.for_profile("smoke", cached_features=False, image_size=16, max_users=5)
    data = fashionnet.load_data(cfg, device="cpu")
    assert isinstance(data, fashionnet.RankingData) and data.world is not None and len(data.users) == 5
    assert data.images.shape == (len(data.item_ids), 16, 16, 3) and data.items.dim == 3
    assert len(data.labels) == 5 and "users: 5" in data.describe()
    assert data.digest == fashionnet.load_data(cfg, device="cpu").digest
    sub = data.subset(data.users[:2])
    assert sub.items is data.items and sub.digest == data.digest  # the container survives subsetting
    others = fashionnet.load_data(replace(cfg, max_users=4), device="cpu")
    assert others.digest != data.digest


def test_claims_are_tested_over_seeds_with_the_one_rule():
    rows = []
    for seed in range(4):
        for k, (arch, regime) in enumerate([(a, r) for a in fashionnet.ARCHS for r in fashionnet.REGIMES]):
            value = 0.4 + 0.05 * "ABC".index(arch) + 0.02 * k / 15 + 0.001 * ((seed * 7 + k) % 3)
            rows.append(dict(method=fashionnet.method(arch, regime), seed=seed, mean_ndcg=value))
    import pandas as pd

    tested = fashionnet.paper_claims(pd.DataFrame(rows))
    assert len(tested) == len(fashionnet.CLAIMS) == 17
    verdicts = {key: c.verdict for (key, *_), c in zip(fashionnet.CLAIMS, tested)}
    assert verdicts["c_beats_a_whole"] == "holds" and verdicts["b_beats_a_stage_one"] == "holds"
    assert all(c.n == 4 for c in tested)
    assert fashionnet.paper_says("C whole", "A whole").startswith("holds")
    assert fashionnet.paper_says("C whole", "C direct") == "not in the paper's table"
    assert list(fashionnet.ranks(np.array([0.1, 0.9, 0.5]))) == [3, 1, 2]


# ----- the notebook's receipts, figures and glued numbers -----------------------------------------
def fake_results(seeds=(0, 1)):
    """A long results table with every cell of the chapter and the user-conditioned model."""
    import pandas as pd

    cells = [(a, r) for a in fashionnet.ARCHS for r in fashionnet.REGIMES if (a, r) != ("A", "partial")]
    rows = [dict(method=fashionnet.method(a, r), arch=a, regime=r, seed=s, mean_ndcg=0.4 + 0.01 * k + 0.003 * s,
                 top_k=2.0 + k / 10, auc=0.6 + 0.01 * k, ndcg_curve=np.full(12, 0.5))
            for s in seeds for k, (a, r) in enumerate([*cells, ("C", "user-conditioned")])]
    return pd.DataFrame(rows)


def fake_cost():
    import pandas as pd

    index = pd.MultiIndex.from_tuples([("C", "partial", "matching"), ("C", "whole", "features + matching")],
                                      names=["arch", "regime", "stores"])
    return pd.DataFrame({"kb_per_user": [12.345, 98.765], "s_per_user": [0.5, 2.25], "epochs": [3.0, 4.0],
                         "shared network (KB)": [98.765, 98.765]}, index=index)


def tiny_container():
    data, items = tiny_data()
    return fashionnet.FashionNetData(**vars(data), items=items, digest="d")


def test_receipt_model_prints_the_data_the_loss_by_hand_and_each_architecture():
    data = tiny_container()
    text = fashionnet.receipt_model(SMALL, data)
    assert text.startswith(data.describe())
    assert "vs s- = (0.1, 0.6): 0.642 = mean(log(1 + e^-0.8), log(1 + e^0.4)) = 0.642" in text
    for arch in fashionnet.ARCHS:
        n = sum(p.numel() for p in fashionnet.build_model(arch, SMALL, data.items.dim).parameters())
        assert f"FashionNet {arch}: {n:,} trainable parameters, input (5, 3, 6, 1, 1) -> scores (5,)" in text


def test_receipt_results_holds_the_table_and_the_verdicts_it_is_given():
    results = fake_results()
    chance, oracle = {"mean_ndcg": 0.3, "top_k": 1.5, "auc": 0.5}, {"mean_ndcg": 0.9, "top_k": 7.0, "auc": 0.95}
    table = fashionnet.results_table(results, chance, oracle)
    findings = claims.claims_table(fashionnet.paper_claims(results))
    text = fashionnet.receipt_results(SMALL, table, findings)
    assert text.startswith(f"NDCG discount: fashionnet; seeds: {list(SMALL.seeds)}")
    assert "paper: mean NDCG" not in text and "0.900" in text and "C user-conditioned" in text
    assert all(c.text in text and c.verdict in text for c in fashionnet.paper_claims(results))


def test_receipt_personal_and_user_hold_their_numbers_without_timings():
    import pandas as pd

    scaling = pd.DataFrame(dict(users=[3, 6], partial_ndcg=[0.5691, 0.6112], conditioned_ndcg=[0.5, 0.55],
                                partial_seconds=[1.5, 3.0], conditioned_seconds=[7.7, 7.8],
                                partial_kb=[365.6954, 731.3911], conditioned_kb=[121.9, 122.0])).set_index("users")
    versus = pd.DataFrame({"mean NDCG": ["0.561 ± 0.010"], "seeds": [3], "paper: mean NDCG (Table 2)": [0.6]},
                          index=["C partial"])
    text = fashionnet.receipt_personal(fake_cost(), versus, scaling)
    assert "12.3" in text and "98.8" in text and "0.561 ± 0.010" in text and "0.569" in text and "731.391" in text
    assert "s_per_user" not in text and "seconds" not in text and "paper" not in text
    data = tiny_container()
    user = dict(index=1, ndcg=(0.38, 0.5312), top10=(2, 3))
    assert fashionnet.receipt_user(data, user) == (
        "user u1: mean NDCG 0.380 with the general model, 0.531 with their own; liked outfits in the top 10: 2 -> 3")


def test_figures_are_none_on_real_data_and_drawn_on_fashionworld():
    data = tiny_container()
    before = [np.arange(len(y), dtype=float) for y in data.labels]
    user = fashionnet.most_improved_user(before, [-b for b in before], data.labels)
    assert fashionnet.liked_and_random_figure(data, 0) is None and fashionnet.improved_user_figure(data, user) is None
    cfg = fashionnet.Config.for_profile("smoke", cached_features=False, image_size=16, max_users=3)
    world = fashionnet.load_data(cfg, device="cpu")
    before = [np.arange(len(y), dtype=float) for y in world.labels]
    user = fashionnet.most_improved_user(before, [-b for b in before], world.labels)
    import matplotlib.pyplot as plt

    for fig in (fashionnet.liked_and_random_figure(world, 0), fashionnet.improved_user_figure(world, user)):
        assert len(fig.axes) >= len(user["shown"])
        plt.close(fig)


def test_chapter_values_glue_every_key_the_book_reads():
    results, cost = fake_results(), fake_cost()
    chance, oracle = {"mean_ndcg": 0.3, "top_k": 1.5, "auc": 0.5}, {"mean_ndcg": 0.9, "top_k": 7.0, "auc": 0.95}
    data = tiny_container()
    values = fashionnet.chapter_values(SMALL, data, results, chance, oracle, cost)
    assert values["ch2_n_users"] == 3 and values["ch2_test_liked_per_user"] == 3.0
    assert values["ch2_test_random_per_user"] == 9.0
    assert (values["ch2_n_seeds"], values["ch2_seed"], values["ch2_user_dim"]) == (len(SMALL.seeds), SMALL.seed, 4)
    assert values["ch2_c_partial_kb_per_user"] == 12.345 and values["ch2_c_whole_s_per_user"] == 2.25
    tested = fashionnet.paper_claims(results)
    assert all(values[f"ch2_claim_{key}"] == c.verdict for (key, *_), c in zip(fashionnet.CLAIMS, tested))
    assert values["ch2_c_partial_ndcg"] == pytest.approx(fashionnet.glue_values(results, chance, oracle)["ch2_c_partial_ndcg"])
    cond = results[results.method == "C user-conditioned"].mean_ndcg.to_numpy()
    partial = results[results.method == "C partial"].mean_ndcg.to_numpy()
    assert values["ch2_conditioned_minus_partial"] == pytest.approx(np.mean(cond - partial))
    assert {"ch2_c_user_conditioned_ndcg", "ch2_c_user_conditioned_ratio", "ch2_c_stage_two_ratio",
            "ch2_chance_ndcg", "ch2_oracle_top10"} <= set(values)
    import json

    json.dumps(values)  # plain Python numbers and strings: metrics.json can hold them


# ----- Polyvore-U ---------------------------------------------------------------------------------
def write_polyvore_u(root: Path, variant: str = "630", missing: int = 1, n_users: int = 2) -> Path:
    """A tiny Polyvore-U in the official layout (lzcn/Fashion-Hash-Net data/README.md)."""
    folder = root / f"tuples_{variant}"
    folder.mkdir(parents=True)
    images = root / "images" / "291x291"
    images.mkdir(parents=True)
    rng = np.random.default_rng(0)
    names = {}
    for cat in ("top", "bottom", "shoe"):
        names[cat] = [f"{cat}{k:03d}{'a' * 5}.jpg" for k in range(6)]
        (folder / f"image_list_{cat}").write_text("\n".join(names[cat]) + "\n")
        for k, name in enumerate(names[cat]):
            if not (cat == "shoe" and k < missing):
                Image.fromarray(rng.integers(0, 255, (20, 20, 3), dtype=np.uint8)).save(images / name)
    var = variant in ("519", "32")
    header = "user,top,top,bottom,shoe" if var else "user,top,bottom,shoe"
    for split, n_pos in (("train", 2), ("val", 1), ("test", 2)):
        for kind, per in (("posi", 1), ("nega", 6), ("nega_hard", 6)):
            lines = [header]
            for u in range(n_users):
                for _ in range(n_pos * per):
                    t, b, s = rng.integers(0, 6, 3)
                    lines.append(f"{u},{t},{-1 if rng.random() < 0.5 else 3},{b},{s}" if var else f"{u},{t},{b},{s}")
            (folder / f"tuples_{split}_{kind}").write_text("\n".join(lines) + "\n")
    return root


def test_polyvore_u_loader_reads_the_official_layout(tmp_path):
    root = write_polyvore_u(tmp_path)
    with pytest.warns(UserWarning, match="1 of .* images missing"):
        data = PolyvoreU.load(root)
    assert data.users == ["u0", "u1"]
    assert len(data.positives["train"]) == 4 and len(data.negatives["train", "random"]) == 24
    assert data.missing_images == ["shoe/0"] or "shoe/0" not in data.used_items()
    lists = data.ranking_lists("test")
    assert [len(r.outfits) for r in lists] == [14, 14]  # 2 positives + 6x negatives per user
    assert sum(lists[0].labels) == 2
    assert all(o[0].startswith("top/") and o[2].startswith("shoe/") for o in lists[0].outfits)
    items = data.items()
    assert {it.category for it in items.values()} == {"top", "bottom", "shoes"}
    assert "missing images" in data.summary()
    rd, paths = fashionnet.polyvore_u_ranking_data(data)
    assert len(paths) == len(rd.item_ids) and rd.users == ["u0", "u1"]
    assert [len(x[1]) for x in rd.test] == [14, 14]


def test_load_data_reads_polyvore_u_from_the_paper_preset_root(tmp_path):
    root = write_polyvore_u(tmp_path, missing=0)
    cfg = fashionnet.Config.for_profile("paper", data_root=str(root), image_size=16)
    data = fashionnet.load_data(cfg, device="cpu")
    assert data.world is None and data.images is None and data.users == ["u0", "u1"]
    assert data.summary.startswith("Polyvore-U 630: 2 users") and data.describe().startswith(data.summary)
    first = data.digest
    (root / "tuples_630" / "tuples_test_posi").write_text("user,top,bottom,shoe\n0,1,2,3\n1,2,3,4\n")
    assert fashionnet.load_data(cfg, device="cpu").digest != first  # the digest follows the files read


def test_polyvore_u_variable_length_keeps_the_first_top(tmp_path):
    root = write_polyvore_u(tmp_path, variant="519", missing=0)
    data = PolyvoreU.load(root, variant="519")
    assert data.positives["train"].shape[1] == 4  # user, top, bottom, shoe
    assert data.second_tops > 0


def test_polyvore_u_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="tuples_630"):
        PolyvoreU.load(tmp_path)
    root = write_polyvore_u(tmp_path / "a", missing=0)
    (root / "tuples_630" / "tuples_val_nega").unlink()
    with pytest.raises(FileNotFoundError, match="tuples_val_nega"):
        PolyvoreU.load(root)


@pytest.mark.parametrize("name, text, message", [
    ("tuples_train_posi", "user,top,shoe\n0,1,2\n", "tuples_train_posi.*header"),
    ("tuples_test_posi", "user,top,bottom,shoe\n0,1,99,2\n", "tuples_test_posi, line 2: bottom index 99"),
    ("tuples_test_posi", "user,top,bottom,shoe\n0,1,x,2\n", "line 2"),
])
def test_polyvore_u_malformed_file_is_named(tmp_path, name, text, message):
    root = write_polyvore_u(tmp_path, missing=0)
    (root / "tuples_630" / name).write_text(text)
    with pytest.raises(ValueError, match=message):
        PolyvoreU.load(root)


def test_paper_profile_runs_one_training_step_on_cpu(tmp_path):
    """VGG-16 (untrained here: no download) on the Polyvore-U fixture, C and A's 9-channel stack."""
    root = write_polyvore_u(tmp_path, missing=1, n_users=1)
    with pytest.warns(UserWarning):
        data, paths = fashionnet.polyvore_u_ranking_data(PolyvoreU.load(root))
    cfg = fashionnet.Config.for_profile("paper", pretrained=False, image_size=32, train_negatives=1,
                                          stage_one=TrainConfig(epochs=1, batch_size=2, optimizer="sgd", amp=False))
    items = fashionnet.ItemTable(paths=paths, image_size=32)
    torch.manual_seed(0)
    model = fashionnet.build_model("C", cfg)
    history = fashionnet.train_general(model, data, items, cfg, seed=0, device=torch.device("cpu"), run_dir=None)
    assert len(history.rows) == 1 and np.isfinite(history.rows[0]["train_loss"])
    assert items.missing > 0  # the missing shoe image was read as a white image, and counted
    del model
    a = fashionnet.build_model("A", cfg)
    assert a.features.backbone.model.features[0].in_channels == 9
    assert a(items(torch.tensor([[0, 1, 2]]))).shape == (1,)


# ----- the smoke notebook's outputs --------------------------------------------------------------
@pytest.mark.smoke_outputs
def test_smoke_notebook_results_in_range():
    runs = Path(os.environ.get("FASHIONREC_RUNS", ROOT / "build" / "runs"))
    m = report.load_metrics("fashionnet", "smoke", root=runs)
    chance = m["ch2_chance_ndcg"]
    assert 0.2 < chance < 0.45 and chance + 0.2 < m["ch2_oracle_ndcg"] < 1.0
    assert m["ch2_c_stage_one_ndcg"] > chance + 0.1
    assert m["ch2_c_partial_ndcg"] > chance + 0.1 and m["ch2_c_whole_ndcg"] > chance + 0.1
    assert m["ch2_c_user_conditioned_ndcg"] > chance + 0.1
    assert m["ch2_c_partial_kb_per_user"] < m["ch2_c_whole_kb_per_user"]
    assert m["ch2_c_stage_two_ratio"] > 0.2


def test_paper_path_data_call_on_an_export_gives_the_worlds_sizes(tmp_path):
    """``load_data`` as ``fashionrec paper-path 02`` calls it: the paper preset with the CPU overrides
    on a smoke Polyvore-U export (with its missing images) gives the world's users and list sizes."""
    from fashionrec.export import Quirks, export
    from fashionrec.world.world import World, WorldConfig

    exported = export("polyvore_u", tmp_path, "smoke", 0, 32, Quirks(seed=0))
    cfg = fashionnet.Config.for_profile("paper", data_root=str(tmp_path), **fashionnet.Config.PAPER_ON_CPU)
    assert set(cfg.overridden) >= {"pretrained", "image_size", "max_users"} and cfg.backbone == "vgg16"
    with pytest.warns(UserWarning, match=f"{len(exported.missing)} of .* images missing"):
        data = fashionnet.load_data(cfg, device="cpu")
    world = World.build(WorldConfig.for_profile("smoke"))
    ref = fashionnet.world_ranking_data(world, seed=0).subset([world.users[0].user_id])
    assert len(data.users) == cfg.max_users == 1 and data.world is None
    assert len(data.train[data.users[0]]) == len(ref.train[ref.users[0]])
    assert [len(y) for *_, y in data.test] == [len(y) for *_, y in ref.test]
    assert [int(y.sum()) for *_, y in data.valid] == [int(y.sum()) for *_, y in ref.valid]
    assert data.items.image_size == 32 and f"missing images {len(exported.missing)}" in data.summary
