"""Chapter 3's figures: the Siamese network's diagram, look-alikes, t-SNE maps of the two domains, top-k
curves, top-k bars per category, method and distance, ranking examples.

Each function returns the ``Figure`` (``tsne_plot`` draws on a given axis); sampling is seeded.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.manifold import TSNE
from torch import nn

from fashionrec import plots
from fashionrec.c2s.config import CATEGORIES, Config
from fashionrec.c2s.data import C2SSplit
from fashionrec.c2s.evaluate import Curves, category_rankings
from fashionrec.c2s.model import SiameseNet

if TYPE_CHECKING:
    from fashionrec.world.world import World

TSNE_MAP = tuple[np.ndarray, np.ndarray, np.ndarray]  # points (N, 2), categories (N,), is_shop (N,)


def lookalikes(split: C2SSplit, seed: int = 0, world: World | None = None) -> Figure:
    """Per category, a random street photo, its shop image and its look-alikes in the gallery: with the
    FashionWorld ``world``, the items that share its render seed (``World.with_lookalikes``: the same
    garment in another colour or pattern); without (DeepFashion), its hard negatives (``split.negatives``)."""
    rng = np.random.default_rng(seed)
    rows, captions = [], []
    for c in CATEGORIES:
        if not (split.query_categories == c).any():
            continue
        q = int(rng.choice(np.flatnonzero(split.query_categories == c)))
        item = split.photos[q].item_id
        if world is None:
            shown, caption = split.lookalikes[q], split.negatives
        else:
            shown = [k for k, g in enumerate(split.gallery)
                     if g != item and world.render_seeds[g] == world.render_seeds[item]]
            caption = "look-alike"
        rows += [split.query_images[q], split.gallery_images[split.true_index[q]], *split.gallery_images[shown]]
        captions += ["street photo", f"shop: {c}"] + [caption] * len(shown)
    title = ("A street photo, its shop image, and its look-alikes in the gallery" if world is not None
             else f"A street photo, its shop image, and hard negatives in the gallery ({split.negatives})")
    return plots.image_grid(np.stack(rows), captions, ncols=8, cell=1.3, title=title)


def tsne_map(split: C2SSplit, query_vectors: np.ndarray, gallery_vectors: np.ndarray, points: int = 300,
             seed: int = 0) -> TSNE_MAP:
    """t-SNE of a fixed sample of ``points`` photos and their shop items: (points, categories, is_shop)."""
    pick = np.random.default_rng(seed).choice(len(split.photos), size=min(points, len(split.photos)),
                                              replace=False)
    shop_rows = np.unique(split.true_index[pick])
    xy = TSNE(n_components=2, init="pca", perplexity=min(30, len(pick) // 4), random_state=seed).fit_transform(
        np.concatenate([query_vectors[pick], gallery_vectors[shop_rows]]))
    cats = np.concatenate([split.query_categories[pick], split.gallery_categories[shop_rows]])
    return xy, cats, np.r_[np.zeros(len(pick), bool), np.ones(len(shop_rows), bool)]


def tsne_plot(tsne: TSNE_MAP, ax: plt.Axes, title: str) -> None:
    """Street photos (x) and shop images (o), coloured by category."""
    xy, cats, is_shop = tsne
    for color, c in zip(plt.cm.tab10.colors, CATEGORIES):
        for shop, marker in ((False, "x"), (True, "o")):
            m = (cats == c) & (is_shop == shop)
            ax.scatter(*xy[m].T, s=12, marker=marker, alpha=0.7, label=f"{c}, {'shop' if shop else 'street'}",
                       **({"facecolors": "none", "edgecolors": color} if shop else {"color": color}))
    ax.set_title(title, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])


def tsne_figure(maps: Mapping[str, TSNE_MAP], title: str) -> Figure:
    """One t-SNE panel per map (title -> map), the legend on the last."""
    fig, axes = plt.subplots(1, len(maps), figsize=(6.5 * len(maps) - 1 * (len(maps) > 1), 5), squeeze=False)
    for ax, (name, tsne) in zip(axes[0], maps.items()):
        tsne_plot(tsne, ax, name)
    axes[0, -1].legend(fontsize=7, ncol=2, loc="best")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def topk_figure(ks: np.ndarray, curves: Mapping[str, Curves], k: int, leader: str, runner_up: str) -> Figure:
    """One panel per category: top-k accuracy of each method (label -> curves) over ``ks``, a dotted
    line at ``k``; the title counts the categories where ``leader`` beats ``runner_up`` at ``k``."""
    cats = list(next(iter(curves.values())))
    fig, axes = plt.subplots(1, len(cats), figsize=(3.6 * len(cats), 3.4), sharey=True, squeeze=False)
    for ax, c in zip(axes[0], cats):
        ys = {name: per_cat[c] for name, per_cat in curves.items() if np.isfinite(per_cat[c]).all()}
        plots.curves(ks, ys, "k", "top-k accuracy", c, ax=ax)
        ax.axvline(k, color="grey", lw=0.5, ls=":")
        ax.get_legend().remove()
    fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="lower center", ncol=5, fontsize=8,
               bbox_to_anchor=(0.5, -0.08))
    leads = [c for c in cats if curves[leader][c][k - 1] > curves[runner_up][c][k - 1]]
    fig.suptitle(f"Top-k accuracy on the test split; {leader} leads at k = {k} in "
                 f"{len(leads)} of {len(cats)} categories", y=1.02)
    fig.tight_layout()
    return fig


def ranking_examples(split: C2SSplit, query_vectors: np.ndarray, gallery_vectors: np.ndarray, metric: str,
                     k: int, title: str, seed: int = 0) -> Figure | None:
    """One success (item in the top 5) and one failure (not in the top ``k``), drawn at random: the
    photo, then the best shop items (the true one framed green); a failure ends with the true item
    framed red and its rank. None when there is neither."""
    ranks, top = category_rankings(query_vectors, gallery_vectors, split, metric, k=9)
    rng = np.random.default_rng(seed)
    images, captions, frames = [], [], []
    for kind, pool in (("success", np.flatnonzero(ranks <= 5)), ("failure", np.flatnonzero(ranks > k))):
        if not len(pool):
            continue
        q = int(rng.choice(pool))
        rows_q = [r for r in top[q][:9 if kind == "success" else 8] if r >= 0]
        images += [split.query_images[q], *split.gallery_images[rows_q]]
        captions += [f"{kind}: {split.photos[q].category}", *[f"#{r + 1}" for r in range(len(rows_q))]]
        frames += [None, *["limegreen" if r == split.true_index[q] else None for r in rows_q]]
        if kind == "failure":
            images.append(split.gallery_images[split.true_index[q]])
            captions.append(f"true item: #{ranks[q]}")
            frames.append("red")
    if not images:
        return None
    return plots.image_grid(np.stack(images), captions, ncols=10, cell=1.25, frame=frames, title=title)


def model_diagram(cfg: Config, in_dim: int) -> Figure:
    """The Siamese network of ``cfg`` on ``in_dim``-d CNN features as boxes and arrows, each arrow
    labelled with its tensor's shape, read from the ``SiameseNet`` it builds (B photos, K shop images each)."""
    model = SiameseNet(in_dim, cfg.hidden, cfg.embed_dim, cfg.dropout)
    fc1, fc2 = (m for m in model.tower if isinstance(m, nn.Linear))
    tower = (f"tower f (shared)\nFC {fc1.in_features} -> {fc1.out_features}, ReLU,\n"
             f"dropout {cfg.dropout:g}, FC -> {fc2.out_features}")
    s, e = cfg.cnn_size, model.embed_dim
    boxes = {
        "street": (0, 3, f"street photo\n(B, 3, {s}, {s})"), "shop": (0, 0, f"shop images\n(B, K, 3, {s}, {s})"),
        "cnn_q": (4.5, 3, f"{cfg.backbone}\n(frozen, pooled)"), "cnn_g": (4.5, 0, f"{cfg.backbone}\n(frozen, pooled)"),
        "tower_q": (9, 3, tower), "tower_g": (9, 0, tower),
        "score": (13.5, 1.5, f"p = sigma(b - sum_j\nw_j |f(x1)_j - f(x2)_j|)\nw = softplus(theta), "
                             f"({model.raw_weight.shape[0]},)"),
        "loss": (18, 1.5, "binary cross-entropy\nt = 1 same item, 0 else"),
    }
    arrows = [("street", "cnn_q", ""), ("shop", "cnn_g", ""), ("cnn_q", "tower_q", f"(B, {in_dim})"),
              ("cnn_g", "tower_g", f"(B, K, {in_dim})"), ("tower_q", "score", f"(B, {e})"),
              ("tower_g", "score", f"(B, K, {e})"),
              ("score", "loss", "(B, K)")]
    return plots.block_diagram(boxes, arrows, box_size=(3.4, 1.1),
                               title=f"The Siamese network ({cfg.profile} profile): arrows carry the tensors' "
                                     "shapes")


def category_bars(results: pd.DataFrame, k: int, chance: Curves | None = None) -> Figure:
    """Top-``k`` accuracy per category (the report's Figs. 6, 7, 9): one panel per method, one bar per
    distance in each category (the Siamese score: mean and sd over seeds); a grey tick marks chance.

    ``results``: ``results_frame`` (rows "method (distance)" per seed, columns ``top{k}_<category>``).
    """
    cats = [c for c in CATEGORIES if f"top{k}_{c}" in results]
    if not cats:
        raise ValueError(f"results has no top{k}_<category> column; it has {', '.join(results.columns)}")
    split = results["method"].str.rsplit(" (", n=1, expand=True)
    frame = results.assign(base=split[0], distance=split[1].str.rstrip(")"))
    grouped = frame.groupby(["base", "distance"], sort=False)[[f"top{k}_{c}" for c in cats]]
    mean, sd = grouped.mean(), grouped.std().fillna(0.0)
    bases = list(dict.fromkeys(frame["base"]))
    fig, axes = plt.subplots(1, len(bases), figsize=(3.8 * len(bases), 3.4), sharey=True, squeeze=False)
    for ax, base in zip(axes[0], bases):
        distances = list(mean.loc[base].index)
        width = 0.8 / len(distances)
        x = np.arange(len(cats))
        for j, dist in enumerate(distances):
            ax.bar(x + (j - (len(distances) - 1) / 2) * width, mean.loc[(base, dist)].to_numpy(), width,
                   yerr=sd.loc[(base, dist)].to_numpy(), capsize=2, label=dist)
        if chance is not None:
            ax.hlines([chance[c][k - 1] for c in cats], x - 0.4, x + 0.4, color="grey", lw=1.5,
                      label="chance")
        ax.set_xticks(x, cats)
        ax.set_title(base, fontsize=10)
        ax.legend(fontsize=7)
    axes[0, 0].set_ylabel(f"top-{k} accuracy")
    best = mean.idxmax()  # per category column, the (method, distance) with the highest mean
    leaders = [f"{c}: {best[f'top{k}_{c}'][0]} ({best[f'top{k}_{c}'][1]})" for c in cats]
    fig.suptitle(f"Top-{k} accuracy per category, method and distance; best: " + "; ".join(leaders), fontsize=10)
    fig.tight_layout()
    return fig
