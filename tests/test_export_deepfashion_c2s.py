"""DeepFashion consumer-to-shop export: the smoke FashionWorld in the official layout, read back by
``load_deepfashion_c2s`` with the same items, categories, splits, photos, boxes and images, and the
images left out counted by the loader; chapter 3's data on the export is the FashionWorld path's task."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from fashionrec import c2s
from fashionrec.datasets import deepfashion_c2s as df
from fashionrec.export import Quirks
from fashionrec.world import tasks
from fashionrec.world.world import World, WorldConfig

SIZE = 64
NAME = re.compile(r"img/(TOPS|TROUSERS|DRESSES)/[A-Z][A-Za-z_]*/id_\d{8}/(comsumer|shop)_\d{2}\.jpg")


@pytest.fixture(scope="module")
def world() -> World:
    return World.build(WorldConfig.for_profile("smoke", seed=0))


@pytest.fixture(scope="module")
def clean(world, tmp_path_factory):
    root = tmp_path_factory.mktemp("c2s_clean")
    return df.export(world, root, Quirks.none(), image_size=SIZE), df.load_deepfashion_c2s(root)


@pytest.fixture(scope="module")
def quirky(world, tmp_path_factory):
    root = tmp_path_factory.mktemp("c2s_quirky")
    return df.export(world, root, Quirks(seed=0), image_size=SIZE), df.load_deepfashion_c2s(root)


def _world_ids(world: World) -> list[str]:
    """The exported world items (chapter 3's galleries, look-alikes included, split by split): the
    export numbers them id_00000001, ... in this order."""
    return [i for split in df.WORLD_SPLITS for i in tasks.consumer_to_shop(world, split, df.PHOTOS_PER_ITEM)[1]]


def test_photos_per_item_is_the_chapters():
    cfg = c2s.Config()
    assert df.PHOTOS_PER_ITEM == cfg.train_photos_per_item == cfg.test_photos_per_item


def test_clean_round_trip_gives_back_the_world(world, clean):
    exported, data = clean
    assert exported.missing == [] and not data.missing and not data.skipped
    ids = _world_ids(world)
    back = dict(zip(sorted(data.items), ids))  # no gaps on a clean export
    assert [f"id_{k:08d}" for k in range(1, len(ids) + 1)] == sorted(data.items)
    assert exported.counts == {"items": len(ids), "consumer photos": 2 * len(ids), "shop photos": len(ids),
                               "pairs": 2 * len(ids)}
    for item_id, item in data.items.items():
        w = world.items[back[item_id]]
        assert item.category == tasks.c2s_category(world, w.item_id)
        assert item.subcategory == df.sub_category_folder(w.subcategory)
    for split, name in df.WORLD_SPLITS.items():
        photos, shops = tasks.consumer_to_shop(world, split, df.PHOTOS_PER_ITEM)
        assert [back[s.item_id] for s in data.shop[name]] == shops  # the world's order
        assert [back[p.item_id] for p in data.consumer[name]] == [p.item_id for p in photos]
        assert [p.category for p in data.consumer[name]] == [p.category for p in photos]
        assert all(p.box == (0.0, 0.0, 1.0, 1.0) for p in data.consumer[name] + data.shop[name])
        assert all(p.image.endswith(f"comsumer_{k % 2 + 1:02d}.jpg") for k, p in enumerate(data.consumer[name]))
        street = df.load_crops(data.consumer[name], SIZE).astype(float)
        assert np.abs(street - world.consumer_images(photos, SIZE)).mean() < 8  # JPEG only
        shop = df.load_crops(data.shop[name], SIZE).astype(float)
        assert np.abs(shop - world.images(shops, SIZE)).mean() < 8


def test_real_format_path_builds_the_world_paths_task(world, clean):
    """``c2s.load_data`` on the clean export (as the rehearsal runs chapter 3) gives the FashionWorld
    path's task under the export's id mapping: the same galleries (order, categories), queries (order,
    items, categories), hard negatives, receipts and Siamese training batches; images differ by JPEG only."""
    exported, loaded = clean
    back = dict(zip(sorted(loaded.items), _world_ids(world)))  # no gaps on a clean export
    cfg = c2s.Config.for_profile("smoke", seed=0)
    assert cfg.image_size == SIZE and world.cfg == WorldConfig.for_profile(cfg.profile, seed=cfg.seed)
    on_world = c2s.load_data(cfg)
    on_export = c2s.load_data(c2s.Config.for_profile("smoke", seed=0, dataset="deepfashion_c2s",
                                                     data_root=str(exported.root)))
    assert c2s.receipt_data(on_export) == c2s.receipt_data(on_world)
    rng = np.random.default_rng(0)
    for split, w in on_world.splits.items():
        e = on_export.splits[split]
        assert [back[g] for g in e.gallery] == w.gallery
        assert e.gallery_categories.tolist() == w.gallery_categories.tolist()
        assert [back[p.item_id] for p in e.photos] == [p.item_id for p in w.photos]
        assert e.query_categories.tolist() == w.query_categories.tolist()
        assert e.true_index.tolist() == w.true_index.tolist() and e.lookalikes == w.lookalikes
        assert (e.negatives, len(w.photos)) == (w.negatives, 2 * len(w.gallery))  # look-alikes queried too
        assert np.abs(e.query_images.astype(float) - w.query_images).mean() < 8  # JPEG only
        assert np.abs(e.gallery_images.astype(float) - w.gallery_images).mean() < 8
    features = (rng.random((len(on_world.train.photos), 4), dtype=np.float32),
                rng.random((len(on_world.train.gallery), 4), dtype=np.float32))
    batches = [list(c2s.siamese_setup(cfg, d.train, features, seed=0)[1]) for d in (on_world, on_export)]
    assert len(batches[0]) == len(batches[1]) > 0
    for a, b in zip(*batches):  # the same (query, candidates, targets): the same pairs, drawn alike
        assert all(torch.equal(x, y) for x, y in zip(a, b))


def test_official_layout(clean):
    exported, _ = clean
    root = exported.root
    items = (root / df.ITEM_LIST).read_text().splitlines()
    assert items[0] == str(len(items) - 1) and all(re.fullmatch(r"id_\d{8}", i) for i in items[1:])
    bbox = (root / df.BBOX_LIST).read_text().splitlines()
    assert bbox[:2] == [str(len(bbox) - 2), "image_name clothes_type source_type x_1 y_1 x_2 y_2"]
    part = (root / df.PARTITION).read_text().splitlines()
    assert part[:2] == [str(len(part) - 2), "image_pair_name_1 image_pair_name_2 item_id evaluation_status"]
    for line in bbox[2:]:
        name, clothes, source, *box = line.split()
        assert NAME.fullmatch(name) and (root / name).is_file()
        assert source == ("1" if "/shop_" in name else "2") and clothes in "123"
        assert box == ["0", "0", str(SIZE), str(SIZE)]  # the whole image
    splits = set()
    for line in part[2:]:
        consumer, shop, item, split = line.split()
        assert "/comsumer_" in consumer and shop.endswith("/shop_01.jpg") and f"/{item}/" in consumer
        splits.add(split)
    assert splits == {"train", "val", "test"}
    assert not list(root.rglob("consumer_*"))  # the dataset's spelling only


def test_quirks_are_survived_and_missing_images_counted(world, quirky):
    exported, data = quirky
    assert len(exported.missing) == Quirks().missing_images
    assert sorted(data.missing) == sorted(exported.missing)  # counted, never dropped silently
    pairs = [ln.split() for ln in (exported.root / df.PARTITION).read_text().splitlines()[2:]]
    touched = [p for p in pairs if p[0] in exported.missing or p[1] in exported.missing]
    assert data.skipped == {"image missing": len(touched)}
    assert f"{len(exported.missing)} images missing" in data.summary()
    kept = sum(len(v) for v in data.consumer.values())
    assert kept == exported.counts["consumer photos"] - len(touched)
    numbers = [int(i[3:]) for i in df.read_item_list(exported.root / df.ITEM_LIST)]
    assert numbers == sorted(numbers) and numbers[-1] > len(numbers)  # ids with gaps, as the real list
    boxes = df.read_bbox_list(exported.root / df.BBOX_LIST)
    sizes = set()
    for name, (_, _, (x1, y1, x2, y2)) in boxes.items():
        if name in exported.missing:
            continue
        with Image.open(exported.root / name) as im:
            sizes.add(im.size)
            assert (x1, y1) == (0, 0) and {x2 - im.size[0], y2 - im.size[1]} <= {0, 1}
    assert len(sizes) > 1  # mixed sizes
    overshoot = sum(1 for line in (exported.root / df.BBOX_LIST).read_text().splitlines()[2:]
                    if line.split()[0] not in exported.missing and _overshoots(exported.root, line))
    assert overshoot > 0  # boxes that overshoot the border by a pixel, clipped by the loader
    assert all(p.box == (0.0, 0.0, 1.0, 1.0) for ps in data.consumer.values() for p in ps)
    assert "  " in (exported.root / df.PARTITION).read_text()  # columns padded with spaces


def _overshoots(root: Path, line: str) -> bool:
    name, *_, x2, y2 = line.split()
    with Image.open(root / name) as im:
        return int(x2) > im.size[0] or int(y2) > im.size[1]


def test_export_is_deterministic_in_the_seed(world, tmp_path):
    small = replace(world, pools={s: p[:40] for s, p in world.pools.items()}, cache_dir=None)  # a slice: fast
    exported = df.export(small, tmp_path / "a", Quirks(seed=0), image_size=32)
    again = df.export(small, tmp_path / "b", Quirks(seed=0), image_size=32)
    other = df.export(small, tmp_path / "c", Quirks(seed=1), image_size=32)
    for rel in (df.ITEM_LIST, df.BBOX_LIST, df.PARTITION):
        assert (again.root / rel).read_text() == (exported.root / rel).read_text()
    assert again.missing == exported.missing != other.missing
    assert (other.root / df.BBOX_LIST).read_text() != (exported.root / df.BBOX_LIST).read_text()
