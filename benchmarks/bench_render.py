"""Throughput of FashionWorld's renderer on one core: ``python benchmarks/bench_render.py``.

Prints items/s (product images at 64 and 128 px), consumer photos/s (64 px) and scenes/s
(128 px) for a few thousand random items, per second of CPU time (``time.process_time``, less
disturbed by other processes on a shared machine) and per second of wall time.
"""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy: one core

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from fashionrec.records import Item  # noqa: E402
from fashionrec.world.render import render_consumer_photo, render_items  # noqa: E402
from fashionrec.world.scene import render_scene  # noqa: E402
from fashionrec.world.vocab import (CATEGORY_OF, COLORS, MATERIALS, PATTERNS,  # noqa: E402
                                    SUBCATEGORY_LIST)


def random_items(n: int, seed: int = 0) -> list[Item]:
    rng = np.random.default_rng(seed)
    items = []
    for k in range(n):
        sub = SUBCATEGORY_LIST[rng.integers(len(SUBCATEGORY_LIST))]
        colors = tuple(str(c) for c in rng.choice(COLORS, size=rng.integers(1, 3), replace=False))
        items.append(Item(f"item-{k}", CATEGORY_OF[sub], sub, colors=colors,
                          pattern=str(rng.choice(PATTERNS)), material=str(rng.choice(MATERIALS))))
    return items


def rate(fn, n: int) -> tuple[float, float]:
    """(per CPU second, per wall second) of ``fn(n)``, after a warm-up that fills the caches."""
    fn(max(1, n // 10))
    cpu, wall = time.process_time(), time.perf_counter()
    fn(n)
    return n / (time.process_time() - cpu), n / (time.perf_counter() - wall)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=3000, help="items per measurement")
    args = parser.parse_args()
    n = args.n
    items = random_items(n)
    seeds = list(range(n))
    by_category: dict[str, list[int]] = {}
    for k, item in enumerate(items):
        by_category.setdefault(item.category, []).append(k)
    outfits = [[by_category[c][j % len(by_category[c])] for c in ("top", "bottom", "shoes", "bag")]
               for j in range(n)]

    print(f"OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}, {n} random items; "
          f"rates per CPU second (per wall second)")
    for size in (64, 128):
        cpu, wall = rate(lambda m, size=size: render_items(items[:m], seeds[:m], size), n)
        print(f"render_items          {size:3d} px: {cpu:7.0f} ({wall:7.0f}) items/s")
    cpu, wall = rate(lambda m: [render_consumer_photo(items[k], k, k + 1, 64)
                                for k in range(m)], n)
    print(f"render_consumer_photo  64 px: {cpu:7.0f} ({wall:7.0f}) photos/s")
    cpu, wall = rate(lambda m: [render_scene([items[k] for k in outfits[j]], outfits[j], j, 128)
                                for j in range(m)], max(1, n // 4))
    print(f"render_scene 128 px, 4 items: {cpu:7.0f} ({wall:7.0f}) scenes/s")


if __name__ == "__main__":
    main()
