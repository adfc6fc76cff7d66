"""Chapter 1 training throughput on CPU: outfits/s and items/s of the Bi-LSTM + VSE training step.

    python benchmarks/bench_ch1_bilstm.py [--threads 2] [--steps 20]

Two encoders: the book's (cached frozen features + a trainable layer, what ``standard`` trains) and
end-to-end fine-tuning of a backbone on 64 px images (what the ``paper`` profile does with
Inception-v3 at 299 px on a GPU; here small_cnn so that it finishes on a CPU).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import numpy as np
import torch

from fashionrec import bilstm


def batch_of(n_outfits: int, feature_dim: int | None, size: int, rng: np.random.Generator,
             pool: int = 0) -> dict[str, torch.Tensor]:
    """A batch as ``bilstm.collate_outfits`` makes it: distinct items (or a pool of ``pool`` items), an index."""
    lengths = torch.from_numpy(rng.integers(3, 8, n_outfits))
    n = int(lengths.sum())
    u = pool or n
    inputs = (torch.randn(u, feature_dim) if feature_dim else torch.rand(u, 3, size, size))
    tokens = torch.from_numpy(rng.integers(0, 100, (u, 8)))
    index = torch.from_numpy(rng.choice(u, n, replace=False)) if pool else torch.arange(n)
    return {"inputs": inputs, "tokens": tokens, "index": index, "lengths": lengths}


def bench(name: str, cfg: bilstm.Config, feature_dim: int, steps: int, warmup: int = 3, pool: int = 0) -> None:
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    model = bilstm.build_model(cfg, "bilstm_vse", feature_dim, vocab_size=100)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    batches = [batch_of(cfg.train.batch_size, None if cfg.finetune else feature_dim, cfg.image_size, rng, pool)
               for _ in range(4)]
    model.train()
    times, outfits, items = [], 0, 0
    for k in range(warmup + steps):
        batch = batches[k % len(batches)]
        start = time.perf_counter()
        loss = model.loss(batch)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        if k >= warmup:
            times.append(time.perf_counter() - start)
            outfits += len(batch["lengths"])
            items += int(batch["lengths"].sum())  # outfit items (duplicates counted)
    total = sum(times)
    print(f"{name:58s} {outfits / total:8.0f} outfits/s {items / total:9.0f} items/s "
          f"({1000 * np.median(times):.0f} ms/step, batch {cfg.train.batch_size} outfits)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads, CPU")
    cfg = bilstm.Config.for_profile("standard")
    bench("standard: frozen features (224-d) + layer, dims 128", cfg, 224, args.steps)
    bench("softmax over all 2,656 training images (softmax='pool')", cfg, 224, args.steps, pool=2656)
    wide = replace(cfg, embed_dim=512, lstm_dim=512)
    bench("frozen features, paper dims 512", wide, 224, args.steps)
    tuned = replace(cfg, finetune=True, backbone="small_cnn", pretrained=False, trunk_dim=None,
                    train=replace(cfg.train, batch_size=10))
    bench("fine-tuned small_cnn on 64 px images, batch 10 (paper's)", tuned, 0, max(3, args.steps // 4))


if __name__ == "__main__":
    main()
