"""The GPU check: each chapter's ``paper`` profile, briefly, on CUDA, with projected full-run times.

For each chapter: a smoke-sized FashionWorld exported in the paper dataset's layout at the paper's
image resolution (``fashionrec.export``), then the chapter's notebook on it with ``profile="paper"``,
``device="cuda"``, one epoch, random weights (a GPU machine without network has no ImageNet files),
4 loader workers with pinned memory (``train.loader_options``). ``train.fit`` trains under bf16
autocast on CUDA (channels_last convolutions: set here, opt-in elsewhere) and writes each training's
samples, seconds and peak GPU memory to the run's ``timings.json``; this script reads them and
prints samples/s, peak memory and the projected time of the full paper run (paper epochs x paper
training samples / measured samples per second).

Run: ``bash scripts/gpu_check.sh`` (at most about 8 minutes on one GPU). On a CPU it runs too
(``--device cpu --image-size 64``), to check the script itself; its times then mean nothing.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
from pathlib import Path

# Training samples per epoch of each full paper run, and what a sample is (book/papers.md sources).
PAPER_SAMPLES = {
    "01_bilstm": (17_316, "outfits (Maryland Polyvore train split)"),
    "02_fashionnet": (800 * 202, "positive outfits (800 users x 202, stage one)"),
    "03_c2s": (98_768, "consumer-shop pairs (DeepFashion train split)"),
    "04_joint_embedding": (500_000, "catalog items (about 0.5 M, Sadeh et al.)"),
    "05_ctl": (72_198, "scene-product pairs (STL-Fashion)"),
}


def newest_timings(runs: Path, chapter: str) -> list[dict]:
    files = sorted((runs / chapter / "paper").glob("*/timings.json"), key=lambda p: p.stat().st_mtime)
    return json.loads(files[-1].read_text())["stages"] if files else []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="*", default=list(PAPER_SAMPLES))
    parser.add_argument("--out", type=Path, default=Path("build/gpu-check"))
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--image-size", type=int, default=None, help="default: each paper preset's")
    parser.add_argument("--timeout", type=int, default=90, help="seconds per notebook cell (papermill)")
    parser.add_argument("--workers", type=int, default=None,
                        help="DataLoader workers of each training loader (train.num_workers; pinned memory "
                             "on CUDA comes with train.loader_options); default 4 on CUDA, 0 on CPU")
    args = parser.parse_args(argv)

    from fashionrec.export import export
    from fashionrec.run import NotebookFailed, execute, find_notebooks

    workers = args.workers if args.workers is not None else (4 if args.device.startswith("cuda") else 0)
    runs = (args.out / "runs").resolve()
    os.environ["FASHIONREC_RUNS"] = str(runs)
    os.environ["FASHIONREC_CHECKPOINTS"] = "0"
    os.environ["FASHIONREC_CHANNELS_LAST"] = "1"  # opt-in in train.fit until a GPU run has checked it
    rows = []
    for source in find_notebooks(args.chapters):
        cfg_cls = importlib.import_module(f"fashionrec.{source.stem[3:]}").Config
        paper = cfg_cls.for_profile("paper")
        size = args.image_size or getattr(paper, "image_size", 224)
        root = (args.out / "exports" / paper.dataset).resolve()
        if not root.exists():
            export(paper.dataset, root, "smoke", 0, size)
        # the CPU sizes of the paper path, less its image sizes (the paper's resolution here)
        overrides = {**{k: v for k, v in cfg_cls.PAPER_ON_CPU.items() if not k.endswith("_size") and k != "train"},
                     "pretrained": False, "train": {"epochs": 1, "num_workers": workers}}
        if args.image_size and hasattr(paper, "image_size"):
            overrides["image_size"] = args.image_size
        start = time.perf_counter()
        try:
            execute(source, args.out, "paper", {"dataset": paper.dataset, "data_root": str(root),
                                                "device": args.device, "overrides": overrides}, args.timeout)
            status = "ran"
        except (NotebookFailed, RuntimeError, TimeoutError) as err:
            status = f"failed: {str(err).splitlines()[0][:80]}"
        wall = time.perf_counter() - start
        stages = newest_timings(runs, paper.chapter)
        samples = sum(s.get("samples", 0) for s in stages)
        seconds = sum(s["seconds"] for s in stages)
        peak = max((s.get("peak_bytes") or 0 for s in stages), default=0)
        rate = samples / seconds if seconds and samples else float("nan")
        n, what = PAPER_SAMPLES[source.stem]
        projected = paper.train.epochs * n / rate / 3600 if rate == rate else float("nan")
        rows.append((source.stem, status, size, samples, rate, peak / 2**30, paper.train.epochs, what, projected, wall))
    device = args.device
    if device == "cuda":
        import torch

        device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cuda (not available)"
    print(f"GPU check on {device}")
    print("| chapter | status | image px | samples trained | samples/s | peak GPU GiB | full run: epochs x samples "
          "| projected full run (h) | wall s |")
    print("|---|---|---:|---:|---:|---:|---|---:|---:|")
    for stem, status, size, samples, rate, peak, epochs, what, projected, wall in rows:
        print(f"| {stem} | {status} | {size} | {samples} | {rate:.1f} | {peak:.2f} | {epochs} x {what} "
              f"| {projected:.1f} | {wall:.0f} |")
    return 0 if all(r[1] == "ran" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
