# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 3. Consumer-to-shop retrieval with Siamese networks (Menezes & Kanitkar, CS231n 2018)
#
# **What you'll learn:** how a street photo is matched to a shop's catalog; why hand-made image
# features, then pretrained CNN features, then a learned Siamese score each do better; how
# top-k accuracy per category is measured; and how the trained model becomes a small REST service.
#
# Someone photographs a dress in the street and wants to buy it. Her photo (the *consumer* image)
# shows the garment worn, at an angle, on a busy background, in poor light; the shop shows the same
# garment flat on white. *Consumer-to-shop retrieval* ranks the shop images so that the photographed
# item comes first. Menezes and Kanitkar (a Stanford CS231n project, later written up on Microsoft's
# machine-learning blog) compared three ways to rank on DeepFashion's consumer-to-shop benchmark, in
# four categories (dresses, skirts, tops, bottoms):
#
# 1. **white-box features**: HOG, a colour histogram, a colour coherence vector and Harris corners,
#    concatenated, with a k-nearest-neighbour search under L1, L2 or cosine distance;
# 2. **pretrained CNN features**: the last hidden layer of ImageNet networks (VGG-16, VGG-19,
#    Inception-v3, ResNet-50), with L1 distance;
# 3. a **Siamese network** that takes a (consumer, shop) pair of CNN features and learns the score.
#
# Their finding: each method beats the one before on top-20 accuracy, and the Siamese network helped
# every category except dresses. We test that on FashionWorld, where street photos and look-alike
# distractors are generated (chapter 0), and where an attribute oracle says how far attributes alone go.
# Quotes below are translated from the authors' write-up (Microsoft machine-learning blog, July 2018,
# via its Chinese translation in our paper notes); the code is at github.com/ckanitkar/CS231nFinalProject.

# %% tags=["parameters"]
profile = "standard"      # smoke | standard | paper
dataset = "fashionworld"  # or "deepfashion_c2s" (paper profile, see data/README.md)
data_root = "data"
device = "auto"           # cuda when available
seed = 0

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.manifold import TSNE

from fashionrec import config, plots, report, serve
from fashionrec.backbones import build_backbone
from fashionrec.features import whitebox_features
from fashionrec.metrics import progress_ratio
from fashionrec.models import c2s
from fashionrec.world import tasks
from fashionrec.world.world import World, WorldConfig, default_cache_dir

cfg = c2s.c2s_config(profile, dataset=dataset if profile != "paper" else "deepfashion_c2s",
                     data_root=data_root, device=device, seed=seed)
dev = config.select_device(cfg.device)
run_dir = report.start_run(cfg, dev)
cache_dir = default_cache_dir() / "c2s_features"
start = time.perf_counter()
cfg

# %% [markdown]
# ## The data: street photos, shop images and look-alikes
#
# On FashionWorld, every shop item of the four categories is photographed twice "in the street":
# a random background, scale, rotation and shift, a colour cast, blur, noise and sometimes an
# occluding hand. The gallery holds each shop item **and two look-alikes**: the same garment in
# another colour, and the same colours in another pattern. Look-alikes make the task hard at the
# top of the ranking, as DeepFashion's near-duplicates do ("a very similar but different item"
# is the paper's typical failure). Each query is ranked against the gallery of its own category.
# The Siamese network trains on the train split's photos and items; we report on the test split.

# %%
split_names = {"train": "train", "valid": "valid", "test": "test"}
if cfg.dataset == "fashionworld":
    world = World.build(WorldConfig.for_profile("smoke" if profile == "smoke" else "standard", seed=cfg.seed))
    data = {s: c2s.fashionworld_split(world, s, cfg.train_photos_per_item if s == "train" else cfg.test_photos_per_item,
                                      cfg.image_size, seed=cfg.seed) for s in split_names}
else:  # DeepFashion consumer-to-shop: its validation split is called "val"
    from fashionrec.datasets.deepfashion_c2s import load_deepfashion_c2s

    deepfashion = load_deepfashion_c2s(cfg.data_root)
    print(deepfashion.summary())
    data = {s: c2s.deepfashion_split(deepfashion, "val" if s == "valid" else s, cfg.image_size, seed=cfg.seed,
                                     max_photos=cfg.max_photos) for s in split_names}
test = data["test"]

# %% tags=["nbval-check-output"]
for s, d in data.items():
    per_cat = ", ".join(f"{c} {int((d.query_categories == c).sum())}/{int((d.gallery_categories == c).sum())}"
                        for c in c2s.CATEGORIES)
    print(f"{s}: {len(d.photos)} consumer photos, {len(d.gallery)} gallery items (queries/gallery: {per_cat})")
print(f"images: {test.query_images.shape} {test.query_images.dtype}")

# %%
rng = np.random.default_rng(cfg.seed)
rows, captions = [], []
for c in c2s.CATEGORIES:
    if not (test.query_categories == c).any():
        continue
    q = int(rng.choice(np.flatnonzero(test.query_categories == c)))
    rows += [test.query_images[q], test.gallery_images[test.true_index[q]], *test.gallery_images[test.lookalikes[q]]]
    captions += ["street photo", f"shop: {c}"] + ["look-alike"] * len(test.lookalikes[q])
fig = plots.image_grid(np.stack(rows), captions, ncols=8, cell=1.3,
                       title="A street photo, its shop image, and the two look-alikes in the gallery")

# %% [markdown]
# ## Measuring: top-k accuracy per category
#
# For a query $q$ of category $c$ with true item $i^*_q$, rank the $G_c$ gallery items of $c$ by a
# score $s(q, i)$. Top-k accuracy is the share of queries whose item is among the $k$ best:
#
# $$ \text{acc}_c(k) = \frac{1}{|Q_c|} \sum_{q \in Q_c} \mathbb{1}\big[\,\text{rank}_q(i^*_q) \le k\,\big],
# \qquad \text{rank}_q(i) = \big|\{ j : s(q, j) \ge s(q, i) \}\big| $$
#
# (ties count against us). The paper plots $k = 1 \dots 50$ and quotes $k = 20$; our headline is
# the mean of the four categories' top-20. **Chance** is $\min(k / G_c, 1)$. The FashionWorld
# **oracle** reads each photo's true attributes (sub-category, colours, pattern, material) and
# ranks the gallery by how many agree: what attribute recognition alone could reach.
#
# ```{literalinclude} ../fashionrec/models/c2s.py
# :pyobject: topk_curves
# ```

# %%
ks = np.arange(1, cfg.max_k + 1)
K = cfg.headline_k
chance = c2s.chance_curves(test, ks)
if cfg.dataset == "fashionworld":
    oracle = {c: tasks.c2s_attribute_oracle(world, [test.photos[i] for i in test.category_rows(c)[0]],
                                            test.gallery, ks) for c in chance}
else:
    oracle = {c: np.full(len(ks), np.nan) for c in chance}  # no ground-truth attributes on real data

# %% [markdown]
# ## Method 1: white-box features
#
# > "The features are extracted first, then concatenated to build a multi-feature representation
# > of each image." (Methods, 1. White-box features)
#
# HOG counts gradient orientations per cell; the colour histogram splits each HSV channel into 25
# bins; the colour coherence vector (Pass et al. 1996) splits each quantised colour's pixels into
# those in large connected regions (coherent, $\alpha_j$) and the rest ($\beta_j$); Harris corners
# are counted, with their strength, on a 4 x 4 grid. We scale each block to unit length so that
# HOG's 1,764 numbers do not drown the others, then search with L1, L2 and cosine distance. (With
# four unit-length blocks every vector has length 2, so L2 and cosine rank identically here.)
#
# ```{literalinclude} ../fashionrec/features.py
# :pyobject: color_coherence_vector
# ```
#
# ```{literalinclude} ../fashionrec/features.py
# :pyobject: whitebox_features
# ```

# %%
vectors = {}  # method -> split -> (query vectors, gallery vectors)
vectors["white-box"] = {s: tuple(whitebox_features(x, cache_dir=cache_dir) for x in (data[s].query_images,
                                                                                       data[s].gallery_images))
                        for s in ("valid", "test")}
print("white-box features:", vectors["white-box"]["test"][0].shape)

# %% [markdown]
# ## Method 2: pretrained CNN features
#
# > "We use the networks' activations as the feature representation … VGG-16, VGG-19, Inception v3
# > and ResNet50 … with L1 as the distance metric." … "features extracted from the last hidden layer
# > of a pretrained convolutional network." (Methods, 2)
#
# The book's default backbone is EfficientNet-Lite0, whose ImageNet weights ship with its pip
# package (no download); the `paper` profile adds the paper's four networks (their weights must be
# in the torch hub cache, see `fashionrec/backbones.py`). Our 64 px images are resized to
# `cfg.cnn_size` before the network, and the 1,280-d global average pool is the feature.

# %%
backbone = build_backbone(cfg.backbone, pretrained=cfg.pretrained)
features = {s: tuple(c2s.cnn_features(backbone, x, cfg.cnn_size, dev, cache_dir=cache_dir)
                     for x in (d.query_images, d.gallery_images)) for s, d in data.items()}
vectors[f"pretrained {cfg.backbone}"] = {s: features[s] for s in ("valid", "test")}
for name in cfg.compare_backbones:
    if name != cfg.backbone:
        other = build_backbone(name, pretrained=cfg.pretrained)
        vectors[f"pretrained {name}"] = {s: tuple(c2s.cnn_features(other, x, cfg.cnn_size, dev, cache_dir=cache_dir)
                                                  for x in (data[s].query_images, data[s].gallery_images))
                                         for s in ("valid", "test")}
print("CNN features:", features["test"][0].shape)

# %% [markdown]
# Before any learning: do street photos and shop images of one item land together? A t-SNE map of
# the pretrained features of a few hundred test street photos and their shop images says no. The
# shop images sort themselves by category, while the street photos form one cloud of their own,
# mixed across categories: the features see the background and the light first. That is the gap
# the Siamese network must close. The paper saw the same on DeepFashion with ResNet-50
# (consumer photos with legs in them on one side, flat shop shots on the other).

# %%
def tsne_map(query_vectors, gallery_vectors):
    """t-SNE of a fixed sample of test photos and their shop items: (points, categories, is_shop)."""
    pick = np.random.default_rng(cfg.seed).choice(len(test.photos), size=min(cfg.tsne_points, len(test.photos)),
                                                  replace=False)
    shop_rows = np.unique(test.true_index[pick])
    points = TSNE(n_components=2, init="pca", perplexity=min(30, len(pick) // 4), random_state=cfg.seed).fit_transform(
        np.concatenate([query_vectors[pick], gallery_vectors[shop_rows]]))
    cats = np.concatenate([test.query_categories[pick], test.gallery_categories[shop_rows]])
    return points, cats, np.r_[np.zeros(len(pick), bool), np.ones(len(shop_rows), bool)]


def tsne_plot(tsne, ax, title):
    """Street photos (x) and shop images (o), coloured by category."""
    points, cats, is_shop = tsne
    for color, c in zip(plt.cm.tab10.colors, c2s.CATEGORIES):
        for shop, marker in ((False, "x"), (True, "o")):
            m = (cats == c) & (is_shop == shop)
            ax.scatter(*points[m].T, s=12, marker=marker, alpha=0.7, label=f"{c}, {'shop' if shop else 'street'}",
                       **({"facecolors": "none", "edgecolors": color} if shop else {"color": color}))
    ax.set_title(title, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])


tsne_pretrained = tsne_map(*features["test"])
fig, ax = plt.subplots(figsize=(6.5, 5))
tsne_plot(tsne_pretrained, ax, f"Pretrained {cfg.backbone} features: street photos (x) and shop images (o)")
ax.legend(fontsize=7, ncol=2, loc="best")
fig.tight_layout()

# %% [markdown]
# ## Method 3: a Siamese network on (consumer, shop) feature pairs
#
# > "A Siamese network contains two or more identical sub-networks … the inputs pass through them
# > separately and are combined at the output into a single value that measures the distance
# > between them. … We use the cross-entropy loss, where $X_1$ and $X_2$ are the consumer and shop
# > image features and $t$ is the target: 1 for a similar pair, 0 for a dissimilar one." (Methods, 3)
#
# $$ \mathcal{L}(X_1, X_2, t) = -\,t \log p(X_1, X_2) - (1 - t) \log\big(1 - p(X_1, X_2)\big) $$
#
# Our sub-network (the shared *tower* $f$) is a two-layer MLP on the CNN features. The score is
# learned, in the form of Koch et al. (2015): a weighted L1 distance through a sigmoid,
#
# $$ p(X_1, X_2) = \sigma\Big(b - \sum_j w_j \,\big|f(X_1)_j - f(X_2)_j\big|\Big), \qquad w_j = \operatorname{softplus}(\theta_j) \ge 0. $$
#
# Keeping $w \ge 0$ has a practical pay-off: ranking the gallery by $p$ is exactly ranking by the L1
# distance between the vectors $w \odot f(x)$, so an exact faiss L1 index serves the learned score
# (and our REST service below uses one).
#
# ```{literalinclude} ../fashionrec/models/c2s.py
# :pyobject: SiameseNet
# ```
#
# ```{literalinclude} ../fashionrec/models/c2s.py
# :pyobject: siamese_loss
# ```
#
# Pairs: each street photo of the train split meets its own shop image ($t = 1$), two of its
# look-alikes and two random items of its category ($t = 0$), drawn anew at every epoch. The
# look-alikes are the hard negatives that a fixed distance cannot tell apart. We keep the epoch with
# the best validation top-20 and train one model per seed.

# %%
models, histories, siamese_test = {}, {}, {}
for s in cfg.seeds:
    models[s], histories[s] = c2s.train_siamese(cfg, data["train"], features["train"], data["valid"],
                                                features["valid"], seed=s, device=dev,
                                                run_dir=run_dir / f"siamese-seed{s}", progress=False)
    siamese_test[s] = tuple(c2s.siamese_vectors(models[s], f, dev) for f in features["test"])
vectors["Siamese"] = {"test": siamese_test[cfg.seeds[0]]}  # the figures show the first seed

# %% tags=["nbval-check-output"]
for s, h in histories.items():
    frame = h.to_frame()
    print(f"seed {s}: {len(frame)} epochs, train loss {frame.train_loss.iloc[0]:.3f} -> "
          f"{frame.train_loss.iloc[-1]:.3f}, best valid top-{K} {frame.valid_metric.max():.3f} (epoch {h.best_epoch})")

# %%
fig, axes = plt.subplots(1, 2, figsize=(9, 3))
for s, h in histories.items():
    frame = h.to_frame()
    axes[0].plot(frame.epoch, frame.train_loss, marker="o", label=f"seed {s}")
    axes[1].plot(frame.epoch, frame.valid_metric, marker="o", label=f"seed {s}")
axes[0].set(xlabel="epoch", ylabel="binary cross-entropy", title="Training loss")
axes[1].set(xlabel="epoch", ylabel=f"top-{K} accuracy", title=f"Validation top-{K} (category mean)")
axes[1].legend(fontsize=8)
fig.tight_layout()

# %% [markdown]
# ## Results: every method and distance, per category
#
# A fixed distance has no training, so the white-box and pretrained rows are deterministic; the
# Siamese row is the mean ± standard deviation over the seeds. For the paper's ordering claim we
# compare each kNN method at the distance that is best **on the validation split** (the paper
# reports L1 for the CNN features, which the table also shows).

# %%
def curves_of(method, metric, split="test"):
    q, g = vectors[method][split]
    return c2s.topk_curves(q, g, data[split], metric, ks)


results = {}  # (method, distance) -> per-category curves; Siamese: per seed
knn_methods = [m for m in vectors if m != "Siamese"]
for method in knn_methods:
    for metric in c2s.DISTANCES:
        results[method, metric] = curves_of(method, metric)
best_distance = {m: max(c2s.DISTANCES, key=lambda d: c2s.category_mean(curves_of(m, d, "valid"), K))
                 for m in knn_methods}
siamese_runs = [c2s.topk_curves(*siamese_test[s], test, "l1", ks) for s in cfg.seeds]
results["Siamese", "learned"] = {c: np.mean([r[c] for r in siamese_runs], axis=0) for c in chance}

chance_mean = c2s.category_mean(chance, K)
oracle_mean = c2s.category_mean(oracle, K)
rows = [{"method": "chance", "distance": "", **{c: chance[c][K - 1] for c in chance}, "mean": chance_mean},
        {"method": "oracle (attributes)", "distance": "", **{c: oracle[c][K - 1] for c in oracle}, "mean": oracle_mean}]
for (method, metric), curves in results.items():
    rows.append({"method": method, "distance": metric, **{c: curves[c][K - 1] for c in curves},
                 "mean": c2s.category_mean(curves, K)})
table = pd.DataFrame(rows)
seed_means = [c2s.category_mean(r, K) for r in siamese_runs]
seed_std = float(np.std(seed_means, ddof=1)) if len(seed_means) > 1 else 0.0  # sample std over seeds
table["± std (seeds)"] = ["" if m != "Siamese" else f"{seed_std:.3f}" for m in table.method]
table["ratio"] = [progress_ratio(v, chance_mean, oracle_mean) if np.isfinite(oracle_mean) else np.nan
                  for v in table["mean"]]

# %% tags=["nbval-check-output"]
print(f"top-{K} accuracy on the test split, per category and averaged over categories")
print(table.round(3).to_string(index=False))
print("distance chosen on valid:", best_distance)

# %%
headline = {"whitebox": results["white-box", best_distance["white-box"]],
            "pretrained": results[f"pretrained {cfg.backbone}", best_distance[f"pretrained {cfg.backbone}"]],
            "siamese": results["Siamese", "learned"]}
means = {name: c2s.category_mean(curves, K) for name, curves in headline.items()}
report.record("ch3_chance_top20", chance_mean)
report.record("ch3_oracle_top20", oracle_mean)
for name, value in means.items():
    report.record(f"ch3_{name}_top20", value)
    if np.isfinite(oracle_mean):
        report.record(f"ch3_{name}_ratio", progress_ratio(value, chance_mean, oracle_mean))
    for c in headline[name]:
        report.record(f"ch3_{name}_top20_{c}", headline[name][c][K - 1])
report.record("ch3_siamese_top20_std", seed_std)
report.record("ch3_n_seeds", len(cfg.seeds))
report.record("ch3_siamese_top1", c2s.category_mean(headline["siamese"], 1))
report.record("ch3_pretrained_l1_top20", c2s.category_mean(results[f"pretrained {cfg.backbone}", "l1"], K))
report.record("ch3_whitebox_distance", best_distance["white-box"])
report.record("ch3_pretrained_distance", best_distance[f"pretrained {cfg.backbone}"])
order_holds = min(seed_means) > means["pretrained"] > means["whitebox"]
report.record("ch3_order", "holds" if order_holds else "does not hold")
gains = {c: headline["siamese"][c][K - 1] - headline["pretrained"][c][K - 1] for c in headline["siamese"]}
report.record("ch3_smallest_gain_category", min(gains, key=gains.get))
report.record("ch3_dresses_gain", gains.get("dresses", np.nan))

# %% tags=["nbval-check-output"]
print(f"category mean top-{K}: white-box {means['whitebox']:.3f}, pretrained {means['pretrained']:.3f}, "
      f"Siamese {means['siamese']:.3f} ± {seed_std:.3f} (every seed above pretrained: "
      f"{min(seed_means) > means['pretrained']})")
print(f"Siamese > pretrained > white-box (the paper's ordering): {'holds' if order_holds else 'does not hold'}")
print("Siamese gain over pretrained features, per category:", {c: round(float(v), 3) for c, v in gains.items()})

# %% [markdown]
# The curves for $k = 1 \dots 50$ (the dotted line marks $k = 20$). The oracle is far ahead at small
# $k$: it reads colour and pattern exactly, and only colour and pattern tell an item from its
# look-alikes.

# %%
fig, axes = plt.subplots(1, len(chance), figsize=(3.6 * len(chance), 3.4), sharey=True)
for ax, c in zip(np.atleast_1d(axes), chance):
    ys = {"chance": chance[c], "oracle (attributes)": oracle[c],
          f"white-box ({best_distance['white-box']})": headline["whitebox"][c],
          f"pretrained ({best_distance[f'pretrained {cfg.backbone}']})": headline["pretrained"][c],
          "Siamese (learned)": headline["siamese"][c]}
    plots.curves(ks, {n: y for n, y in ys.items() if np.isfinite(y).all()}, "k", "top-k accuracy", c, ax=ax)
    ax.axvline(K, color="grey", lw=0.5, ls=":")
    ax.get_legend().remove()
fig.legend(*np.atleast_1d(axes)[0].get_legend_handles_labels(), loc="lower center", ncol=5, fontsize=8,
           bbox_to_anchor=(0.5, -0.08))
leads = [c for c in chance if headline["siamese"][c][K - 1] > headline["pretrained"][c][K - 1]]
fig.suptitle(f"Top-k accuracy on the test split; the Siamese score leads at k = {K} in "
             f"{len(leads)} of {len(chance)} categories", y=1.02)
fig.tight_layout()

# %% [markdown]
# The Siamese tower was trained to map a street photo and its shop image to the same place. In the
# t-SNE map of its vectors (right) the two domains are mixed, where the pretrained features (left)
# were split by domain. The categories, on the other hand, are not pulled apart: the network only
# ever compared a photo with items of its own category, so it had no reason to separate them
# (the search never needs it to).

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 5))
tsne_plot(tsne_pretrained, axes[0], f"pretrained {cfg.backbone}")
tsne_plot(tsne_map(*siamese_test[cfg.seeds[0]]), axes[1], f"Siamese tower (seed {cfg.seeds[0]})")
axes[1].legend(fontsize=7, ncol=2, loc="best")
fig.suptitle("t-SNE of street photos (x) and shop images (o), before and after the Siamese tower")
fig.tight_layout()

# %% [markdown]
# ## What the rankings look like
#
# For each method, one success (the item within the top 5) and one failure (not in the top 20),
# drawn at random: the street photo, then the best shop items; the true item is framed green. A
# failure row ends with the true item framed red and its rank. Look at what the top items share
# with the photo: for the Siamese network mostly the cut and the colour (look-alikes included), for
# the fixed distances often only one of the two, or the colours of the background.

# %%
shown = {"white-box": best_distance["white-box"],
         f"pretrained {cfg.backbone}": best_distance[f"pretrained {cfg.backbone}"], "Siamese": "l1"}
for method, metric in shown.items():
    ranks, top = c2s.category_rankings(*vectors[method]["test"], test, metric, k=9)
    rng = np.random.default_rng(cfg.seed)
    images, captions, frames = [], [], []
    for kind, pool in (("success", np.flatnonzero(ranks <= 5)), ("failure", np.flatnonzero(ranks > K))):
        if not len(pool):
            continue
        q = int(rng.choice(pool))
        n = 9 if kind == "success" else 8
        rows_q = [r for r in top[q][:n] if r >= 0]
        images += [test.query_images[q], *test.gallery_images[rows_q]]
        captions += [f"{kind}: {test.photos[q].category}", *[f"#{r + 1}" for r in range(len(rows_q))]]
        frames += [None, *["limegreen" if r == test.true_index[q] else None for r in rows_q]]
        if kind == "failure":
            images.append(test.gallery_images[test.true_index[q]])
            captions.append(f"true item: #{ranks[q]}")
            frames.append("red")
    fig = plots.image_grid(np.stack(images), captions, ncols=10, cell=1.25, frame=frames,
                           title=f"{method} ({metric}): street photo, then the best shop items")

# %% [markdown]
# ## Serving the model: a REST service
#
# > "We deployed the model and the code as a web service that can be accessed over REST." (Deployment)
#
# `fashionrec/serve.py` wraps the trained network in a FastAPI app: it loads a checkpoint (with
# `torch.load(..., weights_only=True)`) and a gallery (shop images, their CNN features), builds an
# exact L1 index of the gallery's Siamese vectors, and answers `POST /search` (a photo in, the top-k
# items with $p(\text{same item})$ out), `GET /items/{id}/image` and `GET /health`. Bad input gets a
# plain 4xx: 415 not an image, 400 corrupt image, 413 too large, 422 k out of range. Here we write
# both files for the test gallery and query the app in-process, with a photo the model ranks well.
#
# ```{literalinclude} ../fashionrec/serve.py
# :pyobject: Searcher.search
# ```

# %%
import io
import os
import warnings
from pathlib import Path

warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
from fastapi.testclient import TestClient
from PIL import Image

service_dir = run_dir / "service"
service_dir.mkdir(exist_ok=True)
c2s.save_siamese(service_dir / "siamese.pt", models[cfg.seeds[0]], backbone=cfg.backbone,
                 pretrained=cfg.pretrained, image_size=cfg.image_size, cnn_size=cfg.cnn_size)
serve.save_gallery(service_dir / "gallery.npz", test.gallery, test.gallery_categories, test.gallery_images,
                   features["test"][1], cfg.backbone, cfg.cnn_size)
client = TestClient(serve.create_app(service_dir / "siamese.pt", service_dir / "gallery.npz"))


def png(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


siamese_ranks, _ = c2s.category_rankings(*vectors["Siamese"]["test"], test, "l1", k=1)
q = int(np.flatnonzero(siamese_ranks <= 5)[0]) if (siamese_ranks <= 5).any() else 0  # a photo the model gets right
answer = client.post("/search", params={"k": 5, "category": test.photos[q].category},
                     files={"image": ("street.png", png(test.query_images[q]), "image/png")})
hits = pd.DataFrame(answer.json()["results"])
hits["true item"] = hits.item_id == test.photos[q].item_id
hits[["rank", "item_id", "category", "score", "distance", "true item"]].round(3)

# %% tags=["nbval-check-output"]
print("health:", client.get("/health").status_code, "| search:", answer.status_code, len(hits), "results",
      "| true item in the top 5:", bool(hits["true item"].any()))
for label, kwargs in [("k = 0", dict(params={"k": 0}, files={"image": ("a.png", png(test.query_images[q]))})),
                      ("a text file", dict(files={"image": ("a.txt", b"hello, not a photo")})),
                      ("a truncated PNG", dict(files={"image": ("a.png", png(test.query_images[q])[:200])}))]:
    r = client.post("/search", **kwargs)
    print(f"{label}: {r.status_code} {str(r.json()['detail'])[:70]}")

# %% [markdown]
# The same service, as a server: one command, run from the repository root (the paths are this
# run's files); then e.g. `curl -F image=@street.jpg "http://127.0.0.1:8000/search?k=10"`.

# %%
shown_dir = Path(os.path.relpath(service_dir, report.REPO))  # relative to the repository root
print(f"python -m fashionrec.serve --checkpoint {shown_dir / 'siamese.pt'} --gallery {shown_dir / 'gallery.npz'} "
      "--host 127.0.0.1 --port 8000")
print(f"notebook ran in {time.perf_counter() - start:.0f} s")

# %% [markdown]
# ## What we found vs. the paper
#
# | | paper (DeepFashion, ResNet-50) | ours (FashionWorld `standard`, EfficientNet-Lite0) |
# |---|---|---|
# | white-box, top-20, mean of 4 categories | lowest of the three (figure only) | {glue:text}`ch3_whitebox_top20:.3f` ({glue:text}`ch3_whitebox_distance`) |
# | pretrained CNN, top-20 | skirts 17.75 % with ResNet-50 features (V) | {glue:text}`ch3_pretrained_top20:.3f` ({glue:text}`ch3_pretrained_distance`; L1: {glue:text}`ch3_pretrained_l1_top20:.3f`); skirts {glue:text}`ch3_pretrained_top20_skirts:.3f` |
# | Siamese network, top-20 | skirts 26 % (V) | {glue:text}`ch3_siamese_top20:.3f` ± {glue:text}`ch3_siamese_top20_std:.3f`; skirts {glue:text}`ch3_siamese_top20_skirts:.3f` |
# | where the Siamese network did not help | dresses (V) | smallest gain: {glue:text}`ch3_smallest_gain_category` (dresses {glue:text}`ch3_dresses_gain:+.3f`) |
#
# Chance is {glue:text}`ch3_chance_top20:.3f` and the attribute oracle {glue:text}`ch3_oracle_top20:.3f`.
#
# - **The ordering Siamese > pretrained > white-box {glue:text}`ch3_order` here**, on the mean of
#   the four categories: the Siamese network recovers {glue:text}`ch3_siamese_ratio:.2f` of the way
#   from chance to the oracle, pretrained features {glue:text}`ch3_pretrained_ratio:.2f`, white-box
#   features {glue:text}`ch3_whitebox_ratio:.2f` (the kNN methods at their validation-best distance;
#   "holds" means that each of the {glue:text}`ch3_n_seeds` Siamese seeds beats the pretrained
#   features, which beat the white-box features).
# - **The distance matters for CNN features**: validation picks {glue:text}`ch3_pretrained_distance`,
#   which reaches {glue:text}`ch3_pretrained_top20:.3f` where the paper's L1 reaches
#   {glue:text}`ch3_pretrained_l1_top20:.3f`; comparing the Siamese network with L1 alone would
#   flatter it.
# - **Dresses.** The paper saw no gain on dresses; on FashionWorld the Siamese network's gain on
#   dresses is {glue:text}`ch3_dresses_gain:+.3f` ({glue:text}`ch3_siamese_top20_dresses:.3f` vs
#   {glue:text}`ch3_pretrained_top20_dresses:.3f`), and its smallest gain is on
#   {glue:text}`ch3_smallest_gain_category`. The paper gives no reason for the
#   dresses; one candidate is absent from our world by construction: our street photos move, turn,
#   light and occlude a garment but never change its shape, while a worn dress drapes on a body
#   very differently from the same dress laid flat.
# - **Top-1 stays low** ({glue:text}`ch3_siamese_top1:.3f`): top-20 forgives the look-alikes,
#   top-1 does not, and 64 px street photos lose the pattern detail that separates them.
# - The absolute numbers are not comparable with the paper's: our galleries are small (a few hundred
#   items per category, a third of them look-alikes) where DeepFashion's hold thousands.
