"""The rehearsal: do the real-data loaders lose anything? FashionWorld path vs real-format path.

For each chapter and each seed, side by side in one run: a FashionWorld of that seed, the notebook on
it, then the same notebook (same profile, same model settings, the same seed) on that world exported
in the chapter's real-data layout (``fashionrec.export``, clean: no image left out, one size). The
headline numbers of the two sides are paired by seed and their difference is tested with the book's
one rule (``claims.claim``: the paired difference and its 95 % interval): "no difference resolved"
means the two paths agree within what the seeds can tell apart. The export stores images as JPEG
(quality 90), as the real datasets do, so features computed from them differ from the generator's
pixels in the last bits: expect agreement within the spread over seeds, not identical numbers,
wherever a model reads images.

Each notebook run is its own ``fashionrec run`` process (pinned kernels, as the book) with its own runs
folder, ``--jobs`` at a time (default: one per core); the export of each seed is written first, its
quirks seeded with the world's seed.

Run: ``python benchmarks/rehearsal.py [01 ...] --profile smoke|standard --seeds 0 1 2 [--jobs N]``
(each chapter twice per seed; standard: about two books per seed).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

# the format each chapter is rehearsed on (chapter 1: Polyvore Outfits keeps the world's item ids;
# Maryland's layout gives every outfit entry its own id, so its gallery differs by construction)
FORMAT = {"01_bilstm": "polyvore_outfits", "02_fashionnet": "polyvore_u", "03_c2s": "deepfashion_c2s",
          "04_joint_embedding": "catalog", "05_ctl": "stl_fashion"}
HEADLINES = {"01_bilstm": ("ch1_bilstm_vse_fitb_type", "ch1_bilstm_vse_auc"),
             "02_fashionnet": ("ch2_c_whole_ndcg", "ch2_b_whole_ndcg"),
             "03_c2s": ("ch3_siamese_top20", "ch3_pretrained_top20"),
             "04_joint_embedding": ("ch4_mm_arithmetic", "ch4_mm_combined"),
             "05_ctl": ("ch5_full_accuracy", "ch5_full_auc")}


def image_size(cfg) -> int:
    """The side the export writes its images at: the largest the chapter reads (chapter 5's scenes are
    larger than its products), so the loader only ever scales down, as on the real data."""
    sizes = [getattr(cfg, name) for name in ("image_size", "scene_size", "product_size") if hasattr(cfg, name)]
    return max(sizes, default=64)


def export_root(out: Path, profile: str, fmt: str, seed: int) -> Path:
    return out / "exports" / profile / f"{fmt}-seed{seed}"


def run_side(args: argparse.Namespace, source: Path, seed: int, side: str) -> tuple[dict, float, str]:
    """One notebook run of the rehearsal in its own process and its own runs folder (``fashionrec run``:
    pinned kernels, as the book): (its metrics, its wall seconds, the error's last line or "")."""
    params = ["-p", f"seed={seed}", "-p", f"seeds=[{seed}]"]
    if side != "fashionworld":
        root = export_root(args.out, args.profile, side, seed)
        params += ["-p", f"dataset={side}", "-p", f"data_root={root}"]
    runs = args.out / "runs" / side / f"seed{seed}"
    env = {**os.environ, "FASHIONREC_RUNS": str(runs)}
    cmd = [sys.executable, "-m", "fashionrec", "run", source.stem, "--profile", args.profile, "--jobs", "1",
           "--out", str(args.out / side / f"seed{seed}"), *params]
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode:
        lines = (done.stderr or done.stdout).strip().splitlines() or ["exit status %d" % done.returncode]
        return {}, seconds, lines[-1]
    print(f"rehearsal: {source.stem} seed {seed} on {side}: {seconds:.0f} s", flush=True)
    return numbers(newest_metrics(runs, chapter_of(source), args.profile)), seconds, ""


def chapter_of(source: Path) -> str:
    """The chapter name a notebook's runs are filed under (its Config's ``chapter``)."""
    return importlib.import_module(f"fashionrec.{source.stem[3:]}").Config.for_profile("smoke").chapter


def newest_metrics(runs: Path, chapter: str, profile: str) -> dict:
    files = sorted((runs / chapter / profile).glob("*/metrics.json"), key=lambda p: p.stat().st_mtime)
    return json.loads(files[-1].read_text()) if files else {}


def numbers(metrics: dict) -> dict[str, float]:
    return {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="*", default=list(FORMAT))
    parser.add_argument("--profile", default="smoke", help="smoke | standard (the world and the models)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2],
                        help="one world, export and model per seed, on both sides (the rule pairs them)")
    parser.add_argument("--out", type=Path, default=Path("build/rehearsal"))
    parser.add_argument("--jobs", "-j", type=int, default=None,
                        help="notebook runs at a time (default: fashionrec's default_jobs(), one per core)")
    parser.add_argument("--table", type=Path, default=None, help="also write the table here (the book's "
                                                                  "book/generated/rehearsal_<profile>.md)")
    args = parser.parse_args(argv)
    args.out = args.out.resolve()
    if args.jobs is None:
        from fashionrec.run import default_jobs

        args.jobs = default_jobs()

    import pandas as pd

    from fashionrec import claims
    from fashionrec.export import Quirks, export
    from fashionrec.run import find_notebooks

    sources = find_notebooks(args.chapters)
    for source in sources:  # the exports first (cheap), then every notebook run, ``--jobs`` at a time
        cfg_cls = importlib.import_module(f"fashionrec.{source.stem[3:]}").Config
        for seed in args.seeds:
            root = export_root(args.out, args.profile, FORMAT[source.stem], seed)
            if not root.exists():
                cfg = cfg_cls.for_profile(args.profile, seed=seed, seeds=(seed,))
                export(FORMAT[source.stem], root, args.profile, seed, image_size(cfg), replace(Quirks.none(), seed=seed))
    jobs = [(source, seed, side) for source in sources for seed in args.seeds
            for side in ("fashionworld", FORMAT[source.stem])]
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        done = dict(zip(jobs, pool.map(lambda job: run_side(args, *job), jobs)))
    rows = []
    for source in sources:
        fmt = FORMAT[source.stem]
        per_seed, failed, wall = [], "", {"fashionworld": 0.0, fmt: 0.0}
        for seed in args.seeds:
            for side in ("fashionworld", fmt):
                found, seconds, error = done[(source, seed, side)]
                if error:  # a row that says so, and the other chapters still count
                    failed = f"{side} seed {seed} failed: {error[-90:]}"
                    continue
                wall[side] += seconds
                per_seed += [dict(method=side, seed=seed, metric=k, value=found.get(k, float("nan")))
                             for k in HEADLINES[source.stem]]
        frame = pd.DataFrame(per_seed)
        for metric in HEADLINES[source.stem]:
            if failed:
                rows.append((source.stem, fmt, metric, "", "", "", failed, ""))
                continue
            sub = frame[frame.metric == metric].rename(columns={"value": metric})
            found = claims.claim(sub, fmt, "fashionworld", metric, text=f"{fmt} vs FashionWorld")
            verdict = ("identical" if not any(found.diffs) else
                       "differs" if found.verdict in (claims.HOLDS, claims.REVERSED) else
                       f"no difference resolved ({found.verdict})")
            side = {m: claims.fmt_pm(*claims.mean_sd(sub[sub.method == m][metric].to_numpy()))
                    for m in ("fashionworld", fmt)}
            ci = f"{found.mean:+.3f} [{found.low:+.3f}, {found.high:+.3f}]"
            rows.append((source.stem, fmt, metric, side["fashionworld"], side[fmt], ci, verdict,
                         f"{wall['fashionworld']:.0f} / {wall[fmt]:.0f}"))
    from fashionrec.report import hardware

    hw = hardware()
    seeds = ", ".join(map(str, args.seeds))
    lines = [f"Rehearsal on the `{args.profile}` profile, seeds {seeds} (`python benchmarks/rehearsal.py --profile "
             f"{args.profile}`, {hw['cpu']}, {hw['cores']} cores, {args.jobs} run(s) at a time, "
             f"{time.strftime('%Y-%m-%d')}): per seed, one world, "
             f"its export in the chapter's real-data layout, and the chapter on each; the difference is paired by "
             f"seed and tested with the book's rule (95 % interval).", "",
             "| chapter | format | headline | FashionWorld path | real-format path | difference [95 % CI] "
             "| verdict | wall s (world / export) |", "|---|---|---|---|---|---|---|---|"]
    lines += ["| " + " | ".join(str(x).replace("|", "/") for x in row) + " |" for row in rows]
    if args.table and args.table.exists():  # keep the rows of chapters not re-run, in chapter order
        ran = {row[0] for row in rows}
        kept = [line for line in args.table.read_text().splitlines()
                if line.startswith("| 0") and line.split(" | ")[0][2:] not in ran]
        lines = lines[:4] + sorted(lines[4:] + kept)
    print("\n".join(lines))
    if args.table:
        args.table.parent.mkdir(parents=True, exist_ok=True)
        args.table.write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
