"""Chapter 3's REST service under load on 127.0.0.1: latency p50 / p99 and errors per concurrency.

Starts ``python -m fashionrec.c2s.serve`` (a real uvicorn server) on a free loopback port with the
smoke service of ``tests/test_ch3_serve.py`` (small_cnn, the smoke world's test gallery, 32 px),
then sends ``--requests`` ``POST /search`` per concurrency level from that many keep-alive clients,
good photos mixed with bad uploads (a decompression bomb, a JPEG cut in its header, a text file),
each of which must get its expected status. The suite runs the same ``load`` at 40 requests, 4 at
a time (``tests/test_bad_input_service.py::test_bounded_load_on_loopback``).

    python benchmarks/bench_serve_load.py                      # about 2 minutes on 2 busy cores
    python benchmarks/bench_serve_load.py --requests 400 --concurrency 1 8 32
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
import test_bad_input_service as t  # noqa: E402
import test_ch3_serve  # noqa: E402

from fashionrec import c2s  # noqa: E402
from fashionrec.backbones import build_backbone, extract_features  # noqa: E402
from fashionrec.c2s import serve  # noqa: E402
from fashionrec.world.world import World, WorldConfig  # noqa: E402


def build_service(folder: Path) -> dict:
    """The test suite's service files (see ``tests/test_ch3_serve.py::service``)."""
    world = World.build(WorldConfig.for_profile("smoke"))
    data = c2s.data.fashionworld_split(world, "test", photos_per_item=1, size=test_ch3_serve.SIZE)
    torch.manual_seed(0)
    backbone = build_backbone("small_cnn")
    features = extract_features(backbone, data.gallery_images, progress=False)
    model = c2s.SiameseNet(backbone.dim, hidden=32, embed_dim=16, dropout=0.0)
    model.set_input_stats(features)
    c2s.save_siamese(folder / "siamese.pt", model, backbone_state=backbone.state_dict(), backbone="small_cnn",
                     pretrained=False, image_size=test_ch3_serve.SIZE, cnn_size=test_ch3_serve.SIZE)
    serve.save_gallery(folder / "gallery.npz", data.gallery, data.gallery_categories, data.gallery_images,
                       features, "small_cnn", test_ch3_serve.SIZE)
    return {"checkpoint": folder / "siamese.pt", "gallery": folder / "gallery.npz", "data": data}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="requests per concurrency level")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16])
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        service = build_service(Path(tmp))
        photos = service["data"].query_images
        uploads = [(serve.png_bytes(photos[k % len(photos)]), 200) for k in range(7)]
        uploads += [(t.bomb_png(), 413), (t.jpeg_cut_in_header(), 400), (b"not a photo", 415)]
        with t.serving(service) as base:
            print(f"{'concurrency':>11} {'requests':>8} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>7} {'errors':>6}")
            for c in args.concurrency:
                out = t.load(base, uploads, args.requests, c)
                lat = out["latencies"]
                print(f"{c:>11} {len(lat):>8} {t.percentile_ms(lat, 50):>8.1f} {t.percentile_ms(lat, 99):>8.1f} "
                      f"{len(lat) / out['wall']:>7.1f} {len(out['errors']):>6}")
                if out["errors"]:
                    print("   first errors:", out["errors"][:3])
    print(f"uploads: {sum(s == 200 for _, s in uploads)} good photos, {sum(s != 200 for _, s in uploads)} bad "
          f"(bomb 413, cut JPEG 400, text 415) in a cycle; {np.mean([len(u) for u, _ in uploads]):.0f} B on average")
    return 0


if __name__ == "__main__":
    sys.exit(main())
