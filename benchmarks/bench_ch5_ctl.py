"""CPU training throughput of the Complete the Look head (triplets/s), and of the frozen feature pass.

The head trains on cached backbone features, so its throughput is the training cost of the chapter;
the one-off feature pass (EfficientNet-Lite0 regions + global vector per masked scene) is timed too.
Synthetic features with the shapes of the ``standard`` profile; medians over a few runs.

    python benchmarks/bench_ch5_ctl.py               # about a minute on 2 cores
    python benchmarks/bench_ch5_ctl.py --batch-size 512 --scene-size 160
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from fashionrec import ctl
from fashionrec.world.world import WorldConfig

def head_throughput(mode: str, batch_size: int, regions: tuple[int, int, int], steps: int) -> float:
    """Triplets per second of forward + backward + Adam step of the CTL head (``mode``).

    A batch row is a scene with its positive and ``train_negatives`` negatives, i.e. that many triplets.
    """
    torch.manual_seed(0)
    cfg = ctl.Config.for_profile("standard")
    channels = ctl.make_backbone(cfg).map_channels
    dim = sum(channels[level] for level in cfg.global_levels)  # the concatenated pooled levels
    model = ctl.CTL(dim, regions[0], dim, 7, cfg.embed_dim, cfg.hidden, cfg.dropout, mode).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = ctl.make_loss(cfg.margin)
    batch = dict(scene_global=torch.rand(batch_size, dim), regions=torch.randn(batch_size, *regions),
                 category=torch.randint(0, 7, (batch_size,)), positive=torch.rand(batch_size, dim),
                 negatives=torch.rand(batch_size, cfg.train_negatives, dim))

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        loss_fn(model, batch).backward()
        opt.step()

    step()  # warm-up
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return batch_size * cfg.train_negatives / statistics.median(times)


def feature_throughput(scene_size: int, n: int = 128, with_regions: bool = True) -> float:
    """Images per second through the frozen EfficientNet-Lite0 (regions + the standard global levels, one
    pass; ``with_regions=False``: products), the median of three timed passes over ``n`` random images."""
    cfg = ctl.Config.for_profile("standard")
    backbone = ctl.make_backbone(cfg)
    images = np.random.default_rng(0).integers(0, 256, (n, scene_size, scene_size, 3), dtype=np.uint8)
    kw = dict(progress=False, with_regions=with_regions, global_levels=cfg.global_levels)
    ctl.backbone_maps(backbone, images[:8], **kw)  # warm-up
    times = []
    for _ in range(3):
        start = time.perf_counter()
        ctl.backbone_maps(backbone, images, batch_size=64, **kw)
        times.append(time.perf_counter() - start)
    return n / statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=ctl.Config.for_profile("standard").train.batch_size)
    parser.add_argument("--scene-size", type=int, default=ctl.Config.for_profile("standard").scene_size)
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    standard = ctl.Config.for_profile("standard")
    side = args.scene_size // 16  # EfficientNet-Lite0's mid map has stride 16
    region_channels = ctl.make_backbone(standard).map_channels[standard.region_level]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch_size}, "
          f"regions {region_channels} x {side} x {side}, {standard.train_negatives} triplets per scene")
    for mode in ctl.MODES:
        rate = head_throughput(mode, args.batch_size, (region_channels, side, side), args.steps)
        print(f"CTL head ({mode:6s}) training: {rate:9.0f} triplets/s")
    cfg = standard
    scenes = {size: feature_throughput(size) for size in sorted({96, args.scene_size})}
    for size, rate in scenes.items():
        print(f"frozen features, {size} px scenes: {rate:9.1f} scenes/s")
    rate = feature_throughput(cfg.product_size, with_regions=False)
    print(f"frozen features, {cfg.product_size} px products: {rate:9.1f} products/s")
    n_scenes = sum(cfg.n_scenes)
    n_products = WorldConfig.for_profile("standard").n_items  # FashionWorld standard: every item
    print(f"standard profile: {n_scenes} scenes at {args.scene_size} px + {n_products} products take about "
          f"{n_scenes / scenes[args.scene_size] + n_products / rate:.0f} s of feature extraction here")


if __name__ == "__main__":
    main()
