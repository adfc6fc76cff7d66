"""The rehearsal: do the real-data loaders lose anything? FashionWorld path vs real-format path.

For each chapter, side by side in one run: the notebook on FashionWorld, then the same notebook
(same profile, same model settings) on a FashionWorld exported in the chapter's real-data layout
(``fashionrec.export``, clean: no image left out, one size). Both write ``metrics.json``; this script
prints, for the numbers both runs recorded, how many are identical and the largest difference, and
the chapter's headline numbers side by side. The export stores images as JPEG (quality 90), as the
real datasets do, so features computed from them differ from the generator's pixels in the last
bits: expect numbers within the spread over seeds, not identical, wherever a model reads images.

Run: ``python benchmarks/rehearsal.py [01 ...] --profile smoke|standard`` (standard: about as long
as the book, twice).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
from pathlib import Path

# the format each chapter is rehearsed on (chapter 1: Polyvore Outfits keeps the world's item ids;
# Maryland's layout gives every outfit entry its own id, so its gallery differs by construction)
FORMAT = {"01_bilstm": "polyvore_outfits", "02_fashionnet": "polyvore_u", "03_c2s": "deepfashion_c2s",
          "04_joint_embedding": "catalog", "05_ctl": "stl_fashion"}
# settings both sides use where the real-format loader needs them (Polyvore-U reads images from files)
BOTH = {"02_fashionnet": {"cached_features": False, "feature_dim": 1280}}
HEADLINES = {"01_bilstm": ("ch1_bilstm_vse_fitb_type", "ch1_bilstm_vse_auc"),
             "02_fashionnet": ("ch2_c_whole_ndcg", "ch2_b_whole_ndcg"),
             "03_c2s": ("ch3_siamese_top20", "ch3_pretrained_top20"),
             "04_joint_embedding": ("ch4_mm_arithmetic", "ch4_mm_combined"),
             "05_ctl": ("ch5_full_accuracy", "ch5_full_auc")}


def newest_metrics(runs: Path, chapter: str, profile: str) -> dict:
    files = sorted((runs / chapter / profile).glob("*/metrics.json"), key=lambda p: p.stat().st_mtime)
    return json.loads(files[-1].read_text()) if files else {}


def numbers(metrics: dict) -> dict[str, float]:
    return {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="*", default=list(FORMAT))
    parser.add_argument("--profile", default="smoke", help="smoke | standard (the world and the models)")
    parser.add_argument("--out", type=Path, default=Path("build/rehearsal"))
    parser.add_argument("--table", type=Path, default=None, help="also write the table here (the book's "
                                                                  "book/generated/rehearsal_<profile>.md)")
    args = parser.parse_args(argv)

    from fashionrec.export import Quirks, export
    from fashionrec.run import NotebookFailed, execute, find_notebooks, pin_kernels

    pin_kernels()
    rows = []
    for source in find_notebooks(args.chapters):
        fmt = FORMAT[source.stem]
        cfg_cls = importlib.import_module(f"fashionrec.{source.stem[3:]}").Config
        cfg = cfg_cls.for_profile(args.profile)
        size = getattr(cfg, "image_size", 64)
        root = (args.out / "exports" / args.profile / fmt).resolve()
        if not root.exists():
            export(fmt, root, args.profile, cfg.seed, size, Quirks.none())
        found, failed = {}, ""
        both = {"overrides": BOTH[source.stem]} if source.stem in BOTH else {}
        for side, params in (("fashionworld", both), (fmt, {"dataset": fmt, "data_root": str(root), **both})):
            runs = (args.out / "runs" / side).resolve()
            os.environ["FASHIONREC_RUNS"] = str(runs)
            start = time.perf_counter()
            try:
                execute(source, args.out / side, args.profile, params)
            except NotebookFailed as err:  # a row that says so, and the other chapters still run
                found[side] = ({}, time.perf_counter() - start)
                failed = f"{side} run failed: {str(err).splitlines()[0][-90:]}"
                continue
            found[side] = (numbers(newest_metrics(runs, cfg.chapter, args.profile)), time.perf_counter() - start)
        (world, t_world), (real, t_real) = found["fashionworld"], found[fmt]
        shared = sorted(set(world) & set(real))
        diffs = {k: abs(world[k] - real[k]) for k in shared}
        worst = max(diffs, key=diffs.get) if diffs else ""
        heads = "; ".join(f"{k}: {world.get(k, float('nan')):.3f} vs {real.get(k, float('nan')):.3f}"
                          for k in HEADLINES[source.stem])
        rows.append((source.stem, fmt, len(shared), sum(d == 0 for d in diffs.values()),
                     failed or f"{diffs.get(worst, 0):.3f} ({worst})", heads, f"{t_world:.0f} / {t_real:.0f}"))
    from fashionrec.report import hardware

    hw = hardware()
    lines = [f"Rehearsal on the `{args.profile}` profile (`python benchmarks/rehearsal.py --profile {args.profile}`, "
             f"{hw['cpu']}, {hw['cores']} cores, {time.strftime('%Y-%m-%d')}): the FashionWorld path vs the same "
             f"world through the real-data loader.", "",
             "| chapter | format | numbers compared | identical | largest difference | headline: world vs export "
             "| wall s (world / export) |", "|---|---|---:|---:|---|---|---|"]
    lines += ["| " + " | ".join(str(x).replace("|", "/") for x in row) + " |" for row in rows]
    print("\n".join(lines))
    if args.table:
        args.table.parent.mkdir(parents=True, exist_ok=True)
        args.table.write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
