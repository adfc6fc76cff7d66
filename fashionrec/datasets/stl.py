"""STL-Fashion (Kang et al., CVPR 2019; github.com/kang205/STL-Dataset): scene-product pairs for Complete the Look.

Layout under ``data_root`` (see data/README.md, section STL-Fashion)::

    fashion.json        one JSON object per line:
                        {"product": "<sig>", "scene": "<sig>", "bbox": [left, top, right, bottom]}
                        the product's box in the scene, normalised to [0, 1], (0, 0) = top left
    fashion-cat.json    one JSON object {"<product sig>": "Apparel & Accessories|Shoes", ...}
    images/<s[0:2]>/<s[2:4]>/<s[4:6]>/<s>.jpg
                        scene and product images by signature (the path of the dataset's
                        i.pinimg.com/400x URLs); a flat images/<s>.jpg is accepted too

The dataset ships no split and no negatives: ``split_scenes`` splits by a hash of the scene signature
(the same split whatever the order of the lines or the seed) and ``stl_triplets`` draws one negative
of the product's category per (scene, product) pair (``pair_triplets``, Kang et al.'s triplets).
Records are those of ``fashionrec.records``: ``Item`` per product (``category`` = the last
level of the category path, ``subcategory`` = the whole path), ``Scene`` per scene (its products and
boxes), ``CTLTriplet`` per pair. Missing images are counted and named (``missing_signatures``),
reported with a warning and in ``STLFashion.summary()``; the pairs that need them are left out (and
counted). A (scene, product) pair listed again keeps its first box and is counted in
``skipped_pairs``, as are pairs whose product's category is empty. No split leak can arise: the
split is by scene (products are shared by scenes, as in the paper). ``export`` writes a
FashionWorld in this layout (``fashionrec export stl_fashion``).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from fashionrec.datasets.files import parse_json, read_text
from fashionrec.records import Box, CTLTriplet, Item, Scene
from fashionrec.world.scene import mask_box

PAIRS_FILE = "fashion.json"
CATEGORY_FILE = "fashion-cat.json"
IMAGES_DIR = "images"
LAYOUT = "data/README.md#stl-fashion"
SPLITS = ("train", "valid", "test")
SPLIT_FRACTIONS = (0.8, 0.1, 0.1)  # ctl.Config.stl_split's default


def image_url(signature: str) -> str:
    """The image's URL in the dataset (kang205/STL-Dataset README)."""
    s = signature
    return f"http://i.pinimg.com/400x/{s[0:2]}/{s[2:4]}/{s[4:6]}/{s}.jpg"


def image_path(root: Path | str, signature: str) -> Path | None:
    """``images/ab/cd/ef/<sig>.jpg`` (the URL's path), else ``images/<sig>.jpg``; None when neither exists."""
    s = signature
    for path in (Path(root) / IMAGES_DIR / s[0:2] / s[2:4] / s[4:6] / f"{s}.jpg", Path(root) / IMAGES_DIR / f"{s}.jpg"):
        if path.is_file():
            return path
    return None


def short_category(path: str) -> str:
    """'Apparel & Accessories|Clothing|Shirts & Tops' -> 'Shirts & Tops' (the 10 STL-Fashion categories)."""
    return path.rsplit("|", 1)[-1].strip()


def read_categories(path: Path | str) -> dict[str, str]:
    """fashion-cat.json: product signature -> category path."""
    path = Path(path)
    expected = f'one JSON object {{"<product signature>": "<category path>"}} ({LAYOUT})'
    blob = parse_json(read_text(path, expected), str(path), expected)
    if not isinstance(blob, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in blob.items()):
        raise ValueError(f"{path}: expected one JSON object mapping product signatures to category strings")
    return blob


def read_pairs(path: Path | str) -> list[tuple[str, str, Box]]:
    """fashion.json: (product, scene, box) per line; a JSON array of the same objects is accepted too."""
    path = Path(path)
    text = read_text(path, f"one JSON object per line with product, scene and bbox ({LAYOUT})")
    if text.lstrip().startswith("["):
        rows = [(k + 1, r) for k, r in enumerate(parse_json(text, str(path), "a JSON array of pair objects"))]
    else:
        rows = []
        for k, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    rows.append((k, json.loads(line)))
                except json.JSONDecodeError as err:
                    raise ValueError(f"{path}, line {k}, column {err.colno}: not a JSON object ({err.msg}); expected "
                                     f'{{"product": ..., "scene": ..., "bbox": [l, t, r, b]}}') from None
    pairs = []
    for k, row in rows:
        where = f"{path}, record {k}"
        if not isinstance(row, dict) or not {"product", "scene", "bbox"} <= set(row):
            raise ValueError(f"{where}: expected keys product, scene, bbox; got {row!r:.120}")
        box = row["bbox"]
        if (not isinstance(box, list) or len(box) != 4 or not all(isinstance(v, (int, float)) for v in box)):
            raise ValueError(f"{where}: bbox must be 4 numbers [left, top, right, bottom]; got {box!r}")
        left, top, right, bottom = (float(v) for v in box)
        if not (0 <= left < right <= 1 and 0 <= top < bottom <= 1):
            raise ValueError(f"{where}: bbox {box} is not a normalised box with left < right and top < bottom")
        pairs.append((str(row["product"]), str(row["scene"]), (left, top, right, bottom)))
    return pairs


@dataclass
class STLFashion:
    """Products (``items``) and scenes of STL-Fashion, with what had to be left out and why."""

    root: Path
    items: dict[str, Item]
    scenes: dict[str, Scene]
    missing_images: dict[str, int] = field(default_factory=dict)  # "scenes" / "products": signatures without a file
    missing_signatures: tuple[str, ...] = ()  # those signatures, sorted
    skipped_pairs: dict[str, int] = field(default_factory=dict)  # reason -> pairs left out
    n_pairs: int = 0

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(sorted({it.category for it in self.items.values()}))

    def summary(self) -> str:
        kept = sum(len(s.item_ids) for s in self.scenes.values())
        named = ", ".join(self.missing_signatures[:5]) + (", ..." if len(self.missing_signatures) > 5 else "")
        return (f"STL-Fashion at {self.root}: {kept} of {self.n_pairs} pairs kept, {len(self.scenes)} scenes, "
                f"{len(self.items)} products in {len(self.categories)} categories; missing images: "
                f"{self.missing_images.get('scenes', 0)} scenes, {self.missing_images.get('products', 0)} products"
                f"{f' ({named})' if named else ''}; pairs left out: {self.skipped_pairs or 'none'}")


def load_stl_fashion(root: Path | str, check_images: bool = True) -> STLFashion:
    """Read fashion.json and fashion-cat.json under ``root``; check that every image exists.

    Pairs whose product has no category, or (with ``check_images``) whose scene or product image is
    missing, are left out and counted; a warning says how many. A product that sits twice in the same
    scene keeps its first box.
    """
    root = Path(root)
    categories = read_categories(root / CATEGORY_FILE)
    pairs = read_pairs(root / PAIRS_FILE)
    skipped: dict[str, int] = {}
    paths: dict[str, Path | None] = {}

    def path_of(sig: str) -> Path | None:
        if sig not in paths:
            paths[sig] = image_path(root, sig) if check_images else root / IMAGES_DIR / f"{sig}.jpg"
        return paths[sig]

    items: dict[str, Item] = {}
    by_scene: dict[str, dict[str, Box]] = {}
    for product, scene, box in pairs:
        if product not in categories:
            skipped["product not in fashion-cat.json"] = skipped.get("product not in fashion-cat.json", 0) + 1
            continue
        if not short_category(categories[product]):
            skipped["product's category is empty"] = skipped.get("product's category is empty", 0) + 1
            continue
        if product in by_scene.get(scene, {}):
            skipped["repeated (scene, product) pair"] = skipped.get("repeated (scene, product) pair", 0) + 1
            continue
        scene_missing, product_missing = path_of(scene) is None, path_of(product) is None
        if scene_missing or product_missing:
            skipped["image missing"] = skipped.get("image missing", 0) + 1
            continue
        items.setdefault(product, Item(product, short_category(categories[product]), categories[product],
                                       image=str(path_of(product))))
        by_scene.setdefault(scene, {}).setdefault(product, box)
    scenes = {s: Scene(s, tuple(ps), tuple(ps.values()), image=str(path_of(s))) for s, ps in by_scene.items()}
    missing = {"scenes": sum(paths.get(s, 1) is None for s in {p[1] for p in pairs}),
               "products": sum(paths.get(p, 1) is None for p in {p[0] for p in pairs})}
    absent = tuple(sorted(sig for sig, path in paths.items() if path is None))
    data = STLFashion(root, items, scenes, missing, absent, skipped, len(pairs))
    if skipped:
        warnings.warn(data.summary(), stacklevel=2)
    return data


def scene_split(sig: str, fractions: tuple[float, float, float] = SPLIT_FRACTIONS) -> str:
    """"train", "valid" or "test": where a uniform hash of the scene signature falls among ``fractions``."""
    u = int(hashlib.sha1(sig.encode()).hexdigest()[:12], 16) / 16**12
    return SPLITS[min(int(np.searchsorted(np.cumsum(fractions), u, side="right")), 2)]


def split_scenes(data: STLFashion, fractions: tuple[float, float, float] = SPLIT_FRACTIONS
                 ) -> dict[str, list[Scene]]:
    """Train / valid / test scenes by ``scene_split`` of their signatures, each in signature order.

    STL ships no split; a hash of the signature gives one that depends on nothing else (not the order
    of the lines, nor a seed) and stays put as the data grow.
    """
    out: dict[str, list[Scene]] = {split: [] for split in SPLITS}
    for sig in sorted(data.scenes):
        out[scene_split(sig, fractions)].append(data.scenes[sig])
    return out


def pair_triplets(scenes: list[Scene], category: Mapping[str, str], seed: int = 0,
                  scene_key: Callable[[str], str] = str, product_key: Callable[[str], str] = str
                  ) -> tuple[list[CTLTriplet], list[str]]:
    """Kang et al.'s triplets: one per (scene, product) pair, the negative a random product of the same
    ``category`` among the products of ``scenes`` (the split's pool), never one of the scene's own.

    Everything is in a canonical order, so that no order of records changes a draw: the pairs by
    (``scene_key``, ``product_key``), the pool by ``product_key``; then one ``default_rng(seed)`` draws
    the negatives in turn. The keys are the signatures on STL-Fashion (the default, the ids themselves)
    and the export's signatures on FashionWorld (``world_triplets``), so that both build the
    same triplets. Pairs whose category has no other product in the pool are left out.

    Returns the triplets and the pool (product ids in ``product_key`` order).
    """
    rng = np.random.default_rng(seed)
    pool = sorted({p for s in scenes for p in s.item_ids}, key=product_key)
    by_cat: dict[str, list[str]] = {}
    for p in pool:
        by_cat.setdefault(category[p], []).append(p)
    triplets = []
    for scene in sorted(scenes, key=lambda s: scene_key(s.scene_id)):
        own = set(scene.item_ids)
        for product, box in sorted(zip(scene.item_ids, scene.boxes), key=lambda pb: product_key(pb[0])):
            options = [p for p in by_cat[category[product]] if p not in own]
            if options:
                triplets.append(CTLTriplet(scene.scene_id, product, options[rng.integers(len(options))],
                                           category[product], box))
    return triplets, pool


def stl_triplets(data: STLFashion, scenes: list[Scene], seed: int = 0) -> tuple[list[CTLTriplet], list[str]]:
    """``pair_triplets`` of ``scenes`` with the products' categories (fashion-cat.json's last level):
    the triplets, in (scene, product) signature order, and the pool (product signatures, sorted)."""
    return pair_triplets(scenes, {p: it.category for p, it in data.items.items()}, seed)


def read_image(path: Path | str) -> np.ndarray:
    """uint8 (H, W, 3) RGB (:func:`fashionrec.images.read_rgb`: a bad file is an ``ImageError`` naming it)."""
    from fashionrec.images import read_rgb

    return read_rgb(path)


def _resize(image: np.ndarray, size: int) -> np.ndarray:
    return np.asarray(Image.fromarray(image).resize((size, size), Image.BILINEAR))


def product_image(data: STLFashion, product: str, size: int) -> np.ndarray:
    """The product image padded to a square with white (product shots have white backgrounds), resized."""
    image = read_image(data.items[product].image)
    h, w = image.shape[:2]
    side = max(h, w)
    canvas = np.full((side, side, 3), 255, np.uint8)
    canvas[(side - h) // 2:(side - h) // 2 + h, (side - w) // 2:(side - w) // 2 + w] = image
    return _resize(canvas, size)


def masked_scene(data: STLFashion, triplet: CTLTriplet, size: int) -> np.ndarray:
    """The scene with the product's box filled with grey (so the product cannot be matched by looks), resized."""
    return _resize(mask_box(read_image(data.scenes[triplet.scene_id].image), triplet.box), size)


class ImageList:
    """A lazy, sliceable list of images (``images[a:b]`` -> uint8 (B, S, S, 3)), read from disk on demand."""

    def __init__(self, load, keys: list, size: int):
        self.load, self.keys, self.size = load, keys, size

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, index: slice) -> np.ndarray:
        keys = self.keys[index]
        if not keys:
            return np.zeros((0, self.size, self.size, 3), np.uint8)
        return np.stack([self.load(k) for k in keys])


# ----- export: a FashionWorld in the STL-Fashion layout ----------------------------------------------
# FashionWorld sub-category -> an STL-Fashion category path: nine of the real fashion-cat.json's ten paths
# (FashionWorld has no earrings); dresses, hats, watches, scarves and belts, which STL-Fashion lacks, in the
# same Google-product-taxonomy form.
CATEGORY_PATHS: dict[str, str] = {
    **dict.fromkeys(("t-shirt", "shirt", "blouse", "sweater", "tank"), "Apparel & Accessories|Clothing|Shirts & Tops"),
    **dict.fromkeys(("jacket", "coat", "blazer"), "Apparel & Accessories|Clothing|Outerwear|Coats & Jackets"),
    "jeans": "Apparel & Accessories|Clothing|Pants", "trousers": "Apparel & Accessories|Clothing|Pants",
    "shorts": "Apparel & Accessories|Clothing|Shorts", "skirt": "Apparel & Accessories|Clothing|Skirts",
    "dress": "Apparel & Accessories|Clothing|Dresses",
    **dict.fromkeys(("sneakers", "boots", "heels", "sandals", "loafers"), "Apparel & Accessories|Shoes"),
    **dict.fromkeys(("handbag", "backpack", "clutch", "tote"), "Apparel & Accessories|Handbags, Wallets & Cases"),
    "hat": "Apparel & Accessories|Clothing Accessories|Hats",
    "sunglasses": "Apparel & Accessories|Clothing Accessories|Sunglasses",
    "watch": "Apparel & Accessories|Jewelry|Watches", "necklace": "Apparel & Accessories|Jewelry|Necklaces",
    "scarf": "Apparel & Accessories|Clothing Accessories|Scarves & Shawls",
    "belt": "Apparel & Accessories|Clothing Accessories|Belts",
}


def world_triplets(world, split: str, scenes: list[Scene], seed: int = 0) -> list[CTLTriplet]:
    """Kang et al.'s triplets of FashionWorld scenes (``world.tasks.make_scenes``) as this loader builds them
    from the export: ``pair_triplets`` with each item's STL-Fashion category (``world_category``, what the
    export writes; all bags share one) and the export's signatures as the canonical order."""
    category = {i: world_category(world.items[i]) for s in scenes for i in s.item_ids}
    triplets, _ = pair_triplets(scenes, category, seed, scene_key=lambda s: scene_signature(s, split),
                                product_key=lambda i: signature("product", i))
    return triplets


def world_category(item: Item) -> str:
    """The STL-Fashion category ``export`` gives a FashionWorld item: the last level of its
    ``CATEGORY_PATHS`` path (all bags are "Handbags, Wallets & Cases", as in fashion-cat.json)."""
    return short_category(CATEGORY_PATHS[item.subcategory])


def signature(kind: str, ident: str) -> str:
    """The 32-hex-digit signature ``export`` gives a world product (``kind="product"``)."""
    return hashlib.md5(f"fashionworld:{kind}:{ident}".encode()).hexdigest()


def scene_signature(scene_id: str, split: str) -> str:
    """The signature ``export`` gives a world scene of ``split``: the md5 of its id, with the first
    counter appended that makes ``scene_split`` (default fractions) put it in ``split``, so the loader's
    split of an export is the world's."""
    for k in itertools.count():
        sig = signature("scene", scene_id if k == 0 else f"{scene_id}#{k}")
        if scene_split(sig) == split:
            return sig
    raise AssertionError("unreachable")


def signature_path(sig: str) -> str:
    """``images/ab/cd/ef/<sig>.jpg``: the path of the signature's i.pinimg.com/400x URL, under ``images/``."""
    return f"{IMAGES_DIR}/{sig[0:2]}/{sig[2:4]}/{sig[4:6]}/{sig}.jpg"


def export(world, out: Path, quirks, image_size: int = 128):
    """Write ``world`` as STL-Fashion (Kang et al., CVPR 2019; github.com/kang205/STL-Dataset) under ``out``.

    Every outfit of every world split becomes a scene (``world.tasks.make_scenes``: a figure wearing it,
    ``image_size`` px), and each of its items a (scene, product, box) line of ``fashion.json``, with the
    box tight around the item's pixels as ``(left, top, right, bottom)`` normalised, 6 decimals, as the
    real file. ``fashion-cat.json`` maps each product to ``CATEGORY_PATHS[subcategory]``, one JSON
    object on one line as the real one. Scene and product images (the product on white, as
    ``World.images``) go to ``images/ab/cd/ef/<sig>.jpg``. Products are ``signature("product", id)``;
    scenes are ``scene_signature(id, split)`` (ids are ``make_scenes``'s, ``<split>-s<k>``): STL ships
    no split and none is written, but the loader's hash split (``split_scenes``, default fractions) of
    these signatures is the world's, so each scene is scored with the generator of its own split.
    Quirks: missing and mixed-size images (``ImageWriter``; Pinterest's 400x images have mixed
    heights); with ``format_quirks`` the lines are in a shuffled order, not grouped by scene.
    Deterministic in ``quirks.seed``.
    """
    from fashionrec.export import Exported, ImageWriter
    from fashionrec.world import tasks

    out = Path(out)
    rng = np.random.default_rng(quirks.seed)
    rows, scene_images = [], {}
    for split in SPLITS:
        scenes, images = tasks.make_scenes(world, split, len(world.outfits[split]), size=image_size,
                                           seed=quirks.seed)
        for scene, image in zip(scenes, images):
            sig = scene_signature(scene.scene_id, split)
            scene_images[sig] = image
            rows += [{"product": signature("product", i), "scene": sig, "bbox": [round(v, 6) for v in box]}
                     for i, box in zip(scene.item_ids, scene.boxes)]
    product_of = {signature("product", i): i for i in world.items}
    products = sorted({r["product"] for r in rows})
    if quirks.format_quirks:
        rows = [rows[k] for k in rng.permutation(len(rows))]
    (out / PAIRS_FILE).write_text("".join(json.dumps(r) + "\n" for r in rows))
    (out / CATEGORY_FILE).write_text(json.dumps({p: CATEGORY_PATHS[world.items[product_of[p]].subcategory]
                                                 for p in products}) + "\n")
    writer = ImageWriter(out, quirks, image_size)
    writer.choose_missing([signature_path(s) for s in [*sorted(scene_images), *products]])
    for sig in sorted(scene_images):
        writer.write(signature_path(sig), scene_images[sig])
    for start in range(0, len(products), 256):
        chunk = products[start:start + 256]
        for sig, image in zip(chunk, world.images([product_of[p] for p in chunk], size=image_size)):
            writer.write(signature_path(sig), image)
    return Exported("stl_fashion", out, {"scenes": len(scene_images), "products": len(products),
                                         "pairs": len(rows)}, sorted(writer.missing),
                    [f"the world's {len(world.outfits['train'])}/{len(world.outfits['valid'])}/"
                     f"{len(world.outfits['test'])} outfits are scenes; STL ships no split and none is written, "
                     f"but the scene signatures hash to the world's splits (stl.split_scenes)"])
