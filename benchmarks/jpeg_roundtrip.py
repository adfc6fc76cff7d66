"""Is the JPEG round trip what is left between the rehearsal's two paths? Chapter 3's frozen-CNN search.

The rehearsal (``benchmarks/rehearsal.py``) finds that both paths build the same task, and that the
real-format path's numbers still differ a little: its images are JPEG (quality 90, as the real
datasets'). This script takes chapter 3's FashionWorld data of one seed, passes every query and gallery
image through an in-memory JPEG round trip at the export's quality, and scores the frozen CNN's top-20
search (category mean, each distance) on the original images, on the round-tripped ones and on the
rehearsal's export of that world read by the DeepFashion loader. If the round trip alone reproduces the
export's numbers, it is what is left. No training: the kNN needs only the frozen features.

Run: ``python benchmarks/jpeg_roundtrip.py --profile standard --seed 0 --export build/rehearsal-standard/
exports/standard/deepfashion_c2s-seed0`` (the export of ``rehearsal.py``).
"""

from __future__ import annotations

import argparse
import io
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np


def jpeg(images: np.ndarray) -> np.ndarray:
    """(N, H, W, 3) uint8 through PIL's JPEG encoder and decoder, as ``export.ImageWriter`` writes them."""
    from PIL import Image

    from fashionrec.export import JPEG_QUALITY

    out = np.empty_like(images)
    for k, im in enumerate(images):
        buf = io.BytesIO()
        Image.fromarray(im).save(buf, format="JPEG", quality=JPEG_QUALITY)
        out[k] = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="standard")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--export", type=Path, required=True, help="the rehearsal's deepfashion_c2s export of this seed")
    parser.add_argument("--k", type=int, default=20)
    args = parser.parse_args(argv)

    from fashionrec import c2s
    from fashionrec.backbones import build_backbone
    from fashionrec.c2s.config import DISTANCES
    from fashionrec.c2s.evaluate import category_mean, topk_curves
    from fashionrec.run import pin_kernels

    pin_kernels()
    cfg = c2s.Config.for_profile(args.profile, seed=args.seed, seeds=(args.seed,))
    world = c2s.load_data(cfg).test
    export = c2s.load_data(replace(cfg, dataset="deepfashion_c2s", data_root=str(args.export))).test
    round_trip = replace(world, query_images=jpeg(world.query_images), gallery_images=jpeg(world.gallery_images))
    backbone = build_backbone(cfg.backbone, pretrained=True)
    ks = np.arange(1, 51)
    print(f"Chapter 3, {args.profile} world seed {args.seed}, frozen {cfg.backbone} features, test split "
          f"({len(world.photos)} queries, {len(world.gallery)} gallery items): top-{args.k} category mean")
    print("| images | " + " | ".join(DISTANCES) + " |")
    print("|---|" + "---:|" * len(DISTANCES))
    for name, split in (("FashionWorld (generator pixels)", world), ("the same, JPEG round trip (quality 90)",
                                                                    round_trip), ("the export, read by the DeepFashion loader", export)):
        q = c2s.cnn_features(backbone, split.query_images, cfg.cnn_size)
        g = c2s.cnn_features(backbone, split.gallery_images, cfg.cnn_size)
        found = [category_mean(topk_curves(q, g, split, d, ks), args.k) for d in DISTANCES]
        print(f"| {name} | " + " | ".join(f"{v:.3f}" for v in found) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
