"""FashionWorld generation speed on one core: catalog items/s (attributes + text + 64 px image), outfits/s.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_world.py [--profile standard]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from fashionrec.world.catalog import make_items  # noqa: E402
from fashionrec.world.render import render_items  # noqa: E402
from fashionrec.world.world import World, WorldConfig  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--profile", default="standard")
    parser.add_argument("--items", type=int, default=5000)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    start = time.perf_counter()
    items, _ = make_items(args.items, rng)
    t_attr = time.perf_counter() - start
    start, cpu = time.perf_counter(), time.process_time()
    render_items(items, list(range(len(items))), size=64)
    t_img, c_img = time.perf_counter() - start, time.process_time() - cpu
    print(f"catalog: {args.items / t_attr:,.0f} items/s attributes + text; {args.items / t_img:,.0f} items/s "
          f"64 px images ({args.items / c_img:,.0f} per CPU second); {args.items / (t_attr + t_img):,.0f} items/s "
          "together (one core, wall clock; on a busy machine the CPU-second rate is the fair one)")

    cfg = WorldConfig.for_profile(args.profile)
    start = time.perf_counter()
    world = World.generate(cfg)
    t_world = time.perf_counter() - start
    n_outfits = sum(len(v) for v in world.outfits.values()) + sum(
        len(o) for per in world.user_outfits.values() for o in per.values())
    print(f"world '{args.profile}': {len(world.items)} items, {n_outfits} outfits (incl. users') in {t_world:.1f} s "
          f"= {n_outfits / t_world:,.0f} outfits/s")


if __name__ == "__main__":
    main()
