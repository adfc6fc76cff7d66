"""STL-Fashion export round trip: ``load_stl_fashion(export(world))`` gives back the world's scenes, products,
categories and boxes; images within JPEG tolerance; the images left out are counted and named; chapter 5's
data code builds the same task (splits, triplets, negatives) from the export as from the world."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from fashionrec import ctl
from fashionrec.backbones import build_backbone
from fashionrec.config import world_profile
from fashionrec.ctl import data as ctl_data
from fashionrec.datasets import stl
from fashionrec.export import Quirks
from fashionrec.world import tasks
from fashionrec.world.world import World, WorldConfig

SIZE = 64
STL_REAL = Path(__file__).resolve().parents[2] / "shared" / "realdata" / "stl-fashion" / "fashion-cat.json"


@pytest.fixture(scope="module")
def world() -> World:
    return World.build(WorldConfig.for_profile(world_profile("smoke")))


@pytest.fixture(scope="module")
def world_scenes(world):
    """scene signature -> (the world's Scene, its image), as the export renders them (seed 0)."""
    out = {}
    for split in ("train", "valid", "test"):
        scenes, images = tasks.make_scenes(world, split, len(world.outfits[split]), size=SIZE, seed=0)
        out.update({stl.scene_signature(s.scene_id, split): (s, im) for s, im in zip(scenes, images)})
    return out


@pytest.fixture(scope="module")
def clean(world, tmp_path_factory):
    root = tmp_path_factory.mktemp("stl_clean")
    return stl.export(world, root, Quirks.none(), image_size=SIZE), root


@pytest.fixture(scope="module")
def quirky(world, tmp_path_factory):
    root = tmp_path_factory.mktemp("stl_quirky")
    return stl.export(world, root, Quirks(seed=0), image_size=SIZE), root


def test_clean_round_trip_gives_the_worlds_records(world, world_scenes, clean):
    exported, root = clean
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing is missing or left out
        data = stl.load_stl_fashion(root)
    products = {i for s, _ in world_scenes.values() for i in s.item_ids}
    assert exported.counts == {"scenes": len(world_scenes), "products": len(products),
                               "pairs": sum(len(s.item_ids) for s, _ in world_scenes.values())}
    assert data.n_pairs == exported.counts["pairs"] and not exported.missing and not data.missing_signatures
    assert set(data.items) == {stl.signature("product", i) for i in products}
    for i in products:
        item = data.items[stl.signature("product", i)]
        path = stl.CATEGORY_PATHS[world.items[i].subcategory]
        assert (item.category, item.subcategory) == (stl.short_category(path), path)
    assert set(data.scenes) == set(world_scenes)
    for sig, (scene, _) in world_scenes.items():
        got = data.scenes[sig]
        assert got.item_ids == tuple(stl.signature("product", i) for i in scene.item_ids)  # lines in scene order
        np.testing.assert_allclose(np.array(got.boxes), np.array(scene.boxes), atol=5e-7)


def test_clean_images_within_jpeg_tolerance(world, world_scenes, clean):
    _, root = clean
    data = stl.load_stl_fashion(root)
    for sig in sorted(world_scenes)[::40]:
        image = stl.read_image(data.scenes[sig].image)
        assert image.shape == (SIZE, SIZE, 3)
        assert np.abs(image.astype(float) - world_scenes[sig][1]).mean() < 8
    ids = sorted({i for s, _ in world_scenes.values() for i in s.item_ids})[::50]
    for i, rendered in zip(ids, world.images(ids, size=SIZE)):
        image = stl.read_image(data.items[stl.signature("product", i)].image)
        assert np.abs(image.astype(float) - rendered).mean() < 8
    assert str(data.items[stl.signature("product", ids[0])].image).endswith(
        stl.signature_path(stl.signature("product", ids[0])))


def test_export_files_are_in_the_official_format(clean):
    _, root = clean
    lines = (root / stl.PAIRS_FILE).read_text().splitlines()
    row = json.loads(lines[0])
    assert list(row) == ["product", "scene", "bbox"] and len(row["product"]) == len(row["scene"]) == 32
    assert all(len(repr(v).split(".")[-1]) <= 6 for v in row["bbox"])  # 6 decimals, as the real file
    text = (root / stl.CATEGORY_FILE).read_text()
    assert text.count("\n") == 1 and isinstance(json.loads(text), dict)  # one object on one line
    assert all(v.startswith("Apparel & Accessories|") for v in json.loads(text).values())


def test_quirks_missing_images_are_counted_and_named(world_scenes, clean, quirky):
    exported, root = quirky
    assert len(exported.missing) == 2
    with pytest.warns(UserWarning, match="missing images"):
        data = stl.load_stl_fashion(root)
    gone = {p.rsplit("/", 1)[-1].removesuffix(".jpg") for p in exported.missing}
    assert set(data.missing_signatures) == gone
    assert sum(data.missing_images.values()) == 2 and all(sig in data.summary() for sig in gone)
    pairs = [json.loads(line) for line in (root / stl.PAIRS_FILE).read_text().splitlines()]
    lost = sum(r["product"] in gone or r["scene"] in gone for r in pairs)
    assert lost > 0 and data.skipped_pairs == {"image missing": lost}
    assert sum(len(s.item_ids) for s in data.scenes.values()) + lost == data.n_pairs == len(pairs)
    # the rest is the clean export's, though the lines are shuffled (not grouped by scene)
    assert sorted(pairs, key=json.dumps) == sorted(map(json.loads, (clean[1] / stl.PAIRS_FILE).read_text()
                                                       .splitlines()), key=json.dumps)
    assert [r["scene"] for r in pairs[:50]] != sorted(r["scene"] for r in pairs[:50])
    sizes = {stl.read_image(s.image).shape[:2] for s in data.scenes.values()}
    assert len(sizes) > 1  # mixed sizes, as Pinterest's 400x images
    for sig, scene in data.scenes.items():  # the boxes are normalised, whatever the size
        truth = {stl.signature("product", i): b for i, b in zip(*[getattr(world_scenes[sig][0], f)
                                                                  for f in ("item_ids", "boxes")])}
        assert set(scene.item_ids) == set(truth) - gone
        np.testing.assert_allclose(np.array(scene.boxes), np.array([truth[p] for p in scene.item_ids]), atol=5e-7)


def test_export_is_deterministic_in_the_seed(world, quirky, tmp_path):
    exported = stl.export(world, tmp_path, Quirks(seed=0), image_size=SIZE)
    assert exported.missing == quirky[0].missing
    assert (tmp_path / stl.PAIRS_FILE).read_bytes() == (quirky[1] / stl.PAIRS_FILE).read_bytes()
    assert (tmp_path / stl.CATEGORY_FILE).read_bytes() == (quirky[1] / stl.CATEGORY_FILE).read_bytes()


@pytest.mark.skipif(not STL_REAL.exists(), reason="shared/realdata is absent")
def test_category_paths_are_the_real_ones_where_stl_has_the_kind():
    real = set(stl.read_categories(STL_REAL).values())
    ours = set(stl.CATEGORY_PATHS.values())
    assert real - ours == {"Apparel & Accessories|Jewelry|Earrings"}  # FashionWorld has no earrings
    assert {stl.short_category(p) for p in ours - real} == {"Dresses", "Hats", "Watches", "Scarves & Shawls", "Belts"}


def features_of_nothing(backbone, images, with_regions=True, **kwargs):
    """``backbone_maps`` without a backbone: zero features of the right count (the task is what is compared)."""
    regions = np.zeros((len(images), 1, 1, 1), np.float16) if with_regions else None
    return regions, np.zeros((len(images), 1), np.float32)


def test_chapter_5_builds_the_same_task_from_the_export_as_from_the_world(world, clean, monkeypatch, tmp_path):
    """Kang et al.'s task on both paths: the loader's scene-hash split is the world's split, the same scenes,
    one triplet per (scene, product) pair with the same negative, the same products and categories (in
    signature order), and the same hit-rate and training negatives, under the export's signatures."""
    _, root = clean
    monkeypatch.setattr(ctl_data, "backbone_maps", features_of_nothing)
    cfg = ctl.Config.for_profile("smoke", scene_size=SIZE, product_size=SIZE)
    backbone = build_backbone("small_cnn", pretrained=False)
    ours = ctl.load_data(cfg, world=world, backbone=backbone, progress=False)
    theirs = ctl.load_data(ctl.Config.for_profile("smoke", dataset="stl_fashion", data_root=str(root),
                                                  scene_size=SIZE, product_size=SIZE),
                           backbone=backbone, progress=False, cache_dir=tmp_path)
    product = {i: stl.signature("product", i) for i in ours.product_ids}
    assert [product[i] for i in ours.product_ids] == theirs.product_ids  # the same rows
    assert ours.categories == theirs.categories and np.array_equal(ours.product_category, theirs.product_category)
    for split in stl.SPLITS:
        assert len(ours.scenes[split]) == len(world.outfits[split]) == len(theirs.scenes[split])  # the world's split
        scene = {s.scene_id: stl.scene_signature(s.scene_id, split) for s in ours.scenes[split]}
        assert [scene[s.scene_id] for s in ours.scenes[split]] == [s.scene_id for s in theirs.scenes[split]]
        a, b = ours.splits[split], theirs.splits[split]
        pairs = {(s.scene_id, i) for s in ours.scenes[split] for i in s.item_ids}
        assert len({(t.scene_id, t.positive) for t in a.triplets} & pairs) == len(a.triplets) > 0.9 * len(pairs)
        assert [(scene[t.scene_id], product[t.positive], product[t.negative], t.category) for t in a.triplets] == \
            [(t.scene_id, t.positive, t.negative, t.category) for t in b.triplets]
        assert [t.box for t in a.triplets] == [t.box for t in b.triplets]  # 6 decimals on both
        for field in ("positive", "negative", "candidates", "train_negatives", "category"):
            assert np.array_equal(getattr(a, field), getattr(b, field)), (split, field)
    held = {i for s in ours.scenes["test"] for i in s.item_ids}  # test negatives come from the test scenes
    assert {ours.product_ids[c] for c in ours.test.candidates.ravel()} <= held
    assert {t.negative for t in ours.test.triplets} <= held


def test_the_loaders_split_is_order_invariant(world, clean, quirky):
    """The quirky export's lines are shuffled; the split by scene signature and the triplets are not."""
    with pytest.warns(UserWarning, match="missing images"):
        data = {name: stl.load_stl_fashion(root) for name, (_, root) in (("clean", clean), ("quirky", quirky))}
    gone = set(data["quirky"].missing_signatures)
    for split in stl.SPLITS:
        clean_scenes, quirky_scenes = (stl.split_scenes(d)[split] for d in (data["clean"], data["quirky"]))
        assert [s.scene_id for s in clean_scenes if s.scene_id not in gone] == [s.scene_id for s in quirky_scenes]
    shuffled = list(data["clean"].scenes.values())[::-1]
    assert stl.stl_triplets(data["clean"], shuffled, seed=3) == stl.stl_triplets(
        data["clean"], list(data["clean"].scenes.values()), seed=3)
