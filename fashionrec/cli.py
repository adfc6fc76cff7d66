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
                     help="do not pin the CPU kernels to AVX2 and 2 threads (faster on some machines; "
                          "the numbers may then differ from the book's in the last digits)")
    sub.add_parser("pins", help="print the kernel pins as shell exports (eval \"$(fashionrec pins)\")")
    sub.add_parser("list", help="list the notebooks")
    cmp = sub.add_parser("compare", help="diff the receipt cells of executed notebooks (exit 1 if any differ)")
    cmp.add_argument("a", type=Path, help="an executed notebook, or a folder of them")
    cmp.add_argument("b", type=Path, help="the same, to compare with")
    args = parser.parse_args(argv)

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
    if args.command == "pins":
        from .run import KERNEL_PINS

        for key, value in KERNEL_PINS.items():
            print(f"export {key}={value}")
        return 0
    if args.command == "list":
        for path in find_notebooks():
            print(path.stem)
        return 0
    try:
        failures = run_notebooks(args.notebooks, args.out, args.profile, parse_params(args.param), args.keep_going,
                                 args.native_kernels)
    except ValueError as err:
        print(f"fashionrec: {err}", file=sys.stderr)
        return 2
    if failures:
        print(f"{len(failures)} notebook(s) failed:", *failures, sep="\n", file=sys.stderr)
        return 1
    return 0
