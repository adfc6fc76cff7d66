"""FashionWorld's renderer: product images, consumer photos, scenes and box helpers."""

from itertools import combinations

import numpy as np
import pytest

from fashionrec.records import Item
from fashionrec.world.render import render_consumer_photo, render_item, render_items
from fashionrec.world.scene import crop_box, mask_box, render_scene
from fashionrec.world.vocab import CATEGORY_OF, MATERIALS, PALETTE, SUBCATEGORIES, SUBCATEGORY_LIST


def make(sub, colors=("navy",), pattern="solid", material="cotton", i=0):
    return Item(f"{sub}-{i}", CATEGORY_OF[sub], sub, colors=colors, pattern=pattern,
                material=material)


def foreground(image):
    return (image < 255).any(-1)  # product backgrounds are exactly white, items never are


def iou(a, b):
    return (a & b).sum() / (a | b).sum()


def test_render_item_is_an_rgb_uint8_image():
    image = render_item(make("t-shirt"), seed=0)
    assert image.shape == (64, 64, 3) and image.dtype == np.uint8


def test_render_items_stacks_render_item():
    items = [make(sub) for sub in ("shirt", "boots", "watch")]
    images = render_items(items, [3, 4, 5], size=48)
    assert images.shape == (3, 48, 48, 3) and images.dtype == np.uint8
    for image, item, seed in zip(images, items, [3, 4, 5]):
        assert np.array_equal(image, render_item(item, seed, 48))
    with pytest.raises(ValueError, match="one seed per item"):
        render_items(items, [1, 2])


@pytest.mark.parametrize("sub", SUBCATEGORY_LIST)
def test_same_seed_same_bytes_other_seed_other_shape(sub):
    item = make(sub, ("red", "white"), "stripes", "denim")
    a, b, c = render_item(item, 7), render_item(item, 7), render_item(item, 8)
    assert a.tobytes() == b.tobytes()
    assert not np.array_equal(foreground(a), foreground(c))  # the silhouette itself is jittered


@pytest.mark.parametrize("sub", SUBCATEGORY_LIST)
def test_silhouette_is_centred_on_white_and_fills_the_frame(sub):
    image = render_item(make(sub), seed=1)
    for corner in (image[:3, :3], image[:3, -3:], image[-3:, :3], image[-3:, -3:]):
        assert (corner == 255).all()
    mask = foreground(image)
    assert 0.05 < mask.mean() < 0.9
    rows, cols = np.nonzero(mask.any(1))[0], np.nonzero(mask.any(0))[0]
    assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 >= 0.7 * 64
    assert abs((rows[0] + rows[-1]) / 2 - 31.5) < 6 and abs((cols[0] + cols[-1]) / 2 - 31.5) < 6


@pytest.mark.parametrize("category", list(SUBCATEGORIES))
def test_subcategories_of_a_category_have_different_silhouettes(category):
    masks = {sub: foreground(render_item(make(sub), seed=0)) for sub in SUBCATEGORIES[category]}
    for a, b in combinations(masks, 2):
        assert iou(masks[a], masks[b]) < 0.88, (a, b)


@pytest.mark.parametrize("colour", ["red", "navy", "beige", "green", "black", "white"])
@pytest.mark.parametrize("sub", ["t-shirt", "skirt", "tote"])
def test_solid_item_shows_its_palette_colour(colour, sub):
    for material, tolerance in [("cotton", 15)] + [(m, 45) for m in MATERIALS if m != "cotton"]:
        image = render_item(make(sub, (colour,), "solid", material), seed=2)
        dominant = np.median(image[foreground(image)], axis=0)
        assert np.abs(dominant - PALETTE[colour]).max() < tolerance, (material, dominant)


def test_pattern_uses_the_second_colour_and_scales_with_size():
    item = make("skirt", ("red", "white"), "stripes")
    for size in (64, 256):
        image = render_item(item, seed=0, size=size)
        pixels = image[foreground(image)].astype(int)
        near_white = (np.abs(pixels - PALETTE["white"]).max(1) < 40).mean()
        near_red = (np.abs(pixels - PALETTE["red"]).max(1) < 40).mean()
        assert 0.2 < near_white < 0.7 and 0.2 < near_red < 0.7
    # the same number of stripes across the middle (either way) at 64 and 256 px
    def stripes(size):
        image = render_item(item, seed=0, size=size)
        count = 0
        for line in (image[:, size // 2 + size // 8], image[size // 2 + size // 8]):
            red = np.abs(line.astype(int) - PALETTE["red"]).max(1) < 60
            count += np.count_nonzero(red[1:] & ~red[:-1])
        return count
    assert stripes(64) >= 4 and 0.7 < stripes(256) / stripes(64) < 1.4


@pytest.mark.parametrize("size", [32, 64, 128, 224])
def test_any_size_gives_the_same_picture(size):
    item = make("handbag", ("orange", "navy"), "dots", "leather")
    image = render_item(item, seed=4, size=size)
    assert image.shape == (size, size, 3) and image.dtype == np.uint8
    reference = foreground(render_item(item, seed=4, size=64))
    assert abs(foreground(image).mean() - reference.mean()) < 0.05


def test_large_images_are_drawn_not_upscaled():
    image = render_item(make("shirt", ("red", "white"), "checks", "denim"), seed=4, size=128)
    blocks = image.reshape(64, 2, 64, 2, 3)
    assert not (blocks == blocks[:, :1, :, :1]).all(axis=(1, 3, 4)).all()


def test_missing_attributes_fall_back_to_grey_solid_cotton():
    item = Item("x", "mystery", "unknown-thing")
    image = render_item(item, seed=0)
    dominant = np.median(image[foreground(image)], axis=0)
    assert np.abs(dominant - PALETTE["grey"]).max() < 15


def test_consumer_photo_is_a_harder_picture_of_the_same_item():
    item, blue = make("dress", ("red",)), make("dress", ("blue",))
    shop = render_item(item, seed=3)
    photo = render_consumer_photo(item, seed=3, photo_seed=11)
    assert photo.shape == (64, 64, 3) and photo.dtype == np.uint8
    assert photo.tobytes() == render_consumer_photo(item, seed=3, photo_seed=11).tobytes()
    assert not np.array_equal(photo, render_consumer_photo(item, seed=3, photo_seed=12))
    assert np.abs(photo.astype(int) - shop).mean() > 20
    for photo_seed in range(20):
        photo = render_consumer_photo(item, seed=3, photo_seed=photo_seed)
        assert (photo >= 250).all(-1).mean() < 0.05  # a busy background, not a white one
        # the dress is still in the picture: recolouring it changes a good share of the pixels
        other = render_consumer_photo(blue, seed=3, photo_seed=photo_seed)
        assert (np.abs(photo.astype(int) - other).max(-1) > 40).mean() > 0.05


def _outfit(top="red"):
    colours = {"t-shirt": top, "jeans": "blue", "sneakers": "yellow", "handbag": "green",
               "hat": "purple"}
    return [make(sub, (c,), "solid", "cotton", i) for i, (sub, c) in enumerate(colours.items())]


def test_scene_boxes_are_one_per_item_and_at_body_places():
    items = _outfit()
    image, boxes = render_scene(items, [0, 1, 2, 3, 4], scene_seed=5)
    assert image.shape == (128, 128, 3) and image.dtype == np.uint8
    again, boxes_again = render_scene(items, [0, 1, 2, 3, 4], scene_seed=5)
    assert np.array_equal(image, again) and boxes == boxes_again
    assert len(boxes) == len(items)
    for x0, y0, x1, y1 in boxes:
        assert 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1
        assert (x1 - x0) * 128 >= 2 and (y1 - y0) * 128 >= 2
    top, jeans, shoes, bag, hat = boxes
    assert shoes[1] > top[3] and jeans[3] > top[3] and hat[1] < top[1]
    assert shoes[3] > 0.85 and hat[1] < 0.2  # feet at the bottom, hat at the top of the frame
    assert (bag[0] + bag[2]) / 2 > (top[0] + top[2]) / 2 + 0.05  # held at the side


def test_scene_box_is_tight_around_its_item():
    for scene_seed in range(4):
        image, boxes = render_scene(_outfit("red"), [0, 1, 2, 3, 4], scene_seed=scene_seed)
        other, other_boxes = render_scene(_outfit("navy"), [0, 1, 2, 3, 4], scene_seed=scene_seed)
        assert boxes == other_boxes
        # the top's pixels are those that change with its colour: all inside its box, touching it
        top = (image != other).any(-1)
        x0, y0, x1, y1 = (round(v * 128) for v in boxes[0])
        inside = np.zeros_like(top)
        inside[y0:y1, x0:x1] = True
        assert top.sum() > 100 and not (top & ~inside).any()
        rows, cols = np.nonzero(top.any(1))[0], np.nonzero(top.any(0))[0]
        assert rows[0] - y0 <= 2 and y1 - 1 - rows[-1] <= 2
        assert cols[0] - x0 <= 2 and x1 - 1 - cols[-1] <= 2


def test_scene_differs_with_the_scene_seed():
    items = _outfit()
    a, _ = render_scene(items, [0, 1, 2, 3, 4], scene_seed=1)
    b, _ = render_scene(items, [0, 1, 2, 3, 4], scene_seed=2)
    assert np.abs(a.astype(int) - b).mean() > 5


def test_mask_box_fills_exactly_the_box():
    image = np.random.default_rng(0).integers(0, 255, (64, 80, 3), dtype=np.uint8)
    before = image.copy()
    out = mask_box(image, (0.25, 0.25, 0.75, 0.5), fill=(1, 2, 3))
    assert np.array_equal(image, before)  # a copy
    inside = np.zeros((64, 80), bool)
    inside[16:32, 20:60] = True
    assert (out[inside] == (1, 2, 3)).all()
    assert np.array_equal(out[~inside], image[~inside])


def test_crop_box_resizes_the_region():
    image = np.zeros((64, 64, 3), np.uint8)
    image[16:48, 8:24] = (200, 30, 40)
    crop = crop_box(image, (8 / 64, 16 / 64, 24 / 64, 48 / 64), 32)
    assert crop.shape == (32, 32, 3) and crop.dtype == np.uint8
    assert (crop == (200, 30, 40)).all()
    assert crop_box(image, (0.0, 0.0, 1.0, 1.0), 16).shape == (16, 16, 3)
