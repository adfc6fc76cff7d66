"""CPU throughput of each backbone's feature extraction (inference), at 64 and 224 px.

Times ``extract_features`` on one batch of uint8 (B, H, W, 3) images (so the uint8 -> float
conversion is included), after one warm-up batch; reports the median of a few runs. torchvision
backbones use random weights (the machine has no network, and speed does not depend on the
values); EfficientNet-Lite0 uses its shipped ImageNet weights. Inception-v3 needs at least 75 px,
so it runs at 75 px instead of 64.

    python benchmarks/bench_backbones.py            # about 2 minutes on 2 cores
    python benchmarks/bench_backbones.py --names small_cnn resnet18 --sizes 64 128
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from fashionrec.backbones import BACKBONES, build_backbone, extract_features


def time_batch(model, images: np.ndarray, batch_size: int, budget_s: float,
               min_runs: int = 3, max_runs: int = 7) -> tuple[float, int]:
    """Median seconds per batch after one warm-up, and how many runs that took."""
    def once() -> float:
        start = time.perf_counter()
        extract_features(model, images, batch_size=batch_size, progress=False)
        return time.perf_counter() - start

    warm = once()
    runs = int(min(max_runs, max(min_runs, budget_s // max(warm, 1e-6))))
    return statistics.median(once() for _ in range(runs)), runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names", nargs="+", default=list(BACKBONES), choices=list(BACKBONES))
    parser.add_argument("--sizes", nargs="+", type=int, default=[64, 224])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--budget", type=float, default=4.0,
                        help="seconds of timed runs per (backbone, size), at least 3 runs")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch "
          f"{args.batch_size}, inference (torch.inference_mode), CPU\n")
    print("| backbone | weights | dim | px | ms / batch | img/s | runs |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    total = time.perf_counter()
    for name in args.names:
        torch.manual_seed(0)
        model = build_backbone(name)
        weights = "shipped ImageNet" if model.pretrained else (
            "random (trained from scratch)" if name == "small_cnn" else "random")
        for size in args.sizes:
            px = max(size, model.min_size)
            images = rng.integers(0, 256, (args.batch_size, px, px, 3), dtype=np.uint8)
            seconds, runs = time_batch(model, images, args.batch_size, args.budget)
            note = f" (min {model.min_size})" if px != size else ""
            print(f"| {name} | {weights} | {model.dim} | {px}{note} | {1000 * seconds:.0f} | "
                  f"{args.batch_size / seconds:.0f} | {runs} |", flush=True)
        del model
    print(f"\ntotal {time.perf_counter() - total:.0f} s")


if __name__ == "__main__":
    main()
