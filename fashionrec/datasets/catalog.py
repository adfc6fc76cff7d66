"""Product catalogs (image + text) for chapter 4: Polyvore Outfits item metadata and the Kaggle
"Fashion Product Images" ``styles.csv``. The paper's own 0.5 M / 1.5 M-item catalog is not public.

Both loaders return a :class:`Catalog` of ``fashionrec.records.Item`` (text, category,
sub-category, colours where the data has them, image path); a ``styles.csv`` row's item also holds
the attributes its row states (``stated_attributes``: ``baseColour``, and the colours, pattern and
material its title names). Items whose image file is missing are
kept in ``missing_images`` and reported by :meth:`Catalog.summary`, never silently dropped. Items
whose category is empty, or whose ``category_id`` is not in ``categories.csv``, are kept but counted
in ``unknown_categories`` with a warning; an id repeated in ``styles.csv`` is an error naming both
lines (the catalog is keyed by id, and a random split would put one id in two splits).
``export(world, out, quirks)`` writes a FashionWorld as a Kaggle ``styles.csv`` catalog
(``fashionrec export catalog``), the layout the chapter's ``paper`` profile reads.

Layouts (see data/README.md, chapter 4)::

    <root>/polyvore_item_metadata.json      item_id -> {title, url_name, description, category_id,
                                             semantic_category, catgeories (sic), related}
    <root>/images/<item_id>.jpg
    <root>/categories.csv                   optional: category_id,fine-grained,semantic (CRLF)
    <root>/[nondisjoint|disjoint/]{train,valid,test}.json   optional: outfits, to pick a split's items

    <root>/styles.csv                       id,gender,masterCategory,subCategory,articleType,
                                             baseColour,season,year,usage,productDisplayName
    <root>/images/<id>.jpg
"""

from __future__ import annotations

import csv
import io
import re
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fashionrec.datasets.files import load_image, read_categories, read_json, read_text
from fashionrec.records import Item
from fashionrec.world.catalog import COLOR_WORDS, MATERIAL_WORDS, PATTERN_WORDS
from fashionrec.world.vocab import COLORS, MATERIALS, PATTERNS

STYLES_COLUMNS = ("id", "gender", "masterCategory", "subCategory", "articleType", "baseColour", "season", "year",
                  "usage", "productDisplayName")
# Colour names looked for in Polyvore texts (which have no colour field), longest first.
COLOR_NAMES = ("light blue", "navy blue", "dark blue", "off white", "black", "white", "grey", "gray", "navy", "blue",
               "red", "pink", "green", "yellow", "orange", "purple", "brown", "beige", "cream", "ivory", "khaki",
               "olive", "burgundy", "maroon", "gold", "silver", "tan", "teal", "turquoise", "camel", "coral", "nude",
               "charcoal", "lilac", "mint", "mustard")
# The attribute vocabulary of chapter 4's requests (the book's colours, patterns and materials) and the
# phrases a shop title states each value with: FashionWorld's word tables, the value's own name, and
# Kaggle's spellings. A phrase matches as whole words, a space also matching a hyphen.
KAGGLE_SPELLINGS = {"navy": ("navy blue",)}
ATTRIBUTE_WORDS: dict[str, tuple[str, ...]] = {
    v: tuple(dict.fromkeys((*words.get(v, ()), v.replace("-", " "), *KAGGLE_SPELLINGS.get(v, ()))))
    for values, words in ((COLORS, COLOR_WORDS), (PATTERNS, PATTERN_WORDS), (MATERIALS, MATERIAL_WORDS))
    for v in values}
_PHRASES = sorted(((re.compile(r"\b" + r"[\s-]+".join(map(re.escape, phrase.split())) + r"\b"), value)
                   for value, phrases in ATTRIBUTE_WORDS.items() for phrase in phrases),
                  key=lambda pv: -len(pv[0].pattern))  # longest first: "dark blue" is navy, not blue


@dataclass
class Catalog:
    """Items of one product catalog, and the ids of those whose image file is missing."""

    items: list[Item]
    root: Path
    source: str  # "polyvore_outfits" | "fashion_product_images"
    missing_images: list[str] = field(default_factory=list)
    unknown_categories: dict[str, int] = field(default_factory=dict)  # what could not be placed -> items

    @property
    def with_images(self) -> list[Item]:
        """The items whose image file exists."""
        missing = set(self.missing_images)
        return [it for it in self.items if it.item_id not in missing]

    def summary(self) -> str:
        return (f"{self.source} at {self.root}: {len(self.items)} items, {len(self.missing_images)} without an "
                f"image file ({len(self.with_images)} usable)"
                + (f"; unknown categories {self.unknown_categories}" if self.unknown_categories else ""))


def _warn_unknown(catalog: Catalog) -> Catalog:
    if catalog.unknown_categories:
        warnings.warn(f"{catalog.root}: {sum(catalog.unknown_categories.values())} items of unknown categories "
                      f"(Catalog.unknown_categories): {catalog.unknown_categories}", stacklevel=3)
    return catalog


def colors_in_text(text: str) -> tuple[str, ...]:
    """Colour names (``COLOR_NAMES``) that occur in ``text`` as whole words, in order of first occurrence."""
    low, found = text.lower(), []
    for name in COLOR_NAMES:
        m = re.search(rf"\b{re.escape(name)}\b", low)
        if m and not any(name in f for _, f in found):
            found.append((m.start(), name))
    return tuple(name for _, name in sorted(found))


def attribute_values(text: str) -> tuple[str, ...]:
    """The attribute values (``ATTRIBUTE_WORDS``) that ``text`` names, in order of first mention; a
    longer phrase wins over the shorter ones inside it ("sky blue" is light-blue, not blue)."""
    low, taken, found = text.lower(), [], {}
    for pattern, value in _PHRASES:
        for m in pattern.finditer(low):
            if not any(a < m.end() and m.start() < b for a, b in taken):
                taken.append(m.span())
                found[value] = min(found.get(value, m.start()), m.start())
    return tuple(sorted(found, key=found.get))


def stated_attributes(base_colour: str, title: str) -> dict[str, tuple[str, ...] | str | None]:
    """``colors``, ``pattern`` and ``material`` as a ``styles.csv`` row states them (what T-nDCG checks,
    Sadeh et al. 2019, Sec. 5: a request is met when the item's metadata holds the wanted words and not
    the unwanted ones). Colours: ``baseColour`` first (as the vocabulary's value it names: "Navy Blue" is
    navy; else lower-cased as it is), then the other colours the title names; pattern and material: the
    first the title names, None when it names none ("Roadster Men Navy Blue Checked Casual Shirt": navy,
    checks)."""
    named = attribute_values(title)
    base = base_colour.strip().lower()
    base = next((v for v in attribute_values(base) if v in COLORS), base)
    colours = tuple(dict.fromkeys(c for c in (base, *named) if c and (c in COLORS or c == base)))
    return {"colors": colours, "pattern": next((v for v in named if v in PATTERNS), None),
            "material": next((v for v in named if v in MATERIALS), None)}


def outfit_item_ids(path: Path) -> set[str]:
    """The item ids of an outfits file ({train,valid,test}.json: [{"set_id", "items": [{"item_id", ...}]}])."""
    outfits = read_json(path, 'a list of outfits {"set_id", "items": [{"item_id", "index"}]}')
    try:
        return {str(it["item_id"]) for o in outfits for it in o["items"]}
    except (TypeError, KeyError) as err:
        raise ValueError(f"{path}: expected a list of outfits with items[].item_id; failed at {err!r}") from None


def load_polyvore_outfits_catalog(root: str | Path, split: str | None = None, metadata: str | Path | None = None,
                                  text_fields: tuple[str, ...] = ("title", "description")) -> Catalog:
    """Items of Polyvore Outfits (Vasileva et al. 2018) from ``polyvore_item_metadata.json``.

    Args:
        root: the dataset folder (see the module docstring).
        split: keep only the items of this split's outfits ("train", "valid", "test"), read from
            ``root/nondisjoint/<split>.json``, ``root/disjoint/<split>.json`` or ``root/<split>.json``.
        metadata: the metadata file, if not ``root/polyvore_item_metadata.json``.
        text_fields: metadata fields joined (with ". ") into the item's text; an empty title falls
            back to ``url_name``, as in the dataset authors' code.
    """
    root = Path(root)
    path = Path(metadata) if metadata is not None else root / "polyvore_item_metadata.json"
    meta = read_json(path, "a JSON object item_id -> {title, description, semantic_category, ...}")
    if not isinstance(meta, dict):
        raise ValueError(f"{path}: expected a JSON object keyed by item_id, got {type(meta).__name__}")
    categories = read_categories(root / "categories.csv") if (root / "categories.csv").exists() else {}
    keep = None
    if split is not None:
        candidates = [root / "nondisjoint" / f"{split}.json", root / "disjoint" / f"{split}.json",
                      root / f"{split}.json"]
        found = next((p for p in candidates if p.exists()), None)
        if found is None:
            raise FileNotFoundError(f"{root}: no outfits file for split {split!r}; looked for "
                                    f"{', '.join(str(p) for p in candidates)}")
        keep = outfit_item_ids(found)
    items, missing, unknown = [], [], Counter()
    for item_id in sorted(meta if keep is None else keep & set(meta)):
        m = meta[item_id]
        if not isinstance(m, dict) or "semantic_category" not in m:
            raise ValueError(f"{path}: item {item_id} lacks the field 'semantic_category'")
        if not str(m["semantic_category"]).strip():
            unknown["empty semantic_category"] += 1
        if categories and str(m.get("category_id", "")) not in categories:
            unknown[f"category_id {m.get('category_id')} (not in categories.csv)"] += 1
        parts = []
        for name in text_fields:
            value = (m.get(name) or (m.get("url_name") if name == "title" else "") or "").strip()
            if value:
                parts.append(value.replace("\n", " "))
        text = ". ".join(parts)
        fine = categories.get(str(m.get("category_id", "")), (m["semantic_category"], ""))[0]
        image = root / "images" / f"{item_id}.jpg"
        items.append(Item(item_id=str(item_id), category=m["semantic_category"], subcategory=fine, text=text,
                          colors=colors_in_text(text), image=str(image)))
        if not image.exists():
            missing.append(str(item_id))
    return _warn_unknown(Catalog(items, root, "polyvore_outfits", missing, dict(unknown.most_common())))


def read_styles_csv(path: Path) -> list[dict[str, str]]:
    """Rows of the Kaggle ``styles.csv`` as dicts of ``STYLES_COLUMNS``.

    Two quirks are handled: empty ``Unnamed: N`` columns left by a pandas re-export, and rows whose
    ``productDisplayName`` holds unquoted commas (more fields than the header), which are re-joined.
    """
    text = read_text(path, "the Kaggle Fashion Product Images styles.csv (layout in data/README.md, chapter 4)")
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        raise ValueError(f"{path}: empty file; expected a header {','.join(STYLES_COLUMNS)}")
    named = [h for h in header if not h.startswith("Unnamed:")]
    lacking = [c for c in STYLES_COLUMNS if c not in named]
    if lacking:
        raise ValueError(f"{path}: missing column(s) {lacking}; the header is {header}")
    if named != header[:len(named)]:
        raise ValueError(f"{path}: 'Unnamed:' columns must come last; the header is {header}")
    name_at, n_named = named.index("productDisplayName"), len(named)
    rows, lines = [], {}
    for n, row in enumerate(reader, 2):
        if not row:
            continue
        extra = len(row) - len(header)
        if len(row) < n_named:
            raise ValueError(f"{path}, line {n}: {len(row)} fields, expected at least {n_named}: {row}")
        if extra > 0 and n_named - 1 == name_at:  # commas inside the (last named) display name
            row = row[:name_at] + [",".join(row[name_at:name_at + extra + 1])] + row[name_at + extra + 1:]
        record = dict(zip(named, row[:n_named]))
        item_id = record["id"].strip()
        if item_id in lines:
            raise ValueError(f"{path}, line {n}: id {item_id} again (first at line {lines[item_id]}) — ids are "
                             f"unique in styles.csv")
        lines[item_id] = n
        rows.append(record)
    return rows


def load_fashion_product_images(root: str | Path) -> Catalog:
    """Items of the Kaggle "Fashion Product Images" dataset (Myntra) from ``styles.csv``.

    category = ``subCategory`` (Topwear, Shoes, ...), sub-category = ``articleType`` (Tshirts, ...),
    text = ``productDisplayName``, colours, pattern and material as the row states them
    (``stated_attributes``: ``baseColour`` and the title's attribute words); lower-cased.
    """
    root = Path(root)
    items, missing, unknown = [], [], Counter()
    for row in read_styles_csv(root / "styles.csv"):
        item_id = row["id"].strip()
        for column in ("subCategory", "articleType"):
            if not row[column].strip():
                unknown[f"empty {column}"] += 1
        image = root / "images" / f"{item_id}.jpg"
        text = row["productDisplayName"].strip()
        items.append(Item(item_id=item_id, category=row["subCategory"].strip().lower(),
                          subcategory=row["articleType"].strip().lower(), text=text,
                          **stated_attributes(row["baseColour"], text), image=str(image)))
        if not image.exists():
            missing.append(item_id)
    return _warn_unknown(Catalog(items, root, "fashion_product_images", missing, dict(unknown.most_common())))


def load_catalog(data_root: str | Path, split: str | None = None) -> Catalog:
    """Whichever catalog ``data_root`` holds (itself or a ``polyvore_outfits`` / ``fashion-product-images``
    sub-folder): Polyvore Outfits metadata first, then ``styles.csv``."""
    root = Path(data_root)
    for folder in (root, root / "polyvore_outfits", root / "polyvore-outfits"):
        if (folder / "polyvore_item_metadata.json").exists():
            return load_polyvore_outfits_catalog(folder, split)
    for folder in (root, root / "fashion-product-images", root / "fashion_product_images"):
        if (folder / "styles.csv").exists():
            return load_fashion_product_images(folder)
    raise FileNotFoundError(f"{root}: no product catalog found — expected polyvore_item_metadata.json + images/ "
                            f"or styles.csv + images/ there or in a polyvore_outfits/ or fashion-product-images/ "
                            f"sub-folder (data/README.md, chapter 4)")


def load_images(items: list[Item], size: int) -> tuple[np.ndarray, list[str]]:
    """(N, size, size, 3) uint8 images of the items whose file could be read, and the ids of the
    others (missing or unreadable files), so the caller can report them."""
    from fashionrec.images import ImageError

    images, failed = [], []
    for it in items:
        try:
            images.append(load_image(it.image, size))
        except (FileNotFoundError, OSError, ImageError):
            failed.append(it.item_id)
    arr = np.stack(images) if images else np.zeros((0, size, size, 3), np.uint8)
    return arr, failed


def canonical_order(items: list[Item]) -> list[Item]:
    """``items`` by id, numerically where ids are integers (Kaggle's, an export's) and as text where
    they have one width (FashionWorld's): what a split and its queries are drawn from, so the file's
    row order changes nothing."""
    return sorted(items, key=lambda it: (len(it.item_id), it.item_id))


def split_items(items: list[Item], fractions: tuple[float, float, float] = (0.7, 0.1, 0.2),
                seed: int = 0) -> dict[str, list[Item]]:
    """A random train / valid / test split of a catalog's items (catalogs come without one), drawn over
    ``canonical_order``; each split lists its items in that order."""
    items = canonical_order(items)
    order = np.random.default_rng(seed).permutation(len(items))
    cuts = np.cumsum([int(f * len(items)) for f in fractions[:2]])
    parts = np.split(order, cuts)
    return {name: [items[k] for k in sorted(part)] for name, part in zip(("train", "valid", "test"), parts)}


def item_values(item: Item) -> set[str]:
    """An item's attribute values: colours, pattern, material (those it has)."""
    return {*item.colors, *(v for v in (item.pattern, item.material) if v)}


def augment_views(images: np.ndarray, rng: np.random.Generator, min_scale: float = 0.7) -> np.ndarray:
    """Another view of each product image: a random crop of 70-100 % of the side, resized back,
    and a random horizontal flip (colours untouched: they are what queries ask for)."""
    from PIL import Image

    out = np.empty_like(images)
    n, size = len(images), images.shape[1]
    for k in range(n):
        side = int(size * rng.uniform(min_scale, 1.0))
        y, x = rng.integers(0, size - side + 1, 2)
        crop = Image.fromarray(images[k, y:y + side, x:x + side]).resize((size, size), Image.Resampling.BILINEAR)
        view = np.asarray(crop)
        out[k] = view[:, ::-1] if rng.random() < 0.5 else view
    return out


QUERY_DRAWS = 50  # attribute_queries draws at most this many items per query asked for


def attribute_queries(items: list[Item], n: int, seed: int = 0) -> list:
    """Multimodal queries (Sadeh et al. 2019, Sec. 5): a catalog image plus a request to **add** a
    pattern or material (half each, from those the catalog states), **remove** the item's pattern
    (its last colour when it states no pattern other than solid), or **replace** its (base) colour
    with another the catalog states; ``relevant`` = the other items of its sub-category whose attributes (as the
    items state them, ``item_values``) meet the request. The kinds take turns among those the items
    allow (a catalog that states colours only gets removals and replacements); it stops early when the
    catalog cannot give ``n``.
    """
    from fashionrec.records import MultimodalQuery

    rng = np.random.default_rng(seed)
    values = [item_values(it) for it in items]
    colours = sorted({c for it in items for c in it.colors})
    patterns = sorted({it.pattern for it in items if it.pattern and it.pattern != "solid"})
    materials = sorted({it.material for it in items if it.material})
    kinds = [kind for kind, ok in (("add", patterns or materials), ("remove", colours or patterns),
                                   ("replace", len(colours) > 1)) if ok]
    queries = []
    for _ in range(QUERY_DRAWS * n):
        if len(queries) >= n or not items or not kinds:
            break
        k = int(rng.integers(len(items)))
        q = items[k]
        kind = kinds[len(queries) % len(kinds)]
        if kind == "replace" and q.colors:
            wanted, unwanted = (colours[rng.integers(len(colours))],), (q.colors[0],)
        elif kind == "add":
            extras = patterns if patterns and (not materials or rng.random() < 0.5) else materials
            wanted, unwanted = (extras[rng.integers(len(extras))],), ()
        elif kind == "remove" and (q.colors or q.pattern not in (None, "solid")):
            wanted, unwanted = (), ((q.pattern,) if q.pattern not in (None, "solid") else (q.colors[-1],))
        else:
            continue
        if set(wanted) & values[k] or set(unwanted) - values[k]:
            continue  # a request must change something
        relevant = tuple(it.item_id for it, v in zip(items, values) if it.subcategory == q.subcategory
                         and it.item_id != q.item_id and set(wanted) <= v and not set(unwanted) & v)
        if relevant:
            queries.append(MultimodalQuery(f"q{len(queries):05d}", q.item_id, kind, wanted, unwanted, relevant))
    return queries


def attribute_synonyms(items: list[Item]) -> dict[str, tuple[str, ...]]:
    """Attribute value -> the phrases a title names it with (``ATTRIBUTE_WORDS``), plus each other value
    the items state (a Kaggle ``baseColour`` such as "tan") under its own name: the lexicon's input."""
    seen = sorted({v for it in items for v in item_values(it)} - set(ATTRIBUTE_WORDS))
    return {**ATTRIBUTE_WORDS, **{v: (v,) for v in seen}}


# ----- export: a FashionWorld as a Kaggle "Fashion Product Images" catalog -------------------------------
# the book's coarse slots -> the Kaggle masterCategory (subCategory / articleType carry the world's own names)
SLOT_MASTER = {"top": "Apparel", "outerwear": "Apparel", "bottom": "Apparel", "dress": "Apparel",
               "shoes": "Footwear", "bag": "Accessories", "accessory": "Accessories"}
WOMEN_ONLY = {"dress", "skirt", "blouse", "heels", "clutch", "handbag", "necklace"}


def export_ids(world) -> dict[str, str]:
    """World item id -> the ``id`` an export writes: integers, as in the Kaggle ``styles.csv``."""
    return {i: str(10_000 + 7 * k) for k, i in enumerate(sorted(i for p in world.pools.values() for i in p))}


def base_colour(item: Item) -> str:
    """The ``baseColour`` an export writes for ``item``: its first colour, spelled as Kaggle's ("Light Blue")."""
    return item.colors[0].replace("-", " ").title() if item.colors else ""


def export(world, out: Path, quirks, image_size: int = 128):
    """Write ``world``'s items as the Kaggle "Fashion Product Images" catalog (Myntra; layout in the
    module docstring and data/README.md, chapter 4): ``styles.csv`` and ``images/<id>.jpg``.

    Columns as in the original: ``gender`` (Women for dresses, skirts, heels, ...; else Unisex),
    ``masterCategory`` (Apparel / Footwear / Accessories), ``subCategory`` = the item's category,
    ``articleType`` = its sub-category, ``baseColour`` = its first colour (one per item, as Kaggle;
    the file has no pattern or material column), ``season``, ``year``, ``usage`` (from the formality)
    and ``productDisplayName`` = its text, as it is (the loader reads the attributes the text names,
    ``stated_attributes``). With ``format_quirks``, the real file's: rows out of id
    order, unquoted commas inside ``productDisplayName``, a few empty ``usage`` / ``year`` fields,
    and portrait 3:4 images at two sizes (as 1080x1440 and 1800x2400); without, a csv-quoted file
    and square images. Missing images: ``ImageWriter``, counted by ``load_fashion_product_images``.
    """
    from dataclasses import replace

    from PIL import Image

    from fashionrec.export import Exported, ImageWriter

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ids = export_ids(world)
    rng = np.random.default_rng(quirks.seed)
    order = list(ids)
    if quirks.format_quirks:
        order = [order[k] for k in rng.permutation(len(order))]
    rows = []
    for k, i in enumerate(order):
        it = world.items[i]
        formality = it.formality if it.formality is not None else 0.5
        usage = "Formal" if formality > 0.66 else "Smart Casual" if formality > 0.4 else "Casual"
        season = "Winter" if it.material in ("wool", "knit", "leather") else ("Summer", "Fall", "Spring")[k % 3]
        year = str(2010 + int(ids[i]) % 9)
        if quirks.format_quirks and k % 17 == 5:
            usage, year = "", ""
        rows.append([ids[i], "Women" if it.subcategory in WOMEN_ONLY else "Unisex", SLOT_MASTER[it.category],
                     it.category.title(), it.subcategory.title(), base_colour(it),
                     season, year, usage, it.text])
    with open(out / "styles.csv", "w", newline="", encoding="utf-8") as f:
        if quirks.format_quirks:  # Kaggle's file: never quoted, so a name's commas make extra fields
            f.write(",".join(STYLES_COLUMNS) + "\n" + "".join(",".join(r) + "\n" for r in rows))
        else:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(STYLES_COLUMNS)
            writer.writerows(rows)
    images = ImageWriter(out, replace(quirks, mixed_sizes=0.0), image_size)  # sizes: 3:4 below, not MIXED_SIZES
    images.choose_missing([f"images/{ids[i]}.jpg" for i in ids])
    for i, pixels in zip(ids, world.images(list(ids), image_size)):
        if quirks.format_quirks:  # the product on a white portrait canvas, at one of two sizes
            scale = 5 / 3 if rng.random() < quirks.mixed_sizes else 1.0
            side = round(image_size * scale)
            canvas = Image.new("RGB", (side, round(side * 4 / 3)), (255, 255, 255))
            canvas.paste(Image.fromarray(pixels).resize((side, side), Image.Resampling.BILINEAR),
                         (0, (canvas.height - side) // 2))
            pixels = np.asarray(canvas)
        images.write(f"images/{ids[i]}.jpg", pixels)
    n_commas = sum("," in r[-1] for r in rows)
    notes = [f"{n_commas} productDisplayName(s) with commas, unquoted as in the Kaggle file"] if quirks.format_quirks \
        else []
    return Exported("catalog", out, {"items": len(rows)}, images.missing, notes)
