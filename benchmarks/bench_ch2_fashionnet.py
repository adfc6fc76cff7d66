"""Training throughput of FashionNet A, B, C on CPU, in (positive, negative) outfit pairs per second.

Two settings: the ``standard`` profile (a trainable head on cached mid-level features) and a CNN on
64 px images (``small_cnn``, as the feature network would be without caching). Run:
``python benchmarks/bench_ch2_fashionnet.py [--steps 20] [--threads 2]``.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import torch

from fashionrec import fashionnet as fn


def pairs_per_second(model: fn.FashionNet, pos: torch.Tensor, neg: torch.Tensor, steps: int) -> float:
    """Full training steps (forward on both outfits, rank loss, backward, Adam step)."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    for k in range(steps + 2):  # two warm-up steps
        if k == 2:
            start = time.perf_counter()
        loss = fn.rank_loss(model(pos), model(neg))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return steps * len(pos) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cfg = fn.Config.for_profile("standard")
    cnn = replace(cfg, cached_features=False, backbone="small_cnn", pretrained=False, feature_dim=256)
    settings = [("cached features (standard)", cfg, 128, (112, 1, 1)),
                ("small_cnn on 64 px images", cnn, 32, (3, 64, 64))]
    print(f"CPU, {args.threads} thread(s), {args.steps} steps after 2 warm-ups")
    for name, c, batch, shape in settings:
        for arch in fn.ARCHS:
            model = fn.build_model(arch, c, in_dim=shape[0])
            pos, neg = torch.rand(batch, 3, *shape), torch.rand(batch, 3, *shape)
            rate = pairs_per_second(model, pos, neg, args.steps)
            print(f"{name:28s} FashionNet {arch}: {rate:8.0f} pairs/s (batch {batch})")


if __name__ == "__main__":
    main()
