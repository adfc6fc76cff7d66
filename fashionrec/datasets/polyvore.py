"""Maryland Polyvore (Han et al., ACM MM 2017), in the layout of github.com/xthan/polyvore-dataset.

Layout under ``root`` (data/README.md, chapter 1)::

    train_no_dup.json valid_no_dup.json test_no_dup.json   outfits (a ``label/`` sub-folder also works)
    fill_in_blank_test.json                                FITB questions, random negatives (optional)
    fashion_compatibility_prediction.txt                   "<0|1> <set_id>_<index> ..." (optional)
    category_id.txt                                        "<categoryid> <name>" per line
    images/<set_id>/<index>.jpg

Each outfit is ``{"set_id", "name", "items": [{"index", "name", "categoryid", "image", ...}], ...}``;
an item is named ``<set_id>_<index>`` (the id the FITB and compatibility files use). Items keep the
outfit's order (tops, bottoms, shoes, accessories on Polyvore). Item text = the item's ``name``.
The vocabulary rule of the paper (Sec. 4.1): words seen fewer than 30 times in training are dropped.

Items whose image file is missing are listed in ``missing_images`` and reported by ``summary()``;
``drop_missing=True`` removes them from outfits and drops the questions that use them (counted).

Checked on reading (errors name the file and the outfit, line or id): a set id repeated within or
across the splits and an index repeated in an outfit are errors (item ids ``<set_id>_<index>``
would collide, and an outfit in two splits leaks); so are an outfit without items and a FITB or
compatibility id that names no outfit item. Category ids missing from ``category_id.txt`` and
category names that match no outfit slot (Polyvore also sells furniture and make-up) are kept as
``accessory`` but counted in ``unknown_categories``, with a warning.
"""

from __future__ import annotations

import json
import re
import warnings
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fashionrec.datasets.files import check_outfit, line_of, load_image, parse_json, read_json, read_text
from fashionrec.text import tokenize  # the catalog tokenizer of chapter 4: "t-shirt", "h&m" stay one word
from fashionrec.records import CompatibilityExample, FITBQuestion, Item, Outfit

SPLITS = ("train", "valid", "test")
# A Polyvore category name goes to the first slot (checked in this order) one of whose words it contains.
SLOT_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("shoes", ("shoe", "boot", "heel", "pump", "sandal", "flat", "flip flop", "sneaker", "slipper", "bootie", "loafer",
               "oxford", "clog")),
    ("bottom", ("skirt", "jean", "pant", "trouser", "short", "legging", "capri", "bottom")),
    ("top", ("top", "tunic", "blouse", "cardigan", "sweater", "t-shirt", "shirt", "polo", "hoodie", "sweatshirt",
             "camisole", "tank", "bra")),
    ("outerwear", ("outerwear", "coat", "jacket", "blazer", "vest", "sportcoat", "suit")),
    ("dress", ("dress", "gown", "jumpsuit", "romper", "one piece swimsuit", "bikini", "swimwear", "cover-up")),
    ("bag", ("bag", "handbag", "clutch", "tote", "backpack", "wallet", "luggage", "briefcase")),
    ("accessory", ("accessory", "accessories", "jewelry", "jewellery", "necklace", "earring", "bracelet", "bangle",
                   "ring", "brooch", "charm", "pendant", "cuff link", "watch", "hat", "cap", "beanie", "scarf",
                   "scarves", "sunglasses", "eyeglasses", "eyewear", "belt", "glove", "tie", "sock", "tights",
                   "hosiery", "hair", "umbrella", "keychain")),
)
SLOTS = ("top", "outerwear", "bottom", "dress", "shoes", "bag", "accessory")
def build_vocab(texts: Iterable[str], min_count: int = 30) -> dict[str, int]:
    """word -> id (from 1; 0 = padding) for words seen at least ``min_count`` times (Han et al.: 30)."""
    counts = Counter(w for t in texts for w in tokenize(t))
    return {w: k + 1 for k, w in enumerate(sorted(w for w, c in counts.items() if c >= min_count))}


def slot_of(category_name: str) -> str:
    """Coarse outfit slot of a Polyvore category name ("Ankle Booties" -> "shoes"); else "accessory"
    (:func:`has_slot` tells the two apart; the loader counts the names that match no slot)."""
    return _slot(category_name) or "accessory"


def has_slot(category_name: str) -> bool:
    """Whether some word of ``SLOT_WORDS`` names the category's slot."""
    return _slot(category_name) is not None


def _slot(category_name: str) -> str | None:
    name = category_name.lower()
    for slot, words in SLOT_WORDS:
        if any(re.search(rf"\b{re.escape(w)}(?:s|es)?\b", name) for w in words):
            return slot
    return None


@dataclass
class PolyvoreData:
    """Items, outfits per split and the official test tasks of a Polyvore dataset."""

    root: Path
    items: dict[str, Item]
    outfits: dict[str, list[Outfit]]
    fitb: list[FITBQuestion] = field(default_factory=list)
    compatibility: list[CompatibilityExample] = field(default_factory=list)
    missing_images: list[str] = field(default_factory=list)
    dropped: dict[str, int] = field(default_factory=dict)  # what drop_missing removed, by kind
    unknown_categories: dict[str, int] = field(default_factory=dict)  # category kept as "accessory" -> items
    shared_items: dict[str, int] = field(default_factory=dict)  # "train/test" -> items in both (Polyvore Outfits)

    def pool(self, split: str) -> list[str]:
        """Item ids of a split's outfits, in first-seen order."""
        return list(dict.fromkeys(i for o in self.outfits[split] for i in o.item_ids))

    def summary(self) -> str:
        sizes = "/".join(str(len(self.outfits[s])) for s in SPLITS)
        text = (f"{self.root}: {len(self.items)} items, outfits train/valid/test {sizes}, "
                f"{len(self.fitb)} FITB questions, {len(self.compatibility)} compatibility outfits, "
                f"{len(self.missing_images)} items without an image file")
        text += f"; dropped {self.dropped}" if self.dropped else ""
        unknown = self.unknown_categories
        return text + (f"; {sum(unknown.values())} items of {len(unknown)} unknown categories (unknown_categories)"
                       if unknown else "")


def read_category_names(path: Path) -> dict[int, str]:
    """``category_id.txt``: "<categoryid> <name>" per line -> {id: name}."""
    names = {}
    for n, line in enumerate(read_text(path, "lines '<categoryid> <name>'").splitlines(), 1):
        if not line.strip():
            continue
        key, _, name = line.strip().partition(" ")
        if not key.isdigit() or not name:
            raise ValueError(f"{path}:{n}: expected '<categoryid> <name>', got {line!r}")
        names[int(key)] = name.strip()
    return names


def _find(root: Path, name: str) -> Path:
    """``root/name``, else ``root/label/name`` (the layout some copies use)."""
    return root / name if (root / name).exists() or not (root / "label" / name).exists() else root / "label" / name


def load_polyvore(root: str | Path, drop_missing: bool = False, check_images: bool = True) -> PolyvoreData:
    """Read Maryland Polyvore from ``root`` (see the module docstring for the layout).

    Args:
        root: the dataset folder.
        drop_missing: remove items without an image from outfits (outfits left with < 2 items are
            dropped) and drop the FITB / compatibility entries that use them; counts in ``dropped``.
        check_images: look for each item's image file (``missing_images``).
    """
    root = Path(root)
    names = read_category_names(root / "category_id.txt")
    items: dict[str, Item] = {}
    outfits: dict[str, list[Outfit]] = {}
    unknown: Counter = Counter()
    seen: dict[str, str] = {}  # set_id -> where it was first read
    for split in SPLITS:
        path = _find(root, f"{split}_no_dup.json")
        raw = read_json(path, "a list of outfits {set_id, items: [{index, name, categoryid}]}")
        outfits[split] = []
        for k, o in enumerate(raw):
            try:
                set_id = str(o["set_id"])
                entries = list(o["items"])
                ids = [f"{set_id}_{it['index']}" for it in entries]
                cats = [int(it["categoryid"]) for it in entries]
            except (KeyError, TypeError, ValueError) as err:
                raise ValueError(f"{path}: outfit {k} lacks {err} — expected {{set_id, items: [{{index, name, "
                                 f"categoryid}}]}}") from None
            check_outfit(path, k, set_id, ids, seen)
            for item_id, it, cid in zip(ids, entries, cats):
                category = names.get(cid)
                if category is None:
                    unknown[f"categoryid {cid} (not in category_id.txt)"] += 1
                elif not has_slot(category):
                    unknown[f"{category} (no outfit slot)"] += 1
                items[item_id] = Item(item_id, slot_of(category or "unknown"), category or "unknown",
                                      str(it.get("name", "")),
                                      image=str(root / "images" / set_id / f"{it['index']}.jpg"))
            outfits[split].append(Outfit(set_id, tuple(ids), str(o.get("name", ""))))
    data = PolyvoreData(root, items, outfits, unknown_categories=dict(unknown.most_common()))
    if unknown:
        warnings.warn(f"{root}: {sum(unknown.values())} items of {len(unknown)} categories kept as 'accessory' "
                      f"(unknown_categories): {', '.join(f'{c}: {n}' for c, n in unknown.most_common(5))}"
                      f"{', ...' if len(unknown) > 5 else ''}", stacklevel=2)
    if (path := _find(root, "fill_in_blank_test.json")).exists():
        data.fitb = read_fitb(path, known=set(items))
    if (path := _find(root, "fashion_compatibility_prediction.txt")).exists():
        data.compatibility = read_compatibility(path, known=set(items))
    if check_images:
        data.missing_images = sorted(i for i, it in items.items() if not Path(it.image).exists())
    if drop_missing and data.missing_images:
        _drop(data, set(data.missing_images))
    return data


def read_fitb(path: Path, blank_is_first_answer: bool = True, known: set[str] | None = None) -> list[FITBQuestion]:
    """FITB questions ``[{"question": [ids], "answers": [4 ids], "blank_position": 1-based}]``.

    Maryland Polyvore lists the right answer first (xthan/polyvore's evaluation counts answer 0 as
    right); Polyvore Outfits does not, so its right answer is the one sharing the question's set id.
    With ``known`` (the ``<set_id>_<index>`` names of the loaded outfits' items), an id outside it
    raises, naming the file, its line and the id.
    """
    expected = 'a list of {"question": [...], "answers": [...], "blank_position": n}'
    text = read_text(path, expected)
    raw = parse_json(text, str(path), expected)
    questions = []
    for k, q in enumerate(raw):
        try:
            context, answers, blank = list(q["question"]), list(q["answers"]), int(q["blank_position"])
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"{path}: question {k} lacks {err} — expected question, answers, blank_position") from None
        for i in context + answers if known is not None else ():
            if i not in known:
                raise ValueError(f"{path}, line {line_of(text, json.dumps(i))}: question {k} names item {i!r}, "
                                 f"which is in no loaded outfit — expected <set_id>_<index> of an outfit item")
        if not 1 <= blank <= len(context) + 1:
            raise ValueError(f"{path}: question {k} has blank_position {blank} outside 1..{len(context) + 1}")
        if blank_is_first_answer:
            answer = 0
        else:
            set_id = context[0].split("_")[0]
            hits = [j for j, a in enumerate(answers) if a.split("_")[0] == set_id]
            if len(hits) != 1:
                raise ValueError(f"{path}: question {k}: {len(hits)} answers share the question's set id {set_id}")
            answer = hits[0]
        full = tuple(context[: blank - 1]) + (None,) + tuple(context[blank - 1:])
        questions.append(FITBQuestion(full, tuple(answers), answer))
    return questions


def read_compatibility(path: Path, known: set[str] | None = None) -> list[CompatibilityExample]:
    """``<0|1> <item> <item> ...`` per line -> CompatibilityExample (1 = a real outfit); with ``known``,
    an item outside it raises, naming the file, line and id."""
    examples = []
    for n, line in enumerate(read_text(path, "lines '<0|1> <set_id>_<index> ...'").splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if parts[0] not in ("0", "1") or len(parts) < 3:
            raise ValueError(f"{path}:{n}: expected '<0|1> <item> <item> ...', got {line[:80]!r}")
        for i in parts[1:] if known is not None else ():
            if i not in known:
                raise ValueError(f"{path}:{n}: item {i!r} is in no loaded outfit — expected <set_id>_<index> "
                                 f"of an outfit item")
        examples.append(CompatibilityExample(tuple(parts[1:]), int(parts[0])))
    return examples


def _drop(data: PolyvoreData, gone: set[str]) -> None:
    """Remove items without images from outfits and the tasks (counts in ``data.dropped``)."""
    dropped = Counter()
    for split, outfits in data.outfits.items():
        kept = []
        for o in outfits:
            ids = tuple(i for i in o.item_ids if i not in gone)
            dropped["item entries"] += len(o.item_ids) - len(ids)
            if len(ids) >= 2:
                kept.append(Outfit(o.outfit_id, ids, o.text, o.style))
            else:
                dropped[f"{split} outfits"] += 1
        data.outfits[split] = kept
    n = len(data.fitb)
    data.fitb = [q for q in data.fitb if not gone & {i for i in q.context + q.candidates if i}]
    n2 = len(data.compatibility)
    data.compatibility = [e for e in data.compatibility if not gone & set(e.item_ids)]
    dropped["fitb questions"] += n - len(data.fitb)
    dropped["compatibility outfits"] += n2 - len(data.compatibility)
    data.dropped = {k: v for k, v in dropped.items() if v}


def fitb_from_outfits(data: PolyvoreData, split: str = "test", n: int | None = None, negatives: str = "type",
                      n_candidates: int = 4, seed: int = 0) -> list[FITBQuestion]:
    """FITB built from a split's outfits: negatives of the blank's category (``"type"``, the
    "resampled" protocol of Vasileva et al. 2018) or any items of the split (``"random"``, the
    original protocol); the right answer's position is random."""
    if negatives not in ("random", "type"):
        raise ValueError(f"negatives must be 'random' or 'type', not {negatives!r}")
    rng = np.random.default_rng(seed)
    pool = data.pool(split)
    by_cat: dict[str, list[str]] = {}
    for i in pool:
        by_cat.setdefault(data.items[i].subcategory, []).append(i)
    outfits = data.outfits[split]
    chosen = rng.permutation(len(outfits))[: n or len(outfits)]
    questions = []
    for k in sorted(chosen):
        o = outfits[k]
        t = int(rng.integers(len(o.item_ids)))
        answer = o.item_ids[t]
        options = [i for i in (by_cat[data.items[answer].subcategory] if negatives == "type" else pool)
                   if i not in o.item_ids]
        if len(options) < n_candidates - 1 and negatives == "type":
            options = [i for i in pool if data.items[i].category == data.items[answer].category
                       and i not in o.item_ids]
        if len(options) < n_candidates - 1:
            continue  # too few items of that type in the split
        negs = [options[j] for j in rng.choice(len(options), n_candidates - 1, replace=False)]
        pos = int(rng.integers(n_candidates))
        context = tuple(None if j == t else i for j, i in enumerate(o.item_ids))
        questions.append(FITBQuestion(context, tuple(negs[:pos] + [answer] + negs[pos:]), pos))
    return questions


def load_item_images(items: list[Item], size: int) -> np.ndarray:
    """(N, size, size, 3) uint8; a missing or unreadable file raises, naming it (drop those items first)."""
    out = np.empty((len(items), size, size, 3), dtype=np.uint8)
    for k, it in enumerate(items):
        try:
            out[k] = load_image(it.image, size)
        except (FileNotFoundError, OSError) as err:
            raise FileNotFoundError(f"{it.image}: image of item {it.item_id} cannot be read ({err}); "
                                    f"load the data with drop_missing=True") from None
    return out


def compatibility_from_outfits(data: PolyvoreData, split: str = "test", seed: int = 0) -> list[CompatibilityExample]:
    """The split's outfits (label 1) and as many random combinations of its items, each as long as
    a real outfit (label 0), as in the Maryland protocol; shuffled."""
    rng = np.random.default_rng(seed)
    pool = data.pool(split)
    examples = [CompatibilityExample(o.item_ids, 1) for o in data.outfits[split]]
    examples += [CompatibilityExample(tuple(pool[j] for j in rng.choice(len(pool), len(e.item_ids), replace=False)), 0)
                 for e in list(examples)]
    return [examples[k] for k in rng.permutation(len(examples))]


# ----- export: a FashionWorld in this layout (``fashionrec export polyvore``) ------------------------------
def export_keys(world, format_quirks: bool = True) -> dict[str, tuple[str, tuple[str, ...]]]:
    """World outfit id -> (its set id, the ``<set_id>_<index>`` name of each of its items), as ``export``
    writes them. Set ids are numbers, as on Polyvore; indices count from 1, and with ``format_quirks``
    every 7th outfit skips the index after its second item, as the "no_dup" files do."""
    out, n = {}, 0
    for split in SPLITS:
        for k, o in enumerate(world.outfits[split]):
            set_id = str(100_000_000 + 37 * n)
            n += 1
            indices = [j + 1 + (format_quirks and k % 7 == 3 and j >= 2) for j in range(len(o.item_ids))]
            out[o.outfit_id] = (set_id, tuple(f"{set_id}_{j}" for j in indices))
    return out


def export(world, out: Path, quirks, image_size: int = 128):
    """Write ``world`` in the layout of Maryland Polyvore (xthan/polyvore-dataset, as its code reads it).

    ``label/{train,valid,test}_no_dup.json`` with every key of the real files (an item's ``image`` is
    the original polyvoreimg URL, with the product's number as ``tid``), ``label/fill_in_blank_test.json``
    (the world's test FITB with random negatives, the right answer first), ``label/fashion_compatibility
    _prediction.txt``, ``category_id.txt`` (the world's sub-categories) and ``images/<set_id>/<index>.jpg``,
    one file per outfit entry as on Polyvore (a product in two outfits is two files). Task files name
    items ``<set_id>_<index>``, so a question or random outfit with an item in no test outfit cannot be
    written; those are left out and counted in ``notes``. Quirks: missing and mixed-size images
    (``ImageWriter``) and, with ``format_quirks``, the real sample's: a skipped index whose image is
    still on disk, outfit collages ``0.jpg`` and ``0 (1).jpg``, and a set folder in no split.
    """
    from fashionrec.export import Exported, ImageWriter
    from fashionrec.world import tasks

    out = Path(out)
    keys = export_keys(world, quirks.format_quirks)
    subcategories = sorted({it.subcategory for it in world.items.values()})
    category_id = {s: 2 + k for k, s in enumerate(subcategories)}
    (out / "label").mkdir(parents=True, exist_ok=True)
    (out / "category_id.txt").write_text("".join(f"{category_id[s]} {s}\n" for s in subcategories), encoding="utf-8")
    tid = {i: 150_000_000 + k for k, i in enumerate(sorted(world.items))}
    rng = np.random.default_rng(quirks.seed)
    entries: list[tuple[str, str]] = []  # (image path, world item id) of every outfit entry
    extras: list[tuple[str, list[str]]] = []  # (image path, items tiled into it) referenced by no outfit
    for split in SPLITS:
        rows = []
        for k, o in enumerate(world.outfits[split]):
            set_id, names = keys[o.outfit_id]
            items = []
            for name, i in zip(names, o.item_ids):
                index = int(name.rsplit("_", 1)[1])
                entries.append((f"images/{set_id}/{index}.jpg", i))
                items.append({"index": index, "name": world.items[i].text,
                              "price": round(float(rng.uniform(5, 400)), 1), "likes": int(rng.integers(0, 200)),
                              "categoryid": category_id[world.items[i].subcategory],
                              "image": f"http://img1.polyvoreimg.com/cgi/img-thing?.out=jpg&size=l&tid={tid[i]}"})
            if quirks.format_quirks:
                extras += [(f"images/{set_id}/{j}.jpg", [o.item_ids[2]]) for j in range(1, len(names) + 2)
                           if f"{set_id}_{j}" not in names and j <= int(names[-1].rsplit("_", 1)[1])]
                extras += [(f"images/{set_id}/{name}", list(o.item_ids)) for name, every in
                           (("0.jpg", 5), ("0 (1).jpg", 25)) if k % every == 0]
            rows.append({"name": o.text, "views": int(rng.integers(10, 5000)), "items": items,
                         "image": f"http://ak1.polyvoreimg.com/cgi/img-set/cid/{set_id}/size/y.jpg",
                         "likes": int(rng.integers(0, 300)), "date": "Three years",
                         "set_url": f"http://www.polyvore.com/{o.text.replace(' ', '_')}/set?id={set_id}",
                         "set_id": set_id, "desc": f"A fashion look featuring {world.items[o.item_ids[0]].text}."})
        (out / "label" / f"{split}_no_dup.json").write_text(json.dumps(rows, indent=4), encoding="utf-8")
    if quirks.format_quirks and entries:  # a set folder that is in no split
        extras.append((f"images/{100_000_000 + 37 * len(keys)}/1.jpg", [entries[0][1]]))
    writer = ImageWriter(out, quirks, image_size)
    writer.choose_missing([path for path, _ in entries])
    used = sorted({i for _, i in entries} | {i for _, ids in extras for i in ids})
    pixels = dict(zip(used, world.images(used, image_size))) if used else {}
    for path, i in entries:
        writer.write(path, pixels[i])
    for path, ids in extras:
        writer.write(path, np.concatenate([pixels[i] for i in ids], axis=1))

    # the test tasks, with items named by their first entry in a test outfit
    name_in_test: dict[str, str] = {}
    outfit_of: dict[tuple[str, ...], str] = {}
    for o in world.outfits["test"]:
        outfit_of.setdefault(o.item_ids, o.outfit_id)
        for name, i in zip(keys[o.outfit_id][1], o.item_ids):
            name_in_test.setdefault(i, name)
    questions, left_out = [], Counter()
    for q in tasks.fitb_questions(world, "test", len(world.outfits["test"]), "random", seed=world.cfg.seed):
        names = keys[outfit_of[tasks.fill(q.context, q.candidates[q.answer])]][1]
        blank = q.context.index(None)
        negatives = [name_in_test.get(c) for k, c in enumerate(q.candidates) if k != q.answer]
        if None in negatives:
            left_out["FITB questions"] += 1
            continue
        questions.append({"question": [n for k, n in enumerate(names) if k != blank],
                          "answers": [names[blank], *negatives], "blank_position": blank + 1})
    (out / "label" / "fill_in_blank_test.json").write_text(json.dumps(questions, indent=4), encoding="utf-8")
    lines = []
    for e in tasks.compatibility_examples(world, "test", seed=world.cfg.seed):
        names = keys[outfit_of[e.item_ids]][1] if e.label else tuple(name_in_test.get(i) for i in e.item_ids)
        if None in names:
            left_out["compatibility outfits"] += 1
            continue
        lines.append(f"{e.label} {' '.join(names)}\n")
    (out / "label" / "fashion_compatibility_prediction.txt").write_text("".join(lines), encoding="utf-8")
    counts = {"outfits": sum(len(world.outfits[s]) for s in SPLITS), "item entries": len(entries),
              "FITB questions": len(questions), "compatibility outfits": len(lines)}
    notes = [f"left out {n} {kind}: an item in no test outfit has no '<set_id>_<index>' name"
             for kind, n in left_out.items()]
    return Exported("polyvore", out, counts, writer.missing, notes)
