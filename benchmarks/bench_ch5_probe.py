"""What the frozen EfficientNet-Lite0 features of FashionWorld products carry, level by level.

A linear probe (logistic regression, standardised features; trained on the train pool's products,
scored on the valid + test pools') of each product's main colour, pattern, material and sub-category
from the average-pooled map of each level that chapter 5 can read: ``early`` (stride 8, 40 channels),
``mid`` (stride 16, 112), ``last`` (1280, the paper's choice) and their concatenation (the ``standard``
global vector). It is why ``ctl.Config.global_levels`` is ("early", "mid", "last"): the last level
alone keeps little of a small garment's colour. Reuses the notebook's feature cache when it is there.

    python benchmarks/bench_ch5_probe.py                  # about a minute on 2 cores (cold cache: more)
    python benchmarks/bench_ch5_probe.py --product-size 96
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from fashionrec import ctl
from fashionrec.ctl import data as ctl_data
from fashionrec.world.world import World, WorldConfig

LEVELS = ("early", "mid", "last")


def probe(features: np.ndarray, labels: np.ndarray, train: np.ndarray) -> float:
    """Held-out accuracy of a logistic regression from ``features`` (N, D) to ``labels`` (N,)."""
    scaler = StandardScaler().fit(features[train])
    x = scaler.transform(features)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = LogisticRegression(max_iter=300, C=0.5).fit(x[train], labels[train])
    return float(clf.score(x[~train], labels[~train]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--product-size", type=int, default=ctl.Config.for_profile("standard").product_size)
    args = parser.parse_args()
    world = World.build(WorldConfig.for_profile("standard"))
    cfg = ctl.Config.for_profile("standard", product_size=args.product_size, global_levels=LEVELS)
    start = time.perf_counter()
    backbone = ctl.make_backbone(cfg)
    ids, feats = ctl_data.product_features(world, cfg, backbone, progress=False)  # the notebook's cached features
    print(f"{len(ids)} products at {cfg.product_size} px, features {feats.shape} "
          f"in {time.perf_counter() - start:.0f} s (cached after the first run)")
    train = np.isin(ids, world.pools["train"])
    targets = {"main colour": [world.items[i].colors[0] for i in ids],
               "pattern": [world.items[i].pattern for i in ids],
               "material": [world.items[i].material for i in ids],
               "sub-category": [world.items[i].subcategory for i in ids]}
    edges = np.cumsum([0] + [backbone.map_channels[lv] for lv in LEVELS])
    columns = {lv: slice(a, b) for lv, a, b in zip(LEVELS, edges[:-1], edges[1:])}
    columns["early + mid + last"] = slice(0, edges[-1])
    print(f"{'level':20s}" + "".join(f"{t:>14s}" for t in targets))
    for name, cols in columns.items():
        scores = [probe(np.asarray(feats[:, cols]), np.array(y), train) for y in targets.values()]
        print(f"{name:20s}" + "".join(f"{v:14.3f}" for v in scores))
    print("chance (majority class):" + "".join(
        f"{np.unique(np.array(y)[~train], return_counts=True)[1].max() / (~train).sum():11.3f}" for y in targets.values()))


if __name__ == "__main__":
    main()
