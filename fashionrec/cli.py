"""Command line: ``fashionrec run [NOTEBOOK ...] --profile smoke --out build/smoke -p key=value``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fashionrec", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="execute notebooks with papermill")
    run.add_argument("notebooks", nargs="*", help="e.g. 01 or 01_bilstm or bilstm (default: all)")
    run.add_argument("--profile", default="standard", help="smoke | standard | paper")
    run.add_argument("--out", type=Path, default=Path("build/executed"), help="folder for executed notebooks")
    run.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                     help="a notebook parameter, e.g. -p dataset=polyvore -p data_root=/data/polyvore")
    run.add_argument("--keep-going", action="store_true", help="run the rest after a failure")
    run.add_argument("--native-kernels", action="store_true",
                     help="do not pin the CPU kernels to AVX2 and 1 thread (faster on some machines; "
                          "the numbers may then differ from the book's in the last digits)")
    run.add_argument("--jobs", "-j", type=int, metavar="N",
                     help="notebooks at a time (default: one per core, at most 4; 1 with --native-kernels)")
    run.add_argument("--weights", type=Path, metavar="DIR",
                     help="a folder holding torchvision weight files (else the torch hub cache is read)")
    exp = sub.add_parser("export", help="write a FashionWorld in a real dataset's on-disk layout")
    exp.add_argument("format", help="a dataset format, or 'all' (then one folder per format under --out)")
    exp.add_argument("--out", type=Path, required=True, help="the folder to write (the dataset's root)")
    exp.add_argument("--profile", default="smoke", help="the world's size: smoke | standard")
    exp.add_argument("--seed", type=int, default=0, help="the world's seed")
    exp.add_argument("--image-size", type=int, default=128, help="image side in pixels (real data: 300-600)")
    exp.add_argument("--clean", action="store_true", help="no quirks: every image present, one size")
    pp = sub.add_parser("paper-path", help="each chapter's paper profile on a smoke-sized export of its dataset, "
                                            "with the chapter's explicit CPU size overrides")
    pp.add_argument("notebooks", nargs="*", help="chapters, e.g. 01 03 (default: 01-05)")
    pp.add_argument("--out", type=Path, default=Path("build/paper-path"), help="exports and executed notebooks")
    pp.add_argument("--keep-going", action="store_true", help="run the rest after a failure")
    pp.add_argument("--jobs", "-j", type=int, metavar="N", help="chapters at a time (default: one per core, at most 4)")
    wts = sub.add_parser("weights", help="download torchvision ImageNet weights into the torch hub cache "
                                         "(needs network; the runs never download)")
    wts.add_argument("names", nargs="+", help="backbones, e.g. inception_v3 vgg16 resnet50")
    sub.add_parser("pins", help="print the kernel pins as shell exports (eval \"$(fashionrec pins)\")")
    lst = sub.add_parser("list", help="list the notebooks")
    lst.add_argument("--xdist-order", type=int, metavar="WORKERS",
                     help="print the executed pages notebooks/*.ipynb in the order that suits "
                          "pytest -n WORKERS --dist loadfile (scripts/test.sh --book)")
    cmp = sub.add_parser("compare", help="diff the receipt cells of executed notebooks (exit 1 if any differ)")
    cmp.add_argument("a", type=Path, help="an executed notebook, or a folder of them")
    cmp.add_argument("b", type=Path, help="the same, to compare with")
    from .datasets import check

    check.add_parser(sub)  # fashionrec check FORMAT DATA_ROOT [--report FILE]
    args = parser.parse_args(argv)
    if args.command == "check":
        return check.main(args)

    from .run import find_notebooks, parse_params, run_notebooks

    if args.command == "compare":
        from .run import compare_receipts

        pairs = ([(p, args.b / p.name) for p in sorted(args.a.glob("*.ipynb"))] if args.a.is_dir()
                 else [(args.a, args.b)])
        differ = 0
        for a, b in pairs:
            if not b.exists():
                print(f"{b}: missing")
                differ += 1
                continue
            diff = compare_receipts(a, b)
            print(f"{a.name}: {'identical receipts' if not diff else 'receipts differ'}")
            print(*diff, sep="\n") if diff else None
            differ += bool(diff)
        return 1 if differ else 0
    if args.command == "export":
        from .export import FORMATS, Quirks, export

        formats = list(FORMATS) if args.format == "all" else [args.format]
        try:
            for fmt in formats:
                root = args.out / fmt if args.format == "all" else args.out
                quirks = Quirks.none() if args.clean else Quirks(seed=args.seed)
                print(export(fmt, root, args.profile, args.seed, args.image_size, quirks).summary())
        except ValueError as err:
            print(f"fashionrec: {err}", file=sys.stderr)
            return 2
        return 0
    if args.command == "paper-path":
        from .run import paper_path

        try:
            failures = paper_path(args.notebooks, args.out, args.keep_going, jobs=args.jobs)
        except ValueError as err:  # an unusable --out or an unknown chapter: one line, no traceback
            print(f"fashionrec paper-path: error: {err}", file=sys.stderr)
            return 2
        if failures:
            print(f"{len(failures)} paper-path run(s) failed:", *failures, sep="\n", file=sys.stderr)
            return 1
        return 0
    if args.command == "weights":
        from .backbones import download_weights

        for name in args.names:
            print(f"{name}: {download_weights(name)}")
        return 0
    if args.command == "pins":
        from .run import KERNEL_PINS

        for key, value in KERNEL_PINS.items():
            print(f"export {key}={value}")
        return 0
    if args.command == "list":
        if args.xdist_order:
            import os

            from .run import xdist_order

            pages = [p.with_suffix(".ipynb") for p in find_notebooks() if p.with_suffix(".ipynb").exists()]
            print(*(os.path.relpath(p) for p in xdist_order(pages, args.xdist_order)), sep="\n")
            return 0
        for path in find_notebooks():
            print(path.stem)
        return 0
    if args.weights is not None:  # the notebook kernels inherit it (backbones.find_weights)
        import os

        os.environ["FASHIONREC_WEIGHTS"] = str(args.weights.resolve())
    try:
        failures = run_notebooks(args.notebooks, args.out, args.profile, parse_params(args.param), args.keep_going,
                                 args.native_kernels, args.jobs)
    except ValueError as err:  # a bad -p name or value, --out, profile or notebook: one line, no traceback
        print(f"fashionrec run: error: {err}", file=sys.stderr)
        return 2
    if failures:
        print(f"{len(failures)} notebook(s) failed:", *failures, sep="\n", file=sys.stderr)
        return 1
    return 0
