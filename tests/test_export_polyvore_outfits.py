"""Polyvore Outfits export (``fashionrec export polyvore_outfits``): the loader reads back the world it was
written from — outfits of the ``nondisjoint/`` split, items' categories and texts (metadata and CRLF
``categories.csv``), outfit titles, the compatibility and type-matched FITB files of each split, images
within JPEG tolerance — and counts the missing images of a quirky export. On a clean export, chapter 1's
data code builds the world path's task (the rehearsal's premise)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from fashionrec import bilstm
from fashionrec.config import world_profile
from fashionrec.datasets import polyvore as pv
from fashionrec.datasets import polyvore_outfits as po
from fashionrec.datasets.files import read_categories
from fashionrec.export import Quirks
from fashionrec.world import tasks
from fashionrec.world.world import World, WorldConfig

SIZE = 32


@pytest.fixture(scope="module")
def world() -> World:
    return World.build(WorldConfig.for_profile(world_profile("smoke")))


@pytest.fixture(scope="module", params=[False, True], ids=["clean", "quirks"])
def exported(request, world, tmp_path_factory):
    root = tmp_path_factory.mktemp("polyvore_outfits")
    quirks = Quirks(seed=1) if request.param else Quirks.none()
    return po.export(world, root, quirks, image_size=SIZE), root, request.param


def test_round_trip_outfits_items_texts_and_splits(world, exported):
    out, root, _ = exported
    data = po.load_polyvore_outfits(root)
    item_id, set_id = po.export_ids(world)
    back = {new: i for i, new in item_id.items()}
    for split in pv.SPLITS:
        assert [o.outfit_id for o in data.outfits[split]] == [set_id[o.outfit_id] for o in world.outfits[split]]
        assert [tuple(back[i] for i in o.item_ids) for o in data.outfits[split]] == \
               [o.item_ids for o in world.outfits[split]]  # in index order, whatever the listing order
        assert [o.text for o in data.outfits[split]] == [o.text for o in world.outfits[split]]
    in_outfits = {i for s in pv.SPLITS for o in world.outfits[s] for i in o.item_ids}
    assert {back[i] for i in data.items} == in_outfits
    for new, item in data.items.items():
        truth = world.items[back[new]]
        assert (item.category, item.subcategory, item.text) == (truth.category, truth.subcategory, truth.text)


@pytest.mark.parametrize("split", pv.SPLITS)
def test_round_trip_tasks_of_each_split(world, exported, split):
    out, root, _ = exported
    data = po.load_polyvore_outfits(root, task_split=split)
    item_id, _ = po.export_ids(world)
    back = {new: i for i, new in item_id.items()}
    expected = [(q.context, q.candidates, q.answer)  # every question: negatives are items of the split's outfits
                for q in tasks.fitb_questions(world, split, bilstm.Config.n_fitb, "type", seed=world.cfg.seed)]
    got = [(tuple(None if i is None else back[i] for i in q.context), tuple(back[c] for c in q.candidates), q.answer)
           for q in data.fitb]
    assert got == expected and len(got) == out.counts[f"{split} FITB questions"] and not out.notes
    examples = [(e.item_ids, e.label) for e in tasks.compatibility_examples(world, split, seed=world.cfg.seed)]
    assert [(tuple(back[i] for i in e.item_ids), e.label) for e in data.compatibility] == examples
    assert len(examples) == 2 * len(world.outfits[split])


def test_images_and_missing_ones(world, exported):
    out, root, quirky = exported
    data = po.load_polyvore_outfits(root)
    item_id, _ = po.export_ids(world)
    back = {new: i for i, new in item_id.items()}
    missing = sorted(p.removeprefix("images/").removesuffix(".jpg") for p in out.missing)
    in_outfits = [m for m in missing if m in data.items]
    assert data.missing_images == in_outfits and len(out.missing) == (2 if quirky else 0)
    if in_outfits:
        assert po.load_polyvore_outfits(root, drop_missing=True).dropped["item entries"] >= len(in_outfits)
    if not quirky:
        ids = sorted(data.items)[::40]
        loaded = pv.load_item_images([data.items[i] for i in ids], SIZE).astype(float)
        assert np.abs(loaded - world.images([back[i] for i in ids], SIZE).astype(float)).mean() < 8


def test_categories_csv_keeps_the_real_quirks(world, exported):
    _, root, quirky = exported
    raw = (root / "categories.csv").read_bytes()
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")  # CRLF only
    assert raw.endswith(b"\r\n") != quirky  # the real file has no final line end
    cats = read_categories(root / "categories.csv")
    subcategories = {world.items[i].subcategory for i in po.export_ids(world)[0]}
    assert {fine for fine, _ in cats.values()} == subcategories  # the repeated id keeps its first row
    meta = json.loads((root / "polyvore_item_metadata.json").read_text())
    assert set(next(iter(meta.values()))) >= {"url_name", "title", "category_id", "semantic_category"}
    assert any(m["title"] == "" for m in meta.values()) == quirky  # empty titles: the text is in url_name


@pytest.mark.parametrize("exported", [False], indirect=True, ids=["clean"])
def test_chapter_1_builds_the_world_paths_task_from_the_export(world, exported):
    """The rehearsal's premise: ``bilstm.load_data`` on a clean export gives the world path's task under the
    export's ids — the items and their order, texts (word ids), vocabulary, categories, training pool,
    outfits, gallery (the softmax set when scoring), both FITB protocols and the compatibility outfits.
    Only the pixels differ (JPEG). ``finetune=True``: no backbone runs."""
    _, root, _ = exported
    on_world = bilstm.load_data(bilstm.Config.for_profile("smoke", finetune=True, device="cpu"))
    on_export = bilstm.load_data(bilstm.Config.for_profile("smoke", finetune=True, device="cpu",
                                                           dataset="polyvore_outfits", data_root=str(root)))
    back = {new: i for i, new in po.export_ids(world)[0].items()}

    def world_ids(ids: tuple) -> tuple:  # export ids -> world ids (None: the blank)
        return tuple(None if i is None else back[i] for i in ids)

    w, e = on_world.table, on_export.table
    assert world_ids(e.item_ids) == tuple(w.item_ids) and torch.equal(e.tokens, w.tokens)
    assert on_export.vocab == on_world.vocab and len(on_world.vocab) > 0
    assert np.array_equal(e.ranks, w.ranks) and e.categories == w.categories
    assert world_ids(on_export.train_items) == tuple(on_world.train_items)
    assert world_ids(on_export.gallery) == tuple(on_world.gallery)
    assert [world_ids(o) for o in on_export.train] == on_world.train
    assert [world_ids(o) for o in on_export.test] == on_world.test
    for kind in ("random", "type"):
        assert [(world_ids(q.context), world_ids(q.candidates), q.answer) for q in on_export.fitb[kind]] == \
               [(q.context, q.candidates, q.answer) for q in on_world.fitb[kind]]
        assert len(on_world.fitb[kind]) == len(world.outfits["test"])  # every test outfit gives a question
    assert [(world_ids(x.item_ids), x.label) for x in on_export.compatibility] == \
           [(x.item_ids, x.label) for x in on_world.compatibility]
