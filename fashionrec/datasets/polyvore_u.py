"""Polyvore-U (Lu et al., CVPR 2019; github.com/lzcn/Fashion-Hash-Net, ``data/README.md``).

Per-user (top, bottom, shoe) outfits from Polyvore, the data FashionNet (He & Hu 2018) calls for:
each user's liked outfits, plus negatives that are either random mixes of the split's items or
"hard" ones (other users' liked outfits). Layout under ``data_root`` (data/README.md#polyvore-u)::

    tuples_630/                       one of tuples_630, tuples_53 (fixed length: top, bottom, shoe)
        image_list_top                  or tuples_519, tuples_32 (variable: top, top, bottom, shoe)
        image_list_bottom             one image file name per line; an outfit's indices point here
        image_list_shoe
        tuples_{train,val,test}_posi  CSV "user,top,bottom,shoe": one liked outfit per row
        tuples_{train,val,test}_nega  same format: random mixes, ``ratio`` rows per positive
        tuples_{train,val,test}_nega_hard   same format: other users' positives
    images/291x291/<name>.jpg         the images (unpacked from images/291x291.tar.gz)

Variable-length variants mark a missing second top with -1 (``user,top,top,bottom,shoe``).
FashionNet scores (top, bottom, shoes) outfits, so the first top is kept; outfits with a second
top are counted in ``PolyvoreU.second_tops``. The LMDB image store of the original code is not
read: unpack the JPEGs. Missing image files are counted, reported by ``summary()`` and with a
warning; they are not dropped (``image_path`` returns None for them).

Checked on reading: text files are UTF-8 (a BOM is stripped; another encoding is an error naming
the file and byte). A liked outfit listed twice for the same user in one split is counted in
``duplicates`` (a user may like an outfit twice; FashionWorld's users do); one in two splits is a
leak (trained on and tested on): counted in ``split_leaks``, with a warning. Items are shared by
the splits by design (one set of image lists).

Records are those of ``fashionrec.records``: one ``Item`` per (category, index) with id
``"top/19000"``, outfits as item-id tuples, and ``RankingList`` per user and split (the user's
positives plus their negatives, as He & Hu evaluate).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fashionrec.datasets.files import read_text
from fashionrec.records import Item, RankingList

LAYOUT = "data/README.md#polyvore-u"
VARIANTS = ("630", "53", "519", "32")
VARIABLE_LENGTH = ("519", "32")
CATEGORIES = ("top", "bottom", "shoe")  # file names of the image lists
RECORD_CATEGORY = {"top": "top", "bottom": "bottom", "shoe": "shoes"}  # FashionWorld's names
SPLITS = {"train": "train", "valid": "val", "test": "test"}  # our split name -> file name
NEGATIVES = {"random": "nega", "hard": "nega_hard"}
IMAGE_DIR = Path("images") / "291x291"


def read_image_list(path: Path) -> list[str]:
    """One image file name per line (blank lines are an error: they would shift every index)."""
    names = read_text(path, f"one image file name per line ({LAYOUT})").splitlines()
    while names and not names[-1].strip():
        names.pop()
    for k, name in enumerate(names):
        if not name.strip():
            raise ValueError(f"{path}, line {k + 1}: empty image name; expected one file name per line")
    if not names:
        raise ValueError(f"{path}: empty; expected one image file name per line")
    return [n.strip() for n in names]


def read_tuples(path: Path, variable_length: bool, sizes: dict[str, int]) -> tuple[np.ndarray, int]:
    """Read a tuples file -> ((N, 4) int array user, top, bottom, shoe; number of second tops).

    Args:
        path: ``tuples_<split>_<kind>``, CSV with a header.
        variable_length: the file has ``user,top,top,bottom,shoe`` (second top -1 when absent).
        sizes: length of each image list, to check the indices.
    """
    lines = read_text(path, f"a CSV 'user,top,bottom,shoe' of outfit tuples ({LAYOUT})").splitlines()
    header = ["user", "top", "top", "bottom", "shoe"] if variable_length else ["user", "top", "bottom", "shoe"]
    if not lines or [h.strip() for h in lines[0].split(",")] != header:
        found = lines[0] if lines else "an empty file"
        raise ValueError(f"{path}: header must be {','.join(header)!r}; found {found!r}")
    rows = []
    for k, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        parts = line.split(",")
        try:
            values = [int(p) for p in parts]
        except ValueError:
            raise ValueError(f"{path}, line {k}: {line!r} is not {len(header)} integers") from None
        if len(values) != len(header):
            raise ValueError(f"{path}, line {k}: {len(values)} fields; expected {len(header)} ({','.join(header)})")
        rows.append(values)
    if not rows:
        raise ValueError(f"{path}: no outfit rows after the header")
    arr = np.asarray(rows, dtype=np.int64)
    second = 0
    if variable_length:
        second = int((arr[:, 2] >= 0).sum())
        arr = arr[:, [0, 1, 3, 4]]  # keep the main top
    if (arr[:, 0] < 0).any():
        raise ValueError(f"{path}: negative user index")
    for col, cat in enumerate(CATEGORIES, start=1):
        bad = (arr[:, col] < 0) | (arr[:, col] >= sizes[cat])
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise ValueError(f"{path}, line {row + 2}: {cat} index {arr[row, col]} outside image_list_{cat} "
                             f"(0..{sizes[cat] - 1})")
    return arr, second


def _repeats(positives: dict[str, np.ndarray]) -> tuple[dict[str, int], dict[str, int]]:
    """(split -> rows repeating an earlier (user, outfit) row of the split, "a/b" -> (user, outfit) in both)."""
    rows = {s: [tuple(r) for r in a.tolist()] for s, a in positives.items()}
    duplicates = {s: len(r) - len(set(r)) for s, r in rows.items() if len(r) > len(set(r))}
    names = list(rows)
    leaks = {f"{a}/{b}": len(set(rows[a]) & set(rows[b])) for k, a in enumerate(names) for b in names[k + 1:]}
    return duplicates, {pair: n for pair, n in leaks.items() if n}


def item_id(category: str, index: int) -> str:
    """``("shoe", 7)`` -> ``"shoe/7"``: unique across the three image lists."""
    return f"{category}/{int(index)}"


@dataclass
class PolyvoreU:
    """One Polyvore-U variant: items, per-user positives per split, and negatives per split and kind."""

    root: Path
    variant: str
    image_lists: dict[str, list[str]]
    positives: dict[str, np.ndarray]  # split -> (N, 4) user, top, bottom, shoe
    negatives: dict[tuple[str, str], np.ndarray]  # (split, "random" | "hard") -> (M, 4)
    second_tops: int = 0  # variable-length variants: outfits whose second top was dropped
    missing_images: list[str] = field(default_factory=list)  # item ids without an image file
    duplicates: dict[str, int] = field(default_factory=dict)  # split -> liked outfits listed again for the user
    split_leaks: dict[str, int] = field(default_factory=dict)  # "a/b" -> (user, outfit) liked in both splits

    @staticmethod
    def load(data_root: Path | str, variant: str = "630", negatives: tuple[str, ...] = ("random", "hard"),
             check_images: bool = True) -> "PolyvoreU":
        """Read ``data_root/tuples_<variant>/`` (and check ``data_root/images/291x291/``)."""
        if variant not in VARIANTS:
            raise ValueError(f"Polyvore-U variant must be one of {VARIANTS}; got {variant!r}")
        root = Path(data_root)
        folder = root / f"tuples_{variant}"
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder}: not found; expected the Polyvore-U folder tuples_{variant}/ "
                                    f"under data_root ({LAYOUT})")
        lists = {c: read_image_list(folder / f"image_list_{c}") for c in CATEGORIES}
        sizes = {c: len(v) for c, v in lists.items()}
        var = variant in VARIABLE_LENGTH
        positives, negs, second = {}, {}, 0
        for split, name in SPLITS.items():
            positives[split], s = read_tuples(folder / f"tuples_{name}_posi", var, sizes)
            second += s
            for kind in negatives:
                negs[split, kind], _ = read_tuples(folder / f"tuples_{name}_{NEGATIVES[kind]}", var, sizes)
        data = PolyvoreU(root, variant, lists, positives, negs, second)
        data.duplicates, data.split_leaks = _repeats(positives)
        if data.split_leaks:
            warnings.warn(f"{folder}: liked outfits of the same user in two splits {data.split_leaks} — a split "
                          f"leak (PolyvoreU.split_leaks)", stacklevel=2)
        if check_images:
            data.missing_images = data.find_missing_images()
            if data.missing_images:
                warnings.warn(f"Polyvore-U: {len(data.missing_images)} of {len(data.used_items())} images missing "
                              f"under {root / IMAGE_DIR} (first: {data.missing_images[0]})", stacklevel=2)
        return data

    # ----- items --------------------------------------------------------------------------------
    def used_items(self) -> list[str]:
        """Ids of every item that some outfit (positive or negative) uses, sorted by category then index."""
        used = {c: set() for c in CATEGORIES}
        for arr in [*self.positives.values(), *self.negatives.values()]:
            for col, cat in enumerate(CATEGORIES, start=1):
                used[cat].update(arr[:, col].tolist())
        return [item_id(c, i) for c in CATEGORIES for i in sorted(used[c])]

    def image_path(self, item: str) -> Path | None:
        """The item's image file, or None when it is missing."""
        cat, index = item.split("/")
        path = self.root / IMAGE_DIR / self.image_lists[cat][int(index)]
        return path if path.is_file() else None

    def find_missing_images(self) -> list[str]:
        if not (self.root / IMAGE_DIR).is_dir():
            has_lmdb = (self.root / "images" / "lmdb").exists()
            lmdb = " (found images/lmdb: unpack images/291x291.tar.gz instead)" if has_lmdb else ""
            warnings.warn(f"{self.root / IMAGE_DIR}: image folder not found{lmdb}; every image counts as missing",
                          stacklevel=3)
        return [i for i in self.used_items() if self.image_path(i) is None]

    def listed_items(self) -> list[str]:
        """Ids of every line of the image lists (the variant's item set), by category then index."""
        return [item_id(c, k) for c in CATEGORIES for k in range(len(self.image_lists[c]))]

    def items(self, listed: bool = False) -> dict[str, Item]:
        """One ``Item`` per used item (``listed``: per line of the image lists, ``listed_items``);
        ``image`` is the file path ("" when missing; ``missing_images`` counts the used ones)."""
        out = {}
        for i in (self.listed_items() if listed else self.used_items()):
            cat = i.split("/")[0]
            path = self.image_path(i)
            out[i] = Item(i, RECORD_CATEGORY[cat], RECORD_CATEGORY[cat], image=str(path) if path else "")
        return out

    # ----- users and outfits ------------------------------------------------------------------
    @property
    def users(self) -> list[str]:
        """User ids (``"u<index>"``) in index order."""
        ids = np.unique(np.concatenate([p[:, 0] for p in self.positives.values()]))
        return [f"u{u}" for u in ids]

    @staticmethod
    def _outfit(row: np.ndarray) -> tuple[str, str, str]:
        return tuple(item_id(c, i) for c, i in zip(CATEGORIES, row[1:]))  # type: ignore[return-value]

    def user_outfits(self) -> dict[str, dict[str, list[tuple[str, str, str]]]]:
        """user -> split -> liked (top, bottom, shoes) outfits, as ``World.user_outfits``."""
        out: dict[str, dict[str, list]] = {u: {s: [] for s in SPLITS} for u in self.users}
        for split, arr in self.positives.items():
            for row in arr:
                out[f"u{row[0]}"][split].append(self._outfit(row))
        return out

    def ranking_lists(self, split: str = "test", negatives: str = "random") -> list[RankingList]:
        """Per user: their positives of ``split`` then their negatives of that kind (label 1 / 0).

        The order inside a list does not matter: ``fashionrec.metrics`` averages over ties.
        """
        if split not in SPLITS:
            raise ValueError(f"split must be one of {tuple(SPLITS)}; got {split!r}")
        if (split, negatives) not in self.negatives:
            raise ValueError(f"negatives {negatives!r} of {split!r} were not loaded; "
                             f"loaded: {sorted(self.negatives)}")
        pos, neg = self.positives[split], self.negatives[split, negatives]
        lists = []
        for u in np.unique(pos[:, 0]):
            p = [self._outfit(r) for r in pos[pos[:, 0] == u]]
            n = [self._outfit(r) for r in neg[neg[:, 0] == u]]
            lists.append(RankingList(f"u{u}", tuple(p + n), (1,) * len(p) + (0,) * len(n)))
        return lists

    def summary(self) -> str:
        """Counts a reader can check against the dataset's README."""
        n_pos = {s: len(a) for s, a in self.positives.items()}
        ratio = {k: len(a) / max(1, n_pos[s]) for (s, k), a in self.negatives.items() if s == "train"}
        return (f"Polyvore-U {self.variant}: {len(self.users)} users, items top/bottom/shoe "
                f"{'/'.join(str(len(self.image_lists[c])) for c in CATEGORIES)}, positives train/valid/test "
                f"{n_pos['train']}/{n_pos['valid']}/{n_pos['test']}, negatives per positive (train) "
                f"{', '.join(f'{k} {r:.1f}' for k, r in ratio.items())}, second tops dropped {self.second_tops}, "
                f"missing images {len(self.missing_images)}")


# ----- export: a FashionWorld in this layout ------------------------------------------------------
def export(world, out: Path, quirks, image_size: int = 128, variant: str = "630"):
    """Write ``world``'s users in the Polyvore-U layout (``tuples_<variant>/`` and ``images/291x291/``).

    Layout as lzcn/Fashion-Hash-Net ``data/README.md`` and ``PolyvoreU.load`` read it: three image
    lists (the world's user item pool per slot, in pool order; an outfit's indices point into them),
    and per split (``train``, ``val``, ``test``) the liked outfits (``tuples_<split>_posi``, CSV
    ``user,top,bottom,shoe``, user = the world user's index), their random negatives
    (``tuples_<split>_nega``: the negatives of ``tasks.ranking_lists`` with the world's seed
    ``world.cfg.seed`` for test, + 1 for val, + 2 for train, 6 per liked outfit: the lists chapter 2's
    ``world_ranking_data`` builds on the world) and hard negatives (``tuples_<split>_nega_hard``: other
    users' liked outfits of that split, as many as the random ones, seed ``world.cfg.seed + 3``). The
    tasks are seeded from the world, ``quirks.seed`` only chooses the quirks. Images: one JPEG per
    pool item, ``<item id>.jpg``; ``quirks.missing_images`` of those the outfits use are left out (the
    loader counts them), some at mixed sizes (the real ones are 291 px).

    Args:
        world: a ``fashionrec.world.World``.
        out: the export's root (``data_root`` of the paper profile).
        quirks: ``fashionrec.export.Quirks``.
        image_size: side of the images written (the real dataset's are 291 px).
        variant: ``"630"`` or ``"53"`` (fixed-length variants only).

    Returns:
        ``fashionrec.export.Exported`` with the counts and the images left out.
    """
    from fashionrec.export import Exported, ImageWriter
    from fashionrec.world import tasks

    if variant in VARIABLE_LENGTH or variant not in VARIANTS:
        raise ValueError(f"export writes a fixed-length variant ('630' or '53'); got {variant!r}")
    out = Path(out)
    folder = out / f"tuples_{variant}"
    folder.mkdir(parents=True, exist_ok=True)
    pool = world.user_model.items
    names = {c: [it.item_id for it in pool if RECORD_CATEGORY[c] == it.category] for c in CATEGORIES}
    index = {i: k for c in CATEGORIES for k, i in enumerate(names[c])}
    for c in CATEGORIES:
        (folder / f"image_list_{c}").write_text("".join(f"{i}.jpg\n" for i in names[c]))
    user_index = {u.user_id: k for k, u in enumerate(world.users)}
    rng = np.random.default_rng(world.cfg.seed + 3)
    header = "user,top,bottom,shoe\n"
    counts: dict[str, int] = {"users": len(world.users), "items": len(pool)}
    used: set[str] = set()
    for split, name in SPLITS.items():
        seed = world.cfg.seed + {"test": 0, "valid": 1, "train": 2}[split]
        lists = tasks.ranking_lists(world, split, seed=seed)
        posi, nega, hard = [], [], []
        liked = [(user_index[u], o) for u in world.user_outfits for o in world.user_outfits[u][split]]
        for r in lists:
            u = user_index[r.user_id]
            posi += [(u, o) for o in world.user_outfits[r.user_id][split]]
            negs = [o for o, y in zip(r.outfits, r.labels) if y == 0]
            nega += [(u, o) for o in negs]
            others = [o for v, o in liked if v != u]
            picks = rng.choice(len(others), size=len(negs), replace=len(others) < len(negs)) if others else []
            hard += [(u, others[int(k)]) for k in picks]
        for kind, rows in (("posi", posi), ("nega", nega), ("nega_hard", hard)):
            text = "".join(f"{u},{','.join(str(index[i]) for i in o)}\n" for u, o in rows)
            (folder / f"tuples_{name}_{kind}").write_text(header + text)
            counts[f"{name}_{kind}"] = len(rows)
            used.update(i for _, o in rows for i in o)
    writer = ImageWriter(out, quirks, image_size)
    rel = {i: (IMAGE_DIR / f"{i}.jpg").as_posix() for i in names["top"] + names["bottom"] + names["shoe"]}
    writer.choose_missing(sorted(rel[i] for i in used))
    ids = list(rel)
    for k in range(0, len(ids), 256):
        chunk = ids[k:k + 256]
        for i, image in zip(chunk, world.images(chunk, image_size)):
            writer.write(rel[i], image)
    counts["images"] = len(ids) - len(writer.missing)
    notes = [f"Polyvore-U {variant}: user k is FashionWorld's users[k] ({world.users[0].user_id}, ...); "
             f"item ids are top/<k>, bottom/<k>, shoe/<k> into the image lists"]
    return Exported("polyvore_u", out, counts, list(writer.missing), notes)
