"""The figures a learner expects (issue 16, item 5): each chapter's model diagram with the shapes of its
config, chapter 1's outfits ranked by score, chapter 3's top-k bars per category, method and distance."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.patches import FancyBboxPatch, Rectangle  # noqa: E402
from matplotlib.text import Annotation  # noqa: E402
from PIL import Image  # noqa: E402

from fashionrec import bilstm, c2s, ctl, fashionnet, plots  # noqa: E402
from fashionrec import joint_embedding as je  # noqa: E402
from fashionrec.ctl.data import CTLData, CTLSplit  # noqa: E402
from fashionrec.records import CompatibilityExample  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def diagram_parts(fig) -> tuple[int, int, list[str]]:
    """(boxes, arrows, every text) of a ``plots.block_diagram``."""
    ax = fig.axes[0]
    boxes = sum(isinstance(p, FancyBboxPatch) for p in ax.patches)
    arrows = sum(isinstance(t, Annotation) for t in ax.texts)
    return boxes, arrows, [t.get_text() for t in ax.texts] + [ax.get_title()]


# ----- the shared drawing helper ------------------------------------------------------------------
def test_block_diagram_draws_one_box_per_name_and_labels_each_arrow():
    fig = plots.block_diagram({"a": (0, 0, "input"), "b": (4, 0, "layer"), "c": (8, 0, "loss")},
                              [("a", "b", "(B, 3)"), ("b", "c", "")], title="t")
    boxes, arrows, texts = diagram_parts(fig)
    assert (boxes, arrows) == (3, 2)
    assert {"input", "layer", "loss", "(B, 3)", "t"} <= set(texts)
    assert texts.count("(B, 3)") == 1  # an empty label draws no text


def test_block_diagram_names_the_missing_box():
    with pytest.raises(ValueError, match="no box named 'x'.*boxes: a, b"):
        plots.block_diagram({"a": (0, 0, "A"), "b": (4, 0, "B")}, [("a", "x", "")])


# ----- one diagram per chapter, shapes from the standard profile's objects ------------------------
def test_ch1_diagram_shows_the_standard_shapes():
    cfg = bilstm.Config.for_profile("standard")
    boxes, arrows, texts = diagram_parts(bilstm.figures.model_diagram(cfg, in_dim=224, vocab_size=30))
    assert (boxes, arrows) == (12, 13)
    assert texts.count(f"h_t (B, {cfg.max_items}, {cfg.embed_dim})") == 2  # forward and backward
    assert f"FC + ReLU\n224 -> {cfg.trunk_dim}" in texts
    assert any(f"W_T: (31, {cfg.embed_dim})" in t for t in texts)  # vocabulary + the padding row
    assert any("standard profile" in t for t in texts)


def test_ch2_diagram_shows_a_b_and_c_with_c_s_three_pair_networks():
    cfg = fashionnet.Config.for_profile("standard")
    boxes, arrows, texts = diagram_parts(fashionnet.figures.model_diagram(cfg, in_dim=112))
    assert (boxes, arrows) == (15, 16)
    d, (h1, h2) = cfg.feature_dim, cfg.hidden
    assert f"(B, 3 x {d})" in texts and texts.count(f"(B, 2 x {d})") == 3
    for pair in ("top-bottom", "top-shoes", "bottom-shoes"):
        assert f"{pair} net\n{2 * d} -> {h1} -> {h2} -> 2" in texts
    assert f"A: 3 items stacked\non channels\n(B, {3 * 112}, 1, 1)" in texts


def test_ch3_diagram_shows_the_siamese_tower_sizes():
    cfg = c2s.Config.for_profile("standard")
    boxes, arrows, texts = diagram_parts(c2s.figures.model_diagram(cfg, in_dim=1280))
    assert (boxes, arrows) == (8, 7)
    assert "(B, 1280)" in texts and f"(B, K, {cfg.embed_dim})" in texts
    assert texts.count(f"tower f (shared)\nFC 1280 -> {cfg.hidden}, ReLU,\n"
                       f"dropout {cfg.dropout:g}, FC -> {cfg.embed_dim}") == 2


def test_ch4_diagram_shows_the_joint_space_and_the_vocabulary():
    cfg = je.Config.for_profile("standard")
    boxes, arrows, texts = diagram_parts(je.figures.model_diagram(cfg, image_dim=1280, vocab_size=107))
    assert (boxes, arrows) == (9, 8)
    assert f"f_T (B, {cfg.dim})" in texts and "p_w (B, 107)" in texts and "(B, B)" in texts
    assert f"FC\n1280 -> {cfg.dim}" in texts


def fake_ctl_data(channels: int = 112, side: int = 8, dim: int = 1432, n_categories: int = 7) -> CTLData:
    def split(n: int) -> CTLSplit:
        z = np.zeros(n, int)
        return CTLSplit([], np.zeros((n, channels, side, side), np.float16), np.zeros((n, dim), np.float32), z, z,
                        np.zeros((n, 3), int), np.zeros((n, 2), int), z)

    return CTLData([f"p{k}" for k in range(4)], np.zeros((4, dim), np.float32), np.zeros(4, int),
                   tuple(f"c{k}" for k in range(n_categories)), {s: split(3) for s in ("train", "valid", "test")},
                   {}, lambda split, row: np.zeros((8, 8, 3), np.uint8), lambda ids: np.zeros((0, 8, 8, 3), np.uint8))


def test_ch5_diagram_reads_region_and_feature_shapes_from_the_data():
    cfg = ctl.Config.for_profile("standard")
    boxes, arrows, texts = diagram_parts(ctl.figures.model_diagram(cfg, fake_ctl_data()))
    assert (boxes, arrows) == (12, 14)
    d = cfg.embed_dim
    assert "(B, 112, 8, 8)" in texts and f"f_i (B, 64, {d})" in texts and "a (B, 64)" in texts
    assert f"category c\nembedding (7, {d})" in texts


# ----- chapter 1: outfits ranked by compatibility ----------------------------------------------
def outfits_with_images(tmp_path, n_items: int = 12, n_outfits: int = 9) -> bilstm.OutfitTasks:
    rng = np.random.default_rng(0)
    ids = [f"i{k:02d}" for k in range(n_items)]
    paths = []
    for k, i in enumerate(ids):
        paths.append(str(tmp_path / f"{i}.png"))
        Image.new("RGB", (16, 16), (20 * k, 100, 200)).save(paths[-1])
    vocab = {"red": 1, "blue": 2}
    tokens = bilstm.encode_texts(["red" if k % 2 else "blue" for k in range(n_items)], vocab, 4)
    feats = torch.from_numpy(rng.normal(size=(n_items, 6)).astype(np.float32))
    table = bilstm.ItemTable(ids, feats, tokens, np.arange(n_items) % 3, ["c"] * n_items, image_paths=paths,
                             image_size=16)
    outfits = [tuple(ids[3 * (k % 4) + j] for j in range(3)) for k in range(n_outfits)]
    compat = [CompatibilityExample(o, k % 2) for k, o in enumerate(outfits)]
    return bilstm.OutfitTasks(table, vocab, outfits, outfits, ids, {}, compat)


def test_ranked_outfits_go_from_best_to_worst_score(tmp_path):
    data = outfits_with_images(tmp_path)
    torch.manual_seed(0)
    cfg = bilstm.Config.for_profile("smoke", embed_dim=8, lstm_dim=8, trunk_dim=16)
    model = bilstm.build_model(cfg, "bilstm_vse", 6, len(data.vocab))
    fig = bilstm.figures.ranked_outfits(model, data, 16, n=5)
    labels = [row[0].get_ylabel() for row in np.array(fig.axes).reshape(5, -1)]
    assert labels[0].startswith("#1 of 9") and labels[-1].startswith("#9 of 9")
    scores = [float(label.split("score ")[1].split("\n")[0]) for label in labels]
    assert scores == sorted(scores, reverse=True)
    assert all(label.endswith(("real outfit", "random items")) for label in labels)
    assert "best (top) to worst (bottom)" in fig._suptitle.get_text()


def test_ranked_outfits_is_none_without_images(tmp_path, capsys):
    data = outfits_with_images(tmp_path)
    data.table.image_paths = None
    cfg = bilstm.Config.for_profile("smoke", embed_dim=8, lstm_dim=8, trunk_dim=16)
    model = bilstm.build_model(cfg, "bilstm_vse", 6, len(data.vocab))
    assert bilstm.figures.ranked_outfits(model, data, 16) is None
    assert "no figure of ranked outfits" in capsys.readouterr().out


# ----- chapter 3: top-k per category, method and distance ------------------------------------------
def c2s_results(k: int = 20) -> pd.DataFrame:
    cats = c2s.CATEGORIES
    curve = {c: np.linspace(0.1, 1.0, 50) * (1 + j) / 4 for j, c in enumerate(cats)}
    knn = {("white-box", d): {c: curve[c] * 0.5 for c in cats} for d in c2s.DISTANCES}
    knn |= {("pretrained cnn", d): {c: curve[c] * (0.6 + 0.1 * j) for c in cats} for j, d in enumerate(c2s.DISTANCES)}
    siamese = {s: {c: curve[c] * (0.9 + 0.01 * s) for c in cats} for s in (0, 1, 2)}
    return c2s.results_frame(knn, siamese, k)


def test_category_bars_one_panel_per_method_one_bar_per_distance_and_category():
    results = c2s_results()
    chance = {c: np.full(50, 0.05) for c in c2s.CATEGORIES}
    fig = c2s.figures.category_bars(results, 20, chance)
    assert [ax.get_title() for ax in fig.axes] == ["white-box", "pretrained cnn", "Siamese"]
    bars = [sum(isinstance(p, Rectangle) for p in ax.patches) for ax in fig.axes]
    assert bars == [4 * 3, 4 * 3, 4 * 1]  # categories x distances (the Siamese net: its learned score)
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == list(c2s.CATEGORIES)
    heights = sorted(p.get_height() for p in fig.axes[2].patches if isinstance(p, Rectangle))
    assert heights == pytest.approx(sorted(results.query("method == 'Siamese (learned)'")
                                           [[f"top20_{c}" for c in c2s.CATEGORIES]].mean()))
    assert "bottoms: Siamese (learned)" in fig._suptitle.get_text()
    assert fig.axes[0].get_ylabel() == "top-20 accuracy"


def test_category_bars_names_the_missing_columns():
    with pytest.raises(ValueError, match="no top5_<category> column; it has method, seed, top20"):
        c2s.figures.category_bars(c2s_results(), 5)
