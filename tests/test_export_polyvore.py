"""Maryland Polyvore export (``fashionrec export polyvore``): the loader reads back the world it was written from.

On the smoke FashionWorld: outfits per split (in order), items' categories and texts, the test FITB and
compatibility files (the world's own questions, named ``<set_id>_<index>``), images within JPEG tolerance,
and the quirks of the real files: missing images counted (never silently dropped), mixed sizes, skipped
indices, ``0.jpg`` collages and ``0 (1).jpg`` copies, a set folder in no split.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fashionrec.config import world_profile
from fashionrec.datasets import polyvore as pv
from fashionrec.export import Quirks
from fashionrec.world import tasks
from fashionrec.world.world import World, WorldConfig

SIZE = 32


@pytest.fixture(scope="module")
def world() -> World:
    return World.build(WorldConfig.for_profile(world_profile("smoke")))


@pytest.fixture(scope="module")
def clean(world, tmp_path_factory):
    root = tmp_path_factory.mktemp("polyvore_clean")
    return pv.export(world, root, Quirks.none(), image_size=SIZE), root


@pytest.fixture(scope="module")
def quirky(world, tmp_path_factory):
    root = tmp_path_factory.mktemp("polyvore_quirks")
    return pv.export(world, root, Quirks(seed=3), image_size=SIZE), root


def to_world(world: World, format_quirks: bool) -> dict[str, str]:
    """``<set_id>_<index>`` -> the world item it names."""
    keys = pv.export_keys(world, format_quirks)
    return {name: i for s in pv.SPLITS for o in world.outfits[s] for name, i in zip(keys[o.outfit_id][1], o.item_ids)}


def test_round_trip_outfits_items_and_texts(world, clean):
    exported, root = clean
    data = pv.load_polyvore(root)
    back = to_world(world, False)
    keys = pv.export_keys(world, False)
    for split in pv.SPLITS:
        assert [tuple(back[i] for i in o.item_ids) for o in data.outfits[split]] == \
               [o.item_ids for o in world.outfits[split]]
        assert [o.outfit_id for o in data.outfits[split]] == [keys[o.outfit_id][0] for o in world.outfits[split]]
        assert [o.text for o in data.outfits[split]] == [o.text for o in world.outfits[split]]
    assert len(data.items) == exported.counts["item entries"] == len(back)
    for name, item in data.items.items():
        truth = world.items[back[name]]
        assert (item.category, item.subcategory, item.text) == (truth.category, truth.subcategory, truth.text)
    assert data.missing_images == [] and exported.missing == []


def test_round_trip_tasks_are_the_worlds_own(world, clean):
    exported, root = clean
    data = pv.load_polyvore(root)
    back = to_world(world, False)
    test_items = {i for o in world.outfits["test"] for i in o.item_ids}
    # FITB: the world's random-negative questions, the right answer listed first (Maryland's convention)
    expected = []
    for q in tasks.fitb_questions(world, "test", len(world.outfits["test"]), "random", seed=world.cfg.seed):
        if set(q.candidates) <= test_items:
            expected.append((q.context, (q.candidates[q.answer], *[c for k, c in enumerate(q.candidates)
                                                                     if k != q.answer]), 0))
    got = [(tuple(None if i is None else back[i] for i in q.context), tuple(back[c] for c in q.candidates), q.answer)
           for q in data.fitb]
    assert got == expected and len(got) == exported.counts["FITB questions"]
    examples = [e for e in tasks.compatibility_examples(world, "test", seed=world.cfg.seed)
                if set(e.item_ids) <= test_items]
    assert [(tuple(back[i] for i in e.item_ids), e.label) for e in data.compatibility] == \
           [(e.item_ids, e.label) for e in examples]
    assert sum(e.label for e in data.compatibility) == len(world.outfits["test"])  # every real outfit is written
    # the world draws negatives from the test outfits' items (tasks.outfit_items): every question is written
    assert len(got) == len(world.outfits["test"]) and len(data.compatibility) == 2 * len(got) and not exported.notes


def test_round_trip_images_within_jpeg_tolerance(world, clean):
    _, root = clean
    data = pv.load_polyvore(root)
    back = to_world(world, False)
    names = sorted(data.items)[::40]
    loaded = pv.load_item_images([data.items[n] for n in names], SIZE).astype(float)
    truth = world.images([back[n] for n in names], SIZE).astype(float)
    assert np.abs(loaded - truth).mean() < 8


def test_quirks_missing_images_are_counted_and_real_layout_kept(world, quirky):
    exported, root = quirky
    assert len(exported.missing) == 2
    data = pv.load_polyvore(root)
    missing = sorted("_".join(Path(p).with_suffix("").parts[-2:]) for p in exported.missing)
    assert data.missing_images == missing and f"{len(missing)} items without an image file" in data.summary()
    dropped = pv.load_polyvore(root, drop_missing=True)
    assert dropped.dropped["item entries"] == 2  # counted, not silently gone
    back = to_world(world, True)
    assert len(data.items) == len(back)  # collages, copies and skipped indices are no items
    images = root / "images"
    assert list(images.glob("*/0 (1).jpg")) and list(images.glob("*/0.jpg"))
    assert len(list(images.iterdir())) == sum(len(world.outfits[s]) for s in pv.SPLITS) + 1  # + a folder in no split
    skipped = [o for o in data.outfits["train"] if [int(i.split("_")[1]) for i in o.item_ids]
               != list(range(1, len(o.item_ids) + 1))]
    assert skipped and all((images / o.outfit_id / "3.jpg").exists() for o in skipped)  # on disk, in no outfit
    sizes = {pv.load_item_images([it], SIZE).shape for it in list(data.items.values())[:50]
             if it.item_id not in data.missing_images}
    assert sizes == {(1, SIZE, SIZE, 3)}  # mixed sizes on disk, one size loaded


def test_export_is_deterministic_in_the_seed(world, quirky, tmp_path):
    exported, root = quirky
    again = pv.export(world, tmp_path, Quirks(seed=3), image_size=SIZE)
    assert again.missing == exported.missing and again.counts == exported.counts
    for name in ("train_no_dup.json", "fill_in_blank_test.json", "fashion_compatibility_prediction.txt"):
        assert (tmp_path / "label" / name).read_bytes() == (root / "label" / name).read_bytes()
    first = json.loads((root / "label" / "test_no_dup.json").read_text())[0]
    assert set(first) == {"name", "views", "items", "image", "likes", "date", "set_url", "set_id", "desc"}
    assert set(first["items"][0]) == {"index", "name", "price", "likes", "image", "categoryid"}
