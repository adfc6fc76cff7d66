"""Chapter 4's catalog export (``fashionrec export catalog``): the Kaggle "Fashion Product Images" loader
reads back the world it was written from — ids, categories, sub-categories, texts (commas and all), the one
base colour per item, images within JPEG tolerance — and counts the missing images of a quirky export."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from PIL import Image

from fashionrec.config import world_profile
from fashionrec.datasets import catalog as cat
from fashionrec.datasets.files import load_image
from fashionrec.export import Quirks
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
        assert item.colors == truth.colors[:1]  # Kaggle has one baseColour, no pattern or material
        assert item.pattern is None and item.material is None
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
