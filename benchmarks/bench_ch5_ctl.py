"""CPU training throughput of the Complete the Look head (triplets/s), and of the frozen feature pass.

The head trains on cached backbone features, so its throughput is the training cost of the chapter;
the one-off feature pass (EfficientNet-Lite0 regions + global vector per masked scene) is timed too.
Synthetic features with the shapes of the ``standard`` profile; medians over a few runs.

    python benchmarks/bench_ch5_ctl.py               # about a minute on 2 cores
    python benchmarks/bench_ch5_ctl.py --batch-size 512 --scene-size 96
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from fashionrec.models import ctl


def head_throughput(mode: str, batch_size: int, regions: tuple[int, int, int], steps: int) -> float:
    """Triplets per second of forward + backward + Adam step of the CTL head (``mode``).

    A batch row is a scene with its positive and ``train_negatives`` negatives, i.e. that many triplets.
    """
    torch.manual_seed(0)
    cfg = ctl.CTLConfig.for_profile("standard")
    model = ctl.CTL(1280, regions[0], 1280, 7, cfg.embed_dim, cfg.hidden, cfg.dropout, mode).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = ctl.make_loss(cfg.margin)
    batch = dict(scene_global=torch.rand(batch_size, 1280), regions=torch.randn(batch_size, *regions),
                 category=torch.randint(0, 7, (batch_size,)), positive=torch.rand(batch_size, 1280),
                 negatives=torch.rand(batch_size, cfg.train_negatives, 1280))

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


def feature_throughput(scene_size: int, n: int = 64) -> float:
    """Masked scenes per second through the frozen EfficientNet-Lite0 (regions + global, one pass)."""
    backbone = ctl.make_backbone(ctl.CTLConfig.for_profile("standard"))
    images = np.random.default_rng(0).integers(0, 256, (n, scene_size, scene_size, 3), dtype=np.uint8)
    ctl.backbone_maps(backbone, images[:8], progress=False)  # warm-up
    start = time.perf_counter()
    ctl.backbone_maps(backbone, images, batch_size=32, progress=False)
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=ctl.CTLConfig.for_profile("standard").train.batch_size)
    parser.add_argument("--scene-size", type=int, default=ctl.CTLConfig.for_profile("standard").scene_size)
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    side = args.scene_size // 16  # EfficientNet-Lite0's mid map has stride 16
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch_size}, "
          f"regions 112 x {side} x {side}, {ctl.CTLConfig.for_profile('standard').train_negatives} triplets per scene")
    for mode in ctl.MODES:
        rate = head_throughput(mode, args.batch_size, (112, side, side), args.steps)
        print(f"CTL head ({mode:6s}) training: {rate:9.0f} triplets/s")
    print(f"frozen features, {args.scene_size} px scenes: {feature_throughput(args.scene_size):9.1f} scenes/s")


if __name__ == "__main__":
    main()
