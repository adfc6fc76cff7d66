"""Polyvore-U export round trip: ``PolyvoreU.load(export(world))`` gives back the world's users, liked
outfits per split, ranking lists, hard negatives and images (within JPEG tolerance), and counts the
images the export left out on purpose."""

from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import replace

import numpy as np
import pytest
import torch
from PIL import Image

from fashionrec import fashionnet
from fashionrec.datasets import polyvore_u
from fashionrec.datasets.polyvore_u import PolyvoreU
from fashionrec.export import Quirks
from fashionrec.world import tasks
from fashionrec.world.world import World, WorldConfig

SIZE = 32


@pytest.fixture(scope="module")
def world() -> World:
    return World.build(WorldConfig.for_profile("smoke"))


@pytest.fixture(scope="module")
def clean(world, tmp_path_factory):
    root = tmp_path_factory.mktemp("polyvore_u_clean")
    exported = polyvore_u.export(world, root, Quirks.none(), image_size=SIZE)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a clean export: nothing to warn about
        return exported, PolyvoreU.load(root)


def world_ids(data: PolyvoreU, outfit: tuple[str, ...]) -> tuple[str, ...]:
    """``("top/3", ...)`` -> the world's item ids, through the image lists' file names."""
    return tuple(data.image_lists[i.split("/")[0]][int(i.split("/")[1])].removesuffix(".jpg") for i in outfit)


def test_layout_is_the_official_one(clean):
    exported, _ = clean
    folder = exported.root / "tuples_630"
    expected = {f"image_list_{c}" for c in ("top", "bottom", "shoe")} | {
        f"tuples_{s}_{k}" for s in ("train", "val", "test") for k in ("posi", "nega", "nega_hard")}
    assert {p.name for p in folder.iterdir()} == expected
    assert (folder / "tuples_train_posi").read_text().startswith("user,top,bottom,shoe\n0,")
    assert (exported.root / "images" / "291x291").is_dir() and not exported.missing


def test_users_and_liked_outfits_round_trip(world, clean):
    _, data = clean
    assert data.users == [f"u{k}" for k in range(len(world.users))]
    got = data.user_outfits()
    for k, user in enumerate(world.users):
        for split in ("train", "valid", "test"):
            assert [world_ids(data, o) for o in got[f"u{k}"][split]] == world.user_outfits[user.user_id][split]


@pytest.mark.parametrize("split, offset", [("test", 0), ("valid", 1), ("train", 2)])
def test_ranking_lists_round_trip(world, clean, split, offset):
    _, data = clean
    lists = tasks.ranking_lists(world, split, seed=world.cfg.seed + offset)
    for r, w in zip(data.ranking_lists(split), lists, strict=True):
        assert Counter(zip(map(lambda o: world_ids(data, o), r.outfits), r.labels)) == Counter(zip(w.outfits, w.labels))


def test_hard_negatives_are_other_users_liked_outfits(world, clean):
    _, data = clean
    lists = data.ranking_lists("test", negatives="hard")
    liked = {k: set(world.user_outfits[u.user_id]["test"]) for k, u in enumerate(world.users)}
    for k, r in enumerate(lists):
        hard = [world_ids(data, o) for o, y in zip(r.outfits, r.labels) if y == 0]
        assert len(hard) == 6 * sum(r.labels)
        others = set().union(*(v for j, v in liked.items() if j != k))
        assert all(o in others for o in hard)


def test_items_categories_and_images_round_trip(world, clean):
    _, data = clean
    items = data.items()
    pool = {it.item_id: it for it in world.user_model.items}
    ids = list(items)
    wids = [world_ids(data, (i,))[0] for i in ids]
    assert [items[i].category for i in ids] == [pool[w].category for w in wids]
    truth = world.images(wids, SIZE).astype(float)
    read = np.stack([np.asarray(Image.open(items[i].image).convert("RGB")) for i in ids]).astype(float)
    assert read.shape == truth.shape and np.abs(read - truth).mean() < 8


@pytest.fixture(scope="module")
def reseeded(world, tmp_path_factory) -> PolyvoreU:
    """The world exported clean with another quirks seed (5): the tasks must follow the world's seed."""
    root = tmp_path_factory.mktemp("polyvore_u_reseeded")
    polyvore_u.export(world, root, replace(Quirks.none(), seed=5), image_size=SIZE)
    return PolyvoreU.load(root)


def test_the_chapter_builds_the_same_task_on_both_paths(world, reseeded):
    """Chapter 2's data code on the export = on the world, under the export's id mapping (item
    ``top/k`` = the k-th line of ``image_list_top``, user ``u<k>`` = ``world.users[k]``): the same
    item table row for row, users, liked training outfits, valid and test lists (as sets of (outfit,
    label): the order inside a list does not matter, the metrics average ties), and the same training
    tuples (``PairDataset``: liked outfit, random negative, user) for stage one and for one user.
    (One of this world's pool items is in no tuple: the item table is the image lists, every line.)"""
    data = reseeded
    real, paths = fashionnet.polyvore_u_ranking_data(data)
    ref = fashionnet.world_ranking_data(world)
    user = {f"u{k}": u.user_id for k, u in enumerate(world.users)}
    assert [world_ids(data, (i,))[0] for i in real.item_ids] == ref.item_ids and all(paths)
    assert np.array_equal(real.categories, ref.categories)
    assert [user[u] for u in real.users] == ref.users
    assert all(np.array_equal(real.train[u], ref.train[user[u]]) for u in real.users)
    for split in ("valid", "test"):
        mine, theirs = getattr(real, split), getattr(ref, split)
        assert [user[u] for u, *_ in mine] == [v for v, *_ in theirs]
        for (_, o, y), (_, p, z) in zip(mine, theirs, strict=True):
            assert sorted(zip(map(tuple, o.tolist()), y.tolist())) == sorted(zip(map(tuple, p.tolist()), z.tolist()))
    for users, seed in ((real.users, 0), (real.users[:1], 100_003)):
        a = fashionnet.PairDataset(real, users, 6, seed)
        b = fashionnet.PairDataset(ref, [user[u] for u in users], 6, seed)
        assert torch.equal(a.pos, b.pos) and torch.equal(a.neg, b.neg) and torch.equal(a.user, b.user)


def test_missing_images_are_counted_not_dropped(world, tmp_path):
    exported = polyvore_u.export(world, tmp_path, Quirks(missing_images=3, mixed_sizes=0.5, seed=1), image_size=SIZE)
    assert len(exported.missing) == 3
    with pytest.warns(UserWarning, match="3 of .* images missing"):
        data = PolyvoreU.load(tmp_path)
    names = {p.rsplit("/", 1)[1] for p in exported.missing}
    assert {data.image_lists[i.split("/")[0]][int(i.split("/")[1])] for i in data.missing_images} == names
    assert "missing images 3" in data.summary()
    items = data.items()
    assert len(items) == len(data.used_items()) and sum(not it.image for it in items.values()) == 3  # kept
    sizes = {Image.open(it.image).size for it in items.values() if it.image}
    assert len(sizes) > 1  # mixed sizes, as the real data's quirk
    again = polyvore_u.export(world, tmp_path / "again", Quirks(missing_images=3, mixed_sizes=0.5, seed=1),
                              image_size=SIZE)
    assert again.missing == exported.missing  # deterministic in the seed


def test_cached_features_on_the_export_match_the_worlds(world, clean, tmp_path, monkeypatch):
    """``cached_features=True`` on Polyvore-U decodes each image once and gives the world path's
    frozen features, item for item, within JPEG tolerance (the rehearsal's standard settings)."""
    monkeypatch.setenv("FASHIONREC_CACHE", str(tmp_path / "cache"))
    exported, data = clean
    cfg = fashionnet.Config.for_profile("smoke", image_size=SIZE, max_users=4)
    real = fashionnet.load_data(fashionnet.Config.for_profile(
        "smoke", image_size=SIZE, max_users=4, dataset="polyvore_u", data_root=str(exported.root)), device="cpu")
    ref = fashionnet.load_data(cfg, device="cpu")
    assert real.items.table.shape[1:] == ref.items.table.shape[1:] and real.images is not None
    to_world = [world_ids(data, (i,))[0] for i in real.item_ids]
    order = [ref.item_ids.index(w) for w in to_world]
    truth = ref.images[order].astype(float)
    assert np.abs(real.images.astype(float) - truth).mean() < 8
    corr = np.corrcoef(real.items.table.flatten().numpy(), ref.items.table[order].flatten().numpy())[0, 1]
    assert corr > 0.95
