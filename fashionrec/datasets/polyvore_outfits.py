"""Polyvore Outfits (Vasileva et al., ECCV 2018): outfits, compatibility and FITB for chapter 1.

Layout under ``root`` (data/README.md, chapter 1); ``version`` is ``nondisjoint`` or ``disjoint``,
and a flat copy (the split files directly in ``root``) is read too::

    <version>/train.json valid.json test.json        [{"set_id", "items": [{"item_id", "index"}]}]
    <version>/compatibility_{train,valid,test}.txt   "<0|1> <set_id>_<index> ..."
    <version>/fill_in_blank_{train,valid,test}.json  [{"question", "answers", "blank_position"}]
    polyvore_item_metadata.json                      item_id -> {title, description, category_id,
                                                     semantic_category, ...}
    polyvore_outfit_titles.json                      set_id -> {url_name, title} (optional: outfit texts)
    categories.csv                                   category_id,fine-grained,semantic (CRLF endings)
    images/<item_id>.jpg

Task files name items ``<set_id>_<index>``; they are mapped to item ids through the outfits. The
right FITB answer is the candidate from the question's outfit. Chapter 4 reads the same metadata
for its catalog; this module owns outfits and their tasks.

Checked on reading (errors name the file and the outfit, line or id): a set id repeated within or
across the splits, an index repeated in an outfit, an outfit without items and a task id that names
no outfit item are errors. Items shared between splits are the ``nondisjoint`` protocol (counted in
``shared_items``); in ``disjoint`` they are a leak and also warned about. An item listed twice in one
outfit is in the real files (3 of valid.json's 5,000 outfits) and kept. Semantic categories outside
``SEMANTIC_SLOT`` (``categories.csv`` has 6 ids with an empty one) and category ids missing from
``categories.csv`` are counted in ``unknown_categories``, with a warning.
"""

from __future__ import annotations

import warnings
from collections import Counter
from pathlib import Path

from fashionrec.datasets.files import check_outfit, read_categories, read_json
from fashionrec.datasets.polyvore import SPLITS, PolyvoreData, _drop, read_compatibility, read_fitb
from fashionrec.records import CompatibilityExample, FITBQuestion, Item, Outfit

# Polyvore Outfits' semantic categories -> the coarse outfit slots used across the book.
SEMANTIC_SLOT = {"tops": "top", "outerwear": "outerwear", "bottoms": "bottom", "all-body": "dress",
                 "shoes": "shoes", "bags": "bag", "accessories": "accessory", "jewellery": "accessory",
                 "hats": "accessory", "scarves": "accessory", "sunglasses": "accessory"}


def _split_folder(root: Path, version: str) -> Path:
    for folder in (root / version, root):
        if (folder / "valid.json").exists() or (folder / "test.json").exists():
            return folder
    raise FileNotFoundError(f"{root / version}: no valid.json / test.json — expected "
                            f"<root>/{version}/{{train,valid,test}}.json (or a flat copy in {root})")


def load_polyvore_outfits(root: str | Path, version: str = "nondisjoint", splits: tuple[str, ...] = SPLITS,
                          metadata: bool = True, drop_missing: bool = False, check_images: bool = True,
                          task_split: str = "test") -> PolyvoreData:
    """Read Polyvore Outfits into the same :class:`PolyvoreData` as Maryland Polyvore.

    Args:
        root: the dataset folder.
        version: "nondisjoint" or "disjoint".
        splits: the outfit splits to read (each must exist).
        metadata: read ``polyvore_item_metadata.json`` (+ ``categories.csv``) for item text and
            categories; False leaves them unknown ("unknown", empty text).
        drop_missing: as in :func:`~fashionrec.datasets.polyvore.load_polyvore`.
        check_images: look for ``images/<item_id>.jpg``.
        task_split: whose ``compatibility_*.txt`` / ``fill_in_blank_*.json`` to read (when present).
    """
    root = Path(root)
    folder = _split_folder(root, version)
    meta: dict = {}
    cats: dict[str, tuple[str, str]] = {}
    if metadata:
        meta = read_json(root / "polyvore_item_metadata.json", "item_id -> {title, category_id, semantic_category}")
        if (root / "categories.csv").exists():
            cats = read_categories(root / "categories.csv")
    titles: dict = {}
    if (root / "polyvore_outfit_titles.json").exists():
        titles = read_json(root / "polyvore_outfit_titles.json", "set_id -> {url_name, title}")
    items: dict[str, Item] = {}
    outfits: dict[str, list[Outfit]] = {s: [] for s in SPLITS}
    by_key: dict[str, str] = {}  # "<set_id>_<index>" -> item_id
    seen: dict[str, str] = {}  # set_id -> where it was first read
    unknown: Counter = Counter()
    for split in splits:
        path = folder / f"{split}.json"
        raw = read_json(path, 'a list of {"set_id", "items": [{"item_id", "index"}]}')
        for k, o in enumerate(raw):
            try:
                set_id = str(o["set_id"])
                entries = sorted(o["items"], key=lambda it: int(it["index"]))
                ids = tuple(str(it["item_id"]) for it in entries)
                keys = [f"{set_id}_{it['index']}" for it in entries]
            except (KeyError, TypeError, ValueError) as err:
                raise ValueError(f"{path}: outfit {k} lacks {err} — expected set_id and items "
                                 f"[{{item_id, index}}]") from None
            check_outfit(path, k, set_id, keys, seen)
            by_key.update(zip(keys, ids))
            for i in ids:
                if i not in items:
                    items[i] = _item(i, meta, cats, root, metadata, unknown)
            title = titles.get(set_id) or {}
            outfits[split].append(Outfit(set_id, ids, str(title.get("title") or title.get("url_name") or "")))
    data = PolyvoreData(root, items, outfits, unknown_categories=dict(unknown.most_common()),
                        shared_items=_shared_items(outfits, splits))
    if unknown:
        warnings.warn(f"{root}: {sum(unknown.values())} items of unknown categories (unknown_categories): "
                      f"{', '.join(f'{c}: {n}' for c, n in unknown.most_common(5))}", stacklevel=2)
    if version == "disjoint" and data.shared_items:
        warnings.warn(f"{folder}: the disjoint split shares items between splits {data.shared_items} — "
                      f"a split leak (shared_items)", stacklevel=2)
    compat = folder / f"compatibility_{task_split}.txt"
    if compat.exists():
        data.compatibility = [CompatibilityExample(tuple(by_key[i] for i in e.item_ids), e.label)
                              for e in read_compatibility(compat, known=set(by_key))]
    fitb = folder / f"fill_in_blank_{task_split}.json"
    if fitb.exists():
        data.fitb = [FITBQuestion(tuple(None if i is None else by_key[i] for i in q.context),
                                  tuple(by_key[a] for a in q.candidates), q.answer)
                     for q in read_fitb(fitb, blank_is_first_answer=False, known=set(by_key))]
    if check_images:
        data.missing_images = sorted(i for i, it in items.items() if not Path(it.image).exists())
    if drop_missing and data.missing_images:
        _drop(data, set(data.missing_images))
    return data


def _item(item_id: str, meta: dict, cats: dict, root: Path, metadata: bool, unknown: Counter) -> Item:
    """The item's record; categories it cannot place are counted in ``unknown`` (kept as "accessory")."""
    image = str(root / "images" / f"{item_id}.jpg")
    if not metadata:
        return Item(item_id, "unknown", "unknown", image=image)
    if item_id not in meta:
        raise KeyError(f"{root / 'polyvore_item_metadata.json'}: no entry for item {item_id}")
    m = meta[item_id]
    if cats and str(m.get("category_id")) not in cats:
        unknown[f"category_id {m.get('category_id')} (not in categories.csv)"] += 1
    semantic = m.get("semantic_category") or cats.get(str(m.get("category_id")), ("", "unknown"))[1]
    if semantic not in SEMANTIC_SLOT:
        unknown[f"semantic category {semantic!r} (no outfit slot)"] += 1
    fine = cats.get(str(m.get("category_id")), (semantic, semantic))[0]
    text = (m.get("title") or m.get("url_name") or "").strip()
    return Item(item_id, SEMANTIC_SLOT.get(semantic, "accessory"), fine or semantic, text, image=image)


def _shared_items(outfits: dict[str, list[Outfit]], splits: tuple[str, ...]) -> dict[str, int]:
    """"a/b" -> how many items the outfits of splits a and b share (pairs that share none are left out)."""
    sets = {s: {i for o in outfits[s] for i in o.item_ids} for s in splits}
    pairs = {f"{a}/{b}": len(sets[a] & sets[b]) for k, a in enumerate(splits) for b in splits[k + 1:]}
    return {pair: n for pair, n in pairs.items() if n}


# ----- export: a FashionWorld in this layout (``fashionrec export polyvore_outfits``) ----------------------
# the book's coarse slots and sub-categories -> Polyvore Outfits' semantic categories (the inverse of SEMANTIC_SLOT)
SLOT_SEMANTIC = {"top": "tops", "outerwear": "outerwear", "bottom": "bottoms", "dress": "all-body", "shoes": "shoes",
                 "bag": "bags", "accessory": "accessories"}
SUBCATEGORY_SEMANTIC = {"hat": "hats", "scarf": "scarves", "sunglasses": "sunglasses", "necklace": "jewellery",
                        "watch": "jewellery"}


def export_ids(world) -> tuple[dict[str, str], dict[str, str]]:
    """(world item id -> item id, world outfit id -> set id) as ``export`` writes them: numbers, as in
    Polyvore Outfits, the same item id in every outfit that holds the item."""
    items = {i: str(120_000_000 + 13 * k) for k, i in enumerate(sorted(i for p in world.pools.values() for i in p))}
    sets = {o.outfit_id: str(200_000_000 + 7 * k)
            for k, o in enumerate(o for s in SPLITS for o in world.outfits[s])}
    return items, sets


def export(world, out: Path, quirks, image_size: int = 128):
    """Write ``world`` in the layout of Polyvore Outfits (Vasileva et al. 2018; module docstring).

    ``nondisjoint/{train,valid,test}.json``, ``compatibility_{split}.txt`` (the world's outfits and as
    many random ones), ``fill_in_blank_{split}.json`` (type-matched negatives, as the dataset's
    "resampled" questions; the right answer at a random position; as many as chapter 1 asks,
    ``bilstm.Config.n_fitb``), ``polyvore_item_metadata.json``, ``polyvore_outfit_titles.json``,
    ``categories.csv`` (CRLF) and ``images/<item_id>.jpg``. Task files name items ``<set_id>_<index>``
    (an item by its first outfit of the split): the world's tasks draw their negatives from the items of
    the split's outfits (``tasks.outfit_items``), so every question and outfit is written. Quirks:
    missing and mixed-size images (``ImageWriter``) and, with ``format_quirks``, the real files': items
    listed out of index order, empty titles (the text is in ``url_name``), a semantic name with a
    trailing space, a repeated category id, no final line end.
    """
    import json

    from fashionrec.bilstm.config import Config
    from fashionrec.export import Exported, ImageWriter
    from fashionrec.world import tasks

    out = Path(out)
    folder = out / "nondisjoint"
    folder.mkdir(parents=True, exist_ok=True)
    item_id, set_id = export_ids(world)
    subcategories = sorted({world.items[i].subcategory for i in item_id})
    category_id = {s: str(2 + 3 * k) for k, s in enumerate(subcategories)}
    slot = {world.items[i].subcategory: world.items[i].category for i in item_id}
    semantic = {s: SUBCATEGORY_SEMANTIC.get(s, SLOT_SEMANTIC[slot[s]]) for s in subcategories}
    rows = [f"{category_id[s]},{s},{semantic[s]}" + (" " if quirks.format_quirks and semantic[s] == "accessories"
                                                       else "") for s in subcategories]
    if quirks.format_quirks and subcategories:  # an id repeated with another fine-grained name: the first row counts
        rows.insert(1, f"{category_id[subcategories[0]]},{subcategories[0]} other,{semantic[subcategories[0]]}")
    end = "" if quirks.format_quirks else "\r\n"
    (out / "categories.csv").write_bytes(("\r\n".join(rows) + end).encode("utf-8"))
    meta = {}
    for k, (i, new) in enumerate(item_id.items()):
        it = world.items[i]
        empty = quirks.format_quirks and k % 9 == 4
        meta[new] = {"url_name": it.text, "description": "", "catgeories": [it.subcategory, semantic[it.subcategory]],
                     "title": "" if empty else it.text, "related": [], "category_id": category_id[it.subcategory],
                     "semantic_category": semantic[it.subcategory]}
    (out / "polyvore_item_metadata.json").write_text(json.dumps(meta), encoding="utf-8")
    titles = {set_id[o.outfit_id]: {"url_name": o.text, "title": o.text} for s in SPLITS for o in world.outfits[s]}
    (out / "polyvore_outfit_titles.json").write_text(json.dumps(titles), encoding="utf-8")
    counts = {"items": len(item_id)}
    for split in SPLITS:
        outfits, name = [], {}  # name: world item -> "<set_id>_<index>" of its first outfit in the split
        for k, o in enumerate(world.outfits[split]):
            entries = [{"item_id": item_id[i], "index": j + 1} for j, i in enumerate(o.item_ids)]
            outfits.append({"items": entries[::-1] if quirks.format_quirks and k % 5 == 2 else entries,
                            "set_id": set_id[o.outfit_id]})
            for j, i in enumerate(o.item_ids):
                name.setdefault(i, f"{set_id[o.outfit_id]}_{j + 1}")
        (folder / f"{split}.json").write_text(json.dumps(outfits), encoding="utf-8")
        outfit_of = {o.item_ids: o.outfit_id for o in reversed(world.outfits[split])}
        lines = []
        for e in tasks.compatibility_examples(world, split, seed=world.cfg.seed):
            names = ([f"{set_id[outfit_of[e.item_ids]]}_{j + 1}" for j in range(len(e.item_ids))] if e.label
                     else [name[i] for i in e.item_ids])
            lines.append(f"{e.label} {' '.join(names)}\n")
        (folder / f"compatibility_{split}.txt").write_text("".join(lines), encoding="utf-8")
        questions = []
        for q in tasks.fitb_questions(world, split, Config.n_fitb, "type", seed=world.cfg.seed):
            own = set_id[outfit_of[tasks.fill(q.context, q.candidates[q.answer])]]
            blank = q.context.index(None)
            answers = [f"{own}_{blank + 1}" if k == q.answer else name[c] for k, c in enumerate(q.candidates)]
            questions.append({"question": [f"{own}_{j + 1}" for j, i in enumerate(q.context) if i is not None],
                              "answers": answers, "blank_position": blank + 1})
        (folder / f"fill_in_blank_{split}.json").write_text(json.dumps(questions), encoding="utf-8")
        counts |= {f"{split} outfits": len(outfits), f"{split} compatibility outfits": len(lines),
                   f"{split} FITB questions": len(questions)}
    writer = ImageWriter(out, quirks, image_size)
    writer.choose_missing([f"images/{new}.jpg" for new in item_id.values()])
    for (i, new), pixels in zip(item_id.items(), world.images(list(item_id), image_size)):
        writer.write(f"images/{new}.jpg", pixels)
    return Exported("polyvore_outfits", out, counts, writer.missing)
