"""Chapter 4's catalog export (``fashionrec export catalog``): the Kaggle "Fashion Product Images" loader
reads back the world it was written from — ids, categories, sub-categories, texts (commas and all), the
attributes each row states (base colour, and what the title names), images within JPEG tolerance — counts
the missing images of a quirky export, and chapter 4 builds the same task from the export as from the world."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from PIL import Image

from fashionrec.config import world_profile
from fashionrec.datasets import catalog as cat
from fashionrec.datasets.files import load_image
from fashionrec.export import Quirks
from fashionrec.joint_embedding.data import from_catalog, from_world
from fashionrec.world.world import World, WorldConfig

SIZE = 32


@pytest.fixture(scope="module")
def world() -> World:
    return World.build(WorldConfig.for_profile(world_profile("smoke")))


@pytest.fixture(scope="module", params=[False, True], ids=["clean", "quirks"])
def exported(request, world, tmp_path_factory):
    root = tmp_path_factory.mktemp("catalog")
    quirks = Quirks(seed=1) if request.param else Quirks.none()
    return cat.export(world, root, quirks, image_size=SIZE), root, request.param


def test_round_trip_ids_categories_texts_and_colours(world, exported):
    out, root, quirky = exported
    catalog = cat.load_catalog(root)  # what the chapter calls: finds styles.csv
    assert catalog.source == "fashion_product_images" and out.counts == {"items": len(world.items)}
    ids = cat.export_ids(world)
    back = {new: i for i, new in ids.items()}
    assert sorted(it.item_id for it in catalog.items) == sorted(ids.values())
    for item in catalog.items:
        truth = world.items[back[item.item_id]]
        assert (item.category, item.subcategory, item.text) == (truth.category, truth.subcategory, truth.text)
        # Kaggle has one baseColour and no pattern or material column: the rest is what the title names
        stated = cat.stated_attributes(truth.colors[0], truth.text)
        assert (item.colors, item.pattern, item.material) == (stated["colors"], stated["pattern"], stated["material"])
        assert item.colors[0] == truth.colors[0] and item.pattern in (None, truth.pattern)
    order = [int(it.item_id) for it in catalog.items]
    assert (order != sorted(order)) == quirky  # the real file lists ids out of order


def test_commas_in_display_names_are_unquoted_as_in_kaggle(world, exported):
    _, root, quirky = exported
    lines = (root / "styles.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == ",".join(cat.STYLES_COLUMNS)
    with_commas = sum("," in it.text for it in world.items.values())
    assert with_commas > 0
    too_many = [f for f in csv.reader(lines[1:]) if len(f) > len(cat.STYLES_COLUMNS)]
    assert len(too_many) == (with_commas if quirky else 0)  # clean: csv-quoted instead
    assert ('"' in "".join(lines)) == (not quirky)


def test_images_within_jpeg_tolerance_and_missing_ones_counted(world, exported):
    out, root, quirky = exported
    catalog = cat.load_fashion_product_images(root)
    missing = [f"images/{i}.jpg" for i in catalog.missing_images]
    assert sorted(missing) == sorted(out.missing) and len(missing) == (2 if quirky else 0)  # counted
    assert f"{len(missing)} without an image" in catalog.summary()
    assert len(catalog.with_images) == len(catalog.items) - len(missing)  # kept in items, never dropped
    images, failed = cat.load_images(catalog.with_images, SIZE)
    assert failed == [] and images.shape == (len(catalog.with_images), SIZE, SIZE, 3)
    back = {new: i for i, new in cat.export_ids(world).items()}
    some = catalog.with_images[:40]
    truth = world.images([back[it.item_id] for it in some], SIZE).astype(float)
    if not quirky:  # square and at the loader's size: the same pixels up to JPEG
        assert np.abs(images[:40].astype(float) - truth).mean() < 8
    else:  # portrait 3:4 at two sizes, as Kaggle's 1080x1440 and 1800x2400
        sizes = {Image.open(it.image).size for it in catalog.with_images}
        assert all(h * 3 == w * 4 or abs(h - w * 4 / 3) <= 1 for w, h in sizes) and len(sizes) == 2
        shrunk = [np.asarray(Image.fromarray(t.astype(np.uint8)).resize((24, 24), Image.Resampling.BILINEAR))
                  for t in truth]
        centre = np.stack([load_image(it.image, SIZE)[4:28, 4:28] for it in some]).astype(float)
        assert np.abs(centre - np.stack(shrunk)).mean() < 12  # the product, fitted inside white margins


def test_export_is_deterministic_in_the_seed(world, tmp_path):
    a = cat.export(world, tmp_path / "a", Quirks(seed=3), image_size=16)
    b = cat.export(world, tmp_path / "b", Quirks(seed=3), image_size=16)
    c = cat.export(world, tmp_path / "c", Quirks(seed=4), image_size=16)
    text = {k: (tmp_path / k / "styles.csv").read_bytes() for k in "abc"}
    assert text["a"] == text["b"] != text["c"] and a.missing == b.missing
    assert sorted(p.name for p in (tmp_path / "a" / "images").iterdir()) == \
           sorted(p.name for p in (tmp_path / "b" / "images").iterdir())
    assert set(c.missing) != set(a.missing) or text["a"] != text["c"]


def test_stated_attributes_read_the_row_as_a_shop_writes_it():
    assert cat.stated_attributes("Navy Blue", "Roadster Men Navy Blue Checked Casual Shirt") == \
        {"colors": ("navy",), "pattern": "checks", "material": None}
    assert cat.stated_attributes("Blue", "Levis Men Blue Denim Jeans")["material"] == "denim"
    assert cat.stated_attributes("White", "Puma Men's Ballistic Spike White Green Shoe")["colors"] == ("white", "green")
    assert cat.stated_attributes("Light Blue", "sky blue polka-dot faux leather tote")["colors"] == ("light-blue",)
    assert cat.stated_attributes("Tan", "Striped Polo T-shirt") == {"colors": ("tan",), "pattern": "stripes",
                                                                    "material": None}
    assert cat.stated_attributes("", "Silver Heels") == {"colors": (), "pattern": None, "material": None}


@pytest.mark.parametrize("quirks", [Quirks.none(), Quirks(missing_images=0, seed=1)], ids=["clean", "rows-shuffled"])
def test_chapter_4_builds_the_same_task_on_both_paths(world, quirks, tmp_path):
    """The rehearsal's premise: the same splits, texts, stated attributes, same-item views, queries and
    relevant sets from the world and from its export (ids mapped), images equal up to JPEG."""
    cat.export(world, tmp_path, quirks, image_size=SIZE)
    a = from_world(world, SIZE, photos_per_item=2, n_queries=45, seed=3)
    b = from_catalog(cat.load_catalog(tmp_path), SIZE, views_per_item=2, n_queries=45, seed=3)
    ids = cat.export_ids(world)
    for split in ("train", "valid", "test"):
        assert [ids[i] for i in a.ids(split)] == b.ids(split)
        assert [(it.subcategory, it.text, it.colors, it.pattern, it.material) for it in a.items[split]] == \
               [(it.subcategory, it.text, it.colors, it.pattern, it.material) for it in b.items[split]]
        assert a.images[split].shape == b.images[split].shape
    for split in ("valid", "test"):
        assert len(a.queries[split]) == 45 and {q.kind for q in a.queries[split]} == {"add", "remove", "replace"}
        assert [(q.query_id, ids[q.item_id], q.kind, q.wanted, q.unwanted, tuple(ids[r] for r in q.relevant))
                for q in a.queries[split]] == \
               [(q.query_id, q.item_id, q.kind, q.wanted, q.unwanted, q.relevant) for q in b.queries[split]]
    assert a.synonyms == b.synonyms and np.array_equal(a.photo_items, b.photo_items)
    assert a.photos.shape == b.photos.shape == (2 * len(a.items["train"]), SIZE, SIZE, 3)
    if not quirks.format_quirks:  # square images at the loader's size: the same pixels and views up to JPEG
        assert np.abs(a.images["test"].astype(float) - b.images["test"]).mean() < 8
        assert np.abs(a.photos.astype(float) - b.photos).mean() < 8
