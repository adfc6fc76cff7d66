"""What a hostile upload costs the chapter 3 service: peak memory and time to answer (issue 20).

Cases: a 48 KB decompression-bomb PNG (1-bit, 20000 x 20000), a 143-byte 20000 x 1 PNG (small, but
a 400 Mpx square once padded), a 52 KB 6300 x 6300 (39.7 Mpx) grey PNG (just under the pixel limit) and an ordinary
64 x 48 JPEG. Each case runs in its own process (a process's peak memory never goes down): build a
small service (``small_cnn``, 8 gallery items, 32 px), answer one good photo (the baseline), then the
case; the table shows the status, the time to answer and the growth of the peak resident memory
(``ru_maxrss``) during that request.

    python benchmarks/bench_bad_images.py           # about a minute on 2 busy cores (MB = 2**20 bytes)
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from test_bad_input_images import bomb_png, encode, good_jpeg, wide_png  # noqa: E402

SIZE = 32


def big_png() -> bytes:
    """52 KB: a 6300 x 6300 (39.7 Mpx) grey PNG."""
    from PIL import Image

    return encode(Image.new("L", (6300, 6300), 128))


CASES = {"48 KB bomb PNG": bomb_png, "143 B 20000x1 PNG": wide_png, "39.7 Mpx PNG": big_png,
         "64x48 JPEG": good_jpeg}


def build_service(folder: Path):
    """A checkpoint and gallery as the chapter 3 notebook writes them, at a tiny size."""
    import torch

    from fashionrec import c2s
    from fashionrec.backbones import build_backbone, extract_features
    from fashionrec.c2s import serve

    torch.manual_seed(0)
    images = (np.random.default_rng(0).random((8, SIZE, SIZE, 3)) * 255).astype(np.uint8)
    backbone = build_backbone("small_cnn")
    features = extract_features(backbone, images, progress=False)
    model = c2s.SiameseNet(backbone.dim, hidden=32, embed_dim=16, dropout=0.0)
    model.set_input_stats(features)
    c2s.save_siamese(folder / "siamese.pt", model, backbone_state=backbone.state_dict(), backbone="small_cnn",
                     pretrained=False, image_size=SIZE, cnn_size=SIZE)
    serve.save_gallery(folder / "gallery.npz", [f"i{k}" for k in range(8)], ["tops"] * 8, images, features,
                       "small_cnn", SIZE)
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

    return TestClient(serve.create_app(folder / "siamese.pt", folder / "gallery.npz"), raise_server_exceptions=False)


def measure(case: str) -> dict:
    """One case in this process: status, seconds and peak-RSS growth (MB) of its request."""
    payload = CASES[case]()
    with tempfile.TemporaryDirectory() as tmp:
        client = build_service(Path(tmp))
        client.post("/search", params={"k": 3}, files={"image": ("a.jpg", good_jpeg())})  # warm up
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start = time.perf_counter()
        r = client.post("/search", params={"k": 3}, files={"image": ("x.png", payload)})
        seconds = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    detail = r.json().get("detail", "") if r.headers.get("content-type") == "application/json" else r.text
    return {"case": case, "bytes": len(payload), "status": r.status_code, "seconds": seconds,
            "peak_mb": (after - before) / 1024, "detail": str(detail)[:60]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--case", choices=sorted(CASES), help="run one case in this process (JSON out)")
    args = parser.parse_args(argv)
    if args.case:
        print(json.dumps(measure(args.case)))
        return 0
    print(f"{'case':<20} {'bytes':>8} {'status':>6} {'seconds':>8} {'peak RSS +MB':>12}  detail")
    for case in CASES:
        out = subprocess.run([sys.executable, __file__, "--case", case], capture_output=True, text=True, cwd=ROOT)
        if out.returncode != 0:
            print(f"{case:<20} failed: {out.stderr.strip().splitlines()[-1:]}")
            continue
        m = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{case:<20} {m['bytes']:>8} {m['status']:>6} {m['seconds']:>8.3f} {m['peak_mb']:>12.1f}  {m['detail']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
