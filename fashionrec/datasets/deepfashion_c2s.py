"""DeepFashion Consumer-to-shop Clothes Retrieval (Liu et al., CVPR 2016) -> ``ConsumerPhoto`` records.

The official layout under ``data_root`` (see data/README.md, "DeepFashion consumer-to-shop")::

    Anno/list_item_consumer2shop.txt   line 1: number of items; then one item id per line
    Anno/list_bbox_consumer2shop.txt   line 1: number of images; line 2: column names; then
                                       <image_name> <clothes_type> <source_type> <x_1> <y_1> <x_2> <y_2>
    Eval/list_eval_partition.txt       line 1: number of pairs; line 2: column names; then
                                       <consumer image> <shop image> <item_id> <train|val|test>
    img/<GROUP>/<Sub_Category>/id_XXXXXXXX/comsumer_NN.jpg, shop_NN.jpg

Quirks handled here: the dataset spells consumer photos ``comsumer_NN.jpg`` (copies that renamed
them to ``consumer_NN.jpg`` load too); boxes are pixel corners in images whose long side is 300 and
may overshoot the border by a pixel (the real pair list has 301 for a side of 300: up to
``BOX_SLACK`` px are clipped and counted in ``clipped_boxes``; a box further out, or empty, is an error
naming the file and line); skirts live under ``DRESSES/Skirt``. The splits are item-disjoint (the
real sample: 0 of 1,467 items in two splits): an image listed in two splits is an error, an item
in two splits is counted (``items_in_two_splits``) with a warning; a repeated pair row (93 in the real
sample) is counted in ``skipped``, a bbox line that repeats an image with another box is an error.
Consumer and
shop photos share one record type, ``ConsumerPhoto`` (a photo of an item, with its box).
:func:`export` writes a FashionWorld in this layout (``fashionrec export deepfashion_c2s``).
"""

from __future__ import annotations

import csv
import io
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from fashionrec.datasets.files import read_text
from fashionrec.records import Box, ConsumerPhoto, Item

if TYPE_CHECKING:
    from fashionrec.export import Exported, Quirks
    from fashionrec.world.world import World

CATEGORIES = ("dresses", "skirts", "tops", "bottoms")  # the paper's four
SPLITS = ("train", "val", "test")
ITEM_LIST = "Anno/list_item_consumer2shop.txt"
BBOX_LIST = "Anno/list_bbox_consumer2shop.txt"
PARTITION = "Eval/list_eval_partition.txt"
LAYOUT = "data/README.md#deepfashion-consumer-to-shop"
PixelBox = tuple[int, int, int, int]
BOX_SLACK = 2  # pixels a box may overshoot the image border (clipped, counted); further out is an error


@dataclass
class DeepFashionC2S:
    """The benchmark as records: items, and per split its consumer photos (queries) and shop photos."""

    root: Path
    items: dict[str, Item]
    consumer: dict[str, list[ConsumerPhoto]]  # split -> street photos (queries)
    shop: dict[str, list[ConsumerPhoto]]  # split -> shop photos (the gallery)
    missing: list[str] = field(default_factory=list)  # listed images not found under root
    skipped: Counter = field(default_factory=Counter)  # rows left out, by reason
    clipped_boxes: int = 0  # boxes overshooting the border by up to BOX_SLACK px, clipped
    items_in_two_splits: list[str] = field(default_factory=list)  # item ids listed in more than one split

    def summary(self) -> str:
        counts = ", ".join(f"{s}: {len(self.consumer[s])} consumer / {len(self.shop[s])} shop" for s in SPLITS)
        return (f"DeepFashion consumer-to-shop at {self.root}: {len(self.items)} items; {counts}; "
                f"{len(self.missing)} images missing; skipped {dict(self.skipped)}"
                + (f"; {self.clipped_boxes} boxes clipped to the image" if self.clipped_boxes else "")
                + (f"; {len(self.items_in_two_splits)} items in two splits" if self.items_in_two_splits else ""))


def _lines(path: Path, what: str) -> list[str]:
    lines = [ln.strip() for ln in read_text(path, f"{what} (layout in {LAYOUT})").splitlines()]
    return [ln for ln in lines if ln]


def _count(path: Path, lines: list[str], n_rows: int) -> None:
    if not lines or not lines[0].isdigit():
        raise ValueError(f"{path}: line 1 must be the number of rows; got {lines[0] if lines else 'an empty file'!r}")
    if int(lines[0]) != n_rows:
        raise ValueError(f"{path}: line 1 says {lines[0]} rows but the file has {n_rows}")


def read_item_list(path: Path) -> list[str]:
    """Item ids of ``list_item_consumer2shop.txt`` (line 1 = their number; ids have gaps)."""
    lines = _lines(Path(path), "line 1 = number of items, then one item id per line")
    ids = [ln for ln in lines[1:] if ln != "item_id"]  # tolerate a column-name line
    _count(Path(path), lines, len(ids))
    bad = [i for i in ids if not i.startswith("id_")]
    if bad:
        raise ValueError(f"{path}: expected item ids like id_00000001, found {bad[0]!r}")
    return ids


def read_bbox_list(path: Path, where: dict[str, str] | None = None) -> dict[str, tuple[int, int, PixelBox]]:
    """``list_bbox_consumer2shop.txt`` -> image name: (clothes type, source type, (x1, y1, x2, y2)).

    Clothes type 1/2/3 = upper/lower/full body; source type 1 = shop, 2 = consumer. ``where``, when
    given, receives image name -> ``"<file>:<line>"`` of its box (for errors about the box).
    """
    where = {} if where is None else where
    path = Path(path)
    lines = _lines(path, "count, column names, then `image_name clothes_type source_type x_1 y_1 x_2 y_2`")
    _count(path, lines, len(lines) - 2)
    out = {}
    for n, line in enumerate(lines[2:], start=3):
        fields = line.split()
        if len(fields) != 7 or not all(f.lstrip("-").isdigit() for f in fields[1:]):
            raise ValueError(f"{path}:{n}: expected `image_name clothes_type source_type x_1 y_1 x_2 y_2` "
                             f"(7 fields, integers after the name); got {line!r}")
        x1, y1, x2, y2 = (int(f) for f in fields[3:])
        row = (int(fields[1]), int(fields[2]), (x1, y1, x2, y2))
        if out.get(fields[0], row) != row:
            raise ValueError(f"{path}:{n}: image {fields[0]!r} again, with another box than at {where[fields[0]]}")
        out[fields[0]] = row
        where.setdefault(fields[0], f"{path}:{n}")
    return out


def read_eval_partition(path: Path) -> list[tuple[str, str, str, str]]:
    """``list_eval_partition.txt`` -> (consumer image, shop image, item id, split) rows."""
    path = Path(path)
    lines = _lines(path, "count, column names, then `image_pair_name_1 image_pair_name_2 item_id evaluation_status`")
    _count(path, lines, len(lines) - 2)
    rows, at = [], []
    for n, line in enumerate(lines[2:], start=3):
        fields = line.split()
        if len(fields) != 4 or fields[3] not in SPLITS:
            raise ValueError(f"{path}:{n}: expected `consumer_image shop_image item_id train|val|test`; got {line!r}")
        rows.append((fields[0], fields[1], fields[2], fields[3]))
        at.append(f"{path}:{n}")
    _check_image_splits(rows, at)
    return rows


def _check_image_splits(rows: list[tuple[str, str, str, str]], at: list[str]) -> None:
    """An image listed in two splits would be trained on and tested on: an error naming both lines."""
    first: dict[str, tuple[str, str]] = {}
    for (consumer, shop, _, split), where in zip(rows, at):
        for image in (consumer, shop):
            seen_split, seen_at = first.setdefault(image, (split, where))
            if seen_split != split:
                raise ValueError(f"{where}: image {image!r} is in split {split} but in {seen_split} at {seen_at} — "
                                 f"the splits must not share images")


def read_pairs_csv(path: Path, where: dict[str, str] | None = None
                   ) -> tuple[list[tuple[str, str, str, str]], dict[str, tuple[int, int, PixelBox]]]:
    """A derived pair list (``item_id, consumer_path, cons_x1..y2, shop_path, shop_x1..y2, split``,
    as in shared/realdata) -> the same (rows, boxes) as the two official files (``where``: as in
    :func:`read_bbox_list`)."""
    path = Path(path)
    where = {} if where is None else where
    text = read_text(path, "a CSV of consumer/shop pairs with boxes")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    need = {"item_id", "consumer_path", "shop_path", "split", "cons_x1", "shop_x1"}
    if not need <= set(reader.fieldnames or ()):
        raise ValueError(f"{path}: expected columns {sorted(need)} (and the other box corners); "
                         f"got {reader.fieldnames}")
    rows, boxes, at = [], {}, []
    for r in reader:
        n = reader.line_num
        rows.append((r["consumer_path"], r["shop_path"], r["item_id"], r["split"]))
        at.append(f"{path}:{n}")
        for key, source, prefix in (("consumer_path", 2, "cons"), ("shop_path", 1, "shop")):
            try:
                corners = tuple(int(r[f"{prefix}_{c}"]) for c in ("x1", "y1", "x2", "y2"))
            except (TypeError, ValueError):
                raise ValueError(f"{path}:{n}: {prefix}_x1..y2 must be integers; got "
                                 f"{[r.get(f'{prefix}_{c}') for c in ('x1', 'y1', 'x2', 'y2')]}") from None
            boxes[r[key]] = (0, source, corners)
            where.setdefault(r[key], f"{path}:{n}")
    _check_image_splits(rows, at)
    return rows, boxes


def c2s_category(image_name: str) -> str | None:
    """The paper's category of ``img/<GROUP>/<Sub_Category>/...``; None outside the four.

    DeepFashion files skirts under ``DRESSES/Skirt``, so the sub-category decides first.
    """
    parts = image_name.split("/")
    if len(parts) < 5:
        return None
    group, sub = parts[1].upper(), parts[2].lower()
    if "skirt" in sub:
        return "skirts"
    if group == "DRESSES" or "dress" in sub:
        return "dresses"
    if group == "TROUSERS" or any(w in sub for w in ("pants", "trousers", "jeans", "leggings", "shorts")):
        return "bottoms"
    return "tops" if group == "TOPS" else None


def resolve_image(root: Path, name: str) -> Path | None:
    """The file of ``name`` under root, trying both spellings ``comsumer_`` and ``consumer_``."""
    for candidate in (name, name.replace("comsumer_", "consumer_"), name.replace("consumer_", "comsumer_")):
        if (root / candidate).is_file():
            return root / candidate
    return None


def _check_box(box: PixelBox, width: int, height: int, where: str) -> bool:
    """Whether the box needs clipping (overshoots by at most ``BOX_SLACK`` px); an empty box, or one
    further outside the image, raises naming ``where`` (the file and line of the box)."""
    x1, y1, x2, y2 = box
    if not (x1 < x2 and y1 < y2):
        raise ValueError(f"{where}: box {box} is empty — expected x_1 < x_2 and y_1 < y_2")
    out = max(-x1, -y1, x2 - width, y2 - height)
    if out > BOX_SLACK:
        raise ValueError(f"{where}: box {box} lies {out} px outside its {width}x{height} image — expected pixel "
                         f"corners inside it (at most {BOX_SLACK} px over the border)")
    return out > 0


def _normalise(box: PixelBox, width: int, height: int) -> Box:
    x1, y1, x2, y2 = box
    x0, x1n = sorted((min(max(x1 / width, 0.0), 1.0), min(max(x2 / width, 0.0), 1.0)))
    y0, y1n = sorted((min(max(y1 / height, 0.0), 1.0), min(max(y2 / height, 0.0), 1.0)))
    return (x0, y0, x1n, y1n)


def load_deepfashion_c2s(root: Path | str, pairs_csv: Path | str | None = None,
                         categories: tuple[str, ...] = CATEGORIES) -> DeepFashionC2S:
    """Read the benchmark under ``root``: items, consumer and shop photos per split, with boxes.

    Images are checked (their header gives the size that normalises the box); a listed image
    that is not there is counted in ``missing``, and its pairs are left out. Rows outside
    ``categories`` or whose item is not in the item list are counted in ``skipped``.

    Args:
        root: folder holding ``Anno/``, ``Eval/`` and ``img/``.
        pairs_csv: a derived pair list with boxes (see :func:`read_pairs_csv`) to use instead of
            ``list_eval_partition.txt`` and ``list_bbox_consumer2shop.txt``.
        categories: which of the paper's four categories to keep.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: DeepFashion consumer-to-shop folder not found (layout in {LAYOUT})")
    known = set(read_item_list(root / ITEM_LIST))
    where: dict[str, str] = {}
    if pairs_csv is not None:
        rows, boxes = read_pairs_csv(Path(pairs_csv), where)
    else:
        rows, boxes = read_eval_partition(root / PARTITION), read_bbox_list(root / BBOX_LIST, where)
    data = DeepFashionC2S(root, {}, {s: [] for s in SPLITS}, {s: [] for s in SPLITS})
    seen: dict[str, ConsumerPhoto | None] = {}

    def photo(name: str, item_id: str, category: str) -> ConsumerPhoto | None:
        if name in seen:
            return seen[name]
        path = resolve_image(root, name)
        if name not in boxes:
            raise ValueError(f"{root / BBOX_LIST}: no box for image {name!r} listed in the partition")
        if path is None:
            data.missing.append(name)
            seen[name] = None
            return None
        from fashionrec.images import read_size  # the header only; a bad one is an ImageError naming the file

        width, height = read_size(path)
        data.clipped_boxes += _check_box(boxes[name][2], width, height, where[name])
        seen[name] = ConsumerPhoto(name, item_id, category, str(path), _normalise(boxes[name][2], width, height))
        return seen[name]

    listed: dict[str, set[str]] = {s: set() for s in SPLITS}
    splits_of: dict[str, set[str]] = {}
    pairs: set[tuple[str, str, str]] = set()
    for consumer, shop, item_id, split in rows:
        splits_of.setdefault(item_id, set()).add(split)
        if (consumer, shop, split) in pairs:
            data.skipped["repeated pair"] += 1
            continue
        pairs.add((consumer, shop, split))
        category = c2s_category(consumer)
        if item_id not in known:
            data.skipped[f"item not in {ITEM_LIST}"] += 1
            continue
        if category not in categories:
            data.skipped[f"category {'/'.join(consumer.split('/')[1:3])}"] += 1
            continue
        q, s = photo(consumer, item_id, category), photo(shop, item_id, category)
        if q is None or s is None:
            data.skipped["image missing"] += 1
            continue
        for kind, record in (("consumer", q), ("shop", s)):
            if record.photo_id not in listed[split]:
                listed[split].add(record.photo_id)
                getattr(data, kind)[split].append(record)
        if item_id not in data.items:
            data.items[item_id] = Item(item_id, category, consumer.split("/")[2], image=s.image)
    data.items_in_two_splits = sorted(i for i, s in splits_of.items() if len(s) > 1)
    if data.items_in_two_splits:
        warnings.warn(f"{root}: {len(data.items_in_two_splits)} items are listed in two splits (first: "
                      f"{data.items_in_two_splits[0]}) — DeepFashion's splits are item-disjoint "
                      f"(items_in_two_splits)", stacklevel=2)
    return data


def square_resize(image: Image.Image, size: int, fill: int = 255) -> np.ndarray:
    """Pad an image to a centred square with ``fill``, then resize it (bilinear): uint8 (size, size, 3).
    The one preprocessing of chapter 3's photos, in training and in the REST service."""
    side = max(image.size)
    square = Image.new("RGB", (side, side), (fill,) * 3)
    square.paste(image, ((side - image.size[0]) // 2, (side - image.size[1]) // 2))
    return np.array(square.resize((size, size), Image.BILINEAR))


def load_crops(photos: list[ConsumerPhoto], size: int, fill: int = 255) -> np.ndarray:
    """Crop each photo to its box, pad it to a square with ``fill`` and resize: uint8 (N, size, size, 3)."""
    from fashionrec.images import read_rgb  # a bad file is an ImageError naming it

    out = np.empty((len(photos), size, size, 3), np.uint8)
    for k, p in enumerate(photos):
        im = Image.fromarray(read_rgb(p.image))
        w, h = im.size
        x0, y0, x1, y1 = p.box or (0.0, 0.0, 1.0, 1.0)
        crop = im.crop((int(x0 * w), int(y0 * h), max(int(x0 * w) + 1, round(x1 * w)),
                        max(int(y0 * h) + 1, round(y1 * h))))
        out[k] = square_resize(crop, size, fill)
    return out


# ----- writing a FashionWorld in this layout (``fashionrec export deepfashion_c2s``) -----------------
GROUPS = {"tops": "TOPS", "bottoms": "TROUSERS", "dresses": "DRESSES", "skirts": "DRESSES"}  # skirts: DRESSES/Skirt
CLOTHES_TYPE = {"tops": 1, "bottoms": 2, "skirts": 2, "dresses": 3}  # 1 upper, 2 lower, 3 full body
SHOP, CONSUMER = 1, 2  # the bbox file's source_type
PHOTOS_PER_ITEM = 2  # consumer photos per item and split: chapter 3's train/test_photos_per_item
WORLD_SPLITS = {"train": "train", "valid": "val", "test": "test"}
_COLUMNS = {BBOX_LIST: "image_name clothes_type source_type x_1 y_1 x_2 y_2",
            PARTITION: "image_pair_name_1 image_pair_name_2 item_id evaluation_status"}


def sub_category_folder(subcategory: str) -> str:
    """FashionWorld sub-category -> a DeepFashion ``<Sub_Category>`` folder name (``t-shirt`` -> ``T_Shirt``)."""
    return "_".join(w.capitalize() for w in subcategory.replace("-", " ").replace("_", " ").split())


def export(world: World, out: Path, quirks: Quirks, image_size: int = 128) -> Exported:
    """Write ``world`` as DeepFashion consumer-to-shop (Liu et al., CVPR 2016) under ``out``.

    The official layout (module docstring): ``Anno/list_item_consumer2shop.txt``,
    ``Anno/list_bbox_consumer2shop.txt``, ``Eval/list_eval_partition.txt`` and
    ``img/<GROUP>/<Sub_Category>/id_XXXXXXXX/comsumer_NN.jpg`` / ``shop_01.jpg``, spelled
    ``comsumer`` as the dataset does. Every gallery item of each split of chapter 3's task
    (``fashionrec.world.tasks.consumer_to_shop``: the shop items of the paper's four categories and
    their look-alikes, which are products with street photos of their own, as every DeepFashion item is)
    gets one shop photo (its product image) and ``PHOTOS_PER_ITEM`` consumer photos (the same
    street photos as chapter 3's FashionWorld path, ``world.consumer_images``); the partition pairs
    each consumer photo with the shop photo; ``valid`` is written ``val``. Item ids are numbered in
    the task's gallery order, split by split, so the loader lists galleries and photos in the
    FashionWorld path's order.

    Boxes: the **whole image** ``(0, 0, width, height)`` of each file as written, for shop and
    consumer photos alike: the renderer does not return the box the garment occupies, and
    chapter 3's FashionWorld path uses whole images, so the loader's crops are its inputs.

    Quirks (``quirks``): mixed image sizes and left-out images (``ImageWriter``; the box of a
    left-out image is that of its nominal size, as the real lists name files that are not
    there); with ``format_quirks``, item ids with gaps (as the real list's), a tenth of the boxes
    overshooting the border by a pixel (as the real ones do) and columns padded with spaces.
    Deterministic in ``quirks.seed``.
    """
    from fashionrec.export import Exported, ImageWriter
    from fashionrec.world import tasks

    out = Path(out)
    rng = np.random.default_rng(quirks.seed)
    photos, shops = {}, {}
    for split in WORLD_SPLITS:
        photos[split], shops[split] = tasks.consumer_to_shop(world, split, PHOTOS_PER_ITEM)
    every = [i for split in WORLD_SPLITS for i in shops[split]]  # the gallery order: the loader's is id order
    gaps = rng.integers(0, 3, len(every)) * (rng.random(len(every)) < 0.1) if quirks.format_quirks else 0
    numbers = np.arange(1, len(every) + 1) + np.cumsum(gaps)
    df_id = {i: f"id_{int(n):08d}" for i, n in zip(every, numbers)}
    folder = {i: (f"img/{GROUPS[tasks.c2s_category(world, i)]}/"
                  f"{sub_category_folder(world.items[i].subcategory)}/{df_id[i]}") for i in every}

    images: dict[str, tuple[str, int, np.ndarray | None]] = {}  # name -> (world item, source, rendered)
    pairs = []
    for split, name in WORLD_SPLITS.items():
        street = world.consumer_images(photos[split], image_size)
        shop_images = world.images(shops[split], image_size)
        for i, image in zip(shops[split], shop_images):
            images[f"{folder[i]}/shop_01.jpg"] = (i, SHOP, image)
        counter: Counter = Counter()
        for p, image in zip(photos[split], street):
            counter[p.item_id] += 1
            photo = f"{folder[p.item_id]}/comsumer_{counter[p.item_id]:02d}.jpg"
            images[photo] = (p.item_id, CONSUMER, image)
            pairs.append((df_id[p.item_id], photo, f"{folder[p.item_id]}/shop_01.jpg", name))
    pairs.sort()  # the real list is in item-id order
    writer = ImageWriter(out, quirks, image_size)
    writer.choose_missing(sorted(images))
    bbox = []
    for photo in sorted(images):
        i, source, image = images[photo]
        width, height = image_size, image_size
        if writer.write(photo, image):
            with Image.open(out / photo) as im:
                width, height = im.size
        if quirks.format_quirks and rng.random() < 0.1:
            width, height = (width + 1, height) if rng.random() < 0.5 else (width, height + 1)
        bbox.append((photo, CLOTHES_TYPE[tasks.c2s_category(world, i)], source, 0, 0, width, height))

    pad = max(map(len, images)) + 1 if quirks.format_quirks else 0

    def write_list(rel: str, rows: list[tuple]) -> None:
        head = [str(len(rows))] + ([_COLUMNS[rel]] if rel in _COLUMNS else [])
        body = [" ".join([str(r[0]).ljust(pad if rel in _COLUMNS else 0), *map(str, r[1:])]) for r in rows]
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_text("\n".join(head + body) + "\n")

    write_list(ITEM_LIST, [(df_id[i],) for i in every])
    write_list(BBOX_LIST, bbox)
    write_list(PARTITION, [(c, s, item, split) for item, c, s, split in pairs])
    counts = {"items": len(every), "consumer photos": sum(len(v) for v in photos.values()),
              "shop photos": len(every), "pairs": len(pairs)}
    notes = ["boxes: the whole image of each file (the renderer gives no garment box)",
             "look-alikes are items of their own, with consumer photos (DeepFashion lists only such items)"]
    return Exported("deepfashion_c2s", out, counts, writer.missing, notes)
