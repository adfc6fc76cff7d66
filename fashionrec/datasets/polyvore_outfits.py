"""Polyvore Outfits (Vasileva et al., ECCV 2018): outfits, compatibility and FITB for chapter 1.

Layout under ``root`` (data/README.md, chapter 1); ``version`` is ``nondisjoint`` or ``disjoint``,
and a flat copy (the split files directly in ``root``) is read too::

    <version>/train.json valid.json test.json        [{"set_id", "items": [{"item_id", "index"}]}]
    <version>/compatibility_{train,valid,test}.txt   "<0|1> <set_id>_<index> ..."
    <version>/fill_in_blank_{train,valid,test}.json  [{"question", "answers", "blank_position"}]
    polyvore_item_metadata.json                      item_id -> {title, description, category_id,
                                                     semantic_category, ...}
    categories.csv                                   category_id,fine-grained,semantic (CRLF endings)
    images/<item_id>.jpg

Task files name items ``<set_id>_<index>``; they are mapped to item ids through the outfits. The
right FITB answer is the candidate from the question's outfit. Chapter 4 reads the same metadata
for its catalog; this module owns outfits and their tasks.
"""

from __future__ import annotations

from pathlib import Path

from fashionrec.datasets.files import read_categories, read_json
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
    items: dict[str, Item] = {}
    outfits: dict[str, list[Outfit]] = {s: [] for s in SPLITS}
    by_key: dict[str, str] = {}  # "<set_id>_<index>" -> item_id
    for split in splits:
        path = folder / f"{split}.json"
        raw = read_json(path, 'a list of {"set_id", "items": [{"item_id", "index"}]}')
        for k, o in enumerate(raw):
            try:
                set_id = str(o["set_id"])
                entries = sorted(o["items"], key=lambda it: int(it["index"]))
                ids = tuple(str(it["item_id"]) for it in entries)
                by_key.update({f"{set_id}_{it['index']}": str(it["item_id"]) for it in entries})
            except (KeyError, TypeError, ValueError) as err:
                raise ValueError(f"{path}: outfit {k} lacks {err} — expected set_id and items "
                                 f"[{{item_id, index}}]") from None
            for i in ids:
                if i not in items:
                    items[i] = _item(i, meta, cats, root, metadata)
            outfits[split].append(Outfit(set_id, ids))
    data = PolyvoreData(root, items, outfits)
    compat = folder / f"compatibility_{task_split}.txt"
    if compat.exists():
        data.compatibility = [CompatibilityExample(tuple(_resolve(by_key, i, compat) for i in e.item_ids), e.label)
                              for e in read_compatibility(compat)]
    fitb = folder / f"fill_in_blank_{task_split}.json"
    if fitb.exists():
        data.fitb = [FITBQuestion(tuple(None if i is None else _resolve(by_key, i, fitb) for i in q.context),
                                  tuple(_resolve(by_key, a, fitb) for a in q.candidates), q.answer)
                     for q in read_fitb(fitb, blank_is_first_answer=False)]
    if check_images:
        data.missing_images = sorted(i for i, it in items.items() if not Path(it.image).exists())
    if drop_missing and data.missing_images:
        _drop(data, set(data.missing_images))
    return data


def _item(item_id: str, meta: dict, cats: dict, root: Path, metadata: bool) -> Item:
    image = str(root / "images" / f"{item_id}.jpg")
    if not metadata:
        return Item(item_id, "unknown", "unknown", image=image)
    if item_id not in meta:
        raise KeyError(f"{root / 'polyvore_item_metadata.json'}: no entry for item {item_id}")
    m = meta[item_id]
    semantic = m.get("semantic_category") or cats.get(str(m.get("category_id")), ("", "unknown"))[1]
    fine = cats.get(str(m.get("category_id")), (semantic, semantic))[0]
    text = (m.get("title") or m.get("url_name") or "").strip()
    return Item(item_id, SEMANTIC_SLOT.get(semantic, "accessory"), fine or semantic, text, image=image)


def _resolve(by_key: dict[str, str], key: str, path: Path) -> str:
    if key not in by_key:
        raise KeyError(f"{path}: item {key!r} is in no loaded outfit — load the split the task file refers to")
    return by_key[key]
