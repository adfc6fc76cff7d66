"""Chapter 3 on CPU: Siamese training throughput, feature extraction speed, and the REST service's
query latency (p50 / p95 over 200 requests).

    python benchmarks/bench_ch3_c2s.py            # standard sizes
    python benchmarks/bench_ch3_c2s.py --requests 50

Training runs the real loop (``train.fit`` on ``PairDataset``) on random CNN-sized features; the
service is the real FastAPI app (in-process client) with EfficientNet-Lite0 at the standard profile's
sizes and a gallery as large as the standard test gallery.
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from fashionrec import c2s
from fashionrec.backbones import build_backbone
from fashionrec.c2s import serve
from fashionrec.records import ConsumerPhoto


def synthetic_split(n_items: int, photos_per_item: int, size: int, rng: np.random.Generator) -> c2s.C2SSplit:
    """A split shaped like FashionWorld's (items, two look-alikes each, four categories); random pixels."""
    cats = np.array(c2s.CATEGORIES)[rng.integers(4, size=n_items)]
    items = [f"i{k:05d}" for k in range(n_items)]
    gallery = items + [f"{i}-la{j}" for i in items for j in (0, 1)]
    categories = np.concatenate([cats, np.repeat(cats, 2)])
    photos = [ConsumerPhoto(f"p{k}-{j}", i, str(c)) for k, (i, c) in enumerate(zip(items, cats))
              for j in range(photos_per_item)]
    row = {g: k for k, g in enumerate(gallery)}
    lookalikes = [[row[f"{p.item_id}-la0"], row[f"{p.item_id}-la1"]] for p in photos]
    images = rng.integers(0, 256, (len(photos), size, size, 3), dtype=np.uint8)
    gallery_images = rng.integers(0, 256, (len(gallery), size, size, 3), dtype=np.uint8)
    return c2s.C2SSplit(photos, images, gallery, categories, gallery_images, lookalikes)


def bench_training(cfg: c2s.Config, rng: np.random.Generator) -> None:
    train = synthetic_split(1317, cfg.train_photos_per_item, 8, rng)
    features = (rng.random((len(train.photos), 1280), dtype=np.float32),
                rng.random((len(train.gallery), 1280), dtype=np.float32))
    epochs = 2
    start = time.perf_counter()
    c2s.train_siamese(replace(cfg, train=replace(cfg.train, epochs=epochs, patience=None)), train, features, seed=0)
    seconds = time.perf_counter() - start
    pairs = epochs * len(train.photos) * (1 + cfg.n_lookalike + cfg.n_random)
    print(f"Siamese training: {epochs * len(train.photos) / seconds:,.0f} consumer photos/s "
          f"({pairs / seconds:,.0f} pairs/s; {len(train.photos)} photos x {1 + cfg.n_lookalike + cfg.n_random} "
          f"candidates, {epochs} epochs in {seconds:.1f} s)")


def bench_features(cfg: c2s.Config, rng: np.random.Generator) -> None:
    images = rng.integers(0, 256, (256, cfg.image_size, cfg.image_size, 3), dtype=np.uint8)
    start = time.perf_counter()
    c2s.whitebox_features(images[:128])
    print(f"white-box features: {128 / (time.perf_counter() - start):,.0f} images/s at {cfg.image_size} px")
    backbone = build_backbone(cfg.backbone, pretrained=cfg.pretrained)
    c2s.cnn_features(backbone, images[:32], cfg.cnn_size)  # warm-up
    start = time.perf_counter()
    c2s.cnn_features(backbone, images, cfg.cnn_size)
    print(f"{cfg.backbone} features: {len(images) / (time.perf_counter() - start):,.0f} images/s "
          f"at {cfg.cnn_size} px")


def bench_service(cfg: c2s.Config, rng: np.random.Generator, requests: int) -> None:
    test = synthetic_split(398, 1, cfg.image_size, rng)  # the standard test gallery: 1,194 items
    backbone = build_backbone(cfg.backbone, pretrained=cfg.pretrained)
    features = c2s.cnn_features(backbone, test.gallery_images, cfg.cnn_size)
    model = c2s.SiameseNet(backbone.dim, cfg.hidden, cfg.embed_dim, cfg.dropout)
    model.set_input_stats(features)
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        client = serve.in_process_client(*serve.save_service(folder, model, cfg, test, features))
        uploads = []
        for image in test.query_images[:20]:
            buffer = io.BytesIO()
            Image.fromarray(image).save(buffer, format="JPEG", quality=90)
            uploads.append(buffer.getvalue())
        for data in uploads[:5]:  # warm-up
            client.post("/search", params={"k": 20}, files={"image": ("q.jpg", data, "image/jpeg")})
        latencies = []
        for k in range(requests):
            start = time.perf_counter()
            r = client.post("/search", params={"k": 20, "category": str(test.query_categories[k % 20])},
                            files={"image": ("q.jpg", uploads[k % 20], "image/jpeg")})
            latencies.append(time.perf_counter() - start)
            assert r.status_code == 200, r.text
    ms = 1000 * np.array(latencies)
    print(f"service /search (k = 20, {len(test.gallery)} items, {cfg.backbone} at {cfg.cnn_size} px): "
          f"p50 {np.percentile(ms, 50):.1f} ms, p95 {np.percentile(ms, 95):.1f} ms over {requests} requests "
          f"(in-process client, CPU, {torch.get_num_threads()} threads)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="standard", choices=["smoke", "standard"])
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    cfg = c2s.Config.for_profile(args.profile)
    rng = np.random.default_rng(0)
    bench_training(cfg, rng)
    bench_features(cfg, rng)
    bench_service(cfg, rng, args.requests)


if __name__ == "__main__":
    main()
