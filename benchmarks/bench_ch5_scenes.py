"""How Complete the Look's accuracy grows with the number of training scenes (FashionWorld standard).

The chapter's full and global heads, trained on the first 1/4, 1/2 and all of the standard training
triplets (the same cached EfficientNet-Lite0 features the notebook uses; the number of optimiser steps
is kept equal), scored on the standard test triplets. It is what says whether more scenes, which the
notebook's 5-minute budget cannot render, would close the gap to the oracle.

    python benchmarks/bench_ch5_scenes.py        # a few minutes on 2 cores once the notebook's cache exists
"""

from __future__ import annotations

import argparse
import time
from dataclasses import fields, replace

from fashionrec import claims, config, ctl, train


def first_rows(split: ctl.CTLSplit, n: int) -> ctl.CTLSplit:
    """The split's first ``n`` triplets (every per-triplet field cut to n rows)."""
    cut = {f.name: getattr(split, f.name)[:n] for f in fields(split)}
    return replace(split, **cut)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fractions", type=float, nargs="+", default=[0.25, 0.5, 1.0])
    parser.add_argument("--modes", nargs="+", default=["full", "global"], choices=ctl.MODES)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    cfg = ctl.Config.for_profile("standard", seed=args.seed)
    data = ctl.load_data(replace(cfg, device="cpu"))
    n_all = len(data.splits["train"].positive)
    oracle = ctl.fashionworld_oracle(data)["accuracy"]
    print(f"test triplets {len(data.splits['test'].positive)}, oracle accuracy {oracle:.3f}, chance 0.500")
    print(f"{'training scenes':>16s} {'mode':>7s} {'accuracy':>9s} {'ROC AUC':>8s} {'progress':>9s} {'train s':>8s}")
    for fraction in args.fractions:
        n = int(round(fraction * n_all))
        part = replace(data, splits={**data.splits, "train": first_rows(data.splits["train"], n)})
        run = replace(cfg.train, epochs=max(1, int(round(cfg.train.epochs * n_all / n))))  # equal steps
        for mode in args.modes:
            start = time.perf_counter()
            generator = config.seed_everything(args.seed)  # as the notebook: seed, then build the model
            model = ctl.build_model(part, cfg, mode)
            train.fit(model, ctl.train_loader(part, run.batch_size, generator),
                      ctl.make_loss(cfg.margin), run, valid_fn=lambda m: ctl.valid_accuracy(m, part, "valid"),
                      progress=False)
            r = ctl.evaluate_model(model, part, "test")
            ratio = claims.progress(r["accuracy"], 0.5, oracle)
            print(f"{n:16d} {mode:>7s} {r['accuracy']:9.3f} {r['auc']:8.3f} {ratio:9.2f} "
                  f"{time.perf_counter() - start:8.0f}")
    print("progress = (accuracy - chance) / (oracle - chance)")


if __name__ == "__main__":
    main()
