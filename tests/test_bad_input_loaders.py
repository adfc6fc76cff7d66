"""Bad input for the real-data loaders (issue 20, "Loaders"): each case damages a clean export of the
smoke FashionWorld (or a copy of a real sample) in a temporary folder and asserts the documented
outcome — an error whose message names the file and the line / field / id, or a counted warning
with a field on the returned data — never a raw library traceback or a silent change.

Per dataset (see each loader's docstring): a set id repeated across splits, an index repeated in an
outfit, an empty outfit, a task id naming no outfit item, an image in two DeepFashion splits and a
box outside its image are errors; unknown categories, Polyvore-U's split leaks, DeepFashion's items
in two splits, repeated pairs and 1-px box overshoots are counted and warned about (or counted).
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest

from fashionrec.cli import main as cli
from fashionrec.datasets import catalog as cat
from fashionrec.datasets import check as chk
from fashionrec.datasets import deepfashion_c2s as df
from fashionrec.datasets import polyvore as pv
from fashionrec.datasets import polyvore_outfits as po
from fashionrec.datasets import stl
from fashionrec.datasets.files import read_categories
from fashionrec.datasets.polyvore_u import PolyvoreU
from fashionrec.export import FORMATS, Quirks
from fashionrec.world.world import World, WorldConfig

REAL = Path(__file__).resolve().parents[2] / "shared" / "realdata"
if not REAL.is_dir():
    REAL = Path("/work/shared/realdata")
SIZE = 16
LOAD: dict[str, Callable] = {
    "polyvore": pv.load_polyvore, "polyvore_outfits": po.load_polyvore_outfits, "polyvore_u": PolyvoreU.load,
    "deepfashion_c2s": df.load_deepfashion_c2s, "catalog": cat.load_catalog, "stl_fashion": stl.load_stl_fashion,
}


@pytest.fixture(scope="module")
def exports(tmp_path_factory) -> dict[str, Path]:
    """A clean export of every format (no missing images, one size), written once."""
    world = World.build(WorldConfig.for_profile("smoke"))
    base = tmp_path_factory.mktemp("clean_exports")
    for fmt, module in FORMATS.items():
        (base / fmt).mkdir()
        importlib.import_module(module).export(world, base / fmt, Quirks.none(), image_size=SIZE)
    return {fmt: base / fmt for fmt in FORMATS}


@pytest.fixture
def copy(exports, tmp_path) -> Callable[[str], Path]:
    """``copy(fmt)``: the clean export's text files copied into tmp_path, its images linked."""
    def make(fmt: str) -> Path:
        def link_images(src: str, dst: str) -> None:
            os.symlink(src, dst) if src.endswith(".jpg") else shutil.copy2(src, dst)
        return Path(shutil.copytree(exports[fmt], tmp_path / fmt, copy_function=link_images))
    return make


def quiet(load: Callable, *args, **kwargs):
    """``load(...)`` that fails on any warning (a clean input has nothing to warn about)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return load(*args, **kwargs)


# ----- damage helpers --------------------------------------------------------------------------------
def edit_json(path: Path, change: Callable, indent: int | None = 4) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data, indent=indent), encoding="utf-8")


def edit_lines(path: Path, change: Callable[[list[str]], None]) -> None:
    """Change a text file's lines in place (line ends as LF)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    change(lines)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def recount(path: Path) -> None:
    """DeepFashion lists: line 1 = the number of rows after the column-name line."""
    edit_lines(path, lambda lines: lines.__setitem__(0, str(len(lines) - 2)))


def reencode(path: Path, encoding: str) -> None:
    path.write_bytes(path.read_text(encoding="utf-8").encode(encoding))


def add_bom(path: Path) -> None:
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())


def _pv_first(split: str) -> Callable:
    return lambda root: json.loads((root / "label" / f"{split}_no_dup.json").read_text())[0]


def pv_repeat_set_id(root: Path) -> str:
    set_id = _pv_first("train")(root)["set_id"]
    edit_json(root / "label" / "test_no_dup.json", lambda d: d[0].__setitem__("set_id", set_id))
    return set_id


def pv_repeat_index(root: Path) -> str:
    edit_json(root / "label" / "valid_no_dup.json", lambda d: d[1]["items"][1].__setitem__(
        "index", d[1]["items"][0]["index"]))
    return json.loads((root / "label" / "valid_no_dup.json").read_text())[1]["set_id"]


def pv_empty_outfit(root: Path) -> str:
    edit_json(root / "label" / "train_no_dup.json", lambda d: d[3].__setitem__("items", []))
    return json.loads((root / "label" / "train_no_dup.json").read_text())[3]["set_id"]


def pv_fitb_unknown_id(root: Path) -> str:
    edit_json(root / "label" / "fill_in_blank_test.json", lambda d: d[2]["answers"].__setitem__(1, "nope_2"))
    return "nope_2"


def pv_compat_unknown_id(root: Path) -> str:
    edit_lines(root / "label" / "fashion_compatibility_prediction.txt",
               lambda lines: lines.__setitem__(4, lines[4] + " nope_2"))
    return "nope_2"


def po_repeat_set_id(root: Path) -> str:
    first = json.loads((root / "nondisjoint" / "train.json").read_text())[0]["set_id"]
    edit_json(root / "nondisjoint" / "test.json", lambda d: d[0].__setitem__("set_id", first))
    return first


def po_repeat_index(root: Path) -> str:
    edit_json(root / "nondisjoint" / "train.json", lambda d: d[0]["items"][1].__setitem__(
        "index", d[0]["items"][0]["index"]))
    return json.loads((root / "nondisjoint" / "train.json").read_text())[0]["set_id"]


def po_empty_outfit(root: Path) -> str:
    edit_json(root / "nondisjoint" / "valid.json", lambda d: d[2].__setitem__("items", []))
    return json.loads((root / "nondisjoint" / "valid.json").read_text())[2]["set_id"]


def po_fitb_unknown_id(root: Path) -> str:
    edit_json(root / "nondisjoint" / "fill_in_blank_test.json", lambda d: d[5]["question"].__setitem__(0, "nope_2"))
    return "nope_2"


def po_compat_unknown_id(root: Path) -> str:
    edit_lines(root / "nondisjoint" / "compatibility_test.txt", lambda lines: lines.__setitem__(
        2, lines[2].rsplit(" ", 1)[0] + " nope_2"))
    return "nope_2"


def po_truncated_json(root: Path) -> str:
    path = root / "nondisjoint" / "train.json"
    path.write_bytes(path.read_bytes()[:-40])
    return "x"


def _df_rows(root: Path, rel: str) -> list[list[str]]:
    return [ln.split() for ln in (root / rel).read_text().splitlines()[2:]]


def _df_set_box(root: Path, k: int, box: tuple[int, int, int, int]) -> str:
    """Give the k-th present image of the bbox list ``box``; returns its image name."""
    path = root / df.BBOX_LIST
    lines = path.read_text().splitlines()
    fields = lines[2 + k].split()
    lines[2 + k] = " ".join(fields[:3] + [str(v) for v in box])
    path.write_text("\n".join(lines) + "\n")
    return fields[0]


def df_box_outside(root: Path) -> str:
    _df_set_box(root, 0, (0, 0, SIZE + 10, SIZE))
    return f"{df.BBOX_LIST}:3"


def df_box_empty(root: Path) -> str:
    _df_set_box(root, 1, (5, 5, 5, 9))
    return f"{df.BBOX_LIST}:4"


def df_image_in_two_splits(root: Path) -> str:
    rows = _df_rows(root, df.PARTITION)
    other = next(r for r in rows if r[3] != rows[0][3])
    edit_lines(root / df.PARTITION, lambda lines: lines.append(f"{rows[0][0]} {other[1]} {other[2]} {other[3]}"))
    recount(root / df.PARTITION)
    return f"{df.PARTITION}:{len(rows) + 3}"


def df_bbox_conflict(root: Path) -> str:
    first = (root / df.BBOX_LIST).read_text().splitlines()[2].split()
    edit_lines(root / df.BBOX_LIST, lambda lines: lines.append(" ".join(first[:3] + ["1", "1", "4", "4"])))
    recount(root / df.BBOX_LIST)
    return f"{df.BBOX_LIST}:{len(_df_rows(root, df.BBOX_LIST)) + 2}"


# (case, format, damage -> a string the message must hold, the message's pattern)
ERRORS = [
    ("polyvore set_id in train and test", "polyvore", pv_repeat_set_id,
     r"test_no_dup\.json: outfit 0 repeats set_id {0} of train_no_dup\.json outfit 0"),
    ("polyvore index twice in an outfit", "polyvore", pv_repeat_index,
     r"valid_no_dup\.json: outfit 1 \(set_id {0}\) lists index \d+ twice"),
    ("polyvore empty outfit", "polyvore", pv_empty_outfit, r"train_no_dup\.json: outfit 3 \(set_id {0}\) has no items"),
    ("polyvore FITB id in no outfit", "polyvore", pv_fitb_unknown_id,
     r"fill_in_blank_test\.json, line \d+: question 2 names item '{0}', which is in no loaded outfit"),
    ("polyvore compatibility id in no outfit", "polyvore", pv_compat_unknown_id,
     r"fashion_compatibility_prediction\.txt:5: item '{0}' is in no loaded outfit"),
    ("polyvore UTF-16 category_id.txt", "polyvore", lambda r: reencode(r / "category_id.txt", "utf-16"),
     r"category_id\.txt: not UTF-8 text \(byte 0: 0xff; it looks like UTF-16\) — expected UTF-8"),
    ("outfits set_id in train and test", "polyvore_outfits", po_repeat_set_id,
     r"test\.json: outfit 0 repeats set_id {0} of train\.json outfit 0"),
    ("outfits index twice in an outfit", "polyvore_outfits", po_repeat_index,
     r"train\.json: outfit 0 \(set_id {0}\) lists index \d+ twice"),
    ("outfits empty outfit", "polyvore_outfits", po_empty_outfit, r"valid\.json: outfit 2 \(set_id {0}\) has no items"),
    ("outfits FITB id in no outfit", "polyvore_outfits", po_fitb_unknown_id,
     r"fill_in_blank_test\.json, line \d+: question 5 names item '{0}'"),
    ("outfits compatibility id in no outfit", "polyvore_outfits", po_compat_unknown_id,
     r"compatibility_test\.txt:3: item '{0}' is in no loaded outfit"),
    ("outfits truncated train.json", "polyvore_outfits", po_truncated_json,
     r"train\.json: not valid JSON at line 1, column \d+ \(.+\) — expected a list"),
    ("outfits UTF-16 categories.csv", "polyvore_outfits", lambda r: reencode(r / "categories.csv", "utf-16"),
     r"categories\.csv: not UTF-8 text \(byte 0: 0xff; it looks like UTF-16\)"),
    ("polyvore-u UTF-16 tuples", "polyvore_u", lambda r: reencode(r / "tuples_630" / "tuples_test_posi", "utf-16"),
     r"tuples_test_posi: not UTF-8 text \(byte 0"),
    ("deepfashion box 10 px outside", "deepfashion_c2s", df_box_outside,
     r"{0}: box \(0, 0, 26, 16\) lies 10 px outside its 16x16 image"),
    ("deepfashion empty box", "deepfashion_c2s", df_box_empty, r"{0}: box \(5, 5, 5, 9\) is empty"),
    ("deepfashion image in two splits", "deepfashion_c2s", df_image_in_two_splits,
     r"{0}: image '.+' is in split \w+ but in \w+ at .+list_eval_partition\.txt:3"),
    ("deepfashion bbox line with another box", "deepfashion_c2s", df_bbox_conflict,
     r"{0}: image '.+' again, with another box than at .+list_bbox_consumer2shop\.txt:3"),
    ("deepfashion Latin-1 partition", "deepfashion_c2s",
     lambda r: (r / df.PARTITION).write_bytes((r / df.PARTITION).read_bytes().replace(b"train", b"tr\xe9in", 1)),
     r"list_eval_partition\.txt: not UTF-8 text \(byte \d+: 0xe9; it looks like Latin-1"),
    ("stl bad JSON line", "stl_fashion", lambda r: edit_lines(r / stl.PAIRS_FILE, lambda ls: ls.__setitem__(
        6, ls[6][:-3])), r"fashion\.json, line 7, column \d+: not a JSON object"),
    ("stl Latin-1 fashion-cat.json", "stl_fashion", lambda r: (r / stl.CATEGORY_FILE).write_bytes(
        (r / stl.CATEGORY_FILE).read_bytes().replace(b"Shoes", b"Sh\xf6es", 1)),
     r"fashion-cat\.json: not UTF-8 text \(byte \d+: 0xf6; it looks like Latin-1"),
    ("catalog id twice in styles.csv", "catalog", lambda r: edit_lines(r / "styles.csv", lambda ls: ls.append(ls[3])),
     r"styles\.csv, line \d+: id \d+ again \(first at line 4\)"),
    ("catalog Latin-1 styles.csv", "catalog", lambda r: (r / "styles.csv").write_bytes(
        (r / "styles.csv").read_bytes() + b"99999,Women,Apparel,Topwear,Tops,Red,Summer,2012,Casual,Caf\xe9 top\n"),
     r"styles\.csv: not UTF-8 text \(byte \d+: 0xe9; it looks like Latin-1 / Windows-1252\)"),
]


@pytest.mark.parametrize("fmt, damage, pattern", [c[1:] for c in ERRORS], ids=[c[0] for c in ERRORS])
def test_damaged_input_is_an_error_naming_the_file_and_line(copy, fmt, damage, pattern):
    root = copy(fmt)
    quiet(LOAD[fmt], root)  # the clean copy loads without a warning
    token = damage(root)
    token = token if isinstance(token, str) else ""  # a damage that names nothing (write_bytes' count)
    with pytest.raises(ValueError) as err:
        LOAD[fmt](root)
    assert re.search(pattern.format(re.escape(token)), str(err.value)), str(err.value)
    assert str(root) in str(err.value)  # the full path of the file


# ----- counted warnings and fields ---------------------------------------------------------------------
def test_polyvore_unknown_category_is_counted_not_silent(copy):
    root = copy("polyvore")
    assert quiet(pv.load_polyvore, root).unknown_categories == {}
    edit_json(root / "label" / "train_no_dup.json", lambda d: [it.__setitem__("categoryid", 9999)
                                                              for it in d[0]["items"][:2]])
    with pytest.warns(UserWarning, match=r"2 items of 1 categories kept as 'accessory'.*categoryid 9999"):
        data = pv.load_polyvore(root)
    assert data.unknown_categories == {"categoryid 9999 (not in category_id.txt)": 2}
    assert "2 items of 1 unknown categories" in data.summary()


def test_polyvore_real_categories_without_a_slot_are_counted(tmp_path):
    root = Path(shutil.copytree(REAL / "maryland-polyvore", tmp_path / "mp", ignore=shutil.ignore_patterns("*.jpg")))
    with pytest.warns(UserWarning, match=r"49 items of 29 categories kept as 'accessory'"):
        data = pv.load_polyvore(root, check_images=False)
    assert data.unknown_categories["Accent Tables (no outfit slot)"] == 4  # furniture: Polyvore sells it too
    assert pv.slot_of("Necklaces") == "accessory" and pv.has_slot("Necklaces") and not pv.has_slot("Sofas")


def test_outfits_unknown_semantic_and_category_id_are_counted(copy):
    root = copy("polyvore_outfits")
    meta_path = root / "polyvore_item_metadata.json"
    first, second = list(json.loads(meta_path.read_text()))[:2]
    edit_json(meta_path, lambda m: (m[first].__setitem__("semantic_category", "gadgets"),
                                    m[second].__setitem__("category_id", "77777")), indent=None)
    with pytest.warns(UserWarning, match=r"items of unknown categories"):
        data = po.load_polyvore_outfits(root)
    assert data.unknown_categories == {"semantic category 'gadgets' (no outfit slot)": 1,
                                       "category_id 77777 (not in categories.csv)": 1}


def test_outfits_real_categories_csv_with_a_bom_keys_the_first_row(tmp_path):
    path = tmp_path / "categories.csv"
    shutil.copy(REAL / "polyvore-outfits" / "categories.csv", path)
    clean = read_categories(path)
    add_bom(path)
    assert read_categories(path) == clean and clean["2"] == ("undefined", "")  # "2", not "\ufeff2"


def test_outfits_shared_items_are_the_nondisjoint_protocol_and_a_leak_in_disjoint(copy):
    root = copy("polyvore_outfits")
    data = quiet(po.load_polyvore_outfits, root)
    first = json.loads((root / "nondisjoint" / "train.json").read_text())[0]["items"][0]["item_id"]
    test_items = {i for o in data.outfits["test"] for i in o.item_ids}
    edit_json(root / "nondisjoint" / "test.json", lambda d: d[0]["items"][0].__setitem__("item_id", first))
    shared = quiet(po.load_polyvore_outfits, root).shared_items  # nondisjoint: counted, no warning
    assert shared["train/test"] == len({i for o in data.outfits["train"] for i in o.item_ids} & test_items) + (
        first not in test_items)
    (root / "nondisjoint").rename(root / "disjoint")
    with pytest.warns(UserWarning, match=r"the disjoint split shares items between splits .*train/test"):
        assert po.load_polyvore_outfits(root, version="disjoint").shared_items == shared


def test_outfits_item_twice_in_an_outfit_is_kept_as_in_the_real_files(copy):
    root = copy("polyvore_outfits")
    edit_json(root / "nondisjoint" / "train.json", lambda d: d[0]["items"][1].__setitem__(
        "item_id", d[0]["items"][0]["item_id"]))
    outfit = quiet(po.load_polyvore_outfits, root).outfits["train"][0]
    assert len(set(outfit.item_ids)) == len(outfit.item_ids) - 1


def test_polyvore_u_bom_in_image_list_keeps_the_first_image(copy):
    root = copy("polyvore_u")
    clean = quiet(PolyvoreU.load, root)
    add_bom(root / "tuples_630" / "image_list_top")
    add_bom(root / "tuples_630" / "tuples_train_posi")
    data = quiet(PolyvoreU.load, root)
    assert data.missing_images == clean.missing_images == [] and data.image_lists == clean.image_lists


def test_polyvore_u_leak_across_splits_is_warned_and_a_repeat_counted(copy):
    root = copy("polyvore_u")
    folder = root / "tuples_630"
    base = quiet(PolyvoreU.load, root).duplicates.get("train", 0)  # FashionWorld users may like an outfit twice
    train = (folder / "tuples_train_posi").read_text().splitlines()
    edit_lines(folder / "tuples_test_posi", lambda lines: lines.append(train[1]))
    edit_lines(folder / "tuples_train_posi", lambda lines: lines.append(train[2]))
    with pytest.warns(UserWarning, match=r"liked outfits of the same user in two splits \{'train/test': 1\}"):
        data = PolyvoreU.load(root)
    assert data.split_leaks == {"train/test": 1} and data.duplicates["train"] == base + 1


def test_deepfashion_one_pixel_overshoot_is_clipped_and_counted(copy):
    root = copy("deepfashion_c2s")
    assert quiet(df.load_deepfashion_c2s, root).clipped_boxes == 0
    name = _df_set_box(root, 0, (0, 0, SIZE + 1, SIZE))  # as the real list: 301 for a side of 300
    data = quiet(df.load_deepfashion_c2s, root)
    photo = next(p for ps in [*data.consumer.values(), *data.shop.values()] for p in ps if p.photo_id == name)
    assert data.clipped_boxes == 1 and photo.box == (0.0, 0.0, 1.0, 1.0)
    assert "1 boxes clipped to the image" in data.summary()


def test_deepfashion_item_in_two_splits_is_warned_and_a_repeated_pair_counted(copy):
    root = copy("deepfashion_c2s")
    rows = _df_rows(root, df.PARTITION)
    other = next(r for r in rows if r[3] != rows[0][3])
    edit_lines(root / df.PARTITION, lambda lines: lines.extend([" ".join(rows[1]), " ".join(other[:2] + [rows[0][2],
                                                                                                       other[3]])]))
    recount(root / df.PARTITION)
    with pytest.warns(UserWarning, match=rf"1 items are listed in two splits \(first: {rows[0][2]}\)"):
        data = df.load_deepfashion_c2s(root)
    # both added rows repeat a (consumer, shop) pair of their split: rows[1] exactly, the other with
    # rows[0]'s item id (which puts that item in two splits)
    assert data.items_in_two_splits == [rows[0][2]] and data.skipped["repeated pair"] == 2


def test_deepfashion_real_pair_list_image_in_two_splits_names_the_line(tmp_path):
    path = tmp_path / "pairs.csv"
    shutil.copy(REAL / "deepfashion-consumer2shop" / "derived" / "meta_c2s_10_2_2_sampling_ID.csv", path)
    rows, boxes = df.read_pairs_csv(path)
    assert len(rows) == 14474 and max(max(b[2]) for b in boxes.values()) == 301  # the real 1-px overshoot
    lines = path.read_text().splitlines()
    moved = lines[1].rsplit(",", 1)[0] + ",test"  # line 2 again, in another split
    path.write_text("\n".join(lines + [moved]) + "\n")
    with pytest.raises(ValueError, match=rf"pairs\.csv:{len(lines) + 1}: image 'img/.+' is in split test but in "
                                         rf"train at .+pairs\.csv:2"):
        df.read_pairs_csv(path)


def test_stl_repeated_pair_and_empty_category_are_counted(copy):
    root = copy("stl_fashion")
    clean = quiet(stl.load_stl_fashion, root)
    lines = (root / stl.PAIRS_FILE).read_text().splitlines()
    edit_lines(root / stl.PAIRS_FILE, lambda ls: ls.append(lines[0]))
    product = json.loads(lines[1])["product"]
    edit_json(root / stl.CATEGORY_FILE, lambda c: c.__setitem__(product, ""), indent=None)
    with pytest.warns(UserWarning, match=r"pairs left out: .*repeated \(scene, product\) pair"):
        data = stl.load_stl_fashion(root)
    same = sum(json.loads(ln)["product"] == product for ln in lines)
    assert data.skipped_pairs == {"repeated (scene, product) pair": 1, "product's category is empty": same}
    assert data.n_pairs == clean.n_pairs + 1 and product not in data.items


def test_stl_real_category_file_with_a_bom_reads_the_same(tmp_path):
    path = tmp_path / stl.CATEGORY_FILE
    shutil.copy(REAL / "stl-fashion" / stl.CATEGORY_FILE, path)
    clean = stl.read_categories(path)
    add_bom(path)
    assert stl.read_categories(path) == clean and len(clean) == 38111


def test_catalog_empty_category_is_counted(copy):
    root = copy("catalog")
    assert quiet(cat.load_catalog, root).unknown_categories == {}
    edit_lines(root / "styles.csv", lambda ls: ls.__setitem__(2, re.sub(r"^([^,]*,[^,]*,[^,]*),[^,]*,", r"\1,,",
                                                                         ls[2])))
    with pytest.warns(UserWarning, match=r"1 items of unknown categories"):
        data = cat.load_catalog(root)
    assert data.unknown_categories == {"empty subCategory": 1} and "unknown categories" in data.summary()


def test_catalog_real_styles_csv_with_a_bom_keeps_its_header(tmp_path):
    root = tmp_path / "fpi"
    root.mkdir()
    shutil.copy(REAL / "fashion-product-images" / "styles.csv", root / "styles.csv")
    clean = cat.read_styles_csv(root / "styles.csv")
    add_bom(root / "styles.csv")
    assert cat.read_styles_csv(root / "styles.csv") == clean and len(clean) == 295


def test_catalog_polyvore_category_id_not_in_categories_csv_is_counted(copy):
    root = copy("polyvore_outfits")
    meta_path = root / "polyvore_item_metadata.json"
    first = next(iter(json.loads(meta_path.read_text())))
    edit_json(meta_path, lambda m: m[first].__setitem__("category_id", "77777"), indent=None)
    with pytest.warns(UserWarning, match=r"1 items of unknown categories"):
        data = cat.load_polyvore_outfits_catalog(root)
    assert data.unknown_categories == {"category_id 77777 (not in categories.csv)": 1}


# ----- fashionrec check ----------------------------------------------------------------------------------
def _truncate(image: Path) -> None:
    data = image.read_bytes()
    image.unlink()  # a link into the shared export: replace it, do not write through it
    image.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_check_reports_truncated_and_missing_images(copy, tmp_path, capsys, fmt):
    root = copy(fmt)
    _, paths = chk.LOADERS[fmt](root)  # every image the data names
    bad, gone = paths[0], paths[-1]
    _truncate(bad)
    gone.unlink()
    report = tmp_path / "report.json"
    assert cli(["check", fmt, str(root), "--report", str(report)]) == 1
    out = json.loads(report.read_text())
    if fmt == "deepfashion_c2s":  # the loader reads each photo's size for its box: the bad one stops it, named
        assert out["ok"] is False and out["error"].startswith(f"ImageError: {bad}: corrupt image")
        return
    # STL: a product paired only with the missing scene leaves with its pairs (counted by the loader)
    assert out["ok"] is False and out["error"] is None and len(set(paths)) - 1 <= out["images"] <= len(set(paths))
    assert out["images"] > 10
    assert list(out["corrupt"]) == [str(bad)] and out["corrupt"][str(bad)].startswith(f"{bad}: corrupt image")
    assert out["missing"] == [str(gone)]
    printed = capsys.readouterr().out
    assert "1 missing, 1 corrupt" in printed and f"FAILED: {fmt} at {root}" in printed


def test_check_reports_a_loader_error_with_its_file_and_line(copy, tmp_path):
    root = copy("polyvore")
    pv_fitb_unknown_id(root)
    result = chk.check("polyvore", root, tmp_path / "r.json", progress=False)
    assert not result.ok and result.images == 0
    assert re.match(r"ValueError: .+fill_in_blank_test\.json, line \d+: question 2 names item 'nope_2'", result.error)
    assert json.loads((tmp_path / "r.json").read_text())["error"] == result.error


def test_check_clean_export_and_real_sample(exports, tmp_path):
    clean = chk.check("stl_fashion", exports["stl_fashion"], progress=False)
    assert clean.ok and clean.missing == [] and clean.corrupt == {} and clean.warnings == []
    real = chk.check("polyvore", REAL / "maryland-polyvore", tmp_path / "real.json", progress=False)
    assert real.ok and real.images == 133 and real.corrupt == {}
    assert sorted(Path(p).name for p in real.missing) == ["6.jpg", "7.jpg", "8.jpg"]  # as the sample's README says
    assert any("49 items of 29 categories" in w for w in real.warnings)
