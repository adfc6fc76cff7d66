"""Chapter 2's stage two at the paper's size: memory and disk per user, extrapolated to 630 and 800 users.

He & Hu fine-tune one FashionNet per user (800 Polyvore users; Polyvore-U has 630). With VGG-16 a
"whole" or "direct" model is the whole network, about 0.54 GB. ``train_per_user`` keeps one user's
model in memory at a time and writes each user's trained parameters to disk (``PerUser``). This
measures, for every stage-two variant (architecture x regime), on the paper preset's network
(VGG-16, ``pretrained=False``) at smoke resolution on a smoke Polyvore-U export:

- peak resident memory (``ru_maxrss``) of a process that holds the shared stage-one model and the
  untrained one (as the notebook does), trains stage two for the first user, then for ``--users``
  users (resuming), and scores every user's test list from disk; its growth from 1 user to
  ``--users`` users is what each extra user costs in memory;
- disk per user (the size of a user's file) and the shared network's size;
- how many elements a float32 difference ``trained - base`` would not restore exactly
  (``base + (trained - base) != trained``): why the files hold the trained tensors, not differences.

Each variant runs in its own process (a process's peak memory never goes down). Then the table and
the extrapolation: disk for 630 and 800 users per variant and for the whole chapter, and whether the
chapter's paper run fits in 16 GB of RAM (the largest variant's peak, plus what the notebook keeps
beside it: the other architectures' stage-one models and the user-conditioned C).

    python benchmarks/bench_ch2_users.py                  # about 9 minutes on 2 busy cores (GB = 2**30 bytes)
    python benchmarks/bench_ch2_users.py --users 3 --image-size 32 --variants C-whole
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

VARIANTS = ("A-whole", "A-direct", "B-partial", "B-whole", "B-direct", "C-partial", "C-whole", "C-direct")
GB = 1024 ** 3


def peak_rss() -> int:
    """Peak resident memory of this process so far, in bytes (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def current_rss() -> int:
    try:
        import psutil

        return psutil.Process().memory_info().rss
    except ImportError:
        return 0


def measure(variant: str, root: Path, users: int, image_size: int, train_outfits: int) -> dict:
    """One variant, in this process: the numbers of the table's row."""
    import torch

    from fashionrec import fashionnet as fn

    arch, regime = variant.split("-")
    torch.manual_seed(0)
    cfg = fn.Config.for_profile("paper", data_root=str(root), pretrained=False, image_size=image_size,
                                max_users=users, device="cpu",
                                stage_two={"epochs": 1})  # one epoch: memory does not depend on it
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = fn.load_data(cfg)
    data.train = {u: v[:train_outfits] for u, v in data.train.items()}  # x 6 negatives = one paper batch
    initial = fn.build_model(arch, cfg)
    general = fn.build_model(arch, cfg)  # stands in for stage one (same size; its values do not matter)
    base = initial if regime == "direct" else general
    model_bytes = fn.state_bytes(general.state_dict())
    before = peak_rss(), current_rss()
    with tempfile.TemporaryDirectory(prefix="bench-ch2-") as tmp:
        folder = Path(tmp) / variant
        t0 = time.perf_counter()
        one = fn.train_per_user(base, data.subset(data.users[:1]), data.items, cfg, regime, 0, "cpu", folder)
        peak_one = peak_rss()
        per_user = fn.train_per_user(base, data, data.items, cfg, regime, 0, "cpu", folder)
        seconds = (time.perf_counter() - t0) / len(data.users)
        peak_all = peak_rss()
        fn.test_scores(base, data.items, data, per_user)
        peak_eval = peak_rss()
        disk = [per_user.disk_bytes(u) for u in per_user.users]
        state, ref = per_user.state(data.users[0]), base.state_dict()
        inexact = sum(int((ref[k] + (v - ref[k]) != v).sum()) for k, v in state.items())
        elements = sum(v.numel() for v in state.values())
        changed = sum(int((ref[k] != v).sum()) for k, v in state.items())
        del one, state
    return dict(variant=variant, users=len(data.users), model_gb=model_bytes / GB,
                stored_gb=per_user.bytes_per_user / GB, disk_gb=sum(disk) / len(disk) / GB,
                rss_models_gb=before[1] / GB, peak_1_gb=peak_one / GB, peak_n_gb=peak_all / GB,
                peak_gb=max(peak_all, peak_eval) / GB, growth_gb=(peak_all - peak_one) / GB,
                inexact=inexact, changed=changed, elements=elements, s_per_user=seconds,
                load_peak_gb=before[0] / GB)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=3, help="users per variant (the growth from 1 to this)")
    parser.add_argument("--image-size", type=int, default=32, help="smoke resolution (VGG-16 needs >= 32)")
    parser.add_argument("--train-outfits", type=int, default=5, help="liked training outfits per user kept "
                        "(x 6 negatives: 30 pairs, one batch of the paper's size)")
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--ram-gb", type=float, default=16.0)
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: measure one variant, print JSON
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print("RESULT " + json.dumps(measure(args.one, args.root, args.users, args.image_size, args.train_outfits)))
        return

    from fashionrec.export import Quirks, export

    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-ch2-export-") as tmp:
        root = Path(tmp) / "polyvore_u"
        export("polyvore_u", root, "smoke", 0, args.image_size, Quirks.none())
        for variant in args.variants:
            cmd = [sys.executable, __file__, "--one", variant, "--root", str(root), "--users", str(args.users),
                   "--image-size", str(args.image_size), "--train-outfits", str(args.train_outfits)]
            out = subprocess.run(cmd, capture_output=True, text=True, env=os.environ)
            line = [x for x in out.stdout.splitlines() if x.startswith("RESULT ")]
            if out.returncode or not line:
                sys.exit(f"{variant} failed:\n{out.stderr[-3000:]}")
            rows.append(json.loads(line[0][7:]))
            print(f"measured {variant}", file=sys.stderr, flush=True)
    report(rows, args)


def report(rows: list[dict], args: argparse.Namespace) -> None:
    import pandas as pd

    table = pd.DataFrame(rows).set_index("variant")
    show = pd.DataFrame({
        "shared net GB": table.model_gb, "stored/user GB": table.stored_gb, "disk/user GB": table.disk_gb,
        "RAM peak GB": table.peak_gb, f"RAM +{args.users - 1} users GB": table.growth_gb,
        "float diff inexact": [f"{r.inexact:,} of {r.elements:,}" for r in table.itertuples()],
        "s/user": table.s_per_user})
    print(f"Stage two per user, VGG-16 (pretrained=False) at {args.image_size} px, batch 30 pairs, "
          f"{args.users} users per variant, CPU, torch {torch_version()}")
    print(show.round(3).to_string())
    print("\nRAM peak: the whole process (Python, torch, data, the shared and the untrained network, one "
          "user's working copy with gradients and SGD momentum, activations of one batch, one user's "
          "file while it is written or read).")
    print("RAM growth from 1 user to the last: what each further user costs in memory (none is kept).")
    print("float diff inexact: elements of one user's trained tensors that base + (trained - base) in "
          "float32 does not restore; the files hold the trained tensors, so the restore is exact.\n")
    ext = pd.DataFrame({f"disk {n} users GB": table.disk_gb * n for n in (630, 800)})
    ext["RAM (any number of users) GB"] = table.peak_gb
    print(ext.round(1).to_string())
    model = table.model_gb
    others = {a: model[[v for v in table.index if v.startswith(a)]].max() for a in "ABC"
              if any(v.startswith(a) for v in table.index)}
    worst = table.peak_gb.idxmax()
    extra = sum(g for a, g in others.items() if a != worst[0]) + others.get("C", 0.0)
    notebook = table.peak_gb.max() + extra
    print(f"\nWhole chapter, every variant, 630 / 800 users: disk {table.disk_gb.sum() * 630:.0f} / "
          f"{table.disk_gb.sum() * 800:.0f} GB ({table.disk_gb.sum():.2f} GB per user over "
          f"{len(table)} variants); shared networks {sum(others.values()):.2f} GB once.")
    print(f"RAM of the paper run: largest variant peak {table.peak_gb.max():.2f} GB ({worst}) + what the "
          f"notebook keeps beside it ({extra:.2f} GB: the other architectures' stage-one models and the "
          f"user-conditioned C) = {notebook:.2f} GB, the same for 630 or 800 users -> "
          f"{'fits' if notebook <= args.ram_gb else 'does NOT fit'} in {args.ram_gb:g} GB "
          f"(before this change: a full copy per user for whole and direct, "
          f"{model.max() * 630:.0f} / {model.max() * 800:.0f} GB per variant in memory).")
    print("At paper resolution (224 px) the activations of a batch of 30 pairs (180 images) grow about "
          "(224/32)^2 = 49x; on a GPU they live in GPU memory, on a CPU run they add to RAM.")


def torch_version() -> str:
    import torch

    return torch.__version__


if __name__ == "__main__":
    main()
